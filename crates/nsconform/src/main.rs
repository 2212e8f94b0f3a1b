//! `nsconform`: verify that Linux namespaces isolate what the man pages promise.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use nsconform_core::catalogue::{self, Control, Privilege};
use nsconform_core::env::Env;
use nsconform_core::formats;
use nsconform_core::harness::{self, RunOptions};
use nsconform_core::report::Report;
use nsconform_core::rubric::Rubric;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const AFTER_HELP: &str = "\
Exit status:
  0  every property passed or was skipped with a reason
  1  a property failed or timed out
  2  usage error (bad option, unknown property)
  3  the environment broke (errors, no failures): e.g. namespaces cannot be created here";

#[derive(Parser)]
#[command(
    name = "nsconform",
    version,
    about = "Conformance suite for Linux namespaces: checks that pid, uts, ipc, net, user, mnt, cgroup and time namespaces isolate what the man pages promise",
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the property catalogue (or a selection) on this kernel.
    #[command(after_help = AFTER_HELP)]
    Run(RunArgs),
    /// List the property catalogue.
    List {
        #[arg(long, value_enum, default_value_t = ListFormat::Human)]
        format: ListFormat,
    },
    /// Print docs/properties.md, the property table generated from the catalogue.
    Docs,
    /// Compare two JSON reports (two kernels, or before/after): outcome, errno and
    /// observed-fact changes per property. Exit 0 when they agree, 1 when they differ.
    Diff {
        /// The baseline report (`nsconform run --format json`).
        old: PathBuf,
        /// The report to compare with it.
        new: PathBuf,
        #[arg(long, value_enum, default_value_t = ListFormat::Human)]
        format: ListFormat,
    },
    /// Run the suite inside a QEMU VM booting a chosen kernel (the host's root filesystem
    /// shared read-only over 9p) and bring the report and exit status back.
    #[command(after_help = VM_HELP)]
    Vm(VmArgs),
    /// Report the kernel options namespaces need and the knobs that change results,
    /// with the properties each one affects. Exit 1 when a required option is missing.
    CheckConfig {
        #[arg(long, value_enum, default_value_t = ListFormat::Human)]
        format: ListFormat,
    },
    /// Grade a directory of submissions (one folder each): build each in parallel, run
    /// each as a subject, write one report per submission and a class summary.
    #[command(after_help = GRADE_HELP)]
    Grade(GradeArgs),
}

const GRADE_HELP: &str = "\
Writes into --out: <submission>.json (the full report with build log), <submission>.<format>
(results.json for gradescope, .xml, .tap, .txt), summary.csv and summary.txt.

Exit status:
  0  every submission was graded (whatever its score)
  2  usage error (bad rubric, missing directory, no run command)
  3  the environment cannot create namespaces: nothing was graded";

const VM_HELP: &str = "\
Examples:
  nsconform vm --debian 6.1                       # fetch Debian's 6.1 kernel, run everything
  nsconform vm --kernel ./bzImage --modules ./lib/modules/6.19.0 -- PID NET --format json
  nsconform vm --debian 6.12 --format json -o 6.12.json && nsconform diff host.json 6.12.json

Exit status:
  0  every property passed or was skipped     5  the kernel panicked
  1  a property failed or timed out           6  the VM timed out (watchdog killed QEMU)
  2  usage error                              7  the kernel never booted
  3  the suite hit an environment error       8  harness error (QEMU, initramfs, kernel fetch)";

#[derive(clap::Args)]
struct VmArgs {
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
    run_args: Vec<String>,
}

