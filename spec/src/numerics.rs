//! Integer numerics: the bit-exact contract shared by the golden model, the RTL and the host.
//!
//! Every run-time operation here is pure integer arithmetic with one rounding rule,
//! **round half up** ([`shift_round`], [`div_round`]). Constants derived from floating-point
//! scales (multipliers, LUT entries) are converted once, on the host, with the `fixed` crate's
//! round-to-nearest-ties-even; after that, nothing in the inference path touches a float.
//! The formats are documented in `docs/NUMERICS.md`.

use fixed::types::{U0F8, U1F15};
use serde::{Deserialize, Serialize};

/// Bits of a GEMM operand (activations and weights).
pub const ACT_BITS: u32 = 8;
/// Bits of the residual stream.
pub const RESID_BITS: u32 = 16;
/// Bits of the GEMM accumulator.
pub const ACC_BITS: u32 = 32;
/// Fractional bits of a requantization multiplier: `m` lies in `[2^14, 2^15)`.
pub const MULT_FRAC_BITS: u32 = 15;
/// Largest requantization shift.
pub const MAX_SHIFT: u32 = 62;
/// Entries of every lookup table (indexed by an 8-bit value).
pub const LUT_SIZE: usize = 256;
/// Fractional bits of an exp-LUT entry (`U1F15`: `exp(0) = 1.0 = 32768`).
pub const EXP_FRAC_BITS: u32 = 15;
/// Fractional bits of a probability (softmax output, sigmoid output): `U0F8`, 255 = 255/256.
pub const PROB_FRAC_BITS: u32 = 8;
/// The softmax reciprocal is `floor(2^SOFTMAX_RECIP_BITS / sum)`.
pub const SOFTMAX_RECIP_BITS: u32 = 40;
/// Fractional bits of the normalised LayerNorm value `(x - mean) / std`.
pub const LN_NORM_FRAC_BITS: u32 = 10;
/// Largest K (reduction length) for which the int32 accumulator provably cannot overflow:
/// `|a*b| <= 255*128 < 2^15` (uint8 probabilities times int8 values is the widest product),
/// biases are clamped to `|bias| <= 2^30`, so `K * 2^15 + 2^30 < 2^31` needs `K <= 2^15`.
pub const MAX_REDUCTION: usize = 1 << 15;
/// Largest absolute value of a quantized bias.
pub const MAX_BIAS: i64 = 1 << 30;

/// Errors from converting real-valued scales into integer constants.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NumericsError {
    /// The scale is negative, NaN or infinite.
    #[error("scale {0} is not a finite non-negative number")]
    BadScale(f64),
    /// The scale needs a multiplier larger than `2^15` (requantization never amplifies that much).
    #[error("scale {0} is too large for a dyadic multiplier (limit 2^15)")]
    ScaleTooLarge(f64),
}

/// Arithmetic right shift with round-half-up: `floor((x + 2^(s-1)) / 2^s)`; `s = 0` is identity.
pub fn shift_round(x: i64, s: u32) -> i64 {
    assert!(s <= MAX_SHIFT, "shift {s} out of range");
    if s == 0 {
        return x;
    }
    ((x as i128 + (1i128 << (s - 1))) >> s) as i64
}

/// Integer division with round-half-up: `floor(a / b + 1/2)` for `b > 0`.
pub fn div_round(a: i64, b: i64) -> i64 {
    assert!(b > 0, "div_round divisor must be positive");
    (2 * a as i128 + b as i128).div_euclid(2 * b as i128) as i64
}

/// Clamp to the signed range of `bits` bits.
pub fn clamp_signed(x: i64, bits: u32) -> i64 {
    let hi = (1i64 << (bits - 1)) - 1;
    x.clamp(-hi - 1, hi)
}

/// A dyadic multiplier `m * 2^-s` (I-BERT/I-ViT style): `m` in `[2^14, 2^15)` (or 0), `s <= 62`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Dyadic {
    /// Integer multiplier, `[2^14, 2^15)` when normalised, smaller only for tiny scales at `s = 62`.
    pub m: u16,
    /// Right shift applied after the multiply.
    pub s: u8,
}

impl Dyadic {
    /// The multiplier that maps everything to zero.
    pub const ZERO: Dyadic = Dyadic { m: 0, s: 0 };

    /// The nearest dyadic multiplier to a real scale `r >= 0` (15 significant bits).
    pub fn from_real(r: f64) -> Result<Dyadic, NumericsError> {
        if !r.is_finite() || r < 0.0 {
            return Err(NumericsError::BadScale(r));
        }
        if r == 0.0 {
            return Ok(Dyadic::ZERO);
        }
        // r = f * 2^e with f in [0.5, 1): m / 2^15 = f, s = 15 - e.
        let e = r.log2().floor() as i32 + 1;
        let mut s = MULT_FRAC_BITS as i32 - e;
        let f = r * 2f64.powi(-e);
        let mut m = U1F15::saturating_from_num(f).to_bits() as u32;
        if m == 1 << MULT_FRAC_BITS {
            m >>= 1;
            s -= 1;
        }
        if s < 0 {
            return Err(NumericsError::ScaleTooLarge(r));
        }
        if s > MAX_SHIFT as i32 {
            // Denormal: keep the largest shift and fewer significant bits.
            let m = U1F15::saturating_from_num(r * 2f64.powi(MAX_SHIFT as i32 - 15)).to_bits();
            return Ok(Dyadic { m, s: MAX_SHIFT as u8 });
        }
        Ok(Dyadic { m: m as u16, s: s as u8 })
    }

