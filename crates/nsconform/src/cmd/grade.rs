//! `nsconform grade DIR`: build and run a class's submissions, one report each.

use super::{load_rubric, Format, UsageError};
use anyhow::{Context, Result};
use nsconform_core::env::Env;
use nsconform_core::formats;
use nsconform_core::rubric::Rubric;
use std::path::PathBuf;

pub const GRADE_HELP: &str = "\
Writes into --out: <submission>.json (the full report with build log), <submission>.<format>
(results.json for gradescope, .xml, .tap, .txt), summary.csv and summary.txt.

Exit status:
  0  every submission was graded (whatever its score)
  2  usage error (bad rubric, missing directory, no run command)
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
    /// Builds at once.
    #[arg(long, short, value_parser = nsconform_core::contain::jobs_from_str)]
    jobs: Option<usize>,
    /// Where reports go.
    #[arg(long, short, default_value = "grades", value_name = "DIR")]
    out: PathBuf,
    /// Format of the per-submission report next to its JSON.
    #[arg(long, value_enum, default_value_t = Format::Gradescope)]
    format: Format,
}

pub fn run(args: GradeArgs) -> Result<i32> {
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
    let opts = super::run::probe_options()?;
    if let Err(why) = nsconform_core::subject::preflight(&opts) {
        eprintln!(
            "nsconform: environment error: {}",
            nsconform_core::report::escape_line(&why)
        );
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
        bar.set_message(nsconform_core::report::escape_line(&one.name).into_owned());
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
