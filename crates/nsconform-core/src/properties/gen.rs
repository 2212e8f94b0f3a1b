//! GEN properties: namespaces(7) — ns files, identity, lifetime, limits.
//!
//! The first half of this file holds small probe-side helpers shared by the GEN, SETNS
//! and CR areas (run a step in a forked child, keep a helper process alive, record an
//! errno as a fact).

use crate::env::{ConfigState, KernelVersion};
use crate::harness::Cx;
use crate::host;
use crate::kit::facts;
use crate::outcome::{Expect, Verdict};
use crate::probe::{errno_name, Inside, Launch, StepError, StepExt};
use crate::spec::{Area, CheckResult, Control, Prereq, Property};
use nix::errno::Errno;
use nix::sched::{unshare, CloneFlags};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, ForkResult, Pid};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

pub const ALL: &[Property] = &[
    GEN_01, GEN_02, GEN_03, GEN_04, GEN_05, GEN_06, GEN_07, GEN_08, GEN_09, GEN_10, GEN_11, GEN_12,
];

// ---------------------------------------------------------------------------------
// Shared probe-side helpers.

/// The fact recorded for a call that succeeded.
pub const OK: &str = "OK";

/// `OK` or the errno name of a nix call.
pub fn res<T>(r: nix::Result<T>) -> String {
    match r {
        Ok(_) => OK.to_string(),
        Err(e) => errno_name(e),
    }
}

/// `OK` or the errno name of a raw syscall return value (negative = failed, errno set).
pub fn sys_res(ret: libc::c_long) -> String {
    if ret < 0 {
        errno_name(Errno::last())
    } else {
        OK.to_string()
    }
}

/// setns(2) with a raw nstype (so invalid values can be passed); `OK` or the errno.
pub fn setns_raw(fd: i32, nstype: i32) -> String {
    // SAFETY: plain syscall with integer arguments.
    sys_res(unsafe { libc::setns(fd, nstype) } as libc::c_long)
}

/// The namespace types of /proc/PID/ns (without the *_for_children links).
pub const NS_TYPES: [&str; 8] = ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"];

/// The CLONE_NEW* flag of a namespace type name.
pub fn clone_flag(kind: &str) -> i32 {
    match kind {
        "cgroup" => libc::CLONE_NEWCGROUP,
        "ipc" => libc::CLONE_NEWIPC,
        "mnt" => libc::CLONE_NEWNS,
        "net" => libc::CLONE_NEWNET,
        "pid" => libc::CLONE_NEWPID,
        "time" => libc::CLONE_NEWTIME,
        "user" => libc::CLONE_NEWUSER,
        "uts" => libc::CLONE_NEWUTS,
        _ => 0,
    }
}

/// The kernel option that lets a namespace type be created.
pub fn config_option(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "cgroup" => "CONFIG_CGROUPS",
        "ipc" => "CONFIG_IPC_NS",
        "net" => "CONFIG_NET_NS",
        "pid" => "CONFIG_PID_NS",
        "time" => "CONFIG_TIME_NS",
        "user" => "CONFIG_USER_NS",
        "uts" => "CONFIG_UTS_NS",
        _ => return None,
    })
}

/// (st_dev, st_ino) of a path, following symlinks.
pub fn dev_ino(path: &str) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Inode of `/proc/<who>/ns/<kind>`.
pub fn ino(who: &str, kind: &str) -> Option<u64> {
    dev_ino(&format!("/proc/{who}/ns/{kind}")).map(|(_, i)| i)
}

/// Inode of an open file.
pub fn fd_ino(fd: i32) -> Option<u64> {
    nix::sys::stat::fstat(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) })
        .ok()
        .map(|s| s.st_ino)
}

/// Open a file read-only (an ns file, a bind-mounted ns file ...).
pub fn open(path: &str) -> Result<OwnedFd, StepError> {
    std::fs::File::open(path)
        .map(OwnedFd::from)
        .step(&format!("open {path}"))
}

/// Map root inside the caller's fresh user namespace to `uid`/`gid` of the parent
/// namespace (setgroups deny first). For use in forked helper processes.
pub fn map_root(uid: u32, gid: u32) -> Result<(), String> {
    crate::probe::write_root_map(uid, gid).map_err(|e| e.to_string())
}

/// unshare(CLONE_NEWUSER) and map root to the caller's current ids.
pub fn new_user_ns() -> Result<(), String> {
    let (u, g) = (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    );
    unshare(CloneFlags::CLONE_NEWUSER).map_err(|e| format!("unshare CLONE_NEWUSER: {e}"))?;
    map_root(u, g)
}

/// unshare with raw flags, as a `String` error for helper processes.
pub fn unshare_raw(flags: i32) -> Result<(), String> {
    if flags == 0 {
        return Ok(());
    }
    unshare(CloneFlags::from_bits_retain(flags)).map_err(|e| format!("unshare {flags:#x}: {e}"))
}

/// Run `f` in a forked child (the probe is single-threaded, so fork is safe) and return
/// what it returned. Whatever `f` does to its process (unshare, setns, chroot, threads)
/// stays in the child.
pub fn in_child<T: Serialize + DeserializeOwned>(
    what: &str,
    f: impl FnOnce() -> T,
) -> Result<T, StepError> {
    let (rd, wr) = nix::unistd::pipe().step("create a pipe")?;
    // SAFETY: the probe's inside process is single-threaded.
    match unsafe { fork() }.step(&format!("fork a child to {what}"))? {
        ForkResult::Child => {
            drop(rd);
            // SAFETY: plain prctl with integer arguments.
            unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
                .ok()
                .and_then(|v| serde_json::to_vec(&v).ok());
            if let Some(bytes) = out {
                crate::probe::sys::write_all(wr.as_raw_fd(), &bytes);
            }
            // SAFETY: leaving the child without running the parent's destructors.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            drop(wr);
            let mut buf = Vec::new();
            let _ = std::fs::File::from(rd).read_to_end(&mut buf);
            let status = waitpid(child, None);
            serde_json::from_slice(&buf).map_err(|_| {
                StepError::new(
                    what,
                    None,
                    format!("the child reported nothing ({status:?})"),
                )
            })
        }
    }
}

/// Like [`in_child`] for steps that might kill the child: a child that died without a
/// result reads as `CRASHED`.
pub fn in_child_or_crash(what: &str, f: impl FnOnce() -> String) -> Result<String, StepError> {
    match in_child(what, f) {
        Ok(s) => Ok(s),
        Err(e) if e.errno.is_none() => Ok("CRASHED".to_string()),
        Err(e) => Err(e),
    }
}

