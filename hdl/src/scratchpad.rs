//! The scratchpad: `banks` banks of `2^ab` words, each with one read and one write port, shared
//! by the units through a crossbar. A client names a bank and an address and raises its enable;
//! read data returns one cycle later. Units that run concurrently must use disjoint banks (the
//! compiler guarantees it and the golden backend checks it); should two clients still meet on
//! one bank port in the same cycle, `conflict` rises and the controller stops with
//! BANK_CONFLICT instead of computing garbage silently.

use crate::array::signals;
use crate::bus::{SpReadServer, SpWriteServer};
use crate::storage::Bank;
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
    /// Read ports, per client (`read_client`).
    pub rd: Vec<SpReadServer<W>>,
    /// Write ports, per client (`write_client`).
    pub wr: Vec<SpWriteServer<W, BE>>,
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
            rd: (0..nr).map(|_| SpReadServer::default()).collect(),
            wr: (0..nw).map(|_| SpWriteServer::default()).collect(),
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
            self.rd_sel[i].d.next = self.rd[i].bank.val();
        }
        self.clash.next = false;
        for b in 0..self._banks {
            self.bank[b].clock.next = self.clock.val();
            self.bank[b].rd_addr.next = self.rd[0].addr.val();
            self.bank[b].wr_addr.next = self.wr[0].addr.val();
            self.bank[b].wr_data.next = self.wr[0].data.val();
            self.bank[b].wr_be.next = self.wr[0].be.val();
            self.bank[b].wr_en.next = false;
            self.rd_seen[b].next = false;
            self.wr_seen[b].next = false;
            for i in 0..self._nr {
                if self.rd[i].en.val() && (self.rd[i].bank.val().index() == b) {
                    if self.rd_seen[b].val() {
                        self.clash.next = true;
                    }
                    self.rd_seen[b].next = true;
                    self.bank[b].rd_addr.next = self.rd[i].addr.val();
                }
            }
            for i in 0..self._nw {
                if self.wr[i].en.val() && (self.wr[i].bank.val().index() == b) {
                    if self.wr_seen[b].val() {
                        self.clash.next = true;
                    }
                    self.wr_seen[b].next = true;
                    self.bank[b].wr_en.next = true;
                    self.bank[b].wr_addr.next = self.wr[i].addr.val();
                    self.bank[b].wr_data.next = self.wr[i].data.val();
                    self.bank[b].wr_be.next = self.wr[i].be.val();
                }
            }
        }
        self.conflict.next = self.clash.val();
        for i in 0..self._nr {
            self.rd[i].data.next = self.bank[0].rd_data.val();
            for b in 0..self._banks {
                if self.rd_sel[i].q.val().index() == b {
                    self.rd[i].data.next = self.bank[b].rd_data.val();
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
