//! Containment of untrusted programs (subjects, `grade` builds): a cgroup of their own
//! with limits, a kill that reaches everything in it whatever it forked or hid, and
//! output capture that stays bounded whatever the program prints.
//!
//! cgroups: on a cgroup v2 host the run gets a child of nsconform's own cgroup (kill with
//! `cgroup.kill`, freeze with `cgroup.freeze`; `pids.max`/`memory.max` where those
//! controllers are delegated). On a hybrid host (v1 controllers, cgroup2 at
//! `/sys/fs/cgroup/unified`, like Debian's default with systemd's legacy layout) the run
//! gets a directory in the v2 tree (membership and `cgroup.kill`) and in the v1 `pids`,
//! `memory` and `freezer` hierarchies (limits, freezing). Directories are named
//! `nsconform-<pid>-<starttime>-<n>` after the nsconform process that made them
//! ([`crate::cleanup::unique_name`]) and held in the run's registry, so that a signal
//! handler, a later run or `nsconform cleanup` can remove what an interrupted or killed
//! run left ([`sweep_stale`]).
//! Without permission to create cgroups (rootless, no delegation) a run is still
//! contained by its process group and subreaper; [`RunCgroup::describe`] says which.

use crate::mountinfo;
use std::ffi::CString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Resource limits of one contained run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most tasks (processes and threads) at once: `pids.max`.
    pub pids_max: u64,
    /// Most memory in bytes: `memory.max` (v2) / `memory.limit_in_bytes` (v1).
    pub memory_max: u64,
}

impl Default for Limits {
    /// 512 tasks and 1 GiB: far more than a container lab's program or a `make` needs,
    /// far less than it takes to take down the grading machine.
    fn default() -> Self {
        Limits {
            pids_max: 512,
            memory_max: 1 << 30,
        }
    }
}

/// The longest timeout nsconform accepts: a day.
pub const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// A timeout given in seconds (`--timeout`, `--subject-timeout`, a rubric's `timeout`),
/// checked: a finite number above zero and at most [`MAX_TIMEOUT_SECS`]. `what` names
/// the option in the error.
pub fn timeout_from_secs(secs: f64, what: &str) -> Result<Duration, String> {
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!(
            "{what} must be a positive number of seconds, not {secs}"
        ));
    }
    if secs > MAX_TIMEOUT_SECS {
        return Err(format!(
            "{what} of {secs} s is more than a day ({MAX_TIMEOUT_SECS} s), the most nsconform accepts"
        ));
    }
    // (A timeout that rounds to nothing would kill every run at once.)
    if secs < MIN_TIMEOUT_SECS {
        return Err(format!(
            "{what} of {secs} s is less than a millisecond ({MIN_TIMEOUT_SECS} s), the least nsconform accepts"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The shortest timeout [`timeout_from_secs`] accepts.
pub const MIN_TIMEOUT_SECS: f64 = 0.001;

/// `--rootless-as UID[:GID]` (the GID defaults to the UID): two numeric ids, neither 0
/// (root itself) nor 4294967295 (`(uid_t)-1`, "unchanged" to setresuid(2)): either
/// would run the rootless checks as real root.
pub fn rootless_ids(s: &str) -> Result<(u32, u32), String> {
    let (u, g) = s.split_once(':').unwrap_or((s, s));
    let id = |text: &str, what: &str| -> Result<u32, String> {
        let n: u32 = text
            .parse()
            .map_err(|e| format!("`{text}` is not a numeric {what}: {e}"))?;
        if n == 0 || n == u32::MAX {
            return Err(format!(
                "{what} {n} is not an unprivileged id (0 is root, 4294967295 means \
                 \"unchanged\"); use e.g. 65534"
            ));
        }
        Ok(n)
    };
    Ok((id(u, "uid")?, id(g, "gid")?))
}

/// `--jobs N`: how many checks or builds run at once; a whole number, 0 taken as 1.
pub fn jobs_from_str(s: &str) -> Result<usize, String> {
    s.trim()
        .parse::<usize>()
        .map(|n| n.max(1))
        .map_err(|e| format!("`{s}` is not a whole number of jobs: {e}"))
}

/// The prefix of every cgroup directory nsconform makes.
pub const PREFIX: &str = "nsconform-";

/// Where this process sits in one hierarchy: the directory its own cgroup is.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Hierarchy {
    /// `""` for cgroup v2, else the v1 controller (`pids`, `memory`, `freezer`).
    controller: &'static str,
    /// The directory of nsconform's own cgroup in it.
    own: PathBuf,
}

/// The hierarchies this process can use: the v2 tree and the v1 `pids`, `memory` and
/// `freezer` ones, each at the directory of its own cgroup.
fn hierarchies() -> Vec<Hierarchy> {
    let mounts =
        mountinfo::parse(&std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default());
    let membership = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let own_path = |wanted: &str| -> Option<String> {
        membership.lines().find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
            let hit = if wanted.is_empty() {
                ctrls.is_empty()
            } else {
                ctrls.split(',').any(|c| c == wanted)
            };
            hit.then(|| path.to_string())
        })
    };
    let join = |m: &mountinfo::MountEntry, path: &str| -> PathBuf {
        // A mount of a subtree (a container's) shows paths relative to its root.
        let rel = path
            .strip_prefix(m.root.trim_end_matches('/'))
            .unwrap_or(path)
            .trim_start_matches('/');
        Path::new(&m.mount_point).join(rel)
    };
    let mut out = Vec::new();
    if let (Some(m), Some(p)) = (mounts.iter().find(|m| m.fs_type == "cgroup2"), own_path("")) {
        out.push(Hierarchy {
            controller: "",
            own: join(m, &p),
        });
    }
    for controller in ["pids", "memory", "freezer"] {
        let m = mounts.iter().find(|m| {
            m.fs_type == "cgroup"
                && Path::new(&m.mount_point)
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().split(',').any(|c| c == controller))
        });
        if let (Some(m), Some(p)) = (m, own_path(controller)) {
            out.push(Hierarchy {
                controller,
                own: join(m, &p),
            });
        }
    }
    out
}

