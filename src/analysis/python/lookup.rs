//! Finding a dotted upstream name in an index: the longest module prefix,
//! then the definition, following re-exports and star imports a few hops.

use super::model::{DefKind, Definition, UpstreamIndex};

/// How many re-export hops are followed.
const MAX_HOPS: usize = 3;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Found<'a> {
    /// A module or (namespace) package.
    Module,
    /// A definition; `extra` attribute parts followed it (`server_config.get`
    /// -> 1), which are not checked.
    Def {
        def: &'a Definition,
        extra: usize,
    },
    Missing,
}

#[derive(Debug, Clone)]
pub(crate) struct Lookup<'a> {
    /// The longest prefix of the target that is a module or package here.
    pub entry: Option<String>,
    /// For `Found::Module`: the module's name.
    pub module: Option<String>,
    pub found: Found<'a>,
}

impl Lookup<'_> {
    pub fn exists(&self) -> bool {
        !matches!(self.found, Found::Missing)
    }

    pub fn extra(&self) -> usize {
        match self.found {
            Found::Def { extra, .. } => extra,
            _ => 0,
        }
    }
}

pub(crate) fn lookup<'a>(index: &'a UpstreamIndex, target: &str) -> Lookup<'a> {
    let parts: Vec<&str> = target.split('.').collect();
    let entry = (1..=parts.len())
        .rev()
        .map(|i| (i, parts[..i].join(".")))
        .find(|(_, m)| index.modules.contains_key(m) || index.packages.contains(m));
    let Some((i, _)) = entry else {
        return Lookup {
            entry: None,
            module: None,
            found: Found::Missing,
        };
    };
    let (found, module_name) = find(index, &parts, 0);
    Lookup {
        entry: Some(parts[..i].join(".")),
        module: module_name,
        found,
    }
}

fn find<'a>(index: &'a UpstreamIndex, parts: &[&str], hops: usize) -> (Found<'a>, Option<String>) {
    for i in (1..=parts.len()).rev() {
        let module = parts[..i].join(".");
        let rest = &parts[i..];
        if let Some(m) = index.modules.get(&module) {
            if rest.is_empty() {
                return (Found::Module, Some(module));
            }
            for j in (1..=rest.len()).rev() {
                let Some(def) = m.definitions.get(&rest[..j].join(".")) else {
                    continue;
                };
                let extra = rest.len() - j;
                if def.kind == DefKind::Import && hops < MAX_HOPS {
                    if let Some(from) = &def.imported_from {
                        let mut next: Vec<&str> = from.split('.').collect();
                        next.extend_from_slice(&rest[j..]);
                        let (found, module) = find(index, &next, hops + 1);
                        if !matches!(found, Found::Missing) {
                            return (found, module);
                        }
                    }
                }
                return (Found::Def { def, extra }, None);
            }
            if hops < MAX_HOPS {
                for star in &m.star_imports {
                    let mut next: Vec<&str> = star.split('.').collect();
                    next.extend_from_slice(rest);
                    let (found, module) = find(index, &next, hops + 1);
                    if !matches!(found, Found::Missing) {
                        return (found, module);
                    }
                }
            }
            return (Found::Missing, None);
        }
        if index.packages.contains(&module) {
            if rest.is_empty() {
                return (Found::Module, Some(module));
            }
            return (Found::Missing, None);
        }
    }
    (Found::Missing, None)
}
