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
    rd_mux: BankSelect<W>,
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
            rd_mux: BankSelect::new(banks, nr),
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
        for b in 0..self._banks {
            self.rd_mux.din[b].next = self.bank[b].rd_data.val();
        }
        for i in 0..self._nr {
            self.rd_mux.sel[i].next = self.rd_sel[i].q.val();
            self.rd[i].data.next = self.rd_mux.dout[i].val();
        }
    }
}

/// `dout[i] = din[sel[i]]` (bank 0's word for an index past the last bank): the read data of
/// the bank each client read. Written as one `case` per client, which synthesis maps to a
/// balanced multiplexer; the same choice as a chain of `if`s cost 6,100 of the scratchpad's
/// 16,400 LUT4 on the ULX3S configuration (7 clients x 12 banks x 64 bits).
#[derive(LogicBlock)]
pub struct BankSelect<const W: usize> {
    /// Each bank's read data.
    pub din: Vec<Signal<In, Bits<W>>>,
    /// Per client, the bank index.
    pub sel: Vec<Signal<In, Bits<4>>>,
    /// Per client, the chosen bank's word.
    pub dout: Vec<Signal<Out, Bits<W>>>,
}

impl<const W: usize> BankSelect<W> {
    /// A choice among `banks` (1..=16) words for each of `clients`.
    pub fn new(banks: usize, clients: usize) -> Self {
        assert!((1..=16).contains(&banks));
        BankSelect { din: signals(banks), sel: signals(clients), dout: signals(clients) }
    }
}

impl<const W: usize> Logic for BankSelect<W> {
    fn update(&mut self) {
        for (sel, dout) in self.sel.iter().zip(self.dout.iter_mut()) {
            dout.next = self.din.get(sel.val().index()).unwrap_or(&self.din[0]).val();
        }
    }
    fn connect(&mut self) {
        for d in &mut self.dout {
            d.connect();
        }
    }
    fn hdl(&self) -> Verilog {
        let mut v = String::new();
        for i in 0..self.sel.len() {
            let cases: String = (0..self.din.len()).map(|b| format!("  4'd{b}: dout${i} = din${b};\n")).collect();
            v += &format!("always @(*) case (sel${i})\n{cases}  default: dout${i} = din$0;\nendcase\n");
        }
        Verilog::Custom(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Verilog `case`s against the choice they stand for: every index, 3 and 12 banks, two
    /// clients.
    #[test]
    fn bank_select_verilog_picks_the_indexed_bank() {
        let mut rng = crate::testkit::Rng::new(5);
        for banks in [3, 12] {
            let v = crate::verilog::generate(&mut BankSelect::<64>::new(banks, 2), "bsel");
            let din: Vec<String> = (0..banks).map(|b| format!("din${b}")).collect();
            let mut inputs = vec![("sel$0", 4), ("sel$1", 4)];
            inputs.extend(din.iter().map(|n| (n.as_str(), 64)));
            let vectors: Vec<Vec<u64>> = (0..4 * 16u64)
                .map(|t| [t % 16, (t * 7 + 3) % 16].into_iter().chain((0..banks).map(|_| rng.next())).collect())
                .collect();
            let outputs = [("dout$0", 64), ("dout$1", 64)];
            let got = crate::testkit::icarus_combinational(&v, "bsel", &inputs, &outputs, &vectors);
            for (vec, out) in vectors.iter().zip(&got) {
                for c in 0..2 {
                    let sel = vec[c] as usize;
                    let want = if sel < banks { vec[2 + sel] } else { vec[2] };
                    assert_eq!(out[c], want, "client {c}, sel {sel} of {banks}");
                }
            }
            crate::verilog::lint(&v, "bsel").unwrap();
        }
    }

    #[test]
    fn scratchpad_verilog_is_lint_clean() {
        for banks in [2, 12] {
            let v = crate::verilog::generate(&mut Scratchpad::<64, 8>::new(banks, 64), "sp");
            crate::verilog::lint(&v, "sp").unwrap();
        }
    }
}
