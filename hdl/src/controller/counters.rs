//! The controller's counters: completions per unit (for the dependency counts), INSN_DONE,
//! CYCLES, ACTIVE and the per-unit busy cycles of the register map. Every output comes straight
//! from a register.

use rust_hdl::prelude::*;

/// The completion and performance counters of the controller.
#[derive(LogicBlock)]
pub struct Counters {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Zero every counter (START).
    pub clear: Signal<In, Bit>,
    /// The program runs (no error yet): every completion counts in INSN_DONE.
    pub running: Signal<In, Bit>,
    /// The controller is not idle: CYCLES counts.
    pub counting: Signal<In, Bit>,
    /// After an error, only completions of instructions before this index count in INSN_DONE.
    pub stopped_at: Signal<In, Bits<32>>,
    /// An AXI error stopped the program: the DMA's draining instruction does not count.
    pub dma_faulted: Signal<In, Bit>,
    /// A row entered the systolic array this cycle.
    pub gemm_active: Signal<In, Bit>,
    /// Per unit (DMA, GEMM, vector): an instruction completed this cycle.
    pub unit_done: Vec<Signal<In, Bit>>,
    /// Per unit: idle this cycle.
    pub unit_idle: Vec<Signal<In, Bit>>,
    /// Per unit: the index of the instruction it finishes.
    pub unit_index: Vec<Signal<In, Bits<32>>>,
    /// Per unit: completed instructions since START (modulo 2^16).
    pub completed: Vec<Signal<Out, Bits<16>>>,
    /// Per unit: cycles not idle since START.
    pub busy_cycles: Vec<Signal<Out, Bits<32>>>,
    /// INSN_DONE.
    pub insn_done: Signal<Out, Bits<32>>,
    /// CYCLES.
    pub cycles: Signal<Out, Bits<64>>,
    /// ACTIVE.
    pub active: Signal<Out, Bits<64>>,

    completed_r: Vec<DFF<Bits<16>>>,
    busy_r: Vec<DFF<Bits<32>>>,
    insn_done_r: DFF<Bits<32>>,
    cycles_r: DFF<Bits<64>>,
    active_r: DFF<Bits<64>>,
    /// Per unit: 1 if its completion this cycle counts in INSN_DONE.
    done_inc: Vec<Signal<Local, Bits<32>>>,
    one16: Constant<Bits<16>>,
    one32: Constant<Bits<32>>,
    zero32: Constant<Bits<32>>,
    one64: Constant<Bits<64>>,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            clock: Signal::default(),
            clear: Signal::default(),
            running: Signal::default(),
            counting: Signal::default(),
            stopped_at: Signal::default(),
            dma_faulted: Signal::default(),
            gemm_active: Signal::default(),
            unit_done: crate::array::signals(3),
            unit_idle: crate::array::signals(3),
            unit_index: crate::array::signals(3),
            completed: crate::array::signals(3),
            busy_cycles: crate::array::signals(3),
            insn_done: Signal::default(),
            cycles: Signal::default(),
            active: Signal::default(),
            completed_r: (0..3).map(|_| DFF::default()).collect(),
            busy_r: (0..3).map(|_| DFF::default()).collect(),
            insn_done_r: DFF::default(),
            cycles_r: DFF::default(),
            active_r: DFF::default(),
            done_inc: crate::array::signals(3),
            one16: Constant::new(1u64.into()),
            one32: Constant::new(1u64.into()),
            zero32: Constant::new(0u64.into()),
            one64: Constant::new(1u64.into()),
        }
    }
}

