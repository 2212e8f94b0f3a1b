//! Booting QEMU, watching its serial console and turning what happened into a
//! [`VmOutcome`].

use crate::accel::detect_accel;
use crate::error::VmError;
use crate::{initramfs, Accel, VmConfig, VmOutcome, VmRun, CONSOLE_TAIL_BYTES};
use std::collections::VecDeque;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Environment variable naming the QEMU binary (default `qemu-system-x86_64`).
pub const QEMU_ENV: &str = "NSCONFORM_QEMU";

const MARK_INIT: &str = "nsconform-vm: init started";
const MARK_RUNNING: &str = "nsconform-vm: running command";
const MARK_FAILED: &str = "nsconform-vm: init failed: ";
const PANIC_TEXT: &str = "Kernel panic";

/// The QEMU system emulator to run: `$NSCONFORM_QEMU` or `qemu-system-x86_64`.
pub fn qemu_binary() -> PathBuf {
    std::env::var_os(QEMU_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("qemu-system-x86_64"))
}

/// Boot a VM as described by `cfg`, run the guest command, and report how it ended.
///
/// `Err` only when the run could not be attempted (bad configuration, QEMU or busybox
/// missing, share not writable). Everything that happens once QEMU runs, including a
/// kernel that does not boot, is an `Ok(VmRun)` with the matching [`VmOutcome`].
pub fn run(cfg: &VmConfig) -> Result<VmRun, VmError> {
    validate(cfg)?;
    let accel = match cfg.accel {
        Accel::Auto => detect_accel(),
        a => a,
    };
    let (mut run, kvm_error) = run_with(cfg, accel)?;
    if let (Some(why), true) = (kvm_error, cfg.kvm_fallback || cfg.accel == Accel::Auto) {
        // KVM that passes the accelerator probe may still fail a real kernel (QEMU
        // reports a KVM internal error and pauses the guest): boot again under TCG.
        if cfg.stream_console {
            eprintln!("nsconform-vm: {why}; booting again under TCG");
        }
        let (mut again, _) = run_with(cfg, Accel::Tcg)?;
        again.kvm_fallback = Some(why);
        run = again;
    }
    Ok(run)
}

/// The first line of QEMU's stderr that reports a KVM internal error, if any.
pub fn kvm_internal_error(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .find(|l| l.contains("KVM internal error"))
        .map(|l| format!("KVM failed this kernel ({})", l.trim()))
}

