//! IPC namespaces: ipc_namespaces(7), mq_overview(7).

use crate::harness::{Cx, ProbeRun};
use crate::host::{self, HostIpcObjects};
use crate::kit::child::{in_helper, Exit};
use crate::kit::guard::{self, Guarded};
use crate::kit::{facts, io_errno, res, sys_res, write_res, OK};
use crate::ns::Ns;
use crate::observation::SubjectObservation;
use crate::outcome::{Expect, Verdict};
use crate::probe::{view, Inside, Launch, StepError, StepExt};
use crate::spec::{Area, Call, CheckResult, Control, Prereq, Property};
use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const ALL: &[Property] = &[
    IPC_01, IPC_02, IPC_03, IPC_04, IPC_05, IPC_06, IPC_07, IPC_08,
];

// ---------------------------------------------------------------------------------
// Helpers of this area.

/// Mount a private tmpfs on /tmp and an mqueue filesystem for the caller's IPC
/// namespace under it; returns the queue names it lists (mq_overview(7)).
pub fn list_mqueues() -> Result<Vec<String>, StepError> {
    mount(
        Some("nsconform"),
        "/tmp",
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=0755"),
    )
    .step("mount a private tmpfs on /tmp")?;
    std::fs::create_dir("/tmp/mq").step("mkdir /tmp/mq")?;
    mount(
        Some("mqueue"),
        "/tmp/mq",
        Some("mqueue"),
        MsFlags::empty(),
        None::<&str>,
    )
    .step("mount mqueue on /tmp/mq")?;
    let mut names: Vec<String> = std::fs::read_dir("/tmp/mq")
        .step("list /tmp/mq")?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// The arguments of inside halves that create IPC objects: a key unique to this harness.
/// [`ipc_args`] adds the harness's IPC namespace (they refuse to touch it) and the
/// harness's own queues (see [`HostSeen`]).
#[derive(Serialize, Deserialize)]
struct IpcArgs {
    key: libc::key_t,
}

/// The harness's own queues, named to the inside half.
#[derive(Serialize, Deserialize)]
struct HostQueues {
    host_msqid: i32,
    host_mq: String,
}

fn ipc_args(objects: &HostIpcObjects) -> Result<Value, Verdict> {
    let key = 0x4e53_0000 | (std::process::id() & 0xffff) as libc::key_t;
    let mut args = guard::args(Ns::Ipc, json!(IpcArgs { key }))?;
    if let Some(o) = args.as_object_mut() {
        o.insert("host_msqid".into(), json!(objects.msqid));
        o.insert("host_mq".into(), json!(objects.mq_name));
    }
    Ok(args)
}

/// What the inside process sees of the harness's own queues, looked up (never changed)
/// before anything else: in an IPC namespace of its own neither resolves.
#[derive(Serialize, Deserialize, Debug)]
struct HostSeen {
    /// IPC_STAT of the harness's SysV queue id: EINVAL when invisible.
    msqid_stat: String,
    /// mq_open of the harness's POSIX queue name: ENOENT when invisible.
    mq_open: String,
}

/// The report of an IPC inside half: what it saw of the host's objects, then its
/// guarded facts.
#[derive(Serialize, Deserialize, Debug)]
struct Seen<T> {
    host: HostSeen,
    guarded: Guarded<T>,
}

/// Look at the harness's queues, then run `f` under the host-namespace guard.
fn seen_guarded<T: Serialize>(
    cx: &Inside,
    f: impl FnOnce() -> Result<T, StepError>,
) -> Result<Value, StepError> {
    let HostQueues {
        host_msqid,
        host_mq,
    } = cx.args()?;
    let host = HostSeen {
        msqid_stat: res(crate::probe::sys::msq_stat(host_msqid)),
        mq_open: res(crate::probe::sys::mq_visible(&host_mq)),
    };
    let guarded = guard::guarded(cx, Ns::Ipc, f)?;
    Ok(json!({ "host": host, "guarded": guarded }))
}

/// Judge that the probe did not see the harness's queues (`sysv_first` orders the two
/// lookups by what the property is about), then unwrap the guarded facts. A probe that
/// sees them fails here, at the property's own assertion, before the guard.
fn seen_facts<T: DeserializeOwned>(
    run: &ProbeRun,
    e: &mut Expect,
    sysv_first: bool,
    summary: &str,
) -> Result<T, Verdict> {
    let s: Seen<T> = run.facts()?;
    let sysv = |e: &mut Expect| {
        e.eq(
            "IPC_STAT of the harness's SysV queue id from the probe's IPC namespace (the host's object must not resolve)",
            "EINVAL",
            s.host.msqid_stat.as_str(),
        )
    };
    let posix = |e: &mut Expect| {
        e.eq(
            "mq_open of the harness's POSIX queue from the probe's IPC namespace (the host's queue must not resolve)",
            "ENOENT",
            s.host.mq_open.as_str(),
        )
    };
    if sysv_first {
        sysv(e);
        posix(e);
    } else {
        posix(e);
        sysv(e);
    }
    if e.failed() {
        return Err(std::mem::take(e)
            .verdict(summary)
            .with_observed(json!({ "host_objects_seen_inside": s.host })));
    }
    s.guarded.into_facts(Ns::Ipc)
}

/// A new IPC namespace for later steps, unless a control removed IPC namespaces.
fn new_ipc_ns(make: bool) -> String {
    if make {
        res(unshare(Ns::Ipc.flag()))
    } else {
        "not attempted".into()
    }
}

/// msgget, semget, shmget of `key` with `flags`: "ok" or errno, each.
pub fn sysv_get(key: libc::key_t, flags: libc::c_int) -> [String; 3] {
    // SAFETY: plain SysV IPC calls with integer arguments (nix has no wrappers); each
    // result is taken right after its call.
    unsafe {
        [
            sys_res(libc::msgget(key, flags)),
            sys_res(libc::semget(key, 1, flags)),
            sys_res(libc::shmget(key, 4096, flags)),
        ]
    }
}

/// Remove the SysV objects of `key` in the caller's IPC namespace.
pub fn sysv_remove(key: libc::key_t) {
    // SAFETY: looking up and removing objects by key: integer arguments and null
    // buffers, which IPC_RMID ignores.
    unsafe {
        let id = libc::msgget(key, 0);
        if id >= 0 {
            libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut());
        }
        let id = libc::semget(key, 0, 0);
        if id >= 0 {
            libc::semctl(id, 0, libc::IPC_RMID);
        }
        let id = libc::shmget(key, 0, 0);
        if id >= 0 {
            libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut());
        }
    }
}

const CREATE: libc::c_int = libc::IPC_CREAT | libc::IPC_EXCL | 0o600;

fn all(v: &[String; 3], what: &str) -> bool {
    v.iter().all(|x| x == what)
}

fn mq_create(name: &str) -> String {
    mq_create_with(name, &nix::mqueue::MqAttr::new(0, 1, 16, 0))
}

