//! The subcommands of `nsconform`, one module each, and what they share: the report
//! formats, rendering a report to a destination, usage errors.

pub mod check_config;
pub mod cleanup;
pub mod diff;
pub mod docs;
pub mod grade;
pub mod list;
pub mod run;
pub mod vm;

use anyhow::{Context, Result};
use clap::ValueEnum;
use nsconform_core::formats;
use nsconform_core::report::Report;
use nsconform_core::rubric::Rubric;
use std::io::IsTerminal;
use std::path::Path;

pub const AFTER_HELP: &str = "\
Exit status:
  0  every property passed or was skipped with a reason
  1  a property failed or timed out
  2  usage error (bad option, unknown property)
  3  the environment broke (errors, no failures): e.g. namespaces cannot be created here";

/// A mistake in how nsconform was called (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// A readable table (colors on a terminal unless NO_COLOR is set)
    Human,
    /// The report schema of the README
    Json,
    /// JUnit XML, one testcase per property
    Junit,
    /// TAP version 13 with YAML diagnostics (what `prove` reads)
    Tap,
    /// TAP version 14 with YAML diagnostics
    Tap14,
    /// KTAP version 1 (kselftest/KUnit): a subtest per area, `# Totals:`
    Ktap,
    /// Gradescope results.json, scored by the rubric
    Gradescope,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ListFormat {
    Human,
    Json,
}

/// Read a saved JSON report (`run --format json`); unreadable or not a report of a
/// schema this build knows: a usage error.
pub fn load_report(p: &Path) -> Result<Report> {
    let text = std::fs::read_to_string(p).map_err(|e| {
        UsageError(format!(
            "read the report {}: {}",
            p.display(),
            nsconform_core::kit::io_errno(&e)
        ))
    })?;
    Report::from_json(&text).map_err(|e| {
        UsageError(format!(
            "{} is not an nsconform JSON report: {e}",
            p.display()
        ))
        .into()
    })
}

pub fn load_rubric(path: &Path) -> Result<Rubric> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        UsageError(format!(
            "read the rubric {}: {}",
            path.display(),
            nsconform_core::kit::io_errno(&e)
        ))
    })?;
    Ok(Rubric::parse(&text, &path.display().to_string()).map_err(|e| UsageError(e.to_string()))?)
}

/// The rubric a report is scored with: `path` when given, else the default lab rubric
/// for a subject's report, else none.
pub fn rubric_for(path: Option<&Path>, report: &Report) -> Result<Option<Rubric>> {
    rubric_before_run(path, report.subject.is_some())
}

/// The rubric of a run, read once before anything runs (a subject cannot change it):
/// the given file, the default lab rubric for a subject, or none.
pub fn rubric_before_run(path: Option<&Path>, subject: bool) -> Result<Option<Rubric>> {
    match (path, subject) {
        (Some(path), _) => Ok(Some(load_rubric(path)?)),
        (None, true) => Ok(Some(Rubric::default_lab())),
        (None, false) => Ok(None),
    }
}

/// Whether a human report written to `dest` (stdout when `None`) gets colors: only on a
/// terminal, and not with `--no-color` or `NO_COLOR`.
pub fn want_color(dest: Option<&Path>, no_color: bool) -> bool {
    dest.is_none()
        && !no_color
        && std::env::var_os("NO_COLOR").is_none()
        && std::io::stdout().is_terminal()
}

/// Render `report` in `format` (scored with `rubric` when given) and write it to `dest`,
/// or stdout; `color` applies to the human format. Returns the report's exit status.
pub fn emit(
    report: &Report,
    rubric: Option<&Rubric>,
    format: Format,
    dest: Option<&Path>,
    color: bool,
) -> Result<i32> {
    let mut report = report.clone();
    if let Some(r) = rubric {
        report.score = Some(r.score(&report.results));
    }
    let report = &report;
    let text = match format {
        Format::Junit => formats::junit(report),
        Format::Tap => formats::tap(report, formats::TapVersion::V13),
        Format::Tap14 => formats::tap(report, formats::TapVersion::V14),
        Format::Ktap => formats::ktap(report),
        Format::Gradescope => match rubric {
            Some(r) => formats::gradescope(report, r) + "\n",
            None => formats::gradescope(report, &Rubric::one_point_each(&report.results)) + "\n",
        },
        Format::Json => report.to_json() + "\n",
        Format::Human => report.to_human(color),
    };
    write_to(dest, &text, "the report")?;
    Ok(report.exit_code())
}

/// Check, before any work starts, that a report can be written to `dest`: its folder
/// exists and is writable, and it is not a folder itself (usage error otherwise).
pub fn check_output(dest: Option<&Path>) -> Result<()> {
    let Some(path) = dest else { return Ok(()) };
    if path.is_dir() {
        return Err(UsageError(format!("-o {}: is a directory", path.display())).into());
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(UsageError(format!(
            "-o {}: the folder {} does not exist",
            path.display(),
            dir.display()
        ))
        .into());
    }
    if let Err(e) = nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK) {
        return Err(UsageError(format!(
            "-o {}: the folder {} is not writable ({})",
            path.display(),
            dir.display(),
            nsconform_core::probe::errno_name(e)
        ))
        .into());
    }
    Ok(())
}

/// Write `text` to stdout. A reader that stopped reading (`nsconform list | head -1`:
/// EPIPE) ends the output quietly, as Unix tools do; the command's exit status stands.
pub fn print_out(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Write `text` to `dest` atomically (a temporary file in the same folder, renamed over
/// it: a reader never sees half a report), or print it to stdout. Never while SIGINT or
/// SIGTERM is being handled: an interrupted run leaves no report and no temporary file.
pub fn write_to(dest: Option<&Path>, text: &str, what: &str) -> Result<()> {
    nsconform_core::cleanup::exclusive(|| write_now(dest, text, what))
}

fn write_now(dest: Option<&Path>, text: &str, what: &str) -> Result<()> {
    match dest {
        Some(path) if path.starts_with("/dev") || path.starts_with("/proc") => {
            std::fs::write(path, text)
                .with_context(|| format!("write {what} to {}", path.display()))?
        }
        Some(path) => {
            let name = path
                .file_name()
                .map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
            let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
            std::fs::write(&tmp, text)
                .and_then(|()| std::fs::rename(&tmp, path))
                .inspect_err(|_| {
                    let _ = std::fs::remove_file(&tmp);
                })
                .with_context(|| format!("write {what} to {}", path.display()))?
        }
        None => print_out(text).with_context(|| format!("print {what}"))?,
    }
    Ok(())
}