/// One boot under `accel`; also the KVM internal error that ended it early, if one did
/// (QEMU is killed as soon as its stderr reports it, not at the watchdog).
fn run_with(cfg: &VmConfig, accel: Accel) -> Result<(VmRun, Option<String>), VmError> {
    let share = cfg
        .share_rw
        .canonicalize()
        .map_err(|e| VmError::io("resolving rw share", &cfg.share_rw, e))?;
    let cwd = match &cfg.cwd {
        Some(c) => c.clone(),
        None => std::env::current_dir()
            .map_err(|e| VmError::io("reading current directory", Path::new("."), e))?,
    };

    // Control directory inside the share: vars for stage 1, command for stage 2,
    // exit_code written back by the guest. Removed when `ctl` drops.
    let ctl_parent = share.join(".nsconform-vm");
    fs::create_dir_all(&ctl_parent)
        .map_err(|e| VmError::io("creating control directory in the rw share", &ctl_parent, e))?;
    let ctl = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(&ctl_parent)
        .map_err(|e| VmError::io("creating control directory in", &ctl_parent, e))?;
    let ctl_id = ctl
        .path()
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    write_file(
        &ctl.path().join("vars"),
        &format!(
            "SHARE_PATH={}\nMODULES_DIR={}\n",
            sh_quote(&share.to_string_lossy()),
            sh_quote(&modules_in_guest(cfg).unwrap_or_default())
        ),
    )?;
    write_file(&ctl.path().join("expose"), &expose_list(cfg, &cwd))?;
    write_file(
        &ctl.path().join("command"),
        &command_script(cfg, &cwd, &guest_env(cfg, &cwd))?,
    )?;

    let scratch = tempfile::Builder::new()
        .prefix("nsconform-vm-")
        .tempdir()
        .map_err(|e| VmError::io("creating temp dir in", &std::env::temp_dir(), e))?;
    let initrd = match &cfg.initrd {
        Some(p) => p.clone(),
        None => initramfs::build(
            cfg.modules_dir.as_deref(),
            &scratch.path().join("initramfs.cpio"),
        )?,
    };

    let mut cmdline = vec![
        "console=ttyS0".to_string(),
        "panic=-1".to_string(),
        "rdinit=/init".to_string(),
        "quiet".to_string(),
        "loglevel=4".to_string(),
        format!("nsconform.ctl={ctl_id}"),
    ];
    cmdline.extend(cfg.extra_cmdline.iter().cloned());

    let qemu = qemu_binary();
    let mut cmd = Command::new(&qemu);
    cmd.args(["-nodefaults", "-no-user-config", "-display", "none"])
        .args(["-nic", "none", "-no-reboot", "-M", "pc"]);
    match accel {
        Accel::Kvm => cmd.args(["-accel", "kvm", "-cpu", "host"]),
        _ => cmd.args(["-accel", "tcg", "-cpu", "max"]),
    };
    cmd.arg("-m")
        .arg(cfg.memory_mib.to_string())
        .arg("-smp")
        .arg(cfg.cpus.to_string())
        .args(["-serial", "stdio"])
        .arg("-kernel")
        .arg(&cfg.kernel)
        .arg("-initrd")
        .arg(&initrd)
        .arg("-append")
        .arg(cmdline.join(" "))
        .arg("-virtfs")
        .arg("local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap")
        .arg("-virtfs")
        .arg(format!(
            "local,path={},mount_tag=nsshare,security_model=none,multidevs=remap",
            qemu_opt_escape(&share.to_string_lossy())
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());

    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|source| VmError::Spawn {
        program: qemu.display().to_string(),
        hint: "install qemu-system-x86 (ci/vm/install-deps.sh) or set NSCONFORM_QEMU".into(),
        source,
    })?;
    let mut guard = KillOnDrop(Some(&mut child));
    let console = Arc::new(Mutex::new(Console::new(start)));
    let log_file = match &cfg.console_log_file {
        Some(p) => {
            Some(fs::File::create(p).map_err(|e| VmError::io("creating console log", p, e))?)
        }
        None => None,
    };
    let stdout = guard.child().stdout.take().expect("stdout piped");
    let stderr = guard.child().stderr.take().expect("stderr piped");
    let reader = {
        let console = Arc::clone(&console);
        let stream = cfg.stream_console;
        std::thread::spawn(move || pump_console(stdout, console, stream, log_file))
    };
    // QEMU's stderr, read as it comes: a KVM internal error is seen while QEMU waits.
    let err_text = Arc::new(Mutex::new(String::new()));
    let err_reader = {
        let err_text = Arc::clone(&err_text);
        std::thread::spawn(move || {
            let mut r = std::io::BufReader::new(stderr);
            let mut line = String::new();
            while matches!(std::io::BufRead::read_line(&mut r, &mut line), Ok(n) if n > 0) {
                err_text
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push_str(&line);
                line.clear();
            }
        })
    };
    let mut kvm_error = None;

    let deadline = start + cfg.timeout;
    let mut timed_out = false;
    let status = loop {
        match guard.child().try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                let _ = guard.child().kill();
                let _ = guard.child().wait();
                break None;
            }
            Ok(None)
                if accel == Accel::Kvm && {
                    kvm_error =
                        kvm_internal_error(&err_text.lock().unwrap_or_else(|p| p.into_inner()));
                    kvm_error.is_some()
                } =>
            {
                let _ = guard.child().kill();
                let _ = guard.child().wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(25)),
            Err(e) => {
                return Err(VmError::io("waiting for QEMU", &qemu, e));
            }
        }
    };
    guard.0 = None;
    let total_ms = start.elapsed().as_millis() as u64;
    let _ = reader.join();
    let _ = err_reader.join();
    let qemu_stderr = std::mem::take(&mut *err_text.lock().unwrap_or_else(|p| p.into_inner()));
    let console = console.lock().unwrap_or_else(|p| p.into_inner()).clone();

    let exit_file = ctl.path().join("exit_code");
    let exit_code = fs::read_to_string(&exit_file)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok());

    let outcome = classify(Classify {
        exit_code,
        panic: console.panic.clone(),
        init_seen: console.init_at.is_some(),
        init_failed: console.init_failed.clone(),
        timed_out,
        timeout: cfg.timeout,
        qemu_status: status.map(|s| s.to_string()),
        qemu_stderr: &qemu_stderr,
        kernel: &cfg.kernel,
    });
    if cfg.stream_console && !qemu_stderr.trim().is_empty() && exit_code.is_none() {
        eprintln!("nsconform-vm: QEMU stderr:\n{}", qemu_stderr.trim_end());
    }
    drop(ctl);
    let _ = fs::remove_dir(&ctl_parent); // only succeeds when no other run uses it
    Ok((
        VmRun {
            outcome,
            accel_used: accel,
            boot_ms: console.running_at.map(|d| d.as_millis() as u64),
            total_ms,
            console_log: console.tail_string(),
            kvm_fallback: None,
        },
        kvm_error,
    ))
}

