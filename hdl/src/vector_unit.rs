//! The vector unit's front end: takes LAYERNORM, SOFTMAX, COLMEAN and SELECT instructions from
//! the controller (one running, one waiting in a slot), checks their fields and runs the row
//! engine ([`VecUnit`]: LayerNorm, softmax) or the token selector engine ([`SelectEngine`]:
//! COLMEAN, SELECT) on the scratchpad through two read ports and one write port. SELECT's new
//! token count leaves on `live_we`/`live_value` for the LIVE_TOKENS register.

use crate::bus::{SpReadClient, SpWriteClient, UnitPort, INSN_BITS};
use crate::select::{SelectEngine, OP_COLMEAN, OP_SELECT};
use crate::storage::SP_ADDR_BITS;
use crate::vec::{VecUnit, OP_LAYERNORM, OP_SOFTMAX};
use rust_hdl::prelude::*;
use spec::regmap::error_code;
use spec::{isa, numerics};

const V_IDLE: u64 = 0;
const V_CHECK: u64 = 1;
const V_RUN: u64 = 2;

/// The vector unit front end for `W = 8R`-bit words with `BE = R` byte enables.
#[derive(LogicBlock)]
pub struct VectorUnit<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// Dispatch from and completion to the controller.
    pub dispatch: UnitPort,
    /// Scratchpad read port 0.
    pub sp_rd0: SpReadClient<W>,
    /// Scratchpad read port 1.
    pub sp_rd1: SpReadClient<W>,
    /// Scratchpad write port.
    pub sp_wr: SpWriteClient<W, BE>,
    /// SELECT finished: LIVE_TOKENS takes `live_value` (pulse).
    pub live_we: Signal<Out, Bit>,
    /// The live token count after a SELECT.
    pub live_value: Signal<Out, Bits<16>>,
    engine: VecUnit<W, BE>,
    sel: SelectEngine<W, BE>,
    pend_valid: DFF<Bit>,
    pend_insn: DFF<Bits<INSN_BITS>>,
    pend_index: DFF<Bits<32>>,
    act: DFF<Bits<INSN_BITS>>,
    act_index: DFF<Bits<32>>,
    state: DFF<Bits<2>>,
    done_r: DFF<Bit>,
    err_r: DFF<Bit>,
    unused_insn_bits: Signal<Local, Bit>,
    is_ln: Signal<Local, Bit>,
    is_cm: Signal<Local, Bit>,
    is_sel: Signal<Local, Bit>,
    aux: Signal<Local, Bits<16>>,
    heads: Signal<Local, Bits<8>>,
    prefix: Signal<Local, Bits<4>>,
    p_stride: Signal<Local, Bits<SP_ADDR_BITS>>,
    w_addr: Signal<Local, Bits<SP_ADDR_BITS>>,
    g_rows: Signal<Local, Bits<8>>,
    bad_vec: Signal<Local, Bit>,
    bad_common: Signal<Local, Bit>,
    bad_sel: Signal<Local, Bit>,
    rows: Signal<Local, Bits<16>>,
    n: Signal<Local, Bits<16>>,
    in_lo: Signal<Local, Bits<4>>,
    in_hi: Signal<Local, Bits<4>>,
    in_addr: Signal<Local, Bits<SP_ADDR_BITS>>,
    in_stride: Signal<Local, Bits<SP_ADDR_BITS>>,
    out_bank: Signal<Local, Bits<4>>,
    out_addr: Signal<Local, Bits<SP_ADDR_BITS>>,
    out_stride: Signal<Local, Bits<SP_ADDR_BITS>>,
    par_bank: Signal<Local, Bits<4>>,
    par_addr: Signal<Local, Bits<SP_ADDR_BITS>>,
    out_m: Signal<Local, Bits<16>>,
    out_s: Signal<Local, Bits<8>>,
    bad: Signal<Local, Bit>,
    st_idle: Constant<Bits<2>>,
    st_check: Constant<Bits<2>>,
    st_run: Constant<Bits<2>>,
    n_banks: Constant<Bits<4>>,
    addr_max: Constant<Bits<SP_ADDR_BITS>>,
    code_field: Constant<Bits<8>>,
    max_rows: Constant<Bits<16>>,
    max_n: Constant<Bits<16>>,
    m_limit: Constant<Bits<16>>,
    s_limit: Constant<Bits<8>>,
    op_ln: Constant<Bits<8>>,
    op_cm: Constant<Bits<8>>,
    op_sel: Constant<Bits<8>>,
    max_heads: Constant<Bits<8>>,
    eop_ln: Constant<Bits<4>>,
    eop_sm: Constant<Bits<4>>,
    sop_cm: Constant<Bits<4>>,
    sop_sel: Constant<Bits<4>>,
    f_aux: Constant<Bits<9>>,
    f_heads: Constant<Bits<9>>,
    f_prefix: Constant<Bits<9>>,
    f_p_stride: Constant<Bits<9>>,
    f_w_addr: Constant<Bits<9>>,
    f_g_rows: Constant<Bits<9>>,
    f_opcode: Constant<Bits<9>>,
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

