//! What a run changed on the host, undone: on a normal end, on SIGINT/SIGTERM, and by the
//! next run (or `nsconform cleanup`) after the run was killed with SIGKILL.
//!
//! Every host-global resource a run makes (scratch directories and the mounts under
//! them, cgroups, SysV and POSIX message queues, the probe process groups it started,
//! the host and domain names it may change under `--control no-new-uts`) is
//! [`hold`]ed *before* it is made: it goes into an in-memory registry and into the run's
//! state file `<pid>-<starttime>.json` in [`state_dir`] (`/run/nsconform` for root, else
//! `$XDG_RUNTIME_DIR/nsconform` or `$TMPDIR/nsconform-state-<uid>`). The owner undoes it
//! itself and drops the [`Held`]; when nothing is held the state file goes.
//!
//! Names carry their maker: [`unique_name`] is `nsconform-<pid>-<starttime>-<n>`, the
//! start time (field 22 of `/proc/<pid>/stat`) telling a reused PID from the owner.
//! Resources of a live run are never touched by another run ([`Owner::alive`]).
//!
//! [`on_signals`] starts a thread that waits for SIGINT and SIGTERM; it does no
//! namespace work: it takes the registry for good (every thread that would make a new
//! resource or write a report then waits forever), kills the run's process groups and
//! every process carrying the run's [`RUN_ENV`] tag, empties and removes its cgroups,
//! unmounts and removes its scratch, removes its IPC objects, restores the host names,
//! removes the state file and exits with 128 + the signal (130, 143).
//!
//! [`sweep_dead`] undoes what dead runs left: their state files, and what carries their
//! PID in its name in the temp dir, `/dev/mqueue` and at the roots of the cgroup
//! hierarchies.

use crate::mountinfo;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// The prefix of every name nsconform gives a host resource.
pub const PREFIX: &str = "nsconform-";

/// The environment variable every process a run starts carries: `<pid>-<starttime>` of
/// the run, so that what escaped its process groups (and, after a SIGKILL, everything
/// it started) can be found and killed.
pub const RUN_ENV: &str = "NSCONFORM_RUN";

/// A process, told apart from a later one with the same PID by its start time.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Owner {
    pub pid: i32,
    /// Field 22 of `/proc/<pid>/stat` (clock ticks after boot).
    pub start: u64,
}

impl Owner {
    /// This process.
    pub fn me() -> Owner {
        static ME: OnceLock<Owner> = OnceLock::new();
        *ME.get_or_init(|| {
            let pid = std::process::id() as i32;
            Owner {
                pid,
                start: starttime(pid).unwrap_or(0),
            }
        })
    }

    /// The process `pid` now, if there is one.
    pub fn of_pid(pid: i32) -> Option<Owner> {
        starttime(pid).map(|start| Owner { pid, start })
    }

    /// Whether this very process still runs (same PID, same start time, not a zombie:
    /// a killed run that its parent has not reaped yet is dead).
    pub fn alive(&self) -> bool {
        *self == Owner::me()
            || std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
                .ok()
                .is_some_and(|stat| parse_starttime(&stat) == Some(self.start) && !is_zombie(&stat))
    }

    /// `<pid>-<starttime>`: the state file's stem and the [`RUN_ENV`] value.
    pub fn tag(&self) -> String {
        format!("{}-{}", self.pid, self.start)
    }

    /// The owner a [`Owner::tag`] names.
    pub fn from_tag(tag: &str) -> Option<Owner> {
        let (p, s) = tag.split_once('-')?;
        Some(Owner {
            pid: p.parse().ok()?,
            start: s.parse().ok()?,
        })
    }
}

/// The start time of process `pid` (field 22 of `/proc/<pid>/stat`).
pub fn starttime(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_starttime(&stat)
}

/// Whether a `/proc/<pid>/stat` line is a zombie's (state `Z`, after the last ')').
fn is_zombie(stat: &str) -> bool {
    stat.rfind(')')
        .is_some_and(|i| stat[i + 1..].trim_start().starts_with('Z'))
}