fn validate(cfg: &VmConfig) -> Result<(), VmError> {
    let bad = |m: String| Err(VmError::Config(m));
    if !cfg.kernel.is_file() {
        return bad(format!(
            "kernel `{}` is not a file; fetch one with fetch_debian_kernel or ci/vm/kernel-matrix.sh",
            cfg.kernel.display()
        ));
    }
    if let Some(i) = &cfg.initrd {
        if !i.is_file() {
            return bad(format!("initrd `{}` is not a file", i.display()));
        }
    }
    if cfg.guest_command.is_empty() {
        return bad("guest_command is empty".into());
    }
    if cfg.guest_command[0].contains('=') {
        return bad(format!(
            "guest_command[0] `{}` contains `=`; wrap it as [\"sh\", \"-c\", ...]",
            cfg.guest_command[0]
        ));
    }
    if cfg.memory_mib < 128 {
        return bad(format!(
            "memory_mib {} is too small (min 128)",
            cfg.memory_mib
        ));
    }
    if cfg.cpus == 0 {
        return bad("cpus must be at least 1".into());
    }
    if !cfg.share_rw.is_dir() {
        return bad(format!(
            "share_rw `{}` is not a directory",
            cfg.share_rw.display()
        ));
    }
    for (k, _) in &cfg.env {
        let ok = !k.is_empty()
            && !k.starts_with(|c: char| c.is_ascii_digit())
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return bad(format!(
                "environment variable name `{k}` is not a valid identifier"
            ));
        }
    }
    for w in &cfg.extra_cmdline {
        if w.is_empty() || w.contains(char::is_whitespace) {
            return bad(format!(
                "extra_cmdline entry `{w}` must be one non-empty word without spaces"
            ));
        }
    }
    Ok(())
}

/// Whether `p` is under a directory the guest covers with a tmpfs of its own.
fn under_guest_tmpfs(p: &Path) -> bool {
    p.starts_with("/tmp") || p.starts_with("/run")
}

