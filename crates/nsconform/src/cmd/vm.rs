//! `nsconform vm`: the suite inside a QEMU VM booting a chosen kernel.

use super::{emit, rubric_for, want_color, Format, UsageError};
use anyhow::{Context, Result};
use nsconform_core::report::{escape_for_terminal, Report};
use nsconform_vm::{Accel, VmConfig, VmOutcome};
use std::path::PathBuf;
use std::time::Duration;

/// `nsconform vm --help`'s epilogue: examples (tested to parse) and the exit statuses.
pub fn vm_help() -> String {
    format!(
        "Examples:
  nsconform vm --debian 6.1                       # fetch Debian's 6.1 kernel, run everything
  nsconform vm --kernel ./bzImage --modules ./lib/modules/6.19.0 --format json -- PID NET
  nsconform vm --debian 6.12 --format json -o 6.12.json && nsconform diff host.json 6.12.json

{}",
        nsconform_core::outcome::ExitStatus::help_text()
    )
}

/// The arguments for `nsconform run` in the guest: the report's format and file are
/// `nsconform vm`'s own options (the guest's report is brought back and rendered here).
pub fn check_run_args(run_args: &[String]) -> Result<()> {
    if run_args.iter().any(|a| {
        a == "--format"
            || a == "-o"
            || a == "--output"
            || a.starts_with("--format=")
            || a.starts_with("--output=")
    }) {
        return Err(UsageError("give --format/-o to `nsconform vm`, not after `--`".into()).into());
    }
    Ok(())
}

/// Exit status when the run could not be carried out on the host side.
const HARNESS_ERROR: i32 = VmOutcome::EXIT_HARNESS_ERROR as i32;

/// Seconds one probe may take in a guest under TCG (the host's default is 10).
const TCG_PROBE_TIMEOUT: u32 = 60;

#[derive(clap::Args)]
pub struct VmArgs {
    /// Kernel image to boot (bzImage, or an uncompressed vmlinux for a faster boot).
    #[arg(
        long,
        value_name = "PATH",
        conflicts_with = "debian",
        required_unless_present = "debian"
    )]
    kernel: Option<PathBuf>,
    /// `/lib/modules/<version>` of that kernel, for the initramfs (9p/virtio as modules).
    #[arg(long, value_name = "DIR", requires = "kernel")]
    modules: Option<PathBuf>,
    /// An initramfs to use instead of building one.
    #[arg(long, value_name = "PATH")]
    initrd: Option<PathBuf>,
    /// Fetch and boot a Debian kernel: a series (6.1, 6.12) or a linux-image package
    /// (`apt-get download` + `dpkg-deb -x`; never installed on the host).
    #[arg(long, value_name = "SERIES|PACKAGE")]
    debian: Option<String>,
    /// Where fetched kernels are kept.
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".vm-cache",
        env = "NSCONFORM_VM_CACHE"
    )]
    cache: PathBuf,
    #[arg(long, default_value_t = 1024, value_name = "MIB")]
    memory: u32,
    #[arg(long, default_value_t = 2)]
    cpus: u32,
    /// Seconds before the watchdog kills QEMU.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// auto decides by a short test boot, not by /dev/kvm's presence.
    #[arg(long, default_value = "auto", value_name = "auto|kvm|tcg")]
    accel: String,
    /// Extra kernel command-line word (repeatable).
    #[arg(long, value_name = "WORD")]
    append: Vec<String>,
    /// Environment variable for nsconform in the guest (repeatable); overrides the
    /// guest's defaults (PATH, HOME, ...).
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_env)]
    env: Vec<(String, String)>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Do not stream the guest's console to stderr.
    #[arg(long, short)]
    quiet: bool,
    /// Arguments for `nsconform run` inside the guest (selection, --rootless-as, ...).
    #[arg(last = true)]
    pub run_args: Vec<String>,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !k.contains(char::is_whitespace) => {
            Ok((k.to_string(), v.to_string()))
        }
        _ => Err(format!("`{s}` is not NAME=VALUE")),
    }
}