impl Logic for Counters {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, insn_done_r, cycles_r, active_r);
        Signal::<Out, Bits<32>>::link(&mut self.insn_done, &mut self.insn_done_r.q);
        Signal::<Out, Bits<64>>::link(&mut self.cycles, &mut self.cycles_r.q);
        Signal::<Out, Bits<64>>::link(&mut self.active, &mut self.active_r.q);
        for u in 0..3 {
            Signal::<Out, Bits<16>>::link(&mut self.completed[u], &mut self.completed_r[u].q);
            Signal::<Out, Bits<32>>::link(&mut self.busy_cycles[u], &mut self.busy_r[u].q);
            self.completed_r[u].clock.next = self.clock.val();
            self.busy_r[u].clock.next = self.clock.val();
            self.completed_r[u].d.next = self.completed_r[u].q.val();
            self.busy_r[u].d.next = self.busy_r[u].q.val();
            if self.unit_done[u].val() {
                self.completed_r[u].d.next = self.completed_r[u].q.val() + self.one16.val();
            }
            if !self.unit_idle[u].val() {
                self.busy_r[u].d.next = self.busy_r[u].q.val() + self.one32.val();
            }
            // After an error, only instructions before the failing one count (a unit's index is
            // the index of the instruction it is finishing).
            self.done_inc[u].next = self.zero32.val();
            if self.unit_done[u].val() && (self.running.val() || (self.unit_index[u].val() < self.stopped_at.val())) {
                self.done_inc[u].next = self.one32.val();
            }
        }
        // INSN_DONE counts completions, except the DMA's after an AXI error stopped the program
        // (its instruction drains but did not complete).
        if self.dma_faulted.val() {
            self.done_inc[0].next = self.zero32.val();
        }
        self.insn_done_r.d.next =
            self.insn_done_r.q.val() + self.done_inc[0].val() + self.done_inc[1].val() + self.done_inc[2].val();
        if self.counting.val() {
            self.cycles_r.d.next = self.cycles_r.q.val() + self.one64.val();
        }
        if self.gemm_active.val() {
            self.active_r.d.next = self.active_r.q.val() + self.one64.val();
        }
        if self.clear.val() {
            self.insn_done_r.d.next = 0.into();
            self.cycles_r.d.next = 0.into();
            self.active_r.d.next = 0.into();
            for u in 0..3 {
                self.completed_r[u].d.next = 0.into();
                self.busy_r[u].d.next = 0.into();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One cycle's inputs.
    #[derive(Clone, Debug)]
    struct Step {
        clear: bool,
        running: bool,
        counting: bool,
        stopped_at: u32,
        dma_faulted: bool,
        gemm_active: bool,
        done: [bool; 3],
        idle: [bool; 3],
        index: [u32; 3],
    }

    fn step() -> impl Strategy<Value = Step> {
        (
            prop::bool::weighted(0.05),
            any::<bool>(),
            any::<bool>(),
            0u32..8,
            prop::bool::weighted(0.2),
            any::<bool>(),
            any::<[bool; 3]>(),
            any::<[bool; 3]>(),
            prop::array::uniform3(0u32..8),
        )
            .prop_map(|(clear, running, counting, stopped_at, dma_faulted, gemm_active, done, idle, index)| {
                Step { clear, running, counting, stopped_at, dma_faulted, gemm_active, done, idle, index }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Against a plain model of the register map's counters, cycle by cycle.
        #[test]
        fn counts_like_the_register_map(steps in prop::collection::vec(step(), 1..60)) {
            let mut uut = Counters::default();
            uut.connect_all();
            let mut sim = Simulation::new();
            sim.add_clock(5, |x: &mut Box<Counters>| x.clock.next = !x.clock.val());
            let steps2 = steps.clone();
            sim.add_testbench(move |mut ep: Sim<Counters>| {
                let mut x = ep.init()?;
                // Model: (completed, busy, insn_done, cycles, active), starting from a clear.
                let (mut completed, mut busy) = ([0u16; 3], [0u32; 3]);
                let (mut insn_done, mut cycles, mut active) = (0u32, 0u64, 0u64);
                x.clear.next = true;
                wait_clock_cycle!(ep, clock, x);
                for s in &steps2 {
                    x.clear.next = s.clear;
                    x.running.next = s.running;
                    x.counting.next = s.counting;
                    x.stopped_at.next = (s.stopped_at as u64).into();
                    x.dma_faulted.next = s.dma_faulted;
                    x.gemm_active.next = s.gemm_active;
                    for u in 0..3 {
                        x.unit_done[u].next = s.done[u];
                        x.unit_idle[u].next = s.idle[u];
                        x.unit_index[u].next = (s.index[u] as u64).into();
                    }
                    wait_clock_cycle!(ep, clock, x);
                    if s.clear {
                        (completed, busy, insn_done, cycles, active) = ([0; 3], [0; 3], 0, 0, 0);
                    } else {
                        for u in 0..3 {
                            completed[u] = completed[u].wrapping_add(s.done[u] as u16);
                            busy[u] += !s.idle[u] as u32;
                            let counts = s.done[u] && (s.running || s.index[u] < s.stopped_at) && !(u == 0 && s.dma_faulted);
                            insn_done += counts as u32;
                        }
                        cycles += s.counting as u64;
                        active += s.gemm_active as u64;
                    }
                    for u in 0..3 {
                        sim_assert_eq!(ep, x.completed[u].val().index() as u16, completed[u], x);
                        sim_assert_eq!(ep, x.busy_cycles[u].val().index() as u32, busy[u], x);
                    }
                    sim_assert_eq!(ep, x.insn_done.val().index() as u32, insn_done, x);
                    sim_assert_eq!(ep, x.cycles.val().to_u64(), cycles, x);
                    sim_assert_eq!(ep, x.active.val().to_u64(), active, x);
                }
                ep.done(x)
            });
            sim.run(Box::new(uut), 20 * (steps.len() as u64 + 4)).unwrap();
        }
    }

    #[test]
    fn counters_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut Counters::default(), "counters");
        crate::verilog::lint(&v, "counters").unwrap();
    }
}