/// The cgroup of one contained run, in every hierarchy that could be used. Dropping it
/// kills whatever is still inside and removes the directories.
#[derive(Debug)]
pub struct RunCgroup {
    name: String,
    /// (controller, directory) of each created cgroup; `""` is cgroup v2.
    dirs: Vec<(&'static str, PathBuf)>,
    limits: Limits,
    /// What could not be set up, for the report.
    missing: Vec<String>,
    /// `cgroup.procs` files, for the child to enter between fork and exec.
    procs: Vec<CString>,
    /// The directories in the run's registry (`crate::cleanup`).
    held: Vec<crate::cleanup::Held>,
}

impl RunCgroup {
    /// Make the run's cgroups with `limits`. Never fails: what cannot be made is recorded
    /// ([`RunCgroup::describe`]) and the run is contained without it.
    pub fn create(limits: Limits) -> RunCgroup {
        let mut cg = RunCgroup {
            name: crate::cleanup::unique_name(),
            dirs: Vec::new(),
            limits,
            missing: Vec::new(),
            procs: Vec::new(),
            held: Vec::new(),
        };
        let hs = hierarchies();
        if hs.is_empty() {
            cg.missing
                .push("no cgroup hierarchy is mounted".to_string());
        }
        for h in hs {
            let dir = h.own.join(&cg.name);
            let label = if h.controller.is_empty() {
                "cgroup v2".to_string()
            } else {
                format!("the v1 {} hierarchy", h.controller)
            };
            cg.held
                .push(crate::cleanup::hold(crate::cleanup::Resource::Cgroup {
                    path: dir.clone(),
                }));
            if let Err(e) = std::fs::create_dir(&dir) {
                cg.missing.push(format!(
                    "cannot create {} ({label}): {}",
                    dir.display(),
                    crate::kit::fact::io_errno(&e)
                ));
                continue;
            }
            let set = |file: &str, value: String| -> Option<String> {
                std::fs::write(dir.join(file), value)
                    .err()
                    .map(|e| format!("{file}: {}", crate::kit::fact::io_errno(&e)))
            };
            let problem = match h.controller {
                "" => {
                    // Limits only where the controllers are delegated to us.
                    let ctrls =
                        std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
                    let mut p = Vec::new();
                    if ctrls.split_whitespace().any(|c| c == "pids") {
                        p.extend(set("pids.max", limits.pids_max.to_string()));
                    }
                    if ctrls.split_whitespace().any(|c| c == "memory") {
                        p.extend(set("memory.max", limits.memory_max.to_string()));
                        p.extend(set("memory.swap.max", "0".into()));
                    }
                    (!p.is_empty()).then(|| p.join(", "))
                }
                "pids" => set("pids.max", limits.pids_max.to_string()),
                "memory" => set("memory.limit_in_bytes", limits.memory_max.to_string()),
                _ => None,
            };
            if let Some(p) = problem {
                cg.missing.push(format!("{label}: {p}"));
            }
            if let Ok(c) = CString::new(dir.join("cgroup.procs").as_os_str().as_encoded_bytes()) {
                cg.procs.push(c);
            }
            cg.dirs.push((h.controller, dir));
        }
        cg
    }

