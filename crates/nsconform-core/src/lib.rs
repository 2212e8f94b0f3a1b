//! nsconform-core: the property catalogue, the single-threaded probe and the harness of
//! nsconform, a conformance suite for Linux namespaces (namespaces(7)).
//!
//! Layers, with imports pointing only down (checked by `module_layers` below):
//!
//! | layer | modules |
//! |---|---|
//! | leaves | [`outcome`], [`env`], [`environment`], [`mountinfo`], [`ns`], [`kernellog`], [`kmod`] |
//! | probe | [`probe`]: the single-threaded process that does all namespace work |
//! | kit | [`kit`]: the helpers the checks share (fork, facts, /proc, guard) |
//! | host, harness | [`host`], [`hostchange`], [`harness`], [`observation`], [`contain`], [`cleanup`]: starting the probe, looking from outside, what a subject changed on the host, containing untrusted programs, undoing what a run made (also after signals and SIGKILL) |
//! | spec | [`spec`]: what a property is |
//! | areas | [`properties`]`::<area>`: the properties, never importing each other |
//! | catalogue | [`catalogue`]: all properties, by ID |
//! | run | [`run`]: running properties, selections, tallies |
//! | above | [`subject`], [`rubric`], [`report`], [`formats`], [`diff`], [`grade`], [`docs`], [`checkconfig`] |

// A `Verdict` is the natural early exit of a check (`?` on any helper); it is large, but it
// only travels on the rare error path, so boxing it would buy nothing.
#![allow(clippy::result_large_err)]

pub mod catalogue;
pub mod checkconfig;
pub mod cleanup;
pub mod contain;
pub mod diff;
pub mod docs;
pub mod env;
pub mod environment;
pub mod formats;
pub mod grade;
pub mod harness;
pub mod host;
pub mod hostchange;
pub mod kernellog;
pub mod kit;
pub mod kmod;
#[cfg(test)]
mod layers;
pub mod mountinfo;
pub mod ns;
pub mod observation;
pub mod outcome;
pub mod probe;
pub mod properties;
pub mod report;
pub mod rubric;
pub mod run;
pub mod spec;
pub mod subject;

pub use catalogue::{Control, Property};

/// The probe's entry point (`nsconform __probe ...`, or a binary named
/// `nsconform-probe`): `args` are its arguments after the program name.
pub fn probe_main_with(args: Vec<String>) -> ! {
    probe::main_with(args, catalogue::inside_of)
}

/// [`probe_main_with`] with this process's arguments.
pub fn probe_main() -> ! {
    probe_main_with(std::env::args().skip(1).collect())
}
pub use outcome::{Outcome, Verdict};