/// The start time a `/proc/<pid>/stat` line shows, as the initial time namespace sees
/// it: the kernel adds the reader's CLOCK_BOOTTIME offset (time_namespaces(7)), so runs
/// in different time namespaces would each take the other's processes for dead ones.
fn parse_starttime(stat: &str) -> Option<u64> {
    let seen = i128::from(parse_starttime_field(stat)?);
    u64::try_from(seen - own_boottime_offset_ticks()).ok()
}

fn parse_starttime_field(stat: &str) -> Option<u64> {
    // The command name (field 2) may hold spaces and parentheses: fields 3.. follow the
    // last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// This process's CLOCK_BOOTTIME offset in clock ticks (0 outside a time namespace or
/// where the kernel has none).
fn own_boottime_offset_ticks() -> i128 {
    static TICKS: OnceLock<i128> = OnceLock::new();
    *TICKS.get_or_init(|| {
        let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .filter(|&h| h > 0)
            .unwrap_or(100);
        std::fs::read_to_string("/proc/self/timens_offsets")
            .ok()
            .and_then(|t| crate::environment::TimeOffsets::parse(&t).ok())
            .map_or(0, |o| o.boottime_ns * i128::from(hz) / 1_000_000_000)
    })
}

/// A name no other run, and no earlier or later resource of this run, has:
/// `nsconform-<pid>-<starttime>-<n>`.
pub fn unique_name() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{PREFIX}{}-{}",
        Owner::me().tag(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Who made a resource, as its name tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameOwner {
    /// `nsconform-<pid>-<starttime>-<n>`.
    Exact(Owner),
    /// Older names with the PID only (`nsconform-<pid>-<n>`, `nsconform-subject-<pid>-<nanos>`,
    /// `nsconform-cg03-<pid>`).
    Pid(i32),
}

impl NameOwner {
    /// Whether the maker is gone for sure. A PID-only name whose PID exists counts as
    /// alive (it may be the maker).
    pub fn dead(&self) -> bool {
        match *self {
            NameOwner::Exact(o) => !o.alive(),
            NameOwner::Pid(p) => p != Owner::me().pid && !Path::new(&format!("/proc/{p}")).exists(),
        }
    }

    /// Whether this process made it.
    pub fn is_me(&self) -> bool {
        match *self {
            NameOwner::Exact(o) => o == Owner::me(),
            NameOwner::Pid(p) => p == Owner::me().pid,
        }
    }
}

/// The maker of a resource named `nsconform-[word-...]<numbers>`: three numbers are
/// `<pid>-<starttime>-<n>`, one or two the older PID-only names.
pub fn name_owner(name: &str) -> Option<NameOwner> {
    let rest = name.trim_start_matches('/').strip_prefix(PREFIX)?;
    let parts: Vec<&str> = rest.split('-').collect();
    let first = parts
        .iter()
        .position(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))?;
    if parts[..first]
        .iter()
        .any(|w| w.is_empty() || !w.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return None;
    }
    let nums: Vec<u64> = parts[first..]
        .iter()
        .map(|p| {
            (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse().ok())
                .flatten()
        })
        .collect::<Option<_>>()?;
    let pid = i32::try_from(nums[0]).ok().filter(|&p| p > 0)?;
    match nums.len() {
        3 if first == 0 => Some(NameOwner::Exact(Owner {
            pid,
            start: nums[1],
        })),
        1 | 2 => Some(NameOwner::Pid(pid)),
        _ => None,
    }
}

/// One thing a run made on the host.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Resource {
    /// A scratch directory (named by [`unique_name`]) and every mount at or under it.
    Scratch { path: PathBuf },
    /// A cgroup directory: its members are killed, then it is removed.
    Cgroup { path: PathBuf },
    /// A SysV message queue in the run's IPC namespace.
    SysvMsg { id: i32 },
    /// A POSIX message queue (`/nsconform-...`).
    PosixMq { name: String },
    /// A process group the run started (leader and its start time).
    Process { pid: i32, start: u64 },
    /// The host's names as the run found them; put back if they were changed to a
    /// `nsconform-*` name.
    HostNames {
        hostname: String,
        domainname: String,
    },
    /// A file or directory to remove (the probe's directory in a root filesystem).
    File { path: PathBuf },
    /// A directory the run made for its reports: removed if it is still empty (what
    /// was written into it stays).
    EmptyDir { path: PathBuf },
}

