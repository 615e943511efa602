//! The selector's scratchpad port registers and the multiplexer that puts the running step's
//! requests on them. Each step asks with a [`ReadRequest`] (port 0; the column pass and the
//! compaction read the same address on port 1 too) and an [`SpWriteClient`]; only one step runs
//! at a time, so at most one request of a kind is active (if two were, the later in the list
//! below would win: compaction, column pass, gather for writes; decide, column pass, compaction,
//! gather for reads). The banks of the read ports follow the op's phases: port 0 reads
//! `par_bank` (weights, probabilities), then `in_lo_bank` (rows), then `out_bank` (gathered
//! rows); port 1 always addresses a bank of the op other than port 0's. Every output is a
//! register output, each register assigned once per evaluation.

// The interface derive generates an undocumented `join` method for each mirrored pair; every
// item written here is documented.
#![allow(missing_docs)]

use crate::bus::{SpWriteServer, BANK_BITS};
use crate::storage::SP_ADDR_BITS;
use rust_hdl::prelude::*;

/// A step's read request (the step's side): read word `addr` this cycle; the bank is chosen by
/// [`PortMux`].
#[derive(LogicInterface, Default)]
#[join = "ReadRequestIn"]
pub struct ReadRequest {
    /// Read this cycle.
    pub en: Signal<Out, Bit>,
    /// Word address.
    pub addr: Signal<Out, Bits<SP_ADDR_BITS>>,
}

/// [`PortMux`]'s side of a [`ReadRequest`].
#[derive(LogicInterface, Default)]
#[join = "ReadRequest"]
pub struct ReadRequestIn {
    /// See [`ReadRequest::en`].
    pub en: Signal<In, Bit>,
    /// See [`ReadRequest::addr`].
    pub addr: Signal<In, Bits<SP_ADDR_BITS>>,
}

/// The engine's scratchpad port registers (`W`-bit words, `BE` byte enables), loaded from the
/// running step's requests.
#[derive(LogicBlock, Default)]
pub struct PortMux<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: no write.
    pub reset: Signal<In, Bit>,
    /// An op is running (a write is issued only then).
    pub busy: Signal<In, Bit>,
    /// An op starts this cycle.
    pub starting: Signal<In, Bit>,
    /// The op is a SELECT (else COLMEAN).
    pub select: Signal<In, Bit>,
    /// The decision finishes this cycle (the rows' pass follows).
    pub decide_finish: Signal<In, Bit>,
    /// The gather starts reading the gathered rows this cycle.
    pub gather_first: Signal<In, Bit>,
    /// Bank of the probabilities and head weights.
    pub par_bank: Signal<In, Bits<BANK_BITS>>,
    /// Bank of x's low byte plane (COLMEAN: the input).
    pub in_lo_bank: Signal<In, Bits<BANK_BITS>>,
    /// Bank of x's high byte plane.
    pub in_hi_bank: Signal<In, Bits<BANK_BITS>>,
    /// Bank of the gathered rows.
    pub out_bank: Signal<In, Bits<BANK_BITS>>,
    /// The decision's reads (port 0).
    pub decide_rd: ReadRequestIn,
    /// The column pass's reads (both ports).
    pub columns_rd: ReadRequestIn,
    /// The compaction's reads (both ports).
    pub compact_rd: ReadRequestIn,
    /// The gather's reads (port 0).
    pub gather_rd: ReadRequestIn,
    /// The column pass's writes.
    pub columns_wr: SpWriteServer<W, BE>,
    /// The compaction's writes.
    pub compact_wr: SpWriteServer<W, BE>,
    /// The gather's writes.
    pub gather_wr: SpWriteServer<W, BE>,
    /// Read port 0 bank.
    pub rd0_bank: Signal<Out, Bits<BANK_BITS>>,
    /// Read port 0 address.
    pub rd0_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Read port 1 bank.
    pub rd1_bank: Signal<Out, Bits<BANK_BITS>>,
    /// Read port 1 address.
    pub rd1_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Write strobe.
    pub wr_en: Signal<Out, Bit>,
    /// Write bank.
    pub wr_bank: Signal<Out, Bits<BANK_BITS>>,
    /// Write address.
    pub wr_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Write data.
    pub wr_data: Signal<Out, Bits<W>>,
    /// Write byte enables.
    pub wr_be: Signal<Out, Bits<BE>>,

    rd0_bank_r: DFF<Bits<BANK_BITS>>,
    rd0_addr_r: DFF<Bits<SP_ADDR_BITS>>,
    rd1_bank_r: DFF<Bits<BANK_BITS>>,
    rd1_addr_r: DFF<Bits<SP_ADDR_BITS>>,
    wr_en_r: DFF<Bit>,
    wr_bank_r: DFF<Bits<BANK_BITS>>,
    wr_addr_r: DFF<Bits<SP_ADDR_BITS>>,
    wr_data_r: DFF<Bits<W>>,
    wr_be_r: DFF<Bits<BE>>,
    /// The bank port 0 reads next.
    rd0_bank_next: Signal<Local, Bits<BANK_BITS>>,
}