    /// The `cgroup.procs` files a child writes `0` to between fork and exec (open and
    /// write are async-signal-safe; the strings are made before the fork).
    pub fn procs_files(&self) -> &[CString] {
        &self.procs
    }

    fn dir(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(c, _)| *c == controller)
            .map(|(_, d)| d.as_path())
    }

    /// The run's cgroup directories, one per hierarchy used.
    pub fn dirs(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|(_, d)| d.clone()).collect()
    }

    /// Whether any cgroup could be made at all (else only the process group contains).
    pub fn active(&self) -> bool {
        !self.dirs.is_empty()
    }

    /// Every process in the run's cgroups.
    pub fn pids(&self) -> Vec<i32> {
        let mut v = Vec::new();
        for (_, d) in &self.dirs {
            subtree_pids(d, 0, &mut v);
        }
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Kill everything in the run's cgroups: `cgroup.kill` where the kernel has it, else
    /// freeze, SIGKILL every member, thaw; until they are empty or `within` has passed.
    /// Returns whether they are empty.
    pub fn kill_all(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let v2 = self.dir("");
        let freezer = self.dir("freezer");
        loop {
            let pids = self.pids();
            if pids.is_empty() {
                return true;
            }
            if let Some(d) = v2 {
                let _ = std::fs::write(d.join("cgroup.kill"), "1");
            }
            if let Some(f) = freezer {
                let _ = std::fs::write(f.join("freezer.state"), "FROZEN");
            } else if let Some(d) = v2 {
                let _ = std::fs::write(d.join("cgroup.freeze"), "1");
            }
            for pid in self.pids() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            if let Some(f) = freezer {
                let _ = std::fs::write(f.join("freezer.state"), "THAWED");
            } else if let Some(d) = v2 {
                let _ = std::fs::write(d.join("cgroup.freeze"), "0");
            }
            if Instant::now() >= deadline {
                return self.pids().is_empty();
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// One line for the report: where the run was contained and with which limits.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.dirs.is_empty() {
            parts.push("no cgroup (process group and subreaper only)".to_string());
        }
        for (c, d) in &self.dirs {
            let what = match *c {
                "" => "cgroup v2".to_string(),
                "pids" => format!("pids.max {}", self.limits.pids_max),
                "memory" => format!("memory limit {} MiB", self.limits.memory_max >> 20),
                other => format!("v1 {other}"),
            };
            parts.push(format!("{what} ({})", d.display()));
        }
        for m in &self.missing {
            parts.push(format!("not available: {m}"));
        }
        parts.join("; ")
    }
}

impl Drop for RunCgroup {
    fn drop(&mut self) {
        self.kill_all(Duration::from_secs(2));
        for (_, d) in self.dirs.iter().rev() {
            // With the child cgroups a subject made in it.
            crate::cleanup::undo_cgroup(d);
        }
    }
}

/// The members of cgroup `dir` and of every cgroup below it (a root subject may make a
/// child cgroup of its own and move into it), at most 32 levels deep.
fn subtree_pids(dir: &Path, depth: usize, out: &mut Vec<i32>) {
    out.extend(read_pids(&dir.join("cgroup.procs")));
    if depth >= 32 {
        return;
    }
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            subtree_pids(&e.path(), depth + 1, out);
        }
    }
}

fn read_pids(path: &Path) -> Vec<i32> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The PID in a directory name `nsconform-<pid>-<n>`.
pub fn owner_of(name: &str) -> Option<i32> {
    name.strip_prefix(PREFIX)?.split('-').next()?.parse().ok()
}

