//! The main engine of the vector unit: it owns the scratchpad read ports and sequences an op.
//!
//! A `start` of a known op loads the parameters (`load_words` words from `par_addr` on port 0,
//! one a cycle), then runs passes of `words` words a row, one word per cycle: an A pass of row
//! `a_rows` whenever it is allowed (`a_rows < rows`, at most [`ROW_LAG`] rows ahead of the B
//! passes, and for softmax a row maximum queued), else a B pass of row `b_rows` if its scalar
//! result is queued, else it waits a cycle and picks again. When every row had both passes it
//! drains the write pipeline and pulses `done`. Per issued word it sets the t1 registers (the
//! word's pass, position in the row, live lanes, write address) and per pass the row's
//! constants (maximum, `S1`, reciprocal, shift) taken from the queues.
//!
//! Port 1 reads LayerNorm's high byte plane alongside port 0; its address register belongs to
//! the max engine (which issues softmax's rows on it), so this block only asks it to step
//! (`port1_step`) or to jump to a row (`port1_jump`, `port1_jump_addr`).

use super::{ROW_LAG, WRITE_LATENCY};
use crate::storage::SP_ADDR_BITS;
use crate::widen::PackBits;
use rust_hdl::prelude::*;

const IDLE: u64 = 0;
const LOAD: u64 = 1;
const RUN: u64 = 2;
const PICK: u64 = 3;
const DRAIN: u64 = 4;

