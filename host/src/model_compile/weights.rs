//! Weights and parameters rearranged for the scratchpad plan (padded heads) and packed as the
//! hardware reads them.

use golden::kernels::QLinear;
use ndarray::Array2;
use spec::numerics::{Dyadic, LayerNormParams};

/// `l` with output channel `src` moved to channel `dst` of `n_out`, for every `(src, dst)` in
/// `pairs` (channels not written are zero weights, zero bias, zero multiplier: they compute 0).
pub(super) fn scatter_outputs(l: &QLinear, pairs: &[(usize, usize)], n_out: usize) -> QLinear {
    let k = l.in_dim();
    let mut w = Array2::<i8>::zeros((n_out, k));
    let mut bias = vec![0i32; n_out];
    let mut requant = vec![Dyadic { m: 0, s: 0 }; n_out];
    for &(src, dst) in pairs {
        w.row_mut(dst).assign(&l.w.row(src));
        bias[dst] = l.bias[src];
        requant[dst] = l.requant[src];
    }
    QLinear { w, bias, requant }
}

/// A linear layer whose input channel `src` is read from position `dst` of `k_out` (zero weights
/// elsewhere).
pub(super) fn scatter_inputs(l: &QLinear, pairs: &[(usize, usize)], k_out: usize) -> QLinear {
    let mut w = Array2::<i8>::zeros((l.out_dim(), k_out));
    for &(src, dst) in pairs {
        w.column_mut(dst).assign(&l.w.column(src));
    }
    QLinear { w, bias: l.bias.clone(), requant: l.requant.clone() }
}

/// LayerNorm parameters as the vector unit reads them: `n` int16 gamma, then (word aligned) `n`
/// int32 beta, little-endian.
pub(super) fn ln_bytes(p: &LayerNormParams, r: usize) -> Vec<u8> {
    let n = p.gamma.len();
    let g_words = (2 * n).div_ceil(r);
    let b_words = (4 * n).div_ceil(r);
    let mut out = vec![0u8; (g_words + b_words) * r];
    for (i, g) in p.gamma.iter().enumerate() {
        out[2 * i..2 * i + 2].copy_from_slice(&g.to_le_bytes());
    }
    for (i, b) in p.beta.iter().enumerate() {
        let o = g_words * r + 4 * i;
        out[o..o + 4].copy_from_slice(&b.to_le_bytes());
    }
    out
}
