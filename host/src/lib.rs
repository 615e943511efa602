//! `host`: everything between files on disk and the accelerator.
//!
//! * [`tensors`]: checked safetensors reading/writing with precise errors ([`LoadError`]).
//! * [`model_file`]: float models with NViT key names and `dim` metadata.
//! * [`qmodel_file`]: quantized models (integer tensors + JSON metadata).
//! * [`dataset`]: image sets.
//! * [`eval`]: accuracy and token-survival reports.
//! * [`program`], [`compile`]: instruction streams and packed memory images.
//! * [`check`]: the static checks of a program (fields, dependency counts, bank conflicts).
//! * [`device`]: the `Device` trait and its backends (the Verilator one with the default-on
//!   cargo feature `verilator`); [`cycle_model`]: predicted cycles and program timelines.

#![warn(missing_docs)]

pub mod check;
pub mod compile;
pub mod cycle_model;
pub mod dataset;
pub mod device;
pub mod eval;
pub mod model_compile;
pub mod model_file;
pub mod program;
pub mod qmodel_file;
pub mod tensors;
pub mod testkit;

pub use dataset::Dataset;
pub use tensors::LoadError;

use golden::{FloatModel, IntModel};
use std::path::Path;

/// A model file of either kind.
#[derive(Clone, Debug)]
pub enum ModelFile {
    /// A float model (`docs/MODEL.md`).
    Float(FloatModel),
    /// A quantized model written by `vitaccel quantize`.
    Quantized(IntModel, qmodel_file::QuantMeta),
}

impl ModelFile {
    /// The model's shape.
    pub fn shape(&self) -> &spec::ModelShape {
        match self {
            ModelFile::Float(m) => &m.shape,
            ModelFile::Quantized(m, _) => &m.shape,
        }
    }
}

/// Load a float or quantized model file (told apart by its metadata); optionally check it fits `hw`.
pub fn load_model(path: &Path, hw: Option<&spec::AccelConfig>) -> Result<ModelFile, LoadError> {
    let bytes = tensors::read_file(path)?;
    let r = tensors::TensorReader::new(path, &bytes)?;
    if r.metadata("vitaccel_quant").is_ok() {
        let (m, meta) = qmodel_file::load_bytes(path, &bytes, hw)?;
        Ok(ModelFile::Quantized(m, meta))
    } else {
        Ok(ModelFile::Float(model_file::load_bytes(path, &bytes, hw)?))
    }
}
