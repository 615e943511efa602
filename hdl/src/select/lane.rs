//! The selector's multiply-accumulate lanes: COLMEAN sums int8 values (weight 1), the
//! SELECT package sums weighted int16 values.

use super::divider::RoundDivider;
use super::fold::{Replicate, SliceBytes, FOLD_SEL_BITS};
use super::{ACC_BITS, DIV_BITS};
use crate::arith::MulS;
use crate::widen::{Concat, Extend};
use rust_hdl::prelude::*;

/// One lane: `acc = (clr ? 0 : acc) + w * x` when `en`, with `x` the int16 `{hi, lo}` (`wide`)
/// or the int8 `lo`, and `w` a non-negative weight.
#[derive(LogicBlock)]
pub struct SelLane {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Low byte (or the int8 value).
    pub lo: Signal<In, Bits<8>>,
    /// High byte.
    pub hi: Signal<In, Bits<8>>,
    /// `x = {hi, lo}` (int16) instead of the sign-extended `lo`.
    pub wide: Signal<In, Bit>,
    /// Weight (`< 2^21`, zero-extended).
    pub w: Signal<In, Bits<22>>,
    /// Accumulate this cycle.
    pub en: Signal<In, Bit>,
    /// Start a new sum with this term.
    pub clr: Signal<In, Bit>,
    /// The sum (two's complement).
    pub acc: Signal<Out, Bits<ACC_BITS>>,
    x16: Concat<8, 8, 16>,
    sx: Extend<16, 8>,
    xs: Signal<Local, Bits<16>>,
    mul: MulS<22, 16, 38>,
    ext: Extend<ACC_BITS, 38>,
    base: Signal<Local, Bits<ACC_BITS>>,
    a: DFF<Bits<ACC_BITS>>,
    zero: Constant<Bits<ACC_BITS>>,
}

impl Default for SelLane {
    fn default() -> Self {
        SelLane {
            clock: Signal::default(),
            lo: Signal::default(),
            hi: Signal::default(),
            wide: Signal::default(),
            w: Signal::default(),
            en: Signal::default(),
            clr: Signal::default(),
            acc: Signal::default(),
            x16: Concat::default(),
            sx: Extend::new(true),
            xs: Signal::default(),
            mul: MulS::default(),
            ext: Extend::new(true),
            base: Signal::default(),
            a: DFF::default(),
            zero: Constant::new(0u64.into()),
        }
    }
}

impl Logic for SelLane {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, a);
        Signal::<Out, Bits<ACC_BITS>>::link(&mut self.acc, &mut self.a.q);
        self.x16.hi.next = self.hi.val();
        self.x16.lo.next = self.lo.val();
        self.sx.din.next = self.lo.val();
        self.xs.next = self.sx.dout.val();
        if self.wide.val() {
            self.xs.next = self.x16.dout.val();
        }
        self.mul.a.next = self.w.val();
        self.mul.b.next = self.xs.val();
        self.ext.din.next = self.mul.p.val();
        self.base.next = self.a.q.val();
        if self.clr.val() {
            self.base.next = self.zero.val();
        }
        if self.en.val() {
            self.a.d.next = self.base.val() + self.ext.dout.val();
        }
    }
}

