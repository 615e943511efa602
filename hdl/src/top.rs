//! The accelerator top level: AXI4-Lite control slave, AXI4 master (read and write engines),
//! controller, scratchpad, weight FIFO and GEMM engine. Port names follow Vivado's AXI
//! conventions (`aclk`, `aresetn`, `s_axi_*`, `m_axi_*`), so the IP packager infers both
//! interfaces. The top only wires; every behaviour lives in a submodule.

use crate::axi_lite::AxiLiteRegs;
use crate::axi_master::{AxiReader, AxiWriter};
use crate::controller::Controller;
use crate::gemm::GemmEngine;
use crate::scratchpad::Scratchpad;
use crate::storage::WordFifo;
use rust_hdl::prelude::*;
use spec::AccelConfig;

/// The accelerator for `W = 8R`-bit words with `BE = R` byte enables.
#[derive(LogicBlock)]
pub struct Top<const W: usize, const BE: usize> {
    /// Clock.
    pub aclk: Signal<In, Clock>,
    /// Active-low reset.
    pub aresetn: Signal<In, Bit>,
    /// AXI4-Lite write address.
    pub s_axi_awaddr: Signal<In, Bits<12>>,
    /// AXI4-Lite write address valid.
    pub s_axi_awvalid: Signal<In, Bit>,
    /// AXI4-Lite write address ready.
    pub s_axi_awready: Signal<Out, Bit>,
    /// AXI4-Lite write data.
    pub s_axi_wdata: Signal<In, Bits<32>>,
    /// AXI4-Lite write strobes.
    pub s_axi_wstrb: Signal<In, Bits<4>>,
    /// AXI4-Lite write data valid.
    pub s_axi_wvalid: Signal<In, Bit>,
    /// AXI4-Lite write data ready.
    pub s_axi_wready: Signal<Out, Bit>,
    /// AXI4-Lite write response.
    pub s_axi_bresp: Signal<Out, Bits<2>>,
    /// AXI4-Lite write response valid.
    pub s_axi_bvalid: Signal<Out, Bit>,
    /// AXI4-Lite write response ready.
    pub s_axi_bready: Signal<In, Bit>,
    /// AXI4-Lite read address.
    pub s_axi_araddr: Signal<In, Bits<12>>,
    /// AXI4-Lite read address valid.
    pub s_axi_arvalid: Signal<In, Bit>,
    /// AXI4-Lite read address ready.
    pub s_axi_arready: Signal<Out, Bit>,
    /// AXI4-Lite read data.
    pub s_axi_rdata: Signal<Out, Bits<32>>,
    /// AXI4-Lite read response.
    pub s_axi_rresp: Signal<Out, Bits<2>>,
    /// AXI4-Lite read data valid.
    pub s_axi_rvalid: Signal<Out, Bit>,
    /// AXI4-Lite read data ready.
    pub s_axi_rready: Signal<In, Bit>,
    /// AXI4 read address.
    pub m_axi_araddr: Signal<Out, Bits<40>>,
    /// AXI4 read burst length - 1.
    pub m_axi_arlen: Signal<Out, Bits<8>>,
    /// AXI4 read beat size.
    pub m_axi_arsize: Signal<Out, Bits<3>>,
    /// AXI4 read burst type.
    pub m_axi_arburst: Signal<Out, Bits<2>>,
    /// AXI4 read cache attributes.
    pub m_axi_arcache: Signal<Out, Bits<4>>,
    /// AXI4 read protection.
    pub m_axi_arprot: Signal<Out, Bits<3>>,
    /// AXI4 read address valid.
    pub m_axi_arvalid: Signal<Out, Bit>,
    /// AXI4 read address ready.
    pub m_axi_arready: Signal<In, Bit>,
    /// AXI4 read data.
    pub m_axi_rdata: Signal<In, Bits<W>>,
    /// AXI4 read response.
    pub m_axi_rresp: Signal<In, Bits<2>>,
    /// AXI4 read last beat.
    pub m_axi_rlast: Signal<In, Bit>,
    /// AXI4 read data valid.
    pub m_axi_rvalid: Signal<In, Bit>,
    /// AXI4 read data ready.
    pub m_axi_rready: Signal<Out, Bit>,
    /// AXI4 write address.
    pub m_axi_awaddr: Signal<Out, Bits<40>>,
    /// AXI4 write burst length - 1.
    pub m_axi_awlen: Signal<Out, Bits<8>>,
    /// AXI4 write beat size.
    pub m_axi_awsize: Signal<Out, Bits<3>>,
    /// AXI4 write burst type.
    pub m_axi_awburst: Signal<Out, Bits<2>>,
    /// AXI4 write cache attributes.
    pub m_axi_awcache: Signal<Out, Bits<4>>,
    /// AXI4 write protection.
    pub m_axi_awprot: Signal<Out, Bits<3>>,
    /// AXI4 write address valid.
    pub m_axi_awvalid: Signal<Out, Bit>,
    /// AXI4 write address ready.
    pub m_axi_awready: Signal<In, Bit>,
    /// AXI4 write data.
    pub m_axi_wdata: Signal<Out, Bits<W>>,
    /// AXI4 write strobes.
    pub m_axi_wstrb: Signal<Out, Bits<BE>>,
    /// AXI4 write last beat.
    pub m_axi_wlast: Signal<Out, Bit>,
    /// AXI4 write data valid.
    pub m_axi_wvalid: Signal<Out, Bit>,
    /// AXI4 write data ready.
    pub m_axi_wready: Signal<In, Bit>,
    /// AXI4 write response.
    pub m_axi_bresp: Signal<In, Bits<2>>,
    /// AXI4 write response valid.
    pub m_axi_bvalid: Signal<In, Bit>,
    /// AXI4 write response ready.
    pub m_axi_bready: Signal<Out, Bit>,
    regs: AxiLiteRegs,
    rd: AxiReader<W>,
    wr: AxiWriter<W, BE>,
    ctrl: Controller<W, BE>,
    sp: Scratchpad<W, BE>,
    fifo: WordFifo<W>,
    gemm: GemmEngine<W, BE>,
    rst: DFF<Bit>,
}