/// What the registry holds; the state file is this, as JSON.
#[derive(Serialize, Deserialize, Default, Debug)]
struct State {
    owner: Option<Owner>,
    held: Vec<(u64, Resource)>,
}

struct Registry {
    next: u64,
    state: State,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next: 0,
    state: State {
        owner: None,
        held: Vec::new(),
    },
});

/// The registry, also after a thread panicked holding it.
fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where state files are: `/run/nsconform` for root, else `$XDG_RUNTIME_DIR/nsconform`
/// when that folder exists, else `nsconform-state-<uid>` in the temp dir.
pub fn state_dir() -> PathBuf {
    let uid = nix::unistd::geteuid();
    if uid.is_root() {
        return PathBuf::from("/run/nsconform");
    }
    if let Some(x) = std::env::var_os("XDG_RUNTIME_DIR").filter(|x| Path::new(x).is_dir()) {
        return Path::new(&x).join("nsconform");
    }
    std::env::temp_dir().join(format!("nsconform-state-{uid}"))
}

/// The state file of this run.
pub fn state_file() -> PathBuf {
    state_dir().join(format!("{}.json", Owner::me().tag()))
}

fn persist(state: &State) {
    let path = state_file();
    if state.held.is_empty() {
        let _ = std::fs::remove_file(&path);
        return;
    }
    let dir = state_dir();
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string(state).unwrap_or_default();
    if std::fs::write(&tmp, text).is_ok() && std::fs::rename(&tmp, &path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// A resource in the registry; dropping it takes it out (its owner undid it).
#[derive(Debug)]
#[must_use = "dropping a Held forgets the resource at once"]
pub struct Held(u64);

/// Put `r` in the registry (and the state file) before making it. Waits forever once a
/// signal is being handled: the process is about to exit, and must make nothing new.
pub fn hold(r: Resource) -> Held {
    let mut reg = registry();
    hold_locked(&mut reg, r)
}

fn hold_locked(reg: &mut Registry, r: Resource) -> Held {
    reg.next += 1;
    let id = reg.next;
    reg.state.owner = Some(Owner::me());
    reg.state.held.push((id, r));
    persist(&reg.state);
    Held(id)
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut reg = registry();
        let before = reg.state.held.len();
        reg.state.held.retain(|(id, _)| *id != self.0);
        if reg.state.held.len() != before {
            persist(&reg.state);
        }
    }
}

/// Run `f` while no signal can be handled (writing a report: it is then either whole or
/// not there). Waits forever once a signal is being handled.
pub fn exclusive<T>(f: impl FnOnce() -> T) -> T {
    let _reg = registry();
    f()
}

/// A child process whose process group is in the registry while it lives (`Deref`s to
/// the [`Child`]).
#[derive(Debug)]
pub struct Tracked {
    pub child: Child,
    _held: Held,
}

impl std::ops::Deref for Tracked {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.child
    }
}

impl std::ops::DerefMut for Tracked {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

/// Spawn `cmd` (give it `process_group(0)`) and put its process group in the registry,
/// both at once: a signal handled meanwhile waits, and after a signal nothing is spawned.
pub fn spawn(cmd: &mut Command) -> std::io::Result<Tracked> {
    let mut reg = registry();
    let child = cmd.spawn()?;
    let pid = child.id() as i32;
    let start = starttime(pid).unwrap_or(0);
    let held = hold_locked(&mut reg, Resource::Process { pid, start });
    Ok(Tracked { child, _held: held })
}

/// A scratch directory in the temp dir named by [`unique_name`], held while it lives;
/// dropping it unmounts everything at or under it and removes it.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
    mounted: bool,
    _held: Held,
}

