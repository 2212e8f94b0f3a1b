//! The toolkit of the checks: what more than one area needs, in one place. Area files
//! (`properties/<area>.rs`) import from here and from the layers below, never from each
//! other.
//!
//! - [`child`]: the one fork primitive ([`Fork`], [`Child`]), waits, pipes.
//! - [`fact`]: the fact vocabulary (`"ok"` or an errno name) and errno [`Table`]s.
//! - [`proc`]: `/proc/<pid>/status` via procfs, capability sets and calls.
//! - [`guard`]: the host-namespace guard of inside halves that change global state.
//! - [`nsfd`]: namespace descriptors, setns/unshare as facts, pidfd_open.
//! - [`userns`]: user namespaces a check creates itself, root maps.
//! - [`crate::ns`] (re-exported as [`ns`]): the namespace table and the nsfs ioctls.

pub mod child;
pub mod fact;
pub mod guard;
pub mod ids;
pub mod nsfd;
pub mod nsops;
pub mod proc;
pub mod userns;

pub use crate::ns;
pub use child::{Child, Exit, Fork};
pub use fact::{facts, io_errno, io_res, res, sys_res, write_res, Table, OK};
