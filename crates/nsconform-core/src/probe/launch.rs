//! The built-in launcher: builds the namespaces a [`Launch`] asks for, then forks the
//! process that runs a property's inside half (so that it is PID 1 of a new PID
//! namespace: unshare(CLONE_NEWPID) moves only later children, pid_namespaces(7)).

use super::sys::{self, StepError, StepExt};
use super::InsideFn;
use super::{emit, Inside, Message, Request};
use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult, Gid, Uid};
use serde::{Deserialize, Serialize};

pub use super::fault::Call;

/// `fault-<call>`, indexed by [`Call`] (the order of [`Call::ALL`]; a unit test checks).
const FAULT_NAMES: [&str; Call::ALL.len()] = [
    "fault-setns",
    "fault-ns-ioctl",
    "fault-unshare",
    "fault-clone-ns",
    "fault-mount",
    "fault-sethostname",
    "fault-uname",
    "fault-sysv-ipc",
    "fault-mqueue",
    "fault-socket",
    "fault-bind-connect",
    "fault-pidfd",
    "fault-kill",
    "fault-wait",
    "fault-getpid",
    "fault-setid",
    "fault-getid",
    "fault-capabilities",
    "fault-sleep",
    "fault-timerfd",
    "fault-timer",
    "fault-sysinfo",
    "fault-file-handle",
    "fault-keys",
];

/// A negative control: a launcher variant that lacks one piece of isolation, or a
/// syscall fault that makes the kernel appear to misbehave. A property lists the
/// controls whose absence it must detect; the tests run each and require `fail` at the
/// property's own assertion. Written by its name (`no-new-pid`, `fault-setns`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Control {
    /// No CLONE_NEWPID.
    NoNewPid,
    /// New PID namespace but the host's /proc is left mounted.
    NoProcMount,
    /// No CLONE_NEWNS.
    NoNewMnt,
    /// New mount namespace but `/` left with its propagation (not made rprivate).
    SharedRoot,
    NoNewUts,
    NoNewIpc,
    NoNewNet,
    /// New user namespace but no uid_map/gid_map written.
    NoUserMap,
    NoNewUser,
    NoNewCgroup,
    NoNewTime,
    /// Fault injection: the calls of the group fail with ENOTRECOVERABLE in the inside
    /// process.
    Fault(Call),
}

impl Serialize for Control {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Control {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Control::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown control `{name}`")))
    }
}

impl schemars::JsonSchema for Control {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Control".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Control::all().map(|c| c.name()).collect();
        schemars::json_schema!({
            "description": "A negative control, by name: a launcher variant that lacks one piece of isolation (`no-new-pid`), or a syscall fault (`fault-setns`).",
            "type": "string",
            "enum": names,
        })
    }
}

impl Control {
    /// The controls that take one piece of isolation from the launcher.
    pub const NAMESPACE: [Control; 11] = [
        Control::NoNewPid,
        Control::NoProcMount,
        Control::NoNewMnt,
        Control::SharedRoot,
        Control::NoNewUts,
        Control::NoNewIpc,
        Control::NoNewNet,
        Control::NoUserMap,
        Control::NoNewUser,
        Control::NoNewCgroup,
        Control::NoNewTime,
    ];

    /// Every control: the namespace ones, then a fault of each call group.
    pub fn all() -> impl Iterator<Item = Control> {
        Control::NAMESPACE
            .into_iter()
            .chain(Call::ALL.into_iter().map(Control::Fault))
    }

