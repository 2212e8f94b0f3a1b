//! GEN properties: namespaces(7) — ns files, identity, lifetime, limits.

use crate::env::{ConfigState, KernelVersion};
use crate::harness::Cx;
use crate::host;
use crate::kit::child::Fork;
use crate::kit::fact::read_trim;
use crate::kit::nsfd::{dev_ino, open, setns_res};
use crate::kit::nsops::{held, ino, ioctl_ino, unshare_step};
use crate::kit::userns::new_user_ns;
use crate::kit::{facts, io_errno, io_res, res, Child, OK};
use crate::ns::{Ns, NS_GET_PARENT, NS_GET_USERNS};
use crate::outcome::{Expect, Verdict};
use crate::probe::{Inside, Launch, StepError, StepExt};
use crate::spec::{Area, Call, CheckResult, Control, Prereq, Property};
use nix::sched::{unshare, CloneFlags};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;

pub const ALL: &[Property] = &[
    GEN_01, GEN_02, GEN_03, GEN_04, GEN_05, GEN_06, GEN_07, GEN_08, GEN_09, GEN_10, GEN_11, GEN_12,
];

/// Kernel version of the run (an unknown version is treated as new).
fn kver(cx: &Cx) -> KernelVersion {
    cx.env.version.unwrap_or(KernelVersion(99, 0, 0))
}

/// Whether the running kernel lets a namespace type be created (config option set or
/// unknown).
fn type_configured(cx: &Cx, ns: Ns) -> bool {
    ns.config()
        .map_or(true, |o| cx.env.config(o) != Some(ConfigState::Unset))
}

/// The first kernel with namespaces of this type.
fn since(ns: Ns) -> KernelVersion {
    match ns {
        Ns::Cgroup => KernelVersion(4, 6, 0),
        Ns::Time => KernelVersion(5, 6, 0),
        _ => KernelVersion(3, 8, 0),
    }
}

