//! AXI4 burst masters moving `W`-bit words between DRAM and the core: [`AxiReader`] (AR/R) and
//! [`AxiWriter`] (AW/W/B).
//!
//! A command is a W/8-aligned byte address and a length in words ("beats"). It is split into INCR
//! bursts of at most 256 beats that never cross a 4 KiB boundary ([`BurstSplit`]); up to
//! [`MAX_OUTSTANDING`] bursts are in flight at once so memory latency is hidden and the data
//! stream runs at one word per cycle when the memory and the consumer/producer allow it.
//! Data passes straight through (no buffering): `m_axi_rready = data_ready`,
//! `m_axi_wvalid = data_valid` while a write burst is open.

use crate::bus::{AxiReadMaster, AxiWriteMaster, ReadServer, WriteServer};
use crate::widen::{Concat, Extend};
use rust_hdl::prelude::*;

/// Bursts a master keeps in flight (address issued, last beat / response not yet seen).
pub const MAX_OUTSTANDING: u64 = spec::timing::read::OUTSTANDING as u64;

/// The next burst of a command: `len = min(remaining, 256, beats to the next 4 KiB boundary)`.
/// Purely combinational. Both candidates other than `remaining` are at most 4096 / 8 = 512, so
/// after `remaining` is capped at 256 the choice and the burst's byte count are 16 bits wide: a
/// short compare on the path from the command's beat count to the next address.
#[derive(LogicBlock)]
pub struct BurstSplit {
    /// Byte address of the burst's first beat (aligned to the beat size).
    pub addr: Signal<In, Bits<40>>,
    /// Beats left in the command (>= 1 for a meaningful result).
    pub remaining: Signal<In, Bits<32>>,
    /// Beats in the burst, 1..=256.
    pub len: Signal<Out, Bits<32>>,
    /// Byte address after the burst.
    pub next_addr: Signal<Out, Bits<40>>,
    /// The burst finishes the command.
    pub last: Signal<Out, Bit>,
    to_4k: Signal<Local, Bits<16>>,
    capped: Signal<Local, Bits<16>>,
    len16: Signal<Local, Bits<16>>,
    len_ext: Extend<32, 16>,
    bytes: Concat<24, 16, 40>,
    page: Constant<Bits<16>>,
    page_mask: Constant<Bits<16>>,
    max_beats: Constant<Bits<32>>,
    max_beats16: Constant<Bits<16>>,
    beat_shift: Constant<Bits<16>>,
    zero24: Constant<Bits<24>>,
}

impl BurstSplit {
    /// A splitter for beats of `beat_bytes` bytes (a power of two, 8..=128).
    pub fn new(beat_bytes: usize) -> Self {
        assert!(beat_bytes.is_power_of_two() && (8..=128).contains(&beat_bytes), "beat of {beat_bytes} bytes");
        BurstSplit {
            addr: Signal::default(),
            remaining: Signal::default(),
            len: Signal::default(),
            next_addr: Signal::default(),
            last: Signal::default(),
            to_4k: Signal::default(),
            capped: Signal::default(),
            len16: Signal::default(),
            len_ext: Extend::new(false),
            bytes: Concat::default(),
            page: Constant::new(bits(4096)),
            page_mask: Constant::new(bits(0xfff)),
            max_beats: Constant::new(bits(256)),
            max_beats16: Constant::new(bits(256)),
            beat_shift: Constant::new(bits(beat_bytes.trailing_zeros() as u64)),
            zero24: Constant::new(bits(0)),
        }
    }
}

impl Logic for BurstSplit {
    #[hdl_gen]
    fn update(&mut self) {
        self.to_4k.next =
            (self.page.val() - (self.addr.val().get_bits::<16>(0) & self.page_mask.val())) >> self.beat_shift.val();
        self.capped.next = self.remaining.val().get_bits::<16>(0);
        if self.remaining.val() > self.max_beats.val() {
            self.capped.next = self.max_beats16.val();
        }
        self.len16.next = self.capped.val();
        if self.capped.val() > self.to_4k.val() {
            self.len16.next = self.to_4k.val();
        }
        self.len_ext.din.next = self.len16.val();
        self.len.next = self.len_ext.dout.val();
        self.last.next = self.len_ext.dout.val() == self.remaining.val();
        self.bytes.hi.next = self.zero24.val();
        self.bytes.lo.next = self.len16.val() << self.beat_shift.val();
        self.next_addr.next = self.addr.val() + self.bytes.dout.val();
    }
}

fn check_width(w: usize) {
    assert!(w.is_power_of_two() && (64..=1024).contains(&w), "AXI data width {w} (64..=1024, power of two)");
}

/// AXI4 read master: streams `cmd_beats` words from `cmd_addr` out of `data`.
///
/// A command is accepted (`cmd_valid & cmd_ready`) whenever the previous one has issued all its
/// bursts, so a new command may start while the previous one's data is still arriving; `idle`
/// says every accepted word has been delivered. `error` is sticky on RRESP != OKAY until
/// `clear_error` (pulsed by the controller on START), so the controller can check it at
/// instruction boundaries after every transfer completed. A command of 0 beats does nothing.
#[derive(LogicBlock)]
pub struct AxiReader<const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset, active high (only with the memory side quiet).
    pub reset: Signal<In, Bit>,
    /// Commands in, words out.
    pub port: ReadServer<W>,
    /// No command in progress and every word delivered.
    pub idle: Signal<Out, Bit>,
    /// Sticky RRESP != OKAY since the last accepted command.
    pub error: Signal<Out, Bit>,
    /// Clear `error` (the controller pulses it on START).
    pub clear_error: Signal<In, Bit>,
    /// The AXI4 AR and R channels.
    pub m_axi: AxiReadMaster<W>,
    split: BurstSplit,
    issuing: DFF<Bit>,
    cursor: DFF<Bits<40>>,
    remaining: DFF<Bits<32>>,
    arvalid: DFF<Bit>,
    araddr: DFF<Bits<40>>,
    arlen: DFF<Bits<8>>,
    inflight: DFF<Bits<4>>,
    err: DFF<Bit>,
    load: Signal<Local, Bit>,
    beat: Signal<Local, Bit>,
    burst_done: Signal<Local, Bit>,
    size: Constant<Bits<3>>,
    incr: Constant<Bits<2>>,
    cache: Constant<Bits<4>>,
    prot: Constant<Bits<3>>,
    okay: Constant<Bits<2>>,
    max_inflight: Constant<Bits<4>>,
    one8: Constant<Bits<8>>,
    one4: Constant<Bits<4>>,
    zero4: Constant<Bits<4>>,
    zero32: Constant<Bits<32>>,
}