    /// Every control that removes one new namespace: for properties that create all
    /// types and must notice any one missing.
    pub const EVERY_NEW_NAMESPACE: &'static [Control] = &[
        Control::NoNewUser,
        Control::NoNewPid,
        Control::NoNewMnt,
        Control::NoNewUts,
        Control::NoNewIpc,
        Control::NoNewNet,
        Control::NoNewCgroup,
        Control::NoNewTime,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Control::NoNewPid => "no-new-pid",
            Control::NoProcMount => "no-proc-mount",
            Control::NoNewMnt => "no-new-mnt",
            Control::SharedRoot => "shared-root",
            Control::NoNewUts => "no-new-uts",
            Control::NoNewIpc => "no-new-ipc",
            Control::NoNewNet => "no-new-net",
            Control::NoUserMap => "no-user-map",
            Control::NoNewUser => "no-new-user",
            Control::NoNewCgroup => "no-new-cgroup",
            Control::NoNewTime => "no-new-time",
            Control::Fault(call) => FAULT_NAMES[call as usize],
        }
    }

    /// What the control takes away, for a person (`nsconform explain`, the docs).
    pub fn describe(self) -> String {
        let no = |flag: &str, ns: &str| {
            format!("the launcher omits {flag}: the probe stays in the harness's {ns} namespace")
        };
        match self {
            Control::NoNewPid => no("CLONE_NEWPID", "PID"),
            Control::NoProcMount => {
                "a new PID namespace, but the host's /proc is left mounted (no mount of a \
                 new procfs)"
                    .into()
            }
            Control::NoNewMnt => no("CLONE_NEWNS", "mount"),
            Control::SharedRoot => {
                "a new mount namespace, but / keeps its shared propagation (not made \
                 rprivate)"
                    .into()
            }
            Control::NoNewUts => no("CLONE_NEWUTS", "UTS"),
            Control::NoNewIpc => no("CLONE_NEWIPC", "IPC"),
            Control::NoNewNet => no("CLONE_NEWNET", "network"),
            Control::NoUserMap => "a new user namespace, but no uid_map or gid_map written".into(),
            Control::NoNewUser => no("CLONE_NEWUSER", "user"),
            Control::NoNewCgroup => no("CLONE_NEWCGROUP", "cgroup"),
            Control::NoNewTime => no("CLONE_NEWTIME", "time"),
            Control::Fault(call) => call.describe(),
        }
    }

    /// The syscall fault this control injects, for the fault-injection kind.
    pub fn fault(self) -> Option<Call> {
        match self {
            Control::Fault(call) => Some(call),
            _ => None,
        }
    }

    pub fn parse(name: &str) -> Option<Control> {
        Control::all().find(|c| c.name() == name)
    }

    /// Why this control means nothing on the rootless path, if it does not: there the
    /// probe's privilege comes from the user namespace it creates.
    pub fn not_rootless(self) -> Option<&'static str> {
        match self {
            Control::NoNewUser => Some(
                "rootless, the probe's every privilege comes from its own user namespace: \
                 without one each namespace it creates is refused (EPERM) before any \
                 isolation can be missing",
            ),
            Control::SharedRoot => Some(
                "a mount namespace owned by a less privileged user namespace gets its \
                 shared mounts as slaves (mount_namespaces(7)): rootless, nothing \
                 propagates to the host even from a shared /",
            ),
            _ => None,
        }
    }
}

/// Which namespaces to create and how. Built by checks with the builder methods, then
/// weakened by a negative [`Control`] where one is being exercised.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Launch {
    pub user: bool,
    /// Write `0 <outer uid> 1` to uid_map (and the same for gid_map, after `deny` to
    /// setgroups), so the inside process is root of its user namespace.
    pub map_root: bool,
    pub pid: bool,
    /// Mount a fresh procfs on /proc in the inside process (needs `pid` and `mnt`).
    pub mount_proc: bool,
    pub mnt: bool,
    /// Make `/` recursively private before anything is mounted (mount_namespaces(7)).
    pub private_root: bool,
    pub uts: bool,
    pub ipc: bool,
    pub net: bool,
    pub cgroup: bool,
    pub time: bool,
    /// CLOCK_MONOTONIC and CLOCK_BOOTTIME offsets in seconds written to
    /// timens_offsets after unshare(CLONE_NEWTIME) (time_namespaces(7)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_offsets: Option<(i64, i64)>,
    /// uid and gid the probe switches to before anything else (rootless emulation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_to: Option<(u32, u32)>,
    /// Keep the inside process alive after its report until stdin is closed, so the
    /// harness can look at it from outside.
    pub hold: bool,
    /// A scratch directory made by the harness for this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// A syscall fault installed in the inside process right before its half runs
    /// (fault-injection controls, [`super::fault`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Call>,
}

impl Launch {
    /// No new namespaces at all.
    pub fn host() -> Self {
        Launch::default()
    }
    /// A new user namespace with root mapped to the caller.
    pub fn user(mut self) -> Self {
        self.user = true;
        self.map_root = true;
        self
    }
    /// A new PID namespace whose first process gets a fresh /proc (implies a private
    /// mount namespace).
    pub fn pid(mut self) -> Self {
        self.pid = true;
        self.mount_proc = true;
        self.mnt()
    }
    /// A new mount namespace with `/` made rprivate.
    pub fn mnt(mut self) -> Self {
        self.mnt = true;
        self.private_root = true;
        self
    }
    pub fn uts(mut self) -> Self {
        self.uts = true;
        self
    }
    pub fn ipc(mut self) -> Self {
        self.ipc = true;
        self
    }
    pub fn net(mut self) -> Self {
        self.net = true;
        self
    }
    pub fn cgroup(mut self) -> Self {
        self.cgroup = true;
        self
    }
    pub fn time(mut self) -> Self {
        self.time = true;
        self
    }
    /// Every namespace type, as a complete container would.
    pub fn all() -> Self {
        Launch::host()
            .user()
            .pid()
            .uts()
            .ipc()
            .net()
            .cgroup()
            .time()
    }

