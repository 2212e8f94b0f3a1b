//! The properties, one module per area. Each module defines its properties as
//! `pub const` items and lists them in its `ALL`; a property's inside half, outside
//! check and negative controls sit together in its area's file.
//!
//! To add a property: write its `Property` in the area's module (ID from
//! `docs/properties.md` numbering, never reused), add it to that module's `ALL`, run
//! `cargo run -p nsconform -- docs > docs/properties.md`, and add its snapshot test.

pub mod cg;
pub mod cr;
pub mod gen;
pub mod ipc;
pub mod mnt;
pub mod net;
pub mod nsfs;
pub mod pid;
pub mod setns;
pub mod time;
pub mod user;
pub mod uts;

use crate::catalogue::Property;
use crate::probe::StepError;
use serde::Serialize;

/// Every area's properties, in catalogue order.
pub(crate) fn collect() -> Vec<Property> {
    let mut all: Vec<Property> = [
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
    ]
    .into_iter()
    .flatten()
    .copied()
    .collect();
    all.sort_by_key(|p| (p.area, p.id));
    all
}

/// Serialize an inside half's facts.
pub fn facts<T: Serialize>(t: &T) -> Result<serde_json::Value, StepError> {
    serde_json::to_value(t).map_err(|e| StepError::new("serialize facts", None, e.to_string()))
}
