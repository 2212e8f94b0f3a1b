//! `nsconform grade` over a class of submissions made from the fixture sources: a
//! correct one, flawed ones, one that does not compile, one that hangs.

use nsconform_tests::nsconform;
use serial_test::file_serial;
use std::path::Path;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/subjects");

fn submission(class: &Path, name: &str, source: &str, flags: &str) {
    let dir = class.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["container_common.h", source] {
        std::fs::copy(Path::new(FIXTURES).join(f), dir.join(f)).unwrap();
    }
    std::fs::write(
        dir.join("Makefile"),
        format!("container: {source} container_common.h\n\tcc -O2 {flags} -o container {source}\n"),
    )
    .unwrap();
}

#[test]
#[file_serial(host_state)]
#[cfg_attr(
    not(nsconform_root),
    ignore = "needs root: the class is graded as root (the expected scores are root's)"
)]
fn grades_a_class_and_writes_the_summary() {
    nsconform_tests::require_root("the class is graded as root (the expected scores are root's)");
    let tmp = tempfile::tempdir().unwrap();
    let class = tmp.path().join("class");
    submission(&class, "alice", "container.c", "");
    submission(&class, "bob", "container.c", "-DFLAW_NO_NETNS");
    submission(&class, "carol", "container.c", "-DTHIS_IS_NOT_C=(");
    std::fs::write(class.join("carol/container.c"), "int main( { return 0; }\n").unwrap();
    submission(&class, "dave", "hang.c", "");
    let out = tmp.path().join("grades");
    let (code, stdout, stderr) = nsconform(&[
        "grade",
        class.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--timeout",
        "1",
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // Not on a terminal: a plain progress line per submission, in a CI log too.
    assert!(
        stderr.contains("grading 1/4: alice: 11.5 / 11.5"),
        "{stderr}"
    );
    assert!(stderr.contains("grading 4/4: dave"), "{stderr}");
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "submission,build,PID-01,UTS-02,UTS-03,IPC-08,NET-01,USER-26,MNT-01,CG-01,HOST-01,score,max"
    );
    assert_eq!(
        rows[1],
        "alice,ok,pass,pass,pass,pass,pass,pass,pass,pass,pass,11.5,11.5"
    );
    assert_eq!(
        rows[2],
        "bob,ok,pass,pass,pass,pass,fail,pass,pass,pass,pass,10.5,11.5"
    );
    assert_eq!(
        rows[3],
        "carol,failed,fail,fail,fail,fail,fail,fail,fail,fail,fail,0,11.5"
    );
    assert_eq!(
        rows[4],
        "dave,ok,timeout,timeout,timeout,timeout,timeout,timeout,timeout,timeout,timeout,0,11.5"
    );
    assert!(
        stdout.contains("alice") && stdout.contains("11.5/11.5"),
        "{stdout}"
    );
    // One report per submission; the failed build's log reaches the student.
    let carol: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("carol.results.json")).unwrap())
            .unwrap();
    assert_eq!(carol["score"], 0.0);
    assert!(
        carol["output"]
            .as_str()
            .unwrap()
            .contains("The build failed"),
        "{carol}"
    );
    assert!(
        carol["output"].as_str().unwrap().contains("error"),
        "compiler output attached: {carol}"
    );
    let alice: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("alice.json")).unwrap()).unwrap();
    assert_eq!(alice["build"]["ok"], true);
    assert_eq!(alice["report"]["score"]["earned"], 11.5);
}

#[test]
fn a_missing_class_directory_is_a_usage_error() {
    let (code, _, err) = nsconform(&["grade", "/nonexistent/class"]);
    assert_eq!(code, 2);
    assert!(err.contains("not a directory"), "{err}");
}

#[test]
fn an_empty_class_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let class = tmp.path().join("class");
    std::fs::create_dir_all(class.join(".hidden")).unwrap();
    std::fs::write(class.join("not-a-folder.txt"), "x").unwrap();
    let out = tmp.path().join("grades");
    let (code, _, err) = nsconform(&[
        "grade",
        class.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("holds no submission") && err.contains(class.to_str().unwrap()),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written for a usage error");
}

/// A rubric item no subject can earn (a kernel-only property) is refused, not counted
/// in the maximum as "0/5".
#[test]
fn a_rubric_item_that_cannot_apply_to_subjects_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let rubric = tmp.path().join("r.toml");
    std::fs::write(
        &rubric,
        "[[property]]\nid = \"UTS-02\"\npoints = 1\n\n[[property]]\nid = \"GEN-01\"\npoints = 5\n",
    )
    .unwrap();
    let class = tmp.path().join("class");
    std::fs::create_dir_all(class.join("alice")).unwrap();
    let r = rubric.to_str().unwrap();
    for args in [
        vec![
            "grade",
            class.to_str().unwrap(),
            "--rubric",
            r,
            "--run",
            "true {probe}",
        ],
        vec!["run", "--subject", "true", "--rubric", r],
    ] {
        let (code, _, err) = nsconform(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.contains("GEN-01 cannot be judged for a subject"),
            "{args:?}: {err}"
        );
    }
    // For a catalogue run the same rubric is fine: GEN-01 is judged there.
    let (code, _, err) = nsconform(&["run", "UTS-02", "GEN-01", "--rubric", r]);
    assert_eq!(code, 0, "{err}");
}

