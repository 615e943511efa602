//! The loader's weight write stage: drives the systolic array's weight buses.
//!
//! A FIFO row is written into its PE row the cycle it is popped (the C low bytes of the FIFO
//! head). A scratchpad word is written the cycle after its read, when its data returns: a tile
//! row (the C bytes of the row's byte group) into its PE row, or a tile column (all R bytes)
//! into its PE column. Weights at reduction indices `>= K` are written as zero (the operand
//! in the scratchpad has no zero padding). Bytes are int8, sign-extended.

use crate::array::signals;
use crate::storage::FIFO_COUNT_BITS;
use crate::widen::Extend;
use rust_hdl::prelude::*;

/// The write stage of an `R x C` array with `W = 8R`-bit words.
#[derive(LogicBlock)]
pub struct WeightWriter<const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// B comes from the scratchpad (selects which buffer tag drives `w_sel`).
    pub onchip: Signal<In, Bit>,
    /// Reduction length K.
    pub k_len: Signal<In, Bits<16>>,
    /// Write the FIFO head into PE row `index` this cycle.
    pub fifo_we: Signal<In, Bit>,
    /// The FIFO head.
    pub wf_data: Signal<In, Bits<W>>,
    /// A scratchpad word is read this cycle, to be written as PE row or column `index`.
    pub sp_read: Signal<In, Bit>,
    /// It is a column (else a row).
    pub sp_columns: Signal<In, Bit>,
    /// Row loads: its byte group.
    pub sp_group: Signal<In, Bits<4>>,
    /// It is the tile's last word.
    pub sp_last: Signal<In, Bit>,
    /// Reduction index of the tile's row 0.
    pub k_first: Signal<In, Bits<16>>,
    /// PE row (or column) to write.
    pub index: Signal<In, Bits<FIFO_COUNT_BITS>>,
    /// Weight buffer of the tile.
    pub buffer: Signal<In, Bit>,
    /// The scratchpad word read in the previous cycle.
    pub b_rd_data: Signal<In, Bits<W>>,
    /// A scratchpad word is written this cycle.
    pub sp_writing: Signal<Out, Bit>,
    /// A tile's last scratchpad word is written this cycle.
    pub sp_tile_written: Signal<Out, Bit>,
    /// Weight buffer the writes go to.
    pub w_sel: Signal<Out, Bit>,
    /// Row bus: C weights.
    pub w_row_data: Vec<Signal<Out, Signed<16>>>,
    /// Row bus write enable, one per PE row.
    pub w_row_we: Vec<Signal<Out, Bit>>,
    /// Column bus: R weights.
    pub w_col_data: Vec<Signal<Out, Signed<16>>>,
    /// Column bus write enable, one per PE column.
    pub w_col_we: Vec<Signal<Out, Bit>>,
    wr_valid: DFF<Bit>,
    wr_columns: DFF<Bit>,
    wr_index: DFF<Bits<FIFO_COUNT_BITS>>,
    wr_zero: DFF<Bit>,
    wr_k_first: DFF<Bits<16>>,
    wr_buffer: DFF<Bit>,
    wr_last: DFF<Bit>,
    wr_group: DFF<Bits<4>>,
    ext_row: Vec<Extend<16, 8>>,
    ext_col: Vec<Extend<16, 8>>,
    k_left: Signal<Local, Bits<16>>,
    unused_fifo_bytes: Signal<Local, Bit>,
    byte_group: Vec<Constant<Bits<4>>>,
    byte_index: Vec<Constant<Bits<16>>>,
    zero_s16: Constant<Signed<16>>,
    _rows: usize,
    _cols: usize,
}

