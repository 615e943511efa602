//! The GEMM engine: tile sequencer, systolic array, accumulator and requantizing output path.
//!
//! `out[m][n] = requant_i8(sum_k A[m][k] W[n][k] + bias[n], m_n, s_n)` for an `M x K` activation
//! matrix in a scratchpad bank (token-major, one `R`-byte word per `R` channels) and a weight
//! stream popped from the weight FIFO (`spec::isa::weight_stream_words`): per n-tile of `C`
//! output channels a header (C int32 biases, C requant words), then `ceil(K/R)` tiles of `R`
//! rows (one word each, C bytes used).
//!
//! Tiles run in the order (n-tile, k-tile). The **loader** writes tile `i` row by row into weight
//! buffer `i % 2` while tile `i - 1` streams; the **streamer** sends the `M` token rows of a tile
//! through the array, one per cycle, tagged with the tile's buffer. Timing rules (derived in
//! `docs/ARCHITECTURE.md`):
//! * the loader may start tile `i` only [`LOAD_GATE`] cycles after tile `i - 1` started
//!   streaming (then tile `i - 2`, the previous user of the buffer, has left every PE row it
//!   writes);
//! * the streamer may start tile `i` once it is fully loaded, or once at least one row is written
//!   and the FIFO already holds the rest (rows are then written ahead of the wavefront).
//!
//! So a tile costs `max(M, LOAD_GATE + 1)` cycles: work is proportional to the live token count.
//! Partial sums of non-final k-tiles accumulate in a `2^TB x C` int32 RAM; the final k-tile's sums
//! go straight to the requantizers and are written as int8 bytes into the output bank.

use crate::array::{array_latency, SystolicArray};
use crate::delay::DelayLine;
use crate::requant::{RequantLane, REQUANT_LATENCY};
use crate::storage::{AccLane, ACC_ADDR_BITS, FIFO_COUNT_BITS, SP_ADDR_BITS};
use crate::widen::{Extend, Pack, PackBits};
use rust_hdl::prelude::*;

/// Extra cycles (beyond `C - 2`) between the start of tile `i - 1` and the first weight write of
/// tile `i`; the minimum tile period is `C - 1 + LOAD_MARGIN`.
pub const LOAD_MARGIN: usize = 2;

/// Cycles from the start of tile `i - 1` to the first row load of tile `i`.
pub fn load_gate(cols: usize) -> usize {
    cols - 2 + LOAD_MARGIN
}

/// Cycles from a row's read address to its output write: bank read, array, accumulator stage,
/// requantizer.
pub fn gemm_row_latency(rows: usize, cols: usize) -> usize {
    1 + array_latency(rows, cols) + REQUANT_LATENCY
}

// FSM state codes (plain bit vectors: rust-hdl's enum registers are not lint clean).
// Loader: idle, popping the n-tile header, waiting for the tile's buffer, popping R rows, done.
const L_IDLE: u64 = 0;
const L_HEADER: u64 = 1;
const L_GATE: u64 = 2;
const L_ROWS: u64 = 3;
const L_FINISHED: u64 = 4;
// Streamer: idle, waiting for the next tile, issuing M rows, draining the pipeline.
const S_IDLE: u64 = 0;
const S_WAIT: u64 = 1;
const S_RUN: u64 = 2;
const S_DRAIN: u64 = 3;

