//! Testing a *subject*: a program that creates namespaces (a student's container, a
//! runtime, unshare(1), bwrap) with the probe running inside it.
//!
//! The verdicts must be impossible for the subject to forge. The probe's report is only
//! accepted from the socket the harness handed the subject (fd 3), together with the
//! credentials the kernel attached to it (SO_PASSCRED, unix(7)); the sender must be a
//! descendant of the subject; and everything that can be checked from outside is read by
//! the harness itself from `/proc/<pid>/` of that sender: namespace inodes, NSpid, the
//! uid_map, its mount table, its /proc through `/proc/<pid>/root`, its interfaces through
//! `/proc/<pid>/net/dev`, and the host's hostname, mounts and IPC objects.

use crate::env::Env;
use crate::harness::{RunOptions, PROBE_NAME};
use crate::host;
use crate::host::HostIpcObjects;
use crate::mountinfo;
use crate::outcome::Verdict;
use crate::probe::subject::{SubjectReport, SubjectRequest};
use crate::run::PropertyResult;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The placeholder in a subject command that is replaced by the probe command.
pub const PROBE_PLACEHOLDER: &str = "{probe}";
/// In the subject command: this run's copy of the bundle (with `--bundle`), and a
/// container name of this run's (always: `lxc-execute -n {id}`, `podman --name {id}`).
pub const BUNDLE_PLACEHOLDER: &str = "{bundle}";
pub const ID_PLACEHOLDER: &str = "{id}";
/// The fd on which the subject's probe finds its report channel.
pub const REPORT_FD: i32 = 3;

/// How to run a subject.
#[derive(Clone, Debug)]
pub struct SubjectSpec {
    /// The command, already split into words; `{probe}` is replaced by the probe command
    /// (appended when absent).
    pub argv: Vec<String>,
    pub timeout: Duration,
    /// Copy the probe into this root filesystem and refer to it as `/nsconform-probe`
    /// (for runtimes that pivot_root into a rootfs).
    pub probe_into: Option<PathBuf>,
    /// An OCI bundle whose `config.json` has `{probe}` in `process.args`: the probe goes
    /// into its rootfs, `{bundle}` in the command names this run's copy of the bundle.
    pub bundle: Option<PathBuf>,
    /// Working directory of the subject.
    pub cwd: Option<PathBuf>,
    /// Limits of the subject's cgroup.
    pub limits: crate::contain::Limits,
}

pub use crate::observation::{Outside, SubjectObservation};
pub use crate::spec::SubjectFn;

/// How a subject run ended, before any property is judged.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
#[serde(tag = "ended", rename_all = "snake_case")]
pub enum Ending {
    /// The probe reported; `exit` is the subject's exit status.
    Reported { exit: Option<i32> },
    /// The subject exited without a (genuine) report from the probe.
    NoReport { exit: Option<i32>, why: String },
    /// The subject could not be started (missing, not executable).
    NotStarted { why: String },
    /// The deadline passed; the whole process tree was killed.
    TimedOut { after_ms: u64 },
}

/// The result of running a subject.
#[derive(Serialize, Deserialize, Clone, Debug, schemars::JsonSchema)]
pub struct SubjectRun {
    pub command: Vec<String>,
    pub ending: Ending,
    /// How the harness reached the probe (absent when it did not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    pub stdout_tail: String,
    pub stderr_tail: String,
    pub duration_ms: u64,
    #[serde(skip)]
    pub observation: Option<SubjectObservation>,
    /// Where the subject ran: its cgroup and limits (see the contain module).
    #[serde(default)]
    pub contained_in: String,
    /// Host state the harness put back: what killed runs left, and each change of
    /// `host_changes` that was restored.
    pub restored: Vec<String>,
    /// Every change of the host found after the subject, attributed to it or not, and
    /// whether it was put back ([`crate::hostchange`]).
    #[serde(default)]
    pub host_changes: Vec<crate::hostchange::HostFinding>,
}

/// Split a subject command line like a shell would (quotes, backslashes), without
/// running a shell.
pub fn split_command(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unterminated ' quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => cur.push(c),
                            None => return Err("trailing backslash".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("unterminated \" quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.push(chars.next().ok_or("trailing backslash")?);
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    if words.is_empty() {
        return Err("the subject command is empty".into());
    }
    Ok(words)
}

/// The probe's command inside a subject: `probe` (the program and its leading
/// arguments) followed by `subject --report-fd 3 --nonce <nonce>`.
pub fn probe_command(probe: &[String], nonce: &str) -> Vec<String> {
    probe
        .iter()
        .cloned()
        .chain([
            "subject".into(),
            "--report-fd".into(),
            REPORT_FD.to_string(),
            "--nonce".into(),
            nonce.to_string(),
        ])
        .collect()
}

/// The root filesystem of an OCI bundle: `root.path` of its `config.json`, relative to
/// the bundle (runtime-spec `config.md`).
pub fn bundle_rootfs(bundle: &Path) -> Result<PathBuf, String> {
    let config = read_bundle_config(bundle)?;
    let root = config
        .pointer("/root/path")
        .and_then(|v| v.as_str())
        .ok_or_else(|| {
            format!(
                "{}/config.json has no root.path: it is not an OCI bundle config",
                bundle.display()
            )
        })?;
    let root = bundle.join(root);
    if !root.is_dir() {
        return Err(format!(
            "the bundle's root filesystem {} is not a directory",
            root.display()
        ));
    }
    Ok(root)
}

/// Check an OCI bundle before anything runs: a config with a rootfs directory and
/// `{probe}` in `process.args`.
pub fn check_bundle(bundle: &Path) -> Result<(), String> {
    bundle_rootfs(bundle)?;
    let config = read_bundle_config(bundle)?;
    bundle_args_have_probe(&config)
}

fn bundle_args_have_probe(config: &serde_json::Value) -> Result<(), String> {
    let args = config
        .pointer("/process/args")
        .and_then(|a| a.as_array())
        .ok_or("the bundle's config.json has no process.args")?;
    if args.iter().any(|a| a.as_str() == Some(PROBE_PLACEHOLDER)) {
        Ok(())
    } else {
        Err(format!(
            "the bundle's process.args has no \"{PROBE_PLACEHOLDER}\" word: put it where the \
             container's command goes, e.g. \"args\": [\"{PROBE_PLACEHOLDER}\"]"
        ))
    }
}

fn read_bundle_config(bundle: &Path) -> Result<serde_json::Value, String> {
    let path = bundle.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "read the OCI bundle config {}: {}",
            path.display(),
            crate::kit::fact::io_errno(&e)
        )
    })?;
    serde_json::from_str(&text).map_err(|e| format!("parse {}: {e}", path.display()))
}

