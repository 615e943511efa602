//! The loader's state machine: what the loader does next, in weight-stream order.
//!
//! Idle; LUT (pop the 256-byte LUT, LUT output only); header (pop an n-tile's header words once
//! no row of the n-tile two back, same parity, is in flight); gate (wait until the previous
//! tile has started streaming and its gate has run out, and the last scratchpad word is
//! written); rows (load the tile: pop one FIFO word per row, or read one scratchpad word per
//! row or column); then the next k-tile's gate, the next n-tile's header, or idle. Counts the
//! tiles completely written and flips the weight buffer per tile and the parity per n-tile.

use crate::gemm::b_mode;
use crate::storage::{FIFO_COUNT_BITS, SP_ADDR_BITS};
use rust_hdl::prelude::*;

// States (plain bit vectors: rust-hdl's enum registers are not lint clean).
const L_IDLE: u64 = 0;
const L_HEADER: u64 = 1;
const L_GATE: u64 = 2;
const L_ROWS: u64 = 3;
const L_LUT: u64 = 4;

/// The loader's state machine for an `R x C` array.
#[derive(LogicBlock)]
pub struct LoadSequencer {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// Start a GEMM; `k`, `b_mode` and `with_lut` are latched.
    pub start: Signal<In, Bit>,
    /// Reduction length K.
    pub k: Signal<In, Bits<16>>,
    /// Source of B ([`b_mode`]).
    pub b_mode: Signal<In, Bits<2>>,
    /// The stream starts with the LUT.
    pub with_lut: Signal<In, Bit>,
    /// k-tiles per n-tile (valid from the cycle after `start`).
    pub k_tiles: Signal<In, Bits<16>>,
    /// n-tiles (valid from the cycle after `start`).
    pub n_tiles: Signal<In, Bits<16>>,
    /// Words in the weight FIFO.
    pub wf_count: Signal<In, Bits<FIFO_COUNT_BITS>>,
    /// Pop the weight FIFO.
    pub wf_pop: Signal<Out, Bit>,
    /// No row of an even n-tile is in flight.
    pub even_drained: Signal<In, Bit>,
    /// No row of an odd n-tile is in flight.
    pub odd_drained: Signal<In, Bit>,
    /// Tiles the streamer has started.
    pub tiles_started: Signal<In, Bits<32>>,
    /// The gate after the last started tile has run out.
    pub gate_open: Signal<In, Bit>,
    /// A scratchpad word is being written into the array.
    pub sp_writing: Signal<In, Bit>,
    /// A tile's last scratchpad word is written this cycle.
    pub sp_tile_written: Signal<In, Bit>,
    /// Tiles completely written.
    pub tiles_loaded: Signal<Out, Bits<32>>,
    /// Tile `tiles_loaded` is being written from the FIFO, at least one row written and the
    /// rest in the FIFO.
    pub rows_ahead: Signal<Out, Bit>,
    /// Take header word `header_index` (LUT word, while loading the LUT) this cycle.
    pub header_we: Signal<Out, Bit>,
    /// Take LUT word `header_index` this cycle.
    pub lut_we: Signal<Out, Bit>,
    /// Index of the header (or LUT) word.
    pub header_index: Signal<Out, Bits<8>>,
    /// Parity of the n-tile being loaded.
    pub n_parity: Signal<Out, Bit>,
    /// Header word 0 is taken this cycle: the next n-tile begins.
    pub next_n_tile: Signal<Out, Bit>,
    /// A tile's loading starts (its gate has passed).
    pub tile_start: Signal<Out, Bit>,
    /// The k-tile of the tile being loaded.
    pub k_tile: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Reduction index of its row 0.
    pub k_first: Signal<Out, Bits<16>>,
    /// Latched K.
    pub k_len: Signal<Out, Bits<16>>,
    /// B comes from the scratchpad.
    pub onchip: Signal<Out, Bit>,
    /// It is loaded by columns.
    pub columns: Signal<Out, Bit>,
    /// Write the FIFO head into PE row `row` this cycle.
    pub fifo_we: Signal<Out, Bit>,
    /// Read a scratchpad word for row or column `row` this cycle.
    pub sp_read: Signal<Out, Bit>,
    /// It is the tile's last.
    pub sp_last: Signal<Out, Bit>,
    /// Row (or column) of the tile being written.
    pub row: Signal<Out, Bits<FIFO_COUNT_BITS>>,
    /// Weight buffer of the tile being written.
    pub buffer: Signal<Out, Bit>,
    state: DFF<Bits<3>>,
    k_reg: DFF<Bits<16>>,
    b_source: DFF<Bits<2>>,
    k_tile_count: DFF<Bits<16>>,
    k_first_reg: DFF<Bits<16>>,
    k_tile_word: DFF<Bits<SP_ADDR_BITS>>,
    n_tile: DFF<Bits<16>>,
    row_reg: DFF<Bits<FIFO_COUNT_BITS>>,
    word: DFF<Bits<8>>,
    buffer_reg: DFF<Bit>,
    parity: DFF<Bit>,
    loaded: DFF<Bits<32>>,
    slot_free: Signal<Local, Bit>,
    gate_passed: Signal<Local, Bit>,
    tile_issued: Signal<Local, Bit>,
    tile_rows: Signal<Local, Bits<FIFO_COUNT_BITS>>,
    st_idle: Constant<Bits<3>>,
    st_header: Constant<Bits<3>>,
    st_gate: Constant<Bits<3>>,
    st_rows: Constant<Bits<3>>,
    st_lut: Constant<Bits<3>>,
    bm_fifo: Constant<Bits<2>>,
    bm_cols: Constant<Bits<2>>,
    rows16: Constant<Bits<16>>,
    rows_f: Constant<Bits<FIFO_COUNT_BITS>>,
    cols_f: Constant<Bits<FIFO_COUNT_BITS>>,
    header_last: Constant<Bits<8>>,
    lut_last: Constant<Bits<8>>,
}