/// The GEMM engine for an `R x C` array, `W = 8R`-bit words with `BE = R` byte enables.
#[derive(LogicBlock)]
pub struct GemmEngine<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// Start pulse; the operands below are latched.
    pub start: Signal<In, Bit>,
    /// Rows of A (1..=accumulator rows).
    pub m: Signal<In, Bits<16>>,
    /// Reduction length.
    pub k: Signal<In, Bits<16>>,
    /// Output channels.
    pub n: Signal<In, Bits<16>>,
    /// Word address of A's row 0.
    pub a_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Words between A rows.
    pub a_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// A holds uint8.
    pub a_unsigned: Signal<In, Bit>,
    /// Word address of output row 0.
    pub o_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Words between output rows.
    pub o_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// One-cycle pulse when the last output row has been written.
    pub done: Signal<Out, Bit>,
    /// A read port address (data returns the next cycle on `a_rd_data`).
    pub a_rd_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// A read data.
    pub a_rd_data: Signal<In, Bits<W>>,
    /// Head of the weight FIFO.
    pub wf_data: Signal<In, Bits<W>>,
    /// Words in the weight FIFO.
    pub wf_count: Signal<In, Bits<FIFO_COUNT_BITS>>,
    /// Pop the weight FIFO.
    pub wf_pop: Signal<Out, Bit>,
    /// Output write address.
    pub o_wr_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Output write data.
    pub o_wr_data: Signal<Out, Bits<W>>,
    /// Output byte enables.
    pub o_wr_be: Signal<Out, Bits<BE>>,
    /// Output write strobe.
    pub o_wr_en: Signal<Out, Bit>,
    /// A row enters the array this cycle (for utilization counters).
    pub active: Signal<Out, Bit>,

    // Latched operands and derived counts.
    r_m: DFF<Bits<16>>,
    r_a_stride: DFF<Bits<SP_ADDR_BITS>>,
    r_o_stride: DFF<Bits<SP_ADDR_BITS>>,
    r_unsigned: DFF<Bit>,
    kt_count: DFF<Bits<16>>,
    nt_count: DFF<Bits<16>>,

    // Loader.
    l_state: DFF<Bits<3>>,
    l_kt: DFF<Bits<16>>,
    l_nt: DFF<Bits<16>>,
    l_row: DFF<Bits<FIFO_COUNT_BITS>>,
    l_hdr: DFF<Bits<8>>,
    l_tag: DFF<Bit>,
    l_par: DFF<Bit>,
    l_done: DFF<Bits<32>>,
    n_left: DFF<Bits<16>>,
    o_word_cur: DFF<Bits<SP_ADDR_BITS>>,
    o_group_cur: DFF<Bits<8>>,

    // Per n-tile parameters, double-buffered by n-tile parity.
    bias0: Vec<DFF<Bits<32>>>,
    bias1: Vec<DFF<Bits<32>>>,
    mult0: Vec<DFF<Bits<16>>>,
    mult1: Vec<DFF<Bits<16>>>,
    shift0: Vec<DFF<Bits<6>>>,
    shift1: Vec<DFF<Bits<6>>>,
    o_word0: DFF<Bits<SP_ADDR_BITS>>,
    o_word1: DFF<Bits<SP_ADDR_BITS>>,
    o_group0: DFF<Bits<8>>,
    o_group1: DFF<Bits<8>>,
    o_cols0: DFF<Bits<16>>,
    o_cols1: DFF<Bits<16>>,

    // Streamer.
    s_state: DFF<Bits<3>>,
    s_kt: DFF<Bits<16>>,
    s_nt: DFF<Bits<16>>,
    s_m: DFF<Bits<16>>,
    s_tag: DFF<Bit>,
    s_par: DFF<Bit>,
    s_started: DFF<Bits<32>>,
    a_row_addr: DFF<Bits<SP_ADDR_BITS>>,
    a_kt_off: DFF<Bits<SP_ADDR_BITS>>,
    o_row_addr: DFF<Bits<SP_ADDR_BITS>>,
    gate: DFF<Bits<8>>,
    inflight0: DFF<Bits<16>>,
    inflight1: DFF<Bits<16>>,
    m_tb: DFF<Bits<ACC_ADDR_BITS>>,
    done_reg: DFF<Bit>,

    // Array input stage (the row whose address was issued last cycle).
    sb_valid: DFF<Bit>,
    sb_first: DFF<Bit>,
    sb_last: DFF<Bit>,
    sb_par: DFF<Bit>,
    sb_tag: DFF<Bit>,
    sb_m: DFF<Bits<ACC_ADDR_BITS>>,
    sb_o: DFF<Bits<SP_ADDR_BITS>>,
    ext_s: Vec<Extend<16, 8>>,
    ext_u: Vec<Extend<16, 8>>,
    ext_w: Vec<Extend<16, 8>>,
    array: SystolicArray,

    // Sideband through the array (depth L - 1), then the accumulator stage registers.
    d_valid: DelayLine<Bit>,
    d_first: DelayLine<Bit>,
    d_last: DelayLine<Bit>,
    d_par: DelayLine<Bit>,
    d_m: DelayLine<Bits<ACC_ADDR_BITS>>,
    d_o: DelayLine<Bits<SP_ADDR_BITS>>,
    x_valid: DFF<Bit>,
    x_first: DFF<Bit>,
    x_last: DFF<Bit>,
    x_par: DFF<Bit>,
    x_m: DFF<Bits<ACC_ADDR_BITS>>,
    x_o: DFF<Bits<SP_ADDR_BITS>>,
    acc: Vec<AccLane>,
    sum: Vec<Signal<Local, Bits<32>>>,
    rq: Vec<RequantLane>,

    // Output stage (after the requantizers).
    q_valid: DelayLine<Bit>,
    q_par: DelayLine<Bit>,
    q_o: DelayLine<Bits<SP_ADDR_BITS>>,
    pack: Pack<W>,
    pack_be: PackBits<BE>,

    // Locals.
    inc0: Signal<Local, Bits<16>>,
    inc1: Signal<Local, Bits<16>>,
    dec0: Signal<Local, Bits<16>>,
    dec1: Signal<Local, Bits<16>>,
    ret0: Signal<Local, Bits<16>>,
    ret1: Signal<Local, Bits<16>>,
    pop: Signal<Local, Bit>,
    load_ok: Signal<Local, Bit>,
    slot_free: Signal<Local, Bit>,
    start_ok: Signal<Local, Bit>,
    next_idx: Signal<Local, Bits<32>>,
    out_group: Signal<Local, Bits<8>>,
    out_cols: Signal<Local, Bits<16>>,

    // Constants.
    l_idle: Constant<Bits<3>>,
    l_header: Constant<Bits<3>>,
    l_gate: Constant<Bits<3>>,
    l_rows: Constant<Bits<3>>,
    l_finished: Constant<Bits<3>>,
    s_idle: Constant<Bits<3>>,
    s_wait: Constant<Bits<3>>,
    s_run: Constant<Bits<3>>,
    s_drain: Constant<Bits<3>>,
    k_round: Constant<Bits<16>>,
    k_shift: Constant<Bits<16>>,
    n_round: Constant<Bits<16>>,
    n_shift: Constant<Bits<16>>,
    c_cols: Constant<Bits<16>>,
    c_rows: Constant<Bits<FIFO_COUNT_BITS>>,
    c_hdr_last: Constant<Bits<8>>,
    c_gate: Constant<Bits<8>>,
    c_group_last: Constant<Bits<8>>,
    one16: Constant<Bits<16>>,
    zero_s16: Constant<Signed<16>>,
    zero16: Constant<Bits<16>>,
    byte_group: Vec<Constant<Bits<8>>>,
    byte_col: Vec<Constant<Bits<16>>>,
    _rows: usize,
    _cols: usize,
}

