//! The namespace table: every namespace type once, with its `/proc/<pid>/ns` name, its
//! `CLONE_NEW*` flag, the kernel option that enables it, and the nsfs ioctls of
//! ioctl_ns(2). A leaf: everything else (probe, kit, checks, check-config) reads it.

use nix::errno::Errno;
use nix::sched::CloneFlags;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A namespace type (namespaces(7) "Namespace types").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ns {
    Cgroup,
    Ipc,
    Mnt,
    Net,
    Pid,
    Time,
    User,
    Uts,
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub struct NsInfo {
    pub ns: Ns,
    /// The name under `/proc/<pid>/ns/`.
    pub name: &'static str,
    /// The `CLONE_NEW*` flag (also the nstype of setns(2)).
    pub flag: i32,
    /// The kernel option that lets the type be created (mount namespaces have none).
    pub config: Option<&'static str>,
    /// The `*_for_children` link, for the types that have one.
    pub for_children: Option<&'static str>,
    /// Whether NS_GET_PARENT applies (PID and user namespaces are hierarchical).
    pub hierarchical: bool,
}

/// Every type, in `/proc/<pid>/ns` (alphabetical) order.
pub const TABLE: [NsInfo; 8] = [
    row(
        Ns::Cgroup,
        "cgroup",
        libc::CLONE_NEWCGROUP,
        Some("CONFIG_CGROUPS"),
        None,
        false,
    ),
    row(
        Ns::Ipc,
        "ipc",
        libc::CLONE_NEWIPC,
        Some("CONFIG_IPC_NS"),
        None,
        false,
    ),
    row(Ns::Mnt, "mnt", libc::CLONE_NEWNS, None, None, false),
    row(
        Ns::Net,
        "net",
        libc::CLONE_NEWNET,
        Some("CONFIG_NET_NS"),
        None,
        false,
    ),
    row(
        Ns::Pid,
        "pid",
        libc::CLONE_NEWPID,
        Some("CONFIG_PID_NS"),
        Some("pid_for_children"),
        true,
    ),
    row(
        Ns::Time,
        "time",
        libc::CLONE_NEWTIME,
        Some("CONFIG_TIME_NS"),
        Some("time_for_children"),
        false,
    ),
    row(
        Ns::User,
        "user",
        libc::CLONE_NEWUSER,
        Some("CONFIG_USER_NS"),
        None,
        true,
    ),
    row(
        Ns::Uts,
        "uts",
        libc::CLONE_NEWUTS,
        Some("CONFIG_UTS_NS"),
        None,
        false,
    ),
];

const fn row(
    ns: Ns,
    name: &'static str,
    flag: i32,
    config: Option<&'static str>,
    for_children: Option<&'static str>,
    hierarchical: bool,
) -> NsInfo {
    NsInfo {
        ns,
        name,
        flag,
        config,
        for_children,
        hierarchical,
    }
}

/// `CLONE_NEW*` flags as a person reads them: `CLONE_NEWNS|CLONE_NEWPID` (table order);
/// bits that are no namespace flag in hex.
pub fn flag_names(flags: i32) -> String {
    let mut names: Vec<String> = Vec::new();
    let mut rest = flags;
    for i in TABLE {
        if flags & i.flag != 0 {
            let n = if i.ns == Ns::Mnt {
                "NS".to_string()
            } else {
                i.name.to_uppercase()
            };
            names.push(format!("CLONE_NEW{n}"));
            rest &= !i.flag;
        }
    }
    if rest != 0 {
        names.push(format!("{rest:#x}"));
    }
    if names.is_empty() {
        "0".into()
    } else {
        names.join("|")
    }
}

impl Ns {
    /// Every type, in table order.
    pub const ALL: [Ns; 8] = [
        Ns::Cgroup,
        Ns::Ipc,
        Ns::Mnt,
        Ns::Net,
        Ns::Pid,
        Ns::Time,
        Ns::User,
        Ns::Uts,
    ];

    pub const fn info(self) -> &'static NsInfo {
        &TABLE[self as usize]
    }
    /// The `/proc/<pid>/ns` name (`mnt`, `uts`, ...).
    pub const fn name(self) -> &'static str {
        self.info().name
    }
    /// The raw `CLONE_NEW*` flag.
    pub const fn raw_flag(self) -> i32 {
        self.info().flag
    }
    /// The `CLONE_NEW*` flag.
    pub const fn flag(self) -> CloneFlags {
        CloneFlags::from_bits_retain(self.info().flag)
    }
    /// The kernel option that enables the type (none for mount namespaces).
    pub const fn config(self) -> Option<&'static str> {
        self.info().config
    }
    /// `/proc/<who>/ns/<name>` (`who` is `self`, `thread-self` or a PID).
    pub fn path(self, who: impl std::fmt::Display) -> String {
        format!("/proc/{who}/ns/{}", self.name())
    }
    /// The type of a `/proc/<pid>/ns` name (`pid_for_children` names `Pid`).
    pub fn parse(name: &str) -> Option<Ns> {
        TABLE
            .iter()
            .find(|r| r.name == name || r.for_children == Some(name))
            .map(|r| r.ns)
    }
    /// The fixed inode of this type's initial namespace on kernel `v`, or `None` when
    /// it is dynamic there (net and mnt before 6.18).
    pub fn init_ino(self, v: crate::env::KernelVersion) -> Option<u64> {
        let fixed_net_mnt = v >= crate::env::KernelVersion(6, 18, 0);
        Some(match self {
            Ns::Ipc => 0xEFFF_FFFF,
            Ns::Uts => 0xEFFF_FFFE,
            Ns::User => 0xEFFF_FFFD,
            Ns::Pid => 0xEFFF_FFFC,
            Ns::Cgroup => 0xEFFF_FFFB,
            Ns::Time => 0xEFFF_FFFA,
            Ns::Net if fixed_net_mnt => 0xEFFF_FFF9,
            Ns::Mnt if fixed_net_mnt => 0xEFFF_FFF8,
            Ns::Net | Ns::Mnt => return None,
        })
    }
    /// The type whose `CLONE_NEW*` flag is `flag`.
    pub fn from_flag(flag: i32) -> Option<Ns> {
        TABLE.iter().find(|r| r.flag == flag).map(|r| r.ns)
    }
}

