//! One lane of the output requantizer: `clamp_i8(shift_round(acc * m, s))` exactly as
//! `spec::numerics::requant_i8`, pipelined over [`REQUANT_LATENCY`] cycles.
//!
//! The 32 x 15-bit product is built from two 16 x 16 multiplies (`acc = hi * 2^16 + lo`). The
//! round-half-up arithmetic shift is done on an offset-binary value `u = v + 2^62` with logical
//! shifts: `shift_round(v, s) = ((u + (2^s >> 1)) >> s) - (2^62 >> s)`, exact for `|v| < 2^62`
//! and `s <= 62` (the `spec` limits).

use crate::widen::Extend;
use rust_hdl::prelude::*;

/// Cycles from inputs to the registered output.
pub const REQUANT_LATENCY: usize = 3;

/// A requantization lane.
#[derive(LogicBlock)]
pub struct RequantLane {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Accumulator (two's complement int32).
    pub acc: Signal<In, Bits<32>>,
    /// Multiplier `m < 2^15`.
    pub mult: Signal<In, Bits<16>>,
    /// Shift `s <= 62`.
    pub shift: Signal<In, Bits<6>>,
    /// Requantized int8, [`REQUANT_LATENCY`] cycles later.
    pub y: Signal<Out, Bits<8>>,
    p_lo: DFF<Bits<32>>,
    p_hi: DFF<Bits<32>>,
    s1: DFF<Bits<6>>,
    u: DFF<Bits<64>>,
    s2: DFF<Bits<6>>,
    out: DFF<Bits<8>>,
    p_hi_s: Signal<Local, Signed<32>>,
    ext_hi: Extend<64, 32>,
    ext_lo: Extend<64, 32>,
    shifted: Signal<Local, Bits<64>>,
    one: Constant<Bits<64>>,
    offset: Constant<Bits<64>>,
    lim: Constant<Bits<64>>,
    neg_lim: Constant<Bits<64>>,
    i8_max: Constant<Bits<8>>,
    i8_min: Constant<Bits<8>>,
}

impl Default for RequantLane {
    fn default() -> Self {
        RequantLane {
            clock: Signal::default(),
            acc: Signal::default(),
            mult: Signal::default(),
            shift: Signal::default(),
            y: Signal::default(),
            p_lo: DFF::default(),
            p_hi: DFF::default(),
            s1: DFF::default(),
            u: DFF::default(),
            s2: DFF::default(),
            out: DFF::default(),
            p_hi_s: Signal::default(),
            ext_hi: Extend::new(true),
            ext_lo: Extend::new(false),
            shifted: Signal::default(),
            one: Constant::new(1u64.into()),
            offset: Constant::new((1u64 << 62).into()),
            lim: Constant::new(127u64.into()),
            neg_lim: Constant::new(0xFFFF_FFFF_FFFF_FF80u64.into()),
            i8_max: Constant::new(0x7Fu64.into()),
            i8_min: Constant::new(0x80u64.into()),
        }
    }
}

impl Logic for RequantLane {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, p_lo, p_hi, s1, u, s2, out);
        // Stage 1: partial products. hi is signed, lo unsigned, m < 2^15 is non-negative.
        self.p_lo.d.next = self.acc.val().get_bits::<16>(0) * self.mult.val();
        self.p_hi_s.next = signed_cast(self.acc.val().get_bits::<16>(16)) * signed_cast(self.mult.val());
        self.p_hi.d.next = unsigned_cast(self.p_hi_s.val());
        self.s1.d.next = self.shift.val();
        // Stage 2: v = hi * m * 2^16 + lo * m, held as u = v + 2^62.
        self.ext_hi.din.next = self.p_hi.q.val();
        self.ext_lo.din.next = self.p_lo.q.val();
        self.u.d.next = (self.ext_hi.dout.val() << 16) + self.ext_lo.dout.val() + self.offset.val();
        self.s2.d.next = self.s1.q.val();
        // Stage 3: rounding shift, back from offset binary, clamp to int8.
        self.shifted.next = ((self.u.q.val() + ((self.one.val() << self.s2.q.val()) >> 1)) >> self.s2.q.val())
            - (self.offset.val() >> self.s2.q.val());
        if self.shifted.val().get_bit(63) {
            // Negative: below -128 iff, as unsigned, below 2^64 - 128.
            if self.shifted.val() < self.neg_lim.val() {
                self.out.d.next = self.i8_min.val();
            } else {
                self.out.d.next = self.shifted.val().get_bits::<8>(0);
            }
        } else if self.shifted.val() > self.lim.val() {
            self.out.d.next = self.i8_max.val();
        } else {
            self.out.d.next = self.shifted.val().get_bits::<8>(0);
        }
        self.y.next = self.out.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spec::numerics::{requant_i8, Dyadic};

    /// Random and edge-case (acc, m, s) triples against `spec::numerics::requant_i8`.
    #[test]
    fn lane_matches_spec_requant() {
        let mut cases: Vec<(i32, u16, u8)> = vec![
            (i32::MIN, 32767, 0),
            (i32::MAX, 32767, 0),
            (i32::MIN, 32767, 62),
            (i32::MAX, 32767, 62),
            (-1, 16384, 1),
            (1, 16384, 15),
            (-3, 1, 1),
            (-5, 1, 2),
            (0, 0, 0),
        ];
        let mut x = 0x1234_5678_9abc_def0u64;
        for _ in 0..3000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let acc = (x as i32) >> (x >> 59);
            cases.push((acc, ((x >> 32) as u16) & 0x7fff, ((x >> 48) % 63) as u8));
        }
        let expected: Vec<i8> = cases.iter().map(|&(a, m, s)| requant_i8(a as i64, Dyadic { m, s })).collect();
        let mut uut = RequantLane::default();
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<RequantLane>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<RequantLane>| {
            let mut x = ep.init()?;
            for t in 0..cases.len() + REQUANT_LATENCY - 1 {
                if let Some(&(a, m, s)) = cases.get(t) {
                    x.acc.next = (a as u32 as u64).into();
                    x.mult.next = (m as u64).into();
                    x.shift.next = (s as u64).into();
                }
                wait_clock_cycle!(ep, clock, x);
                if t + 1 >= REQUANT_LATENCY {
                    let i = t + 1 - REQUANT_LATENCY;
                    sim_assert_eq!(ep, x.y.val(), Bits::<8>::from(expected[i] as u8 as u64), x);
                }
            }
            ep.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }

    #[test]
    fn lane_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut RequantLane::default(), "requant");
        crate::verilog::lint(&v, "requant").unwrap();
    }
}
