//! The property catalogue: every documented namespace property, each defined once in its
//! area's file (`properties/<area>.rs`), collected here. The CLI, the tests, rubrics and
//! `docs/properties.md` are all derived from this list.
//!
//! The types a property is built from live in [`crate::spec`]; they are re-exported here
//! for the layers above (run, subject, grade, CLI).

pub use crate::probe::Control;
pub use crate::spec::{on_path, Area, CheckFn, CheckResult, InsideFn, Prereq, Privilege, Property, SubjectFn};
use crate::properties::{cg, cr, gen, ipc, mnt, net, nsfs, pid, setns, time, user, uts};
use std::sync::OnceLock;

/// Every area's property list, in area order.
const AREAS: [&[Property]; 12] = [
    gen::ALL,
    setns::ALL,
    cr::ALL,
    pid::ALL,
    user::ALL,
    mnt::ALL,
    uts::ALL,
    ipc::ALL,
    net::ALL,
    cg::ALL,
    time::ALL,
    nsfs::ALL,
];

/// Every property, in catalogue order (area order, then ID).
pub fn all() -> &'static [Property] {
    static ALL: OnceLock<Vec<Property>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all: Vec<Property> = AREAS.into_iter().flatten().copied().collect();
        all.sort_by_key(|p| (p.area, p.id));
        all
    })
}

/// Look a property up by its ID (case-insensitive).
pub fn find(id: &str) -> Option<&'static Property> {
    all().iter().find(|p| p.id.eq_ignore_ascii_case(id))
}

/// The inside half of a property, for the probe's dispatch.
pub fn inside_of(id: &str) -> Option<InsideFn> {
    find(id).and_then(|p| p.inside)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_well_formed_and_match_their_area() {
        let mut seen = HashSet::new();
        for p in all() {
            assert!(seen.insert(p.id), "duplicate ID {}", p.id);
            let (prefix, num) = p.id.rsplit_once('-').expect("ID has a dash");
            assert_eq!(prefix, p.area.prefix(), "{} filed under {:?}", p.id, p.area);
            assert!(
                num.len() == 2 && num.chars().all(|c| c.is_ascii_digit()),
                "{}",
                p.id
            );
            assert!(p.man.contains('('), "{} cites no man page section", p.id);
            assert!(!p.title.is_empty());
        }
    }

    #[test]
    fn controls_round_trip_by_name() {
        for c in Control::ALL {
            assert_eq!(Control::parse(c.name()), Some(c));
        }
    }
}
