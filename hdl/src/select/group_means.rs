//! The arithmetic of the column pass for one channel group: the rows read enter the [`LaneArray`]
//! two cycles after their read (the token RAM's weight is read in between), then every lane's
//! divider divides its sum at once (by `rows` for COLMEAN, by `total` for the package), and the
//! quotients are kept as the lanes' results. COLMEAN then adds the quotients of live lanes
//! (`l < channels_left`) to a sum of means, one lane per cycle, which `start_mean` divides by `n`
//! (in lane 0's divider) into `mean_word` after the last group.
//!
//! Every output is assigned once per evaluation: `store`, `lanes_done` and `mean_done` are one
//! expression each of registers and the divider's `last`.

use super::fold::{BitsAt, FOLD_SEL_BITS};
use super::lane::LaneArray;
use super::{DIV_BITS, TOTAL_BITS};
use crate::widen::{Extend, Pack, PackBits};
use rust_hdl::prelude::*;

/// The lanes and the divider of an `R = BE`-lane column pass with `W = 8R`-bit words.
#[derive(LogicBlock)]
pub struct GroupMeans<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: no row in flight, no division running.
    pub reset: Signal<In, Bit>,
    /// The engine is busy (lanes accumulate only then).
    pub busy: Signal<In, Bit>,
    /// SELECT: int16 values weighted by the token RAM; otherwise int8 values of weight 1.
    pub sel: Signal<In, Bit>,
    /// A row of the group is read this cycle.
    pub issue: Signal<In, Bit>,
    /// The row read this cycle is the group's first (the lanes start new sums with it).
    pub first: Signal<In, Bit>,
    /// Token of the row read this cycle.
    pub token: Signal<In, Bits<16>>,
    /// Read port 0 data (the low plane).
    pub rd0_data: Signal<In, Bits<W>>,
    /// Read port 1 data (the high plane).
    pub rd1_data: Signal<In, Bits<W>>,
    /// Package weight in the token RAM entry at the previous cycle's `tok_addr`.
    pub tok_weight: Signal<In, Bits<22>>,
    /// Read token `tok_addr`'s entry this cycle.
    pub tok_set: Signal<Out, Bit>,
    /// Token address.
    pub tok_addr: Signal<Out, Bits<16>>,
    /// Channels of this group and the later ones (lane `l` is live when `l < channels_left`).
    pub channels_left: Signal<In, Bits<16>>,
    /// The slice of the words this group is (lane `l` takes byte `slice N + l`).
    pub slice: Signal<In, Bits<FOLD_SEL_BITS>>,
    /// Rows `L` (COLMEAN's divisor).
    pub rows: Signal<In, Bits<16>>,
    /// Channels `n` (the divisor of the mean of the means).
    pub n: Signal<In, Bits<16>>,
    /// COLMEAN: the mean of the means goes to byte `aux` (its lane is `aux mod R`).
    pub aux: Signal<In, Bits<16>>,
    /// Sum of the package weights (the package's divisor).
    pub total: Signal<In, Bits<TOTAL_BITS>>,
    /// A COLMEAN starts: divide by `rows`, clear the sum of means.
    pub go_colmean: Signal<In, Bit>,
    /// A package pass starts: divide by `total`.
    pub go_package: Signal<In, Bit>,
    /// Start dividing the lanes' sums, lane 0 first.
    pub start_lanes: Signal<In, Bit>,
    /// Start dividing the sum of means.
    pub start_mean: Signal<In, Bit>,
    /// The last lane's quotient is kept this cycle.
    pub lanes_done: Signal<Out, Bit>,
    /// The mean of the means is in `mean_word` from the next cycle.
    pub mean_done: Signal<Out, Bit>,
    /// The mean of the means (its low byte) in every byte.
    pub mean_word: Signal<Out, Bits<W>>,
    /// Byte enables of the live lanes (`l < channels_left`) at the group's slice.
    pub live_be: Signal<Out, Bits<BE>>,
    /// Byte enable of the mean of the means (`l == aux mod R`).
    pub mean_be: Signal<Out, Bits<BE>>,
    /// The lanes' results' low bytes, lane `l` in byte `l` of every slice.
    pub lo_results: Signal<Out, Bits<W>>,
    /// Their high bytes.
    pub hi_results: Signal<Out, Bits<W>>,

    lanes: LaneArray<W, BE>,
    p1_valid: DFF<Bit>,
    p1_first: DFF<Bit>,
    p1_token: DFF<Bits<16>>,
    p2_valid: DFF<Bit>,
    p2_first: DFF<Bit>,
    dividing: DFF<Bit>,
    loading: DFF<Bit>,
    summing: DFF<Bit>,
    div_lane: DFF<Bits<8>>,
    div_mean: DFF<Bit>,
    mean_sum: DFF<Bits<DIV_BITS>>,
    mean_r: DFF<Bits<8>>,
    divisor: DFF<Bits<DIV_BITS>>,
    /// `rows`, `n`, `total` and a lane's quotient widened to the dividers' `DIV_BITS` (`_d`).
    ext_rows_d: Extend<DIV_BITS, 16>,
    ext_n_d: Extend<DIV_BITS, 16>,
    ext_total_d: Extend<DIV_BITS, TOTAL_BITS>,
    mean_pack: Pack<W>,
    live_pack: BitsAt<BE>,
    mean_be_pack: PackBits<BE>,
    aux_lane: Signal<Local, Bits<16>>,
    c_rm1_16: Constant<Bits<16>>,
    ext_q_d: Extend<DIV_BITS, 16>,
    lane_live: Signal<Local, Bit>,
    quotient_ready: Signal<Local, Bit>,
    byte_col: Vec<Constant<Bits<16>>>,
    /// The last lane, `N - 1`.
    c_last_lane: Constant<Bits<8>>,
    c_zero8: Constant<Bits<8>>,
    c_zero_d: Constant<Bits<DIV_BITS>>,
    c_one22: Constant<Bits<22>>,
    _r: usize,
    _n: usize,
}

