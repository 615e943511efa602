//! `golden`: the reference models of the accelerator.
//!
//! * [`float`]: the f32 forward pass of `docs/MODEL.md` (the accuracy baseline).
//! * [`int`]: the integer forward pass of `docs/NUMERICS.md`, which the RTL must equal bit for bit.
//! * [`quant`]: calibration and post-training quantization from the first to the second.
//! * [`kernels`]: the integer kernels both the model and the instruction-level simulator use.
//! * [`exec`]: the instruction-set executor, the semantics of every `spec::isa` instruction on
//!   scratchpad banks and DRAM (the golden device backend runs programs with it).
//!
//! Both forward passes expose named per-stage intermediates through [`Trace`].
//! This crate depends on `spec` only; it never sees the hardware.

#![warn(missing_docs)]

pub mod exec;
pub mod float;
pub mod image;
pub mod int;
pub mod kernels;
pub mod quant;
pub mod synth;
pub mod trace;

pub use float::FloatModel;
pub use image::Image;
pub use int::{argmax, IntModel};
pub use quant::{quantize, Calibration, QuantError, QuantReport};
pub use trace::Trace;

/// Options of a forward pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardOptions {
    /// Run the token selectors (`false`: every token survives; the selectors are skipped).
    pub prune: bool,
}

impl Default for ForwardOptions {
    fn default() -> Self {
        ForwardOptions { prune: true }
    }
}

/// Result of one forward pass.
#[derive(Clone, Debug, PartialEq)]
pub struct Output<L> {
    /// Class logits (f32, or int32 at the model's logit scale).
    pub logits: Vec<L>,
    /// Per selector stage: original indices of the live tokens after it, in sequence order
    /// (a package token has index `N0`).
    pub kept: Vec<Vec<usize>>,
    /// Live tokens in each block.
    pub live: Vec<usize>,
}
