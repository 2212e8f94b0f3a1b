//! Subjects: the fixture "student containers", util-linux unshare and bubblewrap, each
//! run with the probe inside and judged; the exact verdict matrix is snapshotted.
//! Also: forgery never passes, hangs time out with the whole tree killed, the host is
//! left as it was.

use nsconform_core::catalogue;
use nsconform_core::env::Env;
use nsconform_core::harness::RunOptions;
use nsconform_core::host::HostState;
use nsconform_core::outcome::Outcome;
use nsconform_core::subject::{self, Ending, SubjectSpec};
use nsconform_tests::{probe, run_subject, subject_props, unprivileged};
use serial_test::file_serial;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

fn fixtures_bin() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/subjects"));
            let out = duct::cmd!("make", "-s", "-C", &dir)
                .stderr_to_stdout()
                .unchecked()
                .run()
                .unwrap();
            assert!(
                out.status.success(),
                "building the fixtures failed:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
            dir.join("bin").canonicalize().unwrap()
        })
        .clone()
}

fn words(s: &str) -> Vec<String> {
    subject::split_command(s).unwrap()
}

/// Every fixture, unshare(1) and bwrap: the exact verdict of every subject property.
#[test]
#[file_serial(host_state)]
#[cfg_attr(
    not(nsconform_root),
    ignore = "needs root: the matrix is pinned for root (hostname-before-clone and shared-root behave differently unprivileged)"
)]
fn fixture_and_runtime_verdict_matrix() {
    nsconform_tests::require_root("the matrix is pinned for root (hostname-before-clone and shared-root behave differently unprivileged)");
    let bin = fixtures_bin();
    let before = HostState::capture();
    // A forged report with every fact a perfect run shows, for the forging subject to
    // replay on stdout and on the report channel.
    let (reference, _) = run_subject(
        &[bin.join("container").display().to_string()],
        Duration::from_secs(10),
    );
    let obs = reference.observation.unwrap_or_else(|| {
        panic!(
            "the reference container did not report: {:?} {}",
            reference.ending, reference.stderr_tail
        )
    });
    std::fs::write(
        bin.join("forged-report.json"),
        serde_json::to_vec(&obs.report).unwrap(),
    )
    .unwrap();

    let mut subjects: Vec<(String, Vec<String>)> = [
        "container",
        "no-netns",
        "no-proc",
        "no-uidmap",
        "hostname-before-clone",
        "unshare-exec",
        "shared-root",
        "shared-root-userns",
        "no-ipcns",
        "no-cgroupns",
        "forge",
        "forge-creds",
        "hang",
        "fork-forever",
        "exit-nonzero",
    ]
    .iter()
    .map(|n| (n.to_string(), vec![bin.join(n).display().to_string()]))
    .collect();
    for cmd in [
        "unshare -pfnuimC --mount-proc -r {probe}",
        "unshare -pfnuimCT --mount-proc -r {probe}",
        "unshare -pf --mount-proc -r {probe}",
        "unshare -n -r {probe}",
        "unshare -m {probe}",
        "bwrap --unshare-all --dev-bind / / --proc /proc {probe}",
        "bwrap --unshare-net --dev-bind / / {probe}",
        "sh -c 'exec {probe}'",
    ] {
        subjects.push((cmd.to_string(), words(cmd)));
    }
    let mut matrix = String::new();
    for (name, argv) in &subjects {
        let (run, verdicts) = run_subject(argv, Duration::from_secs(2));
        let row: Vec<String> = verdicts.iter().map(|(id, o)| format!("{id}={o}")).collect();
        matrix.push_str(&format!("{name}: {}\n", row.join(" ")));
        if matches!(
            name.as_str(),
            "forge" | "forge-creds" | "hang" | "fork-forever"
        ) || name.starts_with("sh -c")
        {
            assert!(
                verdicts.values().all(|o| *o != Outcome::Pass),
                "{name} got a pass: {verdicts:?} ({:?})",
                run.ending
            );
        }
        if name == "forge-creds" {
            // The forgery was delivered (the decoy made, the credentials accepted): the
            // no-pass above is the harness's doing, not a failed attack.
            assert!(
                !run.stderr_tail.contains("forge-creds:"),
                "the attack did not run: {}",
                run.stderr_tail
            );
        }
        if matches!(name.as_str(), "hang" | "fork-forever") {
            assert!(
                matches!(run.ending, Ending::TimedOut { .. }),
                "{name}: {:?}",
                run.ending
            );
        }
    }
    let _ = std::fs::remove_file(bin.join("forged-report.json"));
    insta::assert_snapshot!("subject_verdict_matrix", matrix);
    let diff = HostState::capture().diff(&before);
    assert!(
        diff.is_empty(),
        "subjects changed the host:\n{}",
        diff.join("\n")
    );
    let leftovers: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path().join("exe")).ok())
        .map(|p| p.display().to_string())
        .filter(|p| p.starts_with(&bin.display().to_string()))
        .collect();
    assert!(
        leftovers.is_empty(),
        "fixture processes left running: {leftovers:?}"
    );
}

