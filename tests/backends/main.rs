//! The cross-crate suite, written once and run on every backend that is built: the golden ISA
//! simulator always, the Verilator model of the RTL with the `verilator` feature (the default).
//! Each test of a suite module runs once per backend as `<suite>::<backend>::<test>` (e.g.
//! `models::verilator::fixture_images_are_exact`), so a failure names its backend and a filter
//! selects one (`cargo test --test backends -- ::golden_isa::`). Tests that need no backend (compile
//! errors) sit at the top of their suite. The list of backends is `common::on_every_backend!`.
//!
//! Suites: GEMM chains (`gemm_chains`), whole models (`models`), token pruning (`pruning`), live
//! token counts (`live_tokens`), the selector instructions alone (`select_ops`) and bad programs
//! (`error_parity`); faults of the emulated board (`board_faults`); the RTL in Icarus Verilog
//! against Verilator (`icarus_vs_verilator`). One test binary, because every binary links the Verilator models.
//!
//! `PROPTEST_CASES` sets every property test's case count and `VITACCEL_COSIM_IMAGES` the number
//! of fixture images on the RTL (the heavy tier, `scripts/regress.sh`, raises both).

#[macro_use]
mod common;
#[cfg(all(feature = "verilator", target_os = "linux"))]
mod emulated;

#[cfg(all(feature = "verilator", target_os = "linux"))]
mod board_faults;

mod error_parity;
mod gemm_chains;
#[cfg(feature = "verilator")]
mod icarus_vs_verilator;
mod live_tokens;
mod models;
mod pruning;
mod select_ops;
