//! The selector's column pass, shared by COLMEAN and the SELECT package token: per word group
//! `k` of `R` channels, `L` row reads accumulate `sum_t weight_t x[t][c]` in the `R` lanes
//! ([`LaneArray`]), the [`RoundDivider`] divides lane by lane, and the group's results are
//! written.
//!
//! * COLMEAN (`go_colmean`): weight 1, int8 values from `in_lo_bank`; `g[c] = div_round(sum, L)`
//!   is broadcast to every output row (byte enables `c < n`; a group is written only after all
//!   its rows were read, so the output may be the input); live lanes add `g[c]` to the sum of
//!   means, and after the last group `div_round(sum g, n)` goes to byte `aux` from `par_addr`
//!   of `par_bank`.
//! * Package (`go_package`): the token RAM's weight (0 for a kept token), int16 values from the
//!   two byte planes (port 0 `in_lo_bank`, port 1 `in_hi_bank`), divided by `total`; the low
//!   then the high plane word of row `L` is written.
//!
//! `finish` is high in the cycle of the last write.

use super::divider::RoundDivider;
use super::lane::LaneArray;
use super::{ACC_BITS, TOTAL_BITS};
use crate::storage::SP_ADDR_BITS;
use crate::widen::{Extend, Pack, PackBits};
use rust_hdl::prelude::*;

const IDLE: u64 = 0;
const ISSUE: u64 = 1;
const WAIT: u64 = 2;
const DIV_LOAD: u64 = 3;
const DIV_STEP: u64 = 4;
const PACKAGE_LO: u64 = 5;
const PACKAGE_HI: u64 = 6;
const MEANS_OUT: u64 = 7;
const MEAN_OUT: u64 = 8;

