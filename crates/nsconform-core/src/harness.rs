//! The harness: runs property checks by starting the probe, watching it with a deadline,
//! and looking at the host from outside. Multithreaded by design; it never unshares.

use crate::env::Env;
use crate::kit::userns::SCRATCH_ID;
use crate::outcome::Verdict;
use crate::probe::Control;
use crate::probe::{Launch, Message, Request, StepError};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The hidden subcommand of `nsconform` that turns it into the probe: everything after it
/// is the probe's argv (`nsconform __probe run '<json>'`).
pub const PROBE_SUBCOMMAND: &str = "__probe";
/// The file name under which `nsconform` is the probe without [`PROBE_SUBCOMMAND`] (a
/// symlink or copy, e.g. the `/nsconform-probe` that `--probe-into` puts into a rootfs).
pub const PROBE_NAME: &str = "nsconform-probe";

/// Set (to `1`) in the environment of every probe the harness starts: an `nsconform`
/// that the probe executes again through `/proc/self/exe` (TIME-09 does, with the plain
/// probe argv `run '<json>'`) is then the probe too, whatever its arguments.
pub const PROBE_ENV: &str = "NSCONFORM_IN_PROBE";

/// How to start the probe: a program and the leading arguments that put it in probe
/// mode (the probe's own arguments, `run '<json>'`, `subject ...`, follow them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeCommand {
    /// An `nsconform` executable (or a file named `nsconform-probe`).
    pub program: PathBuf,
    /// `["__probe"]`, or nothing when the program's file name is `nsconform-probe`.
    pub args: Vec<String>,
}

impl ProbeCommand {
    /// The probe command of an `nsconform` build at `program`: `program __probe`, or just
    /// `program` when its file name is `nsconform-probe` (it dispatches on argv[0]).
    pub fn new(program: impl Into<PathBuf>) -> Self {
        let program = program.into();
        let args = if program.file_name().is_some_and(|n| n == PROBE_NAME) {
            Vec::new()
        } else {
            vec![PROBE_SUBCOMMAND.to_string()]
        };
        ProbeCommand { program, args }
    }

    /// A [`Command`] that starts the probe; the caller appends the probe's arguments.
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args).env(PROBE_ENV, "1");
        c
    }

    /// The program and its leading arguments as words (for a subject's command line).
    pub fn words(&self) -> Vec<String> {
        std::iter::once(self.program.display().to_string())
            .chain(self.args.iter().cloned())
            .collect()
    }
}

impl From<PathBuf> for ProbeCommand {
    fn from(program: PathBuf) -> Self {
        ProbeCommand::new(program)
    }
}

/// How a run is carried out.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// How the probe is started (by default the running `nsconform` with `__probe`).
    pub probe: ProbeCommand,
    /// When set, every probe drops to this uid/gid first: a privileged caller's way to
    /// run the rootless path (the whole run then counts as rootless).
    pub rootless_as: Option<(u32, u32)>,
    /// Deadline of one probe run.
    pub timeout: Duration,
    /// How many checks run at once (checks marked `global` always run alone).
    pub jobs: usize,
}

impl RunOptions {
    pub fn new(probe: impl Into<ProbeCommand>) -> Self {
        RunOptions {
            probe: probe.into(),
            rootless_as: None,
            timeout: Duration::from_secs(10),
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get() * 4),
        }
    }
}

/// Find the probe: `$NSCONFORM_PROBE` (any `nsconform` build, or a file named
/// `nsconform-probe`), else the running executable when it is `nsconform` itself, else an
/// `nsconform` next to it or one directory up (test and bench binaries live in
/// `target/*/deps`).
pub fn locate_probe() -> Option<ProbeCommand> {
    if let Some(p) = std::env::var_os("NSCONFORM_PROBE") {
        return Some(ProbeCommand::new(PathBuf::from(p)));
    }
    let exe = std::env::current_exe().ok()?;
    if exe
        .file_name()
        .is_some_and(|n| n == "nsconform" || n == PROBE_NAME)
    {
        return Some(ProbeCommand::new(exe));
    }
    let dir = exe.parent()?;
    [dir.join("nsconform"), dir.parent()?.join("nsconform")]
        .into_iter()
        .find(|p| p.is_file())
        .map(ProbeCommand::new)
}

/// What one probe run produced.
#[derive(Debug, Clone)]
pub struct ProbeRun {
    /// The facts the inside half reported.
    pub facts: serde_json::Value,
    /// PID of the inside process in the harness's PID namespace.
    pub host_pid: Option<i32>,
    /// Exit status of the launcher (`None` while held).
    pub exit: Option<i32>,
}

