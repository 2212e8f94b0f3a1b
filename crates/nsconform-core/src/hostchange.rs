//! What a subject changed on the host: the host's global state before and after a
//! subject ([`Snapshot`]), the differences as typed values ([`HostChange`]), whether each
//! one is the subject's ([`Attribution`]), and putting back what is safe to put back
//! ([`Attribution::settle`]).
//!
//! What is compared (all in the harness's namespaces, which are the host's in subject
//! mode): the host and domain name; every mount of the host mount namespace by mount ID,
//! parent, mount point, file system and source (so an overmount of `/proc` or `/sys` is a
//! new mount, not "the same mount point"; mount_namespaces(7)); SysV message queues,
//! shared memory and semaphore sets with id, key, owner and (shm) creator PID from
//! `/proc/sysvipc` (sysvipc(7)); POSIX queues in `/dev/mqueue` when an mqueue file system
//! is mounted there (mq_overview(7)); named network namespaces in `/run/netns`
//! (ip-netns(8)); links of the host network namespace by name and ifindex; and cgroup
//! directories down to [`CGROUP_DEPTH`] levels below every cgroup v1 and v2 root, plus
//! everything under the run's own cgroup (cgroups(7)).
//!
//! Attribution is evidence, never a guess presented as fact. A change is the subject's
//! when (in this order):
//! 1. it carries this run's tag: a name the harness gave the probe
//!    (`nsconform-s-<tag>` host names, `nsconform-marker-<tag>` mounts, ...);
//! 2. it is under a path the subject was given (the scratch directory, a `--probe-into`
//!    root filesystem), or under the run's own cgroup;
//! 3. the kernel ties it to a process of the subject: a shared memory segment whose
//!    creator PID (`cpid`) is one the harness saw in the subject's cgroup or tree, a cgroup
//!    that a process of the subject was seen in;
//! 4. for the host and domain name: the probe ran in the host's UTS namespace, or a
//!    process of the subject was seen in the host's UTS namespace with CAP_SYS_ADMIN in
//!    the initial user namespace (the means to change it);
//! 5. for mounts, named netns, IPC objects and links, which the kernel records no creator
//!    for: every process of the subject the harness saw (the first one at its start,
//!    which is always in the host's namespaces, and those sampled while the probe
//!    reported and before the kill) was in the host's mount / IPC / network namespace. A
//!    subject with any namespace of that type of its own does not get the host's changes
//!    of that type attributed without one of the ties above.
//!
//! Before any of these, a change named by another nsconform run (`nsconform-<...>-<pid>`
//! with a live owner PID, this process included, but not this run's tag) is never this
//! subject's and is dropped. Everything else is reported as not the subject's and left
//! alone. Rules 4 and 5 are circumstantial: another process of the machine that changes
//! the same kind of state while a subject without namespaces of that type runs is
//! attributed to the subject; the report says which rule decided.

use crate::host::NameRead;
use crate::mountinfo::MountEntry;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// How many directory levels below each cgroup root are compared.
pub const CGROUP_DEPTH: usize = 4;
/// At most this many cgroup directories are listed per snapshot (a bound, not a limit
/// any real host reaches at [`CGROUP_DEPTH`]).
const MAX_CGROUP_DIRS: usize = 50_000;

/// The kinds of SysV IPC objects (sysvipc(7)).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum SysvKind {
    Msg,
    Shm,
    Sem,
}

impl SysvKind {
    pub const ALL: [SysvKind; 3] = [SysvKind::Msg, SysvKind::Shm, SysvKind::Sem];
    fn file(self) -> &'static str {
        match self {
            SysvKind::Msg => "msg",
            SysvKind::Shm => "shm",
            SysvKind::Sem => "sem",
        }
    }
    fn id_column(self) -> &'static str {
        match self {
            SysvKind::Msg => "msqid",
            SysvKind::Shm => "shmid",
            SysvKind::Sem => "semid",
        }
    }
    fn label(self) -> &'static str {
        match self {
            SysvKind::Msg => "SysV message queue",
            SysvKind::Shm => "SysV shared memory segment",
            SysvKind::Sem => "SysV semaphore set",
        }
    }
}

/// One SysV IPC object as `/proc/sysvipc/<kind>` shows it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SysvObject {
    pub kind: SysvKind,
    pub id: i32,
    pub key: i32,
    pub owner_uid: u32,
    /// The creator's PID, where the kernel shows one (shared memory only).
    pub creator_pid: Option<i32>,
}

/// A POSIX message queue in `/dev/mqueue`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PosixQueue {
    pub name: String,
    pub owner_uid: Option<u32>,
}

/// A link of the host network namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Link {
    pub name: String,
    pub ifindex: u32,
}

/// The host's global state at one moment.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub hostname: NameRead,
    pub domainname: NameRead,
    pub mounts: Vec<MountEntry>,
    pub sysv: Vec<SysvObject>,
    /// `None` when no mqueue file system is mounted on `/dev/mqueue`.
    pub mqueues: Option<Vec<PosixQueue>>,
    pub netns: Vec<String>,
    pub links: Vec<Link>,
    /// Cgroup directories (full paths) down to [`CGROUP_DEPTH`] below every root.
    pub cgroups: BTreeSet<String>,
}

/// Parse one `/proc/sysvipc/<kind>` table (columns found by the header's names).
pub fn parse_sysvipc(kind: SysvKind, text: &str) -> Vec<SysvObject> {
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let cols: Vec<&str> = header.split_whitespace().collect();
    let at = |name: &str| cols.iter().position(|c| *c == name);
    let (Some(key), Some(id), Some(uid)) = (at("key"), at(kind.id_column()), at("uid")) else {
        return Vec::new();
    };
    let cpid = at("cpid");
    lines
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some(SysvObject {
                kind,
                id: f.get(id)?.parse().ok()?,
                key: f.get(key)?.parse().ok()?,
                owner_uid: f.get(uid)?.parse().ok()?,
                creator_pid: cpid.and_then(|c| f.get(c)?.parse().ok()),
            })
        })
        .collect()
}

fn names_in(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Cgroup directories below `root`, down to `depth` levels, into `out`.
fn walk_cgroups(root: &Path, depth: usize, out: &mut BTreeSet<String>) {
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, d)) = stack.pop() {
        if d >= depth || out.len() >= MAX_CGROUP_DIRS {
            continue;
        }
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                let p = e.path();
                out.insert(p.display().to_string());
                stack.push((p, d + 1));
            }
        }
    }
}

