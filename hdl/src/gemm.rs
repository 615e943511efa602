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
//!
//! Sub-blocks, each tested beside it: [`loader`], [`streamer`], [`accumulate`] (accumulator
//! stage and requantizers), [`inflight`] (rows in flight per n-tile parity), [`params`] and
//! [`output`] (the write stage). The engine itself holds the array and the LUT, and wires the
//! sub-blocks together.

use crate::array::{array_latency, SystolicArray};
use crate::requant::REQUANT_LATENCY;
use crate::storage::{LutRam, FIFO_COUNT_BITS, SP_ADDR_BITS};
use crate::widen::Extend;
use accumulate::Accumulator;
use inflight::RowsInFlight;
use loader::TileLoader;
use output::{OutputWrite, OutputWriter};
use params::TileParams;
use row_scale::RowScalePick;
use rust_hdl::prelude::*;
use streamer::TileStreamer;

pub mod accumulate;
pub mod inflight;
pub mod loader;
pub mod output;
pub mod params;
pub mod row_scale;
pub mod streamer;

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

/// The GEMM engine for an `R x C` array, `W = 8R`-bit words with `BE = R` byte enables.
#[derive(LogicBlock)]
pub struct GemmEngine<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// Start pulse; the operands below are latched (addresses are held while running).
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
    /// The output write port (both byte planes).
    pub out: OutputWrite<W, BE>,
    /// A row enters the array this cycle (for utilization counters).
    pub active: Signal<Out, Bit>,
    k_tiles: DFF<Bits<16>>,
    n_tiles: DFF<Bits<16>>,
    a_is_unsigned: DFF<Bit>,
    out_mode: DFF<Bits<2>>,
    loader: TileLoader<W>,
    streamer: TileStreamer,
    params: TileParams<W>,
    lut: LutRam<W>,
    act_signed: Vec<Extend<16, 8>>,
    act_unsigned: Vec<Extend<16, 8>>,
    array: SystolicArray,
    accumulator: Accumulator,
    in_flight: RowsInFlight,
    writer: OutputWriter<W, BE>,
    gemm_start: Signal<Local, Bit>,
    row_scale: RowScalePick<W>,
    place_addr: Signal<Local, Bits<SP_ADDR_BITS>>,
    bm_cols: Constant<Bits<2>>,
    om_lut: Constant<Bits<2>>,
    om_resid: Constant<Bits<2>>,
    k_round: Constant<Bits<16>>,
    k_shift: Constant<Bits<16>>,
    n_round: Constant<Bits<16>>,
    n_shift: Constant<Bits<16>>,
    lut_flip: Constant<Bits<8>>,
    _rows: usize,
    _cols: usize,
}

impl<const W: usize, const BE: usize> GemmEngine<W, BE> {
    /// An engine for an `rows x cols` array (`W = 8 * rows`, `cols` divides `rows`), an
    /// accumulator of `acc_rows` (a power of two) rows and a weight FIFO of `fifo_words`;
    /// `packed` puts two int8 MACs in each array multiplier ([`crate::pe::PePair`]).
    pub fn new(rows: usize, cols: usize, acc_rows: usize, fifo_words: usize, packed: bool) -> Self {
        assert_eq!(W, 8 * rows, "one word holds R bytes");
        assert_eq!(BE, rows);
        assert!(rows.is_multiple_of(cols) && cols >= 4, "C must divide R");
        assert!(4 * cols >= rows, "a header word holds R/4 lanes, at most C");
        assert!(rows <= 128, "the gate counters are 8 bits");
        assert!(fifo_words >= 2 * rows, "the weight FIFO holds at least two tiles");
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
            out: OutputWrite::default(),
            active: Signal::default(),
            k_tiles: DFF::default(),
            n_tiles: DFF::default(),
            a_is_unsigned: DFF::default(),
            out_mode: DFF::default(),
            loader: TileLoader::new(rows, cols),
            streamer: TileStreamer::new(rows, cols),
            params: TileParams::new(rows, cols),
            lut: LutRam::new(cols),
            act_signed: (0..rows).map(|_| Extend::new(true)).collect(),
            act_unsigned: (0..rows).map(|_| Extend::new(false)).collect(),
            array: SystolicArray::new(rows, cols, packed),
            accumulator: Accumulator::new(rows, cols, acc_rows),
            in_flight: RowsInFlight::default(),
            writer: OutputWriter::new(rows, cols),
            gemm_start: Signal::default(),
            row_scale: RowScalePick::new(rows),
            place_addr: Signal::default(),
            bm_cols: Constant::new(b_mode::COLUMNS.into()),
            om_lut: Constant::new(o_mode::LUT.into()),
            om_resid: Constant::new(o_mode::RESID16.into()),
            k_round: c16(rows - 1),
            k_shift: c16(rows.trailing_zeros() as usize),
            n_round: c16(cols - 1),
            n_shift: c16(cols.trailing_zeros() as usize),
            lut_flip: c8(0x80),
            _rows: rows,
            _cols: cols,
        }
    }
}

