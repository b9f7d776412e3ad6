//! A full disk during staging: the update stops with a clear error, rolls
//! back, and the live wrapper is byte-identical. The state dir sits on a tiny
//! tmpfs mounted in a private mount namespace (`unshare -rm`), big enough for
//! the mirror and the backup but not for the staged copy.

use std::process::Command;

use crate::support::tree_digest;

#[test]
fn full_disk_while_staging_rolls_back_and_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("demo");
    tether::demo::create(&root, "python3").expect("demo project");
    let wrapper = root.join("wrapper");
    let before = tree_digest(&wrapper);
    fs_err::create_dir_all(root.join(".tether")).unwrap();

    let tether = env!("CARGO_BIN_EXE_tether");
    let script = format!("mount -t tmpfs -o size=220k tmpfs .tether && exec {tether} update");
    let out = Command::new("unshare")
        .args(["-rm", "sh", "-c", &script])
        .current_dir(&root)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("TETHER_CONFIG")
        .output()
        .expect("unshare runs (util-linux)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(
        stderr.contains("the update was rolled back and the live wrapper is unchanged"),
        "{stderr}"
    );
    assert_eq!(tree_digest(&wrapper), before, "the live wrapper changed");
}
