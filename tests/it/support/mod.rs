//! Test support: real git repositories in temp dirs with fixed authors and
//! commit times (stable hashes), git isolated from the user's config, and a
//! way to run the real `tether` binary.

#![allow(dead_code)]

pub mod comfy;
pub mod findings;
pub mod git;
pub mod git_http;
pub mod project;
pub mod sample;
pub mod tether;
pub mod vendored;

pub use git::GitRepo;
pub use tether::Tether;

/// Every file under `dir` (`.git` included, symlinks as their target text)
/// with its full contents, sorted by path: equal digests mean byte-identical
/// trees.
/// The `outputs/update-*` folders under the project `root`, sorted.
pub fn update_dirs(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<std::path::PathBuf> = fs_err::read_dir(root.join("outputs"))
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("update-"))
                })
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// `text` with every conflict block replaced by the wrapper's side.
pub fn take_ours(text: &str) -> String {
    let mut out = String::new();
    let mut side = None;
    for line in text.split_inclusive('\n') {
        if line.starts_with("<<<<<<< ") {
            side = Some(true);
        } else if side.is_some() && (line.starts_with("|||||||") || line == "=======\n") {
            side = Some(false);
        } else if side.is_some() && line.starts_with(">>>>>>> ") {
            side = None;
        } else if side != Some(false) {
            out.push_str(line);
        }
    }
    out
}

pub fn tree_digest(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in fs_err::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let ft = entry.file_type().unwrap();
            if ft.is_symlink() {
                let target = fs_err::read_link(&path).unwrap();
                out.push((rel, target.to_string_lossy().as_bytes().to_vec()));
            } else if ft.is_dir() {
                out.push((format!("{rel}/"), Vec::new()));
                walk(base, &path, out);
            } else {
                out.push((rel, fs_err::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The `tether-gpu` worker built beside the `tether` binary (the workspace
/// builds both).
pub fn tether_gpu_bin() -> std::path::PathBuf {
    let p = std::path::Path::new(env!("CARGO_BIN_EXE_tether")).with_file_name("tether-gpu");
    assert!(
        p.is_file(),
        "`{}` is missing: run the tests with `cargo test --workspace`",
        p.display()
    );
    p
}

/// Every file under `dir` (links not followed), sorted.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs_err::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}
