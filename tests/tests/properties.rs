//! Every property of the catalogue, in both modes, and every negative control.
//!
//! Snapshots: `tests/snapshots/properties__<ID>@<mode>.snap` hold the normalized facts
//! each check judged (no host PIDs, no inode numbers), so a kernel that behaves
//! differently shows up as a reviewable diff.

use nsconform_core::catalogue;
use nsconform_core::outcome::Outcome;
use nsconform_tests::{run_catalogue, run_one, Mode};
use rstest::rstest;
use serial_test::file_serial;

#[rstest]
#[file_serial(host_state)]
fn every_property_passes_or_skips_with_a_reason(
    #[values(Mode::Privileged, Mode::Rootless)] mode: Mode,
) {
    let Some(results) = run_catalogue(mode) else {
        return;
    };
    let mut problems = Vec::new();
    for r in &results {
        match r.verdict.outcome {
            Outcome::Pass => {}
            Outcome::Skip => assert!(
                r.verdict.detail.len() > 10,
                "{} skipped without a real reason: {:?}",
                r.id,
                r.verdict.detail
            ),
            _ => problems.push(format!(
                "{} {}: {}",
                r.id, r.verdict.outcome, r.verdict.detail
            )),
        }
    }
    assert!(
        problems.is_empty(),
        "{} mode:\n{}",
        mode.name(),
        problems.join("\n")
    );
    for r in results
        .iter()
        .filter(|r| r.verdict.outcome == Outcome::Pass)
    {
        insta::assert_yaml_snapshot!(format!("{}@{}", r.id, mode.name()), r.verdict.observed);
    }
}

#[test]
#[file_serial(host_state)]
fn every_negative_control_is_detected() {
    let mut checked = 0;
    let mut problems = Vec::new();
    for p in catalogue::all() {
        for &control in p.controls {
            let Some(r) = run_one(p, Mode::Privileged, Some(control)) else {
                return;
            };
            checked += 1;
            if r.verdict.outcome != Outcome::Fail {
                problems.push(format!(
                    "{} under control {}: {} ({})",
                    p.id,
                    control.name(),
                    r.verdict.outcome,
                    r.verdict.detail
                ));
            }
        }
    }
    assert!(checked > 0, "no property lists a negative control");
    assert!(
        problems.is_empty(),
        "controls not detected:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_area_has_properties_with_man_page_and_prerequisites() {
    for p in catalogue::all() {
        assert!(
            p.man.contains(')'),
            "{}: man page reference {:?}",
            p.id,
            p.man
        );
    }
}
