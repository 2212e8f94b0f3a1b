//! NSFS properties: ioctl_ns(2), the nsfs UAPI (linux/nsfs.h).

use crate::harness::Cx;
use crate::host;
use crate::kit::child::Fork;
use crate::kit::nsfd::{dev_ino, open};
use crate::kit::userns::SCRATCH_ID;
use crate::kit::{facts, res, OK};
use crate::ns::{fd_ino, NS_GET_ID, NS_GET_MNTNS_ID};
use crate::ns::{
    ioctl, ioctl_fd, ioctl_u64, owner_uid, proc_entries, Ns, NS_GET_NSTYPE, NS_GET_OWNER_UID,
    NS_GET_PARENT, NS_GET_USERNS,
};
use crate::outcome::{Expect, Verdict};
use crate::probe::{errno_name, Inside, Launch, StepError, StepExt};
use crate::spec::{Area, Call, CheckResult, Control, Prereq, Property};
use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd};

pub const ALL: &[Property] = &[
    NSFS_01, NSFS_02, NSFS_03, NSFS_04, NSFS_05, NSFS_06, NSFS_07,
];

/// Open `/proc/self/ns/<type>` (`pid_for_children` style names too).
fn open_own(name: &str) -> Result<OwnedFd, StepError> {
    open(&format!("/proc/self/ns/{name}"))
}

/// The inode of a path (0 when it cannot be read).
fn ino(path: &str) -> u64 {
    dev_ino(path).map_or(0, |d| d.1)
}

/// Start a helper that unshares `flags` (none when empty) and stays alive while `f`
/// looks at it (with its PID); the helper is killed and reaped afterwards.
fn with_child_in<T>(
    flags: CloneFlags,
    f: impl FnOnce(Pid) -> Result<T, StepError>,
) -> Result<T, StepError> {
    let mut child = Fork::new("hold namespaces")
        .unshare(flags)
        .hold()
        .spawn(|_| ())?;
    child.result::<()>()?;
    f(child.pid())
}

