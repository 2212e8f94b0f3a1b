//! User namespaces: user_namespaces(7).

use super::facts;
use crate::catalogue::{Area, CheckResult, Control, Prereq, Property};
use crate::harness::Cx;
use crate::host;
use crate::outcome::{Expect, Verdict};
use crate::probe::{Inside, Launch, StepError};
use crate::subject::SubjectObservation;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::os::unix::fs::MetadataExt;

pub const ALL: &[Property] = &[USER_03, USER_26];

/// The uid/gid a privileged harness drops to for checks whose point is the difference
/// between the ids inside and outside (an id with no passwd entry, owned by nobody).
pub const SCRATCH_ID: u32 = 4242;

#[derive(Serialize, Deserialize, Debug)]
struct Ids {
    uid: u32,
    euid: u32,
    gid: u32,
    egid: u32,
    uid_map: String,
    gid_map: String,
}

fn ids() -> Ids {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    Ids {
        uid: nix::unistd::getuid().as_raw(),
        euid: nix::unistd::geteuid().as_raw(),
        gid: nix::unistd::getgid().as_raw(),
        egid: nix::unistd::getegid().as_raw(),
        uid_map: read("/proc/self/uid_map"),
        gid_map: read("/proc/self/gid_map"),
    }
}

// ---------------------------------------------------------------------------------
/// USER-03: before any mapping is written, getuid/geteuid/getgid/getegid return the
/// overflow ids of /proc/sys/kernel/overflowuid and overflowgid.
/// user_namespaces(7) "Unmapped user and group IDs".
pub const USER_03: Property = Property {
    id: "USER-03",
    area: Area::User,
    title: "In a user namespace without mappings every id reads as the overflow uid/gid (/proc/sys/kernel/overflow{u,g}id)",
    man: "user_namespaces(7) \"Unmapped user and group IDs\"",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_USER_NS"]),
    coverage: "LTP:userns01,unshare01.sh",
    controls: &[Control::NoNewUser],
    global: false,
    subject: None,
    inside: Some(user_03_inside),
    check: user_03_check,
};

fn user_03_inside(_: &Inside) -> Result<Value, StepError> {
    facts(&ids())
}

fn user_03_check(cx: &mut Cx) -> CheckResult {
    let launch = Launch {
        user: true,
        map_root: false,
        ..Launch::host()
    };
    let run = cx.run(launch, Value::Null)?;
    let f: Ids = run.facts()?;
    let (ou, og) = (cx.env.overflowuid, cx.env.overflowgid);
    let mut e = Expect::new();
    e.eq(
        "uid_map of the new user namespace (none written)",
        "",
        f.uid_map.as_str(),
    );
    let ids_seen = [f.uid, f.euid, f.gid, f.egid];
    e.eq(
        "uid, euid, gid, egid inside (the overflow ids: is the process in a new user namespace?)",
        [ou, ou, og, og],
        ids_seen,
    );
    Ok(e.verdict(&format!(
        "unmapped ids read as overflow uid {ou} / gid {og}"
    ))
    .with_observed(json!({
        "ids_equal_overflow": ids_seen == [ou, ou, og, og],
        "uid_map": f.uid_map,
        "gid_map": f.gid_map,
    })))
}