/// Whether this process's user namespace is the initial one (full identity map), or
/// the errno of reading /proc/self/uid_map.
fn initial_user_ns() -> Result<bool, String> {
    std::fs::read_to_string("/proc/self/uid_map")
        .map(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
        .map_err(|e| io_errno(&e))
}

/// [`initial_user_ns`] for the harness: an unreadable uid_map is an `error` verdict
/// (read as "not initial" it would silently skip what the initial namespace decides).
fn harness_initial_user_ns() -> Result<bool, Verdict> {
    initial_user_ns()
        .map_err(|errno| Verdict::error(format!("read /proc/self/uid_map of the harness: {errno}")))
}

// ---------------------------------------------------------------------------------
/// GEN-01: /proc/PID/ns lists one symlink per namespace type, each reading
/// `<type>:[<inode>]`. namespaces(7) "The /proc/[pid]/ns/ directory".
pub const GEN_01: Property = Property {
    id: "GEN-01",
    area: Area::Gen,
    title: "/proc/PID/ns holds one symlink per namespace type (cgroup ipc mnt net pid pid_for_children time time_for_children user uts), each reading `<type>:[<inode>]` of the process's own namespace (in new namespaces: not the harness's)",
    man: "namespaces(7) \"The /proc/[pid]/ns/ directory\"",
    prereq: Prereq::ROOTLESS,
    coverage: "LTP:~setns01; KST:~pidfd/pidfd_setns_test",
    controls: Control::EVERY_NEW_NAMESPACE,
    calls: &[],
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
        // A failed lstat reads as "not a symlink": judged as malformed, and the errno of
        // readlink/stat below says why.
        let symlink = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
        let text = std::fs::read_link(&path)
            .map(|t| t.to_string_lossy().into_owned())
            .unwrap_or_else(|e| format!("readlink failed: {}", io_errno(&e)));
        let kind = name.strip_suffix("_for_children").unwrap_or(&name);
        let (well_formed, text) = match std::fs::metadata(&path) {
            Ok(m) => (text == format!("{kind}:[{}]", m.ino()), text),
            Err(e) => (false, format!("{text} (stat failed: {})", io_errno(&e))),
        };
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
    let types: Vec<Ns> = Ns::ALL
        .into_iter()
        .filter(|ns| kver(cx) >= since(*ns) && type_configured(cx, *ns))
        .collect();
    let mut harness = BTreeMap::new();
    for ns in &types {
        let (_, i) = dev_ino(&ns.path("self")).map_err(|e| crate::harness::step_verdict(&e))?;
        harness.insert(*ns, i);
    }
    // A new namespace of every type the kernel has (pid() brings a mount namespace).
    let mut launch = Launch::host().user().pid().uts().ipc().net();
    if types.contains(&Ns::Cgroup) {
        launch = launch.cgroup();
    }
    if types.contains(&Ns::Time) {
        launch = launch.time();
    }
    let run = cx.run(launch, Value::Null)?;
    let f: BTreeMap<String, Gen01Entry> = run.facts()?;
    let v = kver(cx);
    let mut want: BTreeSet<&str> = BTreeSet::new();
    for ns in Ns::ALL {
        if v >= since(ns) && type_configured(cx, ns) {
            want.insert(ns.name());
        }
    }
    if v >= KernelVersion(4, 12, 0) && type_configured(cx, Ns::Pid) {
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
    // The probe is in a new namespace of every type: each link names that one.
    let harness_ns: Vec<&str> = f
        .iter()
        .filter(|(name, entry)| {
            Ns::parse(name).is_some_and(|ns| {
                harness
                    .get(&ns)
                    .is_some_and(|i| entry.text.ends_with(&format!(":[{i}]")))
            })
        })
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
                .map(|n| format!("{n} -> {}", f[*n].text))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    e.eq(
        "entries naming the harness's namespace though the probe is in a new one of each type",
        Vec::<&str>::new(),
        harness_ns.clone(),
    );
    Ok(
        e.verdict("one well-formed symlink per namespace type, naming the process's own")
            .with_observed(
                json!({ "entries": have, "malformed": bad, "naming_the_harness_ns": harness_ns }),
            ),
    )
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
    controls: &[Control::NoNewUser, Control::NoNewPid, Control::NoNewMnt, Control::NoNewUts, Control::NoNewIpc, Control::NoNewNet, Control::NoNewCgroup, Control::NoNewTime, Control::Fault(Call::Unshare)],
    calls: &[Call::Unshare, Call::Kill],
    global: false,
    subject: None,
    inside: Some(gen_02_inside),
    check: gen_02_check,
};

#[derive(Serialize, Deserialize)]
struct Gen02 {
    /// `type: ERRNO` of the ns files whose stat failed (in the probe, the child, or
    /// after the unshare): their sharing is unknown, not "not shared".
    unreadable: Vec<String>,
    /// unshare(CLONE_NEWUTS|CLONE_NEWIPC) in the child.
    unshare: String,
    /// Types whose (dev, ino) a forked child shares with its parent.
    child_shares: Vec<String>,
    /// Types whose (dev, ino) differ after the child unshared CLONE_NEWUTS|CLONE_NEWIPC.
    differ_after_unshare: Vec<String>,
}

/// Type name -> (st_dev, st_ino) of its ns file, or the errno of the stat.
type NsMap = BTreeMap<String, Result<(u64, u64), String>>;

/// [`NsMap`] of the ns files of `who`.
fn ns_map(who: impl std::fmt::Display) -> NsMap {
    Ns::ALL
        .iter()
        .map(|ns| {
            let d = std::fs::metadata(ns.path(&who))
                .map(|m| (m.dev(), m.ino()))
                .map_err(|e| io_errno(&e));
            (ns.name().to_string(), d)
        })
        .collect()
}

fn gen_02_inside(_: &Inside) -> Result<Value, StepError> {
    let mine = ns_map("self");
    let child = Fork::new("share every namespace").hold().spawn(|_| ())?;
    let theirs = ns_map(child.pid());
    let (unshare, after): (String, NsMap) =
        Fork::new("unshare UTS and IPC").run(|_| {
            match unshare(CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWIPC) {
                Ok(()) => (OK.to_string(), ns_map("self")),
                Err(e) => (crate::probe::errno_name(e), BTreeMap::new()),
            }
        })?;
    let mut unreadable = Vec::new();
    for (whose, m) in [
        ("probe", &mine),
        ("child", &theirs),
        ("after unshare", &after),
    ] {
        for (k, v) in m {
            if let Err(errno) = v {
                unreadable.push(format!("{k} ({whose}): {errno}"));
            }
        }
    }
    // A type whose stat failed counts neither as shared nor as changed.
    let shared = |m: &NsMap, k: &str, v: &(u64, u64)| m.get(k).is_some_and(|o| o.as_ref() == Ok(v));
    let child_shares = mine
        .iter()
        .filter_map(|(k, v)| v.as_ref().ok().map(|v| (k, v)))
        .filter(|(k, v)| shared(&theirs, k, v))
        .map(|(k, _)| k.clone())
        .collect();
    let differ_after_unshare = mine
        .iter()
        .filter_map(|(k, v)| v.as_ref().ok().map(|v| (k, v)))
        .filter(|(k, v)| after.get(*k).is_some_and(|a| a.is_ok()) && !shared(&after, k, v))
        .map(|(k, _)| k.clone())
        .collect();
    facts(&Gen02 {
        unreadable,
        unshare,
        child_shares,
        differ_after_unshare,
    })
}

fn gen_02_check(cx: &mut Cx) -> CheckResult {
    let types: Vec<Ns> = Ns::ALL
        .into_iter()
        .filter(|ns| type_configured(cx, *ns))
        .collect();
    // The harness's and the probe's ns files: one that cannot be stat'ed is no evidence
    // of a new namespace (nor of a shared one).
    let stat_all = |who: String| -> Result<BTreeMap<Ns, (u64, u64)>, Verdict> {
        types
            .iter()
            .map(|ns| {
                dev_ino(&ns.path(&who))
                    .map(|d| (*ns, d))
                    .map_err(|e| crate::harness::step_verdict(&e))
            })
            .collect()
    };
    let host = stat_all("self".into())?;
    let (run, probe) = cx.run_held(Launch::all(), Value::Null, |run| {
        stat_all(run.host_pid.expect("held").to_string())
    })?;
    let f: Gen02 = run.facts()?;
    let same_as_host: Vec<&str> = types
        .iter()
        .filter(|ns| probe[*ns] == host[*ns])
        .map(|ns| ns.name())
        .collect();
    let mut e = Expect::new();
    e.eq(
        "types where the probe's ns file equals the host's (all should be new namespaces)",
        Vec::<&str>::new(),
        same_as_host.clone(),
    );
    // Types the kernel lacks have no ns file: only the configured ones must stat.
    let unreadable: Vec<&String> = f
        .unreadable
        .iter()
        .filter(|u| {
            types
                .iter()
                .any(|ns| u.starts_with(&format!("{} (", ns.name())))
        })
        .collect();
    e.eq(
        "ns files of the probe, its child or after its unshare that could not be stat'ed",
        Vec::<&String>::new(),
        unreadable,
    );
    e.eq(
        "unshare(CLONE_NEWUTS|CLONE_NEWIPC) in a child of the probe",
        OK,
        f.unshare.as_str(),
    );
    let all: Vec<String> = types.iter().map(|ns| ns.name().to_string()).collect();
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
    title: "All ns files live on one nsfs superblock (one st_dev, statfs magic NSFS_MAGIC), the inode in the readlink text equals st_ino, and each answers NS_GET_NSTYPE with its own type",
    man: "namespaces(7) \"The /proc/[pid]/ns/ directory\"; ioctl_ns(2) NS_GET_NSTYPE",
    prereq: Prereq::ANY,
    coverage: "new",
    controls: &[Control::Fault(Call::NsIoctl)],
    calls: &[Call::NsIoctl],
    global: false,
    subject: None,
    inside: Some(gen_03_inside),
    check: gen_03_check,
};

/// NSFS_MAGIC of <linux/magic.h>.
const NSFS_MAGIC: i64 = 0x6e73_6673;

#[derive(Serialize, Deserialize)]
struct Gen03 {
    devs: BTreeSet<u64>,
    magics: BTreeSet<i64>,
    readlink_ino_mismatch: Vec<String>,
    /// `name: answer` of the entries whose NS_GET_NSTYPE (ioctl_ns(2), 4.11) is not the
    /// CLONE_NEW* flag of their type: another flag, or the errno.
    nstype_mismatch: Vec<String>,
    entries: usize,
}

fn gen_03_inside(_: &Inside) -> Result<Value, StepError> {
    let mut f = Gen03 {
        devs: BTreeSet::new(),
        magics: BTreeSet::new(),
        readlink_ino_mismatch: Vec::new(),
        nstype_mismatch: Vec::new(),
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
        match std::fs::read_link(&path) {
            Ok(t) => {
                let text = t.to_string_lossy();
                let num = text
                    .rsplit_once('[')
                    .and_then(|(_, r)| r.strip_suffix(']'))
                    .and_then(|n| n.parse::<u64>().ok());
                if num != Some(m.ino()) {
                    f.readlink_ino_mismatch.push(name.clone());
                }
            }
            Err(e) => f
                .readlink_ino_mismatch
                .push(format!("{name} (readlink: {})", io_errno(&e))),
        }
        let want = Ns::parse(&name).map(Ns::raw_flag);
        let fd = open(&path.display().to_string())?;
        let got = crate::ns::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            crate::ns::NS_GET_NSTYPE,
            0,
        );
        match got {
            Ok(t) if Some(t) == want => {}
            Ok(t) => f
                .nstype_mismatch
                .push(format!("{name}: {}", crate::ns::flag_names(t))),
            Err(e) => f
                .nstype_mismatch
                .push(format!("{name}: {}", crate::probe::errno_name(e))),
        }
        f.devs.insert(m.dev());
        let sfs = nix::sys::statfs::statfs(&path).step(&format!("statfs {}", path.display()))?;
        f.magics.insert(sfs.filesystem_type().0 as i64);
        f.entries += 1;
    }
    f.nstype_mismatch.sort();
    facts(&f)
}

fn gen_03_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host(), Value::Null)?;
    let f: Gen03 = run.facts()?;
    let harness_dev = dev_ino(&Ns::Uts.path("self"))
        .map(|d| Some(d.0))
        .map_err(|e| crate::harness::step_verdict(&e))?;
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
    if kver(cx) >= KernelVersion(4, 11, 0) {
        e.eq(
            "entries whose NS_GET_NSTYPE is not their own type",
            Vec::<String>::new(),
            f.nstype_mismatch.clone(),
        );
    }
    Ok(
        e.verdict("one nsfs superblock; readlink inode == st_ino; NS_GET_NSTYPE is the type")
            .with_observed(json!({
                "distinct_devices": f.devs.len(),
                "statfs_magics": f.magics.iter().map(|m| format!("{m:#x}")).collect::<Vec<_>>(),
                "readlink_ino_mismatch": f.readlink_ino_mismatch,
                "nstype_mismatch": f.nstype_mismatch,
            })),
    )
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
    controls: &[Control::NoNewUts, Control::Fault(Call::Setns), Control::Fault(Call::Uname)],
    calls: &[Call::Setns, Call::Unshare, Call::Sethostname, Call::Uname, Call::Kill],
    global: false,
    subject: None,
    inside: Some(gen_04_inside),
    check: gen_04_check,
};

