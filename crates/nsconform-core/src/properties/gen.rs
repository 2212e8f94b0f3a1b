//! GEN properties: namespaces(7).

use crate::catalogue::Property;

pub const ALL: &[Property] = &[];