impl<const W: usize, const BE: usize> GroupMeans<W, BE> {
    /// The arithmetic of a column pass with `lanes` lanes on `R = BE`-byte words.
    pub fn new(lanes: usize) -> Self {
        let rows = BE;
        GroupMeans {
            clock: Signal::default(),
            reset: Signal::default(),
            busy: Signal::default(),
            sel: Signal::default(),
            issue: Signal::default(),
            first: Signal::default(),
            token: Signal::default(),
            rd0_data: Signal::default(),
            rd1_data: Signal::default(),
            tok_weight: Signal::default(),
            tok_set: Signal::default(),
            tok_addr: Signal::default(),
            channels_left: Signal::default(),
            slice: Signal::default(),
            rows: Signal::default(),
            n: Signal::default(),
            aux: Signal::default(),
            total: Signal::default(),
            go_colmean: Signal::default(),
            go_package: Signal::default(),
            start_lanes: Signal::default(),
            start_mean: Signal::default(),
            lanes_done: Signal::default(),
            mean_done: Signal::default(),
            mean_word: Signal::default(),
            live_be: Signal::default(),
            mean_be: Signal::default(),
            lo_results: Signal::default(),
            hi_results: Signal::default(),
            lanes: LaneArray::new(lanes),
            p1_valid: DFF::default(),
            p1_first: DFF::default(),
            p1_token: DFF::default(),
            p2_valid: DFF::default(),
            p2_first: DFF::default(),
            dividing: DFF::default(),
            loading: DFF::default(),
            summing: DFF::default(),
            div_lane: DFF::default(),
            div_mean: DFF::default(),
            mean_sum: DFF::default(),
            mean_r: DFF::default(),
            divisor: DFF::default(),
            ext_rows_d: Extend::new(false),
            ext_n_d: Extend::new(false),
            ext_total_d: Extend::new(false),
            mean_pack: Pack::default(),
            live_pack: BitsAt::new(lanes),
            mean_be_pack: PackBits::default(),
            aux_lane: Signal::default(),
            c_rm1_16: Constant::new((rows as u64 - 1).into()),
            ext_q_d: Extend::new(true),
            lane_live: Signal::default(),
            quotient_ready: Signal::default(),
            byte_col: (0..rows).map(|l| Constant::new(Bits::<16>::from(l as u64))).collect(),
            c_last_lane: Constant::new((lanes as u64 - 1).into()),
            c_zero8: Constant::new(0u64.into()),
            c_zero_d: Constant::new(0u64.into()),
            c_one22: Constant::new(1u64.into()),
            _r: rows,
            _n: lanes,
        }
    }
}

