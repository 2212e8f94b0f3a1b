//! `nsconform grade` over a class of submissions made from the fixture sources: a
//! correct one, flawed ones, one that does not compile, one that hangs.

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
fn grades_a_class_and_writes_the_summary() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIP: the class is graded as root (the expected scores are root's)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let class = tmp.path().join("class");
    submission(&class, "alice", "container.c", "");
    submission(&class, "bob", "container.c", "-DFLAW_NO_NETNS");
    submission(&class, "carol", "container.c", "-DTHIS_IS_NOT_C=(");
    std::fs::write(class.join("carol/container.c"), "int main( { return 0; }\n").unwrap();
    submission(&class, "dave", "hang.c", "");
    let out = tmp.path().join("grades");
    let res = duct::cmd(
        nsconform_tests::cli(),
        [
            "grade",
            class.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--timeout",
            "1",
        ],
    )
    .stdout_capture()
    .stderr_capture()
    .unchecked()
    .run()
    .unwrap();
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert_eq!(
        res.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&res.stderr)
    );
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
    let res = duct::cmd(nsconform_tests::cli(), ["grade", "/nonexistent/class"])
        .stderr_capture()
        .unchecked()
        .run()
        .unwrap();
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("not a directory"));
}
