//! Mount namespaces: mount_namespaces(7).

use crate::harness::Cx;
use crate::host;
use crate::kit::child::{ping, pipe, send_line, wait_ping};
use crate::kit::guard;
use crate::kit::{facts, io_res, nsfd, res, sys_res, Fork, Table, OK};
use crate::mountinfo;
use crate::ns::{self, Ns};
use crate::observation::SubjectObservation;
use crate::outcome::{Expect, Verdict};
use crate::probe::{Inside, Launch, StepError, StepExt};
use crate::spec::{Area, Call, CheckResult, Control, Prereq, Property};
use nix::mount::{mount, MsFlags};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

pub const ALL: &[Property] = &[
    MNT_01, MNT_02, MNT_03, MNT_04, MNT_05, MNT_06, MNT_07, MNT_08, MNT_09, MNT_10, MNT_11, MNT_12,
    MNT_13, MNT_14, MNT_15, MNT_17,
];

// =================================================================================
// Helpers for mount experiments. Every experiment runs in a tree of its own: in the
// probe's own mount namespace that is /tmp, with / made rprivate again and a private
// tmpfs on /tmp, so nothing can reach the host (the namespaces die with the probe,
// taking every mount with them). A probe left in the host's mount namespace (the
// `no-new-mnt` control) touches nothing there but the harness's scratch directory: it
// mounts a private tmpfs on it and builds the same tree under it (the paths below name
// /tmp and are moved there by [`at`]); the harness then finds those mounts in its own
// mount table, which fails the check, and unmounts them with the scratch directory
// (`cleanup::Scratch`; a killed run's are swept by `nsconform cleanup`). Rootless, the
// kernel refuses that first mount with EPERM.

/// What the inside half of a mount experiment gets: the harness's scratch directory (its
/// tree when the probe shares the harness's mount namespace) and the source name of
/// the tmpfs the tree is built on, for the harness to recognise it in its mount table.
#[derive(Serialize, Deserialize, Debug)]
struct SandboxArgs {
    scratch: PathBuf,
    source: String,
}

/// Where the experiment's tree is when it is not /tmp: the harness's scratch directory.
/// Set once by [`sandboxed`] in the (single-threaded) probe process.
static BASE: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// `path` (under /tmp) in the experiment's tree; other paths as they are.
fn at(path: &str) -> String {
    let base = BASE.lock().map(|b| b.clone()).unwrap_or(None);
    match (base, path.strip_prefix("/tmp")) {
        (Some(b), Some(rest)) if rest.is_empty() || rest.starts_with('/') => format!("{b}{rest}"),
        _ => path.to_string(),
    }
}

/// Run `f` in the experiment's tree (see above): /tmp of the probe's own mount
/// namespace, or a private tmpfs on the harness's scratch directory when the probe is in
/// the harness's mount namespace (see [`guard::in_host_ns`]).
fn sandboxed<T: Serialize>(
    cx: &Inside,
    f: impl FnOnce() -> Result<T, StepError>,
) -> Result<Value, StepError> {
    let SandboxArgs { scratch, source } = cx.args()?;
    let opts = Some("size=64k,mode=0755");
    if guard::in_host_ns(cx, Ns::Mnt) {
        let dir = scratch.to_string_lossy().into_owned();
        mount(
            Some(source.as_str()),
            dir.as_str(),
            Some("tmpfs"),
            MsFlags::empty(),
            opts,
        )
        .step(&format!(
            "mount a tmpfs on the harness's scratch directory {dir}"
        ))?;
        // Made private at once: nothing mounted under it propagates anywhere.
        set_prop(&dir, MsFlags::MS_PRIVATE)?;
        if let Ok(mut b) = BASE.lock() {
            *b = Some(dir);
        }
    } else {
        set_prop("/", MsFlags::MS_REC | MsFlags::MS_PRIVATE)?;
        mount(
            Some(source.as_str()),
            "/tmp",
            Some("tmpfs"),
            MsFlags::empty(),
            opts,
        )
        .step("mount a tmpfs on /tmp")?;
    }
    facts(&f()?)
}

/// The check half of [`sandboxed`]: run the probe in a new mount namespace, then fail
/// when any mount of its experiment is in the harness's mount table (under the scratch
/// directory, or the experiment's tmpfs anywhere) before the facts are judged.
fn run_sandboxed<T: serde::de::DeserializeOwned>(cx: &mut Cx) -> Result<T, Verdict> {
    let scratch = cx.scratch_dir()?;
    let source = scratch
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let args = json!(SandboxArgs {
        scratch: scratch.clone(),
        source: source.clone(),
    });
    let run = cx.run(Launch::host().mnt(), guard::args(Ns::Mnt, args)?);
    let dir = scratch.to_string_lossy().into_owned();
    let under = format!("{dir}/");
    let left: Vec<String> = host::mounts()
        .into_iter()
        .filter(|m| m.source == source || m.mount_point == dir || m.mount_point.starts_with(&under))
        .map(|m| m.mount_point)
        .collect();
    let mut e = Expect::new();
    e.that(
        "mounts of the experiment in the harness's mount table (they belong to the probe's own mount namespace)",
        left.is_empty(),
        "none",
        format!("{} under {dir}", left.len()),
    );
    if e.failed() {
        return Err(e
            .verdict("the experiment's mounts stay in the probe's mount namespace")
            .with_observed(json!({ "experiment_mounts_on_host": left.len() })));
    }
    run?.facts()
}

fn mkdir(path: &str) -> Result<(), StepError> {
    let path = at(path);
    std::fs::create_dir_all(&path).step(&format!("mkdir -p {path}"))
}

/// Mount a small tmpfs on `path` (created first) with `flags`.
fn tmpfs_with(path: &str, flags: MsFlags) -> Result<(), StepError> {
    mkdir(path)?;
    let path = at(path);
    mount(
        Some("nsconform"),
        path.as_str(),
        Some("tmpfs"),
        flags,
        Some("size=64k,mode=0755"),
    )
    .step(&format!("mount a tmpfs on {path}"))
}

fn tmpfs(path: &str) -> Result<(), StepError> {
    tmpfs_with(path, MsFlags::empty())
}

/// Change the propagation type of the mount at `path`.
fn set_prop(path: &str, flag: MsFlags) -> Result<(), StepError> {
    let path = at(path);
    mount(
        None::<&str>,
        path.as_str(),
        None::<&str>,
        flag,
        None::<&str>,
    )
    .step(&format!("change propagation of {path} ({flag:?})"))
}

/// A tmpfs on `path` made shared.
fn shared_tmpfs(path: &str) -> Result<(), StepError> {
    tmpfs(path)?;
    set_prop(path, MsFlags::MS_SHARED)
}

/// The result of a mount(2) call: [`OK`] or its errno.
fn try_mount(src: Option<&str>, target: &str, flags: MsFlags) -> String {
    let src = src.map(at);
    let target = at(target);
    res(mount(
        src.as_deref(),
        target.as_str(),
        None::<&str>,
        flags,
        None::<&str>,
    ))
}

/// Bind `src` on `dst` (created first); `MS_REC` in `extra` for a recursive bind.
fn bind(src: &str, dst: &str, extra: MsFlags) -> Result<(), StepError> {
    mkdir(dst)?;
    let (src, dst) = (at(src), at(dst));
    mount(
        Some(src.as_str()),
        dst.as_str(),
        None::<&str>,
        MsFlags::MS_BIND | extra,
        None::<&str>,
    )
    .step(&format!("bind {src} on {dst}"))
}

/// The result of umount2(2): [`OK`] or its errno.
fn try_umount(path: &str, flags: nix::mount::MntFlags) -> String {
    res(nix::mount::umount2(at(path).as_str(), flags))
}

/// The calling process's mount table.
fn table() -> Vec<mountinfo::MountEntry> {
    mountinfo::read("/proc/self/mountinfo").unwrap_or_default()
}

/// The topmost mount on `path` in `table`.
fn top<'a>(table: &'a [mountinfo::MountEntry], path: &str) -> Option<&'a mountinfo::MountEntry> {
    let path = at(path);
    table.iter().rev().find(|m| m.mount_point == path)
}

fn mounted(path: &str) -> bool {
    top(&table(), path).is_some()
}

/// Propagation of the topmost mount on `path`, without peer group numbers: a sorted
/// subset of `master`, `propagate_from`, `shared`, `unbindable`; empty for private.
/// `["absent"]` when nothing is mounted there.
fn tags(path: &str) -> Vec<String> {
    tags_in(&table(), path)
}

fn tags_in(table: &[mountinfo::MountEntry], path: &str) -> Vec<String> {
    match top(table, path) {
        None => vec!["absent".into()],
        Some(m) => {
            let mut t: Vec<String> = m
                .propagation
                .iter()
                .map(|p| p.split(':').next().unwrap_or("").to_string())
                .collect();
            t.sort();
            t
        }
    }
}

/// The number of a `kind:N` tag (`shared`, `master`, `propagate_from`) on `path`.
fn group_in(table: &[mountinfo::MountEntry], path: &str, kind: &str) -> Option<u32> {
    top(table, path)?.propagation.iter().find_map(|p| {
        let (k, n) = p.split_once(':')?;
        (k == kind).then(|| n.parse().ok()).flatten()
    })
}

fn group(path: &str, kind: &str) -> Option<u32> {
    group_in(&table(), path, kind)
}

/// How the peer group `other` stands to `group` (their numbers differ per run, so the
/// facts name the relation): `same group`, `other group` (or none), or `no group` when
/// `group` itself is missing.
fn relation(group: Option<u32>, other: Option<u32>) -> String {
    match group {
        None => "no group",
        Some(_) if other == group => "same group",
        Some(_) => "other group",
    }
    .to_string()
}

/// `path` of the experiment's tree in /tmp terms (the inverse of [`at`]).
fn from_at(path: &str) -> String {
    let base = BASE.lock().map(|b| b.clone()).unwrap_or(None);
    match base.as_deref().and_then(|b| path.strip_prefix(b)) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("/tmp{rest}"),
        _ => path.to_string(),
    }
}

/// The mount points at or under `dir` (under /tmp) in `table`, in /tmp terms, sorted
/// (a point mounted on twice shows twice).
fn mounts_under(table: &[mountinfo::MountEntry], dir: &str) -> Vec<String> {
    let dir = at(dir);
    let below = format!("{dir}/");
    let mut v: Vec<String> = table
        .iter()
        .filter(|m| m.mount_point == dir || m.mount_point.starts_with(&below))
        .map(|m| from_at(&m.mount_point))
        .collect();
    v.sort();
    v
}

/// Whether `path` (in /tmp terms) is among `points`.
fn listed(points: &[String], path: &str) -> bool {
    points.iter().any(|p| p == path)
}

/// An fd for the caller's current mount namespace.
fn this_mntns() -> Result<std::os::fd::OwnedFd, StepError> {
    nsfd::open_ns("self", Ns::Mnt)
}

