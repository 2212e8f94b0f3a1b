//! `nsconform cleanup`: remove what runs killed with SIGKILL (or a crash) left on the
//! host, and the start of every run (the same sweep, then signal handling).

use super::{write_to, ListFormat};
use anyhow::Result;
use nsconform_core::cleanup;

pub const CLEANUP_HELP: &str = "\
Removes what runs of nsconform that no longer exist left behind: their scratch tmpfs
mounts and directories, SysV and POSIX message queues, cgroups and processes, and a host
name left at a nsconform-* name. A live run's resources are never touched (its owner is
recognised by PID and start time). Prints one line per thing removed; every run does the
same when it starts.

Exit status:
  0  done (also when there was nothing to remove)";

#[derive(clap::Args)]
pub struct CleanupArgs {
    /// Output format: one line per thing removed, or {\"removed\": [...]}.
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    format: ListFormat,
}

pub fn run(args: CleanupArgs) -> Result<i32> {
    let removed = nsconform_core::contain::sweep_stale();
    let text = match args.format {
        ListFormat::Json => serde_json::json!({ "removed": removed }).to_string() + "\n",
        ListFormat::Human => removed.iter().map(|l| format!("{l}\n")).collect(),
    };
    if removed.is_empty() {
        eprintln!("nsconform: nothing left by dead runs");
    }
    write_to(None, &text, "the list")?;
    Ok(0)
}

/// What `run` and `grade` do first: handle SIGINT/SIGTERM (undo everything, exit
/// 130/143), remove what dead runs left (said on stderr), and hold the host names so a
/// signal or a later run puts them back. Call before any thread exists. The returned
/// value is released at the normal end.
pub fn start_session() -> Option<cleanup::Held> {
    if let Err(e) = cleanup::on_signals() {
        eprintln!(
            "nsconform: warning: cannot handle SIGINT/SIGTERM ({}); an interrupted run may \
             leave scratch behind: run `nsconform cleanup` afterwards",
            nsconform_core::kit::io_errno(&e)
        );
    }
    for line in nsconform_core::contain::sweep_stale() {
        eprintln!("nsconform: cleaned up after a dead run: {line}");
    }
    Some(cleanup::hold_host_names())
}
