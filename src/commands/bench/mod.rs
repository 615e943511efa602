//! `vitaccel bench`: the benchmark suite. One module per benchmark (each prints its figures,
//! saves them as JSON and plots them as PNG and SVG), the setup they share ([`common`]), the
//! plots ([`plot`]), the whole suite in one folder ([`suite`]) and the results document
//! generated from that folder ([`report`]).
//!
//! `gemm`, `model`, `tokens` and `pruning` run the RTL (Verilator; each keeps that in one
//! `run_rtl`/`measure_rtl` function and [`common::rtl_device`]); `golden` runs the golden model
//! alone and `synth` runs Yosys. Plots are PNG and SVG next to each JSON file.

pub mod common;
pub mod gemm;
pub mod golden;
pub mod model;
pub mod plot;
pub mod pruning;
pub mod report;
pub mod suite;
pub mod synth;
pub mod tokens;

use anyhow::Result;

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// GEMM engine on the RTL (Verilator): a chain of linear layers, per-layer cycles, PE
    /// utilization, model agreement, simulation speed and the Verilator build time.
    Gemm(gemm::Args),
    /// A whole synthetic model (seeded random weights) on the RTL in Verilator: cycles, cycles
    /// per layer type, PE utilization, bit-exactness, wall time, and projected latency for other
    /// array sizes from the cycle model (validated against the RTL figure); JSON and a plot.
    Model(model::Args),
    /// Cycles against live tokens: a synthetic model compiled with live token counts runs on the
    /// RTL with every block at `keep` x its patch tokens (class/distillation tokens always live):
    /// cycles, cycles per layer type, and their ratio to the first `--keep` run; JSON and a plot.
    Tokens(tokens::Args),
    /// Token pruning on chip: a synthetic model with selectors before `--selectors` runs on the
    /// RTL with each selector tuned (its keep-logit bias) to keep `keep` of the tokens reaching
    /// it, plus SPViT's published per-stage ratios: kept sets and logits against golden, whole
    /// model cycles and speedup over the unpruned program, cycles per block against the
    /// proportional/quadratic expectation, selector cost; JSON and a plot.
    Pruning(pruning::Args),
    /// Hardware cost of the token selector engine: Yosys `synth_xilinx` (xc7) of the whole
    /// design and of the engine alone (`stat -json`); LUTs, flip-flops, DSP48E1, block RAM and
    /// their shares; JSON and a plot.
    Synth(synth::Args),
    /// Integer golden-model inference time on a synthetic model.
    Golden(golden::Args),
    /// The whole suite (or `--only` some pieces) into one folder: JSON, plots and `suite.json`.
    All(suite::Args),
    /// Generate the results document (Markdown) from a suite folder's JSON.
    Report(report::Args),
}

/// Run.
pub fn run(a: Args) -> Result<()> {
    match a.what {
        What::Gemm(a) => gemm::run(&a),
        What::Model(a) => model::run(&a),
        What::Tokens(a) => tokens::run(&a),
        What::Pruning(a) => pruning::run(&a),
        What::Synth(a) => synth::run(&a),
        What::Golden(a) => golden::run(&a),
        What::All(a) => {
            suite::run(&a)?;
            // Here, not in `suite`, so `report` (which reads the suite's files) and `suite` do
            // not import each other.
            match &a.report {
                Some(md) => report::write(&a.out, md),
                None => Ok(()),
            }
        }
        What::Report(a) => report::run(&a),
    }
}
