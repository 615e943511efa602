//! The scratchpad: `NB` banks of `2^ab` words, one logical read port and one logical write port
//! that reach any bank (one instruction at a time uses them, so a bank index register picks the
//! bank). Read data returns one cycle after the address.

use crate::storage::{Bank, SP_ADDR_BITS};
use rust_hdl::prelude::*;

/// Scratchpad with `banks` banks of `W`-bit words.
#[derive(LogicBlock)]
pub struct Scratchpad<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Bank of the read port.
    pub rd_bank: Signal<In, Bits<4>>,
    /// Read address.
    pub rd_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Word read in the previous cycle.
    pub rd_data: Signal<Out, Bits<W>>,
    /// Bank of the write port.
    pub wr_bank: Signal<In, Bits<4>>,
    /// Write address.
    pub wr_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Write data.
    pub wr_data: Signal<In, Bits<W>>,
    /// Byte enables.
    pub wr_be: Signal<In, Bits<BE>>,
    /// Write strobe.
    pub wr_en: Signal<In, Bit>,
    bank: Vec<Bank<W, BE>>,
    rd_sel: DFF<Bits<4>>,
    _banks: usize,
}

impl<const W: usize, const BE: usize> Scratchpad<W, BE> {
    /// `banks` banks (2..=16) of `words` words each.
    pub fn new(banks: usize, words: usize) -> Self {
        assert!((2..=16).contains(&banks));
        Scratchpad {
            clock: Signal::default(),
            rd_bank: Signal::default(),
            rd_addr: Signal::default(),
            rd_data: Signal::default(),
            wr_bank: Signal::default(),
            wr_addr: Signal::default(),
            wr_data: Signal::default(),
            wr_be: Signal::default(),
            wr_en: Signal::default(),
            bank: (0..banks).map(|_| Bank::new(words)).collect(),
            rd_sel: DFF::default(),
            _banks: banks,
        }
    }
}

impl<const W: usize, const BE: usize> Logic for Scratchpad<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, rd_sel);
        self.rd_sel.d.next = self.rd_bank.val();
        self.rd_data.next = self.bank[0].rd_data.val();
        for b in 0..self._banks {
            self.bank[b].clock.next = self.clock.val();
            self.bank[b].rd_addr.next = self.rd_addr.val();
            self.bank[b].wr_addr.next = self.wr_addr.val();
            self.bank[b].wr_data.next = self.wr_data.val();
            self.bank[b].wr_be.next = self.wr_be.val();
            self.bank[b].wr_en.next = self.wr_en.val() && (self.wr_bank.val().index() == b);
            if self.rd_sel.q.val().index() == b {
                self.rd_data.next = self.bank[b].rd_data.val();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratchpad_verilog_is_lint_clean() {
        for banks in [2, 4, 16] {
            let v = crate::verilog::generate(&mut Scratchpad::<64, 8>::new(banks, 64), "sp");
            crate::verilog::lint(&v, "sp").unwrap();
        }
    }
}