/// Write this run's copy of the OCI bundle `bundle` into `dir`: its `config.json` with
/// every `{probe}` word of `process.args` replaced by the probe command and `root.path`
/// made absolute (the rootfs stays where it is). `{bundle}` in the subject command names
/// `dir`, so the user's bundle is never modified and concurrent runs do not collide.
pub fn prepare_bundle(bundle: &Path, dir: &Path, probe_cmd: &[String]) -> Result<(), String> {
    let mut config = read_bundle_config(bundle)?;
    let root = bundle_rootfs(bundle)?.canonicalize().map_err(|e| {
        format!(
            "resolve the bundle's rootfs: {}",
            crate::kit::fact::io_errno(&e)
        )
    })?;
    config["root"]["path"] = serde_json::Value::String(root.display().to_string());
    bundle_args_have_probe(&config)?;
    let args = config
        .pointer("/process/args")
        .and_then(|a| a.as_array())
        .ok_or("the bundle's config.json has no process.args")?;
    let expanded: Vec<serde_json::Value> = args
        .iter()
        .flat_map(|a| match a.as_str() {
            Some(PROBE_PLACEHOLDER) => probe_cmd
                .iter()
                .map(|w| serde_json::Value::String(w.clone()))
                .collect(),
            _ => vec![a.clone()],
        })
        .collect();
    config["process"]["args"] = serde_json::Value::Array(expanded);
    std::fs::create_dir(dir).map_err(|e| {
        format!(
            "create {}: {}",
            dir.display(),
            crate::kit::fact::io_errno(&e)
        )
    })?;
    let text = serde_json::to_string_pretty(&config).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("config.json"), text).map_err(|e| {
        format!(
            "write {}/config.json: {}",
            dir.display(),
            crate::kit::fact::io_errno(&e)
        )
    })
}

fn remove_probe_dir(dir: &Option<PathBuf>) {
    if let Some(d) = dir {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// The subject's argv with `{probe}` replaced by the probe command (or appended):
/// `probe` is the program and its leading arguments (`/path/nsconform __probe`, or
/// `/nsconform-probe`), followed here by `subject --report-fd 3 --nonce <nonce>`.
pub fn expand(argv: &[String], probe: &[String], nonce: &str) -> Vec<String> {
    let probe_cmd = probe_command(probe, nonce);
    let mut out = Vec::new();
    let mut found = false;
    for w in argv {
        if w == PROBE_PLACEHOLDER {
            out.extend(probe_cmd.iter().cloned());
            found = true;
        } else if w.contains(PROBE_PLACEHOLDER) {
            out.push(w.replace(PROBE_PLACEHOLDER, &probe_cmd.join(" ")));
            found = true;
        } else {
            out.push(w.clone());
        }
    }
    if !found {
        out.extend(probe_cmd);
    }
    out
}

/// Whether an ELF executable is statically linked (has no PT_INTERP program header).
pub fn is_static_elf(path: &Path) -> bool {
    let Ok(b) = std::fs::read(path) else {
        return false;
    };
    if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 {
        return false; // not a 64-bit ELF
    }
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes")) as usize;
    let (phoff, phentsize, phnum) = (u64_at(32), u16_at(54), u16_at(56));
    (0..phnum).all(|i| {
        let o = phoff + i * phentsize;
        o + 4 <= b.len() && u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes")) != 3
    })
}

/// A statically linked `nsconform` to copy into a foreign root filesystem:
/// `$NSCONFORM_STATIC_PROBE`, the probe program itself (by default the running
/// `nsconform`) when it is static, or the one `ci/build-static` builds under
/// `target/static/<target>/<profile>/nsconform`.
pub fn locate_static_probe(probe: &Path) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NSCONFORM_STATIC_PROBE") {
        return Some(PathBuf::from(p)).filter(|p| is_static_elf(p));
    }
    if is_static_elf(probe) {
        return Some(probe.to_path_buf());
    }
    let dir = probe.parent()?;
    let profile = dir.file_name()?;
    let built = dir
        .parent()?
        .join("static")
        .join(std::env::consts::ARCH.to_string() + "-unknown-linux-gnu")
        .join(profile)
        .join("nsconform");
    is_static_elf(&built).then_some(built)
}

/// Whether process `pid` carries our tag in its environment (inherited by everything
/// the subject starts, unless it clears its environment).
fn has_tag(pid: i32, tag: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|env| env.split(|b| *b == 0).any(|kv| kv == tag.as_bytes()))
        .unwrap_or(false)
}

