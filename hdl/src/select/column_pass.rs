//! The selector's column pass, shared by COLMEAN and the SELECT package token: per group of `N`
//! channels (`N` lanes; with `N < R` a word's channels are `R / N` groups, its slices
//! `super::fold`), `L` row reads accumulate `sum_t weight_t x[t][c]` in the lanes, the dividers
//! divide every lane's sum at once (both in [`GroupMeans`]), and the group's results are
//! written with the byte enables of its slice.
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

use super::fold::FOLD_SEL_BITS;
use super::group_means::GroupMeans;
use super::ports::ReadRequest;
use super::TOTAL_BITS;
use crate::bus::SpWriteClient;
use crate::storage::SP_ADDR_BITS;
use crate::widen::Extend;
use rust_hdl::prelude::*;

const IDLE: u64 = 0;
const ISSUE: u64 = 1;
const WAIT: u64 = 2;
const DIVIDE: u64 = 3;
const PACKAGE_LO: u64 = 4;
const PACKAGE_HI: u64 = 5;
const MEANS_OUT: u64 = 6;
const MEAN_OUT: u64 = 7;

/// The column pass of a selector with `W = 8R`-bit words (`R = BE`) and `N` lanes.
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
    /// Channel groups per row, `ceil(n/N)`.
    pub groups: Signal<In, Bits<16>>,
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
    /// Reads, the same address on both ports.
    pub rd: ReadRequest,
    /// Read token `tok_addr`'s entry this cycle.
    pub tok_set: Signal<Out, Bit>,
    /// Token address.
    pub tok_addr: Signal<Out, Bits<16>>,
    /// Writes.
    pub wr: SpWriteClient<W, BE>,
    /// The last cycle of the pass.
    pub finish: Signal<Out, Bit>,

    means: GroupMeans<W, BE>,
    phase: DFF<Bits<4>>,
    /// The slice of the word the group is.
    slice: DFF<Bits<FOLD_SEL_BITS>>,
    row_addr: DFF<Bits<SP_ADDR_BITS>>,
    group_addr: DFF<Bits<SP_ADDR_BITS>>,
    out_group_addr: DFF<Bits<SP_ADDR_BITS>>,
    out_row_addr: DFF<Bits<SP_ADDR_BITS>>,
    rows_left: DFF<Bits<16>>,
    token: DFF<Bits<16>>,
    wait_left: DFF<Bits<2>>,
    group: DFF<Bits<16>>,
    channels_left: DFF<Bits<16>>,

    ext_aux_word: Extend<SP_ADDR_BITS, 16>,
    group_end: Signal<Local, Bit>,
    last_group: Signal<Local, Bit>,

    p_idle: Constant<Bits<4>>,
    p_issue: Constant<Bits<4>>,
    p_wait: Constant<Bits<4>>,
    p_divide: Constant<Bits<4>>,
    p_package_lo: Constant<Bits<4>>,
    p_package_hi: Constant<Bits<4>>,
    p_means_out: Constant<Bits<4>>,
    p_mean_out: Constant<Bits<4>>,
    c_n16: Constant<Bits<16>>,
    c_lr16: Constant<Bits<16>>,
    /// The last slice of a word, `R / N - 1`.
    c_last_slice: Constant<Bits<FOLD_SEL_BITS>>,
    c_zero_slice: Constant<Bits<FOLD_SEL_BITS>>,
    c_zero16: Constant<Bits<16>>,
    c_one16: Constant<Bits<16>>,
    c_zero2: Constant<Bits<2>>,
    c_one2: Constant<Bits<2>>,
}

