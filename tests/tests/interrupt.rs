//! Interrupted, killed and concurrent runs: SIGINT/SIGTERM undo everything a run made and
//! exit 130/143 without a report; after SIGKILL, `nsconform cleanup` (and the next run)
//! remove what was left; runs at once give the verdicts of runs alone.
//!
//! Every wait is for a state to appear (a run's state file, a subject's process), never
//! for a fixed time; the bounds only keep a broken run from hanging the suite.

use nsconform_core::cleanup::{self, Owner, Resource};
use nsconform_core::host::HostState;
use nsconform_tests::{cli, root, running_with_arg};
use serial_test::file_serial;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Everything a run may leave on the host.
#[derive(Debug, PartialEq)]
struct Snapshot {
    host: HostState,
    /// `nsconform-*` directories anywhere in the cgroup hierarchies.
    cgroups: BTreeSet<String>,
    /// The state files of runs.
    state_files: BTreeSet<String>,
    /// Processes of runs: probes, and whatever carries a run's tag.
    processes: BTreeSet<String>,
    /// The runs' temp dir (scratch directories).
    temp: BTreeSet<String>,
}

fn cgroup_dirs(dir: &Path, depth: usize, out: &mut BTreeSet<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = e.path();
        if e.file_name().to_string_lossy().starts_with(cleanup::PREFIX) {
            out.insert(path.display().to_string());
        }
        if depth > 0 {
            cgroup_dirs(&path, depth - 1, out);
        }
    }
}

fn run_processes() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let me = std::process::id().to_string();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.parse::<u32>().is_err() || name == me {
            continue;
        }
        let cmd = std::fs::read(format!("/proc/{name}/cmdline")).unwrap_or_default();
        let env = std::fs::read(format!("/proc/{name}/environ")).unwrap_or_default();
        let probe = cmd.split(|&b| b == 0).nth(1) == Some(b"__probe");
        let tagged = env
            .split(|&b| b == 0)
            .any(|kv| kv.starts_with(format!("{}=", cleanup::RUN_ENV).as_bytes()));
        if probe || tagged {
            found.insert(format!(
                "{name}: {}",
                String::from_utf8_lossy(&cmd).replace('\0', " ")
            ));
        }
    }
    found
}

fn list(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// What dead runs left (from before this test) is removed first, then the host is
/// captured: the state a test compares with.
fn clean_snapshot(tmp: &Path) -> Snapshot {
    let out = Command::new(cli())
        .arg("cleanup")
        .env("TMPDIR", tmp)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    snapshot(tmp)
}

fn snapshot(tmp: &Path) -> Snapshot {
    let mut cgroups = BTreeSet::new();
    for m in nsconform_core::host::mounts() {
        if m.fs_type == "cgroup" || m.fs_type == "cgroup2" {
            cgroup_dirs(Path::new(&m.mount_point), 8, &mut cgroups);
        }
    }
    Snapshot {
        host: HostState::capture(),
        cgroups,
        state_files: list(&cleanup::state_dir()),
        processes: run_processes(),
        temp: list(tmp),
    }
}

fn assert_same(before: &Snapshot, after: &Snapshot, what: &str) {
    let mut diff = after.host.diff(&before.host);
    for (name, a, b) in [
        ("cgroups", &before.cgroups, &after.cgroups),
        ("state files", &before.state_files, &after.state_files),
        ("run processes", &before.processes, &after.processes),
        ("scratch in the temp dir", &before.temp, &after.temp),
    ] {
        if a != b {
            diff.push(format!("{name}: {a:?} -> {b:?}"));
        }
    }
    assert!(
        diff.is_empty(),
        "{what}: the host changed:\n{}",
        diff.join("\n")
    );
}

/// A temp dir for the runs' scratch, writable by the unprivileged ids runs drop to.
fn scratch_tmp() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .unwrap();
    tmp
}