/// Kill `root`'s process group and every process of its tree, including orphans that
/// escaped with setsid() and were reparented to us (we are a child subreaper, and they
/// carry `tag` in their environment), and reap them. Children of this process that are
/// not the subject's (other runs, other threads) are left alone.
fn kill_tree(root: i32, tag: &str) {
    use nix::sys::signal::{kill, killpg, Signal};
    use nix::unistd::Pid;
    let _ = killpg(Pid::from_raw(root), Signal::SIGKILL);
    for _ in 0..500 {
        let mut frontier: Vec<i32> = crate::kit::proc::children("self")
            .into_iter()
            .filter(|&c| c == root || has_tag(c, tag))
            .collect();
        let mut victims = Vec::new();
        while let Some(p) = frontier.pop() {
            victims.push(p);
            frontier.extend(crate::kit::proc::children(&p.to_string()));
        }
        if victims.is_empty() {
            return;
        }
        for v in &victims {
            let _ = kill(Pid::from_raw(*v), Signal::SIGKILL);
        }
        for v in &victims {
            let _ = nix::sys::wait::waitpid(
                Pid::from_raw(*v),
                Some(nix::sys::wait::WaitPidFlag::WNOHANG),
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn recv_with_creds(fd: &OwnedFd, deadline: Instant) -> Result<Option<(Vec<u8>, i32)>, String> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("timeout".into());
        }
        let mut fds = [PollFd::new(std::os::fd::AsFd::as_fd(fd), PollFlags::POLLIN)];
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        match poll(
            &mut fds,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        ) {
            Ok(0) => continue,
            Ok(_) => break,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(format!("poll the report socket: {e}")),
        }
    }
    let mut buf = vec![0u8; 4 << 20];
    let mut cmsg = nix::cmsg_space!(nix::sys::socket::UnixCredentials);
    let (n, pid) = {
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let msg = match recvmsg::<()>(fd.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty())
        {
            Ok(m) => m,
            // The last holder of the other end went away without sending anything.
            Err(nix::errno::Errno::ECONNRESET) => return Ok(None),
            Err(e) => return Err(format!("receive the report: {e}")),
        };
        let n = msg.bytes;
        if n == 0 {
            return Ok(None);
        }
        let mut pid = None;
        for c in msg
            .cmsgs()
            .map_err(|e| format!("read control messages: {e}"))?
        {
            if let ControlMessageOwned::ScmCredentials(cred) = c {
                pid = Some(cred.pid());
            }
        }
        (n, pid)
    };
    buf.truncate(n);
    match pid {
        Some(p) if p > 0 => Ok(Some((buf, p))),
        _ => Err("the report came without kernel credentials".into()),
    }
}

/// (st_dev, st_ino) of a file: how the kernel names the probe's executable.
fn file_id(path: &Path) -> Result<(u64, u64), String> {
    crate::kit::nsfd::dev_ino(&path.to_string_lossy()).map_err(|e| e.to_string())
}

/// 128 random bits as hex, for the probe's command line.
fn random_nonce() -> String {
    let mut b = [0u8; 16];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_ok();
    if !ok {
        // No /dev/urandom (a very bare chroot): time and PID still make it per-run.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        b = (t ^ (u128::from(std::process::id()) << 64)).to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Whether process `pid` is this run's probe, by kernel facts rather than by what it
/// sent: its executable is the probe file nsconform provided (device and inode of
/// `/proc/<pid>/exe`) and its command line carries this run's nonce. A subject that
/// names another process in forged SCM_CREDENTIALS, or hands fd 3 to a helper, fails.
fn identify(pid: i32, probe_file: (u64, u64), nonce: &str) -> Result<(), String> {
    let exe = file_id(Path::new(&format!("/proc/{pid}/exe")))
        .map_err(|e| format!("the process {pid} that sent the report cannot be inspected ({e})"))?;
    if exe != probe_file {
        return Err(format!(
            "the report came from process {pid}, whose executable is not the probe nsconform provided (a runtime that runs programs through a loader or emulator, such as proot, hides the probe from the kernel, so nothing it sends can be trusted)"
        ));
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let words: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let has_nonce = words
        .windows(2)
        .any(|w| w[0] == b"--nonce" && w[1] == nonce.as_bytes());
    if !has_nonce {
        return Err(format!(
            "the report came from process {pid}, a probe not started for this run (its command line lacks this run's nonce)"
        ));
    }
    Ok(())
}

/// How the harness reached the probe inside a subject.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// The report came on fd 3, from the process the kernel names as its sender, which
    /// runs the probe file with this run's nonce.
    Fd3,
    /// No fd 3 (the runtime closed it, or the probe is not our descendant): the probe was
    /// found from outside by its executable and nonce; its report came framed on stdout.
    Stdout,
    /// Found from outside as above, with no report of its own: judged from outside alone.
    OutsideOnly,
}

impl Transport {
    /// How a person reads it.
    pub fn describe(self) -> &'static str {
        match self {
            Transport::Fd3 => "report on fd 3",
            Transport::Stdout => {
                "found from outside by executable and nonce; its report came on stdout"
            }
            Transport::OutsideOnly => {
                "found from outside by executable and nonce; judged from outside alone"
            }
        }
    }
}

/// Whether `hay` contains `needle`.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Every process on this machine that runs this run's probe: its command line has
/// `--nonce <nonce>` and its executable is the probe file ([`identify`]). Found from
/// outside, so it works whatever the runtime does with fd 3 or whoever is the parent
/// (podman's conmon double-forks; nspawn and lxc move the payload to cgroups of
/// their own).
fn find_probes(probe_file: (u64, u64), nonce: &str) -> Vec<i32> {
    let needle = format!("--nonce\0{nonce}");
    let me = std::process::id() as i32;
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&p| p != me)
        .filter(|&p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| contains(&c, needle.as_bytes()))
        })
        .filter(|&p| identify(p, probe_file, nonce).is_ok())
        .collect()
}

/// Whether process `pid` holds our report socket (inode `ino`) as its fd 3.
fn holds_report_socket(pid: i32, ino: u64) -> bool {
    std::fs::read_link(format!("/proc/{pid}/fd/{REPORT_FD}"))
        .is_ok_and(|l| l.as_os_str() == format!("socket:[{ino}]").as_str())
}

/// Whether process `pid` has a handler for `sig` (the `SigCgt` mask of its status).
fn catches(pid: i32, sig: i32) -> Option<bool> {
    let st = crate::probe::sys::status(&pid.to_string()).ok()?;
    Some(st.sigcgt & (1u64 << (sig - 1)) != 0)
}

/// The probe's report framed on stdout (`nsconform-report <nonce> <json>`), if any.
/// Supplementary only: whoever holds the subject's stdout could have written it.
fn stdout_report(text: &str, nonce: &str) -> Option<SubjectReport> {
    let prefix = format!("{} {nonce} ", crate::probe::subject::STDOUT_FRAME);
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|json| serde_json::from_str(json).ok())
}

/// Sleep for `*step` (1 ms, doubling up to 16 ms): the scans stay cheap while the
/// probe starts, and answer within milliseconds once it runs.
fn back_off(step: &mut Duration) {
    std::thread::sleep(*step);
    *step = (*step * 2).min(Duration::from_millis(16));
}

/// What waiting for the probe gave.
enum Found {
    /// A report on fd 3 from a process identified as the probe (its PID).
    Report(Vec<u8>, i32),
    /// The probe, found from outside, without a report channel.
    Probe(i32),
    /// No probe: why.
    Nothing(String),
    TimedOut,
}

/// The exit status of a process as a shell shows it (128 + signal when killed).
fn exit_code(status: std::process::ExitStatus) -> i32 {
    status.code().unwrap_or_else(|| {
        128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)
    })
}