#[derive(clap::Args)]
struct GradeArgs {
    /// Directory holding one folder per submission.
    dir: PathBuf,
    /// Rubric (TOML); default: the shipped container-lab rubric.
    #[arg(long, value_name = "FILE")]
    rubric: Option<PathBuf>,
    /// Build command run with sh in each submission folder (overrides the rubric).
    #[arg(long, value_name = "COMMAND")]
    build: Option<String>,
    /// Subject command run in each submission folder, with {probe} (overrides the rubric).
    #[arg(long, value_name = "COMMAND")]
    run: Option<String>,
    /// Seconds one subject run may take (overrides the rubric; default 30).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Builds at once.
    #[arg(long, short)]
    jobs: Option<usize>,
    /// Where reports go.
    #[arg(long, short, default_value = "grades", value_name = "DIR")]
    out: PathBuf,
    /// Format of the per-submission report next to its JSON.
    #[arg(long, value_enum, default_value_t = Format::Gradescope)]
    format: Format,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Property IDs (PID-01) or areas (PID, NET) to run; all when omitted.
    selection: Vec<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// As root, run the rootless path: every probe drops to UID[:GID] first.
    #[arg(long, value_name = "UID[:GID]")]
    rootless_as: Option<String>,
    /// Seconds one probe run may take before it is killed (outcome `timeout`).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    timeout: f64,
    /// Checks run at once (host-global ones always run alone).
    #[arg(long, short)]
    jobs: Option<usize>,
    /// Run the negative control NAME: only properties that list it, with that piece of
    /// isolation removed from the launcher; every one of them should FAIL.
    #[arg(long, value_name = "NAME", value_parser = parse_control)]
    control: Option<Control>,
    /// Test a subject instead of the kernel: a command that creates namespaces and runs
    /// `{probe}` inside (appended when absent), e.g. `unshare -pfnuimC --mount-proc -r {probe}`
    /// or `./container {probe}`. Only the properties that apply to subjects are judged.
    #[arg(long, value_name = "COMMAND")]
    subject: Option<String>,
    /// Seconds a subject may run before its whole process tree is killed.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    subject_timeout: f64,
    /// Copy the probe into this root filesystem (as /nsconform-probe) and name it so in
    /// the subject command, for runtimes that pivot_root into a rootfs.
    #[arg(long, value_name = "DIR")]
    probe_into: Option<PathBuf>,
    /// Score with this rubric (TOML; see fixtures/rubrics/container-lab.toml, the
    /// default for subjects and for --format gradescope with a subject).
    #[arg(long, value_name = "FILE")]
    rubric: Option<PathBuf>,
    /// Never color the human report (also honoured: NO_COLOR).
    #[arg(long)]
    no_color: bool,
    /// Print the slowest properties and the total wall time to stderr.
    #[arg(long)]
    timings: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// A readable table (colors on a terminal unless NO_COLOR is set)
    Human,
    /// The report schema of the README
    Json,
    /// JUnit XML, one testcase per property
    Junit,
    /// TAP version 14 with YAML diagnostics
    Tap,
    /// Gradescope results.json, scored by the rubric
    Gradescope,
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Human,
    Json,
}

fn parse_control(s: &str) -> Result<Control, String> {
    Control::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Control::ALL.iter().map(|c| c.name()).collect();
        format!("unknown control `{s}`; one of: {}", names.join(", "))
    })
}

fn main() {
    let cli = Cli::parse();
    let code = match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("nsconform: error: {e:#}");
            if e.downcast_ref::<UsageError>().is_some() {
                2
            } else {
                3
            }
        }
    };
    std::process::exit(code);
}

/// A mistake in how nsconform was called (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

fn real_main(cli: Cli) -> Result<i32> {
    match cli.command {
        Cmd::Run(args) => run(args),
        Cmd::List { format } => {
            list(format);
            Ok(0)
        }
        Cmd::Grade(args) => grade(args),
        Cmd::Vm(args) => vm(args),
        Cmd::Diff { old, new, format } => {
            let load = |p: &PathBuf| -> Result<Report> {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| UsageError(format!("read the report {}: {e}", p.display())))?;
                serde_json::from_str(&text).map_err(|e| {
                    UsageError(format!(
                        "{} is not an nsconform JSON report: {e}",
                        p.display()
                    ))
                    .into()
                })
            };
            let d = nsconform_core::diff::diff(&load(&old)?, &load(&new)?);
            match format {
                ListFormat::Human => print!("{}", nsconform_core::diff::human(&d)),
                ListFormat::Json => println!("{}", serde_json::to_string_pretty(&d)?),
            }
            Ok(if d.changes.is_empty() { 0 } else { 1 })
        }
        Cmd::CheckConfig { format } => {
            let r = nsconform_core::checkconfig::check(&Env::detect(None));
            match format {
                ListFormat::Human => print!("{}", nsconform_core::checkconfig::human(&r)),
                ListFormat::Json => println!("{}", serde_json::to_string_pretty(&r)?),
            }
            Ok(if r.missing_required().is_empty() {
                0
            } else {
                1
            })
        }
        Cmd::Docs => {
            print!("{}", nsconform_core::docs::properties_markdown());
            Ok(0)
        }
    }
}

