//! The `nsconform` command line: formats, exit statuses, rootless runs.

use nsconform_tests::{cli, nsconform};
use std::path::Path;

use serial_test::file_serial;

#[test]
#[file_serial(host_state)]
fn run_json_has_the_documented_schema() {
    let (code, out, err) = nsconform(&["run", "--format", "json"]);
    assert_eq!(code, 0, "stderr: {err}\n{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("report is JSON");
    assert!(v["kernel"].as_str().is_some_and(|k| !k.is_empty()));
    assert!(v["privileged"].is_boolean());
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), nsconform_core::catalogue::all().len());
    for r in results {
        for key in ["id", "title", "outcome", "detail"] {
            assert!(r.get(key).is_some(), "result without {key}: {r}");
        }
        let outcome = r["outcome"].as_str().unwrap();
        assert!(["pass", "fail", "skip", "error", "timeout"].contains(&outcome));
    }
}

#[test]
fn list_json_lists_the_catalogue() {
    let (code, out, _) = nsconform(&["list", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), nsconform_core::catalogue::all().len());
    assert!(items
        .iter()
        .all(|p| p["man"].is_string() && p["prereq"]["privilege"].is_string()));
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    let (code, _, err) = nsconform(&["run", "NO-SUCH-99"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("NO-SUCH-99") && err.contains("nsconform list"),
        "{err}"
    );
    let (code, _, err) = nsconform(&["run", "--control", "bogus"]);
    assert_eq!(code, 2);
    assert!(err.contains("no-new-net"), "{err}");
    let (code, _, _) = nsconform(&["frobnicate"]);
    assert_eq!(code, 2);
}

#[test]
fn inputs_and_output_paths_are_checked_before_the_run() {
    let (code, _, err) = nsconform(&["run", "UTS-01", "-o", "/nonexistent/dir/r.json"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("does not exist"), "{err}");
    let (code, _, err) = nsconform(&["run", "UTS-01", "-o", "/tmp"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = nsconform(&["run", "--subject", "true", "--rubric", "/nonexistent.toml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("ENOENT"), "{err}");
    // Atomic: the report appears whole under its name, no temporary file stays behind.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let (code, _, err) = nsconform(&[
        "run",
        "UTS-01",
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("r.json")]);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(v["results"][0]["id"], "UTS-01");
}

#[test]
fn numbers_out_of_range_are_usage_errors_not_panics() {
    for args in [
        &["run", "UTS-01", "--timeout", "1e30"][..],
        &["run", "UTS-01", "--timeout", "1e19"],
        &["run", "UTS-01", "--timeout", "0"],
        &["run", "UTS-01", "--timeout", "NaN"],
        &["run", "--subject", "true", "--subject-timeout", "1e30"],
        &["run", "UTS-01", "--rootless-as", "0"],
        &["run", "UTS-01", "--rootless-as", "4294967295"],
        &["run", "UTS-01", "--rootless-as", "65534:4294967295"],
    ] {
        let (code, _, err) = nsconform(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
#[file_serial(host_state)]
#[cfg_attr(
    not(nsconform_root),
    ignore = "needs root: the control removes a network namespace only root can share"
)]
fn a_control_run_exits_0_when_every_control_is_detected() {
    nsconform_tests::require_root("negative controls run as root");
    let (code, out, _) = nsconform(&["run", "--control", "no-new-net", "--no-color"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("NET-01") && out.contains("FAIL"), "{out}");
    let n = out.lines().filter(|l| l.contains(" FAIL ")).count();
    assert!(
        out.contains(&format!(
            "controls: {n} of {n} detected at the property's own assertion"
        )),
        "{out}"
    );
    // In JUnit the detected controls are not red.
    let (code, xml, _) = nsconform(&["run", "--control", "no-new-net", "--format", "junit"]);
    assert_eq!(code, 0);
    assert!(
        !xml.contains("<failure") && xml.contains("under control no-new-net"),
        "{xml}"
    );
}

#[test]
fn help_documents_exit_statuses() {
    let (code, out, _) = nsconform(&["run", "--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&nsconform_core::outcome::ExitStatus::help_text()),
        "{out}"
    );
}

/// The README's exit-status table is the code's, and every row happens as it says.
#[test]
#[file_serial(host_state)]
fn the_exit_status_table_is_true_row_by_row() {
    use nsconform_core::outcome::ExitStatus;
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let table = readme
        .split("| exit status | meaning |\n|---|---|\n")
        .nth(1)
        .expect("README has the exit-status table");
    let rows: Vec<String> = table
        .lines()
        .take_while(|l| l.starts_with('|'))
        .map(str::to_string)
        .collect();
    let want: Vec<String> = ExitStatus::ALL
        .iter()
        .map(|e| format!("| {} | {} |", e.code(), e.meaning()))
        .collect();
    assert_eq!(rows, want, "README table and ExitStatus differ");
    // A saved report replays its own status: doctored ones give 1 and 3 without root.
    let tmp = tempfile::tempdir().unwrap();
    let saved = tmp.path().join("r.json");
    let (code, _, err) = nsconform(&[
        "run",
        "UTS-01",
        "--format",
        "json",
        "-o",
        saved.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&saved).unwrap();
    let with = |outcome: &str| {
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["results"][0]["outcome"] = outcome.into();
        v["summary"] = serde_json::json!({ outcome: 1 });
        let p = tmp.path().join(format!("{outcome}.json"));
        std::fs::write(&p, v.to_string()).unwrap();
        p
    };
    let (fail, error) = (with("fail"), with("error"));
    let runs: Vec<(ExitStatus, (i32, String, String))> = vec![
        (ExitStatus::Passed, (code, String::new(), err)),
        (
            ExitStatus::Failed,
            nsconform(&["report", fail.to_str().unwrap()]),
        ),
        (ExitStatus::Usage, nsconform(&["run", "NO-SUCH-99"])),
        (
            ExitStatus::Environment,
            nsconform(&["report", error.to_str().unwrap()]),
        ),
        (
            ExitStatus::Unwritten,
            nsconform(&["run", "UTS-01", "-o", "/dev/full"]),
        ),
    ];
    for (status, (code, _, err)) in &runs {
        assert_eq!(*code, status.code(), "{status:?}: {err}");
    }
    assert!(runs[4].1 .2.contains("ENOSPC"), "{}", runs[4].1 .2);
    // The VM rows are nsconform-vm's (produced in tests/tests/vm.rs), the signal rows the
    // interrupt handler's (produced in tests/tests/interrupt.rs).
    use nsconform_vm::VmOutcome;
    assert_eq!(
        ExitStatus::VmKernelPanic.code(),
        i32::from(VmOutcome::EXIT_KERNEL_PANIC)
    );
    assert_eq!(
        ExitStatus::VmTimeout.code(),
        i32::from(VmOutcome::EXIT_TIMEOUT)
    );
    assert_eq!(
        ExitStatus::VmNeverBooted.code(),
        i32::from(VmOutcome::EXIT_NEVER_BOOTED)
    );
    assert_eq!(
        ExitStatus::VmHarnessError.code(),
        i32::from(VmOutcome::EXIT_HARNESS_ERROR)
    );
    assert_eq!(
        ExitStatus::Interrupted.code(),
        nsconform_core::cleanup::exit_status(libc::SIGINT)
    );
    assert_eq!(
        ExitStatus::Terminated.code(),
        nsconform_core::cleanup::exit_status(libc::SIGTERM)
    );
}

/// The real rootless path: the whole CLI as an unprivileged uid, not just the probe.
#[test]
#[file_serial(host_state)]
fn unprivileged_user_passes_or_skips_everything() {
    // As root through setpriv; a normal user runs it as itself.
    let mut args: Vec<String> = if nix::unistd::geteuid().is_root() {
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    } else {
        Vec::new()
    };
    args.extend([
        cli().display().to_string(),
        "run".into(),
        "--format".into(),
        "json".into(),
    ]);
    let out = nsconform_tests::capture(duct::cmd(&args[0], &args[1..]));
    assert_eq!(out.code, 0, "{}", out.text());
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["privileged"], false);
    assert_eq!(v["uid"], 65534);
    for r in v["results"].as_array().unwrap() {
        let o = r["outcome"].as_str().unwrap();
        assert!(o == "pass" || o == "skip", "{r}");
    }
}

#[test]
fn docs_properties_md_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/properties.md");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    let generated = nsconform_core::docs::properties_markdown();
    assert!(
        on_disk == generated,
        "docs/properties.md is out of date: run `cargo run -q -p nsconform -- docs > docs/properties.md`"
    );
}

#[test]
fn check_config_ties_options_to_properties() {
    let (code, out, _) = nsconform(&["check-config", "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let user = v["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "CONFIG_USER_NS")
        .expect("CONFIG_USER_NS reported");
    assert_eq!(user["state"], "builtin");
    assert!(user["properties"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "USER-03"));
    assert!(v["knobs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["path"] == "/proc/sys/user/max_user_namespaces"));
    let (code, out, _) = nsconform(&["check-config"]);
    assert_eq!(code, 0);
    assert!(out.contains("Knobs that change results"));
}

#[test]
#[file_serial(host_state)]
fn diff_compares_two_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a.json");
    let b = tmp.path().join("b.json");
    for p in [&a, &b] {
        let (code, _, err) = nsconform(&["run", "--format", "json", "-o", p.to_str().unwrap()]);
        let bad = nsconform_tests::not_passed(p);
        assert_eq!(code, 0, "{err}\n{bad}");
    }
    let (code, out, _) = nsconform(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(code, 0, "two runs on one kernel agree:\n{out}");
    // Make the new run differ the way another kernel would: another errno, another outcome.
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&b).unwrap()).unwrap();
    for r in v["results"].as_array_mut().unwrap() {
        if r["id"] == "PID-05" {
            r["errno"] = "EINVAL".into();
            r["outcome"] = "fail".into();
        }
    }
    std::fs::write(&b, v.to_string()).unwrap();
    let (code, out, _) = nsconform(&[
        "diff",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let d: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["changes"][0]["id"], "PID-05");
    assert_eq!(
        d["changes"][0]["outcome"],
        serde_json::json!(["pass", "fail"])
    );
    assert_eq!(
        d["changes"][0]["errno"],
        serde_json::json!(["ENOSPC", "EINVAL"])
    );
    let (code, _, err) = nsconform(&["diff", a.to_str().unwrap(), "/nonexistent.json"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/nonexistent.json"), "{err}");
}

/// One file is enough: a copy of `nsconform` alone in a directory is its own probe and
/// runs the catalogue; a symlink named `nsconform-probe` is the probe by argv[0], and
/// `NSCONFORM_PROBE` may point the harness at it.
#[test]
#[file_serial(host_state)]
fn a_lone_copy_of_nsconform_runs_the_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let lone = dir.path().join("nsconform");
    std::fs::copy(cli(), &lone).unwrap();
    let out = nsconform_tests::capture(
        duct::cmd!(&lone, "run", "--format", "json", "--no-color")
            .dir(dir.path())
            .env_remove("NSCONFORM_PROBE"),
    );
    assert_eq!(out.code, 0, "{}", out.text());
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    for r in v["results"].as_array().unwrap() {
        let o = r["outcome"].as_str().unwrap();
        assert!(
            o == "pass" || o == "skip",
            "{}: {o} {}",
            r["id"],
            r["detail"]
        );
    }

    let link = dir.path().join("nsconform-probe");
    std::os::unix::fs::symlink(&lone, &link).unwrap();
    let view = duct::cmd!(&link, "view").read().unwrap();
    assert!(view.contains(r#""kind":"report""#), "{view}");
    let out = duct::cmd!(&lone, "run", "--format", "json", "UTS")
        .env("NSCONFORM_PROBE", &link)
        .stdout_capture()
        .unchecked()
        .run()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    // The hidden subcommand is not part of the command line's help.
    let (_, help, _) = nsconform(&["--help"]);
    assert!(!help.contains("__probe"), "{help}");
}

/// The subject's program is checked before anything runs: missing, not executable or a
/// directory is a usage error naming it; with `-o` the report (a Gradescope
/// results.json) is still written, scored 0.
#[test]
fn a_subject_that_cannot_start_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let not_exec = tmp.path().join("container");
    std::fs::write(&not_exec, "#!/bin/sh\n").unwrap();
    let not_exec_cmd = format!("{} {{probe}}", not_exec.display());
    let dir_cmd = format!("{} {{probe}}", tmp.path().display());
    for (cmd, says) in [
        ("/nonexistent/x {probe}", "`/nonexistent/x` does not exist"),
        (
            "./no-such-container {probe}",
            "`./no-such-container` does not exist",
        ),
        ("no-such-program-xyz {probe}", "not found in PATH"),
        (not_exec_cmd.as_str(), "chmod +x"),
        (dir_cmd.as_str(), "a directory"),
    ] {
        let (code, _, err) = nsconform(&["run", "--subject", cmd]);
        assert_eq!(code, 2, "{cmd}: {err}");
        assert!(err.contains(says), "{cmd}: {err}");
        assert!(!err.contains("panicked"), "{cmd}: {err}");
    }
    let results = tmp.path().join("results.json");
    let (code, _, err) = nsconform(&[
        "run",
        "--subject",
        "/nonexistent/x {probe}",
        "--format",
        "gradescope",
        "-o",
        results.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&results).expect("results.json written")).unwrap();
    assert_eq!(v["score"], 0.0, "{v}");
    assert!(v.to_string().contains("/nonexistent/x"), "{v}");
    // The check itself: what runs passes it.
    use nsconform_core::subject::check_first_word;
    let words = |s: &str| nsconform_core::subject::split_command(s).unwrap();
    assert!(check_first_word(&words("sh -c true"), tmp.path()).is_ok());
    assert!(check_first_word(&words("/bin/sh -c true"), tmp.path()).is_ok());
    assert!(check_first_word(&words("./sh"), Path::new("/bin")).is_ok());
    assert!(check_first_word(&words("./container"), tmp.path()).is_err());
    std::fs::set_permissions(
        &not_exec,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    assert!(check_first_word(&words("./container"), tmp.path()).is_ok());
}

/// `run --subject --format gradescope -o FILE` leaves a valid results.json whatever the
/// subject does: it exits at once, or the environment refuses.
#[test]
#[file_serial(host_state)]
fn a_gradescope_results_json_is_always_written() {
    let tmp = tempfile::tempdir().unwrap();
    for cmd in ["true", "sh -c 'exit 3'"] {
        let results = tmp.path().join("results.json");
        let _ = std::fs::remove_file(&results);
        let (code, _, err) = nsconform(&[
            "run",
            "--subject",
            cmd,
            "--subject-timeout",
            "5",
            "--format",
            "gradescope",
            "-o",
            results.to_str().unwrap(),
        ]);
        assert!(code == 1 || code == 3, "{cmd}: {code} {err}");
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&results).expect("results.json written"))
                .unwrap();
        assert_eq!(v["score"], 0.0, "{cmd}: {v}");
        assert!(v["tests"].as_array().is_some_and(|t| !t.is_empty()), "{v}");
    }
}

/// nsconform itself in a time namespace with offsets of its own: the TIME checks judge
/// the new namespace's clocks and offsets relative to the harness's (offsets are
/// relative to the initial namespace and a new namespace inherits its parent's,
/// time_namespaces(7)), so they pass; judged against the host's, TIME-02/03/04/07/08/09
/// failed.
#[test]
fn time_checks_hold_when_nsconform_runs_in_a_time_namespace() {
    let out = nsconform_tests::capture(duct::cmd!(
        "unshare",
        "-r",
        "-T",
        "--monotonic",
        "86400",
        "--boottime",
        "172800",
        cli(),
        "run",
        "TIME",
        "--format",
        "json"
    ));
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", out.stderr);
    });
    for r in v["results"].as_array().unwrap() {
        assert_eq!(r["outcome"], "pass", "{r}");
    }
    // Every TIME property: the offsets written are absolute, the clocks read relative
    // to nsconform's own namespace, and a new namespace starts with its parent's.
    let time = nsconform_core::catalogue::all()
        .iter()
        .filter(|p| p.id.starts_with("TIME-"))
        .count();
    assert_eq!(v["results"].as_array().unwrap().len(), time);
    // The report says where it ran: nested in a user and a time namespace, with the
    // offsets of the latter.
    let e = &v["environment"];
    for t in ["time", "user"] {
        assert!(e["nested"].as_array().unwrap().contains(&t.into()), "{e}");
    }
    assert_eq!(
        e["time_offsets_ns"]["monotonic"], 86_400_000_000_000i64,
        "{e}"
    );
    assert_eq!(
        e["time_offsets_ns"]["boottime"], 172_800_000_000_000i64,
        "{e}"
    );
    assert!(e.get("refused").is_none(), "{e}");
}

/// A reader that stops early (`| head`) ends the output quietly: no panic, the
/// command's own exit status.
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    for args in [vec!["list", "--format", "json"], vec!["list"], vec!["docs"]] {
        let out =
            nsconform_tests::capture(duct::cmd(cli(), &args).pipe(duct::cmd!("head", "-c", "1")));
        assert!(out.success(), "{args:?}: exit {} {}", out.code, out.stderr);
        assert!(out.stderr.is_empty(), "{args:?}: {}", out.stderr);
    }
}

/// A control that no property of the selection lists runs nothing: a usage error.
#[test]
fn a_control_run_that_selects_nothing_is_a_usage_error() {
    let (code, _, err) = nsconform(&["run", "PID-02", "--control", "no-new-net"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no property of the selection lists the control no-new-net"),
        "{err}"
    );
}

/// A run in a time namespace with a CLOCK_BOOTTIME offset reads every process's start
/// time shifted by that offset; the owner of each resource must still be recognised
/// alive from the initial time namespace, or a `cleanup` (or another run's sweep) there
/// kills the run's subject and removes its cgroups.
#[test]
#[cfg_attr(
    not(nsconform_root),
    ignore = "needs root: a subject run puts its subject in a cgroup of its own"
)]
fn a_run_in_a_time_namespace_is_not_taken_for_dead_by_another() {
    nsconform_tests::require_root("a subject run in a cgroup of its own");
    let run = duct::cmd!(
        "unshare",
        "-T",
        "--boottime",
        "172800",
        cli(),
        "run",
        "--subject",
        "sh -c 'sleep 2; exec unshare -Ufp --mount-proc -r {probe}'",
        "--format",
        "json"
    )
    .stdout_capture()
    .stderr_capture()
    .unchecked()
    .start()
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    let (code, removed, err) = nsconform(&["cleanup", "--format", "json"]);
    let out = run.wait().unwrap();
    assert_eq!(code, 0, "{err}");
    let pids = run.pids();
    let removed: serde_json::Value = serde_json::from_str(&removed).unwrap();
    for line in removed["removed"].as_array().unwrap() {
        let line = line.as_str().unwrap();
        assert!(
            !pids.iter().any(|p| line.contains(&format!("{p}-"))),
            "cleanup took the live run in a time namespace for dead: {line}"
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    let pid01 = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "PID-01")
        .unwrap();
    assert_eq!(pid01["outcome"], "pass", "{pid01}");
}

/// The IDs a JSON report holds, in its order.
fn report_ids(json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json).expect("report is JSON");
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
#[file_serial(host_state)]
fn selections_take_globs_exclusions_reruns_and_repeats() {
    // A glob over IDs (any case) minus an exclusion.
    let (code, out, err) = nsconform(&["run", "mnt-1*", "--exclude", "MNT-11", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let want: Vec<String> = nsconform_core::catalogue::all()
        .iter()
        .filter(|p| p.id.starts_with("MNT-1") && p.id != "MNT-11")
        .map(|p| p.id.to_string())
        .collect();
    assert!(want.len() > 2);
    assert_eq!(report_ids(&out), want);
    // A pattern that names nothing is a typo, not an empty run; so is excluding it all.
    for (args, says) in [
        (&["run", "MNX-*"][..], "nsconform list"),
        (
            &["run", "UTS", "--exclude", "uts-*"],
            "--exclude removed every property",
        ),
    ] {
        let (code, _, err) = nsconform(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // --rerun-failed runs what failed in a saved report, nothing else.
    let tmp = tempfile::tempdir().unwrap();
    let saved = tmp.path().join("saved.json");
    let (code, _, err) = nsconform(&[
        "run",
        "UTS",
        "--format",
        "json",
        "-o",
        saved.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = nsconform(&["run", "--rerun-failed", saved.to_str().unwrap()]);
    assert_eq!(code, 2, "a clean report leaves nothing to rerun: {err}");
    assert!(err.contains("nothing to rerun"), "{err}");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    for r in v["results"].as_array_mut().unwrap() {
        if r["id"] == "UTS-02" || r["id"] == "UTS-04" {
            r["outcome"] = if r["id"] == "UTS-02" {
                "fail"
            } else {
                "timeout"
            }
            .into();
        }
    }
    std::fs::write(&saved, v.to_string()).unwrap();
    let (code, out, err) = nsconform(&[
        "run",
        "--rerun-failed",
        saved.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report_ids(&out), ["UTS-02", "UTS-04"]);
    // --repeat: N runs merged, stamped with when, where and how it was made.
    let (code, out, err) = nsconform(&["run", "UTS-01", "--repeat", "3", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["repeat"]["runs"], 3, "{v}");
    assert_eq!(v["repeat"]["flaky"], serde_json::json!([]), "{v}");
    assert!(
        v["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.len() == 20),
        "{v}"
    );
    assert_eq!(
        v["hostname"].as_str(),
        Some(nix::unistd::gethostname().unwrap().to_str().unwrap())
    );
    assert_eq!(v["command"][1], "run", "{v}");
    for args in [
        &["run", "--repeat", "0"][..],
        &["run", "--repeat", "2", "--subject", "true"],
    ] {
        let (code, _, err) = nsconform(args);
        assert_eq!(code, 2, "{args:?}: {err}");
    }
}

#[test]
fn diff_refuses_reports_it_cannot_trust() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.json");
    let one = serde_json::json!({"id": "UTS-01", "title": "t", "man": "m", "outcome": "pass", "detail": "d", "duration_ms": 0});
    let report = |schema: u64, tool: &str, results: serde_json::Value| {
        serde_json::json!({"schema": schema, "tool": tool, "version": "0", "kernel": "6.18",
            "privileged": true, "uid": 0, "summary": {}, "duration_ms": 1, "results": results})
        .to_string()
    };
    std::fs::write(&good, report(1, "nsconform", serde_json::json!([one]))).unwrap();
    let (code, _, err) = nsconform(&["diff", good.to_str().unwrap(), good.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    for (name, text, says) in [
        (
            "dup",
            report(1, "nsconform", serde_json::json!([one, one])),
            "UTS-01",
        ),
        (
            "future",
            report(99, "nsconform", serde_json::json!([one])),
            "schema",
        ),
        (
            "other",
            report(1, "othertool", serde_json::json!([one])),
            "othertool",
        ),
    ] {
        let bad = tmp.path().join(format!("{name}.json"));
        std::fs::write(&bad, text).unwrap();
        let (code, _, err) = nsconform(&["diff", good.to_str().unwrap(), bad.to_str().unwrap()]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(
            err.contains(says) && err.contains(&format!("{name}.json")),
            "{name}: {err}"
        );
    }
}

#[test]
#[file_serial(host_state)]
fn one_run_writes_several_formats_and_a_saved_report_renders_again() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    let (code, out, err) = nsconform(&[
        "run",
        "UTS",
        "--format",
        "tap",
        "-o",
        &format!("json={}", p("r.json")),
        "-o",
        &format!("junit={}", p("r.xml")),
        "--output",
        &format!("ktap={}", p("r.ktap")),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("TAP version 13\n"),
        "--format still goes to stdout: {out}"
    );
    let xml = std::fs::read_to_string(p("r.xml")).unwrap();
    assert!(
        xml.contains("<testsuite") && xml.contains("UTS-05"),
        "{xml}"
    );
    assert!(std::fs::read_to_string(p("r.ktap"))
        .unwrap()
        .starts_with("KTAP version 1\n"));
    // `report` renders the saved JSON in any format, with the same verdicts.
    let (code, tap, err) = nsconform(&["report", &p("r.json"), "--format", "tap"]);
    assert_eq!(code, 0, "{err}");
    let oks = |t: &str| t.lines().filter(|l| l.starts_with("ok ")).count();
    assert_eq!(oks(&tap), 5, "{tap}");
    assert_eq!(oks(&tap), oks(&out));
    let (code, _, err) = nsconform(&[
        "report",
        &p("r.json"),
        "-o",
        &format!("json={}", p("again.json")),
    ]);
    assert_eq!(code, 0, "{err}");
    let ids = |f: &str| report_ids(&std::fs::read_to_string(p(f)).unwrap());
    assert_eq!(ids("again.json"), ids("r.json"));
    // Checked before anything runs: two plain files, one file twice, a missing folder, a
    // file that is not a report.
    for args in [
        vec!["run", "UTS-01", "-o", &p("a"), "-o", &p("b")],
        vec![
            "run",
            "UTS-01",
            "-o",
            &p("a"),
            "-o",
            &format!("junit={}", p("a")),
        ],
        vec!["run", "UTS-01", "-o", "junit=/nonexistent/r.xml"],
        vec!["report", &p("r.xml")],
        vec!["report", "/nonexistent.json"],
    ] {
        let (code, _, err) = nsconform(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    assert!(!tmp.path().join("a").exists() && !tmp.path().join("b").exists());
}

#[test]
fn list_takes_selections_and_explain_tells_one_property() {
    let (code, out, err) = nsconform(&["list", "uts", "--exclude", "UTS-0[45]"]);
    assert_eq!(code, 0, "{err}");
    let ids: Vec<&str> = out
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(ids, ["UTS-01", "UTS-02", "UTS-03"], "{out}");
    assert!(out.starts_with("ID ") && out.contains("SUBJECT"), "{out}");
    assert!(out.contains("3 properties"), "{out}");
    let (code, _, err) = nsconform(&["list", "NOPE-*"]);
    assert_eq!(code, 2, "{err}");
    let (code, out, err) = nsconform(&["explain", "uts-02"]);
    assert_eq!(code, 0, "{err}");
    for part in [
        "UTS-02",
        "uts_namespaces(7)",
        "no-new-uts",
        "CLONE_NEWUTS",
        "reviewed snapshot",
    ] {
        assert!(out.contains(part), "{part}:\n{out}");
    }
    let (code, _, err) = nsconform(&["explain", "UTS-99"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nsconform list"), "{err}");
}

#[test]
#[file_serial(host_state)]
fn color_follows_the_flag_and_the_conventions() {
    let colored = |args: &[&str], env: &[(&str, &str)]| {
        // duct: the innermost setting of a variable wins, so set or remove each once.
        let mut e = duct::cmd(nsconform_tests::cli(), args);
        for k in ["NO_COLOR", "CLICOLOR_FORCE", "CLICOLOR"] {
            e = match env.iter().find(|(n, _)| *n == k) {
                Some((_, v)) => e.env(k, v),
                None => e.env_remove(k),
            };
        }
        let c = nsconform_tests::capture(e);
        assert_eq!(c.code, 0, "{args:?} {env:?}: {}", c.stderr);
        c.stdout.contains('\x1b')
    };
    let run = ["run", "UTS-01"];
    assert!(!colored(&run, &[]), "a pipe gets no colors");
    assert!(colored(&["run", "UTS-01", "--color", "always"], &[]));
    assert!(!colored(
        &["run", "UTS-01", "--color", "never"],
        &[("CLICOLOR_FORCE", "1")]
    ));
    assert!(!colored(
        &["run", "UTS-01", "--no-color"],
        &[("CLICOLOR_FORCE", "1")]
    ));
    assert!(colored(&run, &[("CLICOLOR_FORCE", "1")]));
    assert!(
        colored(&run, &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")]),
        "an empty NO_COLOR is unset"
    );
    assert!(!colored(
        &run,
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]
    ));
}

/// The kernel's health is in every catalogue report: the taint flags before and after
/// and where the log was read. Lines written to /dev/kmsg from user space (a subject
/// could) are filed by the kernel under LOG_USER and never count as the kernel's
/// warnings: a run while a process writes `WARNING:` lines there stays all passes.
#[test]
#[file_serial(host_state)]
#[cfg_attr(not(nsconform_root), ignore = "needs root: writes to /dev/kmsg")]
fn kernel_warnings_forged_from_user_space_do_not_count() {
    nsconform_tests::require_root("writes to /dev/kmsg");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let forger = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut kmsg = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/kmsg")
                .unwrap();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                use std::io::Write;
                let _ = kmsg.write_all(
                    b"<4>WARNING: CPU: 0 PID: 1 at forged.c:1 nsconform test (user space)\n",
                );
                n += 1;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            n
        })
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r.json");
    let (code, _, err) = nsconform(&[
        "run",
        "UTS",
        "PID",
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
    ]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = forger.join().unwrap();
    assert!(written > 0);
    assert_eq!(code, 0, "{err}\n{}", nsconform_tests::not_passed(&out));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let k = &r["kernel_health"];
    assert_eq!(k["log"], "/dev/kmsg", "{k}");
    assert!(k.get("trouble").is_none(), "{k}");
    assert!(
        k["taint_before"].is_string() && k["taint_after"].is_string(),
        "{k}"
    );
}
