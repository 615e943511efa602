//! The static checks of a program, made before it runs (by the golden device, and by anything
//! that wants to know whether the hardware would accept a program):
//!
//! 1. every instruction passes [`Insn::check`] (BAD_FIELD);
//! 2. no instruction waits for a dependency count that is not met even once every earlier
//!    instruction of that unit has completed (a deadlock: the hardware stops with BAD_FIELD at
//!    that instruction once every unit is idle and the count is still short);
//! 3. no two instructions that may overlap in time touch a common bank, even both reading (a
//!    bank has one read port; the RTL's crossbar flags BANK_CONFLICT). "May overlap" comes from
//!    the dependency counts alone (the happens-before relation of [`Deps`]), never from cycle
//!    estimates, so a compiler bug is caught deterministically.
//!
//! [`Deps`] is also the dependency bookkeeping of the scheduler
//! (`crate::cycle_model::schedule`).

use spec::isa::{Insn, Unit};
use spec::regmap::error_code;
use spec::AccelConfig;

/// A program that breaks a rule checked before it runs: the instruction and its ERROR_CODE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramFault {
    /// Index of the offending instruction (for a bank conflict, the later of the two).
    pub insn: usize,
    /// [`error_code::BAD_FIELD`] (a field, or a dependency count that can never be met) or
    /// [`error_code::BANK_CONFLICT`].
    pub code: u32,
}

/// Whether a unit that has completed `completed` instructions meets the dependency count `dep`:
/// the controller's comparison modulo 2^16 (`completed - dep` in `[0, 2^15)`).
pub fn dep_met(completed: u16, dep: u16) -> bool {
    completed.wrapping_sub(dep) < 0x8000
}

/// The dependency structure of a program, built one instruction at a time.
#[derive(Default)]
pub(crate) struct Deps {
    /// Per unit, the program indices of its instructions in order.
    pub(crate) per_unit: [Vec<usize>; 3],
    /// Per instruction: its unit and position in that unit.
    unit_pos: Vec<(Unit, usize)>,
    /// Per instruction, per unit: its first instructions that have completed before it is
    /// dispatched (`req` closed under happens-before, and everything its predecessors waited for).
    required: Vec<[usize; 3]>,
    /// Per instruction, per unit: its first instructions guaranteed complete before it starts.
    before: Vec<[usize; 3]>,
    /// Per instruction: its bank read and write masks.
    masks: Vec<(u32, u32)>,
}

impl Deps {
    /// Per unit, the instructions guaranteed complete once instruction `i` has completed.
    fn done(&self, i: usize) -> [usize; 3] {
        let mut d = self.before[i];
        let (u, pos) = self.unit_pos[i];
        d[u.index()] = d[u.index()].max(pos + 1);
        d
    }

    /// The dependency counts of `insn` as absolute counts of completed instructions: the
    /// largest count not above the unit's instructions so far that equals the field modulo
    /// 2^16 (`None` if the count is not met even when all of them have completed).
    pub(crate) fn absolute(&self, insn: &Insn) -> Option<[usize; 3]> {
        let mut req = [0; 3];
        for u in Unit::ALL {
            let have = self.per_unit[u.index()].len();
            let dep = insn.deps.of(u);
            if !dep_met(have as u16, dep) {
                return None;
            }
            // `have - gap` below zero: the count is met at 0 already (a field far ahead modulo
            // 2^16), nothing to wait for.
            req[u.index()] = have.saturating_sub((have as u16).wrapping_sub(dep) as usize);
        }
        Some(req)
    }

    /// Add the next instruction; returns the program index of the first earlier instruction
    /// that may overlap it, on another unit, with a bank conflict.
    pub(crate) fn push(&mut self, insn: &Insn, req: [usize; 3]) -> Option<usize> {
        let j = self.unit_pos.len();
        let unit = insn.op.unit();
        // Waited for at dispatch: the counts (closed under happens-before) and, as dispatch is in
        // order, everything the previous instruction waited for.
        let mut required = if j > 0 { self.required[j - 1] } else { [0; 3] };
        for u in Unit::ALL {
            let n = req[u.index()];
            if n > 0 {
                let d = self.done(self.per_unit[u.index()][n - 1]);
                for v in 0..3 {
                    required[v] = required[v].max(d[v]);
                }
            }
        }
        // Runs after the unit's previous instruction.
        let mut before = required;
        if let Some(&p) = self.per_unit[unit.index()].last() {
            let d = self.done(p);
            for v in 0..3 {
                before[v] = before[v].max(d[v]);
            }
        }
        let (r, w) = insn.banks();
        let mask = |b: Vec<u8>| b.iter().fold(0u32, |m, &b| m | 1 << b);
        let (r, w) = (mask(r), mask(w));
        let conflict = Unit::ALL
            .into_iter()
            .filter(|&u| u != unit)
            .flat_map(|u| self.per_unit[u.index()][before[u.index()]..].iter().copied())
            .filter(|&i| {
                let (ri, wi) = self.masks[i];
                // One read port and one write port per bank: any shared bank clashes.
                (ri | wi) & (r | w) != 0
            })
            .min();
        self.per_unit[unit.index()].push(j);
        self.unit_pos.push((unit, self.per_unit[unit.index()].len() - 1));
        self.required.push(required);
        self.before.push(before);
        self.masks.push((r, w));
        conflict
    }
}

/// Check a program before it runs, as the golden device does: fields ([`Insn::check`]),
/// dependency counts that can never be met, and bank conflicts between instructions that may
/// run concurrently. Two instructions on different units are ordered when one is guaranteed to
/// complete before the other starts, through the dependency counts (transitively), the in-order
/// dispatch (an instruction is dispatched after everything its predecessors waited for) and the
/// one-at-a-time execution within a unit; all other pairs may overlap, and must not touch a
/// common bank at all. The first fault in program order is returned.
pub fn check_program(cfg: &AccelConfig, insns: &[Insn]) -> Result<(), ProgramFault> {
    let mut deps = Deps::default();
    for (j, insn) in insns.iter().enumerate() {
        let fault = |code| Err(ProgramFault { insn: j, code });
        if insn.check(cfg).is_err() {
            return fault(error_code::BAD_FIELD);
        }
        let Some(req) = deps.absolute(insn) else { return fault(error_code::BAD_FIELD) };
        if deps.push(insn, req).is_some() {
            return fault(error_code::BANK_CONFLICT);
        }
    }
    Ok(())
}