fn parse_ids(s: &str) -> Result<(u32, u32)> {
    let (u, g) = s.split_once(':').unwrap_or((s, s));
    Ok((
        u.parse()
            .with_context(|| format!("`{u}` is not a numeric uid"))?,
        g.parse()
            .with_context(|| format!("`{g}` is not a numeric gid"))?,
    ))
}

fn run(args: RunArgs) -> Result<i32> {
    let mut props = nsconform_core::run::select(&args.selection).map_err(UsageError)?;
    if let Some(c) = args.control {
        props.retain(|p| p.controls.contains(&c));
    }
    let rootless_as = match &args.rootless_as {
        None => None,
        Some(s) => {
            let ids = parse_ids(s).map_err(|e| UsageError(format!("--rootless-as: {e:#}")))?;
            if !nix_is_root() {
                return Err(
                    UsageError("--rootless-as needs root (it drops to that uid)".into()).into(),
                );
            }
            Some(ids)
        }
    };
    let probe = harness::locate_probe().context(
        "cannot find the nsconform-probe binary next to nsconform; build the workspace or set NSCONFORM_PROBE",
    )?;
    let mut opts = RunOptions::new(probe);
    opts.rootless_as = rootless_as;
    if !args.timeout.is_finite() || args.timeout <= 0.0 {
        bail!(UsageError(
            "--timeout must be a positive number of seconds".into()
        ));
    }
    opts.timeout = Duration::from_secs_f64(args.timeout);
    if let Some(j) = args.jobs {
        opts.jobs = j.max(1);
    }
    let env = Env::detect(rootless_as.map(|(u, _)| u));
    let start = Instant::now();
    if let Some(cmd) = &args.subject {
        let report = run_subject(cmd, &args, &props, &env, &opts, start)?;
        return emit(&report, &args);
    }
    let results = match args.control {
        None => nsconform_core::run::run_all(&props, &env, &opts, &|_| {}),
        Some(c) => props
            .iter()
            .map(|p| nsconform_core::run::run_property(p, &env, &opts, Some(c)))
            .collect(),
    };
    let report = Report::new(&env, results, start.elapsed().as_millis() as u64);
    if args.timings {
        let mut per: Vec<_> = report
            .results
            .iter()
            .map(|r| (r.duration_ms, r.id.as_str()))
            .collect();
        per.sort_unstable_by(|a, b| b.cmp(a));
        eprintln!(
            "wall time {} ms for {} properties ({} jobs); slowest:",
            report.duration_ms,
            per.len(),
            opts.jobs
        );
        for (ms, id) in per.iter().take(10) {
            eprintln!("  {id:<9} {ms:>5} ms");
        }
    }
    emit(&report, &args)
}

fn run_subject(
    cmd: &str,
    args: &RunArgs,
    props: &[&'static nsconform_core::Property],
    env: &Env,
    opts: &RunOptions,
    start: Instant,
) -> Result<Report> {
    use nsconform_core::subject;
    let argv = subject::split_command(cmd).map_err(|e| UsageError(format!("--subject: {e}")))?;
    if args.control.is_some() || args.rootless_as.is_some() {
        return Err(UsageError(
            "--subject cannot be combined with --control or --rootless-as".into(),
        )
        .into());
    }
    if !args.subject_timeout.is_finite() || args.subject_timeout <= 0.0 {
        return Err(
            UsageError("--subject-timeout must be a positive number of seconds".into()).into(),
        );
    }
    let props: Vec<_> = props
        .iter()
        .copied()
        .filter(|p| p.subject.is_some())
        .collect();
    if props.is_empty() {
        return Err(UsageError(
            "the selection has no property that applies to subjects; see `nsconform list`".into(),
        )
        .into());
    }
    if let Err(why) = subject::preflight(opts) {
        let results = props
            .iter()
            .map(|p| nsconform_core::run::PropertyResult {
                id: p.id.into(),
                title: p.title.into(),
                man: p.man.into(),
                control: None,
                verdict: nsconform_core::Verdict::error(why.clone()),
                duration_ms: 0,
            })
            .collect();
        return Ok(Report::new(
            env,
            results,
            start.elapsed().as_millis() as u64,
        ));
    }
    let spec = subject::SubjectSpec {
        argv,
        timeout: Duration::from_secs_f64(args.subject_timeout),
        probe_into: args.probe_into.clone(),
        cwd: None,
    };
    let run = subject::run_subject(&spec, env, opts);
    let results = subject::judge(&run, &props);
    let mut report = Report::new(env, results, start.elapsed().as_millis() as u64);
    report.subject = Some(run);
    Ok(report)
}

fn load_rubric(path: &std::path::Path) -> Result<Rubric> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("read the rubric {}", path.display()))?;
    Ok(Rubric::parse(&text, &path.display().to_string()).map_err(|e| UsageError(e.to_string()))?)
}

