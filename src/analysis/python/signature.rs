//! Function signatures: reading parameters from a `parameters` node,
//! rendering them, and comparing an old and a new signature against the way
//! the wrapper calls it.

use std::collections::HashSet;

use tree_sitter::Node;

use super::model::{Param, ParamKind, PointSeverity, SignatureChange};
use super::parse::{named_children, text};

/// Parameters of a `parameters` node, in order, kinds resolved from the `/`
/// and `*` separators.
pub(crate) fn params_of(node: Node<'_>, src: &str) -> Vec<Param> {
    let mut params: Vec<Param> = Vec::new();
    let mut keyword_only = false;
    for child in named_children(node) {
        let positional = if keyword_only {
            ParamKind::KeywordOnly
        } else {
            ParamKind::Positional
        };
        let field = |name: &str| {
            child
                .child_by_field_name(name)
                .map(|n| text(n, src).to_owned())
        };
        let param = match child.kind() {
            "identifier" => Param {
                name: text(child, src).to_owned(),
                kind: positional,
                default: None,
                annotation: None,
            },
            "default_parameter" | "typed_default_parameter" => Param {
                name: field("name").unwrap_or_default(),
                kind: positional,
                default: field("value").map(|v| normalize(&v)),
                annotation: field("type"),
            },
            "typed_parameter" => {
                let Some(inner) = named_children(child)
                    .into_iter()
                    .find(|n| n.kind() != "type" && n.kind() != "comment")
                else {
                    continue;
                };
                let (name, kind) = splat(inner, src, positional);
                if kind == ParamKind::VarArgs {
                    keyword_only = true;
                }
                Param {
                    name,
                    kind,
                    default: None,
                    annotation: field("type"),
                }
            }
            "list_splat_pattern" | "dictionary_splat_pattern" => {
                let (name, kind) = splat(child, src, positional);
                if kind == ParamKind::VarArgs {
                    keyword_only = true;
                }
                Param {
                    name,
                    kind,
                    default: None,
                    annotation: None,
                }
            }
            "keyword_separator" => {
                keyword_only = true;
                continue;
            }
            "positional_separator" => {
                for p in &mut params {
                    if p.kind == ParamKind::Positional {
                        p.kind = ParamKind::PositionalOnly;
                    }
                }
                continue;
            }
            _ => continue,
        };
        params.push(param);
    }
    params
}

fn splat(node: Node<'_>, src: &str, positional: ParamKind) -> (String, ParamKind) {
    let name = named_children(node)
        .into_iter()
        .find(|n| n.kind() == "identifier")
        .map(|n| text(n, src).to_owned())
        .unwrap_or_else(|| text(node, src).trim_start_matches('*').to_owned());
    let kind = match node.kind() {
        "list_splat_pattern" => ParamKind::VarArgs,
        "dictionary_splat_pattern" => ParamKind::VarKwargs,
        _ => positional,
    };
    (name, kind)
}

/// Whitespace collapsed, so reformatting a default is not a change.
fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `name(a, b=1, /, c, *, d=None, **kw)`.
pub fn render(name: &str, params: &[Param]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut seen_star = false;
    for (i, p) in params.iter().enumerate() {
        if p.kind != ParamKind::PositionalOnly
            && i > 0
            && params[i - 1].kind == ParamKind::PositionalOnly
        {
            parts.push("/".into());
        }
        match p.kind {
            ParamKind::VarArgs => {
                seen_star = true;
                parts.push(format!("*{}", p.name));
            }
            ParamKind::VarKwargs => parts.push(format!("**{}", p.name)),
            kind => {
                if kind == ParamKind::KeywordOnly && !seen_star {
                    seen_star = true;
                    parts.push("*".into());
                }
                match &p.default {
                    Some(d) => parts.push(format!("{}={d}", p.name)),
                    None => parts.push(p.name.clone()),
                }
            }
        }
    }
    if params.last().map(|p| p.kind) == Some(ParamKind::PositionalOnly) {
        parts.push("/".into());
    }
    format!("{name}({})", parts.join(", "))
}

