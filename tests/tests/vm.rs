//! `nsconform vm`: the catalogue on a Debian 6.1 kernel under QEMU, its report and exit
//! status brought back, the regression diff against the host, and the distinct outcomes
//! of a kernel that panics or never boots.
//!
//! Needs qemu-system-x86, busybox-static and Debian's archive (ci/vm/install-deps.sh);
//! the kernel is fetched with `apt-get download` into `.vm-cache/`.

use serial_test::file_serial;
use std::path::PathBuf;

fn cache() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.vm-cache"))
}

fn nsconform(args: &[&str]) -> (i32, String, String) {
    let c = nsconform_tests::capture(
        duct::cmd(nsconform_tests::cli(), args).env("NSCONFORM_VM_CACHE", cache()),
    );
    (c.code, c.stdout, c.stderr)
}

/// The whole catalogue on Debian's 6.1 kernel, then `nsconform diff` against this
/// host's kernel: the differences are the ones documented in the README, per kernel.
#[test]
#[cfg_attr(not(nsconform_root), ignore = "needs root: apt-get download, QEMU")]
#[file_serial(host_state)]
fn debian_6_1_runs_the_catalogue_and_diffs_against_the_host() {
    nsconform_tests::require_root("apt-get download, QEMU");
    let tmp = tempfile::tempdir().unwrap();
    let host = tmp.path().join("host.json");
    let guest = tmp.path().join("6.1.json");
    let (code, _, err) = nsconform(&["run", "--format", "json", "-o", host.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = nsconform(&[
        "vm",
        "--debian",
        "6.1",
        "--quiet",
        "--timeout",
        "240",
        "--format",
        "json",
        "-o",
        guest.to_str().unwrap(),
    ]);
    // The failing results themselves, when the guest's report came back.
    let report: Option<serde_json::Value> = std::fs::read_to_string(&guest)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok());
    let bad: Vec<String> = report
        .iter()
        .flat_map(|r| r["results"].as_array().into_iter().flatten())
        .filter(|r| !matches!(r["outcome"].as_str(), Some("pass" | "skip")))
        .map(|r| format!("{} {}: {}", r["id"], r["outcome"], r["detail"]))
        .collect();
    assert_eq!(
        code,
        0,
        "the catalogue passes or skips on 6.1:\n{}\n{err}",
        bad.join("\n")
    );
    let report = report.expect("exit 0 and a report");
    assert!(
        report["kernel"].as_str().unwrap().starts_with("6.1."),
        "{}",
        report["kernel"]
    );
    assert_eq!(report["privileged"], true);
    assert_eq!(
        report["vm"]["accel"]
            .as_str()
            .map(|a| a == "tcg" || a == "kvm"),
        Some(true)
    );
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), nsconform_core::catalogue::all().len());
    for r in results {
        let o = r["outcome"].as_str().unwrap();
        assert!(o == "pass" || o == "skip", "{r}");
    }
    // The regression diff: on 6.1 the fixed init inode numbers of net and mnt do not
    // exist yet (GEN-11) and NS_GET_ID answers ENOTTY (NET-11).
    let (code, out, _) = nsconform(&[
        "diff",
        host.to_str().unwrap(),
        guest.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "6.1 and this kernel differ: {out}");
    let d: serde_json::Value = serde_json::from_str(&out).unwrap();
    let changed: Vec<&str> = d["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    if report["kernel"] != serde_json::json!(nsconform_core::env::Env::detect(None).release) {
        for id in ["GEN-11", "NET-11"] {
            assert!(
                changed.contains(&id),
                "{id} not among the differences: {changed:?}"
            );
        }
    }
}

#[test]
#[cfg_attr(not(nsconform_root), ignore = "needs root: apt-get download, QEMU")]
#[file_serial(host_state)]
fn a_kernel_that_panics_has_its_own_exit_status() {
    nsconform_tests::require_root("apt-get download, QEMU");
    // No such init in the initramfs and no root device: the kernel panics at once.
    let (code, _, err) = nsconform(&[
        "vm",
        "--debian",
        "6.1",
        "--quiet",
        "--timeout",
        "120",
        "--append",
        "rdinit=/does-not-exist",
    ]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("kernel panic"), "{err}");
}