#[test]
#[file_serial(host_state)]
fn missing_or_unexecutable_subjects_are_errors_not_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let not_exec = tmp.path().join("container");
    std::fs::write(&not_exec, "#!/bin/sh\n").unwrap();
    for (argv, needle) in [
        (
            vec![tmp.path().join("nope").display().to_string()],
            "No such file",
        ),
        (vec![not_exec.display().to_string()], "executable"),
    ] {
        let (run, verdicts) = run_subject(&argv, Duration::from_secs(5));
        assert!(
            matches!(&run.ending, Ending::NotStarted { why } if why.contains(needle)),
            "{:?}",
            run.ending
        );
        assert!(
            verdicts.values().all(|o| *o == Outcome::Error),
            "{verdicts:?}"
        );
    }
}

#[test]
#[file_serial(host_state)]
fn a_subject_exiting_without_the_probe_fails_with_its_status() {
    let (run, verdicts) = run_subject(
        &words("sh -c 'echo broken >&2; exit 7'"),
        Duration::from_secs(5),
    );
    assert!(
        matches!(run.ending, Ending::NoReport { exit: Some(7), .. }),
        "{:?}",
        run.ending
    );
    assert!(run.stderr_tail.contains("broken"));
    // Every required property fails; the optional one (a time namespace) has nothing to
    // judge and is skipped with that reason.
    for (id, o) in &verdicts {
        let want = if id == "TIME-02" {
            Outcome::Skip
        } else {
            Outcome::Fail
        };
        assert_eq!(*o, want, "{id}");
    }
}

#[test]
#[file_serial(host_state)]
fn the_cli_grades_unshare_and_reports_json() {
    let out = duct::cmd(
        nsconform_tests::cli(),
        [
            "run",
            "--format",
            "json",
            "--subject",
            unprivileged("unshare -pfnuimC --mount-proc -r {probe}").as_str(),
        ],
    )
    .stdout_capture()
    .unchecked()
    .run()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["subject"]["ending"]["ended"], "reported");
    assert_eq!(
        v["results"].as_array().unwrap().len(),
        subject_props().len()
    );
}

/// An environment that cannot create namespaces (here: a user namespace whose
/// max_user_namespaces is 0, as on hosts that disable them) is an environment error for
/// the whole run, never the subject's failure.
#[test]
#[file_serial(host_state)]
#[cfg_attr(
    not(nsconform_root),
    ignore = "needs root: needs root to set up the restricted environment"
)]
fn an_environment_without_namespaces_is_an_error_not_a_failure() {
    nsconform_tests::require_root("needs root to set up the restricted environment");
    let script = format!(
        "echo 0 > /proc/sys/user/max_user_namespaces && exec {} run --format json --subject 'unshare -pf {{probe}}'",
        nsconform_tests::cli().display()
    );
    let out = duct::cmd("unshare", ["-Ur", "sh", "-c", &script])
        .stdout_capture()
        .unchecked()
        .run()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["privileged"], false,
        "root of a child user namespace is not privileged"
    );
    for r in v["results"].as_array().unwrap() {
        assert_eq!(r["outcome"], "error", "{r}");
        assert!(
            r["detail"]
                .as_str()
                .unwrap()
                .contains("user (ENOSPC: /proc/sys/user/max_user_namespaces is 0)"),
            "{r}"
        );
    }
}

