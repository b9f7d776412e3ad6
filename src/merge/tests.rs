//! One test per merge rule. Where the definition-level or key-wise merge
//! resolves a case, the test first shows that libgit2's line merge alone
//! conflicts on it.

use super::line::merge_lines;
use super::{ConflictReason, FileMerge, Labels, Method, Sides, merge_file};

const LABELS: Labels<'static> = Labels {
    ours: "wrapper",
    theirs: "upstream",
    base: "base",
};

fn merge(path: &str, base: &str, ours: &str, theirs: &str) -> FileMerge {
    let sides = Sides {
        base: Some(base.as_bytes()),
        ours: Some(ours.as_bytes()),
        theirs: Some(theirs.as_bytes()),
    };
    merge_file(path, &sides, &LABELS)
}

/// libgit2's line merge alone conflicts on these three versions.
fn assert_line_merge_conflicts(base: &str, ours: &str, theirs: &str) {
    let m = merge_lines(base.as_bytes(), ours.as_bytes(), theirs.as_bytes(), &LABELS);
    assert!(
        !m.clean,
        "the line merge alone resolves this case:\n{}",
        String::from_utf8_lossy(&m.content)
    );
}

/// The clean merge's text and method.
fn clean(m: FileMerge) -> (String, Method, Option<String>) {
    match m {
        FileMerge::Clean {
            content: Some(c),
            method,
            note,
        } => (String::from_utf8(c).unwrap(), method, note),
        other => panic!("expected a clean merge, got {other:?}"),
    }
}

const MODULE: &str =
    "import os\n\n\ndef first(x):\n    return x + 1\n\n\ndef last(y):\n    return y * 2\n";

#[test]
fn a_function_appended_next_to_an_upstream_edit_of_the_last_one_merges_by_definitions() {
    let ours = format!("{MODULE}\n\ndef local_helper(z):\n    return last(z) - 1\n");
    let theirs = MODULE.replace("return y * 2", "return y * 3");
    assert_line_merge_conflicts(MODULE, &ours, &theirs);
    let (text, method, _) = clean(merge("pkg/mod.py", MODULE, &ours, &theirs));
    assert_eq!(method, Method::Definitions);
    assert_eq!(
        text,
        "import os\n\n\ndef first(x):\n    return x + 1\n\n\ndef last(y):\n    return y * 3\n\n\ndef local_helper(z):\n    return last(z) - 1\n"
    );
}

#[test]
fn imports_added_at_the_top_on_both_sides_are_both_kept() {
    let ours = MODULE.replace("import os\n", "import os\nimport local_patch\n");
    let theirs = MODULE.replace("import os\n", "import os\nimport json\n");
    assert_line_merge_conflicts(MODULE, &ours, &theirs);
    let (text, method, _) = clean(merge("m.py", MODULE, &ours, &theirs));
    assert_eq!(method, Method::Definitions);
    assert!(
        text.starts_with("import os\nimport local_patch\nimport json\n\n\ndef first"),
        "{text}"
    );
    assert_eq!(text.matches("def ").count(), 2, "{text}");
}

const CLASS: &str = "class Pipeline:\n    def __init__(self):\n        self.steps = 4\n\n    def run(self, x):\n        return x\n\n    def stop(self):\n        return None\n";

#[test]
fn edits_of_different_methods_of_one_class_merge_member_by_member() {
    let ours = CLASS.replace("self.steps = 4", "self.steps = 8  # local")
        + "\n    def local_reset(self):\n        self.steps = 0\n";
    let theirs = CLASS
        .replace("        return x\n", "        return x * 2\n")
        .replace("return None", "return False");
    // the line merge alone: the wrapper's new method next to stop's edit
    assert_line_merge_conflicts(CLASS, &ours, &theirs);
    let (text, method, _) = clean(merge("p.py", CLASS, &ours, &theirs));
    assert_eq!(method, Method::Definitions);
    assert_eq!(
        text,
        "class Pipeline:\n    def __init__(self):\n        self.steps = 8  # local\n\n    def run(self, x):\n        return x * 2\n\n    def stop(self):\n        return False\n\n    def local_reset(self):\n        self.steps = 0\n"
    );
}