/// Wait for the probe until `deadline`: a report on the socket `ours` (inode
/// `socket_ino` on the subject's side), or a process found from outside that runs the
/// probe file with the nonce and does not hold the socket. The subject exiting ends the
/// wait once nothing of it is left in its cgroup (`exit` receives its status).
#[allow(clippy::too_many_arguments)]
fn find_probe(
    ours: &OwnedFd,
    socket_ino: u64,
    child: &mut std::process::Child,
    cg: &crate::contain::RunCgroup,
    probe_file: (u64, u64),
    nonce: &str,
    deadline: Instant,
    exit: &mut Option<i32>,
) -> Found {
    let mut socket_open = true;
    let mut step = Duration::from_millis(1);
    loop {
        if socket_open {
            let until = (Instant::now() + step).min(deadline);
            match recv_with_creds(ours, until) {
                Ok(Some((bytes, pid))) => {
                    return match identify(pid, probe_file, nonce) {
                        Ok(()) => Found::Report(bytes, pid),
                        Err(why) => Found::Nothing(why),
                    }
                }
                Ok(None) => socket_open = false,
                Err(e) if e == "timeout" => step = (step * 2).min(Duration::from_millis(16)),
                Err(e) => return Found::Nothing(e),
            }
        } else {
            back_off(&mut step);
        }
        let probes: Vec<i32> = find_probes(probe_file, nonce)
            .into_iter()
            .filter(|&p| !(socket_open && holds_report_socket(p, socket_ino)))
            .collect();
        match probes[..] {
            [] => {}
            [p] => return Found::Probe(p),
            _ => {
                return Found::Nothing(format!(
                    "{} processes run this run's probe (PIDs {}); a subject runs it once",
                    probes.len(),
                    probes
                        .iter()
                        .map(i32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
        }
        if exit.is_none() {
            if let Ok(Some(status)) = child.try_wait() {
                *exit = Some(exit_code(status));
            }
        }
        // Gone, and nothing of it left running that could still start the probe.
        if exit.is_some() && (!cg.active() || cg.pids().is_empty()) {
            return Found::Nothing(if socket_open {
                "the probe never ran: no process ran the probe nsconform provided with this \
                 run's nonce before the subject exited (is `{probe}` in the command, and does \
                 the subject exec it?)"
                    .into()
            } else {
                "the probe never ran: the subject exited, and no process ran the probe \
                 nsconform provided with this run's nonce (is `{probe}` in the command, and \
                 does the subject exec it?)"
                    .into()
            });
        }
        if Instant::now() >= deadline {
            return Found::TimedOut;
        }
    }
}

/// Run the observer ([`crate::probe::observe`]) against the probe `pid`: the harness's
/// own process enters the probe's namespaces and acts there.
fn observe(
    opts: &RunOptions,
    req: &crate::probe::observe::ObserveRequest,
    deadline: Instant,
) -> Result<crate::probe::observe::Observed, String> {
    let json = serde_json::to_string(req).map_err(|e| e.to_string())?;
    let mut child = opts
        .probe
        .command()
        .arg("observe")
        .arg(json)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("start the observer {}: {e}", opts.probe.program.display()))?;
    let pid = child.id() as i32;
    let out = crate::contain::capture(child.stdout.take().expect("piped"), 1 << 20);
    if !crate::contain::wait_exit_until(pid, deadline) {
        let _ = child.kill();
        let _ = child.wait();
        return Err("the observer did not finish in time".into());
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let text = out
        .recv_timeout(Duration::from_secs(2))
        .map(|c| c.text())
        .unwrap_or_default();
    serde_json::from_str(text.trim())
        .map_err(|e| format!("the observer ended ({status}) without a result ({e})"))
}

/// Whether the procfs mounted at the probe's `/proc` is one of the probe's own PID
/// namespace: its PID 1 is in that namespace (a procfs of the parent namespace shows
/// the host's init; a tmpfs with a directory `1` has no `1/ns/pid`).
fn proc_is_own_pidns(pid: i32) -> Option<bool> {
    use std::os::unix::fs::MetadataExt;
    let own = std::fs::metadata(format!("/proc/{pid}/ns/pid")).ok()?.ino();
    match std::fs::metadata(format!("/proc/{pid}/root/proc/1/ns/pid")) {
        Ok(m) => Some(m.ino() == own),
        Err(_) => Some(false),
    }
}

fn look_from_outside(pid: i32, req: &SubjectRequest) -> Outside {
    let mut ns_differs = BTreeMap::new();
    for kind in ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"] {
        if let (Ok(mine), Ok(theirs)) = (host::own_ns_inode(kind), host::ns_inode(pid, kind)) {
            ns_differs.insert(kind.to_string(), mine != theirs);
        }
    }
    let read = |p: String| std::fs::read_to_string(p).unwrap_or_default();
    let probe_root_proc = format!("/proc/{pid}/root/proc");
    // `self` does not resolve for a reader outside that procfs's PID namespace
    // (pid_namespaces(7)), so look for numeric entries instead.
    let listed = crate::probe::view::proc_pids(&probe_root_proc);
    let proc_pids = (!listed.is_empty()).then_some(listed);
    let netdev = read(format!("/proc/{pid}/net/dev"))
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next().map(|n| n.trim().to_string()))
        .collect();
    Outside {
        ns_differs,
        nspid: host::nspid(pid),
        proc_pids,
        uid_map: read(format!("/proc/{pid}/uid_map")),
        gid_map: read(format!("/proc/{pid}/gid_map")),
        marker_in_probe_mounts: mountinfo::read(&format!("/proc/{pid}/mountinfo"))
            .unwrap_or_default()
            .iter()
            .any(|m| m.source == req.marker),
        marker_on_host: host::mounts().iter().any(|m| m.source == req.marker),
        netdev,
        host_hostname_during: host::hostname(),
        host_domainname_during: host::domainname(),
        seen: None,
        seen_error: None,
        observer_marker_on_host: false,
        shared_with_host: crate::observation::shared_with_host(
            &mountinfo::read(&format!("/proc/{pid}/mountinfo")).unwrap_or_default(),
            &host::mounts(),
        ),
        proc_is_own_pidns: proc_is_own_pidns(pid),
    }
}

/// Run a subject once with the probe inside, look from outside, clean up.
pub fn run_subject(spec: &SubjectSpec, env: &Env, opts: &RunOptions) -> SubjectRun {
    let start = Instant::now();
    let mut restored = Vec::new();
    // Orphans of the subject (double fork, setsid) are reparented to us, so that the
    // cleanup finds every one of them.
    let _ = nix::sys::prctl::set_child_subreaper(true);
    let fail = |ending: Ending, restored: Vec<String>| SubjectRun {
        command: spec.argv.clone(),
        ending,
        transport: None,
        stdout_tail: String::new(),
        stderr_tail: String::new(),
        duration_ms: start.elapsed().as_millis() as u64,
        observation: None,
        contained_in: String::new(),
        restored,
        host_changes: Vec::new(),
    };

    let nonce = random_nonce();
    // Names of this run's own files: concurrent runs never share one.
    // (`nsconform-<pid>-<starttime>-<n>`: a dead run's are found by name and owner).
    let run_name = crate::cleanup::unique_name();
    // An OCI bundle: its rootfs receives the probe, and `{probe}` in `process.args`.
    let probe_into = match (&spec.bundle, &spec.probe_into) {
        (Some(b), None) => match bundle_rootfs(b) {
            Ok(r) => Some(r),
            Err(why) => return fail(Ending::NotStarted { why }, restored),
        },
        (_, p) => p.clone(),
    };
    // The probe command, or the static probe inside a root filesystem, in a directory
    // of this run's (`/.nsconform-<pid>-<n>/nsconform-probe`): named `nsconform-probe`,
    // it is the probe by its argv[0] alone.
    let mut probe_dir = None;
    let mut probe_copy = None;
    let (probe_words, probe_file) = match &probe_into {
        None => (opts.probe.words(), file_id(&opts.probe.program)),
        Some(root) => {
            let Some(static_probe) = locate_static_probe(&opts.probe.program) else {
                return fail(
                    Ending::NotStarted {
                        why: "a probe inside a root filesystem must be statically linked (a \
                              foreign root filesystem has no matching C library): build it \
                              with ci/build-static or point NSCONFORM_STATIC_PROBE at one"
                            .into(),
                    },
                    restored,
                );
            };
            let dir = root.join(format!(".{run_name}"));
            let dest = dir.join(PROBE_NAME);
            // A copy, never a hard link: a runtime that chowns its rootfs (or an id-mapped
            // container root) must not change the user's own nsconform.
            let placed = std::fs::create_dir(&dir)
                .and_then(|()| std::fs::copy(&static_probe, &dest).map(drop));
            probe_dir = Some(dir.clone());
            probe_copy = Some(crate::cleanup::hold(crate::cleanup::Resource::File {
                path: dir.clone(),
            }));
            if let Err(e) = placed {
                let _ = std::fs::remove_dir_all(&dir);
                return fail(
                    Ending::NotStarted {
                        why: format!(
                            "place the probe at {}: {}",
                            dest.display(),
                            crate::kit::fact::io_errno(&e)
                        ),
                    },
                    restored,
                );
            }
            (vec![format!("/.{run_name}/{PROBE_NAME}")], file_id(&dest))
        }
    };
    // The probe is known by its file and this run's nonce, not by what it says.
    let probe_file = match probe_file {
        Ok(id) => id,
        Err(why) => {
            remove_probe_dir(&probe_dir);
            return fail(Ending::NotStarted { why }, restored);
        }
    };
    let mut bundle_dir = None;
    let mut bundle_hold = None;
    let argv: Vec<String> = match &spec.bundle {
        None => expand(&spec.argv, &probe_words, &nonce)
            .into_iter()
            .map(|w| w.replace(ID_PLACEHOLDER, &run_name))
            .collect(),
        Some(b) => {
            let dir = std::env::temp_dir().join(format!("{run_name}-bundle"));
            bundle_hold = Some(crate::cleanup::hold(crate::cleanup::Resource::File {
                path: dir.clone(),
            }));
            if let Err(why) = prepare_bundle(b, &dir, &probe_command(&probe_words, &nonce)) {
                let _ = std::fs::remove_dir_all(&dir);
                remove_probe_dir(&probe_dir);
                return fail(Ending::NotStarted { why }, restored);
            }
            let bundle_text = dir.display().to_string();
            bundle_dir = Some(dir);
            spec.argv
                .iter()
                .map(|w| {
                    w.replace(BUNDLE_PLACEHOLDER, &bundle_text)
                        .replace(ID_PLACEHOLDER, &run_name)
                })
                .collect()
        }
    };
    // What killed runs left behind goes first (found by name and owner PID).
    restored.extend(crate::contain::sweep_stale());

    // A scratch dir in a shared mount: a subject that does not cut propagation leaks
    // its tmpfs into it, where the host sees it.
    // (Named and held by `cleanup`: removed on signals and after a SIGKILL too.)
    let scratch_dir = crate::cleanup::Scratch::shared_tmpfs().ok();
    let scratch = scratch_dir.as_ref().map_or_else(
        || std::env::temp_dir().join(crate::cleanup::unique_name()),
        |s| s.path().to_path_buf(),
    );
    let scratch_mounted = scratch_dir.as_ref().is_some_and(|s| s.mounted());
    let inner = scratch.join("probe");
    let _ = std::fs::create_dir(&inner);
    let _ = std::fs::set_permissions(&inner, std::os::unix::fs::PermissionsExt::from_mode(0o777));

    let hostname_before = host::hostname();
    let domainname_before = host::domainname();
    let host_before = crate::hostchange::Snapshot::capture();
    let ipc = match HostIpcObjects::create() {
        Ok(o) => o,
        Err(v) => return fail(Ending::NotStarted { why: v.detail }, restored),
    };
    let tag = format!("{}-{}", std::process::id(), ipc.msqid);
    let given: Vec<PathBuf> = std::iter::once(scratch.clone())
        .chain(spec.probe_into.clone())
        .collect();
    let mut seen = crate::hostchange::Attribution::new(&tag, &given);
    seen.harness_ipc(ipc.msqid, &ipc.mq_name);
    let request = SubjectRequest {
        hostname: format!("nsconform-s-{tag}"),
        domainname: format!("nsconform-d-{tag}"),
        marker: format!("nsconform-marker-{tag}"),
        mount_target: inner.display().to_string(),
        host_msqid: ipc.msqid,
        host_mq: ipc.mq_name.clone(),
    };

    let tag_env = format!("NSCONFORM_SUBJECT_TAG={tag}");
    let (ours, theirs) = match nix::sys::socket::socketpair(
        nix::sys::socket::AddressFamily::Unix,
        nix::sys::socket::SockType::SeqPacket,
        None,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
    ) {
        Ok(p) => p,
        Err(e) => {
            return fail(
                Ending::NotStarted {
                    why: format!("socketpair: {e}"),
                },
                restored,
            )
        }
    };
    let _ = nix::sys::socket::setsockopt(&ours, nix::sys::socket::sockopt::PassCred, &true);

    let cg = crate::contain::RunCgroup::create(spec.limits);
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .env("NSCONFORM_SCRATCH", &inner)
        .env("NSCONFORM_SUBJECT_TAG", &tag)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(cwd) = &spec.cwd {
        cmd.current_dir(cwd);
    }
    crate::contain::enter_on_exec(&mut cmd, &cg);
    let their_fd = theirs.as_raw_fd();
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        // SAFETY: only async-signal-safe calls (dup2, fcntl) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if their_fd == REPORT_FD {
                    if libc::fcntl(REPORT_FD, libc::F_SETFD, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                } else if libc::dup2(their_fd, REPORT_FD) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = match crate::cleanup::spawn(&mut cmd) {
        Ok(c) => c,
        Err(e) => {
            cleanup_scratch(&scratch, scratch_mounted);
            let hint = match e.kind() {
                std::io::ErrorKind::NotFound => {
                    "; check the path (relative paths resolve against the working directory)"
                }
                std::io::ErrorKind::PermissionDenied => "; is it executable (chmod +x)?",
                _ => "",
            };
            return fail(
                Ending::NotStarted {
                    why: format!("start `{}`: {e}{hint}", argv[0]),
                },
                restored,
            );
        }
    };
    let socket_ino = nix::sys::stat::fstat(&theirs).map_or(0, |st| st.st_ino);
    drop(theirs);
    let child_pid = child.id() as i32;
    seen.saw_start(child_pid);
    // Bounded capture: a subject that prints gigabytes costs no memory.
    let out_rx = crate::contain::capture(child.stdout.take().expect("piped"), 64 << 10);
    let err_rx = crate::contain::capture(child.stderr.take().expect("piped"), 64 << 10);
    let req_bytes = serde_json::to_vec(&request).expect("requests serialize");
    // SAFETY: sending an owned buffer on our socket.
    unsafe {
        libc::send(
            ours.as_raw_fd(),
            req_bytes.as_ptr().cast(),
            req_bytes.len(),
            libc::MSG_NOSIGNAL,
        )
    };

    let deadline = start + spec.timeout;
    let mut observation = None;
    let mut no_report_why = None;
    let mut timed_out = false;
    let mut transport = None;
    let mut exit = None;
    // Wait for the probe: its report on fd 3, or, for runtimes that close fd 3 or are
    // not its parent, the probe itself found from outside (executable and nonce).
    let found = find_probe(
        &ours, socket_ino, &mut child, &cg, probe_file, &nonce, deadline, &mut exit,
    );
    let mut probe_pidfd = None;
    match found {
        Found::Report(bytes, pid) => match serde_json::from_slice::<SubjectReport>(&bytes) {
            Ok(report) => {
                transport = Some(Transport::Fd3);
                observation = Some((Some(report), pid));
            }
            Err(e) => {
                no_report_why = Some(format!(
                    "the message on the report channel is not a probe report ({e})"
                ))
            }
        },
        Found::Probe(pid) => {
            // Wait until it is settled (its SIGUSR1 handler is in place), then look.
            probe_pidfd = crate::probe::sys::pidfd_open(pid).ok();
            let mut step = Duration::from_millis(1);
            loop {
                match catches(pid, libc::SIGUSR1) {
                    Some(true) => {
                        transport = Some(Transport::OutsideOnly);
                        observation = Some((None, pid));
                        break;
                    }
                    None => {
                        no_report_why = Some(format!(
                            "the probe (process {pid}) exited before the harness could look at it"
                        ));
                        break;
                    }
                    Some(false) if Instant::now() >= deadline => {
                        timed_out = true;
                        break;
                    }
                    Some(false) => back_off(&mut step),
                }
            }
        }
        Found::Nothing(why) => no_report_why = Some(why),
        Found::TimedOut => timed_out = true,
    }
    if let Some((_, pid)) = &observation {
        seen.saw_probe(*pid);
        seen.saw_cgroup(&cg);
    }
    let observation = observation.map(|(report, pid)| {
        // The harness's own eyes first (they act inside), then the outside view
        // (which reads the host's state after the acts).
        let observe_req = crate::probe::observe::ObserveRequest {
            pid,
            hostname: format!("nsconform-o-{tag}"),
            domainname: format!("nsconform-od-{tag}"),
            mount_target: request.mount_target.clone(),
            marker: format!("nsconform-om-{tag}"),
            host_msqid: request.host_msqid,
            host_mq: request.host_mq.clone(),
        };
        let seen = observe(opts, &observe_req, deadline);
        let mut outside = look_from_outside(pid, &request);
        outside.observer_marker_on_host = host::mounts()
            .iter()
            .any(|m| m.source == observe_req.marker);
        match seen {
            Ok(seen) => outside.seen = Some(seen),
            Err(e) => outside.seen_error = Some(e),
        }
        (report, outside)
    });
    // Let the probe go: close its channel, or signal the one found from outside.
    drop(ours);
    if let Some(fd) = &probe_pidfd {
        let _ = crate::probe::sys::pidfd_send_signal(fd, libc::SIGUSR1);
    }

    // Wait for the subject to finish, up to the deadline (a pidfd, no polling).
    if !timed_out && exit.is_none() {
        if crate::contain::wait_exit_until(child_pid, deadline) {
            if let Ok(Some(status)) = child.try_wait() {
                exit = Some(exit_code(status));
            }
        } else {
            timed_out = true;
        }
    }
    // Everything it started goes: its cgroup (whatever escaped the process tree with
    // setsid, a double fork or a cleared environment), then its tree and group.
    seen.saw_cgroup(&cg);
    cg.kill_all(Duration::from_secs(2));
    kill_tree(child_pid, &tag_env);
    let _ = child.wait();
    // Never wait on a pipe something outside the run holds open.
    let grace = Instant::now() + Duration::from_millis(200);
    let take = |rx: std::sync::mpsc::Receiver<crate::contain::Captured>| {
        rx.recv_timeout(grace.saturating_duration_since(Instant::now()))
            .unwrap_or_default()
    };
    let (stdout, stderr) = (take(out_rx), take(err_rx));
    // A probe found from outside may have printed its report on stdout.
    let mut observation = observation;
    if let Some((report @ None, _)) = &mut observation {
        *report = stdout_report(&stdout.text(), &nonce);
        if report.is_some() {
            transport = Some(Transport::Stdout);
        }
    }

    // Put the host back as it was, where the change is the subject's and safe to undo.
    let settled = seen.settle(&host_before);
    let hostname_after = settled.after.hostname.clone();
    let domainname_after = settled.after.domainname.clone();
    restored.extend(settled.restored_lines());
    let host_changes = settled.findings;
    let host_ipc_intact = ipc.msq_present();
    drop(ipc);
    cleanup_scratch(&scratch, scratch_mounted);
    remove_probe_dir(&probe_dir);
    if let Some(dir) = &bundle_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    drop(probe_copy);
    drop(bundle_hold);

    let ending = if timed_out {
        Ending::TimedOut {
            after_ms: start.elapsed().as_millis() as u64,
        }
    } else if let Some(why) = no_report_why {
        Ending::NoReport { exit, why }
    } else {
        Ending::Reported { exit }
    };
    let observation = observation.map(|(report, outside)| SubjectObservation {
        request,
        report,
        outside,
        host_hostname_before: hostname_before,
        host_domainname_before: domainname_before,
        host_hostname_after: hostname_after,
        host_domainname_after: domainname_after,
        host_ipc_intact,
        overflowuid: env.overflowuid,
        overflowgid: env.overflowgid,
        outer_uid: nix::unistd::geteuid().as_raw(),
        host_changes: host_changes.clone(),
    });
    SubjectRun {
        command: argv,
        ending,
        transport: if timed_out { None } else { transport },
        stdout_tail: stdout.tail_text(4000),
        stderr_tail: stderr.tail_text(4000),
        contained_in: cg.describe(),
        duration_ms: start.elapsed().as_millis() as u64,
        observation: if timed_out { None } else { observation },
        restored,
        host_changes,
    }
}

fn cleanup_scratch(scratch: &Path, mounted: bool) {
    if mounted {
        let _ = nix::mount::umount2(scratch, nix::mount::MntFlags::MNT_DETACH);
    }
    let _ = std::fs::remove_dir_all(scratch);
}

/// The last non-empty line of a subject's output, shortened: the likeliest cause when
/// it did not run the probe (a runtime's error message).
fn last_line(text: &str) -> Option<String> {
    let l = text.lines().rev().map(str::trim).find(|l| !l.is_empty())?;
    Some(if l.chars().count() > 300 {
        l.chars().take(300).collect::<String>() + "..."
    } else {
        l.to_string()
    })
}

/// Judge every subject-scoped property of `props` from one run.
pub fn judge(
    run: &SubjectRun,
    props: &[&'static crate::catalogue::Property],
) -> Vec<PropertyResult> {
    props
        .iter()
        .filter_map(|p| Some((p, p.subject?)))
        .map(|(p, check)| {
            let judged = std::time::Instant::now();
            let verdict = match (&run.ending, &run.observation) {
                // What the subject left on the host is known in every ending it ran in:
                // without a report, such properties fail for what it left (and share the
                // run's failure or timeout otherwise).
                (Ending::TimedOut { .. } | Ending::NoReport { .. }, _)
                    if p.area == crate::spec::Area::Host
                        && run.host_changes.iter().any(|c| c.attributed) =>
                {
                    (check.judge)(&SubjectObservation {
                        host_changes: run.host_changes.clone(),
                        ..SubjectObservation::default()
                    })
                }
                // Nothing to judge, and nothing required missing.
                (Ending::NoReport { .. }, _) if check.optional.is_some() => Verdict::skip(format!(
                    "the probe never ran, and {}",
                    check.optional.unwrap_or_default()
                )),
                (Ending::TimedOut { after_ms }, _) => Verdict::timeout(format!(
                    "the subject did not finish within {}; its whole process tree was killed",
                    crate::outcome::seconds(*after_ms)
                )),
                (Ending::NotStarted { why }, _) => {
                    Verdict::error(format!("the subject could not be started: {why}"))
                }
                (Ending::NoReport { exit, why }, _) => Verdict::fail(
                    format!(
                        "no genuine probe report: {why}{}{}",
                        exit.map(|c| format!(" (subject exit status {c})"))
                            .unwrap_or_default(),
                        last_line(&run.stderr_tail)
                            .map(|l| format!("; its stderr ends: {l}"))
                            .unwrap_or_default()
                    ),
                    "a report from the probe running inside the subject",
                    "none",
                ),
                (Ending::Reported { .. }, Some(obs)) => (check.judge)(obs),
                (Ending::Reported { .. }, None) => {
                    Verdict::error("internal: report without observation")
                }
            };
            // Its own share of the time: judging the one observation of the run (the
            // run's time is the report's and the subject's, counted once).
            PropertyResult::of(p, None, verdict, judged.elapsed().as_millis() as u64)
        })
        .collect()
}

/// Check that this environment can create every namespace type at all (seccomp
/// filters, missing privilege, a container without CAP_SYS_ADMIN as on hosted graders).
/// `Err` names each type that failed and its errno: an environment error, not the
/// subject's failure.
pub fn preflight(opts: &RunOptions) -> Result<(), String> {
    let mut environment = crate::environment::Environment::detect(None);
    crate::harness::survey(opts, false, &mut environment)?;
    if environment.refused.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "this environment cannot create these namespace types: {}; grading here would \
             blame the subject for the environment. Run on a machine or VM that allows them.",
            environment.describe_refused()
        ))
    }
}