impl<const W: usize> AxiReader<W> {
    /// A read master with `W`-bit data.
    pub fn new() -> Self {
        check_width(W);
        AxiReader {
            clock: Signal::default(),
            reset: Signal::default(),
            port: ReadServer::default(),
            idle: Signal::default(),
            error: Signal::default(),
            clear_error: Signal::default(),
            m_axi: AxiReadMaster::default(),
            split: BurstSplit::new(W / 8),
            issuing: DFF::default(),
            cursor: DFF::default(),
            remaining: DFF::default(),
            arvalid: DFF::default(),
            araddr: DFF::default(),
            arlen: DFF::default(),
            inflight: DFF::default(),
            err: DFF::default(),
            load: Signal::default(),
            beat: Signal::default(),
            burst_done: Signal::default(),
            size: Constant::new(bits((W / 8).trailing_zeros() as u64)),
            incr: Constant::new(bits(1)),
            cache: Constant::new(bits(0b0011)),
            prot: Constant::new(bits(0)),
            okay: Constant::new(bits(0)),
            max_inflight: Constant::new(bits(MAX_OUTSTANDING)),
            one8: Constant::new(bits(1)),
            one4: Constant::new(bits(1)),
            zero4: Constant::new(bits(0)),
            zero32: Constant::new(bits(0)),
        }
    }
}

impl<const W: usize> Default for AxiReader<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const W: usize> Logic for AxiReader<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, issuing, cursor, remaining, arvalid, araddr, arlen, inflight, err);
        self.split.addr.next = self.cursor.q.val();
        self.split.remaining.next = self.remaining.q.val();
        self.beat.next = self.m_axi.rvalid.val() & self.port.data_ready.val();
        self.burst_done.next = self.beat.val() & self.m_axi.rlast.val();

        // Address side: a new burst enters the AR register when it is empty or being accepted.
        if self.arvalid.q.val() & self.m_axi.arready.val() {
            self.arvalid.d.next = false;
        }
        self.load.next = self.issuing.q.val()
            & (!self.arvalid.q.val() | self.m_axi.arready.val())
            & (self.inflight.q.val() < self.max_inflight.val());
        if self.load.val() {
            self.arvalid.d.next = true;
            self.araddr.d.next = self.cursor.q.val();
            // len is 1..=256: its low byte minus one is len - 1 (256 -> 0 - 1 = 255).
            self.arlen.d.next = self.split.len.val().get_bits::<8>(0) - self.one8.val();
            self.cursor.d.next = self.split.next_addr.val();
            self.remaining.d.next = self.remaining.q.val() - self.split.len.val();
            if self.split.last.val() {
                self.issuing.d.next = false;
            }
        }
        if self.load.val() & !self.burst_done.val() {
            self.inflight.d.next = self.inflight.q.val() + self.one4.val();
        }
        if !self.load.val() & self.burst_done.val() {
            self.inflight.d.next = self.inflight.q.val() - self.one4.val();
        }

        // Commands.
        if self.port.cmd_valid.val() & !self.issuing.q.val() {
            self.issuing.d.next = self.port.cmd_beats.val() != self.zero32.val();
            self.cursor.d.next = self.port.cmd_addr.val();
            self.remaining.d.next = self.port.cmd_beats.val();
        }
        if self.clear_error.val() {
            self.err.d.next = false;
        }
        if self.beat.val() & (self.m_axi.rresp.val() != self.okay.val()) {
            self.err.d.next = true;
        }

        if self.reset.val() {
            self.issuing.d.next = false;
            self.arvalid.d.next = false;
            self.inflight.d.next = self.zero4.val();
            self.err.d.next = false;
        }

        self.port.cmd_ready.next = !self.issuing.q.val();
        self.idle.next = !self.issuing.q.val() & (self.inflight.q.val() == self.zero4.val());
        self.error.next = self.err.q.val();
        self.port.data.next = self.m_axi.rdata.val();
        self.port.data_valid.next = self.m_axi.rvalid.val();
        self.m_axi.rready.next = self.port.data_ready.val();
        self.m_axi.araddr.next = self.araddr.q.val();
        self.m_axi.arlen.next = self.arlen.q.val();
        self.m_axi.arsize.next = self.size.val();
        self.m_axi.arburst.next = self.incr.val();
        self.m_axi.arcache.next = self.cache.val();
        self.m_axi.arprot.next = self.prot.val();
        self.m_axi.arvalid.next = self.arvalid.q.val();
    }
}