// ---------------------------------------------------------------------------------
/// NSFS-01: NS_GET_USERNS returns the owning user namespace; EPERM when the owner is an
/// ancestor of the caller's user namespace. ioctl_ns(2).
pub const NSFS_01: Property = Property {
    id: "NSFS-01",
    area: Area::Nsfs,
    title: "NS_GET_USERNS returns an fd for the owning user namespace; EPERM when that namespace is an ancestor of the caller's",
    man: "ioctl_ns(2) \"Discovering namespace relationships\"",
    prereq: Prereq::ROOTLESS.kernel(4, 9).config(&["CONFIG_USER_NS"]),
    coverage: "KST:nsfs/owner; LTP:ioctl_ns04,ioctl_ns06",
    controls: &[Control::NoNewUser, Control::Fault(Call::NsIoctl)],
    calls: &[Call::NsIoctl],
    global: false,
    subject: None,
    inside: Some(nsfs_01_inside),
    check: nsfs_01_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Nsfs01 {
    /// NS_GET_USERNS on the UTS namespace returned the caller's own user namespace.
    uts_owner_is_own_userns: Option<bool>,
    uts_owner_errno: String,
    /// errno of NS_GET_USERNS on the caller's own user namespace (owner is an ancestor).
    own_userns_owner_errno: String,
}

fn nsfs_01_inside(_: &Inside) -> Result<Value, StepError> {
    let uts = open_own("uts")?;
    let user = open_own("user")?;
    let own = fd_ino(&user);
    let r = ioctl_fd(uts.as_raw_fd(), NS_GET_USERNS);
    facts(&Nsfs01 {
        uts_owner_is_own_userns: r.as_ref().ok().map(|fd| fd_ino(fd) == own),
        uts_owner_errno: res(r),
        own_userns_owner_errno: res(ioctl_fd(user.as_raw_fd(), NS_GET_USERNS)),
    })
}

fn nsfs_01_check(cx: &mut Cx) -> CheckResult {
    let host_user = host::own_ns_inode("user")?;
    let (run, probe_user) = cx.run_held(Launch::host().user().uts(), Value::Null, |run| {
        host::ns_inode(run.host_pid.expect("held"), "user")
    })?;
    let f: Nsfs01 = run.facts()?;
    let mut e = Expect::new();
    e.ne(
        "user namespace of the probe (a new user namespace)",
        host_user,
        probe_user,
    );
    e.eq(
        "NS_GET_USERNS on the UTS namespace created with it returns the caller's user namespace",
        (Some(true), OK.to_string()),
        (f.uts_owner_is_own_userns, f.uts_owner_errno.clone()),
    );
    e.eq(
        "NS_GET_USERNS on the caller's own user namespace (owner is an ancestor)",
        "EPERM",
        f.own_userns_owner_errno.as_str(),
    );
    Ok(e.verdict("owner returned in scope, EPERM for an ancestor")
        .with_errno("EPERM")
        .with_observed(json!({
            "uts_owner_is_own_userns": f.uts_owner_is_own_userns,
            "uts_owner_errno": f.uts_owner_errno,
            "own_userns_owner_errno": f.own_userns_owner_errno,
            "user_ns_differs_from_host": probe_user != host_user,
        })))
}

// ---------------------------------------------------------------------------------
/// NSFS-02: NS_GET_PARENT works for PID and user namespaces, EPERM when the parent is
/// outside the caller's scope, EINVAL for non-hierarchical types. ioctl_ns(2).
pub const NSFS_02: Property = Property {
    id: "NSFS-02",
    area: Area::Nsfs,
    title: "NS_GET_PARENT returns the parent PID/user namespace; EPERM for a parent outside the caller's scope; EINVAL for non-hierarchical types",
    man: "ioctl_ns(2) \"Discovering namespace relationships\"",
    prereq: Prereq::ROOTLESS.kernel(4, 9).config(&["CONFIG_USER_NS", "CONFIG_PID_NS"]),
    coverage: "KST:nsfs/pidns; LTP:ioctl_ns01,ioctl_ns02,ioctl_ns05",
    controls: &[Control::NoNewPid, Control::NoNewUser, Control::Fault(Call::NsIoctl)],
    calls: &[Call::NsIoctl, Call::Unshare, Call::Kill],
    global: false,
    subject: None,
    inside: Some(nsfs_02_inside),
    check: nsfs_02_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Nsfs02 {
    /// Parent of a child user namespace is the caller's user namespace.
    child_userns_parent_is_own: Option<bool>,
    child_userns_parent_errno: String,
    /// errno of NS_GET_PARENT on the caller's own user namespace.
    own_userns_parent_errno: String,
    /// Parent of a child PID namespace (pid_for_children after unshare) is the caller's.
    child_pidns_parent_is_own: Option<bool>,
    child_pidns_parent_errno: String,
    /// errno of NS_GET_PARENT on the caller's own PID namespace.
    own_pidns_parent_errno: String,
    /// errno of NS_GET_PARENT on UTS, IPC, net and mount namespaces.
    non_hierarchical_errnos: BTreeMap<String, String>,
}

fn nsfs_02_inside(_: &Inside) -> Result<Value, StepError> {
    let own_user = open_own("user")?;
    let own_user_ino = fd_ino(&own_user);
    let (child_userns_parent_is_own, child_userns_parent_errno) =
        with_child_in(CloneFlags::CLONE_NEWUSER, |child| {
            let fd = open(&Ns::User.path(child))?;
            let r = ioctl_fd(fd.as_raw_fd(), NS_GET_PARENT);
            Ok((r.as_ref().ok().map(|p| fd_ino(p) == own_user_ino), res(r)))
        })?;
    let own_pid = open_own("pid")?;
    let own_pidns_parent_errno = res(ioctl_fd(own_pid.as_raw_fd(), NS_GET_PARENT));
    // A child PID namespace: unshare(CLONE_NEWPID) changes only pid_for_children.
    // Honour the launch: without a new PID namespace from the launcher, the child's
    // parent is the host's PID namespace, which the check detects from outside.
    // pid_for_children has no namespace behind it until its first process exists.
    nix::sched::unshare(CloneFlags::CLONE_NEWPID).step("unshare(CLONE_NEWPID)")?;
    let (child_pidns_parent_is_own, child_pidns_parent_errno) =
        with_child_in(CloneFlags::empty(), |_| {
            let children = open_own("pid_for_children")?;
            let r = ioctl_fd(children.as_raw_fd(), NS_GET_PARENT);
            Ok((
                r.as_ref().ok().map(|p| fd_ino(p) == fd_ino(&own_pid)),
                res(r),
            ))
        })?;
    let mut non_hierarchical_errnos = BTreeMap::new();
    for kind in ["uts", "ipc", "net", "mnt"] {
        let fd = open_own(kind)?;
        non_hierarchical_errnos.insert(
            kind.to_string(),
            res(ioctl_fd(fd.as_raw_fd(), NS_GET_PARENT)),
        );
    }
    facts(&Nsfs02 {
        child_userns_parent_is_own,
        child_userns_parent_errno,
        own_userns_parent_errno: res(ioctl_fd(own_user.as_raw_fd(), NS_GET_PARENT)),
        child_pidns_parent_is_own,
        child_pidns_parent_errno,
        own_pidns_parent_errno,
        non_hierarchical_errnos,
    })
}

fn nsfs_02_check(cx: &mut Cx) -> CheckResult {
    let host_user = host::own_ns_inode("user")?;
    let host_pid = host::own_ns_inode("pid")?;
    let (run, (probe_user, probe_pid)) =
        cx.run_held(Launch::host().user().pid(), Value::Null, |run| {
            let pid = run.host_pid.expect("held");
            Ok((host::ns_inode(pid, "user")?, host::ns_inode(pid, "pid")?))
        })?;
    let f: Nsfs02 = run.facts()?;
    let eperm = "EPERM";
    let einval = "EINVAL";
    let mut e = Expect::new();
    e.ne(
        "user namespace of the probe (a new one)",
        host_user,
        probe_user,
    );
    e.ne(
        "PID namespace of the probe (a new one)",
        host_pid,
        probe_pid,
    );
    e.eq(
        "NS_GET_PARENT of a child user namespace is the caller's user namespace",
        (Some(true), OK.to_string()),
        (
            f.child_userns_parent_is_own,
            f.child_userns_parent_errno.clone(),
        ),
    );
    e.eq(
        "NS_GET_PARENT of a child PID namespace is the caller's PID namespace",
        (Some(true), OK.to_string()),
        (
            f.child_pidns_parent_is_own,
            f.child_pidns_parent_errno.clone(),
        ),
    );
    e.eq(
        "NS_GET_PARENT of the caller's own user namespace (parent out of scope)",
        eperm,
        f.own_userns_parent_errno.as_str(),
    );
    e.eq(
        "NS_GET_PARENT of the caller's own PID namespace (parent out of scope)",
        eperm,
        f.own_pidns_parent_errno.as_str(),
    );
    for (kind, errno) in &f.non_hierarchical_errnos {
        e.eq(
            &format!("NS_GET_PARENT on a {kind} namespace (not hierarchical)"),
            einval,
            errno.as_str(),
        );
    }
    Ok(e.verdict(
        "parents of child user/PID namespaces returned; EPERM out of scope; EINVAL for flat types",
    )
    .with_observed(json!({
        "child_userns_parent_is_own": f.child_userns_parent_is_own,
        "child_pidns_parent_is_own": f.child_pidns_parent_is_own,
        "own_userns_parent_errno": f.own_userns_parent_errno,
        "own_pidns_parent_errno": f.own_pidns_parent_errno,
        "non_hierarchical_errnos": f.non_hierarchical_errnos,
        "user_ns_differs_from_host": probe_user != host_user,
        "pid_ns_differs_from_host": probe_pid != host_pid,
    })))
}

// ---------------------------------------------------------------------------------
/// NSFS-03: NS_GET_NSTYPE returns the CLONE_NEW* constant of the namespace. ioctl_ns(2).
pub const NSFS_03: Property = Property {
    id: "NSFS-03",
    area: Area::Nsfs,
    title: "NS_GET_NSTYPE returns the CLONE_NEW* constant of each namespace type",
    man: "ioctl_ns(2) \"Discovering the namespace type\"",
    prereq: Prereq::ANY.kernel(4, 11),
    coverage: "OTH:~UL lsns/ioctl_ns",
    controls: &[Control::Fault(Call::NsIoctl)],
    calls: &[Call::NsIoctl],
    global: false,
    subject: None,
    inside: Some(nsfs_03_inside),
    check: nsfs_03_check,
};

/// Every /proc/self/ns entry and the CLONE_NEW* flag it must report.
fn nstype_table() -> Vec<(&'static str, i32)> {
    proc_entries()
        .into_iter()
        .filter_map(|name| Ns::parse(name).map(|ns| (name, ns.raw_flag())))
        .collect()
}

fn nsfs_03_inside(_: &Inside) -> Result<Value, StepError> {
    let mut out: BTreeMap<String, Result<i32, String>> = BTreeMap::new();
    for (kind, _) in nstype_table() {
        let path = format!("/proc/self/ns/{kind}");
        if !std::path::Path::new(&path).exists() {
            continue;
        }
        let fd = open(&path)?;
        out.insert(
            kind.to_string(),
            ioctl(fd.as_raw_fd(), NS_GET_NSTYPE, 0).map_err(errno_name),
        );
    }
    facts(&out)
}

fn nsfs_03_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host(), Value::Null)?;
    let got: BTreeMap<String, Result<i32, String>> = run.facts()?;
    let mut e = Expect::new();
    e.that(
        "namespace types present in /proc/self/ns",
        got.len() >= 8,
        ">= 8",
        got.len().to_string(),
    );
    for (kind, flag) in nstype_table() {
        if let Some(r) = got.get(kind) {
            e.eq(
                &format!("NS_GET_NSTYPE of /proc/self/ns/{kind}"),
                Ok(flag),
                r.clone(),
            );
        }
    }
    Ok(e.verdict("every namespace reports its CLONE_NEW* type")
        .with_observed(json!({ "nstype": got })))
}

