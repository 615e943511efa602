//! One lane of the output requantizer: `clamp(shift_round(acc * rs * m, s))` to int8 or int16,
//! exactly as `spec::numerics::requant_i8`/`requant_i16` of `v = acc * rs` (the GEMM row
//! scale `rs`, 1 without row scales), pipelined over [`REQUANT_LATENCY`] cycles so that no stage
//! holds more than one carry chain, one DSP multiply or one barrel shift:
//!
//! | stage | what is registered at its end |
//! |---|---|
//! | 1 | `acc` (int32) and `sm = rs * m` (int8 x 15 bits, an adder tree in LUTs, [`Mul::from_adders`]) |
//! | 2, 3 | the two partial products `acc[16:0] * sm` and `acc[31:17] * sm` (one DSP each: `sm` fits the 25/27-bit port, each half of `acc` the 18-bit one; two registers, the DSP's M and P) |
//! | 4 | `p = (hi << 17) + lo`, and the rounding constant `2^s >> 1` |
//! | 5 | `t = p + (2^s >> 1)` |
//! | 6 | `t >> s`, arithmetic (`!(!t >> s)` for negative `t`) |
//! | 7 | the clamp to int8 or int16 |
//!
//! `|p| < 2^31 * 2^22 = 2^53`, so a 56-bit datapath is exact; for `s >= 55`
//! `0 < p + 2^(s-1) < 2^s` and the result is 0, which stage 6 produces directly (the rounding
//! constant would not fit). Forming `rs * m` first costs no DSP and lets the 32 x 23-bit product
//! take two DSPs; the product `acc * rs` followed by `* m` took four (32 x 8 and 40 x 16 both
//! split in two by synthesis).

use crate::mul::Mul;
use crate::widen::{Concat, Extend};
use rust_hdl::prelude::*;

/// Cycles from inputs to the registered output (`spec::timing::gemm::REQUANT_LATENCY`).
pub const REQUANT_LATENCY: usize = spec::timing::gemm::REQUANT_LATENCY as usize;

/// Bits of the datapath after the multiply (the product `acc * rs * m` is below `2^53`).
const P_BITS: usize = 56;