/// The writer's command status, a function of its registers only: ready for a command when both
/// sides are done, idle when additionally every burst has been answered.
#[derive(LogicBlock)]
pub struct WriterStatus {
    /// The address side still has bursts to issue.
    pub aw_active: Signal<In, Bit>,
    /// The data side still has bursts to open.
    pub w_active: Signal<In, Bit>,
    /// A data burst is open.
    pub w_open: Signal<In, Bit>,
    /// Bursts awaiting their B response.
    pub inflight: Signal<In, Bits<4>>,
    /// A new command can be accepted.
    pub cmd_ready: Signal<Out, Bit>,
    /// Nothing left to do.
    pub idle: Signal<Out, Bit>,
    zero4: Constant<Bits<4>>,
}

impl Default for WriterStatus {
    fn default() -> Self {
        WriterStatus {
            aw_active: Signal::default(),
            w_active: Signal::default(),
            w_open: Signal::default(),
            inflight: Signal::default(),
            cmd_ready: Signal::default(),
            idle: Signal::default(),
            zero4: Constant::new(0u64.into()),
        }
    }
}

impl Logic for WriterStatus {
    #[hdl_gen]
    fn update(&mut self) {
        self.cmd_ready.next = !self.aw_active.val() & !self.w_active.val() & !self.w_open.val();
        self.idle.next = !self.aw_active.val()
            & !self.w_active.val()
            & !self.w_open.val()
            & (self.inflight.val() == self.zero4.val());
    }
}

/// AXI4 write master: writes `cmd_beats` words from the `data` stream to `cmd_addr`.
///
/// `S` is the strobe width and must be `W / 8` (const generics cannot compute it). The address
/// side (AW) and the data side (W) split the command independently with the same rule, so W runs
/// without waiting for AW (as AXI allows) and without a length FIFO; WSTRB is all ones. The next
/// command is accepted once both sides have finished the current one; `idle` additionally waits
/// for every B response. `error` is sticky on BRESP != OKAY until `clear_error`.
#[derive(LogicBlock)]
pub struct AxiWriter<const W: usize, const S: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset, active high (only with the memory side quiet).
    pub reset: Signal<In, Bit>,
    /// Commands and words in.
    pub port: WriteServer<W>,
    /// Sticky BRESP != OKAY since the last accepted command.
    pub error: Signal<Out, Bit>,
    /// Clear `error` (the controller pulses it on START).
    pub clear_error: Signal<In, Bit>,
    /// The AXI4 AW, W and B channels.
    pub m_axi: AxiWriteMaster<W, S>,
    aw_split: BurstSplit,
    w_split: BurstSplit,
    aw_active: DFF<Bit>,
    aw_cursor: DFF<Bits<40>>,
    aw_remaining: DFF<Bits<32>>,
    awvalid: DFF<Bit>,
    awaddr: DFF<Bits<40>>,
    awlen: DFF<Bits<8>>,
    inflight: DFF<Bits<4>>,
    err: DFF<Bit>,
    w_active: DFF<Bit>,
    w_cursor: DFF<Bits<40>>,
    w_remaining: DFF<Bits<32>>,
    w_open: DFF<Bit>,
    w_left: DFF<Bits<32>>,
    aw_load: Signal<Local, Bit>,
    w_fire: Signal<Local, Bit>,
    w_last: Signal<Local, Bit>,
    w_load: Signal<Local, Bit>,
    idle_cmd: Signal<Local, Bit>,
    status: WriterStatus,
    size: Constant<Bits<3>>,
    incr: Constant<Bits<2>>,
    cache: Constant<Bits<4>>,
    prot: Constant<Bits<3>>,
    okay: Constant<Bits<2>>,
    strb: Constant<Bits<S>>,
    max_inflight: Constant<Bits<4>>,
    one8: Constant<Bits<8>>,
    one4: Constant<Bits<4>>,
    zero4: Constant<Bits<4>>,
    one32: Constant<Bits<32>>,
    zero32: Constant<Bits<32>>,
}

impl<const W: usize, const S: usize> AxiWriter<W, S> {
    /// A write master with `W`-bit data and `S = W / 8` strobes.
    pub fn new() -> Self {
        check_width(W);
        assert_eq!(S * 8, W, "AxiWriter<W, S> needs S = W / 8");
        AxiWriter {
            clock: Signal::default(),
            reset: Signal::default(),
            port: WriteServer::default(),
            error: Signal::default(),
            clear_error: Signal::default(),
            m_axi: AxiWriteMaster::default(),
            aw_split: BurstSplit::new(W / 8),
            w_split: BurstSplit::new(W / 8),
            aw_active: DFF::default(),
            aw_cursor: DFF::default(),
            aw_remaining: DFF::default(),
            awvalid: DFF::default(),
            awaddr: DFF::default(),
            awlen: DFF::default(),
            inflight: DFF::default(),
            err: DFF::default(),
            w_active: DFF::default(),
            w_cursor: DFF::default(),
            w_remaining: DFF::default(),
            w_open: DFF::default(),
            w_left: DFF::default(),
            aw_load: Signal::default(),
            w_fire: Signal::default(),
            w_last: Signal::default(),
            w_load: Signal::default(),
            idle_cmd: Signal::default(),
            status: WriterStatus::default(),
            size: Constant::new(bits((W / 8).trailing_zeros() as u64)),
            incr: Constant::new(bits(1)),
            cache: Constant::new(bits(0b0011)),
            prot: Constant::new(bits(0)),
            okay: Constant::new(bits(0)),
            strb: Constant::new(Bits::<S>::mask()),
            max_inflight: Constant::new(bits(MAX_OUTSTANDING)),
            one8: Constant::new(bits(1)),
            one4: Constant::new(bits(1)),
            zero4: Constant::new(bits(0)),
            one32: Constant::new(bits(1)),
            zero32: Constant::new(bits(0)),
        }
    }
}

