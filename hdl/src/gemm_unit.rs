//! The GEMM unit: takes GEMM instructions from the controller (one running, one waiting in a
//! slot), checks their fields ([`decode`]), streams the weight stream from DRAM into the weight
//! FIFO in chunks that always fit ([`fetch`]: its read data never stalls the shared read
//! channel), and runs the [`GemmEngine`]. Its scratchpad ports (A, B, X, output) go to the bank
//! crossbar.

use crate::bus::{ReadClient, SpReadClient, SpWriteClient, UnitPort, INSN_BITS};
use crate::gemm::GemmEngine;
use crate::mul::Mul;
use decode::GemmDecode;
use fetch::WeightFetch;
use rust_hdl::prelude::*;
use spec::isa;
use spec::regmap::error_code;

pub mod decode;
pub mod fetch;

const U_IDLE: u64 = 0;
const U_CHECK: u64 = 1;
const U_RUN: u64 = 2;
const U_PREP: u64 = 3;

/// The GEMM unit for `W = 8R`-bit words with `BE = R` byte enables.
#[derive(LogicBlock)]
pub struct GemmUnit<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// Dispatch from and completion to the controller.
    pub dispatch: UnitPort,
    /// Reads the weight stream from DRAM.
    pub rd: ReadClient<W>,
    /// Reads operand A.
    pub sp_a: SpReadClient<W>,
    /// Reads operand B or the row scales.
    pub sp_b: SpReadClient<W>,
    /// Reads the residual's low plane.
    pub sp_x_lo: SpReadClient<W>,
    /// Reads the residual's high plane (same addresses as the low plane).
    pub sp_x_hi: SpReadClient<W>,
    /// Writes the output (int8, or the residual's low plane).
    pub sp_out_lo: SpWriteClient<W, BE>,
    /// Writes the residual output's high plane (same addresses and enables as the low plane).
    pub sp_out_hi: SpWriteClient<W, BE>,
    /// A row entered the array this cycle.
    pub active: Signal<Out, Bit>,
    engine: GemmEngine<W, BE>,
    fetch: WeightFetch<W>,
    words_mul: Mul<16, 16, 32>,
    pend_valid: DFF<Bit>,
    pend_insn: DFF<Bits<INSN_BITS>>,
    pend_index: DFF<Bits<32>>,
    act: DFF<Bits<INSN_BITS>>,
    act_index: DFF<Bits<32>>,
    state: DFF<Bits<2>>,
    engine_done: DFF<Bit>,
    done_r: DFF<Bit>,
    err_r: DFF<Bit>,
    mul_nt: DFF<Bits<16>>,
    mul_per: DFF<Bits<16>>,
    decode: GemmDecode,
    total_words: Signal<Local, Bits<32>>,
    st_idle: Constant<Bits<2>>,
    st_check: Constant<Bits<2>>,
    st_run: Constant<Bits<2>>,
    st_prep: Constant<Bits<2>>,
    code_field: Constant<Bits<8>>,
    lut_words: Constant<Bits<32>>,
}

impl<const W: usize, const BE: usize> GemmUnit<W, BE> {
    /// A GEMM unit for `cfg`.
    pub fn new(cfg: &spec::AccelConfig) -> Self {
        assert_eq!(W, cfg.axi_data_bits());
        let (rows, cols) = (cfg.array_rows, cfg.array_cols);
        GemmUnit {
            clock: Signal::default(),
            reset: Signal::default(),
            dispatch: UnitPort::default(),
            rd: ReadClient::default(),
            sp_a: SpReadClient::default(),
            sp_b: SpReadClient::default(),
            sp_x_lo: SpReadClient::default(),
            sp_x_hi: SpReadClient::default(),
            sp_out_lo: SpWriteClient::default(),
            sp_out_hi: SpWriteClient::default(),
            active: Signal::default(),
            engine: GemmEngine::new(
                rows,
                cols,
                cfg.max_tokens.next_power_of_two(),
                cfg.weight_fifo_words,
                cfg.dsp_packing,
            ),
            fetch: WeightFetch::new(cfg.weight_fifo_words),
            words_mul: Mul::new(false, false),
            pend_valid: DFF::default(),
            pend_insn: DFF::default(),
            pend_index: DFF::default(),
            act: DFF::default(),
            act_index: DFF::default(),
            state: DFF::default(),
            engine_done: DFF::default(),
            done_r: DFF::default(),
            err_r: DFF::default(),
            mul_nt: DFF::default(),
            mul_per: DFF::default(),
            decode: GemmDecode::new(cfg),
            total_words: Signal::default(),
            st_idle: Constant::new(U_IDLE.into()),
            st_check: Constant::new(U_CHECK.into()),
            st_run: Constant::new(U_RUN.into()),
            st_prep: Constant::new(U_PREP.into()),
            code_field: Constant::new(Bits::<8>::from(error_code::BAD_FIELD as u64)),
            lut_words: Constant::new(Bits::<32>::from((isa::LUT_BYTES / rows) as u64)),
        }
    }
}