/// The control file `expose` of stage 1: one `PATH<TAB>CANONICAL` line per host path
/// the guest must see although it is under `/tmp` or `/run` (its own tmpfs there);
/// stage 1 binds the canonical path from the host root over the tmpfs and, where the
/// path is a symlink, makes the same symlink. Paths that hold a tab or a newline are
/// left out (the line format cannot carry them).
fn expose_list(cfg: &VmConfig, cwd: &Path) -> String {
    let mut paths: Vec<PathBuf> = cfg.expose.clone();
    if let Some(program) = cfg.guest_command.first() {
        let program = Path::new(program);
        if program.is_absolute() {
            paths.extend(program.parent().map(Path::to_path_buf));
        }
    }
    paths.extend(
        cfg.guest_command
            .iter()
            .skip(1)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute() && p.exists()),
    );
    paths.extend(cfg.modules_dir.iter().cloned());
    paths.push(cwd.to_path_buf());
    let mut out = String::new();
    let mut seen = std::collections::BTreeSet::new();
    for p in paths {
        let Ok(canonical) = p.canonicalize() else {
            continue;
        };
        if !(under_guest_tmpfs(&p) || under_guest_tmpfs(&canonical)) {
            continue;
        }
        let line = format!("{}\t{}\n", p.display(), canonical.display());
        if line.matches(['\t', '\n']).count() == 2 && seen.insert(line.clone()) {
            out.push_str(&line);
        }
    }
    out
}

/// Host path of the kernel's modules to bind at `/lib/modules/<version>` in the guest.
fn modules_in_guest(cfg: &VmConfig) -> Option<String> {
    let dir = cfg.modules_dir.as_ref()?.canonicalize().ok()?;
    dir.join("modules.dep")
        .is_file()
        .then(|| dir.to_string_lossy().into_owned())
}

/// The nearest ancestor of `cwd` whose Cargo.toml has a `[workspace]` table.
fn workspace_root(cwd: &Path) -> PathBuf {
    for dir in cwd.ancestors() {
        if let Ok(text) = fs::read_to_string(dir.join("Cargo.toml")) {
            if text.lines().any(|l| l.trim() == "[workspace]") {
                return dir.to_path_buf();
            }
        }
    }
    cwd.to_path_buf()
}

fn guest_env(cfg: &VmConfig, cwd: &Path) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        (
            "PATH".into(),
            "/run/nsconform-vm/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
                .into(),
        ),
        ("HOME".into(), "/root".into()),
        ("USER".into(), "root".into()),
        ("LOGNAME".into(), "root".into()),
        ("TERM".into(), "dumb".into()),
        ("LANG".into(), "C.UTF-8".into()),
        ("CI".into(), "true".into()),
        ("INSTA_UPDATE".into(), "no".into()),
        (
            "INSTA_WORKSPACE_ROOT".into(),
            workspace_root(cwd).to_string_lossy().into_owned(),
        ),
        ("NSCONFORM_IN_VM".into(), "1".into()),
    ];
    for (k, v) in &cfg.env {
        env.retain(|(ek, _)| ek != k);
        env.push((k.clone(), v.clone()));
    }
    env
}

/// The script stage 2 sources in a subshell: cd, then exec the command with exactly
/// the given environment (via the host's `env -i`).
fn command_script(cfg: &VmConfig, cwd: &Path, env: &[(String, String)]) -> Result<String, VmError> {
    let cwd_s = cwd.to_string_lossy();
    let mut s = String::from("# generated by nsconform-vm\n");
    s.push_str(&format!(
        "cd {} || {{ echo \"nsconform-vm: cannot cd to {} in the guest (paths under /tmp and /run are guest tmpfs)\"; exit 125; }}\n",
        sh_quote(&cwd_s),
        cwd_s.replace(['"', '\\', '$', '`'], "_")
    ));
    // The host's env(1), not busybox's: busybox env prefers its own applets, so
    // `sh` or `modprobe` would silently run busybox instead of the host's tools.
    s.push_str(
        "if [ -x /usr/bin/env ]; then NSCONFORM_VM_ENV=/usr/bin/env; \
         elif [ -x /bin/env ]; then NSCONFORM_VM_ENV=/bin/env; \
         else echo \"nsconform-vm: no env(1) in the host root\"; exit 126; fi\n",
    );
    s.push_str("exec \"$NSCONFORM_VM_ENV\" -i");
    for (k, v) in env {
        s.push(' ');
        s.push_str(&sh_quote(&format!("{k}={v}")));
    }
    for a in &cfg.guest_command {
        s.push(' ');
        s.push_str(&sh_quote(a));
    }
    s.push('\n');
    Ok(s)
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// QEMU option values escape `,` by doubling it.
fn qemu_opt_escape(s: &str) -> String {
    s.replace(',', ",,")
}

fn write_file(path: &Path, text: &str) -> Result<(), VmError> {
    fs::write(path, text).map_err(|e| VmError::io("writing", path, e))
}

struct KillOnDrop<'a>(Option<&'a mut Child>);

