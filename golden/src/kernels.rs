//! Integer kernels of the golden model. The accelerator's functional simulator (the `golden`
//! device backend) executes instructions with exactly these functions.

use ndarray::{Array2, ArrayView2};
use spec::numerics::{self, Dyadic, LayerNormParams, LUT_SIZE};

/// A quantized linear layer: int8 weights `[out, in]` (symmetric, per output channel), int32 bias
/// at the accumulator scale, and one requantization multiplier per output channel.
#[derive(Clone, Debug, PartialEq)]
pub struct QLinear {
    /// Weights `[out, in]`.
    pub w: Array2<i8>,
    /// Bias `[out]`, `|bias| <= 2^30`.
    pub bias: Vec<i32>,
    /// Output requantization `[out]`.
    pub requant: Vec<Dyadic>,
}

impl QLinear {
    /// Output width.
    pub fn out_dim(&self) -> usize {
        self.w.nrows()
    }
    /// Input width (reduction length K).
    pub fn in_dim(&self) -> usize {
        self.w.ncols()
    }
    /// Accumulators `x W^T + bias` for `x: [n, in]`, int32 wrapping like the hardware's
    /// (`spec::isa`: a bias near the int32 limits wraps, it does not panic).
    pub fn acc(&self, x: ArrayView2<i8>) -> Array2<i32> {
        let mut acc = matmul_nt(x, self.w.view());
        for mut row in acc.rows_mut() {
            for (a, &b) in row.iter_mut().zip(&self.bias) {
                *a = a.wrapping_add(b);
            }
        }
        acc
    }
    /// `requant_i8(acc)` per channel.
    pub fn forward_i8(&self, x: ArrayView2<i8>) -> Array2<i8> {
        requant_cols(&self.acc(x), &self.requant, numerics::requant_i8)
    }
    /// `requant_i16(acc)` per channel (contributions to the residual stream).
    pub fn forward_i16(&self, x: ArrayView2<i8>) -> Array2<i16> {
        requant_cols(&self.acc(x), &self.requant, numerics::requant_i16)
    }
}

/// `A B^T` with int32 accumulation for `A: [m, k]`, `B: [n, k]` (both row-major in `k`).
/// Operands may be int8 or uint8 (softmax probabilities).
pub fn matmul_nt<A, B>(a: ArrayView2<A>, b: ArrayView2<B>) -> Array2<i32>
where
    A: Copy + Into<i32>,
    B: Copy + Into<i32>,
{
    assert_eq!(a.ncols(), b.ncols(), "reduction lengths differ");
    let a = a.as_standard_layout();
    let b = b.as_standard_layout();
    let k = a.ncols();
    let (sa, sb) = (a.as_slice().expect("standard"), b.as_slice().expect("standard"));
    let mut out = Array2::<i32>::zeros((a.nrows(), b.nrows()));
    if k == 0 {
        return out;
    }
    for (i, arow) in sa.chunks_exact(k).enumerate() {
        for (j, brow) in sb.chunks_exact(k).enumerate() {
            out[[i, j]] = dot(arow, brow);
        }
    }
    out
}

#[inline]
fn dot<A: Copy + Into<i32>, B: Copy + Into<i32>>(a: &[A], b: &[B]) -> i32 {
    a.iter().zip(b).map(|(&x, &y)| x.into() * y.into()).sum()
}

/// Requantize each column `c` of an accumulator matrix with `d[c]`.
pub fn requant_cols<T: Copy + Default>(acc: &Array2<i32>, d: &[Dyadic], f: fn(i64, Dyadic) -> T) -> Array2<T> {
    assert_eq!(acc.ncols(), d.len());
    let mut out = Array2::<T>::default(acc.dim());
    for (orow, arow) in out.rows_mut().into_iter().zip(acc.rows()) {
        for ((o, &a), &dd) in orow.into_iter().zip(arow).zip(d) {
            *o = f(a as i64, dd);
        }
    }
    out
}

/// Requantize a whole matrix with one multiplier.
pub fn requant_all<T: Copy + Default>(acc: &Array2<i32>, d: Dyadic, f: fn(i64, Dyadic) -> T) -> Array2<T> {
    acc.mapv(|a| f(a as i64, d))
}

/// Apply an int8 -> int8 table elementwise.
pub fn lut_i8(x: &Array2<i8>, lut: &[i8; LUT_SIZE]) -> Array2<i8> {
    x.mapv(|v| lut[numerics::lut_index(v)])
}

/// Row-wise integer LayerNorm (int16 -> int8).
pub fn layernorm(x: ArrayView2<i16>, p: &LayerNormParams) -> Array2<i8> {
    let mut out = Array2::<i8>::zeros(x.dim());
    let mut row = vec![0i16; x.ncols()];
    for (t, mut o) in out.rows_mut().into_iter().enumerate() {
        row.iter_mut().zip(x.row(t)).for_each(|(r, &v)| *r = v);
        numerics::layernorm_row(&row, p, o.as_slice_mut().expect("standard"));
    }
    out
}

/// Row-wise integer softmax (int8 scores -> U0F8 probabilities).
pub fn softmax(x: &Array2<i8>, exp: &[u16; LUT_SIZE]) -> Array2<u8> {
    let mut out = Array2::<u8>::zeros(x.dim());
    for (xr, mut o) in x.rows().into_iter().zip(out.rows_mut()) {
        numerics::softmax_row(xr.as_slice().expect("standard"), exp, o.as_slice_mut().expect("standard"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matmul_matches_triple_loop(m in 1usize..9, n in 1usize..9, k in 0usize..40, seed in any::<u64>()) {
            let mut rng = crate::synth::Rng::new(seed);
            let a = Array2::from_shape_simple_fn((m, k), || rng.next_u64() as i8);
            let b = Array2::from_shape_simple_fn((n, k), || rng.next_u64() as i8);
            let c = matmul_nt(a.view(), b.view());
            for i in 0..m {
                for j in 0..n {
                    let mut s = 0i32;
                    for t in 0..k { s += a[[i, t]] as i32 * b[[j, t]] as i32; }
                    prop_assert_eq!(c[[i, j]], s);
                }
            }
        }
    }

    #[test]
    fn matmul_accepts_transposed_views_and_unsigned() {
        let a = Array2::from_shape_vec((2, 3), vec![255u8, 0, 1, 2, 3, 4]).unwrap();
        let b = Array2::from_shape_vec((3, 2), vec![-128i8, 1, 2, 3, 4, 5]).unwrap();
        // b^T = [[-128, 2, 4], [1, 3, 5]]
        let c = matmul_nt(a.view(), b.t());
        assert_eq!(c, ndarray::arr2(&[[255 * -128 + 4, 255 + 5], [2 * -128 + 6 + 16, 2 + 9 + 20]]));
    }
}
