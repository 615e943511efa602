//! The vector unit's instruction decoder: the fields of a LAYERNORM, SOFTMAX, COLMEAN or SELECT
//! word (`spec::isa::VEC_*`), which op it is, and the field checks of `spec::isa::Insn::check`
//! (BAD_FIELD when one fails). Combinational.

use crate::bus::INSN_BITS;
use crate::storage::SP_ADDR_BITS;
use rust_hdl::prelude::*;
use spec::{isa, numerics};

/// The decoder for a configuration's banks, bank size and limits.
#[derive(LogicBlock)]
pub struct VecDecode {
    /// The instruction word.
    pub insn: Signal<In, Bits<INSN_BITS>>,
    /// The op is LAYERNORM.
    pub is_ln: Signal<Out, Bit>,
    /// The op is COLMEAN.
    pub is_cm: Signal<Out, Bit>,
    /// The op is SELECT.
    pub is_sel: Signal<Out, Bit>,
    /// AUX (COLMEAN: byte of the mean; SELECT: the count's byte).
    pub aux: Signal<Out, Bits<16>>,
    /// SELECT: heads.
    pub heads: Signal<Out, Bits<8>>,
    /// SELECT: prefix tokens always kept.
    pub prefix: Signal<Out, Bits<4>>,
    /// SELECT: words between the heads' probability rows.
    pub p_stride: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// SELECT: word of the head weights.
    pub w_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// SELECT: rows to gather.
    pub g_rows: Signal<Out, Bits<8>>,
    /// Rows.
    pub rows: Signal<Out, Bits<16>>,
    /// Channels.
    pub n: Signal<Out, Bits<16>>,
    /// Bank of the input (the low plane).
    pub in_lo: Signal<Out, Bits<4>>,
    /// Bank of the high plane.
    pub in_hi: Signal<Out, Bits<4>>,
    /// Word of input row 0.
    pub in_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Words between input rows.
    pub in_stride: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Bank of the output.
    pub out_bank: Signal<Out, Bits<4>>,
    /// Word of output row 0.
    pub out_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Words between output rows.
    pub out_stride: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Bank of the parameters.
    pub par_bank: Signal<Out, Bits<4>>,
    /// Word of the parameters.
    pub par_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Output multiplier.
    pub out_m: Signal<Out, Bits<16>>,
    /// Output shift.
    pub out_s: Signal<Out, Bits<8>>,
    /// A field check fails.
    pub bad: Signal<Out, Bit>,

    opcode: Signal<Local, Bits<8>>,
    unused_insn_bits: Signal<Local, Bit>,
    bad_vec: Signal<Local, Bit>,
    bad_common: Signal<Local, Bit>,
    bad_sel: Signal<Local, Bit>,
    n_banks: Constant<Bits<4>>,
    addr_max: Constant<Bits<SP_ADDR_BITS>>,
    max_rows: Constant<Bits<16>>,
    max_n: Constant<Bits<16>>,
    m_limit: Constant<Bits<16>>,
    s_limit: Constant<Bits<8>>,
    op_ln: Constant<Bits<8>>,
    op_cm: Constant<Bits<8>>,
    op_sel: Constant<Bits<8>>,
    max_heads: Constant<Bits<8>>,
    f_opcode: Constant<Bits<9>>,
    f_aux: Constant<Bits<9>>,
    f_heads: Constant<Bits<9>>,
    f_prefix: Constant<Bits<9>>,
    f_p_stride: Constant<Bits<9>>,
    f_w_addr: Constant<Bits<9>>,
    f_g_rows: Constant<Bits<9>>,
    f_rows: Constant<Bits<9>>,
    f_n: Constant<Bits<9>>,
    f_in_lo: Constant<Bits<9>>,
    f_in_hi: Constant<Bits<9>>,
    f_in_addr: Constant<Bits<9>>,
    f_in_stride: Constant<Bits<9>>,
    f_out_bank: Constant<Bits<9>>,
    f_out_addr: Constant<Bits<9>>,
    f_out_stride: Constant<Bits<9>>,
    f_par_bank: Constant<Bits<9>>,
    f_par_addr: Constant<Bits<9>>,
    f_out_m: Constant<Bits<9>>,
    f_out_s: Constant<Bits<9>>,
}

