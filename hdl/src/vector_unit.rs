//! The vector unit's front end: takes LAYERNORM, SOFTMAX, COLMEAN and SELECT instructions from
//! the controller (one running, one waiting in a slot), checks their fields and runs the row
//! engine ([`VecUnit`]: LayerNorm, softmax) or the token selector engine ([`SelectEngine`]:
//! COLMEAN, SELECT) on the scratchpad through two read ports and one write port. SELECT's new
//! token count leaves on `live_we`/`live_value` for the LIVE_TOKENS register.
//!
//! The row engine has `spec::AccelConfig::vec_lanes` lanes on `VW = 8 lanes`-bit words. With
//! fewer lanes than array rows it works on slices of the scratchpad's words ([`fold`]): its
//! addresses are slice addresses (the instruction's word addresses times `F = W / VW`), a read
//! returns the slice of the word read, a write enables only the slice's bytes.

use crate::arith::Slice;
use crate::bus::{SpReadClient, SpWriteClient, UnitPort, INSN_BITS};
use crate::select::{SelectEngine, OP_COLMEAN, OP_SELECT};
use crate::storage::SP_ADDR_BITS;
use crate::vec::{VecUnit, OP_LAYERNORM, OP_SOFTMAX};
pub use decode::VecDecode;
pub(crate) use fold::{placed_at, slice};
pub use fold::{SliceRead, SliceWrite, SLICE_BITS};
use rust_hdl::prelude::*;
use spec::regmap::error_code;

mod decode;
mod fold;

const V_IDLE: u64 = 0;
const V_CHECK: u64 = 1;
const V_RUN: u64 = 2;

/// The vector unit front end for `W = 8R`-bit words with `BE = R` byte enables, its row engine
/// on `VW = 8 vec_lanes`-bit slices with `VBE` byte enables.
#[derive(LogicBlock)]
pub struct VectorUnit<const W: usize, const BE: usize, const VW: usize, const VBE: usize> {
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
    engine: VecUnit<VW, VBE>,
    sel: SelectEngine<W, BE>,
    /// The slice of each read port's word, and the slice index of its last read.
    rd0_slice: SliceRead<W, VW>,
    rd1_slice: SliceRead<W, VW>,
    rd0_sel: Slice<SP_ADDR_BITS, SLICE_BITS>,
    rd1_sel: Slice<SP_ADDR_BITS, SLICE_BITS>,
    rd0_sel_r: DFF<Bits<SLICE_BITS>>,
    rd1_sel_r: DFF<Bits<SLICE_BITS>>,
    /// The engine's write, spread over the word.
    wr_slice: SliceWrite<W, BE, VW, VBE>,
    wr_sel: Slice<SP_ADDR_BITS, SLICE_BITS>,
    /// `log2 F` and `F - 1`.
    c_fold_shift: Constant<Bits<SP_ADDR_BITS>>,
    c_fold_mask: Constant<Bits<SP_ADDR_BITS>>,
    decode: VecDecode,
    pend_valid: DFF<Bit>,
    pend_insn: DFF<Bits<INSN_BITS>>,
    pend_index: DFF<Bits<32>>,
    act: DFF<Bits<INSN_BITS>>,
    act_index: DFF<Bits<32>>,
    state: DFF<Bits<2>>,
    done_r: DFF<Bit>,
    err_r: DFF<Bit>,
    st_idle: Constant<Bits<2>>,
    st_check: Constant<Bits<2>>,
    st_run: Constant<Bits<2>>,
    code_field: Constant<Bits<8>>,
    eop_ln: Constant<Bits<4>>,
    eop_sm: Constant<Bits<4>>,
    sop_cm: Constant<Bits<4>>,
    sop_sel: Constant<Bits<4>>,
}

