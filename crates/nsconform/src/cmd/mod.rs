//! The subcommands of `nsconform`, one module each, and what they share: the report
//! formats, rendering a report to a destination, usage errors.

pub mod check_config;
pub mod cleanup;
pub mod diff;
pub mod docs;
pub mod explain;
pub mod grade;
pub mod list;
pub mod report;
pub mod run;
pub mod vm;

use anyhow::Result;
use clap::ValueEnum;
use nsconform_core::formats;
use nsconform_core::report::Report;
use nsconform_core::rubric::Rubric;
use std::path::{Path, PathBuf};

/// The `Exit status:` block every report-making subcommand's `--help` ends with.
pub fn after_help() -> String {
    nsconform_core::outcome::ExitStatus::help_text()
}

/// The report could not be written after the run (exit status 4).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OutputError(pub String);

/// A mistake in how nsconform was called (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

#[derive(Clone, Copy, ValueEnum, Debug, PartialEq, Eq)]
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
    let text = read_input(p, "the report")?;
    Report::from_json(&text).map_err(|e| {
        UsageError(format!(
            "{} is not an nsconform JSON report: {e}",
            p.display()
        ))
        .into()
    })
}

/// The text of an input file; unreadable: a usage error naming `what`, the path and the
/// errno.
fn read_input(path: &Path, what: &str) -> Result<String, UsageError> {
    std::fs::read_to_string(path).map_err(|e| {
        UsageError(format!(
            "read {what} {}: {}",
            path.display(),
            nsconform_core::kit::io_errno(&e)
        ))
    })
}