impl VecDecode {
    /// A decoder for `cfg`.
    pub fn new(cfg: &spec::AccelConfig) -> Self {
        for (fld, w) in [
            (isa::VEC_ROWS, 16),
            (isa::VEC_N, 16),
            (isa::VEC_IN_ADDR, 20),
            (isa::VEC_OUT_M, 16),
            (isa::VEC_OUT_S, 8),
            (isa::VEC_AUX, 16),
            (isa::VEC_SEL_HEADS, 8),
            (isa::VEC_SEL_PREFIX, 4),
            (isa::VEC_SEL_P_STRIDE, 20),
            (isa::VEC_SEL_W_ADDR, 20),
            (isa::VEC_SEL_G_ROWS, 8),
        ] {
            assert_eq!(fld.width, w, "spec field {} changed width: update the vector unit", fld.name);
        }
        let f = |x: isa::Field| Constant::new(Bits::<9>::from(x.lsb as u64));
        let c16 = |v: u64| Constant::new(Bits::<16>::from(v));
        let c8 = |v: u64| Constant::new(Bits::<8>::from(v));
        VecDecode {
            insn: Signal::default(),
            is_ln: Signal::default(),
            is_cm: Signal::default(),
            is_sel: Signal::default(),
            aux: Signal::default(),
            heads: Signal::default(),
            prefix: Signal::default(),
            p_stride: Signal::default(),
            w_addr: Signal::default(),
            g_rows: Signal::default(),
            rows: Signal::default(),
            n: Signal::default(),
            in_lo: Signal::default(),
            in_hi: Signal::default(),
            in_addr: Signal::default(),
            in_stride: Signal::default(),
            out_bank: Signal::default(),
            out_addr: Signal::default(),
            out_stride: Signal::default(),
            par_bank: Signal::default(),
            par_addr: Signal::default(),
            out_m: Signal::default(),
            out_s: Signal::default(),
            bad: Signal::default(),
            opcode: Signal::default(),
            unused_insn_bits: Signal::default(),
            bad_vec: Signal::default(),
            bad_common: Signal::default(),
            bad_sel: Signal::default(),
            n_banks: Constant::new(Bits::<4>::from(cfg.banks as u64 - 1)),
            addr_max: Constant::new(Bits::<SP_ADDR_BITS>::from(cfg.bank_words as u64 - 1)),
            max_rows: c16(cfg.max_tokens as u64),
            max_n: c16(cfg.max_width.min(0xffff) as u64),
            m_limit: c16(1 << numerics::MULT_FRAC_BITS),
            s_limit: c8(numerics::MAX_SHIFT as u64),
            op_ln: c8(isa::Opcode::LayerNorm as u64),
            op_cm: c8(isa::Opcode::ColMean as u64),
            op_sel: c8(isa::Opcode::Select as u64),
            max_heads: c8(cfg.max_heads as u64),
            f_opcode: f(isa::OPCODE),
            f_aux: f(isa::VEC_AUX),
            f_heads: f(isa::VEC_SEL_HEADS),
            f_prefix: f(isa::VEC_SEL_PREFIX),
            f_p_stride: f(isa::VEC_SEL_P_STRIDE),
            f_w_addr: f(isa::VEC_SEL_W_ADDR),
            f_g_rows: f(isa::VEC_SEL_G_ROWS),
            f_rows: f(isa::VEC_ROWS),
            f_n: f(isa::VEC_N),
            f_in_lo: f(isa::VEC_IN_LO_BANK),
            f_in_hi: f(isa::VEC_IN_HI_BANK),
            f_in_addr: f(isa::VEC_IN_ADDR),
            f_in_stride: f(isa::VEC_IN_STRIDE),
            f_out_bank: f(isa::VEC_OUT_BANK),
            f_out_addr: f(isa::VEC_OUT_ADDR),
            f_out_stride: f(isa::VEC_OUT_STRIDE),
            f_par_bank: f(isa::VEC_PAR_BANK),
            f_par_addr: f(isa::VEC_PAR_ADDR),
            f_out_m: f(isa::VEC_OUT_M),
            f_out_s: f(isa::VEC_OUT_S),
        }
    }
}

