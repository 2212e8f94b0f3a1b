//! `nsconform grade DIR`: build and run a class's submissions, one report each.

use super::{load_rubric, write_to, Format, UsageError};
use anyhow::{Context, Result};
use nsconform_core::env::Env;
use nsconform_core::formats;
use nsconform_core::rubric::Rubric;
use std::io::IsTerminal;
use std::path::PathBuf;

pub const GRADE_HELP: &str = "\
Each submission is built and run in a grader process of its own, one at a time; one that
stops or kills its grader scores 0 with that reason, and grading goes on.
Writes into --out, as each submission is graded: <submission>.json (the full report with
build log), <submission>.<format> (results.json for gradescope, .xml, .tap, .txt),
summary.csv and summary.txt.

Exit status:
  0  every submission was graded (whatever its score)
  2  usage error (bad rubric, missing or empty directory, no run command, bad --out)
  3  the environment cannot create namespaces: nothing was graded";

#[derive(clap::Args)]
pub struct GradeArgs {
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
    /// Accepted for compatibility and unused: each submission is built and run in its
    /// own grader process, one submission at a time (see the README).
    #[arg(long, short, hide = true, value_parser = nsconform_core::contain::jobs_from_str)]
    jobs: Option<usize>,
    /// Where reports go.
    #[arg(long, short, default_value = "grades", value_name = "DIR")]
    out: PathBuf,
    /// Format of the per-submission report next to its JSON.
    #[arg(long, value_enum, default_value_t = Format::Gradescope)]
    format: Format,
}

/// The hidden `nsconform __grade-one JOB`: the supervisor of one submission. The main
/// `grade` process starts it (in a session of its own); it starts itself again with
/// `--inner`, which builds and runs the submission and prints the result on stdout. Two
/// levels, so that a submission that signals its parent, its grandparent or their
/// process group hits only a supervisor, never the main process.
#[derive(clap::Args)]
pub struct GradeOneArgs {
    /// Do the work in this process (else start the inner supervisor and wait for it).
    #[arg(long)]
    inner: bool,
    /// The job (nsconform_core::grade::Job) as JSON.
    job: String,
}

pub fn run(args: GradeArgs) -> Result<i32> {
    use nsconform_core::grade;
    // Inputs first: nothing is built or run before the submissions, the rubric, the run
    // command and the output folder are known to be right.
    if !args.dir.is_dir() {
        return Err(UsageError(format!(
            "{} is not a directory of submissions",
            args.dir.display()
        ))
        .into());
    }
    // Absolute, so that messages and the supervisors name the folders whole.
    let dir = std::fs::canonicalize(&args.dir).unwrap_or_else(|_| args.dir.clone());
    let subs = grade::submissions(&dir).map_err(|e| {
        UsageError(format!(
            "list the submissions in {}: {}",
            args.dir.display(),
            nsconform_core::kit::io_errno(&e)
        ))
    })?;
    if subs.is_empty() {
        return Err(UsageError(format!(
            "{} holds no submission: it needs one folder per submission (hidden folders are skipped)",
            args.dir.display()
        ))
        .into());
    }
    let rubric = match &args.rubric {
        Some(p) => {
            let r = load_rubric(p)?;
            r.check_for_subjects(&p.display().to_string())
                .map_err(UsageError)?;
            r
        }
        None => Rubric::default_lab(),
    };
    let g = grade::GradeOptions::from_rubric(
        &rubric,
        args.build.clone(),
        args.run.clone(),
        args.timeout,
    )
    .map_err(UsageError)?;
    let argv = nsconform_core::subject::split_command(&g.run)
        .map_err(|e| UsageError(format!("the run command `{}`: {e}", g.run)))?;
    // Made here: removed again if the grading is interrupted before anything is in it.
    let _made = check_out_dir(&args.out)?;
    if args.jobs.is_some() {
        eprintln!(
            "nsconform: --jobs is ignored: submissions are graded one at a time, each built \
             and run in its own grader process"
        );
    }
    let exe = std::env::current_exe()
        .context("find the running nsconform executable (to start the graders)")?;
    let opts = super::run::probe_options()?;
    if let Err(why) = nsconform_core::subject::preflight(&opts) {
        eprintln!(
            "nsconform: environment error: {}",
            nsconform_core::report::escape_line(&why)
        );
        return Ok(nsconform_core::outcome::ExitStatus::Environment.code());
    }
    let env = Env::detect(None);
    let plain_progress = !std::io::stderr().is_terminal();
    let bar = indicatif::ProgressBar::new(subs.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("grading {bar:30} {pos}/{len} {msg}")
            .expect("valid template"),
    );
    let supervisor = |job: &grade::Job| {
        let mut c = std::process::Command::new(&exe);
        c.arg("__grade-one")
            .arg(serde_json::to_string(job).expect("a job serializes"));
        c
    };
    // Each submission's files are written as soon as it is graded, the summaries
    // rewritten: a crash later loses nothing already graded.
    let mut write = |graded: &[grade::Graded]| -> std::result::Result<(), String> {
        let one = graded.last().expect("one was just graded");
        let name = nsconform_core::report::escape_line(&one.name).into_owned();
        if plain_progress {
            // Not a terminal (a CI log): a plain line per submission instead of the bar.
            let score = one
                .report
                .score
                .as_ref()
                .map_or(String::new(), |s| format!(": {} / {}", s.earned, s.max));
            eprintln!("grading {}/{}: {name}{score}", graded.len(), subs.len());
        }
        bar.set_message(name);
        bar.inc(1);
        write_graded(&args, &rubric, one, graded).map_err(|e| format!("{e:#}"))
    };
    let graded = grade::grade_all(&subs, &g, &argv, &rubric, &env, &supervisor, &mut write)
        .map_err(anyhow::Error::msg)?;
    bar.finish_and_clear();
    super::print_out(&grade::summary_table(&graded, &rubric))?;
    eprintln!("reports written to {}", args.out.display());
    Ok(0)
}

