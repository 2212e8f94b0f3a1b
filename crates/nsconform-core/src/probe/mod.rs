//! The probe: the single-threaded program that does all namespace work.
//!
//! libtest runs every `#[test]` on a worker thread, and `unshare(CLONE_NEWUSER)` or
//! `setns()` into a user or mount namespace fails with `EINVAL` in a multithreaded
//! process (unshare(2), setns(2)). So the harness never unshares itself: it starts the
//! `nsconform-probe` binary, which checks it is single-threaded, builds the namespaces a
//! [`Launch`] asks for, forks, and runs a property's inside half in the child. Everything
//! it says goes to stdout as one JSON object per line (see [`Message`]).

mod launch;
pub mod subject;
pub mod sys;
pub mod view;

pub use launch::{write_root_map, Launch};
pub use sys::{errno_name, StepError, StepExt};

use crate::catalogue;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What the harness asks the probe to do with `nsconform-probe run '<json>'`.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Request {
    /// Property ID whose inside half runs in the child.
    pub property: String,
    pub launch: Launch,
    /// Property-specific arguments (e.g. the hostname to set).
    #[serde(default)]
    pub args: serde_json::Value,
}

/// One line of probe output.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Message {
    /// The launcher forked the inside process; `pid` is its PID in the launcher's PID
    /// namespace (the host's, for the built-in launcher).
    Spawned { pid: i32 },
    /// The inside half finished; `facts` is what it saw.
    Report { facts: serde_json::Value },
    /// A step failed; the run produced no facts.
    Error(StepError),
}

/// What the inside half of a check gets: the launch it runs under and its arguments.
#[derive(Debug)]
pub struct Inside {
    pub launch: Launch,
    pub args: serde_json::Value,
    /// Real uid/gid of the launcher before any user namespace (the "outside" ids).
    pub outer_uid: u32,
    pub outer_gid: u32,
}

impl Inside {
    /// A string argument, or a step error naming the missing key.
    pub fn arg_str(&self, key: &str) -> Result<&str, StepError> {
        self.args
            .get(key)
            .and_then(|v| v.as_str())
            .ok_or_else(|| StepError::new(format!("read argument `{key}`"), None, "missing"))
    }

    /// The scratch directory the harness made for this run.
    pub fn workdir(&self) -> Result<PathBuf, StepError> {
        self.launch
            .workdir
            .clone()
            .map(PathBuf::from)
            .ok_or_else(|| StepError::new("find the scratch directory", None, "none given"))
    }
}

/// Write one message as a single line to stdout, unbuffered (the probe forks, so nothing
/// may sit in a userspace buffer).
pub fn emit(msg: &Message) {
    let mut line = serde_json::to_vec(msg).expect("messages serialize");
    line.push(b'\n');
    sys::write_all(libc::STDOUT_FILENO, &line);
}

const USAGE: &str = "\
nsconform-probe: the single-threaded helper of nsconform (do not run by hand)

USAGE:
    nsconform-probe run '<request json>'   build the namespaces and run one property's inside half
    nsconform-probe view                   print what this process sees
    nsconform-probe preflight              try to create each namespace type, report errnos
    nsconform-probe subject [--report-fd N] run inside a subject: request and report on fd N (3)
    nsconform-probe --help

Output: one JSON object per line on stdout (subject: one message on fd N).
Exit status: 0 done, 1 a step failed, 2 usage error, 4 no report channel.";

/// Entry point of the `nsconform-probe` binary.
pub fn main() -> ! {
    main_with(std::env::args().skip(1).collect())
}

/// The probe with these arguments (`nsconform __probe ARGS...`).
pub fn main_with(args: Vec<String>) -> ! {
    match args.first().map(String::as_str) {
        Some("run") if args.len() == 2 => {
            let req: Request = match serde_json::from_str(&args[1]) {
                Ok(r) => r,
                Err(e) => usage_error(&format!("bad request JSON: {e}")),
            };
            let Some(property) = catalogue::find(&req.property) else {
                usage_error(&format!("unknown property `{}`", req.property))
            };
            let Some(inside) = property.inside else {
                usage_error(&format!("property {} has no inside half", property.id))
            };
            launch::run(req, inside)
        }
        Some("view") => {
            let facts = view::View::gather();
            emit(&Message::Report {
                facts: serde_json::to_value(facts).expect("view serializes"),
            });
            std::process::exit(0)
        }
        Some("preflight") => {
            emit(&Message::Report {
                facts: serde_json::to_value(preflight()).expect("serializes"),
            });
            std::process::exit(0)
        }
        Some("subject") => {
            let fd = match args.get(1..) {
                Some([flag, n]) if flag == "--report-fd" => n.parse().ok(),
                Some([]) => Some(3),
                _ => None,
            };
            match fd {
                Some(fd) => subject::main(fd),
                None => usage_error("expected `subject [--report-fd N]`"),
            }
        }
        Some("--help" | "-h" | "help") => {
            println!("{USAGE}");
            std::process::exit(0)
        }
        _ => usage_error("expected `run '<json>'` or `view`"),
    }
}

fn usage_error(msg: &str) -> ! {
    eprintln!("nsconform-probe: {msg}\n\n{USAGE}");
    std::process::exit(2)
}

/// Namespace types and their clone flags, in `/proc/self/ns` names.
pub const NS_TYPES: [(&str, i32); 8] = [
    ("user", libc::CLONE_NEWUSER),
    ("pid", libc::CLONE_NEWPID),
    ("mnt", libc::CLONE_NEWNS),
    ("uts", libc::CLONE_NEWUTS),
    ("ipc", libc::CLONE_NEWIPC),
    ("net", libc::CLONE_NEWNET),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("time", libc::CLONE_NEWTIME),
];

/// Try to create each namespace type in a forked child (inside a new user namespace
/// when not root); `None` = it worked, else the errno name.
pub fn preflight() -> std::collections::BTreeMap<String, Option<String>> {
    use nix::sched::{unshare, CloneFlags};
    let root = nix::unistd::geteuid().is_root();
    let mut out = std::collections::BTreeMap::new();
    for (name, flag) in NS_TYPES {
        // SAFETY: the probe is single-threaded.
        let res = match unsafe { nix::unistd::fork() } {
            Ok(nix::unistd::ForkResult::Child) => {
                let mut r = Ok(());
                if !root && flag != libc::CLONE_NEWUSER {
                    r = unshare(CloneFlags::CLONE_NEWUSER);
                }
                let r = r.and_then(|()| unshare(CloneFlags::from_bits_retain(flag)));
                // SAFETY: leaving the forked child.
                unsafe { libc::_exit(r.err().map_or(0, |e| e as i32)) }
            }
            Ok(nix::unistd::ForkResult::Parent { child }) => {
                match nix::sys::wait::waitpid(child, None) {
                    Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => None,
                    Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => {
                        Some(errno_name(nix::errno::Errno::from_raw(code)))
                    }
                    other => Some(format!("{other:?}")),
                }
            }
            Err(e) => Some(errno_name(e)),
        };
        out.insert(name.to_string(), res);
    }
    out
}
