//! The host after a subject: what a subject (a container, a runtime) leaves behind in the
//! host's namespaces. namespaces(7), mount_namespaces(7), sysvipc(7), cgroups(7).
//!
//! These properties judge subjects only: in catalogue mode nsconform itself is the
//! launcher, and its own hygiene is checked by its tests, not by a property.

use crate::harness::Cx;
use crate::hostchange::HostFinding;
use crate::observation::SubjectObservation;
use crate::outcome::Verdict;
use crate::spec::{Area, CheckResult, Prereq, Property};
use serde_json::json;

pub const ALL: &[Property] = &[HOST_01];

// ---------------------------------------------------------------------------------
/// HOST-01: the subject leaves the host as it found it: no mount of the host mount
/// namespace (mount_namespaces(7)), SysV or POSIX IPC object (sysvipc(7),
/// mq_overview(7)), named network namespace, link of the host network namespace, host or
/// domain name (uts_namespaces(7)) or cgroup (cgroups(7)) that the subject changed
/// remains changed, and none was changed at all. namespaces(7).
///
/// Fails when any change the harness attributes to the subject was found, restored or
/// not (a subject that needs nsconform to clean up after it would leave the mess on a
/// real host); the failure lists each one. Changes the harness cannot tie to the subject
/// (see [`crate::hostchange`] for the rules: this run's names, the paths it was given,
/// kernel-recorded creators, the subject's processes sharing the host's namespace) are
/// listed in the detail and in `observed` and give a pass: they are, as far as the kernel
/// can tell, another process's doing (a busy host creates session cgroups all the time),
/// so failing the subject for them would blame it without evidence, and an `error`
/// would blame the environment for every run on a busy host. Without a genuine probe
/// report the property fails only for attributed changes (else it shares the run's
/// failure or timeout: a subject that does nothing earns nothing).
pub const HOST_01: Property = Property {
    id: "HOST-01",
    area: Area::Host,
    title: "The subject leaves the host as it found it: no mount, IPC object, named netns, link, host name or cgroup of the host changed",
    man: "namespaces(7)",
    prereq: Prereq::ANY,
    coverage: "new",
    controls: &[],
    calls: &[],
    global: false,
    subject: Some(crate::spec::SubjectCheck::required(host_01_subject)),
    inside: None,
    check: host_01_check,
};

fn host_01_check(_cx: &mut Cx) -> CheckResult {
    Ok(Verdict::skip(
        "HOST-01 applies to subjects only (nsconform run --subject CMD): it judges what a \
         subject leaves on the host",
    ))
}

fn kinds(list: &[&HostFinding]) -> Vec<serde_json::Value> {
    list.iter()
        .map(|f| {
            let v = serde_json::to_value(&f.change).unwrap_or_default();
            let mut o = json!({
                "kind": v.get("kind").cloned().unwrap_or_default(),
                "restored": f.restored,
            });
            if let Some(c) = v.get("change") {
                o["change"] = c.clone();
            }
            o
        })
        .collect()
}

fn host_01_subject(obs: &SubjectObservation) -> Verdict {
    let (ours, others): (Vec<&HostFinding>, Vec<&HostFinding>) =
        obs.host_changes.iter().partition(|f| f.attributed);
    let observed = json!({
        "attributed": kinds(&ours),
        "unattributed": kinds(&others),
    });
    let list = |l: &[&HostFinding]| {
        l.iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    };
    if !ours.is_empty() {
        let restored = ours.iter().filter(|f| f.restored).count();
        return Verdict::fail(
            format!(
                "the subject changed the host ({} change(s), {restored} put back by nsconform)",
                ours.len()
            ),
            "the host as it was before the subject ran",
            list(&ours),
        )
        .with_observed(observed);
    }
    let note = if others.is_empty() {
        String::new()
    } else {
        format!(
            "; {} change(s) on the host during the run are not tied to the subject and were left alone: {}",
            others.len(),
            list(&others)
        )
    };
    Verdict::pass(format!(
        "nothing the subject changed on the host was found{note}"
    ))
    .with_observed(observed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hostchange::{Change, HostChange};

    fn finding(attributed: bool, restored: bool) -> HostFinding {
        HostFinding {
            change: HostChange::Mount {
                change: Change::Appeared,
                mount_id: 99,
                parent_id: 1,
                mount_point: "/mnt/leak".into(),
                fs_type: "tmpfs".into(),
                source: "leak".into(),
            },
            attributed,
            why: "test".into(),
            restored,
            restore_note: None,
        }
    }

    #[test]
    fn attributed_changes_fail_restored_or_not_and_others_only_note() {
        let mut obs = SubjectObservation::default();
        assert_eq!(host_01_subject(&obs).outcome, crate::outcome::Outcome::Pass);
        obs.host_changes = vec![finding(false, false)];
        let v = host_01_subject(&obs);
        assert_eq!(v.outcome, crate::outcome::Outcome::Pass);
        assert!(v.detail.contains("not tied to the subject"), "{}", v.detail);
        for restored in [true, false] {
            obs.host_changes = vec![finding(false, false), finding(true, restored)];
            let v = host_01_subject(&obs);
            assert_eq!(v.outcome, crate::outcome::Outcome::Fail, "{v:?}");
            let actual = v.actual.unwrap_or_default();
            assert!(actual.contains("/mnt/leak"), "{actual}");
            assert!(!actual.contains("Some("), "{actual}");
        }
    }

    #[test]
    fn without_a_report_only_attributed_changes_decide() {
        use crate::subject::{judge, Ending, SubjectRun};
        let mut run = SubjectRun {
            transport: None,
            command: vec!["x".into()],
            ending: Ending::NoReport {
                exit: Some(0),
                why: "never ran the probe".into(),
            },
            stdout_tail: String::new(),
            stderr_tail: String::new(),
            duration_ms: 1,
            observation: None,
            contained_in: String::new(),
            restored: vec![],
            host_changes: vec![finding(false, false)],
        };
        let one = |run: &SubjectRun| judge(run, &[&HOST_01])[0].verdict.clone();
        // Nothing of the subject's: it shares the run's failure (no report).
        let v = one(&run);
        assert_eq!(v.outcome, crate::outcome::Outcome::Fail);
        assert!(v.detail.contains("no genuine probe report"), "{}", v.detail);
        // A leaked mount fails it for the mount, reported or not.
        run.host_changes.push(finding(true, true));
        let v = one(&run);
        assert_eq!(v.outcome, crate::outcome::Outcome::Fail);
        assert!(v.detail.contains("changed the host"), "{}", v.detail);
        run.ending = Ending::TimedOut { after_ms: 5 };
        assert!(one(&run).detail.contains("changed the host"));
        run.host_changes.pop();
        assert_eq!(one(&run).outcome, crate::outcome::Outcome::Timeout);
    }
}