impl<const W: usize, const BE: usize> Logic for GemmEngine<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, k_tiles, n_tiles, a_is_unsigned, out_mode);
        self.loader.clock.next = self.clock.val();
        self.loader.reset.next = self.reset.val();
        self.streamer.clock.next = self.clock.val();
        self.streamer.reset.next = self.reset.val();
        self.params.clock.next = self.clock.val();
        self.lut.clock.next = self.clock.val();
        self.array.clock.next = self.clock.val();
        self.accumulator.clock.next = self.clock.val();
        self.writer.clock.next = self.clock.val();
        self.in_flight.clock.next = self.clock.val();
        self.in_flight.reset.next = self.reset.val();

        // ---------------- start: operands to the loader, the streamer and here ----------------
        self.gemm_start.next = self.start.val() && self.streamer.idle.val();
        if self.gemm_start.val() {
            self.k_tiles.d.next = (self.k.val() + self.k_round.val()) >> self.k_shift.val();
            self.n_tiles.d.next = (self.n.val() + self.n_round.val()) >> self.n_shift.val();
            self.a_is_unsigned.d.next = self.a_unsigned.val();
            self.out_mode.d.next = self.o_mode.val();
        }
        self.loader.start.next = self.gemm_start.val();
        self.loader.k.next = self.k.val();
        self.loader.n.next = self.n.val();
        self.loader.b_mode.next = self.b_mode.val();
        self.loader.b_addr.next = self.b_addr.val();
        self.loader.b_stride.next = self.b_stride.val();
        self.loader.b_group.next = self.b_group.val();
        self.loader.o_group.next = self.o_group.val();
        self.loader.with_lut.next = self.o_mode.val() == self.om_lut.val();
        self.loader.k_tiles.next = self.k_tiles.q.val();
        self.loader.n_tiles.next = self.n_tiles.q.val();
        self.streamer.start.next = self.gemm_start.val();
        self.streamer.m.next = self.m.val();
        self.streamer.a_addr.next = self.a_addr.val();
        self.streamer.a_stride.next = self.a_stride.val();
        self.streamer.o_addr.next = self.o_addr.val();
        self.streamer.o_stride.next = self.o_stride.val();
        self.streamer.rs_en.next = self.rs_en.val();
        self.streamer.rs_addr.next = self.rs_addr.val();
        self.streamer.column_loads.next = self.b_mode.val() == self.bm_cols.val();
        self.streamer.k_tiles.next = self.k_tiles.q.val();
        self.streamer.n_tiles.next = self.n_tiles.q.val();
        self.done.next = self.streamer.done.val();

        // ---------------- loader: weight FIFO and B port into the array and parameters ----------------
        self.loader.wf_data.next = self.wf_data.val();
        self.loader.wf_count.next = self.wf_count.val();
        self.wf_pop.next = self.loader.wf_pop.val();
        self.loader.even_drained.next = self.in_flight.even_drained.val();
        self.loader.odd_drained.next = self.in_flight.odd_drained.val();
        self.loader.tiles_started.next = self.streamer.tiles_started.val();
        self.loader.gate_open.next = self.streamer.gate_open.val();
        self.loader.b_rd_data.next = self.b_rd_data.val();
        self.params.header_we.next = self.loader.header_we.val();
        self.params.header_index.next = self.loader.header_index.val();
        self.params.header_word.next = self.wf_data.val();
        self.params.load_par.next = self.loader.n_parity.val();
        self.params.place_word_in.next = self.loader.place_word.val();
        self.params.place_group_in.next = self.loader.place_group.val();
        self.params.channels_left.next = self.loader.channels_left.val();
        self.lut.we.next = self.loader.lut_we.val();
        self.lut.waddr.next = self.loader.header_index.val();
        self.lut.wdata.next = self.wf_data.val();
        self.array.w_sel.next = self.loader.w_sel.val();
        for r in 0..self._rows {
            self.array.w_row_we[r].next = self.loader.w_row_we[r].val();
            self.array.w_col_data[r].next = self.loader.w_col_data[r].val();
        }
        for c in 0..self._cols {
            self.array.w_row_data[c].next = self.loader.w_row_data[c].val();
            self.array.w_col_we[c].next = self.loader.w_col_we[c].val();
        }

        // ---------------- streamer: A rows (and row scales) into the array ----------------
        self.streamer.tiles_loaded.next = self.loader.tiles_loaded.val();
        self.streamer.rows_ahead.next = self.loader.rows_ahead.val();
        self.streamer.drained.next = self.in_flight.even_drained.val() && self.in_flight.odd_drained.val();
        self.a_rd_en.next = self.streamer.issue.val();
        self.a_rd_addr.next = self.streamer.a_rd_addr.val();
        // The B port serves the loader (on-chip B) or the row scales, never both in one GEMM.
        self.b_rd_en.next = self.loader.b_rd_en.val();
        self.b_rd_addr.next = self.loader.b_rd_addr.val();
        if self.streamer.rs_rd_en.val() {
            self.b_rd_en.next = true;
            self.b_rd_addr.next = self.streamer.rs_rd_addr.val();
        }
        self.active.next = self.streamer.row_valid.val();
        self.array.a_tag.next = self.streamer.row_buffer.val();
        for r in 0..self._rows {
            self.act_signed[r].din.next = self.a_rd_data.val().get_bits::<8>(8 * r);
            self.act_unsigned[r].din.next = self.a_rd_data.val().get_bits::<8>(8 * r);
            if self.a_is_unsigned.q.val() {
                self.array.a_row[r].next = signed_cast(self.act_unsigned[r].dout.val());
            } else {
                self.array.a_row[r].next = signed_cast(self.act_signed[r].dout.val());
            }
        }
        // Row m's scale is byte m % R of the scale word read with it.
        self.row_scale.word.next = self.b_rd_data.val();
        self.row_scale.scaled.next = self.streamer.rows_scaled.val();
        self.row_scale.row.next = self.streamer.row_m.val();

        // ---------------- accumulator stage and requantizers ----------------
        self.accumulator.row_valid.next = self.streamer.row_valid.val();
        self.accumulator.row_first_k.next = self.streamer.row_first_k.val();
        self.accumulator.row_last_k.next = self.streamer.row_last_k.val();
        self.accumulator.row_parity.next = self.streamer.row_parity.val();
        self.accumulator.row_m.next = self.streamer.row_m.val();
        self.accumulator.row_o_addr.next = self.streamer.row_o_addr.val();
        self.accumulator.row_scale.next = self.row_scale.scale.val();
        self.accumulator.wide.next = self.out_mode.q.val() == self.om_resid.val();
        self.params.acc_par.next = self.accumulator.acc_parity.val();
        for c in 0..self._cols {
            self.accumulator.array_out[c].next = self.array.out[c].val();
            self.accumulator.bias[c].next = self.params.bias[c].val();
            self.accumulator.mult[c].next = self.params.mult[c].val();
            self.accumulator.shift[c].next = self.params.shift[c].val();
        }

        // ---------------- placement (requantizer output) and write stage ----------------
        self.params.place_par.next = self.accumulator.final_parity.val();
        self.place_addr.next = self.accumulator.final_o_addr.val() + self.params.place_word.val();
        self.x_rd_addr.next = self.place_addr.val();
        self.x_rd_en.next = self.accumulator.final_valid.val() && (self.out_mode.q.val() == self.om_resid.val());
        self.writer.place_valid.next = self.accumulator.final_valid.val();
        self.writer.place_addr.next = self.place_addr.val();
        self.writer.place_group.next = self.params.place_group.val();
        self.writer.place_cols.next = self.params.place_cols.val();
        self.writer.mode.next = self.out_mode.q.val();
        for c in 0..self._cols {
            self.writer.place_y[c].next = self.accumulator.y[c].val();
            self.lut.raddr[c].next = self.accumulator.y[c].val().get_bits::<8>(0) ^ self.lut_flip.val();
            self.writer.lut_data[c].next = self.lut.rdata[c].val();
        }
        self.writer.x_lo_data.next = self.x_lo_data.val();
        self.writer.x_hi_data.next = self.x_hi_data.val();
        OutputWrite::<W, BE>::link(&mut self.out, &mut self.writer.out);

        // ---------------- rows in flight per n-tile parity ----------------
        self.in_flight.issue.next = self.streamer.issue.val();
        self.in_flight.issue_parity.next = self.streamer.issue_parity.val();
        self.in_flight.partial_done.next = self.accumulator.partial_done.val();
        self.in_flight.partial_parity.next = self.accumulator.acc_parity.val();
        self.in_flight.final_done.next = self.accumulator.final_valid.val();
        self.in_flight.final_parity.next = self.accumulator.final_parity.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_engine_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut GemmEngine::<64, 8>::new(8, 8, 32, 32, true), "gemm");
        crate::verilog::lint(&v, "gemm").unwrap();
        let v = crate::verilog::generate(&mut GemmEngine::<64, 8>::new(8, 4, 32, 32, false), "gemm");
        crate::verilog::lint(&v, "gemm").unwrap();
    }
}