/// The column pass of an `R = BE`-lane selector with `W = 8R`-bit words.
#[derive(LogicBlock)]
pub struct ColumnPass<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: idle, nothing in flight.
    pub reset: Signal<In, Bit>,
    /// Start a COLMEAN.
    pub go_colmean: Signal<In, Bit>,
    /// Start the package pass of a SELECT.
    pub go_package: Signal<In, Bit>,
    /// The engine is busy (lanes accumulate only then).
    pub busy: Signal<In, Bit>,
    /// The op is SELECT (int16 weighted values) rather than COLMEAN.
    pub sel: Signal<In, Bit>,
    /// Rows `L`.
    pub rows: Signal<In, Bits<16>>,
    /// Channels `n`.
    pub n: Signal<In, Bits<16>>,
    /// Words per row, `ceil(n/R)`.
    pub words: Signal<In, Bits<16>>,
    /// Word of input row 0.
    pub in_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Words between input rows.
    pub in_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Word of output row 0 (COLMEAN).
    pub out_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Words between output rows (COLMEAN).
    pub out_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Word of the mean byte (COLMEAN).
    pub par_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Byte of the mean from `par_addr` (COLMEAN).
    pub aux: Signal<In, Bits<16>>,
    /// Sum of the package weights (SELECT).
    pub total: Signal<In, Bits<TOTAL_BITS>>,
    /// Bank of the input (the low plane).
    pub in_lo_bank: Signal<In, Bits<4>>,
    /// Bank of the high plane (SELECT).
    pub in_hi_bank: Signal<In, Bits<4>>,
    /// Bank of the output rows (COLMEAN).
    pub out_bank: Signal<In, Bits<4>>,
    /// Bank of the mean byte (COLMEAN).
    pub par_bank: Signal<In, Bits<4>>,
    /// Read port 0 data.
    pub rd0_data: Signal<In, Bits<W>>,
    /// Read port 1 data.
    pub rd1_data: Signal<In, Bits<W>>,
    /// Package weight in the token RAM entry at the previous cycle's token address.
    pub tok_weight: Signal<In, Bits<22>>,
    /// Read `rd_addr` on both ports this cycle.
    pub rd_en: Signal<Out, Bit>,
    /// Read address.
    pub rd_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Read token `tok_addr`'s entry this cycle.
    pub tok_set: Signal<Out, Bit>,
    /// Token address.
    pub tok_addr: Signal<Out, Bits<16>>,
    /// Write this cycle.
    pub wr_en: Signal<Out, Bit>,
    /// Write bank.
    pub wr_bank: Signal<Out, Bits<4>>,
    /// Write address.
    pub wr_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Write data.
    pub wr_data: Signal<Out, Bits<W>>,
    /// Write byte enables.
    pub wr_be: Signal<Out, Bits<BE>>,
    /// The last cycle of the pass.
    pub finish: Signal<Out, Bit>,

    lanes: LaneArray<W, BE>,
    divider: RoundDivider,
    phase: DFF<Bits<4>>,
    row_addr: DFF<Bits<SP_ADDR_BITS>>,
    group_addr: DFF<Bits<SP_ADDR_BITS>>,
    out_group_addr: DFF<Bits<SP_ADDR_BITS>>,
    out_row_addr: DFF<Bits<SP_ADDR_BITS>>,
    rows_left: DFF<Bits<16>>,
    token: DFF<Bits<16>>,
    wait_left: DFF<Bits<2>>,
    group: DFF<Bits<16>>,
    channels_left: DFF<Bits<16>>,
    div_lane: DFF<Bits<8>>,
    div_mean: DFF<Bit>,
    mean_sum: DFF<Bits<64>>,
    divisor: DFF<Bits<64>>,
    mean_byte: DFF<Bits<8>>,
    p1_valid: DFF<Bit>,
    p1_first: DFF<Bit>,
    p1_token: DFF<Bits<16>>,
    p2_valid: DFF<Bit>,
    p2_first: DFF<Bit>,

    ext_aux_word: Extend<SP_ADDR_BITS, 16>,
    ext_rows64: Extend<64, 16>,
    ext_n64: Extend<64, 16>,
    ext_total64: Extend<64, TOTAL_BITS>,
    ext_acc64: Extend<64, ACC_BITS>,
    ext_q64: Extend<64, 16>,
    mean_pack: Pack<W>,
    live_pack: PackBits<BE>,
    mean_be_pack: PackBits<BE>,
    aux_lane: Signal<Local, Bits<16>>,
    lane_live: Signal<Local, Bit>,

    p_idle: Constant<Bits<4>>,
    p_issue: Constant<Bits<4>>,
    p_wait: Constant<Bits<4>>,
    p_div_load: Constant<Bits<4>>,
    p_div_step: Constant<Bits<4>>,
    p_package_lo: Constant<Bits<4>>,
    p_package_hi: Constant<Bits<4>>,
    p_means_out: Constant<Bits<4>>,
    p_mean_out: Constant<Bits<4>>,
    byte_col: Vec<Constant<Bits<16>>>,
    c_r16: Constant<Bits<16>>,
    c_rm1_16: Constant<Bits<16>>,
    c_lr16: Constant<Bits<16>>,
    c_rm1_8: Constant<Bits<8>>,
    c_zero8: Constant<Bits<8>>,
    c_zero16: Constant<Bits<16>>,
    c_one16: Constant<Bits<16>>,
    c_zero64: Constant<Bits<64>>,
    c_zero2: Constant<Bits<2>>,
    c_one2: Constant<Bits<2>>,
    c_one22: Constant<Bits<22>>,
    _r: usize,
}

