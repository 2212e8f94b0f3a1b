//! Batch grading: a directory of submissions (one folder each), each built and run as a
//! subject in a supervisor process of its own ([`supervise`], `nsconform __grade-one`),
//! one submission at a time: a flawed subject may change the host's hostname until the
//! harness puts it back, and a hostile one may stop or kill the process that grades it,
//! which then is only that submission's supervisor. A build that fails, a build that
//! makes no program, a supervisor that is stopped or killed: each scores 0 with the
//! reason, and grading goes on.

use crate::env::Env;
use crate::harness::RunOptions;
use crate::outcome::{Outcome, Verdict};
use crate::report::Report;
use crate::rubric::Rubric;
use crate::run::PropertyResult;
use crate::subject::{self, SubjectSpec};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How a submission's build went.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Build {
    pub command: String,
    pub ok: bool,
    pub exit: Option<i32>,
    /// The last part of the build's output.
    pub log: String,
    pub duration_ms: u64,
}

/// One graded submission.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Graded {
    pub name: String,
    pub build: Option<Build>,
    pub report: Report,
}

/// What `nsconform grade` needs to know.
#[derive(Clone, Debug)]
pub struct GradeOptions {
    pub build: Option<String>,
    pub run: String,
    pub timeout: Duration,
    pub build_timeout: Duration,
}

impl GradeOptions {
    /// Commands from the rubric's `[submission]`, overridden by explicit values.
    pub fn from_rubric(
        rubric: &Rubric,
        build: Option<String>,
        run: Option<String>,
        timeout: Option<f64>,
    ) -> Result<Self, String> {
        let run = run
            .or_else(|| rubric.submission.run.clone())
            .ok_or("no run command: give --run or set [submission] run in the rubric")?;
        let secs = timeout.or(rubric.submission.timeout).unwrap_or(30.0);
        let timeout = crate::contain::timeout_from_secs(secs, "the subject timeout")?;
        Ok(GradeOptions {
            build: build.or_else(|| rubric.submission.build.clone()),
            run,
            timeout,
            build_timeout: Duration::from_secs(300),
        })
    }
}

/// The submission folders of `dir`, sorted by name (hidden folders skipped).
pub fn submissions(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .filter(|e| e.path().is_dir() && !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    v.sort();
    Ok(v)
}

fn run_build(dir: &Path, command: &str, timeout: Duration) -> Build {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("exec 2>&1; {command}"))
        .current_dir(dir)
        .stdin(Stdio::null());
    match crate::contain::run_contained(cmd, timeout, crate::contain::Limits::default(), 8000) {
        Err(e) => Build {
            command: command.into(),
            ok: false,
            exit: None,
            log: format!("could not start the build: {e}"),
            duration_ms: 0,
        },
        Ok(c) => {
            let mut log = c.stdout.tail_text(8000);
            if c.timed_out {
                log.push_str(&format!(
                    "\n[build killed after {} s, with everything it started]",
                    timeout.as_secs()
                ));
            }
            Build {
                command: command.into(),
                ok: c.exit == Some(0),
                exit: c.exit,
                log,
                duration_ms: c.duration.as_millis() as u64,
            }
        }
    }
}

/// What a supervisor process is asked to do: build and run one submission. The main
/// `grade` process hands it over as JSON on the supervisor's command line.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Job {
    /// The submission folder.
    pub dir: PathBuf,
    pub build: Option<String>,
    /// The run command, split into words (`{probe}` not yet expanded).
    pub argv: Vec<String>,
    pub timeout_ms: u64,
    pub build_timeout_ms: u64,
    /// The IDs of the properties to judge.
    pub props: Vec<String>,
}

impl Job {
    /// The job of the submission folder `dir`.
    pub fn new(dir: &Path, g: &GradeOptions, argv: &[String], props: &[&crate::Property]) -> Job {
        Job {
            dir: dir.to_path_buf(),
            build: g.build.clone(),
            argv: argv.to_vec(),
            timeout_ms: g.timeout.as_millis() as u64,
            build_timeout_ms: g.build_timeout.as_millis() as u64,
            props: props.iter().map(|p| p.id.to_string()).collect(),
        }
    }

