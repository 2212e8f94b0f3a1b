//! `nsconform-vm`: a small command-line front end to the nsconform-vm library, used by
//! `ci/vm/kernel-matrix.sh` and handy by hand.
//!
//! ```text
//! nsconform-vm run [OPTIONS] -- COMMAND [ARGS...]
//!     --debian SERIES|PACKAGE   fetch a Debian kernel (6.1, 6.12, linux-image-...)
//!     --kernel PATH             boot this kernel image instead
//!     --modules DIR             /lib/modules/<version> for --kernel (initramfs modules)
//!     --initrd PATH             use this initramfs (made by `nsconform-vm initramfs`)
//!     --cache DIR               kernel cache (default: $NSCONFORM_VM_CACHE or ./.vm-cache)
//!     --share DIR               rw share (default: current directory)
//!     --cwd DIR                 guest working directory (default: current directory)
//!     --timeout SECS            watchdog (default 300)
//!     --memory MIB --cpus N     guest size (default 1024, 2)
//!     --accel auto|kvm|tcg      (default auto)
//!     --env KEY=VALUE           extra guest environment (repeatable)
//!     --append WORD             extra kernel command-line word (repeatable)
//!     --console-log FILE        full console output
//!     --json FILE               write the VmRun as JSON
//!     --quiet                   do not stream the console to stderr
//! nsconform-vm fetch SERIES|PACKAGE [--cache DIR]   print the DebianKernel as JSON
//! nsconform-vm initramfs MODULES_DIR OUT            build an initramfs
//! nsconform-vm accel                                print kvm or tcg (and why not kvm)
//! ```
//!
//! Exit status of `run` (`VmOutcome::exit_code`, the same as `nsconform vm`): the
//! guest command's own status when it completed; 5 kernel panic; 6 timeout; 7 never
//! booted; 8 harness error (also when QEMU, the initramfs or the kernel fetch failed);
//! 2 bad usage; 1 other host-side error.

use nsconform_vm::{
    build_initramfs, detect_accel, fetch_debian_kernel, probe_kvm, run, Accel, VmConfig, VmOutcome,
};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: nsconform-vm run [--debian SERIES | --kernel PATH [--modules DIR]] [options] -- COMMAND...
       nsconform-vm fetch SERIES|PACKAGE [--cache DIR]
       nsconform-vm initramfs MODULES_DIR OUT
       nsconform-vm accel
(see the crate docs or docs/vm.md for all options)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match real_main(&args) {
        Ok(code) => code,
        Err(Failure::Usage(m)) => {
            eprintln!("nsconform-vm: {m}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Host(m)) => {
            eprintln!("nsconform-vm: {m}");
            ExitCode::from(1)
        }
        Err(Failure::Harness(m)) => {
            eprintln!("nsconform-vm: harness error: {m}");
            ExitCode::from(VmOutcome::EXIT_HARNESS_ERROR)
        }
    }
}

enum Failure {
    Usage(String),
    Host(String),
    /// A `run` that could not be carried out (kernel fetch, initramfs, QEMU).
    Harness(String),
}

impl From<nsconform_vm::VmError> for Failure {
    fn from(e: nsconform_vm::VmError) -> Self {
        Failure::Host(e.to_string())
    }
}

fn default_cache() -> PathBuf {
    std::env::var_os("NSCONFORM_VM_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".vm-cache"))
}

fn real_main(args: &[String]) -> Result<ExitCode, Failure> {
    let usage = |m: &str| Failure::Usage(m.to_string());
    let (sub, rest) = args
        .split_first()
        .ok_or_else(|| usage("missing subcommand"))?;
    match sub.as_str() {
        "accel" => {
            match probe_kvm() {
                Ok(()) => println!("kvm"),
                Err(why) => println!("tcg ({why})"),
            }
            Ok(ExitCode::SUCCESS)
        }
        "fetch" => {
            let mut cache = default_cache();
            let mut what = None;
            let mut it = rest.iter();
            while let Some(a) = it.next() {
                match a.as_str() {
                    "--cache" => {
                        cache = it
                            .next()
                            .ok_or_else(|| usage("--cache needs a value"))?
                            .into()
                    }
                    s if what.is_none() && !s.starts_with('-') => what = Some(s.to_string()),
                    s => return Err(usage(&format!("unexpected argument `{s}`"))),
                }
            }
            let what = what.ok_or_else(|| usage("fetch needs a series or package"))?;
            let k = fetch_debian_kernel(&what, &cache)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&k).map_err(|e| Failure::Host(e.to_string()))?
            );
            Ok(ExitCode::SUCCESS)
        }
        "initramfs" => {
            let [dir, out] = rest else {
                return Err(usage("initramfs needs MODULES_DIR and OUT"));
            };
            let p = build_initramfs(dir.as_ref(), out.as_ref())?;
            println!("{}", p.display());
            Ok(ExitCode::SUCCESS)
        }
        "run" => cmd_run(rest),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => Err(usage(&format!("unknown subcommand `{other}`"))),
    }
}

