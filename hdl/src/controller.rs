//! The controller: fetches 512-bit instructions ahead into a small queue, and dispatches them in
//! program order to the DMA, GEMM and vector units once their dependency counts are met
//! (`spec::isa`). It counts completions per unit, owns the status and cycle counters of the
//! register map, and stops cleanly on the first error: no further dispatch, every unit and
//! every fetch drains, then ERROR. An instruction whose dependency counts can never be met (every
//! unit idle, the counts still short) stops the program with BAD_FIELD instead of hanging.

use crate::bus::{ReadClient, UnitDispatch, INSN_BITS};
use crate::storage::WordFifo;
pub use counters::Counters;
pub use decode::HeadDecode;
use decode::{HEADER_BITS, TAIL_BITS, TAIL_LSB};
pub use fetch::InsnFetch;
use rust_hdl::prelude::*;
use spec::isa;
use spec::regmap::error_code;

mod counters;
mod decode;
mod fetch;

/// Instructions fetched ahead of dispatch.
pub const INSN_QUEUE: usize = 4;

// States.
const C_IDLE: u64 = 0;
const C_RUN: u64 = 1;
const C_STOP: u64 = 2;

/// Shift register assembling one instruction from `INSN_BITS / W` read beats (`W <= INSN_BITS`).
/// A leaf primitive with a Verilog body.
#[derive(LogicBlock)]
pub struct InsnAssembler<const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Take `beat`.
    pub load: Signal<In, Bit>,
    /// A read beat (the next 64-bit-aligned part of the instruction, low part first).
    pub beat: Signal<In, Bits<W>>,
    /// The instruction as assembled so far (complete after `INSN_BITS / W` loads).
    pub insn: Signal<Out, Bits<INSN_BITS>>,
}

impl<const W: usize> Default for InsnAssembler<W> {
    fn default() -> Self {
        assert!(W <= INSN_BITS && INSN_BITS / W * W == INSN_BITS, "W must divide INSN_BITS");
        InsnAssembler {
            clock: Signal::default(),
            load: Signal::default(),
            beat: Signal::default(),
            insn: Signal::default(),
        }
    }
}

impl<const W: usize> Logic for InsnAssembler<W> {
    fn update(&mut self) {
        if self.clock.pos_edge() && self.load.val() {
            let mut v = self.insn.val() >> W as u64;
            for i in 0..W {
                v = v.replace_bit(INSN_BITS - W + i, self.beat.val().get_bit(i));
            }
            self.insn.next = v;
        }
    }
    fn connect(&mut self) {
        self.insn.connect();
    }
    fn hdl(&self) -> Verilog {
        let top = INSN_BITS - 1;
        let body = if W < INSN_BITS { format!("insn <= {{beat, insn[{top}:{W}]}};") } else { "insn <= beat;".into() };
        Verilog::Custom(format!(
            "initial insn = {INSN_BITS}'h0;\nalways @(posedge clock) begin\n    if (load) {body}\nend"
        ))
    }
}

/// Replaces the 16-bit sizes an instruction selects with its LIVE_SIZES bits
/// (`spec::isa::live`) by the live token count: the instruction as dispatched. Combinational;
/// a leaf primitive with a Verilog body.
#[derive(LogicBlock, Default)]
pub struct LivePatch {
    /// The instruction as fetched.
    pub insn: Signal<In, Bits<INSN_BITS>>,
    /// LIVE_TOKENS.
    pub live: Signal<In, Bits<16>>,
    /// The instruction as dispatched.
    pub out: Signal<Out, Bits<INSN_BITS>>,
}

/// Bit of LIVE_SIZES bit `i` and the lowest bit of the size it selects.
fn live_slot(i: usize) -> (usize, usize) {
    (isa::LIVE_SIZES.lsb as usize + i, (isa::live::FIRST_SIZE_LSB + 16 * i as u32) as usize)
}

impl Logic for LivePatch {
    fn update(&mut self) {
        let mut v = self.insn.val();
        for i in 0..3 {
            let (flag, lsb) = live_slot(i);
            if self.insn.val().get_bit(flag) {
                for b in 0..16 {
                    v = v.replace_bit(lsb + b, self.live.val().get_bit(b));
                }
            }
        }
        self.out.next = v;
    }
    fn connect(&mut self) {
        self.out.connect();
    }
    fn hdl(&self) -> Verilog {
        let mut body = String::from("always @(*) begin\n    out = insn;\n");
        for i in 0..3 {
            let (flag, lsb) = live_slot(i);
            body += &format!("    if (insn[{flag}]) out[{}:{lsb}] = live;\n", lsb + 15);
        }
        body += "end";
        Verilog::Custom(body)
    }
}

