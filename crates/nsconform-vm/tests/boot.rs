//! Real boots of a Debian 6.1 kernel under QEMU (TCG when KVM does not work here).
//!
//! The kernel is fetched with `apt-get download` into `<workspace>/.vm-cache`. When
//! that is impossible (no apt, no mirror) the tests print why and return early; a
//! missing QEMU or busybox-static is a failure, not a skip (run
//! `ci/vm/install-deps.sh`).

use nsconform_vm::{fetch_debian_kernel, run, DebianKernel, VmConfig, VmOutcome, VmRun};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// VMs in this binary boot one at a time: under TCG on a 2-core machine, parallel
/// boots would only make every test slower and the timeouts flaky.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.vm-cache")
}

/// The 6.1 kernel, fetched once per test binary; `None` (with the reason printed)
/// only when apt could not provide it.
fn kernel_61() -> Option<&'static DebianKernel> {
    static K: OnceLock<Result<DebianKernel, String>> = OnceLock::new();
    match K.get_or_init(|| fetch_debian_kernel("6.1", &cache_dir()).map_err(|e| e.to_string())) {
        Ok(k) => Some(k),
        Err(e) => {
            let apt_problem = e.contains("apt") || e.contains("Debian kernel");
            assert!(
                apt_problem,
                "fetching the 6.1 kernel failed for a non-apt reason: {e}"
            );
            eprintln!("SKIPPED: cannot download a Debian 6.1 kernel with apt: {e}");
            None
        }
    }
}

fn config(k: &DebianKernel, share: &Path, cmd: &[&str]) -> VmConfig {
    let mut cfg = VmConfig::new(k.boot_image(), share, cmd.iter().copied());
    cfg.modules_dir = Some(k.modules_dir.clone());
    cfg.timeout = Duration::from_secs(40);
    cfg.memory_mib = 512;
    // Keep `cargo test` output readable; failures print `console_log`.
    cfg.stream_console = false;
    cfg
}

fn show(name: &str, r: &VmRun) {
    eprintln!(
        "[{name}] outcome={:?} accel={} boot_ms={:?} total_ms={}",
        r.outcome, r.accel_used, r.boot_ms, r.total_ms
    );
}

#[test]
fn uname_reports_the_guest_kernel_and_exit_code_comes_back() {
    let _serial = serial();
    let Some(k) = kernel_61() else { return };
    let share = tempfile::tempdir().unwrap();
    let out = share.path().join("uname.txt");
    let script = format!("uname -r > '{}'; exit 3", out.display());
    let r = run(&config(k, share.path(), &["sh", "-c", &script])).unwrap();
    show("uname", &r);
    assert_eq!(
        r.outcome,
        VmOutcome::Completed { exit_code: 3 },
        "{}",
        r.console_log
    );
    let uname = std::fs::read_to_string(&out).unwrap();
    assert!(uname.starts_with("6.1."), "guest uname -r: {uname:?}");
    assert_eq!(uname.trim(), k.version);
    assert!(r.boot_ms.is_some());
    // The control directory is cleaned up.
    assert!(!share.path().join(".nsconform-vm").exists());
}

#[test]
fn guest_sees_host_root_readonly_cwd_env_and_fresh_mounts() {
    let _serial = serial();
    let Some(k) = kernel_61() else { return };
    let share = tempfile::tempdir().unwrap();
    let out = share.path().join("facts.txt");
    let script = format!(
        "exec > '{out}' 2>&1; pwd; echo \"CI=$CI INSTA_UPDATE=$INSTA_UPDATE WS=$INSTA_WORKSPACE_ROOT FOO=$FOO\"; \
         hostname; touch /etc/nsconform-probe 2>/dev/null && echo root-rw || echo root-ro; \
         touch /tmp/x && echo tmp-rw; test -e '{cargo}' && echo sees-host-files; \
         grep -c ' / 9p ' /proc/mounts; ip -o link show | wc -l; \
         ip link add nsv0 type veth peer name nsv1 && echo veth-ok; ls /lib/modules 2>/dev/null || echo no-lib-modules; \
         readlink /proc/$$/exe",
        out = out.display(),
        cargo = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
    );
    let mut cfg = config(k, share.path(), &["sh", "-c", &script]);
    cfg.cwd = Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    cfg.env.push(("FOO".into(), "bar baz".into()));
    let r = run(&cfg).unwrap();
    show("facts", &r);
    assert_eq!(
        r.outcome,
        VmOutcome::Completed { exit_code: 0 },
        "{}",
        r.console_log
    );
    let facts = std::fs::read_to_string(&out).unwrap();
    let ws = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap();
    let lines: Vec<&str> = facts.lines().collect();
    assert_eq!(lines[0], env!("CARGO_MANIFEST_DIR"), "{facts}");
    assert_eq!(
        lines[1],
        format!("CI=true INSTA_UPDATE=no WS={} FOO=bar baz", ws.display()),
        "{facts}"
    );
    assert_eq!(lines[2], "nsconform-vm", "{facts}");
    assert_eq!(lines[3], "root-ro", "{facts}");
    assert_eq!(lines[4], "tmp-rw", "{facts}");
    assert_eq!(lines[5], "sees-host-files", "{facts}");
    assert_eq!(lines[6], "1", "{facts}");
    assert_eq!(lines[7], "1", "only loopback, no NIC: {facts}");
    // veth is =m in Debian kernels: the guest kernel's own modules must be loadable.
    assert_eq!(lines[8], "veth-ok", "{facts}");
    // The guest kernel's modules appear at /lib/modules/<version> only when the host
    // has a /lib/modules to put a tmpfs on (the root is read-only).
    let expect_ls = if Path::new("/lib/modules").is_dir() {
        k.version.as_str()
    } else {
        "no-lib-modules"
    };
    assert_eq!(lines[9], expect_ls, "{facts}");
    // `sh` is the host's shell, not the busybox that runs the guest init.
    assert!(!lines[10].contains("busybox"), "{facts}");
}

