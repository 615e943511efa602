//! Tests of the numerics contract against independent formulas (rationals, f64, brute force).

use super::*;
use proptest::prelude::*;

/// Reference round-half-up of `num / 2^s` via rational arithmetic on i128.
fn ref_round_shift(num: i128, s: u32) -> i128 {
    let den = 1i128 << s;
    // floor(num/den + 1/2) = floor((2 num + den) / (2 den))
    (2 * num + den).div_euclid(2 * den)
}

#[test]
fn requant_exhaustive_over_16_bit_accumulators() {
    // Every 16-bit accumulator (this covers every int8 x int8 product) with a spread of multipliers
    // and shifts, against f64 arithmetic, which is exact here (|acc * m| < 2^31).
    let ms = [0u16, 1, 16384, 20000, 24576, 32767];
    for acc in i16::MIN as i64..=i16::MAX as i64 {
        for &m in &ms {
            for s in 0..=24u8 {
                let d = Dyadic { m, s };
                let want = ((acc * m as i64) as f64 / 2f64.powi(s as i32) + 0.5).floor() as i64;
                assert_eq!(d.apply(acc), want, "acc={acc} m={m} s={s}");
                assert_eq!(requant_i8(acc, d) as i64, want.clamp(-128, 127));
                assert_eq!(requant_i16(acc, d) as i64, want.clamp(-32768, 32767));
            }
        }
    }
}

#[test]
fn rounding_is_half_up_for_both_signs() {
    // Hand-checked values: ties go towards +infinity.
    assert_eq!(shift_round(3, 1), 2); // 1.5 -> 2
    assert_eq!(shift_round(-3, 1), -1); // -1.5 -> -1
    assert_eq!(shift_round(-5, 2), -1); // -1.25 -> -1
    assert_eq!(shift_round(-6, 2), -1); // -1.5 -> -1
    assert_eq!(shift_round(-7, 2), -2); // -1.75 -> -2
    assert_eq!(div_round(7, 2), 4);
    assert_eq!(div_round(-7, 2), -3);
    assert_eq!(div_round(-8, 3), -3); // -2.67 -> -3
}

#[test]
fn lut_index_is_offset_binary_for_every_int8() {
    for x in i8::MIN..=i8::MAX {
        assert_eq!(lut_index(x) as i32, x as i32 + 128);
    }
}

#[test]
fn gelu_table_within_half_lsb_for_every_entry() {
    for &(s_in, s_out) in &[(0.05, 0.03), (0.1, 0.04), (0.02, 0.02), (0.2, 0.2)] {
        let lut = gelu_lut(s_in, s_out);
        for x in i8::MIN..=i8::MAX {
            let want = gelu_f64(x as f64 * s_in) / s_out;
            let got = lut[lut_index(x)] as f64;
            if want.abs() < 127.0 {
                assert!((got - want).abs() <= 0.5, "x={x}: {got} vs {want}");
            } else {
                assert_eq!(got, want.clamp(-128.0, 127.0).round());
            }
        }
    }
    // Independent spot values of GELU itself (tables of erf): GELU(1) = 0.841344746, GELU(-1) = -0.158655254.
    assert!((gelu_f64(1.0) - 0.841_344_746).abs() < 1e-8);
    assert!((gelu_f64(-1.0) + 0.158_655_254).abs() < 1e-8);
}

#[test]
fn sigmoid_table_within_one_lsb_for_every_entry() {
    for &s_in in &[0.01, 0.05, 0.1, 0.5] {
        let lut = sigmoid_lut(s_in);
        for x in i8::MIN..=i8::MAX {
            let want = 256.0 * sigmoid_f64(x as f64 * s_in);
            let got = lut[lut_index(x)] as f64;
            // Half an LSB of rounding, one LSB where 1.0 saturates to 255/256.
            let bound = if want > 255.5 { 1.0 } else { 0.5 };
            assert!((got - want).abs() <= bound, "x={x}: {got} vs {want}");
        }
        assert_eq!(lut[lut_index(0)], 128, "sigmoid(0) = 1/2 exactly");
    }
}