impl<const W: usize, const BE: usize> Top<W, BE> {
    /// The accelerator for `cfg` (`cfg.axi_data_bits() == W`).
    pub fn new(cfg: &AccelConfig) -> Self {
        assert_eq!(W, cfg.axi_data_bits());
        Top {
            aclk: Signal::default(),
            aresetn: Signal::default(),
            s_axi_awaddr: Signal::default(),
            s_axi_awvalid: Signal::default(),
            s_axi_awready: Signal::default(),
            s_axi_wdata: Signal::default(),
            s_axi_wstrb: Signal::default(),
            s_axi_wvalid: Signal::default(),
            s_axi_wready: Signal::default(),
            s_axi_bresp: Signal::default(),
            s_axi_bvalid: Signal::default(),
            s_axi_bready: Signal::default(),
            s_axi_araddr: Signal::default(),
            s_axi_arvalid: Signal::default(),
            s_axi_arready: Signal::default(),
            s_axi_rdata: Signal::default(),
            s_axi_rresp: Signal::default(),
            s_axi_rvalid: Signal::default(),
            s_axi_rready: Signal::default(),
            m_axi_araddr: Signal::default(),
            m_axi_arlen: Signal::default(),
            m_axi_arsize: Signal::default(),
            m_axi_arburst: Signal::default(),
            m_axi_arcache: Signal::default(),
            m_axi_arprot: Signal::default(),
            m_axi_arvalid: Signal::default(),
            m_axi_arready: Signal::default(),
            m_axi_rdata: Signal::default(),
            m_axi_rresp: Signal::default(),
            m_axi_rlast: Signal::default(),
            m_axi_rvalid: Signal::default(),
            m_axi_rready: Signal::default(),
            m_axi_awaddr: Signal::default(),
            m_axi_awlen: Signal::default(),
            m_axi_awsize: Signal::default(),
            m_axi_awburst: Signal::default(),
            m_axi_awcache: Signal::default(),
            m_axi_awprot: Signal::default(),
            m_axi_awvalid: Signal::default(),
            m_axi_awready: Signal::default(),
            m_axi_wdata: Signal::default(),
            m_axi_wstrb: Signal::default(),
            m_axi_wlast: Signal::default(),
            m_axi_wvalid: Signal::default(),
            m_axi_wready: Signal::default(),
            m_axi_bresp: Signal::default(),
            m_axi_bvalid: Signal::default(),
            m_axi_bready: Signal::default(),
            regs: AxiLiteRegs::new(cfg.hash(), spec::regmap::hw_info(cfg)),
            rd: AxiReader::new(),
            wr: AxiWriter::new(),
            ctrl: Controller::new(cfg),
            sp: Scratchpad::new(cfg.banks, cfg.bank_words),
            fifo: WordFifo::new(cfg.weight_fifo_words),
            gemm: GemmEngine::new(
                cfg.array_rows,
                cfg.array_cols,
                cfg.max_tokens.next_power_of_two(),
                cfg.weight_fifo_words,
            ),
            rst: DFF::default(),
        }
    }
}

