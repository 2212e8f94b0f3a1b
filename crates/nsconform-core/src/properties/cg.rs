//! CG properties: cgroup_namespaces(7).

use crate::harness::Cx;
use crate::host;
use crate::kit::ids::SelfMade;
use crate::kit::{facts, res, write_res, Fork, OK};
use crate::outcome::{Expect, Verdict};
use crate::probe::{Inside, Launch, StepError, StepExt};
use crate::spec::{Area, Call, CheckResult, Control, Prereq, Property};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const ALL: &[Property] = &[CG_01, CG_02, CG_03, CG_04];

const CGNS: &[&str] = &["CONFIG_CGROUPS"];

/// /proc/<who>/cgroup as hierarchy key (`<id>:<controllers>`) -> path.
pub fn cgroup_paths(who: &str) -> BTreeMap<String, String> {
    std::fs::read_to_string(format!("/proc/{who}/cgroup"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (key, path) = l.rsplit_once(':')?;
            Some((key.to_string(), path.to_string()))
        })
        .collect()
}

/// `target` as a process whose cgroup namespace root is `root` sees it: relative, with
/// `..` for each level above the root (cgroup_namespaces(7)).
pub fn relative(target: &str, root: &str) -> String {
    let t: Vec<&str> = target.split('/').filter(|s| !s.is_empty()).collect();
    let r: Vec<&str> = root.split('/').filter(|s| !s.is_empty()).collect();
    let common = t.iter().zip(&r).take_while(|(a, b)| a == b).count();
    let parts: Vec<&str> = std::iter::repeat("..")
        .take(r.len() - common)
        .chain(t[common..].iter().copied())
        .collect();
    format!("/{}", parts.join("/"))
}

// ---------------------------------------------------------------------------------
/// CG-01: after CLONE_NEWCGROUP the creator's /proc/self/cgroup shows `/` for every
/// hierarchy. cgroup_namespaces(7).
pub const CG_01: Property = Property {
    id: "CG-01",
    area: Area::Cg,
    title: "After CLONE_NEWCGROUP the creator's /proc/self/cgroup shows `/` for every hierarchy (`0::/` on v2)",
    man: "cgroup_namespaces(7)",
    prereq: Prereq::ROOTLESS.kernel(4, 6).config(CGNS),
    coverage: "OTH:~CRIU cgroupns",
    controls: &[Control::NoNewCgroup],
    calls: &[],
    global: false,
    subject: Some(crate::spec::SubjectCheck::required(cg_01_subject)),
    inside: Some(cg_01_inside),
    check: cg_01_check,
};

fn cg_01_inside(_: &Inside) -> Result<Value, StepError> {
    facts(&cgroup_paths("self"))
}

fn cg_01_check(cx: &mut Cx) -> CheckResult {
    let host_ns = host::own_ns_inode("cgroup")?;
    let (run, ns) = cx.run_held(Launch::host().cgroup(), Value::Null, |run| {
        host::ns_inode(run.host_pid.expect("held"), "cgroup")
    })?;
    let paths: BTreeMap<String, String> = run.facts()?;
    let not_root: Vec<&String> = paths
        .iter()
        .filter(|(_, p)| *p != "/")
        .map(|(k, _)| k)
        .collect();
    let mut e = Expect::new();
    e.ne("cgroup namespace of the probe (a new one)", host_ns, ns);
    e.that(
        "hierarchies whose path is not `/` inside",
        !paths.is_empty() && not_root.is_empty(),
        "none",
        format!("{not_root:?}"),
    );
    Ok(e.verdict("every hierarchy reads `/`").with_observed(json!({
        "hierarchies": paths.len(),
        "all_root": not_root.is_empty(),
        "ns_differs_from_host": ns != host_ns,
    })))
}

/// CG-01 for a subject: the probe is in a cgroup namespace of its own (seen from
/// outside), whose root is its own cgroup, so /proc/self/cgroup shows `/` everywhere.
fn cg_01_subject(o: &crate::observation::SubjectObservation) -> Verdict {
    let seen = match o.seen() {
        Ok(s) => s,
        Err(v) => return v,
    };
    let own_ns = seen.entered.iter().any(|n| n == "cgroup");
    let text = seen
        .cgroup
        .as_ref()
        .map(|c| c.probe_cgroup.clone())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let at_root = !lines.is_empty() && lines.iter().all(|l| l.ends_with(":/"));
    let mut e = Expect::new();
    e.eq(
        "cgroup namespace of the probe differs from the host's (seen by the harness; CLONE_NEWCGROUP)",
        true,
        own_ns,
    );
    if own_ns {
        e.that(
            "the probe's /proc/<pid>/cgroup, read inside its cgroup namespace, shows the root `/` for every hierarchy",
            at_root,
            "every line ends in `:/`",
            lines.join(" "),
        );
    }
    e.verdict("own cgroup namespace rooted at the probe's cgroup")
        .with_observed(json!({ "own_cgroup_ns": own_ns, "at_root": at_root }))
}

