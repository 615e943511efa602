//! The controller's instruction fetch: while the program runs, one read command per
//! instruction (`INSN_BITS / W` beats) as long as the queue plus the instructions in flight
//! leave room, the beats assembled into an instruction that is pushed the cycle after its last
//! beat. The request is a register, held until the arbiter takes it (then one idle cycle while
//! the counters catch up): it never depends on this cycle's grant.

use super::{InsnAssembler, INSN_QUEUE};
use crate::bus::{ReadClient, INSN_BITS};
use crate::storage::FIFO_COUNT_BITS;
use rust_hdl::prelude::*;
use spec::isa;

/// The fetch for `W`-bit read data.
#[derive(LogicBlock)]
pub struct InsnFetch<const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: no request, nothing in flight.
    pub reset: Signal<In, Bit>,
    /// A program starts: fetch from instruction 0 at `base`.
    pub start: Signal<In, Bit>,
    /// INSN_BASE.
    pub base: Signal<In, Bits<40>>,
    /// The program runs (fetch while it does).
    pub running: Signal<In, Bit>,
    /// Instructions in the program.
    pub count: Signal<In, Bits<32>>,
    /// Instructions in the queue.
    pub queued: Signal<In, Bits<FIFO_COUNT_BITS>>,
    /// Reads the instructions from DRAM.
    pub rd: ReadClient<W>,
    /// The instruction assembled (complete when `push` is high).
    pub insn: Signal<Out, Bits<INSN_BITS>>,
    /// An instruction is complete this cycle.
    pub push: Signal<Out, Bit>,
    /// No instruction in flight and none being pushed.
    pub drained: Signal<Out, Bit>,

    asm: InsnAssembler<W>,
    fetch_pc: DFF<Bits<32>>,
    fetch_addr: DFF<Bits<40>>,
    inflight: DFF<Bits<4>>,
    beat_cnt: DFF<Bits<8>>,
    push_next: DFF<Bit>,
    fetch_req: DFF<Bit>,
    last_beat: Signal<Local, Bit>,
    fetch_more: Signal<Local, Bit>,
    fetch_go: Signal<Local, Bit>,
    occupancy: Signal<Local, Bits<16>>,
    inflight16: Signal<Local, Bits<16>>,
    inflight_ext: crate::widen::Extend<16, 4>,
    insn_bytes: Constant<Bits<40>>,
    insn_beats: Constant<Bits<8>>,
    insn_beats32: Constant<Bits<32>>,
    queue_cap: Constant<Bits<16>>,
    one4: Constant<Bits<4>>,
    one32: Constant<Bits<32>>,
}

impl<const W: usize> Default for InsnFetch<W> {
    fn default() -> Self {
        let beats = (isa::INSN_BITS / W) as u64;
        InsnFetch {
            clock: Signal::default(),
            reset: Signal::default(),
            start: Signal::default(),
            base: Signal::default(),
            running: Signal::default(),
            count: Signal::default(),
            queued: Signal::default(),
            rd: ReadClient::default(),
            insn: Signal::default(),
            push: Signal::default(),
            drained: Signal::default(),
            asm: InsnAssembler::default(),
            fetch_pc: DFF::default(),
            fetch_addr: DFF::default(),
            inflight: DFF::default(),
            beat_cnt: DFF::default(),
            push_next: DFF::default(),
            fetch_req: DFF::default(),
            last_beat: Signal::default(),
            fetch_more: Signal::default(),
            fetch_go: Signal::default(),
            occupancy: Signal::default(),
            inflight16: Signal::default(),
            inflight_ext: crate::widen::Extend::new(false),
            insn_bytes: Constant::new(Bits::<40>::from(isa::INSN_BYTES as u64)),
            insn_beats: Constant::new(Bits::<8>::from(beats)),
            insn_beats32: Constant::new(Bits::<32>::from(beats)),
            queue_cap: Constant::new(Bits::<16>::from(INSN_QUEUE as u64)),
            one4: Constant::new(1u64.into()),
            one32: Constant::new(1u64.into()),
        }
    }
}

impl<const W: usize> Logic for InsnFetch<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, fetch_pc, fetch_addr, inflight, beat_cnt, push_next, fetch_req);
        self.asm.clock.next = self.clock.val();
        Signal::<Out, Bits<INSN_BITS>>::link(&mut self.insn, &mut self.asm.insn);
        self.push.next = self.push_next.q.val();
        self.drained.next = (self.inflight.q.val() == 0) && !self.push_next.q.val();

        // Commands.
        self.inflight_ext.din.next = self.inflight.q.val();
        self.inflight16.next = self.inflight_ext.dout.val();
        self.occupancy.next = self.queued.val() + self.inflight16.val();
        self.fetch_more.next = self.running.val()
            && (self.fetch_pc.q.val() != self.count.val())
            && (self.occupancy.val() < self.queue_cap.val());
        self.rd.cmd_valid.next = self.fetch_req.q.val();
        self.fetch_go.next = self.fetch_req.q.val() && self.rd.cmd_ready.val();
        self.fetch_req.d.next =
            (self.fetch_req.q.val() && !self.rd.cmd_ready.val()) || (!self.fetch_req.q.val() && self.fetch_more.val());
        self.rd.cmd_addr.next = self.fetch_addr.q.val();
        self.rd.cmd_beats.next = self.insn_beats32.val();
        if self.fetch_go.val() {
            self.fetch_pc.d.next = self.fetch_pc.q.val() + self.one32.val();
            self.fetch_addr.d.next = self.fetch_addr.q.val() + self.insn_bytes.val();
            self.inflight.d.next = self.inflight.q.val() + self.one4.val();
        }

        // Beats are always taken: the queue had room when the command was issued.
        self.rd.data_ready.next = true;
        self.asm.load.next = self.rd.data_valid.val();
        self.asm.beat.next = self.rd.data.val();
        self.last_beat.next = self.rd.data_valid.val() && (self.beat_cnt.q.val() + 1 == self.insn_beats.val());
        if self.rd.data_valid.val() {
            self.beat_cnt.d.next = self.beat_cnt.q.val() + 1;
            if self.last_beat.val() {
                self.beat_cnt.d.next = 0.into();
            }
        }
        self.push_next.d.next = self.last_beat.val();

        if self.start.val() {
            self.fetch_pc.d.next = 0.into();
            self.fetch_addr.d.next = self.base.val();
            self.inflight.d.next = 0.into();
            self.beat_cnt.d.next = 0.into();
        }
        // An instruction pushed (or dropped, while the program stops) leaves the count in flight.
        if self.push_next.q.val() {
            self.inflight.d.next = self.inflight.q.val() - self.one4.val();
            if self.fetch_go.val() {
                self.inflight.d.next = self.inflight.q.val();
            }
        }
        if self.reset.val() {
            self.fetch_req.d.next = false;
            self.inflight.d.next = 0.into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block alone (64- and 512-bit reads) generates Verilog that `verilator -Wall`
    /// accepts; its behaviour is checked through the controller in every program test.
    #[test]
    fn insn_fetch_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut InsnFetch::<64>::default(), "insn_fetch");
        crate::verilog::lint(&v, "insn_fetch").unwrap();
        let v = crate::verilog::generate(&mut InsnFetch::<512>::default(), "insn_fetch");
        crate::verilog::lint(&v, "insn_fetch").unwrap();
    }
}