/// The main engine of an `R = BE`-lane unit.
#[derive(LogicBlock)]
pub struct Sequencer<const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset, active high.
    pub reset: Signal<In, Bit>,
    /// Start pulse (ignored while busy).
    pub start: Signal<In, Bit>,
    /// The op is LayerNorm.
    pub op_ln: Signal<In, Bit>,
    /// The op is LayerNorm or softmax (else `done` at once).
    pub op_known: Signal<In, Bit>,
    /// Rows.
    pub rows: Signal<In, Bits<16>>,
    /// Channels per row.
    pub n: Signal<In, Bits<16>>,
    /// Words per row, `ceil(n/R)`.
    pub words: Signal<In, Bits<16>>,
    /// Parameter words to load.
    pub load_words: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Bank of the input (LayerNorm: low byte plane).
    pub in_lo_bank: Signal<In, Bits<4>>,
    /// Bank of the LayerNorm input's high byte plane (softmax: the max engine's copy).
    pub in_hi_bank: Signal<In, Bits<4>>,
    /// Word address of input row 0.
    pub in_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Words between input rows.
    pub in_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Bank of the output.
    pub out_bank: Signal<In, Bits<4>>,
    /// Word address of output row 0.
    pub out_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Words between output rows.
    pub out_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Bank of the parameter block.
    pub par_bank: Signal<In, Bits<4>>,
    /// Word address of the parameter block.
    pub par_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Row maxima queued by the max engine.
    pub max_count: Signal<In, Bits<16>>,
    /// The oldest queued row maximum.
    pub max_head: Signal<In, Bits<8>>,
    /// Scalar results queued.
    pub result_count: Signal<In, Bits<16>>,
    /// The oldest result's payload (`S1`, or the row maximum in its low byte).
    pub result_payload: Signal<In, Bits<34>>,
    /// The oldest result's reciprocal.
    pub result_recip: Signal<In, Bits<27>>,
    /// The oldest result's shift.
    pub result_shift: Signal<In, Bits<8>>,
    /// An op starts this cycle (the queues empty themselves).
    pub op_start: Signal<Out, Bit>,
    /// Pop the oldest row maximum (a softmax A pass starts).
    pub max_pop: Signal<Out, Bit>,
    /// Pop the oldest scalar result (a B pass starts).
    pub result_pop: Signal<Out, Bit>,
    /// An op is running.
    pub busy: Signal<Out, Bit>,
    /// One-cycle pulse at the end of an op.
    pub done: Signal<Out, Bit>,
    /// The running op is LayerNorm.
    pub ln: Signal<Out, Bit>,
    /// Read port 0 bank.
    pub rd0_bank: Signal<Out, Bits<4>>,
    /// Read port 0 address.
    pub rd0_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Read port 1 bank.
    pub rd1_bank: Signal<Out, Bits<4>>,
    /// LayerNorm: port 1 moves on to the next word this cycle.
    pub port1_step: Signal<Out, Bit>,
    /// LayerNorm: port 1 moves to `port1_jump_addr` (a row's first word) this cycle.
    pub port1_jump: Signal<Out, Bit>,
    /// Where `port1_jump` goes.
    pub port1_jump_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Write port bank.
    pub wr_bank: Signal<Out, Bits<4>>,
    /// t1: a parameter word arrives.
    pub load_valid1: Signal<Out, Bit>,
    /// t1: its index in the parameter block.
    pub load_index1: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// t1: a word of an A pass arrives.
    pub a_valid1: Signal<Out, Bit>,
    /// t1: a word of a B pass arrives.
    pub b_valid1: Signal<Out, Bit>,
    /// t1: it is its row's first word.
    pub first1: Signal<Out, Bit>,
    /// t1: it is its row's last word.
    pub last1: Signal<Out, Bit>,
    /// t1: its live lanes (`c < n`).
    pub live1: Signal<Out, Bits<BE>>,
    /// t1: its index in the row.
    pub word_index1: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// t1: its output address (B pass).
    pub write_addr1: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// The current pass's row maximum (softmax).
    pub row_max: Signal<Out, Bits<8>>,
    /// The current B pass's `S1` (LayerNorm).
    pub row_s1: Signal<Out, Bits<34>>,
    /// The current B pass's reciprocal.
    pub row_recip: Signal<Out, Bits<27>>,
    /// The current B pass's normalisation shift.
    pub row_shift: Signal<Out, Bits<8>>,

    /// Idle, parameter load, pass running, picking the next pass, draining.
    state: DFF<Bits<3>>,
    /// The running op is LayerNorm.
    op_ln_r: DFF<Bit>,
    busy_r: DFF<Bit>,
    done_r: DFF<Bit>,
    port0_bank: DFF<Bits<4>>,
    port0_addr: DFF<Bits<SP_ADDR_BITS>>,
    port1_bank: DFF<Bits<4>>,
    out_bank_r: DFF<Bits<4>>,
    /// Index of the parameter word being read.
    load_index: DFF<Bits<SP_ADDR_BITS>>,
    /// Parameter words still to read.
    load_left: DFF<Bits<SP_ADDR_BITS>>,
    /// A passes started.
    a_rows: DFF<Bits<16>>,
    /// B passes started.
    b_rows: DFF<Bits<16>>,
    /// First input word of the next A pass's row.
    a_addr: DFF<Bits<SP_ADDR_BITS>>,
    /// First input word of the next B pass's row.
    b_addr: DFF<Bits<SP_ADDR_BITS>>,
    /// First output word of the next B pass's row.
    out_row_addr: DFF<Bits<SP_ADDR_BITS>>,
    /// The running pass is a B pass.
    pass_b: DFF<Bit>,
    /// The word being issued is its row's first.
    first_word: DFF<Bit>,
    /// Words of the pass still to issue.
    words_left: DFF<Bits<16>>,
    /// Channels of the row from the word being issued on.
    channels_left: DFF<Bits<16>>,
    /// Index in the row of the word being issued.
    word_index: DFF<Bits<SP_ADDR_BITS>>,
    /// Output address of the word being issued (B pass).
    write_addr: DFF<Bits<SP_ADDR_BITS>>,
    /// Drain cycles left.
    drain_left: DFF<Bits<8>>,
    // t1 registers and the row constants (the outputs of the same names).
    load_valid1_r: DFF<Bit>,
    load_index1_r: DFF<Bits<SP_ADDR_BITS>>,
    a_valid1_r: DFF<Bit>,
    b_valid1_r: DFF<Bit>,
    first1_r: DFF<Bit>,
    last1_r: DFF<Bit>,
    live1_r: DFF<Bits<BE>>,
    word_index1_r: DFF<Bits<SP_ADDR_BITS>>,
    write_addr1_r: DFF<Bits<SP_ADDR_BITS>>,
    row_max_r: DFF<Bits<8>>,
    row_s1_r: DFF<Bits<34>>,
    row_recip_r: DFF<Bits<27>>,
    row_shift_r: DFF<Bits<8>>,

    live_pack: PackBits<BE>,
    byte_col: Vec<Constant<Bits<16>>>,
    starting: Signal<Local, Bit>,
    rows_in_flight: Signal<Local, Bits<16>>,
    can_a: Signal<Local, Bit>,
    can_b: Signal<Local, Bit>,
    pick_next: Signal<Local, Bit>,
    idle: Constant<Bits<3>>,
    load: Constant<Bits<3>>,
    run: Constant<Bits<3>>,
    pick: Constant<Bits<3>>,
    drain: Constant<Bits<3>>,
    c_lanes16: Constant<Bits<16>>,
    c_one16: Constant<Bits<16>>,
    c_zero16: Constant<Bits<16>>,
    c_one20: Constant<Bits<SP_ADDR_BITS>>,
    c_zero20: Constant<Bits<SP_ADDR_BITS>>,
    c_zero8: Constant<Bits<8>>,
    c_drain: Constant<Bits<8>>,
    c_lag: Constant<Bits<16>>,
    _r: usize,
}