impl KillOnDrop<'_> {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("child present")
    }
}

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// What the console reader learned.
#[derive(Clone)]
struct Console {
    start: Instant,
    tail: VecDeque<u8>,
    line: Vec<u8>,
    init_at: Option<Duration>,
    running_at: Option<Duration>,
    init_failed: Option<String>,
    panic: Option<String>,
}

impl Console {
    fn new(start: Instant) -> Self {
        Console {
            start,
            tail: VecDeque::new(),
            line: Vec::new(),
            init_at: None,
            running_at: None,
            init_failed: None,
            panic: None,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\r' {
                continue;
            }
            self.tail.push_back(b);
            if b == b'\n' {
                let line = String::from_utf8_lossy(&self.line).into_owned();
                self.line.clear();
                self.on_line(&line);
            } else if self.line.len() < 4096 {
                self.line.push(b);
            }
        }
        let excess = self.tail.len().saturating_sub(CONSOLE_TAIL_BYTES);
        self.tail.drain(..excess);
    }

    fn on_line(&mut self, line: &str) {
        let now = self.start.elapsed();
        if line.contains(MARK_INIT) && self.init_at.is_none() {
            self.init_at = Some(now);
        } else if line.contains(MARK_RUNNING) && self.running_at.is_none() {
            self.running_at = Some(now);
        } else if let Some(i) = line.find(MARK_FAILED) {
            self.init_failed
                .get_or_insert_with(|| line[i + MARK_FAILED.len()..].trim().to_string());
        }
        if self.panic.is_none() {
            if let Some(i) = line.find(PANIC_TEXT) {
                self.panic = Some(line[i..].trim().to_string());
            }
        }
    }

    fn finish(&mut self) {
        if !self.line.is_empty() {
            let line = String::from_utf8_lossy(&self.line).into_owned();
            self.line.clear();
            self.on_line(&line);
        }
    }

    fn tail_string(&self) -> String {
        let (a, b) = self.tail.as_slices();
        let mut v = Vec::with_capacity(a.len() + b.len());
        v.extend_from_slice(a);
        v.extend_from_slice(b);
        String::from_utf8_lossy(&v).into_owned()
    }
}

fn pump_console(
    mut out: impl Read,
    console: Arc<Mutex<Console>>,
    stream: bool,
    mut log: Option<fs::File>,
) {
    let mut buf = [0u8; 8192];
    let stderr = std::io::stderr();
    loop {
        let n = match out.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        if stream {
            let cleaned: Vec<u8> = chunk.iter().copied().filter(|&b| b != b'\r').collect();
            let mut e = stderr.lock();
            let _ = e.write_all(&cleaned);
            let _ = e.flush();
        }
        if let Some(f) = log.as_mut() {
            let _ = f.write_all(chunk);
        }
        if let Ok(mut c) = console.lock() {
            c.feed(chunk);
        }
    }
    if let Ok(mut c) = console.lock() {
        c.finish();
    }
}

struct Classify<'a> {
    exit_code: Option<i32>,
    panic: Option<String>,
    init_seen: bool,
    init_failed: Option<String>,
    timed_out: bool,
    timeout: Duration,
    qemu_status: Option<String>,
    qemu_stderr: &'a str,
    kernel: &'a Path,
}