// ---------------------------------------------------------------------------------
/// CG-02: other processes' cgroup paths are relative to the reader's namespace root.
/// cgroup_namespaces(7).
pub const CG_02: Property = Property {
    id: "CG-02",
    area: Area::Cg,
    title: "Other processes' cgroup paths are shown relative to the reader's namespace root, with `/..` components for cgroups outside it",
    man: "cgroup_namespaces(7)",
    prereq: Prereq::ROOTLESS.kernel(4, 6).config(CGNS),
    coverage: "new",
    controls: &[Control::NoNewCgroup],
    calls: &[],
    global: false,
    subject: None,
    inside: Some(cg_02_inside),
    check: cg_02_check,
};

fn cg_02_inside(_: &Inside) -> Result<Value, StepError> {
    facts(&cgroup_paths("1"))
}

fn cg_02_check(cx: &mut Cx) -> CheckResult {
    let init = cgroup_paths("1");
    let (run, probe) = cx.run_held(Launch::host().cgroup(), Value::Null, |run| {
        Ok(cgroup_paths(&run.host_pid.expect("held").to_string()))
    })?;
    let seen: BTreeMap<String, String> = run.facts()?;
    let mut e = Expect::new();
    let mut outside = 0;
    for (key, root) in &probe {
        let Some(target) = init.get(key) else {
            continue;
        };
        let want = relative(target, root);
        if want.starts_with("/..") {
            outside += 1;
        }
        e.eq(
            &format!("PID 1's cgroup in hierarchy `{key}` seen inside"),
            Some(want),
            seen.get(key).cloned(),
        );
    }
    if outside == 0 {
        return Ok(Verdict::skip(
            "PID 1 is inside the probe's cgroup in every hierarchy: no cgroup outside the namespace root to show",
        ));
    }
    Ok(e.verdict("paths are relative to the namespace root")
        .with_observed(json!({"hierarchies_outside_root": outside})))
}

// ---------------------------------------------------------------------------------
/// CG-03: the namespace root is the creator's cgroup at creation and stays put when the
/// creator is migrated. cgroup_namespaces(7).
pub const CG_03: Property = Property {
    id: "CG-03",
    area: Area::Cg,
    title: "The cgroup namespace root is the creator's cgroup at creation, in v1 and v2 hierarchies, and stays put when the creator is migrated (it then reads `/../<sibling>`)",
    man: "cgroup_namespaces(7)",
    prereq: Prereq::ROOT.kernel(4, 6).config(CGNS),
    coverage: "new",
    controls: &[Control::NoNewCgroup, Control::Fault(Call::Getpid)],
    calls: &[Call::Unshare, Call::Getpid],
    global: true,
    subject: None,
    inside: Some(cg_03_inside),
    check: cg_03_check,
};

#[derive(Serialize, Deserialize, Debug)]
struct Cg03Args {
    #[serde(flatten)]
    made: SelfMade,
    #[serde(default)]
    dirs: Vec<String>,
}

#[derive(Serialize, Deserialize, Debug)]
struct Cg03Facts {
    at_creation: BTreeMap<String, String>,
    /// The mover's writes into `<dir>/b/cgroup.procs`, one per hierarchy.
    moves: Vec<String>,
    after_move: BTreeMap<String, String>,
}