impl<const W: usize, const BE: usize> Default for ColumnPass<W, BE> {
    fn default() -> Self {
        let rows = BE;
        let c16 = |v: u64| Constant::new(Bits::<16>::from(v));
        let c4 = |v: u64| Constant::new(Bits::<4>::from(v));
        ColumnPass {
            clock: Signal::default(),
            reset: Signal::default(),
            go_colmean: Signal::default(),
            go_package: Signal::default(),
            busy: Signal::default(),
            sel: Signal::default(),
            rows: Signal::default(),
            n: Signal::default(),
            words: Signal::default(),
            in_addr: Signal::default(),
            in_stride: Signal::default(),
            out_addr: Signal::default(),
            out_stride: Signal::default(),
            par_addr: Signal::default(),
            aux: Signal::default(),
            total: Signal::default(),
            in_lo_bank: Signal::default(),
            in_hi_bank: Signal::default(),
            out_bank: Signal::default(),
            par_bank: Signal::default(),
            rd0_data: Signal::default(),
            rd1_data: Signal::default(),
            tok_weight: Signal::default(),
            rd_en: Signal::default(),
            rd_addr: Signal::default(),
            tok_set: Signal::default(),
            tok_addr: Signal::default(),
            wr_en: Signal::default(),
            wr_bank: Signal::default(),
            wr_addr: Signal::default(),
            wr_data: Signal::default(),
            wr_be: Signal::default(),
            finish: Signal::default(),
            lanes: LaneArray::default(),
            divider: RoundDivider::default(),
            phase: DFF::default(),
            row_addr: DFF::default(),
            group_addr: DFF::default(),
            out_group_addr: DFF::default(),
            out_row_addr: DFF::default(),
            rows_left: DFF::default(),
            token: DFF::default(),
            wait_left: DFF::default(),
            group: DFF::default(),
            channels_left: DFF::default(),
            div_lane: DFF::default(),
            div_mean: DFF::default(),
            mean_sum: DFF::default(),
            divisor: DFF::default(),
            mean_byte: DFF::default(),
            p1_valid: DFF::default(),
            p1_first: DFF::default(),
            p1_token: DFF::default(),
            p2_valid: DFF::default(),
            p2_first: DFF::default(),
            ext_aux_word: Extend::new(false),
            ext_rows64: Extend::new(false),
            ext_n64: Extend::new(false),
            ext_total64: Extend::new(false),
            ext_acc64: Extend::new(true),
            ext_q64: Extend::new(true),
            mean_pack: Pack::default(),
            live_pack: PackBits::default(),
            mean_be_pack: PackBits::default(),
            aux_lane: Signal::default(),
            lane_live: Signal::default(),
            p_idle: c4(IDLE),
            p_issue: c4(ISSUE),
            p_wait: c4(WAIT),
            p_div_load: c4(DIV_LOAD),
            p_div_step: c4(DIV_STEP),
            p_package_lo: c4(PACKAGE_LO),
            p_package_hi: c4(PACKAGE_HI),
            p_means_out: c4(MEANS_OUT),
            p_mean_out: c4(MEAN_OUT),
            byte_col: (0..rows).map(|l| c16(l as u64)).collect(),
            c_r16: c16(rows as u64),
            c_rm1_16: c16(rows as u64 - 1),
            c_lr16: c16(rows.trailing_zeros() as u64),
            c_rm1_8: Constant::new((rows as u64 - 1).into()),
            c_zero8: Constant::new(0u64.into()),
            c_zero16: c16(0),
            c_one16: c16(1),
            c_zero64: Constant::new(0u64.into()),
            c_zero2: Constant::new(0u64.into()),
            c_one2: Constant::new(1u64.into()),
            c_one22: Constant::new(1u64.into()),
            _r: rows,
        }
    }
}

