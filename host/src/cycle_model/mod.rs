//! The cycle model: predicted cycles of every instruction ([`CycleModel::unit_cycles`], what a
//! unit's busy counter `DMA_BUSY`, `GEMM_BUSY`, `VEC_BUSY` shows for it; [`CycleModel::insn`],
//! what CYCLES shows when it runs alone) and of whole programs ([`schedule`]: the timeline, units
//! overlapping as their dependency counts allow). Every latency and formula comes from
//! `spec::timing`. The RTL is checked against it (`tests/backends/gemm_chains.rs`,
//! `tests/backends/models.rs`, `cargo run --release -p host --example calibrate`), and it
//! projects latency for arrays too large to simulate.
//!
//! * [`units`]: per-instruction costs on each unit; a GEMM's are stepped by `gemm_timeline`
//!   (weight stream, loader, streamer and rows in flight, each a small state machine).
//! * [`schedule`]: the program timeline.

mod gemm_timeline;
pub mod schedule;
pub mod units;

pub use schedule::{schedule, schedule_with, Schedule};
pub use spec::timing::control::DONE_CYCLES;
pub use spec::timing::read::{ISSUE as READ_ISSUE, OUTSTANDING as READ_OUTSTANDING};
pub use units::{BSource, CycleModel, GemmShape};