impl<const W: usize, const BE: usize> ColumnPass<W, BE> {
    /// A pass with `lanes` lanes (a power of two dividing `R = BE` at most 16 times).
    pub fn new(lanes: usize) -> Self {
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
            groups: Signal::default(),
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
            rd: ReadRequest::default(),
            tok_set: Signal::default(),
            tok_addr: Signal::default(),
            wr: SpWriteClient::default(),
            finish: Signal::default(),
            means: GroupMeans::new(lanes),
            phase: DFF::default(),
            slice: DFF::default(),
            row_addr: DFF::default(),
            group_addr: DFF::default(),
            out_group_addr: DFF::default(),
            out_row_addr: DFF::default(),
            rows_left: DFF::default(),
            token: DFF::default(),
            wait_left: DFF::default(),
            group: DFF::default(),
            channels_left: DFF::default(),
            ext_aux_word: Extend::new(false),
            group_end: Signal::default(),
            last_group: Signal::default(),
            p_idle: c4(IDLE),
            p_issue: c4(ISSUE),
            p_wait: c4(WAIT),
            p_divide: c4(DIVIDE),
            p_package_lo: c4(PACKAGE_LO),
            p_package_hi: c4(PACKAGE_HI),
            p_means_out: c4(MEANS_OUT),
            p_mean_out: c4(MEAN_OUT),
            c_n16: c16(lanes as u64),
            c_lr16: c16(rows.trailing_zeros() as u64),
            c_last_slice: Constant::new(((rows / lanes) as u64 - 1).into()),
            c_zero_slice: Constant::new(0u64.into()),
            c_zero16: c16(0),
            c_one16: c16(1),
            c_zero2: Constant::new(0u64.into()),
            c_one2: Constant::new(1u64.into()),
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
            slice,
            row_addr,
            group_addr,
            out_group_addr,
            out_row_addr,
            rows_left,
            token,
            wait_left,
            group,
            channels_left
        );
        self.ext_aux_word.din.next = self.aux.val() >> self.c_lr16.val();
        // A word group ends with its high package word or with its means' last output row.
        self.group_end.next = (self.phase.q.val() == self.p_package_hi.val())
            || ((self.phase.q.val() == self.p_means_out.val()) && (self.rows_left.q.val() == self.c_one16.val()));
        self.last_group.next = (self.group.q.val() + 1) == self.groups.val();

        // The group's arithmetic: rows in (one per ISSUE cycle), then the division of every
        // lane (after the last row's wait), and for COLMEAN the mean of the means (after the
        // last group's writes).
        self.means.clock.next = self.clock.val();
        self.means.reset.next = self.reset.val();
        self.means.busy.next = self.busy.val();
        self.means.sel.next = self.sel.val();
        self.means.issue.next = self.phase.q.val() == self.p_issue.val();
        self.means.first.next = self.token.q.val() == self.c_zero16.val();
        self.means.token.next = self.token.q.val();
        self.means.rd0_data.next = self.rd0_data.val();
        self.means.rd1_data.next = self.rd1_data.val();
        self.means.tok_weight.next = self.tok_weight.val();
        self.tok_set.next = self.means.tok_set.val();
        self.tok_addr.next = self.means.tok_addr.val();
        self.means.channels_left.next = self.channels_left.q.val();
        self.means.slice.next = self.slice.q.val();
        self.means.rows.next = self.rows.val();
        self.means.aux.next = self.aux.val();
        self.means.n.next = self.n.val();
        self.means.total.next = self.total.val();
        self.means.go_colmean.next = self.go_colmean.val();
        self.means.go_package.next = self.go_package.val();
        self.means.start_lanes.next =
            (self.phase.q.val() == self.p_wait.val()) && (self.wait_left.q.val() == self.c_zero2.val());
        // Spelled out, not from the shared locals `group_end`/`last_group`: the branch that reads
        // `means.lanes_done` reads those too (one Verilator ordering group, a false loop).
        self.means.start_mean.next = (self.phase.q.val() == self.p_means_out.val())
            && (self.rows_left.q.val() == self.c_one16.val())
            && ((self.group.q.val() + 1) == self.groups.val());

        // Write words: the lanes' results (low/high byte), byte enables for channels < n.
        self.rd.en.next = self.phase.q.val() == self.p_issue.val();
        self.rd.addr.next = self.row_addr.q.val();
        self.finish.next = ((self.phase.q.val() == self.p_package_hi.val()) && self.last_group.val())
            || (self.phase.q.val() == self.p_mean_out.val());
        self.wr.en.next = false;
        self.wr.bank.next = self.in_lo_bank.val();
        self.wr.addr.next = self.row_addr.q.val();
        self.wr.data.next = self.means.lo_results.val();
        self.wr.be.next = self.means.live_be.val();