#[test]
fn both_sides_editing_one_function_in_different_lines_merge_by_lines_of_that_unit() {
    let base =
        "def f(a):\n    b = a + 1\n    c = b * 2\n    return c\n\n\ndef g():\n    return 0\n";
    let ours = base.replace("b = a + 1", "b = a + 10") + "\n\ndef h():\n    return g()\n";
    let theirs = base
        .replace("    return c\n", "    return c - 1\n")
        .replace("return 0", "return -1");
    // the file-wide line merge conflicts: the wrapper's h next to g's edit
    assert_line_merge_conflicts(base, &ours, &theirs);
    let (text, method, _) = clean(merge("f.py", base, &ours, &theirs));
    assert_eq!(method, Method::Definitions);
    assert_eq!(
        text,
        "def f(a):\n    b = a + 10\n    c = b * 2\n    return c - 1\n\n\ndef g():\n    return -1\n\n\ndef h():\n    return g()\n"
    );
}

#[test]
fn both_sides_editing_the_same_line_is_a_conflict_marked_only_around_that_unit() {
    let base = "def f():\n    return 1\n\n\ndef g():\n    return 2\n\n\ndef h():\n    return 3\n";
    let ours = base
        .replace("return 1", "return 10")
        .replace("return 3", "return 30");
    let theirs = base
        .replace("return 1", "return 11")
        .replace("def g():\n", "def g():\n    pass\n");
    let m = merge("c.py", base, &ours, &theirs);
    let FileMerge::Conflict {
        content,
        hunks,
        reason,
        note,
    } = m
    else {
        panic!("expected a conflict, got {m:?}");
    };
    let text = String::from_utf8(content).unwrap();
    assert_eq!(reason, ConflictReason::BothChanged);
    assert!(note.unwrap().contains("merged by definitions"));
    assert_eq!(hunks.len(), 1, "{text}");
    assert_eq!((hunks[0].start, hunks[0].end), (2, 6), "{text}");
    assert!(
        text.starts_with(
            "def f():\n<<<<<<< wrapper\n    return 10\n=======\n    return 11\n>>>>>>> upstream\n"
        ),
        "{text}"
    );
    // the other units merged: g from the upstream, h from the wrapper
    assert!(
        text.contains("def g():\n    pass\n    return 2\n"),
        "{text}"
    );
    assert!(text.ends_with("def h():\n    return 30\n"), "{text}");
}

#[test]
fn a_syntax_error_on_one_side_falls_back_to_the_line_merge_and_says_so() {
    let ours = format!("{MODULE}\n\ndef broken(:\n    pass\n");
    let theirs = MODULE.replace("return y * 2", "return y * 3");
    let m = merge("s.py", MODULE, &ours, &theirs);
    let FileMerge::Conflict { note, hunks, .. } = m else {
        panic!("expected the line merge's conflict, got {m:?}");
    };
    let note = note.unwrap();
    assert!(
        note.contains("syntax error in the wrapper's version (line 12)"),
        "{note}"
    );
    assert!(note.contains("merged line by line"), "{note}");
    assert_eq!(hunks.len(), 1);
}

#[test]
fn a_unit_only_one_side_changed_keeps_every_byte_of_the_others() {
    let base = "# header comment\nX = 1  # trailing\n\n\n@decorator(arg)\ndef f():   \n    return X\n\nif __name__ == \"__main__\":\n    f()\n";
    let ours = format!("{base}\n# local footer\n");
    let theirs = base.replace("X = 1", "X = 2");
    let (text, _, _) = clean(merge("b.py", base, &ours, &theirs));
    assert_eq!(text, format!("{}\n# local footer\n", theirs));
}

#[test]
fn statements_keyed_by_place_merge_in_place_without_duplicates() {
    let base = "def main():\n    return 0\n\n\nif __name__ == \"__main__\":\n    setup()\n    main()\n    print(\"done\")\n";
    let ours = base.replace("    setup()\n", "    setup(local=True)\n")
        + "\n\ndef local():\n    return 1\n";
    let theirs = base
        .replace("    return 0\n", "    return -1\n")
        .replace("print(\"done\")", "print(\"finished\")");
    assert_line_merge_conflicts(base, &ours, &theirs);
    let (text, method, _) = clean(merge("main.py", base, &ours, &theirs));
    assert_eq!(method, Method::Definitions);
    assert_eq!(
        text,
        "def main():\n    return -1\n\n\nif __name__ == \"__main__\":\n    setup(local=True)\n    main()\n    print(\"finished\")\n\n\ndef local():\n    return 1\n"
    );
}