// ---------------------------------------------------------------------------------
/// NSFS-04: NS_GET_OWNER_UID gives the creator's uid as seen in the caller's user
/// namespace; EINVAL on a namespace that is not a user namespace. ioctl_ns(2).
pub const NSFS_04: Property = Property {
    id: "NSFS-04",
    area: Area::Nsfs,
    title: "NS_GET_OWNER_UID returns the owner uid as seen in the caller's user namespace; EINVAL on a non-user namespace",
    man: "ioctl_ns(2) \"Discovering the owner of a user namespace\"",
    prereq: Prereq::ROOTLESS.kernel(4, 11).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:~ioctl_ns03 (EINVAL only); OTH:~UL lsns/ioctl_ns",
    controls: &[Control::NoNewUser, Control::Fault(Call::NsIoctl)],
    calls: &[Call::NsIoctl],
    global: false,
    subject: None,
    inside: Some(nsfs_04_inside),
    check: nsfs_04_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Nsfs04 {
    /// Owner uid of the probe's own user namespace, read inside (mapped: root).
    own_owner_uid: Result<u32, String>,
    /// errno of NS_GET_OWNER_UID on the UTS namespace.
    uts_errno: String,
}

fn nsfs_04_inside(_: &Inside) -> Result<Value, StepError> {
    let user = open_own("user")?;
    let uts = open_own("uts")?;
    facts(&Nsfs04 {
        own_owner_uid: owner_uid(user.as_raw_fd()).map_err(errno_name),
        uts_errno: res(owner_uid(uts.as_raw_fd())),
    })
}

fn nsfs_04_check(cx: &mut Cx) -> CheckResult {
    let mut launch = cx.prepare(Launch::host().user());
    // A privileged harness drops to a plain uid so the owner differs from root.
    if launch.drop_to.is_none() && nix::unistd::geteuid().is_root() {
        launch.drop_to = Some((SCRATCH_ID, SCRATCH_ID));
    }
    let outer = launch.drop_to.map_or_else(|| cx.outer_ids().0, |(u, _)| u);
    launch.hold = true;
    let host_user = host::own_ns_inode("user")?;
    let mut seen = None;
    let run = cx.run_exact(launch, Value::Null, |run| {
        let pid = run.host_pid.expect("held");
        let path = format!("/proc/{pid}/ns/user");
        let fd =
            std::fs::File::open(&path).map_err(|e| Verdict::error(format!("open {path}: {e}")))?;
        seen = Some((
            host::ns_inode(pid, "user")?,
            owner_uid(fd.as_raw_fd()).map_err(errno_name),
        ));
        Ok(())
    })?;
    let (probe_user, outside) = seen.expect("outside ran");
    let f: Nsfs04 = run.facts()?;
    let mut e = Expect::new();
    e.ne(
        "user namespace of the probe (a new one)",
        host_user,
        probe_user,
    );
    e.eq(
        "owner uid of the probe's user namespace read from the host",
        Ok(outer),
        outside.clone(),
    );
    e.eq(
        "owner uid of its own user namespace read inside (the creator's uid, mapped to 0)",
        Ok(0),
        f.own_owner_uid.clone(),
    );
    e.eq(
        "NS_GET_OWNER_UID on a UTS namespace",
        "EINVAL",
        f.uts_errno.as_str(),
    );
    Ok(
        e.verdict("owner uid translated to each reader's user namespace; EINVAL on UTS")
            .with_errno("EINVAL")
            .with_observed(json!({
                "outside_owner_is_outer_uid": outside == Ok(outer),
                "inside_owner_uid": f.own_owner_uid,
                "uts_errno": f.uts_errno,
            })),
    )
}

// ---------------------------------------------------------------------------------
/// NSFS-05: any NS_* ioctl on a file that is not an nsfs file fails with ENOTTY.
/// ioctl_ns(2) ERRORS.
pub const NSFS_05: Property = Property {
    id: "NSFS-05",
    area: Area::Nsfs,
    title: "Every NS_* ioctl on a file that is not a namespace file fails with ENOTTY",
    man: "ioctl_ns(2) ERRORS",
    prereq: Prereq::ANY.kernel(4, 9),
    coverage: "LTP:ioctl_ns07",
    controls: &[Control::Fault(Call::NsIoctl)],
    calls: &[Call::NsIoctl],
    global: false,
    subject: None,
    inside: Some(nsfs_05_inside),
    check: nsfs_05_check,
};

fn nsfs_05_inside(_: &Inside) -> Result<Value, StepError> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for path in ["/proc/self/status", "/dev/null"] {
        let fd = open(path)?;
        let mut one = BTreeMap::new();
        for (name, req) in [
            ("NS_GET_USERNS", NS_GET_USERNS),
            ("NS_GET_PARENT", NS_GET_PARENT),
            ("NS_GET_NSTYPE", NS_GET_NSTYPE),
            ("NS_GET_OWNER_UID", NS_GET_OWNER_UID),
        ] {
            let mut buf = [0u64; 2];
            let r = ioctl(fd.as_raw_fd(), req, buf.as_mut_ptr() as usize);
            one.insert(name.to_string(), res(r));
        }
        out.insert(path.to_string(), one);
    }
    facts(&out)
}