/// The controller for `W`-bit read data.
#[derive(LogicBlock)]
pub struct Controller<const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// START pulse.
    pub start: Signal<In, Bit>,
    /// INSN_BASE.
    pub insn_base: Signal<In, Bits<40>>,
    /// INSN_COUNT.
    pub insn_count: Signal<In, Bits<32>>,
    /// LIVE_TOKENS.
    pub live_tokens: Signal<In, Bits<16>>,
    /// STATUS.BUSY.
    pub busy: Signal<Out, Bit>,
    /// STATUS.DONE.
    pub done: Signal<Out, Bit>,
    /// STATUS.ERROR.
    pub error: Signal<Out, Bit>,
    /// ERROR_CODE.
    pub error_code: Signal<Out, Bits<8>>,
    /// ERROR_INSN.
    pub error_insn: Signal<Out, Bits<32>>,
    /// INSN_DONE.
    pub insn_done: Signal<Out, Bits<32>>,
    /// CYCLES.
    pub cycles: Signal<Out, Bits<64>>,
    /// ACTIVE.
    pub active: Signal<Out, Bits<64>>,
    /// Per-unit busy cycles (DMA, GEMM, vector).
    pub unit_busy_cycles: Vec<Signal<Out, Bits<32>>>,
    /// Clear the AXI engines' error flags (pulsed on START).
    pub axi_clear: Signal<Out, Bit>,
    /// A row entered the systolic array this cycle.
    pub gemm_active: Signal<In, Bit>,
    /// The read engine saw an error response since START.
    pub rd_error: Signal<In, Bit>,
    /// The write engine saw an error response since START.
    pub wr_error: Signal<In, Bit>,
    /// Two units met on a scratchpad bank port.
    pub bank_conflict: Signal<In, Bit>,
    /// Instruction fetch from DRAM (a read-arbiter client).
    pub rd: ReadClient<W>,
    /// Dispatch to and completion from the units (0 DMA, 1 GEMM, 2 vector).
    pub units: Vec<UnitDispatch>,

    fetch: InsnFetch<W>,
    patch: LivePatch,
    head: HeadDecode,
    counters: Counters,
    queue: WordFifo<INSN_BITS>,
    state: DFF<Bits<2>>,
    count: DFF<Bits<32>>,
    pc: DFF<Bits<32>>,
    axi_fault: DFF<Bit>,
    stuck_r: DFF<Bit>,
    done_r: DFF<Bit>,
    error_r: DFF<Bit>,
    code_r: DFF<Bits<8>>,
    err_insn_r: DFF<Bits<32>>,
    // Locals.
    dispatch: Signal<Local, Bit>,
    all_idle: Signal<Local, Bit>,
    stuck: Signal<Local, Bit>,
    unit_error: Signal<Local, Bit>,
    // Constants.
    st_idle: Constant<Bits<2>>,
    st_run: Constant<Bits<2>>,
    st_stop: Constant<Bits<2>>,
    err_opcode: Constant<Bits<8>>,
    err_field: Constant<Bits<8>>,
    err_axi: Constant<Bits<8>>,
    err_conflict: Constant<Bits<8>>,
    tail_lsb: Constant<Bits<9>>,
    one32: Constant<Bits<32>>,
}