impl<const BE: usize> Default for Sequencer<BE> {
    fn default() -> Self {
        let c16 = |v: u64| Constant::new(Bits::<16>::from(v));
        let c20 = |v: u64| Constant::new(Bits::<SP_ADDR_BITS>::from(v));
        let c3 = |v: u64| Constant::new(Bits::<3>::from(v));
        Sequencer {
            clock: Signal::default(),
            reset: Signal::default(),
            start: Signal::default(),
            op_ln: Signal::default(),
            op_known: Signal::default(),
            rows: Signal::default(),
            n: Signal::default(),
            words: Signal::default(),
            load_words: Signal::default(),
            in_lo_bank: Signal::default(),
            in_hi_bank: Signal::default(),
            in_addr: Signal::default(),
            in_stride: Signal::default(),
            out_bank: Signal::default(),
            out_addr: Signal::default(),
            out_stride: Signal::default(),
            par_bank: Signal::default(),
            par_addr: Signal::default(),
            max_count: Signal::default(),
            max_head: Signal::default(),
            result_count: Signal::default(),
            result_payload: Signal::default(),
            result_recip: Signal::default(),
            result_shift: Signal::default(),
            op_start: Signal::default(),
            max_pop: Signal::default(),
            result_pop: Signal::default(),
            busy: Signal::default(),
            done: Signal::default(),
            ln: Signal::default(),
            rd0_bank: Signal::default(),
            rd0_addr: Signal::default(),
            rd1_bank: Signal::default(),
            wr_bank: Signal::default(),
            load_valid1: Signal::default(),
            load_index1: Signal::default(),
            a_valid1: Signal::default(),
            b_valid1: Signal::default(),
            first1: Signal::default(),
            last1: Signal::default(),
            live1: Signal::default(),
            word_index1: Signal::default(),
            write_addr1: Signal::default(),
            row_max: Signal::default(),
            row_s1: Signal::default(),
            row_recip: Signal::default(),
            row_shift: Signal::default(),
            state: DFF::default(),
            op_ln_r: DFF::default(),
            busy_r: DFF::default(),
            done_r: DFF::default(),
            port0_bank: DFF::default(),
            port0_addr: DFF::default(),
            port1_bank: DFF::default(),
            port1_step: Signal::default(),
            port1_jump: Signal::default(),
            port1_jump_addr: Signal::default(),
            out_bank_r: DFF::default(),
            load_index: DFF::default(),
            load_left: DFF::default(),
            a_rows: DFF::default(),
            b_rows: DFF::default(),
            a_addr: DFF::default(),
            b_addr: DFF::default(),
            out_row_addr: DFF::default(),
            pass_b: DFF::default(),
            first_word: DFF::default(),
            words_left: DFF::default(),
            channels_left: DFF::default(),
            word_index: DFF::default(),
            write_addr: DFF::default(),
            drain_left: DFF::default(),
            load_valid1_r: DFF::default(),
            load_index1_r: DFF::default(),
            a_valid1_r: DFF::default(),
            b_valid1_r: DFF::default(),
            first1_r: DFF::default(),
            last1_r: DFF::default(),
            live1_r: DFF::default(),
            word_index1_r: DFF::default(),
            write_addr1_r: DFF::default(),
            row_max_r: DFF::default(),
            row_s1_r: DFF::default(),
            row_recip_r: DFF::default(),
            row_shift_r: DFF::default(),
            live_pack: PackBits::default(),
            byte_col: (0..BE).map(|l| c16(l as u64)).collect(),
            starting: Signal::default(),
            rows_in_flight: Signal::default(),
            can_a: Signal::default(),
            can_b: Signal::default(),
            pick_next: Signal::default(),
            idle: c3(IDLE),
            load: c3(LOAD),
            run: c3(RUN),
            pick: c3(PICK),
            drain: c3(DRAIN),
            c_lanes16: c16(BE as u64),
            c_one16: c16(1),
            c_zero16: c16(0),
            c_one20: c20(1),
            c_zero20: c20(0),
            c_zero8: Constant::new(0u64.into()),
            c_drain: Constant::new((WRITE_LATENCY as u64 - 1).into()),
            c_lag: c16(ROW_LAG as u64),
            _r: BE,
        }
    }
}