impl Snapshot {
    /// Read the host's state as the harness sees it.
    pub fn capture() -> Snapshot {
        let mounts = crate::host::mounts();
        let mqueue_mounted = mounts
            .iter()
            .any(|m| m.mount_point == "/dev/mqueue" && m.fs_type == "mqueue");
        let mqueues = mqueue_mounted.then(|| {
            use std::os::unix::fs::MetadataExt;
            names_in("/dev/mqueue")
                .into_iter()
                .map(|name| PosixQueue {
                    owner_uid: std::fs::metadata(format!("/dev/mqueue/{name}"))
                        .ok()
                        .map(|m| m.uid()),
                    name,
                })
                .collect()
        });
        let mut cgroups = BTreeSet::new();
        for m in mounts
            .iter()
            .filter(|m| m.fs_type == "cgroup" || m.fs_type == "cgroup2")
        {
            walk_cgroups(Path::new(&m.mount_point), CGROUP_DEPTH, &mut cgroups);
        }
        let links = names_in("/sys/class/net")
            .into_iter()
            .filter_map(|name| {
                let ifindex = std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))
                    .ok()?
                    .trim()
                    .parse()
                    .ok()?;
                Some(Link { name, ifindex })
            })
            .collect();
        Snapshot {
            hostname: crate::host::hostname(),
            domainname: crate::host::domainname(),
            sysv: SysvKind::ALL
                .iter()
                .flat_map(|k| {
                    parse_sysvipc(
                        *k,
                        &std::fs::read_to_string(format!("/proc/sysvipc/{}", k.file()))
                            .unwrap_or_default(),
                    )
                })
                .collect(),
            mqueues,
            netns: names_in("/run/netns"),
            links,
            cgroups,
            mounts,
        }
    }
}

/// Whether something appeared or went away.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Appeared,
    Gone,
}

impl Change {
    fn word(self) -> &'static str {
        match self {
            Change::Appeared => "new",
            Change::Gone => "gone:",
        }
    }
}

/// One difference between the host before and after a subject.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HostChange {
    Hostname {
        from: NameRead,
        to: NameRead,
    },
    Domainname {
        from: NameRead,
        to: NameRead,
    },
    Mount {
        change: Change,
        mount_id: u32,
        parent_id: u32,
        mount_point: String,
        fs_type: String,
        source: String,
    },
    SysvMsg {
        change: Change,
        id: i32,
        key: i32,
        owner_uid: u32,
    },
    SysvShm {
        change: Change,
        id: i32,
        key: i32,
        owner_uid: u32,
        creator_pid: Option<i32>,
    },
    SysvSem {
        change: Change,
        id: i32,
        key: i32,
        owner_uid: u32,
    },
    PosixQueue {
        change: Change,
        name: String,
        owner_uid: Option<u32>,
    },
    NamedNetns {
        change: Change,
        name: String,
    },
    Link {
        change: Change,
        name: String,
        ifindex: u32,
    },
    LinkRenamed {
        ifindex: u32,
        from: String,
        to: String,
    },
    Cgroup {
        change: Change,
        path: String,
        /// Under the run's own cgroup.
        under_run: bool,
    },
}

impl HostChange {
    fn sysv(change: Change, o: &SysvObject) -> HostChange {
        let (id, key, owner_uid) = (o.id, o.key, o.owner_uid);
        match o.kind {
            SysvKind::Msg => HostChange::SysvMsg {
                change,
                id,
                key,
                owner_uid,
            },
            SysvKind::Shm => HostChange::SysvShm {
                change,
                id,
                key,
                owner_uid,
                creator_pid: o.creator_pid,
            },
            SysvKind::Sem => HostChange::SysvSem {
                change,
                id,
                key,
                owner_uid,
            },
        }
    }

    /// The names this change carries (for tags and other runs' names).
    fn names(&self) -> Vec<&str> {
        match self {
            HostChange::Hostname { from, to } | HostChange::Domainname { from, to } => {
                [from, to].into_iter().filter_map(NameRead::value).collect()
            }
            HostChange::Mount {
                mount_point,
                source,
                ..
            } => {
                let mut v: Vec<&str> = mount_point.split('/').filter(|s| !s.is_empty()).collect();
                v.push(source);
                v
            }
            HostChange::PosixQueue { name, .. }
            | HostChange::NamedNetns { name, .. }
            | HostChange::Link { name, .. } => vec![name],
            HostChange::LinkRenamed { from, to, .. } => vec![from, to],
            HostChange::Cgroup { path, .. } => path.split('/').filter(|s| !s.is_empty()).collect(),
            HostChange::SysvMsg { .. }
            | HostChange::SysvShm { .. }
            | HostChange::SysvSem { .. } => Vec::new(),
        }
    }