/// Create a new mount namespace (same user namespace) and return an fd for it; the
/// caller is now in it.
fn new_mntns() -> Result<std::os::fd::OwnedFd, StepError> {
    nix::sched::unshare(Ns::Mnt.flag()).step("unshare(CLONE_NEWNS)")?;
    this_mntns()
}

/// Switch to the mount namespace `fd` (setns(2); the probe is single-threaded).
fn enter(fd: &std::os::fd::OwnedFd) -> Result<(), StepError> {
    nix::sched::setns(fd, Ns::Mnt.flag()).step("setns into a mount namespace")
}

/// Enter a new user namespace with root mapped to the caller's uid and gid, and a new
/// mount namespace it owns: a less privileged mount namespace (mount_namespaces(7)
/// "Restrictions on mount namespaces").
fn enter_less_privileged() -> Result<(), StepError> {
    let (uid, gid) = (nix::unistd::getuid(), nix::unistd::getgid());
    nix::sched::unshare(Ns::User.flag() | Ns::Mnt.flag())
        .step("unshare(CLONE_NEWUSER | CLONE_NEWNS)")?;
    crate::probe::write_root_map(uid.as_raw(), gid.as_raw())
}

/// Run steps in a helper process and the caller in turn: the helper runs `first` and
/// reports it, the caller runs `between` with the helper's PID, then the helper runs
/// `second` and reports that. Both reports cross the helper's result pipe as JSON.
fn child_steps<A, T, B>(
    first: impl FnOnce() -> Result<A, StepError>,
    between: impl FnOnce(nix::unistd::Pid, &A) -> Result<T, StepError>,
    second: impl FnOnce() -> Result<B, StepError>,
) -> Result<(A, T, B), StepError>
where
    A: Serialize + serde::de::DeserializeOwned,
    B: Serialize + serde::de::DeserializeOwned,
{
    let (go_r, go_w) = pipe()?;
    let mut child = Fork::new("run mount steps in a child").spawn(|fd| {
        let a = first();
        let failed = a.is_err();
        send_line(&fd, &a);
        if failed || !wait_ping(&go_r) {
            return Err(StepError::new(
                "run the child's second step",
                None,
                "not released",
            ));
        }
        second()
    })?;
    drop(go_r);
    // The first report is the helper's own `Result<A, StepError>`, the second the
    // `Result<Result<B, StepError>, StepError>` that `Fork` sends for the body.
    let a: A = child.result()?;
    let t = between(child.pid(), &a)?;
    ping(&go_w);
    let b: Result<B, StepError> = child.result()?;
    Ok((a, t, b?))
}