impl<const W: usize, const BE: usize> GemmEngine<W, BE> {
    /// An engine for an `rows x cols` array (`W = 8 * rows`, `cols` divides `rows`), an
    /// accumulator of `acc_rows` (a power of two) rows and a weight FIFO of `fifo_words`.
    pub fn new(rows: usize, cols: usize, acc_rows: usize, fifo_words: usize) -> Self {
        assert_eq!(W, 8 * rows, "one word holds R bytes");
        assert_eq!(BE, rows);
        assert!(rows.is_multiple_of(cols) && cols >= 4, "C must divide R");
        assert!(4 * cols >= rows, "a header word holds R/4 lanes, at most C");
        assert!(fifo_words >= 2 * rows, "the weight FIFO holds at least two tiles");
        let hdr_words = 8 * cols / rows;
        assert!(hdr_words >= 1, "the header must fill whole words");
        let lat = array_latency(rows, cols);
        let c16 = |v: usize| Constant::new(Bits::<16>::from(v as u64));
        let c8 = |v: usize| Constant::new(Bits::<8>::from(v as u64));
        GemmEngine {
            clock: Signal::default(),
            reset: Signal::default(),
            start: Signal::default(),
            m: Signal::default(),
            k: Signal::default(),
            n: Signal::default(),
            a_addr: Signal::default(),
            a_stride: Signal::default(),
            a_unsigned: Signal::default(),
            o_addr: Signal::default(),
            o_stride: Signal::default(),
            done: Signal::default(),
            a_rd_addr: Signal::default(),
            a_rd_data: Signal::default(),
            wf_data: Signal::default(),
            wf_count: Signal::default(),
            wf_pop: Signal::default(),
            o_wr_addr: Signal::default(),
            o_wr_data: Signal::default(),
            o_wr_be: Signal::default(),
            o_wr_en: Signal::default(),
            active: Signal::default(),
            r_m: DFF::default(),
            r_a_stride: DFF::default(),
            r_o_stride: DFF::default(),
            r_unsigned: DFF::default(),
            kt_count: DFF::default(),
            nt_count: DFF::default(),
            l_state: DFF::default(),
            l_kt: DFF::default(),
            l_nt: DFF::default(),
            l_row: DFF::default(),
            l_hdr: DFF::default(),
            l_tag: DFF::default(),
            l_par: DFF::default(),
            l_done: DFF::default(),
            n_left: DFF::default(),
            o_word_cur: DFF::default(),
            o_group_cur: DFF::default(),
            bias0: (0..cols).map(|_| DFF::default()).collect(),
            bias1: (0..cols).map(|_| DFF::default()).collect(),
            mult0: (0..cols).map(|_| DFF::default()).collect(),
            mult1: (0..cols).map(|_| DFF::default()).collect(),
            shift0: (0..cols).map(|_| DFF::default()).collect(),
            shift1: (0..cols).map(|_| DFF::default()).collect(),
            o_word0: DFF::default(),
            o_word1: DFF::default(),
            o_group0: DFF::default(),
            o_group1: DFF::default(),
            o_cols0: DFF::default(),
            o_cols1: DFF::default(),
            s_state: DFF::default(),
            s_kt: DFF::default(),
            s_nt: DFF::default(),
            s_m: DFF::default(),
            s_tag: DFF::default(),
            s_par: DFF::default(),
            s_started: DFF::default(),
            a_row_addr: DFF::default(),
            a_kt_off: DFF::default(),
            o_row_addr: DFF::default(),
            gate: DFF::default(),
            inflight0: DFF::default(),
            inflight1: DFF::default(),
            m_tb: DFF::default(),
            done_reg: DFF::default(),
            sb_valid: DFF::default(),
            sb_first: DFF::default(),
            sb_last: DFF::default(),
            sb_par: DFF::default(),
            sb_tag: DFF::default(),
            sb_m: DFF::default(),
            sb_o: DFF::default(),
            ext_s: (0..rows).map(|_| Extend::new(true)).collect(),
            ext_u: (0..rows).map(|_| Extend::new(false)).collect(),
            ext_w: (0..cols).map(|_| Extend::new(true)).collect(),
            array: SystolicArray::new(rows, cols),
            d_valid: DelayLine::new(lat - 1),
            d_first: DelayLine::new(lat - 1),
            d_last: DelayLine::new(lat - 1),
            d_par: DelayLine::new(lat - 1),
            d_m: DelayLine::new(lat - 1),
            d_o: DelayLine::new(lat - 1),
            x_valid: DFF::default(),
            x_first: DFF::default(),
            x_last: DFF::default(),
            x_par: DFF::default(),
            x_m: DFF::default(),
            x_o: DFF::default(),
            acc: (0..cols).map(|_| AccLane::new(acc_rows)).collect(),
            sum: (0..cols).map(|_| Signal::default()).collect(),
            rq: (0..cols).map(|_| RequantLane::default()).collect(),
            q_valid: DelayLine::new(REQUANT_LATENCY),
            q_par: DelayLine::new(REQUANT_LATENCY),
            q_o: DelayLine::new(REQUANT_LATENCY),
            pack: Pack::default(),
            pack_be: PackBits::default(),
            inc0: Signal::default(),
            inc1: Signal::default(),
            dec0: Signal::default(),
            dec1: Signal::default(),
            ret0: Signal::default(),
            ret1: Signal::default(),
            pop: Signal::default(),
            load_ok: Signal::default(),
            slot_free: Signal::default(),
            start_ok: Signal::default(),
            next_idx: Signal::default(),
            out_group: Signal::default(),
            out_cols: Signal::default(),
            l_idle: Constant::new(L_IDLE.into()),
            l_header: Constant::new(L_HEADER.into()),
            l_gate: Constant::new(L_GATE.into()),
            l_rows: Constant::new(L_ROWS.into()),
            l_finished: Constant::new(L_FINISHED.into()),
            s_idle: Constant::new(S_IDLE.into()),
            s_wait: Constant::new(S_WAIT.into()),
            s_run: Constant::new(S_RUN.into()),
            s_drain: Constant::new(S_DRAIN.into()),
            k_round: c16(rows - 1),
            k_shift: c16(rows.trailing_zeros() as usize),
            n_round: c16(cols - 1),
            n_shift: c16(cols.trailing_zeros() as usize),
            c_cols: c16(cols),
            c_rows: Constant::new(Bits::<FIFO_COUNT_BITS>::from(rows as u64)),
            c_hdr_last: c8(hdr_words - 1),
            c_gate: c8(load_gate(cols)),
            c_group_last: c8(rows / cols - 1),
            one16: c16(1),
            zero_s16: Constant::new(Signed::from(0)),
            zero16: c16(0),
            byte_group: (0..rows).map(|b| c8(b / cols)).collect(),
            byte_col: (0..rows).map(|b| c16(b % cols)).collect(),
            _rows: rows,
            _cols: cols,
        }
    }
}

