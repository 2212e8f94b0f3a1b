//! `nsconform`: verify that Linux namespaces isolate what the man pages promise.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use nsconform_core::catalogue::{self, Control, Privilege};
use nsconform_core::env::Env;
use nsconform_core::harness::{self, RunOptions};
use nsconform_core::report::Report;
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
    /// Never color the human report (also honoured: NO_COLOR).
    #[arg(long)]
    no_color: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
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
    let mut props = harness::select(&args.selection).map_err(UsageError)?;
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
    let results = match args.control {
        None => harness::run_all(&props, &env, &opts, &|_| {}),
        Some(c) => props
            .iter()
            .map(|p| harness::run_property(p, &env, &opts, Some(c)))
            .collect(),
    };
    let report = Report::new(&env, results, start.elapsed().as_millis() as u64);
    let text = match args.format {
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