impl<const W: usize, const S: usize> Default for AxiWriter<W, S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const W: usize, const S: usize> Logic for AxiWriter<W, S> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            aw_active,
            aw_cursor,
            aw_remaining,
            awvalid,
            awaddr,
            awlen,
            inflight,
            err,
            w_active,
            w_cursor,
            w_remaining,
            w_open,
            w_left
        );
        // Status outputs come from a child fed straight from registers (join/link are separate
        // Verilog statements), so they never depend on this cycle's inputs: no false
        // combinational loop through the controller for Verilator's scheduler.
        Signal::<In, Bit>::join(&mut self.status.aw_active, &mut self.aw_active.q);
        Signal::<In, Bit>::join(&mut self.status.w_active, &mut self.w_active.q);
        Signal::<In, Bit>::join(&mut self.status.w_open, &mut self.w_open.q);
        Signal::<In, Bits<4>>::join(&mut self.status.inflight, &mut self.inflight.q);
        Signal::<Out, Bit>::link(&mut self.port.cmd_ready, &mut self.status.cmd_ready);
        Signal::<Out, Bit>::link(&mut self.port.idle, &mut self.status.idle);
        self.idle_cmd.next = self.status.cmd_ready.val();
        self.aw_split.addr.next = self.aw_cursor.q.val();
        self.aw_split.remaining.next = self.aw_remaining.q.val();
        self.w_split.addr.next = self.w_cursor.q.val();
        self.w_split.remaining.next = self.w_remaining.q.val();

        // Address side.
        if self.awvalid.q.val() & self.m_axi.awready.val() {
            self.awvalid.d.next = false;
        }
        self.aw_load.next = self.aw_active.q.val()
            & (!self.awvalid.q.val() | self.m_axi.awready.val())
            & (self.inflight.q.val() < self.max_inflight.val());
        if self.aw_load.val() {
            self.awvalid.d.next = true;
            self.awaddr.d.next = self.aw_cursor.q.val();
            self.awlen.d.next = self.aw_split.len.val().get_bits::<8>(0) - self.one8.val();
            self.aw_cursor.d.next = self.aw_split.next_addr.val();
            self.aw_remaining.d.next = self.aw_remaining.q.val() - self.aw_split.len.val();
            if self.aw_split.last.val() {
                self.aw_active.d.next = false;
            }
        }
        if self.aw_load.val() & !self.m_axi.bvalid.val() {
            self.inflight.d.next = self.inflight.q.val() + self.one4.val();
        }
        if !self.aw_load.val() & self.m_axi.bvalid.val() {
            self.inflight.d.next = self.inflight.q.val() - self.one4.val();
        }

        // Data side: a burst opens as soon as the previous one takes its last beat.
        self.w_last.next = self.w_left.q.val() == self.one32.val();
        self.w_fire.next = self.port.data_valid.val() & self.m_axi.wready.val() & self.w_open.q.val();
        if self.w_fire.val() {
            self.w_left.d.next = self.w_left.q.val() - self.one32.val();
            if self.w_last.val() {
                self.w_open.d.next = false;
            }
        }
        self.w_load.next = self.w_active.q.val() & (!self.w_open.q.val() | (self.w_fire.val() & self.w_last.val()));
        if self.w_load.val() {
            self.w_open.d.next = true;
            self.w_left.d.next = self.w_split.len.val();
            self.w_cursor.d.next = self.w_split.next_addr.val();
            self.w_remaining.d.next = self.w_remaining.q.val() - self.w_split.len.val();
            if self.w_split.last.val() {
                self.w_active.d.next = false;
            }
        }

        // Commands.
        if self.port.cmd_valid.val() & self.idle_cmd.val() {
            self.aw_active.d.next = self.port.cmd_beats.val() != self.zero32.val();
            self.w_active.d.next = self.port.cmd_beats.val() != self.zero32.val();
            self.aw_cursor.d.next = self.port.cmd_addr.val();
            self.w_cursor.d.next = self.port.cmd_addr.val();
            self.aw_remaining.d.next = self.port.cmd_beats.val();
            self.w_remaining.d.next = self.port.cmd_beats.val();
        }
        if self.clear_error.val() {
            self.err.d.next = false;
        }
        if self.m_axi.bvalid.val() & (self.m_axi.bresp.val() != self.okay.val()) {
            self.err.d.next = true;
        }

        if self.reset.val() {
            self.aw_active.d.next = false;
            self.awvalid.d.next = false;
            self.inflight.d.next = self.zero4.val();
            self.err.d.next = false;
            self.w_active.d.next = false;
            self.w_open.d.next = false;
        }

        self.error.next = self.err.q.val();
        self.port.data_ready.next = self.m_axi.wready.val() & self.w_open.q.val();
        self.m_axi.wdata.next = self.port.data.val();
        self.m_axi.wstrb.next = self.strb.val();
        self.m_axi.wlast.next = self.w_last.val();
        self.m_axi.wvalid.next = self.port.data_valid.val() & self.w_open.q.val();
        self.m_axi.bready.next = true;
        self.m_axi.awaddr.next = self.awaddr.q.val();
        self.m_axi.awlen.next = self.awlen.q.val();
        self.m_axi.awsize.next = self.size.val();
        self.m_axi.awburst.next = self.incr.val();
        self.m_axi.awcache.next = self.cache.val();
        self.m_axi.awprot.next = self.prot.val();
        self.m_axi.awvalid.next = self.awvalid.q.val();
    }
}

#[cfg(test)]
mod lint {
    use super::*;

