//! CR properties: clone(2), unshare(2).

use crate::catalogue::Property;

pub const ALL: &[Property] = &[];