        if self.phase.q.val() == self.p_issue.val() {
            // One row of the word group per cycle (both planes for SELECT).
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
                self.phase.d.next = self.p_divide.val();
            }
        } else if self.phase.q.val() == self.p_divide.val() {
            if self.means.mean_done.val() {
                self.phase.d.next = self.p_mean_out.val();
            } else if self.means.lanes_done.val() {
                if self.sel.val() {
                    self.phase.d.next = self.p_package_lo.val();
                } else {
                    self.phase.d.next = self.p_means_out.val();
                    self.rows_left.d.next = self.rows.val();
                    self.out_row_addr.d.next = self.out_group_addr.q.val();
                }
            }
        } else if self.phase.q.val() == self.p_package_lo.val() {
            // Package word k, low plane (row_addr points at row L, word k).
            self.wr.en.next = true;
            self.phase.d.next = self.p_package_hi.val();
        } else if self.phase.q.val() == self.p_package_hi.val() {
            self.wr.en.next = true;
            self.wr.bank.next = self.in_hi_bank.val();
            self.wr.data.next = self.means.hi_results.val();
            if self.last_group.val() {
                self.phase.d.next = self.p_idle.val();
            }
        } else if self.phase.q.val() == self.p_means_out.val() {
            // COLMEAN: broadcast the group's means to every output row.
            self.wr.en.next = true;
            self.wr.bank.next = self.out_bank.val();
            self.wr.addr.next = self.out_row_addr.q.val();
            self.out_row_addr.d.next = self.out_row_addr.q.val() + self.out_stride.val();
            self.rows_left.d.next = self.rows_left.q.val() - 1;
            if self.group_end.val() && self.last_group.val() {
                self.phase.d.next = self.p_divide.val();
            }
        } else if self.phase.q.val() == self.p_mean_out.val() {
            // COLMEAN: the mean of the means.
            self.wr.en.next = true;
            self.wr.bank.next = self.par_bank.val();
            self.wr.addr.next = self.par_addr.val() + self.ext_aux_word.dout.val();
            self.wr.data.next = self.means.mean_word.val();
            self.wr.be.next = self.means.mean_be.val();
            self.phase.d.next = self.p_idle.val();
        }

        // The next group: the word's next slice, or the next word's first (COLMEAN's output
        // addresses advance in a package pass too, unused).
        if self.group_end.val() {
            self.group.d.next = self.group.q.val() + 1;
            self.channels_left.d.next = self.channels_left.q.val() - self.c_n16.val();
            if !self.last_group.val() {
                self.phase.d.next = self.p_issue.val();
                self.token.d.next = self.c_zero16.val();
                self.rows_left.d.next = self.rows.val();
                if self.slice.q.val() == self.c_last_slice.val() {
                    self.slice.d.next = self.c_zero_slice.val();
                    self.group_addr.d.next = self.group_addr.q.val() + 1;
                    self.out_group_addr.d.next = self.out_group_addr.q.val() + 1;
                    self.row_addr.d.next = self.group_addr.q.val() + 1;
                } else {
                    self.slice.d.next = self.slice.q.val() + 1;
                    self.row_addr.d.next = self.group_addr.q.val();
                }
            }
        }
        if self.go_colmean.val() || self.go_package.val() {
            self.phase.d.next = self.p_issue.val();
            self.row_addr.d.next = self.in_addr.val();
            self.group_addr.d.next = self.in_addr.val();
            self.rows_left.d.next = self.rows.val();
            self.token.d.next = self.c_zero16.val();
            self.group.d.next = self.c_zero16.val();
            self.slice.d.next = self.c_zero_slice.val();
            self.channels_left.d.next = self.n.val();
        }
        if self.go_colmean.val() {
            self.out_group_addr.d.next = self.out_addr.val();
        }
        if self.reset.val() {
            self.phase.d.next = self.p_idle.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block alone (R = 8 and R = 64, one lane per byte and folded) generates Verilog that
    /// `verilator -Wall` accepts; its behaviour is checked through the whole engine
    /// (`select/tests.rs`).
    #[test]
    fn column_pass_verilog_is_lint_clean() {
        for lanes in [8, 1] {
            let v = crate::verilog::generate(&mut ColumnPass::<64, 8>::new(lanes), "column_pass");
            crate::verilog::lint(&v, "column_pass").unwrap();
        }
        for lanes in [64, 4] {
            let v = crate::verilog::generate(&mut ColumnPass::<512, 64>::new(lanes), "column_pass");
            crate::verilog::lint(&v, "column_pass").unwrap();
        }
    }
}