/// A helper process kept alive (paused) until dropped; `info` is what its set-up said.
pub struct Held<T> {
    pub pid: Pid,
    pub info: T,
    alive: bool,
}

impl<T> Held<T> {
    /// `/proc/<pid>/ns/<kind>` of the helper.
    pub fn ns_path(&self, kind: &str) -> String {
        format!("/proc/{}/ns/{kind}", self.pid)
    }
    /// Kill the helper and reap it (it has exited and been waited for afterwards).
    pub fn release(&mut self) {
        if self.alive {
            let _ = nix::sys::signal::kill(self.pid, nix::sys::signal::Signal::SIGKILL);
            let _ = waitpid(self.pid, None);
            self.alive = false;
        }
    }
}

impl<T> Drop for Held<T> {
    fn drop(&mut self) {
        self.release();
    }
}

/// Fork a helper that runs `setup`, reports its result, then waits to be killed.
pub fn hold<T: Serialize + DeserializeOwned>(
    what: &str,
    setup: impl FnOnce() -> Result<T, String>,
) -> Result<Held<T>, StepError> {
    let (rd, wr) = nix::unistd::pipe().step("create a pipe")?;
    // SAFETY: the probe's inside process is single-threaded.
    match unsafe { fork() }.step(&format!("fork a helper to {what}"))? {
        ForkResult::Child => {
            drop(rd);
            // SAFETY: plain prctl with integer arguments.
            unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(setup))
                .unwrap_or_else(|_| Err("panicked".to_string()));
            if let Ok(bytes) = serde_json::to_vec(&r) {
                crate::probe::sys::write_all(wr.as_raw_fd(), &bytes);
            }
            drop(wr);
            loop {
                // SAFETY: pause has no arguments.
                unsafe { libc::pause() };
            }
        }
        ForkResult::Parent { child } => {
            drop(wr);
            let mut held = Held {
                pid: child,
                info: (),
                alive: true,
            };
            // Read exactly one JSON value: processes the helper forks may keep the
            // pipe open, so end of file may never come.
            let r: Result<T, String> =
                serde_json::Deserializer::from_reader(std::fs::File::from(rd))
                    .into_iter()
                    .next()
                    .and_then(Result::ok)
                    .unwrap_or_else(|| Err("the helper reported nothing".to_string()));
            match r {
                Ok(info) => {
                    held.alive = false;
                    Ok(Held {
                        pid: child,
                        info,
                        alive: true,
                    })
                }
                Err(msg) => {
                    held.release();
                    Err(StepError::new(what, None, msg))
                }
            }
        }
    }
}

/// pidfd_open(2) through libc::syscall.
pub fn pidfd_open(pid: Pid) -> Result<OwnedFd, StepError> {
    // SAFETY: plain syscall with integer arguments.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return Err(Errno::last()).step(&format!("pidfd_open({pid})"));
    }
    // SAFETY: the kernel just returned this descriptor to us.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd as i32) })
}

/// Keep only the capabilities of `keep` (bit mask) in the effective set (capset(2)).
pub fn limit_effective_caps(keep: u64) -> String {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let mut h = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let mut d = [Data::default(); 2];
    // SAFETY: header and two data structs, as _LINUX_CAPABILITY_VERSION_3 wants.
    if unsafe { libc::syscall(libc::SYS_capget, &mut h, d.as_mut_ptr()) } < 0 {
        return errno_name(Errno::last());
    }
    d[0].effective &= keep as u32;
    d[1].effective &= (keep >> 32) as u32;
    // SAFETY: as above.
    sys_res(unsafe { libc::syscall(libc::SYS_capset, &mut h, d.as_ptr()) })
}

pub const CAP_SYS_CHROOT: u32 = 18;
pub const CAP_SYS_ADMIN: u32 = 21;

/// The effective capability mask from /proc/self/status.
pub fn cap_eff() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .unwrap_or(0)
}

/// ioctl_ns(2) request numbers (`_IO(0xb7, n)`).
pub const NS_GET_USERNS: libc::c_ulong = 0xb701;
pub const NS_GET_PARENT: libc::c_ulong = 0xb702;

/// An ioctl that returns a new descriptor; its inode or the errno.
pub fn ioctl_fd_ino(fd: i32, req: libc::c_ulong) -> Result<u64, String> {
    // SAFETY: the request takes no argument and returns a new descriptor.
    let r = unsafe { libc::ioctl(fd, req as _, 0) };
    if r < 0 {
        return Err(errno_name(Errno::last()));
    }
    let ino = fd_ino(r).ok_or_else(|| "fstat".to_string());
    // SAFETY: closing the descriptor we were given.
    unsafe { libc::close(r) };
    ino
}

/// Compare an errno table the probe produced against the expected one.
pub fn judge_table(
    e: &mut Expect,
    what: &str,
    expected: &[(&str, &str)],
    got: &BTreeMap<String, String>,
) {
    for (case, want) in expected {
        e.eq(
            &format!("{what}: {case}"),
            Some(want.to_string()),
            got.get(*case).cloned(),
        );
    }
}

/// Kernel version of the run (an unknown version is treated as new).
fn kver(cx: &Cx) -> KernelVersion {
    cx.env.version.unwrap_or(KernelVersion(99, 0, 0))
}

/// Whether the running kernel lets a namespace type be created (config option set or
/// unknown).
pub fn type_configured(cx: &Cx, kind: &str) -> bool {
    config_option(kind).map_or(true, |o| cx.env.config(o) != Some(ConfigState::Unset))
}

// ---------------------------------------------------------------------------------
/// GEN-01: /proc/PID/ns lists one symlink per namespace type, each reading
/// `<type>:[<inode>]`.
pub const GEN_01: Property = Property {
    id: "GEN-01",
    area: Area::Gen,
    title: "/proc/PID/ns holds one symlink per namespace type (cgroup ipc mnt net pid pid_for_children time time_for_children user uts), each reading `<type>:[<inode>]`",
    man: "namespaces(7) \"The /proc/[pid]/ns/ directory\"",
    prereq: Prereq::ANY,
    coverage: "LTP:~setns01; KST:~pidfd/pidfd_setns_test",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(gen_01_inside),
    check: gen_01_check,
};

#[derive(Serialize, Deserialize)]
struct Gen01Entry {
    symlink: bool,
    /// readlink text is `<type>:[<st_ino>]` with the type of the entry's name.
    well_formed: bool,
    text: String,
}