    /// Where the change is, for the rule on given paths.
    fn path(&self) -> Option<&str> {
        match self {
            HostChange::Mount { mount_point, .. } => Some(mount_point),
            HostChange::Cgroup { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// [`shown`] of a name as read (an unreadable one says so).
fn shown_name(n: &NameRead) -> String {
    n.value().map_or_else(|| n.to_string(), shown)
}

fn shown(s: &str) -> String {
    if s.is_empty() {
        "(empty)".to_string()
    } else {
        format!("`{s}`")
    }
}

impl fmt::Display for HostChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostChange::Hostname { from, to } => {
                write!(
                    f,
                    "hostname changed from {} to {}",
                    shown_name(from),
                    shown_name(to)
                )
            }
            HostChange::Domainname { from, to } => write!(
                f,
                "domain name changed from {} to {}",
                shown_name(from),
                shown_name(to)
            ),
            HostChange::Mount {
                change,
                mount_id,
                mount_point,
                fs_type,
                source,
                ..
            } => write!(
                f,
                "{} mount at {mount_point} ({fs_type} from {}, mount ID {mount_id})",
                change.word(),
                shown(source)
            ),
            HostChange::SysvMsg {
                change,
                id,
                key,
                owner_uid,
            }
            | HostChange::SysvSem {
                change,
                id,
                key,
                owner_uid,
            } => {
                let kind = if matches!(self, HostChange::SysvMsg { .. }) {
                    SysvKind::Msg
                } else {
                    SysvKind::Sem
                };
                write!(
                    f,
                    "{} {} {id} (key {:#010x}, owner uid {owner_uid})",
                    change.word(),
                    kind.label(),
                    *key as u32
                )
            }
            HostChange::SysvShm {
                change,
                id,
                key,
                owner_uid,
                creator_pid,
            } => {
                write!(
                    f,
                    "{} {} {id} (key {:#010x}, owner uid {owner_uid}",
                    change.word(),
                    SysvKind::Shm.label(),
                    *key as u32
                )?;
                if let Some(p) = creator_pid {
                    write!(f, ", created by PID {p}")?;
                }
                f.write_str(")")
            }
            HostChange::PosixQueue {
                change,
                name,
                owner_uid,
            } => {
                write!(f, "{} POSIX message queue /{name}", change.word())?;
                if let Some(u) = owner_uid {
                    write!(f, " (owner uid {u})")?;
                }
                Ok(())
            }
            HostChange::NamedNetns { change, name } => write!(
                f,
                "{} named network namespace /run/netns/{name}",
                change.word()
            ),
            HostChange::Link {
                change,
                name,
                ifindex,
            } => write!(
                f,
                "{} link {name} (ifindex {ifindex}) in the host's network namespace",
                change.word()
            ),
            HostChange::LinkRenamed { ifindex, from, to } => write!(
                f,
                "link {from} (ifindex {ifindex}) of the host renamed to {to}"
            ),
            HostChange::Cgroup {
                change,
                path,
                under_run,
            } => write!(
                f,
                "{} cgroup {path}{}",
                change.word(),
                if *under_run {
                    " (under the run's own cgroup)"
                } else {
                    ""
                }
            ),
        }
    }
}

/// Every difference from `before` to `after`, in a stable order. Named network
/// namespaces are reported as such, not also as the nsfs mounts that hold them.
pub fn diff(before: &Snapshot, after: &Snapshot) -> Vec<HostChange> {
    let mut out = Vec::new();
    if before.hostname != after.hostname {
        out.push(HostChange::Hostname {
            from: before.hostname.clone(),
            to: after.hostname.clone(),
        });
    }
    if before.domainname != after.domainname {
        out.push(HostChange::Domainname {
            from: before.domainname.clone(),
            to: after.domainname.clone(),
        });
    }
    let key = |m: &MountEntry| {
        (
            m.mount_id,
            m.parent_id,
            m.mount_point.clone(),
            m.fs_type.clone(),
            m.source.clone(),
        )
    };
    let holds_netns = |m: &MountEntry| {
        m.fs_type == "nsfs" && Path::new(&m.mount_point).parent() == Some(Path::new("/run/netns"))
    };
    let b: BTreeSet<_> = before.mounts.iter().map(key).collect();
    let a: BTreeSet<_> = after.mounts.iter().map(key).collect();
    for (change, from, other) in [
        (Change::Gone, &before.mounts, &a),
        (Change::Appeared, &after.mounts, &b),
    ] {
        for m in from
            .iter()
            .filter(|m| !other.contains(&key(m)) && !holds_netns(m))
        {
            out.push(HostChange::Mount {
                change,
                mount_id: m.mount_id,
                parent_id: m.parent_id,
                mount_point: m.mount_point.clone(),
                fs_type: m.fs_type.clone(),
                source: m.source.clone(),
            });
        }
    }
    let b: BTreeSet<_> = before.sysv.iter().collect();
    let a: BTreeSet<_> = after.sysv.iter().collect();
    // The same object with another owner or creator shown is not a new one: compare
    // kind, id and key.
    let ident = |o: &&SysvObject| (o.kind, o.id, o.key);
    let bi: BTreeSet<_> = b.iter().map(ident).collect();
    let ai: BTreeSet<_> = a.iter().map(ident).collect();
    for o in &b {
        if !ai.contains(&ident(o)) {
            out.push(HostChange::sysv(Change::Gone, o));
        }
    }
    for o in &a {
        if !bi.contains(&ident(o)) {
            out.push(HostChange::sysv(Change::Appeared, o));
        }
    }
    if let (Some(bq), Some(aq)) = (&before.mqueues, &after.mqueues) {
        let bn: BTreeSet<&str> = bq.iter().map(|q| q.name.as_str()).collect();
        let an: BTreeSet<&str> = aq.iter().map(|q| q.name.as_str()).collect();
        for q in bq.iter().filter(|q| !an.contains(q.name.as_str())) {
            out.push(HostChange::PosixQueue {
                change: Change::Gone,
                name: q.name.clone(),
                owner_uid: q.owner_uid,
            });
        }
        for q in aq.iter().filter(|q| !bn.contains(q.name.as_str())) {
            out.push(HostChange::PosixQueue {
                change: Change::Appeared,
                name: q.name.clone(),
                owner_uid: q.owner_uid,
            });
        }
    }
    for (change, from, other) in [
        (Change::Gone, &before.netns, &after.netns),
        (Change::Appeared, &after.netns, &before.netns),
    ] {
        for n in from.iter().filter(|n| !other.contains(n)) {
            out.push(HostChange::NamedNetns {
                change,
                name: n.clone(),
            });
        }
    }
    let bl: BTreeMap<u32, &str> = before
        .links
        .iter()
        .map(|l| (l.ifindex, l.name.as_str()))
        .collect();
    let al: BTreeMap<u32, &str> = after
        .links
        .iter()
        .map(|l| (l.ifindex, l.name.as_str()))
        .collect();
    for (i, n) in &bl {
        match al.get(i) {
            None => out.push(HostChange::Link {
                change: Change::Gone,
                name: n.to_string(),
                ifindex: *i,
            }),
            Some(m) if m != n => out.push(HostChange::LinkRenamed {
                ifindex: *i,
                from: n.to_string(),
                to: m.to_string(),
            }),
            Some(_) => {}
        }
    }
    for (i, n) in al.iter().filter(|(i, _)| !bl.contains_key(i)) {
        out.push(HostChange::Link {
            change: Change::Appeared,
            name: n.to_string(),
            ifindex: *i,
        });
    }
    for (change, from, other) in [
        (Change::Gone, &before.cgroups, &after.cgroups),
        (Change::Appeared, &after.cgroups, &before.cgroups),
    ] {
        for p in from.iter().filter(|p| !other.contains(*p)) {
            out.push(HostChange::Cgroup {
                change,
                path: p.clone(),
                under_run: false,
            });
        }
    }
    out
}

/// One change found after a subject: what, whether it is the subject's and why, and
/// whether the harness put it back.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
pub struct HostFinding {
    #[serde(flatten)]
    pub change: HostChange,
    /// Whether the change is the subject's (see the module documentation for the rules).
    pub attributed: bool,
    /// Which rule decided.
    pub why: String,
    /// Whether the harness undid it.
    pub restored: bool,
    /// Why it was not undone, or how undoing it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_note: Option<String>,
}

impl fmt::Display for HostFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}: {}",
            self.change,
            if self.attributed {
                "the subject's"
            } else {
                "not tied to the subject"
            },
            self.why
        )?;
        if self.restored {
            f.write_str("; put back")?;
        } else if let Some(n) = &self.restore_note {
            write!(f, "; {n}")?;
        }
        f.write_str(")")
    }
}

/// The namespace types attribution looks at.
const KINDS: [&str; 5] = ["mnt", "uts", "ipc", "net", "user"];

/// One sighting of a process of the subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sighting {
    pub pid: i32,
    /// Namespace inodes by type (`mnt`, `uts`, `ipc`, `net`, `user`).
    pub ns: BTreeMap<String, u64>,
    /// CAP_SYS_ADMIN in its effective set.
    pub sys_admin: bool,
    /// `/proc/<pid>/cgroup` lines: (controllers, path).
    pub cgroups: Vec<(String, String)>,
}