    /// The real value `m * 2^-s`.
    pub fn to_f64(self) -> f64 {
        self.m as f64 * 2f64.powi(-(self.s as i32))
    }

    /// `round_half_up(acc * m / 2^s)`, unclamped. `acc` must satisfy `|acc| < 2^47`.
    pub fn apply(self, acc: i64) -> i64 {
        shift_round(acc * self.m as i64, self.s as u32)
    }
}

/// Requantize an accumulator to a signed `bits`-bit value: `clamp(round((acc * m) >> s))`.
pub fn requant(acc: i64, d: Dyadic, bits: u32) -> i64 {
    clamp_signed(d.apply(acc), bits)
}

/// Requantize to int8 (GEMM outputs feeding another GEMM or a LUT).
pub fn requant_i8(acc: i64, d: Dyadic) -> i8 {
    requant(acc, d, ACT_BITS) as i8
}

/// Requantize to int16 (contributions to the residual stream, logits).
pub fn requant_i16(acc: i64, d: Dyadic) -> i16 {
    requant(acc, d, RESID_BITS) as i16
}

/// Saturating residual add in the int16 residual stream.
pub fn residual_add(x: i16, r: i16) -> i16 {
    x.saturating_add(r)
}

/// Index of an int8 value in a 256-entry LUT: `x + 128`.
pub fn lut_index(x: i8) -> usize {
    (x as i16 + 128) as usize
}

/// int8 -> int8 GELU table: entry `x + 128` = `round(GELU(x * s_in) / s_out)`, saturated.
pub fn gelu_lut(s_in: f64, s_out: f64) -> [i8; LUT_SIZE] {
    std::array::from_fn(|i| {
        let x = (i as i32 - 128) as f64 * s_in;
        let y = gelu_f64(x) / s_out;
        fixed::types::I8F0::saturating_from_num(y).to_bits()
    })
}

/// int8 -> U0F8 sigmoid table: entry `x + 128` = `min(255, round(256 * sigmoid(x * s_in)))`.
pub fn sigmoid_lut(s_in: f64) -> [u8; LUT_SIZE] {
    std::array::from_fn(|i| {
        let x = (i as i32 - 128) as f64 * s_in;
        U0F8::saturating_from_num(sigmoid_f64(x)).to_bits()
    })
}

/// Exp table for softmax: entry `k` (`k = max - x`, 0..=255) = `round(2^15 * exp(-k * s_in))`, U1F15.
pub fn exp_lut(s_in: f64) -> [u16; LUT_SIZE] {
    std::array::from_fn(|k| U1F15::saturating_from_num((-(k as f64) * s_in).exp()).to_bits())
}

/// Exact GELU, `x/2 (1 + erf(x/sqrt 2))`, used to build tables and by the float reference.
pub fn gelu_f64(x: f64) -> f64 {
    0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))
}

/// Logistic sigmoid.
pub fn sigmoid_f64(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Integer softmax of one row of int8 scores into U0F8 probabilities.
///
/// `e_i = exp_lut[max - x_i]`, `sum = Σ e_i`, `r = floor(2^40 / sum)`,
/// `p_i = min(255, (e_i * r + 2^31) >> 32)`, with `max` the row maximum
/// ([`softmax_row_with_max`] with `max = max_i x_i`).
pub fn softmax_row(x: &[i8], exp: &[u16; LUT_SIZE], out: &mut [u8]) {
    assert_eq!(x.len(), out.len());
    let Some(&max) = x.iter().max() else { return };
    softmax_row_with_max(x, max, exp, out);
}

/// [`softmax_row`] with the row maximum given: the vector unit's max engine takes it from a
/// second copy of the row (`spec::isa`, SOFTMAX). The table index is `(max - x_i) mod 256` (the
/// hardware's 8-bit subtraction), which is `max - x_i` whenever `max` is the row maximum. A zero
/// sum (possible only when `max` is not the row maximum or the table is not an [`exp_lut`] with
/// `exp[0] > 0`) is taken as 1; the hardware's result is unspecified there.
pub fn softmax_row_with_max(x: &[i8], max: i8, exp: &[u16; LUT_SIZE], out: &mut [u8]) {
    assert_eq!(x.len(), out.len());
    let e = |v: i8| exp[max.wrapping_sub(v) as u8 as usize] as u64;
    let sum: u64 = x.iter().map(|&v| e(v)).sum();
    let r = (1u64 << SOFTMAX_RECIP_BITS) / sum.max(1);
    for (o, &v) in out.iter_mut().zip(x) {
        *o = ((e(v) * r + (1 << 31)) >> 32).min(255) as u8;
    }
}

/// Per-channel parameters of an integer LayerNorm (affine part and output requantization).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerNormParams {
    /// `round(gamma_i / s_gamma)`.
    pub gamma: Vec<i16>,
    /// `round(beta_i / (s_gamma * 2^-10))`, the accumulator scale of `u_i * gamma_i`.
    pub beta: Vec<i32>,
    /// `s_gamma * 2^-10 / s_out`.
    pub out: Dyadic,
}