#[test]
#[cfg_attr(not(nsconform_root), ignore = "needs root: apt-get download, QEMU")]
#[file_serial(host_state)]
fn a_bogus_kernel_never_boots() {
    nsconform_tests::require_root("apt-get download, QEMU");
    let tmp = tempfile::tempdir().unwrap();
    let bogus = tmp.path().join("vmlinuz");
    std::fs::write(&bogus, "this is not a kernel\n").unwrap();
    let (code, _, err) = nsconform(&[
        "vm",
        "--kernel",
        bogus.to_str().unwrap(),
        "--quiet",
        "--timeout",
        "30",
    ]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("never booted"), "{err}");
}

#[test]
fn vm_usage_errors_exit_2() {
    let (code, _, err) = nsconform(&["vm"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = nsconform(&["vm", "--kernel", "/nonexistent/bzImage"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("does not exist"));
}

/// The top-level Vagrantfile is valid for `vagrant validate` (libvirt and VirtualBox
/// providers). CI installs vagrant and vagrant-libvirt (ci/vm/install-deps.sh
/// --with-vagrant, as ci/deps.sh does); a missing vagrant fails, naming what to run.
#[test]
fn the_vagrantfile_validates() {
    nsconform_tests::require_tool(
        "vagrant",
        "vagrant: run ci/vm/install-deps.sh --with-vagrant",
    );
    let dot = tempfile::tempdir().unwrap();
    let out = nsconform_tests::capture(
        duct::cmd!("vagrant", "validate")
            .dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .env("VAGRANT_DOTFILE_PATH", dot.path())
            .env("VAGRANT_CHECKPOINT_DISABLE", "1"),
    );
    let text = out.text();
    assert!(
        out.success() && text.contains("validated successfully"),
        "{text}"
    );
}

/// The snapshot test run inside the Debian 6.1 VM, read-only host tree and all: insta
/// compares with the reference snapshots, or the `@6.1` ones where that kernel
/// legitimately differs, and writes nothing (the VM runner sets INSTA_UPDATE=no, CI=true
/// and INSTA_WORKSPACE_ROOT from the guest's working directory).
#[test]
#[cfg_attr(not(nsconform_root), ignore = "needs root: apt-get download, QEMU")]
#[file_serial(host_state)]
fn snapshots_hold_inside_the_debian_6_1_vm() {
    nsconform_tests::require_root("apt-get download, QEMU");
    let deps = nsconform_tests::target_dir().join("deps");
    let test_bin = std::fs::read_dir(&deps)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with("properties-") && !n.ends_with(".d")
        })
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
        .expect("the properties test binary is built with this one");
    let workspace = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .canonicalize()
        .unwrap();
    let share = tempfile::tempdir_in("/var/tmp").unwrap();
    let out = duct::cmd(
        nsconform_tests::target_dir().join("nsconform-vm"),
        [
            "run".as_ref(),
            "--debian".as_ref(),
            "6.1".as_ref(),
            "--timeout".as_ref(),
            "300".as_ref(),
            "--cwd".as_ref(),
            workspace.as_os_str(),
            "--share".as_ref(),
            share.path().as_os_str(),
            "--".as_ref(),
            test_bin.as_os_str(),
            // Every property trial in both modes (the controls and the calls trials stay
            // on the host: they would multiply the TCG guest's time and prove the
            // checks, not the kernel).
            "--skip".as_ref(),
            "::control::".as_ref(),
            "--skip".as_ref(),
            "::calls".as_ref(),
            "--color".as_ref(),
            "never".as_ref(),
        ],
    )
    .dir(&workspace)
    .env("NSCONFORM_VM_CACHE", cache())
    .stderr_to_stdout()
    .stdout_capture()
    .stdin_null()
    .unchecked()
    .run()
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('[')).collect();
    let tail = lines[lines.len().saturating_sub(60)..].join("\n");
    assert_eq!(out.status.code(), Some(0), "{tail}");
    assert!(
        text.contains("test result: ok.") && text.contains(" 0 failed;"),
        "{tail}"
    );
    // The ones 6.1 lacks are ignored with the reason, after their @6.1 snapshot held.
    assert!(
        text.contains("MNT-17::privileged") && text.contains("ignored"),
        "{tail}"
    );
}

