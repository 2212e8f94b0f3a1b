//! SETNS properties: setns(2).

use crate::catalogue::Property;

pub const ALL: &[Property] = &[];
