//! One lane of the output requantizer: `clamp(shift_round(acc * m, s))` to int8 or int16,
//! exactly as `spec::numerics::requant_i8`/`requant_i16`, pipelined over [`REQUANT_LATENCY`]
//! cycles. The accumulator input is 40 bits wide: an int32 sum, optionally multiplied by an
//! int8 per-row scale (the NViT token mask) before requantization.
//!
//! The 40 x 15-bit product is one [`Mul`] leaf. The round-half-up arithmetic shift is done on an
//! offset-binary value `u = v + 2^62` with logical shifts:
//! `shift_round(v, s) = ((u + (2^s >> 1)) >> s) - (2^62 >> s)`, exact for `|v| < 2^62` and
//! `s <= 62` (the `spec` limits).

use crate::mul::Mul;
use crate::widen::Extend;
use rust_hdl::prelude::*;

/// Cycles from inputs to the registered output.
pub const REQUANT_LATENCY: usize = 3;

/// Bits of the requantizer's accumulator input.
pub const REQUANT_IN_BITS: usize = 40;

/// A requantization lane.
#[derive(LogicBlock)]
pub struct RequantLane {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Accumulator (two's complement, 40 bits).
    pub acc: Signal<In, Bits<REQUANT_IN_BITS>>,
    /// Multiplier `m < 2^15`.
    pub mult: Signal<In, Bits<16>>,
    /// Shift `s <= 62`.
    pub shift: Signal<In, Bits<6>>,
    /// Clamp to int16 instead of int8.
    pub wide: Signal<In, Bit>,
    /// Requantized value (int8 results sign-extended), [`REQUANT_LATENCY`] cycles later.
    pub y: Signal<Out, Bits<16>>,
    mul: Mul<REQUANT_IN_BITS, 16, 56>,
    p: DFF<Bits<56>>,
    s1: DFF<Bits<6>>,
    w1: DFF<Bit>,
    u: DFF<Bits<64>>,
    s2: DFF<Bits<6>>,
    w2: DFF<Bit>,
    out: DFF<Bits<16>>,
    ext_p: Extend<64, 56>,
    shifted: Signal<Local, Bits<64>>,
    one: Constant<Bits<64>>,
    offset: Constant<Bits<64>>,
    lim8: Constant<Bits<64>>,
    neg_lim8: Constant<Bits<64>>,
    lim16: Constant<Bits<64>>,
    neg_lim16: Constant<Bits<64>>,
    i8_max: Constant<Bits<16>>,
    i8_min: Constant<Bits<16>>,
    i16_max: Constant<Bits<16>>,
    i16_min: Constant<Bits<16>>,
}

impl Default for RequantLane {
    fn default() -> Self {
        let c64 = |v: u64| Constant::new(Bits::<64>::from(v));
        let c16 = |v: u64| Constant::new(Bits::<16>::from(v));
        RequantLane {
            clock: Signal::default(),
            acc: Signal::default(),
            mult: Signal::default(),
            shift: Signal::default(),
            wide: Signal::default(),
            y: Signal::default(),
            mul: Mul::new(true, false),
            p: DFF::default(),
            s1: DFF::default(),
            w1: DFF::default(),
            u: DFF::default(),
            s2: DFF::default(),
            w2: DFF::default(),
            out: DFF::default(),
            ext_p: Extend::new(true),
            shifted: Signal::default(),
            one: c64(1),
            offset: c64(1 << 62),
            lim8: c64(127),
            neg_lim8: c64((-128i64) as u64),
            lim16: c64(32767),
            neg_lim16: c64((-32768i64) as u64),
            i8_max: c16(0x7f),
            i8_min: c16(0xff80),
            i16_max: c16(0x7fff),
            i16_min: c16(0x8000),
        }
    }
}

impl Logic for RequantLane {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, p, s1, w1, u, s2, w2, out);
        // Stage 1: the product (acc signed, m non-negative).
        self.mul.a.next = self.acc.val();
        self.mul.b.next = self.mult.val();
        self.p.d.next = self.mul.p.val();
        self.s1.d.next = self.shift.val();
        self.w1.d.next = self.wide.val();
        // Stage 2: offset binary u = v + 2^62.
        self.ext_p.din.next = self.p.q.val();
        self.u.d.next = self.ext_p.dout.val() + self.offset.val();
        self.s2.d.next = self.s1.q.val();
        self.w2.d.next = self.w1.q.val();
        // Stage 3: rounding shift, back from offset binary, clamp.
        self.shifted.next = ((self.u.q.val() + ((self.one.val() << self.s2.q.val()) >> 1)) >> self.s2.q.val())
            - (self.offset.val() >> self.s2.q.val());
        // In range, the low 16 bits of the 64-bit two's complement value are the result
        // (already sign-extended for int8).
        self.out.d.next = self.shifted.val().get_bits::<16>(0);
        if self.w2.q.val() {
            if self.shifted.val().get_bit(63) {
                // Negative: below the minimum iff, as unsigned, below 2^64 + min.
                if self.shifted.val() < self.neg_lim16.val() {
                    self.out.d.next = self.i16_min.val();
                }
            } else if self.shifted.val() > self.lim16.val() {
                self.out.d.next = self.i16_max.val();
            }
        } else {
            if self.shifted.val().get_bit(63) {
                if self.shifted.val() < self.neg_lim8.val() {
                    self.out.d.next = self.i8_min.val();
                }
            } else if self.shifted.val() > self.lim8.val() {
                self.out.d.next = self.i8_max.val();
            }
        }
        self.y.next = self.out.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spec::numerics::{requant_i16, requant_i8, Dyadic};