impl<const W: usize, const BE: usize, const VW: usize, const VBE: usize> VectorUnit<W, BE, VW, VBE> {
    /// A vector unit for `cfg`.
    pub fn new(cfg: &spec::AccelConfig) -> Self {
        assert_eq!(W, cfg.axi_data_bits());
        assert_eq!(VW, 8 * cfg.vec_lanes());
        let fold = cfg.vector_fold();
        VectorUnit {
            clock: Signal::default(),
            reset: Signal::default(),
            dispatch: UnitPort::default(),
            sp_rd0: SpReadClient::default(),
            sp_rd1: SpReadClient::default(),
            sp_wr: SpWriteClient::default(),
            live_we: Signal::default(),
            live_value: Signal::default(),
            engine: VecUnit::new(cfg.vec_lanes(), fold, cfg.max_width),
            sel: SelectEngine::new(cfg),
            rd0_slice: SliceRead::default(),
            rd1_slice: SliceRead::default(),
            rd0_sel: Slice::new(0),
            rd1_sel: Slice::new(0),
            rd0_sel_r: DFF::default(),
            rd1_sel_r: DFF::default(),
            wr_slice: SliceWrite::default(),
            wr_sel: Slice::new(0),
            c_fold_shift: Constant::new((fold.trailing_zeros() as u64).into()),
            c_fold_mask: Constant::new((fold as u64 - 1).into()),
            decode: VecDecode::new(cfg),
            pend_valid: DFF::default(),
            pend_insn: DFF::default(),
            pend_index: DFF::default(),
            act: DFF::default(),
            act_index: DFF::default(),
            state: DFF::default(),
            done_r: DFF::default(),
            err_r: DFF::default(),
            st_idle: Constant::new(V_IDLE.into()),
            st_check: Constant::new(V_CHECK.into()),
            st_run: Constant::new(V_RUN.into()),
            code_field: Constant::new(Bits::<8>::from(error_code::BAD_FIELD as u64)),
            eop_ln: Constant::new(Bits::<4>::from(OP_LAYERNORM)),
            eop_sm: Constant::new(Bits::<4>::from(OP_SOFTMAX)),
            sop_cm: Constant::new(Bits::<4>::from(OP_COLMEAN)),
            sop_sel: Constant::new(Bits::<4>::from(OP_SELECT)),
        }
    }
}