/// Whether the program a subject command starts (its first word, after
/// [`split_command`]) can be executed, checked before anything runs: a bare name is
/// looked up in `PATH`, a name with a slash is resolved against `cwd` (the subject's
/// working directory); it must be a regular file the caller may execute
/// (access(2) `X_OK`). Returns the file found; `Err` names the word, what was found
/// and what to do.
pub fn check_first_word(argv: &[String], cwd: &Path) -> Result<PathBuf, String> {
    let Some(word) = argv.first().filter(|w| !w.is_empty()) else {
        return Err("the subject command is empty".into());
    };
    // Err(None): there is no such file; Err(Some(why)): there is one, but it cannot run.
    let executable = |path: &Path| -> Result<(), Option<String>> {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
                return Err(None)
            }
            Err(e) => {
                return Err(Some(format!(
                    "cannot be looked at ({})",
                    crate::kit::fact::io_errno(&e)
                )))
            }
        };
        if meta.is_dir() {
            return Err(Some("a directory, not a program".into()));
        }
        if !meta.is_file() {
            return Err(Some("not a regular file".into()));
        }
        nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).map_err(|e| {
            Some(format!(
                "not executable ({}): make it executable (chmod +x)",
                crate::probe::errno_name(e)
            ))
        })
    };
    if word.contains('/') {
        let path: PathBuf = cwd
            .join(word)
            .components()
            .filter(|c| *c != std::path::Component::CurDir)
            .collect();
        return match executable(&path) {
            Ok(()) => Ok(path),
            Err(None) => Err(format!(
                "`{word}` does not exist (looked for {}; a relative path resolves against \
                 the working directory {}): check the path, or build it first",
                path.display(),
                cwd.display()
            )),
            Err(Some(why)) => Err(format!("`{word}` ({}) is {why}", path.display())),
        };
    }
    let path_var =
        std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let mut refused = Vec::new();
    for dir in std::env::split_paths(&path_var) {
        let dir = if dir.as_os_str().is_empty() {
            cwd.to_path_buf()
        } else {
            cwd.join(dir)
        };
        let candidate = dir.join(word);
        match executable(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(None) => {}
            Err(Some(why)) => refused.push(format!("{} is {why}", candidate.display())),
        }
    }
    if refused.is_empty() {
        Err(format!(
            "`{word}` is not found in PATH ({}): install it, or give its path (e.g. ./{word})",
            path_var.to_string_lossy()
        ))
    } else {
        Err(format!(
            "`{word}` is not an executable program in PATH: {}",
            refused.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            split_command(r#"unshare -r 'a b' "c \"d\"" e\ f {probe}"#).unwrap(),
            vec!["unshare", "-r", "a b", "c \"d\"", "e f", "{probe}"]
        );
        assert!(split_command("'open").is_err());
        assert!(split_command("   ").is_err());
    }

    #[test]
    fn expands_or_appends_the_probe() {
        let p = ["/p".to_string()];
        let v = expand(&["unshare".into(), "{probe}".into(), "x".into()], &p, "n0");
        assert_eq!(
            v,
            vec![
                "unshare",
                "/p",
                "subject",
                "--report-fd",
                "3",
                "--nonce",
                "n0",
                "x"
            ]
        );
        let v = expand(&["./container".into()], &p, "n0");
        assert_eq!(
            v,
            vec![
                "./container",
                "/p",
                "subject",
                "--report-fd",
                "3",
                "--nonce",
                "n0"
            ]
        );
        let v = expand(&["sh".into(), "-c".into(), "exec {probe}".into()], &p, "n0");
        assert_eq!(v[2], "exec /p subject --report-fd 3 --nonce n0");
        let p = ["/bin/nsconform".to_string(), "__probe".to_string()];
        let v = expand(&["./container".into(), "{probe}".into()], &p, "n0");
        assert_eq!(
            v,
            vec![
                "./container",
                "/bin/nsconform",
                "__probe",
                "subject",
                "--report-fd",
                "3",
                "--nonce",
                "n0"
            ]
        );
    }

    #[test]
    fn a_probe_without_fd_3_is_found_from_outside_by_file_and_nonce() {
        let nonce = random_nonce();
        // A stand-in "probe": a shell waiting on stdin, with the nonce on its command
        // line and a SIGUSR1 handler, as the real probe has.
        let mut child = Command::new("sh")
            .args(["-c", "trap 'exit 0' USR1; read x", "--nonce", &nonce])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let exe = file_id(Path::new(&format!("/proc/{pid}/exe"))).unwrap();
        let mut step = Duration::from_millis(1);
        let mut found = Vec::new();
        for _ in 0..400 {
            found = find_probes(exe, &nonce);
            if catches(pid, libc::SIGUSR1) == Some(true) && !found.is_empty() {
                break;
            }
            back_off(&mut step);
        }
        assert_eq!(found, vec![pid]);
        assert_eq!(catches(pid, libc::SIGUSR1), Some(true));
        // Another run's nonce, or another executable, finds nothing.
        assert!(find_probes(exe, &random_nonce()).is_empty());
        let other = file_id(Path::new("/proc/self/exe")).unwrap();
        assert!(find_probes(other, &nonce).is_empty());
        assert!(!holds_report_socket(pid, 1));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(catches(pid, libc::SIGUSR1), None);
    }

    #[test]
    fn a_report_on_stdout_needs_this_run_s_nonce() {
        let report = serde_json::to_string(&SubjectReport::default()).unwrap();
        let text = format!("hello\nnsconform-report abc {report}\nbye\n");
        assert!(stdout_report(&text, "abc").is_some());
        assert!(stdout_report(&text, "abd").is_none());
        assert!(stdout_report("nsconform-report abc {not json", "abc").is_none());
        assert!(stdout_report("", "abc").is_none());
    }

    #[test]
    fn an_oci_bundle_gets_the_probe_in_process_args() {
        let b = tempfile::tempdir().unwrap();
        std::fs::create_dir(b.path().join("rootfs")).unwrap();
        let config = serde_json::json!({
            "root": {"path": "rootfs"},
            "process": {"args": ["{probe}", "extra"]}
        });
        std::fs::write(b.path().join("config.json"), config.to_string()).unwrap();
        check_bundle(b.path()).unwrap();
        let out = b.path().join("run");
        let cmd = probe_command(&["/p".into()], "n0");
        prepare_bundle(b.path(), &out, &cmd).unwrap();
        let got: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap())
                .unwrap();
        assert_eq!(
            got["process"]["args"],
            serde_json::json!([
                "/p",
                "subject",
                "--report-fd",
                "3",
                "--nonce",
                "n0",
                "extra"
            ])
        );
        let root = got["root"]["path"].as_str().unwrap();
        assert!(Path::new(root).is_absolute(), "{root}");
        assert_eq!(
            Path::new(root),
            b.path().join("rootfs").canonicalize().unwrap()
        );
        // Without `{probe}`, without a rootfs, without a config: refused, saying why.
        let config = serde_json::json!({"root": {"path": "rootfs"}, "process": {"args": ["sh"]}});
        std::fs::write(b.path().join("config.json"), config.to_string()).unwrap();
        assert!(check_bundle(b.path()).unwrap_err().contains("{probe}"));
        let config =
            serde_json::json!({"root": {"path": "nope"}, "process": {"args": ["{probe}"]}});
        std::fs::write(b.path().join("config.json"), config.to_string()).unwrap();
        assert!(check_bundle(b.path())
            .unwrap_err()
            .contains("not a directory"));
        let e = check_bundle(&b.path().join("missing")).unwrap_err();
        assert!(e.contains("ENOENT"), "{e}");
    }

    #[test]
    fn the_probe_is_known_by_its_file_and_nonce() {
        let me = std::process::id() as i32;
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let id = file_id(&exe).unwrap();
        // This test process is not started with a nonce.
        let e = identify(me, id, "nonce-that-is-not-there").unwrap_err();
        assert!(e.contains("nonce"), "{e}");
        // Another executable is not the probe.
        let other = file_id(std::path::Path::new("/bin/sh")).unwrap();
        let e = identify(me, other, "x").unwrap_err();
        assert!(e.contains("not the probe"), "{e}");
        assert!(identify(i32::MAX, id, "x").is_err());
        assert_eq!(random_nonce().len(), 32);
        assert_ne!(random_nonce(), random_nonce());
    }
}