impl Scratch {
    /// A new directory with `mode`.
    pub fn new(mode: u32) -> std::io::Result<Scratch> {
        let path = std::env::temp_dir().join(unique_name());
        let held = hold(Resource::Scratch { path: path.clone() });
        std::fs::create_dir(&path)?;
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode))?;
        Ok(Scratch {
            path,
            mounted: false,
            _held: held,
        })
    }

    /// A new directory, mode 0777, with (as root) a 1 MiB tmpfs mounted on it and made
    /// shared: a subject that does not cut mount propagation leaks its mounts into it,
    /// where the host sees them. `mounted()` says whether the tmpfs is there.
    pub fn shared_tmpfs() -> std::io::Result<Scratch> {
        use nix::mount::{mount, MsFlags};
        let mut s = Scratch::new(0o777)?;
        if nix::unistd::geteuid().is_root() {
            s.mounted = mount(
                Some("nsconform-scratch"),
                &s.path,
                Some("tmpfs"),
                MsFlags::empty(),
                Some("size=1m,mode=0777"),
            )
            .is_ok()
                && mount(
                    None::<&str>,
                    &s.path,
                    None::<&str>,
                    MsFlags::MS_SHARED,
                    None::<&str>,
                )
                .is_ok();
        }
        Ok(s)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a tmpfs of its own is mounted on it.
    pub fn mounted(&self) -> bool {
        self.mounted
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        undo_scratch(&self.path);
    }
}

// ---------------------------------------------------------------------------------
// Undoing.

/// Unmount everything at or under `path` (deepest first), then remove it. Returns the
/// number of mounts removed, or `None` when there was nothing.
fn undo_scratch(path: &Path) -> Option<usize> {
    let p = path.to_string_lossy().into_owned();
    let under = format!("{}/", p.trim_end_matches('/'));
    let mut mounts: Vec<String> = mountinfo::read("/proc/self/mountinfo")
        .unwrap_or_default()
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|m| *m == p || m.starts_with(&under))
        .collect();
    mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
    let mut n = 0;
    for m in &mounts {
        // A mount stacked several times at one point goes one layer per call.
        while nix::mount::umount2(m.as_str(), nix::mount::MntFlags::MNT_DETACH).is_ok() {
            n += 1;
        }
    }
    let existed = path.symlink_metadata().is_ok();
    let _ = std::fs::remove_dir_all(path);
    (existed || n > 0).then_some(n)
}

