//! The scale of a GEMM row: byte `m mod R` of the scale word read with row `m` (the scale words
//! hold `R` row scales each), or 1 when the GEMM has no row scales. Combinational; its output is
//! assigned once per evaluation.

use crate::storage::ACC_ADDR_BITS;
use rust_hdl::prelude::*;

/// The row-scale pick for `W = 8R`-bit scale words.
#[derive(LogicBlock)]
pub struct RowScalePick<const W: usize> {
    /// The scale word read with the row.
    pub word: Signal<In, Bits<W>>,
    /// The GEMM multiplies rows by their scales.
    pub scaled: Signal<In, Bit>,
    /// The row `m`.
    pub row: Signal<In, Bits<ACC_ADDR_BITS>>,
    /// Its scale.
    pub scale: Signal<Out, Bits<8>>,
    pick: Signal<Local, Bits<8>>,
    byte_index_m: Vec<Constant<Bits<ACC_ADDR_BITS>>>,
    scale_byte_mask: Constant<Bits<ACC_ADDR_BITS>>,
    one8: Constant<Bits<8>>,
    _rows: usize,
}

impl<const W: usize> RowScalePick<W> {
    /// For `rows = R` scales per word.
    pub fn new(rows: usize) -> Self {
        RowScalePick {
            word: Signal::default(),
            scaled: Signal::default(),
            row: Signal::default(),
            scale: Signal::default(),
            pick: Signal::default(),
            byte_index_m: (0..rows).map(|b| Constant::new(Bits::<ACC_ADDR_BITS>::from(b as u64))).collect(),
            scale_byte_mask: Constant::new(Bits::<ACC_ADDR_BITS>::from(rows as u64 - 1)),
            one8: Constant::new(Bits::<8>::from(1u64)),
            _rows: rows,
        }
    }
}

impl<const W: usize> Logic for RowScalePick<W> {
    #[hdl_gen]
    fn update(&mut self) {
        self.pick.next = self.one8.val();
        if self.scaled.val() {
            for b in 0..self._rows {
                if (self.row.val() & self.scale_byte_mask.val()) == self.byte_index_m[b].val() {
                    self.pick.next = self.word.val().get_bits::<8>(8 * b);
                }
            }
        }
        self.scale.next = self.pick.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block alone generates Verilog that `verilator -Wall` accepts; the row scales are
    /// checked through the engine's GEMM tests with row scales.
    #[test]
    fn row_scale_pick_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut RowScalePick::<64>::new(8), "row_scale_pick");
        crate::verilog::lint(&v, "row_scale_pick").unwrap();
    }
}
