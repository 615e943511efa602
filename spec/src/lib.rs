//! `spec`: every definition shared by the golden model, the hardware generator, the simulator and
//! the host. Nothing here depends on another workspace crate; everything else depends on this.
//!
//! * [`config`]: accelerator parameters ([`AccelConfig`]) and the CONFIG_HASH.
//! * [`isa`]: the 256-bit instruction encoding.
//! * [`model`]: the NViT + SPViT model shape ([`ModelShape`]).
//! * [`numerics`]: the bit-exact integer arithmetic (requantization, rounding, LUTs, LayerNorm,
//!   softmax, the selector's keep rule and package token).
//! * [`regmap`]: the AXI4-Lite register map and its generated C/JSON/Markdown views.
//! * [`timing`]: every latency and cycle formula shared by the RTL, the cycle model and the
//!   simulator.

#![warn(missing_docs)]

pub mod config;
pub mod isa;
pub mod model;
pub mod numerics;
pub mod regmap;
pub mod timing;

pub use config::{AccelConfig, ConfigError};
pub use model::{BlockMacs, BlockShape, InputSpec, ModelShape, SelectorShape, ShapeError};
pub use numerics::Dyadic;

/// Versions of the formats the CONFIG_HASH covers besides the config itself:
/// `(numerics, instruction set, quantized-model file)`. Bump on any incompatible change.
pub const FORMAT_VERSIONS: (u32, u32, u32) = (2, 2, 1);

/// FNV-1a, 64-bit: a small, stable, dependency-free fingerprint (CONFIG_HASH, snapshots).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
