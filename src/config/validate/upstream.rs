//! `[[upstream]]`: the keys every upstream needs, and names and paths that
//! two upstreams may not share.

use std::path::PathBuf;

use super::{Problems, glob_set, glob_strings};
use crate::config::defaults;
use crate::config::model::{InstallCommand, Layout, PinLocator, Track, UpstreamConfig};
use crate::config::raw::RawUpstream;

pub(super) fn upstreams(raw: Vec<RawUpstream>, p: &mut Problems) -> Vec<UpstreamConfig> {
    if raw.is_empty() {
        p.add("upstream", "at least one [[upstream]] table is required");
    }
    let list: Vec<UpstreamConfig> = raw
        .into_iter()
        .enumerate()
        .filter_map(|(i, u)| upstream(i, u, p))
        .collect();
    for (i, a) in list.iter().enumerate() {
        for b in &list[..i] {
            if a.name == b.name {
                p.add(
                    format!("upstream[{i}].name"),
                    format!("duplicate upstream name `{}`", a.name),
                );
            }
            if a.path == b.path {
                p.add(
                    format!("upstream[{i}].path"),
                    format!(
                        "path `{}` is already used by upstream `{}`",
                        a.path.display(),
                        b.name
                    ),
                );
            }
        }
    }
    list
}

fn upstream(i: usize, raw: RawUpstream, p: &mut Problems) -> Option<UpstreamConfig> {
    let k = |f: &str| format!("upstream[{i}].{f}");
    let before = p.count();
    if raw.name.is_none() {
        p.add(k("name"), "missing: every upstream needs a name");
    }
    if raw.url.is_none() {
        p.add(k("url"), "missing: where to fetch the upstream from");
    }
    if raw.path.is_none() {
        p.add(
            k("path"),
            "missing: the upstream's folder inside the wrapper",
        );
    }
    if raw.layout.is_none() {
        p.add(
            k("layout"),
            "missing: one of `submodule`, `clone`, `vendored`, `pinned`",
        );
    }
    let key_files = glob_strings(&raw.key_files, defaults::KEY_FILES);
    let key_files_set = glob_set(p, &k("key_files"), &key_files);
    let pin = pin_locator(&raw, &k, p);
    let record_pattern = match raw.record_pattern {
        Some(r) => r.0,
        None => regex::Regex::new(defaults::RECORD_PATTERN).expect("default record pattern"),
    };
    let install = raw.install.map(|c| InstallCommand {
        command: c.0,
        timeout: raw
            .install_timeout
            .map_or(defaults::INSTALL_TIMEOUT, |d| d.0),
    });
    if p.count() > before {
        return None;
    }
    Some(UpstreamConfig {
        name: raw.name?.0,
        url: raw.url?.0,
        path: PathBuf::from(raw.path?.0),
        layout: raw.layout?,
        track: raw
            .track
            .unwrap_or_else(|| Track::Branch(defaults::TRACK_BRANCH.into())),
        soak: raw.soak.map_or(defaults::SOAK, |d| d.0),
        key_files,
        key_files_set,
        record_file_configured: raw.record_file.is_some(),
        record_file: PathBuf::from(
            raw.record_file
                .unwrap_or_else(|| defaults::RECORD_FILE.into()),
        ),
        record_pattern,
        base: raw.base.unwrap_or_default(),
        pin,
        install,
        credential_timeout: raw
            .credential_timeout
            .map_or(defaults::CREDENTIAL_TIMEOUT, |d| d.0),
    })
}

/// The pinned layout's locator: `record_pattern` or `record_key` (not
/// both), else the dict entry named after the upstream. A pinned upstream
/// needs a `record_file`; the other layouts take no `record_key`.
fn pin_locator(raw: &RawUpstream, k: &dyn Fn(&str) -> String, p: &mut Problems) -> PinLocator {
    let pinned = raw.layout == Some(Layout::Pinned);
    if pinned && raw.record_file.is_none() {
        p.add(
            k("record_file"),
            "missing: a pinned upstream needs the file that holds its pin",
        );
    }
    if let Some(key) = &raw.record_key {
        if !pinned {
            p.add(
                k("record_key"),
                "only the `pinned` layout reads a record_key",
            );
        }
        if raw.record_pattern.is_some() {
            p.add(
                k("record_key"),
                "set either record_key or record_pattern, not both",
            );
        }
        let parts: Vec<String> = key
            .0
            .trim_start_matches('.')
            .split('.')
            .map(str::to_owned)
            .collect();
        if parts.iter().any(String::is_empty) {
            p.add(
                k("record_key"),
                format!("`{}` is not a dotted key like `comfyui.commit`", key.0),
            );
        }
        return PinLocator::Key(parts);
    }
    match &raw.record_pattern {
        Some(r) if pinned => PinLocator::Pattern(r.0.clone()),
        _ => PinLocator::NamedEntry,
    }
}
