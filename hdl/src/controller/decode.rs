//! The decode of the instruction at the head of the controller's queue: which unit takes it,
//! whether its opcode or any field is invalid (reserved bits, LIVE_SIZES bits its unit does not
//! take), whether its dependency counts are met and whether its unit is ready. Combinational;
//! every output is assigned once per evaluation (a port that changes twice re-triggers the
//! controller in event-driven simulators).

use rust_hdl::prelude::*;
use spec::isa::{self, INSN_BITS};

/// Bits `0..HEADER_BITS` of an instruction: OPCODE and the dependency counts.
pub const HEADER_BITS: usize = 56;
/// Bits `TAIL_LSB..INSN_BITS`: LIVE_SIZES and RESERVED.
pub const TAIL_LSB: usize = 320;
/// Width of the tail.
pub const TAIL_BITS: usize = INSN_BITS - TAIL_LSB;

/// The head decode of the controller.
#[derive(LogicBlock)]
pub struct HeadDecode {
    /// Bits `0..HEADER_BITS` of the instruction at the head of the queue (the operands between
    /// header and tail are the units' business).
    pub header: Signal<In, Bits<HEADER_BITS>>,
    /// Its bits `TAIL_LSB..INSN_BITS`.
    pub tail: Signal<In, Bits<TAIL_BITS>>,
    /// Completed instructions per unit (DMA, GEMM, vector), modulo 2^16.
    pub completed: Vec<Signal<In, Bits<16>>>,
    /// Each unit can take an instruction.
    pub unit_ready: Vec<Signal<In, Bit>>,
    /// The unit that runs it (`spec::isa::Unit::index`).
    pub unit: Signal<Out, Bits<2>>,
    /// The opcode is unknown.
    pub bad_opcode: Signal<Out, Bit>,
    /// Reserved bits are set, or LIVE_SIZES bits its unit does not take.
    pub bad_field: Signal<Out, Bit>,
    /// Every unit has completed at least the instruction's dependency count (counts compared
    /// modulo 2^16, as `spec::isa` defines them).
    pub deps_met: Signal<Out, Bit>,
    /// Its unit is ready.
    pub unit_ready_now: Signal<Out, Bit>,

    opcode: Signal<Local, Bits<8>>,
    unit_sel: Signal<Local, Bits<2>>,
    opcode_unknown: Signal<Local, Bit>,
    reserved_set: Signal<Local, Bit>,
    live_bits: Signal<Local, Bits<8>>,
    live_bad: Signal<Local, Bit>,
    dep: Vec<Signal<Local, Bits<16>>>,
    slack: Vec<Signal<Local, Bits<16>>>,
    ready_sel: Signal<Local, Bit>,

    f_opcode: Constant<Bits<6>>,
    f_dep: Vec<Constant<Bits<6>>>,
    f_reserved: Constant<Bits<8>>,
    zero_reserved: Constant<Bits<184>>,
    f_live: Constant<Bits<8>>,
    live_vec_ok: Constant<Bits<8>>,
    live_gemm_ok: Constant<Bits<8>>,
    zero8: Constant<Bits<8>>,
    op_dma_lo: Constant<Bits<8>>,
    op_dma_hi: Constant<Bits<8>>,
    op_gemm: Constant<Bits<8>>,
    op_vec_lo: Constant<Bits<8>>,
    op_vec_hi: Constant<Bits<8>>,
    u_dma: Constant<Bits<2>>,
    u_gemm: Constant<Bits<2>>,
    u_vec: Constant<Bits<2>>,
    half16: Constant<Bits<16>>,
}