fn gen_01_inside(_: &Inside) -> Result<Value, StepError> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir("/proc/self/ns").step("list /proc/self/ns")? {
        let e = e.step("read /proc/self/ns")?;
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        let symlink = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
        let text = std::fs::read_link(&path)
            .map(|t| t.to_string_lossy().into_owned())
            .unwrap_or_default();
        let kind = name.strip_suffix("_for_children").unwrap_or(&name);
        let st = std::fs::metadata(&path).map(|m| m.ino()).ok();
        let well_formed = st.is_some_and(|i| text == format!("{kind}:[{i}]"));
        out.insert(
            name,
            Gen01Entry {
                symlink,
                well_formed,
                text,
            },
        );
    }
    facts(&out)
}

fn gen_01_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host(), Value::Null)?;
    let f: BTreeMap<String, Gen01Entry> = run.facts()?;
    let v = kver(cx);
    let mut want: BTreeSet<&str> = BTreeSet::new();
    for kind in NS_TYPES {
        let since = match kind {
            "cgroup" => KernelVersion(4, 6, 0),
            "time" => KernelVersion(5, 6, 0),
            _ => KernelVersion(3, 8, 0),
        };
        if v >= since && type_configured(cx, kind) {
            want.insert(kind);
        }
    }
    if v >= KernelVersion(4, 12, 0) && type_configured(cx, "pid") {
        want.insert("pid_for_children");
    }
    if want.contains("time") {
        want.insert("time_for_children");
    }
    let have: BTreeSet<&str> = f.keys().map(String::as_str).collect();
    let bad: Vec<&str> = f
        .iter()
        .filter(|(_, e)| !e.symlink || !e.well_formed)
        .map(|(n, _)| n.as_str())
        .collect();
    let mut e = Expect::new();
    e.eq(
        &format!("entries of /proc/self/ns (kernel {v})"),
        want.clone(),
        have.clone(),
    );
    e.that(
        "every entry is a symlink reading <type>:[<st_ino>]",
        bad.is_empty(),
        "all well formed",
        format!(
            "not: {}",
            bad.iter()
                .map(|n| format!("{n} -> {:?}", f[*n].text))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    Ok(e.verdict("one well-formed symlink per namespace type")
        .with_observed(json!({ "entries": have, "malformed": bad })))
}

// ---------------------------------------------------------------------------------
/// GEN-02: two processes share a namespace iff their ns files have the same (st_dev,
/// st_ino). namespaces(7) "The /proc/[pid]/ns/ directory".
pub const GEN_02: Property = Property {
    id: "GEN-02",
    area: Area::Gen,
    title: "Two processes share a namespace iff their ns files have equal (st_dev, st_ino): a child shares all, unshare changes exactly the unshared type, a new namespace differs from the host's",
    man: "namespaces(7) \"The /proc/[pid]/ns/ directory\"",
    prereq: Prereq::ROOTLESS.kernel(5, 6),
    coverage: "LTP:ioctl_ns05,ioctl_ns06; KST:pidfd/pidfd_setns_test,namespaces/nsid_test",
    controls: Control::EVERY_NEW_NAMESPACE,
    global: false,
    subject: None,
    inside: Some(gen_02_inside),
    check: gen_02_check,
};

#[derive(Serialize, Deserialize)]
struct Gen02 {
    /// Types whose (dev, ino) a forked child shares with its parent.
    child_shares: Vec<String>,
    /// Types whose (dev, ino) differ after the child unshared CLONE_NEWUTS|CLONE_NEWIPC.
    differ_after_unshare: Vec<String>,
}

fn ns_map(who: &str) -> BTreeMap<String, (u64, u64)> {
    NS_TYPES
        .iter()
        .filter_map(|k| dev_ino(&format!("/proc/{who}/ns/{k}")).map(|d| (k.to_string(), d)))
        .collect()
}

fn gen_02_inside(_: &Inside) -> Result<Value, StepError> {
    let mine = ns_map("self");
    let child = hold("share every namespace", || Ok(()))?;
    let theirs = ns_map(&child.pid.to_string());
    let child_shares = mine
        .iter()
        .filter(|(k, v)| theirs.get(*k) == Some(v))
        .map(|(k, _)| k.clone())
        .collect();
    let after: BTreeMap<String, (u64, u64)> = in_child("unshare UTS and IPC", || {
        match unshare(CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWIPC) {
            Ok(()) => ns_map("self"),
            Err(_) => BTreeMap::new(),
        }
    })?;
    let differ_after_unshare = mine
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect();
    facts(&Gen02 {
        child_shares,
        differ_after_unshare,
    })
}

fn gen_02_check(cx: &mut Cx) -> CheckResult {
    let types: Vec<&str> = NS_TYPES
        .iter()
        .copied()
        .filter(|k| type_configured(cx, k))
        .collect();
    let host: BTreeMap<&str, Option<(u64, u64)>> = types
        .iter()
        .map(|k| (*k, dev_ino(&format!("/proc/self/ns/{k}"))))
        .collect();
    let (run, probe) = cx.run_held(Launch::all(), Value::Null, |run| {
        let pid = run.host_pid.expect("held");
        Ok(types
            .iter()
            .map(|k| (*k, dev_ino(&format!("/proc/{pid}/ns/{k}"))))
            .collect::<BTreeMap<_, _>>())
    })?;
    let f: Gen02 = run.facts()?;
    let same_as_host: Vec<&str> = types
        .iter()
        .copied()
        .filter(|k| probe[k].is_none() || probe[k] == host[k])
        .collect();
    let mut e = Expect::new();
    e.eq(
        "types where the probe's ns file equals the host's (all should be new namespaces)",
        Vec::<&str>::new(),
        same_as_host.clone(),
    );
    let all: Vec<String> = types.iter().map(|s| s.to_string()).collect();
    e.eq(
        "types whose ns file a forked child shares with its parent",
        all,
        f.child_shares.clone(),
    );
    e.eq(
        "types whose ns file changed after unshare(CLONE_NEWUTS|CLONE_NEWIPC)",
        vec!["ipc".to_string(), "uts".to_string()],
        f.differ_after_unshare.clone(),
    );
    Ok(e.verdict("(st_dev, st_ino) identifies the namespace")
        .with_observed(json!({
            "types_same_as_host": same_as_host,
            "child_shares": f.child_shares,
            "differ_after_unshare": f.differ_after_unshare,
        })))
}

// ---------------------------------------------------------------------------------
/// GEN-03: every ns file is on the one nsfs superblock, and the inode in the readlink
/// text is st_ino. namespaces(7).
pub const GEN_03: Property = Property {
    id: "GEN-03",
    area: Area::Gen,
    title: "All ns files live on one nsfs superblock (one st_dev, statfs magic NSFS_MAGIC), and the inode in the readlink text equals st_ino",
    man: "namespaces(7) \"The /proc/[pid]/ns/ directory\"",
    prereq: Prereq::ANY,
    coverage: "new",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(gen_03_inside),
    check: gen_03_check,
};

/// NSFS_MAGIC of <linux/magic.h>.
pub const NSFS_MAGIC: i64 = 0x6e73_6673;

#[derive(Serialize, Deserialize)]
struct Gen03 {
    devs: BTreeSet<u64>,
    magics: BTreeSet<i64>,
    readlink_ino_mismatch: Vec<String>,
    entries: usize,
}

fn gen_03_inside(_: &Inside) -> Result<Value, StepError> {
    let mut f = Gen03 {
        devs: BTreeSet::new(),
        magics: BTreeSet::new(),
        readlink_ino_mismatch: Vec::new(),
        entries: 0,
    };
    for e in std::fs::read_dir("/proc/self/ns").step("list /proc/self/ns")? {
        let path = e.step("read /proc/self/ns")?.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let m = std::fs::metadata(&path).step(&format!("stat {}", path.display()))?;
        let text = std::fs::read_link(&path)
            .map(|t| t.to_string_lossy().into_owned())
            .unwrap_or_default();
        let num = text
            .rsplit_once('[')
            .and_then(|(_, r)| r.strip_suffix(']'))
            .and_then(|n| n.parse::<u64>().ok());
        if num != Some(m.ino()) {
            f.readlink_ino_mismatch.push(name);
        }
        f.devs.insert(m.dev());
        let sfs = nix::sys::statfs::statfs(&path).step(&format!("statfs {}", path.display()))?;
        f.magics.insert(sfs.filesystem_type().0 as i64);
        f.entries += 1;
    }
    facts(&f)
}

fn gen_03_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host(), Value::Null)?;
    let f: Gen03 = run.facts()?;
    let harness_dev = dev_ino("/proc/self/ns/uts").map(|d| d.0);
    let mut e = Expect::new();
    e.eq("distinct st_dev of the ns files", 1, f.devs.len());
    e.eq(
        "statfs magic of the ns files",
        vec![NSFS_MAGIC],
        f.magics.iter().copied().collect(),
    );
    e.eq(
        "the harness's ns files are on the same device",
        harness_dev,
        f.devs.iter().next().copied(),
    );
    e.eq(
        "entries whose readlink inode differs from st_ino",
        Vec::<String>::new(),
        f.readlink_ino_mismatch.clone(),
    );
    Ok(e.verdict("one nsfs superblock; readlink inode == st_ino")
        .with_observed(json!({
            "distinct_devices": f.devs.len(),
            "nsfs_magic": f.magics.iter().all(|m| *m == NSFS_MAGIC),
            "readlink_ino_mismatch": f.readlink_ino_mismatch,
        })))
}

