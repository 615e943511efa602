//! The GEMM engine: tile sequencer, systolic array, accumulator and output path.
//!
//! `out[m][n] = f(v[m][n])`, `v = (sum_k A[m][k] B[k][n] + bias[n]) * rs[m]` for an `M x K`
//! activation matrix A in a scratchpad bank (token-major, one `R`-byte word per `R` channels),
//! a stationary operand B and per-n-tile parameters from the weight FIFO
//! (`spec::isa::weight_stream_words`: the optional 256-byte LUT, then per n-tile of `C` output
//! channels a header of C int32 biases and C requant words, then for DRAM weights `ceil(K/R)`
//! tiles of `R` rows). B comes from the FIFO, or from the scratchpad through the B read port:
//! by rows (tile row = C bytes of one word: `V` in `P V`) or by columns (tile column = one
//! R-byte word: `K^T` in `Q K^T`), with reduction indices `>= K` forced to zero. `rs` is the
//! optional int8 per-row scale (read through the B port, which is then free), `f` one of
//! requant to int8, requant + LUT (GELU), or the int16 residual update
//! `X = sat16(X + requant_i16(v))` on two byte planes read through the X ports.
//!
//! Tiles run in the order (n-tile, k-tile). The **loader** writes tile `i` into weight buffer
//! `i % 2` while tile `i - 1` streams; the **streamer** sends the `M` token rows of a tile
//! through the array, one per cycle, tagged with the tile's buffer. Timing rules (derived in
//! `docs/ARCHITECTURE.md`):
//! * the loader may start tile `i` only a gate of cycles after tile `i - 1` started streaming
//!   ([`load_gate`]; `R` for column loads), so tile `i - 2`, the buffer's previous user, has
//!   left every PE the loader writes;
//! * the streamer may start tile `i` once it is fully loaded, or (FIFO weights) once at least
//!   one row is written and the FIFO already holds the rest (rows are then written ahead of the
//!   wavefront).
//!
//! So a tile costs `max(M, gate + 1)` cycles: work is proportional to the live token count.
//! Partial sums of non-final k-tiles accumulate in a `max_tokens x C` int32 RAM; the final
//! k-tile's sums go to the requantizers and are written into the output bank at the output
//! channel's byte position (C bytes of an R-byte word, byte-enabled).

use crate::array::{array_latency, SystolicArray};
use crate::delay::DelayLine;
use crate::mul::Mul;
use crate::requant::{RequantLane, REQUANT_IN_BITS, REQUANT_LATENCY};
use crate::storage::{AccLane, LutRam, ACC_ADDR_BITS, FIFO_COUNT_BITS, SP_ADDR_BITS};
use crate::widen::Extend;
use output::OutputWriter;
use params::TileParams;
use rust_hdl::prelude::*;

pub mod output;
pub mod params;

pub use spec::timing::gemm::{column_load_gate, load_gate, LOAD_MARGIN};

/// Cycles from a row's read address to its output write: bank read, array, accumulator stage,
/// requantizer, output stage (LUT and residual reads).
pub fn gemm_row_latency(rows: usize, cols: usize) -> usize {
    1 + array_latency(rows, cols) + REQUANT_LATENCY + 1
}

/// Where B comes from (`b_mode`).
pub mod b_mode {
    /// The weight FIFO.
    pub const FIFO: u64 = 0;
    /// Scratchpad rows.
    pub const ROWS: u64 = 1;
    /// Scratchpad columns.
    pub const COLUMNS: u64 = 2;
}

/// What the output path writes (`o_mode`).
pub mod o_mode {
    /// int8.
    pub const INT8: u64 = 0;
    /// int8 through the LUT.
    pub const LUT: u64 = 1;
    /// int16 residual update.
    pub const RESID16: u64 = 2;
    /// int8, also written to the high-plane bank (a second copy).
    pub const DUP: u64 = 3;
}

