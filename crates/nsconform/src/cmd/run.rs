//! `nsconform run`: the catalogue (or a selection) on this kernel, or a subject.

use super::{rubric_before_run, OutputArgs, UsageError};
use anyhow::{Context, Result};
use nsconform_core::catalogue::Control;
use nsconform_core::env::Env;
use nsconform_core::harness::{self, RunOptions};
use nsconform_core::kernellog::KernelHealth;
use nsconform_core::report::Report;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct RunArgs {
    /// Property IDs (PID-01), areas (PID, NET) or globs over IDs ('MNT-1*') to run; all
    /// when omitted.
    selection: Vec<String>,
    /// Leave out the properties PATTERN names (an ID, area or glob); repeatable.
    #[arg(long, value_name = "PATTERN")]
    exclude: Vec<String>,
    /// Run only the properties that failed, timed out or errored in a saved JSON report
    /// (within the selection, when one is given).
    #[arg(long, value_name = "SAVED.json")]
    rerun_failed: Option<PathBuf>,
    /// Run the selection N times and report each property's worst result; properties
    /// whose outcome changed between runs are listed as flaky (`repeat` in the JSON).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    repeat: u32,
    #[command(flatten)]
    out: OutputArgs,
    /// As root, run the rootless path: every probe drops to UID[:GID] first.
    #[arg(long, value_name = "UID[:GID]")]
    rootless_as: Option<String>,
    /// Seconds one probe run may take before it is killed (outcome `timeout`).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    timeout: f64,
    /// Checks run at once (host-global ones always run alone).
    #[arg(long, short, value_parser = nsconform_core::contain::jobs_from_str)]
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
    /// An OCI bundle (runc, crun) whose config.json has "{probe}" in process.args: the
    /// probe goes into its rootfs, and `{bundle}` / `{id}` in the subject command name
    /// this run's copy of the bundle and a container name of this run's, e.g.
    /// `--bundle b --subject 'runc run -b {bundle} {id}'`.
    #[arg(long, value_name = "DIR", conflicts_with = "probe_into")]
    bundle: Option<PathBuf>,
    /// Score with this rubric (TOML; see fixtures/rubrics/container-lab.toml, the
    /// default for subjects and for --format gradescope with a subject).
    #[arg(long, value_name = "FILE")]
    rubric: Option<PathBuf>,
    /// Print the slowest properties and the total wall time to stderr.
    #[arg(long)]
    timings: bool,
}

fn parse_control(s: &str) -> Result<Control, String> {
    Control::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Control::all().map(|c| c.name()).collect();
        format!("unknown control `{s}`; one of: {}", names.join(", "))
    })
}

/// The probe of this run: `$NSCONFORM_PROBE`, else this very executable (`__probe`).
pub fn probe_options() -> Result<RunOptions> {
    let probe = harness::locate_probe().context(
        "cannot find the running nsconform executable to start as the probe; set NSCONFORM_PROBE",
    )?;
    Ok(RunOptions::new(probe))
}