impl<const W: usize> WeightWriter<W> {
    /// The write stage of an `rows x cols` array (`W = 8 * rows`, `cols` divides `rows`).
    pub fn new(rows: usize, cols: usize) -> Self {
        assert_eq!(W, 8 * rows, "one word holds R bytes");
        assert!(rows.is_multiple_of(cols));
        WeightWriter {
            clock: Signal::default(),
            reset: Signal::default(),
            onchip: Signal::default(),
            k_len: Signal::default(),
            fifo_we: Signal::default(),
            wf_data: Signal::default(),
            sp_read: Signal::default(),
            sp_columns: Signal::default(),
            sp_group: Signal::default(),
            sp_last: Signal::default(),
            k_first: Signal::default(),
            index: Signal::default(),
            buffer: Signal::default(),
            b_rd_data: Signal::default(),
            sp_writing: Signal::default(),
            sp_tile_written: Signal::default(),
            w_sel: Signal::default(),
            w_row_data: signals(cols),
            w_row_we: signals(rows),
            w_col_data: signals(rows),
            w_col_we: signals(cols),
            wr_valid: DFF::default(),
            wr_columns: DFF::default(),
            wr_index: DFF::default(),
            wr_zero: DFF::default(),
            wr_k_first: DFF::default(),
            wr_buffer: DFF::default(),
            wr_last: DFF::default(),
            wr_group: DFF::default(),
            ext_row: (0..cols).map(|_| Extend::new(true)).collect(),
            ext_col: (0..rows).map(|_| Extend::new(true)).collect(),
            k_left: Signal::default(),
            unused_fifo_bytes: Signal::default(),
            byte_group: (0..rows).map(|b| Constant::new(Bits::<4>::from((b / cols) as u64))).collect(),
            byte_index: (0..rows).map(|b| Constant::new(Bits::<16>::from(b as u64))).collect(),
            zero_s16: Constant::new(Signed::from(0)),
            _rows: rows,
            _cols: cols,
        }
    }
}

impl<const W: usize> Logic for WeightWriter<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, wr_valid, wr_columns, wr_index, wr_zero, wr_k_first, wr_buffer, wr_last, wr_group);
        // The scratchpad word read this cycle, written the next.
        self.wr_valid.d.next = self.sp_read.val();
        self.wr_last.d.next = self.sp_read.val() && self.sp_last.val();
        if self.sp_read.val() {
            self.wr_columns.d.next = self.sp_columns.val();
            self.wr_index.d.next = self.index.val();
            self.wr_zero.d.next = (self.k_first.val() + self.index.val()) >= self.k_len.val();
            self.wr_k_first.d.next = self.k_first.val();
            self.wr_buffer.d.next = self.buffer.val();
            self.wr_group.d.next = self.sp_group.val();
        }
        if self.reset.val() {
            self.wr_valid.d.next = false;
        }
        // A FIFO row uses the C low bytes of the head word only.
        self.unused_fifo_bytes.next = self.wf_data.val().xor();
        self.sp_writing.next = self.wr_valid.q.val();
        self.sp_tile_written.next = self.wr_valid.q.val() && self.wr_last.q.val();

        self.w_sel.next = self.buffer.val();
        if self.onchip.val() {
            self.w_sel.next = self.wr_buffer.q.val();
        }
        for r in 0..self._rows {
            self.w_row_we[r].next = self.fifo_we.val() && (self.index.val().index() == r);
            self.w_col_data[r].next = self.zero_s16.val();
        }
        for c in 0..self._cols {
            self.w_col_we[c].next = false;
            self.ext_row[c].din.next = self.wf_data.val().get_bits::<8>(8 * c);
        }
        // A row of the scratchpad: the C bytes of its byte group.
        if self.wr_valid.q.val() && !self.wr_columns.q.val() {
            for cc in self._cols..(self._cols + 1) {
                for b in 0..self._rows {
                    if self.wr_group.q.val() == self.byte_group[b].val() {
                        self.ext_row[b % cc].din.next = self.b_rd_data.val().get_bits::<8>(8 * b);
                    }
                }
            }
        }
        for c in 0..self._cols {
            self.w_row_data[c].next = signed_cast(self.ext_row[c].dout.val());
            if self.wr_valid.q.val() && self.wr_zero.q.val() {
                self.w_row_data[c].next = self.zero_s16.val();
            }
        }
        self.k_left.next = self.k_len.val() - self.wr_k_first.q.val();
        for r in 0..self._rows {
            self.ext_col[r].din.next = self.b_rd_data.val().get_bits::<8>(8 * r);
        }
        if self.wr_valid.q.val() {
            if self.wr_columns.q.val() {
                for c in 0..self._cols {
                    self.w_col_we[c].next = self.wr_index.q.val().index() == c;
                }
                for r in 0..self._rows {
                    if self.byte_index[r].val() < self.k_left.val() {
                        self.w_col_data[r].next = signed_cast(self.ext_col[r].dout.val());
                    }
                }
            } else {
                for r in 0..self._rows {
                    self.w_row_we[r].next = self.wr_index.q.val().index() == r;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verilog_is_lint_clean() {
        for cols in [4, 8] {
            let v = crate::verilog::generate(&mut WeightWriter::<64>::new(8, cols), "gemm_weights");
            crate::verilog::lint(&v, "gemm_weights").unwrap();
        }
    }
}
