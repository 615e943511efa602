//! The program timeline: when each instruction is dispatched, starts and finishes, with the
//! per-instruction costs of [`CycleModel::unit_cycles`] and the controller's hand-off latencies
//! (`spec::timing::control`). The golden device fills its cycle counters from it.

use super::units::CycleModel;
use crate::check::Deps;
use spec::isa::Insn;
use spec::timing::control::{DEP_LATENCY, DONE_CYCLES, SLOT_LATENCY};

/// The estimated timeline of a program.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schedule {
    /// Per instruction: the cycles it is dispatched, starts and finishes.
    pub times: Vec<(u64, u64, u64)>,
    /// Cycles from START until BUSY falls (the makespan).
    pub cycles: u64,
    /// Per unit (DMA, GEMM, vector): cycles it holds an instruction (pending or executing).
    pub busy: [u64; 3],
    /// Cycles in which a row enters the systolic array (ACTIVE).
    pub active: u64,
}

/// The timeline of a program that passes [`crate::check::check_program`]: the first instruction is dispatched
/// once fetched, then one per cycle at most, in order, each once its dependency counts are met
/// and its unit's pending slot is free (a unit holds one instruction executing and one pending,
/// as in the RTL); an instruction starts when its unit has finished the previous one and takes
/// [`CycleModel::unit_cycles`].
pub fn schedule(model: &CycleModel, insns: &[Insn]) -> Schedule {
    schedule_with(model, insns, &[])
}

/// [`schedule`] with the unit cycles of some instructions given (`cycles_given[j]`, where present and
/// `Some`): the data-dependent ones (SELECT), measured by the golden backend as it runs them.
pub fn schedule_with(model: &CycleModel, insns: &[Insn], cycles_given: &[Option<u64>]) -> Schedule {
    let mut s = Schedule::default();
    let mut deps = Deps::default();
    for (j, insn) in insns.iter().enumerate() {
        let req = deps.absolute(insn).unwrap_or([0; 3]);
        let unit = insn.op.unit().index();
        let mut t = if j == 0 { model.fetch() } else { s.times[j - 1].0 + 1 };
        for u in 0..3 {
            if req[u] > 0 {
                t = t.max(s.times[deps.per_unit[u][req[u] - 1]].2 + DEP_LATENCY);
            }
        }
        // The pending slot frees when the unit's previous instruction starts.
        let (prev_start, prev_finish) =
            deps.per_unit[unit].last().map_or((0, 0), |&p| (s.times[p].1, s.times[p].2 + SLOT_LATENCY));
        t = t.max(prev_start);
        let start = t.max(prev_finish);
        let (mut cycles, active) = model.unit_cycles(insn);
        if let Some(&Some(c)) = cycles_given.get(j) {
            cycles = c;
        }
        let finish = start + cycles;
        s.times.push((t, start, finish));
        // Busy from dispatch to finish; the pending time overlaps the previous execution.
        s.busy[unit] += cycles;
        s.active += active;
        s.cycles = s.cycles.max(finish + DONE_CYCLES);
        deps.push(insn, req);
    }
    s
}

impl CycleModel {
    /// `(cycles, active cycles)` of a whole program: the timeline of [`schedule`] (units
    /// overlapping as their dependency counts allow).
    pub fn program(&self, insns: &[Insn]) -> (u64, u64) {
        let s = schedule(self, insns);
        (s.cycles, s.active)
    }
}
