//! The board's stand-in for DRAM: an AXI4 slave (64-bit data, INCR bursts) over on-chip block
//! RAM, with a second, 32-bit port for the UART bridge that loads programs and reads results.

use super::bus::{AxiReadSlave, AxiWriteSlave};
use super::ram::{Ram64, WORD_ADDR_BITS};
use crate::widen::Concat;
use rust_hdl::prelude::*;

/// AXI4 slave over a [`Ram64`] of `words` 64-bit words.
///
/// * Addresses are byte addresses; the memory decodes bits `3..3+log2(words)` (word index), so
///   higher addresses alias (the accelerator's programs stay below the memory size: the
///   `bitstream` command checks the model). Bursts are INCR (burst type, size, cache and
///   protection are ignored); every response is OKAY.
/// * Reads: one burst at a time, one beat per cycle when `rready` stays high (the RAM output
///   register is the R data register: its read enable is off while a beat waits).
/// * Writes: one burst at a time, one beat per cycle, then one B response.
/// * Host port: a 32-bit word access (`host_addr` bit 2 picks the half of the 64-bit word),
///   taken only while no burst is active or requested; `host_ack` pulses one cycle after it
///   is taken (with `host_rdata` for a read). Hold `host_req` until `host_ack`.
#[derive(LogicBlock)]
pub struct AxiRam {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset, active high.
    pub reset: Signal<In, Bit>,
    /// AXI4 read half.
    pub s_rd: AxiReadSlave<64>,
    /// AXI4 write half.
    pub s_wr: AxiWriteSlave<64, 8>,
    /// Host request.
    pub host_req: Signal<In, Bit>,
    /// Host request is a write.
    pub host_we: Signal<In, Bit>,
    /// Host byte address (32-bit aligned).
    pub host_addr: Signal<In, Bits<32>>,
    /// Host write data.
    pub host_wdata: Signal<In, Bits<32>>,
    /// Host request done (one cycle).
    pub host_ack: Signal<Out, Bit>,
    /// Host read data, valid with `host_ack`.
    pub host_rdata: Signal<Out, Bits<32>>,
    ram: Ram64,
    rd_busy: DFF<Bit>,
    rd_addr: DFF<Bits<WORD_ADDR_BITS>>,
    rd_left: DFF<Bits<9>>,
    rvalid: DFF<Bit>,
    rlast: DFF<Bit>,
    wr_busy: DFF<Bit>,
    wr_addr: DFF<Bits<WORD_ADDR_BITS>>,
    bvalid: DFF<Bit>,
    host_done: DFF<Bit>,
    host_high: DFF<Bit>,
    issue: Signal<Local, Bit>,
    host_go: Signal<Local, Bit>,
    w_fire: Signal<Local, Bit>,
    host_word: Signal<Local, Bits<WORD_ADDR_BITS>>,
    arlen_wide: Concat<1, 8, 9>,
    host_wide: Concat<32, 32, 64>,
    /// Bits of the AXI request the memory does not decode (Verilator's `*unused*` idiom).
    unused_axi: Signal<Local, Bit>,
    one_word: Constant<Bits<WORD_ADDR_BITS>>,
    one9: Constant<Bits<9>>,
    zero9: Constant<Bits<9>>,
    zero1: Constant<Bits<1>>,
    okay: Constant<Bits<2>>,
    low_half: Constant<Bits<8>>,
    high_half: Constant<Bits<8>>,
}

impl AxiRam {
    /// A memory of `words` 64-bit words (a power of two, 2..=2^20).
    pub fn new(words: usize) -> Self {
        AxiRam {
            clock: Signal::default(),
            reset: Signal::default(),
            s_rd: AxiReadSlave::default(),
            s_wr: AxiWriteSlave::default(),
            host_req: Signal::default(),
            host_we: Signal::default(),
            host_addr: Signal::default(),
            host_wdata: Signal::default(),
            host_ack: Signal::default(),
            host_rdata: Signal::default(),
            ram: Ram64::new(words),
            rd_busy: DFF::default(),
            rd_addr: DFF::default(),
            rd_left: DFF::default(),
            rvalid: DFF::default(),
            rlast: DFF::default(),
            wr_busy: DFF::default(),
            wr_addr: DFF::default(),
            bvalid: DFF::default(),
            host_done: DFF::default(),
            host_high: DFF::default(),
            issue: Signal::default(),
            host_go: Signal::default(),
            w_fire: Signal::default(),
            host_word: Signal::default(),
            arlen_wide: Concat::default(),
            host_wide: Concat::default(),
            unused_axi: Signal::default(),
            one_word: Constant::new(bits(1)),
            one9: Constant::new(bits(1)),
            zero9: Constant::new(bits(0)),
            zero1: Constant::new(bits(0)),
            okay: Constant::new(bits(0)),
            low_half: Constant::new(bits(0x0f)),
            high_half: Constant::new(bits(0xf0)),
        }
    }

    /// Bytes of memory.
    pub fn bytes(&self) -> usize {
        8 * self.ram.words()
    }
}