pub fn load_rubric(path: &Path) -> Result<Rubric> {
    let text = read_input(path, "the rubric")?;
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

/// `--color`: whether the human report on stdout gets colors.
#[derive(Clone, Copy, ValueEnum, Default, PartialEq, Eq, Debug)]
pub enum ColorWhen {
    /// On a terminal (TERM not dumb); NO_COLOR (non-empty) turns colors off, else
    /// CLICOLOR_FORCE (non-empty) turns them on even in a pipe; CLICOLOR=0 off
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    /// Whether the human text written to `dest` (stdout when `None`) is colored: never
    /// in a file; on stdout as `--color` says, `auto` deciding by the terminal and the
    /// environment as anstream does (NO_COLOR, CLICOLOR, CLICOLOR_FORCE, TERM).
    pub fn applies(self, dest: Option<&Path>) -> bool {
        if dest.is_some() {
            return false;
        }
        match self {
            ColorWhen::Never => false,
            ColorWhen::Always => true,
            ColorWhen::Auto => !matches!(
                anstream::AutoStream::choice(&std::io::stdout()),
                anstream::ColorChoice::Never
            ),
        }
    }
}

/// Whether a human report written to `dest` (stdout when `None`) gets colors: `--color
/// auto` unless `no_color` (the older `--no-color`).
pub fn want_color(dest: Option<&Path>, no_color: bool) -> bool {
    let when = if no_color {
        ColorWhen::Never
    } else {
        ColorWhen::Auto
    };
    when.applies(dest)
}

/// One `-o`/`--output`: a file for the `--format` report, or `FORMAT=FILE`.
#[derive(Clone, Debug)]
pub struct Output {
    /// `None`: the `--format` report.
    pub format: Option<Format>,
    pub path: PathBuf,
}

/// Parse `FILE` or `FORMAT=FILE` (`junit=report.xml`). A word before `=` that is not a
/// format name is part of a file name (`a=b.json`).
pub fn parse_output(s: &str) -> Result<Output, String> {
    if s.is_empty() {
        return Err("an empty file name".into());
    }
    if let Some((name, path)) = s.split_once('=') {
        if let Ok(format) = Format::from_str(name, true) {
            if path.is_empty() {
                return Err(format!("`{s}`: no file after `{name}=`"));
            }
            return Ok(Output {
                format: Some(format),
                path: path.into(),
            });
        }
    }
    Ok(Output {
        format: None,
        path: s.into(),
    })
}

/// How a report is written: `--format` (to stdout, or to the one plain `-o FILE`),
/// further formats to files (`-o junit=FILE`, repeatable), and `--color`.
#[derive(clap::Args, Clone)]
pub struct OutputArgs {
    /// Report format (stdout, or the plain `-o FILE`).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the --format report to FILE instead of stdout; `FORMAT=FILE` writes that
    /// format to FILE as well, from the same run (repeatable: `-o junit=r.xml -o json=r.json`).
    #[arg(long, short, value_name = "[FORMAT=]FILE", value_parser = parse_output)]
    pub output: Vec<Output>,
    /// Color the human report on stdout.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,
    /// The same as --color never.
    #[arg(long)]
    pub no_color: bool,
}

impl OutputArgs {
    /// The file the `--format` report goes to (stdout when `None`).
    pub fn main_dest(&self) -> Option<&Path> {
        self.output
            .iter()
            .find(|o| o.format.is_none())
            .map(|o| o.path.as_path())
    }

    /// Check every destination before any work starts (usage errors, exit 2): at most
    /// one plain `-o FILE`, no file named twice, each folder exists and is writable.
    pub fn check(&self) -> Result<()> {
        if self.output.iter().filter(|o| o.format.is_none()).count() > 1 {
            return Err(UsageError(
                "-o: more than one plain FILE; name the others' formats (`-o junit=FILE`)".into(),
            )
            .into());
        }
        let mut seen = std::collections::HashSet::new();
        for o in &self.output {
            if !seen.insert(&o.path) {
                return Err(UsageError(format!(
                    "-o: {} is named twice; each report needs its own file",
                    o.path.display()
                ))
                .into());
            }
            check_output(Some(&o.path))?;
        }
        Ok(())
    }

    fn color(&self, dest: Option<&Path>) -> bool {
        if self.no_color {
            false
        } else {
            self.color.applies(dest)
        }
    }

    /// Write `report` to every destination: the `--format` one (stdout unless a plain
    /// `-o FILE`) and each `FORMAT=FILE`. Returns the report's exit status.
    pub fn emit(&self, report: &Report, rubric: Option<&Rubric>) -> Result<i32> {
        let main = self.main_dest();
        let code = emit(report, rubric, self.format, main, self.color(main))?;
        for o in self.output.iter().filter(|o| o.format.is_some()) {
            let format = o.format.unwrap_or(self.format);
            emit(report, rubric, format, Some(&o.path), false)?;
        }
        Ok(code)
    }

    /// Write `report` only to the files asked for (none to stdout): for a run that ends
    /// in a usage error after its report was made (a Gradescope results.json must exist).
    pub fn emit_to_files(&self, report: &Report, rubric: Option<&Rubric>) -> Result<()> {
        for o in &self.output {
            emit(
                report,
                rubric,
                o.format.unwrap_or(self.format),
                Some(&o.path),
                false,
            )?;
        }
        Ok(())
    }
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
    // A control run's test cases are its controls: a detected one is not a red failure
    // in a CI system's view (the JSON and the human table keep the properties' verdicts).
    if report.is_control_run() && !matches!(format, Format::Json | Format::Human) {
        report = report.control_view();
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

fn unwritten(e: std::io::Error, what: &str) -> OutputError {
    OutputError(format!(
        "{what}: {}; the run's verdicts are lost, make room or choose another -o",
        nsconform_core::kit::io_errno(&e)
    ))
}

fn write_now(dest: Option<&Path>, text: &str, what: &str) -> Result<()> {
    match dest {
        Some(path) if path.starts_with("/dev") || path.starts_with("/proc") => {
            std::fs::write(path, text)
                .map_err(|e| unwritten(e, &format!("write {what} to {}", path.display())))?
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
                .map_err(|e| unwritten(e, &format!("write {what} to {}", path.display())))?
        }
        None => print_out(text).map_err(|e| unwritten(e, &format!("print {what}")))?,
    }
    Ok(())
}