impl<const W: usize, const BE: usize> Logic for PortMux<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, rd0_bank_r, rd0_addr_r, rd1_bank_r, rd1_addr_r, wr_en_r, wr_bank_r, wr_addr_r, wr_data_r,
            wr_be_r
        );
        Signal::<Out, Bits<BANK_BITS>>::link(&mut self.rd0_bank, &mut self.rd0_bank_r.q);
        Signal::<Out, Bits<SP_ADDR_BITS>>::link(&mut self.rd0_addr, &mut self.rd0_addr_r.q);
        Signal::<Out, Bits<BANK_BITS>>::link(&mut self.rd1_bank, &mut self.rd1_bank_r.q);
        Signal::<Out, Bits<SP_ADDR_BITS>>::link(&mut self.rd1_addr, &mut self.rd1_addr_r.q);
        Signal::<Out, Bit>::link(&mut self.wr_en, &mut self.wr_en_r.q);
        Signal::<Out, Bits<BANK_BITS>>::link(&mut self.wr_bank, &mut self.wr_bank_r.q);
        Signal::<Out, Bits<SP_ADDR_BITS>>::link(&mut self.wr_addr, &mut self.wr_addr_r.q);
        Signal::<Out, Bits<W>>::link(&mut self.wr_data, &mut self.wr_data_r.q);
        Signal::<Out, Bits<BE>>::link(&mut self.wr_be, &mut self.wr_be_r.q);

        self.rd0_bank_next.next = self.rd0_bank_r.q.val();
        if self.decide_rd.en.val() {
            self.rd0_bank_next.next = self.par_bank.val();
        }
        if self.decide_finish.val() {
            self.rd0_bank_next.next = self.in_lo_bank.val();
        }
        if self.gather_first.val() {
            self.rd0_bank_next.next = self.out_bank.val();
        }
        if self.starting.val() {
            self.rd0_bank_next.next = self.in_lo_bank.val();
            if self.select.val() {
                self.rd0_bank_next.next = self.par_bank.val();
            }
        }
        self.rd0_bank_r.d.next = self.rd0_bank_next.val();
        self.rd1_bank_r.d.next = self.in_hi_bank.val();
        if self.rd0_bank_next.val() == self.in_hi_bank.val() {
            self.rd1_bank_r.d.next = self.in_lo_bank.val();
        }
        if self.decide_rd.en.val() {
            self.rd0_addr_r.d.next = self.decide_rd.addr.val();
        }
        if self.columns_rd.en.val() {
            self.rd0_addr_r.d.next = self.columns_rd.addr.val();
            self.rd1_addr_r.d.next = self.columns_rd.addr.val();
        }
        if self.compact_rd.en.val() {
            self.rd0_addr_r.d.next = self.compact_rd.addr.val();
            self.rd1_addr_r.d.next = self.compact_rd.addr.val();
        }
        if self.gather_rd.en.val() {
            self.rd0_addr_r.d.next = self.gather_rd.addr.val();
        }

        self.wr_en_r.d.next = false;
        if self.compact_wr.en.val() {
            self.wr_en_r.d.next = self.busy.val();
            self.wr_bank_r.d.next = self.compact_wr.bank.val();
            self.wr_addr_r.d.next = self.compact_wr.addr.val();
            self.wr_data_r.d.next = self.compact_wr.data.val();
            self.wr_be_r.d.next = self.compact_wr.be.val();
        }
        if self.columns_wr.en.val() {
            self.wr_en_r.d.next = self.busy.val();
            self.wr_bank_r.d.next = self.columns_wr.bank.val();
            self.wr_addr_r.d.next = self.columns_wr.addr.val();
            self.wr_data_r.d.next = self.columns_wr.data.val();
            self.wr_be_r.d.next = self.columns_wr.be.val();
        }
        if self.gather_wr.en.val() {
            self.wr_en_r.d.next = self.busy.val();
            self.wr_bank_r.d.next = self.gather_wr.bank.val();
            self.wr_addr_r.d.next = self.gather_wr.addr.val();
            self.wr_data_r.d.next = self.gather_wr.data.val();
            self.wr_be_r.d.next = self.gather_wr.be.val();
        }
        if self.reset.val() {
            self.wr_en_r.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block alone (R = 8 and R = 64) generates Verilog that `verilator -Wall` accepts;
    /// its behaviour is checked through the whole engine (`select/tests.rs`).
    #[test]
    fn port_mux_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut PortMux::<64, 8>::default(), "port_mux");
        crate::verilog::lint(&v, "port_mux").unwrap();
        let v = crate::verilog::generate(&mut PortMux::<512, 64>::default(), "port_mux");
        crate::verilog::lint(&v, "port_mux").unwrap();
    }
}