impl<const W: usize, const BE: usize> Logic for Top<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, aclk, rst);
        self.rst.d.next = !self.aresetn.val();
        self.regs.clock.next = self.aclk.val();
        self.rd.clock.next = self.aclk.val();
        self.wr.clock.next = self.aclk.val();
        self.ctrl.clock.next = self.aclk.val();
        self.sp.clock.next = self.aclk.val();
        self.fifo.clock.next = self.aclk.val();
        self.gemm.clock.next = self.aclk.val();
        self.regs.reset.next = self.rst.q.val();
        self.rd.reset.next = self.rst.q.val();
        self.wr.reset.next = self.rst.q.val();
        self.ctrl.reset.next = self.rst.q.val();
        self.gemm.reset.next = self.rst.q.val();
        self.fifo.reset.next = self.rst.q.val() || self.ctrl.wf_reset.val();

        // AXI4-Lite slave.
        self.regs.s_axi_awaddr.next = self.s_axi_awaddr.val();
        self.regs.s_axi_awvalid.next = self.s_axi_awvalid.val();
        self.s_axi_awready.next = self.regs.s_axi_awready.val();
        self.regs.s_axi_wdata.next = self.s_axi_wdata.val();
        self.regs.s_axi_wstrb.next = self.s_axi_wstrb.val();
        self.regs.s_axi_wvalid.next = self.s_axi_wvalid.val();
        self.s_axi_wready.next = self.regs.s_axi_wready.val();
        self.s_axi_bresp.next = self.regs.s_axi_bresp.val();
        self.s_axi_bvalid.next = self.regs.s_axi_bvalid.val();
        self.regs.s_axi_bready.next = self.s_axi_bready.val();
        self.regs.s_axi_araddr.next = self.s_axi_araddr.val();
        self.regs.s_axi_arvalid.next = self.s_axi_arvalid.val();
        self.s_axi_arready.next = self.regs.s_axi_arready.val();
        self.s_axi_rdata.next = self.regs.s_axi_rdata.val();
        self.s_axi_rresp.next = self.regs.s_axi_rresp.val();
        self.s_axi_rvalid.next = self.regs.s_axi_rvalid.val();
        self.regs.s_axi_rready.next = self.s_axi_rready.val();

        // Registers <-> controller.
        self.ctrl.start.next = self.regs.start.val();
        self.ctrl.insn_base.next = self.regs.insn_base.val();
        self.ctrl.insn_count.next = self.regs.insn_count.val();
        self.regs.busy.next = self.ctrl.busy.val();
        self.regs.done.next = self.ctrl.done.val();
        self.regs.error.next = self.ctrl.error.val();
        self.regs.error_code.next = self.ctrl.error_code.val();
        self.regs.error_insn.next = self.ctrl.error_insn.val();
        self.regs.insn_done.next = self.ctrl.insn_done.val();
        self.regs.cycles.next = self.ctrl.cycles.val();
        self.regs.active.next = self.ctrl.active.val();

        // AXI4 read engine.
        self.rd.cmd_valid.next = self.ctrl.rd_cmd_valid.val();
        self.ctrl.rd_cmd_ready.next = self.rd.cmd_ready.val();
        self.rd.cmd_addr.next = self.ctrl.rd_cmd_addr.val();
        self.rd.cmd_beats.next = self.ctrl.rd_cmd_beats.val();
        self.ctrl.rd_data.next = self.rd.data.val();
        self.ctrl.rd_data_valid.next = self.rd.data_valid.val();
        self.rd.data_ready.next = self.ctrl.rd_data_ready.val();
        self.ctrl.rd_idle.next = self.rd.idle.val();
        self.ctrl.rd_error.next = self.rd.error.val();
        self.rd.clear_error.next = self.ctrl.axi_clear.val();
        self.wr.clear_error.next = self.ctrl.axi_clear.val();
        self.m_axi_araddr.next = self.rd.m_axi_araddr.val();
        self.m_axi_arlen.next = self.rd.m_axi_arlen.val();
        self.m_axi_arsize.next = self.rd.m_axi_arsize.val();
        self.m_axi_arburst.next = self.rd.m_axi_arburst.val();
        self.m_axi_arcache.next = self.rd.m_axi_arcache.val();
        self.m_axi_arprot.next = self.rd.m_axi_arprot.val();
        self.m_axi_arvalid.next = self.rd.m_axi_arvalid.val();
        self.rd.m_axi_arready.next = self.m_axi_arready.val();
        self.rd.m_axi_rdata.next = self.m_axi_rdata.val();
        self.rd.m_axi_rresp.next = self.m_axi_rresp.val();
        self.rd.m_axi_rlast.next = self.m_axi_rlast.val();
        self.rd.m_axi_rvalid.next = self.m_axi_rvalid.val();
        self.m_axi_rready.next = self.rd.m_axi_rready.val();

        // AXI4 write engine.
        self.wr.cmd_valid.next = self.ctrl.wr_cmd_valid.val();
        self.ctrl.wr_cmd_ready.next = self.wr.cmd_ready.val();
        self.wr.cmd_addr.next = self.ctrl.wr_cmd_addr.val();
        self.wr.cmd_beats.next = self.ctrl.wr_cmd_beats.val();
        self.wr.data.next = self.ctrl.wr_data.val();
        self.wr.data_valid.next = self.ctrl.wr_data_valid.val();
        self.ctrl.wr_data_ready.next = self.wr.data_ready.val();
        self.ctrl.wr_idle.next = self.wr.idle.val();
        self.ctrl.wr_error.next = self.wr.error.val();
        self.m_axi_awaddr.next = self.wr.m_axi_awaddr.val();
        self.m_axi_awlen.next = self.wr.m_axi_awlen.val();
        self.m_axi_awsize.next = self.wr.m_axi_awsize.val();
        self.m_axi_awburst.next = self.wr.m_axi_awburst.val();
        self.m_axi_awcache.next = self.wr.m_axi_awcache.val();
        self.m_axi_awprot.next = self.wr.m_axi_awprot.val();
        self.m_axi_awvalid.next = self.wr.m_axi_awvalid.val();
        self.wr.m_axi_awready.next = self.m_axi_awready.val();
        self.m_axi_wdata.next = self.wr.m_axi_wdata.val();
        self.m_axi_wstrb.next = self.wr.m_axi_wstrb.val();
        self.m_axi_wlast.next = self.wr.m_axi_wlast.val();
        self.m_axi_wvalid.next = self.wr.m_axi_wvalid.val();
        self.wr.m_axi_wready.next = self.m_axi_wready.val();
        self.wr.m_axi_bresp.next = self.m_axi_bresp.val();
        self.wr.m_axi_bvalid.next = self.m_axi_bvalid.val();
        self.m_axi_bready.next = self.wr.m_axi_bready.val();

        // Scratchpad and FIFO.
        self.sp.rd_bank.next = self.ctrl.sp_rd_bank.val();
        self.sp.rd_addr.next = self.ctrl.sp_rd_addr.val();
        self.ctrl.sp_rd_data.next = self.sp.rd_data.val();
        self.sp.wr_bank.next = self.ctrl.sp_wr_bank.val();
        self.sp.wr_addr.next = self.ctrl.sp_wr_addr.val();
        self.sp.wr_data.next = self.ctrl.sp_wr_data.val();
        self.sp.wr_be.next = self.ctrl.sp_wr_be.val();
        self.sp.wr_en.next = self.ctrl.sp_wr_en.val();
        self.fifo.din.next = self.ctrl.wf_din.val();
        self.fifo.push.next = self.ctrl.wf_push.val();
        self.ctrl.wf_count.next = self.fifo.count.val();

        // GEMM engine.
        self.gemm.start.next = self.ctrl.g_start.val();
        self.gemm.m.next = self.ctrl.g_m.val();
        self.gemm.k.next = self.ctrl.g_k.val();
        self.gemm.n.next = self.ctrl.g_n.val();
        self.gemm.a_addr.next = self.ctrl.g_a_addr.val();
        self.gemm.a_stride.next = self.ctrl.g_a_stride.val();
        self.gemm.a_unsigned.next = self.ctrl.g_a_unsigned.val();
        self.gemm.o_addr.next = self.ctrl.g_o_addr.val();
        self.gemm.o_stride.next = self.ctrl.g_o_stride.val();
        self.ctrl.g_done.next = self.gemm.done.val();
        self.ctrl.g_active.next = self.gemm.active.val();
        self.ctrl.g_a_rd_addr.next = self.gemm.a_rd_addr.val();
        self.gemm.a_rd_data.next = self.sp.rd_data.val();
        self.gemm.wf_data.next = self.fifo.dout.val();
        self.gemm.wf_count.next = self.fifo.count.val();
        self.fifo.pop.next = self.gemm.wf_pop.val();
        self.ctrl.g_o_wr_addr.next = self.gemm.o_wr_addr.val();
        self.ctrl.g_o_wr_data.next = self.gemm.o_wr_data.val();
        self.ctrl.g_o_wr_be.next = self.gemm.o_wr_be.val();
        self.ctrl.g_o_wr_en.next = self.gemm.o_wr_en.val();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn small_top_is_lint_clean() {
        let v = crate::top_verilog(&spec::AccelConfig::small()).unwrap();
        std::fs::write("/tmp/top8.v", &v).unwrap();
        crate::verilog::lint(&v, crate::TOP_MODULE).unwrap();
    }
}