impl Logic for AxiRam {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, rd_busy, rd_addr, rd_left, rvalid, rlast, wr_busy, wr_addr, bvalid, host_done, host_high
        );
        clock!(self, clock, ram);
        self.unused_axi.next = self.s_rd.araddr.val().xor()
            ^ self.s_rd.arsize.val().xor()
            ^ self.s_rd.arburst.val().xor()
            ^ self.s_rd.arcache.val().xor()
            ^ self.s_rd.arprot.val().xor()
            ^ self.s_wr.awaddr.val().xor()
            ^ self.s_wr.awlen.val().xor()
            ^ self.s_wr.awsize.val().xor()
            ^ self.s_wr.awburst.val().xor()
            ^ self.s_wr.awcache.val().xor()
            ^ self.s_wr.awprot.val().xor()
            ^ self.host_addr.val().xor();

        // The host goes only when the AXI side is idle and asks for nothing.
        self.host_go.next = self.host_req.val()
            & !self.host_done.q.val()
            & !self.rd_busy.q.val()
            & !self.rvalid.q.val()
            & !self.s_rd.arvalid.val()
            & !self.wr_busy.q.val()
            & !self.bvalid.q.val()
            & !self.s_wr.awvalid.val();
        self.host_word.next = self.host_addr.val().get_bits::<WORD_ADDR_BITS>(3);
        self.host_done.d.next = self.host_go.val();
        if self.host_go.val() {
            self.host_high.d.next = self.host_addr.val().get_bit(2);
        }
        self.host_ack.next = self.host_done.q.val();
        self.host_rdata.next = self.ram.rd_data.val().get_bits::<32>(0);
        if self.host_high.q.val() {
            self.host_rdata.next = self.ram.rd_data.val().get_bits::<32>(32);
        }

        // Read bursts.
        self.s_rd.arready.next = !self.rd_busy.q.val() & !self.host_done.q.val();
        if self.s_rd.arvalid.val() & !self.rd_busy.q.val() & !self.host_done.q.val() {
            self.rd_busy.d.next = true;
            self.rd_addr.d.next = self.s_rd.araddr.val().get_bits::<WORD_ADDR_BITS>(3);
            self.rd_left.d.next = self.arlen_wide.dout.val() + self.one9.val();
        }
        self.arlen_wide.hi.next = self.zero1.val();
        self.arlen_wide.lo.next = self.s_rd.arlen.val();
        self.issue.next = self.rd_busy.q.val()
            & (self.rd_left.q.val() != self.zero9.val())
            & (!self.rvalid.q.val() | self.s_rd.rready.val());
        if self.issue.val() {
            self.rd_addr.d.next = self.rd_addr.q.val() + self.one_word.val();
            self.rd_left.d.next = self.rd_left.q.val() - self.one9.val();
            self.rvalid.d.next = true;
            self.rlast.d.next = self.rd_left.q.val() == self.one9.val();
        } else if self.rvalid.q.val() & self.s_rd.rready.val() {
            self.rvalid.d.next = false;
            if self.rlast.q.val() {
                self.rd_busy.d.next = false;
            }
        }
        self.ram.rd_en.next = self.issue.val() | (self.host_go.val() & !self.host_we.val());
        self.ram.rd_addr.next = self.host_word.val();
        if self.issue.val() {
            self.ram.rd_addr.next = self.rd_addr.q.val();
        }
        self.s_rd.rdata.next = self.ram.rd_data.val();
        self.s_rd.rresp.next = self.okay.val();
        self.s_rd.rlast.next = self.rlast.q.val();
        self.s_rd.rvalid.next = self.rvalid.q.val();

        // Write bursts.
        self.s_wr.awready.next = !self.wr_busy.q.val() & !self.bvalid.q.val() & !self.host_done.q.val();
        if self.s_wr.awvalid.val() & !self.wr_busy.q.val() & !self.bvalid.q.val() & !self.host_done.q.val() {
            self.wr_busy.d.next = true;
            self.wr_addr.d.next = self.s_wr.awaddr.val().get_bits::<WORD_ADDR_BITS>(3);
        }
        self.s_wr.wready.next = self.wr_busy.q.val();
        self.w_fire.next = self.s_wr.wvalid.val() & self.wr_busy.q.val();
        if self.w_fire.val() {
            self.wr_addr.d.next = self.wr_addr.q.val() + self.one_word.val();
            if self.s_wr.wlast.val() {
                self.wr_busy.d.next = false;
                self.bvalid.d.next = true;
            }
        }
        if self.bvalid.q.val() & self.s_wr.bready.val() {
            self.bvalid.d.next = false;
        }
        self.s_wr.bresp.next = self.okay.val();
        self.s_wr.bvalid.next = self.bvalid.q.val();
        self.host_wide.hi.next = self.host_wdata.val();
        self.host_wide.lo.next = self.host_wdata.val();
        self.ram.wr_en.next = self.w_fire.val() | (self.host_go.val() & self.host_we.val());
        self.ram.wr_addr.next = self.host_word.val();
        self.ram.wr_data.next = self.host_wide.dout.val();
        self.ram.wr_be.next = self.low_half.val();
        if self.host_addr.val().get_bit(2) {
            self.ram.wr_be.next = self.high_half.val();
        }
        if self.w_fire.val() {
            self.ram.wr_addr.next = self.wr_addr.q.val();
            self.ram.wr_data.next = self.s_wr.wdata.val();
            self.ram.wr_be.next = self.s_wr.wstrb.val();
        }

        if self.reset.val() {
            self.rd_busy.d.next = false;
            self.rvalid.d.next = false;
            self.wr_busy.d.next = false;
            self.bvalid.d.next = false;
            self.host_done.d.next = false;
        }
    }
}