/// mq_open(O_CREAT) of a queue with `attr`, closed again: "ok" or the errno.
fn mq_create_with(name: &str, attr: &nix::mqueue::MqAttr) -> String {
    res(nix::mqueue::mq_open(
        name,
        nix::mqueue::MQ_OFlag::O_CREAT | nix::mqueue::MQ_OFlag::O_RDWR,
        nix::sys::stat::Mode::from_bits_truncate(0o600),
        Some(attr),
    )
    .and_then(nix::mqueue::mq_close))
}

fn mq_exists(name: &str) -> String {
    res(nix::mqueue::mq_open(
        name,
        nix::mqueue::MQ_OFlag::O_RDONLY,
        nix::sys::stat::Mode::empty(),
        None,
    )
    .and_then(nix::mqueue::mq_close))
}

/// The sorted names in `dir`; a directory that cannot be read gives the one entry
/// `read_dir <dir>: ERRNO` (an empty list would read as "no queues").
fn list_dir(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) => return vec![format!("read_dir {dir}: {}", io_errno(&e))],
    };
    v.sort();
    v
}

/// What a helper run by [`in_helper`] reported, with how it ended; a helper that ended
/// without reporting is a step error naming how it ended (a default value in its place
/// would be judged as if it had been measured).
fn reported<T>(what: &str, got: (Option<T>, Exit)) -> Result<(T, Exit), StepError> {
    match got {
        (Some(t), exit) => Ok((t, exit)),
        (None, exit) => Err(StepError::new(
            what,
            None,
            format!("the helper {exit} without a result"),
        )),
    }
}

fn mount_mqueue(at: &str) -> Result<(), StepError> {
    std::fs::create_dir_all(at).step(&format!("mkdir {at}"))?;
    mount(
        Some("mqueue"),
        at,
        Some("mqueue"),
        MsFlags::empty(),
        None::<&str>,
    )
    .step(&format!("mount mqueue on {at}"))
}