fn read_pids(path: &Path) -> Vec<i32> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Kill every member of cgroup `dir` and of its children, remove them and it. Returns
/// whether `dir` existed.
pub(crate) fn undo_cgroup(dir: &Path) -> bool {
    if !dir.is_dir() {
        return false;
    }
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                undo_cgroup(&e.path());
            }
        }
    }
    // A v1 freezer cgroup left frozen would keep its members from dying.
    let _ = std::fs::write(dir.join("freezer.state"), "THAWED");
    for _ in 0..500 {
        let pids = read_pids(&dir.join("cgroup.procs"));
        if pids.is_empty() {
            break;
        }
        let _ = std::fs::write(dir.join("cgroup.kill"), "1");
        for pid in pids {
            kill(pid);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = std::fs::remove_dir(dir);
    true
}

fn kill(pid: i32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
}

/// Kill process group `pid` unless that PID now belongs to another process.
fn kill_group(pid: i32, start: u64) -> bool {
    match starttime(pid) {
        Some(s) if s != start => false,
        _ => {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            kill(pid);
            // Until the leader has died (a zombie or gone; at most 2 s): what it held is
            // then a dead run's, which `sweep_dead` undoes.
            let leader = Owner { pid, start };
            let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
            while leader.alive() && std::time::Instant::now() < until {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            true
        }
    }
}

/// The processes (other than this one) whose environment carries `RUN_ENV=<tag>` of
/// an owner `pick` selects, with that owner.
fn tagged(pick: &dyn Fn(&Owner) -> bool) -> Vec<(i32, Owner)> {
    let me = std::process::id() as i32;
    let prefix = format!("{RUN_ENV}=");
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let owner = env
            .split(|b| *b == 0)
            .find_map(|kv| Owner::from_tag(std::str::from_utf8(kv).ok()?.strip_prefix(&prefix)?));
        if let Some(o) = owner.filter(|o| pick(o)) {
            out.push((pid, o));
        }
    }
    out
}

/// Kill every process tagged with an owner `pick` selects, until none is left (bounded).
fn kill_tagged(pick: &dyn Fn(&Owner) -> bool) -> usize {
    let mut killed = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let live = tagged(pick);
        if live.is_empty() {
            break;
        }
        for (pid, _) in live {
            kill(pid);
            killed.insert(pid);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    killed.len()
}

fn undo_msg(id: i32) -> bool {
    // SAFETY: msqid_ds is a plain C struct; all-zero is a valid value.
    let mut ds: libc::msqid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: ds is a valid msqid_ds for IPC_STAT to fill.
    if unsafe { libc::msgctl(id, libc::IPC_STAT, &mut ds) } < 0 {
        return false;
    }
    // Only a queue this user made (an id is reused once its queue is gone).
    if ds.msg_perm.cuid != nix::unistd::geteuid().as_raw() {
        return false;
    }
    // SAFETY: removing a queue by id; a null buffer is allowed for IPC_RMID.
    unsafe { libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) == 0 }
}

fn undo_mq(name: &str) -> bool {
    let name = format!("/{}", name.trim_start_matches('/'));
    nix::mqueue::mq_unlink(name.as_str()).is_ok()
}

fn undo_names(hostname: &str, domainname: &str) -> Vec<String> {
    let mut out = Vec::new();
    let ours =
        |now: &str, then: &str| now != then && now.starts_with(PREFIX) && !then.starts_with(PREFIX);
    let now = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    if ours(&now, hostname) && nix::unistd::sethostname(hostname).is_ok() {
        out.push(format!("restored the hostname {now} -> {hostname}"));
    }
    let now = std::fs::read_to_string("/proc/sys/kernel/domainname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    if ours(&now, domainname) && crate::probe::sys::set_domainname(domainname).is_ok() {
        out.push(format!("restored the domain name {now} -> {domainname}"));
    }
    out
}

/// Undo `r`, made by `owner`; one line for what was removed, if anything was.
fn undo(r: &Resource, owner: Owner) -> Vec<String> {
    // A state file names only resources of its owner: names must say so.
    let named_by = |name: &str| name_owner(name) == Some(NameOwner::Exact(owner));
    let file_name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    match r {
        Resource::Scratch { path } if named_by(&file_name(path)) => match undo_scratch(path) {
            Some(0) => vec![format!("removed scratch directory {}", path.display())],
            Some(n) => vec![format!(
                "removed scratch directory {} and {n} mount(s) in it",
                path.display()
            )],
            None => vec![],
        },
        Resource::Cgroup { path }
            if named_by(&file_name(path)) && path.starts_with("/sys/fs/cgroup") =>
        {
            if undo_cgroup(path) {
                vec![format!("removed cgroup {}", path.display())]
            } else {
                vec![]
            }
        }
        Resource::SysvMsg { id } if undo_msg(*id) => {
            vec![format!("removed SysV message queue {id}")]
        }
        Resource::PosixMq { name } if named_by(name) && undo_mq(name) => {
            vec![format!("removed POSIX message queue {name}")]
        }
        Resource::Process { pid, start } if kill_group(*pid, *start) => vec![],
        Resource::HostNames {
            hostname,
            domainname,
        } => undo_names(hostname, domainname),
        Resource::File { path }
            if std::fs::remove_file(path)
                .or_else(|_| std::fs::remove_dir_all(path))
                .is_ok() =>
        {
            vec![format!("removed {}", path.display())]
        }
        Resource::EmptyDir { path } if std::fs::remove_dir(path).is_ok() => {
            vec![format!("removed the empty folder {}", path.display())]
        }
        _ => vec![],
    }
}

/// Undo `held`: host names, processes, cgroups, the rest, host names again.
fn undo_all(held: &[Resource], owner: Owner) -> Vec<String> {
    let mut out = Vec::new();
    let rank = |r: &Resource| match r {
        Resource::Process { .. } => 0,
        Resource::Cgroup { .. } => 1,
        Resource::HostNames { .. } => 3,
        _ => 2,
    };
    let mut order: Vec<&Resource> = held.iter().collect();
    order.sort_by_key(|r| rank(r));
    // The names first (before the processes are killed, their owner's threads may wake
    // up and see them), and again last (in case a dying process renamed the host again).
    for r in order.iter().filter(|r| rank(r) == 3) {
        out.extend(undo(r, owner));
    }
    for r in order.iter().filter(|r| rank(r) == 0) {
        out.extend(undo(r, owner));
    }
    let n = kill_tagged(&|o| *o == owner);
    if n > 0 {
        out.push(format!("killed {n} process(es) of run {}", owner.tag()));
    }
    for r in order.iter().filter(|r| rank(r) > 0) {
        out.extend(undo(r, owner));
    }
    out
}

/// What carries a maker's PID in its name, where nsconform puts things: the temp dir,
/// `/dev/mqueue`, the roots of the cgroup hierarchies. `pick` selects the makers.
fn undo_named(pick: &dyn Fn(&NameOwner) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    let entries = |dir: &Path| -> Vec<(String, PathBuf)> {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            .filter(|(n, _)| name_owner(n).is_some_and(|o| pick(&o)))
            .collect()
    };
    for (_, path) in entries(&std::env::temp_dir()) {
        if path.symlink_metadata().is_ok_and(|m| m.is_dir()) {
            if let Some(n) = undo_scratch(&path) {
                out.push(format!(
                    "removed scratch directory {} ({n} mount(s) in it)",
                    path.display()
                ));
            }
        }
    }
    for (name, _) in entries(Path::new("/dev/mqueue")) {
        if undo_mq(&name) {
            out.push(format!("removed POSIX message queue /{name}"));
        }
    }
    let roots: Vec<String> = mountinfo::read("/proc/self/mountinfo")
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.fs_type == "cgroup" || m.fs_type == "cgroup2")
        .map(|m| m.mount_point)
        .collect();
    for root in roots {
        for (_, path) in entries(Path::new(&root)) {
            if path.is_dir() && undo_cgroup(&path) && !path.exists() {
                out.push(format!("removed cgroup {}", path.display()));
            }
        }
    }
    out
}