/// The `N` lanes of the column pass (`N` divides `R`), each with its own [`RoundDivider`] (all
/// dividing by one divisor at once), and their results: lane `l` takes byte `l` of slice `slice`
/// of the read words (byte `slice N + l`; [`super::fold`]); `store` keeps every lane's quotient
/// as its result; the results leave as a low-byte and a high-byte word (lane `l` in byte `l` of
/// every slice), and lane `pick`'s result alone on `picked`. Lane 0's divider also divides the
/// sum of means (`div_mean`).
#[derive(LogicBlock)]
pub struct LaneArray<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Low byte plane word (or the int8 values).
    pub lo_word: Signal<In, Bits<W>>,
    /// High byte plane word.
    pub hi_word: Signal<In, Bits<W>>,
    /// The slice of the words the lanes take.
    pub slice: Signal<In, Bits<FOLD_SEL_BITS>>,
    /// int16 values `{hi, lo}` instead of int8.
    pub wide: Signal<In, Bit>,
    /// Weight of this row (every lane).
    pub weight: Signal<In, Bits<22>>,
    /// Accumulate this cycle.
    pub en: Signal<In, Bit>,
    /// Start new sums with this row.
    pub clr: Signal<In, Bit>,
    /// Load every divider with its lane's sum (lane 0: `mean_dividend` when `div_mean`).
    pub div_load: Signal<In, Bit>,
    /// Every divider produces one quotient bit this cycle.
    pub div_step: Signal<In, Bit>,
    /// The divisor (`> 0`) of every lane.
    pub divisor: Signal<In, Bits<DIV_BITS>>,
    /// Lane 0 divides `mean_dividend` instead of its sum.
    pub div_mean: Signal<In, Bit>,
    /// The sum of means (two's complement).
    pub mean_dividend: Signal<In, Bits<DIV_BITS>>,
    /// The dividers' step of this cycle is their last (the quotients are valid).
    pub div_last: Signal<Out, Bit>,
    /// The low byte of lane 0's quotient (valid with `div_last`): the mean of the means.
    pub quotient0: Signal<Out, Bits<8>>,
    /// Keep every lane's quotient as its result.
    pub store: Signal<In, Bit>,
    /// The lane whose result `picked` shows.
    pub pick: Signal<In, Bits<8>>,
    /// Lane `pick`'s result (int16).
    pub picked: Signal<Out, Bits<16>>,
    /// The results' low bytes, lane `l` in byte `l` of every slice.
    pub lo_results: Signal<Out, Bits<W>>,
    /// The results' high bytes.
    pub hi_results: Signal<Out, Bits<W>>,
    lane: Vec<SelLane>,
    dividers: Vec<RoundDivider>,
    ext_acc: Vec<Extend<DIV_BITS, ACC_BITS>>,
    /// Lane `pick`'s result, selected (the port is assigned once per evaluation).
    picked_result: Signal<Local, Bits<16>>,
    all_last: Signal<Local, Bit>,
    results: Vec<DFF<Bits<16>>>,
    lo_in: SliceBytes<W>,
    hi_in: SliceBytes<W>,
    lo_pack: Replicate<W>,
    hi_pack: Replicate<W>,
    _r: usize,
}

impl<const W: usize, const BE: usize> LaneArray<W, BE> {
    /// `lanes` lanes (a power of two dividing `R = BE` at most 16 times).
    pub fn new(lanes: usize) -> Self {
        assert!(lanes.is_power_of_two() && BE.is_multiple_of(lanes), "{lanes} lanes for {BE}-byte words");
        LaneArray {
            clock: Signal::default(),
            lo_word: Signal::default(),
            hi_word: Signal::default(),
            slice: Signal::default(),
            wide: Signal::default(),
            weight: Signal::default(),
            en: Signal::default(),
            clr: Signal::default(),
            div_load: Signal::default(),
            div_step: Signal::default(),
            divisor: Signal::default(),
            div_mean: Signal::default(),
            mean_dividend: Signal::default(),
            div_last: Signal::default(),
            quotient0: Signal::default(),
            store: Signal::default(),
            pick: Signal::default(),
            picked: Signal::default(),
            lo_results: Signal::default(),
            hi_results: Signal::default(),
            lane: (0..lanes).map(|_| SelLane::default()).collect(),
            dividers: (0..lanes).map(|_| RoundDivider::default()).collect(),
            ext_acc: (0..lanes).map(|_| Extend::new(true)).collect(),
            picked_result: Signal::default(),
            all_last: Signal::default(),
            results: (0..lanes).map(|_| DFF::default()).collect(),
            lo_in: SliceBytes::new(lanes),
            hi_in: SliceBytes::new(lanes),
            lo_pack: Replicate::new(lanes),
            hi_pack: Replicate::new(lanes),
            _r: lanes,
        }
    }
}