/// The hostname the GEN-04/05 helpers set in their own UTS namespace.
const PINNED_HOSTNAME: &str = "nsconform-pinned";

#[derive(Serialize, Deserialize)]
struct Pinned {
    /// The pinned namespace is not the one the probe is in.
    distinct: bool,
    /// setns through the pin.
    setns: String,
    /// Hostname seen after joining.
    hostname: String,
    /// Inode after joining equals the pinned one.
    joined_same: bool,
}

/// Start a helper in a fresh UTS namespace (if `new`) that sets a hostname; it stays
/// alive; also returns the inode of its UTS namespace.
fn uts_helper(new: bool) -> Result<(Child, u64), StepError> {
    held("make a UTS namespace and set its hostname", move || {
        if new {
            unshare_step(CloneFlags::CLONE_NEWUTS)?;
            nix::unistd::sethostname(PINNED_HOSTNAME).step("sethostname")?;
        }
        crate::kit::nsfd::ns_ino("self", Ns::Uts)
    })
}

/// Join the UTS namespace `fd` refers to in a child; report what it saw.
fn join_pinned(fd: &OwnedFd, pinned: u64) -> Result<Pinned, StepError> {
    let own = ino("self", Ns::Uts);
    Fork::new("join the pinned UTS namespace").run(|_| {
        let setns = setns_res(fd, libc::CLONE_NEWUTS);
        Pinned {
            distinct: own != Some(pinned),
            setns,
            hostname: nix::unistd::gethostname().map_or_else(
                |e| format!("gethostname failed: {}", crate::probe::errno_name(e)),
                |h| h.to_string_lossy().into_owned(),
            ),
            joined_same: ino("self", Ns::Uts) == Some(pinned),
        }
    })
}