/// Undo what runs that are no longer alive left behind (killed with SIGKILL, a crash):
/// their state files' resources and the processes carrying their tag, and the scratch
/// directories, POSIX queues and cgroups named after them. Never touches a live run's.
/// One line per thing removed.
pub fn sweep_dead() -> Vec<String> {
    let mut out = Vec::new();
    let dir = state_dir();
    let euid = nix::unistd::geteuid().as_raw();
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(owner) = name
            .strip_suffix(".json.tmp")
            .or_else(|| name.strip_suffix(".json"))
            .and_then(Owner::from_tag)
        else {
            continue;
        };
        if owner.alive() {
            continue;
        }
        let path = e.path();
        // Only state this user wrote (a state file says what to remove).
        let mine = std::os::unix::fs::MetadataExt::uid(&match path.symlink_metadata() {
            Ok(m) if m.is_file() => m,
            _ => continue,
        }) == euid;
        if !mine {
            continue;
        }
        if name.ends_with(".json") {
            let state: State = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default();
            let held: Vec<Resource> = state.held.into_iter().map(|(_, r)| r).collect();
            out.extend(undo_all(&held, owner));
            out.push(format!("removed the state file {}", path.display()));
        }
        let _ = std::fs::remove_file(&path);
    }
    // What runs without a state file (or older versions) left.
    let n = kill_tagged(&|o| !o.alive());
    if n > 0 {
        out.push(format!("killed {n} process(es) left by dead runs"));
    }
    out.extend(undo_named(&|o| o.dead()));
    out
}