impl LoadSequencer {
    /// The state machine of an `rows x cols` array (`R/4 <= C`).
    pub fn new(rows: usize, cols: usize) -> Self {
        let header_words = spec::isa::weight_header_bytes(cols) / rows;
        assert!(header_words >= 1, "the header must fill whole words");
        let c8 = |v: usize| Constant::new(Bits::<8>::from(v as u64));
        let cf = |v: usize| Constant::new(Bits::<FIFO_COUNT_BITS>::from(v as u64));
        LoadSequencer {
            clock: Signal::default(),
            reset: Signal::default(),
            start: Signal::default(),
            k: Signal::default(),
            b_mode: Signal::default(),
            with_lut: Signal::default(),
            k_tiles: Signal::default(),
            n_tiles: Signal::default(),
            wf_count: Signal::default(),
            wf_pop: Signal::default(),
            even_drained: Signal::default(),
            odd_drained: Signal::default(),
            tiles_started: Signal::default(),
            gate_open: Signal::default(),
            sp_writing: Signal::default(),
            sp_tile_written: Signal::default(),
            tiles_loaded: Signal::default(),
            rows_ahead: Signal::default(),
            header_we: Signal::default(),
            lut_we: Signal::default(),
            header_index: Signal::default(),
            n_parity: Signal::default(),
            next_n_tile: Signal::default(),
            tile_start: Signal::default(),
            k_tile: Signal::default(),
            k_first: Signal::default(),
            k_len: Signal::default(),
            onchip: Signal::default(),
            columns: Signal::default(),
            fifo_we: Signal::default(),
            sp_read: Signal::default(),
            sp_last: Signal::default(),
            row: Signal::default(),
            buffer: Signal::default(),
            state: DFF::default(),
            k_reg: DFF::default(),
            b_source: DFF::default(),
            k_tile_count: DFF::default(),
            k_first_reg: DFF::default(),
            k_tile_word: DFF::default(),
            n_tile: DFF::default(),
            row_reg: DFF::default(),
            word: DFF::default(),
            buffer_reg: DFF::default(),
            parity: DFF::default(),
            loaded: DFF::default(),
            slot_free: Signal::default(),
            gate_passed: Signal::default(),
            tile_issued: Signal::default(),
            tile_rows: Signal::default(),
            st_idle: Constant::new(L_IDLE.into()),
            st_header: Constant::new(L_HEADER.into()),
            st_gate: Constant::new(L_GATE.into()),
            st_rows: Constant::new(L_ROWS.into()),
            st_lut: Constant::new(L_LUT.into()),
            bm_fifo: Constant::new(b_mode::FIFO.into()),
            bm_cols: Constant::new(b_mode::COLUMNS.into()),
            rows16: Constant::new(Bits::<16>::from(rows as u64)),
            rows_f: cf(rows),
            cols_f: cf(cols),
            header_last: c8(header_words - 1),
            lut_last: c8(spec::isa::LUT_BYTES / rows - 1),
        }
    }
}

