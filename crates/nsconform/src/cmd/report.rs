//! `nsconform report SAVED.json`: a saved JSON report rendered again, in any format, with
//! no rerun (a subject is not run a second time for another format).

use super::{load_report, rubric_for, OutputArgs};
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ReportArgs {
    /// A report saved with `run --format json` (or `grade`'s per-submission JSON).
    saved: PathBuf,
    #[command(flatten)]
    out: OutputArgs,
    /// Score with this rubric (TOML). A saved report holds scores, not its rubric: give
    /// the run's `--rubric` again when it had one (default for a subject's report: the
    /// shipped lab rubric).
    #[arg(long, value_name = "FILE")]
    rubric: Option<PathBuf>,
}

/// Exit status: the saved report's own (0, 1 or 3), so a pipeline can gate on it; 2 when
/// the file is not a report.
pub fn run(args: ReportArgs) -> Result<i32> {
    args.out.check()?;
    let report = load_report(&args.saved)?;
    let rubric = rubric_for(args.rubric.as_deref(), &report)?;
    args.out.emit(&report, rubric.as_ref())
}