    #[test]
    fn axi_master_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut AxiReader::<64>::new(), "axi_reader");
        crate::verilog::lint(&v, "axi_reader").unwrap();
        let v = crate::verilog::generate(&mut AxiReader::<128>::new(), "axi_reader");
        crate::verilog::lint(&v, "axi_reader").unwrap();
        let v = crate::verilog::generate(&mut AxiReader::<1024>::new(), "axi_reader");
        crate::verilog::lint(&v, "axi_reader").unwrap();
        let v = crate::verilog::generate(&mut AxiWriter::<64, 8>::new(), "axi_writer");
        crate::verilog::lint(&v, "axi_writer").unwrap();
        let v = crate::verilog::generate(&mut AxiWriter::<128, 16>::new(), "axi_writer");
        crate::verilog::lint(&v, "axi_writer").unwrap();
        let v = crate::verilog::generate(&mut AxiWriter::<1024, 128>::new(), "axi_writer");
        crate::verilog::lint(&v, "axi_writer").unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, VecDeque};
    use std::sync::{Arc, Mutex};

    /// The generated Verilog in Icarus: every beat-aligned address of a 4 KiB page (in a high
    /// page too) with beat counts around the 256 cap and the page's end, for every beat size.
    /// The burst is `min(remaining, 256, beats to the boundary)`, the next address follows it,
    /// `last` says whether it ends the command.
    #[test]
    fn burst_split_takes_the_shortest_limit() {
        for beat in [8u64, 16, 32, 64, 128] {
            let v = crate::verilog::generate(&mut BurstSplit::new(beat as usize), "split");
            let page_beats = 4096 / beat;
            let mut vectors = vec![];
            for base in [0u64, 0xff_ffff_f000] {
                for k in 0..page_beats {
                    let to_page = page_beats - k;
                    let mut counts = vec![1u64, 2, 255, 256, 257, 511, 512, 513, 1 << 20, u32::MAX as u64];
                    counts.extend([to_page - 1, to_page, to_page + 1].into_iter().filter(|&c| c >= 1));
                    vectors.extend(counts.into_iter().map(|c| vec![base + k * beat, c]));
                }
            }
            let outs = [("len", 32), ("next_addr", 40), ("last", 1)];
            let got =
                crate::testkit::icarus_combinational(&v, "split", &[("addr", 40), ("remaining", 32)], &outs, &vectors);
            for (vec, got) in vectors.iter().zip(got) {
                let (addr, remaining) = (vec[0], vec[1]);
                let len = remaining.min(256).min(page_beats - (addr % 4096) / beat);
                let want = vec![len, (addr + len * beat) & ((1 << 40) - 1), (len == remaining) as u64];
                assert_eq!(got, want, "beat {beat} addr {addr:#x} remaining {remaining}");
            }
        }
    }

    type Res = std::result::Result<(), SimError>;

    /// The memory's content: a distinct `W`-bit word per byte address.
    fn word<const W: usize>(addr: u64) -> Bits<W> {
        let mix = |v: u64| {
            let mut z = v.wrapping_add(0x9e37_79b9_7f4a_7c15);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let mut b = Bits::<W>::default();
        for k in 0..W / 64 {
            b = b | (Bits::<W>::from(mix(addr * 16 + k as u64)) << (64 * k) as u64);
        }
        b
    }

    /// A test scenario for one master.
    #[derive(Clone, Debug)]
    struct Cfg {
        /// (byte address, beats) in issue order.
        cmds: Vec<(u64, u32)>,
        /// Percent of cycles the slave's AR/AW ready is high.
        p_addr: u64,
        /// Percent of cycles the slave offers an R beat / takes a W beat / offers a B response.
        p_data: u64,
        /// Percent of cycles the consumer is ready / the producer is valid.
        p_stream: u64,
        /// Address-to-first-data (read) or last-data-to-B (write) latency, inclusive range.
        latency: (u64, u64),
        /// Byte address ranges [lo, hi) answered with SLVERR.
        err: Vec<(u64, u64)>,
        /// Issue a command only when the previous one is complete (records `error` after each).
        serial: bool,
        /// Pulse `clear_error` with every command.
        clear: bool,
        seed: u64,
    }

    impl Cfg {
        fn new(cmds: Vec<(u64, u32)>) -> Self {
            Cfg {
                cmds,
                p_addr: 100,
                p_data: 100,
                p_stream: 100,
                latency: (8, 8),
                err: vec![],
                serial: false,
                clear: true,
                seed: 1,
            }
        }
        fn bad(&self, addr: u64) -> bool {
            self.err.iter().any(|&(lo, hi)| (lo..hi).contains(&addr))
        }
        /// Every beat's byte address, and the end (in beats) of each command.
        fn beats(&self, beat_bytes: u64) -> (Vec<u64>, Vec<usize>) {
            let mut addrs = vec![];
            let mut ends = vec![];
            for &(a, n) in &self.cmds {
                addrs.extend((0..n as u64).map(|i| a + i * beat_bytes));
                ends.push(addrs.len());
            }
            (addrs, ends)
        }
    }

    #[derive(Default, Debug)]
    struct Outcome {
        /// Cycle of each command acceptance.
        accepted: Vec<u64>,
        /// Cycle of the last data beat (read) / of `idle` after the last B (write).
        finished: u64,
        /// `error` once each command completed (serial scenarios).
        err_after: Vec<bool>,
        /// Every burst: (byte address, beats).
        bursts: Vec<(u64, u64)>,
    }

    /// Checks one AR/AW burst against the AXI rules and the commands; returns its beats.
    #[allow(clippy::too_many_arguments)]
    fn check_burst(
        beat_bytes: u64,
        addr: u64,
        axlen: u64,
        size: u64,
        burst: u64,
        cache: u64,
        prot: u64,
        pos: usize,
        accepted_beats: usize,
        addrs: &[u64],
        ends: &[usize],
    ) -> u64 {
        let len = axlen + 1;
        assert_eq!(1u64 << size, beat_bytes, "AxSIZE");
        assert_eq!(burst, 1, "AxBURST must be INCR");
        assert_eq!(cache, 0b0011, "AxCACHE");
        assert_eq!(prot, 0, "AxPROT");
        assert!(len <= 256, "burst of {len} beats");
        assert_eq!(addr % beat_bytes, 0, "unaligned burst address {addr:#x}");
        assert!(addr % 4096 + len * beat_bytes <= 4096, "burst {addr:#x} x {len} crosses 4 KiB");
        assert!(pos + len as usize <= accepted_beats, "burst {addr:#x} x {len} beyond the accepted commands");
        let end = *ends.iter().find(|&&e| e > pos).unwrap();
        assert!(pos + len as usize <= end, "burst {addr:#x} x {len} spans two commands");
        for k in 0..len as usize {
            assert_eq!(addr + k as u64 * beat_bytes, addrs[pos + k], "burst {addr:#x} beat {k}");
        }
        len
    }

    fn run_reader<const W: usize>(cfg: Cfg) -> Outcome {
        let out = Arc::new(Mutex::new(Outcome::default()));
        let out_tb = out.clone();
        let mut uut = AxiReader::<W>::new();
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<AxiReader<W>>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<AxiReader<W>>| -> Res {
            let cfg = cfg.clone();
            let bb = (W / 8) as u64;
            let (addrs, ends) = cfg.beats(bb);
            let mut o = Outcome::default();
            let mut rng = crate::testkit::Rng::new(cfg.seed);
            let mut x = ep.init()?;
            x.reset.next = true;
            wait_clock_cycle!(ep, clock, x, 2);
            x.reset.next = false;
            // Slave: bursts (addr, beats, first-data cycle), served in order.
            let mut q: VecDeque<(u64, u64, u64)> = VecDeque::new();
            let mut beat_in_burst = 0u64;
            let (mut ar_pos, mut got, mut cmd_idx, mut accepted_beats) = (0usize, 0usize, 0usize, 0usize);
            let mut cyc = 0u64;
            loop {
                let cmd_ok = cmd_idx < cfg.cmds.len() && (!cfg.serial || (x.idle.val() && got == accepted_beats));
                x.port.cmd_valid.next = cmd_ok;
                x.clear_error.next = cmd_ok && cfg.clear;
                let (ca, cn) = if cmd_ok { cfg.cmds[cmd_idx] } else { (0xff_ffff_fff0, 7) };
                x.port.cmd_addr.next = bits(ca);
                x.port.cmd_beats.next = bits(cn as u64);
                x.m_axi.arready.next = rng.chance(cfg.p_addr);
                let head = q.front().copied().filter(|b| b.2 <= cyc);
                let r_on = head.is_some() && rng.chance(cfg.p_data);
                x.m_axi.rvalid.next = r_on;
                x.m_axi.rdata.next = Bits::default();
                x.m_axi.rlast.next = false;
                x.m_axi.rresp.next = bits(0);
                if let (true, Some((a, n, _))) = (r_on, head) {
                    let ba = a + beat_in_burst * bb;
                    x.m_axi.rdata.next = word::<W>(ba);
                    x.m_axi.rlast.next = beat_in_burst + 1 == n;
                    x.m_axi.rresp.next = bits(if cfg.bad(ba) { 2 } else { 0 });
                }
                x.port.data_ready.next = rng.chance(cfg.p_stream);
                x = ep.wait(1, x)?;

                // `idle` reflects the handshakes before this cycle.
                if got < accepted_beats {
                    assert!(!x.idle.val(), "idle with words still to deliver");
                }
                if x.port.cmd_valid.val() && x.port.cmd_ready.val() {
                    accepted_beats += cfg.cmds[cmd_idx].1 as usize;
                    cmd_idx += 1;
                    o.accepted.push(cyc);
                }
                if x.m_axi.arvalid.val() && x.m_axi.arready.val() {
                    let a = x.m_axi.araddr.val().to_u64();
                    let len = check_burst(
                        bb,
                        a,
                        x.m_axi.arlen.val().to_u64(),
                        x.m_axi.arsize.val().to_u64(),
                        x.m_axi.arburst.val().to_u64(),
                        x.m_axi.arcache.val().to_u64(),
                        x.m_axi.arprot.val().to_u64(),
                        ar_pos,
                        accepted_beats,
                        &addrs,
                        &ends,
                    );
                    q.push_back((a, len, cyc + rng.range(cfg.latency.0 as i64, cfg.latency.1 as i64) as u64));
                    o.bursts.push((a, len));
                    ar_pos += len as usize;
                }
                assert_eq!(x.m_axi.rready.val(), x.port.data_ready.val());
                assert_eq!(x.port.data_valid.val(), x.m_axi.rvalid.val());
                if x.m_axi.rvalid.val() && x.m_axi.rready.val() {
                    assert!(got < addrs.len(), "a word too many");
                    assert!(x.port.data.val() == word::<W>(addrs[got]), "word {got} (address {:#x})", addrs[got]);
                    got += 1;
                    beat_in_burst += 1;
                    if x.m_axi.rlast.val() {
                        q.pop_front();
                        beat_in_burst = 0;
                    }
                    o.finished = cyc;
                }
                wait_clock_cycle!(ep, clock, x);
                cyc += 1;
                if cfg.serial && cmd_idx > o.err_after.len() && x.idle.val() && got == accepted_beats {
                    o.err_after.push(x.error.val());
                }
                if cmd_idx == cfg.cmds.len() && got == addrs.len() && x.idle.val() {
                    break;
                }
                assert!(cyc < 200_000, "reader stuck: {got} of {} words", addrs.len());
            }
            assert!(q.is_empty(), "bursts never read back");
            assert!(x.port.cmd_ready.val());
            *out_tb.lock().unwrap() = o;
            ep.done(x)
        });
        sim.run(Box::new(uut), 100_000_000).unwrap();
        let o = std::mem::take(&mut *out.lock().unwrap());
        o
    }

    fn run_writer<const W: usize, const S: usize>(cfg: Cfg) -> Outcome {
        let out = Arc::new(Mutex::new(Outcome::default()));
        let out_tb = out.clone();
        let mut uut = AxiWriter::<W, S>::new();
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<AxiWriter<W, S>>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<AxiWriter<W, S>>| -> Res {
            let cfg = cfg.clone();
            let bb = (W / 8) as u64;
            let (addrs, ends) = cfg.beats(bb);
            let mut o = Outcome::default();
            let mut rng = crate::testkit::Rng::new(cfg.seed);
            let mut x = ep.init()?;
            x.reset.next = true;
            wait_clock_cycle!(ep, clock, x, 2);
            x.reset.next = false;
            let mut aw: Vec<(u64, u64)> = vec![];
            let mut w: Vec<Vec<Bits<W>>> = vec![];
            let mut w_cur: Vec<Bits<W>> = vec![];
            let mut matched = 0usize;
            let mut mem: HashMap<u64, Bits<W>> = HashMap::new();
            // B responses (ready cycle, error).
            let mut bq: VecDeque<(u64, bool)> = VecDeque::new();
            let mut b_done = 0usize;
            let (mut aw_pos, mut sent, mut cmd_idx, mut accepted_beats) = (0usize, 0usize, 0usize, 0usize);
            let mut cyc = 0u64;
            loop {
                let cmd_ok = cmd_idx < cfg.cmds.len()
                    && (!cfg.serial || (x.port.idle.val() && sent == accepted_beats && b_done == aw.len()));
                x.port.cmd_valid.next = cmd_ok;
                x.clear_error.next = cmd_ok && cfg.clear;
                let (ca, cn) = if cmd_ok { cfg.cmds[cmd_idx] } else { (0xff_ffff_fff0, 7) };
                x.port.cmd_addr.next = bits(ca);
                x.port.cmd_beats.next = bits(cn as u64);
                let d_on = sent < addrs.len() && rng.chance(cfg.p_stream);
                x.port.data_valid.next = d_on;
                x.port.data.next = if d_on { word::<W>(addrs[sent]) } else { Bits::default() };
                x.m_axi.awready.next = rng.chance(cfg.p_addr);
                x.m_axi.wready.next = rng.chance(cfg.p_data);
                let b_head = bq.front().copied().filter(|b| b.0 <= cyc);
                let b_on = b_head.is_some() && rng.chance(cfg.p_data);
                x.m_axi.bvalid.next = b_on;
                x.m_axi.bresp.next = bits(if b_on && b_head.unwrap().1 { 2 } else { 0 });
                x = ep.wait(1, x)?;

                // `idle` reflects the handshakes before this cycle.
                if sent < accepted_beats || b_done < aw.len() {
                    assert!(!x.port.idle.val(), "idle with words or responses outstanding");
                }
                if x.port.cmd_valid.val() && x.port.cmd_ready.val() {
                    accepted_beats += cfg.cmds[cmd_idx].1 as usize;
                    cmd_idx += 1;
                    o.accepted.push(cyc);
                }
                if x.m_axi.awvalid.val() && x.m_axi.awready.val() {
                    let a = x.m_axi.awaddr.val().to_u64();
                    let len = check_burst(
                        bb,
                        a,
                        x.m_axi.awlen.val().to_u64(),
                        x.m_axi.awsize.val().to_u64(),
                        x.m_axi.awburst.val().to_u64(),
                        x.m_axi.awcache.val().to_u64(),
                        x.m_axi.awprot.val().to_u64(),
                        aw_pos,
                        accepted_beats,
                        &addrs,
                        &ends,
                    );
                    aw.push((a, len));
                    o.bursts.push((a, len));
                    aw_pos += len as usize;
                }
                assert!(x.m_axi.wstrb.val() == Bits::<S>::mask(), "WSTRB all ones");
                let w_fire = x.m_axi.wvalid.val() && x.m_axi.wready.val();
                assert_eq!(
                    w_fire,
                    x.port.data_valid.val() && x.port.data_ready.val(),
                    "W and the input stream move together"
                );
                if x.m_axi.wvalid.val() {
                    assert!(x.port.data_valid.val(), "WVALID without input data");
                    assert!(x.m_axi.wdata.val() == x.port.data.val());
                }
                if w_fire {
                    assert!(sent < accepted_beats, "took a word of a command not yet accepted");
                    sent += 1;
                    w_cur.push(x.m_axi.wdata.val());
                    assert!(w_cur.len() <= 256, "W burst without WLAST after 256 beats");
                    if x.m_axi.wlast.val() {
                        w.push(std::mem::take(&mut w_cur));
                    }
                    o.finished = cyc;
                }
                while matched < aw.len().min(w.len()) {
                    let (a, len) = aw[matched];
                    let beats = &w[matched];
                    assert_eq!(beats.len() as u64, len, "WLAST of burst {matched} ({a:#x})");
                    let mut bad = false;
                    for (k, d) in beats.iter().enumerate() {
                        let ba = a + k as u64 * bb;
                        assert!(mem.insert(ba, *d).is_none(), "address {ba:#x} written twice");
                        bad |= cfg.bad(ba);
                    }
                    bq.push_back((cyc + rng.range(cfg.latency.0 as i64, cfg.latency.1 as i64) as u64, bad));
                    matched += 1;
                }
                assert!(x.m_axi.bready.val());
                if x.m_axi.bvalid.val() && x.m_axi.bready.val() {
                    bq.pop_front();
                    b_done += 1;
                }
                wait_clock_cycle!(ep, clock, x);
                cyc += 1;
                let complete = x.port.idle.val() && sent == accepted_beats && b_done == aw.len();
                if cfg.serial && cmd_idx > o.err_after.len() && complete {
                    o.err_after.push(x.error.val());
                }
                if cmd_idx == cfg.cmds.len() && sent == addrs.len() && complete {
                    o.finished = cyc;
                    break;
                }
                assert!(cyc < 200_000, "writer stuck: {sent} of {} words", addrs.len());
            }
            assert!(w_cur.is_empty() && matched == aw.len() && matched == w.len());
            assert_eq!(mem.len(), addrs.len(), "every word written once");
            for &a in &addrs {
                assert!(mem[&a] == word::<W>(a), "memory at {a:#x}");
            }
            *out_tb.lock().unwrap() = o;
            ep.done(x)
        });
        sim.run(Box::new(uut), 100_000_000).unwrap();
        let o = std::mem::take(&mut *out.lock().unwrap());
        o
    }

    /// Commands of 1, 3, 255, 256, 257 and 600 words, mostly starting just below a 4 KiB
    /// boundary (one crosses bit 32 of the address, one starts on a boundary).
    fn mixed_commands(beat_bytes: u64) -> Vec<(u64, u32)> {
        let b = beat_bytes;
        vec![
            (0x00_1234_5000 - b, 1),
            (0x00_1234_7000 - 2 * b, 3),
            (0x00_4000_1000 - 5 * b, 255),
            (0x00_4000_3000 - b, 256),
            (0x01_0000_0000 - 3 * b, 257),
            (0xab_cdef_1000 - 7 * b, 600),
            (0x00_0000_2000, 600),
            (0x00_0000_9000 - b, 2),
        ]
    }

    fn stalls(beat_bytes: u64, seed: u64) -> Cfg {
        Cfg { p_addr: 55, p_data: 70, p_stream: 65, latency: (1, 24), seed, ..Cfg::new(mixed_commands(beat_bytes)) }
    }

    fn errors(beat_bytes: u64) -> Cfg {
        let b = beat_bytes;
        Cfg {
            p_data: 80,
            p_stream: 80,
            latency: (2, 6),
            err: vec![(0x2000 + 4 * b, 0x2000 + 5 * b), (0x7000 - b, 0x7000)],
            serial: true,
            ..Cfg::new(vec![(0x1000, 40), (0x2000 - 2 * b, 20), (0x3000, 10), (0x7000 - b, 1), (0x5000, 3)])
        }
    }

    /// One long command with an always-ready memory: words flow one per cycle after the latency.
    fn streaming(beat_bytes: u64) -> (Cfg, u64) {
        let n = 2048u64;
        let start = 0x10_0000_0000 - 0x800 + 3 * beat_bytes;
        (Cfg { latency: (LATENCY, LATENCY), ..Cfg::new(vec![(start, n as u32)]) }, n)
    }

    /// Memory latency of the streaming tests.
    const LATENCY: u64 = 30;

    #[test]
    fn axi_reader_mixed_commands_with_stalls() {
        for seed in [1, 2] {
            let o = run_reader::<64>(stalls(8, seed));
            assert!(o.bursts.iter().any(|b| b.1 == 256), "some full-length bursts");
            let o = run_reader::<128>(stalls(16, seed));
            assert!(o.bursts.iter().any(|b| b.1 == 256), "some full-length bursts");
        }
    }

    #[test]
    fn axi_reader_error_flag_is_sticky_until_cleared() {
        let o = run_reader::<64>(errors(8));
        assert_eq!(o.err_after, [false, true, false, true, false]);
        let o = run_reader::<128>(errors(16));
        assert_eq!(o.err_after, [false, true, false, true, false]);
        let o = run_reader::<64>(Cfg { clear: false, ..errors(8) });
        assert_eq!(o.err_after, [false, true, true, true, true]);
    }

    #[test]
    fn axi_reader_streams_one_word_per_cycle() {
        let (cfg, n) = streaming(8);
        let o = run_reader::<64>(cfg);
        let took = o.finished - o.accepted[0];
        assert!(took <= n + LATENCY + 8, "{n} words took {took} cycles");
        let (cfg, n) = streaming(16);
        let o = run_reader::<128>(cfg);
        let took = o.finished - o.accepted[0];
        assert!(took <= n + LATENCY + 8, "{n} words took {took} cycles");
    }

    #[test]
    fn axi_writer_mixed_commands_with_stalls() {
        for seed in [1, 2] {
            let o = run_writer::<64, 8>(stalls(8, seed));
            assert!(o.bursts.iter().any(|b| b.1 == 256), "some full-length bursts");
            let o = run_writer::<128, 16>(stalls(16, seed));
            assert!(o.bursts.iter().any(|b| b.1 == 256), "some full-length bursts");
        }
    }

    #[test]
    fn axi_writer_error_flag_is_sticky_until_cleared() {
        let o = run_writer::<64, 8>(errors(8));
        assert_eq!(o.err_after, [false, true, false, true, false]);
        let o = run_writer::<128, 16>(errors(16));
        assert_eq!(o.err_after, [false, true, false, true, false]);
        let o = run_writer::<64, 8>(Cfg { clear: false, ..errors(8) });
        assert_eq!(o.err_after, [false, true, true, true, true]);
    }

    #[test]
    fn axi_writer_streams_one_word_per_cycle() {
        let (cfg, n) = streaming(8);
        let o = run_writer::<64, 8>(cfg);
        let took = o.finished - o.accepted[0];
        assert!(took <= n + LATENCY + 8, "{n} words took {took} cycles");
        let (cfg, n) = streaming(16);
        let o = run_writer::<128, 16>(cfg);
        let took = o.finished - o.accepted[0];
        assert!(took <= n + LATENCY + 8, "{n} words took {took} cycles");
    }
}
