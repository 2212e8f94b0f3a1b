//! The properties, one module per area. Each module defines its properties as
//! `pub const AREA_NN: Property` items, in ID order, each with a doc comment citing its
//! man page section, and lists them in its `ALL`; a property's inside half, outside
//! check, subject judge and negative controls sit together in its area's file.
//!
//! Area files import from [`crate::spec`], [`crate::kit`], [`crate::harness`],
//! [`crate::host`], [`crate::hostchange`], [`crate::probe`] and the leaves, never from each other: a helper two
//! areas need belongs in the kit. Tests in the catalogue module
//! enforce both the import rule and that every const is listed in its `ALL`.

pub mod cg;
pub mod cr;
pub mod gen;
pub mod host;
pub mod ipc;
pub mod mnt;
pub mod net;
pub mod nsfs;
pub mod pid;
pub mod setns;
pub mod time;
pub mod user;
pub mod uts;
