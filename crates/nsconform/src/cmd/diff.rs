//! `nsconform diff OLD.json NEW.json`: what changed between two reports.

use super::{ListFormat, UsageError};
use anyhow::Result;
use nsconform_core::report::Report;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct DiffArgs {
    /// The baseline report (`nsconform run --format json`).
    old: PathBuf,
    /// The report to compare with it.
    new: PathBuf,
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    format: ListFormat,
}

fn load(p: &Path) -> Result<Report> {
    let text = std::fs::read_to_string(p)
        .map_err(|e| UsageError(format!("read the report {}: {e}", p.display())))?;
    Report::from_json(&text).map_err(|e| {
        UsageError(format!(
            "{} is not an nsconform JSON report: {e}",
            p.display()
        ))
        .into()
    })
}

pub fn run(args: DiffArgs) -> Result<i32> {
    let d = nsconform_core::diff::diff(&load(&args.old)?, &load(&args.new)?);
    match args.format {
        ListFormat::Human => super::print_out(&nsconform_core::diff::human(&d))?,
        ListFormat::Json => super::print_out(&(serde_json::to_string_pretty(&d)? + "\n"))?,
    }
    Ok(if d.changes.is_empty() { 0 } else { 1 })
}