/// A runtime that changes root into a bare root filesystem: the statically linked probe
/// is copied in with `--probe-into`, runs there, and is removed afterwards.
#[test]
#[file_serial(host_state)]
fn the_probe_runs_inside_a_foreign_root_filesystem() {
    let probe = probe();
    assert!(
        subject::locate_static_probe(&probe.program).is_some(),
        "no static nsconform: run ci/build-static (ci/test does)"
    );
    let rootfs = tempfile::tempdir().unwrap();
    for d in ["proc", "tmp", "dev"] {
        std::fs::create_dir(rootfs.path().join(d)).unwrap();
    }
    std::fs::set_permissions(
        rootfs.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let cmd = unprivileged(&format!(
        "unshare -pfnuimCT -r --root={} --mount-proc {{probe}}",
        rootfs.path().display()
    ));
    let opts = RunOptions::new(probe);
    let spec = SubjectSpec {
        limits: nsconform_core::contain::Limits::default(),
        argv: words(&cmd),
        timeout: Duration::from_secs(10),
        probe_into: Some(rootfs.path().to_path_buf()),
        bundle: None,
        cwd: None,
    };
    let run = subject::run_subject(&spec, &Env::detect(None), &opts);
    assert!(
        matches!(run.ending, Ending::Reported { exit: Some(0) }),
        "{:?} {}",
        run.ending,
        run.stderr_tail
    );
    for r in subject::judge(&run, &subject_props()) {
        assert_eq!(
            r.verdict.outcome,
            Outcome::Pass,
            "{}: {}",
            r.id,
            r.verdict.detail
        );
    }
    let left: Vec<_> = std::fs::read_dir(rootfs.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("nsconform"))
        .collect();
    assert!(left.is_empty(), "the probe copy was left behind: {left:?}");
}

/// HOST-01's verdict of a run, and the run's findings of one kind.
fn host_01(run: &subject::SubjectRun) -> nsconform_core::outcome::Verdict {
    let p = catalogue::find("HOST-01").expect("HOST-01 is in the catalogue");
    subject::judge(run, &[p]).remove(0).verdict
}

fn findings_of<'a>(
    run: &'a subject::SubjectRun,
    kind: &str,
) -> Vec<&'a nsconform_core::hostchange::HostFinding> {
    run.host_changes
        .iter()
        .filter(|f| serde_json::to_value(&f.change).unwrap()["kind"] == kind)
        .collect()
}

/// A subject without namespaces that mounts a tmpfs on the host (outside the scratch
/// directory it was given): HOST-01 fails for the mount, which is unmounted.
#[test]
#[file_serial(host_state)]
#[cfg_attr(
    not(nsconform_root),
    ignore = "needs root: mounting on the host needs root"
)]
fn a_mount_leaked_into_the_host_fails_host_01_and_is_unmounted() {
    nsconform_tests::require_root("mounting on the host needs root");
    let before = HostState::capture();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().display().to_string();
    let cmd = format!("sh -c 'mount -t tmpfs nsc-leak {target} && exec {{probe}}'");
    let (run, _) = run_subject(&words(&cmd), Duration::from_secs(10));
    let v = host_01(&run);
    assert_eq!(v.outcome, Outcome::Fail, "{v:?}");
    let leak: Vec<_> = findings_of(&run, "mount")
        .into_iter()
        .filter(|f| matches!(&f.change, nsconform_core::hostchange::HostChange::Mount { mount_point, .. } if *mount_point == target))
        .collect();
    assert_eq!(leak.len(), 1, "{:#?}", run.host_changes);
    assert!(leak[0].attributed && leak[0].restored, "{:?}", leak[0]);
    assert!(v.actual.unwrap_or_default().contains(&target));
    assert!(
        !nsconform_core::host::mounts()
            .iter()
            .any(|m| m.mount_point == target),
        "the leaked tmpfs is still mounted"
    );
    let diff = HostState::capture().diff(&before);
    assert!(diff.is_empty(), "host changed:\n{}", diff.join("\n"));
}