fn cg_03_inside(cx: &Inside) -> Result<Value, StepError> {
    let args: Cg03Args = cx.args()?;
    let dirs = args.dirs;
    let me = nix::unistd::getpid().as_raw();
    let moved = dirs.clone();
    let mut mover = Fork::new("move the probe to the sibling cgroup")
        .gated()
        .spawn(move |_| {
            moved
                .iter()
                .map(|d| write_res(&format!("{d}/b/cgroup.procs"), me.to_string().as_bytes()))
                .collect::<Vec<_>>()
        })?;
    for d in &dirs {
        let r = write_res(&format!("{d}/a/cgroup.procs"), b"0");
        if r != OK {
            return Err(StepError::new(
                format!("move into {d}/a"),
                Some(r),
                "refused",
            ));
        }
    }
    let flags = args.made.cgroup();
    if !flags.is_empty() {
        nix::sched::unshare(flags).step("unshare(CLONE_NEWCGROUP)")?;
    }
    let at_creation = cgroup_paths("self");
    let moves: Vec<String> = mover.result()?;
    let after_move = cgroup_paths("self");
    // Leave the test cgroups so the harness can remove them.
    for d in &dirs {
        let parent = std::path::Path::new(d)
            .parent()
            .map(|p| p.display().to_string());
        if let Some(p) = parent {
            let _ = write_res(&format!("{p}/cgroup.procs"), b"0");
        }
    }
    facts(&Cg03Facts {
        at_creation,
        moves,
        after_move,
    })
}

/// Mount points of the v2 hierarchy and of one v1 hierarchy, with their /proc/self/cgroup keys.
fn hierarchies() -> Vec<(String, String)> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut out = Vec::new();
    let mut have_v1 = false;
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mp = left.split(' ').nth(4).unwrap_or("").to_string();
        let mut r = right.split(' ');
        let fs = r.next().unwrap_or("");
        let opts = r.nth(1).unwrap_or("");
        if fs == "cgroup2"
            && !out
                .iter()
                .any(|(k, _): &(String, String)| k.starts_with("0:"))
        {
            out.push(("0:".to_string(), mp));
        } else if fs == "cgroup" && !have_v1 {
            let ctrl = opts
                .split(',')
                .find(|o| !matches!(*o, "rw" | "ro") && !o.contains('='))
                .or_else(|| opts.split(',').find(|o| o.starts_with("name=")));
            if let Some(c) = ctrl {
                have_v1 = true;
                out.push((c.to_string(), mp));
            }
        }
    }
    out
}

fn cg_03_check(cx: &mut Cx) -> CheckResult {
    let hier = hierarchies();
    if hier.is_empty() {
        return Ok(Verdict::skip("no cgroup hierarchy is mounted"));
    }
    let name = format!("nsconform-cg03-{}", std::process::id());
    let mut dirs = Vec::new();
    for (_, mp) in &hier {
        let base = format!("{mp}/{name}");
        for sub in ["a", "b"] {
            if let Err(e) = std::fs::create_dir_all(format!("{base}/{sub}")) {
                cleanup(&dirs);
                return Ok(Verdict::skip(format!(
                    "cannot create cgroup {base}/{sub}: {e}"
                )));
            }
        }
        dirs.push(base);
    }
    let (l, made) = cx.self_made(Launch::host().cgroup(), false);
    let args = json!(Cg03Args {
        made: SelfMade::of(made)?,
        dirs: dirs.clone(),
    });
    let run = cx.run_exact(l, args, |_| Ok(()));
    cleanup(&dirs);
    let f: Cg03Facts = run?.facts()?;
    let mut e = Expect::new();
    let mut labels = Vec::new();
    for (key, _) in &hier {
        let pick = |paths: &BTreeMap<String, String>| -> Option<String> {
            paths
                .iter()
                .find(|(k, _)| {
                    if key == "0:" {
                        k.as_str() == "0:"
                    } else {
                        k.split(':')
                            .nth(1)
                            .is_some_and(|c| c.split(',').any(|x| x == key))
                    }
                })
                .map(|(_, v)| v.clone())
        };
        let label = if key == "0:" {
            "v2".to_string()
        } else {
            format!("v1 {key}")
        };
        e.eq(
            &format!("{label} path right after unshare"),
            Some("/".to_string()),
            pick(&f.at_creation),
        );
        e.eq(
            &format!("{label} path after migration to the sibling cgroup"),
            Some("/../b".to_string()),
            pick(&f.after_move),
        );
        labels.push(label);
    }
    Ok(
        e.verdict("the namespace root stays at the creation-time cgroup")
            .with_observed(json!({"hierarchies": labels, "moves": f.moves})),
    )
}

fn cleanup(dirs: &[String]) {
    for d in dirs {
        for sub in ["a", "b"] {
            let _ = std::fs::remove_dir(format!("{d}/{sub}"));
        }
        let _ = std::fs::remove_dir(d);
    }
}