fn emit(report: &Report, args: &RunArgs) -> Result<i32> {
    let mut report = report.clone();
    let rubric = match (&args.rubric, &report.subject) {
        (Some(path), _) => Some(load_rubric(path)?),
        (None, Some(_)) => Some(Rubric::default_lab()),
        (None, None) => None,
    };
    if let Some(r) = &rubric {
        report.score = Some(r.score(&report.results));
    }
    let report = &report;
    let text = match args.format {
        Format::Junit => formats::junit(report),
        Format::Tap => formats::tap(report),
        Format::Gradescope => {
            let r = rubric.unwrap_or_else(|| Rubric::one_point_each(&report.results));
            formats::gradescope(report, &r) + "\n"
        }
        Format::Json => report.to_json() + "\n",
        Format::Human => {
            let color = args.output.is_none()
                && !args.no_color
                && std::env::var_os("NO_COLOR").is_none()
                && std::io::stdout().is_terminal();
            report.to_human(color)
        }
    };
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("write the report to {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(report.exit_code())
}

fn nix_is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn list(format: ListFormat) {
    let all = catalogue::all();
    match format {
        ListFormat::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(all).expect("catalogue serializes")
            );
        }
        ListFormat::Human => {
            for p in all {
                let privilege = match p.prereq.privilege {
                    Privilege::Any => "any",
                    Privilege::Rootless => "rootless",
                    Privilege::Root => "root",
                };
                println!("{:<9} {:<8} {}  [{}]", p.id, privilege, p.title, p.man);
            }
            println!("\n{} properties", all.len());
        }
    }
}

fn grade(args: GradeArgs) -> Result<i32> {
    use nsconform_core::grade;
    if !args.dir.is_dir() {
        return Err(UsageError(format!(
            "{} is not a directory of submissions",
            args.dir.display()
        ))
        .into());
    }
    let rubric = match &args.rubric {
        Some(p) => load_rubric(p)?,
        None => Rubric::default_lab(),
    };
    let mut g = grade::GradeOptions::from_rubric(
        &rubric,
        args.build.clone(),
        args.run.clone(),
        args.timeout,
    )
    .map_err(UsageError)?;
    if let Some(j) = args.jobs {
        g.jobs = j.max(1);
    }
    let probe = harness::locate_probe()
        .context("cannot find the nsconform-probe binary next to nsconform")?;
    let opts = RunOptions::new(probe);
    if let Err(why) = nsconform_core::subject::preflight(&opts) {
        eprintln!("nsconform: environment error: {why}");
        return Ok(3);
    }
    let env = Env::detect(None);
    let subs =
        grade::submissions(&args.dir).with_context(|| format!("list {}", args.dir.display()))?;
    let bar = indicatif::ProgressBar::new(subs.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("grading {bar:30} {pos}/{len} {msg}")
            .expect("valid template"),
    );
    let graded = grade::grade_all(&args.dir, &g, &rubric, &env, &opts, &|one| {
        bar.set_message(one.name.clone());
        bar.inc(1);
    })
    .map_err(UsageError)?;
    bar.finish_and_clear();
    std::fs::create_dir_all(&args.out).with_context(|| format!("create {}", args.out.display()))?;
    for one in &graded {
        let base = args.out.join(&one.name);
        std::fs::write(
            base.with_extension("json"),
            serde_json::to_string_pretty(one)? + "\n",
        )?;
        let (ext, text) = match args.format {
            Format::Gradescope => {
                let mut v: serde_json::Value =
                    serde_json::from_str(&formats::gradescope(&one.report, &rubric))?;
                if let Some(b) = one.build.as_ref().filter(|b| !b.ok) {
                    let out = v["output"].as_str().unwrap_or("").to_string();
                    v["output"] =
                        format!("{out}\nThe build failed (`{}`):\n{}", b.command, b.log).into();
                }
                ("results.json", serde_json::to_string_pretty(&v)? + "\n")
            }
            Format::Junit => ("xml", formats::junit(&one.report)),
            Format::Tap => ("tap", formats::tap(&one.report)),
            Format::Json => ("report.json", one.report.to_json() + "\n"),
            Format::Human => ("txt", one.report.to_human(false)),
        };
        std::fs::write(args.out.join(format!("{}.{ext}", one.name)), text)?;
    }
    std::fs::write(
        args.out.join("summary.csv"),
        grade::summary_csv(&graded, &rubric),
    )?;
    let table = grade::summary_table(&graded, &rubric);
    std::fs::write(args.out.join("summary.txt"), &table)?;
    print!("{table}");
    eprintln!("reports written to {}", args.out.display());
    Ok(0)
}