fn start(args: &[&str], tmp: &Path) -> Child {
    Command::new(cli())
        .args(args)
        .env("TMPDIR", tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait until `cond` holds (or `child` ended, or a generous bound passed: a failure).
fn wait_until(child: &mut Child, what: &str, mut cond: impl FnMut() -> bool) {
    let bound = Instant::now() + Duration::from_secs(60);
    loop {
        if cond() {
            return;
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!("the run ended ({st}) before {what}");
        }
        assert!(Instant::now() < bound, "never saw {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The state file of run `pid` and what it holds (empty when there is none).
fn state_of(pid: u32) -> (Option<PathBuf>, Vec<Resource>) {
    let owner = Owner::of_pid(pid as i32);
    let Some(owner) = owner else {
        return (None, vec![]);
    };
    let path = cleanup::state_dir().join(format!("{}.json", owner.tag()));
    let held = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| {
            v["held"].as_array().map(|a| {
                a.iter()
                    .filter_map(|pair| serde_json::from_value(pair[1].clone()).ok())
                    .collect()
            })
        })
        .unwrap_or_default();
    (path.is_file().then_some(path), held)
}

fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
}

/// End `child` with `sig`; its exit code and stderr.
fn end_with(child: Child, sig: nix::sys::signal::Signal) -> (Option<i32>, String) {
    signal(&child, sig);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Nothing at `-o FILE`, and no temporary file next to it.
fn no_report(out_dir: &Path) {
    let left = list(out_dir);
    assert!(left.is_empty(), "report or temp file left: {left:?}");
}

/// Every resource a run's state file named is gone.
fn all_gone(held: &[Resource]) {
    for r in held {
        match r {
            Resource::Scratch { path } | Resource::File { path } => {
                assert!(!path.exists(), "{} left", path.display())
            }
            Resource::Cgroup { path } => assert!(!path.exists(), "{} left", path.display()),
            Resource::SysvMsg { id } => assert!(
                nsconform_core::probe::sys::msq_stat(*id).is_err(),
                "SysV queue {id} left"
            ),
            Resource::PosixMq { name } => assert_eq!(
                nsconform_core::probe::sys::mq_visible(name),
                Err(nix::errno::Errno::ENOENT),
                "POSIX queue {name} left"
            ),
            Resource::Process { pid, start } => {
                assert!(
                    !Owner {
                        pid: *pid,
                        start: *start
                    }
                    .alive(),
                    "process {pid} left"
                )
            }
            Resource::HostNames { hostname, .. } => {
                assert_eq!(
                    nsconform_core::host::hostname().value(),
                    Some(hostname.as_str())
                )
            }
            Resource::EmptyDir { path } => assert!(
                std::fs::read_dir(path).map_or(true, |mut d| d.next().is_some()),
                "the empty folder {} left",
                path.display()
            ),
        }
    }
}

/// A catalogue run interrupted `when` (its state file shows it) by `sig` exits with
/// `code`, writes no report and leaves the host as it was.
fn interrupted_catalogue(
    args: &[&str],
    sig: nix::sys::signal::Signal,
    code: i32,
    when: impl Fn(&[Resource]) -> bool,
) {
    let tmp = scratch_tmp();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("report.json");
    let before = clean_snapshot(tmp.path());
    let mut full = args.to_vec();
    full.extend(["--format", "json", "-o", out.to_str().unwrap()]);
    let mut child = start(&full, tmp.path());
    let pid = child.id();
    let mut seen = Vec::new();
    wait_until(&mut child, "the state the test waits for", || {
        let (file, held) = state_of(pid);
        seen = held;
        file.is_some() && when(&seen)
    });
    let (status, stderr) = end_with(child, sig);
    assert_eq!(status, Some(code), "{stderr}");
    assert!(stderr.contains("interrupted by"), "{stderr}");
    no_report(out_dir.path());
    all_gone(&seen);
    assert_same(&before, &snapshot(tmp.path()), &format!("{args:?}"));
}

#[test]
#[file_serial(host_state)]
fn sigint_at_the_start_of_a_run() {
    interrupted_catalogue(&["run"], nix::sys::signal::Signal::SIGINT, 130, |_| true);
}

#[test]
#[file_serial(host_state)]
fn sigterm_in_the_parallel_phase() {
    // Scratch directories are made by checks of the parallel phase (GEN-05, SETNS-12,
    // CG-04): the run is in it when one is held.
    interrupted_catalogue(&["run"], nix::sys::signal::Signal::SIGTERM, 143, |held| {
        held.iter().any(|r| matches!(r, Resource::Scratch { .. }))
            && held.iter().any(|r| matches!(r, Resource::Process { .. }))
    });
}

#[test]
#[file_serial(host_state)]
#[cfg_attr(not(nsconform_root), ignore = "needs root: --rootless-as needs root")]
fn sigint_in_a_rootless_run() {
    nsconform_tests::require_root("--rootless-as needs root");
    interrupted_catalogue(
        &["run", "--rootless-as", "65534"],
        nix::sys::signal::Signal::SIGINT,
        130,
        |held| held.iter().any(|r| matches!(r, Resource::Process { .. })),
    );
}

#[test]
#[file_serial(host_state)]
#[cfg_attr(
    not(nsconform_root),
    ignore = "needs root: the no-new-uts control changes the host name: needs root"
)]
fn sigterm_under_the_no_new_uts_control() {
    nsconform_tests::require_root("the no-new-uts control changes the host name: needs root");
    // The UTS checks run first (global) and, without a new UTS namespace, UTS-02 sets the
    // host's name to nsconform-hostname-<pid> for a moment: the signal comes then (or a
    // little later); either way the name must end as it was. The moment is short: a run
    // that ends before it was seen is tried again.
    for _attempt in 0..20 {
        let tmp = scratch_tmp();
        let out_dir = tempfile::tempdir().unwrap();
        let out = out_dir.path().join("report.json");
        let before = clean_snapshot(tmp.path());
        let mut child = start(
            &[
                "run",
                "--control",
                "no-new-uts",
                "UTS-02",
                "-o",
                out.to_str().unwrap(),
            ],
            tmp.path(),
        );
        let leaked = format!("nsconform-hostname-{}", child.id());
        let seen = loop {
            if nsconform_core::host::hostname().value() == Some(leaked.as_str()) {
                break true;
            }
            if child.try_wait().unwrap().is_some() {
                break false;
            }
            std::thread::yield_now();
        };
        if !seen {
            let _ = child.wait_with_output();
            assert_same(
                &before,
                &snapshot(tmp.path()),
                "no-new-uts, not interrupted",
            );
            continue;
        }
        let (status, stderr) = end_with(child, nix::sys::signal::Signal::SIGTERM);
        assert_eq!(status, Some(143), "{stderr}");
        no_report(out_dir.path());
        assert_same(&before, &snapshot(tmp.path()), "no-new-uts");
        return;
    }
    panic!("the host name never changed under --control no-new-uts (20 runs)");
}

/// A subject that sleeps before it runs the probe: the run is in the subject phase
/// while `sleep <mark>` runs. `prefix` runs first in the subject's shell.
fn sleeping_subject(mark: &str, prefix: &str) -> String {
    format!("sh -c \"{prefix}sleep {mark}; {{probe}}\"")
}

#[test]
#[file_serial(host_state)]
fn sigint_and_sigterm_during_a_subject() {
    for (sig, code, mark) in [
        (nix::sys::signal::Signal::SIGINT, 130, "30.4711"),
        (nix::sys::signal::Signal::SIGTERM, 143, "30.4712"),
    ] {
        let tmp = scratch_tmp();
        let out_dir = tempfile::tempdir().unwrap();
        let out = out_dir.path().join("results.json");
        let before = clean_snapshot(tmp.path());
        let subject = sleeping_subject(mark, "");
        let mut child = start(
            &["run", "--subject", &subject, "-o", out.to_str().unwrap()],
            tmp.path(),
        );
        wait_until(&mut child, "the subject", || {
            !running_with_arg(mark).is_empty()
        });
        let (_, held) = state_of(child.id());
        if root() {
            for kind in ["scratch", "sysv-msg", "posix-mq", "cgroup"] {
                assert!(
                    held.iter()
                        .any(|r| serde_json::to_value(r).unwrap()["kind"] == kind),
                    "{kind} not held: {held:?}"
                );
            }
        }
        let (status, stderr) = end_with(child, sig);
        assert_eq!(status, Some(code), "{stderr}");
        assert!(
            running_with_arg(mark).is_empty(),
            "the subject outlived the run"
        );
        no_report(out_dir.path());
        all_gone(&held);
        assert_same(&before, &snapshot(tmp.path()), &format!("subject, {sig}"));
    }
}

#[test]
#[file_serial(host_state)]
#[cfg_attr(
    not(nsconform_root),
    ignore = "needs root: changing the host name needs root"
)]
fn a_host_name_a_subject_changed_is_put_back_on_sigint() {
    nsconform_tests::require_root("changing the host name needs root");
    // A subject without a UTS namespace of its own renames the host, then hangs.
    let tmp = scratch_tmp();
    let before = clean_snapshot(tmp.path());
    let mark = "30.4713";
    let subject = sleeping_subject(mark, "hostname nsconform-leak-4713; ");
    let mut child = start(&["run", "--subject", &subject], tmp.path());
    wait_until(&mut child, "the subject", || {
        !running_with_arg(mark).is_empty()
    });
    assert_eq!(
        nsconform_core::host::hostname().value(),
        Some("nsconform-leak-4713")
    );
    let (status, stderr) = end_with(child, nix::sys::signal::Signal::SIGINT);
    assert_eq!(status, Some(130), "{stderr}");
    assert!(stderr.contains("restored the hostname"), "{stderr}");
    assert_same(&before, &snapshot(tmp.path()), "renaming subject");
}

