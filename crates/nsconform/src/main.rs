//! `nsconform`: verify that Linux namespaces isolate what the man pages promise.
//!
//! The same executable is the probe: named `nsconform-probe` (a symlink or copy), or with
//! the hidden first argument `__probe`, it runs `nsconform_core`'s probe instead of the
//! command line, so that one file copied anywhere runs the catalogue.

mod cmd;

use clap::{Parser, Subcommand};
use cmd::{
    check_config, cleanup, diff, explain, grade, list, report, run, vm, OutputError, UsageError,
};
use nsconform_core::harness::{PROBE_ENV, PROBE_NAME, PROBE_SUBCOMMAND};
use nsconform_core::outcome::ExitStatus;
use std::ffi::OsString;
use std::path::Path;

#[derive(Parser)]
#[command(
    name = "nsconform",
    version,
    about = "Conformance suite for Linux namespaces: checks that pid, uts, ipc, net, user, mnt, cgroup and time namespaces isolate what the man pages promise",
    after_help = cmd::after_help()
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the property catalogue (or a selection) on this kernel.
    #[command(after_help = cmd::after_help())]
    Run(run::RunArgs),
    /// List the property catalogue (or a selection: IDs, areas, globs).
    List(list::ListArgs),
    /// One property in full: statement, man page, prerequisites, controls, snapshots.
    Explain(explain::ExplainArgs),
    /// Render a saved JSON report again in any format (and to several files: `-o
    /// junit=r.xml -o tap=r.tap`), without running anything; exit status the report's own.
    #[command(after_help = cmd::after_help())]
    Report(report::ReportArgs),
    /// Print docs/properties.md, the property table generated from the catalogue.
    Docs,
    /// Compare two JSON reports (two kernels, or before/after): outcome, errno and
    /// observed-fact changes per property. Exit 0 when they agree, 1 when they differ.
    Diff(diff::DiffArgs),
    /// Run the suite inside a QEMU VM booting a chosen kernel (the host's root filesystem
    /// shared read-only over 9p) and bring the report and exit status back.
    #[command(after_help = vm::vm_help())]
    Vm(vm::VmArgs),
    /// Report the kernel options namespaces need and the knobs that change results,
    /// with the properties each one affects. Exit 1 when a required option is missing.
    CheckConfig(check_config::CheckConfigArgs),
    /// Grade a directory of submissions (one folder each): build each in parallel, run
    /// each as a subject, write one report per submission and a class summary.
    #[command(after_help = grade::GRADE_HELP)]
    Grade(grade::GradeArgs),
    /// Remove what runs killed with SIGKILL left on the host (scratch mounts and
    /// directories, message queues, cgroups, processes); one line per thing removed.
    #[command(after_help = cleanup::CLEANUP_HELP)]
    Cleanup(cleanup::CleanupArgs),
    /// The supervisor of one submission, started by `grade` (hidden).
    #[command(name = "__grade-one", hide = true)]
    GradeOne(grade::GradeOneArgs),
}

fn main() {
    // The probe first: before clap and before any thread exists (it must stay
    // single-threaded to create user namespaces, and checks `Threads: 1`).
    let in_probe = std::env::var_os(PROBE_ENV).is_some_and(|v| v == "1");
    if let Some(args) = probe_args(std::env::args_os(), in_probe) {
        probe(args);
    }
    let cli = Cli::parse();
    // Runs handle SIGINT/SIGTERM (everything undone, exit 130/143) and first remove what
    // dead runs left; still single-threaded here, as `start_session` needs.
    let session = match cli.command {
        Cmd::Run(_) | Cmd::Grade(_) | Cmd::GradeOne(_) => cleanup::start_session(),
        _ => None,
    };
    let code = match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            let text = format!("{e:#}");
            eprintln!(
                "nsconform: error: {}",
                nsconform_core::report::escape_for_terminal(&text)
            );
            if e.downcast_ref::<UsageError>().is_some() {
                ExitStatus::Usage.code()
            } else if e.downcast_ref::<OutputError>().is_some() {
                ExitStatus::Unwritten.code()
            } else {
                ExitStatus::Environment.code()
            }
        }
    };
    drop(session);
    // Not while a signal is being handled (that exits with 130/143 itself).
    nsconform_core::cleanup::exclusive(|| std::process::exit(code))
}