fn gen_04_inside(cx: &Inside) -> Result<Value, StepError> {
    let (mut helper, pinned) = uts_helper(cx.launch.uts)?;
    let fd = open(&helper.ns_path(Ns::Uts))?;
    helper.kill();
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
            "pinned_ns_vs_probe": if f.distinct { "differs" } else { "same" },
            "setns": f.setns,
            "joined_ns_vs_pinned": if f.joined_same { "same" } else { "differs" },
            "hostname": f.hostname,
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
    controls: &[Control::NoNewUts, Control::NoNewMnt, Control::Fault(Call::Setns), Control::Fault(Call::Uname)],
    calls: &[Call::Setns, Call::Unshare, Call::Mount, Call::Sethostname, Call::Uname, Call::Kill],
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
    let (mut helper, pinned) = uts_helper(cx.launch.uts)?;
    nix::mount::mount(
        Some(helper.ns_path(Ns::Uts).as_str()),
        &target,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .step("bind-mount the helper's ns/uts")?;
    helper.kill();
    let fd = open(&target.display().to_string())?;
    let r = join_pinned(&fd, pinned);
    drop(fd);
    // Scratch: the bind mount is in the probe's private mount namespace (gone with it);
    // unmounting early is tidiness, not a fact.
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
/// GEN-06: other references pin namespaces: a child user ns pins its parent, a user ns is
/// pinned by the namespaces it owns, time_for_children pins a time ns with no members.
/// namespaces(7) "Namespace lifetime"; ioctl_ns(2). (Not covered: mqueue and proc mounts
/// pinning their IPC and PID namespaces.)
pub const GEN_06: Property = Property {
    id: "GEN-06",
    area: Area::Gen,
    title: "Other pins: a child user ns pins its parent, a user ns is pinned by a namespace it owns, and time_for_children pins a time ns that has no process",
    man: "namespaces(7) \"Namespace lifetime\"; ioctl_ns(2)",
    prereq: Prereq::ROOTLESS.kernel(5, 6).config(&["CONFIG_TIME_NS"]),
    coverage: "KST:~namespaces/ns_active_ref_test; LTP:~mqns_04",
    controls: &[Control::Fault(Call::NsIoctl), Control::Fault(Call::Setns)],
    calls: &[Call::Setns, Call::NsIoctl, Call::Unshare, Call::Kill, Call::Getid],
    global: false,
    subject: None,
    inside: Some(gen_06_inside),
    check: gen_06_check,
};

#[derive(Serialize, Deserialize)]
struct Gen06 {
    /// setns(2) of the helper that joins U1 to create U2 under it.
    join_u1: String,
    /// NS_GET_PARENT on U2 once nothing but U2 refers to U1 (no process in U1 or U2, no
    /// other descriptor, U1 owns no other namespace): the parent's inode or the errno.
    parent_of_u2: Result<u64, String>,
    /// U1's inode while it had a process.
    u1: u64,
    /// NS_GET_USERNS on a UTS ns whose owner U3 has no process left.
    owner_of_uts: Result<u64, String>,
    u3: u64,
    /// time_for_children of a process that unshared CLONE_NEWTIME and never forked:
    /// "differs" from the probe's time ns (by inode) or "same".
    memberless_time_ns: String,
    /// open(2) of that time_for_children: "ok" or the errno.
    memberless_time_ns_open: String,
    /// open(2) of pid_for_children of a process that unshared CLONE_NEWPID and never
    /// forked: the namespace has no child reaper yet.
    pid_for_children_before_first_child: String,
}

fn gen_06_inside(_: &Inside) -> Result<Value, StepError> {
    use crate::kit::nsfd::ns_ino;
    // U1 (made by h1) owns nothing; h2 joins U1 and makes U2, a child of U1.
    let (h1, u1) = held("create U1", || {
        new_user_ns()?;
        ns_ino("self", Ns::User)
    })?;
    let u1_fd = open(&h1.ns_path(Ns::User))?;
    let (h2, join_u1) = held("join U1 and create U2 under it", || {
        let r = setns_res(&u1_fd, libc::CLONE_NEWUSER);
        new_user_ns()?;
        Ok(r)
    })?;
    let u2_fd = open(&h2.ns_path(Ns::User))?;
    // Every other reference to U1 goes: its descriptor, its process, U2's process.
    drop(u1_fd);
    drop(h1);
    drop(h2);
    let parent_of_u2 = ioctl_ino(&u2_fd, NS_GET_PARENT);
    drop(u2_fd);
    // U3 (made by h3) owns a UTS ns; only a descriptor of that UTS ns is kept.
    let (h3, u3) = held("create U3 and a UTS ns it owns", || {
        new_user_ns()?;
        unshare_step(CloneFlags::CLONE_NEWUTS)?;
        ns_ino("self", Ns::User)
    })?;
    let uts_fd = open(&h3.ns_path(Ns::Uts))?;
    drop(h3);
    let owner_of_uts = ioctl_ino(&uts_fd, NS_GET_USERNS);
    drop(uts_fd);
    let (h4, ()) = held(
        "unshare CLONE_NEWPID and CLONE_NEWTIME without forking",
        || {
            unshare_step(CloneFlags::CLONE_NEWPID)?;
            unshare_step(Ns::Time.flag())
        },
    )?;
    let own_time = ns_ino("self", Ns::Time)?;
    let tfc = dev_ino(&h4.proc("ns/time_for_children"))?.1;
    facts(&Gen06 {
        join_u1,
        parent_of_u2,
        u1,
        owner_of_uts,
        u3,
        memberless_time_ns: if tfc != own_time { "differs" } else { "same" }.into(),
        memberless_time_ns_open: io_res(std::fs::File::open(h4.proc("ns/time_for_children"))),
        pid_for_children_before_first_child: io_res(std::fs::File::open(
            h4.proc("ns/pid_for_children"),
        )),
    })
}

fn gen_06_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().user(), Value::Null)?;
    let f: Gen06 = run.facts()?;
    let res_text = |r: &Result<u64, String>| match r {
        Ok(_) => OK.to_string(),
        Err(e) => e.clone(),
    };
    // Which namespace an ioctl returned, by inode: the expected one, another, or none.
    let which = |r: &Result<u64, String>, want: u64, name: &str| match r {
        Ok(i) if *i == want => name.to_string(),
        Ok(_) => "another user namespace".to_string(),
        Err(_) => "none".to_string(),
    };
    let (parent, owner) = (
        which(&f.parent_of_u2, f.u1, "U1"),
        which(&f.owner_of_uts, f.u3, "U3"),
    );
    let mut e = Expect::new();
    e.eq(
        "NS_GET_PARENT of U2 once only U2 refers to its parent U1 (errno)",
        OK,
        res_text(&f.parent_of_u2).as_str(),
    );
    e.eq(
        "the parent NS_GET_PARENT returns is U1 (the inode U1 had)",
        "U1",
        parent.as_str(),
    );
    e.eq(
        "joining U1 (setns) to create U2 under it",
        OK,
        f.join_u1.as_str(),
    );
    e.eq(
        "NS_GET_USERNS of a UTS ns whose owner U3 has no process left (errno)",
        OK,
        res_text(&f.owner_of_uts).as_str(),
    );
    e.eq(
        "the owner NS_GET_USERNS returns is U3 (the inode U3 had)",
        "U3",
        owner.as_str(),
    );
    e.eq(
        "time_for_children of a process that unshared CLONE_NEWTIME, vs the probe's time ns",
        "differs",
        f.memberless_time_ns.as_str(),
    );
    e.eq(
        "open(2) of that member-less time ns (errno)",
        OK,
        f.memberless_time_ns_open.as_str(),
    );
    e.eq(
        "open of pid_for_children before the new PID ns has a first process (no child reaper yet)",
        "ENOENT",
        f.pid_for_children_before_first_child.as_str(),
    );
    Ok(
        e.verdict("parents, owners and time_for_children pin namespaces")
            .with_observed(json!({
                "join_u1": f.join_u1,
                "parent_errno": res_text(&f.parent_of_u2),
                "parent": parent,
                "owner_errno": res_text(&f.owner_of_uts),
                "owner": owner,
                "memberless_time_ns": f.memberless_time_ns,
                "memberless_time_ns_open": f.memberless_time_ns_open,
                "pid_for_children_before_first_child": f.pid_for_children_before_first_child,
            })),
    )
}