impl Default for HeadDecode {
    fn default() -> Self {
        assert_eq!(isa::OPCODE.width, 8);
        assert_eq!(isa::DEP_DMA.width, 16);
        assert_eq!(isa::RESERVED.width, 184, "spec RESERVED changed: update the head decode");
        assert_eq!(isa::LIVE_SIZES.width, 8);
        for f in [isa::OPCODE, isa::DEP_DMA, isa::DEP_GEMM, isa::DEP_VEC] {
            assert!((f.lsb + f.width) as usize <= HEADER_BITS, "{} outside the header", f.name);
        }
        assert_eq!(isa::LIVE_SIZES.lsb as usize, TAIL_LSB, "LIVE_SIZES starts the tail");
        assert_eq!((isa::RESERVED.lsb + isa::RESERVED.width) as usize, INSN_BITS, "RESERVED ends the tail");
        // The decoder routes the contiguous range LAYERNORM..=SELECT to the vector unit.
        for code in isa::Opcode::LayerNorm as u8..=isa::Opcode::Select as u8 {
            assert_eq!(isa::Opcode::from_u8(code).map(|o| o.unit()), Some(isa::Unit::Vec), "opcode {code}");
        }
        let c8 = |v: u64| Constant::new(Bits::<8>::from(v));
        let c6 = |v: u64| Constant::new(Bits::<6>::from(v));
        let c2 = |v: u64| Constant::new(Bits::<2>::from(v));
        HeadDecode {
            header: Signal::default(),
            tail: Signal::default(),
            completed: crate::array::signals(3),
            unit_ready: crate::array::signals(3),
            unit: Signal::default(),
            bad_opcode: Signal::default(),
            bad_field: Signal::default(),
            deps_met: Signal::default(),
            unit_ready_now: Signal::default(),
            opcode: Signal::default(),
            unit_sel: Signal::default(),
            opcode_unknown: Signal::default(),
            reserved_set: Signal::default(),
            live_bits: Signal::default(),
            live_bad: Signal::default(),
            dep: crate::array::signals(3),
            slack: crate::array::signals(3),
            ready_sel: Signal::default(),
            f_opcode: c6(isa::OPCODE.lsb as u64),
            f_dep: [isa::DEP_DMA, isa::DEP_GEMM, isa::DEP_VEC].iter().map(|f| c6(f.lsb as u64)).collect(),
            f_reserved: c8(isa::RESERVED.lsb as u64 - TAIL_LSB as u64),
            zero_reserved: Constant::new(Bits::default()),
            f_live: c8(isa::LIVE_SIZES.lsb as u64 - TAIL_LSB as u64),
            live_vec_ok: Constant::new(((isa::live::M | isa::live::K) as u64).into()),
            live_gemm_ok: Constant::new((isa::live::DEFINED as u64).into()),
            zero8: Constant::new(0.into()),
            op_dma_lo: c8(isa::Opcode::Load as u64),
            op_dma_hi: c8(isa::Opcode::Store as u64),
            op_gemm: c8(isa::Opcode::Gemm as u64),
            op_vec_lo: c8(isa::Opcode::LayerNorm as u64),
            op_vec_hi: c8(isa::Opcode::Select as u64),
            u_dma: c2(isa::Unit::Dma.index() as u64),
            u_gemm: c2(isa::Unit::Gemm.index() as u64),
            u_vec: c2(isa::Unit::Vec.index() as u64),
            half16: Constant::new(Bits::<16>::from(0x8000u64)),
        }
    }
}