fn nsfs_05_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host(), Value::Null)?;
    let got: BTreeMap<String, BTreeMap<String, String>> = run.facts()?;
    let mut e = Expect::new();
    for (path, per) in &got {
        for (name, errno) in per {
            e.eq(&format!("{name} on {path}"), "ENOTTY", errno.as_str());
        }
    }
    Ok(
        e.verdict("NS_* ioctls on regular and device files fail with ENOTTY")
            .with_errno("ENOTTY")
            .with_observed(json!({ "errnos": got })),
    )
}

// ---------------------------------------------------------------------------------
/// NSFS-06: the fds NS_GET_USERNS and NS_GET_PARENT return are O_RDONLY and O_CLOEXEC.
/// ioctl_ns(2).
pub const NSFS_06: Property = Property {
    id: "NSFS-06",
    area: Area::Nsfs,
    title: "File descriptors returned by NS_GET_USERNS and NS_GET_PARENT are O_RDONLY and close-on-exec",
    man: "ioctl_ns(2) \"Discovering namespace relationships\"",
    prereq: Prereq::ANY.kernel(4, 9).config(&["CONFIG_USER_NS"]),
    coverage: "new",
    controls: &[Control::Fault(Call::NsIoctl)],
    calls: &[Call::NsIoctl, Call::Unshare, Call::Kill],
    global: false,
    subject: None,
    inside: Some(nsfs_06_inside),
    check: nsfs_06_check,
};

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct FdFlags {
    rdonly: bool,
    cloexec: bool,
}