/// A subject that makes a SysV message queue in the host's IPC namespace (`ipcmk -Q`):
/// HOST-01 fails, the queue is removed.
#[test]
#[file_serial(host_state)]
fn a_sysv_queue_left_on_the_host_fails_host_01_and_is_removed() {
    let before = HostState::capture();
    let (run, _) = run_subject(
        &words("sh -c 'ipcmk -Q >/dev/null && exec {probe}'"),
        Duration::from_secs(10),
    );
    let v = host_01(&run);
    assert_eq!(v.outcome, Outcome::Fail, "{v:?}");
    let q = findings_of(&run, "sysv_msg");
    assert_eq!(q.len(), 1, "{:#?}", run.host_changes);
    assert!(q[0].attributed && q[0].restored, "{:?}", q[0]);
    let diff = HostState::capture().diff(&before);
    assert!(diff.is_empty(), "host changed:\n{}", diff.join("\n"));
}

/// A subject that leaves a named network namespace and a veth pair in the host's network
/// namespace: HOST-01 fails, both are removed.
#[test]
#[file_serial(host_state)]
#[cfg_attr(
    not(nsconform_root),
    ignore = "needs root: named network namespaces and veths on the host"
)]
fn a_named_netns_and_a_veth_left_on_the_host_fail_host_01_and_are_removed() {
    nsconform_tests::require_root("named network namespaces and veths on the host");
    nsconform_tests::require_tool("ip", "iproute2");
    let before = HostState::capture();
    let pid = std::process::id();
    let cmd = format!(
        "sh -c 'ip netns add nsc-test-{pid} && ip link add nscv{pid} type veth peer name nscw{pid} && exec {{probe}}'"
    );
    let (run, _) = run_subject(&words(&cmd), Duration::from_secs(10));
    let v = host_01(&run);
    assert_eq!(v.outcome, Outcome::Fail, "{v:?}");
    let ns = findings_of(&run, "named_netns");
    assert_eq!(ns.len(), 1, "{:#?}", run.host_changes);
    assert!(ns[0].attributed && ns[0].restored, "{:?}", ns[0]);
    let links = findings_of(&run, "link");
    assert_eq!(links.len(), 2, "{:#?}", run.host_changes);
    assert!(
        links.iter().all(|f| f.attributed && f.restored),
        "{links:?}"
    );
    assert!(!std::path::Path::new(&format!("/run/netns/nsc-test-{pid}")).exists());
    assert!(!std::path::Path::new(&format!("/sys/class/net/nscv{pid}")).exists());
    let diff = HostState::capture().diff(&before);
    assert!(diff.is_empty(), "host changed:\n{}", diff.join("\n"));
}

/// A well-behaved rootless container changes nothing on the host: HOST-01 passes, and
/// nothing of the host's was touched.
#[test]
#[file_serial(host_state)]
fn a_well_behaved_subject_passes_host_01() {
    let (run, _) = run_subject(
        &words(&unprivileged("unshare -pfnuimC --mount-proc -r {probe}")),
        Duration::from_secs(10),
    );
    assert!(
        matches!(run.ending, Ending::Reported { .. }),
        "{:?} {}",
        run.ending,
        run.stderr_tail
    );
    let v = host_01(&run);
    assert_eq!(v.outcome, Outcome::Pass, "{v:?}");
    assert!(
        run.host_changes
            .iter()
            .all(|f| !f.attributed && !f.restored),
        "{:#?}",
        run.host_changes
    );
}