impl Logic for VecDecode {
    #[hdl_gen]
    fn update(&mut self) {
        // Bits no vector op reads (reduced here so that Verilator does not call them unused).
        self.unused_insn_bits.next = self.insn.val().xor();
        self.opcode.next = self.insn.val().get_bits::<8>(self.f_opcode.val().index());
        self.is_ln.next = self.opcode.val() == self.op_ln.val();
        self.is_cm.next = self.opcode.val() == self.op_cm.val();
        self.is_sel.next = self.opcode.val() == self.op_sel.val();
        self.aux.next = self.insn.val().get_bits::<16>(self.f_aux.val().index());
        self.heads.next = self.insn.val().get_bits::<8>(self.f_heads.val().index());
        self.prefix.next = self.insn.val().get_bits::<4>(self.f_prefix.val().index());
        self.p_stride.next = self.insn.val().get_bits::<SP_ADDR_BITS>(self.f_p_stride.val().index());
        self.w_addr.next = self.insn.val().get_bits::<SP_ADDR_BITS>(self.f_w_addr.val().index());
        self.g_rows.next = self.insn.val().get_bits::<8>(self.f_g_rows.val().index());
        self.rows.next = self.insn.val().get_bits::<16>(self.f_rows.val().index());
        self.n.next = self.insn.val().get_bits::<16>(self.f_n.val().index());
        self.in_lo.next = self.insn.val().get_bits::<4>(self.f_in_lo.val().index());
        self.in_hi.next = self.insn.val().get_bits::<4>(self.f_in_hi.val().index());
        self.in_addr.next = self.insn.val().get_bits::<SP_ADDR_BITS>(self.f_in_addr.val().index());
        self.in_stride.next = self.insn.val().get_bits::<SP_ADDR_BITS>(self.f_in_stride.val().index());
        self.out_bank.next = self.insn.val().get_bits::<4>(self.f_out_bank.val().index());
        self.out_addr.next = self.insn.val().get_bits::<SP_ADDR_BITS>(self.f_out_addr.val().index());
        self.out_stride.next = self.insn.val().get_bits::<SP_ADDR_BITS>(self.f_out_stride.val().index());
        self.par_bank.next = self.insn.val().get_bits::<4>(self.f_par_bank.val().index());
        self.par_addr.next = self.insn.val().get_bits::<SP_ADDR_BITS>(self.f_par_addr.val().index());
        self.out_m.next = self.insn.val().get_bits::<16>(self.f_out_m.val().index());
        self.out_s.next = self.insn.val().get_bits::<8>(self.f_out_s.val().index());
        // Field checks (the golden backend applies the same rules, `spec::isa::Insn::check`):
        // sizes, banks, addresses; LayerNorm/softmax: the read ports on distinct banks and a
        // LayerNorm output multiplier inside the numerics contract; SELECT: heads and distinct
        // residual planes.
        // Banks and addresses every vector op names (COLMEAN's parameter word is its mean's).
        self.bad_common.next = (self.in_lo.val() > self.n_banks.val())
            || (self.out_bank.val() > self.n_banks.val())
            || (self.par_bank.val() > self.n_banks.val())
            || (self.in_addr.val() > self.addr_max.val())
            || (self.in_stride.val() > self.addr_max.val())
            || (self.out_addr.val() > self.addr_max.val())
            || (self.out_stride.val() > self.addr_max.val())
            || (self.par_addr.val() > self.addr_max.val());
        self.bad_vec.next = self.bad_common.val()
            || (self.par_bank.val() == self.in_lo.val())
            || (self.in_hi.val() > self.n_banks.val())
            || (self.in_hi.val() == self.in_lo.val())
            || (self.in_hi.val() == self.par_bank.val())
            || (self.is_ln.val()
                && ((self.out_m.val() >= self.m_limit.val()) || (self.out_s.val() > self.s_limit.val())));
        self.bad_sel.next = self.bad_common.val()
            || (self.heads.val() == 0)
            || (self.heads.val() > self.max_heads.val())
            || (self.in_hi.val() > self.n_banks.val())
            || (self.p_stride.val() > self.addr_max.val())
            || (self.w_addr.val() > self.addr_max.val())
            || (self.in_hi.val() == self.in_lo.val());
        self.bad.next = (self.rows.val() == 0)
            || (self.rows.val() > self.max_rows.val())
            || (self.n.val() == 0)
            || (self.n.val() > self.max_n.val())
            || (self.is_cm.val() && self.bad_common.val())
            || (self.is_sel.val() && self.bad_sel.val())
            || (!self.is_cm.val() && !self.is_sel.val() && self.bad_vec.val());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The decoder alone generates Verilog that `verilator -Wall` accepts; its checks are
    /// tested against `spec::isa::Insn::check` through the unit (`tests/backends` error parity).
    #[test]
    fn vec_decode_verilog_is_lint_clean() {
        let cfg = spec::AccelConfig::small();
        let v = crate::verilog::generate(&mut VecDecode::new(&cfg), "vec_decode");
        crate::verilog::lint(&v, "vec_decode").unwrap();
    }
}
