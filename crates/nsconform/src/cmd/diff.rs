//! `nsconform diff OLD.json NEW.json`: what changed between two reports.

use super::ListFormat;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct DiffArgs {
    /// The baseline report (`nsconform run --format json`).
    old: PathBuf,
    /// The report to compare with it.
    new: PathBuf,
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    format: ListFormat,
}

pub fn run(args: DiffArgs) -> Result<i32> {
    let d = nsconform_core::diff::diff(
        &super::load_report(&args.old)?,
        &super::load_report(&args.new)?,
    );
    match args.format {
        ListFormat::Human => super::print_out(&nsconform_core::diff::human(&d))?,
        ListFormat::Json => super::print_out(&(serde_json::to_string_pretty(&d)? + "\n"))?,
    }
    Ok(
        if d.changes.is_empty() && d.taint.is_none() && d.kernel_trouble.is_none() {
            0
        } else {
            1
        },
    )
}