/// Run `nsconform cleanup`: its exit code and stdout lines.
fn cleanup_cmd(tmp: &Path) -> (Option<i32>, Vec<String>) {
    let out = Command::new(cli())
        .arg("cleanup")
        .env("TMPDIR", tmp)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect(),
    )
}

#[test]
#[file_serial(host_state)]
fn after_sigkill_cleanup_removes_what_the_run_left() {
    let tmp = scratch_tmp();
    let before = clean_snapshot(tmp.path());
    let mark = "30.4714";
    let subject = sleeping_subject(mark, "");
    let mut child = start(&["run", "--subject", &subject], tmp.path());
    wait_until(&mut child, "the subject", || {
        !running_with_arg(mark).is_empty()
    });
    // A live run's resources are never touched by another run.
    let (code, lines) = cleanup_cmd(tmp.path());
    assert_eq!(
        (code, lines),
        (Some(0), vec![]),
        "cleanup touched a live run"
    );
    let (state, held) = state_of(child.id());
    assert!(state.is_some());
    signal(&child, nix::sys::signal::Signal::SIGKILL);
    let _ = child.wait();
    // Killed: everything is still there (so the cleanup below is what removes it).
    assert!(held.iter().any(|r| match r {
        Resource::Scratch { path } => path.exists(),
        _ => false,
    }));
    assert_ne!(snapshot(tmp.path()), before);
    let (code, lines) = cleanup_cmd(tmp.path());
    assert_eq!(code, Some(0));
    let text = lines.join("\n");
    assert!(text.contains("removed scratch directory"), "{text}");
    assert!(text.contains("removed the state file"), "{text}");
    if root() {
        for what in [
            "removed cgroup",
            "removed SysV message queue",
            "removed POSIX message queue",
        ] {
            assert!(text.contains(what), "{what}: {text}");
        }
    }
    all_gone(&held);
    assert!(
        running_with_arg(mark).is_empty(),
        "the subject survived the cleanup"
    );
    assert_same(&before, &snapshot(tmp.path()), "after cleanup");
    // Nothing is left to remove.
    assert_eq!(cleanup_cmd(tmp.path()), (Some(0), vec![]));
}