fn fd_flags(fd: &OwnedFd) -> Result<FdFlags, StepError> {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
    let fl = fcntl(fd, FcntlArg::F_GETFL).step("fcntl(F_GETFL)")?;
    let fdfl = fcntl(fd, FcntlArg::F_GETFD).step("fcntl(F_GETFD)")?;
    Ok(FdFlags {
        rdonly: OFlag::from_bits_truncate(fl) & OFlag::O_ACCMODE == OFlag::O_RDONLY,
        cloexec: FdFlag::from_bits_truncate(fdfl).contains(FdFlag::FD_CLOEXEC),
    })
}

/// What each ioctl answered ("ok" or the errno) and the flags of the fds it returned.
#[derive(Serialize, Deserialize, Debug)]
struct Nsfs06 {
    ioctl: BTreeMap<String, String>,
    flags: BTreeMap<String, FdFlags>,
}

fn nsfs_06_inside(_: &Inside) -> Result<Value, StepError> {
    let uts = open_own("uts")?;
    let userns = ioctl_fd(uts.as_raw_fd(), NS_GET_USERNS);
    nix::sched::unshare(CloneFlags::CLONE_NEWPID).step("unshare(CLONE_NEWPID)")?;
    let parent = with_child_in(CloneFlags::empty(), |_| {
        let children = open_own("pid_for_children")?;
        Ok(ioctl_fd(children.as_raw_fd(), NS_GET_PARENT))
    })?;
    let mut out = Nsfs06 {
        ioctl: BTreeMap::new(),
        flags: BTreeMap::new(),
    };
    for (name, got) in [("NS_GET_USERNS", userns), ("NS_GET_PARENT", parent)] {
        match got {
            Ok(fd) => {
                out.ioctl.insert(name.into(), OK.into());
                out.flags.insert(name.into(), fd_flags(&fd)?);
            }
            Err(e) => {
                out.ioctl.insert(name.into(), crate::probe::errno_name(e));
            }
        }
    }
    facts(&out)
}