fn t(tags: &[&str]) -> Vec<String> {
    tags.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------
/// MNT-01: a new mount namespace starts as a copy of the creator's mount list, and a
/// mount made inside (after making `/` rprivate) does not appear in the host's mount
/// table. mount_namespaces(7).
pub const MNT_01: Property = Property {
    id: "MNT-01",
    area: Area::Mnt,
    title: "A new mount namespace copies the host's mounts; a tmpfs mounted inside (after making / rprivate) never shows in the host's mount table",
    man: "mount_namespaces(7)",
    prereq: Prereq::ROOTLESS,
    coverage: "LTP:mountns02,unshare01.sh",
    controls: &[Control::NoNewMnt, Control::SharedRoot],
    calls: &[Call::Mount],
    global: true,
    subject: Some(crate::spec::SubjectCheck::required(mnt_01_subject)),
    inside: Some(mnt_01_inside),
    check: mnt_01_check,
};

/// What MNT-01's inside half gets: the tmpfs source name to look for and where to
/// mount it.
#[derive(Serialize, Deserialize, Debug)]
struct Mnt01Args {
    marker: String,
    target: PathBuf,
}

#[derive(Serialize, Deserialize, Debug)]
struct Mnt01 {
    /// Mount points of the probe's mount table right after creation.
    at_creation: BTreeSet<String>,
    /// Whether the marker tmpfs shows in the probe's own mountinfo.
    marker_inside: bool,
}

fn mnt_01_inside(cx: &Inside) -> Result<Value, StepError> {
    let at_creation = mountinfo::read("/proc/self/mountinfo")
        .step("read /proc/self/mountinfo")?
        .into_iter()
        .map(|m| m.mount_point)
        .collect();
    let Mnt01Args { marker, target } = cx.args()?;
    let (marker, target) = (marker.as_str(), target.as_path());
    mount(
        Some(marker),
        target,
        Some("tmpfs"),
        MsFlags::empty(),
        Some("size=64k"),
    )
    .step(&format!("mount a tmpfs on {}", target.display()))?;
    let marker_inside = mountinfo::read("/proc/self/mountinfo")
        .step("read /proc/self/mountinfo")?
        .iter()
        .any(|m| m.source == marker);
    facts(&Mnt01 {
        at_creation,
        marker_inside,
    })
}

fn mnt_01_check(cx: &mut Cx) -> CheckResult {
    let dir = cx.scratch_dir()?;
    // A privileged harness puts the target under a *shared* tmpfs of its own, so that a
    // mount leaks to the host whenever propagation is not cut (as on systemd hosts,
    // where / is shared). The scratch dir is detached and removed after the check.
    let shared = nix::unistd::geteuid().is_root() && !cx.rootless();
    if shared {
        mount(
            Some("nsconform-shared"),
            &dir,
            Some("tmpfs"),
            MsFlags::empty(),
            Some("size=64k"),
        )
        .and_then(|()| {
            mount(
                None::<&str>,
                &dir,
                None::<&str>,
                MsFlags::MS_SHARED,
                None::<&str>,
            )
        })
        .map_err(|e| Verdict::error(format!("prepare a shared tmpfs on {}: {e}", dir.display())))?;
        let (u, g) = cx.outer_ids();
        let _ = nix::unistd::chown(
            &dir,
            Some(nix::unistd::Uid::from_raw(u)),
            Some(nix::unistd::Gid::from_raw(g)),
        );
    }
    let target = dir.join("inside");
    std::fs::create_dir(&target)
        .map_err(|e| Verdict::error(format!("mkdir {}: {e}", target.display())))?;
    let marker = format!(
        "nsconform-mnt01-{}",
        dir.file_name().unwrap_or_default().to_string_lossy()
    );
    let host_before: BTreeSet<String> = host::mounts().into_iter().map(|m| m.mount_point).collect();
    let host_mnt = host::own_ns_inode("mnt")?;
    let args = json!(Mnt01Args {
        marker: marker.clone(),
        target,
    });
    let result = cx.run_held(Launch::host().mnt(), args, |run| {
        let leaked = host::mounts().iter().any(|m| m.source == marker);
        Ok((host::ns_inode(run.host_pid.expect("held"), "mnt")?, leaked))
    });
    let leaked_after = host::mounts().iter().any(|m| m.source == marker);
    let (run, (probe_mnt, leaked_during)) = result?;
    let f: Mnt01 = run.facts()?;
    // Only mounts the host had throughout count: another run's scratch may come or go
    // meanwhile (runs at once must give the verdicts of one).
    let host_after: BTreeSet<String> = host::mounts().into_iter().map(|m| m.mount_point).collect();
    let missing: Vec<&String> = host_before
        .intersection(&host_after)
        .filter(|m| !f.at_creation.contains(*m))
        .collect();
    let mut e = Expect::new();
    e.ne(
        "mount namespace of the probe (a new mount namespace)",
        host_mnt,
        probe_mnt,
    );
    e.eq(
        "tmpfs visible in the probe's own mount table",
        true,
        f.marker_inside,
    );
    e.eq(
        "tmpfs mounted inside appears in the host's mount table (propagation cut by making / rprivate?)",
        false,
        leaked_during || leaked_after,
    );
    e.that(
        "host mounts present at creation are all visible inside",
        missing.is_empty(),
        "no host mount missing",
        format!("missing {missing:?}"),
    );
    Ok(e.verdict(if shared {
        "inside mount invisible to the host, even under a shared host mount"
    } else {
        "inside mount invisible to the host"
    })
    .with_observed(json!({
        "mnt_ns_vs_host": if host_mnt != probe_mnt { "differs" } else { "same" },
        "marker_inside": f.marker_inside,
        "marker_on_host": leaked_during || leaked_after,
        "host_mounts_missing_inside": missing.len(),
        "under_shared_host_mount": shared,
    })))
}

/// MNT-01 for a subject: the probe's tmpfs is in its own mount table (read from outside)
/// and never appeared in the host's, even under a shared host directory.
fn mnt_01_subject(o: &SubjectObservation) -> Verdict {
    let seen = match o.seen() {
        Ok(s) => s,
        Err(v) => return v,
    };
    let own_ns = seen.entered.iter().any(|n| n == Ns::Mnt.name());
    let mounted = seen.mnt.as_ref().is_some_and(|m| m.mount == OK);
    let mut e = Expect::new();
    e.eq(
        "mount namespace of the probe differs from the host's (seen by the harness)",
        true,
        own_ns,
    );
    // Whether or not a test mount could be made, a mount that shares a peer group with
    // the host's propagates both ways (mount_namespaces(7) "Shared subtrees").
    e.that(
        "no mount of the probe's namespace is a peer of a host mount",
        o.outside.shared_with_host.is_empty(),
        "no shared peer group with the host",
        o.outside.shared_with_host.join(", "),
    );
    e.eq(
        "the harness's tmpfs mounted inside reached the host's mount table",
        false,
        o.outside.observer_marker_on_host,
    );
    e.eq(
        "the probe's tmpfs reached the host's mount table",
        false,
        o.outside.marker_on_host,
    );
    e.verdict("mounts made inside are invisible to the host")
        .with_observed(json!({
            "own_mnt_ns": own_ns,
            "mounted_inside": mounted,
            "shared_with_host": !o.outside.shared_with_host.is_empty(),
            "leaked_to_host": o.outside.marker_on_host || o.outside.observer_marker_on_host,
        }))
}

// ---------------------------------------------------------------------------------
/// MNT-02: the copies in a new mount namespace keep their propagation type but get new
/// mount IDs; copies of shared mounts join the original's peer group.
/// mount_namespaces(7) "Shared subtrees".
pub const MNT_02: Property = Property {
    id: "MNT-02",
    area: Area::Mnt,
    title: "Mounts copied into a new mount namespace keep their propagation type (shared, slave, private) with new mount IDs; shared copies join the same peer group",
    man: "mount_namespaces(7) \"Shared subtrees\"",
    prereq: Prereq::ROOTLESS.kernel(2, 6),
    coverage: "LTP:~mountns01 (behaviour, not tags); OTH:~CRIU",
    controls: &[Control::NoNewMnt],
    calls: &[Call::Unshare, Call::Mount],
    global: false,
    subject: None,
    inside: Some(mnt_02_inside),
    check: mnt_02_check,
};

/// The five kinds of mount the propagation checks build under /tmp.
const KINDS: [&str; 5] = [
    "/tmp/shared",
    "/tmp/private",
    "/tmp/master",
    "/tmp/slave",
    "/tmp/unbindable",
];

#[derive(Serialize, Deserialize, Debug)]
struct Mnt02 {
    /// Mount point -> propagation tags before and after the copy.
    before: BTreeMap<String, Vec<String>>,
    after: BTreeMap<String, Vec<String>>,
    /// How `shared:N` of the copy of /tmp/shared stands to the original's, and
    /// `master:N` of the copy of /tmp/slave to the original's master.
    shared_copy_group: String,
    slave_copy_master: String,
    /// Mounts of the experiment's tree (/tmp and below) in the new namespace with a
    /// mount ID the first namespace does not have (not in the snapshot: mounts other
    /// runs make under /tmp meanwhile may be in the tree, 6 or 7 on one kernel).
    tree_mounts_with_new_id: usize,
    /// Mounts of the new namespace (all of them) with a mount ID of the first one.
    mounts_with_reused_id: usize,
    /// Mount points (as multisets) of the first namespace the new one lacks, and those
    /// it has in addition.
    mount_points_missing: Vec<String>,
    mount_points_added: Vec<String>,
}

/// The mount points of `a` that `b` lacks, as multisets (a point mounted on twice in
/// `a` and once in `b` shows once).
fn multiset_minus(a: &[&String], b: &[&String]) -> Vec<String> {
    let mut left: BTreeMap<&str, usize> = BTreeMap::new();
    for p in b {
        *left.entry(p.as_str()).or_default() += 1;
    }
    let mut out = Vec::new();
    for p in a {
        match left.get_mut(p.as_str()) {
            Some(n) if *n > 0 => *n -= 1,
            _ => out.push(p.to_string()),
        }
    }
    out
}

fn build_kinds() -> Result<(), StepError> {
    shared_tmpfs("/tmp/shared")?;
    tmpfs("/tmp/private")?;
    shared_tmpfs("/tmp/master")?;
    bind("/tmp/master", "/tmp/slave", MsFlags::empty())?;
    set_prop("/tmp/slave", MsFlags::MS_SLAVE)?;
    tmpfs("/tmp/unbindable")?;
    set_prop("/tmp/unbindable", MsFlags::MS_UNBINDABLE)
}

fn mnt_02_inside(cx: &Inside) -> Result<Value, StepError> {
    sandboxed(cx, || {
        build_kinds()?;
        let a = table();
        let _b_fd = new_mntns()?;
        let b = table();
        let snap = |tb: &[mountinfo::MountEntry]| -> BTreeMap<String, Vec<String>> {
            KINDS
                .iter()
                .map(|k| (k.to_string(), tags_in(tb, k)))
                .collect()
        };
        let ids_a: BTreeSet<u32> = a.iter().map(|m| m.mount_id).collect();
        let tree = at("/tmp");
        let in_tree = |m: &mountinfo::MountEntry| {
            m.mount_point == tree || m.mount_point.starts_with(&format!("{tree}/"))
        };
        let mut pa: Vec<&String> = a.iter().map(|m| &m.mount_point).collect();
        let mut pb: Vec<&String> = b.iter().map(|m| &m.mount_point).collect();
        pa.sort();
        pb.sort();
        Ok(Mnt02 {
            before: snap(&a),
            after: snap(&b),
            shared_copy_group: relation(
                group_in(&a, "/tmp/shared", "shared"),
                group_in(&b, "/tmp/shared", "shared"),
            ),
            slave_copy_master: relation(
                group_in(&a, "/tmp/slave", "master"),
                group_in(&b, "/tmp/slave", "master"),
            ),
            tree_mounts_with_new_id: b
                .iter()
                .filter(|m| in_tree(m) && !ids_a.contains(&m.mount_id))
                .count(),
            mounts_with_reused_id: b.iter().filter(|m| ids_a.contains(&m.mount_id)).count(),
            mount_points_missing: multiset_minus(&pa, &pb),
            mount_points_added: multiset_minus(&pb, &pa),
        })
    })
}

fn mnt_02_check(cx: &mut Cx) -> CheckResult {
    let f: Mnt02 = run_sandboxed(cx)?;
    let mut e = Expect::new();
    let want: BTreeMap<String, Vec<String>> = KINDS
        .iter()
        .zip([
            t(&["shared"]),
            t(&[]),
            t(&["shared"]),
            t(&["master"]),
            t(&["unbindable"]),
        ])
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    e.eq("propagation built in the first namespace", &want, &f.before);
    // The unbindable flag is not judged: Linux 6.18 copies an unbindable mount into a
    // new namespace as private (older kernels kept the flag); the observed facts record it.
    let judged = |m: &BTreeMap<String, Vec<String>>| -> BTreeMap<String, Vec<String>> {
        m.iter()
            .filter(|(k, _)| k.as_str() != "/tmp/unbindable")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    e.eq(
        "propagation of the copies in the new namespace (same as the originals)",
        judged(&f.before),
        judged(&f.after),
    );
    e.eq(
        "copy of a shared mount is in the original's peer group (same shared:N)",
        "same group",
        f.shared_copy_group.as_str(),
    );
    e.eq(
        "copy of a slave mount has the same master (same master:N)",
        "same group",
        f.slave_copy_master.as_str(),
    );
    e.eq(
        "every copied mount has a new mount ID (mounts with a reused ID)",
        0,
        f.mounts_with_reused_id,
    );
    e.eq(
        "the new namespace has the same mount points (missing, added)",
        (Vec::<String>::new(), Vec::<String>::new()),
        (f.mount_points_missing.clone(), f.mount_points_added.clone()),
    );
    Ok(
        e.verdict("copies keep propagation and peer groups, with new IDs")
            .with_observed(json!({
                "before": f.before,
                "after": f.after,
                "unbindable_copy_tags": f.after.get("/tmp/unbindable"),
                "shared_copy_peer_group": f.shared_copy_group,
                "slave_copy_master": f.slave_copy_master,
                "mounts_with_reused_id": f.mounts_with_reused_id,
                "mount_points_missing": f.mount_points_missing,
                "mount_points_added": f.mount_points_added,
            })),
    )
}

// ---------------------------------------------------------------------------------
/// MNT-03: mount and umount events under a shared mount propagate both ways between
/// peers in two mount namespaces. mount_namespaces(7) "Shared subtrees".
pub const MNT_03: Property = Property {
    id: "MNT-03",
    area: Area::Mnt,
    title: "MS_SHARED: mounts and unmounts under a shared mount propagate both ways between peers in two mount namespaces",
    man: "mount_namespaces(7) \"Shared subtrees\"",
    prereq: Prereq::ROOTLESS.kernel(2, 6),
    coverage: "LTP:mountns01; OTH:CRIU shared_mount_propagation",
    controls: &[Control::NoNewMnt],
    calls: &[Call::Setns, Call::Unshare, Call::Mount],
    global: false,
    subject: None,
    inside: Some(mnt_03_inside),
    check: mnt_03_check,
};

/// Which way events travelled between the two namespaces (A = first, B = its copy).
#[derive(Serialize, Deserialize, Debug, PartialEq, Clone, Copy)]
struct Flow {
    mount_a_to_b: bool,
    mount_b_to_a: bool,
    umount_a_to_b: bool,
    umount_b_to_a: bool,
}

/// Build `path` with `prepare` in namespace A, copy the namespace (B), then mount and
/// unmount under `path` in each and see where the events arrive. `in_b` runs in B
/// first (e.g. to make B's copy a slave).
fn flow(
    path: &str,
    prepare: impl FnOnce() -> Result<(), StepError>,
    in_b: impl FnOnce() -> Result<(), StepError>,
) -> Result<(Flow, Vec<String>, Vec<String>), StepError> {
    prepare()?;
    let (from_a, from_b) = (format!("{path}/from-a"), format!("{path}/from-b"));
    mkdir(&from_a)?;
    mkdir(&from_b)?;
    let a = this_mntns()?;
    let b = new_mntns()?;
    in_b()?;
    let tags_b = tags(path);
    tmpfs(&from_b)?;
    enter(&a)?;
    let tags_a = tags(path);
    let mount_b_to_a = mounted(&from_b);
    tmpfs(&from_a)?;
    enter(&b)?;
    let mount_a_to_b = mounted(&from_a);
    let _ = nix::mount::umount(at(&from_b).as_str());
    enter(&a)?;
    let umount_b_to_a = mount_b_to_a && !mounted(&from_b);
    let _ = nix::mount::umount(at(&from_a).as_str());
    enter(&b)?;
    let umount_a_to_b = mount_a_to_b && !mounted(&from_a);
    enter(&a)?;
    Ok((
        Flow {
            mount_a_to_b,
            mount_b_to_a,
            umount_a_to_b,
            umount_b_to_a,
        },
        tags_a,
        tags_b,
    ))
}

#[derive(Serialize, Deserialize, Debug)]
struct FlowFacts {
    flow: Flow,
    tags_a: Vec<String>,
    tags_b: Vec<String>,
    /// Extra tags (e.g. after making B's slave copy shared too).
    extra: Vec<String>,
}

fn mnt_03_inside(cx: &Inside) -> Result<Value, StepError> {
    sandboxed(cx, || {
        let (flow, tags_a, tags_b) = flow("/tmp/s", || shared_tmpfs("/tmp/s"), || Ok(()))?;
        Ok(FlowFacts {
            flow,
            tags_a,
            tags_b,
            extra: vec![],
        })
    })
}

/// Judge the flow of events and the propagation tags of a [`flow`] experiment.
fn judge_flow(f: &FlowFacts, want: Flow, tags: (&[&str], &[&str]), summary: &str) -> Verdict {
    let mut e = Expect::new();
    e.eq(
        "propagation tags in namespace A",
        t(tags.0),
        f.tags_a.clone(),
    );
    e.eq(
        "propagation tags of the copy in namespace B",
        t(tags.1),
        f.tags_b.clone(),
    );
    e.eq("events seen across the two namespaces", want, f.flow);
    e.verdict(summary).with_observed(json!({
        "flow": f.flow,
        "tags_a": f.tags_a,
        "tags_b": f.tags_b,
        "extra": f.extra,
    }))
}

fn mnt_03_check(cx: &mut Cx) -> CheckResult {
    let f: FlowFacts = run_sandboxed(cx)?;
    Ok(judge_flow(
        &f,
        Flow {
            mount_a_to_b: true,
            mount_b_to_a: true,
            umount_a_to_b: true,
            umount_b_to_a: true,
        },
        (&["shared"], &["shared"]),
        "mounts and unmounts propagate both ways between shared peers",
    ))
}

// ---------------------------------------------------------------------------------
/// MNT-04: a slave receives events from its master and sends none back; mountinfo
/// shows `master:X`; a slave can also be made shared. mount_namespaces(7).
pub const MNT_04: Property = Property {
    id: "MNT-04",
    area: Area::Mnt,
    title: "MS_SLAVE: events flow master to slave only; mountinfo shows master:X; a slave made shared is slave and shared",
    man: "mount_namespaces(7) \"Shared subtrees\", \"MS_SLAVE\"",
    prereq: Prereq::ROOTLESS.kernel(2, 6),
    coverage: "LTP:mountns03; OTH:CRIU shared_slave_mount_children",
    controls: &[Control::NoNewMnt],
    calls: &[Call::Setns, Call::Unshare, Call::Mount],
    global: false,
    subject: None,
    inside: Some(mnt_04_inside),
    check: mnt_04_check,
};

fn mnt_04_inside(cx: &Inside) -> Result<Value, StepError> {
    sandboxed(cx, || {
        let (flow, tags_a, tags_b) = flow(
            "/tmp/m",
            || shared_tmpfs("/tmp/m"),
            || set_prop("/tmp/m", MsFlags::MS_SLAVE),
        )?;
        // The slave copy in B made shared as well: "master:X shared:Y".
        let a = this_mntns()?;
        let _b = new_mntns()?;
        set_prop("/tmp/m", MsFlags::MS_SLAVE)?;
        let master_kept = group("/tmp/m", "master");
        set_prop("/tmp/m", MsFlags::MS_SHARED)?;
        let mut extra = tags("/tmp/m");
        // How its master after make-shared stands to its master before.
        extra.push(format!(
            "master: {}",
            relation(master_kept, group("/tmp/m", "master"))
        ));
        enter(&a)?;
        Ok(FlowFacts {
            flow,
            tags_a,
            tags_b,
            extra,
        })
    })
}

fn mnt_04_check(cx: &mut Cx) -> CheckResult {
    let f: FlowFacts = run_sandboxed(cx)?;
    let v = judge_flow(
        &f,
        Flow {
            mount_a_to_b: true,
            mount_b_to_a: false,
            umount_a_to_b: true,
            umount_b_to_a: false,
        },
        (&["shared"], &["master"]),
        "events flow from master to slave only; a slave can be made shared too",
    );
    if v.outcome == crate::outcome::Outcome::Pass
        && f.extra != t(&["master", "shared", "master: same group"])
    {
        return Ok(Verdict::fail(
            "tags of a slave made shared (slave and shared, same master)",
            "[\"master\", \"shared\", \"master: same group\"]",
            format!("{:?}", f.extra),
        )
        .with_observed(v.observed));
    }
    Ok(v)
}

// ---------------------------------------------------------------------------------
/// MNT-05: a private mount neither sends nor receives events and has no optional
/// fields in mountinfo. mount_namespaces(7).
pub const MNT_05: Property = Property {
    id: "MNT-05",
    area: Area::Mnt,
    title:
        "MS_PRIVATE: no propagation either way between namespaces; no optional fields in mountinfo",
    man: "mount_namespaces(7) \"Shared subtrees\", \"MS_PRIVATE\"",
    prereq: Prereq::ROOTLESS.kernel(2, 6),
    coverage: "LTP:mountns02",
    controls: &[Control::NoNewMnt],
    calls: &[Call::Setns, Call::Unshare, Call::Mount],
    global: false,
    subject: None,
    inside: Some(mnt_05_inside),
    check: mnt_05_check,
};

fn mnt_05_inside(cx: &Inside) -> Result<Value, StepError> {
    sandboxed(cx, || {
        let (flow, tags_a, tags_b) = flow(
            "/tmp/p",
            || {
                shared_tmpfs("/tmp/p")?;
                set_prop("/tmp/p", MsFlags::MS_PRIVATE)
            },
            || Ok(()),
        )?;
        Ok(FlowFacts {
            flow,
            tags_a,
            tags_b,
            extra: vec![],
        })
    })
}

fn mnt_05_check(cx: &mut Cx) -> CheckResult {
    let f: FlowFacts = run_sandboxed(cx)?;
    Ok(judge_flow(
        &f,
        Flow {
            mount_a_to_b: false,
            mount_b_to_a: false,
            umount_a_to_b: false,
            umount_b_to_a: false,
        },
        (&[], &[]),
        "nothing propagates between private copies",
    ))
}

// ---------------------------------------------------------------------------------
/// MNT-06: an unbindable mount cannot be bind mounted (EINVAL), recursive binds prune
/// unbindable submounts, and mountinfo tags it `unbindable`. mount_namespaces(7).
pub const MNT_06: Property = Property {
    id: "MNT-06",
    area: Area::Mnt,
    title: "MS_UNBINDABLE: binding it fails with EINVAL, recursive binds leave unbindable submounts out, mountinfo says unbindable",
    man: "mount_namespaces(7) \"MS_UNBINDABLE\"",
    prereq: Prereq::ROOTLESS.kernel(2, 6),
    coverage: "LTP:~mountns04 (bind failure only); OTH:~CRIU unbindable",
    controls: &[Control::NoNewMnt],
    calls: &[Call::Mount],
    global: false,
    subject: None,
    inside: Some(mnt_06_inside),
    check: mnt_06_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Mnt06 {
    tags: Vec<String>,
    bind_errno: String,
    rbind_errno: String,
    /// After `rbind /tmp/r /tmp/r2` (/tmp/r holding `ok` and the unbindable `no`): the
    /// mount points at and under /tmp/r2.
    rbind_copy_mounts: Vec<String>,
}

fn mnt_06_inside(cx: &Inside) -> Result<Value, StepError> {
    sandboxed(cx, || {
        tmpfs("/tmp/u")?;
        set_prop("/tmp/u", MsFlags::MS_UNBINDABLE)?;
        mkdir("/tmp/t1")?;
        mkdir("/tmp/t2")?;
        let bind_errno = try_mount(Some("/tmp/u"), "/tmp/t1", MsFlags::MS_BIND);
        let rbind_errno = try_mount(
            Some("/tmp/u"),
            "/tmp/t2",
            MsFlags::MS_BIND | MsFlags::MS_REC,
        );
        tmpfs("/tmp/r")?;
        tmpfs("/tmp/r/ok")?;
        tmpfs("/tmp/r/no")?;
        set_prop("/tmp/r/no", MsFlags::MS_UNBINDABLE)?;
        bind("/tmp/r", "/tmp/r2", MsFlags::MS_REC)?;
        Ok(Mnt06 {
            tags: tags("/tmp/u"),
            bind_errno,
            rbind_errno,
            rbind_copy_mounts: mounts_under(&table(), "/tmp/r2"),
        })
    })
}

fn mnt_06_check(cx: &mut Cx) -> CheckResult {
    let f: Mnt06 = run_sandboxed(cx)?;
    let einval = "EINVAL".to_string();
    let mut e = Expect::new();
    e.eq(
        "mountinfo tags of the unbindable mount",
        t(&["unbindable"]),
        f.tags.clone(),
    );
    e.eq("bind mount of an unbindable mount", &einval, &f.bind_errno);
    e.eq(
        "recursive bind of an unbindable mount",
        &einval,
        &f.rbind_errno,
    );
    e.eq(
        "ordinary submount copied by a recursive bind",
        true,
        listed(&f.rbind_copy_mounts, "/tmp/r2/ok"),
    );
    e.eq(
        "unbindable submount copied by a recursive bind",
        false,
        listed(&f.rbind_copy_mounts, "/tmp/r2/no"),
    );
    Ok(
        e.verdict("unbindable mounts refuse binds and are pruned from recursive binds")
            .with_errno("EINVAL")
            .with_observed(json!({
                "tags": f.tags,
                "bind_errno": f.bind_errno,
                "rbind_errno": f.rbind_errno,
                "rbind_copy_mounts": f.rbind_copy_mounts,
            })),
    )
}

// ---------------------------------------------------------------------------------
/// MNT-07: a new mount under a shared parent is itself shared, in a new peer group, and
/// propagates to the parent's peers; under a private parent it is private.
/// mount_namespaces(7) NOTES.
pub const MNT_07: Property = Property {
    id: "MNT-07",
    area: Area::Mnt,
    title: "A new mount under a shared parent is shared (in a new peer group) and propagates; under a private parent it is private",
    man: "mount_namespaces(7) NOTES",
    prereq: Prereq::ROOTLESS.kernel(2, 6),
    coverage: "new",
    controls: &[Control::NoNewMnt],
    calls: &[Call::Setns, Call::Unshare, Call::Mount],
    global: false,
    subject: None,
    inside: Some(mnt_07_inside),
    check: mnt_07_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Mnt07 {
    under_shared_tags: Vec<String>,
    /// How the shared parent's peer group stands to the new mount's.
    parent_group: String,
    /// How the peer group of the copy that arrived in the other namespace stands to the
    /// new mount's.
    copy_group: String,
    under_private_tags: Vec<String>,
    /// The mount points under /tmp/s and /tmp/p in the other namespace afterwards.
    in_other_ns: Vec<String>,
}

fn mnt_07_inside(cx: &Inside) -> Result<Value, StepError> {
    sandboxed(cx, || {
        shared_tmpfs("/tmp/s")?;
        tmpfs("/tmp/p")?;
        mkdir("/tmp/s/new")?;
        mkdir("/tmp/p/new")?;
        let a = this_mntns()?;
        let b = new_mntns()?;
        enter(&a)?;
        tmpfs("/tmp/s/new")?;
        tmpfs("/tmp/p/new")?;
        let ta = table();
        enter(&b)?;
        let tb = table();
        enter(&a)?;
        let g = group_in(&ta, "/tmp/s/new", "shared");
        let mut in_other_ns = mounts_under(&tb, "/tmp/s");
        in_other_ns.extend(mounts_under(&tb, "/tmp/p"));
        in_other_ns.sort();
        Ok(Mnt07 {
            under_shared_tags: tags_in(&ta, "/tmp/s/new"),
            parent_group: relation(g, group_in(&ta, "/tmp/s", "shared")),
            copy_group: relation(g, group_in(&tb, "/tmp/s/new", "shared")),
            under_private_tags: tags_in(&ta, "/tmp/p/new"),
            in_other_ns,
        })
    })
}

fn mnt_07_check(cx: &mut Cx) -> CheckResult {
    let f: Mnt07 = run_sandboxed(cx)?;
    let mut e = Expect::new();
    e.eq(
        "tags of a new mount under a shared parent",
        t(&["shared"]),
        f.under_shared_tags.clone(),
    );
    e.eq(
        "its peer group is new (not the parent's)",
        "other group",
        f.parent_group.as_str(),
    );
    e.eq(
        "it propagated to the parent's peer in the other namespace",
        true,
        listed(&f.in_other_ns, "/tmp/s/new"),
    );
    e.eq(
        "the propagated copy is in the same new peer group",
        "same group",
        f.copy_group.as_str(),
    );
    e.eq(
        "tags of a new mount under a private parent",
        t(&[]),
        f.under_private_tags.clone(),
    );
    e.eq(
        "a mount under a private parent propagated",
        false,
        listed(&f.in_other_ns, "/tmp/p/new"),
    );
    Ok(e.verdict("mounts inherit sharing from their parent")
        .with_observed(json!({
            "under_shared_tags": f.under_shared_tags,
            "parent_peer_group_vs_new_mount": f.parent_group,
            "copy_peer_group_vs_new_mount": f.copy_group,
            "under_private_tags": f.under_private_tags,
            "mounts_in_other_ns": f.in_other_ns,
        })))
}

// ---------------------------------------------------------------------------------
/// MNT-08: propagation type transitions. mount_namespaces(7) "Propagation type
/// transitions".
pub const MNT_08: Property = Property {
    id: "MNT-08",
    area: Area::Mnt,
    title: "Propagation transitions: make-slave of a sole peer gives private; make-slave of private or unbindable changes nothing; make-shared of a slave gives slave+shared",
    man: "mount_namespaces(7) \"Propagation type transitions\"",
    prereq: Prereq::ROOTLESS.kernel(2, 6),
    coverage: "new",
    controls: &[Control::NoNewMnt],
    calls: &[Call::Mount],
    global: false,
    subject: None,
    inside: Some(mnt_08_inside),
    check: mnt_08_check,
};

fn mnt_08_inside(cx: &Inside) -> Result<Value, StepError> {
    sandboxed(cx, || {
        let mut out = BTreeMap::new();
        // Sole member of its peer group made slave: it has no master to follow.
        shared_tmpfs("/tmp/sole")?;
        set_prop("/tmp/sole", MsFlags::MS_SLAVE)?;
        out.insert("slave_of_sole_shared", tags("/tmp/sole"));
        tmpfs("/tmp/priv")?;
        set_prop("/tmp/priv", MsFlags::MS_SLAVE)?;
        out.insert("slave_of_private", tags("/tmp/priv"));
        tmpfs("/tmp/unb")?;
        set_prop("/tmp/unb", MsFlags::MS_UNBINDABLE)?;
        set_prop("/tmp/unb", MsFlags::MS_SLAVE)?;
        out.insert("slave_of_unbindable", tags("/tmp/unb"));
        // A peer made slave follows the rest of its group; made shared again it is both.
        shared_tmpfs("/tmp/grp")?;
        bind("/tmp/grp", "/tmp/peer", MsFlags::empty())?;
        set_prop("/tmp/peer", MsFlags::MS_SLAVE)?;
        out.insert("slave_of_peer", tags("/tmp/peer"));
        set_prop("/tmp/peer", MsFlags::MS_SHARED)?;
        out.insert("shared_of_slave", tags("/tmp/peer"));
        set_prop("/tmp/peer", MsFlags::MS_PRIVATE)?;
        out.insert("private_of_slave_shared", tags("/tmp/peer"));
        Ok(out)
    })
}

fn mnt_08_check(cx: &mut Cx) -> CheckResult {
    let f: BTreeMap<String, Vec<String>> = run_sandboxed(cx)?;
    let want: BTreeMap<String, Vec<String>> = [
        ("slave_of_sole_shared", t(&[])),
        ("slave_of_private", t(&[])),
        ("slave_of_unbindable", t(&["unbindable"])),
        ("slave_of_peer", t(&["master"])),
        ("shared_of_slave", t(&["master", "shared"])),
        ("private_of_slave_shared", t(&[])),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut e = Expect::new();
    for (k, v) in &want {
        e.eq(&format!("tags after {k}"), Some(v), f.get(k));
    }
    Ok(
        e.verdict("propagation transitions follow the man page table")
            .with_observed(json!({ "tags": f })),
    )
}

// ---------------------------------------------------------------------------------
/// MNT-09: bind and move follow the tables of mount_namespaces(7) "Bind (MS_BIND)
/// semantics" and "Move (MS_MOVE) semantics".
pub const MNT_09: Property = Property {
    id: "MNT-09",
    area: Area::Mnt,
    title: "Bind/move tables: bind of a slave onto a shared destination gives slave+shared; moving a mount under a shared parent fails with EINVAL; an unbindable mount moved under a private parent stays unbindable",
    man: "mount_namespaces(7) \"Bind (MS_BIND) semantics\", \"Move (MS_MOVE) semantics\"",
    prereq: Prereq::ROOTLESS.kernel(2, 6),
    coverage: "new",
    controls: &[Control::NoNewMnt],
    calls: &[Call::Mount],
    global: false,
    subject: None,
    inside: Some(mnt_09_inside),
    check: mnt_09_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Mnt09 {
    bind_slave_onto_shared: Vec<String>,
    bind_private_onto_shared: Vec<String>,
    bind_shared_onto_private: Vec<String>,
    bind_slave_onto_private: Vec<String>,
    move_from_under_shared_errno: String,
    move_unbindable_onto_private: Vec<String>,
}

fn mnt_09_inside(cx: &Inside) -> Result<Value, StepError> {
    sandboxed(cx, || {
        shared_tmpfs("/tmp/dst")?;
        tmpfs("/tmp/pdst")?;
        shared_tmpfs("/tmp/master")?;
        bind("/tmp/master", "/tmp/slave", MsFlags::empty())?;
        set_prop("/tmp/slave", MsFlags::MS_SLAVE)?;
        tmpfs("/tmp/priv")?;
        bind("/tmp/slave", "/tmp/dst/a", MsFlags::empty())?;
        bind("/tmp/priv", "/tmp/dst/b", MsFlags::empty())?;
        bind("/tmp/master", "/tmp/pdst/c", MsFlags::empty())?;
        bind("/tmp/slave", "/tmp/pdst/d", MsFlags::empty())?;
        // A mount whose parent is shared cannot be moved (mount(2) EINVAL).
        tmpfs("/tmp/dst/mv")?;
        mkdir("/tmp/pdst/mv-target")?;
        let move_from_under_shared_errno =
            try_mount(Some("/tmp/dst/mv"), "/tmp/pdst/mv-target", MsFlags::MS_MOVE);
        tmpfs("/tmp/unb")?;
        set_prop("/tmp/unb", MsFlags::MS_UNBINDABLE)?;
        mkdir("/tmp/pdst/unb")?;
        mount(
            Some(at("/tmp/unb").as_str()),
            at("/tmp/pdst/unb").as_str(),
            None::<&str>,
            MsFlags::MS_MOVE,
            None::<&str>,
        )
        .step("move the unbindable mount under a private parent")?;
        Ok(Mnt09 {
            bind_slave_onto_shared: tags("/tmp/dst/a"),
            bind_private_onto_shared: tags("/tmp/dst/b"),
            bind_shared_onto_private: tags("/tmp/pdst/c"),
            bind_slave_onto_private: tags("/tmp/pdst/d"),
            move_from_under_shared_errno,
            move_unbindable_onto_private: tags("/tmp/pdst/unb"),
        })
    })
}

fn mnt_09_check(cx: &mut Cx) -> CheckResult {
    let f: Mnt09 = run_sandboxed(cx)?;
    let mut e = Expect::new();
    e.eq(
        "bind of a slave source onto a shared destination",
        t(&["master", "shared"]),
        f.bind_slave_onto_shared.clone(),
    );
    e.eq(
        "bind of a private source onto a shared destination",
        t(&["shared"]),
        f.bind_private_onto_shared.clone(),
    );
    e.eq(
        "bind of a shared source onto a private destination",
        t(&["shared"]),
        f.bind_shared_onto_private.clone(),
    );
    e.eq(
        "bind of a slave source onto a private destination",
        t(&["master"]),
        f.bind_slave_onto_private.clone(),
    );
    e.eq(
        "move of a mount whose parent is shared",
        "EINVAL".to_string(),
        f.move_from_under_shared_errno.clone(),
    );
    e.eq(
        "move of an unbindable mount under a private parent",
        t(&["unbindable"]),
        f.move_unbindable_onto_private.clone(),
    );
    Ok(
        e.verdict("bind and move results follow the man page tables")
            .with_observed(serde_json::to_value(&f).unwrap_or_default()),
    )
}

// ---------------------------------------------------------------------------------
/// MNT-10: an unmount under a shared parent also removes the propagated copies that
/// have no submounts of their own. mount_namespaces(7) "Unmount semantics" (via
/// mount(2)/umount(2) propagation).
pub const MNT_10: Property = Property {
    id: "MNT-10",
    area: Area::Mnt,
    title: "umount under a shared parent also removes the propagated copies that have no submounts; a copy with a submount stays",
    man: "mount_namespaces(7) \"Shared subtrees\"; umount(2)",
    prereq: Prereq::ROOTLESS.kernel(2, 6),
    coverage: "LTP:~mountns01,mountns03",
    controls: &[Control::NoNewMnt],
    calls: &[Call::Setns, Call::Unshare, Call::Mount],
    global: false,
    subject: None,
    inside: Some(mnt_10_inside),
    check: mnt_10_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Mnt10 {
    /// The mount points under /tmp/s in B once A mounted x and y (x stays plain, y gets
    /// a submount in B), and after A unmounted both.
    in_b_after_mounts: Vec<String>,
    in_b_after_umounts: Vec<String>,
    umount_errno: String,
}

fn mnt_10_inside(cx: &Inside) -> Result<Value, StepError> {
    sandboxed(cx, || {
        shared_tmpfs("/tmp/s")?;
        mkdir("/tmp/s/x")?;
        mkdir("/tmp/s/y")?;
        let a = this_mntns()?;
        let b = new_mntns()?;
        enter(&a)?;
        tmpfs("/tmp/s/x")?;
        tmpfs("/tmp/s/y")?;
        enter(&b)?;
        let in_b_after_mounts = mounts_under(&table(), "/tmp/s");
        // A private submount on B's copy of y (slave first, so it does not propagate).
        set_prop("/tmp/s/y", MsFlags::MS_SLAVE)?;
        tmpfs("/tmp/s/y/sub")?;
        enter(&a)?;
        let _ = nix::mount::umount(at("/tmp/s/x").as_str());
        let umount_errno = try_umount("/tmp/s/y", nix::mount::MntFlags::empty());
        enter(&b)?;
        let r = Mnt10 {
            in_b_after_mounts,
            in_b_after_umounts: mounts_under(&table(), "/tmp/s"),
            umount_errno,
        };
        enter(&a)?;
        Ok(r)
    })
}

fn mnt_10_check(cx: &mut Cx) -> CheckResult {
    let f: Mnt10 = run_sandboxed(cx)?;
    let mut e = Expect::new();
    let (before, after) = (&f.in_b_after_mounts, &f.in_b_after_umounts);
    e.eq(
        "mounts propagated to the peer in the other namespace",
        (true, true),
        (listed(before, "/tmp/s/x"), listed(before, "/tmp/s/y")),
    );
    e.eq("umount of the original", OK, f.umount_errno.as_str());
    e.eq(
        "propagated copy without submounts after the umount (removed)",
        false,
        listed(after, "/tmp/s/x"),
    );
    e.eq(
        "propagated copy with a submount after the umount (kept)",
        true,
        listed(after, "/tmp/s/y"),
    );
    Ok(
        e.verdict("umount propagates to copies without submounts only")
            .with_observed(serde_json::to_value(&f).unwrap_or_default()),
    )
}

// ---------------------------------------------------------------------------------
/// MNT-11: mountinfo shows `propagate_from:X` next to `master:Y` when the reader's root
/// cannot reach the immediate master, X being the nearest dominant peer group it can
/// reach. mount_namespaces(7); proc(5) "/proc/pid/mountinfo".
pub const MNT_11: Property = Property {
    id: "MNT-11",
    area: Area::Mnt,
    title: "mountinfo shows propagate_from:X (with master:Y) when the immediate master is unreachable from the reader's root",
    man: "mount_namespaces(7); proc(5) \"/proc/pid/mountinfo\"",
    prereq: Prereq::ROOTLESS.kernel(2, 6),
    coverage: "new",
    controls: &[Control::NoNewMnt],
    calls: &[Call::Mount],
    global: false,
    subject: None,
    inside: Some(mnt_11_inside),
    check: mnt_11_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Mnt11 {
    /// Tags of the slave as seen from `/` and from a process chrooted in /tmp/jail.
    tags_from_root: Vec<String>,
    tags_from_jail: Vec<String>,
    /// How master:Y in each view stands to the intermediate group (/tmp/b's).
    master_from_root_vs_intermediate: String,
    master_from_jail_vs_intermediate: String,
    /// How propagate_from:X (seen from the jail) stands to the group that has a member
    /// inside the jail (/tmp/jail/a's).
    propagate_from_vs_reachable: String,
}

fn mnt_11_inside(cx: &Inside) -> Result<Value, StepError> {
    sandboxed(cx, || {
        tmpfs("/tmp/jail")?;
        shared_tmpfs("/tmp/jail/a")?;
        bind("/tmp/jail/a", "/tmp/b", MsFlags::empty())?;
        set_prop("/tmp/b", MsFlags::MS_SLAVE)?;
        set_prop("/tmp/b", MsFlags::MS_SHARED)?;
        bind("/tmp/b", "/tmp/jail/c", MsFlags::empty())?;
        set_prop("/tmp/jail/c", MsFlags::MS_SLAVE)?;
        let outer = group("/tmp/jail/a", "shared");
        let middle = group("/tmp/b", "shared");
        let from_root = table();
        let ((), jail, ()) = child_steps(
            || {
                nix::unistd::chroot(at("/tmp/jail").as_str()).step("chroot /tmp/jail")?;
                nix::unistd::chdir("/").step("chdir /")
            },
            |child, _| {
                mountinfo::read(&format!("/proc/{child}/mountinfo"))
                    .step("read the chrooted child's mountinfo")
            },
            || Ok(()),
        )?;
        Ok(Mnt11 {
            tags_from_root: tags_in(&from_root, "/tmp/jail/c"),
            tags_from_jail: tags_in(&jail, "/c"),
            master_from_root_vs_intermediate: relation(
                middle,
                group_in(&from_root, "/tmp/jail/c", "master"),
            ),
            master_from_jail_vs_intermediate: relation(middle, group_in(&jail, "/c", "master")),
            propagate_from_vs_reachable: relation(outer, group_in(&jail, "/c", "propagate_from")),
        })
    })
}

fn mnt_11_check(cx: &mut Cx) -> CheckResult {
    let f: Mnt11 = run_sandboxed(cx)?;
    let mut e = Expect::new();
    e.eq(
        "tags of the slave seen from /",
        t(&["master"]),
        f.tags_from_root.clone(),
    );
    e.eq(
        "tags of the slave seen from a root that cannot reach its master",
        t(&["master", "propagate_from"]),
        f.tags_from_jail.clone(),
    );
    e.eq(
        "master:Y names the immediate master group",
        ("same group", "same group"),
        (
            f.master_from_root_vs_intermediate.as_str(),
            f.master_from_jail_vs_intermediate.as_str(),
        ),
    );
    e.eq(
        "propagate_from:X names the dominant group reachable from that root",
        "same group",
        f.propagate_from_vs_reachable.as_str(),
    );
    Ok(
        e.verdict("propagate_from appears only where the master is out of reach")
            .with_observed(serde_json::to_value(&f).unwrap_or_default()),
    )
}

// ---------------------------------------------------------------------------------
/// MNT-12: a mount namespace owned by a new (less privileged) user namespace gets
/// inherited shared mounts as slaves: events flow in, none flow back.
/// mount_namespaces(7) "Restrictions on mount namespaces".
pub const MNT_12: Property = Property {
    id: "MNT-12",
    area: Area::Mnt,
    title: "A less privileged mount namespace (new owning user namespace) receives inherited shared mounts as slaves; nothing propagates back",
    man: "mount_namespaces(7) \"Restrictions on mount namespaces\"",
    prereq: Prereq::ROOTLESS.kernel(3, 8).config(&["CONFIG_USER_NS"]),
    coverage: "LTP:unshare01.sh (case 8); OTH:~CRIU uns flavour",
    controls: &[Control::NoNewMnt],
    calls: &[Call::Unshare, Call::Mount, Call::Getid],
    global: false,
    subject: None,
    inside: Some(mnt_12_inside),
    check: mnt_12_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Mnt12 {
    /// Tags of the copy of the shared mount in the less privileged namespace.
    tags_inside: Vec<String>,
    /// How its master stands to the original's peer group.
    master_vs_original_group: String,
    /// A mount made in the less privileged namespace showed up in the creator's.
    propagated_back: bool,
    /// A mount made by the creator afterwards showed up in the less privileged one.
    received: bool,
}

fn mnt_12_inside(cx: &Inside) -> Result<Value, StepError> {
    sandboxed(cx, || {
        shared_tmpfs("/tmp/s")?;
        mkdir("/tmp/s/from-child")?;
        mkdir("/tmp/s/from-parent")?;
        let original = group("/tmp/s", "shared");
        let ((tags_inside, master), propagated_back, received) = child_steps(
            || {
                enter_less_privileged()?;
                tmpfs("/tmp/s/from-child")?;
                Ok((tags("/tmp/s"), group("/tmp/s", "master")))
            },
            |_, _| {
                let back = mounted("/tmp/s/from-child");
                tmpfs("/tmp/s/from-parent")?;
                Ok(back)
            },
            || Ok(mounted("/tmp/s/from-parent")),
        )?;
        Ok(Mnt12 {
            tags_inside,
            master_vs_original_group: relation(original, master),
            propagated_back,
            received,
        })
    })
}

fn mnt_12_check(cx: &mut Cx) -> CheckResult {
    let f: Mnt12 = run_sandboxed(cx)?;
    let mut e = Expect::new();
    e.eq(
        "tags of the inherited shared mount in the less privileged namespace",
        t(&["master"]),
        f.tags_inside.clone(),
    );
    e.eq(
        "its master is the original peer group",
        "same group",
        f.master_vs_original_group.as_str(),
    );
    e.eq(
        "mount in the less privileged namespace propagated back",
        false,
        f.propagated_back,
    );
    e.eq(
        "mount in the creator's namespace received by the less privileged one",
        true,
        f.received,
    );
    Ok(e.verdict("shared became slave: events flow in only")
        .with_observed(serde_json::to_value(&f).unwrap_or_default()))
}

// ---------------------------------------------------------------------------------
/// MNT-13: mounts inherited by a less privileged mount namespace are locked together:
/// umount2() of one fails with EINVAL (MNT_DETACH too), overmounting works, and a
/// subtree propagated in later can be detached as a whole. mount_namespaces(7)
/// "Restrictions on mount namespaces".
pub const MNT_13: Property = Property {
    id: "MNT-13",
    area: Area::Mnt,
    title: "Mounts inherited by a less privileged mount namespace are locked: umount2 (even MNT_DETACH) fails with EINVAL; overmounting works; a propagated subtree detaches as a whole",
    man: "mount_namespaces(7) \"Restrictions on mount namespaces\"",
    prereq: Prereq::ROOTLESS.kernel(3, 12).config(&["CONFIG_USER_NS"]),
    coverage: "new",
    controls: &[Control::NoNewMnt],
    calls: &[Call::Unshare, Call::Mount, Call::Getid],
    global: false,
    subject: None,
    inside: Some(mnt_13_inside),
    check: mnt_13_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Mnt13 {
    umount_locked_errno: String,
    detach_locked_errno: String,
    detach_locked_parent_errno: String,
    overmount_errno: String,
    umount_own_overmount_errno: String,
    /// The mount points at and under /tmp/s/pt once the subtree (root and submount)
    /// was propagated in, and after the detach of its root.
    subtree_after_propagation: Vec<String>,
    umount_propagated_sub_errno: String,
    detach_propagated_root_errno: String,
    subtree_after_detach: Vec<String>,
}

fn mnt_13_inside(cx: &Inside) -> Result<Value, StepError> {
    use nix::mount::MntFlags;
    sandboxed(cx, || {
        tmpfs("/tmp/l")?;
        tmpfs("/tmp/l/sub")?;
        shared_tmpfs("/tmp/s")?;
        mkdir("/tmp/s/pt")?;
        tmpfs("/tmp/tree")?;
        tmpfs("/tmp/tree/sub")?;
        let (first, (), second) = child_steps(
            || {
                enter_less_privileged()?;
                let a = [
                    try_umount("/tmp/l/sub", MntFlags::empty()),
                    try_umount("/tmp/l/sub", MntFlags::MNT_DETACH),
                    try_umount("/tmp/l", MntFlags::MNT_DETACH),
                ];
                let over = res(mount(
                    Some("nsconform"),
                    at("/tmp/l/sub").as_str(),
                    Some("tmpfs"),
                    MsFlags::empty(),
                    Some("size=64k"),
                ));
                let un = if over == OK {
                    try_umount("/tmp/l/sub", MntFlags::empty())
                } else {
                    "not run".to_string()
                };
                Ok((a[0].clone(), a[1].clone(), a[2].clone(), over, un))
            },
            |_, _| bind("/tmp/tree", "/tmp/s/pt", MsFlags::MS_REC),
            || {
                let arrived = mounts_under(&table(), "/tmp/s/pt");
                let sub = try_umount("/tmp/s/pt/sub", MntFlags::empty());
                let root = try_umount("/tmp/s/pt", MntFlags::MNT_DETACH);
                let gone = mounts_under(&table(), "/tmp/s/pt");
                Ok((arrived, sub, root, gone))
            },
        )?;
        Ok(Mnt13 {
            umount_locked_errno: first.0,
            detach_locked_errno: first.1,
            detach_locked_parent_errno: first.2,
            overmount_errno: first.3,
            umount_own_overmount_errno: first.4,
            subtree_after_propagation: second.0,
            umount_propagated_sub_errno: second.1,
            detach_propagated_root_errno: second.2,
            subtree_after_detach: second.3,
        })
    })
}

fn mnt_13_check(cx: &mut Cx) -> CheckResult {
    let f: Mnt13 = run_sandboxed(cx)?;
    let einval = "EINVAL".to_string();
    let ok = OK.to_string();
    let mut e = Expect::new();
    e.eq(
        "umount2 of an inherited (locked) mount",
        &einval,
        &f.umount_locked_errno,
    );
    e.eq(
        "umount2(MNT_DETACH) of an inherited mount",
        &einval,
        &f.detach_locked_errno,
    );
    e.eq(
        "umount2(MNT_DETACH) of its inherited parent",
        &einval,
        &f.detach_locked_parent_errno,
    );
    e.eq("mount over an inherited mount", &ok, &f.overmount_errno);
    e.eq(
        "umount of that own overmount",
        &ok,
        &f.umount_own_overmount_errno,
    );
    let arrived = &f.subtree_after_propagation;
    e.eq(
        "a subtree propagated in later arrived",
        true,
        listed(arrived, "/tmp/s/pt") && listed(arrived, "/tmp/s/pt/sub"),
    );
    e.eq(
        "umount2 of a submount inside the propagated subtree (locked to its root)",
        &einval,
        &f.umount_propagated_sub_errno,
    );
    e.eq(
        "umount2(MNT_DETACH) of the propagated subtree's root",
        &ok,
        &f.detach_propagated_root_errno,
    );
    let left = &f.subtree_after_detach;
    e.eq(
        "the propagated subtree is gone after the detach",
        true,
        !listed(left, "/tmp/s/pt") && !listed(left, "/tmp/s/pt/sub"),
    );
    Ok(
        e.verdict("inherited mounts are locked; a propagated subtree detaches as a unit")
            .with_errno("EINVAL")
            .with_observed(serde_json::to_value(&f).unwrap_or_default()),
    )
}

// ---------------------------------------------------------------------------------
/// MNT-14: mount flags inherited by a less privileged mount namespace are locked: a
/// remount (or mount_setattr) that clears them fails with EPERM.
/// mount_namespaces(7) "Restrictions on mount namespaces"; mount_setattr(2) EPERM.
pub const MNT_14: Property = Property {
    id: "MNT-14",
    area: Area::Mnt,
    title: "MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC and atime flags inherited by a less privileged namespace are locked: clearing them (remount or mount_setattr) fails with EPERM",
    man: "mount_namespaces(7) \"Restrictions on mount namespaces\"; mount_setattr(2) ERRORS",
    prereq: Prereq::ROOTLESS.kernel(3, 17).config(&["CONFIG_USER_NS"]),
    coverage: "KST:mount/unprivileged-remount-test,mount_setattr/mount_setattr_test",
    controls: &[Control::NoNewMnt],
    calls: &[Call::Unshare, Call::Mount, Call::Getid],
    global: false,
    subject: None,
    inside: Some(mnt_14_inside),
    check: mnt_14_check,
};

/// struct mount_attr of linux/mount.h (MOUNT_ATTR_SIZE_VER0 = 32).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// MOUNT_ATTR_RDONLY of linux/mount.h.
const MOUNT_ATTR_RDONLY: u64 = 0x1;

/// The mount flags statvfs(3) reports for `path`, named as in mount(8) and
/// space-separated ("rdonly nosuid"), or the errno of statvfs.
fn mount_flags(path: &str) -> String {
    use nix::sys::statvfs::FsFlags;
    match nix::sys::statvfs::statvfs(path) {
        Err(e) => crate::probe::errno_name(e),
        Ok(s) => [
            (FsFlags::ST_RDONLY, "rdonly"),
            (FsFlags::ST_NOSUID, "nosuid"),
            (FsFlags::ST_NODEV, "nodev"),
            (FsFlags::ST_NOEXEC, "noexec"),
            (FsFlags::ST_NOATIME, "noatime"),
            (FsFlags::ST_NODIRATIME, "nodiratime"),
            (FsFlags::ST_RELATIME, "relatime"),
        ]
        .iter()
        .filter(|(f, _)| s.flags().contains(*f))
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(" "),
    }
}

fn mnt_14_inside(cx: &Inside) -> Result<Value, StepError> {
    let locked = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    sandboxed(cx, || {
        tmpfs_with("/tmp/ro", locked)?;
        tmpfs_with("/tmp/na", MsFlags::MS_NOATIME)?;
        let remount = MsFlags::MS_REMOUNT | MsFlags::MS_BIND;
        let (r, (), ()) = child_steps(
            || {
                enter_less_privileged()?;
                let mut out = Table::new();
                out.set("clear_all", try_mount(None, "/tmp/ro", remount));
                for (name, flag) in [
                    ("clear_rdonly", MsFlags::MS_RDONLY),
                    ("clear_nosuid", MsFlags::MS_NOSUID),
                    ("clear_nodev", MsFlags::MS_NODEV),
                    ("clear_noexec", MsFlags::MS_NOEXEC),
                ] {
                    out.set(name, try_mount(None, "/tmp/ro", remount | (locked - flag)));
                }
                out.set("keep_all", try_mount(None, "/tmp/ro", remount | locked));
                // A remount without atime flags keeps the current atime setting; asking
                // for relatime is the change the lock forbids.
                out.set(
                    "change_atime",
                    try_mount(None, "/tmp/na", remount | MsFlags::MS_RELATIME),
                );
                out.set(
                    "keep_atime",
                    try_mount(None, "/tmp/na", remount | MsFlags::MS_NOATIME),
                );
                let attr = MountAttr {
                    attr_set: 0,
                    attr_clr: MOUNT_ATTR_RDONLY,
                    propagation: 0,
                    userns_fd: 0,
                };
                let path = std::ffi::CString::new(at("/tmp/ro")).unwrap_or_default();
                // SAFETY: mount_setattr(2) with a valid path and a struct of the size given.
                let r = unsafe {
                    libc::syscall(
                        libc::SYS_mount_setattr,
                        libc::AT_FDCWD,
                        path.as_ptr(),
                        0,
                        &attr as *const MountAttr,
                        std::mem::size_of::<MountAttr>(),
                    )
                };
                out.set("mount_setattr_clear_rdonly", sys_res(r));
                out.set("flags_after", mount_flags(&at("/tmp/ro")));
                Ok(out)
            },
            |_, _| Ok(()),
            || Ok(()),
        )?;
        Ok(r)
    })
}

fn mnt_14_check(cx: &mut Cx) -> CheckResult {
    let f: Table = run_sandboxed(cx)?;
    let mut e = Expect::new();
    f.judge(
        &mut e,
        "remount",
        &[
            ("clear_all", "EPERM"),
            ("clear_rdonly", "EPERM"),
            ("clear_nosuid", "EPERM"),
            ("clear_nodev", "EPERM"),
            ("clear_noexec", "EPERM"),
            ("change_atime", "EPERM"),
            ("keep_all", OK),
            ("keep_atime", OK),
        ],
    );
    // mount_setattr(2) exists since 5.12.
    let has_setattr = !matches!(cx.env.version, Some(v) if v < crate::env::KernelVersion(5, 12, 0));
    if has_setattr {
        f.judge(
            &mut e,
            "mount_setattr clearing MOUNT_ATTR_RDONLY",
            &[("mount_setattr_clear_rdonly", "EPERM")],
        );
    }
    let flags = f.get("flags_after").unwrap_or("not run");
    e.that(
        "the mount is still read-only: flags_after",
        flags.split(' ').any(|f| f == "rdonly"),
        "rdonly among the flags",
        flags,
    );
    Ok(
        e.verdict("locked flags cannot be cleared in a less privileged namespace")
            .with_errno("EPERM")
            .with_observed(json!({ "errnos": f })),
    )
}

// ---------------------------------------------------------------------------------
/// MNT-15: a directory or file that is a mount point only in another mount namespace can
/// be removed or renamed (the mounts there are detached); in the namespace where it is
/// a mount point rmdir fails with EBUSY. mount_namespaces(7) NOTES (Linux 3.18).
pub const MNT_15: Property = Property {
    id: "MNT-15",
    area: Area::Mnt,
    title: "A file or directory that is a mount point only in another mount namespace can be unlinked, renamed or rmdir'd; the mounts there are detached",
    man: "mount_namespaces(7) NOTES; rmdir(2), unlink(2), rename(2) EBUSY",
    prereq: Prereq::ROOTLESS.kernel(3, 18),
    coverage: "new",
    controls: &[Control::NoNewMnt],
    calls: &[Call::Setns, Call::Unshare, Call::Mount],
    global: false,
    subject: None,
    inside: Some(mnt_15_inside),
    check: mnt_15_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Mnt15 {
    rmdir_in_same_ns_errno: String,
    rmdir_other_ns_errno: String,
    unlink_other_ns_errno: String,
    rename_other_ns_errno: String,
    /// Mount points still present in the other namespace afterwards.
    left_mounted: Vec<String>,
}

fn mnt_15_inside(cx: &Inside) -> Result<Value, StepError> {
    let io = io_res::<()>;
    sandboxed(cx, || {
        mkdir("/tmp/d")?;
        for f in ["/tmp/f1", "/tmp/f2", "/tmp/src"] {
            std::fs::write(at(f), b"x").step(&format!("create {f}"))?;
        }
        let a = this_mntns()?;
        let b = new_mntns()?;
        tmpfs("/tmp/d")?;
        mount(
            Some(at("/tmp/src").as_str()),
            at("/tmp/f1").as_str(),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .step("bind a file on /tmp/f1")?;
        mount(
            Some(at("/tmp/src").as_str()),
            at("/tmp/f2").as_str(),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .step("bind a file on /tmp/f2")?;
        let rmdir_in_same_ns_errno = io(std::fs::remove_dir(at("/tmp/d")));
        enter(&a)?;
        let rmdir_other_ns_errno = io(std::fs::remove_dir(at("/tmp/d")));
        let unlink_other_ns_errno = io(std::fs::remove_file(at("/tmp/f1")));
        let rename_other_ns_errno = io(std::fs::rename(at("/tmp/f2"), at("/tmp/f2-renamed")));
        enter(&b)?;
        let left_mounted = ["/tmp/d", "/tmp/f1", "/tmp/f2"]
            .iter()
            .filter(|p| mounted(p))
            .map(|p| p.to_string())
            .collect();
        enter(&a)?;
        Ok(Mnt15 {
            rmdir_in_same_ns_errno,
            rmdir_other_ns_errno,
            unlink_other_ns_errno,
            rename_other_ns_errno,
            left_mounted,
        })
    })
}

fn mnt_15_check(cx: &mut Cx) -> CheckResult {
    let f: Mnt15 = run_sandboxed(cx)?;
    let mut e = Expect::new();
    e.eq(
        "rmdir of a mount point in its own namespace",
        "EBUSY",
        f.rmdir_in_same_ns_errno.as_str(),
    );
    e.eq(
        "rmdir of a directory mounted on only in another namespace",
        OK,
        f.rmdir_other_ns_errno.as_str(),
    );
    e.eq(
        "unlink of a file mounted on only in another namespace",
        OK,
        f.unlink_other_ns_errno.as_str(),
    );
    e.eq(
        "rename of a file mounted on only in another namespace",
        OK,
        f.rename_other_ns_errno.as_str(),
    );
    e.eq(
        "mounts left on the removed paths in the other namespace (detached)",
        Vec::<String>::new(),
        f.left_mounted.clone(),
    );
    Ok(
        e.verdict("mount points of another namespace can be removed; their mounts are detached")
            .with_observed(serde_json::to_value(&f).unwrap_or_default()),
    )
}

// ---------------------------------------------------------------------------------
/// MNT-17: mount namespaces have ids: NS_GET_MNTNS_ID and NS_MNT_GET_INFO on nsfs fds,
/// listmount(2)/statmount(2) of another namespace by its id. uapi linux/nsfs.h,
/// linux/mount.h (Linux 6.12).
pub const MNT_17: Property = Property {
    id: "MNT-17",
    area: Area::Mnt,
    title: "Mount namespace ids: NS_GET_MNTNS_ID and NS_MNT_GET_INFO agree (EINVAL on other types); listmount/statmount reach another namespace by its id",
    man: "uapi linux/nsfs.h NS_MNT_GET_INFO; listmount(2); statmount(2)",
    prereq: Prereq::ROOTLESS.kernel(6, 12),
    coverage: "KST:filesystems/nsfs/iterate_mntns,filesystems/statmount/statmount_test_ns; LTP:statmount09,listmount01,listmount02",
    controls: &[Control::NoNewMnt, Control::Fault(Call::NsIoctl)],
    calls: &[Call::Setns, Call::NsIoctl, Call::Unshare, Call::Mount],
    global: false,
    subject: None,
    inside: Some(mnt_17_inside),
    check: mnt_17_check,
};

// NS_MNT_GET_INFO (`crate::ns`) is judged; NS_MNT_GET_NEXT/PREV are not: on a busy host
// the neighbour may be a namespace being torn down (ENOENT), and from a nested user
// namespace they answer EPERM.

/// syscall numbers (x86_64 and the generic table) and constants of linux/mount.h.
const SYS_STATMOUNT: libc::c_long = 457;
const SYS_LISTMOUNT: libc::c_long = 458;
const LSMT_ROOT: u64 = u64::MAX;
const STATMOUNT_MNT_NS_ID: u64 = 0x40;
/// Offset of `mnt_ns_id` in struct statmount.
const STATMOUNT_NS_ID_OFFSET: usize = 112;

/// struct mnt_ns_info of linux/nsfs.h.
#[repr(C)]
#[derive(Default)]
struct MntNsInfo {
    size: u32,
    nr_mounts: u32,
    mnt_ns_id: u64,
}

/// struct mnt_id_req of linux/mount.h (MNT_ID_REQ_SIZE_VER1 = 32).
#[repr(C)]
struct MntIdReq {
    size: u32,
    spare: u32,
    mnt_id: u64,
    param: u64,
    mnt_ns_id: u64,
}

fn mnt_ns_info(fd: i32) -> Result<MntNsInfo, nix::errno::Errno> {
    let mut info = MntNsInfo {
        size: 16,
        ..MntNsInfo::default()
    };
    ns::ioctl(
        fd,
        ns::NS_MNT_GET_INFO,
        &mut info as *mut MntNsInfo as usize,
    )?;
    Ok(info)
}

#[derive(Serialize, Deserialize, Debug, Default)]
struct Mnt17 {
    /// What the first call the kernel did not support answered, if any.
    unsupported: Option<String>,
    /// NS_MNT_GET_INFO's mnt_ns_id against NS_GET_MNTNS_ID (ids differ per run):
    /// `same` or `differs`.
    info_id_vs_mntns_id: String,
    /// NS_MNT_GET_INFO's nr_mounts minus the lines of the namespace's mountinfo.
    info_nr_mounts_minus_mountinfo_lines: i64,
    /// The ids listmount(2) gave for namespace B minus the lines of B's mountinfo.
    listmount_other_ns_count_minus_mountinfo_lines: i64,
    /// statmount(2)'s mnt_ns_id of a mount of B against B's NS_GET_MNTNS_ID.
    statmount_ns_id_vs_mntns_id: String,
    mntns_id_on_uts_errno: String,
}

/// `same` or `differs`, for values that differ per run (ids).
fn same(a: u64, b: u64) -> String {
    if a == b { "same" } else { "differs" }.to_string()
}

fn mnt_17_inside(cx: &Inside) -> Result<Value, StepError> {
    use crate::ns::{ioctl_u64, NS_GET_MNTNS_ID};
    use crate::probe::errno_name;
    use std::os::fd::AsRawFd;
    sandboxed(cx, || {
        let mut f = Mnt17::default();
        let a = this_mntns()?;
        let a_id = match ioctl_u64(a.as_raw_fd(), NS_GET_MNTNS_ID) {
            Ok(id) => id,
            Err(e) => {
                f.unsupported = Some(format!("NS_GET_MNTNS_ID: {}", errno_name(e)));
                return Ok(f);
            }
        };
        let uts = nsfd::open_ns("self", Ns::Uts)?;
        f.mntns_id_on_uts_errno = res(ioctl_u64(uts.as_raw_fd(), NS_GET_MNTNS_ID));
        let info_a = match mnt_ns_info(a.as_raw_fd()) {
            Ok(x) => x,
            Err(e) => {
                f.unsupported = Some(format!("NS_MNT_GET_INFO: {}", errno_name(e)));
                return Ok(f);
            }
        };
        f.info_id_vs_mntns_id = same(info_a.mnt_ns_id, a_id);
        f.info_nr_mounts_minus_mountinfo_lines = i64::from(info_a.nr_mounts) - table().len() as i64;
        let b = new_mntns()?;
        tmpfs("/tmp/extra")?;
        let b_count = table().len();
        let b_id = ioctl_u64(b.as_raw_fd(), NS_GET_MNTNS_ID).step("NS_GET_MNTNS_ID of B")?;
        enter(&a)?;
        // listmount(2) of namespace B from A.
        let req = MntIdReq {
            size: 32,
            spare: 0,
            mnt_id: LSMT_ROOT,
            param: 0,
            mnt_ns_id: b_id,
        };
        let mut ids = vec![0u64; 4096];
        // SAFETY: listmount with a valid request and an id buffer of the given length.
        let n = unsafe {
            libc::syscall(
                SYS_LISTMOUNT,
                &req as *const MntIdReq,
                ids.as_mut_ptr(),
                ids.len(),
                0,
            )
        };
        if n < 0 {
            f.unsupported = Some(format!(
                "listmount: {}",
                errno_name(nix::errno::Errno::last())
            ));
            return Ok(f);
        }
        f.listmount_other_ns_count_minus_mountinfo_lines = n as i64 - b_count as i64;
        let req = MntIdReq {
            size: 32,
            spare: 0,
            mnt_id: ids[0],
            param: STATMOUNT_MNT_NS_ID,
            mnt_ns_id: b_id,
        };
        let mut buf = vec![0u64; 512];
        // SAFETY: statmount with a valid request and a buffer of the given size in bytes.
        let r = unsafe {
            libc::syscall(
                SYS_STATMOUNT,
                &req as *const MntIdReq,
                buf.as_mut_ptr(),
                buf.len() * 8,
                0,
            )
        };
        if r < 0 {
            f.unsupported = Some(format!(
                "statmount: {}",
                errno_name(nix::errno::Errno::last())
            ));
            return Ok(f);
        }
        f.statmount_ns_id_vs_mntns_id = same(buf[STATMOUNT_NS_ID_OFFSET / 8], b_id);
        Ok(f)
    })
}

fn mnt_17_check(cx: &mut Cx) -> CheckResult {
    let f: Mnt17 = run_sandboxed(cx)?;
    // The prerequisite (kernel 6.12) holds, so a missing call is the kernel's failure,
    // whatever it answered (a seccomp filter refusing it shows here too).
    if let Some(what) = &f.unsupported {
        let errno = what.rsplit(": ").next().unwrap_or_default().to_string();
        return Ok(Verdict::fail(
            format!(
                "mount namespace ids: this kernel (6.12 or newer, which has them) answered \
                 {what}"
            ),
            "the call to work",
            what,
        )
        .with_errno(errno)
        .at("mount namespace id calls"));
    }
    let mut e = Expect::new();
    e.eq(
        "NS_GET_MNTNS_ID on a UTS namespace",
        "EINVAL",
        f.mntns_id_on_uts_errno.as_str(),
    );
    e.eq(
        "NS_MNT_GET_INFO id equals NS_GET_MNTNS_ID",
        "same",
        f.info_id_vs_mntns_id.as_str(),
    );
    e.eq(
        "NS_MNT_GET_INFO nr_mounts equals the mountinfo lines (difference)",
        0,
        f.info_nr_mounts_minus_mountinfo_lines,
    );
    e.eq(
        "listmount of another namespace by id lists its mounts (count minus mountinfo lines)",
        0,
        f.listmount_other_ns_count_minus_mountinfo_lines,
    );
    e.eq(
        "statmount STATMOUNT_MNT_NS_ID names that namespace",
        "same",
        f.statmount_ns_id_vs_mntns_id.as_str(),
    );
    Ok(
        e.verdict("mount namespace ids are consistent across nsfs, listmount and statmount")
            .with_observed(serde_json::to_value(&f).unwrap_or_default()),
    )
}

#[cfg(test)]
mod subject_tests {
    use super::*;
    use crate::outcome::Outcome;
    use crate::probe::observe::{MntSeen, Observed};

    fn observed(mount: &str, shared: Vec<String>) -> SubjectObservation {
        let mut o = SubjectObservation::default();
        o.outside.seen = Some(Observed {
            entered: vec!["mnt".into()],
            mnt: Some(MntSeen {
                target: "/tmp".into(),
                mount: mount.into(),
            }),
            ..Observed::default()
        });
        o.outside.shared_with_host = shared;
        o
    }

    #[test]
    fn mnt_01_fails_a_shared_peer_group_even_without_a_mount() {
        assert_eq!(mnt_01_subject(&observed(OK, vec![])).outcome, Outcome::Pass);
        let v = mnt_01_subject(&observed(
            "EPERM",
            vec!["/tmp/s (peer of the host's /tmp/s)".into()],
        ));
        assert_eq!(v.outcome, Outcome::Fail, "{v:?}");
        let mut leaked = observed(OK, vec![]);
        leaked.outside.observer_marker_on_host = true;
        assert_eq!(mnt_01_subject(&leaked).outcome, Outcome::Fail);
    }

    #[test]
    fn mnt_01_without_the_harness_s_eyes_is_an_error() {
        let mut o = observed(OK, vec![]);
        o.outside.seen = None;
        o.outside.seen_error = Some("EPERM".into());
        assert_eq!(mnt_01_subject(&o).outcome, Outcome::Error);
    }
}