/// Everything under /tmp, where the guest mounts a tmpfs of its own: the nsconform
/// binary, the kernel cache (and so the modules), the rw share and the `-o` report. The
/// guest still runs the binary, loads this kernel's modules (USER-16 needs ext4,
/// USER-24 overlay, NET-05 veth) and the report arrives.
#[test]
#[cfg_attr(not(nsconform_root), ignore = "needs root: apt-get download, QEMU")]
#[file_serial(host_state)]
fn the_vm_works_with_everything_under_tmp() {
    nsconform_tests::require_root("apt-get download, QEMU");
    // Fetched into the usual cache first, then copied (hard links where /tmp is the
    // same file system) into /tmp.
    let k = nsconform_vm::fetch_debian_kernel("6.1", &cache())
        .unwrap_or_else(|e| panic!("fetching Debian's 6.1 kernel: {e}"));
    let tmp = tempfile::Builder::new()
        .prefix("nsconform-vm-test-")
        .tempdir_in("/tmp")
        .unwrap();
    let t = tmp.path();
    let cache_dir = cache().canonicalize().unwrap();
    let package_dir = k
        .modules_dir
        .ancestors()
        .find(|a| a.parent() == Some(cache_dir.as_path()))
        .expect("the kernel's folder in the cache")
        .to_path_buf();
    std::fs::create_dir_all(t.join("cache")).unwrap();
    let copied = nsconform_tests::capture(duct::cmd!(
        "sh",
        "-c",
        "cp -al \"$1\" \"$2/\" 2>/dev/null || cp -a \"$1\" \"$2/\"",
        "sh",
        &package_dir,
        t.join("cache")
    ));
    assert!(copied.success(), "{}", copied.text());
    std::fs::create_dir_all(t.join("bin")).unwrap();
    std::fs::copy(nsconform_tests::cli(), t.join("bin/nsconform")).unwrap();
    std::fs::create_dir_all(t.join("share")).unwrap();
    let report = t.join("out/report.json");
    std::fs::create_dir_all(report.parent().unwrap()).unwrap();
    let c = nsconform_tests::capture(
        duct::cmd!(
            t.join("bin/nsconform"),
            "vm",
            "--debian",
            "6.1",
            "--quiet",
            "--timeout",
            "240",
            "--format",
            "json",
            "-o",
            &report,
            "--",
            "UTS-01",
            "USER-16",
            "USER-24",
            "NET-05"
        )
        .env("NSCONFORM_VM_CACHE", t.join("cache"))
        .env("NSCONFORM_VM_SHARE_DIR", t.join("share")),
    );
    assert_eq!(c.code, 0, "{}", c.text());
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let outcomes: Vec<String> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            format!(
                "{} {}",
                x["id"].as_str().unwrap(),
                x["outcome"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        ["UTS-01 pass", "USER-16 pass", "USER-24 pass", "NET-05 pass"],
        "{}",
        c.text()
    );
    assert!(
        r["kernel"].as_str().unwrap().starts_with("6.1."),
        "{}",
        r["kernel"]
    );
}

/// `--accel auto` (NSCONFORM_VM_ACCEL unset): where KVM passes the accelerator probe
/// but fails a real kernel (QEMU: "KVM internal error", the guest paused; so on the
/// machine this suite is developed on), the guest is booted again under TCG at once, and
/// the report says why; where KVM works, the run is a KVM run. Either way the run
/// completes long before the watchdog.
#[test]
#[cfg_attr(not(nsconform_root), ignore = "needs root: apt-get download, QEMU")]
#[file_serial(host_state)]
fn accel_auto_falls_back_to_tcg_when_kvm_fails_the_kernel() {
    nsconform_tests::require_root("apt-get download, QEMU");
    let tmp = tempfile::tempdir_in(nsconform_tests::target_dir()).unwrap();
    let (c, r) = uts_01_with_accel_auto(tmp.path(), "120", None);
    let accel = r["vm"]["accel"].as_str().unwrap();
    let kvm_chosen = nsconform_vm::probe_kvm().is_ok();
    match (kvm_chosen, accel, r["vm"].get("kvm_fallback")) {
        (true, "kvm", None) | (false, "tcg", None) => {}
        (true, "tcg", Some(why)) => {
            assert!(
                why.as_str().unwrap().contains("KVM internal error"),
                "{why}"
            );
            assert!(c.stderr.contains("booted again under TCG"), "{}", c.stderr);
        }
        other => panic!(
            "KVM usable by the probe: {kvm_chosen}; got {other:?}\n{}",
            c.text()
        ),
    }
    assert_eq!(r["results"][0]["outcome"], "pass", "{}", c.text());
}

/// `nsconform vm --debian 6.1 --accel auto -- UTS-01` with NSCONFORM_VM_ACCEL unset (and
/// `qemu` as NSCONFORM_QEMU when given), its report written into `dir`: the run and the
/// report, once it exited 0.
fn uts_01_with_accel_auto(
    dir: &std::path::Path,
    timeout: &str,
    qemu: Option<&std::path::Path>,
) -> (nsconform_tests::Captured, serde_json::Value) {
    let out = dir.join("accel-auto.json");
    let mut cmd = duct::cmd(
        nsconform_tests::cli(),
        [
            "vm",
            "--debian",
            "6.1",
            "--accel",
            "auto",
            "--quiet",
            "--timeout",
            timeout,
            "--format",
            "json",
            "-o",
            out.to_str().unwrap(),
            "--",
            "UTS-01",
        ],
    )
    .env("NSCONFORM_VM_CACHE", cache())
    .env_remove("NSCONFORM_VM_ACCEL");
    if let Some(q) = qemu {
        cmd = cmd.env("NSCONFORM_QEMU", q);
    }
    let c = nsconform_tests::capture(cmd);
    assert_eq!(c.code, 0, "{}", c.text());
    let r = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    (c, r)
}

/// The fallback itself, wherever the suite runs: a QEMU wrapper (NSCONFORM_QEMU) that
/// passes the accelerator probe under KVM but, booting the real kernel under KVM, does
/// what such machines' QEMU does: prints "KVM internal error" and waits with the guest
/// paused. The run must boot again under TCG at once (not wait for the watchdog, exit 6)
/// and say so in the report.
#[test]
#[cfg_attr(not(nsconform_root), ignore = "needs root: apt-get download, QEMU")]
#[file_serial(host_state)]
fn a_kvm_internal_error_boots_the_kernel_again_under_tcg() {
    nsconform_tests::require_root("apt-get download, QEMU");
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_err()
    {
        panic!(
            "/dev/kvm cannot be opened read-write: the accelerator probe cannot choose KVM here"
        );
    }
    let tmp = tempfile::tempdir_in(nsconform_tests::target_dir()).unwrap();
    let wrapper = tmp.path().join("qemu-bad-kvm");
    let real = nsconform_vm::qemu_binary();
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n\
             case \"$*\" in\n\
             *isa-debug-exit*) exit 99 ;;\n\
             *kvm*) echo 'KVM internal error. Suberror: 1' >&2; exec sleep 600 ;;\n\
             esac\n\
             exec '{}' \"$@\"\n",
            real.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let (c, r) = uts_01_with_accel_auto(tmp.path(), "100", Some(&wrapper));
    assert_eq!(r["vm"]["accel"], "tcg", "{}", c.text());
    let why = r["vm"]["kvm_fallback"].as_str().unwrap_or_default();
    assert!(
        why.contains("KVM internal error"),
        "{}\n{}",
        r["vm"],
        c.text()
    );
    assert!(c.stderr.contains("booted again under TCG"), "{}", c.stderr);
    assert_eq!(r["results"][0]["outcome"], "pass", "{}", c.text());
}

/// A real kernel trouble report during a catalogue run, in a disposable guest: a
/// writer blocked on a frozen ext4 (a task in D state) with `hung_task_timeout_secs=1`
/// makes the kernel log "INFO: task ... blocked for more than 1 seconds" while the
/// catalogue runs one property at a time. The report has it in `kernel_health`, pinned
/// to the property that was running, and that property fails at "kernel log" with the
/// line (the kernel was not fine while it ran).
#[test]
#[cfg_attr(not(nsconform_root), ignore = "needs root: apt-get download, QEMU")]
#[file_serial(host_state)]
fn a_kernel_trouble_report_fails_the_property_running_then() {
    nsconform_tests::require_root("apt-get download, QEMU");
    let k = nsconform_vm::fetch_debian_kernel("6.1", &cache())
        .unwrap_or_else(|e| panic!("fetching Debian's 6.1 kernel: {e}"));
    let share = tempfile::tempdir_in(nsconform_tests::target_dir()).unwrap();
    let report = share.path().join("r.json");
    let script = format!(
        r#"set -e
modprobe loop
echo 1 > /proc/sys/kernel/hung_task_timeout_secs
d=/tmp/frozen
mkdir -p $d/m
truncate -s 32M $d/img
mkfs.ext4 -q -F $d/img
mount -o loop $d/img $d/m
fsfreeze -f $d/m
sh -c "echo x > $d/m/blocked" &
set +e
'{bin}' run --jobs 1 --timeout 60 --format json -o '{report}'
rc=$?
fsfreeze -u $d/m
wait
umount $d/m
exit $rc
"#,
        bin = nsconform_tests::cli().display(),
        report = report.display()
    );
    let mut cfg = nsconform_vm::VmConfig::new(k.boot_image(), share.path(), ["sh", "-c", &script]);
    cfg.modules_dir = Some(k.modules_dir.clone());
    cfg.timeout = std::time::Duration::from_secs(400);
    cfg.stream_console = false;
    cfg.cwd = Some("/".into());
    let run = nsconform_vm::run(&cfg).unwrap();
    let text = std::fs::read_to_string(&report)
        .unwrap_or_else(|_| panic!("no report: {:?}\n{}", run.outcome, run.console_log));
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    let health = &r["kernel_health"];
    let trouble = health["trouble"]
        .as_array()
        .unwrap_or_else(|| panic!("no trouble seen: {health}\n{}", run.console_log));
    let hung = trouble
        .iter()
        .find(|t| {
            t["line"]
                .as_str()
                .unwrap()
                .contains("blocked for more than")
        })
        .unwrap_or_else(|| panic!("no hung-task line: {health}"));
    let pinned = hung["pinned"][0]
        .as_str()
        .unwrap_or_else(|| panic!("not pinned: {hung}"));
    let result = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == pinned)
        .unwrap();
    assert_eq!(result["outcome"], "fail", "{result}");
    assert_eq!(result["at"], "kernel log", "{result}");
    assert!(
        result["observed"]["kernel_log"][0]
            .as_str()
            .unwrap()
            .contains("blocked for more than"),
        "{result}"
    );
    assert_eq!(
        run.outcome,
        nsconform_vm::VmOutcome::Completed { exit_code: 1 },
        "{}",
        run.console_log
    );
}