fn nsfs_06_check(cx: &mut Cx) -> CheckResult {
    // A user namespace of its own lets the probe create the child PID namespace rootless.
    let run = cx.run(Launch::host().user().uts(), Value::Null)?;
    let Nsfs06 { ioctl, flags: got } = run.facts()?;
    let mut e = Expect::new();
    for name in ["NS_GET_USERNS", "NS_GET_PARENT"] {
        e.eq(
            &format!("{name} returned an fd"),
            Some(OK),
            ioctl.get(name).map(String::as_str),
        );
        e.eq(
            &format!("flags of the fd {name} returned"),
            Some(&FdFlags {
                rdonly: true,
                cloexec: true,
            }),
            got.get(name),
        );
    }
    Ok(e.verdict("returned fds are O_RDONLY and O_CLOEXEC")
        .with_observed(json!({ "flags": got })))
}

// ---------------------------------------------------------------------------------
/// NSFS-07: NS_GET_ID returns a stable 64-bit id, distinct per namespace (6.18).
/// ioctl_ns(2); linux/nsfs.h.
pub const NSFS_07: Property = Property {
    id: "NSFS-07",
    area: Area::Nsfs,
    title: "NS_GET_ID returns a stable, non-zero 64-bit id, distinct for every namespace; a new namespace gets a new id",
    man: "ioctl_ns(2); uapi linux/nsfs.h NS_GET_ID",
    prereq: Prereq::ROOTLESS.kernel(6, 18),
    coverage: "KST:namespaces/nsid_test",
    controls: &[Control::NoNewUts, Control::Fault(Call::NsIoctl)],
    calls: &[Call::NsIoctl],
    global: false,
    subject: None,
    inside: Some(nsfs_07_inside),
    check: nsfs_07_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Nsfs07 {
    /// Namespace kind -> (inode, id from a first open, id from a second open).
    ids: BTreeMap<String, (u64, u64, u64)>,
    /// NS_GET_ID on every entry: "ok", or the errno where it failed (ENOTTY on kernels
    /// without it).
    get_id: String,
    /// NS_GET_MNTNS_ID of the mount namespace (6.9), to compare with NS_GET_ID.
    mntns_id: Option<u64>,
}

/// NS_GET_ID of every /proc/<who>/ns entry: kind -> (inode, id, id again).
fn ns_ids(who: &str) -> Result<BTreeMap<String, (u64, u64, u64)>, Errno> {
    let mut ids = BTreeMap::new();
    for (kind, _) in nstype_table() {
        let path = format!("/proc/{who}/ns/{kind}");
        let (Ok(a), Ok(b)) = (std::fs::File::open(&path), std::fs::File::open(&path)) else {
            continue;
        };
        let first = ioctl_u64(a.as_raw_fd(), NS_GET_ID)?;
        let second = ioctl_u64(b.as_raw_fd(), NS_GET_ID)?;
        ids.insert(kind.to_string(), (ino(&path), first, second));
    }
    Ok(ids)
}

fn nsfs_07_inside(_: &Inside) -> Result<Value, StepError> {
    let mnt = open_own("mnt")?;
    let mntns_id = ioctl_u64(mnt.as_raw_fd(), NS_GET_MNTNS_ID).ok();
    let (ids, get_id) = match ns_ids("self") {
        Ok(ids) => (ids, OK.to_string()),
        Err(e) => (BTreeMap::new(), errno_name(e)),
    };
    facts(&Nsfs07 {
        ids,
        get_id,
        mntns_id,
    })
}

fn nsfs_07_check(cx: &mut Cx) -> CheckResult {
    // The prerequisite (kernel 6.18) holds, so a missing call is the kernel's failure,
    // whatever it answered (a seccomp filter refusing it shows here too).
    let host = ns_ids("self").map_err(|e| {
        Verdict::fail(
            format!(
                "NS_GET_ID in the harness: this kernel (6.18 or newer, which has it) \
                 answered {}",
                errno_name(e)
            ),
            "an id",
            errno_name(e),
        )
        .with_errno(errno_name(e))
        .at("NS_GET_ID in the harness")
    })?;
    let run = cx.run(Launch::host().uts(), Value::Null)?;
    let f: Nsfs07 = run.facts()?;
    if f.get_id != OK {
        return Ok(Verdict::fail(
            format!("NS_GET_ID inside the probe failed with {}", f.get_id),
            "an id",
            &f.get_id,
        )
        .with_errno(f.get_id.clone())
        .at("NS_GET_ID inside the probe"));
    }
    let mut e = Expect::new();
    // Distinct namespaces (by inode) must have distinct ids; the same one the same id.
    let mut by_ino: BTreeMap<u64, u64> = BTreeMap::new();
    let mut by_id: BTreeMap<u64, u64> = BTreeMap::new();
    let mut consistent = true;
    for (ino, a, b) in host.values().chain(f.ids.values()) {
        consistent &= a == b && *a != 0;
        consistent &= *by_ino.entry(*ino).or_insert(*a) == *a;
        consistent &= *by_id.entry(*a).or_insert(*ino) == *ino;
    }
    e.that(
        "ids non-zero, stable across opens, one id per namespace and one namespace per id",
        consistent,
        "a bijection between namespaces and ids",
        format!("host {host:?}, probe {:?}", f.ids),
    );
    let host_uts = host.get("uts").map(|t| t.1);
    let probe_uts = f.ids.get("uts").map(|t| t.1);
    e.ne(
        "NS_GET_ID of the probe's UTS namespace (a new namespace, a new id)",
        host_uts,
        probe_uts,
    );
    e.eq(
        "ids of namespaces the probe shares with the host",
        host.get("ipc").map(|t| t.1),
        f.ids.get("ipc").map(|t| t.1),
    );
    if let Some(m) = f.mntns_id {
        e.eq(
            "NS_GET_MNTNS_ID equals NS_GET_ID for the mount namespace",
            Some(m),
            f.ids.get("mnt").map(|t| t.1),
        );
    }
    Ok(
        e.verdict("ids are stable and unique; the new UTS namespace has a new id")
            .with_observed(json!({
                "kinds": f.ids.keys().collect::<Vec<_>>(),
                "consistent": consistent,
                "new_uts_id_differs": host_uts != probe_uts,
                "mntns_id_matches": f.mntns_id.map(|m| Some(m) == f.ids.get("mnt").map(|t| t.1)),
            })),
    )
}