/// How the wrapper calls a function.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallShape<'a> {
    pub keywords: &'a [String],
    pub positional: usize,
    pub star_args: bool,
    pub star_kwargs: bool,
}

fn accepts_keyword(params: &[Param], kw: &str) -> bool {
    params.iter().any(|p| {
        p.kind == ParamKind::VarKwargs
            || (p.name == kw && matches!(p.kind, ParamKind::Positional | ParamKind::KeywordOnly))
    })
}

/// How many positional arguments a signature takes; `None` with `*args`.
fn max_positional(params: &[Param]) -> Option<usize> {
    if params.iter().any(|p| p.kind == ParamKind::VarArgs) {
        return None;
    }
    Some(
        params
            .iter()
            .filter(|p| matches!(p.kind, ParamKind::PositionalOnly | ParamKind::Positional))
            .count(),
    )
}

fn is_var(p: &Param) -> bool {
    matches!(p.kind, ParamKind::VarArgs | ParamKind::VarKwargs)
}

/// The new parameter that the removed old parameter `p` (at `i`) was renamed
/// to: among the added ones of a compatible kind (a parameter with a default
/// never pairs with a new required one, a keyword-only never with a
/// positional), the one whose name is most alike, a same position counting
/// for some. `None` when no candidate is alike enough or two are equally
/// good: an ambiguous rename is reported as a removal and an addition, so the
/// api-drift fixer never rewrites a call to a guessed keyword.
fn rename_target<'a>(
    i: usize,
    p: &Param,
    added: &[(usize, &'a Param)],
) -> Option<(usize, &'a Param)> {
    const ALIKE: f64 = 0.5;
    const SAME_POSITION: f64 = 0.3;
    let keyword_only = |k: ParamKind| k == ParamKind::KeywordOnly;
    let mut scored: Vec<(f64, usize, &Param)> = added
        .iter()
        .filter(|(_, n)| {
            p.default.is_some() == n.default.is_some()
                && keyword_only(p.kind) == keyword_only(n.kind)
        })
        .map(|&(j, n)| {
            let alike = super::search::name_similarity(&p.name, &n.name);
            let position = if j == i { SAME_POSITION } else { 0.0 };
            (alike + position, j, n)
        })
        .filter(|(score, _, _)| *score >= ALIKE)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    match scored.as_slice() {
        [] => None,
        [(best, ..), (second, ..), ..] if best - second < 0.05 => None,
        [(_, j, n), ..] => Some((*j, *n)),
    }
}

/// Every change between `old` and `new`, each with how badly it affects the
/// wrapper: with `call`, against the arguments it passes; without (an import,
/// a read, a patch), at most at risk.
pub(crate) fn compare(
    old: &[Param],
    new: &[Param],
    call: Option<CallShape<'_>>,
) -> Vec<(SignatureChange, PointSeverity)> {
    let old_named: Vec<&Param> = old.iter().filter(|p| !is_var(p)).collect();
    let new_named: Vec<&Param> = new.iter().filter(|p| !is_var(p)).collect();
    let old_names: HashSet<&str> = old_named.iter().map(|p| p.name.as_str()).collect();
    let new_names: HashSet<&str> = new_named.iter().map(|p| p.name.as_str()).collect();

    // Whether the wrapper passes old parameter `i` (by keyword or position).
    let passes = |i: usize, p: &Param| -> bool {
        call.is_some_and(|c| {
            c.keywords.iter().any(|k| k == &p.name)
                || (p.kind != ParamKind::KeywordOnly && i < c.positional)
        })
    };
    let passes_by_keyword = |name: &str| call.is_some_and(|c| c.keywords.iter().any(|k| k == name));
    let not_call = if call.is_some() {
        PointSeverity::Breaking
    } else {
        PointSeverity::AtRisk
    };

    let mut changes = Vec::new();
    let added: Vec<(usize, &Param)> = new_named
        .iter()
        .enumerate()
        .filter(|(_, p)| !old_names.contains(p.name.as_str()))
        .map(|(i, p)| (i, *p))
        .collect();
    let mut paired: HashSet<usize> = HashSet::new();

    for (i, p) in old_named.iter().enumerate() {
        if new_names.contains(p.name.as_str()) {
            continue;
        }
        // an optional parameter a call does not pass cannot break it
        let unused_optional = call.is_some() && p.default.is_some() && !passes(i, p);
        let sev = if passes(i, p) {
            PointSeverity::Breaking
        } else if unused_optional {
            PointSeverity::Info
        } else {
            PointSeverity::AtRisk
        };
        let unpaired: Vec<(usize, &Param)> = added
            .iter()
            .filter(|(j, _)| !paired.contains(j))
            .copied()
            .collect();
        if let Some((j, to)) = rename_target(i, p, &unpaired) {
            paired.insert(j);
            changes.push((
                SignatureChange::ParameterRenamed {
                    from: p.name.clone(),
                    to: to.name.clone(),
                },
                if passes_by_keyword(&p.name) {
                    PointSeverity::Breaking
                } else if unused_optional {
                    PointSeverity::Info
                } else {
                    PointSeverity::AtRisk
                },
            ));
        } else {
            changes.push((
                SignatureChange::ParameterRemoved {
                    name: p.name.clone(),
                },
                sev,
            ));
        }
    }

    for (j, p) in &added {
        if paired.contains(j) || p.default.is_some() {
            continue;
        }
        let by_position =
            p.kind != ParamKind::KeywordOnly && call.is_some_and(|c| *j < c.positional);
        if passes_by_keyword(&p.name) || by_position {
            // the call passes it explicitly: compatible
            changes.push((
                SignatureChange::NewRequiredParameter {
                    name: p.name.clone(),
                },
                PointSeverity::Info,
            ));
        } else if call.is_some_and(|c| c.star_kwargs) {
            changes.push((
                SignatureChange::NewRequiredUnlessKwargs {
                    name: p.name.clone(),
                },
                PointSeverity::Breaking,
            ));
        } else {
            changes.push((
                SignatureChange::NewRequiredParameter {
                    name: p.name.clone(),
                },
                not_call,
            ));
        }
    }

    for (i, o) in old_named.iter().enumerate() {
        let Some(n) = new_named.iter().find(|n| n.name == o.name) else {
            continue;
        };
        if o.default != n.default {
            let sev = if passes(i, o) {
                PointSeverity::Info
            } else if n.default.is_none() {
                not_call
            } else {
                PointSeverity::AtRisk
            };
            changes.push((
                SignatureChange::DefaultChanged {
                    name: o.name.clone(),
                    from: o.default.clone(),
                    to: n.default.clone(),
                },
                sev,
            ));
        }
        if o.kind != n.kind {
            changes.push((
                SignatureChange::ParameterKindChanged {
                    name: o.name.clone(),
                    from: o.kind,
                    to: n.kind,
                },
                PointSeverity::AtRisk,
            ));
        }
    }

    let has = |ps: &[Param], k: ParamKind| ps.iter().any(|p| p.kind == k);
    if has(old, ParamKind::VarArgs) && !has(new, ParamKind::VarArgs) {
        let sev = if call.is_some_and(|c| c.star_args) {
            PointSeverity::Breaking
        } else {
            PointSeverity::AtRisk
        };
        changes.push((SignatureChange::VarArgsRemoved, sev));
    }
    if has(old, ParamKind::VarKwargs) && !has(new, ParamKind::VarKwargs) {
        let sev = if call.is_some_and(|c| c.star_kwargs) {
            PointSeverity::Breaking
        } else {
            PointSeverity::AtRisk
        };
        changes.push((SignatureChange::VarKwargsRemoved, sev));
    }

    if let Some(c) = call {
        for kw in c.keywords {
            if accepts_keyword(old, kw) && !accepts_keyword(new, kw) {
                changes.push((
                    SignatureChange::KeywordNotAccepted { name: kw.clone() },
                    PointSeverity::Breaking,
                ));
            }
        }
        if !c.star_args {
            let fits_old = max_positional(old).is_none_or(|m| c.positional <= m);
            let new_max = max_positional(new).filter(|m| fits_old && c.positional > *m);
            if let Some(m) = new_max {
                changes.push((
                    SignatureChange::TooManyPositional {
                        passed: c.positional,
                        accepted: m,
                    },
                    PointSeverity::Breaking,
                ));
            }
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::super::parse::{parse, walk_all};
    use super::*;

    fn sig(src: &str) -> Vec<Param> {
        let tree = parse(src).unwrap();
        let mut out = None;
        walk_all(tree.root_node(), |n| {
            if out.is_none() && n.kind() == "parameters" {
                out = Some(params_of(n, src));
            }
        });
        out.unwrap()
    }

    #[test]
    fn reads_every_parameter_kind() {
        let p = sig("def f(a, b: int = 2, /, c=3, *args, d, e: str = 'x', **kw): pass\n");
        let kinds: Vec<_> = p.iter().map(|p| (p.name.as_str(), p.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                ("a", ParamKind::PositionalOnly),
                ("b", ParamKind::PositionalOnly),
                ("c", ParamKind::Positional),
                ("args", ParamKind::VarArgs),
                ("d", ParamKind::KeywordOnly),
                ("e", ParamKind::KeywordOnly),
                ("kw", ParamKind::VarKwargs),
            ]
        );
        assert_eq!(p[1].default.as_deref(), Some("2"));
        assert_eq!(p[1].annotation.as_deref(), Some("int"));
        assert_eq!(p[5].default.as_deref(), Some("'x'"));
        assert_eq!(render("f", &p), "f(a, b=2, /, c=3, *args, d, e='x', **kw)");
    }

    #[test]
    fn bare_star_makes_keyword_only() {
        let p = sig("def g(x, *, seed=None, **kwargs: dict): pass\n");
        assert_eq!(p[1].kind, ParamKind::KeywordOnly);
        assert_eq!(p[2].kind, ParamKind::VarKwargs);
        assert_eq!(p[2].annotation.as_deref(), Some("dict"));
        assert_eq!(render("g", &p), "g(x, *, seed=None, **kwargs)");
    }

    #[test]
    fn too_many_positional_is_breaking() {
        let old = sig("def f(a, b, c=1): pass\n");
        let new = sig("def f(a, b): pass\n");
        let call = CallShape {
            keywords: &[],
            positional: 3,
            star_args: false,
            star_kwargs: false,
        };
        let changes = compare(&old, &new, Some(call));
        assert!(changes.contains(&(
            SignatureChange::TooManyPositional {
                passed: 3,
                accepted: 2
            },
            PointSeverity::Breaking
        )));
        assert!(changes.contains(&(
            SignatureChange::ParameterRemoved { name: "c".into() },
            PointSeverity::Breaking
        )));
    }

    #[test]
    fn default_passed_explicitly_is_info() {
        let old = sig("def f(a, steps=30): pass\n");
        let new = sig("def f(a, steps=50): pass\n");
        let kws = vec!["steps".to_owned()];
        let call = CallShape {
            keywords: &kws,
            positional: 1,
            star_args: false,
            star_kwargs: false,
        };
        assert_eq!(
            compare(&old, &new, Some(call)),
            vec![(
                SignatureChange::DefaultChanged {
                    name: "steps".into(),
                    from: Some("30".into()),
                    to: Some("50".into())
                },
                PointSeverity::Info
            )]
        );
    }
}