// ---------------------------------------------------------------------------------
/// CG-04: inherited cgroup mounts show their root relative to the namespace root; an own
/// cgroup2 mount is rooted at `/`. cgroup_namespaces(7).
pub const CG_04: Property = Property {
    id: "CG-04",
    area: Area::Cg,
    title: "A cgroup mount inherited from before the namespace shows its root relative to the namespace root (`/..` when outside it) in mountinfo; a cgroup2 mount made inside is rooted at `/`",
    man: "cgroup_namespaces(7); user_namespaces(7)",
    prereq: Prereq::ROOTLESS.kernel(4, 6).config(CGNS),
    coverage: "new",
    controls: &[Control::NoNewCgroup, Control::Fault(Call::Mount)],
    calls: &[Call::Mount],
    global: false,
    subject: None,
    inside: Some(cg_04_inside),
    check: cg_04_check,
};

fn cgroup_mounts() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mut l = left.split(' ');
            let root = l.nth(3)?.to_string();
            let mp = l.next()?.to_string();
            let fs = right.split(' ').next()?;
            (fs == "cgroup" || fs == "cgroup2").then(|| (mp, root, fs.to_string()))
        })
        .collect()
}

#[derive(Serialize, Deserialize, Debug)]
struct Cg04Facts {
    /// (mount point, root, fs type) of the cgroup mounts inherited from the harness.
    inherited: Vec<(String, String, String)>,
    /// Root of the cgroup2 mount made inside, as mountinfo shows it.
    own_root: Option<String>,
    mount: String,
}

fn cg_04_inside(cx: &Inside) -> Result<Value, StepError> {
    let inherited = cgroup_mounts();
    let target = cx.workdir()?.join("cg2");
    std::fs::create_dir(&target).step("create a mount point")?;
    // Refused (EPERM) when the cgroup namespace is not owned by our user namespace.
    let mount = res(nix::mount::mount(
        Some("cgroup2"),
        &target,
        Some("cgroup2"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    ));
    let t = target.display().to_string();
    let own = cgroup_mounts()
        .into_iter()
        .find(|(mp, _, _)| *mp == t)
        .map(|m| m.1);
    facts(&Cg04Facts {
        inherited,
        own_root: own,
        mount,
    })
}

fn cg_04_check(cx: &mut Cx) -> CheckResult {
    let host_mounts = cgroup_mounts();
    let mut l = cx.prepare(Launch::host().user().mnt().cgroup());
    cx.scratch_for(&mut l)?;
    l.hold = true;
    let mut probe = BTreeMap::new();
    let f: Cg04Facts = cx
        .run_exact(l, Value::Null, |run| {
            probe = cgroup_paths(&run.host_pid.expect("held").to_string());
            Ok(())
        })?
        .facts()?;
    // The probe's cgroup per hierarchy (host view), by mount point.
    let mut e = Expect::new();
    let mut outside = 0;
    let inherited = &f.inherited;
    for (mp, _, fs) in &host_mounts {
        let Some(path) = mount_cgroup(&probe, mp, fs) else {
            continue;
        };
        let want = relative("/", &path);
        if want != "/" {
            outside += 1;
        }
        let got = inherited.iter().find(|m| &m.0 == mp).map(|m| m.1.clone());
        e.eq(
            &format!("root of inherited {fs} mount {mp} inside"),
            Some(want),
            got,
        );
    }
    e.eq("mount cgroup2 inside", OK, f.mount.as_str());
    e.eq(
        "root of the cgroup2 mount made inside",
        Some("/".to_string()),
        f.own_root.clone(),
    );
    if outside == 0 {
        return Ok(Verdict::skip(
            "the probe is in the root cgroup of every mounted hierarchy: no inherited mount root lies outside the namespace",
        ));
    }
    Ok(
        e.verdict("inherited mount roots are relative; the own mount is rooted at /")
            .with_observed(json!({"inherited_outside_root": outside, "own_root": f.own_root})),
    )
}

/// The probe's cgroup in the hierarchy mounted at `mp` (host view), from its
/// /proc/PID/cgroup and the mount's super options.
fn mount_cgroup(probe: &BTreeMap<String, String>, mp: &str, fs: &str) -> Option<String> {
    if fs == "cgroup2" {
        return probe.get("0:").cloned();
    }
    let ctrl = mp.rsplit('/').next()?;
    probe
        .iter()
        .find(|(k, _)| {
            k.split(':').nth(1).is_some_and(|c| {
                c.split(',')
                    .any(|x| x == ctrl || x.strip_prefix("name=") == Some(ctrl))
            })
        })
        .map(|(_, v)| v.clone())
}