// ---------------------------------------------------------------------------------
/// GEN-07: opening another process's ns links needs PTRACE_MODE_READ_FSCREDS access.
/// namespaces(7) "The /proc/[pid]/ns/ directory"; proc(5) "ptrace access mode".
pub const GEN_07: Property = Property {
    id: "GEN-07",
    area: Area::Gen,
    title: "Dereferencing or reading another process's ns links needs PTRACE_MODE_READ_FSCREDS: a different unprivileged uid gets EACCES, the same uid and root succeed (and get the helper's UTS ns: NS_GET_NSTYPE is CLONE_NEWUTS)",
    man: "namespaces(7) \"The /proc/[pid]/ns/ directory\"; proc(5) \"ptrace access mode\"; ioctl_ns(2) NS_GET_NSTYPE",
    prereq: Prereq::ROOT,
    coverage: "new",
    controls: &[Control::Fault(Call::NsIoctl)],
    calls: &[Call::NsIoctl, Call::Kill, Call::Setid],
    global: false,
    subject: None,
    inside: Some(gen_07_inside),
    check: gen_07_check,
};

#[derive(Serialize, Deserialize)]
struct Access {
    readlink: String,
    open: String,
    /// NS_GET_NSTYPE of the opened descriptor (the flag's name), or the errno of the
    /// open or of the ioctl.
    nstype: String,
}