    /// Remove the piece of isolation a negative control lacks.
    pub fn apply(&mut self, control: Control) {
        match control {
            Control::NoNewPid => {
                self.pid = false;
                self.mount_proc = false;
            }
            Control::NoProcMount => self.mount_proc = false,
            Control::NoNewMnt => {
                self.mnt = false;
                self.private_root = false;
                self.mount_proc = false;
            }
            Control::SharedRoot => self.private_root = false,
            Control::NoNewUts => self.uts = false,
            Control::NoNewIpc => self.ipc = false,
            Control::NoNewNet => self.net = false,
            Control::NoUserMap => self.map_root = false,
            Control::NoNewUser => {
                self.user = false;
                self.map_root = false;
            }
            Control::NoNewCgroup => self.cgroup = false,
            Control::NoNewTime => {
                self.time = false;
                self.time_offsets = None;
            }
            Control::Fault(_) => {
                self.fault = control.fault();
            }
        }
    }

    fn clone_flags(&self) -> CloneFlags {
        let mut f = CloneFlags::empty();
        for (on, flag) in [
            (self.mnt, CloneFlags::CLONE_NEWNS),
            (self.uts, CloneFlags::CLONE_NEWUTS),
            (self.ipc, CloneFlags::CLONE_NEWIPC),
            (self.net, CloneFlags::CLONE_NEWNET),
            (self.cgroup, CloneFlags::CLONE_NEWCGROUP),
            (self.pid, CloneFlags::CLONE_NEWPID),
            (self.time, CloneFlags::from_bits_retain(libc::CLONE_NEWTIME)),
        ] {
            if on {
                f |= flag;
            }
        }
        f
    }
}

/// Run a request: set up, fork, run the inside half in the child. Never returns.
pub(super) fn run(req: Request, inside: InsideFn) -> ! {
    match setup(&req.launch) {
        Ok((outer_uid, outer_gid)) => {
            let ctx = Inside {
                launch: req.launch,
                args: req.args,
                outer_uid,
                outer_gid,
            };
            fork_inside(ctx, inside)
        }
        Err(e) => {
            emit(&Message::Error(e));
            std::process::exit(1)
        }
    }
}

/// Everything before the fork. Returns the outer uid and gid.
fn setup(l: &Launch) -> Result<(u32, u32), StepError> {
    if let Some((uid, gid)) = l.drop_to {
        nix::unistd::setgroups(&[]).step("drop supplementary groups (setgroups)")?;
        let (g, u) = (Gid::from_raw(gid), Uid::from_raw(uid));
        nix::unistd::setresgid(g, g, g).step(&format!("switch to gid {gid} (setresgid)"))?;
        nix::unistd::setresuid(u, u, u).step(&format!("switch to uid {uid} (setresuid)"))?;
        // A uid change clears the dumpable flag, which makes /proc/self/* root-owned
        // and our own uid_map unwritable (proc(5) "/proc/[pid]").
        if let Err(e) = nix::sys::prctl::set_dumpable(true) {
            return Err(StepError::new(
                "set dumpable after dropping privileges (prctl)",
                Some(sys::errno_name(e)),
                "cannot write own uid_map without it",
            ));
        }
    }
    match sys::thread_count() {
        Some(1) => {}
        n => {
            let n = n.map_or_else(|| "unreadable".to_string(), |n| n.to_string());
            return Err(StepError::new(
                "check that the probe is single-threaded",
                None,
                format!(
                    "/proc/self/status says Threads: {n}; unshare(CLONE_NEWUSER) needs exactly one"
                ),
            ));
        }
    }
    let outer_uid = nix::unistd::getuid().as_raw();
    let outer_gid = nix::unistd::getgid().as_raw();
    if l.user {
        unshare(CloneFlags::CLONE_NEWUSER)
            .step("create a user namespace (unshare CLONE_NEWUSER)")?;
        if l.map_root {
            write_root_map(outer_uid, outer_gid)?;
        }
    }
    let flags = l.clone_flags();
    if !flags.is_empty() {
        unshare(flags).step(&format!(
            "create namespaces (unshare {})",
            crate::ns::flag_names(flags.bits())
        ))?;
    }
    if let Some((mono, boot)) = l.time_offsets {
        let text = format!("monotonic {mono} 0\nboottime {boot} 0\n");
        std::fs::write("/proc/self/timens_offsets", text)
            .step("write /proc/self/timens_offsets")?;
    }
    if l.mnt && l.private_root {
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .step("make / recursively private (mount MS_REC|MS_PRIVATE)")?;
    }
    Ok((outer_uid, outer_gid))
}

