use std::path::Path;
use std::process::Command;

use super::*;
use crate::config::Config;

fn cfg() -> AnalysisConfig {
    let text = "[project]\nroot = \"w\"\n[[upstream]]\nname = \"a\"\nurl = \"u\"\n\
                path = \"up\"\nlayout = \"clone\"\n";
    Config::parse(text, Path::new("/base"))
        .expect("minimal config")
        .analysis
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A member repository with one commit per `(file, text)` list, and its bare
/// mirror (what tether reads); returns the mirror and the commits.
fn member(root: &Path, name: &str, commits: &[&[(&str, &str)]]) -> (Repository, Vec<Oid>) {
    let work = root.join(name);
    fs_err::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    let mut ids = Vec::new();
    for files in commits {
        for (path, text) in *files {
            fs_err::write(work.join(path), text).unwrap();
        }
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "--allow-empty", "-m", "c"]);
        ids.push(Oid::from_str(&git(&work, &["rev-parse", "HEAD"])).unwrap());
    }
    let mirror = root.join(format!("{name}.git"));
    git(
        root,
        &[
            "clone",
            "-q",
            "--mirror",
            work.to_str().unwrap(),
            mirror.to_str().unwrap(),
        ],
    );
    (Repository::open_bare(&mirror).unwrap(), ids)
}

fn read(repo: &Repository, name: &str, ids: &[Oid]) -> MemberDeps {
    read_member_deps(repo, name, ids.first().copied(), *ids.last().unwrap()).unwrap()
}

#[test]
fn conflicts_and_torch_changes_read_from_real_mirrors() {
    let tmp = tempfile::tempdir().unwrap();
    let (core, core_ids) = member(
        tmp.path(),
        "comfyui",
        &[
            &[("requirements.txt", "torch>=2.4\nnumpy>=1.25\npillow\n")],
            &[(
                "requirements.txt",
                "torch>=2.6\nnumpy>=1.25,<2\npillow==10.4.0\nsafetensors>=0.4\n",
            )],
        ],
    );
    let (vhs, vhs_ids) = member(
        tmp.path(),
        "vhs-mini",
        &[
            &[("requirements.txt", "opencv-python\nnumpy==2.1.0\n")],
            &[(
                "requirements.txt",
                "opencv-python\nnumpy==2.1.0\npillow==11.0.0\n",
            )],
        ],
    );
    let (ltx, ltx_ids) = member(
        tmp.path(),
        "ltx-mini",
        &[&[(
            "pyproject.toml",
            "[project]\nname = \"ltx\"\ndependencies = [\"torch>=2.4,<2.6\", \"safetensors<0.4\", \"einops; python_version >= '3.9'\"]\n",
        )]],
    );
    let members = [
        read(&core, "comfyui", &core_ids),
        read(&vhs, "vhs-mini", &vhs_ids),
        read(&ltx, "ltx-mini", &ltx_ids),
    ];
    assert_eq!(members[2].to.len(), 3, "{:#?}", members[2]);
    let deps = stack_dependencies(&members, &cfg());

    let got: Vec<(&str, ConflictReason, bool, Vec<String>)> = deps
        .conflicts
        .iter()
        .map(|c| {
            (
                c.package.as_str(),
                c.why,
                c.protected,
                c.pins
                    .iter()
                    .map(|p| format!("{}: {}", p.member, p.spec))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "numpy",
                ConflictReason::PinOutsideRange,
                true,
                vec!["comfyui: >=1.25,<2".to_owned(), "vhs-mini: ==2.1.0".into()]
            ),
            (
                "pillow",
                ConflictReason::DifferentPins,
                false,
                vec!["comfyui: ==10.4.0".to_owned(), "vhs-mini: ==11.0.0".into()]
            ),
            (
                "safetensors",
                ConflictReason::DisjointRanges,
                false,
                vec!["comfyui: >=0.4".to_owned(), "ltx-mini: <0.4".into()]
            ),
            (
                "torch",
                ConflictReason::DisjointRanges,
                true,
                vec!["comfyui: >=2.6".to_owned(), "ltx-mini: >=2.4,<2.6".into()]
            ),
        ]
    );
    assert_eq!(
        deps.torch,
        [
            TorchChange {
                member: "comfyui".into(),
                from_spec: Some(">=2.4".into()),
                to_spec: Some(">=2.6".into()),
                differs_from: vec!["ltx-mini".into()],
            },
            TorchChange {
                member: "ltx-mini".into(),
                from_spec: Some(">=2.4,<2.6".into()),
                to_spec: Some(">=2.4,<2.6".into()),
                differs_from: vec!["comfyui".into()],
            },
        ]
    );
    assert!(
        deps.notes
            .iter()
            .any(|n| n.starts_with("ltx-mini: `einops; python_version")),
        "{:?}",
        deps.notes
    );
}

#[test]
fn compatible_specifiers_are_not_conflicts() {
    let req = |text: &str| parse_requirements(text).requirements;
    let m = |name: &str, text: &str| MemberDeps {
        member: name.into(),
        from: None,
        to: req(text),
        notes: Vec::new(),
    };
    let members = [
        m("a", "numpy>=1.25,<2\ntorch~=2.5.0\nrich!=13.0\n"),
        m("b", "numpy==1.26.4\ntorch==2.5.1\nrich>12\n"),
        m("c", "numpy>1.20\ntorch>=2.5\nrich\n"),
    ];
    let deps = stack_dependencies(&members, &cfg());
    assert_eq!(deps.conflicts, []);
    // Different torch specifiers still say so (they hold together here).
    assert_eq!(deps.torch.len(), 3);
    assert_eq!(deps.torch[0].differs_from, ["b", "c"]);
    // Exclusive bounds next to each other: >2.5 and <2.5.0.1 overlap, >=3 and <3 do not.
    let close = [m("a", "x>2.5\ny>=3\n"), m("b", "x<2.6\ny<3\n")];
    let deps = stack_dependencies(&close, &cfg());
    let names: Vec<&str> = deps.conflicts.iter().map(|c| c.package.as_str()).collect();
    assert_eq!(names, ["y"]);
}

#[test]
fn unreadable_pyproject_and_specifiers_are_notes() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, ids) = member(
        tmp.path(),
        "pack",
        &[&[
            ("pyproject.toml", "[project\n"),
            ("requirements.txt", "torch>=2\n"),
        ]],
    );
    let deps = read_member_deps(&repo, "pack", None, ids[0]).unwrap();
    assert_eq!(deps.from, None);
    assert_eq!(deps.to.len(), 1);
    assert!(
        deps.notes[0].starts_with("pyproject.toml at ") && deps.notes[0].contains("not TOML"),
        "{:?}",
        deps.notes
    );
    let missing = Oid::from_str("1234567890123456789012345678901234567890").unwrap();
    let err = read_member_deps(&repo, "pack", None, missing).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot read the requirements of `pack`")
    );
}