impl<const W: usize, const BE: usize> Logic for GroupMeans<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, p1_valid, p1_first, p1_token, p2_valid, p2_first, dividing, loading, summing, div_lane,
            div_mean, mean_sum, mean_r, divisor
        );
        self.lanes.clock.next = self.clock.val();
        self.aux_lane.next = self.aux.val() & self.c_rm1_16.val();
        for l in 0..self._r {
            self.mean_pack.lanes[l].next = self.mean_r.q.val();
            self.mean_be_pack.lanes[l].next = self.aux_lane.val() == self.byte_col[l].val();
        }
        for l in 0..self._n {
            self.live_pack.bits[l].next = self.channels_left.val() > self.byte_col[l].val();
        }
        self.live_pack.sel.next = self.slice.val();
        self.lanes.slice.next = self.slice.val();
        Signal::<Out, Bits<W>>::link(&mut self.mean_word, &mut self.mean_pack.dout);
        Signal::<Out, Bits<BE>>::link(&mut self.live_be, &mut self.live_pack.dout);
        Signal::<Out, Bits<BE>>::link(&mut self.mean_be, &mut self.mean_be_pack.dout);
        Signal::<Out, Bits<W>>::link(&mut self.lo_results, &mut self.lanes.lo_results);
        Signal::<Out, Bits<W>>::link(&mut self.hi_results, &mut self.lanes.hi_results);

        // The row read two cycles ago, weighted by its token's entry (SELECT) or 1.
        self.p1_valid.d.next = self.issue.val();
        self.p2_valid.d.next = self.p1_valid.q.val();
        self.p2_first.d.next = self.p1_first.q.val();
        if self.issue.val() {
            self.p1_first.d.next = self.first.val();
            self.p1_token.d.next = self.token.val();
        }
        self.tok_set.next = self.p1_valid.q.val();
        self.tok_addr.next = self.p1_token.q.val();
        self.lanes.lo_word.next = self.rd0_data.val();
        self.lanes.hi_word.next = self.rd1_data.val();
        self.lanes.wide.next = self.sel.val();
        self.lanes.weight.next = self.c_one22.val();
        if self.sel.val() {
            self.lanes.weight.next = self.tok_weight.val();
        }
        self.lanes.en.next = self.p2_valid.q.val() && self.busy.val();
        self.lanes.clr.next = self.p2_first.q.val();

        // Division: every lane at once (one load cycle, then the dividers' steps), or the sum of
        // means alone in lane 0. COLMEAN then adds the live lanes' quotients to the sum of
        // means, one lane per cycle.
        self.lane_live.next = false;
        for l in 0..self._n {
            if self.div_lane.q.val().index() == l {
                self.lane_live.next = self.channels_left.val() > self.byte_col[l].val();
            }
        }
        self.lanes.divisor.next = self.divisor.q.val();
        self.lanes.div_mean.next = self.div_mean.q.val();
        self.lanes.mean_dividend.next = self.mean_sum.q.val();
        self.lanes.div_load.next = self.dividing.q.val() && self.loading.q.val();
        self.lanes.div_step.next = self.dividing.q.val() && !self.loading.q.val();
        self.quotient_ready.next = self.dividing.q.val() && !self.loading.q.val() && self.lanes.div_last.val();
        self.lanes.store.next = self.quotient_ready.val() && !self.div_mean.q.val();
        self.lanes.pick.next = self.div_lane.q.val();
        self.ext_q_d.din.next = self.lanes.picked.val();
        self.lanes_done.next = (self.quotient_ready.val() && !self.div_mean.q.val() && self.sel.val())
            || (self.summing.q.val() && (self.div_lane.q.val() == self.c_last_lane.val()));
        self.mean_done.next = self.quotient_ready.val() && self.div_mean.q.val();
        self.loading.d.next = false;
        if self.quotient_ready.val() {
            self.dividing.d.next = false;
            if self.div_mean.q.val() {
                self.mean_r.d.next = self.lanes.quotient0.val();
            } else if !self.sel.val() {
                self.summing.d.next = true;
                self.div_lane.d.next = self.c_zero8.val();
            }
        }
        if self.summing.q.val() {
            if self.lane_live.val() {
                self.mean_sum.d.next = self.mean_sum.q.val() + self.ext_q_d.dout.val();
            }
            self.div_lane.d.next = self.div_lane.q.val() + 1;
            if self.div_lane.q.val() == self.c_last_lane.val() {
                self.summing.d.next = false;
            }
        }
        if self.start_lanes.val() || self.start_mean.val() {
            self.dividing.d.next = true;
            self.loading.d.next = true;
            self.div_mean.d.next = self.start_mean.val();
        }
        self.ext_rows_d.din.next = self.rows.val();
        self.ext_n_d.din.next = self.n.val();
        self.ext_total_d.din.next = self.total.val();
        if self.start_mean.val() {
            self.divisor.d.next = self.ext_n_d.dout.val();
        }
        if self.go_package.val() {
            self.divisor.d.next = self.ext_total_d.dout.val();
        }
        if self.go_colmean.val() {
            self.divisor.d.next = self.ext_rows_d.dout.val();
            self.mean_sum.d.next = self.c_zero_d.val();
        }
        if self.reset.val() {
            self.p1_valid.d.next = false;
            self.p2_valid.d.next = false;
            self.dividing.d.next = false;
            self.summing.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block alone (R = 8 and R = 64, one lane per byte and folded) generates Verilog that `verilator -Wall` accepts;
    /// its behaviour is checked through the whole engine (`select/tests.rs`).
    #[test]
    fn group_means_verilog_is_lint_clean() {
        for lanes in [8, 2] {
            let v = crate::verilog::generate(&mut GroupMeans::<64, 8>::new(lanes), "group_means");
            crate::verilog::lint(&v, "group_means").unwrap();
        }
        for lanes in [64, 4] {
            let v = crate::verilog::generate(&mut GroupMeans::<512, 64>::new(lanes), "group_means");
            crate::verilog::lint(&v, "group_means").unwrap();
        }
    }
}