// ---------------------------------------------------------------------------------
/// GEN-04: an open ns file keeps the namespace alive after its last member exited; setns
/// through the fd still works. namespaces(7) "Namespace lifetime".
pub const GEN_04: Property = Property {
    id: "GEN-04",
    area: Area::Gen,
    title: "An open fd on an ns file keeps the namespace alive after its last process exited and was reaped; setns() through it joins that namespace",
    man: "namespaces(7) \"Namespace lifetime\"",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_UTS_NS"]),
    coverage: "KST:namespaces/ns_active_ref_test",
    controls: &[Control::NoNewUts],
    global: false,
    subject: None,
    inside: Some(gen_04_inside),
    check: gen_04_check,
};

/// The hostname the GEN-04/05 helpers set in their own UTS namespace.
const PINNED_HOSTNAME: &str = "nsconform-pinned";

#[derive(Serialize, Deserialize)]
pub struct Pinned {
    /// The pinned namespace is not the one the probe is in.
    distinct: bool,
    /// setns through the pin.
    setns: String,
    /// Hostname seen after joining.
    hostname: String,
    /// Inode after joining equals the pinned one.
    joined_same: bool,
}

/// Fork a helper in a fresh UTS namespace (if `new`) that sets a hostname; return its ino.
fn uts_helper(new: bool) -> Result<Held<u64>, StepError> {
    hold("make a UTS namespace and set its hostname", move || {
        if new {
            unshare_raw(libc::CLONE_NEWUTS)?;
            nix::unistd::sethostname(PINNED_HOSTNAME).map_err(|e| format!("sethostname: {e}"))?;
        }
        ino("self", "uts").ok_or_else(|| "stat own uts".to_string())
    })
}

/// Join the UTS namespace `fd` refers to in a child; report what it saw.
fn join_pinned(fd: &OwnedFd, pinned: u64) -> Result<Pinned, StepError> {
    let own = ino("self", "uts");
    let raw = fd.as_raw_fd();
    in_child("join the pinned UTS namespace", move || {
        let setns = setns_raw(raw, libc::CLONE_NEWUTS);
        Pinned {
            distinct: own != Some(pinned),
            setns,
            hostname: nix::unistd::gethostname()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_default(),
            joined_same: ino("self", "uts") == Some(pinned),
        }
    })
}

fn gen_04_inside(cx: &Inside) -> Result<Value, StepError> {
    let mut helper = uts_helper(cx.launch.uts)?;
    let fd = open(&helper.ns_path("uts"))?;
    let pinned = helper.info;
    helper.release();
    facts(&join_pinned(&fd, pinned)?)
}

fn judge_pinned(f: &Pinned, how: &str) -> Verdict {
    let mut e = Expect::new();
    e.eq(
        "the pinned UTS namespace is a new one (not the probe's own)",
        true,
        f.distinct,
    );
    e.eq(&format!("setns through the {how}"), OK, f.setns.as_str());
    e.eq("joined namespace is the pinned one", true, f.joined_same);
    e.eq(
        "hostname after joining (set by the exited helper)",
        PINNED_HOSTNAME,
        f.hostname.as_str(),
    );
    e.verdict(&format!("the {how} kept the namespace alive and joinable"))
        .with_observed(json!({
            "distinct": f.distinct,
            "setns": f.setns,
            "joined_same": f.joined_same,
            "hostname_kept": f.hostname == PINNED_HOSTNAME,
        }))
}

fn gen_04_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().user().uts(), Value::Null)?;
    Ok(judge_pinned(&run.facts()?, "open fd"))
}