// ---------------------------------------------------------------------------------
/// USER-26: with uid_map `0 <uid> 1` the process is uid 0 inside, and a file it creates
/// is owned by `<uid>` outside. user_namespaces(7) "User and group ID mappings".
pub const USER_26: Property = Property {
    id: "USER-26",
    area: Area::User,
    title: "With the map `0 <uid> 1` the process is root inside, and files it creates belong to <uid> outside",
    man: "user_namespaces(7) \"User and group ID mappings: uid_map and gid_map\"",
    prereq: Prereq::ROOTLESS.config(&["CONFIG_USER_NS"]),
    coverage: "LTP:~userns02",
    controls: &[Control::NoUserMap, Control::NoNewUser],
    global: false,
    subject: Some(user_26_subject),
    inside: Some(user_26_inside),
    check: user_26_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct User26 {
    ids: Ids,
    /// Owner of the created file as stat(2) shows it inside.
    file_uid_inside: Option<u32>,
    /// errno of creating the file, when it failed (EOVERFLOW for an unmapped fsuid).
    create_errno: Option<String>,
}

fn user_26_inside(cx: &Inside) -> Result<Value, StepError> {
    let path = cx.workdir()?.join("created-inside");
    let (file_uid_inside, create_errno) = match std::fs::write(&path, b"x") {
        Ok(()) => (std::fs::metadata(&path).ok().map(|m| m.uid()), None),
        Err(e) => (
            None,
            e.raw_os_error()
                .map(|n| crate::probe::errno_name(nix::errno::Errno::from_raw(n))),
        ),
    };
    facts(&User26 {
        ids: ids(),
        file_uid_inside,
        create_errno,
    })
}

fn user_26_check(cx: &mut Cx) -> CheckResult {
    let mut launch = cx.prepare(Launch::host().user());
    // A privileged harness drops to a plain uid so "outside" differs from "inside".
    if launch.drop_to.is_none() && nix::unistd::geteuid().is_root() {
        launch.drop_to = Some((SCRATCH_ID, SCRATCH_ID));
    }
    let outer = launch.drop_to.map_or_else(|| cx.outer_ids().0, |(u, _)| u);
    let dir = cx.scratch_dir()?;
    if let Some((u, g)) = launch.drop_to {
        nix::unistd::chown(
            &dir,
            Some(nix::unistd::Uid::from_raw(u)),
            Some(nix::unistd::Gid::from_raw(g)),
        )
        .map_err(|e| Verdict::error(format!("chown scratch dir to {u}: {e}")))?;
    }
    launch.workdir = Some(dir.display().to_string());
    launch.hold = true;
    let host_user = host::own_ns_inode("user")?;
    let mut probe_user = None;
    let run = cx.run_exact(launch, Value::Null, |run| {
        probe_user = Some(host::ns_inode(run.host_pid.expect("held"), "user")?);
        Ok(())
    })?;
    let f: User26 = run.facts()?;
    let outside_owner = std::fs::metadata(dir.join("created-inside"))
        .ok()
        .map(|m| m.uid());
    let mut e = Expect::new();
    e.ne(
        "user namespace of the probe (a new user namespace)",
        Some(host_user),
        probe_user,
    );
    e.eq(
        "uid inside (root through the written uid_map)",
        (0, 0),
        (f.ids.uid, f.ids.euid),
    );
    e.eq(
        "uid_map inside",
        format!("0 {outer} 1"),
        squash(&f.ids.uid_map),
    );
    e.eq("file creation inside", None, f.create_errno.clone());
    e.eq("owner of the file seen inside", Some(0), f.file_uid_inside);
    e.eq(
        "owner of the file seen from the host (the real uid)",
        Some(outer),
        outside_owner,
    );
    Ok(e.verdict("root inside, the real uid outside")
        .with_observed(json!({
            "uid_inside": f.ids.uid,
            "uid_map_maps_root_to_outer_uid": squash(&f.ids.uid_map) == format!("0 {outer} 1"),
            "file_owner_inside": f.file_uid_inside,
            "file_owner_outside_is_outer_uid": outside_owner == Some(outer),
            "create_errno": f.create_errno,
        })))
}

/// Collapse the column padding of a map file line.
pub fn squash(map: &str) -> String {
    map.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// USER-26 for a subject: the probe is in a new user namespace whose uid_map (read from
/// outside) maps root inside to an id outside, and it runs as root there.
fn user_26_subject(o: &SubjectObservation) -> Verdict {
    let map = squash(&o.outside.uid_map);
    let root_mapped = map.lines().any(|l| l.split(' ').next() == Some("0"));
    let mut e = Expect::new();
    e.eq(
        "user namespace differs from the host's (seen from outside)",
        true,
        o.outside.ns_differs.get("user").copied().unwrap_or(false),
    );
    e.that(
        "uid_map maps root inside (read from outside)",
        root_mapped,
        "a line `0 <outer uid> <count>`",
        if map.is_empty() {
            "empty (no uid_map written)".to_string()
        } else {
            map.clone()
        },
    );
    e.eq("uid inside", 0, o.report.view.uid);
    e.verdict("root inside a new user namespace, mapped to an unprivileged id outside")
        .with_observed(json!({ "root_mapped": root_mapped, "uid_inside": o.report.view.uid }))
}