/// Undo everything this run holds and made, for good: the registry stays locked (no
/// thread makes anything new or writes a report afterwards), the state file goes. For
/// the signal thread, right before it exits. One line per thing removed.
pub fn interrupt() -> Vec<String> {
    let reg = registry();
    let held: Vec<Resource> = reg.state.held.iter().map(|(_, r)| r.clone()).collect();
    let me = Owner::me();
    let mut out = undo_all(&held, me);
    out.extend(undo_named(&|o| o.is_me()));
    // The processes this run started are dead now; what they were undoing themselves
    // (a grading's supervisors are runs of their own) is left to undo here.
    out.extend(sweep_dead());
    let _ = std::fs::remove_file(state_file());
    let _ = std::fs::remove_file(state_file().with_extension("json.tmp"));
    // Never unlocked: the process exits next.
    std::mem::forget(reg);
    out
}

/// The exit status of a run ended by `signal`: 128 + its number (SIGINT 130, SIGTERM 143).
pub fn exit_status(signal: i32) -> i32 {
    128 + signal
}

/// Handle SIGINT and SIGTERM from now on: a thread waits for them, calls [`interrupt`],
/// says on stderr what it did and exits with [`exit_status`]. Also tags every process
/// this one starts from now on with [`RUN_ENV`] (call it before any other thread exists).
pub fn on_signals() -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    // Before any thread exists (the caller's promise): children inherit the tag.
    std::env::set_var(RUN_ENV, Owner::me().tag());
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("nsconform-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                let name = if sig == SIGINT { "SIGINT" } else { "SIGTERM" };
                let undone = interrupt();
                eprintln!(
                    "nsconform: interrupted by {name}; undid what the run had made ({} thing(s))",
                    undone.len()
                );
                for line in &undone {
                    eprintln!("nsconform:   {line}");
                }
                std::process::exit(exit_status(sig));
            }
        })?;
    Ok(())
}