/// What the harness knows about one subject run, to tell the subject's changes from the
/// rest of the machine's: the run's tag, the paths it gave the subject, the harness's
/// own (the host's) namespaces, and the processes of the subject it saw.
#[derive(Clone, Debug, Default)]
pub struct Attribution {
    pub tag: String,
    /// Paths given to the subject (the scratch directory, a `--probe-into` root).
    pub given: Vec<PathBuf>,
    /// The harness's namespaces, i.e. the host's.
    pub host_ns: BTreeMap<String, u64>,
    pub seen: Vec<Sighting>,
    /// The probe's PID, when it reported.
    pub probe: Option<i32>,
    /// The run's own cgroup directories.
    pub run_cgroups: Vec<PathBuf>,
    /// The harness's own IPC objects of this run (never the subject's).
    pub harness_msqid: Option<i32>,
    pub harness_mq: Option<String>,
}

fn cap_sys_admin(status: &str) -> bool {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .is_some_and(|caps| caps & (1u64 << crate::kit::proc::CAP_SYS_ADMIN) != 0)
}

fn parse_cgroup_lines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, c, p) = (f.next()?, f.next()?, f.next()?);
            Some((c.to_string(), p.to_string()))
        })
        .collect()
}

/// The PID of the nsconform process that named a resource `nsconform-<word>-...-<pid>-..`
/// (the first all-digit part after the prefix), if the name is one.
pub fn nsconform_owner(name: &str) -> Option<i32> {
    name.match_indices(crate::contain::PREFIX)
        .find_map(|(i, p)| {
            name[i + p.len()..]
                .split('-')
                .take_while(|s| !s.is_empty())
                .find(|s| !s.chars().all(|c| c.is_ascii_alphabetic()))
                .filter(|s| s.chars().all(|c| c.is_ascii_digit()))?
                .parse()
                .ok()
        })
}

/// Whether `name` carries `tag` as a whole word (`-<tag>` not followed by a digit).
pub fn carries_tag(name: &str, tag: &str) -> bool {
    !tag.is_empty()
        && name.match_indices(tag).any(|(i, _)| {
            let before_ok = i == 0 || name.as_bytes()[i - 1] == b'-';
            let after = name.as_bytes().get(i + tag.len());
            before_ok && !after.is_some_and(|c| c.is_ascii_digit())
        })
}

fn alive(pid: i32) -> bool {
    pid > 0 && Path::new(&format!("/proc/{pid}")).exists()
}

/// The verdict of the rules on one change.
enum Decision {
    /// Named by another live nsconform run: not reported.
    Ignore,
    Ours(String),
    NotOurs(String),
}

impl Attribution {
    /// For the run tagged `tag` that gave the subject the paths `given`; reads the
    /// harness's own namespaces.
    pub fn new(tag: &str, given: &[PathBuf]) -> Attribution {
        let host_ns = KINDS
            .iter()
            .filter_map(|k| Some((k.to_string(), crate::probe::sys::ns_inode("self", k).ok()?)))
            .collect();
        Attribution {
            tag: tag.to_string(),
            given: given.to_vec(),
            host_ns,
            ..Attribution::default()
        }
    }

    /// The harness's own IPC objects of this run, which are never the subject's.
    pub fn harness_ipc(&mut self, msqid: i32, mq_name: &str) {
        self.harness_msqid = Some(msqid);
        self.harness_mq = Some(mq_name.trim_start_matches('/').to_string());
    }

    /// The subject's first process, just started: forked by the harness, it starts in
    /// the harness's namespaces with the harness's privilege, whether or not it is still
    /// there to be read.
    pub fn saw_start(&mut self, pid: i32) {
        let own = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        self.seen.push(Sighting {
            pid,
            ns: self.host_ns.clone(),
            sys_admin: cap_sys_admin(&own),
            cgroups: Vec::new(),
        });
        self.saw_pid(pid);
    }