impl Logic for HeadDecode {
    #[hdl_gen]
    fn update(&mut self) {
        self.opcode.next = self.header.val().get_bits::<8>(self.f_opcode.val().index());
        self.reserved_set.next =
            self.tail.val().get_bits::<184>(self.f_reserved.val().index()) != self.zero_reserved.val();
        for u in 0..3 {
            self.dep[u].next = self.header.val().get_bits::<16>(self.f_dep[u].val().index());
            self.slack[u].next = self.completed[u].val() - self.dep[u].val();
        }
        self.opcode_unknown.next = false;
        self.unit_sel.next = self.u_dma.val();
        if self.opcode.val() == self.op_gemm.val() {
            self.unit_sel.next = self.u_gemm.val();
        } else if (self.opcode.val() >= self.op_vec_lo.val()) && (self.opcode.val() <= self.op_vec_hi.val()) {
            self.unit_sel.next = self.u_vec.val();
        } else if (self.opcode.val() != self.op_dma_lo.val()) && (self.opcode.val() != self.op_dma_hi.val()) {
            self.opcode_unknown.next = true;
        }
        // LIVE_SIZES bits the unit does not take are a bad field, like reserved bits.
        self.live_bits.next = self.tail.val().get_bits::<8>(self.f_live.val().index());
        self.live_bad.next = (self.live_bits.val() & !self.live_gemm_ok.val()) != self.zero8.val();
        if self.unit_sel.val() == self.u_vec.val() {
            self.live_bad.next = (self.live_bits.val() & !self.live_vec_ok.val()) != self.zero8.val();
        }
        if self.unit_sel.val() == self.u_dma.val() {
            self.live_bad.next = self.live_bits.val() != self.zero8.val();
        }
        self.ready_sel.next = false;
        for u in 0..3 {
            if self.unit_sel.val().index() == u {
                self.ready_sel.next = self.unit_ready[u].val();
            }
        }
        // The outputs, once each.
        self.unit.next = self.unit_sel.val();
        self.bad_opcode.next = self.opcode_unknown.val();
        self.bad_field.next = self.reserved_set.val() || self.live_bad.val();
        self.deps_met.next = (self.slack[0].val() < self.half16.val())
            && (self.slack[1].val() < self.half16.val())
            && (self.slack[2].val() < self.half16.val());
        self.unit_ready_now.next = self.ready_sel.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Decodes `word` in Rust-HDL's simulator (one settle of the combinational block).
    fn decode(word: &Bits<INSN_BITS>, completed: [u16; 3], ready: [bool; 3]) -> (u64, bool, bool, bool, bool) {
        let mut uut = HeadDecode::default();
        uut.connect_all();
        uut.header.next = word.get_bits::<HEADER_BITS>(0);
        uut.tail.next = word.get_bits::<TAIL_BITS>(TAIL_LSB);
        for u in 0..3 {
            uut.completed[u].next = (completed[u] as u64).into();
            uut.unit_ready[u].next = ready[u];
        }
        // A combinational block settles within a few evaluations.
        for _ in 0..4 {
            uut.update_all();
        }
        (
            uut.unit.val().index() as u64,
            uut.bad_opcode.val(),
            uut.bad_field.val(),
            uut.deps_met.val(),
            uut.unit_ready_now.val(),
        )
    }

    fn word(bytes: &[u8]) -> Bits<INSN_BITS> {
        let mut w = Bits::<INSN_BITS>::default();
        for (i, &b) in bytes.iter().enumerate() {
            for k in 0..8 {
                w = w.replace_bit(8 * i + k, b >> k & 1 == 1);
            }
        }
        w
    }

    proptest! {
        /// Against `spec::isa`: the unit of a known opcode, BAD_OPCODE for an unknown one,
        /// BAD_FIELD exactly when reserved bits are set or `spec::isa::live::valid` rejects the
        /// LIVE_SIZES bits for the unit, the dependency rule of `Deps` (modulo 2^16), and the
        /// selected unit's ready.
        #[test]
        fn decodes_like_the_spec(
            bytes in prop::collection::vec(any::<u8>(), isa::INSN_BYTES),
            opcode in 0u64..10,
            reserved_clear in any::<bool>(),
            live in prop::sample::select(vec![0u64, 1, 2, 3, 4, 7, 0x80]),
            deps_near in any::<bool>(),
            completed in any::<[u16; 3]>(),
            ready in any::<[bool; 3]>(),
        ) {
            let mut w: isa::Word = bytes.try_into().unwrap();
            isa::OPCODE.set(&mut w, opcode);
            isa::LIVE_SIZES.set(&mut w, live);
            if reserved_clear {
                isa::RESERVED.set(&mut w, 0);
            }
            let dep_fields = [isa::DEP_DMA, isa::DEP_GEMM, isa::DEP_VEC];
            if deps_near {
                // Counts around the completions, so both outcomes are common.
                for (u, f) in dep_fields.iter().enumerate() {
                    let near = completed[u].wrapping_add(w[u] as u16 % 3).wrapping_sub(1);
                    f.set(&mut w, near as u64);
                }
            }
            let (unit, bad_opcode, bad_field, deps_met, unit_ready) = decode(&word(&w), completed, ready);
            match isa::Opcode::from_u8(opcode as u8) {
                None => prop_assert!(bad_opcode),
                Some(op) => {
                    prop_assert!(!bad_opcode);
                    prop_assert_eq!(unit, op.unit().index() as u64);
                    prop_assert_eq!(unit_ready, ready[op.unit().index()]);
                    let want = !isa::RESERVED.is_zero(&w) || !isa::live::valid(op.unit(), live as u8);
                    prop_assert_eq!(bad_field, want);
                }
            }
            let met = (0..3).all(|u| completed[u].wrapping_sub(dep_fields[u].get(&w) as u16) < 0x8000);
            prop_assert_eq!(deps_met, met);
        }
    }

    #[test]
    fn head_decode_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut HeadDecode::default(), "head_decode");
        crate::verilog::lint(&v, "head_decode").unwrap();
    }
}
