//! `vitaccel`: the command-line front end (inspect, quantize, golden, synth, bench, demo).

mod commands;
mod progress;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// The version line, with the backends built in (`vitaccel --version`).
#[cfg(feature = "verilator")]
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (backends: golden, verilator)");
#[cfg(not(feature = "verilator"))]
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (backends: golden; built without the `verilator` feature)");

/// FPGA accelerator for pruned vision transformers: model tools, golden model, simulation.
#[derive(Parser)]
#[command(name = "vitaccel", version = VERSION, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Per-block shapes, parameters, MACs and selector positions of a model file.
    Inspect(commands::inspect::Args),
    /// Calibrate a float model on images and write the quantized (integer) model.
    Quantize(commands::quantize::Args),
    /// Run the golden models on an image set: top-1, kept tokens per stage, optional dumps.
    Golden(commands::golden::Args),
    /// Write a synthetic model (DeiT-Tiny, NViT-T-like) with seeded random weights.
    Synth(commands::synth::Args),
    /// Benchmarks (print figures and save them as JSON).
    Bench(commands::bench::Args),
    /// The main job: quantize the trained fixture and report float vs integer accuracy and token survival.
    Demo(commands::demo::Args),
    /// Compile a workload, run it on a backend (golden | verilator | board), check it bit for bit, report cycles.
    Run(commands::run::Args),
    /// Merge the JSON reports of `run --model --shard K/N` into the report of the whole run.
    Merge(commands::merge::Args),
    /// Generate the accelerator's Verilog, register map (C header, JSON, Markdown), ISA and manifest.
    Verilog(commands::verilog::Args),
    /// Hardware cost per module from Yosys (LUT/FF/DSP/BRAM, deepest path) and projected GOPS/DSP.
    Report(commands::report::Args),
    /// Build a board bitstream: Vivado project (KV260, ZCU102; run when Vivado is on PATH) or the open ECP5 flow (ULX3S).
    Bitstream(commands::bitstream::Args),
    /// Load a bitstream project onto a board (FPGA manager, or a Kria app).
    Board(commands::board::Args),
    /// Dump the board accelerator's registers by name.
    Regs(commands::regs::Args),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Inspect(a) => commands::inspect::run(a),
        Command::Quantize(a) => commands::quantize::run(a),
        Command::Golden(a) => commands::golden::run(a),
        Command::Synth(a) => commands::synth::run(a),
        Command::Bench(a) => commands::bench::run(a),
        Command::Demo(a) => commands::demo::run(a),
        Command::Verilog(a) => commands::verilog::run(a),
        Command::Run(a) => commands::run::run(a),
        Command::Merge(a) => commands::merge::run(a),
        Command::Report(a) => commands::report::run(a),
        Command::Bitstream(a) => commands::bitstream::run(a),
        Command::Board(a) => commands::board::run(a),
        Command::Regs(a) => commands::regs::run(a),
    }
}

/// Default output directory for reports.
pub fn out_dir() -> PathBuf {
    PathBuf::from("out")
}