/// Remove what runs which are no longer alive left behind (killed with SIGKILL, machine
/// crash): everything [`crate::cleanup::sweep_dead`] finds, and the cgroups named after
/// a dead run next to this process's own (their members killed). A live run's are never
/// touched. Returns what was removed, one line each.
pub fn sweep_stale() -> Vec<String> {
    let mut removed = crate::cleanup::sweep_dead();
    for h in hierarchies() {
        let Ok(entries) = std::fs::read_dir(&h.own) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(owner) = owner_of(&name) else {
                continue;
            };
            if !crate::cleanup::name_owner(&name).is_some_and(|o| o.dead()) {
                continue;
            }
            let dir = e.path();
            crate::cleanup::undo_cgroup(&dir);
            if !dir.exists() {
                removed.push(format!(
                    "removed cgroup {} (left by dead process {owner})",
                    dir.display()
                ));
            }
        }
    }
    removed
}

/// Bounded capture of a stream: the first and the last `keep` bytes are kept, everything
/// in between is read and dropped (counted), so a program that prints gigabytes costs
/// no memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Captured {
    pub head: Vec<u8>,
    pub tail: Vec<u8>,
    /// Total bytes read.
    pub total: u64,
    keep: usize,
}

impl Captured {
    pub fn new(keep: usize) -> Self {
        Captured {
            keep,
            ..Captured::default()
        }
    }

    /// Take in the next chunk of the stream.
    pub fn push(&mut self, mut chunk: &[u8]) {
        self.total += chunk.len() as u64;
        if self.head.len() < self.keep {
            let n = (self.keep - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..n]);
            chunk = &chunk[n..];
        }
        if chunk.len() >= self.keep {
            self.tail.clear();
            self.tail
                .extend_from_slice(&chunk[chunk.len() - self.keep..]);
        } else {
            let overflow = (self.tail.len() + chunk.len()).saturating_sub(self.keep);
            self.tail.drain(..overflow);
            self.tail.extend_from_slice(chunk);
        }
    }

    /// The text kept, with a marker where bytes were dropped, lossily decoded.
    pub fn text(&self) -> String {
        let kept = (self.head.len() + self.tail.len()) as u64;
        let mut s = String::from_utf8_lossy(&self.head).into_owned();
        if self.total > kept {
            s.push_str(&format!(
                "\n[... {} bytes not kept ...]\n",
                self.total - kept
            ));
        }
        s.push_str(&String::from_utf8_lossy(&self.tail));
        s
    }

    /// The last `max` bytes of the text kept (for one-line summaries).
    pub fn tail_text(&self, max: usize) -> String {
        let t = self.text();
        let cut = t.len().saturating_sub(max);
        let start = (cut..=t.len())
            .find(|&i| t.is_char_boundary(i))
            .unwrap_or(t.len());
        t[start..].to_string()
    }
}

/// Read `r` to its end in a thread, keeping a bounded [`Captured`]. The receiver gets
/// the capture when the stream ends; a caller that cannot wait (a daemon holds the pipe
/// open) stops waiting at its deadline and takes [`Captured::default`].
pub fn capture(
    mut r: impl Read + Send + 'static,
    keep: usize,
) -> std::sync::mpsc::Receiver<Captured> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut c = Captured::new(keep);
        // Whole buffers of at least `keep` bytes are pushed: each push then replaces the
        // tail instead of shifting it, so a flood costs O(1) per byte, not O(keep) per
        // (often page-sized) read.
        let mut buf = vec![0u8; keep.max(64 * 1024)];
        let mut filled = 0;
        loop {
            match r.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => {
                    filled += n;
                    if filled == buf.len() {
                        c.push(&buf);
                        filled = 0;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        c.push(&buf[..filled]);
        let _ = tx.send(c);
    });
    rx
}