pub fn run(args: RunArgs) -> Result<i32> {
    let mut props =
        nsconform_core::run::select(&args.selection, &args.exclude).map_err(UsageError)?;
    if let Some(saved_path) = &args.rerun_failed {
        let saved = super::load_report(saved_path)?;
        let again: Vec<&str> = saved
            .results
            .iter()
            .filter(|r| r.verdict.outcome.is_bad())
            .map(|r| r.id.as_str())
            .collect();
        props.retain(|p| again.contains(&p.id));
        if props.is_empty() {
            return Err(UsageError(format!(
                "--rerun-failed: nothing to rerun; no property of the selection failed, timed \
                 out or errored in {}",
                saved_path.display()
            ))
            .into());
        }
    }
    if args.repeat > 1 && args.subject.is_some() {
        return Err(UsageError(
            "--repeat runs the catalogue; it cannot be combined with --subject".into(),
        )
        .into());
    }
    if let Some(c) = args.control {
        props.retain(|p| p.controls.contains(&c));
        if props.is_empty() {
            return Err(UsageError(format!(
                "no property of the selection lists the control {}; `nsconform list --format \
                 json` shows each property's controls",
                c.name()
            ))
            .into());
        }
    }
    let rootless_as = match &args.rootless_as {
        None => None,
        Some(s) => {
            let ids = nsconform_core::contain::rootless_ids(s)
                .map_err(|e| UsageError(format!("--rootless-as: {e}")))?;
            if !nix::unistd::geteuid().is_root() {
                return Err(
                    UsageError("--rootless-as needs root (it drops to that uid)".into()).into(),
                );
            }
            Some(ids)
        }
    };
    let mut opts = probe_options()?;
    opts.rootless_as = rootless_as;
    opts.timeout = nsconform_core::contain::timeout_from_secs(args.timeout, "--timeout")
        .map_err(UsageError)?;
    if let Some(j) = args.jobs {
        opts.jobs = j.max(1);
    }
    // Inputs first: the rubric is read, and the output folder checked, before anything
    // runs (a subject cannot rewrite the rubric, a bad -o loses no run).
    let rubric = rubric_before_run(args.rubric.as_deref(), args.subject.is_some())?;
    if let (Some(r), Some(path), Some(_)) = (&rubric, &args.rubric, &args.subject) {
        r.check_for_subjects(&path.display().to_string())
            .map_err(UsageError)?;
    }
    args.out.check()?;
    let env = Env::detect(rootless_as.map(|(u, _)| u));
    let start = Instant::now();
    let started = std::time::SystemTime::now();
    let report = match &args.subject {
        Some(cmd) => match run_subject(cmd, &args, &props, &env, &opts, start)? {
            Ok(report) => report,
            Err((report, why)) => {
                // A report is still written where one was asked for (a Gradescope
                // results.json must always exist), then the usage error.
                args.out.emit_to_files(&report, rubric.as_ref())?;
                return Err(UsageError(why).into());
            }
        },
        None => {
            // The preflight, as subject mode has: a type the environment refuses to
            // create makes the fails of this run errors (the environment's fault).
            let mut environment = nsconform_core::environment::Environment::detect(env.version);
            harness::survey(&opts, !env.privileged, &mut environment)
                .map_err(|why| anyhow::anyhow!("the preflight failed: {why}"))?;
            // The kernel's health is watched in every run of the catalogue (not in
            // control runs: there the failures are made on purpose).
            let health = std::sync::Mutex::new(None::<KernelHealth>);
            let once = || match args.control {
                None => {
                    let (results, h) =
                        nsconform_core::run::run_all_watched(&props, &env, &opts, &|_| {});
                    let mut seen = health.lock().unwrap_or_else(|p| p.into_inner());
                    *seen = Some(match seen.take() {
                        None => h,
                        Some(mut all) => {
                            all.taint_after = h.taint_after;
                            if !h.new_taint.is_empty() {
                                all.new_taint = h.new_taint;
                            }
                            all.trouble.extend(h.trouble);
                            all
                        }
                    });
                    results
                }
                Some(c) => props
                    .iter()
                    .map(|p| nsconform_core::run::run_property(p, &env, &opts, Some(c)))
                    .collect(),
            };
            let (mut results, repeat) = if args.repeat > 1 {
                // A plain progress line per run on stderr: a long hunt for a race
                // shows it is alive, also in a CI log.
                let runs = (0..args.repeat)
                    .map(|k| {
                        let results = once();
                        let bad = results
                            .iter()
                            .filter(|r| r.verdict.outcome.is_bad())
                            .count();
                        eprintln!(
                            "nsconform: run {}/{} done: {} of {} not passed or skipped",
                            k + 1,
                            args.repeat,
                            bad,
                            results.len()
                        );
                        results
                    })
                    .collect();
                let (merged, repeat) = nsconform_core::run::merge_repeats(runs);
                (merged, Some(repeat))
            } else {
                (once(), None)
            };
            nsconform_core::run::vouch(&mut results, &environment);
            let mut report = Report::new(&env, results, start.elapsed().as_millis() as u64);
            report.environment = Some(environment);
            report.kernel_health = health.into_inner().unwrap_or_else(|p| p.into_inner());
            report.repeat = repeat;
            if args.timings {
                print_timings(&report, opts.jobs);
            }
            report
        }
    };
    let mut report = report;
    report.stamp(started, std::env::args().collect());
    args.out.emit(&report, rubric.as_ref())
}