/// Integer LayerNorm of one row (int16 in, int8 out). Any input scale works: LN is scale-free.
///
/// One pass of sums, then one pass of per-element work (what the vector unit does):
/// ```text
/// S1 = sum x,  S2 = sum x^2,  D = n*S2 - S1^2          exact (D = n^2 var)
/// sd = max(isqrt(D), 1),  b = bit length of sd          sd ~ n * std
/// r  = floor(2^(b+24) / sd)                             25 significant bits
/// u_i = shift_round((n*x_i - S1) * r, b + 24 - 10)      (x_i - mean) / std in Q.10
/// y_i = requant_i8(u_i * gamma_i + beta_i, out)
/// ```
/// `eps` is dropped: 1e-6 is far below one residual LSB squared.
pub fn layernorm_row(x: &[i16], p: &LayerNormParams, out: &mut [i8]) {
    let n = x.len();
    assert!(n > 0 && p.gamma.len() == n && p.beta.len() == n && out.len() == n);
    let st = LnStats::of(x);
    for i in 0..n {
        out[i] = requant_i8(st.normalize(x[i]) * p.gamma[i] as i64 + p.beta[i] as i64, p.out);
    }
}

/// Per-row constants of the integer LayerNorm ([`layernorm_row`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LnStats {
    /// Channels `n`.
    pub n: i64,
    /// `S1 = sum x`.
    pub s1: i64,
    /// `r = floor(2^(b+24) / sd)`.
    pub r: u64,
    /// `b + 24 - 10`, the normalisation shift.
    pub shift: u32,
}

/// Fractional bits of the LayerNorm reciprocal beyond the bit length of `sd`.
pub const LN_RECIP_BITS: u32 = 24;

impl LnStats {
    /// Sums and the reciprocal of one row.
    pub fn of(x: &[i16]) -> LnStats {
        let n = x.len() as i64;
        let s1: i64 = x.iter().map(|&v| v as i64).sum();
        let s2: i64 = x.iter().map(|&v| (v as i64) * (v as i64)).sum();
        LnStats::from_sums(n, s1, s2)
    }

    /// The constants from `n`, `S1`, `S2` (the scalar step of the vector unit).
    pub fn from_sums(n: i64, s1: i64, s2: i64) -> LnStats {
        let d = (n as i128 * s2 as i128 - s1 as i128 * s1 as i128).max(0) as u64;
        let sd = d.isqrt().max(1);
        let b = 64 - sd.leading_zeros();
        let r = (1u128 << (b + LN_RECIP_BITS)) as u64 / sd;
        LnStats { n, s1, r, shift: b + LN_RECIP_BITS - LN_NORM_FRAC_BITS }
    }

    /// `u = shift_round((n*x - S1) * r, shift)`: `(x - mean) / std` with 10 fractional bits.
    pub fn normalize(&self, x: i16) -> i64 {
        shift_round((self.n * x as i64 - self.s1) * self.r as i64, self.shift)
    }
}

/// Column mean over live tokens (the selector's "global" half): `div_round(Σ v, n)`.
pub fn mean_i8(values: impl ExactSizeIterator<Item = i8>) -> i8 {
    let n = values.len() as i64;
    assert!(n > 0);
    div_round(values.map(|v| v as i64).sum(), n) as i8
}

/// The selector's integer keep rule for one token.
///
/// `w_j` are the head-importance weights and `p_j` the per-head keep probabilities (both U0F8).
/// The float rule `Σ w_j p_j / Σ w_j >= 1/2` becomes `Σ w_j (p_j - 128) >= 0` (keep on ties and
/// when every weight is zero). Returns `(keep, score)` with `score = Σ w_j p_j`, the weight of the
/// token in the package token.
pub fn keep_decision(w: &[u8], p: &[u8]) -> (bool, u32) {
    assert_eq!(w.len(), p.len());
    let margin: i64 = w.iter().zip(p).map(|(&w, &p)| w as i64 * (p as i64 - 128)).sum();
    let score: u32 = w.iter().zip(p).map(|(&w, &p)| w as u32 * p as u32).sum();
    (margin >= 0, score)
}

/// Weight of a dropped token in the package token: `score + 1` (never zero).
pub fn package_weight(score: u32) -> u64 {
    score as u64 + 1
}

/// One channel of the package token: `div_round(Σ weight_t * x_t, Σ weight_t)` over dropped tokens.
pub fn package_channel(weights: &[u64], values: impl Iterator<Item = i16>) -> i16 {
    let total: u64 = weights.iter().sum();
    let acc: i64 = weights.iter().zip(values).map(|(&w, x)| w as i64 * x as i64).sum();
    div_round(acc, total as i64) as i16
}

#[cfg(test)]
mod tests;
