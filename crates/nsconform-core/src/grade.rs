//! Batch grading: a directory of submissions (one folder each) is built in parallel and
//! each built program is run as a subject, one at a time (a flawed subject may change
//! the host's hostname until the harness puts it back, so runs never overlap). A build
//! that fails scores 0 with its log attached; grading goes on.

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
use std::sync::Mutex;
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
    pub jobs: usize,
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
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
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

/// Grade every submission of `dir`. `progress` is called once per finished submission.
pub fn grade_all(
    dir: &Path,
    g: &GradeOptions,
    rubric: &Rubric,
    env: &Env,
    opts: &RunOptions,
    progress: &(dyn Fn(&Graded) + Sync),
) -> Result<Vec<Graded>, String> {
    let subs =
        submissions(dir).map_err(|e| format!("list the submissions in {}: {e}", dir.display()))?;
    let argv = subject::split_command(&g.run).map_err(|e| format!("run command: {e}"))?;
    let props: Vec<&'static crate::Property> = rubric
        .items
        .iter()
        .filter_map(|i| crate::catalogue::find(&i.id))
        .filter(|p| p.subject.is_some())
        .collect();
    let run_lock = Mutex::new(());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..g.jobs.max(1).min(subs.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(path) = subs.get(i) else { break };
                let graded = grade_one(path, g, &argv, &props, rubric, env, opts, &run_lock);
                progress(&graded);
                results.lock().expect("lock").push((i, graded));
            });
        }
    });
    let mut v = results.into_inner().expect("lock");
    v.sort_by_key(|(i, _)| *i);
    Ok(v.into_iter().map(|(_, g)| g).collect())
}

#[allow(clippy::too_many_arguments)]
fn grade_one(
    path: &Path,
    g: &GradeOptions,
    argv: &[String],
    props: &[&'static crate::Property],
    rubric: &Rubric,
    env: &Env,
    opts: &RunOptions,
    run_lock: &Mutex<()>,
) -> Graded {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let start = Instant::now();
    let build = g
        .build
        .as_ref()
        .map(|cmd| run_build(path, cmd, g.build_timeout));
    let mut report = if let Some(b) = build.as_ref().filter(|b| !b.ok) {
        let results = props
            .iter()
            .map(|p| PropertyResult {
                id: p.id.into(),
                title: p.title.into(),
                man: p.man.into(),
                control: None,
                verdict: Verdict::fail(
                    format!(
                        "the submission did not build (`{}` exited {:?}); see the build log",
                        b.command, b.exit
                    ),
                    "a successful build",
                    "build failed",
                ),
                duration_ms: 0,
            })
            .collect();
        Report::new(env, results, start.elapsed().as_millis() as u64)
    } else {
        let spec = SubjectSpec {
            bundle: None,
            limits: crate::contain::Limits::default(),
            argv: argv.to_vec(),
            timeout: g.timeout,
            probe_into: None,
            cwd: Some(path.to_path_buf()),
        };
        let run = {
            let _one_at_a_time = run_lock.lock().unwrap_or_else(|e| e.into_inner());
            subject::run_subject(&spec, env, opts)
        };
        let results = subject::judge(&run, props);
        let mut r = Report::new(env, results, start.elapsed().as_millis() as u64);
        r.subject = Some(run);
        r
    };
    report.score = Some(rubric.score(&report.results));
    Graded {
        name,
        build,
        report,
    }
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
