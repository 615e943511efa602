//! `hdl`: the accelerator's hardware as Rust-HDL modules, and Verilog generation.
//!
//! One module per file, each with its tests. Datapath: [`pe`], [`array`] (the weight-stationary
//! systolic array), [`gemm`] (tile sequencer, accumulator, output path), [`requant`], [`vec`]
//! (LayerNorm/softmax row engine). Units: [`dma`], [`gemm_unit`], [`vector_unit`], dispatched by
//! the [`controller`]. Memory: [`scratchpad`] (banks + crossbar), [`storage`] (RAM/FIFO leaves),
//! [`rdarb`], [`axi_master`], [`axi_lite`]. [`bus`]: the interface bundles between all of them.
//! Primitives: [`widen`], [`mul`], [`delay`]. [`top`] only wires, bundle by bundle; [`verilog`]
//! generates and lints.

#![warn(missing_docs)]
// State machines read best as one branch per state, each with its own condition inside.
#![allow(clippy::collapsible_if, clippy::collapsible_else_if)]

pub mod arith;
pub mod array;
pub mod axi_lite;
pub mod axi_master;
pub mod board;
pub mod bus;
pub mod controller;
pub mod delay;
pub mod dma;
pub mod gemm;
pub mod gemm_unit;
pub mod mul;
pub mod pe;
pub mod rdarb;
pub mod requant;
pub mod scratchpad;
pub mod select;
pub mod storage;
pub mod top;

#[cfg(test)]
mod testkit;
pub mod vec;
pub mod vector_unit;
pub mod verilog;
pub mod widen;
use spec::AccelConfig;

/// Name of the generated top-level Verilog module.
pub const TOP_MODULE: &str = "vitaccel_top";

/// Module name of [`selector_verilog`].
pub const SELECTOR_MODULE: &str = "vitaccel_select";

/// `gen::<W, BE>(cfg)` for the word width of `cfg`'s array height (a validated config).
macro_rules! per_word_width {
    ($gen:ident, $cfg:expr) => {
        match $cfg.array_rows {
            8 => $gen::<64, 8>($cfg),
            16 => $gen::<128, 16>($cfg),
            32 => $gen::<256, 32>($cfg),
            64 => $gen::<512, 64>($cfg),
            r => unreachable!("validate() admits powers of two in 8..=64, got {r}"),
        }
    };
}

/// The token selector engine (`select::SelectEngine`) of `cfg` alone, as module
/// [`SELECTOR_MODULE`]: for its hardware cost against the whole design.
pub fn selector_verilog(cfg: &AccelConfig) -> Result<String, spec::ConfigError> {
    cfg.validate()?;
    fn gen<const W: usize, const BE: usize>(cfg: &AccelConfig) -> String {
        verilog::generate(&mut select::SelectEngine::<W, BE>::new(cfg), SELECTOR_MODULE)
    }
    Ok(per_word_width!(gen, cfg))
}

/// Verilog of the whole accelerator for `cfg` (module [`TOP_MODULE`]).
///
/// Widths that are Verilog port types (`8R`-bit AXI data, `R` strobes, the vector unit's
/// `8 vec_lanes`-bit slices) are const generics, so each supported pair of array height and
/// vector lanes is one instantiation here; everything else (C, depths, banks) comes from `cfg`
/// at run time.
pub fn top_verilog(cfg: &AccelConfig) -> Result<String, spec::ConfigError> {
    cfg.validate()?;
    fn gen<const W: usize, const BE: usize, const VW: usize, const VBE: usize>(cfg: &AccelConfig) -> String {
        let v = verilog::generate(&mut top::Top::<W, BE, VW, VBE>::new(cfg), TOP_MODULE);
        verilog::rename_root_ports(&v, TOP_MODULE, &top::VERILOG_PORT_PREFIXES)
    }
    Ok(match (cfg.array_rows, cfg.vec_lanes()) {
        (8, 8) => gen::<64, 8, 64, 8>(cfg),
        (8, 4) => gen::<64, 8, 32, 4>(cfg),
        (16, 16) => gen::<128, 16, 128, 16>(cfg),
        (16, 8) => gen::<128, 16, 64, 8>(cfg),
        (16, 4) => gen::<128, 16, 32, 4>(cfg),
        (32, 32) => gen::<256, 32, 256, 32>(cfg),
        (32, 16) => gen::<256, 32, 128, 16>(cfg),
        (32, 8) => gen::<256, 32, 64, 8>(cfg),
        (32, 4) => gen::<256, 32, 32, 4>(cfg),
        (64, 64) => gen::<512, 64, 512, 64>(cfg),
        (64, 32) => gen::<512, 64, 256, 32>(cfg),
        (64, 16) => gen::<512, 64, 128, 16>(cfg),
        (64, 8) => gen::<512, 64, 64, 8>(cfg),
        (64, 4) => gen::<512, 64, 32, 4>(cfg),
        (r, l) => unreachable!("validate() admits powers of two, 4 <= vector lanes <= rows in 8..=64, got {r}, {l}"),
    })
}