// ---------------------------------------------------------------------------------
/// GEN-05: a bind mount of an ns file keeps the namespace alive with no fd and no
/// member; opening the mount point gives a setns-able fd. namespaces(7).
pub const GEN_05: Property = Property {
    id: "GEN-05",
    area: Area::Gen,
    title: "A bind mount of an ns file (made in a private mount namespace) keeps the namespace alive after all fds closed and all members exited; opening it gives a setns-able fd",
    man: "namespaces(7) \"Namespace lifetime\"",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_UTS_NS"]),
    coverage: "OTH:~UL lsns/nsfs; KST:~proc/proc-pidns",
    controls: &[Control::NoNewUts, Control::NoNewMnt],
    global: false,
    subject: None,
    inside: Some(gen_05_inside),
    check: gen_05_check,
};

fn gen_05_inside(cx: &Inside) -> Result<Value, StepError> {
    if !cx.launch.mnt {
        // Never bind-mount on the host: report that nothing was pinned.
        return facts(&Pinned {
            distinct: false,
            setns: "NOT TRIED (no private mount namespace)".into(),
            hostname: String::new(),
            joined_same: false,
        });
    }
    let target = cx.workdir()?.join("uts-pin");
    std::fs::write(&target, b"").step("create the bind-mount target")?;
    let mut helper = uts_helper(cx.launch.uts)?;
    let pinned = helper.info;
    nix::mount::mount(
        Some(helper.ns_path("uts").as_str()),
        &target,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .step("bind-mount the helper's ns/uts")?;
    helper.release();
    let fd = open(&target.display().to_string())?;
    let r = join_pinned(&fd, pinned);
    drop(fd);
    let _ = nix::mount::umount2(&target, nix::mount::MntFlags::MNT_DETACH);
    facts(&r?)
}

fn gen_05_check(cx: &mut Cx) -> CheckResult {
    let dir = cx.scratch_dir()?;
    let mut launch = Launch::host().user().mnt().uts();
    launch.workdir = Some(dir.display().to_string());
    let run = cx.run(launch, Value::Null)?;
    Ok(judge_pinned(&run.facts()?, "bind mount"))
}

// ---------------------------------------------------------------------------------
/// GEN-06: other references pin namespaces: a child user ns pins its parent, a user ns
/// is pinned by the namespaces it owns, time_for_children pins a time ns with no members.
/// (Not covered: mqueue and proc mounts pinning their IPC and PID namespaces.)
pub const GEN_06: Property = Property {
    id: "GEN-06",
    area: Area::Gen,
    title: "Other pins: a child user ns pins its parent, a user ns is pinned by a namespace it owns, and time_for_children pins a time ns that has no process",
    man: "namespaces(7) \"Namespace lifetime\"; ioctl_ns(2)",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(&["CONFIG_TIME_NS"]),
    coverage: "KST:~namespaces/ns_active_ref_test; LTP:~mqns_04",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(gen_06_inside),
    check: gen_06_check,
};

#[derive(Serialize, Deserialize, Default)]
struct Gen06 {
    /// NS_GET_PARENT on the child user ns returns the parent (whose processes are gone).
    parent_pinned_by_child: Option<bool>,
    parent_errno: Option<String>,
    /// NS_GET_USERNS on the UTS ns returns its owner (whose processes are gone).
    owner_pinned_by_uts: Option<bool>,
    owner_errno: Option<String>,
    /// time_for_children of a process that unshared CLONE_NEWTIME and never forked.
    memberless_time_ns_is_new: bool,
    memberless_time_ns_openable: bool,
    pid_for_children_before_first_child: String,
}

fn gen_06_inside(_: &Inside) -> Result<Value, StepError> {
    let mut f = Gen06::default();
    // U1 (made by h1) owns a UTS ns; h2 (forked by h1) lives in U2 = child of U1.
    let h1 = hold("create U1 and a UTS ns it owns", || {
        new_user_ns()?;
        unshare_raw(libc::CLONE_NEWUTS)?;
        Ok((
            ino("self", "user").unwrap_or(0),
            ino("self", "uts").unwrap_or(0),
        ))
    })?;
    let uts_fd = open(&h1.ns_path("uts"))?;
    // U2: made under U1 by a second helper that first joins U1.
    let u1_fd = open(&h1.ns_path("user"))?;
    let u1_raw = u1_fd.as_raw_fd();
    let h2 = hold("join U1 and create U2 under it", move || {
        if setns_raw(u1_raw, libc::CLONE_NEWUSER) != OK {
            return Err("setns into U1".to_string());
        }
        new_user_ns()
    })?;
    let parent_user = h1.info.0;
    let u2_fd = open(&h2.ns_path("user"))?;
    drop(u1_fd);
    drop(h1);
    drop(h2);
    match ioctl_fd_ino(u2_fd.as_raw_fd(), NS_GET_PARENT) {
        Ok(i) => f.parent_pinned_by_child = Some(i == parent_user),
        Err(e) => f.parent_errno = Some(e),
    }
    drop(u2_fd);
    match ioctl_fd_ino(uts_fd.as_raw_fd(), NS_GET_USERNS) {
        Ok(i) => f.owner_pinned_by_uts = Some(i == parent_user),
        Err(e) => f.owner_errno = Some(e),
    }
    let h3 = hold(
        "unshare CLONE_NEWPID and CLONE_NEWTIME without forking",
        || {
            unshare_raw(libc::CLONE_NEWPID)?;
            unshare_raw(libc::CLONE_NEWTIME)?;
            Ok(())
        },
    )?;
    let own_time = ino("self", "time");
    let tfc = ino(&h3.pid.to_string(), "time_for_children");
    f.memberless_time_ns_is_new = tfc.is_some() && tfc != own_time;
    f.memberless_time_ns_openable = std::fs::File::open(h3.ns_path("time_for_children")).is_ok();
    // A PID ns has no child reaper before its first process: the link does not resolve
    // yet (recorded, not judged).
    f.pid_for_children_before_first_child = std::fs::File::open(h3.ns_path("pid_for_children"))
        .map(|_| OK.to_string())
        .unwrap_or_else(|e| errno_name(Errno::from_raw(e.raw_os_error().unwrap_or(0))));
    facts(&f)
}

fn gen_06_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().user(), Value::Null)?;
    let f: Gen06 = run.facts()?;
    let mut e = Expect::new();
    e.eq(
        "NS_GET_PARENT of a child user ns whose parent has no process left (errno)",
        None,
        f.parent_errno.clone(),
    );
    e.eq(
        "parent user ns is kept alive by its child",
        Some(true),
        f.parent_pinned_by_child,
    );
    e.eq(
        "NS_GET_USERNS of a UTS ns whose owner has no process left (errno)",
        None,
        f.owner_errno.clone(),
    );
    e.eq(
        "owning user ns is kept alive by the UTS ns it owns",
        Some(true),
        f.owner_pinned_by_uts,
    );
    e.eq(
        "time_for_children of a process that unshared CLONE_NEWTIME names a new time ns",
        true,
        f.memberless_time_ns_is_new,
    );
    e.eq(
        "that member-less time ns can be opened",
        true,
        f.memberless_time_ns_openable,
    );
    Ok(
        e.verdict("parents, owners and time_for_children pin namespaces")
            .with_observed(serde_json::to_value(&f).unwrap_or_default()),
    )
}

