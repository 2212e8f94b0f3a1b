//! Shared helpers of the nsconform conformance tests.
//!
//! The tests never create namespaces themselves (libtest runs them on worker threads,
//! where `unshare(CLONE_NEWUSER)` fails with EINVAL): they drive the harness, which starts
//! `nsconform` as the single-threaded probe (`nsconform __probe ...`), or run the
//! `nsconform` binary with duct.

use nsconform_core::catalogue::{Control, Property};
use nsconform_core::env::Env;
use nsconform_core::harness::{ProbeCommand, RunOptions};
use nsconform_core::run::{self, PropertyResult};
use std::path::PathBuf;

/// The uid/gid the rootless mode drops to when the tests run as root.
pub const ROOTLESS_ID: (u32, u32) = (65534, 65534);

/// How the checks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// With real root (needs the tests to run as root).
    Privileged,
    /// As an unprivileged uid: the probe drops to [`ROOTLESS_ID`] when the tests run as
    /// root, or simply runs as the invoking user otherwise.
    Rootless,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Privileged => "privileged",
            Mode::Rootless => "rootless",
        }
    }

    /// Why this machine cannot run this mode, or `None` when it can.
    pub fn unavailable(self) -> Option<&'static str> {
        match self {
            Mode::Privileged if !nix::unistd::geteuid().is_root() => {
                Some("privileged mode needs the tests to run as root")
            }
            _ => None,
        }
    }

    /// Options and environment for this mode (detected once per process), or `None`
    /// when this machine cannot run it ([`Mode::unavailable`] says why).
    pub fn setup(self) -> Option<(RunOptions, Env)> {
        static SETUP: [std::sync::OnceLock<(RunOptions, Env)>; 2] =
            [std::sync::OnceLock::new(), std::sync::OnceLock::new()];
        if self.unavailable().is_some() {
            return None;
        }
        let cell = &SETUP[self as usize];
        Some(
            cell.get_or_init(|| {
                let mut opts = RunOptions::new(probe());
                if self == Mode::Rootless && nix::unistd::geteuid().is_root() {
                    opts.rootless_as = Some(ROOTLESS_ID);
                }
                let env = Env::detect(opts.rootless_as.map(|(u, _)| u));
                (opts, env)
            })
            .clone(),
        )
    }
}

/// `target/<profile>/` of this build.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("test binaries live in target/<profile>/deps")
        .to_path_buf()
}

/// The probe command of the tests: the `nsconform` binary built with them, as
/// `nsconform __probe`.
pub fn probe() -> ProbeCommand {
    ProbeCommand::new(cli())
}

/// Path of the `nsconform` CLI built with the tests.
pub fn cli() -> PathBuf {
    let p = target_dir().join("nsconform");
    assert!(
        p.is_file(),
        "{} missing: build the binaries first: `cargo build --workspace --bins` (ci/test does)",
        p.display()
    );
    p
}

/// Run one property in a mode, optionally under a negative control.
pub fn run_one(
    p: &'static Property,
    mode: Mode,
    control: Option<Control>,
) -> Option<PropertyResult> {
    let (opts, env) = mode.setup()?;
    Some(run::run_property(p, &env, &opts, control))
}

/// Run the whole catalogue in a mode.
pub fn run_catalogue(mode: Mode) -> Option<Vec<PropertyResult>> {
    let (opts, env) = mode.setup()?;
    let all: Vec<&'static Property> = nsconform_core::catalogue::all().iter().collect();
    Some(run::run_all(&all, &env, &opts, &|_| {}))
}

/// Name of the host-global lock every test that changes host state (even briefly) holds,
/// for `#[serial_test::file_serial(host_state)]`; works under cargo test and nextest.
pub const HOST_LOCK: &str = "host_state";

/// The kernel series whose behaviour the unsuffixed snapshots record (the machine the
/// suite is developed and CI-tested on).
pub const REFERENCE_SERIES: &str = "6.18";

/// `""` on the reference series, `"@<major>.<minor>"` on any other: snapshot names are
/// per kernel series where behaviour legitimately differs.
pub fn series_suffix() -> String {
    static SUFFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SUFFIX
        .get_or_init(|| match Env::detect(None).version {
            Some(v) if format!("{}.{}", v.0, v.1) != REFERENCE_SERIES => {
                format!("@{}.{}", v.0, v.1)
            }
            _ => String::new(),
        })
        .clone()
}

