//! CG properties: cgroup_namespaces(7).

use crate::catalogue::Property;

pub const ALL: &[Property] = &[];