// FSM state codes (plain bit vectors: rust-hdl's enum registers are not lint clean).
// Loader: idle, popping the LUT, popping the n-tile header, waiting for the tile's buffer,
// loading rows/columns, done.
const L_IDLE: u64 = 0;
const L_HEADER: u64 = 1;
const L_GATE: u64 = 2;
const L_ROWS: u64 = 3;
const L_FINISHED: u64 = 4;
const L_LUT: u64 = 5;
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
    /// Source of B ([`b_mode`]).
    pub b_mode: Signal<In, Bits<2>>,
    /// On-chip B: word address of row 0.
    pub b_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// On-chip B: words between rows (row loads) or output channels (column loads).
    pub b_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Row loads: C-byte group of output channel 0.
    pub b_group: Signal<In, Bits<4>>,
    /// Multiply each row by its int8 scale.
    pub rs_en: Signal<In, Bit>,
    /// Word address of the row scales (R per word).
    pub rs_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Word address of output row 0.
    pub o_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Words between output rows.
    pub o_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// C-byte group of output channel 0.
    pub o_group: Signal<In, Bits<4>>,
    /// Output function ([`o_mode`]).
    pub o_mode: Signal<In, Bits<2>>,
    /// One-cycle pulse when the last output row has been written.
    pub done: Signal<Out, Bit>,
    /// The A read port is used this cycle.
    pub a_rd_en: Signal<Out, Bit>,
    /// A read address (data returns the next cycle).
    pub a_rd_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// A read data.
    pub a_rd_data: Signal<In, Bits<W>>,
    /// The B read port is used this cycle.
    pub b_rd_en: Signal<Out, Bit>,
    /// B read address (on-chip B or row scales).
    pub b_rd_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// B read data.
    pub b_rd_data: Signal<In, Bits<W>>,
    /// The X read ports are used this cycle (residual update).
    pub x_rd_en: Signal<Out, Bit>,
    /// X read address (both byte planes).
    pub x_rd_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// X low byte plane.
    pub x_lo_data: Signal<In, Bits<W>>,
    /// X high byte plane.
    pub x_hi_data: Signal<In, Bits<W>>,
    /// Head of the weight FIFO.
    pub wf_data: Signal<In, Bits<W>>,
    /// Words in the weight FIFO.
    pub wf_count: Signal<In, Bits<FIFO_COUNT_BITS>>,
    /// Pop the weight FIFO.
    pub wf_pop: Signal<Out, Bit>,
    /// Output write address (both planes).
    pub o_wr_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Output write data (int8, or the low byte plane).
    pub o_wr_data: Signal<Out, Bits<W>>,
    /// High byte plane write data (residual update).
    pub o_hi_data: Signal<Out, Bits<W>>,
    /// Output byte enables (both planes).
    pub o_wr_be: Signal<Out, Bits<BE>>,
    /// Output write strobe.
    pub o_wr_en: Signal<Out, Bit>,
    /// High byte plane write strobe.
    pub o_hi_en: Signal<Out, Bit>,
    /// A row enters the array this cycle (for utilization counters).
    pub active: Signal<Out, Bit>,
    r_m: DFF<Bits<16>>,
    r_k: DFF<Bits<16>>,
    r_a_stride: DFF<Bits<SP_ADDR_BITS>>,
    r_o_stride: DFF<Bits<SP_ADDR_BITS>>,
    r_unsigned: DFF<Bit>,
    r_b_mode: DFF<Bits<2>>,
    r_b_addr: DFF<Bits<SP_ADDR_BITS>>,
    r_b_stride: DFF<Bits<SP_ADDR_BITS>>,
    r_b_stride_c: DFF<Bits<SP_ADDR_BITS>>,
    r_rs_en: DFF<Bit>,
    r_rs_addr: DFF<Bits<SP_ADDR_BITS>>,
    r_o_mode: DFF<Bits<2>>,
    r_gate: DFF<Bits<8>>,
    kt_count: DFF<Bits<16>>,
    nt_count: DFF<Bits<16>>,
    l_state: DFF<Bits<3>>,
    l_kt: DFF<Bits<16>>,
    l_k0: DFF<Bits<16>>,
    l_kt_sp: DFF<Bits<SP_ADDR_BITS>>,
    l_nt: DFF<Bits<16>>,
    l_row: DFF<Bits<FIFO_COUNT_BITS>>,
    l_hdr: DFF<Bits<8>>,
    l_tag: DFF<Bit>,
    l_par: DFF<Bit>,
    l_done: DFF<Bits<32>>,
    n_left: DFF<Bits<16>>,
    o_word_cur: DFF<Bits<SP_ADDR_BITS>>,
    o_group_cur: DFF<Bits<4>>,
    b_word_cur: DFF<Bits<SP_ADDR_BITS>>,
    b_group_cur: DFF<Bits<4>>,
    b_group_nt: DFF<Bits<4>>,
    b_row_ptr: DFF<Bits<SP_ADDR_BITS>>,
    b_col_base: DFF<Bits<SP_ADDR_BITS>>,
    b_col_nt: DFF<Bits<SP_ADDR_BITS>>,
    b_col_ptr: DFF<Bits<SP_ADDR_BITS>>,
    lw_valid: DFF<Bit>,
    lw_cols: DFF<Bit>,
    lw_idx: DFF<Bits<FIFO_COUNT_BITS>>,
    lw_zero: DFF<Bit>,
    lw_k0: DFF<Bits<16>>,
    lw_tag: DFF<Bit>,
    lw_last: DFF<Bit>,
    lw_group: DFF<Bits<4>>,
    params: TileParams<W>,
    lut: LutRam<W>,
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
    rs_ptr: DFF<Bits<SP_ADDR_BITS>>,
    gate: DFF<Bits<8>>,
    inflight0: DFF<Bits<16>>,
    inflight1: DFF<Bits<16>>,
    m_tb: DFF<Bits<ACC_ADDR_BITS>>,
    done_reg: DFF<Bit>,
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
    ext_c: Vec<Extend<16, 8>>,
    array: SystolicArray,
    d_valid: DelayLine<Bit>,
    d_first: DelayLine<Bit>,
    d_last: DelayLine<Bit>,
    d_par: DelayLine<Bit>,
    d_m: DelayLine<Bits<ACC_ADDR_BITS>>,
    d_o: DelayLine<Bits<SP_ADDR_BITS>>,
    d_rs: DelayLine<Bits<8>>,
    x_valid: DFF<Bit>,
    x_first: DFF<Bit>,
    x_last: DFF<Bit>,
    x_par: DFF<Bit>,
    x_m: DFF<Bits<ACC_ADDR_BITS>>,
    x_o: DFF<Bits<SP_ADDR_BITS>>,
    x_rs: DFF<Bits<8>>,
    acc: Vec<AccLane>,
    sum: Vec<Signal<Local, Bits<32>>>,
    scale: Vec<Mul<32, 8, REQUANT_IN_BITS>>,
    rq: Vec<RequantLane>,
    q_valid: DelayLine<Bit>,
    q_par: DelayLine<Bit>,
    q_o: DelayLine<Bits<SP_ADDR_BITS>>,
    writer: OutputWriter<W, BE>,
    inc0: Signal<Local, Bits<16>>,
    inc1: Signal<Local, Bits<16>>,
    dec0: Signal<Local, Bits<16>>,
    dec1: Signal<Local, Bits<16>>,
    ret0: Signal<Local, Bits<16>>,
    ret1: Signal<Local, Bits<16>>,
    pop: Signal<Local, Bit>,
    header_we: Signal<Local, Bit>,
    load_ok: Signal<Local, Bit>,
    slot_free: Signal<Local, Bit>,
    start_ok: Signal<Local, Bit>,
    next_idx: Signal<Local, Bits<32>>,
    p_group: Signal<Local, Bits<4>>,
    p_cols: Signal<Local, Bits<16>>,
    p_addr: Signal<Local, Bits<SP_ADDR_BITS>>,
    onchip: Signal<Local, Bit>,
    l_last: Signal<Local, Bit>,
    k_rem: Signal<Local, Bits<16>>,
    rs_byte: Signal<Local, Bits<8>>,
    byte_group: Vec<Constant<Bits<4>>>,
    byte_idx16: Vec<Constant<Bits<16>>>,
    byte_idx_m: Vec<Constant<Bits<ACC_ADDR_BITS>>>,
    l_idle: Constant<Bits<3>>,
    l_header: Constant<Bits<3>>,
    l_gate: Constant<Bits<3>>,
    l_rows: Constant<Bits<3>>,
    l_finished: Constant<Bits<3>>,
    l_lut: Constant<Bits<3>>,
    s_idle: Constant<Bits<3>>,
    s_wait: Constant<Bits<3>>,
    s_run: Constant<Bits<3>>,
    s_drain: Constant<Bits<3>>,
    bm_fifo: Constant<Bits<2>>,
    bm_cols: Constant<Bits<2>>,
    om_lut: Constant<Bits<2>>,
    om_resid: Constant<Bits<2>>,
    k_round: Constant<Bits<16>>,
    k_shift: Constant<Bits<16>>,
    n_round: Constant<Bits<16>>,
    n_shift: Constant<Bits<16>>,
    c_cols: Constant<Bits<16>>,
    c_rows16: Constant<Bits<16>>,
    c_rows: Constant<Bits<FIFO_COUNT_BITS>>,
    c_cols_f: Constant<Bits<FIFO_COUNT_BITS>>,
    c_hdr_last: Constant<Bits<8>>,
    c_lut_last: Constant<Bits<8>>,
    c_gate_rows: Constant<Bits<8>>,
    c_gate_cols: Constant<Bits<8>>,
    c_group_last: Constant<Bits<4>>,
    c_log_c: Constant<Bits<SP_ADDR_BITS>>,
    c_rs_mask: Constant<Bits<ACC_ADDR_BITS>>,
    c_rs_last: Constant<Bits<16>>,
    one16: Constant<Bits<16>>,
    zero_s16: Constant<Signed<16>>,
    zero16: Constant<Bits<16>>,
    one8: Constant<Bits<8>>,
    lut_flip: Constant<Bits<8>>,
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
        assert!(rows <= 128, "the gate counters are 8 bits");
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
            b_mode: Signal::default(),
            b_addr: Signal::default(),
            b_stride: Signal::default(),
            b_group: Signal::default(),
            rs_en: Signal::default(),
            rs_addr: Signal::default(),
            o_addr: Signal::default(),
            o_stride: Signal::default(),
            o_group: Signal::default(),
            o_mode: Signal::default(),
            done: Signal::default(),
            a_rd_en: Signal::default(),
            a_rd_addr: Signal::default(),
            a_rd_data: Signal::default(),
            b_rd_en: Signal::default(),
            b_rd_addr: Signal::default(),
            b_rd_data: Signal::default(),
            x_rd_en: Signal::default(),
            x_rd_addr: Signal::default(),
            x_lo_data: Signal::default(),
            x_hi_data: Signal::default(),
            wf_data: Signal::default(),
            wf_count: Signal::default(),
            wf_pop: Signal::default(),
            o_wr_addr: Signal::default(),
            o_wr_data: Signal::default(),
            o_hi_data: Signal::default(),
            o_wr_be: Signal::default(),
            o_wr_en: Signal::default(),
            o_hi_en: Signal::default(),
            active: Signal::default(),
            r_m: DFF::default(),
            r_k: DFF::default(),
            r_a_stride: DFF::default(),
            r_o_stride: DFF::default(),
            r_unsigned: DFF::default(),
            r_b_mode: DFF::default(),
            r_b_addr: DFF::default(),
            r_b_stride: DFF::default(),
            r_b_stride_c: DFF::default(),
            r_rs_en: DFF::default(),
            r_rs_addr: DFF::default(),
            r_o_mode: DFF::default(),
            r_gate: DFF::default(),
            kt_count: DFF::default(),
            nt_count: DFF::default(),
            l_state: DFF::default(),
            l_kt: DFF::default(),
            l_k0: DFF::default(),
            l_kt_sp: DFF::default(),
            l_nt: DFF::default(),
            l_row: DFF::default(),
            l_hdr: DFF::default(),
            l_tag: DFF::default(),
            l_par: DFF::default(),
            l_done: DFF::default(),
            n_left: DFF::default(),
            o_word_cur: DFF::default(),
            o_group_cur: DFF::default(),
            b_word_cur: DFF::default(),
            b_group_cur: DFF::default(),
            b_group_nt: DFF::default(),
            b_row_ptr: DFF::default(),
            b_col_base: DFF::default(),
            b_col_nt: DFF::default(),
            b_col_ptr: DFF::default(),
            lw_valid: DFF::default(),
            lw_cols: DFF::default(),
            lw_idx: DFF::default(),
            lw_zero: DFF::default(),
            lw_k0: DFF::default(),
            lw_tag: DFF::default(),
            lw_last: DFF::default(),
            lw_group: DFF::default(),
            params: TileParams::new(rows, cols),
            lut: LutRam::new(cols),
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
            rs_ptr: DFF::default(),
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
            ext_c: (0..rows).map(|_| Extend::new(true)).collect(),
            array: SystolicArray::new(rows, cols),
            d_valid: DelayLine::new(lat - 1),
            d_first: DelayLine::new(lat - 1),
            d_last: DelayLine::new(lat - 1),
            d_par: DelayLine::new(lat - 1),
            d_m: DelayLine::new(lat - 1),
            d_o: DelayLine::new(lat - 1),
            d_rs: DelayLine::new(lat - 1),
            x_valid: DFF::default(),
            x_first: DFF::default(),
            x_last: DFF::default(),
            x_par: DFF::default(),
            x_m: DFF::default(),
            x_o: DFF::default(),
            x_rs: DFF::default(),
            acc: (0..cols).map(|_| AccLane::new(acc_rows)).collect(),
            sum: (0..cols).map(|_| Signal::default()).collect(),
            scale: (0..cols).map(|_| Mul::new(true, true)).collect(),
            rq: (0..cols).map(|_| RequantLane::default()).collect(),
            q_valid: DelayLine::new(REQUANT_LATENCY),
            q_par: DelayLine::new(REQUANT_LATENCY),
            q_o: DelayLine::new(REQUANT_LATENCY),
            writer: OutputWriter::new(rows, cols),
            inc0: Signal::default(),
            inc1: Signal::default(),
            dec0: Signal::default(),
            dec1: Signal::default(),
            ret0: Signal::default(),
            ret1: Signal::default(),
            pop: Signal::default(),
            header_we: Signal::default(),
            load_ok: Signal::default(),
            slot_free: Signal::default(),
            start_ok: Signal::default(),
            next_idx: Signal::default(),
            p_group: Signal::default(),
            p_cols: Signal::default(),
            p_addr: Signal::default(),
            onchip: Signal::default(),
            l_last: Signal::default(),
            k_rem: Signal::default(),
            rs_byte: Signal::default(),
            byte_group: (0..rows).map(|b| Constant::new(Bits::<4>::from((b / cols) as u64))).collect(),
            byte_idx16: (0..rows).map(c16).collect(),
            byte_idx_m: (0..rows).map(|b| Constant::new(Bits::<ACC_ADDR_BITS>::from(b as u64))).collect(),
            l_idle: Constant::new(L_IDLE.into()),
            l_header: Constant::new(L_HEADER.into()),
            l_gate: Constant::new(L_GATE.into()),
            l_rows: Constant::new(L_ROWS.into()),
            l_finished: Constant::new(L_FINISHED.into()),
            l_lut: Constant::new(L_LUT.into()),
            s_idle: Constant::new(S_IDLE.into()),
            s_wait: Constant::new(S_WAIT.into()),
            s_run: Constant::new(S_RUN.into()),
            s_drain: Constant::new(S_DRAIN.into()),
            bm_fifo: Constant::new(b_mode::FIFO.into()),
            bm_cols: Constant::new(b_mode::COLUMNS.into()),
            om_lut: Constant::new(o_mode::LUT.into()),
            om_resid: Constant::new(o_mode::RESID16.into()),
            k_round: c16(rows - 1),
            k_shift: c16(rows.trailing_zeros() as usize),
            n_round: c16(cols - 1),
            n_shift: c16(cols.trailing_zeros() as usize),
            c_cols: c16(cols),
            c_rows16: c16(rows),
            c_rows: Constant::new(Bits::<FIFO_COUNT_BITS>::from(rows as u64)),
            c_cols_f: Constant::new(Bits::<FIFO_COUNT_BITS>::from(cols as u64)),
            c_hdr_last: c8(hdr_words - 1),
            c_lut_last: c8(2048 / (8 * rows) - 1),
            c_gate_rows: c8(load_gate(cols)),
            c_gate_cols: c8(column_load_gate(rows)),
            c_group_last: Constant::new(Bits::<4>::from((rows / cols - 1) as u64)),
            c_log_c: Constant::new(Bits::<SP_ADDR_BITS>::from(cols.trailing_zeros() as u64)),
            c_rs_mask: Constant::new(Bits::<ACC_ADDR_BITS>::from(rows as u64 - 1)),
            c_rs_last: c16(rows - 1),
            one16: c16(1),
            zero_s16: Constant::new(Signed::from(0)),
            zero16: c16(0),
            one8: c8(1),
            lut_flip: c8(0x80),
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
            r_k,
            r_a_stride,
            r_o_stride,
            r_unsigned,
            r_b_mode,
            r_b_addr,
            r_b_stride,
            r_b_stride_c,
            r_rs_en,
            r_rs_addr,
            r_o_mode,
            r_gate,
            kt_count,
            nt_count,
            l_state,
            l_kt,
            l_k0,
            l_kt_sp,
            l_nt,
            l_row,
            l_hdr,
            l_tag,
            l_par,
            l_done,
            n_left,
            o_word_cur,
            o_group_cur,
            b_word_cur,
            b_group_cur,
            b_group_nt,
            b_row_ptr,
            b_col_base,
            b_col_nt,
            b_col_ptr,
            lw_valid,
            lw_cols,
            lw_idx,
            lw_zero,
            lw_k0,
            lw_tag,
            lw_last,
            lw_group,
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
            rs_ptr,
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
            x_o,
            x_rs
        );
        for c in 0..self._cols {
            self.acc[c].clock.next = self.clock.val();
            self.rq[c].clock.next = self.clock.val();
        }
        self.lut.clock.next = self.clock.val();
        self.params.clock.next = self.clock.val();
        self.array.clock.next = self.clock.val();
        self.d_valid.clock.next = self.clock.val();
        self.d_first.clock.next = self.clock.val();
        self.d_last.clock.next = self.clock.val();
        self.d_par.clock.next = self.clock.val();
        self.d_m.clock.next = self.clock.val();
        self.d_o.clock.next = self.clock.val();
        self.d_rs.clock.next = self.clock.val();
        self.q_valid.clock.next = self.clock.val();
        self.q_par.clock.next = self.clock.val();
        self.q_o.clock.next = self.clock.val();
        self.writer.clock.next = self.clock.val();

        // ---------------- defaults ----------------
        self.pop.next = false;
        self.header_we.next = false;
        self.inc0.next = self.zero16.val();
        self.inc1.next = self.zero16.val();
        self.dec0.next = self.zero16.val();
        self.dec1.next = self.zero16.val();
        self.ret0.next = self.zero16.val();
        self.ret1.next = self.zero16.val();
        self.done_reg.d.next = false;
        self.sb_valid.d.next = false;
        self.lw_valid.d.next = false;
        self.lw_last.d.next = false;
        self.l_last.next = false;
        self.a_rd_en.next = false;
        self.b_rd_en.next = false;
        self.b_rd_addr.next = self.b_row_ptr.q.val();
        self.lut.we.next = false;
        self.lut.waddr.next = self.l_hdr.q.val();
        self.lut.wdata.next = self.wf_data.val();
        self.onchip.next = self.r_b_mode.q.val() != self.bm_fifo.val();
        for r in 0..self._rows {
            self.array.w_row_we[r].next = false;
            self.array.w_col_data[r].next = self.zero_s16.val();
        }
        for c in 0..self._cols {
            self.array.w_col_we[c].next = false;
        }
        if self.gate.q.val() != 0 {
            self.gate.d.next = self.gate.q.val() - 1;
        }

        // ---------------- loader ----------------
        self.slot_free.next = (!self.l_par.q.val() && (self.inflight0.q.val() == 0))
            || (self.l_par.q.val() && (self.inflight1.q.val() == 0));
        self.load_ok.next = ((self.l_done.q.val() == 0)
            || ((self.s_started.q.val() == self.l_done.q.val()) && (self.gate.q.val() == 0)))
            && !self.lw_valid.q.val();
        if self.l_state.q.val() == self.l_lut.val() {
            // The 256-byte LUT at the head of the stream.
            if self.wf_count.val() != 0 {
                self.pop.next = true;
                self.lut.we.next = true;
                self.l_hdr.d.next = self.l_hdr.q.val() + 1;
                if self.l_hdr.q.val() == self.c_lut_last.val() {
                    self.l_hdr.d.next = 0.into();
                    self.l_state.d.next = self.l_header.val();
                }
            }
        } else if self.l_state.q.val() == self.l_header.val() {
            if self.slot_free.val() && (self.wf_count.val() != 0) {
                self.pop.next = true;
                self.header_we.next = true;
                if self.l_hdr.q.val() == 0 {
                    // Output placement of this n-tile (into `params`), then of the next.
                    self.n_left.d.next = self.n_left.q.val() - self.c_cols.val();
                    self.o_group_cur.d.next = self.o_group_cur.q.val() + 1;
                    if self.o_group_cur.q.val() == self.c_group_last.val() {
                        self.o_group_cur.d.next = 0.into();
                        self.o_word_cur.d.next = self.o_word_cur.q.val() + 1;
                    }
                    // Placement of this n-tile's columns of an on-chip B.
                    self.b_group_nt.d.next = self.b_group_cur.q.val();
                    self.b_row_ptr.d.next = self.r_b_addr.q.val() + self.b_word_cur.q.val();
                    self.b_group_cur.d.next = self.b_group_cur.q.val() + 1;
                    if self.b_group_cur.q.val() == self.c_group_last.val() {
                        self.b_group_cur.d.next = 0.into();
                        self.b_word_cur.d.next = self.b_word_cur.q.val() + 1;
                    }
                    self.b_col_nt.d.next = self.b_col_base.q.val();
                    self.b_col_base.d.next = self.b_col_base.q.val() + self.r_b_stride_c.q.val();
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
                self.b_col_ptr.d.next = self.b_col_nt.q.val() + self.l_kt_sp.q.val();
            }
        } else if self.l_state.q.val() == self.l_rows.val() {
            if !self.onchip.val() {
                // One FIFO word per tile row, written as it is popped.
                if self.wf_count.val() != 0 {
                    self.pop.next = true;
                    for r in 0..self._rows {
                        self.array.w_row_we[r].next = self.l_row.q.val().index() == r;
                    }
                    self.l_row.d.next = self.l_row.q.val() + 1;
                    if self.l_row.q.val() + 1 == self.c_rows.val() {
                        self.l_row.d.next = 0.into();
                        self.l_done.d.next = self.l_done.q.val() + 1;
                        self.l_tag.d.next = !self.l_tag.q.val();
                        self.l_last.next = true;
                    }
                }
            } else {
                // One scratchpad read per tile row (or column), written the next cycle.
                self.b_rd_en.next = true;
                if self.r_b_mode.q.val() == self.bm_cols.val() {
                    self.b_rd_addr.next = self.b_col_ptr.q.val();
                    self.b_col_ptr.d.next = self.b_col_ptr.q.val() + self.r_b_stride.q.val();
                } else {
                    self.b_rd_addr.next = self.b_row_ptr.q.val();
                    self.b_row_ptr.d.next = self.b_row_ptr.q.val() + self.r_b_stride.q.val();
                }
                self.lw_valid.d.next = true;
                self.lw_cols.d.next = self.r_b_mode.q.val() == self.bm_cols.val();
                self.lw_idx.d.next = self.l_row.q.val();
                self.lw_zero.d.next = (self.l_k0.q.val() + self.l_row.q.val()) >= self.r_k.q.val();
                self.lw_k0.d.next = self.l_k0.q.val();
                self.lw_tag.d.next = self.l_tag.q.val();
                self.lw_group.d.next = self.b_group_nt.q.val();
                self.l_row.d.next = self.l_row.q.val() + 1;
                if ((self.r_b_mode.q.val() == self.bm_cols.val()) && (self.l_row.q.val() + 1 == self.c_cols_f.val()))
                    || ((self.r_b_mode.q.val() != self.bm_cols.val()) && (self.l_row.q.val() + 1 == self.c_rows.val()))
                {
                    self.l_row.d.next = 0.into();
                    self.l_tag.d.next = !self.l_tag.q.val();
                    self.lw_last.d.next = true;
                    self.l_last.next = true;
                }
            }
            if self.l_last.val() {
                // Tile issued: next k-tile, or next n-tile.
                self.l_state.d.next = self.l_gate.val();
                self.l_kt.d.next = self.l_kt.q.val() + 1;
                self.l_k0.d.next = self.l_k0.q.val() + self.c_rows16.val();
                self.l_kt_sp.d.next = self.l_kt_sp.q.val() + 1;
                if self.l_kt.q.val() + 1 == self.kt_count.q.val() {
                    self.l_kt.d.next = 0.into();
                    self.l_k0.d.next = 0.into();
                    self.l_kt_sp.d.next = 0.into();
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
        self.wf_pop.next = self.pop.val();
        self.params.header_we.next = self.header_we.val();
        self.params.header_index.next = self.l_hdr.q.val();
        self.params.header_word.next = self.wf_data.val();
        self.params.load_par.next = self.l_par.q.val();
        self.params.place_word_in.next = self.o_word_cur.q.val();
        self.params.place_group_in.next = self.o_group_cur.q.val();
        self.params.channels_left.next = self.n_left.q.val();

        // ---------------- weight write stage ----------------
        self.array.w_sel.next = self.l_tag.q.val();
        if self.onchip.val() {
            self.array.w_sel.next = self.lw_tag.q.val();
        }
        for c in 0..self._cols {
            self.ext_w[c].din.next = self.wf_data.val().get_bits::<8>(8 * c);
        }
        if self.lw_valid.q.val() && !self.lw_cols.q.val() {
            for cc in self._cols..(self._cols + 1) {
                for b in 0..self._rows {
                    if self.lw_group.q.val() == self.byte_group[b].val() {
                        self.ext_w[b % cc].din.next = self.b_rd_data.val().get_bits::<8>(8 * b);
                    }
                }
            }
        }
        for c in 0..self._cols {
            self.array.w_row_data[c].next = signed_cast(self.ext_w[c].dout.val());
            if self.lw_valid.q.val() && self.lw_zero.q.val() {
                self.array.w_row_data[c].next = self.zero_s16.val();
            }
        }
        self.k_rem.next = self.r_k.q.val() - self.lw_k0.q.val();
        for r in 0..self._rows {
            self.ext_c[r].din.next = self.b_rd_data.val().get_bits::<8>(8 * r);
        }
        if self.lw_valid.q.val() {
            if self.lw_last.q.val() {
                self.l_done.d.next = self.l_done.q.val() + 1;
            }
            if self.lw_cols.q.val() {
                for c in 0..self._cols {
                    self.array.w_col_we[c].next = self.lw_idx.q.val().index() == c;
                }
                for r in 0..self._rows {
                    if self.byte_idx16[r].val() < self.k_rem.val() {
                        self.array.w_col_data[r].next = signed_cast(self.ext_c[r].dout.val());
                    }
                }
            } else {
                for r in 0..self._rows {
                    self.array.w_row_we[r].next = self.lw_idx.q.val().index() == r;
                }
            }
        }

        // ---------------- streamer ----------------
        // Index of the next tile to start: s_started counts started tiles, but during the first
        // row of a tile (s_m == 0 in Run) that tile's own increment is not visible yet.
        self.next_idx.next = self.s_started.q.val();
        if (self.s_state.q.val() == self.s_run.val()) && (self.s_m.q.val() == 0) {
            self.next_idx.next = self.s_started.q.val() + 1;
        }
        self.start_ok.next = (self.l_done.q.val() > self.next_idx.val())
            || (!self.onchip.val()
                && (self.l_state.q.val() == self.l_rows.val())
                && (self.l_done.q.val() == self.next_idx.val())
                && (self.l_row.q.val() != 0)
                && (self.wf_count.val() >= self.c_rows.val() - self.l_row.q.val()));
        self.a_rd_addr.next = self.a_row_addr.q.val() + self.a_kt_off.q.val();
        if self.s_state.q.val() == self.s_wait.val() {
            if self.start_ok.val() {
                self.s_state.d.next = self.s_run.val();
            }
        } else if self.s_state.q.val() == self.s_run.val() {
            // Issue row s_m of tile (s_nt, s_kt), and read its row scale.
            self.a_rd_en.next = true;
            if self.r_rs_en.q.val() {
                self.b_rd_en.next = true;
                self.b_rd_addr.next = self.rs_ptr.q.val();
                if (self.s_m.q.val() & self.c_rs_last.val()) == self.c_rs_last.val() {
                    self.rs_ptr.d.next = self.rs_ptr.q.val() + 1;
                }
            }
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
                self.gate.d.next = self.r_gate.q.val();
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
                self.rs_ptr.d.next = self.r_rs_addr.q.val();
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
            self.r_k.d.next = self.k.val();
            self.r_a_stride.d.next = self.a_stride.val();
            self.r_o_stride.d.next = self.o_stride.val();
            self.r_unsigned.d.next = self.a_unsigned.val();
            self.r_b_mode.d.next = self.b_mode.val();
            self.r_b_addr.d.next = self.b_addr.val();
            self.r_b_stride.d.next = self.b_stride.val();
            self.r_b_stride_c.d.next = self.b_stride.val() << self.c_log_c.val();
            self.r_rs_en.d.next = self.rs_en.val();
            self.r_rs_addr.d.next = self.rs_addr.val();
            self.r_o_mode.d.next = self.o_mode.val();
            self.r_gate.d.next = self.c_gate_rows.val();
            if self.b_mode.val() == self.bm_cols.val() {
                self.r_gate.d.next = self.c_gate_cols.val();
            }
            self.kt_count.d.next = (self.k.val() + self.k_round.val()) >> self.k_shift.val();
            self.nt_count.d.next = (self.n.val() + self.n_round.val()) >> self.n_shift.val();
            self.l_state.d.next = self.l_header.val();
            if self.o_mode.val() == self.om_lut.val() {
                self.l_state.d.next = self.l_lut.val();
            }
            self.l_kt.d.next = 0.into();
            self.l_k0.d.next = 0.into();
            self.l_kt_sp.d.next = 0.into();
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
            self.rs_ptr.d.next = self.rs_addr.val();
            self.gate.d.next = 0.into();
            self.n_left.d.next = self.n.val();
            self.o_group_cur.d.next = self.o_group.val();
            self.o_word_cur.d.next = 0.into();
            self.b_group_cur.d.next = self.b_group.val();
            self.b_word_cur.d.next = 0.into();
            self.b_col_base.d.next = self.b_addr.val();
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
        self.rs_byte.next = self.one8.val();
        if self.r_rs_en.q.val() {
            for b in 0..self._rows {
                if (self.sb_m.q.val() & self.c_rs_mask.val()) == self.byte_idx_m[b].val() {
                    self.rs_byte.next = self.b_rd_data.val().get_bits::<8>(8 * b);
                }
            }
        }
        self.d_valid.din.next = self.sb_valid.q.val();
        self.d_first.din.next = self.sb_first.q.val();
        self.d_last.din.next = self.sb_last.q.val();
        self.d_par.din.next = self.sb_par.q.val();
        self.d_m.din.next = self.sb_m.q.val();
        self.d_o.din.next = self.sb_o.q.val();
        self.d_rs.din.next = self.rs_byte.val();

        // ---------------- accumulator stage ----------------
        self.params.acc_par.next = self.x_par.q.val();
        self.x_valid.d.next = self.d_valid.dout.val();
        self.x_first.d.next = self.d_first.dout.val();
        self.x_last.d.next = self.d_last.dout.val();
        self.x_par.d.next = self.d_par.dout.val();
        self.x_m.d.next = self.d_m.dout.val();
        self.x_o.d.next = self.d_o.dout.val();
        self.x_rs.d.next = self.d_rs.dout.val();
        for c in 0..self._cols {
            self.acc[c].rd_addr.next = self.d_m.dout.val();
            if self.x_first.q.val() {
                self.sum[c].next = unsigned_cast(self.array.out[c].val()) + self.params.bias[c].val();
            } else {
                self.sum[c].next = unsigned_cast(self.array.out[c].val()) + self.acc[c].rd_data.val();
            }
            self.acc[c].wr_addr.next = self.x_m.q.val();
            self.acc[c].wr_data.next = self.sum[c].val();
            self.acc[c].wr_en.next = self.x_valid.q.val() && !self.x_last.q.val();
            self.scale[c].a.next = self.sum[c].val();
            self.scale[c].b.next = self.x_rs.q.val();
            self.rq[c].acc.next = self.scale[c].p.val();
            self.rq[c].wide.next = self.r_o_mode.q.val() == self.om_resid.val();
            self.rq[c].mult.next = self.params.mult[c].val();
            self.rq[c].shift.next = self.params.shift[c].val();
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

        // ---------------- placement stage (requantizer output) ----------------
        self.params.place_par.next = self.q_par.dout.val();
        self.p_addr.next = self.q_o.dout.val() + self.params.place_word.val();
        self.p_group.next = self.params.place_group.val();
        self.p_cols.next = self.params.place_cols.val();
        self.x_rd_addr.next = self.p_addr.val();
        self.x_rd_en.next = self.q_valid.dout.val() && (self.r_o_mode.q.val() == self.om_resid.val());
        self.writer.place_valid.next = self.q_valid.dout.val();
        self.writer.place_addr.next = self.p_addr.val();
        self.writer.place_group.next = self.p_group.val();
        self.writer.place_cols.next = self.p_cols.val();
        for c in 0..self._cols {
            self.writer.place_y[c].next = self.rq[c].y.val();
            self.lut.raddr[c].next = self.rq[c].y.val().get_bits::<8>(0) ^ self.lut_flip.val();
        }
        if self.q_valid.dout.val() {
            if self.q_par.dout.val() {
                self.ret1.next = self.one16.val();
            } else {
                self.ret0.next = self.one16.val();
            }
        }
        // Rows in flight per n-tile parity: issued, minus those retired at the accumulator stage
        // (non-final k-tiles) and at the placement stage (final k-tile; the parameters of the
        // n-tile are not used after it).
        self.inflight0.d.next = self.inflight0.q.val() + self.inc0.val() - self.dec0.val() - self.ret0.val();
        self.inflight1.d.next = self.inflight1.q.val() + self.inc1.val() - self.dec1.val() - self.ret1.val();

        // ---------------- write stage ----------------
        self.writer.mode.next = self.r_o_mode.q.val();
        for c in 0..self._cols {
            self.writer.lut_data[c].next = self.lut.rdata[c].val();
        }
        self.writer.x_lo_data.next = self.x_lo_data.val();
        self.writer.x_hi_data.next = self.x_hi_data.val();
        self.o_wr_addr.next = self.writer.wr_addr.val();
        self.o_wr_data.next = self.writer.wr_data.val();
        self.o_hi_data.next = self.writer.hi_data.val();
        self.o_wr_be.next = self.writer.wr_be.val();
        self.o_wr_en.next = self.writer.wr_en.val();
        self.o_hi_en.next = self.writer.hi_en.val();

        // ---------------- reset ----------------
        if self.reset.val() {
            self.l_state.d.next = self.l_idle.val();
            self.s_state.d.next = self.s_idle.val();
            self.inflight0.d.next = 0.into();
            self.inflight1.d.next = 0.into();
            self.sb_valid.d.next = false;
            self.lw_valid.d.next = false;
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