impl std::fmt::Display for Ns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Every `/proc/<pid>/ns` entry, `*_for_children` links included, sorted.
pub fn proc_entries() -> Vec<&'static str> {
    let mut v: Vec<&str> = TABLE
        .iter()
        .flat_map(|r| std::iter::once(r.name).chain(r.for_children))
        .collect();
    v.sort_unstable();
    v
}

/// The request type of ioctl(2) on this target.
pub type Ioctl = nix::sys::ioctl::ioctl_num_type;

// ioctl numbers of linux/nsfs.h, NSIO = 0xb7. `_IO(NSIO, n)` is 0xb700 | n;
// `_IOR(NSIO, n, __u64)` adds the read direction and the size.
/// `_IO(NSIO, 0x1)`: fd of the owning user namespace (4.9).
pub const NS_GET_USERNS: Ioctl = nix::request_code_none!(0xb7, 0x1);
/// `_IO(NSIO, 0x2)`: fd of the parent namespace, PID and user namespaces only (4.9).
pub const NS_GET_PARENT: Ioctl = nix::request_code_none!(0xb7, 0x2);
/// `_IO(NSIO, 0x3)`: the CLONE_NEW* type (4.11).
pub const NS_GET_NSTYPE: Ioctl = nix::request_code_none!(0xb7, 0x3);
/// `_IO(NSIO, 0x4)`: owner uid of a user namespace, written through a `uid_t *` (4.11).
pub const NS_GET_OWNER_UID: Ioctl = nix::request_code_none!(0xb7, 0x4);
/// `_IOR(NSIO, 0x5, __u64)`: the 64-bit id of a mount namespace (6.9).
pub const NS_GET_MNTNS_ID: Ioctl = nix::request_code_read!(0xb7, 0x5, 8);
/// `_IOR(NSIO, 0x6, int)`: a PID translated from the namespace's view to the caller's.
pub const NS_GET_PID_FROM_PIDNS: Ioctl = nix::request_code_read!(0xb7, 0x6, 4);
/// `_IOR(NSIO, 0x7, int)`: a thread ID translated likewise.
pub const NS_GET_TGID_FROM_PIDNS: Ioctl = nix::request_code_read!(0xb7, 0x7, 4);
/// `_IOR(NSIO, 0x8, int)`: a PID translated from the caller's view to the namespace's.
pub const NS_GET_PID_IN_PIDNS: Ioctl = nix::request_code_read!(0xb7, 0x8, 4);
/// `_IOR(NSIO, 0x9, int)`: a thread ID translated likewise.
pub const NS_GET_TGID_IN_PIDNS: Ioctl = nix::request_code_read!(0xb7, 0x9, 4);
/// `_IOR(NSIO, 10, struct mnt_ns_info)`: size, count and id of a mount namespace (6.12).
pub const NS_MNT_GET_INFO: Ioctl = nix::request_code_read!(0xb7, 10, 16);
/// `_IOR(NSIO, 11, struct mnt_ns_info)`: the next mount namespace (6.12).
pub const NS_MNT_GET_NEXT: Ioctl = nix::request_code_read!(0xb7, 11, 16);
/// `_IOR(NSIO, 12, struct mnt_ns_info)`: the previous mount namespace (6.12).
pub const NS_MNT_GET_PREV: Ioctl = nix::request_code_read!(0xb7, 12, 16);
/// `_IOR(NSIO, 13, __u64)`: the 64-bit id of any namespace (6.18).
pub const NS_GET_ID: Ioctl = nix::request_code_read!(0xb7, 13, 8);
/// `SIOCGSKNS` (linux/sockios.h): an fd for the network namespace of a socket.
pub const SIOCGSKNS: Ioctl = 0x894C;