// ---------------------------------------------------------------------------------
/// GEN-07: opening another process's ns links needs PTRACE_MODE_READ_FSCREDS access.
pub const GEN_07: Property = Property {
    id: "GEN-07",
    area: Area::Gen,
    title: "Dereferencing or reading another process's ns links needs PTRACE_MODE_READ_FSCREDS: a different unprivileged uid gets EACCES, the same uid and root succeed",
    man: "namespaces(7) \"The /proc/[pid]/ns/ directory\"; proc(5) \"ptrace access mode\"",
    prereq: Prereq::ROOT,
    coverage: "new",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(gen_07_inside),
    check: gen_07_check,
};

#[derive(Serialize, Deserialize)]
struct Access {
    readlink: String,
    open: String,
}

fn try_access(path: &str) -> Access {
    Access {
        readlink: match std::fs::read_link(path) {
            Ok(_) => OK.into(),
            Err(e) => errno_name(Errno::from_raw(e.raw_os_error().unwrap_or(0))),
        },
        open: match std::fs::File::open(path) {
            Ok(_) => OK.into(),
            Err(e) => errno_name(Errno::from_raw(e.raw_os_error().unwrap_or(0))),
        },
    }
}

fn become_uid(uid: u32) -> Result<(), String> {
    let (u, g) = (
        nix::unistd::Uid::from_raw(uid),
        nix::unistd::Gid::from_raw(uid),
    );
    nix::unistd::setgroups(&[]).map_err(|e| format!("setgroups: {e}"))?;
    nix::unistd::setresgid(g, g, g).map_err(|e| format!("setresgid: {e}"))?;
    nix::unistd::setresuid(u, u, u).map_err(|e| format!("setresuid: {e}"))?;
    // SAFETY: plain prctl (a uid change cleared dumpable).
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) };
    Ok(())
}

fn gen_07_inside(_: &Inside) -> Result<Value, StepError> {
    const TARGET_UID: u32 = 4242;
    let target = hold("become uid 4242", || become_uid(TARGET_UID))?;
    let path = target.ns_path("uts");
    let mut out = BTreeMap::new();
    for (who, uid) in [
        ("other uid", Some(4243)),
        ("same uid", Some(TARGET_UID)),
        ("root", None),
    ] {
        let p = path.clone();
        let a: Access = in_child("read the helper's ns link", move || {
            if let Some(u) = uid {
                if let Err(m) = become_uid(u) {
                    return Access {
                        readlink: m.clone(),
                        open: m,
                    };
                }
            }
            try_access(&p)
        })?;
        out.insert(who.to_string(), a);
    }
    facts(&out)
}

fn gen_07_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host(), Value::Null)?;
    let f: BTreeMap<String, Access> = run.facts()?;
    let mut e = Expect::new();
    for (who, want) in [("other uid", "EACCES"), ("same uid", OK), ("root", OK)] {
        let a = f.get(who);
        e.eq(
            &format!("readlink of the helper's ns/uts by {who}"),
            Some(want),
            a.map(|a| a.readlink.as_str()),
        );
        e.eq(
            &format!("open of the helper's ns/uts by {who}"),
            Some(want),
            a.map(|a| a.open.as_str()),
        );
    }
    Ok(e.verdict("ns links are guarded by a ptrace access check")
        .with_observed(serde_json::to_value(&f).unwrap_or_default()))
}

// ---------------------------------------------------------------------------------
/// GEN-08: /proc/sys/user/max_*_namespaces exist; exceeding one gives ENOSPC; 0 disables.
pub const GEN_08: Property = Property {
    id: "GEN-08",
    area: Area::Gen,
    title: "/proc/sys/user/max_*_namespaces exist; with a limit of 1 the second namespace of that type fails with ENOSPC, with 0 the first does (set inside a user ns the probe created)",
    man: "namespaces(7) \"The /proc/sys/user directory\"; unshare(2) ENOSPC",
    prereq: Prereq::ROOTLESS.kernel(4, 9),
    coverage: "OTH:~BW can disable nested userns; LTP:~unshare01.sh",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(gen_08_inside),
    check: gen_08_check,
};

/// Limit files of /proc/sys/user (max_time_namespaces since 5.7).
pub const LIMIT_TYPES: [&str; 8] = ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"];

fn limit_path(kind: &str) -> String {
    format!("/proc/sys/user/max_{kind}_namespaces")
}

/// Whether the probe is in a user namespace it created (never touch the host's limits).
fn in_own_user_ns(cx: &Inside) -> bool {
    let full = std::fs::read_to_string("/proc/self/uid_map")
        .map(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
        .unwrap_or(true);
    cx.launch.user && !full
}

#[derive(Serialize, Deserialize)]
struct Gen08 {
    in_own_user_ns: bool,
    files: BTreeMap<String, bool>,
    /// limit 0: first unshare(CLONE_NEWUTS).
    zero_first: String,
    /// limit 1: first and second (while the first lives).
    one_first: String,
    one_second: String,
}

fn gen_08_inside(cx: &Inside) -> Result<Value, StepError> {
    let files = LIMIT_TYPES
        .iter()
        .map(|k| (k.to_string(), std::path::Path::new(&limit_path(k)).exists()))
        .collect();
    let mut f = Gen08 {
        in_own_user_ns: in_own_user_ns(cx),
        files,
        zero_first: "NOT TRIED".into(),
        one_first: "NOT TRIED".into(),
        one_second: "NOT TRIED".into(),
    };
    if !f.in_own_user_ns {
        return facts(&f);
    }
    let path = limit_path("uts");
    let try_uts = || {
        in_child("unshare CLONE_NEWUTS", || {
            res(unshare(CloneFlags::CLONE_NEWUTS))
        })
    };
    std::fs::write(&path, "0").step("write 0 to max_uts_namespaces (own user ns)")?;
    f.zero_first = try_uts()?;
    std::fs::write(&path, "1").step("write 1 to max_uts_namespaces (own user ns)")?;
    let first = hold("hold one UTS namespace", || {
        Ok(res(unshare(CloneFlags::CLONE_NEWUTS)))
    })?;
    f.one_first = first.info.clone();
    f.one_second = try_uts()?;
    drop(first);
    facts(&f)
}

fn gen_08_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().user(), Value::Null)?;
    let f: Gen08 = run.facts()?;
    let v = kver(cx);
    let mut e = Expect::new();
    e.eq(
        "probe runs in a user ns of its own (limits are only changed there)",
        true,
        f.in_own_user_ns,
    );
    let missing: Vec<&String> = f
        .files
        .iter()
        .filter(|(k, there)| !**there && (k.as_str() != "time" || v >= KernelVersion(5, 7, 0)))
        .map(|(k, _)| k)
        .collect();
    e.eq(
        "missing max_*_namespaces files",
        Vec::<&String>::new(),
        missing,
    );
    e.eq(
        "unshare(CLONE_NEWUTS) with max_uts_namespaces=0",
        "ENOSPC",
        f.zero_first.as_str(),
    );
    e.eq(
        "first UTS ns with max_uts_namespaces=1",
        OK,
        f.one_first.as_str(),
    );
    e.eq(
        "second UTS ns with max_uts_namespaces=1",
        "ENOSPC",
        f.one_second.as_str(),
    );
    Ok(
        e.verdict("limit 0 disables, limit 1 allows exactly one (ENOSPC)")
            .with_errno("ENOSPC")
            .with_observed(json!({
                "files": f.files,
                "zero_first": f.zero_first,
                "one_first": f.one_first,
                "one_second": f.one_second,
            })),
    )
}