#[test]
fn a_json_merge_keeps_the_upstreams_indentation_and_key_order() {
    let base = "{\n    \"x\": 1,\n    \"y\": 2\n}\n";
    let ours = base.replace("    \"x\": 1,\n", "    \"x\": 1,\n    \"z\": 3,\n");
    let theirs = "{\n    \"w\": [\n        1,\n        2\n    ],\n    \"x\": 1,\n    \"y\": 5\n}\n";
    assert_line_merge_conflicts(base, &ours, theirs);
    let (text, method, note) = clean(merge("c.json", base, &ours, theirs));
    assert_eq!((method, note), (Method::JsonKeys, None));
    assert_eq!(
        text,
        "{\n    \"w\": [\n        1,\n        2\n    ],\n    \"x\": 1,\n    \"z\": 3,\n    \"y\": 5\n}\n"
    );
}

#[test]
fn a_call_both_sides_rewrote_merges_once_not_twice() {
    let base = "setup(\n    a=1,\n    b=2,\n    c=3,\n)\n\n\ndef last(y):\n    return y\n";
    let ours = base.replace("a=1", "a=10") + "\n\ndef local():\n    return 1\n";
    let theirs = base
        .replace("c=3", "c=30")
        .replace("return y\n", "return y + 1\n");
    assert_line_merge_conflicts(base, &ours, &theirs);
    let (text, method, _) = clean(merge("s.py", base, &ours, &theirs));
    assert_eq!(method, Method::Definitions);
    assert_eq!(
        text,
        "setup(\n    a=10,\n    b=2,\n    c=30,\n)\n\n\ndef last(y):\n    return y + 1\n\n\ndef local():\n    return 1\n"
    );
}

#[test]
fn a_merge_that_would_change_the_files_definitions_falls_back_to_the_line_merge() {
    // the upstream re-indents the class to two spaces; the wrapper's new
    // method keeps four: merged member by member, it would parse as a
    // function nested in `stop`
    let ours = format!("{CLASS}\n    def local_reset(self):\n        self.steps = 0\n");
    let theirs = CLASS.replace("    ", "  ");
    let m = merge("p.py", CLASS, &ours, &theirs);
    let FileMerge::Conflict { note, .. } = m else {
        panic!("expected the line merge's conflict, got {m:?}");
    };
    let note = note.unwrap();
    assert!(note.contains("a unit would land inside another"), "{note}");
}

#[test]
fn a_json_key_added_locally_next_to_an_upstream_change_merges_key_by_key() {
    let base = "{\n  \"model\": {\n    \"name\": \"t2v\"\n  },\n  \"guidance_scale\": 5.0,\n  \"flow_shift\": 3.0\n}\n";
    let ours = base.replace(
        "  \"flow_shift\": 3.0\n",
        "  \"flow_shift\": 3.0,\n  \"sample_solver\": \"unipc\"\n",
    );
    let theirs = base.replace("  \"guidance_scale\": 5.0,\n", "");
    assert_line_merge_conflicts(base, &ours, &theirs);
    let (text, method, note) = clean(merge("defaults/t2v.json", base, &ours, &theirs));
    assert_eq!(method, Method::JsonKeys);
    assert_eq!(note, None);
    assert_eq!(
        text,
        "{\n  \"model\": {\n    \"name\": \"t2v\"\n  },\n  \"flow_shift\": 3.0,\n  \"sample_solver\": \"unipc\"\n}\n"
    );
}

#[test]
fn the_same_json_key_changed_differently_is_a_conflict_with_markers() {
    let base = "{\n    \"steps\": 30,\n    \"shift\": 3.0\n}";
    let ours = base.replace("30", "40");
    let theirs = base.replace("30", "50");
    let m = merge("c.json", base, &ours, &theirs);
    let FileMerge::Conflict {
        content,
        note,
        reason,
        ..
    } = m
    else {
        panic!("expected a conflict, got {m:?}");
    };
    assert_eq!(reason, ConflictReason::BothChanged);
    assert!(
        note.unwrap()
            .contains("both sides changed `steps` differently")
    );
    assert!(
        String::from_utf8(content)
            .unwrap()
            .contains("<<<<<<< wrapper")
    );
}

#[test]
fn a_file_deleted_locally_and_changed_upstream_stays_deleted_with_a_note() {
    let sides = Sides {
        base: Some(b"a\n"),
        ours: None,
        theirs: Some(b"b\n"),
    };
    let m = merge_file("x.py", &sides, &LABELS);
    let FileMerge::Clean {
        content: None,
        method: Method::KeptDeletion,
        note: Some(note),
    } = m
    else {
        panic!("{m:?}");
    };
    assert!(note.contains("stays deleted"), "{note}");
}

