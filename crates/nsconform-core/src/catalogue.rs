//! The property catalogue: every documented namespace property, each defined once in its
//! area's file (`properties/<area>.rs`), collected here. The CLI, the tests, rubrics and
//! `docs/properties.md` are all derived from this list.
//!
//! The types a property is built from live in [`crate::spec`]; they are re-exported here
//! for the layers above (run, subject, grade, CLI).

pub use crate::probe::Control;
use crate::properties::{cg, cr, gen, host, ipc, mnt, net, nsfs, pid, setns, time, user, uts};
pub use crate::spec::{
    on_path, Area, CheckFn, CheckResult, InsideFn, Prereq, Privilege, Property, SubjectCheck,
    SubjectFn,
};
use std::sync::OnceLock;

/// Every area's property list, in area order.
const AREAS: [&[Property]; 13] = [
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
    host::ALL,
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

    /// Area files as text, to check what the compiler cannot: that no const is left out.
    const SOURCES: [(&str, &str); 13] = [
        ("gen", include_str!("properties/gen.rs")),
        ("setns", include_str!("properties/setns.rs")),
        ("cr", include_str!("properties/cr.rs")),
        ("pid", include_str!("properties/pid.rs")),
        ("user", include_str!("properties/user.rs")),
        ("mnt", include_str!("properties/mnt.rs")),
        ("uts", include_str!("properties/uts.rs")),
        ("ipc", include_str!("properties/ipc.rs")),
        ("net", include_str!("properties/net.rs")),
        ("cg", include_str!("properties/cg.rs")),
        ("time", include_str!("properties/time.rs")),
        ("nsfs", include_str!("properties/nsfs.rs")),
        ("host", include_str!("properties/host.rs")),
    ];

    /// Every `pub const AREA_NN: Property` of a source, with the doc comment above it.
    fn declared(src: &str) -> Vec<(String, String)> {
        let lines: Vec<&str> = src.lines().collect();
        let mut out = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            let Some(rest) = l.strip_prefix("pub const ") else {
                continue;
            };
            let Some(name) = rest.strip_suffix(": Property = Property {") else {
                continue;
            };
            let mut doc = Vec::new();
            for d in lines[..i].iter().rev() {
                match d.trim_start().strip_prefix("///") {
                    Some(t) => doc.push(t.trim()),
                    None if d.trim_start().starts_with("#[") => {}
                    None => break,
                }
            }
            doc.reverse();
            out.push((name.replace('_', "-"), doc.join(" ")));
        }
        out
    }

    #[test]
    fn every_property_const_is_registered_sorted_and_documented() {
        let mut problems = Vec::new();
        let mut count = 0;
        for (area, src) in SOURCES {
            let consts = declared(src);
            count += consts.len();
            let ids: Vec<&str> = consts.iter().map(|(id, _)| id.as_str()).collect();
            let mut sorted = ids.clone();
            sorted.sort_unstable();
            if ids != sorted {
                problems.push(format!(
                    "properties/{area}.rs: consts not in ID order: {ids:?}"
                ));
            }
            for (id, doc) in &consts {
                if find(id).is_none() {
                    problems.push(format!(
                        "properties/{area}.rs: {id} is defined but not in the area's ALL"
                    ));
                }
                let cites = doc.contains(id.as_str())
                    && doc
                        .as_bytes()
                        .windows(3)
                        .any(|w| w[0] == b'(' && w[1].is_ascii_digit() && w[2] == b')');
                if !cites {
                    problems.push(format!(
                        "properties/{area}.rs: {id} needs a doc comment naming it and citing its man page section (e.g. `pid_namespaces(7)`)"
                    ));
                }
            }
        }
        assert_eq!(count, all().len(), "consts found vs properties registered");
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn a_fault_control_faults_a_call_the_property_lists() {
        for p in all() {
            for c in p.controls {
                if let Some(call) = c.fault() {
                    assert!(
                        p.calls.contains(&call),
                        "{}: control {} faults {}, which is not in its calls",
                        p.id,
                        c.name(),
                        call.name()
                    );
                }
            }
            let mut sorted = p.calls.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(
                sorted, p.calls,
                "{}: calls once each, in Call::ALL order",
                p.id
            );
        }
    }

    #[test]
    fn controls_round_trip_by_name() {
        for c in Control::all() {
            assert_eq!(Control::parse(c.name()), Some(c));
        }
    }
}