/// Let `cmd`'s child enter `cg` between fork and exec (before it can fork itself).
pub fn enter_on_exec(cmd: &mut std::process::Command, cg: &RunCgroup) {
    use std::os::unix::process::CommandExt;
    let files: Vec<CString> = cg.procs_files().to_vec();
    // SAFETY: between fork and exec the closure only calls open(2), write(2) and
    // close(2), which are async-signal-safe, on strings made before the fork.
    unsafe {
        cmd.pre_exec(move || {
            for f in &files {
                let fd = libc::open(f.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd >= 0 {
                    libc::write(fd, b"0".as_ptr().cast(), 1);
                    libc::close(fd);
                }
            }
            Ok(())
        });
    }
}

/// Wait until process `pid` (a child of ours) exits or `deadline` passes, without
/// polling: poll(2) on a pidfd, which becomes readable when the process exits.
/// Returns false at the deadline.
pub fn wait_exit_until(pid: i32, deadline: Instant) -> bool {
    use std::os::fd::AsFd;
    let Ok(fd) = crate::probe::sys::pidfd_open(pid) else {
        // Already reaped, or no pidfd support (before 5.3): fall back to waitpid polling.
        loop {
            match nix::sys::wait::waitpid(
                nix::unistd::Pid::from_raw(pid),
                Some(nix::sys::wait::WaitPidFlag::WNOHANG | nix::sys::wait::WaitPidFlag::WNOWAIT),
            ) {
                Ok(nix::sys::wait::WaitStatus::StillAlive) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Ok(nix::sys::wait::WaitStatus::StillAlive) => return false,
                _ => return true,
            }
        }
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [nix::poll::PollFd::new(
            fd.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms)) {
            Ok(n) if n > 0 => return true,
            Ok(_) if left.is_zero() => return false,
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return true,
        }
    }
}

/// How a contained command ended.
#[derive(Debug)]
pub struct Contained {
    /// Exit code, or 128 + signal; `None` when it was killed at the timeout.
    pub exit: Option<i32>,
    pub timed_out: bool,
    pub stdout: Captured,
    pub stderr: Captured,
    /// [`RunCgroup::describe`] of where it ran.
    pub contained_in: String,
    pub duration: Duration,
}

/// Run `cmd` contained: in a cgroup of its own with `limits`, in its own process group,
/// stdout and stderr captured (bounded, `keep` bytes at each end), killed with
/// everything it started at `timeout`. Returns when the command has exited and its
/// cgroup is empty, or at the timeout: never later, whatever holds its pipes open.
pub fn run_contained(
    mut cmd: std::process::Command,
    timeout: Duration,
    limits: Limits,
    keep: usize,
) -> std::io::Result<Contained> {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    use std::process::Stdio;
    let start = Instant::now();
    let deadline = start + timeout;
    let cg = RunCgroup::create(limits);
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if cmd.get_program().is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "empty command",
        ));
    }
    enter_on_exec(&mut cmd, &cg);
    let mut child = cmd.spawn()?;
    let pid = child.id() as i32;
    let out_rx = capture(child.stdout.take().expect("piped"), keep);
    let err_rx = capture(child.stderr.take().expect("piped"), keep);
    let exited = wait_exit_until(pid, deadline);
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    cg.kill_all(Duration::from_secs(2));
    let status = child.wait().ok();
    let exit = if exited {
        status.map(|s| s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0)))
    } else {
        None
    };
    // The pipes end when the last holder is gone; something outside the cgroup (no
    // cgroup could be made) may hold them: wait a little, then take what was read.
    let grace = Instant::now() + Duration::from_millis(200);
    let take = |rx: std::sync::mpsc::Receiver<Captured>| {
        rx.recv_timeout(grace.saturating_duration_since(Instant::now()))
            .unwrap_or_default()
    };
    let (stdout, stderr) = (take(out_rx), take(err_rx));
    Ok(Contained {
        exit,
        timed_out: !exited,
        stdout,
        stderr,
        contained_in: cg.describe(),
        duration: start.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_keeps_head_and_tail_only() {
        let mut c = Captured::new(4);
        c.push(b"ab");
        assert_eq!(c.text(), "ab");
        c.push(b"cdefgh");
        assert_eq!(
            (c.head.as_slice(), c.tail.as_slice()),
            (&b"abcd"[..], &b"efgh"[..])
        );
        c.push(&vec![b'x'; 1000]);
        c.push(b"yz");
        assert_eq!(c.tail, b"xxyz");
        assert_eq!(c.total, 1010);
        assert!(
            c.text().contains("[... 1002 bytes not kept ...]"),
            "{}",
            c.text()
        );
        assert_eq!(c.tail_text(3), "xyz");
    }

    #[test]
    fn capture_thread_reads_everything() {
        let data = vec![b'q'; 300_000];
        let rx = capture(std::io::Cursor::new(data), 1024);
        let c = rx.recv().unwrap();
        assert_eq!(c.total, 300_000);
        assert_eq!(c.head.len() + c.tail.len(), 2048);
    }

    #[test]
    fn timeouts_are_bounded() {
        assert_eq!(
            timeout_from_secs(1.5, "t").unwrap(),
            Duration::from_millis(1500)
        );
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e19, 1e30, 86_401.0] {
            assert!(timeout_from_secs(bad, "--timeout").is_err(), "{bad}");
        }
        assert!(timeout_from_secs(86_400.0, "t").is_ok());
        assert!(timeout_from_secs(0.001, "t").is_ok());
        assert!(timeout_from_secs(1e-12, "t").is_err());
    }

    #[test]
    fn rootless_ids_refuse_root_and_unchanged() {
        assert_eq!(rootless_ids("65534"), Ok((65534, 65534)));
        assert_eq!(rootless_ids("1000:100"), Ok((1000, 100)));
        for bad in [
            "0",
            "4294967295",
            "65534:0",
            "65534:4294967295",
            "x",
            "1:",
            ":1",
            "1:2:3",
        ] {
            assert!(rootless_ids(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn jobs_are_whole_numbers_at_least_one() {
        assert_eq!(jobs_from_str("4"), Ok(4));
        assert_eq!(jobs_from_str("0"), Ok(1));
        for bad in ["", "-1", "1.5", "x", "99999999999999999999999"] {
            assert!(jobs_from_str(bad).is_err(), "{bad}");
        }
    }

    fn sh(script: &str) -> std::process::Command {
        let mut c = std::process::Command::new("sh");
        c.arg("-c").arg(script).stdin(std::process::Stdio::null());
        c
    }

    fn alive_with_arg(arg: &str) -> bool {
        std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(arg))
                .unwrap_or(false)
        })
    }

    #[test]
    fn a_daemon_holding_stdout_neither_delays_nor_outlives_the_run() {
        let c = run_contained(
            sh("setsid sleep 37.4242 & echo started"),
            Duration::from_secs(20),
            Limits::default(),
            1024,
        )
        .unwrap();
        assert!(!c.timed_out, "{c:?}");
        assert_eq!(c.exit, Some(0));
        eprintln!("contained in: {}", c.contained_in);
        if c.contained_in.contains("cgroup v2") || c.contained_in.contains("pids.max") {
            assert!(c.stdout.text().contains("started"), "{c:?}");
            assert!(
                !alive_with_arg("37.4242"),
                "the setsid daemon survived: {c:?}"
            );
        } else {
            eprintln!(
                "no cgroup here ({}): the daemon check needs one",
                c.contained_in
            );
        }
    }

    #[test]
    fn a_flood_of_output_is_counted_not_kept() {
        let c = run_contained(
            sh("head -c 30000000 /dev/zero; echo tail-marker"),
            Duration::from_secs(60),
            Limits::default(),
            4096,
        )
        .unwrap();
        assert_eq!(c.stdout.total, 30_000_012);
        assert!(c.stdout.head.len() + c.stdout.tail.len() <= 8192);
        assert!(c.stdout.text().ends_with("tail-marker\n"));
    }

    #[test]
    fn the_timeout_kills_the_whole_tree() {
        let c = run_contained(
            sh("sleep 41.4242 & sleep 41.4243"),
            Duration::from_millis(300),
            Limits::default(),
            1024,
        )
        .unwrap();
        assert!(c.timed_out);
        assert_eq!(c.exit, None);
        assert!(!alive_with_arg("41.4242") && !alive_with_arg("41.4243"));
    }

    #[test]
    fn owner_of_reads_the_pid() {
        assert_eq!(owner_of("nsconform-4242-7"), Some(4242));
        assert_eq!(owner_of("nsconform-x-7"), None);
        assert_eq!(owner_of("other"), None);
    }

    #[test]
    fn hierarchies_are_found_here() {
        // Every Linux test machine mounts at least one cgroup hierarchy.
        let hs = hierarchies();
        assert!(!hs.is_empty());
        assert!(hs.iter().all(|h| h.own.is_absolute()));
    }
}