    /// A process of the subject, seen now: its namespaces, privilege and cgroups, as the
    /// harness's procfs shows them. A process already gone is not recorded.
    pub fn saw_pid(&mut self, pid: i32) {
        let ns: BTreeMap<String, u64> = KINDS
            .iter()
            .filter_map(|k| {
                Some((
                    k.to_string(),
                    crate::probe::sys::ns_inode(&pid.to_string(), k).ok()?,
                ))
            })
            .collect();
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            return;
        };
        if ns.is_empty() {
            return;
        }
        let s = Sighting {
            pid,
            ns,
            sys_admin: cap_sys_admin(&status),
            cgroups: parse_cgroup_lines(
                &std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default(),
            ),
        };
        if !self.seen.contains(&s) {
            self.seen.push(s);
        }
    }

    /// The probe that reported (by kernel facts), seen now.
    pub fn saw_probe(&mut self, pid: i32) {
        self.probe = Some(pid);
        self.saw_pid(pid);
    }

    /// Every process in the run's cgroup, seen now; also learns the run's cgroups.
    pub fn saw_cgroup(&mut self, cg: &crate::contain::RunCgroup) {
        self.run_cgroups = cg.dirs();
        for pid in cg.pids() {
            self.saw_pid(pid);
        }
    }

    fn pids(&self) -> BTreeSet<i32> {
        self.seen.iter().map(|s| s.pid).collect()
    }

    /// Every sighting (at least one) was in the host's namespace of `kind`.
    fn all_in_host(&self, kind: &str) -> bool {
        let host = self.host_ns.get(kind);
        host.is_some() && !self.seen.is_empty() && self.seen.iter().all(|s| s.ns.get(kind) == host)
    }

    fn in_host(&self, s: &Sighting, kind: &str) -> bool {
        self.host_ns.contains_key(kind) && s.ns.get(kind) == self.host_ns.get(kind)
    }

    fn ns_rule(&self, kind: &str, what: &str) -> Decision {
        if self.all_in_host(kind) {
            Decision::Ours(format!(
                "every process of the subject the harness saw was in the host's {what} namespace"
            ))
        } else if self.seen.is_empty() {
            Decision::NotOurs(format!(
                "no tag of this run, no process of the subject seen in the host's {what} namespace"
            ))
        } else {
            Decision::NotOurs(format!(
                "no tag of this run, and the subject had a {what} namespace of its own"
            ))
        }
    }

    fn decide(&self, c: &HostChange) -> Decision {
        let names = c.names();
        if names.iter().any(|n| carries_tag(n, &self.tag)) {
            return Decision::Ours(
                "carries this run's tag, a name the harness gave the probe".into(),
            );
        }
        if let Some(p) = c.path() {
            if let Some(g) = self.given.iter().find(|g| Path::new(p).starts_with(g)) {
                return Decision::Ours(format!(
                    "under {}, which was given to the subject",
                    g.display()
                ));
            }
            if let Some(r) = self
                .run_cgroups
                .iter()
                .find(|r| Path::new(p).starts_with(r))
            {
                return Decision::Ours(format!("under the run's own cgroup {}", r.display()));
            }
        }
        if names.iter().filter_map(|n| nsconform_owner(n)).any(alive) {
            return Decision::Ignore;
        }
        let pids = self.pids();
        match c {
            HostChange::Hostname { .. } | HostChange::Domainname { .. } => {
                if let Some(p) = self.probe {
                    if self
                        .seen
                        .iter()
                        .any(|s| s.pid == p && self.in_host(s, "uts"))
                    {
                        return Decision::Ours("the probe ran in the host's UTS namespace".into());
                    }
                }
                if let Some(s) = self
                    .seen
                    .iter()
                    .find(|s| self.in_host(s, "uts") && self.in_host(s, "user") && s.sys_admin)
                {
                    return Decision::Ours(format!(
                        "process {} of the subject ran in the host's UTS namespace with CAP_SYS_ADMIN",
                        s.pid
                    ));
                }
                Decision::NotOurs(
                    "neither a name the harness asked for nor a process of the subject able to set it (in the host's UTS namespace with CAP_SYS_ADMIN)".into(),
                )
            }
            HostChange::Mount { .. } | HostChange::NamedNetns { .. } => {
                self.ns_rule("mnt", "mount")
            }
            HostChange::SysvShm {
                creator_pid: Some(p),
                ..
            } if pids.contains(p) => {
                Decision::Ours(format!("created by process {p} of the subject (cpid)"))
            }
            HostChange::SysvMsg { id, .. } if Some(*id) == self.harness_msqid => Decision::Ignore,
            HostChange::PosixQueue { name, .. } if Some(name) == self.harness_mq.as_ref() => {
                Decision::Ignore
            }
            HostChange::SysvMsg { .. }
            | HostChange::SysvShm { .. }
            | HostChange::SysvSem { .. }
            | HostChange::PosixQueue { .. } => self.ns_rule("ipc", "IPC"),
            HostChange::Link { .. } | HostChange::LinkRenamed { .. } => {
                self.ns_rule("net", "network")
            }
            HostChange::Cgroup { path, .. } => {
                if let Some(s) = self.seen.iter().find(|s| {
                    s.cgroups
                        .iter()
                        .any(|(_, cp)| cp.len() > 1 && path.ends_with(cp.as_str()))
                }) {
                    return Decision::Ours(format!("process {} of the subject was in it", s.pid));
                }
                Decision::NotOurs(
                    "no tag of this run, not under the run's cgroup, no process of the subject seen in it".into(),
                )
            }
        }
    }

    /// The findings for `changes`: each attributed or not, nothing restored yet. Changes
    /// named by other live nsconform runs are dropped.
    pub fn attribute(&self, changes: Vec<HostChange>) -> Vec<HostFinding> {
        changes
            .into_iter()
            .filter_map(|c| {
                let (attributed, why) = match self.decide(&c) {
                    Decision::Ignore => return None,
                    Decision::Ours(w) => (true, w),
                    Decision::NotOurs(w) => (false, w),
                };
                let mut c = c;
                if let HostChange::Cgroup {
                    path, under_run, ..
                } = &mut c
                {
                    *under_run = self
                        .run_cgroups
                        .iter()
                        .any(|r| Path::new(path).starts_with(r));
                }
                Some(HostFinding {
                    change: c,
                    attributed,
                    why,
                    restored: false,
                    restore_note: (!attributed).then(|| "left alone".to_string()),
                })
            })
            .collect()
    }

    /// Compare the host with `before`, attribute every change, put back what is
    /// attributed and safe to put back, and return the findings with the state found
    /// (before anything was put back).
    pub fn settle(&self, before: &Snapshot) -> Settled {
        let after = Snapshot::capture();
        let mut changes = diff(before, &after);
        // Everything under the run's own cgroup is new (it did not exist before).
        let mut under = BTreeSet::new();
        for r in &self.run_cgroups {
            walk_cgroups(r, CGROUP_DEPTH, &mut under);
        }
        changes.retain(|c| {
            !matches!(c, HostChange::Cgroup { path, .. }
                if self.run_cgroups.iter().any(|r| Path::new(path).starts_with(r)))
        });
        changes.extend(under.into_iter().map(|path| HostChange::Cgroup {
            change: Change::Appeared,
            path,
            under_run: true,
        }));
        let mut findings = self.attribute(changes);
        restore(&mut findings, before);
        Settled { after, findings }
    }
}

/// What [`Attribution::settle`] found.
#[derive(Clone, Debug)]
pub struct Settled {
    /// The host as the subject left it (before anything was put back).
    pub after: Snapshot,
    pub findings: Vec<HostFinding>,
}

impl Settled {
    /// One line per change that was put back (the report's `restored`).
    pub fn restored_lines(&self) -> Vec<String> {
        self.findings
            .iter()
            .filter(|f| f.restored)
            .map(|f| f.change.to_string())
            .collect()
    }
}

fn errno_text(e: nix::errno::Errno) -> String {
    crate::probe::sys::errno_name(e)
}

/// Depth of a path, for deepest-first order.
fn depth(p: &str) -> usize {
    p.split('/').filter(|s| !s.is_empty()).count()
}

/// Undo the attributed changes that can be undone safely; note why for the others.
fn restore(findings: &mut [HostFinding], before: &Snapshot) {
    // Deepest first: named netns (their nsfs mounts), mounts by depth, cgroups by depth.
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by_key(|&i| match &findings[i].change {
        HostChange::NamedNetns { .. } => (0, 0, 0),
        HostChange::Mount {
            mount_point,
            mount_id,
            ..
        } => (1, usize::MAX - depth(mount_point), u32::MAX - mount_id),
        HostChange::Cgroup { path, .. } => (3, usize::MAX - depth(path), 0),
        _ => (2, 0, 0),
    });
    let restoring: BTreeSet<u32> = findings
        .iter()
        .filter(|f| f.attributed)
        .filter_map(|f| match &f.change {
            HostChange::Mount {
                change: Change::Appeared,
                mount_id,
                ..
            } => Some(*mount_id),
            _ => None,
        })
        .collect();
    for i in order {
        let f = &mut findings[i];
        if !f.attributed {
            continue;
        }
        let result = restore_one(&f.change, before, &restoring);
        match result {
            Ok(()) => {
                f.restored = true;
                f.restore_note = None;
            }
            Err(note) => f.restore_note = Some(note),
        }
    }
}

