//! The environment, not the kernel: where nsconform cannot create namespaces (limits at
//! 0 in its user namespace, a seccomp filter like container runtimes install), the
//! catalogue reports errors naming the cause and exits 3, never a failure; the JSON
//! report says where it ran (`environment`).

use nsconform_tests::{cli, root};
use rstest::rstest;
use serde_json::Value;

/// Run `argv` (a program and its arguments); exit status and the JSON report nsconform
/// printed on stdout.
fn run(argv: &[String]) -> (i32, Value) {
    let out = nsconform_tests::capture(duct::cmd(&argv[0], &argv[1..]));
    let v = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{argv:?} printed no report ({e}): {}", out.stderr));
    (out.code, v)
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

/// Errors, no fail or timeout, and the types refused are the ones expected, each with
/// `errno` and a cause containing `cause`.
fn assert_blamed_on_the_environment(
    code: i32,
    v: &Value,
    types: &[&str],
    errno: &str,
    cause: &str,
) {
    let s = &v["summary"];
    assert_eq!(code, 3, "{s}");
    assert_eq!(s["fail"], 0, "{s}");
    assert_eq!(s["timeout"], 0, "{s}");
    assert!(s["error"].as_u64().unwrap() > 0, "{s}");
    let refused = v["environment"]["refused"].as_object().unwrap();
    let got: Vec<&str> = refused.keys().map(String::as_str).collect();
    assert_eq!(got, types, "{refused:?}");
    for (t, r) in refused {
        assert_eq!(r["errno"], errno, "{t}: {r}");
        let c = r["cause"].as_str().unwrap().replace("{type}", t);
        assert!(c.contains(&cause.replace("{type}", t)), "{t}: {c}");
    }
    // A fail turned into an error names the refusal; every error names an errno.
    for r in v["results"].as_array().unwrap() {
        if r["outcome"] == "error" {
            let detail = r["detail"].as_str().unwrap();
            if detail.starts_with("not judged") {
                assert!(detail.contains(errno), "{r}");
            } else {
                let named = detail.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
                    w.len() > 2 && w.starts_with('E') && w.chars().all(|c| c.is_ascii_uppercase())
                });
                assert!(
                    r["errno"].is_string() || named,
                    "the error names an errno: {r}"
                );
            }
        }
    }
}

const ALL: [&str; 8] = ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"];

/// A user namespace (made by root, or by an unprivileged user) whose
/// `max_<type>_namespaces` are 0: every type is refused with ENOSPC.
#[rstest]
#[case::as_root(false)]
#[case::as_unprivileged(true)]
fn namespace_limits_at_zero_are_the_environments_fault(#[case] unprivileged: bool) {
    let script = format!(
        "for f in /proc/sys/user/max_*_namespaces; do echo 0 > $f || exit 9; done; \
         exec {} run --format json",
        cli().display()
    );
    let mut argv = if unprivileged && root() {
        words("setpriv --reuid 65534 --regid 65534 --clear-groups")
    } else {
        Vec::new()
    };
    argv.extend(words("unshare -U -r --fork sh -c"));
    argv.push(script);
    let (code, v) = run(&argv);
    assert_blamed_on_the_environment(
        code,
        &v,
        &ALL,
        "ENOSPC",
        "/proc/sys/user/max_{type}_namespaces is 0",
    );
    assert!(v["environment"]["nested"]
        .as_array()
        .unwrap()
        .contains(&"user".into()));
}

/// One limit at 0: only that type is refused, and the properties that do not need it
/// still pass.
#[test]
fn one_limit_at_zero_refuses_one_type() {
    let script = format!(
        "echo 0 > /proc/sys/user/max_net_namespaces && exec {} run --format json",
        cli().display()
    );
    let mut argv = words("unshare -U -r --fork sh -c");
    argv.push(script);
    let (code, v) = run(&argv);
    assert_blamed_on_the_environment(code, &v, &["net"], "ENOSPC", "max_net_namespaces is 0");
    let pass = |id: &str| {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == id && r["outcome"] == "pass")
    };
    assert!(pass("UTS-01") && pass("PID-01"), "{}", v["summary"]);
    assert_eq!(
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "NET-01")
            .map(|r| r["outcome"].clone()),
        Some("error".into())
    );
}

/// A seccomp filter refusing unshare(2) and clone(2) with CLONE_NEW* flags (clone3
/// answers ENOSYS), as container runtimes' default profiles do.
#[rstest]
#[case::as_root(false)]
#[case::as_unprivileged(true)]
fn a_seccomp_filter_refusing_namespaces_is_the_environments_fault(#[case] unprivileged: bool) {
    let mut argv = if unprivileged && root() {
        words("setpriv --reuid 65534 --regid 65534 --clear-groups")
    } else {
        Vec::new()
    };
    argv.push(env!("CARGO_BIN_EXE_deny-namespaces").into());
    argv.push(cli().display().to_string());
    argv.extend(words("run --format json"));
    let (code, v) = run(&argv);
    assert_blamed_on_the_environment(code, &v, &ALL, "EPERM", "a seccomp filter");
    assert_eq!(v["environment"]["seccomp"], 2);
    assert_eq!(v["environment"]["no_new_privs"], true);
}

/// Where every type can be created, nothing is refused and the run passes.
#[test]
fn here_nothing_is_refused() {
    let (code, v) = run(&[
        cli().display().to_string(),
        "run".into(),
        "UTS".into(),
        "--format".into(),
        "json".into(),
    ]);
    assert_eq!(code, 0, "{}", v["summary"]);
    let e = &v["environment"];
    assert!(e.get("refused").is_none(), "{e}");
    assert_eq!(e["seccomp"], 0, "{e}");
}
