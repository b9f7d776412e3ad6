//! `[[group]]`: upstreams updated as one transaction. A group needs a name
//! no upstream or other group has, at least two members, each naming an
//! `[[upstream]]`, and no upstream in two groups.

use super::Problems;
use crate::config::model::{GroupConfig, UpstreamConfig};
use crate::config::raw::RawGroup;

pub(super) fn groups(
    raw: Vec<RawGroup>,
    upstreams: &[UpstreamConfig],
    p: &mut Problems,
) -> Vec<GroupConfig> {
    let mut out: Vec<GroupConfig> = Vec::new();
    for (i, g) in raw.into_iter().enumerate() {
        let k = |f: &str| format!("group[{i}].{f}");
        let Some(name) = g.name.map(|n| n.0) else {
            p.add(k("name"), "missing: every group needs a name");
            continue;
        };
        if upstreams.iter().any(|u| u.name == name) {
            p.add(
                k("name"),
                format!("`{name}` is already the name of an upstream; a group needs its own name"),
            );
        }
        if out.iter().any(|o| o.name == name) {
            p.add(k("name"), format!("duplicate group name `{name}`"));
        }
        let members: Vec<String> = g
            .members
            .unwrap_or_default()
            .into_iter()
            .map(|m| m.0)
            .collect();
        let mut kept: Vec<String> = Vec::new();
        for m in members {
            if !upstreams.iter().any(|u| u.name == m) {
                let known: Vec<&str> = upstreams.iter().map(|u| u.name.as_str()).collect();
                p.add(
                    k("members"),
                    format!(
                        "`{m}` names no [[upstream]] (the upstreams are: {})",
                        known.join(", ")
                    ),
                );
            } else if kept.contains(&m) {
                p.add(k("members"), format!("`{m}` is listed twice"));
            } else if let Some(other) = out.iter().find(|o| o.members.contains(&m)) {
                p.add(
                    k("members"),
                    format!(
                        "`{m}` is already a member of group `{}`; an upstream can be in one group only",
                        other.name
                    ),
                );
            } else {
                kept.push(m);
            }
        }
        if kept.len() < 2 {
            p.add(
                k("members"),
                format!(
                    "group `{name}` needs at least two member upstreams (it has {})",
                    kept.len()
                ),
            );
        }
        out.push(GroupConfig {
            name,
            members: kept,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, ConfigProblem};

    const TWO: &str = "[[upstream]]\nname = \"core\"\nurl = \"u\"\npath = \"core\"\nlayout = \"submodule\"\n\n[[upstream]]\nname = \"nodes\"\nurl = \"v\"\npath = \"nodes\"\nlayout = \"clone\"\n";

    fn problems(extra: &str) -> Vec<ConfigProblem> {
        Config::parse(&format!("{TWO}{extra}"), Path::new("/base")).unwrap_err()
    }

    #[test]
    fn a_group_of_two_upstreams_parses() {
        let cfg = Config::parse(
            &format!("{TWO}\n[[group]]\nname = \"stack\"\nmembers = [\"core\", \"nodes\"]\n"),
            Path::new("/base"),
        )
        .unwrap();
        assert_eq!(cfg.groups.len(), 1);
        assert_eq!(cfg.groups[0].members, ["core", "nodes"]);
        assert_eq!(
            cfg.group_of("nodes").map(|g| g.name.as_str()),
            Some("stack")
        );
        assert_eq!(cfg.members_of(&cfg.groups[0]).len(), 2);
    }

    #[test]
    fn an_unknown_member_names_key_and_line() {
        let p = problems("\n[[group]]\nname = \"stack\"\nmembers = [\"core\", \"nodse\"]\n");
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].key, "group[0].members");
        assert_eq!(p[0].line, Some(15));
        assert!(
            p[0].message.contains("`nodse` names no [[upstream]]"),
            "{p:?}"
        );
        assert!(p[1].message.contains("at least two"), "{p:?}");
    }

    #[test]
    fn a_member_in_two_groups_is_refused() {
        let p = problems(
            "\n[[group]]\nname = \"a\"\nmembers = [\"core\", \"nodes\"]\n\n[[group]]\nname = \"b\"\nmembers = [\"nodes\", \"core\"]\n",
        );
        assert!(
            p.iter().any(|p| p.key == "group[1].members"
                && p.message.contains("already a member of group `a`")),
            "{p:?}"
        );
    }

    #[test]
    fn a_group_named_like_an_upstream_or_another_group_is_refused() {
        let p = problems(
            "\n[[group]]\nname = \"core\"\nmembers = [\"core\", \"nodes\"]\n\n[[group]]\nname = \"core\"\nmembers = []\n",
        );
        let keys: Vec<(&str, Option<usize>)> = p.iter().map(|p| (p.key.as_str(), p.line)).collect();
        assert!(keys.contains(&("group[0].name", Some(14))), "{keys:?}");
        assert!(
            p.iter()
                .any(|p| p.key == "group[1].name" && p.message.contains("duplicate")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|p| p.key == "group[1].members" && p.message.contains("(it has 0)")),
            "{p:?}"
        );
    }
}