fn restore_one(c: &HostChange, before: &Snapshot, restoring: &BTreeSet<u32>) -> Result<(), String> {
    use nix::mount::{umount2, MntFlags};
    let gone = |what: &str| {
        Err(format!(
            "{what} cannot be put back by the harness; left as it is"
        ))
    };
    match c {
        HostChange::Hostname { .. } => {
            let Some(was) = before.hostname.value() else {
                return Err(format!(
                    "the hostname before the run was {}; nothing to put back, left as it is",
                    before.hostname
                ));
            };
            if crate::host::hostname().value() == Some(was) {
                return Ok(());
            }
            nix::unistd::sethostname(was).map_err(|e| {
                format!(
                    "sethostname back to {} failed: {}",
                    shown(was),
                    errno_text(e)
                )
            })
        }
        HostChange::Domainname { .. } => {
            let Some(was) = before.domainname.value() else {
                return Err(format!(
                    "the domain name before the run was {}; nothing to put back, left as it is",
                    before.domainname
                ));
            };
            if crate::host::domainname().value() == Some(was) {
                return Ok(());
            }
            crate::probe::sys::set_domainname(was).map_err(|e| {
                format!(
                    "setdomainname back to {} failed: {}",
                    shown(was),
                    errno_text(e)
                )
            })
        }
        HostChange::Mount {
            change: Change::Gone,
            ..
        } => gone("a mount that went away"),
        HostChange::Mount {
            change: Change::Appeared,
            mount_id,
            mount_point,
            ..
        } => {
            let now = crate::host::mounts();
            if !now.iter().any(|m| m.mount_id == *mount_id) {
                return Ok(());
            }
            if let Some(o) = now
                .iter()
                .find(|o| o.parent_id == *mount_id && !restoring.contains(&o.mount_id))
            {
                return Err(format!(
                    "not unmounted: mount {} at {} that is not the subject's sits on it",
                    o.mount_id, o.mount_point
                ));
            }
            umount2(mount_point.as_str(), MntFlags::MNT_DETACH)
                .map_err(|e| format!("umount2({mount_point}, MNT_DETACH) failed: {}", errno_text(e)))?;
            if crate::host::mounts().iter().any(|m| m.mount_id == *mount_id) {
                return Err(format!(
                    "unmounting {mount_point} took another mount off, not mount {mount_id}"
                ));
            }
            Ok(())
        }
        HostChange::SysvMsg {
            change: Change::Appeared,
            id,
            key,
            ..
        }
        | HostChange::SysvShm {
            change: Change::Appeared,
            id,
            key,
            ..
        }
        | HostChange::SysvSem {
            change: Change::Appeared,
            id,
            key,
            ..
        } => {
            let kind = match c {
                HostChange::SysvMsg { .. } => SysvKind::Msg,
                HostChange::SysvShm { .. } => SysvKind::Shm,
                _ => SysvKind::Sem,
            };
            let still = parse_sysvipc(
                kind,
                &std::fs::read_to_string(format!("/proc/sysvipc/{}", kind.file()))
                    .unwrap_or_default(),
            )
            .into_iter()
            .any(|o| o.id == *id && o.key == *key);
            if !still {
                return Ok(());
            }
            // SAFETY: IPC_RMID on an id the harness just read from /proc/sysvipc; no
            // memory is passed (a null buffer is valid for IPC_RMID).
            let rc = unsafe {
                match kind {
                    SysvKind::Msg => libc::msgctl(*id, libc::IPC_RMID, std::ptr::null_mut()),
                    SysvKind::Shm => libc::shmctl(*id, libc::IPC_RMID, std::ptr::null_mut()),
                    SysvKind::Sem => libc::semctl(*id, 0, libc::IPC_RMID),
                }
            };
            if rc < 0 {
                return Err(format!(
                    "IPC_RMID on {} {id} failed: {}",
                    kind.label(),
                    errno_text(nix::errno::Errno::last())
                ));
            }
            Ok(())
        }
        HostChange::SysvMsg { .. } | HostChange::SysvShm { .. } | HostChange::SysvSem { .. } => {
            gone("an IPC object that was removed")
        }
        HostChange::PosixQueue {
            change: Change::Appeared,
            name,
            ..
        } => match nix::mqueue::mq_unlink(format!("/{name}").as_str()) {
            Ok(()) | Err(nix::errno::Errno::ENOENT) => Ok(()),
            Err(e) => Err(format!("mq_unlink(/{name}) failed: {}", errno_text(e))),
        },
        HostChange::PosixQueue { .. } => gone("a POSIX queue that was removed"),
        HostChange::NamedNetns {
            change: Change::Appeared,
            name,
        } => {
            if name.contains('/') || name == ".." || name == "." {
                return Err(format!("not touched: {name} is not a plain name"));
            }
            let path = format!("/run/netns/{name}");
            match umount2(path.as_str(), MntFlags::MNT_DETACH) {
                Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
                Err(e) => return Err(format!("umount2({path}) failed: {}", errno_text(e))),
            }
            match std::fs::remove_file(&path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(format!(
                    "unlink {path} failed: {}",
                    crate::kit::fact::io_errno(&e)
                )),
            }
        }
        HostChange::NamedNetns { .. } => gone("a named network namespace that was deleted"),
        HostChange::Link {
            change: Change::Appeared,
            name,
            ifindex,
        } => {
            let now = std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok());
            if now != Some(*ifindex) {
                return Ok(()); // gone already (a veth goes with its peer)
            }
            let out = std::process::Command::new("ip")
                .args(["link", "del", "dev", name])
                .stdin(std::process::Stdio::null())
                .output()
                .map_err(|e| format!("start `ip link del dev {name}`: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "`ip link del dev {name}` failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            Ok(())
        }
        HostChange::Link { .. } => gone("a link that was deleted"),
        HostChange::LinkRenamed { .. } => {
            Err("not renamed back: renaming needs the link down, which the harness does not do to a host link".into())
        }
        HostChange::Cgroup {
            change: Change::Appeared,
            path,
            under_run,
        } => {
            if !under_run {
                return Err(
                    "not removed: only empty cgroups under the run's own are removed".into(),
                );
            }
            match std::fs::remove_dir(path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(format!(
                    "rmdir {path} failed: {} (not empty?)",
                    crate::kit::fact::io_errno(&e)
                )),
            }
        }
        HostChange::Cgroup { .. } => gone("a cgroup that was removed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = "4242-7";

    fn host_ns() -> BTreeMap<String, u64> {
        KINDS
            .iter()
            .enumerate()
            .map(|(i, k)| (k.to_string(), 1000 + i as u64))
            .collect()
    }

    fn sighting(pid: i32, own: &[&str], sys_admin: bool) -> Sighting {
        let mut ns = host_ns();
        for k in own {
            *ns.get_mut(*k).unwrap() += 500;
        }
        Sighting {
            pid,
            ns,
            sys_admin,
            cgroups: vec![("".into(), "/nsconform-4242-0".into())],
        }
    }

    fn attribution(seen: Vec<Sighting>) -> Attribution {
        Attribution {
            tag: TAG.into(),
            given: vec![PathBuf::from("/tmp/nsconform-subject-4242-99")],
            host_ns: host_ns(),
            seen,
            ..Attribution::default()
        }
    }

    /// A subject whose every process has namespaces of its own.
    fn contained() -> Attribution {
        attribution(vec![
            sighting(100, &[], true),
            sighting(101, &["mnt", "uts", "ipc", "net", "user"], true),
        ])
    }

    /// A subject that never left the host's namespaces.
    fn bare() -> Attribution {
        attribution(vec![sighting(100, &[], true), sighting(101, &[], true)])
    }

    fn base() -> Snapshot {
        Snapshot {
            hostname: NameRead::Read("host".into()),
            domainname: NameRead::Read("(none)".into()),
            mounts: mountinfo::parse(
                "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n\
                 22 1 0:21 / /proc rw - proc proc rw\n\
                 23 1 0:22 / /sys rw - sysfs sysfs rw\n\
                 30 1 0:30 / /tmp/nsconform-subject-4242-99 rw shared:5 - tmpfs nsconform-scratch rw\n",
            ),
            mqueues: Some(vec![]),
            links: vec![Link {
                name: "lo".into(),
                ifindex: 1,
            }],
            ..Snapshot::default()
        }
    }

    fn one(a: &Attribution, before: &Snapshot, after: &Snapshot) -> Vec<HostFinding> {
        a.attribute(diff(before, after))
    }

    use crate::mountinfo;

    #[test]
    fn names_of_runs_and_tags_are_read_exactly() {
        assert_eq!(nsconform_owner("nsconform-s-4242-7"), Some(4242));
        assert_eq!(nsconform_owner("nsconform-4242-0"), Some(4242));
        assert_eq!(nsconform_owner("/nsconform-4242-7"), Some(4242));
        assert_eq!(nsconform_owner("nsconform-subject-31-5"), Some(31));
        assert_eq!(nsconform_owner("nsconform-x"), None);
        assert_eq!(nsconform_owner("mine"), None);
        assert!(carries_tag("nsconform-s-4242-7", TAG));
        assert!(carries_tag("nsconform-marker-4242-7", TAG));
        // Another run of the same process whose queue id starts with ours.
        assert!(!carries_tag("nsconform-s-4242-77", TAG));
        assert!(!carries_tag("nsconform-s-14242-7", TAG));
        assert!(!carries_tag("anything", ""));
    }

    #[test]
    fn another_live_runs_queue_is_ignored_a_dead_ones_reported() {
        let me = std::process::id();
        let before = base();
        let mut after = base();
        after.mqueues = Some(vec![
            PosixQueue {
                name: format!("nsconform-{me}-3"),
                owner_uid: Some(0),
            },
            PosixQueue {
                name: "nsconform-999999999-3".into(),
                owner_uid: Some(0),
            },
        ]);
        let f = one(&contained(), &before, &after);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            matches!(&f[0].change, HostChange::PosixQueue { name, .. } if name.starts_with("nsconform-999999999"))
        );
        assert!(!f[0].attributed);
        // Even a subject with no namespaces of its own does not get a live run's queue.
        let f = one(&bare(), &before, &after);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].attributed, "{f:?}");
        // The harness's own queue of this run is never the subject's.
        let mut a = bare();
        a.harness_ipc(5, "/nsconform-999999999-3");
        assert!(one(&a, &before, &after).is_empty());
    }

    #[test]
    fn an_unattributed_hostname_change_is_reported_and_not_restored() {
        let now = crate::host::hostname();
        let mut before = base();
        // Even a wrong restore could do no harm here: it would set the current name.
        before.hostname = now.clone();
        let mut after = base();
        after.hostname = NameRead::Read(format!("{now}-changed-elsewhere"));
        let mut a = contained();
        a.probe = Some(101);
        // The launcher, privileged, left the host's UTS namespace too.
        a.seen[0].ns.insert("uts".into(), 9);
        let mut f = one(&a, &before, &after);
        assert_eq!(f.len(), 1);
        assert!(!f[0].attributed, "{f:?}");
        restore(&mut f, &before);
        assert!(!f[0].restored);
        assert_eq!(f[0].restore_note.as_deref(), Some("left alone"));
        let text = f[0].to_string();
        assert!(text.contains("not tied to the subject"), "{text}");
        assert!(!text.contains("Some(") && !text.contains("None"), "{text}");

        // The same change is the subject's when the probe shared the host's UTS
        // namespace, when its launcher could set it, or when the name is one asked for.
        let mut shared = contained();
        shared.probe = Some(100);
        assert!(one(&shared, &before, &after)[0].attributed);
        let launcher = contained();
        let f = one(&launcher, &before, &after);
        assert!(
            f[0].attributed && f[0].why.contains("CAP_SYS_ADMIN"),
            "{f:?}"
        );
        let mut unprivileged = contained();
        unprivileged.seen[0].sys_admin = false;
        assert!(!one(&unprivileged, &before, &after)[0].attributed);
        after.hostname = NameRead::Read(format!("nsconform-s-{TAG}"));
        assert!(one(&unprivileged, &before, &after)[0].attributed);
    }

    #[test]
    fn a_tmpfs_leaked_under_scratch_is_the_subjects_one_elsewhere_depends() {
        let before = base();
        let mut after = base();
        after.mounts.extend(mountinfo::parse(
            "41 30 0:41 / /tmp/nsconform-subject-4242-99/probe/x rw shared:9 - tmpfs leak rw\n\
             42 1 0:42 / /mnt/elsewhere rw - tmpfs other rw\n",
        ));
        let f = one(&contained(), &before, &after);
        assert_eq!(f.len(), 2, "{f:?}");
        let scratch = f
            .iter()
            .find(|x| matches!(&x.change, HostChange::Mount { mount_id: 41, .. }))
            .unwrap();
        assert!(scratch.attributed && scratch.why.contains("given to the subject"));
        let other = f
            .iter()
            .find(|x| matches!(&x.change, HostChange::Mount { mount_id: 42, .. }))
            .unwrap();
        assert!(!other.attributed, "{other:?}");
        // A subject that never left the host's mount namespace owns both.
        assert!(one(&bare(), &before, &after).iter().all(|f| f.attributed));
        // Nobody seen at all: nothing attributed by the namespace rule.
        let f = one(&attribution(vec![]), &before, &after);
        assert!(f
            .iter()
            .any(|x| !x.attributed && x.why.contains("no process")));
        // Another live run's scratch is not reported at all.
        let me = std::process::id();
        let mut after2 = base();
        after2.mounts.extend(mountinfo::parse(&format!(
            "43 1 0:43 / /tmp/nsconform-subject-{me}-5 rw - tmpfs nsconform-scratch rw\n"
        )));
        assert!(one(&bare(), &before, &after2).is_empty());
    }

    #[test]
    fn an_overmount_of_proc_is_seen_and_gone_mounts_too() {
        let before = base();
        let mut after = base();
        after
            .mounts
            .extend(mountinfo::parse("50 22 0:50 / /proc rw - proc proc rw\n"));
        let d = diff(&before, &after);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            matches!(&d[0], HostChange::Mount { change: Change::Appeared, mount_id: 50, mount_point, .. } if mount_point == "/proc")
        );
        assert!(
            d[0].to_string()
                .contains("new mount at /proc (proc from `proc`, mount ID 50)"),
            "{}",
            d[0]
        );
        // The same mount point, file system and source with another ID is a change.
        let mut replaced = base();
        replaced.mounts[2].mount_id = 60;
        let d = diff(&before, &replaced);
        assert_eq!(d.len(), 2, "{d:?}");
        // An unmounted host mount is reported; it cannot be put back.
        let mut gone = base();
        gone.mounts.remove(2);
        let mut f = one(&bare(), &before, &gone);
        assert!(matches!(
            &f[0].change,
            HostChange::Mount {
                change: Change::Gone,
                ..
            }
        ));
        restore(&mut f, &before);
        assert!(
            !f[0].restored
                && f[0]
                    .restore_note
                    .as_deref()
                    .unwrap()
                    .contains("cannot be put back")
        );
    }

    #[test]
    fn named_netns_is_one_change_not_also_a_mount() {
        let before = base();
        let mut after = base();
        after.netns = vec!["nsc-test-1".into()];
        after.mounts.extend(mountinfo::parse(
            "70 1 0:4 net:[4026532000] /run/netns/nsc-test-1 rw - nsfs nsfs rw\n",
        ));
        let d = diff(&before, &after);
        assert_eq!(
            d,
            vec![HostChange::NamedNetns {
                change: Change::Appeared,
                name: "nsc-test-1".into()
            }]
        );
        assert!(one(&bare(), &before, &after)[0].attributed);
        assert!(!one(&contained(), &before, &after)[0].attributed);
    }

    #[test]
    fn sysv_tables_parse_and_shm_creators_tie_objects_to_the_subject() {
        let shm = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n\
                   1234         7   600   4096   101 0 0 0 0 0 0 0 0 0 0 0\n\
                   0            8   600   4096   555 0 0 1000 0 0 0 0 0 0 0 0\n";
        let msg = "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n\
                   -559038737   3   644 0 0 0 0 0 0 0 0 0 0 0\n";
        let s = parse_sysvipc(SysvKind::Shm, shm);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].creator_pid, Some(101));
        assert_eq!(s[1].owner_uid, 1000);
        let m = parse_sysvipc(SysvKind::Msg, msg);
        assert_eq!(m[0].creator_pid, None);
        assert_eq!(m[0].key, -559038737);
        assert!(parse_sysvipc(SysvKind::Sem, "garbage").is_empty());
        assert!(parse_sysvipc(SysvKind::Sem, "").is_empty());
        let before = base();
        let mut after = base();
        after.sysv = s.into_iter().chain(m).collect();
        let f = one(&contained(), &before, &after);
        let by_id = |id: i32| {
            f.iter().find(|x| matches!(&x.change, HostChange::SysvShm { id: i, .. } | HostChange::SysvMsg { id: i, .. } if *i == id)).unwrap()
        };
        assert!(by_id(7).attributed && by_id(7).why.contains("cpid"));
        assert!(!by_id(8).attributed);
        assert!(!by_id(3).attributed);
        assert!(
            by_id(3).to_string().contains("key 0xdeadbeef"),
            "{}",
            by_id(3)
        );
        assert!(one(&bare(), &before, &after).iter().all(|f| f.attributed));
    }

    #[test]
    fn links_and_cgroups() {
        let before = base();
        let mut after = base();
        after.links.push(Link {
            name: "veth-x".into(),
            ifindex: 9,
        });
        after.links[0].name = "lo-renamed".into();
        let d = diff(&before, &after);
        assert!(d.contains(&HostChange::LinkRenamed {
            ifindex: 1,
            from: "lo".into(),
            to: "lo-renamed".into()
        }));
        assert!(d.contains(&HostChange::Link {
            change: Change::Appeared,
            name: "veth-x".into(),
            ifindex: 9
        }));
        let mut b = base();
        b.cgroups
            .insert("/sys/fs/cgroup/unified/system.slice".into());
        let mut a = b.clone();
        a.cgroups
            .insert("/sys/fs/cgroup/unified/libpod_parent".into());
        a.cgroups
            .insert("/sys/fs/cgroup/unified/libpod_parent/escaped".into());
        a.cgroups
            .insert("/sys/fs/cgroup/unified/nsconform-4242-0/inner".into());
        let mut at = contained();
        at.run_cgroups = vec![PathBuf::from("/sys/fs/cgroup/unified/nsconform-4242-0")];
        at.seen[1]
            .cgroups
            .push(("".into(), "/libpod_parent/escaped".into()));
        let f = at.attribute(diff(&b, &a));
        let get = |p: &str| {
            f.iter()
                .find(|x| matches!(&x.change, HostChange::Cgroup { path, .. } if path == p))
                .unwrap()
        };
        assert!(!get("/sys/fs/cgroup/unified/libpod_parent").attributed);
        assert!(get("/sys/fs/cgroup/unified/libpod_parent/escaped").attributed);
        let inner = get("/sys/fs/cgroup/unified/nsconform-4242-0/inner");
        assert!(inner.attributed);
        assert!(matches!(
            inner.change,
            HostChange::Cgroup {
                under_run: true,
                ..
            }
        ));
        assert!(inner.to_string().contains("under the run's own cgroup"));
    }

    #[test]
    fn findings_serialize_flat_and_round_trip() {
        let f = HostFinding {
            change: HostChange::SysvShm {
                change: Change::Appeared,
                id: 3,
                key: 0,
                owner_uid: 0,
                creator_pid: None,
            },
            attributed: true,
            why: "w".into(),
            restored: true,
            restore_note: None,
        };
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["kind"], "sysv_shm");
        assert_eq!(v["change"], "appeared");
        assert_eq!(v["attributed"], true);
        let back: HostFinding = serde_json::from_value(v).unwrap();
        assert_eq!(back, f);
        assert!(!f.to_string().contains("None"), "{f}");
    }

    #[test]
    fn a_capture_reads_this_host() {
        let s = Snapshot::capture();
        assert!(s.mounts.iter().any(|m| m.mount_point == "/"));
        assert!(s.links.iter().any(|l| l.name == "lo"));
        assert!(diff(&s, &s).is_empty());
        let a = Attribution::new("x", &[]);
        assert!(a.host_ns.contains_key("mnt"));
    }
}