/// A bad `--out` is found before any build runs: the build would leave a marker.
#[test]
fn a_bad_out_folder_is_a_usage_error_before_anything_is_built() {
    let tmp = tempfile::tempdir().unwrap();
    let class = tmp.path().join("class");
    std::fs::create_dir_all(class.join("alice")).unwrap();
    let marker = tmp.path().join("built-marker");
    let build = format!("touch {}", marker.display());
    let a_file = tmp.path().join("a-file");
    std::fs::write(&a_file, "x").unwrap();
    let cases = [
        (
            tmp.path().join("no/such/parent/grades"),
            "parent folder does not exist",
        ),
        (a_file.join("grades"), "ENOTDIR"),
        (a_file.clone(), "not a directory"),
        ("/proc/self/grades".into(), "cannot create"),
    ];
    for (out, why) in cases {
        let (code, _, err) = nsconform(&[
            "grade",
            class.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--build",
            &build,
        ]);
        assert_eq!(code, 2, "{}: {err}", out.display());
        assert!(
            err.contains("--out") && err.contains(why),
            "{}: {err}",
            out.display()
        );
        assert!(!marker.exists(), "{}: the build ran", out.display());
    }
    // An unwritable folder: only an unprivileged user is refused (root writes anyway).
    if !nix::unistd::geteuid().is_root() {
        let ro = tmp.path().join("read-only");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
        let (code, _, err) = nsconform(&[
            "grade",
            class.to_str().unwrap(),
            "--out",
            ro.to_str().unwrap(),
            "--build",
            &build,
        ]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("not writable"), "{err}");
        assert!(!marker.exists());
    }
    // The same class with a good --out builds (so the marker above could appear).
    let (_, _, err) = nsconform(&[
        "grade",
        class.to_str().unwrap(),
        "--out",
        tmp.path().join("grades").to_str().unwrap(),
        "--build",
        &build,
        "--run",
        "/bin/true",
        "--timeout",
        "1",
    ]);
    if !err.contains("environment error") {
        assert!(marker.exists(), "{err}");
    }
}

/// A submission whose `./container` is a script doing `attack` first, then running the
/// probe under unshare as an unprivileged user.
fn hostile(class: &Path, name: &str, attack: &str) {
    let dir = class.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("container.sh"),
        format!(
            "#!/bin/sh\n{attack}\nexec setpriv --reuid 100000 --regid 100000 --clear-groups \
             unshare -pfnuimC --mount-proc -r \"$@\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("Makefile"),
        "container: container.sh\n\tcp container.sh container\n\tchmod +x container\n",
    )
    .unwrap();
}

/// Submissions that stop or kill the process grading them (their parent, its parent,
/// its process group), and one whose build makes no program: each scores 0 with the
/// reason, the ones graded before and after keep their full scores, and the grade
/// finishes.
#[test]
#[file_serial(host_state)]
#[cfg_attr(
    not(nsconform_root),
    ignore = "needs root: the class is graded as root (the expected scores are root's)"
)]
fn a_hostile_submission_hits_only_its_own_grader() {
    nsconform_tests::require_root("the class is graded as root (the expected scores are root's)");
    let tmp = tempfile::tempdir().unwrap();
    let class = tmp.path().join("class");
    submission(&class, "a-good", "container.c", "");
    let none = class.join("b-builds-nothing");
    std::fs::create_dir_all(&none).unwrap();
    std::fs::write(none.join("Makefile"), "all:\n\t@echo nothing to do\n").unwrap();
    submission(&class, "c-good", "container.c", "");
    hostile(&class, "d-stops-parent", "kill -STOP $PPID");
    submission(&class, "e-good", "container.c", "");
    hostile(&class, "f-kills-parent", "kill -9 $PPID");
    hostile(
        &class,
        "g-kills-grandparent",
        "kill -9 $(cut -d' ' -f4 /proc/$PPID/stat)",
    );
    hostile(
        &class,
        "h-kills-parents-group",
        "kill -9 -$(cut -d' ' -f5 /proc/$PPID/stat)",
    );
    submission(&class, "i-good", "container.c", "");
    let out = tmp.path().join("grades");
    let (code, stdout, err) = nsconform(&[
        "grade",
        class.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--timeout",
        "5",
    ]);
    assert_eq!(code, 0, "{stdout}\n{err}");
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let score = |name: &str| -> String {
        let row = csv
            .lines()
            .find(|l| l.starts_with(&format!("{name},")))
            .unwrap_or_else(|| panic!("{name} not in\n{csv}"));
        row.split(',').rev().nth(1).unwrap().to_string()
    };
    // The full score: the rubric's maximum, the last column.
    let max = csv.lines().nth(1).unwrap().rsplit(',').next().unwrap();
    for good in ["a-good", "c-good", "e-good", "i-good"] {
        assert_eq!(score(good), max, "{good}:\n{csv}");
    }
    let output = |name: &str| -> String {
        let v: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join(format!("{name}.results.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(v["score"], 0.0, "{name}: {v}");
        v.to_string()
    };
    let cases = [
        ("b-builds-nothing", "produced no"),
        ("d-stops-parent", "stopped its grader process"),
        ("f-kills-parent", "killed its grader process"),
        ("g-kills-grandparent", "killed its grader process"),
        ("h-kills-parents-group", "killed its grader process"),
    ];
    for (name, why) in cases {
        assert_eq!(score(name), "0", "{name}:\n{csv}");
        let text = output(name);
        assert!(text.contains(why), "{name}: {text}");
    }
    // Nothing of theirs is left running.
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(class.to_str().unwrap()))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