fn vm(args: VmArgs) -> Result<i32> {
    use nsconform_vm::{Accel, VmConfig, VmOutcome};
    let accel: Accel = args
        .accel
        .parse()
        .map_err(|_| UsageError(format!("--accel: `{}` is not auto, kvm or tcg", args.accel)))?;
    if args
        .run_args
        .iter()
        .any(|a| a == "--format" || a == "-o" || a == "--output")
    {
        return Err(UsageError("give --format/-o to `nsconform vm`, not after `--`".into()).into());
    }
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
                    return Ok(8);
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
    command.extend(args.run_args.iter().cloned());
    let mut cfg = VmConfig::new(&kernel, &share, command);
    cfg.modules_dir = modules;
    cfg.initrd = args.initrd.clone();
    cfg.memory_mib = args.memory;
    cfg.cpus = args.cpus;
    cfg.timeout = Duration::from_secs(args.timeout);
    cfg.accel = if accel == Accel::Auto {
        nsconform_vm::detect_accel()
    } else {
        accel
    };
    cfg.extra_cmdline = args.append.clone();
    cfg.cwd = Some(PathBuf::from("/"));
    cfg.stream_console = !args.quiet;
    let result = nsconform_vm::run(&cfg);
    let report_text = std::fs::read_to_string(&report_path).ok();
    let _ = std::fs::remove_dir_all(&share);
    let r = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nsconform vm: harness error: {e}");
            return Ok(8);
        }
    };
    let vm_info = serde_json::json!({
        "kernel_image": kernel.display().to_string(),
        "accel": r.accel_used.to_string(),
        "boot_ms": r.boot_ms,
        "total_ms": r.total_ms,
    });
    eprintln!(
        "nsconform vm: accel {}, boot {} ms, total {} ms",
        r.accel_used,
        r.boot_ms.map_or("-".into(), |b| b.to_string()),
        r.total_ms
    );
    let code = match &r.outcome {
        VmOutcome::Completed { exit_code } => {
            let Some(text) = report_text else {
                eprintln!(
                    "nsconform vm: the suite exited {exit_code} in the guest without a report"
                );
                return Ok(8);
            };
            let mut report: Report = serde_json::from_str(&text)
                .context("the guest's report is not an nsconform JSON report")?;
            report.vm = Some(vm_info);
            let out_args = RunArgs {
                selection: vec![],
                format: args.format,
                output: args.output.clone(),
                rootless_as: None,
                timeout: 10.0,
                jobs: None,
                control: None,
                subject: None,
                subject_timeout: 30.0,
                probe_into: None,
                rubric: None,
                no_color: false,
                timings: false,
            };
            let code = emit(&report, &out_args)?;
            if code != *exit_code {
                eprintln!("nsconform vm: note: the guest's nsconform exited {exit_code}");
            }
            return Ok(code);
        }
        VmOutcome::KernelPanic { message } => {
            eprintln!("nsconform vm: kernel panic: {message}");
            5
        }
        VmOutcome::Timeout => {
            eprintln!(
                "nsconform vm: timeout after {} s; QEMU was killed",
                args.timeout
            );
            6
        }
        VmOutcome::NeverBooted { reason } => {
            eprintln!("nsconform vm: the kernel never booted: {reason}");
            7
        }
        VmOutcome::HarnessError { message } => {
            eprintln!("nsconform vm: harness error: {message}");
            8
        }
    };
    if matches!(args.format, Format::Json) {
        let v = serde_json::json!({ "vm": vm_info, "outcome": format!("{:?}", r.outcome), "console_tail": r.console_log });
        let text = serde_json::to_string_pretty(&v)? + "\n";
        match &args.output {
            Some(p) => std::fs::write(p, text)?,
            None => print!("{text}"),
        }
    }
    Ok(code)
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