#[test]
fn exp_table_is_exact_at_zero_and_monotone() {
    for &s in &[0.01, 0.05, 0.125, 1.0] {
        let lut = exp_lut(s);
        assert_eq!(lut[0], 1 << EXP_FRAC_BITS);
        for k in 1..LUT_SIZE {
            assert!(lut[k] <= lut[k - 1]);
            let want = (-(k as f64) * s).exp() * 32768.0;
            assert!((lut[k] as f64 - want).abs() <= 0.5);
        }
    }
}

/// Float softmax of `x * s`.
fn softmax_f64(x: &[i8], s: f64) -> Vec<f64> {
    let m = x.iter().copied().max().unwrap() as f64;
    let e: Vec<f64> = x.iter().map(|&v| ((v as f64 - m) * s).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.iter().map(|v| v / sum).collect()
}

/// Stated bound of the integer softmax: rounding to U0F8 (1/512) plus saturation of 1.0 (1/512 more),
/// plus exp-table rounding (2^-16 per entry) propagated through the sum ((n + 1) * 2^-16).
fn softmax_bound(n: usize) -> f64 {
    1.0 / 256.0 + (n as f64 + 2.0) / 65536.0
}

#[test]
fn softmax_exhaustive_over_int8_pairs() {
    for &s in &[0.03, 0.125] {
        let lut = exp_lut(s);
        let mut out = [0u8; 2];
        for a in i8::MIN..=i8::MAX {
            for b in i8::MIN..=i8::MAX {
                softmax_row(&[a, b], &lut, &mut out);
                let f = softmax_f64(&[a, b], s);
                for i in 0..2 {
                    let err = (out[i] as f64 / 256.0 - f[i]).abs();
                    assert!(err <= softmax_bound(2), "{a},{b}: {out:?} vs {f:?}");
                }
            }
        }
    }
}

fn ln_params(n: usize, gamma: f64, beta: f64, s_out: f64) -> (LayerNormParams, f64) {
    let s_gamma = gamma.abs().max(1e-9) / 32767.0;
    let acc_scale = s_gamma * 2f64.powi(-(LN_NORM_FRAC_BITS as i32));
    let p = LayerNormParams {
        gamma: vec![(gamma / s_gamma).round() as i16; n],
        beta: vec![(beta / acc_scale).round() as i32; n],
        out: Dyadic::from_real(acc_scale / s_out).unwrap(),
    };
    (p, s_out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn shift_round_matches_rational(x in -(1i64 << 62)..(1i64 << 62), s in 0u32..=62) {
        prop_assert_eq!(shift_round(x, s) as i128, ref_round_shift(x as i128, s));
    }

    #[test]
    fn requant_over_int32_matches_rational(acc in any::<i32>(), m in 0u16..(1 << 15), s in 0u8..=62) {
        let d = Dyadic { m, s };
        let want = ref_round_shift(acc as i128 * m as i128, s as u32);
        prop_assert_eq!(requant_i8(acc as i64, d) as i128, want.clamp(-128, 127));
        prop_assert_eq!(requant_i16(acc as i64, d) as i128, want.clamp(-32768, 32767));
    }

    #[test]
    fn div_round_matches_rational(a in -(1i64 << 50)..(1i64 << 50), b in 1i64..(1 << 30)) {
        // floor(a/b + 1/2) via f64 is not exact at this size; use the definition with i128 floor.
        let q = div_round(a, b) as i128;
        // q is the unique integer with q - 1/2 <= a/b < q + 1/2.
        prop_assert!(2 * (a as i128) >= (2 * q - 1) * b as i128);
        prop_assert!(2 * (a as i128) < (2 * q + 1) * b as i128);
    }

    #[test]
    fn dyadic_relative_error_is_within_2_pow_minus_15(r in 1e-12f64..30000.0) {
        let d = Dyadic::from_real(r).unwrap();
        prop_assert!(d.m >= 1 << 14 && d.m < 1 << 15, "m={} not normalised", d.m);
        prop_assert!((d.to_f64() - r).abs() <= r * 2f64.powi(-15));
    }

    #[test]
    fn softmax_within_stated_bound(x in prop::collection::vec(any::<i8>(), 1..256), s in 0.005f64..0.5) {
        let lut = exp_lut(s);
        let mut out = vec![0u8; x.len()];
        softmax_row(&x, &lut, &mut out);
        let f = softmax_f64(&x, s);
        for i in 0..x.len() {
            let err = (out[i] as f64 / 256.0 - f[i]).abs();
            prop_assert!(err <= softmax_bound(x.len()), "i={} got {} want {}", i, out[i], f[i] * 256.0);
        }
    }

    #[test]
    fn layernorm_within_one_lsb_of_float(
        x in prop::collection::vec(-20000i16..20000, 8..512),
        gamma in 0.2f64..3.0, beta in -1.0f64..1.0,
    ) {
        let n = x.len();
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
        // The stated bound holds for rows whose spread is at least 16 LSB (always true for
        // real residual streams, whose scale is chosen to use ~14 bits).
        prop_assume!(var.sqrt() >= 16.0);
        let s_out = (gamma * (n as f64).sqrt() + beta.abs()) / 127.0;
        let (p, s_out) = ln_params(n, gamma, beta, s_out);
        let mut out = vec![0i8; n];
        layernorm_row(&x, &p, &mut out);
        for i in 0..n {
            let want = ((x[i] as f64 - mean) / var.sqrt() * gamma + beta) / s_out;
            // Rounding to int8 (0.5 LSB) plus the integer mean/inv-std/normalisation errors
            // (bounded by 0.5/std + 2^-10 relative to the normalised value, i.e. < 0.5 LSB here).
            prop_assert!((out[i] as f64 - want).abs() <= 1.0, "i={} got {} want {}", i, out[i], want);
        }
    }

    #[test]
    fn keep_rule_matches_float_rule(w in prop::collection::vec(any::<u8>(), 1..16), seed in any::<u64>()) {
        let p: Vec<u8> = (0..w.len()).map(|j| (seed >> (j * 4 % 64)) as u8).collect();
        let (keep, score) = keep_decision(&w, &p);
        let sw: f64 = w.iter().map(|&v| v as f64).sum();
        let swp: f64 = w.iter().zip(&p).map(|(&a, &b)| a as f64 * b as f64 / 256.0).sum();
        let float_keep = sw == 0.0 || swp / sw >= 0.5;
        prop_assert_eq!(keep, float_keep);
        prop_assert_eq!(score as f64, swp * 256.0);
    }

    #[test]
    fn package_channel_is_rounded_weighted_mean(
        rows in prop::collection::vec((any::<i16>(), 0u32..(1 << 20)), 1..64),
    ) {
        let w: Vec<u64> = rows.iter().map(|&(_, s)| package_weight(s)).collect();
        let got = package_channel(&w, rows.iter().map(|&(x, _)| x)) as f64;
        let want = rows.iter().zip(&w).map(|(&(x, _), &w)| x as f64 * w as f64).sum::<f64>()
            / w.iter().sum::<u64>() as f64;
        prop_assert!((got - want).abs() <= 0.5 + 1e-9, "{} vs {}", got, want);
    }

    #[test]
    fn mean_i8_is_rounded_mean(v in prop::collection::vec(any::<i8>(), 1..300)) {
        let want = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
        let got = mean_i8(v.iter().copied()) as f64;
        prop_assert!((got - want).abs() <= 0.5 && got - want > -0.5 - 1e-12);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Extreme rows (saturated values, constant rows, up to 4096 channels) stay within i64 and
    /// give bounded normalised values |u| <= sqrt(n) * 2^10.
    #[test]
    fn layernorm_never_overflows(n in 1usize..=4096, seed in any::<u64>(), mode in 0u8..4) {
        let mut s = seed;
        let x: Vec<i16> = (0..n).map(|i| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            match mode {
                0 => if (s >> 40) & 1 == 0 { i16::MIN } else { i16::MAX },
                1 => 1234,
                2 => if i == 0 { i16::MAX } else { i16::MIN },
                _ => (s >> 48) as i16,
            }
        }).collect();
        let st = LnStats::of(&x);
        let bound = ((n as f64).sqrt() * 1024.0 + 1.0) as i64;
        for &v in &x {
            let u = st.normalize(v);
            prop_assert!(u.abs() <= bound, "u = {} > {}", u, bound);
        }
    }
}