/// The properties that apply to subjects.
pub fn subject_props() -> Vec<&'static Property> {
    nsconform_core::catalogue::all()
        .iter()
        .filter(|p| p.subject.is_some())
        .collect()
}

/// Run a subject command line (split like a shell) with the probe inside and judge it:
/// the run and the outcome per property ID.
pub fn run_subject_cmd(
    cmd: &str,
    timeout: std::time::Duration,
) -> (
    nsconform_core::subject::SubjectRun,
    std::collections::BTreeMap<String, nsconform_core::Outcome>,
) {
    run_subject(
        &nsconform_core::subject::split_command(cmd).expect("a valid command line"),
        timeout,
    )
}

/// Run a subject (its words) with the probe inside and judge it: the run and the
/// outcome per property ID.
pub fn run_subject(
    argv: &[String],
    timeout: std::time::Duration,
) -> (
    nsconform_core::subject::SubjectRun,
    std::collections::BTreeMap<String, nsconform_core::Outcome>,
) {
    use nsconform_core::subject;
    let spec = subject::SubjectSpec {
        limits: nsconform_core::contain::Limits::default(),
        argv: argv.to_vec(),
        timeout,
        probe_into: None,
        bundle: None,
        cwd: None,
    };
    let run = subject::run_subject(&spec, &Env::detect(None), &RunOptions::new(probe()));
    let verdicts = subject::judge(&run, &subject_props())
        .into_iter()
        .map(|r| (r.id, r.verdict.outcome))
        .collect();
    (run, verdicts)
}

/// Whether the tests run as root.
pub fn root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// What a finished command gave: its exit status (-1 when killed by a signal), stdout
/// and stderr (lossily decoded).
pub struct Captured {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Captured {
    pub fn success(&self) -> bool {
        self.code == 0
    }

    /// stdout then stderr, as one text (for assertion messages and searches).
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Run `e` to its end, capturing stdout and stderr, whatever its exit status.
pub fn capture(e: duct::Expression) -> Captured {
    let out = e
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .expect("the command starts");
    Captured {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run the `nsconform` CLI built with the tests: exit status (-1 when killed), stdout,
/// stderr.
pub fn nsconform(args: &[&str]) -> (i32, String, String) {
    let c = capture(duct::cmd(cli(), args));
    (c.code, c.stdout, c.stderr)
}

/// The processes on this machine with `arg` as one whole word of their command line.
pub fn running_with_arg(arg: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.split(|&b| b == 0).any(|a| a == arg.as_bytes()))
        })
        .collect()
}

/// `cmd` started as an unprivileged user when the tests run as root (a rootless
/// container started by root would map root inside to root outside).
pub fn unprivileged(cmd: &str) -> String {
    if nix::unistd::geteuid().is_root() {
        format!("setpriv --reuid 100000 --regid 100000 --clear-groups {cmd}")
    } else {
        cmd.to_string()
    }
}

/// Stop a test that needs root when it does not run as root: a failure that says so, not
/// a pass. Tests that need root are also compiled as ignored for builds by a normal user
/// (`#[cfg_attr(not(nsconform_root), ignore = "...")]`, tests/build.rs), so this fires
/// only for a build made as root and run as someone else.
pub fn require_root(why: &str) {
    assert!(
        root(),
        "this test needs root ({why}); it was built as root but runs as uid {}",
        nix::unistd::geteuid()
    );
}

/// Stop a test whose program `tool` is not installed: a failure naming the package to
/// install (ci/apt-packages.txt, which `ci/test` installs), not a pass.
pub fn require_tool(tool: &str, package: &str) {
    assert!(
        nsconform_core::spec::on_path(tool),
        "`{tool}` is not installed: apt-get install {package} (ci/test installs ci/apt-packages.txt)"
    );
}

/// The results of a saved JSON report that neither passed nor skipped, one per line (for
/// assertion messages: which property broke a run that should have passed).
pub fn not_passed(report: &std::path::Path) -> String {
    let Ok(text) = std::fs::read_to_string(report) else {
        return format!("no report at {}", report.display());
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return format!("{} is not JSON", report.display());
    };
    v["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["outcome"] != "pass" && r["outcome"] != "skip")
        .map(|r| format!("{} {}: {}", r["id"], r["outcome"], r["detail"]))
        .collect::<Vec<_>>()
        .join("\n")
}