/// The probe's arguments when this process is the probe: argv[0]'s file name is
/// `nsconform-probe` (all other arguments), or the first argument is `__probe` (the
/// arguments after it), or the probe executed itself again (`in_probe`: `PROBE_ENV` is
/// set; all other arguments).
fn probe_args(mut argv: impl Iterator<Item = OsString>, in_probe: bool) -> Option<Vec<String>> {
    let argv0 = argv.next()?;
    let lossy = |a: OsString| a.to_string_lossy().into_owned();
    if Path::new(&argv0)
        .file_name()
        .is_some_and(|n| n == PROBE_NAME)
    {
        return Some(argv.map(lossy).collect());
    }
    let mut rest = argv.peekable();
    if rest.next_if(|a| a == PROBE_SUBCOMMAND).is_some() || in_probe {
        return Some(rest.map(lossy).collect());
    }
    None
}

/// Become the probe; never returns.
fn probe(args: Vec<String>) -> ! {
    nsconform_core::probe_main_with(args)
}

fn dispatch(command: Cmd) -> anyhow::Result<i32> {
    match command {
        Cmd::Run(args) => run::run(args),
        Cmd::List(args) => list::run(args),
        Cmd::Report(args) => report::run(args),
        Cmd::Explain(args) => explain::run(args),
        Cmd::Docs => cmd::docs::run(),
        Cmd::Diff(args) => diff::run(args),
        Cmd::Vm(args) => vm::run(args),
        Cmd::CheckConfig(args) => check_config::run(args),
        Cmd::Grade(args) => grade::run(args),
        Cmd::Cleanup(args) => cleanup::run(args),
        Cmd::GradeOne(args) => grade::grade_one(args),
    }
}

#[cfg(test)]
mod tests {
    use super::{probe_args, Cli, Cmd};
    use clap::Parser;

    /// Every example command of `--help` and of the README parses, as nsconform would
    /// take it (`vm`'s arguments after `--` included): a documented example that is
    /// refused is a bug.
    #[test]
    fn every_documented_example_is_accepted() {
        let readme = include_str!("../../../README.md");
        let mut examples: Vec<String> = vm_examples();
        let mut in_code = false;
        for line in readme.lines() {
            if line.starts_with("```") {
                in_code = !in_code;
                continue;
            }
            let l = line.trim_start();
            // Synopsis lines (`[SELECTION...]`, `human|json`) describe, they are no example.
            if in_code && l.starts_with("nsconform ") && !l.contains('[') && !l.contains('|') {
                examples.push(l.to_string());
            }
        }
        assert!(examples.len() > 10, "{examples:?}");
        for ex in &examples {
            let ex = ex.split(" # ").next().unwrap_or(ex);
            for one in ex.split("&&") {
                let argv = nsconform_core::subject::split_command(one.trim())
                    .unwrap_or_else(|e| panic!("`{one}`: {e}"));
                match Cli::try_parse_from(&argv) {
                    Ok(Cli {
                        command: Cmd::Vm(v),
                    }) => super::vm::check_run_args(&v.run_args)
                        .unwrap_or_else(|e| panic!("`{one}`: {e}")),
                    Ok(_) => {}
                    Err(e) => panic!("`{one}` is refused: {e}"),
                }
            }
        }
    }

    fn vm_examples() -> Vec<String> {
        super::vm::vm_help()
            .lines()
            .map(str::trim_start)
            .filter(|l| l.starts_with("nsconform "))
            .map(str::to_string)
            .collect()
    }

    fn args(v: &[&str]) -> Option<Vec<String>> {
        probe_args(v.iter().map(Into::into), false)
    }

    #[test]
    fn the_probe_is_entered_by_name_or_subcommand() {
        assert_eq!(
            args(&["/x/nsconform-probe", "run", "{}"]),
            Some(vec!["run".into(), "{}".into()])
        );
        assert_eq!(args(&["nsconform-probe"]), Some(vec![]));
        assert_eq!(
            args(&["/x/nsconform", "__probe", "subject", "--report-fd", "3"]),
            Some(vec!["subject".into(), "--report-fd".into(), "3".into()])
        );
        assert_eq!(args(&["nsconform", "run", "__probe"]), None);
        assert_eq!(args(&["nsconform"]), None);
        assert_eq!(args(&["/x/nsconform-probe2", "view"]), None);
        // Executed again by the probe itself (PROBE_ENV set): the plain probe argv.
        assert_eq!(
            probe_args(["/x/nsconform", "run", "{}"].iter().map(Into::into), true),
            Some(vec!["run".into(), "{}".into()])
        );
    }
}