#[test]
fn a_crashing_guest_is_a_kernel_panic() {
    let _serial = serial();
    let Some(k) = kernel_61() else { return };
    let share = tempfile::tempdir().unwrap();
    let cfg = config(
        k,
        share.path(),
        &["sh", "-c", "echo c > /proc/sysrq-trigger; sleep 60"],
    );
    let r = run(&cfg).unwrap();
    show("panic", &r);
    match &r.outcome {
        VmOutcome::KernelPanic { message } => {
            assert!(message.contains("Kernel panic"), "{message}")
        }
        other => panic!("expected KernelPanic, got {other:?}\n{}", r.console_log),
    }
    assert!(
        r.total_ms < 40_000,
        "panic=-1 + -no-reboot should end QEMU at once"
    );
}

#[test]
fn a_kernel_that_cannot_find_its_init_panics() {
    let _serial = serial();
    let Some(k) = kernel_61() else { return };
    let share = tempfile::tempdir().unwrap();
    let mut cfg = config(k, share.path(), &["true"]);
    // No such rdinit and no root= device: the kernel panics with "VFS: Unable to mount root fs".
    cfg.extra_cmdline = vec!["rdinit=/does-not-exist".into()];
    let r = run(&cfg).unwrap();
    show("no-init", &r);
    assert!(
        matches!(r.outcome, VmOutcome::KernelPanic { .. }),
        "{:?}\n{}",
        r.outcome,
        r.console_log
    );
}

/// A multiboot image whose code is `jmp $`: QEMU loads it, it never reaches our init.
fn hanging_multiboot_kernel() -> Vec<u8> {
    let (magic, flags) = (0x1BAD_B002u32, 0x0001_0000u32);
    let checksum = 0u32.wrapping_sub(magic.wrapping_add(flags));
    let mut v = Vec::new();
    for w in [
        magic, flags, checksum, 0x10_0000, 0x10_0000, 0, 0, 0x10_0020,
    ] {
        v.extend_from_slice(&w.to_le_bytes());
    }
    v.extend_from_slice(&[0xEB, 0xFE]);
    v
}

#[test]
fn a_kernel_that_hangs_never_boots_within_the_timeout() {
    // Needs no download.
    let _serial = serial();
    let share = tempfile::tempdir().unwrap();
    let bogus = share.path().join("hanging-kernel");
    std::fs::write(&bogus, hanging_multiboot_kernel()).unwrap();
    let mut cfg = VmConfig::new(&bogus, share.path(), ["true"]);
    cfg.stream_console = false;
    cfg.timeout = Duration::from_secs(6);
    cfg.memory_mib = 256;
    let t = Instant::now();
    let r = run(&cfg).unwrap();
    show("hang", &r);
    match &r.outcome {
        VmOutcome::NeverBooted { reason } => assert!(reason.contains("timeout"), "{reason}"),
        other => panic!("expected NeverBooted, got {other:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
}

#[test]
fn a_text_file_as_kernel_is_refused_by_qemu_and_never_boots() {
    let _serial = serial();
    let share = tempfile::tempdir().unwrap();
    let bogus = share.path().join("not-a-kernel");
    std::fs::write(&bogus, "not a kernel\n").unwrap();
    let mut cfg = VmConfig::new(&bogus, share.path(), ["true"]);
    cfg.stream_console = false;
    cfg.timeout = Duration::from_secs(8);
    let r = run(&cfg).unwrap();
    show("text", &r);
    match &r.outcome {
        VmOutcome::NeverBooted { reason } => {
            assert!(reason.contains("QEMU exited"), "{reason}")
        }
        other => panic!("expected NeverBooted, got {other:?}"),
    }
}

#[test]
fn a_hanging_command_times_out() {
    let _serial = serial();
    let Some(k) = kernel_61() else { return };
    let share = tempfile::tempdir().unwrap();
    let mut cfg = config(k, share.path(), &["sleep", "600"]);
    cfg.timeout = Duration::from_secs(25);
    let r = run(&cfg).unwrap();
    show("timeout", &r);
    assert_eq!(r.outcome, VmOutcome::Timeout, "{}", r.console_log);
}

#[test]
fn debian_6_12_boots_too() {
    let _serial = serial();
    let k = match fetch_debian_kernel("6.12", &cache_dir()) {
        Ok(k) => k,
        Err(e) => {
            let e = e.to_string();
            assert!(e.contains("apt") || e.contains("Debian kernel"), "{e}");
            eprintln!("SKIPPED: cannot download a Debian 6.12 kernel with apt: {e}");
            return;
        }
    };
    let share = tempfile::tempdir().unwrap();
    let out = share.path().join("uname.txt");
    let script = format!("uname -r > '{}'", out.display());
    let r = run(&config(&k, share.path(), &["sh", "-c", &script])).unwrap();
    show("6.12", &r);
    assert_eq!(
        r.outcome,
        VmOutcome::Completed { exit_code: 0 },
        "{}",
        r.console_log
    );
    let uname = std::fs::read_to_string(&out).unwrap();
    assert!(uname.starts_with("6.12."), "guest uname -r: {uname:?}");
}
