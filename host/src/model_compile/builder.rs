//! The instruction list with automatic dependency counts.

use super::compiled::LayerKind;
use spec::isa::{Deps, Insn, Op, Unit};

/// Instruction list with automatic dependencies (see the module documentation of [`super`]).
#[derive(Default)]
pub struct Builder {
    insns: Vec<Insn>,
    kinds: Vec<LayerKind>,
    blocks: Vec<Option<u16>>,
    /// The block being emitted (its selector included), for per-block reports.
    pub block: Option<u16>,
    issued: [u32; 3],
    /// Per bank, per unit: sequence number + 1 of the last instruction that touched it.
    touched: Vec<[u32; 3]>,
    /// Counts every later instruction waits for (set after a SELECT: sizes are read at
    /// dispatch, so nothing may be dispatched before the new LIVE_TOKENS exists).
    floor: [u32; 3],
}

impl Builder {
    /// A builder for `banks` banks.
    pub fn new(banks: usize) -> Self {
        Builder { touched: vec![[0; 3]; banks], ..Default::default() }
    }
    /// Append `op`, waiting for every other unit's last instruction on any bank it touches.
    pub fn push(&mut self, op: Op, kind: LayerKind) {
        self.push_live(op, kind, 0);
    }

    /// [`Builder::push`] with sizes taken from LIVE_TOKENS at dispatch (`spec::isa::live` bits).
    pub fn push_live(&mut self, op: Op, kind: LayerKind, live: u8) {
        let insn = Insn::new(op);
        let (r, w) = insn.banks();
        let me = op.unit().index();
        let mut need = self.floor;
        for &b in r.iter().chain(&w) {
            for (u, n) in need.iter_mut().enumerate() {
                if u != me {
                    *n = (*n).max(self.touched[b as usize][u]);
                }
            }
        }
        self.issued[me] += 1;
        for &b in r.iter().chain(&w) {
            self.touched[b as usize][me] = self.issued[me];
        }
        let deps = Deps { dma: need[0] as u16, gemm: need[1] as u16, vec: need[2] as u16 };
        debug_assert_eq!(Unit::Dma.index(), 0);
        self.insns.push(Insn { live, deps, ..insn });
        self.kinds.push(kind);
        self.blocks.push(self.block);
    }

    /// Every later instruction waits for the last one pushed (of any unit, its own included).
    pub fn barrier(&mut self) {
        let me = self.insns.last().expect("an instruction to wait for").op.unit().index();
        self.floor[me] = self.issued[me];
    }

    /// The instructions, and per instruction its layer kind and block.
    pub(super) fn into_parts(self) -> (Vec<Insn>, Vec<LayerKind>, Vec<Option<u16>>) {
        (self.insns, self.kinds, self.blocks)
    }
}