impl<const W: usize, const BE: usize> Logic for LaneArray<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        Signal::<Out, Bits<W>>::link(&mut self.lo_results, &mut self.lo_pack.dout);
        Signal::<Out, Bits<W>>::link(&mut self.hi_results, &mut self.hi_pack.dout);
        self.quotient0.next = self.dividers[0].quotient.val().get_bits::<8>(0);
        // Every divider steps in lock step: their `last` agree.
        self.all_last.next = true;
        self.picked_result.next = self.results[0].q.val();
        self.lo_in.din.next = self.lo_word.val();
        self.lo_in.sel.next = self.slice.val();
        self.hi_in.din.next = self.hi_word.val();
        self.hi_in.sel.next = self.slice.val();
        for l in 0..self._r {
            self.lane[l].clock.next = self.clock.val();
            self.lane[l].lo.next = self.lo_in.bytes[l].val();
            self.lane[l].hi.next = self.hi_in.bytes[l].val();
            self.lane[l].wide.next = self.wide.val();
            self.lane[l].w.next = self.weight.val();
            self.lane[l].en.next = self.en.val();
            self.lane[l].clr.next = self.clr.val();
            self.ext_acc[l].din.next = self.lane[l].acc.val();
            self.dividers[l].clock.next = self.clock.val();
            self.dividers[l].load.next = self.div_load.val();
            self.dividers[l].step.next = self.div_step.val();
            self.dividers[l].divisor.next = self.divisor.val();
            self.dividers[l].dividend.next = self.ext_acc[l].dout.val();
            self.all_last.next = self.all_last.val() && self.dividers[l].last.val();
            self.results[l].clock.next = self.clock.val();
            self.results[l].d.next = self.results[l].q.val();
            if self.store.val() {
                self.results[l].d.next = self.dividers[l].quotient.val();
            }
            if self.pick.val().index() == l {
                self.picked_result.next = self.results[l].q.val();
            }
            self.lo_pack.bytes[l].next = self.results[l].q.val().get_bits::<8>(0);
            self.hi_pack.bytes[l].next = self.results[l].q.val().get_bits::<8>(8);
        }
        if self.div_mean.val() {
            self.dividers[0].dividend.next = self.mean_dividend.val();
        }
        self.picked.next = self.picked_result.val();
        self.div_last.next = self.all_last.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Rng;

    /// Random operand sequences (int8 and int16 values, weights up to `2^21 - 1`, restarts,
    /// idle cycles): the accumulator equals the sum computed with `i64` arithmetic, modulo
    /// `2^48`.
    #[test]
    fn lane_accumulates_weighted_values() {
        let mut uut = SelLane::default();
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<SelLane>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<SelLane>| {
            let mut x = ep.init()?;
            let mut rng = Rng::new(0x1a4e);
            let mut model = 0i64;
            for step in 0..3000 {
                let (lo, hi) = (rng.next() as u8, rng.next() as u8);
                let wide = rng.below(2) == 1;
                let w = match rng.below(4) {
                    0 => (1 << 21) - 1,
                    1 => 1,
                    _ => rng.below(1 << 21),
                };
                let (en, clr) = (rng.below(4) != 0, step == 0 || rng.below(8) == 0);
                x.lo.next = (lo as u64).into();
                x.hi.next = (hi as u64).into();
                x.wide.next = wide;
                x.w.next = w.into();
                x.en.next = en;
                x.clr.next = clr;
                wait_clock_cycle!(ep, clock, x);
                let v = if wide { i16::from_le_bytes([lo, hi]) as i64 } else { lo as i8 as i64 };
                if en {
                    model = if clr { 0 } else { model } + w as i64 * v;
                }
                sim_assert_eq!(ep, x.acc.val().to_u64(), model as u64 & ((1 << ACC_BITS) - 1), x);
            }
            ep.done(x)
        });
        sim.run(Box::new(uut), 1 << 30).unwrap();
    }
}
