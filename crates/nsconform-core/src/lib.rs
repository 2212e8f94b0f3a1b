//! nsconform-core: the property catalogue, the single-threaded probe and the harness of
//! nsconform, a conformance suite for Linux namespaces (namespaces(7)).
//!
//! - [`catalogue`]: every property, defined once ([`properties`] holds them by area).
//! - [`probe`]: code that runs inside the namespaces, in the `nsconform-probe` binary.
//! - [`harness`]: code that starts the probe and judges from outside.
//! - [`report`]: the run report and its renderings.

// A `Verdict` is the natural early exit of a check (`?` on any helper); it is large, but it
// only travels on the rare error path, so boxing it would buy nothing.
#![allow(clippy::result_large_err)]

pub mod catalogue;
pub mod checkconfig;
pub mod diff;
pub mod docs;
pub mod env;
pub mod formats;
pub mod grade;
pub mod harness;
pub mod host;
pub mod mountinfo;
pub mod outcome;
pub mod probe;
pub mod properties;
pub mod report;
pub mod rubric;
pub mod subject;

pub use catalogue::{Control, Property};
pub use outcome::{Outcome, Verdict};