/// ioctl(fd, request, arg): the result or the errno.
pub fn ioctl(fd: RawFd, request: Ioctl, arg: usize) -> Result<i32, Errno> {
    // SAFETY: the nsfs ioctls take no argument, an integer, or a pointer to a
    // caller-owned buffer of the size their number encodes; callers pass exactly that.
    let r = unsafe { libc::ioctl(fd, request, arg) };
    Errno::result(r)
}

/// An ioctl that returns a new descriptor (NS_GET_USERNS, NS_GET_PARENT, SIOCGSKNS).
pub fn ioctl_fd(fd: RawFd, request: Ioctl) -> Result<OwnedFd, Errno> {
    // SAFETY: on success the ioctl returns a new descriptor that nothing else owns.
    ioctl(fd, request, 0).map(|n| unsafe { OwnedFd::from_raw_fd(n) })
}

/// An `_IOR(.., __u64)` ioctl (NS_GET_ID, NS_GET_MNTNS_ID).
pub fn ioctl_u64(fd: RawFd, request: Ioctl) -> Result<u64, Errno> {
    let mut v: u64 = 0;
    ioctl(fd, request, &mut v as *mut u64 as usize).map(|_| v)
}

/// NS_GET_OWNER_UID of a user namespace fd.
pub fn owner_uid(fd: RawFd) -> Result<u32, Errno> {
    let mut uid: libc::uid_t = 0;
    ioctl(fd, NS_GET_OWNER_UID, &mut uid as *mut libc::uid_t as usize).map(|_| uid)
}

/// The inode of an open namespace descriptor (0 when fstat fails, which it does not on
/// a descriptor the caller holds).
pub fn fd_ino(fd: &impl AsRawFd) -> u64 {
    // SAFETY: the descriptor is open for the duration of this call (the caller holds it).
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd.as_raw_fd()) };
    nix::sys::stat::fstat(fd).map_or(0, |s| s.st_ino)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_names_read_like_the_man_page() {
        assert_eq!(
            flag_names(libc::CLONE_NEWNS | libc::CLONE_NEWTIME),
            "CLONE_NEWNS|CLONE_NEWTIME"
        );
        assert_eq!(flag_names(0), "0");
        assert_eq!(flag_names(libc::CLONE_NEWUTS | 1), "CLONE_NEWUTS|0x1");
    }

    #[test]
    fn table_is_indexed_by_the_enum() {
        for (i, ns) in Ns::ALL.into_iter().enumerate() {
            assert_eq!(TABLE[i].ns, ns);
            assert_eq!(Ns::parse(ns.name()), Some(ns));
            assert_eq!(Ns::from_flag(ns.raw_flag()), Some(ns));
        }
        assert_eq!(Ns::parse("pid_for_children"), Some(Ns::Pid));
        assert_eq!(proc_entries().len(), 10);
    }

    #[test]
    fn ioctl_numbers_match_linux_nsfs_h() {
        assert_eq!(NS_GET_USERNS, 0xb701);
        assert_eq!(NS_GET_PARENT, 0xb702);
        assert_eq!(NS_GET_NSTYPE, 0xb703);
        assert_eq!(NS_GET_OWNER_UID, 0xb704);
        assert_eq!(NS_GET_MNTNS_ID, 0x8008_b705);
        assert_eq!(NS_GET_ID, 0x8008_b70d);
        assert_eq!(NS_MNT_GET_INFO, 0x8010_b70a);
    }
}