/// A requantization lane.
#[derive(LogicBlock)]
pub struct RequantLane {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Accumulator (int32, two's complement).
    pub acc: Signal<In, Bits<32>>,
    /// Row scale `rs` (int8, two's complement; 1 without row scales).
    pub scale: Signal<In, Bits<8>>,
    /// Multiplier `m < 2^15`.
    pub mult: Signal<In, Bits<16>>,
    /// Shift `s <= 62`.
    pub shift: Signal<In, Bits<6>>,
    /// Clamp to int16 instead of int8.
    pub wide: Signal<In, Bit>,
    /// Requantized value (int8 results sign-extended), [`REQUANT_LATENCY`] cycles later.
    pub y: Signal<Out, Bits<16>>,
    scale_mul: Mul<8, 16, 24>,
    acc1: DFF<Bits<32>>,
    sm1: DFF<Bits<24>>,
    mul_lo: Mul<17, 24, 41>,
    mul_hi: Mul<15, 24, 39>,
    lo2: DFF<Bits<41>>,
    hi2: DFF<Bits<39>>,
    lo3: DFF<Bits<41>>,
    hi3: DFF<Bits<39>>,
    ext_lo: Extend<P_BITS, 41>,
    hi_shifted: Concat<39, 17, P_BITS>,
    p4: DFF<Bits<P_BITS>>,
    round4: DFF<Bits<P_BITS>>,
    t5: DFF<Bits<P_BITS>>,
    shifted6: DFF<Bits<P_BITS>>,
    out7: DFF<Bits<16>>,
    shift_pipe: [DFF<Bits<6>>; 5],
    wide_pipe: [DFF<Bit>; 6],
    one: Constant<Bits<P_BITS>>,
    zero17: Constant<Bits<17>>,
    max_shift: Constant<Bits<6>>,
    i8_max: Constant<Bits<16>>,
    i8_min: Constant<Bits<16>>,
    i16_max: Constant<Bits<16>>,
    i16_min: Constant<Bits<16>>,
}

impl Default for RequantLane {
    fn default() -> Self {
        let c16 = |v: u64| Constant::new(Bits::<16>::from(v));
        RequantLane {
            clock: Signal::default(),
            acc: Signal::default(),
            scale: Signal::default(),
            mult: Signal::default(),
            shift: Signal::default(),
            wide: Signal::default(),
            y: Signal::default(),
            scale_mul: Mul::from_adders(true),
            acc1: DFF::default(),
            sm1: DFF::default(),
            mul_lo: Mul::new(false, true),
            mul_hi: Mul::new(true, true),
            lo2: DFF::default(),
            hi2: DFF::default(),
            lo3: DFF::default(),
            hi3: DFF::default(),
            ext_lo: Extend::new(true),
            hi_shifted: Concat::default(),
            p4: DFF::default(),
            round4: DFF::default(),
            t5: DFF::default(),
            shifted6: DFF::default(),
            out7: DFF::default(),
            shift_pipe: Default::default(),
            wide_pipe: Default::default(),
            one: Constant::new(Bits::<P_BITS>::from(1u64)),
            zero17: Constant::new(Bits::<17>::from(0u64)),
            max_shift: Constant::new(Bits::<6>::from(54u64)),
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
        dff_setup!(self, clock, acc1, sm1, lo2, hi2, lo3, hi3, p4, round4, t5, shifted6, out7);
        for i in 0..5 {
            self.shift_pipe[i].clock.next = self.clock.val();
        }
        for i in 0..6 {
            self.wide_pipe[i].clock.next = self.clock.val();
        }
        // Stage 1: the accumulator, and the row scale times the multiplier (adders, no DSP).
        self.scale_mul.a.next = self.scale.val();
        self.scale_mul.b.next = self.mult.val();
        self.acc1.d.next = self.acc.val();
        self.sm1.d.next = self.scale_mul.p.val();
        self.shift_pipe[0].d.next = self.shift.val();
        self.wide_pipe[0].d.next = self.wide.val();
        // Stages 2-3: two DSP products, registered twice.
        self.mul_lo.a.next = self.acc1.q.val().get_bits::<17>(0);
        self.mul_lo.b.next = self.sm1.q.val();
        self.mul_hi.a.next = self.acc1.q.val().get_bits::<15>(17);
        self.mul_hi.b.next = self.sm1.q.val();
        self.lo2.d.next = self.mul_lo.p.val();
        self.hi2.d.next = self.mul_hi.p.val();
        self.lo3.d.next = self.lo2.q.val();
        self.hi3.d.next = self.hi2.q.val();
        for i in 1..5 {
            self.shift_pipe[i].d.next = self.shift_pipe[i - 1].q.val();
        }
        for i in 1..6 {
            self.wide_pipe[i].d.next = self.wide_pipe[i - 1].q.val();
        }
        // Stage 4: the whole product, and the rounding constant 2^s >> 1.
        self.ext_lo.din.next = self.lo3.q.val();
        self.hi_shifted.hi.next = self.hi3.q.val();
        self.hi_shifted.lo.next = self.zero17.val();
        self.p4.d.next = self.hi_shifted.dout.val() + self.ext_lo.dout.val();
        self.round4.d.next = (self.one.val() << self.shift_pipe[2].q.val()) >> 1;
        // Stage 5: round half up.
        self.t5.d.next = self.p4.q.val() + self.round4.q.val();
        // Stage 6: arithmetic shift right (Verilog `>>` is logical: shift the complement of a
        // negative value); 0 for shifts beyond the product's range.
        if self.t5.q.val().get_bit(55) {
            self.shifted6.d.next = !((!self.t5.q.val()) >> self.shift_pipe[4].q.val());
        } else {
            self.shifted6.d.next = self.t5.q.val() >> self.shift_pipe[4].q.val();
        }
        if self.shift_pipe[4].q.val() > self.max_shift.val() {
            self.shifted6.d.next = 0.into();
        }
        // Stage 7: clamp. In range, the low 16 bits are the result (int8 already
        // sign-extended); out of range, the bits above the type are not all the sign.
        self.out7.d.next = self.shifted6.q.val().get_bits::<16>(0);
        if self.wide_pipe[5].q.val() {
            if self.shifted6.q.val().get_bit(55) {
                if !self.shifted6.q.val().get_bits::<41>(15).all() {
                    self.out7.d.next = self.i16_min.val();
                }
            } else if self.shifted6.q.val().get_bits::<41>(15).any() {
                self.out7.d.next = self.i16_max.val();
            }
        } else {
            if self.shifted6.q.val().get_bit(55) {
                if !self.shifted6.q.val().get_bits::<49>(7).all() {
                    self.out7.d.next = self.i8_min.val();
                }
            } else if self.shifted6.q.val().get_bits::<49>(7).any() {
                self.out7.d.next = self.i8_max.val();
            }
        }
        self.y.next = self.out7.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spec::numerics::{requant_i16, requant_i8, Dyadic};

    /// One case: (acc, row scale, m, s, wide).
    type Case = (i32, i8, u16, u8, bool);

    /// `spec::numerics::requant_i8`/`requant_i16` of `acc * rs`, as the GEMM contract says.
    fn spec_requant(&(acc, rs, m, s, wide): &Case) -> i16 {
        let (v, d) = (acc as i64 * rs as i64, Dyadic { m, s });
        if wide {
            requant_i16(v, d)
        } else {
            requant_i8(v, d) as i16
        }
    }

    /// Every row scale against the extreme accumulators at every shift class (no shift, mid,
    /// the last shifts the datapath computes, the ones it answers 0 for), then random cases
    /// over every shift `0..=62`: the lane equals `spec::numerics`.
    #[test]
    fn lane_matches_spec_requant() {
        let mut cases: Vec<Case> = Vec::new();
        for rs in i8::MIN..=i8::MAX {
            for (k, acc) in [i32::MIN, i32::MAX, -1, 0, 1, -3].into_iter().enumerate() {
                for (j, s) in [0u8, 1, 15, 31, 53, 54, 55, 62].into_iter().enumerate() {
                    cases.push((
                        acc,
                        rs,
                        [32767, 1, 16384][(k + j) % 3],
                        s,
                        (k + j + rs as u8 as usize).is_multiple_of(2),
                    ));
                }
            }
        }
        let mut rng = crate::testkit::Rng::new(0x1234_5678_9abc_def0);
        for _ in 0..6000 {
            // An accumulator of random magnitude.
            let acc = (rng.next() as i64 as i32) >> rng.below(32);
            let m = rng.below(1 << 15) as u16;
            cases.push((acc, rng.next() as i8, m, rng.below(63) as u8, rng.chance(50)));
        }
        let expected: Vec<i16> = cases.iter().map(spec_requant).collect();
        let mut uut = RequantLane::default();
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<RequantLane>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<RequantLane>| {
            let mut x = ep.init()?;
            for t in 0..cases.len() + REQUANT_LATENCY - 1 {
                if let Some(&(acc, rs, m, s, wide)) = cases.get(t) {
                    x.acc.next = (acc as u32 as u64).into();
                    x.scale.next = (rs as u8 as u64).into();
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
        sim.run(Box::new(uut), 100_000_000).unwrap();
    }

    #[test]
    fn lane_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut RequantLane::default(), "requant");
        crate::verilog::lint(&v, "requant").unwrap();
    }
}