impl<const W: usize, const BE: usize> Logic for GemmEngine<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            r_m,
            r_a_stride,
            r_o_stride,
            r_unsigned,
            kt_count,
            nt_count,
            l_state,
            l_kt,
            l_nt,
            l_row,
            l_hdr,
            l_tag,
            l_par,
            l_done,
            n_left,
            o_word_cur,
            o_group_cur,
            o_word0,
            o_word1,
            o_group0,
            o_group1,
            o_cols0,
            o_cols1,
            s_state,
            s_kt,
            s_nt,
            s_m,
            s_tag,
            s_par,
            s_started,
            a_row_addr,
            a_kt_off,
            o_row_addr,
            gate,
            inflight0,
            inflight1,
            m_tb,
            done_reg,
            sb_valid,
            sb_first,
            sb_last,
            sb_par,
            sb_tag,
            sb_m,
            sb_o,
            x_valid,
            x_first,
            x_last,
            x_par,
            x_m,
            x_o
        );
        for c in 0..self._cols {
            self.bias0[c].clock.next = self.clock.val();
            self.bias1[c].clock.next = self.clock.val();
            self.mult0[c].clock.next = self.clock.val();
            self.mult1[c].clock.next = self.clock.val();
            self.shift0[c].clock.next = self.clock.val();
            self.shift1[c].clock.next = self.clock.val();
            self.bias0[c].d.next = self.bias0[c].q.val();
            self.bias1[c].d.next = self.bias1[c].q.val();
            self.mult0[c].d.next = self.mult0[c].q.val();
            self.mult1[c].d.next = self.mult1[c].q.val();
            self.shift0[c].d.next = self.shift0[c].q.val();
            self.shift1[c].d.next = self.shift1[c].q.val();
            self.acc[c].clock.next = self.clock.val();
            self.rq[c].clock.next = self.clock.val();
        }
        self.array.clock.next = self.clock.val();
        self.d_valid.clock.next = self.clock.val();
        self.d_first.clock.next = self.clock.val();
        self.d_last.clock.next = self.clock.val();
        self.d_par.clock.next = self.clock.val();
        self.d_m.clock.next = self.clock.val();
        self.d_o.clock.next = self.clock.val();
        self.q_valid.clock.next = self.clock.val();
        self.q_par.clock.next = self.clock.val();
        self.q_o.clock.next = self.clock.val();

        // ---------------- defaults ----------------
        self.pop.next = false;
        self.inc0.next = self.zero16.val();
        self.inc1.next = self.zero16.val();
        self.dec0.next = self.zero16.val();
        self.dec1.next = self.zero16.val();
        self.ret0.next = self.zero16.val();
        self.ret1.next = self.zero16.val();
        self.done_reg.d.next = false;
        self.sb_valid.d.next = false;
        for r in 0..self._rows {
            self.array.w_row_we[r].next = false;
        }
        for c in 0..self._cols {
            self.array.w_col_we[c].next = false;
        }
        for r in 0..self._rows {
            self.array.w_col_data[r].next = self.zero_s16.val();
        }
        if self.gate.q.val() != 0 {
            self.gate.d.next = self.gate.q.val() - 1;
        }

        // ---------------- loader ----------------
        self.slot_free.next = (!self.l_par.q.val() && (self.inflight0.q.val() == 0))
            || (self.l_par.q.val() && (self.inflight1.q.val() == 0));
        self.load_ok.next =
            (self.l_done.q.val() == 0) || ((self.s_started.q.val() == self.l_done.q.val()) && (self.gate.q.val() == 0));
        if self.l_state.q.val() == self.l_header.val() {
            if self.slot_free.val() && (self.wf_count.val() != 0) {
                self.pop.next = true;
                if self.l_hdr.q.val() == 0 {
                    // Output placement of this n-tile.
                    if self.l_par.q.val() {
                        self.o_word1.d.next = self.o_word_cur.q.val();
                        self.o_group1.d.next = self.o_group_cur.q.val();
                        self.o_cols1.d.next = self.n_left.q.val();
                        if self.n_left.q.val() > self.c_cols.val() {
                            self.o_cols1.d.next = self.c_cols.val();
                        }
                    } else {
                        self.o_word0.d.next = self.o_word_cur.q.val();
                        self.o_group0.d.next = self.o_group_cur.q.val();
                        self.o_cols0.d.next = self.n_left.q.val();
                        if self.n_left.q.val() > self.c_cols.val() {
                            self.o_cols0.d.next = self.c_cols.val();
                        }
                    }
                    self.n_left.d.next = self.n_left.q.val() - self.c_cols.val();
                    self.o_group_cur.d.next = self.o_group_cur.q.val() + 1;
                    if self.o_group_cur.q.val() == self.c_group_last.val() {
                        self.o_group_cur.d.next = 0.into();
                        self.o_word_cur.d.next = self.o_word_cur.q.val() + 1;
                    }
                }
                // Header word j holds R/4 lanes: biases in words 0..4C/R, then the
                // requantization words (m in bits 15:0, s in bits 21:16 of each 32-bit lane).
                for q in (self._rows / 4)..(self._rows / 4 + 1) {
                    for hw in (self._cols * 4 / self._rows)..(self._cols * 4 / self._rows + 1) {
                        for j in 0..(self._cols * 4 / self._rows) {
                            if self.l_hdr.q.val().index() == j {
                                for i in 0..(self._rows / 4) {
                                    if self.l_par.q.val() {
                                        self.bias1[j * q + i].d.next = self.wf_data.val().get_bits::<32>(32 * i);
                                    } else {
                                        self.bias0[j * q + i].d.next = self.wf_data.val().get_bits::<32>(32 * i);
                                    }
                                }
                            }
                            if self.l_hdr.q.val().index() == j + hw {
                                for i in 0..(self._rows / 4) {
                                    if self.l_par.q.val() {
                                        self.mult1[j * q + i].d.next = self.wf_data.val().get_bits::<16>(32 * i);
                                        self.shift1[j * q + i].d.next = self.wf_data.val().get_bits::<6>(32 * i + 16);
                                    } else {
                                        self.mult0[j * q + i].d.next = self.wf_data.val().get_bits::<16>(32 * i);
                                        self.shift0[j * q + i].d.next = self.wf_data.val().get_bits::<6>(32 * i + 16);
                                    }
                                }
                            }
                        }
                    }
                }
                self.l_hdr.d.next = self.l_hdr.q.val() + 1;
                if self.l_hdr.q.val() == self.c_hdr_last.val() {
                    self.l_hdr.d.next = 0.into();
                    self.l_state.d.next = self.l_gate.val();
                }
            }
        } else if self.l_state.q.val() == self.l_gate.val() {
            if self.load_ok.val() {
                self.l_state.d.next = self.l_rows.val();
            }
        } else if self.l_state.q.val() == self.l_rows.val() {
            if self.wf_count.val() != 0 {
                self.pop.next = true;
                for r in 0..self._rows {
                    self.array.w_row_we[r].next = self.l_row.q.val().index() == r;
                }
                self.l_row.d.next = self.l_row.q.val() + 1;
                if self.l_row.q.val() + 1 == self.c_rows.val() {
                    // Tile complete.
                    self.l_row.d.next = 0.into();
                    self.l_done.d.next = self.l_done.q.val() + 1;
                    self.l_tag.d.next = !self.l_tag.q.val();
                    self.l_state.d.next = self.l_gate.val();
                    self.l_kt.d.next = self.l_kt.q.val() + 1;
                    if self.l_kt.q.val() + 1 == self.kt_count.q.val() {
                        self.l_kt.d.next = 0.into();
                        self.l_nt.d.next = self.l_nt.q.val() + 1;
                        self.l_par.d.next = !self.l_par.q.val();
                        if self.l_nt.q.val() + 1 == self.nt_count.q.val() {
                            self.l_state.d.next = self.l_finished.val();
                        } else {
                            self.l_state.d.next = self.l_header.val();
                        }
                    }
                }
            }
        }
        self.wf_pop.next = self.pop.val();
        self.array.w_sel.next = self.l_tag.q.val();
        for c in 0..self._cols {
            self.ext_w[c].din.next = self.wf_data.val().get_bits::<8>(8 * c);
            self.array.w_row_data[c].next = signed_cast(self.ext_w[c].dout.val());
        }

        // ---------------- streamer ----------------
        // Index of the next tile to start: s_started counts started tiles, but during the first
        // row of a tile (s_m == 0 in Run) that tile's own increment is not visible yet.
        self.next_idx.next = self.s_started.q.val();
        if (self.s_state.q.val() == self.s_run.val()) && (self.s_m.q.val() == 0) {
            self.next_idx.next = self.s_started.q.val() + 1;
        }
        self.start_ok.next = (self.l_done.q.val() > self.next_idx.val())
            || ((self.l_state.q.val() == self.l_rows.val())
                && (self.l_done.q.val() == self.next_idx.val())
                && (self.l_row.q.val() != 0)
                && (self.wf_count.val() >= self.c_rows.val() - self.l_row.q.val()));
        self.a_rd_addr.next = self.a_row_addr.q.val() + self.a_kt_off.q.val();
        if self.s_state.q.val() == self.s_wait.val() {
            if self.start_ok.val() {
                self.s_state.d.next = self.s_run.val();
            }
        } else if self.s_state.q.val() == self.s_run.val() {
            // Issue row s_m of tile (s_nt, s_kt).
            self.sb_valid.d.next = true;
            self.sb_first.d.next = self.s_kt.q.val() == 0;
            self.sb_last.d.next = self.s_kt.q.val() + 1 == self.kt_count.q.val();
            self.sb_par.d.next = self.s_par.q.val();
            self.sb_tag.d.next = self.s_tag.q.val();
            self.sb_m.d.next = self.m_tb.q.val();
            self.sb_o.d.next = self.o_row_addr.q.val();
            if self.s_par.q.val() {
                self.inc1.next = self.one16.val();
            } else {
                self.inc0.next = self.one16.val();
            }
            if self.s_m.q.val() == 0 {
                self.s_started.d.next = self.s_started.q.val() + 1;
                self.gate.d.next = self.c_gate.val();
            }
            self.s_m.d.next = self.s_m.q.val() + 1;
            self.m_tb.d.next = self.m_tb.q.val() + 1;
            self.a_row_addr.d.next = self.a_row_addr.q.val() + self.r_a_stride.q.val();
            self.o_row_addr.d.next = self.o_row_addr.q.val() + self.r_o_stride.q.val();
            if self.s_m.q.val() + 1 == self.r_m.q.val() {
                // Tile issued: rewind rows, advance to the next tile.
                self.s_m.d.next = 0.into();
                self.m_tb.d.next = 0.into();
                self.o_row_addr.d.next = self.o_addr.val();
                self.a_row_addr.d.next = self.a_addr.val();
                self.s_tag.d.next = !self.s_tag.q.val();
                // Straight into the next tile when it is ready (no bubble between tiles).
                self.s_state.d.next = self.s_wait.val();
                if self.start_ok.val() {
                    self.s_state.d.next = self.s_run.val();
                }
                self.s_kt.d.next = self.s_kt.q.val() + 1;
                self.a_kt_off.d.next = self.a_kt_off.q.val() + 1;
                if self.s_kt.q.val() + 1 == self.kt_count.q.val() {
                    self.s_kt.d.next = 0.into();
                    self.a_kt_off.d.next = 0.into();
                    self.s_nt.d.next = self.s_nt.q.val() + 1;
                    self.s_par.d.next = !self.s_par.q.val();
                    if self.s_nt.q.val() + 1 == self.nt_count.q.val() {
                        self.s_state.d.next = self.s_drain.val();
                    }
                }
            }
        } else if self.s_state.q.val() == self.s_drain.val() {
            if (self.inflight0.q.val() == 0) && (self.inflight1.q.val() == 0) {
                self.s_state.d.next = self.s_idle.val();
                self.l_state.d.next = self.l_idle.val();
                self.done_reg.d.next = true;
            }
        }

        // ---------------- start ----------------
        if self.start.val() && (self.s_state.q.val() == self.s_idle.val()) {
            self.r_m.d.next = self.m.val();
            self.r_a_stride.d.next = self.a_stride.val();
            self.r_o_stride.d.next = self.o_stride.val();
            self.r_unsigned.d.next = self.a_unsigned.val();
            self.kt_count.d.next = (self.k.val() + self.k_round.val()) >> self.k_shift.val();
            self.nt_count.d.next = (self.n.val() + self.n_round.val()) >> self.n_shift.val();
            self.l_state.d.next = self.l_header.val();
            self.l_kt.d.next = 0.into();
            self.l_nt.d.next = 0.into();
            self.l_row.d.next = 0.into();
            self.l_hdr.d.next = 0.into();
            self.l_tag.d.next = false;
            self.l_par.d.next = false;
            self.l_done.d.next = 0.into();
            self.s_state.d.next = self.s_wait.val();
            self.s_kt.d.next = 0.into();
            self.s_nt.d.next = 0.into();
            self.s_m.d.next = 0.into();
            self.m_tb.d.next = 0.into();
            self.s_tag.d.next = false;
            self.s_par.d.next = false;
            self.s_started.d.next = 0.into();
            self.a_row_addr.d.next = self.a_addr.val();
            self.a_kt_off.d.next = 0.into();
            self.o_row_addr.d.next = self.o_addr.val();
            self.gate.d.next = 0.into();
            self.n_left.d.next = self.n.val();
            self.o_group_cur.d.next = 0.into();
            self.o_word_cur.d.next = 0.into();
        }
        self.done.next = self.done_reg.q.val();

        // ---------------- array input stage ----------------
        self.active.next = self.sb_valid.q.val();
        self.array.a_tag.next = self.sb_tag.q.val();
        for r in 0..self._rows {
            self.ext_s[r].din.next = self.a_rd_data.val().get_bits::<8>(8 * r);
            self.ext_u[r].din.next = self.a_rd_data.val().get_bits::<8>(8 * r);
            if self.r_unsigned.q.val() {
                self.array.a_row[r].next = signed_cast(self.ext_u[r].dout.val());
            } else {
                self.array.a_row[r].next = signed_cast(self.ext_s[r].dout.val());
            }
        }
        self.d_valid.din.next = self.sb_valid.q.val();
        self.d_first.din.next = self.sb_first.q.val();
        self.d_last.din.next = self.sb_last.q.val();
        self.d_par.din.next = self.sb_par.q.val();
        self.d_m.din.next = self.sb_m.q.val();
        self.d_o.din.next = self.sb_o.q.val();

        // ---------------- accumulator stage ----------------
        self.x_valid.d.next = self.d_valid.dout.val();
        self.x_first.d.next = self.d_first.dout.val();
        self.x_last.d.next = self.d_last.dout.val();
        self.x_par.d.next = self.d_par.dout.val();
        self.x_m.d.next = self.d_m.dout.val();
        self.x_o.d.next = self.d_o.dout.val();
        for c in 0..self._cols {
            self.acc[c].rd_addr.next = self.d_m.dout.val();
            if self.x_first.q.val() {
                if self.x_par.q.val() {
                    self.sum[c].next = unsigned_cast(self.array.out[c].val()) + self.bias1[c].q.val();
                } else {
                    self.sum[c].next = unsigned_cast(self.array.out[c].val()) + self.bias0[c].q.val();
                }
            } else {
                self.sum[c].next = unsigned_cast(self.array.out[c].val()) + self.acc[c].rd_data.val();
            }
            self.acc[c].wr_addr.next = self.x_m.q.val();
            self.acc[c].wr_data.next = self.sum[c].val();
            self.acc[c].wr_en.next = self.x_valid.q.val() && !self.x_last.q.val();
            self.rq[c].acc.next = self.sum[c].val();
            if self.x_par.q.val() {
                self.rq[c].mult.next = self.mult1[c].q.val();
                self.rq[c].shift.next = self.shift1[c].q.val();
            } else {
                self.rq[c].mult.next = self.mult0[c].q.val();
                self.rq[c].shift.next = self.shift0[c].q.val();
            }
        }
        if self.x_valid.q.val() && !self.x_last.q.val() {
            if self.x_par.q.val() {
                self.dec1.next = self.one16.val();
            } else {
                self.dec0.next = self.one16.val();
            }
        }
        self.q_valid.din.next = self.x_valid.q.val() && self.x_last.q.val();
        self.q_par.din.next = self.x_par.q.val();
        self.q_o.din.next = self.x_o.q.val();

        // ---------------- output stage ----------------
        if self.q_par.dout.val() {
            self.o_wr_addr.next = self.q_o.dout.val() + self.o_word1.q.val();
            self.out_group.next = self.o_group1.q.val();
            self.out_cols.next = self.o_cols1.q.val();
        } else {
            self.o_wr_addr.next = self.q_o.dout.val() + self.o_word0.q.val();
            self.out_group.next = self.o_group0.q.val();
            self.out_cols.next = self.o_cols0.q.val();
        }
        for cc in self._cols..(self._cols + 1) {
            for b in 0..self._rows {
                self.pack.lanes[b].next = self.rq[b % cc].y.val();
                self.pack_be.lanes[b].next = (self.out_group.val() == self.byte_group[b].val())
                    && (self.byte_col[b].val() < self.out_cols.val());
            }
        }
        self.o_wr_data.next = self.pack.dout.val();
        self.o_wr_be.next = self.pack_be.dout.val();
        self.o_wr_en.next = self.q_valid.dout.val();
        if self.q_valid.dout.val() {
            if self.q_par.dout.val() {
                self.ret1.next = self.one16.val();
            } else {
                self.ret0.next = self.one16.val();
            }
        }
        // Rows in flight per n-tile parity: issued, minus those retired at the accumulator stage
        // (non-final k-tiles) and at the output write (final k-tile).
        self.inflight0.d.next = self.inflight0.q.val() + self.inc0.val() - self.dec0.val() - self.ret0.val();
        self.inflight1.d.next = self.inflight1.q.val() + self.inc1.val() - self.dec1.val() - self.ret1.val();

        // ---------------- reset ----------------
        if self.reset.val() {
            self.l_state.d.next = self.l_idle.val();
            self.s_state.d.next = self.s_idle.val();
            self.inflight0.d.next = 0.into();
            self.inflight1.d.next = 0.into();
            self.sb_valid.d.next = false;
            self.done_reg.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_engine_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut GemmEngine::<64, 8>::new(8, 8, 32, 32), "gemm");
        crate::verilog::lint(&v, "gemm").unwrap();
        let v = crate::verilog::generate(&mut GemmEngine::<64, 8>::new(8, 4, 32, 32), "gemm");
        crate::verilog::lint(&v, "gemm").unwrap();
    }
}