impl<const W: usize, const BE: usize> Logic for GemmUnit<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            pend_valid,
            pend_insn,
            pend_index,
            act,
            act_index,
            state,
            engine_done,
            done_r,
            err_r,
            mul_nt,
            mul_per
        );
        self.engine.clock.next = self.clock.val();
        self.engine.reset.next = self.reset.val();
        self.fetch.clock.next = self.clock.val();
        self.fetch.reset.next = self.reset.val();
        // ---------------- the active instruction's operands ----------------
        self.decode.insn.next = self.act.q.val();
        // The multiplier is fed straight from registers (join: separate Verilog statements), so
        // Verilator sees no loop through this block.
        Signal::<In, Bits<16>>::join(&mut self.words_mul.a, &mut self.mul_nt.q);
        Signal::<In, Bits<16>>::join(&mut self.words_mul.b, &mut self.mul_per.q);
        // Words of the weight stream: the LUT, then per n-tile a header and (DRAM B) the tiles.
        self.total_words.next = self.words_mul.p.val();
        if self.decode.with_lut.val() {
            self.total_words.next = self.words_mul.p.val() + self.lut_words.val();
        }
        self.engine.start.next = false;
        self.engine.m.next = self.decode.m.val();
        self.engine.k.next = self.decode.k.val();
        self.engine.n.next = self.decode.n.val();
        self.engine.a_addr.next = self.decode.a_addr.val();
        self.engine.a_stride.next = self.decode.a_stride.val();
        self.engine.a_unsigned.next = self.decode.a_unsigned.val();
        self.engine.b_mode.next = self.decode.b_mode.val();
        self.engine.b_addr.next = self.decode.b_addr.val();
        self.engine.b_stride.next = self.decode.b_stride.val();
        self.engine.b_group.next = self.decode.b_group.val();
        self.engine.rs_en.next = self.decode.row_scale.val();
        self.engine.rs_addr.next = self.decode.rs_addr.val();
        self.engine.o_addr.next = self.decode.o_addr.val();
        self.engine.o_stride.next = self.decode.o_stride.val();
        self.engine.o_group.next = self.decode.o_group.val();
        self.engine.o_mode.next = self.decode.o_mode.val();

        // ---------------- weight stream: DRAM -> FIFO -> engine ----------------
        ReadClient::<W>::link(&mut self.rd, &mut self.fetch.rd);
        self.fetch.run.next = self.state.q.val() == self.st_run.val();
        self.fetch.start.next = false;
        self.fetch.words.next = self.total_words.val();
        self.fetch.addr.next = self.decode.w_addr.val();
        self.engine.wf_data.next = self.fetch.wf_data.val();
        self.engine.wf_count.next = self.fetch.wf_count.val();
        self.fetch.wf_pop.next = self.engine.wf_pop.val();

        // ---------------- slot and state machine ----------------
        self.done_r.d.next = false;
        self.err_r.d.next = false;
        if self.dispatch.valid.val() {
            self.pend_valid.d.next = true;
            self.pend_insn.d.next = self.dispatch.insn.val();
            self.pend_index.d.next = self.dispatch.index.val();
        }
        if self.engine.done.val() {
            self.engine_done.d.next = true;
        }
        if self.state.q.val() == self.st_idle.val() {
            if self.pend_valid.q.val() {
                self.act.d.next = self.pend_insn.q.val();
                self.act_index.d.next = self.pend_index.q.val();
                self.pend_valid.d.next = self.dispatch.valid.val();
                self.state.d.next = self.st_check.val();
            }
        } else if self.state.q.val() == self.st_check.val() {
            self.mul_nt.d.next = self.decode.n_tiles.val();
            self.mul_per.d.next = self.decode.words_per_n_tile.val();
            self.engine_done.d.next = false;
            if self.decode.bad.val() {
                self.err_r.d.next = true;
                self.state.d.next = self.st_idle.val();
            } else {
                self.state.d.next = self.st_prep.val();
            }
        } else if self.state.q.val() == self.st_prep.val() {
            self.fetch.start.next = true;
            self.engine.start.next = true;
            self.state.d.next = self.st_run.val();
        } else if self.state.q.val() == self.st_run.val() {
            if self.engine_done.q.val() && self.fetch.idle.val() {
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
        self.active.next = self.engine.active.val();
        self.sp_a.en.next = self.engine.a_rd_en.val();
        self.sp_a.bank.next = self.decode.a_bank.val();
        self.sp_a.addr.next = self.engine.a_rd_addr.val();
        self.engine.a_rd_data.next = self.sp_a.data.val();
        self.sp_b.en.next = self.engine.b_rd_en.val();
        self.sp_b.bank.next = self.decode.b_bank.val();
        if self.decode.row_scale.val() {
            self.sp_b.bank.next = self.decode.rs_bank.val();
        }
        self.sp_b.addr.next = self.engine.b_rd_addr.val();
        self.engine.b_rd_data.next = self.sp_b.data.val();
        self.sp_x_lo.en.next = self.engine.x_rd_en.val();
        self.sp_x_hi.en.next = self.engine.x_rd_en.val();
        self.sp_x_lo.bank.next = self.decode.o_bank.val();
        self.sp_x_hi.bank.next = self.decode.o_hi_bank.val();
        self.sp_x_lo.addr.next = self.engine.x_rd_addr.val();
        self.sp_x_hi.addr.next = self.engine.x_rd_addr.val();
        self.engine.x_lo_data.next = self.sp_x_lo.data.val();
        self.engine.x_hi_data.next = self.sp_x_hi.data.val();
        self.sp_out_lo.en.next = self.engine.out.lo_en.val();
        self.sp_out_hi.en.next = self.engine.out.hi_en.val();
        self.sp_out_lo.bank.next = self.decode.o_bank.val();
        self.sp_out_hi.bank.next = self.decode.o_hi_bank.val();
        self.sp_out_lo.addr.next = self.engine.out.addr.val();
        self.sp_out_hi.addr.next = self.engine.out.addr.val();
        self.sp_out_lo.data.next = self.engine.out.lo_data.val();
        self.sp_out_hi.data.next = self.engine.out.hi_data.val();
        self.sp_out_lo.be.next = self.engine.out.be.val();
        self.sp_out_hi.be.next = self.engine.out.be.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_unit_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut GemmUnit::<64, 8>::new(&spec::AccelConfig::small()), "gemm_unit");
        crate::verilog::lint(&v, "gemm_unit").unwrap();
    }
}