fn print_timings(report: &Report, jobs: usize) {
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
        jobs
    );
    for (ms, id) in per.iter().take(10) {
        eprintln!("  {id:<9} {ms:>5} ms");
    }
}

/// The report of a subject run; `Err((report, why))` when the subject's program cannot
/// be started at all (checked before anything runs): the report says so for every
/// property, `why` is the usage error.
type SubjectReport = std::result::Result<Report, (Report, String)>;

fn run_subject(
    cmd: &str,
    args: &RunArgs,
    props: &[&'static nsconform_core::Property],
    env: &Env,
    opts: &RunOptions,
    start: Instant,
) -> Result<SubjectReport> {
    use nsconform_core::subject;
    let argv = subject::split_command(cmd).map_err(|e| UsageError(format!("--subject: {e}")))?;
    if args.control.is_some() || args.rootless_as.is_some() {
        return Err(UsageError(
            "--subject cannot be combined with --control or --rootless-as".into(),
        )
        .into());
    }
    let subject_timeout =
        nsconform_core::contain::timeout_from_secs(args.subject_timeout, "--subject-timeout")
            .map_err(UsageError)?;
    if let Some(b) = &args.bundle {
        subject::check_bundle(b).map_err(|e| UsageError(format!("--bundle: {e}")))?;
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
    // The subject's program exists and may be executed (PATH lookup for a bare name,
    // relative paths against the working directory it will run in).
    let cwd = std::env::current_dir().context("find the working directory")?;
    if let Err(why) = subject::check_first_word(&argv, &cwd) {
        let run = subject::SubjectRun {
            command: argv.clone(),
            ending: subject::Ending::NotStarted { why: why.clone() },
            stdout_tail: String::new(),
            stderr_tail: String::new(),
            duration_ms: 0,
            observation: None,
            contained_in: String::new(),
            restored: Vec::new(),
            transport: None,
            host_changes: Vec::new(),
        };
        // The program is missing or not executable: the subject's fault (a student's
        // build made no ./container), not the environment's.
        let results = nsconform_core::run::PropertyResult::all(
            &props,
            &nsconform_core::Verdict::fail(
                format!("the subject cannot be started: {why}"),
                "a program that can be executed",
                "none",
            ),
        );
        let mut report = Report::new(env, results, start.elapsed().as_millis() as u64);
        report.subject = Some(run);
        return Ok(Err((report, format!("--subject: {why}"))));
    }
    if let Err(why) = subject::preflight(opts) {
        let results = nsconform_core::run::PropertyResult::all(
            &props,
            &nsconform_core::Verdict::error(why.clone()),
        );
        return Ok(Ok(Report::new(
            env,
            results,
            start.elapsed().as_millis() as u64,
        )));
    }
    let spec = subject::SubjectSpec {
        limits: nsconform_core::contain::Limits::default(),
        argv,
        timeout: subject_timeout,
        probe_into: args.probe_into.clone(),
        bundle: args.bundle.clone(),
        cwd: None,
    };
    let run = subject::run_subject(&spec, env, opts);
    let results = subject::judge(&run, &props);
    let mut report = Report::new(env, results, start.elapsed().as_millis() as u64);
    report.subject = Some(run);
    Ok(Ok(report))
}