fn try_access(path: &str) -> Access {
    let opened = std::fs::File::open(path);
    let nstype = match &opened {
        Ok(f) => match crate::ns::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(f),
            crate::ns::NS_GET_NSTYPE,
            0,
        ) {
            Ok(t) => crate::ns::flag_names(t),
            Err(e) => crate::probe::errno_name(e),
        },
        Err(e) => crate::kit::io_errno(e),
    };
    Access {
        readlink: io_res(std::fs::read_link(path)),
        open: io_res(opened),
        nstype,
    }
}

fn become_uid(uid: u32) -> Result<(), StepError> {
    let (u, g) = (
        nix::unistd::Uid::from_raw(uid),
        nix::unistd::Gid::from_raw(uid),
    );
    nix::unistd::setgroups(&[]).step("setgroups")?;
    nix::unistd::setresgid(g, g, g).step("setresgid")?;
    nix::unistd::setresuid(u, u, u).step("setresuid")?;
    // A uid change cleared dumpable.
    nix::sys::prctl::set_dumpable(true).step("prctl(PR_SET_DUMPABLE)")
}

fn gen_07_inside(_: &Inside) -> Result<Value, StepError> {
    const TARGET_UID: u32 = 4242;
    let (target, ()) = held("become uid 4242", || become_uid(TARGET_UID))?;
    let path = target.ns_path(Ns::Uts);
    let mut out = BTreeMap::new();
    for (who, uid) in [
        ("other uid", Some(4243)),
        ("same uid", Some(TARGET_UID)),
        ("root", None),
    ] {
        let a: Access = Fork::new("read the helper's ns link").run(|_| {
            if let Some(u) = uid {
                if let Err(m) = become_uid(u) {
                    return Access {
                        readlink: m.to_string(),
                        open: m.to_string(),
                        nstype: m.to_string(),
                    };
                }
            }
            try_access(&path)
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
            want,
            a.map_or("no result", |a| a.readlink.as_str()),
        );
        e.eq(
            &format!("open of the helper's ns/uts by {who}"),
            want,
            a.map_or("no result", |a| a.open.as_str()),
        );
        let uts = crate::ns::flag_names(libc::CLONE_NEWUTS);
        e.eq(
            &format!("NS_GET_NSTYPE of the descriptor {who} opened"),
            if want == OK { uts.as_str() } else { want },
            a.map_or("no result", |a| a.nstype.as_str()),
        );
    }
    Ok(e.verdict("ns links are guarded by a ptrace access check")
        .with_observed(serde_json::to_value(&f).unwrap_or_default()))
}

// ---------------------------------------------------------------------------------
/// GEN-08: /proc/sys/user/max_*_namespaces exist; exceeding one gives ENOSPC; 0 disables.
/// namespaces(7) "The /proc/sys/user directory"; unshare(2) ENOSPC.
pub const GEN_08: Property = Property {
    id: "GEN-08",
    area: Area::Gen,
    title: "/proc/sys/user/max_*_namespaces exist; with a limit of 1 the second namespace of that type fails with ENOSPC, with 0 the first does (set inside a user ns the probe created)",
    man: "namespaces(7) \"The /proc/sys/user directory\"; unshare(2) ENOSPC",
    prereq: Prereq::ROOTLESS.kernel(4, 9),
    coverage: "OTH:~BW can disable nested userns; LTP:~unshare01.sh",
    controls: &[Control::NoNewUser, Control::Fault(Call::Unshare)],
    calls: &[Call::Unshare, Call::Kill],
    global: false,
    subject: None,
    inside: Some(gen_08_inside),
    check: gen_08_check,
};

/// The limit file of a type in /proc/sys/user (max_time_namespaces since 5.7).
fn limit_path(ns: Ns) -> String {
    format!("/proc/sys/user/max_{ns}_namespaces")
}

/// Whether the probe is in a user namespace it created (never touch the host's limits).
fn in_own_user_ns(cx: &Inside) -> bool {
    cx.launch.user && initial_user_ns() == Ok(false)
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
    let files = Ns::ALL
        .iter()
        .map(|ns| {
            (
                ns.name().to_string(),
                std::path::Path::new(&limit_path(*ns)).exists(),
            )
        })
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
    let path = limit_path(Ns::Uts);
    let try_uts =
        || Fork::new("unshare CLONE_NEWUTS").run(|_| res(unshare(CloneFlags::CLONE_NEWUTS)));
    std::fs::write(&path, "0").step("write 0 to max_uts_namespaces (own user ns)")?;
    f.zero_first = try_uts()?;
    std::fs::write(&path, "1").step("write 1 to max_uts_namespaces (own user ns)")?;
    let (first, one_first) = held("hold one UTS namespace", || {
        Ok(res(unshare(CloneFlags::CLONE_NEWUTS)))
    })?;
    f.one_first = one_first;
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
/// user ns (with its own, higher limit) cannot escape them. namespaces(7) "The
/// /proc/sys/user directory".
pub const GEN_09: Property = Property {
    id: "GEN-09",
    area: Area::Gen,
    title: "Namespace limits bind uid 0 too and are charged in every ancestor user ns: a nested user ns whose own limit is INT_MAX still gets ENOSPC",
    man: "namespaces(7) \"The /proc/sys/user directory\"",
    prereq: Prereq::ROOTLESS.kernel(4, 9),
    coverage: "OTH:~BW nested sandbox cannot undo limit",
    controls: &[Control::NoNewUser, Control::Fault(Call::Unshare), Control::Fault(Call::Getid)],
    calls: &[Call::Unshare, Call::Getid],
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
    std::fs::write(limit_path(Ns::Uts), "0").step("write 0 to max_uts_namespaces (own user ns)")?;
    f.as_root =
        Fork::new("unshare CLONE_NEWUTS").run(|_| res(unshare(CloneFlags::CLONE_NEWUTS)))?;
    let (limit, nested): (String, String) =
        Fork::new("nest a user ns and unshare UTS").run(|_| {
            if let Err(m) = new_user_ns() {
                return (String::new(), m.to_string());
            }
            let l = read_trim(&limit_path(Ns::Uts)).unwrap_or_else(|e| e.to_string());
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
/// other. namespaces(7) "The /proc/sys/user directory".
pub const GEN_10: Property = Property {
    id: "GEN-10",
    area: Area::Gen,
    title: "Default max_*_namespaces is threads-max/2 in the initial user ns and INT_MAX (2147483647) in a new user ns",
    man: "namespaces(7) \"The /proc/sys/user directory\"",
    prereq: Prereq::ROOTLESS.kernel(4, 9),
    coverage: "new",
    controls: &[Control::NoNewUser],
    calls: &[],
    global: false,
    subject: None,
    inside: Some(gen_10_inside),
    check: gen_10_check,
};

/// The max_*_namespaces values that could be read, and the errno of each that could not.
#[derive(Serialize, Deserialize)]
struct Limits {
    values: BTreeMap<String, String>,
    unreadable: BTreeMap<String, String>,
}

fn read_limits() -> Limits {
    let mut l = Limits {
        values: BTreeMap::new(),
        unreadable: BTreeMap::new(),
    };
    for ns in Ns::ALL {
        match std::fs::read_to_string(limit_path(ns)) {
            Ok(v) => l.values.insert(ns.name().to_string(), v.trim().to_string()),
            Err(e) => l.unreadable.insert(ns.name().to_string(), io_errno(&e)),
        };
    }
    l
}

/// The limits of `l` that should have been readable but were not: every type except
/// max_time_namespaces before 5.7 (ENOENT there).
fn missing_limits(l: &Limits, v: KernelVersion) -> Vec<String> {
    l.unreadable
        .iter()
        .filter(|(k, errno)| {
            !(k.as_str() == "time" && errno.as_str() == "ENOENT" && v < KernelVersion(5, 7, 0))
        })
        .map(|(k, errno)| format!("max_{k}_namespaces: {errno}"))
        .collect()
}

fn gen_10_inside(_: &Inside) -> Result<Value, StepError> {
    facts(&read_limits())
}

fn gen_10_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host().user(), Value::Null)?;
    let limits: Limits = run.facts()?;
    let host_limits = read_limits();
    let v = kver(cx);
    let threads_max = crate::env::read_u32("/proc/sys/kernel/threads-max");
    let initial = harness_initial_user_ns()?;
    let mut e = Expect::new();
    let inside = &limits.values;
    let host = &host_limits.values;
    e.that(
        "limits exist inside",
        !inside.is_empty(),
        "max_*_namespaces files",
        "none",
    );
    e.eq(
        "max_*_namespaces files unreadable in a new user ns (errno)",
        Vec::<String>::new(),
        missing_limits(&limits, v),
    );
    for (k, val) in inside {
        e.eq(
            &format!("max_{k}_namespaces in a new user ns"),
            "2147483647",
            val.as_str(),
        );
    }
    let mut host_default = None;
    if initial {
        e.eq(
            "max_*_namespaces files unreadable in the initial user ns (errno)",
            Vec::<String>::new(),
            missing_limits(&host_limits, v),
        );
        if let Some(t) = threads_max {
            let want = (t / 2).to_string();
            host_default = Some(host.values().all(|v| *v == want));
            for (k, val) in host {
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
/// namespaces(7); uapi linux/nsfs.h "enum init_ns_ino".
pub const GEN_11: Property = Property {
    id: "GEN-11",
    area: Area::Gen,
    title: "Initial namespaces have fixed inodes (ipc 0xEFFFFFFF, uts ..FE, user ..FD, pid ..FC, cgroup ..FB, time ..FA; net ..F9 and mnt ..F8 since 6.18) and new namespaces never get them",
    man: "namespaces(7); uapi linux/nsfs.h \"enum init_ns_ino\"",
    prereq: Prereq::ANY,
    coverage: "KST:namespaces/init_ino_test",
    controls: Control::EVERY_NEW_NAMESPACE,
    calls: &[],
    global: false,
    subject: None,
    inside: Some(gen_11_inside),
    check: gen_11_check,
};

fn gen_11_inside(_: &Inside) -> Result<Value, StepError> {
    facts(&true)
}

fn gen_11_check(cx: &mut Cx) -> CheckResult {
    let initial_user = harness_initial_user_ns()?;
    let initial_pid = host::nspid(std::process::id() as i32).len() == 1;
    if !initial_user || !initial_pid {
        return Err(Verdict::skip(
            "the harness does not run in the initial user and PID namespaces (a container?), so it cannot see the initial namespaces",
        ));
    }
    let v = kver(cx);
    let types: Vec<Ns> = Ns::ALL
        .into_iter()
        .filter(|ns| std::path::Path::new(&ns.path("self")).exists())
        .collect();
    let (_, probe) = cx.run_held(Launch::all(), Value::Null, |run| {
        let pid = run.host_pid.expect("held");
        Ok(types
            .iter()
            .map(|ns| (*ns, ino(pid, *ns)))
            .collect::<BTreeMap<_, _>>())
    })?;
    let mut e = Expect::new();
    let mut fixed = BTreeMap::new();
    for k in &types {
        let own = ino("self", *k);
        match k.init_ino(v) {
            Some(want) => {
                fixed.insert(k.name(), own == Some(want));
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
/// GEN-12: creating a namespace type the kernel was built without fails with EINVAL; every
/// configured type can be created. unshare(2) ERRORS; clone(2) ERRORS.
pub const GEN_12: Property = Property {
    id: "GEN-12",
    area: Area::Gen,
    title: "unshare(CLONE_NEW*) succeeds for every namespace type the kernel is built with and fails with EINVAL for a type whose CONFIG_*_NS is off",
    man: "unshare(2) ERRORS; clone(2) ERRORS",
    prereq: Prereq::ROOTLESS,
    coverage: "OTH:~docker check-config.sh, lxc-checkconfig",
    controls: &[Control::Fault(Call::Unshare), Control::Fault(Call::Getid)],
    calls: &[Call::Unshare, Call::Getid],
    global: false,
    subject: None,
    inside: Some(gen_12_inside),
    check: gen_12_check,
};

fn gen_12_inside(_: &Inside) -> Result<Value, StepError> {
    let mut out = BTreeMap::new();
    for ns in Ns::ALL {
        let r = Fork::new(format!("unshare the {ns} type")).run(|_| {
            if ns != Ns::User {
                if let Err(m) = new_user_ns() {
                    return m.to_string();
                }
            }
            res(unshare(ns.flag()))
        })?;
        out.insert(ns.name().to_string(), r);
    }
    facts(&out)
}

fn gen_12_check(cx: &mut Cx) -> CheckResult {
    let run = cx.run(Launch::host(), Value::Null)?;
    let f: BTreeMap<String, String> = run.facts()?;
    let v = kver(cx);
    let mut e = Expect::new();
    for ns in Ns::ALL {
        let k = ns.name();
        let since = since(ns);
        let configured = ns.config().map(|o| cx.env.config(o));
        let got = f.get(k).cloned().unwrap_or_else(|| "no result".into());
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
                    "ok or EINVAL",
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
