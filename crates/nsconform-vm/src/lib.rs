//! Run a command inside a throw-away QEMU virtual machine booted from a given kernel.
//!
//! The guest sees the host's root file system read-only over virtio-9p, gets fresh
//! `/proc`, `/sys`, `/dev`, `/tmp` and `/run`, and a read-write 9p share
//! ([`VmConfig::share_rw`]) mounted at the same path as on the host. The command runs
//! with the same working directory as on the host; its output is streamed live to the
//! host's stderr (serial console) and its exit status comes back through the rw share.
//!
//! The four ways a run can end are kept apart ([`VmOutcome`]): the command completed
//! (with its exit code), the kernel panicked, the watchdog timed out, or the VM never
//! reached our init. Anything wrong on the host side is a [`VmError`] or a
//! [`VmOutcome::HarnessError`].
//!
//! ```no_run
//! use nsconform_vm::{fetch_debian_kernel, run, VmConfig, VmOutcome};
//! use std::path::Path;
//!
//! let k = fetch_debian_kernel("6.1", Path::new(".vm-cache")).unwrap();
//! let share = tempfile::tempdir().unwrap();
//! let mut cfg = VmConfig::new(&k.vmlinuz, share.path(), ["uname", "-r"]);
//! cfg.modules_dir = Some(k.modules_dir.clone());
//! let out = run(&cfg).unwrap();
//! assert_eq!(out.outcome, VmOutcome::Completed { exit_code: 0 });
//! ```

mod accel;
mod debian;
mod error;
mod initramfs;
mod qemu;
mod vmlinux;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use accel::{detect_accel, probe_kvm};
pub use debian::{fetch_debian_kernel, DebianKernel};
pub use error::VmError;
pub use initramfs::{build_initramfs, resolve_modules, REQUIRED_MODULES};
pub use qemu::{qemu_binary, run};
pub use vmlinux::extract_vmlinux;

/// Which QEMU accelerator to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    /// KVM when a short test boot under KVM works ([`detect_accel`]), TCG otherwise.
    Auto,
    /// Hardware virtualisation (`-accel kvm -cpu host`).
    Kvm,
    /// Pure emulation (`-accel tcg -cpu max`); slow but works everywhere.
    Tcg,
}

impl std::fmt::Display for Accel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Accel::Auto => "auto",
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        })
    }
}

impl std::str::FromStr for Accel {
    type Err = VmError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Accel::Auto),
            "kvm" => Ok(Accel::Kvm),
            "tcg" => Ok(Accel::Tcg),
            other => Err(VmError::Config(format!(
                "unknown accelerator `{other}`; use auto, kvm or tcg"
            ))),
        }
    }
}

/// Everything needed to boot one VM and run one command in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmConfig {
    /// Kernel image: a bzImage (`vmlinuz-*`) or an uncompressed `vmlinux` with a PVH note.
    pub kernel: PathBuf,
    /// Initramfs made by [`build_initramfs`]. `None`: one is built for this run from
    /// [`VmConfig::modules_dir`] (or without modules when that is `None` too, which
    /// needs a kernel with 9p and virtio-pci built in).
    pub initrd: Option<PathBuf>,
    /// Guest memory in MiB.
    pub memory_mib: u32,
    /// Guest vCPUs.
    pub cpus: u32,
    /// Watchdog: QEMU is killed after this long (boot included).
    pub timeout: Duration,
    /// Accelerator; [`Accel::Auto`] runs [`detect_accel`].
    pub accel: Accel,
    /// argv of the command run in the guest (looked up in the guest's `PATH`).
    pub guest_command: Vec<String>,
    /// Host directory mounted read-write in the guest at the same path. The run's
    /// control files live in `<share_rw>/.nsconform-vm/run-*` while the VM runs.
    pub share_rw: PathBuf,
    /// Extra kernel command-line words, appended last.
    pub extra_cmdline: Vec<String>,
    /// `/lib/modules/<version>` of `kernel`, used when `initrd` is `None`.
    pub modules_dir: Option<PathBuf>,
    /// Extra environment for the guest command; overrides the defaults
    /// (`PATH`, `HOME=/root`, `TERM=dumb`, `LANG=C.UTF-8`, `CI=true`,
    /// `INSTA_UPDATE=no`, `INSTA_WORKSPACE_ROOT=<workspace of cwd>`).
    pub env: Vec<(String, String)>,
    /// Working directory of the guest command; `None`: the host process's cwd.
    /// It must exist in the guest: any host path outside `/tmp` and `/run`, or a
    /// path inside `share_rw`.
    pub cwd: Option<PathBuf>,
    /// Copy every console byte to the host's stderr while the VM runs.
    pub stream_console: bool,
    /// Also write the complete console output to this file.
    pub console_log_file: Option<PathBuf>,
    /// Host paths the guest must see at the same path although they are under `/tmp`
    /// or `/run`, where the guest mounts tmpfs of its own. The guest command's program,
    /// every absolute path among its arguments that exists, the modules and the working
    /// directory are shared this way without being listed.
    pub expose: Vec<PathBuf>,
    /// When KVM fails the kernel (QEMU reports a KVM internal error), boot again under
    /// TCG. Always so for [`Accel::Auto`]; set it when the caller resolved `Auto` itself.
    pub kvm_fallback: bool,
}