#[test]
#[file_serial(host_state)]
fn the_next_run_removes_what_a_killed_run_left() {
    let tmp = scratch_tmp();
    let before = clean_snapshot(tmp.path());
    let mut child = start(&["run"], tmp.path());
    let pid = child.id();
    let mut held = Vec::new();
    wait_until(&mut child, "a scratch directory", || {
        held = state_of(pid).1;
        held.iter().any(|r| matches!(r, Resource::Scratch { .. }))
    });
    signal(&child, nix::sys::signal::Signal::SIGKILL);
    let _ = child.wait();
    let out = Command::new(cli())
        .args(["run", "UTS-01"])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cleaned up after a dead run: removed the state file"),
        "{stderr}"
    );
    all_gone(&held);
    assert_same(&before, &snapshot(tmp.path()), "after the next run");
}

/// `id -> outcome` of a JSON report.
fn outcomes(json: &[u8]) -> BTreeMap<String, String> {
    let v: serde_json::Value = serde_json::from_slice(json)
        .unwrap_or_else(|e| panic!("not a report ({e}): {}", String::from_utf8_lossy(json)));
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn finish(child: Child) -> BTreeMap<String, String> {
    let out = child.wait_with_output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    outcomes(&out.stdout)
}

#[test]
#[file_serial(host_state)]
fn four_runs_at_once_give_the_verdicts_of_one() {
    let tmp = scratch_tmp();
    let before = clean_snapshot(tmp.path());
    let subject = if root() {
        "setpriv --reuid 100000 --regid 100000 --clear-groups unshare -pfnuimC --mount-proc -r {probe}"
    } else {
        "unshare -pfnuimC --mount-proc -r {probe}"
    };
    let mut kinds: Vec<Vec<&str>> = vec![
        vec!["run", "--format", "json"],
        vec!["run", "--format", "json", "--subject", subject],
    ];
    if root() {
        kinds.push(vec!["run", "--format", "json", "--rootless-as", "65534"]);
    }
    let solo: Vec<_> = kinds.iter().map(|k| finish(start(k, tmp.path()))).collect();
    // Two catalogue runs, the subject, the rootless run: all at once.
    let mut at_once = vec![0, 0, 1];
    if root() {
        at_once.push(2);
    }
    let children: Vec<_> = at_once
        .iter()
        .map(|&k| (k, start(&kinds[k], tmp.path())))
        .collect();
    for (k, child) in children {
        let got = finish(child);
        let diff: Vec<_> = solo[k]
            .iter()
            .filter(|(id, o)| got.get(*id) != Some(o))
            .map(|(id, o)| format!("{id}: {o} alone, {:?} at once", got.get(id)))
            .collect();
        assert!(diff.is_empty(), "{:?}:\n{}", kinds[k], diff.join("\n"));
        assert_eq!(solo[k].len(), got.len());
    }
    assert_same(&before, &snapshot(tmp.path()), "after the runs");
}

#[test]
#[file_serial(host_state)]
fn sigterm_during_grade() {
    let tmp = scratch_tmp();
    let class = tempfile::tempdir().unwrap();
    std::fs::create_dir(class.path().join("alice")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let grades = out.path().join("grades");
    let before = clean_snapshot(tmp.path());
    let mark = "30.4716";
    let run = sleeping_subject(mark, "");
    let mut child = start(
        &[
            "grade",
            class.path().to_str().unwrap(),
            "--build",
            "true",
            "--run",
            &run,
            "--out",
            grades.to_str().unwrap(),
        ],
        tmp.path(),
    );
    wait_until(&mut child, "the submission's subject", || {
        !running_with_arg(mark).is_empty()
    });
    let (status, stderr) = end_with(child, nix::sys::signal::Signal::SIGTERM);
    assert_eq!(status, Some(143), "{stderr}");
    assert!(
        running_with_arg(mark).is_empty(),
        "the subject outlived grade"
    );
    no_report(out.path());
    assert_same(&before, &snapshot(tmp.path()), "grade");
}