impl ProbeRun {
    /// Deserialize the facts into the check's own type.
    pub fn facts<T: serde::de::DeserializeOwned>(&self) -> Result<T, Verdict> {
        serde_json::from_value(self.facts.clone()).map_err(|e| {
            Verdict::error(format!("probe facts do not match the check's schema: {e}"))
        })
    }
}

/// The context of one check: which property, which mode, which negative control.
pub struct Cx<'a> {
    /// The ID of the property being checked.
    pub id: &'static str,
    pub env: &'a Env,
    opts: &'a RunOptions,
    control: Option<Control>,
    /// Scratch directories (unmounted below and removed when dropped).
    scratch: Vec<crate::cleanup::Scratch>,
}

impl<'a> Cx<'a> {
    pub fn new(
        id: &'static str,
        env: &'a Env,
        opts: &'a RunOptions,
        control: Option<Control>,
    ) -> Self {
        Cx {
            id,
            env,
            opts,
            control,
            scratch: Vec::new(),
        }
    }

    /// True when the checks run without real root (or emulate that).
    pub fn rootless(&self) -> bool {
        !self.env.privileged
    }

    /// The negative control being exercised, if any.
    pub fn control(&self) -> Option<Control> {
        self.control
    }

    /// The uid/gid the probe runs as outside any user namespace.
    pub fn outer_ids(&self) -> (u32, u32) {
        self.opts.rootless_as.unwrap_or_else(|| {
            (
                nix::unistd::geteuid().as_raw(),
                nix::unistd::getegid().as_raw(),
            )
        })
    }

    /// Turn the launch a check asks for into the one that runs: rootless runs put
    /// everything in a user namespace of their own, and the negative control removes
    /// its piece of isolation.
    pub fn prepare(&self, mut launch: Launch) -> Launch {
        let wants_ns = launch.pid
            || launch.mnt
            || launch.uts
            || launch.ipc
            || launch.net
            || launch.cgroup
            || launch.time;
        if self.rootless() && wants_ns && !launch.user {
            launch = launch.user();
        }
        launch.drop_to = self.opts.rootless_as;
        if let Some(c) = self.control {
            launch.apply(c);
        }
        launch
    }

    /// The launch of an inside half that creates some namespaces itself: `wanted` is the
    /// launch asked for (e.g. `Launch::host().user()`), prepared for the mode and control;
    /// the user, time and cgroup namespaces it asks for are removed from it again and
    /// handed over as the `create_user`/`create_time`/`create_cgroup` arguments (false
    /// under the control that removes them). A privileged harness drops to
    /// [`SCRATCH_ID`] when `unprivileged` is asked for.
    pub fn self_made(&self, wanted: Launch, unprivileged: bool) -> (Launch, serde_json::Value) {
        let mut l = self.prepare(wanted.clone());
        let create_user = wanted.user && l.user;
        let create_time = wanted.time && l.time;
        let create_cgroup = wanted.cgroup && l.cgroup;
        if wanted.user {
            l.user = false;
            l.map_root = false;
        }
        if wanted.time {
            l.time = false;
            l.time_offsets = None;
        }
        if wanted.cgroup {
            l.cgroup = false;
        }
        if unprivileged && l.drop_to.is_none() && nix::unistd::geteuid().is_root() {
            l.drop_to = Some((SCRATCH_ID, SCRATCH_ID));
        }
        (
            l,
            serde_json::json!({
                "create_user": create_user,
                "create_time": create_time,
                "create_cgroup": create_cgroup
            }),
        )
    }

    /// A scratch directory owned by the ids `launch` drops to (or the outer ids), set as
    /// the launch's working directory.
    pub fn scratch_for(&mut self, launch: &mut Launch) -> Result<PathBuf, Verdict> {
        let dir = self.scratch_dir()?;
        if let Some((u, g)) = launch.drop_to {
            nix::unistd::chown(
                &dir,
                Some(nix::unistd::Uid::from_raw(u)),
                Some(nix::unistd::Gid::from_raw(g)),
            )
            .map_err(|e| {
                Verdict::error(format!(
                    "chown scratch directory {} to {u}: {} (is uid {u} mapped where \
                     nsconform runs?)",
                    dir.display(),
                    crate::probe::sys::errno_name(e)
                ))
                .with_errno(crate::probe::sys::errno_name(e))
            })?;
        }
        launch.workdir = Some(dir.display().to_string());
        Ok(dir)
    }

