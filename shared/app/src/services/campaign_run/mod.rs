//! A campaign run: what the campaign function does when a schedule fires.
//!
//! A firing is a run, named by the campaign and the scheduled time, so every copy of the same
//! firing (Lambda's retries, Scheduler's repeats, continuations, wake-ups) works on the same
//! run. The files, from the top (each imports only those below it):
//!
//! - [`runner`]: a firing from start to its outcome: the run started or resumed, its audience
//!   walked a page at a time, then its held messages and its end;
//! - [`walk`]: the audience walked a page at a time, the next page set up while one is sent;
//! - [`held`]: messages held for credits: sent after a top-up, or the run paused and woken;
//! - [`claims`]: a page's messages claimed and sent, paced, recorded in batches;
//! - [`run`]: what a copy of a run works with ([`run::Run`]), passed to each phase;
//! - [`pages`]: a page claimed, its lease kept while it is sent, taken over when its copy died;
//! - [`end`]: how a run ends (finished, stopped, cancelled), waiting out queued messages, and
//!   the continuation of a run out of time;
//! - [`settlement`]: the run's credits settled once;
//! - [`reserve`]: a page's credits reserved as far as they go;
//! - [`tally`]: the run's messages counted;
//! - [`plan`]: the campaign prepared and one message planned per person and channel;
//! - [`types`]: what they all share.

mod claims;
mod end;
mod held;
mod pages;
pub mod plan;
mod reserve;
mod run;
mod runner;
mod settlement;
mod tally;
mod types;
mod walk;

pub use runner::fire;
pub use types::{FireEvent, FireOutcome, IgnoreReason, Limits, PAGE, RunError, wake_schedule_name};