/// Map root inside to the caller's ids (user_namespaces(7) "User and group ID mappings").
pub fn write_root_map(outer_uid: u32, outer_gid: u32) -> Result<(), StepError> {
    match std::fs::write("/proc/self/setgroups", "deny") {
        Ok(()) => {}
        // Kernels before 3.19 have no setgroups file.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).step("write deny to /proc/self/setgroups"),
    }
    std::fs::write("/proc/self/uid_map", format!("0 {outer_uid} 1"))
        .step(&format!("write `0 {outer_uid} 1` to /proc/self/uid_map"))?;
    std::fs::write("/proc/self/gid_map", format!("0 {outer_gid} 1"))
        .step(&format!("write `0 {outer_gid} 1` to /proc/self/gid_map"))?;
    Ok(())
}

fn fork_inside(ctx: Inside, inside: InsideFn) -> ! {
    // The child waits on this pipe until the parent has announced its PID, so the two
    // processes never write to stdout at the same time.
    let (go_r, go_w) = match nix::unistd::pipe() {
        Ok(p) => p,
        Err(e) => fatal("create a pipe", e),
    };
    // SAFETY: the probe is single-threaded (checked in setup), so fork is safe.
    match unsafe { fork() } {
        Err(e) => fatal("fork the inside process", e),
        Ok(ForkResult::Child) => {
            drop(go_w);
            let mut b = [0u8; 1];
            let _ = nix::unistd::read(&go_r, &mut b);
            drop(go_r);
            let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
            let result = mount_proc(&ctx.launch)
                .and_then(|()| match ctx.launch.fault {
                    Some(f) => super::fault::install(f),
                    None => Ok(()),
                })
                .and_then(|()| inside(&ctx));
            let code = match result {
                Ok(facts) => {
                    emit(&Message::Report { facts });
                    0
                }
                Err(e) => {
                    emit(&Message::Error(e));
                    1
                }
            };
            if ctx.launch.hold {
                sys::wait_for_stdin_eof();
            }
            std::process::exit(code)
        }
        Ok(ForkResult::Parent { child }) => {
            drop(go_r);
            emit(&Message::Spawned {
                pid: child.as_raw(),
            });
            drop(go_w);
            let code = loop {
                match waitpid(child, None) {
                    Ok(WaitStatus::Exited(_, c)) => break c,
                    Ok(WaitStatus::Signaled(_, s, _)) => break 128 + s as i32,
                    Ok(_) => continue,
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => fatal("wait for the inside process", e),
                }
            };
            std::process::exit(code)
        }
    }
}

fn mount_proc(l: &Launch) -> Result<(), StepError> {
    if l.pid && l.mnt && l.mount_proc {
        mount(
            Some("proc"),
            "/proc",
            Some("proc"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None::<&str>,
        )
        .step("mount a fresh proc on /proc")?;
    }
    Ok(())
}

fn fatal(step: &str, e: nix::errno::Errno) -> ! {
    emit(&Message::Error(StepError::new(
        step,
        Some(sys::errno_name(e)),
        e.desc(),
    )));
    std::process::exit(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_controls_are_named_after_their_call() {
        for call in Call::ALL {
            assert_eq!(
                Control::Fault(call).name(),
                format!("fault-{}", call.name()),
                "FAULT_NAMES is not in the order of Call::ALL"
            );
            assert_eq!(Call::parse(call.name()), Some(call));
        }
        let json = serde_json::to_string(&Control::Fault(Call::Mount)).unwrap();
        assert_eq!(json, "\"fault-mount\"");
        assert_eq!(
            serde_json::from_str::<Control>(&json).unwrap(),
            Control::Fault(Call::Mount)
        );
        assert!(serde_json::from_str::<Control>("\"fault-nothing\"").is_err());
    }

    #[test]
    fn controls_remove_exactly_their_isolation() {
        let full = Launch::all();
        for control in Control::all() {
            let mut l = full.clone();
            l.apply(control);
            assert_ne!(l, full, "{control:?} changed nothing");
        }
        let mut l = full.clone();
        l.apply(Control::NoNewNet);
        assert!(!l.net && l.pid && l.uts && l.user);
    }

    #[test]
    fn clone_flags_follow_fields() {
        let l = Launch::host().uts().net();
        assert_eq!(
            l.clone_flags(),
            CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWNET
        );
        assert!(Launch::host().clone_flags().is_empty());
    }
}