    /// A fresh scratch directory owned by the probe's outer uid, removed after the check
    /// (and by a signal handler or a later run if the run is interrupted or killed: its
    /// name is [`crate::cleanup::unique_name`], see [`crate::cleanup::Scratch`]).
    pub fn scratch_dir(&mut self) -> Result<PathBuf, Verdict> {
        let scratch = crate::cleanup::Scratch::new(0o755).map_err(|e| {
            Verdict::error(format!(
                "create a scratch directory in {}: {}; set TMPDIR to a writable folder",
                std::env::temp_dir().display(),
                crate::kit::fact::io_errno(&e)
            ))
        })?;
        let dir = scratch.path().to_path_buf();
        let (uid, gid) = self.outer_ids();
        if nix::unistd::geteuid().is_root() {
            let _ = nix::unistd::chown(
                &dir,
                Some(nix::unistd::Uid::from_raw(uid)),
                Some(nix::unistd::Gid::from_raw(gid)),
            );
        }
        self.scratch.push(scratch);
        Ok(dir)
    }

    /// Run this property's inside half under `launch` (prepared for mode and control)
    /// and wait for it to finish.
    pub fn run(&mut self, launch: Launch, args: serde_json::Value) -> Result<ProbeRun, Verdict> {
        let launch = self.prepare(launch);
        self.run_exact(launch, args, |_| Ok(()))
    }

    /// Like [`Cx::run`], but keeps the inside process alive while `outside` looks at it
    /// (its host PID is in the [`ProbeRun`]); the process is released afterwards.
    pub fn run_held<T>(
        &mut self,
        launch: Launch,
        args: serde_json::Value,
        outside: impl FnOnce(&ProbeRun) -> Result<T, Verdict>,
    ) -> Result<(ProbeRun, T), Verdict> {
        let mut launch = self.prepare(launch);
        launch.hold = true;
        let mut seen = None;
        let run = self.run_exact(launch, args, |run| {
            seen = Some(outside(run)?);
            Ok(())
        })?;
        Ok((run, seen.expect("outside ran")))
    }

    /// Run the probe with exactly this launch (no mode or control adjustment).
    pub fn run_exact(
        &mut self,
        launch: Launch,
        args: serde_json::Value,
        outside: impl FnOnce(&ProbeRun) -> Result<(), Verdict>,
    ) -> Result<ProbeRun, Verdict> {
        let req = Request {
            property: self.id.to_string(),
            launch,
            args,
        };
        spawn_probe(&self.opts.probe, &req, self.opts.timeout, outside)
    }
}

/// Turn a probe step error into a verdict: failing to create namespaces at all is the
/// environment's problem (`error`), with what to do about it.
pub fn step_verdict(e: &StepError) -> Verdict {
    let hint = match e.errno.as_deref() {
        Some("EPERM") if e.step.contains("CLONE_NEWUSER") => {
            "; unprivileged user namespaces are disabled here (kernel.unprivileged_userns_clone=0, \
             a seccomp filter or an LSM); run as root or enable them"
        }
        Some("ENOSPC") if e.step.contains("unshare") => {
            "; a /proc/sys/user/max_*_namespaces limit is reached or zero"
        }
        Some("EPERM") => "; the probe lacks the privilege for this step (seccomp, capabilities)",
        Some("EINVAL") if e.step.contains("unshare") => {
            "; the kernel lacks this namespace type (CONFIG_*_NS) or the probe is not single-threaded"
        }
        _ => "",
    };
    let mut v = Verdict::error(format!("{e}{hint}"));
    v.errno = e.errno.clone();
    v
}