impl<const BE: usize> Logic for Sequencer<BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state, op_ln_r, busy_r, done_r, port0_bank, port0_addr, port1_bank);
        dff_setup!(self, clock, out_bank_r, load_index, load_left, a_rows, b_rows, a_addr, b_addr, out_row_addr);
        dff_setup!(self, clock, pass_b, first_word, words_left, channels_left, word_index, write_addr, drain_left);
        dff_setup!(self, clock, load_valid1_r, load_index1_r, a_valid1_r, b_valid1_r, first1_r, last1_r, live1_r);
        dff_setup!(self, clock, word_index1_r, write_addr1_r, row_max_r, row_s1_r, row_recip_r, row_shift_r);
        Signal::<Out, Bit>::link(&mut self.busy, &mut self.busy_r.q);
        Signal::<Out, Bit>::link(&mut self.done, &mut self.done_r.q);
        Signal::<Out, Bit>::link(&mut self.ln, &mut self.op_ln_r.q);
        Signal::<Out, Bits<4>>::link(&mut self.rd0_bank, &mut self.port0_bank.q);
        Signal::<Out, Bits<SP_ADDR_BITS>>::link(&mut self.rd0_addr, &mut self.port0_addr.q);
        Signal::<Out, Bits<4>>::link(&mut self.rd1_bank, &mut self.port1_bank.q);
        Signal::<Out, Bits<4>>::link(&mut self.wr_bank, &mut self.out_bank_r.q);
        Signal::<Out, Bit>::link(&mut self.load_valid1, &mut self.load_valid1_r.q);
        Signal::<Out, Bits<SP_ADDR_BITS>>::link(&mut self.load_index1, &mut self.load_index1_r.q);
        Signal::<Out, Bit>::link(&mut self.a_valid1, &mut self.a_valid1_r.q);
        Signal::<Out, Bit>::link(&mut self.b_valid1, &mut self.b_valid1_r.q);
        Signal::<Out, Bit>::link(&mut self.first1, &mut self.first1_r.q);
        Signal::<Out, Bit>::link(&mut self.last1, &mut self.last1_r.q);
        Signal::<Out, Bits<BE>>::link(&mut self.live1, &mut self.live1_r.q);
        Signal::<Out, Bits<SP_ADDR_BITS>>::link(&mut self.word_index1, &mut self.word_index1_r.q);
        Signal::<Out, Bits<SP_ADDR_BITS>>::link(&mut self.write_addr1, &mut self.write_addr1_r.q);
        Signal::<Out, Bits<8>>::link(&mut self.row_max, &mut self.row_max_r.q);
        Signal::<Out, Bits<34>>::link(&mut self.row_s1, &mut self.row_s1_r.q);
        Signal::<Out, Bits<27>>::link(&mut self.row_recip, &mut self.row_recip_r.q);
        Signal::<Out, Bits<8>>::link(&mut self.row_shift, &mut self.row_shift_r.q);

        // A passes run ahead of B passes by up to ROW_LAG rows; A first when both can go.
        self.starting.next = self.start.val() && (self.state.q.val() == self.idle.val()) && self.op_known.val();
        self.op_start.next = self.starting.val();
        self.rows_in_flight.next = self.a_rows.q.val() - self.b_rows.q.val();
        self.can_a.next = (self.a_rows.q.val() < self.rows.val())
            && (self.rows_in_flight.val() <= self.c_lag.val())
            && (self.op_ln_r.q.val() || (self.max_count.val() != self.c_zero16.val()));
        self.can_b.next = self.result_count.val() != self.c_zero16.val();
        self.pick_next.next = (self.state.q.val() == self.pick.val())
            || ((self.state.q.val() == self.run.val()) && (self.words_left.q.val() == self.c_one16.val()))
            || ((self.state.q.val() == self.load.val()) && (self.load_left.q.val() == self.c_one20.val()));
        for l in 0..self._r {
            self.live_pack.lanes[l].next = self.channels_left.q.val() > self.byte_col[l].val();
        }
        self.max_pop.next = false;
        self.result_pop.next = false;
        self.port1_step.next = false;
        self.port1_jump.next = false;
        self.port1_jump_addr.next = self.a_addr.q.val();
        self.load_valid1_r.d.next = false;
        self.a_valid1_r.d.next = false;
        self.b_valid1_r.d.next = false;
        self.done_r.d.next = false;
        if self.state.q.val() == self.load.val() {
            self.load_valid1_r.d.next = true;
            self.load_index1_r.d.next = self.load_index.q.val();
            self.load_index.d.next = self.load_index.q.val() + self.c_one20.val();
            self.load_left.d.next = self.load_left.q.val() - self.c_one20.val();
            self.port0_addr.d.next = self.port0_addr.q.val() + self.c_one20.val();
        } else if self.state.q.val() == self.run.val() {
            self.a_valid1_r.d.next = !self.pass_b.q.val();
            self.b_valid1_r.d.next = self.pass_b.q.val();
            self.first1_r.d.next = self.first_word.q.val();
            self.last1_r.d.next = self.words_left.q.val() == self.c_one16.val();
            self.live1_r.d.next = self.live_pack.dout.val();
            self.word_index1_r.d.next = self.word_index.q.val();
            self.write_addr1_r.d.next = self.write_addr.q.val();
            self.word_index.d.next = self.word_index.q.val() + self.c_one20.val();
            self.write_addr.d.next = self.write_addr.q.val() + self.c_one20.val();
            self.channels_left.d.next = self.channels_left.q.val() - self.c_lanes16.val();
            self.words_left.d.next = self.words_left.q.val() - self.c_one16.val();
            self.first_word.d.next = false;
            self.port0_addr.d.next = self.port0_addr.q.val() + self.c_one20.val();
            self.port1_step.next = self.op_ln_r.q.val();
        } else if self.state.q.val() == self.drain.val() {
            self.drain_left.d.next = self.drain_left.q.val() - 1;
            if self.drain_left.q.val() == self.c_zero8.val() {
                self.done_r.d.next = true;
                self.busy_r.d.next = false;
                self.state.d.next = self.idle.val();
            }
        }
        if self.pick_next.val() {
            self.port0_bank.d.next = self.in_lo_bank.val();
            if self.op_ln_r.q.val() {
                self.port1_bank.d.next = self.in_hi_bank.val();
            }
            if self.can_a.val() || self.can_b.val() {
                self.state.d.next = self.run.val();
                self.pass_b.d.next = !self.can_a.val();
                self.first_word.d.next = true;
                self.words_left.d.next = self.words.val();
                self.channels_left.d.next = self.n.val();
                self.word_index.d.next = self.c_zero20.val();
            }
            if self.can_a.val() {
                self.port0_addr.d.next = self.a_addr.q.val();
                self.port1_jump.next = self.op_ln_r.q.val();
                self.a_addr.d.next = self.a_addr.q.val() + self.in_stride.val();
                self.a_rows.d.next = self.a_rows.q.val() + self.c_one16.val();
                self.row_max_r.d.next = self.max_head.val();
                self.max_pop.next = !self.op_ln_r.q.val();
            } else if self.can_b.val() {
                self.write_addr.d.next = self.out_row_addr.q.val();
                self.port0_addr.d.next = self.b_addr.q.val();
                self.port1_jump.next = self.op_ln_r.q.val();
                self.port1_jump_addr.next = self.b_addr.q.val();
                self.b_addr.d.next = self.b_addr.q.val() + self.in_stride.val();
                self.out_row_addr.d.next = self.out_row_addr.q.val() + self.out_stride.val();
                self.b_rows.d.next = self.b_rows.q.val() + self.c_one16.val();
                self.row_s1_r.d.next = self.result_payload.val();
                self.row_max_r.d.next = self.result_payload.val().get_bits::<8>(0);
                self.row_recip_r.d.next = self.result_recip.val();
                self.row_shift_r.d.next = self.result_shift.val();
                self.result_pop.next = true;
            } else if (self.a_rows.q.val() == self.rows.val()) && (self.b_rows.q.val() == self.rows.val()) {
                self.state.d.next = self.drain.val();
                self.drain_left.d.next = self.c_drain.val();
            } else {
                self.state.d.next = self.pick.val();
            }
        }
        // Start (port 1 on the high plane, a bank of this op: LayerNorm idles on it during the
        // load, softmax's max engine issues row 0 from the next cycle), reset.
        if self.start.val() && (self.state.q.val() == self.idle.val()) && !self.op_known.val() {
            self.done_r.d.next = true;
        }
        if self.starting.val() {
            self.op_ln_r.d.next = self.op_ln.val();
            self.busy_r.d.next = true;
            self.state.d.next = self.load.val();
            self.load_index.d.next = self.c_zero20.val();
            self.load_left.d.next = self.load_words.val();
            self.port0_addr.d.next = self.par_addr.val();
            self.port0_bank.d.next = self.par_bank.val();
            self.port1_bank.d.next = self.in_hi_bank.val();
            self.a_rows.d.next = self.c_zero16.val();
            self.b_rows.d.next = self.c_zero16.val();
            self.a_addr.d.next = self.in_addr.val();
            self.b_addr.d.next = self.in_addr.val();
            self.out_row_addr.d.next = self.out_addr.val();
            self.out_bank_r.d.next = self.out_bank.val();
        }
        if self.reset.val() {
            self.state.d.next = self.idle.val();
            self.busy_r.d.next = false;
            self.done_r.d.next = false;
            self.load_valid1_r.d.next = false;
            self.a_valid1_r.d.next = false;
            self.b_valid1_r.d.next = false;
        }
    }
}