/// The host names as they are now, held for the run: put back by [`interrupt`] and
/// [`sweep_dead`] if they are left at a `nsconform-*` name.
pub fn hold_host_names() -> Held {
    hold(Resource::HostNames {
        hostname: nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default(),
        domainname: std::fs::read_to_string("/proc/sys/kernel/domainname")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starttime_is_read_past_odd_command_names() {
        let stat = "42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_starttime_field(stat), Some(987654));
        assert_eq!(parse_starttime_field("42 (x) S 1"), None);
        assert_eq!(parse_starttime_field(""), None);
        assert!(Owner::me().start > 0);
        assert_eq!(
            starttime(std::process::id() as i32),
            Some(Owner::me().start)
        );
    }

    #[test]
    fn names_tell_their_maker() {
        let me = Owner::me();
        let n = unique_name();
        assert!(
            n.starts_with(&format!("nsconform-{}-{}-", me.pid, me.start)),
            "{n}"
        );
        assert_ne!(n, unique_name());
        assert_eq!(name_owner(&n), Some(NameOwner::Exact(me)));
        assert_eq!(
            name_owner("nsconform-4242-99-7"),
            Some(NameOwner::Exact(Owner {
                pid: 4242,
                start: 99
            }))
        );
        assert_eq!(
            name_owner("/nsconform-4242-99-7"),
            name_owner("nsconform-4242-99-7")
        );
        assert_eq!(name_owner("nsconform-4242-7"), Some(NameOwner::Pid(4242)));
        assert_eq!(
            name_owner("nsconform-subject-4242-123"),
            Some(NameOwner::Pid(4242))
        );
        assert_eq!(
            name_owner("nsconform-cg03-4242"),
            Some(NameOwner::Pid(4242))
        );
        for bad in [
            "nsconform-state-0x",
            "nsconform-",
            "nsconform-0-1-2",
            "nsconform-1-2-3-4",
            "nsconform-a-1-2-3",
            "nsconform--1",
            "nsconform-x/y-1",
            "other-1-2-3",
            "nsconform-99999999999-1-2",
            "nsconform-state-1000x",
        ] {
            assert_eq!(name_owner(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_owner_is_dead_only_when_its_pid_or_start_time_is_gone() {
        let me = Owner::me();
        assert!(me.alive());
        assert!(!NameOwner::Exact(me).dead());
        // The same PID with another start time: a reused PID, not the owner.
        let reused = Owner {
            pid: me.pid,
            start: me.start + 1,
        };
        assert!(!reused.alive());
        assert!(NameOwner::Exact(reused).dead());
        // PID 1 lives; a PID beyond pid_max never does.
        assert!(!NameOwner::Pid(1).dead());
        assert!(NameOwner::Pid(i32::MAX).dead());
        assert_eq!(Owner::from_tag(&me.tag()), Some(me));
        assert_eq!(Owner::from_tag("1-x"), None);
    }

    #[test]
    fn a_state_file_names_only_its_owners_resources() {
        let other = Owner {
            pid: i32::MAX,
            start: 1,
        };
        // A scratch path not named after the owner is never removed.
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("precious");
        std::fs::create_dir(&victim).unwrap();
        assert!(undo(
            &Resource::Scratch {
                path: victim.clone()
            },
            other
        )
        .is_empty());
        assert!(victim.exists());
        assert!(undo(
            &Resource::Cgroup {
                path: victim.clone()
            },
            other
        )
        .is_empty());
        assert!(victim.exists());
        // One named after it is.
        let named = dir.path().join(format!("nsconform-{}-0", other.tag()));
        std::fs::create_dir(&named).unwrap();
        std::fs::write(named.join("f"), "x").unwrap();
        let lines = undo(
            &Resource::Scratch {
                path: named.clone(),
            },
            other,
        );
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(!named.exists());
    }

    #[test]
    fn host_names_are_put_back_only_from_a_nsconform_name() {
        // Without privileges nothing is set; with them, only a nsconform-* name would be
        // replaced: here the current names are the recorded ones, so nothing changes.
        let h = nix::unistd::gethostname()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(undo_names(&h, "whatever")
            .iter()
            .all(|l| !l.contains("hostname")));
        let ours = |now: &str, then: &str| {
            now != then && now.starts_with(PREFIX) && !then.starts_with(PREFIX)
        };
        assert!(ours("nsconform-hostname-1", "debian"));
        assert!(!ours("debian2", "debian"));
        assert!(!ours("nsconform-a", "nsconform-b"));
    }

    #[test]
    fn the_registry_follows_held_resources_in_the_state_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir
            .path()
            .join(format!("nsconform-{}-77", Owner::me().tag()));
        let held = hold(Resource::File { path: file.clone() });
        let state: State =
            serde_json::from_str(&std::fs::read_to_string(state_file()).unwrap()).unwrap();
        assert_eq!(state.owner, Some(Owner::me()));
        assert!(state
            .held
            .iter()
            .any(|(_, r)| *r == Resource::File { path: file.clone() }));
        drop(held);
        let gone = std::fs::read_to_string(state_file())
            .map(|t| !t.contains(&*file.to_string_lossy()))
            .unwrap_or(true);
        assert!(gone);
    }
}