    /// Random and edge-case (acc, m, s, wide) against `spec::numerics::requant_i8`/`requant_i16`.
    #[test]
    fn lane_matches_spec_requant() {
        let lim = (1i64 << 39) - 1;
        let mut cases: Vec<(i64, u16, u8, bool)> = Vec::new();
        for wide in [false, true] {
            for (a, m, s) in [
                (-lim - 1, 32767, 0),
                (lim, 32767, 0),
                (-lim - 1, 32767, 62),
                (lim, 32767, 62),
                (i32::MIN as i64 * 128, 32767, 30),
                (-1, 16384, 1),
                (1, 16384, 15),
                (-3, 1, 1),
                (-5, 1, 2),
                (0, 0, 0),
            ] {
                cases.push((a, m, s, wide));
            }
        }
        let mut x = 0x1234_5678_9abc_def0u64;
        for i in 0..4000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // A 40-bit accumulator with a random magnitude.
            let acc = ((x << 24) as i64 >> 24) >> (x >> 58);
            cases.push((acc, ((x >> 32) as u16) & 0x7fff, ((x >> 48) % 63) as u8, i % 2 == 0));
        }
        let expected: Vec<i16> = cases
            .iter()
            .map(|&(a, m, s, wide)| {
                let d = Dyadic { m, s };
                if wide {
                    requant_i16(a, d)
                } else {
                    requant_i8(a, d) as i16
                }
            })
            .collect();
        let mut uut = RequantLane::default();
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<RequantLane>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<RequantLane>| {
            let mut x = ep.init()?;
            for t in 0..cases.len() + REQUANT_LATENCY - 1 {
                if let Some(&(a, m, s, wide)) = cases.get(t) {
                    x.acc.next = ((a as u64) & ((1 << 40) - 1)).into();
                    x.mult.next = (m as u64).into();
                    x.shift.next = (s as u64).into();
                    x.wide.next = wide;
                }
                wait_clock_cycle!(ep, clock, x);
                if t + 1 >= REQUANT_LATENCY {
                    let i = t + 1 - REQUANT_LATENCY;
                    sim_assert_eq!(ep, x.y.val(), Bits::<16>::from(expected[i] as u16 as u64), x);
                }
            }
            ep.done(x)
        });
        sim.run(Box::new(uut), 10_000_000).unwrap();
    }

    #[test]
    fn lane_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut RequantLane::default(), "requant");
        crate::verilog::lint(&v, "requant").unwrap();
    }
}