impl<const W: usize, const BE: usize> VectorUnit<W, BE> {
    /// A vector unit for `cfg`.
    pub fn new(cfg: &spec::AccelConfig) -> Self {
        assert_eq!(W, cfg.axi_data_bits());
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
        VectorUnit {
            clock: Signal::default(),
            reset: Signal::default(),
            dispatch: UnitPort::default(),
            sp_rd0: SpReadClient::default(),
            sp_rd1: SpReadClient::default(),
            sp_wr: SpWriteClient::default(),
            live_we: Signal::default(),
            live_value: Signal::default(),
            engine: VecUnit::new(cfg.array_rows, cfg.max_width),
            sel: SelectEngine::new(cfg),
            pend_valid: DFF::default(),
            pend_insn: DFF::default(),
            pend_index: DFF::default(),
            act: DFF::default(),
            act_index: DFF::default(),
            state: DFF::default(),
            done_r: DFF::default(),
            err_r: DFF::default(),
            unused_insn_bits: Signal::default(),
            is_ln: Signal::default(),
            is_cm: Signal::default(),
            is_sel: Signal::default(),
            aux: Signal::default(),
            heads: Signal::default(),
            prefix: Signal::default(),
            p_stride: Signal::default(),
            w_addr: Signal::default(),
            g_rows: Signal::default(),
            bad_vec: Signal::default(),
            bad_common: Signal::default(),
            bad_sel: Signal::default(),
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
            st_idle: Constant::new(V_IDLE.into()),
            st_check: Constant::new(V_CHECK.into()),
            st_run: Constant::new(V_RUN.into()),
            n_banks: Constant::new(Bits::<4>::from(cfg.banks as u64 - 1)),
            addr_max: Constant::new(Bits::<SP_ADDR_BITS>::from(cfg.bank_words as u64 - 1)),
            code_field: Constant::new(Bits::<8>::from(error_code::BAD_FIELD as u64)),
            max_rows: c16(cfg.max_tokens as u64),
            max_n: c16(cfg.max_width.min(0xffff) as u64),
            m_limit: c16(1 << numerics::MULT_FRAC_BITS),
            s_limit: Constant::new(Bits::<8>::from(numerics::MAX_SHIFT as u64)),
            op_ln: Constant::new(Bits::<8>::from(isa::Opcode::LayerNorm as u64)),
            op_cm: Constant::new(Bits::<8>::from(isa::Opcode::ColMean as u64)),
            op_sel: Constant::new(Bits::<8>::from(isa::Opcode::Select as u64)),
            max_heads: Constant::new(Bits::<8>::from(cfg.max_heads as u64)),
            eop_ln: Constant::new(Bits::<4>::from(OP_LAYERNORM)),
            eop_sm: Constant::new(Bits::<4>::from(OP_SOFTMAX)),
            sop_cm: Constant::new(Bits::<4>::from(OP_COLMEAN)),
            sop_sel: Constant::new(Bits::<4>::from(OP_SELECT)),
            f_aux: f(isa::VEC_AUX),
            f_heads: f(isa::VEC_SEL_HEADS),
            f_prefix: f(isa::VEC_SEL_PREFIX),
            f_p_stride: f(isa::VEC_SEL_P_STRIDE),
            f_w_addr: f(isa::VEC_SEL_W_ADDR),
            f_g_rows: f(isa::VEC_SEL_G_ROWS),
            f_opcode: f(isa::OPCODE),
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

impl<const W: usize, const BE: usize> Logic for VectorUnit<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, pend_valid, pend_insn, pend_index, act, act_index, state, done_r, err_r);
        self.engine.clock.next = self.clock.val();
        self.engine.reset.next = self.reset.val();
        self.unused_insn_bits.next = self.act.q.val().xor();

        // ---------------- decode ----------------
        self.is_ln.next = self.act.q.val().get_bits::<8>(self.f_opcode.val().index()) == self.op_ln.val();
        self.is_cm.next = self.act.q.val().get_bits::<8>(self.f_opcode.val().index()) == self.op_cm.val();
        self.is_sel.next = self.act.q.val().get_bits::<8>(self.f_opcode.val().index()) == self.op_sel.val();
        self.aux.next = self.act.q.val().get_bits::<16>(self.f_aux.val().index());
        self.heads.next = self.act.q.val().get_bits::<8>(self.f_heads.val().index());
        self.prefix.next = self.act.q.val().get_bits::<4>(self.f_prefix.val().index());
        self.p_stride.next = self.act.q.val().get_bits::<SP_ADDR_BITS>(self.f_p_stride.val().index());
        self.w_addr.next = self.act.q.val().get_bits::<SP_ADDR_BITS>(self.f_w_addr.val().index());
        self.g_rows.next = self.act.q.val().get_bits::<8>(self.f_g_rows.val().index());
        self.rows.next = self.act.q.val().get_bits::<16>(self.f_rows.val().index());
        self.n.next = self.act.q.val().get_bits::<16>(self.f_n.val().index());
        self.in_lo.next = self.act.q.val().get_bits::<4>(self.f_in_lo.val().index());
        self.in_hi.next = self.act.q.val().get_bits::<4>(self.f_in_hi.val().index());
        self.in_addr.next = self.act.q.val().get_bits::<SP_ADDR_BITS>(self.f_in_addr.val().index());
        self.in_stride.next = self.act.q.val().get_bits::<SP_ADDR_BITS>(self.f_in_stride.val().index());
        self.out_bank.next = self.act.q.val().get_bits::<4>(self.f_out_bank.val().index());
        self.out_addr.next = self.act.q.val().get_bits::<SP_ADDR_BITS>(self.f_out_addr.val().index());
        self.out_stride.next = self.act.q.val().get_bits::<SP_ADDR_BITS>(self.f_out_stride.val().index());
        self.par_bank.next = self.act.q.val().get_bits::<4>(self.f_par_bank.val().index());
        self.par_addr.next = self.act.q.val().get_bits::<SP_ADDR_BITS>(self.f_par_addr.val().index());
        self.out_m.next = self.act.q.val().get_bits::<16>(self.f_out_m.val().index());
        self.out_s.next = self.act.q.val().get_bits::<8>(self.f_out_s.val().index());
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

        // ---------------- engine ----------------
        self.engine.start.next = false;
        self.engine.op.next = self.eop_sm.val();
        if self.is_ln.val() {
            self.engine.op.next = self.eop_ln.val();
        }
        self.engine.rows.next = self.rows.val();
        self.engine.n.next = self.n.val();
        self.engine.in_lo_bank.next = self.in_lo.val();
        self.engine.in_hi_bank.next = self.in_hi.val();
        self.engine.in_addr.next = self.in_addr.val();
        self.engine.in_stride.next = self.in_stride.val();
        self.engine.out_bank.next = self.out_bank.val();
        self.engine.out_addr.next = self.out_addr.val();
        self.engine.out_stride.next = self.out_stride.val();
        self.engine.par_bank.next = self.par_bank.val();
        self.engine.par_addr.next = self.par_addr.val();
        self.engine.out_m.next = self.out_m.val();
        self.engine.out_s.next = self.out_s.val();
        self.sel.clock.next = self.clock.val();
        self.sel.reset.next = self.reset.val();
        self.sel.start.next = false;
        self.sel.op.next = self.sop_cm.val();
        if self.is_sel.val() {
            self.sel.op.next = self.sop_sel.val();
        }
        self.sel.rows.next = self.rows.val();
        self.sel.n.next = self.n.val();
        self.sel.in_lo_bank.next = self.in_lo.val();
        self.sel.in_hi_bank.next = self.in_hi.val();
        self.sel.in_addr.next = self.in_addr.val();
        self.sel.in_stride.next = self.in_stride.val();
        self.sel.out_bank.next = self.out_bank.val();
        self.sel.out_addr.next = self.out_addr.val();
        self.sel.out_stride.next = self.out_stride.val();
        self.sel.par_bank.next = self.par_bank.val();
        self.sel.par_addr.next = self.par_addr.val();
        self.sel.aux.next = self.aux.val();
        self.sel.heads.next = self.heads.val();
        self.sel.prefix.next = self.prefix.val();
        self.sel.p_stride.next = self.p_stride.val();
        self.sel.w_addr.next = self.w_addr.val();
        self.sel.g_rows.next = self.g_rows.val();

        // ---------------- slot and state machine ----------------
        self.done_r.d.next = false;
        self.err_r.d.next = false;
        if self.dispatch.valid.val() {
            self.pend_valid.d.next = true;
            self.pend_insn.d.next = self.dispatch.insn.val();
            self.pend_index.d.next = self.dispatch.index.val();
        }
        if self.state.q.val() == self.st_idle.val() {
            if self.pend_valid.q.val() {
                self.act.d.next = self.pend_insn.q.val();
                self.act_index.d.next = self.pend_index.q.val();
                self.pend_valid.d.next = self.dispatch.valid.val();
                self.state.d.next = self.st_check.val();
            }
        } else if self.state.q.val() == self.st_check.val() {
            if self.bad.val() {
                self.err_r.d.next = true;
                self.state.d.next = self.st_idle.val();
            } else {
                if self.is_cm.val() || self.is_sel.val() {
                    self.sel.start.next = true;
                } else {
                    self.engine.start.next = true;
                }
                self.state.d.next = self.st_run.val();
            }
        } else if self.state.q.val() == self.st_run.val() {
            if self.engine.done.val() || self.sel.done.val() {
                self.done_r.d.next = true;
                self.state.d.next = self.st_idle.val();
            }
        }
        if self.reset.val() {
            self.state.d.next = self.st_idle.val();
            self.pend_valid.d.next = false;
        }
        self.dispatch.ready.next = !self.pend_valid.q.val();
        self.dispatch.idle.next = !self.pend_valid.q.val() && (self.state.q.val() == self.st_idle.val());
        self.dispatch.done.next = self.done_r.q.val();
        self.dispatch.error.next = self.err_r.q.val();
        self.dispatch.error_code.next = self.code_field.val();
        self.dispatch.error_index.next = self.act_index.q.val();

        // ---------------- scratchpad ports ----------------
        // The selector engine owns the ports while it runs (COLMEAN reads on port 0 only).
        self.engine.rd0_data.next = self.sp_rd0.data.val();
        self.engine.rd1_data.next = self.sp_rd1.data.val();
        self.sel.rd0_data.next = self.sp_rd0.data.val();
        self.sel.rd1_data.next = self.sp_rd1.data.val();
        if self.sel.busy.val() {
            self.sp_rd0.en.next = true;
            self.sp_rd0.bank.next = self.sel.rd0_bank.val();
            self.sp_rd0.addr.next = self.sel.rd0_addr.val();
            self.sp_rd1.en.next = self.is_sel.val();
            self.sp_rd1.bank.next = self.sel.rd1_bank.val();
            self.sp_rd1.addr.next = self.sel.rd1_addr.val();
            self.sp_wr.en.next = self.sel.wr_en.val();
            self.sp_wr.bank.next = self.sel.wr_bank.val();
            self.sp_wr.addr.next = self.sel.wr_addr.val();
            self.sp_wr.data.next = self.sel.wr_data.val();
            self.sp_wr.be.next = self.sel.wr_be.val();
        } else {
            self.sp_rd0.en.next = self.engine.busy.val();
            self.sp_rd0.bank.next = self.engine.rd0_bank.val();
            self.sp_rd0.addr.next = self.engine.rd0_addr.val();
            self.sp_rd1.en.next = self.engine.busy.val();
            self.sp_rd1.bank.next = self.engine.rd1_bank.val();
            self.sp_rd1.addr.next = self.engine.rd1_addr.val();
            self.sp_wr.en.next = self.engine.wr_en.val();
            self.sp_wr.bank.next = self.engine.wr_bank.val();
            self.sp_wr.addr.next = self.engine.wr_addr.val();
            self.sp_wr.data.next = self.engine.wr_data.val();
            self.sp_wr.be.next = self.engine.wr_be.val();
        }
        self.live_we.next = self.sel.live_we.val();
        self.live_value.next = self.sel.live_value.val();
    }
}