// ---------------------------------------------------------------------------------
/// IPC-01: SysV objects are per namespace. ipc_namespaces(7).
pub const IPC_01: Property = Property {
    id: "IPC-01",
    area: Area::Ipc,
    title: "System V message queues, semaphore sets and shm segments are per IPC namespace: the same key gives independent objects in two namespaces",
    man: "ipc_namespaces(7)",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_IPC_NS", "CONFIG_SYSVIPC"]),
    coverage: "LTP:msg_comm,sem_comm,shm_comm,mesgq_nstest,sem_nstest,semtest_2ns,shmnstest,shmem_2nstest",
    controls: &[Control::NoNewIpc, Control::Fault(Call::Unshare), Control::Fault(Call::SysvIpc), Control::Fault(Call::Mqueue)],
    calls: &[Call::Unshare, Call::SysvIpc, Call::Mqueue, Call::Wait],
    global: true,
    subject: None,
    inside: Some(ipc_01_inside),
    check: ipc_01_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Ipc01 {
    created_outer: [String; 3],
    /// unshare(CLONE_NEWIPC) of the nested helper: "ok" or the errno.
    nested_unshare: String,
    nested_lookup: [String; 3],
    nested_create: [String; 3],
    outer_lookup_after: [String; 3],
}

fn ipc_01_inside(cx: &Inside) -> Result<Value, StepError> {
    let IpcArgs { key } = cx.args()?;
    let make = cx.launch.ipc;
    seen_guarded(cx, || {
        let created_outer = sysv_get(key, CREATE);
        let what = "look up a key in a nested IPC namespace";
        let ((nested_unshare, nested_lookup, nested_create), _) = reported(
            what,
            in_helper(what, move || {
                let unshare = new_ipc_ns(make);
                let lookup = sysv_get(key, 0o600);
                let create = sysv_get(key, CREATE);
                // Scratch objects of a namespace that goes with the helper: removing
                // them is tidiness, not a fact.
                if all(&create, OK) {
                    sysv_remove(key);
                }
                (unshare, lookup, create)
            })?,
        )?;
        let outer_lookup_after = sysv_get(key, 0o600);
        // Scratch objects in the probe's own IPC namespace, which goes with the probe.
        sysv_remove(key);
        Ok(Ipc01 {
            created_outer,
            nested_unshare,
            nested_lookup,
            nested_create,
            outer_lookup_after,
        })
    })
}

fn ipc_01_check(cx: &mut Cx) -> CheckResult {
    let objects = HostIpcObjects::create()?;
    let run = cx.run(Launch::host().ipc(), ipc_args(&objects)?)?;
    drop(objects);
    let summary = "the same key names independent objects per IPC namespace";
    let mut e = Expect::new();
    let f: Ipc01 = seen_facts(&run, &mut e, true, summary)?;
    e.eq(
        "unshare(CLONE_NEWIPC) of the nested helper",
        OK,
        f.nested_unshare.as_str(),
    );
    let ok = [OK; 3].map(String::from);
    let enoent = ["ENOENT", "ENOENT", "ENOENT"].map(String::from);
    e.eq(
        "msgget/semget/shmget(key, IPC_CREAT|IPC_EXCL) in the probe's namespace",
        &ok,
        &f.created_outer,
    );
    e.eq(
        "lookup of the same key in a nested IPC namespace",
        &enoent,
        &f.nested_lookup,
    );
    e.eq(
        "IPC_CREAT|IPC_EXCL of the same key in the nested namespace",
        &ok,
        &f.nested_create,
    );
    e.eq(
        "the first objects still there afterwards",
        &ok,
        &f.outer_lookup_after,
    );
    Ok(e.verdict(summary)
        .with_observed(serde_json::to_value(&f).unwrap_or_default()))
}

// ---------------------------------------------------------------------------------
/// IPC-02: POSIX message queues are per namespace; an mqueue mount shows its mounter's.
/// ipc_namespaces(7); mq_overview(7).
pub const IPC_02: Property = Property {
    id: "IPC-02",
    area: Area::Ipc,
    title: "POSIX message queues are per IPC namespace; an mqueue filesystem shows the queues of the namespace of whoever mounted it, whoever reads it",
    man: "ipc_namespaces(7); mq_overview(7) \"Mounting the message queue filesystem\"",
    prereq: Prereq::ROOTLESS.kernel(2, 6).config(&["CONFIG_IPC_NS", "CONFIG_POSIX_MQUEUE"]),
    coverage: "LTP:mqns_01,mqns_02,mqns_03,mqns_04",
    controls: &[Control::NoNewIpc, Control::Fault(Call::Unshare), Control::Fault(Call::SysvIpc)],
    calls: &[Call::Unshare, Call::Mount, Call::SysvIpc, Call::Mqueue, Call::Wait],
    global: true,
    subject: None,
    inside: Some(ipc_02_inside),
    check: ipc_02_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Ipc02 {
    outer_mount: Vec<String>,
    nested_open_outer_queue: String,
    /// unshare(CLONE_NEWIPC) of the nested helper: "ok" or the errno.
    nested_unshare: String,
    /// mq_open(/nested, O_CREAT) in the nested namespace: "ok" or the errno.
    nested_create: String,
    nested_sees_outer_mount: Vec<String>,
    nested_own_mount: Vec<String>,
    outer_mount_after: Vec<String>,
}

fn ipc_02_inside(cx: &Inside) -> Result<Value, StepError> {
    let make = cx.launch.ipc;
    seen_guarded(cx, || {
        list_mqueues()?; // tmpfs on /tmp, our namespace's mqueue on /tmp/mq
        if mq_create("/outer") != OK {
            return Err(StepError::new("mq_open(/outer, O_CREAT)", None, "failed"));
        }
        let outer_mount = list_dir("/tmp/mq");
        let what = "use POSIX queues in a nested IPC namespace";
        let (
            (
                nested_unshare,
                nested_open_outer_queue,
                nested_sees_outer_mount,
                nested_create,
                nested_own_mount,
            ),
            _,
        ) = reported(
            what,
            in_helper(what, move || {
                let unshare = new_ipc_ns(make);
                let open_outer = mq_exists("/outer");
                let sees = list_dir("/tmp/mq");
                let create = mq_create("/nested");
                let own = match mount_mqueue("/tmp/mq2") {
                    Ok(()) => list_dir("/tmp/mq2"),
                    Err(e) => vec![e.to_string()],
                };
                (unshare, open_outer, sees, create, own)
            })?,
        )?;
        let outer_mount_after = list_dir("/tmp/mq");
        // Scratch queues of the probe's own IPC namespace (it goes with the probe; the
        // nested one is already gone, so "/nested" is normally ENOENT): best effort.
        let _ = nix::mqueue::mq_unlink("/outer");
        let _ = nix::mqueue::mq_unlink("/nested");
        Ok(Ipc02 {
            outer_mount,
            nested_unshare,
            nested_open_outer_queue,
            nested_create,
            nested_sees_outer_mount,
            nested_own_mount,
            outer_mount_after,
        })
    })
}

fn ipc_02_check(cx: &mut Cx) -> CheckResult {
    let objects = HostIpcObjects::create()?;
    let run = cx.run(Launch::host().ipc().mnt(), ipc_args(&objects)?)?;
    drop(objects);
    let summary = "POSIX queues are per namespace; a mount shows its mounter's namespace";
    let mut e = Expect::new();
    let f: Ipc02 = seen_facts(&run, &mut e, false, summary)?;
    e.eq(
        "unshare(CLONE_NEWIPC) of the nested helper",
        OK,
        f.nested_unshare.as_str(),
    );
    let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    e.eq(
        "queues in our mqueue mount",
        v(&["outer"]),
        f.outer_mount.clone(),
    );
    e.eq(
        "mq_open of our queue from a nested IPC namespace",
        "ENOENT",
        f.nested_open_outer_queue.as_str(),
    );
    e.eq(
        "our mqueue mount read from the nested namespace (shows the mounter's queues)",
        v(&["outer"]),
        f.nested_sees_outer_mount.clone(),
    );
    e.eq(
        "mq_open(/nested, O_CREAT) in the nested namespace",
        OK,
        f.nested_create.as_str(),
    );
    e.eq(
        "an mqueue mount made in the nested namespace",
        v(&["nested"]),
        f.nested_own_mount.clone(),
    );
    e.eq(
        "our mount afterwards (nested queue not in it)",
        v(&["outer"]),
        f.outer_mount_after.clone(),
    );
    Ok(e.verdict(summary)
        .with_observed(serde_json::to_value(&f).unwrap_or_default()))
}

// ---------------------------------------------------------------------------------
/// IPC-03: the IPC sysctls belong to the IPC namespace. ipc_namespaces(7).
pub const IPC_03: Property = Property {
    id: "IPC-03",
    area: Area::Ipc,
    title: "The IPC sysctls (kernel.msgmax, msgmnb, msgmni, sem, shmall, shmmax, shmmni, shm_rmid_forced, fs.mqueue.*) are per IPC namespace: a change is not seen by a nested namespace or the host",
    man: "ipc_namespaces(7)",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_IPC_NS", "CONFIG_SYSVIPC", "CONFIG_POSIX_MQUEUE"]),
    coverage: "new",
    controls: &[Control::NoNewIpc, Control::Fault(Call::Unshare), Control::Fault(Call::SysvIpc), Control::Fault(Call::Mqueue)],
    calls: &[Call::Unshare, Call::SysvIpc, Call::Mqueue, Call::Wait],
    global: true,
    subject: None,
    inside: Some(ipc_03_inside),
    check: ipc_03_check,
};

/// The per-namespace IPC sysctls under /proc/sys.
pub const IPC_SYSCTLS: [&str; 13] = [
    "kernel/msgmax",
    "kernel/msgmnb",
    "kernel/msgmni",
    "kernel/sem",
    "kernel/shmall",
    "kernel/shmmax",
    "kernel/shmmni",
    "kernel/shm_rmid_forced",
    "fs/mqueue/msg_max",
    "fs/mqueue/msgsize_max",
    "fs/mqueue/queues_max",
    "fs/mqueue/msg_default",
    "fs/mqueue/msgsize_default",
];

/// A sysctl's value with whitespace runs squeezed, or `unreadable: ERRNO` (an empty
/// string in its place would compare equal to another failed read).
fn read_sysctl(name: &str) -> String {
    match std::fs::read_to_string(format!("/proc/sys/{name}")) {
        Ok(s) => s.split_whitespace().collect::<Vec<_>>().join(" "),
        Err(e) => format!("{UNREADABLE}{}", io_errno(&e)),
    }
}

/// The prefix of a sysctl [`read_sysctl`] could not read.
const UNREADABLE: &str = "unreadable: ";

/// A different valid value: each number lowered by one (shm_rmid_forced flipped).
fn changed_value(name: &str, now: &str) -> String {
    if name.ends_with("shm_rmid_forced") {
        return if now == "0" { "1".into() } else { "0".into() };
    }
    now.split_whitespace()
        .map(|n| {
            n.parse::<u64>()
                .map_or(n.to_string(), |v| (v - 1).to_string())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Serialize, Deserialize, Debug, Default)]
struct Ipc03 {
    /// unshare(CLONE_NEWIPC) of the nested helper: "ok" or the errno.
    nested_unshare: String,
    /// name -> (write outcome, value written, value read back, value in a nested ns)
    sysctls: std::collections::BTreeMap<String, (String, String, String, String)>,
}

fn ipc_03_inside(cx: &Inside) -> Result<Value, StepError> {
    let make = cx.launch.ipc;
    seen_guarded(cx, || {
        let mut written = Vec::new();
        for name in IPC_SYSCTLS {
            let now = read_sysctl(name);
            if now.starts_with(UNREADABLE) {
                return Err(StepError::new(
                    format!("read /proc/sys/{name} in the probe's IPC namespace"),
                    now.strip_prefix(UNREADABLE).map(String::from),
                    "no value to change",
                ));
            }
            let value = changed_value(name, &now);
            let w = write_res(&format!("/proc/sys/{name}"), value.as_bytes());
            written.push((name, w, value, read_sysctl(name)));
        }
        let what = "read the IPC sysctls of a nested IPC namespace";
        let ((nested_unshare, nested), _) = reported(
            what,
            in_helper(what, move || {
                (new_ipc_ns(make), IPC_SYSCTLS.map(read_sysctl))
            })?,
        )?;
        let sysctls = written
            .into_iter()
            .zip(nested)
            .map(|((n, w, v, r), nested)| (n.to_string(), (w, v, r, nested)))
            .collect();
        Ok(Ipc03 {
            nested_unshare,
            sysctls,
        })
    })
}

/// First kernel whose IPC sysctls are owned by the IPC namespace's user namespace, so
/// its root can write them (the ipc/mqueue sysctl rework of 5.19).
const IPC_SYSCTLS_IN_USERNS: crate::env::KernelVersion = crate::env::KernelVersion(5, 19, 0);

fn ipc_03_check(cx: &mut Cx) -> CheckResult {
    if cx.rootless() && cx.env.version.is_some_and(|v| v < IPC_SYSCTLS_IN_USERNS) {
        return Err(Verdict::skip(
            "rootless: IPC sysctls are writable from a user namespace only since kernel 5.19",
        ));
    }
    // The host's values, before and while the probe runs: an unreadable one is no
    // evidence that it stayed unchanged.
    let host_values = |when: &str| -> Result<Vec<String>, Verdict> {
        let v = IPC_SYSCTLS.map(read_sysctl).to_vec();
        match IPC_SYSCTLS
            .iter()
            .zip(&v)
            .find(|(_, x)| x.starts_with(UNREADABLE))
        {
            Some((name, x)) => Err(Verdict::error(format!(
                "read /proc/sys/{name} of the host {when}: {}",
                x.trim_start_matches(UNREADABLE)
            ))),
            None => Ok(v),
        }
    };
    let before = host_values("before the probe")?;
    let objects = HostIpcObjects::create()?;
    let (run, during) = cx.run_held(Launch::host().ipc(), ipc_args(&objects)?, |_| {
        host_values("while the probe runs")
    })?;
    drop(objects);
    let summary = "IPC sysctls changed inside stay inside";
    let mut e = Expect::new();
    let f: Ipc03 = seen_facts(&run, &mut e, true, summary)?;
    e.eq(
        "unshare(CLONE_NEWIPC) of the nested helper",
        OK,
        f.nested_unshare.as_str(),
    );
    let mut observed = serde_json::Map::new();
    for (i, name) in IPC_SYSCTLS.iter().enumerate() {
        let Some((w, v, r, nested)) = f.sysctls.get(*name) else {
            e.that(name, false, "reported", "missing");
            continue;
        };
        e.eq(&format!("write of {name} inside"), OK, w.as_str());
        e.eq(&format!("{name} read back inside"), v, r);
        e.that(
            &format!("{name} readable in a nested IPC namespace"),
            !nested.starts_with(UNREADABLE),
            "a value",
            nested.as_str(),
        );
        e.ne(&format!("{name} in a nested IPC namespace"), v, nested);
        e.eq(
            &format!("host {name} while the probe runs"),
            &before[i],
            &during[i],
        );
        observed.insert(
            name.to_string(),
            json!({
                "write": w,
                "written": v,
                "read_back": r,
                "nested": nested,
                "host_unchanged": before[i] == during[i],
            }),
        );
    }
    Ok(e.verdict(summary).with_observed(Value::Object(observed)))
}

// ---------------------------------------------------------------------------------
/// IPC-04: /proc/sysvipc lists the reader's namespace, also right after setns().
/// ipc_namespaces(7); proc(5) /proc/sysvipc.
pub const IPC_04: Property = Property {
    id: "IPC-04",
    area: Area::Ipc,
    title:
        "/proc/sysvipc/{msg,sem,shm} list only the reader's IPC namespace, also right after setns()",
    man: "ipc_namespaces(7); proc(5) /proc/sysvipc",
    prereq: Prereq::ROOTLESS
        .kernel(3, 0)
        .config(&["CONFIG_IPC_NS", "CONFIG_SYSVIPC"]),
    coverage: "KST:proc/setns-sysvipc",
    controls: &[
        Control::NoNewIpc,
        Control::Fault(Call::Setns),
        Control::Fault(Call::Unshare),
        Control::Fault(Call::SysvIpc),
        Control::Fault(Call::Mqueue),
    ],
    calls: &[
        Call::Setns,
        Call::Unshare,
        Call::SysvIpc,
        Call::Mqueue,
        Call::Wait,
    ],
    global: true,
    subject: None,
    inside: Some(ipc_04_inside),
    check: ipc_04_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Ipc04 {
    outer_key: String,
    nested_key: String,
    /// msgget/semget/shmget(IPC_CREAT|IPC_EXCL) of each key in its namespace.
    outer_create: [String; 3],
    /// unshare(CLONE_NEWIPC) of the nested helper: "ok" or the errno.
    nested_unshare: String,
    nested_create: [String; 3],
    outer_lists: view::Ipc,
    nested_lists: view::Ipc,
    setns: String,
    after_setns_lists: view::Ipc,
}

fn sysvipc_lists() -> view::Ipc {
    view::Ipc::sysvipc()
}

/// An `error` verdict when a /proc/sysvipc file of `lists` could not be read `where_`:
/// an empty list for want of a reading is no evidence either way.
fn readable(lists: &view::Ipc, where_: &str) -> Result<(), Verdict> {
    if lists.unreadable.is_empty() {
        return Ok(());
    }
    Err(Verdict::error(format!(
        "/proc/sysvipc unreadable {where_}: {}",
        lists.unreadable.join("; ")
    )))
}

fn ipc_04_inside(cx: &Inside) -> Result<Value, StepError> {
    let IpcArgs { key } = cx.args()?;
    let make = cx.launch.ipc;
    seen_guarded(cx, || {
        let nested_key = key ^ 0x0100_0000;
        let outer_create = sysv_get(key, CREATE);
        let outer_lists = sysvipc_lists();
        let own = crate::kit::nsfd::open_ns("self", Ns::Ipc)?;
        let what = "list /proc/sysvipc in a nested IPC namespace";
        let ((nested_unshare, nested_create, nested_lists, setns, after_setns_lists), _) =
            reported(
                what,
                in_helper(what, move || {
                    let unshare = new_ipc_ns(make);
                    let nested_create = sysv_get(nested_key, CREATE);
                    let nested_lists = sysvipc_lists();
                    // Scratch objects of a namespace that goes with the helper.
                    sysv_remove(nested_key);
                    let setns = res(nix::sched::setns(&own, CloneFlags::CLONE_NEWIPC));
                    (unshare, nested_create, nested_lists, setns, sysvipc_lists())
                })?,
            )?;
        // Scratch objects of the probe's own IPC namespace.
        sysv_remove(key);
        Ok(Ipc04 {
            outer_key: format!("{:#x}", key as u32),
            nested_key: format!("{:#x}", nested_key as u32),
            outer_create,
            nested_unshare,
            nested_create,
            outer_lists,
            nested_lists,
            setns,
            after_setns_lists,
        })
    })
}

fn ipc_04_check(cx: &mut Cx) -> CheckResult {
    let objects = HostIpcObjects::create()?;
    let run = cx.run(Launch::host().ipc(), ipc_args(&objects)?)?;
    drop(objects);
    let summary = "/proc/sysvipc follows the reader's IPC namespace";
    let mut e = Expect::new();
    let f: Ipc04 = seen_facts(&run, &mut e, true, summary)?;
    e.eq(
        "unshare(CLONE_NEWIPC) of the nested helper",
        OK,
        f.nested_unshare.as_str(),
    );
    let ok = [OK; 3].map(String::from);
    e.eq(
        "msgget/semget/shmget(key, IPC_CREAT|IPC_EXCL) in the probe's namespace",
        &ok,
        &f.outer_create,
    );
    e.eq(
        "msgget/semget/shmget(another key, IPC_CREAT|IPC_EXCL) in a nested namespace",
        &ok,
        &f.nested_create,
    );
    readable(&f.outer_lists, "in the probe's namespace")?;
    readable(&f.nested_lists, "in a nested namespace")?;
    readable(&f.after_setns_lists, "after setns()")?;
    let one = |k: &str| vec![k.to_string()];
    let (o, n) = (one(&f.outer_key), one(&f.nested_key));
    // The keys a reading listed, named by whose they are (the keys differ per run).
    let named = |l: &view::Ipc| {
        let name = |keys: &Vec<String>| -> Vec<&str> {
            keys.iter()
                .map(|k| match k {
                    k if *k == f.outer_key => "outer key",
                    k if *k == f.nested_key => "nested key",
                    _ => "another key",
                })
                .collect()
        };
        json!({ "msg": name(&l.msg), "sem": name(&l.sem), "shm": name(&l.shm) })
    };
    for (what, lists, want) in [
        ("in the probe's namespace", &f.outer_lists, &o),
        ("in a nested namespace", &f.nested_lists, &n),
        ("right after setns() back", &f.after_setns_lists, &o),
    ] {
        e.eq(&format!("/proc/sysvipc/msg {what}"), want, &lists.msg);
        e.eq(&format!("/proc/sysvipc/sem {what}"), want, &lists.sem);
        e.eq(&format!("/proc/sysvipc/shm {what}"), want, &lists.shm);
    }
    e.eq(
        "setns() into the probe's IPC namespace",
        OK,
        f.setns.as_str(),
    );
    Ok(e.verdict(summary).with_observed(json!({
        "outer_counts": [f.outer_lists.msg.len(), f.outer_lists.sem.len(), f.outer_lists.shm.len()],
        "nested_lists": named(&f.nested_lists),
        "setns": f.setns,
        "after_setns_lists": named(&f.after_setns_lists),
    })))
}

// ---------------------------------------------------------------------------------
/// IPC-05: the objects of an IPC namespace go with it. Observed through per-user budgets
/// that outlive the namespace: a POSIX queue left in a namespace keeps its bytes charged
/// to RLIMIT_MSGQUEUE (mq_overview(7) "/proc interfaces", getrlimit(2)), a SysV shm
/// segment locked with SHM_LOCK keeps its pages charged to RLIMIT_MEMLOCK (shmctl(2)
/// SHM_LOCK), each until the namespace is destroyed.
pub const IPC_05: Property = Property {
    id: "IPC-05",
    area: Area::Ipc,
    title: "When an IPC namespace is destroyed its objects are destroyed: a POSIX queue left behind by the last member stops counting against RLIMIT_MSGQUEUE, a SHM_LOCKed SysV shm segment left behind stops counting against RLIMIT_MEMLOCK",
    man: "ipc_namespaces(7); getrlimit(2) RLIMIT_MSGQUEUE, RLIMIT_MEMLOCK; shmctl(2) SHM_LOCK",
    prereq: Prereq::ROOTLESS.kernel(5, 14).config(&["CONFIG_IPC_NS", "CONFIG_POSIX_MQUEUE", "CONFIG_SYSVIPC", "CONFIG_USER_NS"]),
    coverage: "new",
    controls: &[Control::NoNewIpc, Control::Fault(Call::Unshare), Control::Fault(Call::SysvIpc), Control::Fault(Call::Mqueue)],
    calls: &[Call::Unshare, Call::SysvIpc, Call::Mqueue, Call::Wait, Call::Sleep],
    global: true,
    subject: None,
    inside: Some(ipc_05_inside),
    check: ipc_05_check,
};

fn mq_create_sized(name: &str) -> String {
    mq_create_with(name, &nix::mqueue::MqAttr::new(0, 4, 8192, 0))
}

/// Pages of the IPC-05 shm segments; RLIMIT_MEMLOCK is set to fit one, not two.
const SHM_PAGES: usize = 2;

fn page_size() -> usize {
    // SAFETY: sysconf takes an integer and returns one.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(p).unwrap_or(4096)
}

/// shmget(`key`, IPC_CREAT|IPC_EXCL) of a [`SHM_PAGES`]-page segment, then
/// shmctl(SHM_LOCK) of it: "ok", "shmget ERRNO", or the errno of the lock (ENOMEM
/// over RLIMIT_MEMLOCK). With `keep_unlocked` false a segment whose lock failed is
/// removed again (so the same key can be tried again).
fn shm_locked(key: libc::key_t, keep_unlocked: bool) -> String {
    // SAFETY: SysV shm calls with integer arguments and null buffers (nix has no
    // wrappers); errno is read right after the failing call.
    unsafe {
        let id = libc::shmget(key, SHM_PAGES * page_size(), CREATE);
        if id < 0 {
            return format!("shmget {}", sys_res(-1));
        }
        let r = sys_res(libc::shmctl(id, libc::SHM_LOCK, std::ptr::null_mut()));
        if r != OK && !keep_unlocked {
            // A scratch segment of the caller's namespace: removing it frees the key.
            libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut());
        }
        r
    }
}

#[derive(Serialize, Deserialize, Debug)]
struct Ipc05 {
    /// unshare(CLONE_NEWIPC) of the doomed namespace's only member.
    doomed_unshare: String,
    /// In the doomed namespace: first queue, then a second one over the budget.
    doomed: (String, String),
    /// In the doomed namespace: a locked shm segment, then a second one over the budget.
    doomed_shm: (String, String),
    /// Shm segments /proc/sysvipc/shm lists in the doomed namespace before its member
    /// exits (the two just made), or the read error.
    doomed_shm_listed: Result<usize, String>,
    doomed_end: String,
    /// While the budget was still taken (first try after the member exited, if any).
    first_try: String,
    first_try_shm: String,
    /// After the namespace was freed (asynchronously): our own queue of the same size,
    /// and our own locked segment of the same size.
    eventually: String,
    eventually_shm: String,
    tries: u32,
}

fn ipc_05_inside(cx: &Inside) -> Result<Value, StepError> {
    let IpcArgs { key } = cx.args()?;
    let make = cx.launch.ipc;
    seen_guarded(cx, || {
        // One 4 x 8192-byte queue fits, a second does not.
        let limit = 48 * 1024;
        nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_MSGQUEUE, limit, limit)
            .step("setrlimit(RLIMIT_MSGQUEUE)")?;
        // One SHM_PAGES-page locked segment fits, a second does not.
        let memlock = ((SHM_PAGES * 3 / 2) * page_size()) as u64;
        nix::sys::resource::setrlimit(
            nix::sys::resource::Resource::RLIMIT_MEMLOCK,
            memlock,
            memlock,
        )
        .step("setrlimit(RLIMIT_MEMLOCK)")?;
        let what = "fill the queue and locked-memory budgets in a new IPC namespace";
        let ((doomed_unshare, doomed, doomed_shm, doomed_shm_listed), doomed_end) = reported(
            what,
            in_helper(what, move || {
                let unshare = new_ipc_ns(make);
                let mq = (
                    mq_create_sized("/nsconform-a"),
                    mq_create_sized("/nsconform-b"),
                );
                // Both segments stay: the namespace's destruction must take them.
                let shm = (shm_locked(key, true), shm_locked(key ^ 0x0100_0000, true));
                let listed = crate::probe::view::sysvipc_keys("shm").map(|k| k.len());
                (unshare, mq, shm, listed)
            })?,
        )?;
        // The namespace is freed from a work queue: retry for up to half a second. Our
        // segment has a key of its own: a segment left over with the doomed one's key
        // must show as the budget still taken (ENOMEM), not as EEXIST.
        let own_key = key ^ 0x0200_0000;
        let mut tries = 0;
        let (mut first_try, mut first_try_shm) = (String::new(), String::new());
        let (mut eventually, mut eventually_shm) = (String::new(), String::new());
        loop {
            tries += 1;
            if eventually != OK {
                eventually = mq_create_sized("/nsconform-c");
            }
            if eventually_shm != OK {
                eventually_shm = shm_locked(own_key, false);
            }
            if tries == 1 {
                first_try = eventually.clone();
                first_try_shm = eventually_shm.clone();
            }
            let waiting = eventually == "EMFILE" || eventually_shm == "ENOMEM";
            if !waiting || tries >= 500 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        // Scratch objects of the probe's own IPC namespace, gone with it anyway.
        let _ = nix::mqueue::mq_unlink("/nsconform-c");
        sysv_remove(own_key);
        Ok(Ipc05 {
            doomed_unshare,
            doomed,
            doomed_shm,
            doomed_shm_listed,
            doomed_end: doomed_end.to_string(),
            first_try,
            first_try_shm,
            eventually,
            eventually_shm,
            tries,
        })
    })
}

fn ipc_05_check(cx: &mut Cx) -> CheckResult {
    // A user namespace of our own keeps the RLIMIT_MSGQUEUE and RLIMIT_MEMLOCK counts
    // private to the run.
    let objects = HostIpcObjects::create()?;
    let run = cx.run(Launch::host().user().ipc(), ipc_args(&objects)?)?;
    drop(objects);
    let summary = "the destroyed namespace's queue and shm segment were destroyed and uncharged";
    let mut e = Expect::new();
    let f: Ipc05 = seen_facts(&run, &mut e, false, summary)?;
    e.eq(
        "unshare(CLONE_NEWIPC) of the doomed namespace's only member",
        OK,
        f.doomed_unshare.as_str(),
    );
    e.eq(
        "queues made by the only member of a new IPC namespace (the second is over budget)",
        (OK.to_string(), "EMFILE".to_string()),
        f.doomed.clone(),
    );
    e.eq(
        "shm segments SHM_LOCKed by that member (the second is over RLIMIT_MEMLOCK)",
        (OK.to_string(), "ENOMEM".to_string()),
        f.doomed_shm.clone(),
    );
    let listed = match &f.doomed_shm_listed {
        Ok(n) => n.to_string(),
        Err(why) => why.clone(),
    };
    e.eq(
        "shm segments /proc/sysvipc/shm lists in that namespace before its member exits",
        "2",
        listed.as_str(),
    );
    e.eq("that member exited", "exited 0", f.doomed_end.as_str());
    e.that(
        "the first queue of the same size tried in our namespace right after that member exited (the budget still taken, or already freed)",
        f.first_try == OK || f.first_try == "EMFILE",
        "ok or EMFILE",
        f.first_try.as_str(),
    );
    e.that(
        "the first SHM_LOCK of a segment of the same size in our namespace right after that member exited (the budget still taken, or already freed)",
        f.first_try_shm == OK || f.first_try_shm == "ENOMEM",
        "ok or ENOMEM",
        f.first_try_shm.as_str(),
    );
    e.eq(
        "a queue of the same size in our namespace once that namespace is gone",
        OK,
        f.eventually.as_str(),
    );
    e.eq(
        "SHM_LOCK of a segment of the same size in our namespace once that namespace is gone",
        OK,
        f.eventually_shm.as_str(),
    );
    // first_try and tries depend on when the kernel's work queue ran: not observed, so
    // that the record stays the same from run to run.
    Ok(e.verdict(summary).with_observed(json!({
        "doomed": f.doomed,
        "doomed_shm": f.doomed_shm,
        "doomed_shm_listed": listed,
        "eventually": f.eventually,
        "eventually_shm": f.eventually_shm,
    })))
}
// ---------------------------------------------------------------------------------
/// IPC-06: an mqueue mount keeps its IPC namespace alive. namespaces(7); mq_overview(7).
pub const IPC_06: Property = Property {
    id: "IPC-06",
    area: Area::Ipc,
    title: "An mqueue mount pins its IPC namespace: its queues survive after every member process exited, while the mount exists",
    man: "namespaces(7) \"The namespaces lifetime\"; mq_overview(7)",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_IPC_NS", "CONFIG_POSIX_MQUEUE"]),
    coverage: "LTP:~mqns_04",
    controls: &[Control::NoNewIpc, Control::Fault(Call::Unshare), Control::Fault(Call::SysvIpc), Control::Fault(Call::Mqueue)],
    calls: &[Call::Unshare, Call::Mount, Call::SysvIpc, Call::Mqueue, Call::Wait],
    global: true,
    subject: None,
    inside: Some(ipc_06_inside),
    check: ipc_06_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Ipc06 {
    member: String,
    member_end: String,
    left_in_mount: Vec<String>,
    /// The queue file's first field (`QSIZE:0`), or the errno of reading it.
    queue_file: String,
    queue_in_our_namespace: String,
}

fn ipc_06_inside(cx: &Inside) -> Result<Value, StepError> {
    let make = cx.launch.ipc;
    seen_guarded(cx, || {
        list_mqueues()?; // private tmpfs on /tmp
        let what = "be the only member of an IPC namespace";
        let (member, member_end) = reported(
            what,
            in_helper(what, move || {
                let ns = new_ipc_ns(make);
                let m = mount_mqueue("/tmp/pinned").map_or_else(|e| e.to_string(), |()| OK.into());
                let q = mq_create("/pinned");
                format!("unshare {ns}, mount {m}, mq_open {q}")
            })?,
        )?;
        let left_in_mount = list_dir("/tmp/pinned");
        let queue_file = match std::fs::read_to_string("/tmp/pinned/pinned") {
            Ok(t) => t.split_whitespace().next().unwrap_or("empty").to_string(),
            Err(e) => io_errno(&e),
        };
        let queue_in_our_namespace = mq_exists("/pinned");
        // Scratch: the mount is in the probe's private mount namespace on its private
        // tmpfs, both gone with the probe; unmounting early is tidiness only.
        let _ = std::fs::remove_file("/tmp/pinned/pinned");
        let _ = nix::mount::umount2("/tmp/pinned", nix::mount::MntFlags::MNT_DETACH);
        Ok(Ipc06 {
            member,
            member_end: member_end.to_string(),
            left_in_mount,
            queue_file,
            queue_in_our_namespace,
        })
    })
}

fn ipc_06_check(cx: &mut Cx) -> CheckResult {
    let objects = HostIpcObjects::create()?;
    let run = cx.run(Launch::host().ipc().mnt(), ipc_args(&objects)?)?;
    drop(objects);
    let summary = "the mount kept the memberless IPC namespace and its queue";
    let mut e = Expect::new();
    let f: Ipc06 = seen_facts(&run, &mut e, false, summary)?;
    e.eq(
        "the only member made a namespace, mounted its mqueue fs and made a queue",
        "unshare ok, mount ok, mq_open ok",
        f.member.as_str(),
    );
    e.eq("that member exited", "exited 0", f.member_end.as_str());
    e.eq(
        "queues left in the mount after every member exited",
        vec!["pinned".to_string()],
        f.left_in_mount.clone(),
    );
    e.eq(
        "the queue file still reads (its first field)",
        "QSIZE:0",
        f.queue_file.as_str(),
    );
    e.eq(
        "the queue by name in our own namespace (it belongs to the other)",
        "ENOENT",
        f.queue_in_our_namespace.as_str(),
    );
    Ok(e.verdict(summary)
        .with_observed(serde_json::to_value(&f).unwrap_or_default()))
}

// ---------------------------------------------------------------------------------
/// IPC-07: setns() changes which objects keys resolve to. setns(2); ipc_namespaces(7).
pub const IPC_07: Property = Property {
    id: "IPC-07",
    area: Area::Ipc,
    title: "After setns() into another IPC namespace, shmget/shmat/msgget resolve keys to that namespace's objects",
    man: "setns(2); ipc_namespaces(7)",
    prereq: Prereq::ROOTLESS.kernel(3, 0).config(&["CONFIG_IPC_NS", "CONFIG_SYSVIPC"]),
    coverage: "LTP:setns02",
    controls: &[Control::NoNewIpc, Control::Fault(Call::Setns), Control::Fault(Call::Unshare), Control::Fault(Call::SysvIpc), Control::Fault(Call::Mqueue)],
    calls: &[Call::Setns, Call::Unshare, Call::SysvIpc, Call::Mqueue, Call::Wait],
    global: true,
    subject: None,
    inside: Some(ipc_07_inside),
    check: ipc_07_check,
};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Ipc07 {
    /// shm segment (holding "outer") and msg queue of the key in the probe's namespace.
    outer_create: [String; 2],
    /// unshare(CLONE_NEWIPC) of the nested helper: "ok" or the errno.
    nested_unshare: String,
    nested_create: [String; 3],
    nested_shm_text: String,
    setns: String,
    after_msgget: String,
    after_shm_text: String,
}

/// Create a shm segment for `key` holding `text`; returns "ok" or errno.
fn shm_put(key: libc::key_t, text: &str) -> String {
    // SAFETY: SysV shm calls (nix has no wrappers); the attached segment is 4096 bytes
    // and `text` is shorter; errno is read right after the failing call.
    unsafe {
        let id = libc::shmget(key, 4096, CREATE);
        if id < 0 {
            return sys_res(-1);
        }
        let p = libc::shmat(id, std::ptr::null(), 0);
        if p as isize == -1 {
            return sys_res(-1);
        }
        std::ptr::copy_nonoverlapping(text.as_ptr(), p.cast::<u8>(), text.len());
        libc::shmdt(p);
    }
    OK.into()
}

/// The text in the shm segment of `key` (shmget + shmat), or the errno.
fn shm_get(key: libc::key_t) -> String {
    // SAFETY: SysV shm calls (nix has no wrappers); reading up to 64 bytes of a
    // 4096-byte segment; errno is read right after the failing call.
    unsafe {
        let id = libc::shmget(key, 0, 0);
        if id < 0 {
            return sys_res(-1);
        }
        let p = libc::shmat(id, std::ptr::null(), libc::SHM_RDONLY);
        if p as isize == -1 {
            return sys_res(-1);
        }
        let bytes = std::slice::from_raw_parts(p.cast::<u8>(), 64);
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(64);
        let s = String::from_utf8_lossy(&bytes[..end]).into_owned();
        libc::shmdt(p);
        s
    }
}

/// msgget(2) of `key` with `flags`: "ok" or the errno.
fn msgget(key: libc::key_t, flags: libc::c_int) -> String {
    // SAFETY: msgget takes two integers (nix has no SysV wrappers).
    sys_res(unsafe { libc::msgget(key, flags) })
}

fn ipc_07_inside(cx: &Inside) -> Result<Value, StepError> {
    let IpcArgs { key } = cx.args()?;
    let make = cx.launch.ipc;
    seen_guarded(cx, || {
        let outer_create = [shm_put(key, "outer"), msgget(key, CREATE)];
        let own = crate::kit::nsfd::open_ns("self", Ns::Ipc)?;
        let what = "resolve keys in a nested IPC namespace";
        let (nested, _) = reported(
            what,
            in_helper(what, move || {
                let nested_unshare = new_ipc_ns(make);
                let shm = shm_put(key, "nested");
                let msg = msgget(key, 0o600);
                let nested_shm_text = shm_get(key);
                // Objects of the nested namespace go with it; remove them anyway.
                if shm == OK {
                    sysv_remove(key);
                }
                let setns = res(nix::sched::setns(&own, CloneFlags::CLONE_NEWIPC));
                let after_msgget = msgget(key, 0o600);
                Ipc07 {
                    outer_create: Default::default(),
                    nested_unshare,
                    nested_create: [shm, msg, String::new()],
                    nested_shm_text,
                    setns,
                    after_msgget,
                    after_shm_text: shm_get(key),
                }
            })?,
        )?;
        // Scratch objects of the probe's own IPC namespace.
        sysv_remove(key);
        Ok(Ipc07 {
            outer_create,
            ..nested
        })
    })
}

fn ipc_07_check(cx: &mut Cx) -> CheckResult {
    let objects = HostIpcObjects::create()?;
    let run = cx.run(Launch::host().ipc(), ipc_args(&objects)?)?;
    drop(objects);
    let summary = "keys resolve in the IPC namespace joined with setns()";
    let mut e = Expect::new();
    let f: Ipc07 = seen_facts(&run, &mut e, true, summary)?;
    e.eq(
        "unshare(CLONE_NEWIPC) of the nested helper",
        OK,
        f.nested_unshare.as_str(),
    );
    e.eq(
        "shmget(key, IPC_CREAT|IPC_EXCL) holding \"outer\" and msgget(key, IPC_CREAT|IPC_EXCL) in the probe's namespace",
        [OK; 2].map(String::from),
        f.outer_create.clone(),
    );
    e.eq(
        "shmget(key, IPC_CREAT|IPC_EXCL) in a nested namespace",
        OK,
        f.nested_create[0].as_str(),
    );
    e.eq(
        "msgget(key) in the nested namespace (only the outer one has it)",
        "ENOENT",
        f.nested_create[1].as_str(),
    );
    e.eq(
        "shm text read through the key in the nested namespace",
        "nested",
        f.nested_shm_text.as_str(),
    );
    e.eq("setns() into the outer IPC namespace", OK, f.setns.as_str());
    e.eq("msgget(key) after setns()", OK, f.after_msgget.as_str());
    e.eq(
        "shm text read through the key after setns()",
        "outer",
        f.after_shm_text.as_str(),
    );
    Ok(e.verdict(summary)
        .with_observed(serde_json::to_value(&f).unwrap_or_default()))
}

// ---------------------------------------------------------------------------------
#[derive(Serialize, Deserialize, Debug)]
struct Ipc08 {
    ipc: view::Ipc,
    /// IPC_STAT on the host queue's id inside: "ok", or the errno (EINVAL when invisible).
    host_msqid_stat: String,
}

/// The argument of IPC-08: the id of the queue the harness made on the host.
#[derive(Serialize, Deserialize)]
struct Ipc08Args {
    msqid: i32,
}

/// IPC-08: a new IPC namespace starts empty: no SysV message queues, semaphore sets or
/// shared memory segments and no POSIX message queues, even when the creator's namespace
/// has some. ipc_namespaces(7).
pub const IPC_08: Property = Property {
    id: "IPC-08",
    area: Area::Ipc,
    title: "A new IPC namespace starts empty: no SysV objects and no POSIX message queues, though the host has some",
    man: "ipc_namespaces(7)",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_IPC_NS", "CONFIG_SYSVIPC", "CONFIG_POSIX_MQUEUE"]),
    coverage: "LTP:~mesgq_nstest,~shmnstest (same key, not emptiness)",
    controls: &[Control::NoNewIpc, Control::Fault(Call::SysvIpc)],
    calls: &[Call::Mount, Call::SysvIpc],
    global: true,
    subject: Some(crate::spec::SubjectCheck::required(ipc_08_subject)),
    inside: Some(ipc_08_inside),
    check: ipc_08_check,
};

fn ipc_08_inside(cx: &Inside) -> Result<Value, StepError> {
    let Ipc08Args { msqid } = cx.args()?;
    let host_msqid_stat = res(crate::probe::sys::msq_stat(msqid));
    let mut ipc = view::View::gather().ipc;
    ipc.mqueues = Some(list_mqueues()?);
    facts(&Ipc08 {
        ipc,
        host_msqid_stat,
    })
}

fn ipc_08_check(cx: &mut Cx) -> CheckResult {
    let host_ipc = host::own_ns_inode(Ns::Ipc.name())?;
    let objects = HostIpcObjects::create()?;
    let (run, probe_ipc) = cx.run_held(
        Launch::host().ipc().mnt(),
        json!(Ipc08Args {
            msqid: objects.msqid
        }),
        |run| host::ns_inode(run.host_pid.expect("held"), Ns::Ipc.name()),
    )?;
    let still_there = objects.msq_present();
    drop(objects);
    let f: Ipc08 = run.facts()?;
    readable(&f.ipc, "inside")?;
    let empty: Vec<String> = Vec::new();
    let mut e = Expect::new();
    e.ne(
        "IPC namespace of the probe (a new IPC namespace)",
        host_ipc,
        probe_ipc,
    );
    e.eq(
        "SysV message queues inside (host's must not show)",
        &empty,
        &f.ipc.msg,
    );
    e.eq("SysV semaphore sets inside", &empty, &f.ipc.sem);
    e.eq("SysV shared memory segments inside", &empty, &f.ipc.shm);
    e.eq(
        "POSIX message queues inside (host's must not show)",
        Some(&empty),
        f.ipc.mqueues.as_ref(),
    );
    e.eq(
        "IPC_STAT of the host queue's id inside",
        "EINVAL",
        f.host_msqid_stat.as_str(),
    );
    e.eq(
        "host queue still present in the host namespace",
        true,
        still_there,
    );
    Ok(
        e.verdict("new IPC namespace is empty while the host has objects")
            .with_observed(json!({
                "sysv_msg": f.ipc.msg,
                "sysv_sem": f.ipc.sem,
                "sysv_shm": f.ipc.shm,
                "posix_mqueues": f.ipc.mqueues,
                "host_msqid_stat_inside": f.host_msqid_stat,
                "ipc_ns_vs_host": if probe_ipc != host_ipc { "differs" } else { "same" },
            })),
    )
}

/// IPC-08 for a subject: no SysV objects inside, the host's queues invisible.
fn ipc_08_subject(o: &SubjectObservation) -> Verdict {
    let seen = match o.seen() {
        Ok(s) => s,
        Err(v) => return v,
    };
    let own_ns = seen.entered.iter().any(|n| n == Ns::Ipc.name());
    let mut e = Expect::new();
    e.eq(
        "IPC namespace of the probe differs from the host's (seen by the harness)",
        true,
        own_ns,
    );
    // Judged by the harness's observer inside the probe's IPC namespace.
    let (stat, mq, objects) = match &seen.ipc {
        Some(i) => (
            i.host_msqid_stat.clone(),
            i.host_mq_open.clone(),
            i.sysv_objects.values().sum::<usize>(),
        ),
        None => ("not run".into(), "not run".into(), 0),
    };
    if own_ns {
        e.eq("SysV IPC objects inside", 0, objects);
        e.eq(
            "IPC_STAT of the host's queue id inside",
            "EINVAL".to_string(),
            stat.clone(),
        );
        e.eq(
            "mq_open of the host's POSIX queue inside",
            "ENOENT".to_string(),
            mq.clone(),
        );
    }
    e.eq(
        "host's queue still there afterwards",
        true,
        o.host_ipc_intact,
    );
    e.verdict("IPC namespace empty; host objects invisible")
        .with_observed(json!({
            "own_ipc_ns": own_ns,
            "sysv_objects": objects,
            "host_queue_visible": stat == OK,
            "host_mq_visible": mq == OK,
        }))
}
