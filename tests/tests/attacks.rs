//! Hostile and broken subjects: each attack on the verdict or on the run gets the right
//! verdict, and the run ends within its timeout with nothing of the subject left.

use nsconform_core::outcome::Outcome;
use nsconform_core::subject::Ending;
use nsconform_tests::{run_subject_cmd, running_with_arg, unprivileged};
use serial_test::file_serial;
use std::time::Duration;

/// A procfs that is not the probe's own PID namespace's fails PID-01: the parent's
/// procfs (a new PID namespace without a /proc mount), and a tmpfs dressed up with a
/// directory `1`.
#[test]
#[file_serial(host_state)]
fn a_fake_proc_fails_pid_01() {
    for cmd in [
        "unshare -pf -r {probe}",
        "unshare -pfm -r sh -c 'mount -t tmpfs fake /proc && mkdir /proc/1 && exec {probe}'",
    ] {
        let (run, v) = run_subject_cmd(&unprivileged(cmd), Duration::from_secs(10));
        assert!(
            matches!(run.ending, Ending::Reported { .. }),
            "{cmd}: {:?} {}",
            run.ending,
            run.stderr_tail
        );
        assert_eq!(v["PID-01"], Outcome::Fail, "{cmd}");
        // The same subject with a real procfs of its own passes: the check can pass.
    }
    let (_, v) = run_subject_cmd(
        &unprivileged("unshare -pf --mount-proc -r {probe}"),
        Duration::from_secs(10),
    );
    assert_eq!(v["PID-01"], Outcome::Pass);
}

/// A mount namespace whose mounts stay in a peer group with the host's fails MNT-01,
/// even where a test mount cannot be made (the harness reads propagation from the mount
/// table): `--propagation unchanged` keeps the host's shared scratch mount shared.
#[test]
#[file_serial(host_state)]
#[cfg_attr(
    not(nsconform_root),
    ignore = "needs root: the shared scratch mount needs root"
)]
fn shared_propagation_fails_mnt_01_with_or_without_a_mount() {
    nsconform_tests::require_root("the shared scratch mount needs root");
    let (run, v) = run_subject_cmd(
        "unshare -m --propagation unchanged {probe}",
        Duration::from_secs(10),
    );
    assert!(
        matches!(run.ending, Ending::Reported { .. }),
        "{:?}",
        run.ending
    );
    assert_eq!(v["MNT-01"], Outcome::Fail);
    // An inner user namespace: the probe cannot mount (its mount namespace is owned by
    // the host's user namespace), and the peer group alone fails it.
    let (run, v) = run_subject_cmd(
        "unshare -m --propagation unchanged unshare -U -r {probe}",
        Duration::from_secs(10),
    );
    assert!(
        matches!(run.ending, Ending::Reported { .. }),
        "{:?}",
        run.ending
    );
    assert_eq!(v["MNT-01"], Outcome::Fail);
    let (_, v) = run_subject_cmd("unshare -m {probe}", Duration::from_secs(10));
    assert_eq!(v["MNT-01"], Outcome::Pass);
}

/// Daemons that escape the process tree (setsid, double fork, a cleared environment)
/// and hold the subject's stdout open neither outlive the run nor stretch it to their
/// lifetime.
#[test]
#[file_serial(host_state)]
fn escaped_daemons_are_killed_and_do_not_hold_the_run() {
    let marker = format!("nsconform-daemon-{}", std::process::id());
    let cmd = format!(
        "sh -c 'setsid env -i sh -c \"exec -a {marker} sleep 300\" & (sleep 300 &) ; exec {{probe}}'"
    );
    let (run, v) = run_subject_cmd(
        &unprivileged(&format!("unshare -pfnuimC --mount-proc -r {cmd}")),
        Duration::from_secs(20),
    );
    assert!(
        matches!(run.ending, Ending::Reported { .. }),
        "{:?} {}",
        run.ending,
        run.stderr_tail
    );
    assert_eq!(v["PID-01"], Outcome::Pass);
    assert!(
        running_with_arg(&marker).is_empty(),
        "the setsid env -i daemon survived the run"
    );
    // Outside any namespace too: the run's cgroup catches what the process tree loses.
    let cmd =
        format!("sh -c 'setsid env -i sh -c \"exec -a {marker} sleep 300\" & exec {{probe}}'");
    let (run, _) = run_subject_cmd(&cmd, Duration::from_secs(20));
    assert!(
        !matches!(run.ending, Ending::TimedOut { .. }),
        "{:?}",
        run.ending
    );
    assert!(running_with_arg(&marker).is_empty(), "the daemon survived");
}

/// A root subject that moves itself into child cgroups of the run's own and leaves a
/// setsid `env -i` daemon there: the run's kill reaches the whole subtree, and the child
/// cgroups are removed with the run's.
#[test]
#[file_serial(host_state)]
#[cfg_attr(
    not(nsconform_root),
    ignore = "needs root: only root may make cgroups in the run's cgroup"
)]
fn a_daemon_in_a_child_cgroup_is_killed() {
    nsconform_tests::require_root("only root may make cgroups in the run's cgroup");
    let marker = format!("nsconform-cgdaemon-{}", std::process::id());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/attacks/cgroup-escape.sh"
    );
    let (run, _) = run_subject_cmd(
        &format!("{script} {marker} {{probe}}"),
        Duration::from_secs(20),
    );
    assert!(
        run.stderr_tail.contains("/escape"),
        "the subject did not move: {}",
        run.stderr_tail
    );
    assert!(
        !matches!(run.ending, Ending::TimedOut { .. }),
        "{:?}",
        run.ending
    );
    assert!(
        running_with_arg(&marker).is_empty(),
        "the daemon in a child cgroup survived"
    );
    for line in run.stderr_tail.lines() {
        if let Some(dir) = line.strip_prefix("moved to ") {
            assert!(!std::path::Path::new(dir).exists(), "{dir} left");
        }
    }
}

/// A subject that floods its output keeps only a bounded tail, and still gets judged.
#[test]
#[file_serial(host_state)]
fn an_output_flood_is_bounded() {
    let (run, v) = run_subject_cmd(
        &unprivileged(
            "unshare -pfnuimC --mount-proc -r sh -c 'head -c 100000000 /dev/zero | tr \"\\0\" x; head -c 100000000 /dev/zero | tr \"\\0\" y >&2; exec {probe}'",
        ),
        Duration::from_secs(60),
    );
    assert!(
        matches!(run.ending, Ending::Reported { .. }),
        "{:?}",
        run.ending
    );
    assert!(run.stdout_tail.len() <= 8192, "{}", run.stdout_tail.len());
    assert!(run.stderr_tail.len() <= 8192, "{}", run.stderr_tail.len());
    assert_eq!(v["PID-01"], Outcome::Pass);
}

/// A subject that gives fd 3 to a helper outside its namespaces, which sends a report:
/// no report from anything but the probe counts.
#[test]
#[file_serial(host_state)]
fn a_report_from_anything_but_the_probe_is_no_report() {
    // `cat` on fd 3 never sends a probe report; the helper writes a fabricated one.
    let cmd = "sh -c 'printf \"{\\\"view\\\":{}}\" >&3; sleep 1; exit 0' {probe}";
    let (run, v) = run_subject_cmd(cmd, Duration::from_secs(10));
    assert!(
        matches!(run.ending, Ending::NoReport { .. }),
        "{:?}",
        run.ending
    );
    for (id, o) in &v {
        assert_ne!(*o, Outcome::Pass, "{id}");
    }
}