/// A kernel module the catalogue needs that cannot be loaded (here: the guest's
/// `modprobe` on PATH refuses every module) makes the properties that need it `error`
/// naming the module, never a kernel `fail` (USER-16 would see ENODEV mounting ext4,
/// NET-05 "Unknown device type" for veth); the others still pass, and the run exits 3.
#[test]
#[cfg_attr(not(nsconform_root), ignore = "needs root: apt-get download, QEMU")]
#[file_serial(host_state)]
fn a_module_that_cannot_be_loaded_is_an_error_naming_it() {
    nsconform_tests::require_root("apt-get download, QEMU");
    let tmp = tempfile::tempdir_in(nsconform_tests::target_dir()).unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(
        bin.join("modprobe"),
        "#!/bin/sh\necho \"modprobe: FATAL: Module $2 not found (refused by the test)\" >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(
        bin.join("modprobe"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = tmp.path().join("r.json");
    let path = format!("PATH={}:/usr/sbin:/usr/bin:/sbin:/bin", bin.display());
    let (code, _, err) = nsconform(&[
        "vm",
        "--debian",
        "6.1",
        "--quiet",
        "--env",
        &path,
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
        "--",
        "UTS-01",
        "USER-16",
        "NET-05",
    ]);
    let r: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&out).unwrap_or_else(|_| panic!("no report: {err}")),
    )
    .unwrap();
    let get = |id: &str| {
        r["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(get("UTS-01")["outcome"], "pass", "{r}");
    for (id, module) in [("USER-16", "ext4"), ("NET-05", "veth")] {
        let x = get(id);
        assert_eq!(x["outcome"], "error", "{x}");
        let detail = x["detail"].as_str().unwrap();
        assert!(
            detail.contains(&format!("needs the kernel module {module}"))
                && detail.contains("refused by the test"),
            "{detail}"
        );
    }
    assert_eq!(code, 3, "{err}");
}
