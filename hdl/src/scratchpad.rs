//! The scratchpad: `banks` banks of `2^ab` words, each with one read and one write port, shared
//! by the units through a crossbar. A client names a bank and an address and raises its enable;
//! read data returns one cycle later. Units that run concurrently must use disjoint banks (the
//! compiler guarantees it and the golden backend checks it); should two clients still meet on
//! one bank port in the same cycle, `conflict` rises and the controller stops with
//! BANK_CONFLICT instead of computing garbage silently.

use crate::array::signals;
use crate::storage::{Bank, SP_ADDR_BITS};
use rust_hdl::prelude::*;

/// Read clients of the crossbar, in priority order (a conflict is reported either way).
pub mod read_client {
    /// DMA (STORE).
    pub const DMA: usize = 0;
    /// GEMM operand A.
    pub const GEMM_A: usize = 1;
    /// GEMM operand B / row scales.
    pub const GEMM_B: usize = 2;
    /// GEMM residual low plane.
    pub const GEMM_XLO: usize = 3;
    /// GEMM residual high plane.
    pub const GEMM_XHI: usize = 4;
    /// Vector unit port 0.
    pub const VEC0: usize = 5;
    /// Vector unit port 1.
    pub const VEC1: usize = 6;
    /// Number of read clients.
    pub const COUNT: usize = 7;
}

/// Write clients of the crossbar.
pub mod write_client {
    /// DMA (LOAD).
    pub const DMA: usize = 0;
    /// GEMM output (int8 or residual low plane).
    pub const GEMM_LO: usize = 1;
    /// GEMM residual high plane.
    pub const GEMM_HI: usize = 2;
    /// Vector unit.
    pub const VEC: usize = 3;
    /// Number of write clients.
    pub const COUNT: usize = 4;
}

/// Scratchpad banks and their crossbar, `W`-bit words with `BE` byte enables.
#[derive(LogicBlock)]
pub struct Scratchpad<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Read enables, per client.
    pub rd_en: Vec<Signal<In, Bit>>,
    /// Read banks, per client.
    pub rd_bank: Vec<Signal<In, Bits<4>>>,
    /// Read addresses, per client.
    pub rd_addr: Vec<Signal<In, Bits<SP_ADDR_BITS>>>,
    /// Word read in the previous cycle, per client.
    pub rd_data: Vec<Signal<Out, Bits<W>>>,
    /// Write enables, per client.
    pub wr_en: Vec<Signal<In, Bit>>,
    /// Write banks, per client.
    pub wr_bank: Vec<Signal<In, Bits<4>>>,
    /// Write addresses, per client.
    pub wr_addr: Vec<Signal<In, Bits<SP_ADDR_BITS>>>,
    /// Write data, per client.
    pub wr_data: Vec<Signal<In, Bits<W>>>,
    /// Byte enables, per client.
    pub wr_be: Vec<Signal<In, Bits<BE>>>,
    /// Two clients used one bank port this cycle.
    pub conflict: Signal<Out, Bit>,
    bank: Vec<Bank<W, BE>>,
    rd_sel: Vec<DFF<Bits<4>>>,
    rd_seen: Vec<Signal<Local, Bit>>,
    wr_seen: Vec<Signal<Local, Bit>>,
    clash: Signal<Local, Bit>,
    _banks: usize,
    _nr: usize,
    _nw: usize,
}

impl<const W: usize, const BE: usize> Scratchpad<W, BE> {
    /// `banks` banks (2..=16) of `words` words each.
    pub fn new(banks: usize, words: usize) -> Self {
        assert!((2..=16).contains(&banks));
        let (nr, nw) = (read_client::COUNT, write_client::COUNT);
        Scratchpad {
            clock: Signal::default(),
            rd_en: signals(nr),
            rd_bank: signals(nr),
            rd_addr: signals(nr),
            rd_data: signals(nr),
            wr_en: signals(nw),
            wr_bank: signals(nw),
            wr_addr: signals(nw),
            wr_data: signals(nw),
            wr_be: signals(nw),
            conflict: Signal::default(),
            bank: (0..banks).map(|_| Bank::new(words)).collect(),
            rd_sel: (0..nr).map(|_| DFF::default()).collect(),
            rd_seen: signals(banks),
            wr_seen: signals(banks),
            clash: Signal::default(),
            _banks: banks,
            _nr: nr,
            _nw: nw,
        }
    }
}

impl<const W: usize, const BE: usize> Logic for Scratchpad<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        for i in 0..self._nr {
            self.rd_sel[i].clock.next = self.clock.val();
            self.rd_sel[i].d.next = self.rd_bank[i].val();
        }
        self.clash.next = false;
        for b in 0..self._banks {
            self.bank[b].clock.next = self.clock.val();
            self.bank[b].rd_addr.next = self.rd_addr[0].val();
            self.bank[b].wr_addr.next = self.wr_addr[0].val();
            self.bank[b].wr_data.next = self.wr_data[0].val();
            self.bank[b].wr_be.next = self.wr_be[0].val();
            self.bank[b].wr_en.next = false;
            self.rd_seen[b].next = false;
            self.wr_seen[b].next = false;
            for i in 0..self._nr {
                if self.rd_en[i].val() && (self.rd_bank[i].val().index() == b) {
                    if self.rd_seen[b].val() {
                        self.clash.next = true;
                    }
                    self.rd_seen[b].next = true;
                    self.bank[b].rd_addr.next = self.rd_addr[i].val();
                }
            }
            for i in 0..self._nw {
                if self.wr_en[i].val() && (self.wr_bank[i].val().index() == b) {
                    if self.wr_seen[b].val() {
                        self.clash.next = true;
                    }
                    self.wr_seen[b].next = true;
                    self.bank[b].wr_en.next = true;
                    self.bank[b].wr_addr.next = self.wr_addr[i].val();
                    self.bank[b].wr_data.next = self.wr_data[i].val();
                    self.bank[b].wr_be.next = self.wr_be[i].val();
                }
            }
        }
        self.conflict.next = self.clash.val();
        for i in 0..self._nr {
            self.rd_data[i].next = self.bank[0].rd_data.val();
            for b in 0..self._banks {
                if self.rd_sel[i].q.val().index() == b {
                    self.rd_data[i].next = self.bank[b].rd_data.val();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratchpad_verilog_is_lint_clean() {
        for banks in [2, 12] {
            let v = crate::verilog::generate(&mut Scratchpad::<64, 8>::new(banks, 64), "sp");
            crate::verilog::lint(&v, "sp").unwrap();
        }
    }
}