#[test]
fn a_file_deleted_upstream_and_changed_locally_is_a_conflict_that_keeps_the_patch() {
    let sides = Sides {
        base: Some(b"a\n"),
        ours: Some(b"a\nlocal\n"),
        theirs: None,
    };
    let FileMerge::Conflict {
        content, reason, ..
    } = merge_file("x.py", &sides, &LABELS)
    else {
        panic!("expected a conflict");
    };
    assert_eq!(reason, ConflictReason::DeletedUpstream);
    assert_eq!(content, b"a\nlocal\n");
}

#[test]
fn other_files_merge_line_by_line() {
    let base = "a\nb\nc\nd\ne\n";
    let (text, method, _) = clean(merge(
        "notes.txt",
        base,
        &base.replace("a\n", "A\n"),
        &base.replace("e\n", "E\n"),
    ));
    assert_eq!((text.as_str(), method), ("A\nb\nc\nd\nE\n", Method::Line));
}

/// A tree of `files` written into `repo`.
fn tree_of<'r>(repo: &'r git2::Repository, files: &[(&str, &str)]) -> git2::Tree<'r> {
    let mut index = git2::Index::new().unwrap();
    for (path, text) in files {
        let id = repo.blob(text.as_bytes()).unwrap();
        index.add(&super::tree::entry(path, id, 0o100644)).unwrap();
    }
    let id = index.write_tree_to(repo).unwrap();
    repo.find_tree(id).unwrap()
}

#[test]
fn a_tree_merge_resolves_conflicted_files_again_and_counts_each_method() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = git2::Repository::init_bare(tmp.path()).unwrap();
    let cfg = "{\n  \"a\": 1,\n  \"b\": 2\n}\n";
    let base = tree_of(
        &repo,
        &[("m.py", MODULE), ("n.txt", "x\n"), ("c.json", cfg)],
    );
    let ours_py = format!("{MODULE}\n\ndef local_helper(z):\n    return z\n");
    let ours = tree_of(&repo, &[("m.py", &ours_py), ("n.txt", "x\n")]);
    let theirs_py = MODULE.replace("return y * 2", "return y * 3");
    let theirs = tree_of(
        &repo,
        &[
            ("m.py", &theirs_py),
            ("n.txt", "y\n"),
            ("c.json", &cfg.replace('2', "3")),
        ],
    );
    let merged = super::merge_trees(&repo, &base, &ours, &theirs, &LABELS).unwrap();
    assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
    let s = merged.summary.stats;
    assert_eq!(
        (
            s.one_side,
            s.line,
            s.definitions,
            s.json_keys,
            s.kept_deletions,
            s.conflicts
        ),
        (1, 0, 1, 0, 1, 0),
        "{s:?}"
    );
    assert_eq!(
        s.to_string(),
        "3 files merged cleanly (1 by one side, 0 by line merge, 1 by definitions, 0 by JSON keys, 1 deletion kept), 0 conflicts"
    );
    assert_eq!(merged.summary.notes.len(), 1);
    assert_eq!(merged.summary.notes[0].path, "c.json");
    let tree = repo.find_tree(merged.tree.unwrap()).unwrap();
    assert!(tree.get_path(std::path::Path::new("c.json")).is_err());
    let blob = |p: &str| {
        let id = tree.get_path(std::path::Path::new(p)).unwrap().id();
        String::from_utf8(repo.find_blob(id).unwrap().content().to_vec()).unwrap()
    };
    assert!(blob("m.py").contains("return y * 3\n\n\ndef local_helper"));
    assert_eq!(blob("n.txt"), "y\n");

    // both sides change the same line: a listed conflict with its hunk
    let ours = tree_of(
        &repo,
        &[("m.py", MODULE), ("n.txt", "z\n"), ("c.json", cfg)],
    );
    let merged = super::merge_trees(&repo, &base, &ours, &theirs, &LABELS).unwrap();
    assert_eq!(merged.tree, None);
    assert_eq!(merged.conflicts.len(), 1, "{:?}", merged.conflicts);
    let c = &merged.conflicts[0];
    assert_eq!(
        (c.path.as_str(), c.reason),
        ("n.txt", ConflictReason::BothChanged)
    );
    assert_eq!((c.hunks[0].start, c.hunks[0].end), (1, 5));
    assert_eq!(merged.summary.stats.conflicts, 1);
    // what did merge is there, without the conflicted file
    let clean = repo.find_tree(merged.clean_part.unwrap()).unwrap();
    assert!(clean.get_path(std::path::Path::new("n.txt")).is_err());
    let m = clean.get_path(std::path::Path::new("m.py")).unwrap().id();
    let m = String::from_utf8(repo.find_blob(m).unwrap().content().to_vec()).unwrap();
    assert!(m.contains("return y * 3\n"), "{m}");
}