struct Spawned {
    /// The probe, its process group held in the run's registry while it lives.
    child: crate::cleanup::Tracked,
    lines: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

fn start(probe: &ProbeCommand, req: &Request, hold: bool) -> Result<Spawned, Verdict> {
    use std::os::unix::process::CommandExt;
    let json = serde_json::to_string(req).expect("requests serialize");
    let mut cmd = probe.command();
    cmd.arg("run")
        .arg(json)
        .stdin(if hold { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = crate::cleanup::spawn(&mut cmd).map_err(|e| {
        Verdict::error(format!(
            "start the probe {}: {e}; build it with `cargo build` or set NSCONFORM_PROBE",
            probe.program.display()
        ))
    })?;
    let stdout = child.stdout.take().expect("piped");
    let mut stderr_pipe = child.stderr.take().expect("piped");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(l) = line else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr_pipe.read_to_string(&mut s);
        s
    });
    Ok(Spawned {
        child,
        lines,
        stderr,
    })
}

/// Kill the probe's whole process group (the launcher and, through PDEATHSIG and PID
/// namespace teardown, everything under it).
fn kill_tree(child: &mut Child) {
    let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
    let _ = child.kill();
    let _ = child.wait();
}

fn spawn_probe(
    probe: &ProbeCommand,
    req: &Request,
    timeout: Duration,
    outside: impl FnOnce(&ProbeRun) -> Result<(), Verdict>,
) -> Result<ProbeRun, Verdict> {
    let hold = req.launch.hold;
    let mut sp = start(probe, req, hold)?;
    let deadline = Instant::now() + timeout;
    let mut run = ProbeRun {
        facts: serde_json::Value::Null,
        host_pid: None,
        exit: None,
    };
    let mut failure: Option<StepError> = None;
    let mut released = !hold;
    let mut outside = Some(outside);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match sp.lines.recv_timeout(left) {
            Ok(line) => match serde_json::from_str::<Message>(&line) {
                Ok(Message::Spawned { pid }) => run.host_pid = Some(pid),
                Ok(Message::Report { facts }) => run.facts = facts,
                Ok(Message::Error(e)) => failure = Some(e),
                Err(e) => {
                    kill_tree(&mut sp.child);
                    return Err(Verdict::error(format!(
                        "probe printed a line that is not a message ({e}): {line}"
                    )));
                }
            },
            Err(mpsc::RecvTimeoutError::Timeout) => {
                kill_tree(&mut sp.child);
                return Err(Verdict::timeout(format!(
                    "the probe did not finish within {:.1} s; its process tree was killed",
                    timeout.as_secs_f64()
                )));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        let have_result = !run.facts.is_null() || failure.is_some();
        if !released && have_result && run.host_pid.is_some() {
            let looked = if failure.is_none() {
                (outside.take().expect("once"))(&run)
            } else {
                Ok(())
            };
            drop(sp.child.stdin.take());
            released = true;
            if let Err(v) = looked {
                kill_tree(&mut sp.child);
                return Err(v);
            }
        }
    }
    let status = sp
        .child
        .wait()
        .map_err(|e| Verdict::error(format!("wait for the probe: {e}")))?;
    let stderr = sp.stderr.join().unwrap_or_default();
    run.exit = status.code();
    if let Some(e) = failure {
        return Err(step_verdict(&e));
    }
    if run.facts.is_null() {
        return Err(Verdict::error(format!(
            "the probe exited ({status}) without a report; stderr: {}",
            stderr.trim()
        )));
    }
    if hold && outside.is_some() {
        return Err(Verdict::error(
            "the probe never said which process to look at",
        ));
    }
    Ok(run)
}

/// The preflight: try to create every namespace type as the checks of a run will
/// (dropped to `opts.rootless_as`, inside a user namespace of their own when `rootless`),
/// and record each type refused in `environment`, with the errno and its likely cause.
/// `Err` says why the probe could not be asked.
pub fn survey(
    opts: &RunOptions,
    rootless: bool,
    environment: &mut crate::environment::Environment,
) -> Result<(), String> {
    let mut cmd = opts.probe.command();
    cmd.arg("preflight");
    if let Some((uid, gid)) = opts.rootless_as {
        cmd.arg("--as").arg(format!("{uid}:{gid}"));
    }
    if rootless {
        cmd.arg("--rootless");
    }
    // Tracked like every probe: a run interrupted meanwhile kills it too.
    use std::os::unix::process::CommandExt;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = crate::cleanup::spawn(&mut cmd).map_err(|e| {
        format!(
            "start the probe {} for the preflight: {}",
            opts.probe.program.display(),
            crate::kit::fact::io_errno(&e)
        )
    })?;
    let (mut line, mut stderr) = (String::new(), String::new());
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut line);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let status = child.wait().map_err(|e| {
        format!(
            "wait for the preflight probe: {}",
            crate::kit::fact::io_errno(&e)
        )
    })?;
    let Ok(Message::Report { facts }) = serde_json::from_str::<Message>(line.trim()) else {
        return Err(format!(
            "the probe's preflight printed no report (exit {status}; stderr: {})",
            stderr.trim()
        ));
    };
    let results: std::collections::BTreeMap<String, Option<String>> = serde_json::from_value(facts)
        .map_err(|e| format!("the probe's preflight report does not parse: {e}"))?;
    for (name, errno) in results {
        if let (Some(ns), Some(errno)) = (crate::ns::Ns::parse(&name), errno) {
            environment.refuse(ns, &errno, rootless || opts.rootless_as.is_some());
        }
    }
    Ok(())
}