pub fn run(args: VmArgs) -> Result<i32> {
    let accel: Accel = args
        .accel
        .parse()
        .map_err(|_| UsageError(format!("--accel: `{}` is not auto, kvm or tcg", args.accel)))?;
    check_run_args(&args.run_args)?;
    let (kernel, modules) = match (&args.kernel, &args.debian) {
        (Some(k), _) => {
            if !k.is_file() {
                return Err(
                    UsageError(format!("kernel image {} does not exist", k.display())).into(),
                );
            }
            (k.clone(), args.modules.clone())
        }
        (None, Some(series)) => {
            eprintln!(
                "nsconform vm: fetching Debian kernel {series} into {}",
                args.cache.display()
            );
            match nsconform_vm::fetch_debian_kernel(series, &args.cache) {
                Ok(k) => (k.boot_image().to_path_buf(), Some(k.modules_dir)),
                Err(e) => {
                    eprintln!("nsconform vm: harness error: {e}");
                    return Ok(HARNESS_ERROR);
                }
            }
        }
        (None, None) => unreachable!("clap requires --kernel or --debian"),
    };
    let me = std::env::current_exe().context("find the nsconform binary to run in the guest")?;
    // The share comes back to the host with the report; the host root is read-only there.
    let share = tempfile_dir()?;
    let report_path = share.join("report.json");
    let mut command = vec![
        me.display().to_string(),
        "run".into(),
        "--format".into(),
        "json".into(),
        "-o".into(),
        report_path.display().to_string(),
    ];
    let auto = accel == Accel::Auto;
    let accel = if auto {
        nsconform_vm::detect_accel()
    } else {
        accel
    };
    // Under TCG a guest runs many times slower than the host, and a first mount of a
    // filesystem type loads its module over the 9p share: the per-probe bound of 10 s
    // becomes 60 s there, unless the run's own --timeout says otherwise.
    // (Also when `auto` chose KVM: a kernel KVM fails is booted again under TCG.)
    if (accel == Accel::Tcg || auto)
        && !args
            .run_args
            .iter()
            .any(|a| a == "--timeout" || a.starts_with("--timeout="))
    {
        command.extend(["--timeout".to_string(), TCG_PROBE_TIMEOUT.to_string()]);
    }
    command.extend(args.run_args.iter().cloned());
    let mut cfg = VmConfig::new(&kernel, &share, command);
    cfg.modules_dir = modules;
    cfg.initrd = args.initrd.clone();
    cfg.memory_mib = args.memory;
    cfg.cpus = args.cpus;
    cfg.timeout = Duration::from_secs(args.timeout);
    cfg.accel = accel;
    cfg.kvm_fallback = auto;
    cfg.extra_cmdline = args.append.clone();
    cfg.env = args.env.clone();
    cfg.cwd = Some(PathBuf::from("/"));
    cfg.stream_console = !args.quiet;
    // A plain progress line (also in a CI log, also with --quiet): a TCG boot takes a while.
    eprintln!(
        "nsconform vm: booting {} under {accel} (at most {} s)",
        kernel.display(),
        args.timeout
    );
    let result = nsconform_vm::run(&cfg);
    let report_text = std::fs::read_to_string(&report_path).ok();
    let _ = std::fs::remove_dir_all(&share);
    let r = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nsconform vm: harness error: {e}");
            return Ok(HARNESS_ERROR);
        }
    };
    let mut vm_info = serde_json::json!({
        "kernel_image": kernel.display().to_string(),
        "accel": r.accel_used.to_string(),
        "boot_ms": r.boot_ms,
        "total_ms": r.total_ms,
    });
    if let Some(why) = &r.kvm_fallback {
        vm_info["kvm_fallback"] = serde_json::Value::String(why.clone());
        eprintln!("nsconform vm: {why}; the run was booted again under TCG");
    }
    eprintln!(
        "nsconform vm: accel {}, boot {} ms, total {} ms",
        r.accel_used,
        r.boot_ms.map_or("-".into(), |b| b.to_string()),
        r.total_ms
    );
    match &r.outcome {
        VmOutcome::Completed { exit_code } => {
            let Some(text) = report_text else {
                eprintln!(
                    "nsconform vm: the suite exited {exit_code} in the guest without a report"
                );
                return Ok(HARNESS_ERROR);
            };
            let mut report: Report = serde_json::from_str(&text)
                .context("the guest's report is not an nsconform JSON report")?;
            report.vm = Some(vm_info);
            let rubric = rubric_for(None, &report)?;
            let dest = args.output.as_deref();
            let code = emit(
                &report,
                rubric.as_ref(),
                args.format,
                dest,
                want_color(dest, false),
            )?;
            if code != *exit_code {
                eprintln!("nsconform vm: note: the guest's nsconform exited {exit_code}");
            }
            return Ok(code);
        }
        VmOutcome::KernelPanic { message } => {
            eprintln!(
                "nsconform vm: kernel panic: {}",
                escape_for_terminal(message)
            );
        }
        VmOutcome::Timeout => {
            eprintln!(
                "nsconform vm: timeout after {} s; QEMU was killed",
                args.timeout
            );
        }
        VmOutcome::NeverBooted { reason } => {
            eprintln!(
                "nsconform vm: the kernel never booted: {}",
                escape_for_terminal(reason)
            );
        }
        VmOutcome::HarnessError { message } => {
            eprintln!(
                "nsconform vm: harness error: {}",
                escape_for_terminal(message)
            );
        }
    }
    if matches!(args.format, Format::Json) {
        let v = serde_json::json!({ "vm": vm_info, "outcome": r.outcome, "console_tail": r.console_log });
        let text = serde_json::to_string_pretty(&v)? + "\n";
        super::write_to(args.output.as_deref(), &text, "the VM outcome")?;
    }
    Ok(r.outcome.exit_code().into())
}

/// A fresh directory for the VM's read-write share (not under /tmp: the guest mounts a
/// fresh tmpfs there, and its working directory must not be under it).
fn tempfile_dir() -> Result<PathBuf> {
    let base = std::env::var_os("NSCONFORM_VM_SHARE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp"));
    let dir = base.join(format!("nsconform-vm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    Ok(dir)
}
