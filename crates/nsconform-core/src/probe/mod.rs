//! The probe: the single-threaded program that does all namespace work.
//!
//! libtest runs every `#[test]` on a worker thread, and `unshare(CLONE_NEWUSER)` or
//! `setns()` into a user or mount namespace fails with `EINVAL` in a multithreaded
//! process (unshare(2), setns(2)). So the harness never unshares itself: it starts the
//! `nsconform-probe` binary, which checks it is single-threaded, builds the namespaces a
//! [`Launch`] asks for, forks, and runs a property's inside half in the child. Everything
//! it says goes to stdout as one JSON object per line (see [`Message`]).

pub mod fault;
mod launch;
pub mod observe;
pub mod subject;
pub mod sys;
pub mod view;

pub use launch::{write_root_map, Call, Control, Launch};
pub use sys::{errno_name, StepError, StepExt};

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

/// The inside half of a check: runs in the probe's forked child, inside the namespaces
/// the launcher made, single-threaded. Returns the facts it saw as JSON.
pub type InsideFn = fn(&Inside) -> Result<serde_json::Value, StepError>;

/// How the probe finds a property's inside half by ID (the catalogue, above this layer,
/// provides it).
pub type Lookup = fn(&str) -> Option<InsideFn>;

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

    /// The arguments as the property's own typed struct.
    pub fn args<T: serde::de::DeserializeOwned>(&self) -> Result<T, StepError> {
        T::deserialize(&self.args)
            .map_err(|e| StepError::new("read the property's arguments", None, e.to_string()))
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
    nsconform-probe preflight [--as UID:GID] [--rootless]
                                           try to create each namespace type, report errnos
    nsconform-probe observe '<json>'       enter a subject probe's namespaces and act there
    nsconform-probe subject [--report-fd N] [--nonce X]
                                           run inside a subject: request and report on fd N (3)
    nsconform-probe --help

Output: one JSON object per line on stdout (subject: one message on fd N).
Exit status: 0 done, 1 a step failed, 2 usage error, 4 no report channel.";

/// Entry point of the probe with its arguments (after the program name, or after
/// `__probe`); `lookup` finds a property's inside half.
pub fn main_with(args: Vec<String>, lookup: Lookup) -> ! {
    match args.first().map(String::as_str) {
        Some("run") if args.len() == 2 => {
            let req: Request = match serde_json::from_str(&args[1]) {
                Ok(r) => r,
                Err(e) => usage_error(&format!("bad request JSON: {e}")),
            };
            let Some(inside) = lookup(&req.property) else {
                usage_error(&format!(
                    "property `{}` is unknown or has no inside half",
                    req.property
                ))
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
        Some("observe") if args.len() == 2 => observe::main(&args[1]),
        Some("preflight") => {
            let mut rootless = false;
            let mut drop_to = None;
            let mut rest = args[1..].iter();
            while let Some(a) = rest.next() {
                match a.as_str() {
                    "--rootless" => rootless = true,
                    "--as" => {
                        let ids = rest.next().and_then(|v| v.split_once(':'));
                        match ids.map(|(u, g)| (u.parse(), g.parse())) {
                            Some((Ok(u), Ok(g))) => drop_to = Some((u, g)),
                            _ => usage_error("preflight --as takes UID:GID"),
                        }
                    }
                    _ => usage_error("expected `preflight [--as UID:GID] [--rootless]`"),
                }
            }
            emit(&Message::Report {
                facts: serde_json::to_value(preflight(drop_to, rootless)).expect("serializes"),
            });
            std::process::exit(0)
        }
        Some("subject") => {
            // `--nonce X` marks the process for the harness (it reads our command line
            // from outside); it also frames a report sent on stdout.
            let mut fd = Some(3);
            let mut nonce = String::new();
            let mut rest = args[1..].iter();
            while let Some(a) = rest.next() {
                match (a.as_str(), rest.next()) {
                    ("--report-fd", Some(n)) => fd = n.parse().ok(),
                    ("--nonce", Some(n)) => nonce = n.clone(),
                    _ => fd = None,
                }
            }
            match fd {
                Some(fd) => subject::main(fd, &nonce),
                None => usage_error("expected `subject [--report-fd N] [--nonce X]`"),
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

/// Try to create each namespace type in a forked child, as the checks will: after
/// dropping to `drop_to` (uid, gid), and inside a new user namespace when `rootless`
/// (the harness runs unprivileged, or not in the initial user namespace) or not root;
/// `None` = it worked, else the errno name.
pub fn preflight(
    drop_to: Option<(u32, u32)>,
    rootless: bool,
) -> std::collections::BTreeMap<String, Option<String>> {
    use nix::sched::{unshare, CloneFlags};
    use nix::unistd::{Gid, Uid};
    let mut out = std::collections::BTreeMap::new();
    for row in crate::ns::TABLE {
        let (name, flag) = (row.name, row.flag);
        // SAFETY: the probe is single-threaded.
        let res = match unsafe { nix::unistd::fork() } {
            Ok(nix::unistd::ForkResult::Child) => {
                let mut r = Ok(());
                if let Some((uid, gid)) = drop_to {
                    let (u, g) = (Uid::from_raw(uid), Gid::from_raw(gid));
                    r = nix::unistd::setgroups(&[])
                        .and_then(|()| nix::unistd::setresgid(g, g, g))
                        .and_then(|()| nix::unistd::setresuid(u, u, u));
                }
                let root = nix::unistd::geteuid().is_root();
                if (rootless || !root) && flag != libc::CLONE_NEWUSER {
                    r = r.and_then(|()| unshare(CloneFlags::CLONE_NEWUSER));
                }
                let r = r.and_then(|()| unshare(CloneFlags::from_bits_retain(flag)));
                sys::exit_now(r.err().map_or(0, |e| e as i32))
            }
            Ok(nix::unistd::ForkResult::Parent { child }) => {
                match nix::sys::wait::waitpid(child, None) {
                    Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => None,
                    Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => {
                        Some(errno_name(nix::errno::Errno::from_raw(code)))
                    }
                    Ok(nix::sys::wait::WaitStatus::Signaled(_, sig, _)) => {
                        Some(format!("the trial child was killed by {}", sig.as_str()))
                    }
                    Ok(_) => Some("the trial child ended without an exit status".into()),
                    Err(e) => Some(format!("waitpid: {}", errno_name(e))),
                }
            }
            Err(e) => Some(errno_name(e)),
        };
        out.insert(name.to_string(), res);
    }
    out
}