impl<const W: usize, const BE: usize> Logic for ColumnPass<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            phase,
            row_addr,
            group_addr,
            out_group_addr,
            out_row_addr,
            rows_left,
            token,
            wait_left,
            group,
            channels_left,
            div_lane,
            div_mean,
            mean_sum,
            divisor,
            mean_byte,
            p1_valid,
            p1_first,
            p1_token,
            p2_valid,
            p2_first
        );
        self.divider.clock.next = self.clock.val();
        self.ext_aux_word.din.next = self.aux.val() >> self.c_lr16.val();
        self.aux_lane.next = self.aux.val() & self.c_rm1_16.val();
        self.ext_rows64.din.next = self.rows.val();
        self.ext_n64.din.next = self.n.val();
        self.ext_total64.din.next = self.total.val();

        // Lanes: the row read two cycles ago, weighted by its token's entry (SELECT) or 1.
        self.p1_valid.d.next = false;
        self.p2_valid.d.next = self.p1_valid.q.val();
        self.p2_first.d.next = self.p1_first.q.val();
        self.tok_set.next = self.p1_valid.q.val();
        self.tok_addr.next = self.p1_token.q.val();
        self.lanes.clock.next = self.clock.val();
        self.lanes.lo_word.next = self.rd0_data.val();
        self.lanes.hi_word.next = self.rd1_data.val();
        self.lanes.wide.next = self.sel.val();
        self.lanes.weight.next = self.c_one22.val();
        if self.sel.val() {
            self.lanes.weight.next = self.tok_weight.val();
        }
        self.lanes.en.next = self.p2_valid.q.val() && self.busy.val();
        self.lanes.clr.next = self.p2_first.q.val();
        self.lanes.pick.next = self.div_lane.q.val();
        self.lanes.store.next = false;
        self.lanes.result.next = self.divider.quotient.val();

        // Divider input: lane div_lane's sum (or, for the COLMEAN mean byte, the sum of means).
        self.lane_live.next = false;
        for l in 0..self._r {
            if self.div_lane.q.val().index() == l {
                self.lane_live.next = self.channels_left.q.val() > self.byte_col[l].val();
            }
        }
        self.ext_acc64.din.next = self.lanes.picked.val();
        self.divider.dividend.next = self.ext_acc64.dout.val();
        if self.div_mean.q.val() {
            self.divider.dividend.next = self.mean_sum.q.val();
        }
        self.divider.divisor.next = self.divisor.q.val();
        self.divider.load.next = false;
        self.divider.step.next = false;
        self.ext_q64.din.next = self.divider.quotient.val();

        // Write words: the lanes' results (low/high byte), byte enables for channels < n.
        for l in 0..self._r {
            self.mean_pack.lanes[l].next = self.mean_byte.q.val();
            self.live_pack.lanes[l].next = self.channels_left.q.val() > self.byte_col[l].val();
            self.mean_be_pack.lanes[l].next = self.aux_lane.val() == self.byte_col[l].val();
        }
        self.rd_en.next = false;
        self.rd_addr.next = self.row_addr.q.val();
        self.wr_en.next = false;
        self.wr_bank.next = self.in_lo_bank.val();
        self.wr_addr.next = self.row_addr.q.val();
        self.wr_data.next = self.lanes.lo_results.val();
        self.wr_be.next = self.live_pack.dout.val();
        self.finish.next = false;

        if self.phase.q.val() == self.p_issue.val() {
            // One row of the word group per cycle (both planes for SELECT).
            self.rd_en.next = true;
            self.p1_valid.d.next = true;
            self.p1_first.d.next = self.token.q.val() == self.c_zero16.val();
            self.p1_token.d.next = self.token.q.val();
            self.token.d.next = self.token.q.val() + 1;
            self.row_addr.d.next = self.row_addr.q.val() + self.in_stride.val();
            self.rows_left.d.next = self.rows_left.q.val() - 1;
            if self.rows_left.q.val() == self.c_one16.val() {
                self.phase.d.next = self.p_wait.val();
                self.wait_left.d.next = self.c_one2.val();
            }
        } else if self.phase.q.val() == self.p_wait.val() {
            self.wait_left.d.next = self.wait_left.q.val() - 1;
            if self.wait_left.q.val() == self.c_zero2.val() {
                self.phase.d.next = self.p_div_load.val();
                self.div_lane.d.next = self.c_zero8.val();
                self.div_mean.d.next = false;
            }
        } else if self.phase.q.val() == self.p_div_load.val() {
            self.divider.load.next = true;
            self.phase.d.next = self.p_div_step.val();
        } else if self.phase.q.val() == self.p_div_step.val() {
            self.divider.step.next = true;
            if self.divider.last.val() {
                if self.div_mean.q.val() {
                    self.mean_byte.d.next = self.divider.quotient.val().get_bits::<8>(0);
                    self.phase.d.next = self.p_mean_out.val();
                } else {
                    self.lanes.store.next = true;
                    if !self.sel.val() && self.lane_live.val() {
                        self.mean_sum.d.next = self.mean_sum.q.val() + self.ext_q64.dout.val();
                    }
                    if self.div_lane.q.val() == self.c_rm1_8.val() {
                        if self.sel.val() {
                            self.phase.d.next = self.p_package_lo.val();
                        } else {
                            self.phase.d.next = self.p_means_out.val();
                            self.rows_left.d.next = self.rows.val();
                            self.out_row_addr.d.next = self.out_group_addr.q.val();
                        }
                    } else {
                        self.div_lane.d.next = self.div_lane.q.val() + 1;
                        self.phase.d.next = self.p_div_load.val();
                    }
                }
            }
        } else if self.phase.q.val() == self.p_package_lo.val() {
            // Package word k, low plane (row_addr points at row L, word k).
            self.wr_en.next = true;
            self.phase.d.next = self.p_package_hi.val();
        } else if self.phase.q.val() == self.p_package_hi.val() {
            self.wr_en.next = true;
            self.wr_bank.next = self.in_hi_bank.val();
            self.wr_data.next = self.lanes.hi_results.val();
            self.group.d.next = self.group.q.val() + 1;
            self.channels_left.d.next = self.channels_left.q.val() - self.c_r16.val();
            if (self.group.q.val() + 1) == self.words.val() {
                self.finish.next = true;
                self.phase.d.next = self.p_idle.val();
            } else {
                self.phase.d.next = self.p_issue.val();
                self.group_addr.d.next = self.group_addr.q.val() + 1;
                self.row_addr.d.next = self.group_addr.q.val() + 1;
                self.token.d.next = self.c_zero16.val();
                self.rows_left.d.next = self.rows.val();
            }
        } else if self.phase.q.val() == self.p_means_out.val() {
            // COLMEAN: broadcast the group's means to every output row.
            self.wr_en.next = true;
            self.wr_bank.next = self.out_bank.val();
            self.wr_addr.next = self.out_row_addr.q.val();
            self.out_row_addr.d.next = self.out_row_addr.q.val() + self.out_stride.val();
            self.rows_left.d.next = self.rows_left.q.val() - 1;
            if self.rows_left.q.val() == self.c_one16.val() {
                self.group.d.next = self.group.q.val() + 1;
                self.channels_left.d.next = self.channels_left.q.val() - self.c_r16.val();
                if (self.group.q.val() + 1) == self.words.val() {
                    self.phase.d.next = self.p_div_load.val();
                    self.div_mean.d.next = true;
                    self.divisor.d.next = self.ext_n64.dout.val();
                } else {
                    self.phase.d.next = self.p_issue.val();
                    self.group_addr.d.next = self.group_addr.q.val() + 1;
                    self.out_group_addr.d.next = self.out_group_addr.q.val() + 1;
                    self.row_addr.d.next = self.group_addr.q.val() + 1;
                    self.token.d.next = self.c_zero16.val();
                    self.rows_left.d.next = self.rows.val();
                }
            }
        } else if self.phase.q.val() == self.p_mean_out.val() {
            // COLMEAN: the mean of the means.
            self.wr_en.next = true;
            self.wr_bank.next = self.par_bank.val();
            self.wr_addr.next = self.par_addr.val() + self.ext_aux_word.dout.val();
            self.wr_data.next = self.mean_pack.dout.val();
            self.wr_be.next = self.mean_be_pack.dout.val();
            self.finish.next = true;
            self.phase.d.next = self.p_idle.val();
        }

        if self.go_colmean.val() || self.go_package.val() {
            self.phase.d.next = self.p_issue.val();
            self.row_addr.d.next = self.in_addr.val();
            self.group_addr.d.next = self.in_addr.val();
            self.rows_left.d.next = self.rows.val();
            self.token.d.next = self.c_zero16.val();
            self.group.d.next = self.c_zero16.val();
            self.channels_left.d.next = self.n.val();
            self.div_mean.d.next = false;
            self.div_lane.d.next = self.c_zero8.val();
            self.divisor.d.next = self.ext_total64.dout.val();
        }
        if self.go_colmean.val() {
            self.out_group_addr.d.next = self.out_addr.val();
            self.divisor.d.next = self.ext_rows64.dout.val();
            self.mean_sum.d.next = self.c_zero64.val();
        }
        if self.reset.val() {
            self.phase.d.next = self.p_idle.val();
            self.p1_valid.d.next = false;
            self.p2_valid.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block alone (R = 8 and R = 64) generates Verilog that `verilator -Wall` accepts;
    /// its behaviour is checked through the whole engine (`select/tests.rs`).
    #[test]
    fn column_pass_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut ColumnPass::<64, 8>::default(), "column_pass");
        crate::verilog::lint(&v, "column_pass").unwrap();
        let v = crate::verilog::generate(&mut ColumnPass::<512, 64>::default(), "column_pass");
        crate::verilog::lint(&v, "column_pass").unwrap();
    }
}