fn classify(c: Classify<'_>) -> VmOutcome {
    if let Some(exit_code) = c.exit_code {
        return VmOutcome::Completed { exit_code };
    }
    if let Some(message) = c.panic {
        return VmOutcome::KernelPanic { message };
    }
    if let Some(message) = c.init_failed {
        return VmOutcome::HarnessError {
            message: format!("guest init failed: {message}"),
        };
    }
    let stderr_hint = {
        let s = c.qemu_stderr.trim();
        if s.is_empty() {
            String::new()
        } else {
            format!("; QEMU said: {}", s.lines().last().unwrap_or(s))
        }
    };
    if !c.init_seen {
        let reason = if c.timed_out {
            format!(
                "no output from the guest init within the {:?} timeout (kernel `{}` did not boot \
                 to the initramfs: not a bootable x86 kernel, wrong initramfs, or too slow under TCG){stderr_hint}",
                c.timeout,
                c.kernel.display()
            )
        } else {
            format!(
                "QEMU exited ({}) before the guest init started{stderr_hint}",
                c.qemu_status.as_deref().unwrap_or("unknown status")
            )
        };
        return VmOutcome::NeverBooted { reason };
    }
    if c.timed_out {
        return VmOutcome::Timeout;
    }
    VmOutcome::HarnessError {
        message: format!(
            "the VM stopped ({}) without writing an exit status to the rw share{stderr_hint}",
            c.qemu_status.as_deref().unwrap_or("unknown status")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kvm_internal_error_is_recognised_in_qemus_stderr() {
        let stderr = "qemu-system-x86_64: warning: host doesn't support requested feature\n\
                      KVM internal error. Suberror: 1\n\
                      extra data[0]: 0x0000000000000000\n";
        let why = kvm_internal_error(stderr).unwrap();
        assert!(why.contains("KVM internal error. Suberror: 1"), "{why}");
        assert_eq!(kvm_internal_error("qemu: terminating on signal 15\n"), None);
    }

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
    }

    #[test]
    fn console_markers_and_panic() {
        let mut c = Console::new(Instant::now());
        c.feed(b"boot\r\nnsconform-vm: init started\r\nnsconform-vm: running command\r\n");
        c.feed(b"[ 1.0] Kernel panic - not syncing: sysrq triggered crash\r\n");
        assert!(c.init_at.is_some() && c.running_at.is_some());
        assert_eq!(
            c.panic.as_deref(),
            Some("Kernel panic - not syncing: sysrq triggered crash")
        );
        assert!(!c.tail_string().contains('\r'));
    }

    #[test]
    fn classify_orders_outcomes() {
        let base = || Classify {
            exit_code: None,
            panic: None,
            init_seen: true,
            init_failed: None,
            timed_out: false,
            timeout: Duration::from_secs(1),
            qemu_status: Some("exit status: 0".into()),
            qemu_stderr: "",
            kernel: Path::new("k"),
        };
        assert_eq!(
            classify(Classify {
                exit_code: Some(3),
                ..base()
            }),
            VmOutcome::Completed { exit_code: 3 }
        );
        assert!(matches!(
            classify(Classify {
                panic: Some("Kernel panic".into()),
                ..base()
            }),
            VmOutcome::KernelPanic { .. }
        ));
        assert_eq!(
            classify(Classify {
                timed_out: true,
                ..base()
            }),
            VmOutcome::Timeout
        );
        assert!(matches!(
            classify(Classify {
                init_seen: false,
                timed_out: true,
                ..base()
            }),
            VmOutcome::NeverBooted { .. }
        ));
        assert!(matches!(classify(base()), VmOutcome::HarnessError { .. }));
    }

    #[test]
    fn guest_env_overrides_defaults() {
        let mut cfg = VmConfig::new("/k", "/tmp", ["true"]);
        cfg.env.push(("CI".into(), "false".into()));
        let env = guest_env(&cfg, Path::new("/"));
        assert!(env.contains(&("CI".into(), "false".into())));
        assert_eq!(env.iter().filter(|(k, _)| k == "CI").count(), 1);
        assert!(env.contains(&("INSTA_UPDATE".into(), "no".into())));
    }
}