impl VmConfig {
    /// A configuration with defaults: 1024 MiB, 2 vCPUs, 120 s timeout, [`Accel::Auto`],
    /// console streamed to stderr.
    pub fn new<I, S>(kernel: impl AsRef<Path>, share_rw: impl AsRef<Path>, command: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        VmConfig {
            kernel: kernel.as_ref().to_path_buf(),
            initrd: None,
            memory_mib: 1024,
            cpus: 2,
            timeout: Duration::from_secs(120),
            accel: Accel::Auto,
            guest_command: command.into_iter().map(Into::into).collect(),
            share_rw: share_rw.as_ref().to_path_buf(),
            extra_cmdline: Vec::new(),
            modules_dir: None,
            env: Vec::new(),
            cwd: None,
            stream_console: true,
            console_log_file: None,
            expose: Vec::new(),
            kvm_fallback: false,
        }
    }
}

/// How a VM run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VmOutcome {
    /// The guest command ran to its end; `exit_code` is its status as the guest's
    /// shell reports it (128+N when killed by signal N, 127 when not found).
    Completed { exit_code: i32 },
    /// The console showed "Kernel panic"; `message` is the panic line.
    KernelPanic { message: String },
    /// Our init started but the command had not finished when the watchdog fired.
    Timeout,
    /// Our init never printed its start marker (bad kernel, missing drivers, QEMU
    /// refused to start, or the watchdog fired during boot).
    NeverBooted { reason: String },
    /// The VM booted but the run could not be completed for a reason that is not
    /// the command's (e.g. init could not mount the 9p shares).
    HarnessError { message: String },
}

impl VmOutcome {
    /// Exit status for [`VmOutcome::KernelPanic`].
    pub const EXIT_KERNEL_PANIC: u8 = 5;
    /// Exit status for [`VmOutcome::Timeout`].
    pub const EXIT_TIMEOUT: u8 = 6;
    /// Exit status for [`VmOutcome::NeverBooted`].
    pub const EXIT_NEVER_BOOTED: u8 = 7;
    /// Exit status for [`VmOutcome::HarnessError`], and for host-side failures around a
    /// run (QEMU, initramfs or kernel fetch failed).
    pub const EXIT_HARNESS_ERROR: u8 = 8;

    /// The exit status of `nsconform vm` and `nsconform-vm run` for this outcome: the
    /// command's own status (clamped to 0..=255) when it completed, else 5 kernel
    /// panic, 6 timeout, 7 never booted, 8 harness error.
    pub fn exit_code(&self) -> u8 {
        match self {
            VmOutcome::Completed { exit_code } => (*exit_code).clamp(0, 255) as u8,
            VmOutcome::KernelPanic { .. } => Self::EXIT_KERNEL_PANIC,
            VmOutcome::Timeout => Self::EXIT_TIMEOUT,
            VmOutcome::NeverBooted { .. } => Self::EXIT_NEVER_BOOTED,
            VmOutcome::HarnessError { .. } => Self::EXIT_HARNESS_ERROR,
        }
    }
}

impl std::fmt::Display for VmOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VmOutcome::Completed { exit_code } => {
                write!(f, "command exited with status {exit_code}")
            }
            VmOutcome::KernelPanic { message } => write!(f, "kernel panic: {message}"),
            VmOutcome::Timeout => f.write_str("timeout: the command did not finish"),
            VmOutcome::NeverBooted { reason } => write!(f, "never booted: {reason}"),
            VmOutcome::HarnessError { message } => write!(f, "harness error: {message}"),
        }
    }
}

/// Result of [`run`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmRun {
    pub outcome: VmOutcome,
    /// Accelerator actually used (never [`Accel::Auto`]).
    pub accel_used: Accel,
    /// Milliseconds from starting QEMU until the guest command started (`None` when
    /// it never started).
    pub boot_ms: Option<u64>,
    /// Milliseconds from starting QEMU until QEMU was gone.
    pub total_ms: u64,
    /// The last part of the console output (at most [`CONSOLE_TAIL_BYTES`]), `\r` removed.
    pub console_log: String,
    /// Why the run is a TCG run although KVM was chosen: KVM failed this kernel (a KVM
    /// internal error) and the guest was booted again under TCG.
    pub kvm_fallback: Option<String>,
}

/// How much console output [`VmRun::console_log`] keeps.
pub const CONSOLE_TAIL_BYTES: usize = 128 * 1024;

impl VmRun {
    /// The command's exit code, if it completed.
    pub fn exit_code(&self) -> Option<i32> {
        match self.outcome {
            VmOutcome::Completed { exit_code } => Some(exit_code),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::VmOutcome;

    #[test]
    fn one_set_of_exit_statuses() {
        let codes: Vec<u8> = [
            VmOutcome::Completed { exit_code: 3 },
            VmOutcome::Completed { exit_code: 300 },
            VmOutcome::KernelPanic {
                message: "x".into(),
            },
            VmOutcome::Timeout,
            VmOutcome::NeverBooted { reason: "x".into() },
            VmOutcome::HarnessError {
                message: "x".into(),
            },
        ]
        .iter()
        .map(VmOutcome::exit_code)
        .collect();
        assert_eq!(codes, [3, 255, 5, 6, 7, 8]);
        assert_eq!(
            VmOutcome::NeverBooted {
                reason: "QEMU exited".into()
            }
            .to_string(),
            "never booted: QEMU exited"
        );
    }
}