impl<const W: usize> Controller<W> {
    /// A controller for read data of `W` bits (`W` divides `INSN_BITS`).
    pub fn new() -> Self {
        let c8 = |v: u64| Constant::new(Bits::<8>::from(v));
        let c2 = |v: u64| Constant::new(Bits::<2>::from(v));
        Controller {
            clock: Signal::default(),
            reset: Signal::default(),
            start: Signal::default(),
            insn_base: Signal::default(),
            insn_count: Signal::default(),
            live_tokens: Signal::default(),
            busy: Signal::default(),
            done: Signal::default(),
            error: Signal::default(),
            error_code: Signal::default(),
            error_insn: Signal::default(),
            insn_done: Signal::default(),
            cycles: Signal::default(),
            active: Signal::default(),
            unit_busy_cycles: crate::array::signals(3),
            axi_clear: Signal::default(),
            gemm_active: Signal::default(),
            rd_error: Signal::default(),
            wr_error: Signal::default(),
            bank_conflict: Signal::default(),
            rd: ReadClient::default(),
            units: (0..3).map(|_| UnitDispatch::default()).collect(),
            fetch: InsnFetch::default(),
            patch: LivePatch::default(),
            head: HeadDecode::default(),
            counters: Counters::default(),
            queue: WordFifo::new(INSN_QUEUE),
            state: DFF::default(),
            count: DFF::default(),
            pc: DFF::default(),
            axi_fault: DFF::default(),
            stuck_r: DFF::default(),
            done_r: DFF::default(),
            error_r: DFF::default(),
            code_r: DFF::default(),
            err_insn_r: DFF::default(),
            dispatch: Signal::default(),
            all_idle: Signal::default(),
            stuck: Signal::default(),
            unit_error: Signal::default(),
            st_idle: c2(C_IDLE),
            st_run: c2(C_RUN),
            st_stop: c2(C_STOP),
            err_opcode: c8(error_code::BAD_OPCODE as u64),
            err_field: c8(error_code::BAD_FIELD as u64),
            err_axi: c8(error_code::AXI_ERROR as u64),
            err_conflict: c8(error_code::BANK_CONFLICT as u64),
            tail_lsb: Constant::new(Bits::<9>::from(TAIL_LSB as u64)),
            one32: Constant::new(1u64.into()),
        }
    }
}

