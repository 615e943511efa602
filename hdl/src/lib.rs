//! `hdl`: the accelerator's hardware as Rust-HDL modules, and Verilog generation.
//!
//! One module per file, each with its tests: [`pe`] (processing element), [`array`] (the
//! weight-stationary systolic array), [`delay`] (shift registers), [`verilog`] (generation, lint).

#![warn(missing_docs)]

pub mod array;
pub mod delay;
pub mod pe;
pub mod verilog;