    /// The submission's name: its folder's name.
    pub fn name(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn properties(&self) -> Vec<&'static crate::Property> {
        self.props
            .iter()
            .filter_map(|id| crate::catalogue::find(id))
            .filter(|p| p.subject.is_some())
            .collect()
    }
}

/// The properties of `rubric` that apply to subjects.
pub fn subject_properties(rubric: &Rubric) -> Vec<&'static crate::Property> {
    rubric
        .items
        .iter()
        .filter_map(|i| crate::catalogue::find(&i.id))
        .filter(|p| p.subject.is_some())
        .collect()
}

/// The prefix of the line a supervisor prints on stdout when the build is done (the
/// run starts), followed by the [`Build`] (or `null`) as JSON.
pub const BUILT_PREFIX: &str = "nsconform-grade built ";
/// The prefix of the line that carries the supervisor's [`Graded`] as JSON.
pub const RESULT_PREFIX: &str = "nsconform-grade result ";

/// A submission graded 0: every property fails with `detail`.
pub fn failed(
    name: &str,
    build: Option<Build>,
    props: &[&'static crate::Property],
    env: &Env,
    detail: &str,
    actual: &str,
) -> Graded {
    let verdict = Verdict::fail(detail, "the submission built, ran and reported", actual);
    let results = PropertyResult::all(props, &verdict);
    Graded {
        name: name.into(),
        build,
        report: Report::new(env, results, 0),
    }
}

/// Grade one submission in this process (the supervisor): build it, check that the run
/// command's program exists, run it as a subject. `on_built` is called when the build is
/// done. The score is left to the caller (it holds the rubric).
pub fn grade_one(
    job: &Job,
    env: &Env,
    opts: &RunOptions,
    on_built: &dyn Fn(Option<&Build>),
) -> Graded {
    let name = job.name();
    let props = job.properties();
    let start = Instant::now();
    let build = job
        .build
        .as_ref()
        .map(|cmd| run_build(&job.dir, cmd, Duration::from_millis(job.build_timeout_ms)));
    on_built(build.as_ref());
    if let Some(b) = build.as_ref().filter(|b| !b.ok) {
        let exit = b
            .exit
            .map_or_else(|| "was killed".to_string(), |c| format!("exited {c}"));
        let detail = format!(
            "the submission did not build (`{}` {exit}); see the build log",
            b.command
        );
        return failed(&name, build.clone(), &props, env, &detail, "build failed");
    }
    // The build makes the program: a missing one is the student's failure.
    if let Err(why) = subject::check_first_word(&job.argv, &job.dir) {
        let word = job.argv.first().map_or("", String::as_str);
        let detail = format!(
            "the run command cannot start: {why}; your build produced no runnable `{word}`"
        );
        return failed(&name, build, &props, env, &detail, "no program to run");
    }
    let spec = SubjectSpec {
        bundle: None,
        limits: crate::contain::Limits::default(),
        argv: job.argv.clone(),
        timeout: Duration::from_millis(job.timeout_ms),
        probe_into: None,
        cwd: Some(job.dir.clone()),
    };
    let run = subject::run_subject(&spec, env, opts);
    let results = subject::judge(&run, &props);
    let mut report = Report::new(env, results, start.elapsed().as_millis() as u64);
    report.subject = Some(run);
    Graded {
        name,
        build,
        report,
    }
}

/// How long the main process waits for a supervisor beyond the timeouts it was given
/// (starting the observer, killing and cleaning up).
pub const SLACK: Duration = Duration::from_secs(10);

/// How a supervisor ended without a result.
#[derive(Clone, Debug, PartialEq)]
pub struct NoResult {
    /// Why: stopped, killed, no result, overran.
    pub why: String,
    /// The build, when the supervisor got to report it.
    pub build: Option<Build>,
}

/// Run the supervisor `cmd` (which grades one submission and prints a [`BUILT_PREFIX`]
/// and a [`RESULT_PREFIX`] line on stdout) in a session of its own, and wait for its
/// result: at most `build_timeout` + [`SLACK`] for the build, then `timeout` +
/// [`SLACK`] for the run. `Err` says why there is no result: the supervisor was stopped
/// (it is killed as soon as that is seen), killed, ended without a result, or overran.
/// This process becomes a child subreaper (what a killed supervisor leaves is
/// reparented here), and every process under the supervisor is killed and reaped
/// before this returns.
pub fn supervise(
    mut cmd: Command,
    build_timeout: Duration,
    timeout: Duration,
) -> Result<Graded, NoResult> {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let _ = nix::sys::prctl::set_child_subreaper(true);
    let no = |why: String| NoResult { why, build: None };
    cmd.stdin(Stdio::null()).stdout(Stdio::piped());
    // SAFETY: setsid(2) is async-signal-safe. The supervisor leads a session and process
    // group of its own, so that nothing a submission signals by group or session
    // reaches the main process.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    // Registered: an interrupted grading kills the supervisor's session (and then undoes
    // what its dead run left, see `cleanup::interrupt`).
    let mut child = crate::cleanup::spawn(&mut cmd).map_err(|e| {
        no(format!(
            "start the grader process: {}",
            crate::kit::fact::io_errno(&e)
        ))
    })?;
    let pid = child.id() as i32;
    let pidfd = crate::probe::sys::pidfd_open(pid).ok();
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        // Bounded: a result is a few hundred KiB at most.
        let r = std::io::BufReader::new(std::io::Read::take(stdout, 64 << 20));
        for line in r.lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut limit = build_timeout + SLACK;
    let mut deadline = Instant::now() + limit;
    let mut result = None;
    let mut build = None;
    // The supervisor prints exactly one built line, then one result line. Anything else
    // (a second result, a line glued to garbage) is someone else writing to its stdout:
    // no result is believed then.
    let mut tampered = false;
    let mut lines = 0;
    let mut take_line = |line: String, deadline: &mut Instant, limit: &mut Duration| {
        lines += 1;
        if let Some(json) = line.strip_prefix(BUILT_PREFIX).filter(|_| lines == 1) {
            *limit = timeout + SLACK;
            *deadline = Instant::now() + *limit;
            build = serde_json::from_str::<Option<Build>>(json).ok().flatten();
        } else if let Some(json) = line.strip_prefix(RESULT_PREFIX).filter(|_| lines == 2) {
            result = serde_json::from_str::<Graded>(json).ok();
        } else {
            tampered = true;
        }
    };
    let exited = || match &pidfd {
        Some(fd) => {
            use std::os::fd::AsFd;
            let mut fds = [nix::poll::PollFd::new(
                fd.as_fd(),
                nix::poll::PollFlags::POLLIN,
            )];
            nix::poll::poll(&mut fds, nix::poll::PollTimeout::ZERO).is_ok_and(|n| n > 0)
        }
        None => proc_state(pid).map_or(true, |s| s == 'Z'),
    };
    let mut stopped_seen = 0;
    let problem = loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(line) => {
                take_line(line, &mut deadline, &mut limit);
                continue;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                // Its stdout closed: it ended (or closed it); wait for it to exit.
                if crate::contain::wait_exit_until(pid, deadline) {
                    break None;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        if exited() {
            break None;
        }
        // A stopped supervisor (SIGSTOP from the submission) does not resume by itself.
        if session_stopped(pid) {
            stopped_seen += 1;
            if stopped_seen >= 2 {
                break Some(
                    "the submission stopped its grader process (SIGSTOP); it was killed".into(),
                );
            }
        } else {
            stopped_seen = 0;
        }
        if Instant::now() >= deadline {
            break Some(format!(
                "the grader process did not finish within {} s; it was killed",
                limit.as_secs()
            ));
        }
    };
    // Whatever is left of its session goes (the group's id stays reserved until its
    // leader is reaped, so this cannot hit another group).
    let inner = children_of(pid);
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    for p in &inner {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*p),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let status = child.wait().ok();
    // The lines it wrote before it ended.
    let grace = Instant::now() + Duration::from_millis(500);
    while let Ok(line) = rx.recv_timeout(grace.saturating_duration_since(Instant::now())) {
        take_line(line, &mut deadline, &mut limit);
    }
    // What ran under it was reparented to us (the subreaper): killed and reaped, so
    // that the caller can clean up after it.
    reap_children(Duration::from_secs(2));
    let no = |why: String| NoResult {
        why,
        build: build.clone(),
    };
    if let Some(p) = problem {
        return Err(no(p));
    }
    if tampered {
        return Err(no(
            "the grader process's output was tampered with (lines it did not write)".into(),
        ));
    }
    // The outer supervisor ends with 128 + the signal that killed the inner one.
    let signal = status.and_then(|s| {
        s.signal()
            .or_else(|| s.code().filter(|c| (129..160).contains(c)).map(|c| c - 128))
    });
    match (result, signal, status) {
        (Some(g), None, Some(s)) if s.success() => Ok(g),
        (_, Some(sig), _) => Err(no(format!(
            "the submission killed its grader process ({})",
            signal_name(sig)
        ))),
        (_, None, Some(s)) => Err(no(format!(
            "the grader process ended without a result (exit status {})",
            s.code().unwrap_or(-1)
        ))),
        (_, None, None) => Err(no("the grader process could not be waited for".into())),
    }
}

/// Kill and reap every child of this process, until there is none or `within` passed.
fn reap_children(within: Duration) {
    let until = Instant::now() + within;
    loop {
        let kids = children_of(std::process::id() as i32);
        if kids.is_empty() || Instant::now() >= until {
            return;
        }
        for k in kids {
            let pid = nix::unistd::Pid::from_raw(k);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn signal_name(sig: i32) -> String {
    nix::sys::signal::Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {sig}"))
}

/// Children of process `pid` (all its threads).
fn children_of(pid: i32) -> Vec<i32> {
    crate::kit::proc::children(&pid.to_string())
}

/// The state letter of `/proc/<pid>/stat` (`R`, `S`, `T` stopped, `Z` zombie...);
/// `None` when there is no such process.
fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold anything, even ')': the state follows the last ')'.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// Whether the supervisor `pid` or one of its children is stopped.
fn session_stopped(pid: i32) -> bool {
    std::iter::once(pid)
        .chain(children_of(pid))
        .any(|p| proc_state(p) == Some('T'))
}

/// The host's names before a supervisor ran, to put back if it was killed before it
/// could clean up after its subject.
pub struct HostBefore {
    hostname: crate::host::NameRead,
    domainname: crate::host::NameRead,
}

impl HostBefore {
    pub fn take() -> HostBefore {
        HostBefore {
            hostname: crate::host::hostname(),
            domainname: crate::host::domainname(),
        }
    }

    /// After a supervisor that did not finish: undo what its runs left (the dead run's
    /// state file, cgroups, scratch mounts and IPC objects named after it, through
    /// [`crate::contain::sweep_stale`]) and put the host name and domain name back (a
    /// subject may have set them to anything). Returns what was done.
    pub fn restore(&self) -> Vec<String> {
        let mut done = crate::contain::sweep_stale();
        // A name unreadable before the supervisor ran has nothing to be put back to.
        if let Some(h) = self.hostname.value() {
            if crate::host::hostname().value() != Some(h) && nix::unistd::sethostname(h).is_ok() {
                done.push(format!("hostname put back to {h}"));
            }
        }
        if let Some(d) = self.domainname.value() {
            if crate::host::domainname().value() != Some(d)
                && crate::probe::sys::set_domainname(d).is_ok()
            {
                done.push(format!("domain name put back to {d}"));
            }
        }
        done
    }
}

/// Grade the submissions `subs` one at a time, each in a supervisor process that
/// `supervisor(job)` makes (`nsconform __grade-one JOB`), scored with `rubric`.
/// `graded` is called after each submission with every one graded so far (to write
/// its files at once); its error stops the grading. Returns them all.
pub fn grade_all(
    subs: &[PathBuf],
    g: &GradeOptions,
    argv: &[String],
    rubric: &Rubric,
    env: &Env,
    supervisor: &dyn Fn(&Job) -> Command,
    graded: &mut dyn FnMut(&[Graded]) -> Result<(), String>,
) -> Result<Vec<Graded>, String> {
    let props = subject_properties(rubric);
    let mut all = Vec::new();
    for dir in subs {
        let job = Job::new(dir, g, argv, &props);
        let before = HostBefore::take();
        let build_timeout = if job.build.is_some() {
            g.build_timeout
        } else {
            Duration::ZERO
        };
        let mut one = match supervise(supervisor(&job), build_timeout, g.timeout) {
            Ok(one) => one,
            Err(no) => {
                let restored = before.restore();
                let mut detail = no.why;
                if !restored.is_empty() {
                    detail.push_str(&format!(
                        "; what it left was cleaned up: {}",
                        restored.join("; ")
                    ));
                }
                failed(&job.name(), no.build, &props, env, &detail, "no result")
            }
        };
        one.name = job.name();
        one.report.score = Some(rubric.score(&one.report.results));
        all.push(one);
        graded(&all)?;
    }
    Ok(all)
}

/// The class summary as CSV: one row per submission, one column per rubric item (the
/// outcome), then score and max.
pub fn summary_csv(graded: &[Graded], rubric: &Rubric) -> String {
    let mut s = String::from("submission,build");
    for i in &rubric.items {
        s.push(',');
        s.push_str(&i.id);
    }
    s.push_str(",score,max\n");
    for g in graded {
        s.push_str(&csv_field(&g.name));
        s.push(',');
        s.push_str(match &g.build {
            None => "none",
            Some(b) if b.ok => "ok",
            Some(_) => "failed",
        });
        for i in &rubric.items {
            s.push(',');
            let o = g
                .report
                .results
                .iter()
                .find(|r| r.id == i.id)
                .map(|r| r.verdict.outcome);
            s.push_str(o.map_or("-", Outcome::as_str));
        }
        let score = g.report.score.unwrap_or(crate::rubric::Score {
            earned: 0.0,
            max: rubric.max_score(),
        });
        s.push_str(&format!(",{},{}\n", score.earned, score.max));
    }
    s
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The class summary as a readable table (submission × property); submission names
/// (folder names chosen by students) are escaped for the terminal.
pub fn summary_table(graded: &[Graded], rubric: &Rubric) -> String {
    use crate::report::escape_line;
    let namew = graded
        .iter()
        .map(|g| escape_line(&g.name).chars().count())
        .max()
        .unwrap_or(10)
        .max(10);
    let mut s = format!("{:<namew$}  {:<6}", "submission", "build");
    for i in &rubric.items {
        s.push_str(&format!("  {:<8}", i.id));
    }
    s.push_str("  score\n");
    for g in graded {
        let build = match &g.build {
            None => "-",
            Some(b) if b.ok => "ok",
            Some(_) => "FAILED",
        };
        s.push_str(&format!("{:<namew$}  {:<6}", escape_line(&g.name), build));
        for i in &rubric.items {
            let o = g
                .report
                .results
                .iter()
                .find(|r| r.id == i.id)
                .map(|r| r.verdict.outcome);
            s.push_str(&format!("  {:<8}", o.map_or("-", Outcome::as_str)));
        }
        let score = g.report.score.unwrap_or(crate::rubric::Score {
            earned: 0.0,
            max: rubric.max_score(),
        });
        s.push_str(&format!("  {}/{}\n", score.earned, score.max));
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn grade_table_escapes_submission_names() {
        let report = crate::report::tests::hostile_report();
        let rubric = crate::rubric::Rubric::one_point_each(&report.results);
        let graded = [super::Graded {
            name: "alice\x1b[2K\u{202e}".into(),
            build: None,
            report,
        }];
        let table = super::summary_table(&graded, &rubric);
        assert!(
            !table.contains('\x1b') && !table.contains('\u{202e}'),
            "{table:?}"
        );
        assert!(table.contains("alice\\x1b[2K\\u{202e}  -"), "{table}");
        assert!(table.contains("  fail"), "{table}");
    }
}