impl<const W: usize> Default for Controller<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const W: usize> Logic for Controller<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state, count, pc, axi_fault, stuck_r, done_r, error_r, code_r, err_insn_r);
        self.queue.clock.next = self.clock.val();
        // START flushes instructions prefetched by a program that stopped on an error.
        self.queue.reset.next = self.reset.val() || ((self.state.q.val() == self.st_idle.val()) && self.start.val());

        // ---------------- fetch ----------------
        self.fetch.clock.next = self.clock.val();
        self.fetch.reset.next = self.reset.val();
        self.fetch.start.next = (self.state.q.val() == self.st_idle.val()) && self.start.val();
        self.fetch.base.next = self.insn_base.val();
        self.fetch.running.next = self.state.q.val() == self.st_run.val();
        self.fetch.count.next = self.count.q.val();
        self.fetch.queued.next = self.queue.count.val();
        ReadClient::<W>::link(&mut self.rd, &mut self.fetch.rd);
        self.queue.din.next = self.fetch.insn.val();
        // Instructions arriving while the program stops are dropped.
        self.queue.push.next = self.fetch.push.val() && (self.state.q.val() == self.st_run.val());

        // ---------------- decode the queue head ----------------
        self.head.header.next = self.queue.dout.val().get_bits::<HEADER_BITS>(0);
        self.head.tail.next = self.queue.dout.val().get_bits::<TAIL_BITS>(self.tail_lsb.val().index());
        for u in 0..3 {
            self.head.completed[u].next = self.counters.completed[u].val();
            self.head.unit_ready[u].next = self.units[u].ready.val();
        }
        self.dispatch.next = (self.state.q.val() == self.st_run.val())
            && (self.queue.count.val() != 0)
            && !self.head.bad_opcode.val()
            && !self.head.bad_field.val()
            && self.head.deps_met.val()
            && self.head.unit_ready_now.val();
        self.patch.insn.next = self.queue.dout.val();
        self.patch.live.next = self.live_tokens.val();
        for u in 0..3 {
            self.units[u].insn.next = self.patch.out.val();
            self.units[u].index.next = self.pc.q.val();
            self.units[u].valid.next = self.dispatch.val() && (self.head.unit.val().index() == u);
        }
        self.queue.pop.next = self.dispatch.val();
        if self.dispatch.val() {
            self.pc.d.next = self.pc.q.val() + self.one32.val();
        }

        // ---------------- completions and counters ----------------
        self.all_idle.next = self.units[0].idle.val() && self.units[1].idle.val() && self.units[2].idle.val();
        // A deadlock: the head waits for counts that no running or queued instruction can
        // complete. Held two cycles, so a completion pulsed as its unit went idle has reached the
        // counters.
        self.stuck.next = (self.state.q.val() == self.st_run.val())
            && (self.queue.count.val() != 0)
            && !self.head.bad_opcode.val()
            && !self.head.bad_field.val()
            && !self.head.deps_met.val()
            && self.all_idle.val();
        self.stuck_r.d.next = self.stuck.val();
        self.unit_error.next = false;
        for u in 0..3 {
            if self.units[u].error.val() {
                self.unit_error.next = true;
            }
        }
        self.counters.clock.next = self.clock.val();
        self.counters.clear.next = (self.state.q.val() == self.st_idle.val()) && self.start.val();
        self.counters.running.next = self.state.q.val() == self.st_run.val();
        self.counters.counting.next = self.state.q.val() != self.st_idle.val();
        self.counters.stopped_at.next = self.err_insn_r.q.val();
        self.counters.dma_faulted.next = (self.state.q.val() != self.st_idle.val()) && self.axi_fault.q.val();
        self.counters.gemm_active.next = self.gemm_active.val();
        for u in 0..3 {
            self.counters.unit_done[u].next = self.units[u].done.val();
            self.counters.unit_idle[u].next = self.units[u].idle.val();
            self.counters.unit_index[u].next = self.units[u].error_index.val();
        }
        self.axi_clear.next = false;

        // ---------------- state machine ----------------
        if self.state.q.val() == self.st_idle.val() {
            if self.start.val() {
                self.axi_clear.next = true;
                self.count.d.next = self.insn_count.val();
                self.pc.d.next = 0.into();
                self.axi_fault.d.next = false;
                self.done_r.d.next = false;
                self.error_r.d.next = false;
                self.code_r.d.next = 0.into();
                self.err_insn_r.d.next = 0.into();
                self.state.d.next = self.st_run.val();
            }
        } else if self.state.q.val() == self.st_run.val() {
            if (self.queue.count.val() != 0) && (self.head.bad_opcode.val() || self.head.bad_field.val()) {
                self.code_r.d.next = self.err_field.val();
                if self.head.bad_opcode.val() {
                    self.code_r.d.next = self.err_opcode.val();
                }
                self.err_insn_r.d.next = self.pc.q.val();
                self.state.d.next = self.st_stop.val();
            } else if self.unit_error.val() {
                for u in 0..3 {
                    if self.units[u].error.val() {
                        self.code_r.d.next = self.units[u].error_code.val();
                        self.err_insn_r.d.next = self.units[u].error_index.val();
                    }
                }
                self.state.d.next = self.st_stop.val();
            } else if self.rd_error.val() || self.wr_error.val() || self.bank_conflict.val() {
                self.axi_fault.d.next = self.rd_error.val() || self.wr_error.val();
                self.code_r.d.next = self.err_axi.val();
                if self.bank_conflict.val() {
                    self.code_r.d.next = self.err_conflict.val();
                }
                self.err_insn_r.d.next = self.pc.q.val();
                if self.pc.q.val() != 0 {
                    self.err_insn_r.d.next = self.pc.q.val() - self.one32.val();
                }
                self.state.d.next = self.st_stop.val();
            } else if self.stuck.val() && self.stuck_r.q.val() {
                self.code_r.d.next = self.err_field.val();
                self.err_insn_r.d.next = self.pc.q.val();
                self.state.d.next = self.st_stop.val();
            } else if (self.pc.q.val() == self.count.q.val()) && self.all_idle.val() {
                self.done_r.d.next = true;
                self.state.d.next = self.st_idle.val();
            }
        } else {
            // Stopping: let every unit and every fetch finish, then report.
            if self.all_idle.val() && self.fetch.drained.val() {
                self.error_r.d.next = true;
                self.state.d.next = self.st_idle.val();
            }
        }
        if self.reset.val() {
            self.state.d.next = self.st_idle.val();
            self.done_r.d.next = false;
            self.error_r.d.next = false;
        }
        self.busy.next = self.state.q.val() != self.st_idle.val();
        self.done.next = self.done_r.q.val();
        self.error.next = self.error_r.q.val();
        self.error_code.next = self.code_r.q.val();
        self.error_insn.next = self.err_insn_r.q.val();
        Signal::<Out, Bits<32>>::link(&mut self.insn_done, &mut self.counters.insn_done);
        Signal::<Out, Bits<64>>::link(&mut self.cycles, &mut self.counters.cycles);
        Signal::<Out, Bits<64>>::link(&mut self.active, &mut self.counters.active);
        for u in 0..3 {
            Signal::<Out, Bits<32>>::link(&mut self.unit_busy_cycles[u], &mut self.counters.busy_cycles[u]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controller_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut Controller::<64>::new(), "ctrl");
        crate::verilog::lint(&v, "ctrl").unwrap();
        let v = crate::verilog::generate(&mut Controller::<512>::new(), "ctrl");
        crate::verilog::lint(&v, "ctrl").unwrap();
    }
}
