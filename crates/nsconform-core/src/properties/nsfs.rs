//! NSFS properties: ioctl_ns(2), the nsfs UAPI.

use crate::catalogue::Property;

pub const ALL: &[Property] = &[];