// ---------------------------------------------------------------------------------
/// GEN-09: limits apply to uid 0 and are charged in every ancestor user ns, so a nested
/// user ns (with its own, higher limit) cannot escape them.
pub const GEN_09: Property = Property {
    id: "GEN-09",
    area: Area::Gen,
    title: "Namespace limits bind uid 0 too and are charged in every ancestor user ns: a nested user ns whose own limit is INT_MAX still gets ENOSPC",
    man: "namespaces(7) \"The /proc/sys/user directory\"",
    prereq: Prereq::ROOTLESS.kernel(4, 9),
    coverage: "OTH:~BW nested sandbox cannot undo limit",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(gen_09_inside),
    check: gen_09_check,
};

#[derive(Serialize, Deserialize)]
struct Gen09 {
    in_own_user_ns: bool,
    uid: u32,
    /// unshare(CLONE_NEWUTS) as uid 0 in the limited ns.
    as_root: String,
    /// The nested user ns's own max_uts_namespaces.
    nested_limit: String,
    /// unshare(CLONE_NEWUTS) in the nested user ns.
    nested: String,
}

fn gen_09_inside(cx: &Inside) -> Result<Value, StepError> {
    let mut f = Gen09 {
        in_own_user_ns: in_own_user_ns(cx),
        uid: nix::unistd::geteuid().as_raw(),
        as_root: "NOT TRIED".into(),
        nested_limit: String::new(),
        nested: "NOT TRIED".into(),
    };
    if !f.in_own_user_ns {
        return facts(&f);
    }
    std::fs::write(limit_path("uts"), "0").step("write 0 to max_uts_namespaces (own user ns)")?;
    f.as_root = in_child("unshare CLONE_NEWUTS", || {
        res(unshare(CloneFlags::CLONE_NEWUTS))
    })?;
    let (limit, nested): (String, String) = in_child("nest a user ns and unshare UTS", || {
        if let Err(m) = new_user_ns() {
            return (String::new(), m);
        }
        let l = std::fs::read_to_string(limit_path("uts"))
            .unwrap_or_default()
            .trim()
            .to_string();
        (l, res(unshare(CloneFlags::CLONE_NEWUTS)))
    })?;
    f.nested_limit = limit;
    f.nested = nested;
    facts(&f)
}

fn gen_09_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().user(), Value::Null)?;
    let f: Gen09 = run.facts()?;
    let mut e = Expect::new();
    e.eq("probe runs in a user ns of its own", true, f.in_own_user_ns);
    e.eq("uid of the probe in that ns", 0, f.uid);
    e.eq(
        "unshare(CLONE_NEWUTS) by uid 0 under max_uts_namespaces=0",
        "ENOSPC",
        f.as_root.as_str(),
    );
    e.eq(
        "max_uts_namespaces of the nested user ns",
        "2147483647",
        f.nested_limit.as_str(),
    );
    e.eq(
        "unshare(CLONE_NEWUTS) in the nested user ns",
        "ENOSPC",
        f.nested.as_str(),
    );
    Ok(
        e.verdict("the ancestor's limit binds root and nested user namespaces")
            .with_errno("ENOSPC")
            .with_observed(json!({
                "as_root": f.as_root,
                "nested_limit": f.nested_limit,
                "nested": f.nested,
            })),
    )
}

// ---------------------------------------------------------------------------------
/// GEN-10: the default limit is threads-max/2 in the initial user ns and INT_MAX in any
/// other.
pub const GEN_10: Property = Property {
    id: "GEN-10",
    area: Area::Gen,
    title: "Default max_*_namespaces is threads-max/2 in the initial user ns and INT_MAX (2147483647) in a new user ns",
    man: "namespaces(7) \"The /proc/sys/user directory\"",
    prereq: Prereq::ROOTLESS.kernel(4, 9),
    coverage: "new",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(gen_10_inside),
    check: gen_10_check,
};

fn read_limits() -> BTreeMap<String, String> {
    LIMIT_TYPES
        .iter()
        .filter_map(|k| {
            std::fs::read_to_string(limit_path(k))
                .ok()
                .map(|v| (k.to_string(), v.trim().to_string()))
        })
        .collect()
}

fn gen_10_inside(_: &Inside) -> Result<Value, StepError> {
    facts(&read_limits())
}

fn gen_10_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().user(), Value::Null)?;
    let inside: BTreeMap<String, String> = run.facts()?;
    let host = read_limits();
    let threads_max = crate::env::read_u32("/proc/sys/kernel/threads-max");
    let initial = std::fs::read_to_string("/proc/self/uid_map")
        .map(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
        .unwrap_or(false);
    let mut e = Expect::new();
    e.that(
        "limits exist inside",
        !inside.is_empty(),
        "max_*_namespaces files",
        "none",
    );
    for (k, val) in &inside {
        e.eq(
            &format!("max_{k}_namespaces in a new user ns"),
            "2147483647",
            val.as_str(),
        );
    }
    let mut host_default = None;
    if initial {
        if let Some(t) = threads_max {
            let want = (t / 2).to_string();
            host_default = Some(host.values().all(|v| *v == want));
            for (k, val) in &host {
                e.eq(
                    &format!("max_{k}_namespaces in the initial user ns (threads-max/2; a sysctl.conf may have changed it)"),
                    want.as_str(),
                    val.as_str(),
                );
            }
        }
    }
    Ok(
        e.verdict("INT_MAX in a new user ns, threads-max/2 in the initial one")
            .with_observed(json!({
                "inside": inside,
                "initial_equals_half_threads_max": host_default,
            })),
    )
}