impl Logic for LoadSequencer {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            state,
            k_reg,
            b_source,
            k_tile_count,
            k_first_reg,
            k_tile_word,
            n_tile,
            row_reg,
            word,
            buffer_reg,
            parity,
            loaded
        );
        self.wf_pop.next = false;
        self.header_we.next = false;
        self.lut_we.next = false;
        self.next_n_tile.next = false;
        self.tile_start.next = false;
        self.fifo_we.next = false;
        self.sp_read.next = false;
        self.sp_last.next = false;
        self.tile_issued.next = false;
        self.onchip.next = self.b_source.q.val() != self.bm_fifo.val();
        self.columns.next = self.b_source.q.val() == self.bm_cols.val();
        self.tile_rows.next = self.rows_f.val();
        if self.columns.val() {
            self.tile_rows.next = self.cols_f.val();
        }
        self.slot_free.next =
            (!self.parity.q.val() && self.even_drained.val()) || (self.parity.q.val() && self.odd_drained.val());
        self.gate_passed.next = ((self.loaded.q.val() == 0)
            || ((self.tiles_started.val() == self.loaded.q.val()) && self.gate_open.val()))
            && !self.sp_writing.val();
        if self.state.q.val() == self.st_lut.val() {
            if self.wf_count.val() != 0 {
                self.wf_pop.next = true;
                self.lut_we.next = true;
                self.word.d.next = self.word.q.val() + 1;
                if self.word.q.val() == self.lut_last.val() {
                    self.word.d.next = 0.into();
                    self.state.d.next = self.st_header.val();
                }
            }
        } else if self.state.q.val() == self.st_header.val() {
            if self.slot_free.val() && (self.wf_count.val() != 0) {
                self.wf_pop.next = true;
                self.header_we.next = true;
                self.next_n_tile.next = self.word.q.val() == 0;
                self.word.d.next = self.word.q.val() + 1;
                if self.word.q.val() == self.header_last.val() {
                    self.word.d.next = 0.into();
                    self.state.d.next = self.st_gate.val();
                }
            }
        } else if self.state.q.val() == self.st_gate.val() {
            if self.gate_passed.val() {
                self.state.d.next = self.st_rows.val();
                self.tile_start.next = true;
            }
        } else if self.state.q.val() == self.st_rows.val() {
            // One FIFO word per tile row, written as it is popped; or one scratchpad read per
            // tile row (or column), written when its data returns.
            if self.onchip.val() {
                self.sp_read.next = true;
            } else if self.wf_count.val() != 0 {
                self.wf_pop.next = true;
                self.fifo_we.next = true;
            }
            if self.sp_read.val() || self.fifo_we.val() {
                self.row_reg.d.next = self.row_reg.q.val() + 1;
                if self.row_reg.q.val() + 1 == self.tile_rows.val() {
                    self.row_reg.d.next = 0.into();
                    self.buffer_reg.d.next = !self.buffer_reg.q.val();
                    self.sp_last.next = self.sp_read.val();
                    self.tile_issued.next = true;
                    if self.fifo_we.val() {
                        self.loaded.d.next = self.loaded.q.val() + 1;
                    }
                }
            }
            if self.tile_issued.val() {
                // Next k-tile, or next n-tile, or done.
                self.state.d.next = self.st_gate.val();
                self.k_tile_count.d.next = self.k_tile_count.q.val() + 1;
                self.k_first_reg.d.next = self.k_first_reg.q.val() + self.rows16.val();
                self.k_tile_word.d.next = self.k_tile_word.q.val() + 1;
                if self.k_tile_count.q.val() + 1 == self.k_tiles.val() {
                    self.k_tile_count.d.next = 0.into();
                    self.k_first_reg.d.next = 0.into();
                    self.k_tile_word.d.next = 0.into();
                    self.n_tile.d.next = self.n_tile.q.val() + 1;
                    self.parity.d.next = !self.parity.q.val();
                    if self.n_tile.q.val() + 1 == self.n_tiles.val() {
                        self.state.d.next = self.st_idle.val();
                    } else {
                        self.state.d.next = self.st_header.val();
                    }
                }
            }
        }
        if self.sp_tile_written.val() {
            self.loaded.d.next = self.loaded.q.val() + 1;
        }
        if self.start.val() {
            self.k_reg.d.next = self.k.val();
            self.b_source.d.next = self.b_mode.val();
            self.state.d.next = self.st_header.val();
            if self.with_lut.val() {
                self.state.d.next = self.st_lut.val();
            }
            self.k_tile_count.d.next = 0.into();
            self.k_first_reg.d.next = 0.into();
            self.k_tile_word.d.next = 0.into();
            self.n_tile.d.next = 0.into();
            self.row_reg.d.next = 0.into();
            self.word.d.next = 0.into();
            self.buffer_reg.d.next = false;
            self.parity.d.next = false;
            self.loaded.d.next = 0.into();
        }
        if self.reset.val() {
            self.state.d.next = self.st_idle.val();
        }
        self.header_index.next = self.word.q.val();
        self.n_parity.next = self.parity.q.val();
        self.tiles_loaded.next = self.loaded.q.val();
        self.k_tile.next = self.k_tile_word.q.val();
        self.k_first.next = self.k_first_reg.q.val();
        self.k_len.next = self.k_reg.q.val();
        self.row.next = self.row_reg.q.val();
        self.buffer.next = self.buffer_reg.q.val();
        self.rows_ahead.next = !self.onchip.val()
            && (self.state.q.val() == self.st_rows.val())
            && (self.row_reg.q.val() != 0)
            && (self.wf_count.val() >= self.rows_f.val() - self.row_reg.q.val());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sequencer's behaviour is tested through the loader's contract
    /// (`loader::tests::loads_every_tile_as_laid_out`); here its Verilog alone.
    #[test]
    fn verilog_is_lint_clean() {
        for cols in [4, 8] {
            let v = crate::verilog::generate(&mut LoadSequencer::new(8, cols), "gemm_load_seq");
            crate::verilog::lint(&v, "gemm_load_seq").unwrap();
        }
    }
}