fn cmd_run(args: &[String]) -> Result<ExitCode, Failure> {
    let usage = |m: String| Failure::Usage(m);
    let split = args
        .iter()
        .position(|a| a == "--")
        .ok_or_else(|| usage("run needs `-- COMMAND...`".into()))?;
    let (opts, command) = (&args[..split], &args[split + 1..]);
    if command.is_empty() {
        return Err(usage("no command after `--`".into()));
    }
    let cwd = std::env::current_dir().map_err(|e| Failure::Host(format!("current dir: {e}")))?;
    let mut debian = None;
    let mut kernel = None;
    let mut modules = None;
    let mut initrd = None;
    let mut cache = default_cache();
    let mut share = cwd.clone();
    let mut guest_cwd = None;
    let mut timeout = 300u64;
    let mut memory = 1024u32;
    let mut cpus = 2u32;
    let mut accel = Accel::Auto;
    let mut env = Vec::new();
    let mut append = Vec::new();
    let mut console_log = None;
    let mut json = None;
    let mut quiet = false;
    let mut it = opts.iter();
    while let Some(opt) = it.next() {
        if opt == "--quiet" {
            quiet = true;
            continue;
        }
        let val = it
            .next()
            .ok_or_else(|| usage(format!("{opt} needs a value")))?
            .clone();
        let num = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| usage(format!("{opt}: `{v}` is not a number")))
        };
        match opt.as_str() {
            "--debian" => debian = Some(val),
            "--kernel" => kernel = Some(PathBuf::from(val)),
            "--modules" => modules = Some(PathBuf::from(val)),
            "--initrd" => initrd = Some(PathBuf::from(val)),
            "--cache" => cache = PathBuf::from(val),
            "--share" => share = PathBuf::from(val),
            "--cwd" => guest_cwd = Some(PathBuf::from(val)),
            "--timeout" => timeout = num(&val)?,
            "--memory" => memory = num(&val)? as u32,
            "--cpus" => cpus = num(&val)? as u32,
            "--accel" => {
                accel = val
                    .parse()
                    .map_err(|e: nsconform_vm::VmError| usage(e.to_string()))?
            }
            "--env" => {
                let (k, v) = val
                    .split_once('=')
                    .ok_or_else(|| usage(format!("--env `{val}` is not KEY=VALUE")))?;
                env.push((k.to_string(), v.to_string()));
            }
            "--append" => append.push(val),
            "--console-log" => console_log = Some(PathBuf::from(val)),
            "--json" => json = Some(PathBuf::from(val)),
            other => return Err(usage(format!("unknown option `{other}`"))),
        }
    }
    let (kernel, modules) = match (debian, kernel) {
        (Some(_), Some(_)) => return Err(usage("--debian and --kernel exclude each other".into())),
        (None, None) => return Err(usage("need --debian SERIES or --kernel PATH".into())),
        (None, Some(k)) => (k, modules),
        (Some(series), None) => {
            let k = fetch_debian_kernel(&series, &cache)
                .map_err(|e| Failure::Harness(e.to_string()))?;
            (k.boot_image().to_path_buf(), Some(k.modules_dir))
        }
    };
    let mut cfg = VmConfig::new(kernel, share, command.iter().cloned());
    cfg.modules_dir = modules;
    cfg.initrd = initrd;
    cfg.timeout = Duration::from_secs(timeout);
    cfg.memory_mib = memory;
    cfg.cpus = cpus;
    cfg.accel = if accel == Accel::Auto {
        detect_accel()
    } else {
        accel
    };
    cfg.env = env;
    cfg.extra_cmdline = append;
    cfg.cwd = guest_cwd;
    cfg.stream_console = !quiet;
    cfg.console_log_file = console_log;
    let r = run(&cfg).map_err(|e| Failure::Harness(e.to_string()))?;
    eprintln!(
        "nsconform-vm: {} (accel {}, boot {} ms, total {} ms)",
        r.outcome,
        r.accel_used,
        r.boot_ms.map_or("-".to_string(), |b| b.to_string()),
        r.total_ms
    );
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&r).map_err(|e| Failure::Host(e.to_string()))?;
        std::fs::write(&path, text)
            .map_err(|e| Failure::Host(format!("writing {}: {e}", path.display())))?;
    }
    Ok(ExitCode::from(r.outcome.exit_code()))
}
