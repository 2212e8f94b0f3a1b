//! Mount namespaces: mount_namespaces(7).

use super::facts;
use crate::catalogue::{Area, CheckResult, Control, Prereq, Property};
use crate::harness::Cx;
use crate::host;
use crate::mountinfo;
use crate::outcome::{Expect, Verdict};
use crate::probe::subject::Action;
use crate::probe::{Inside, Launch, StepError, StepExt};
use crate::subject::SubjectObservation;
use nix::mount::{mount, MsFlags};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub const ALL: &[Property] = &[MNT_01];

#[derive(Serialize, Deserialize, Debug)]
struct Mnt01 {
    /// Mount points of the probe's mount table right after creation.
    at_creation: BTreeSet<String>,
    /// Whether the marker tmpfs shows in the probe's own mountinfo.
    marker_inside: bool,
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
    global: true,
    subject: Some(mnt_01_subject),
    inside: Some(mnt_01_inside),
    check: mnt_01_check,
};

fn mnt_01_inside(cx: &Inside) -> Result<Value, StepError> {
    let at_creation = mountinfo::read("/proc/self/mountinfo")
        .step("read /proc/self/mountinfo")?
        .into_iter()
        .map(|m| m.mount_point)
        .collect();
    let marker = cx.arg_str("marker")?;
    let target = cx.arg_str("target")?;
    mount(
        Some(marker),
        target,
        Some("tmpfs"),
        MsFlags::empty(),
        Some("size=64k"),
    )
    .step(&format!("mount a tmpfs on {target}"))?;
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
    let args = json!({ "marker": marker, "target": target });
    let result = cx.run_held(Launch::host().mnt(), args, |run| {
        let leaked = host::mounts().iter().any(|m| m.source == marker);
        Ok((host::ns_inode(run.host_pid.expect("held"), "mnt")?, leaked))
    });
    let leaked_after = host::mounts().iter().any(|m| m.source == marker);
    let (run, (probe_mnt, leaked_during)) = result?;
    let f: Mnt01 = run.facts()?;
    let missing: Vec<&String> = host_before.difference(&f.at_creation).collect();
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
        "mnt_ns_differs_from_host": host_mnt != probe_mnt,
        "marker_inside": f.marker_inside,
        "marker_on_host": leaked_during || leaked_after,
        "host_mounts_missing_inside": missing.len(),
        "under_shared_host_mount": shared,
    })))
}

/// MNT-01 for a subject: the probe's tmpfs is in its own mount table (read from outside)
/// and never appeared in the host's, even under a shared host directory.
fn mnt_01_subject(o: &SubjectObservation) -> Verdict {
    let mounted = matches!(o.report.mount, Action::Done(_));
    let mut e = Expect::new();
    e.eq(
        "mount namespace differs from the host's (seen from outside)",
        true,
        o.outside.ns_differs.get("mnt").copied().unwrap_or(false),
    );
    // Without capability in its mount namespace (no mapped root) the probe cannot mount:
    // the user mapping's failure (USER-26); the namespace itself is still checked.
    let refused = matches!(&o.report.mount, Action::Refused(errno) if errno == "EPERM");
    if !refused {
        e.that(
            "tmpfs mount inside",
            mounted,
            "mounted",
            format!("{:?}", o.report.mount),
        );
        e.eq(
            "tmpfs in the probe's mount table (read from outside)",
            true,
            o.outside.marker_in_probe_mounts,
        );
    }
    e.eq(
        "tmpfs in the host's mount table (propagation cut by making / rprivate?)",
        false,
        o.outside.marker_on_host,
    );
    e.verdict(if refused {
        "new mount namespace; the probe could not mount (EPERM, no capability there)"
    } else {
        "mounts made inside are invisible to the host"
    })
    .with_observed(json!({ "mounted_inside": mounted, "leaked_to_host": o.outside.marker_on_host }))
}