// ---------------------------------------------------------------------------------
/// GEN-11: initial namespaces have fixed inode numbers (uapi nsfs.h `init_ns_ino`).
pub const GEN_11: Property = Property {
    id: "GEN-11",
    area: Area::Gen,
    title: "Initial namespaces have fixed inodes (ipc 0xEFFFFFFF, uts ..FE, user ..FD, pid ..FC, cgroup ..FB, time ..FA; net ..F9 and mnt ..F8 since 6.18) and new namespaces never get them",
    man: "namespaces(7); uapi linux/nsfs.h \"enum init_ns_ino\"",
    prereq: Prereq::ANY,
    coverage: "KST:namespaces/init_ino_test",
    controls: Control::EVERY_NEW_NAMESPACE,
    global: false,
    subject: None,
    inside: Some(gen_11_inside),
    check: gen_11_check,
};

fn gen_11_inside(_: &Inside) -> Result<Value, StepError> {
    facts(&true)
}

/// The fixed inode of an initial namespace on kernel `v`, or None when it is dynamic.
pub fn init_ino(kind: &str, v: KernelVersion) -> Option<u64> {
    let ino = match kind {
        "ipc" => 0xEFFF_FFFF,
        "uts" => 0xEFFF_FFFE,
        "user" => 0xEFFF_FFFD,
        "pid" => 0xEFFF_FFFC,
        "cgroup" => 0xEFFF_FFFB,
        "time" => 0xEFFF_FFFA,
        "net" if v >= KernelVersion(6, 18, 0) => 0xEFFF_FFF9,
        "mnt" if v >= KernelVersion(6, 18, 0) => 0xEFFF_FFF8,
        _ => return None,
    };
    Some(ino)
}

fn gen_11_check(cx: &mut Cx) -> CheckResult {
    let initial_user = std::fs::read_to_string("/proc/self/uid_map")
        .map(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
        .unwrap_or(false);
    let initial_pid = host::nspid(std::process::id() as i32).len() == 1;
    if !initial_user || !initial_pid {
        return Err(Verdict::skip(
            "the harness does not run in the initial user and PID namespaces (a container?), so it cannot see the initial namespaces",
        ));
    }
    let v = kver(cx);
    let types: Vec<&str> = NS_TYPES
        .iter()
        .copied()
        .filter(|k| std::path::Path::new(&format!("/proc/self/ns/{k}")).exists())
        .collect();
    let (_, probe) = cx.run_held(Launch::all(), Value::Null, |run| {
        let pid = run.host_pid.expect("held").to_string();
        Ok(types
            .iter()
            .map(|k| (*k, ino(&pid, k)))
            .collect::<BTreeMap<_, _>>())
    })?;
    let mut e = Expect::new();
    let mut fixed = BTreeMap::new();
    for k in &types {
        let own = ino("self", k);
        match init_ino(k, v) {
            Some(want) => {
                fixed.insert(*k, own == Some(want));
                e.eq(
                    &format!("inode of the initial {k} namespace (kernel {v})"),
                    Some(format!("{want:#x}")),
                    own.map(|i| format!("{i:#x}")),
                );
                e.ne(
                    &format!("inode of a new {k} namespace (must not be the initial one's)"),
                    Some(want),
                    probe[k],
                );
            }
            None => {
                e.ne(
                    &format!("inode of a new {k} namespace vs the initial one's"),
                    own,
                    probe[k],
                );
            }
        }
    }
    Ok(e.verdict(&format!(
        "initial namespaces carry the fixed inodes of kernel {v}"
    ))
    .with_observed(json!({ "fixed_inode_matches": fixed })))
}

// ---------------------------------------------------------------------------------
/// GEN-12: creating a namespace type the kernel was built without fails with EINVAL;
/// every configured type can be created.
pub const GEN_12: Property = Property {
    id: "GEN-12",
    area: Area::Gen,
    title: "unshare(CLONE_NEW*) succeeds for every namespace type the kernel is built with and fails with EINVAL for a type whose CONFIG_*_NS is off",
    man: "unshare(2) ERRORS; clone(2) ERRORS",
    prereq: Prereq::ROOTLESS,
    coverage: "OTH:~docker check-config.sh, lxc-checkconfig",
    controls: &[],
    global: false,
    subject: None,
    inside: Some(gen_12_inside),
    check: gen_12_check,
};

fn gen_12_inside(_: &Inside) -> Result<Value, StepError> {
    let mut out = BTreeMap::new();
    for k in NS_TYPES {
        let flag = clone_flag(k);
        let r = in_child(&format!("unshare the {k} type"), move || {
            if flag != libc::CLONE_NEWUSER {
                if let Err(m) = new_user_ns() {
                    return m;
                }
            }
            res(unshare(CloneFlags::from_bits_retain(flag)))
        })?;
        out.insert(k.to_string(), r);
    }
    facts(&out)
}

fn gen_12_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host(), Value::Null)?;
    let f: BTreeMap<String, String> = run.facts()?;
    let v = kver(cx);
    let mut e = Expect::new();
    for k in NS_TYPES {
        let since = match k {
            "cgroup" => KernelVersion(4, 6, 0),
            "time" => KernelVersion(5, 6, 0),
            _ => KernelVersion(3, 8, 0),
        };
        let configured = config_option(k).map(|o| cx.env.config(o));
        let got = f.get(k).cloned().unwrap_or_default();
        match configured {
            Some(Some(ConfigState::Unset)) => {
                e.eq(
                    &format!("unshare CLONE_NEW{} (built without it)", k.to_uppercase()),
                    "EINVAL",
                    got.as_str(),
                );
            }
            Some(None) if v >= since => {
                e.that(
                    &format!(
                        "unshare CLONE_NEW{} (kernel config unknown)",
                        k.to_uppercase()
                    ),
                    got == OK || got == "EINVAL",
                    "OK or EINVAL",
                    got.clone(),
                );
            }
            _ if v >= since => {
                e.eq(
                    &format!("unshare CLONE_NEW{} (configured)", k.to_uppercase()),
                    OK,
                    got.as_str(),
                );
            }
            _ => {}
        }
    }
    Ok(
        e.verdict("configured types can be created, missing ones answer EINVAL")
            .with_observed(json!({ "unshare": f })),
    )
}