/// `--out` is a folder that exists or can be made (its parent must exist), and a file
/// can be created in it (tried: made and removed). A folder made here is held for
/// cleanup (removed on an interruption while still empty).
fn check_out_dir(out: &std::path::Path) -> Result<Option<nsconform_core::cleanup::Held>> {
    let errno = nsconform_core::kit::io_errno;
    let mut made = None;
    if !out.is_dir() {
        if out.exists() {
            return Err(UsageError(format!(
                "--out {}: exists and is not a directory",
                out.display()
            ))
            .into());
        }
        made = Some(nsconform_core::cleanup::hold(
            nsconform_core::cleanup::Resource::EmptyDir {
                path: std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf()),
            },
        ));
        std::fs::create_dir(out).map_err(|e| {
            let hint = match e.raw_os_error() {
                Some(e) if e == nix::errno::Errno::ENOENT as i32 => {
                    "; its parent folder does not exist (create it first)"
                }
                _ => "",
            };
            UsageError(format!(
                "--out {}: cannot create the folder ({}){hint}",
                out.display(),
                errno(&e)
            ))
        })?;
    }
    let test = out.join(format!(".nsconform-write-test-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&test)
        .map_err(|e| {
            UsageError(format!(
                "--out {}: not writable (creating a file in it failed with {})",
                out.display(),
                errno(&e)
            ))
        })?;
    let _ = std::fs::remove_file(&test);
    Ok(made)
}

/// Write the files of `one` (graded last) and the class summaries of `all`, atomically.
fn write_graded(
    args: &GradeArgs,
    rubric: &Rubric,
    one: &nsconform_core::grade::Graded,
    all: &[nsconform_core::grade::Graded],
) -> Result<()> {
    use nsconform_core::grade;
    let file = |name: String| Some(args.out.join(name));
    write_to(
        file(format!("{}.json", one.name)).as_deref(),
        &(serde_json::to_string_pretty(one)? + "\n"),
        "the full report",
    )?;
    let (ext, text) = match args.format {
        Format::Gradescope => {
            let mut v: serde_json::Value =
                serde_json::from_str(&formats::gradescope(&one.report, rubric))?;
            if let Some(b) = one.build.as_ref().filter(|b| !b.ok) {
                let out = v["output"].as_str().unwrap_or("").to_string();
                // The student's build log is theirs to read, escaped as the rest of
                // the output is (text format: no terminal controls, no bidi tricks).
                let esc = |s: &str| formats::OutputFormat::Text.escape(s);
                v["output"] = format!(
                    "{out}\nThe build failed (`{}`):\n{}",
                    esc(&b.command),
                    esc(&b.log)
                )
                .into();
            }
            ("results.json", serde_json::to_string_pretty(&v)? + "\n")
        }
        Format::Junit => ("xml", formats::junit(&one.report)),
        Format::Tap => ("tap", formats::tap(&one.report, formats::TapVersion::V13)),
        Format::Tap14 => ("tap", formats::tap(&one.report, formats::TapVersion::V14)),
        Format::Ktap => ("ktap", formats::ktap(&one.report)),
        Format::Json => ("report.json", one.report.to_json() + "\n"),
        Format::Human => ("txt", one.report.to_human(false)),
    };
    write_to(
        file(format!("{}.{ext}", one.name)).as_deref(),
        &text,
        "the report",
    )?;
    write_to(
        file("summary.csv".into()).as_deref(),
        &grade::summary_csv(all, rubric),
        "the summary",
    )?;
    write_to(
        file("summary.txt".into()).as_deref(),
        &grade::summary_table(all, rubric),
        "the summary",
    )?;
    Ok(())
}

/// `nsconform __grade-one [--inner] JOB`: see [`GradeOneArgs`].
pub fn grade_one(args: GradeOneArgs) -> Result<i32> {
    use nsconform_core::grade;
    use std::io::Write;
    let job: grade::Job = serde_json::from_str(&args.job)
        .map_err(|e| UsageError(format!("__grade-one: the job is not valid ({e})")))?;
    if !args.inner {
        let exe = std::env::current_exe().context("find the running nsconform executable")?;
        let status = std::process::Command::new(exe)
            .arg("__grade-one")
            .arg("--inner")
            .arg(&args.job)
            .stdin(std::process::Stdio::null())
            .status()
            .context("start the inner grader process")?;
        use std::os::unix::process::ExitStatusExt;
        return Ok(status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)));
    }
    let opts = super::run::probe_options()?;
    let env = Env::detect(None);
    let say = |line: &str| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    let graded = grade::grade_one(&job, &env, &opts, &|build| {
        say(&format!(
            "{}{}",
            grade::BUILT_PREFIX,
            serde_json::to_string(&build).unwrap_or_else(|_| "null".into())
        ))
    });
    say(&format!(
        "{}{}",
        grade::RESULT_PREFIX,
        serde_json::to_string(&graded)?
    ));
    Ok(0)
}