impl<const W: usize, const BE: usize, const VW: usize, const VBE: usize> Logic for VectorUnit<W, BE, VW, VBE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, pend_valid, pend_insn, pend_index, act, act_index, state, done_r, err_r);
        dff_setup!(self, clock, rd0_sel_r, rd1_sel_r);
        self.engine.clock.next = self.clock.val();
        self.engine.reset.next = self.reset.val();
        self.decode.insn.next = self.act.q.val();

        // ---------------- engine ----------------
        self.engine.start.next = false;
        self.engine.op.next = self.eop_sm.val();
        if self.decode.is_ln.val() {
            self.engine.op.next = self.eop_ln.val();
        }
        self.engine.rows.next = self.decode.rows.val();
        self.engine.n.next = self.decode.n.val();
        self.engine.in_lo_bank.next = self.decode.in_lo.val();
        self.engine.in_hi_bank.next = self.decode.in_hi.val();
        // Word addresses to slice addresses.
        self.engine.in_addr.next = self.decode.in_addr.val() << self.c_fold_shift.val();
        self.engine.in_stride.next = self.decode.in_stride.val() << self.c_fold_shift.val();
        self.engine.out_bank.next = self.decode.out_bank.val();
        self.engine.out_addr.next = self.decode.out_addr.val() << self.c_fold_shift.val();
        self.engine.out_stride.next = self.decode.out_stride.val() << self.c_fold_shift.val();
        self.engine.par_bank.next = self.decode.par_bank.val();
        self.engine.par_addr.next = self.decode.par_addr.val() << self.c_fold_shift.val();
        self.engine.out_m.next = self.decode.out_m.val();
        self.engine.out_s.next = self.decode.out_s.val();
        self.sel.clock.next = self.clock.val();
        self.sel.reset.next = self.reset.val();
        self.sel.start.next = false;
        self.sel.op.next = self.sop_cm.val();
        if self.decode.is_sel.val() {
            self.sel.op.next = self.sop_sel.val();
        }
        self.sel.rows.next = self.decode.rows.val();
        self.sel.n.next = self.decode.n.val();
        self.sel.in_lo_bank.next = self.decode.in_lo.val();
        self.sel.in_hi_bank.next = self.decode.in_hi.val();
        self.sel.in_addr.next = self.decode.in_addr.val();
        self.sel.in_stride.next = self.decode.in_stride.val();
        self.sel.out_bank.next = self.decode.out_bank.val();
        self.sel.out_addr.next = self.decode.out_addr.val();
        self.sel.out_stride.next = self.decode.out_stride.val();
        self.sel.par_bank.next = self.decode.par_bank.val();
        self.sel.par_addr.next = self.decode.par_addr.val();
        self.sel.aux.next = self.decode.aux.val();
        self.sel.heads.next = self.decode.heads.val();
        self.sel.prefix.next = self.decode.prefix.val();
        self.sel.p_stride.next = self.decode.p_stride.val();
        self.sel.w_addr.next = self.decode.w_addr.val();
        self.sel.g_rows.next = self.decode.g_rows.val();

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
            if self.decode.bad.val() {
                self.err_r.d.next = true;
                self.state.d.next = self.st_idle.val();
            } else {
                if self.decode.is_cm.val() || self.decode.is_sel.val() {
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
        // The selector engine owns the ports while it runs (COLMEAN reads on port 0 only). The row
        // engine's slice addresses become a word address and a slice index.
        self.rd0_sel.din.next = self.engine.rd0_addr.val() & self.c_fold_mask.val();
        self.rd1_sel.din.next = self.engine.rd1_addr.val() & self.c_fold_mask.val();
        self.rd0_sel_r.d.next = self.rd0_sel.dout.val();
        self.rd1_sel_r.d.next = self.rd1_sel.dout.val();
        self.rd0_slice.din.next = self.sp_rd0.data.val();
        self.rd0_slice.sel.next = self.rd0_sel_r.q.val();
        self.rd1_slice.din.next = self.sp_rd1.data.val();
        self.rd1_slice.sel.next = self.rd1_sel_r.q.val();
        self.engine.rd0_data.next = self.rd0_slice.dout.val();
        self.engine.rd1_data.next = self.rd1_slice.dout.val();
        self.wr_sel.din.next = self.engine.wr_addr.val() & self.c_fold_mask.val();
        self.wr_slice.din.next = self.engine.wr_data.val();
        self.wr_slice.be.next = self.engine.wr_be.val();
        self.wr_slice.sel.next = self.wr_sel.dout.val();
        self.sel.rd0_data.next = self.sp_rd0.data.val();
        self.sel.rd1_data.next = self.sp_rd1.data.val();
        if self.sel.busy.val() {
            self.sp_rd0.en.next = true;
            self.sp_rd0.bank.next = self.sel.rd0_bank.val();
            self.sp_rd0.addr.next = self.sel.rd0_addr.val();
            self.sp_rd1.en.next = self.decode.is_sel.val();
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
            self.sp_rd0.addr.next = self.engine.rd0_addr.val() >> self.c_fold_shift.val();
            self.sp_rd1.en.next = self.engine.busy.val();
            self.sp_rd1.bank.next = self.engine.rd1_bank.val();
            self.sp_rd1.addr.next = self.engine.rd1_addr.val() >> self.c_fold_shift.val();
            self.sp_wr.en.next = self.engine.wr_en.val();
            self.sp_wr.bank.next = self.engine.wr_bank.val();
            self.sp_wr.addr.next = self.engine.wr_addr.val() >> self.c_fold_shift.val();
            self.sp_wr.data.next = self.wr_slice.dout.val();
            self.sp_wr.be.next = self.wr_slice.be_out.val();
        }
        self.live_we.next = self.sel.live_we.val();
        self.live_value.next = self.sel.live_value.val();
    }
}
