//! The accelerator top level: AXI4-Lite control slave, AXI4 master (read and write engines,
//! the read engine shared through an arbiter), controller, the three execution units (DMA,
//! GEMM, vector) and the banked scratchpad with its crossbar. Port names follow Vivado's AXI
//! conventions (`aclk`, `aresetn`, `s_axi_*`, `m_axi_*`), so the IP packager infers both
//! interfaces. The top only wires; every behaviour lives in a submodule.

use crate::axi_lite::AxiLiteRegs;
use crate::axi_master::{AxiReader, AxiWriter};
use crate::controller::Controller;
use crate::dma::DmaUnit;
use crate::gemm_unit::GemmUnit;
use crate::rdarb::ReadArbiter;
use crate::scratchpad::{read_client as rc, write_client as wc, Scratchpad};
use crate::vector_unit::VectorUnit;
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
    arb: ReadArbiter,
    ctrl: Controller<W>,
    dma: DmaUnit<W, BE>,
    gemm: GemmUnit<W, BE>,
    vecu: VectorUnit<W, BE>,
    sp: Scratchpad<W, BE>,
    rst: DFF<Bit>,
    /// The GEMM unit tracks its own reads; the read engine's idle flag is not needed.
    unused_rd_idle: Signal<Local, Bit>,
}

impl<const W: usize, const BE: usize> Top<W, BE> {
    /// The accelerator for `cfg` (`cfg.axi_data_bits() == W`).
    pub fn new(cfg: &AccelConfig) -> Self {
        assert_eq!(W, cfg.axi_data_bits());
        assert_eq!(
            [rc::DMA, rc::GEMM_A, rc::GEMM_B, rc::GEMM_XLO, rc::GEMM_XHI, rc::VEC0, rc::VEC1, rc::COUNT],
            [0, 1, 2, 3, 4, 5, 6, 7]
        );
        assert_eq!([wc::DMA, wc::GEMM_LO, wc::GEMM_HI, wc::VEC, wc::COUNT], [0, 1, 2, 3, 4]);
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
            arb: ReadArbiter::default(),
            ctrl: Controller::new(),
            dma: DmaUnit::new(cfg),
            gemm: GemmUnit::new(cfg),
            vecu: VectorUnit::new(cfg),
            sp: Scratchpad::new(cfg.banks, cfg.bank_words),
            rst: DFF::default(),
            unused_rd_idle: Signal::default(),
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
        self.arb.clock.next = self.aclk.val();
        self.ctrl.clock.next = self.aclk.val();
        self.dma.clock.next = self.aclk.val();
        self.gemm.clock.next = self.aclk.val();
        self.vecu.clock.next = self.aclk.val();
        self.sp.clock.next = self.aclk.val();
        self.regs.reset.next = self.rst.q.val();
        self.rd.reset.next = self.rst.q.val();
        self.wr.reset.next = self.rst.q.val();
        self.arb.reset.next = self.rst.q.val();
        self.ctrl.reset.next = self.rst.q.val();
        self.dma.reset.next = self.rst.q.val();
        self.gemm.reset.next = self.rst.q.val();
        self.vecu.reset.next = self.rst.q.val();

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
        self.ctrl.live_tokens.next = self.regs.live_tokens.val();
        self.regs.live_we.next = self.vecu.live_we.val();
        self.regs.live_in.next = self.vecu.live_value.val();
        self.regs.busy.next = self.ctrl.busy.val();
        self.regs.done.next = self.ctrl.done.val();
        self.regs.error.next = self.ctrl.error.val();
        self.regs.error_code.next = self.ctrl.error_code.val();
        self.regs.error_insn.next = self.ctrl.error_insn.val();
        self.regs.insn_done.next = self.ctrl.insn_done.val();
        self.regs.cycles.next = self.ctrl.cycles.val();
        self.regs.active.next = self.ctrl.active.val();
        for u in 0..3 {
            self.regs.unit_busy[u].next = self.ctrl.unit_busy_cycles[u].val();
        }
        self.ctrl.gemm_active.next = self.gemm.active.val();
        self.ctrl.rd_error.next = self.rd.error.val();
        self.ctrl.wr_error.next = self.wr.error.val();
        self.ctrl.bank_conflict.next = self.sp.conflict.val();
        self.rd.clear_error.next = self.ctrl.axi_clear.val();
        self.unused_rd_idle.next = self.rd.idle.val();
        self.wr.clear_error.next = self.ctrl.axi_clear.val();

        // Dispatch: the controller's instruction bus goes to every unit; u_valid picks one.
        self.dma.insn.next = self.ctrl.u_insn.val();
        self.gemm.insn.next = self.ctrl.u_insn.val();
        self.vecu.insn.next = self.ctrl.u_insn.val();
        self.dma.index.next = self.ctrl.u_index.val();
        self.gemm.index.next = self.ctrl.u_index.val();
        self.vecu.index.next = self.ctrl.u_index.val();
        self.dma.valid.next = self.ctrl.u_valid[0].val();
        self.gemm.valid.next = self.ctrl.u_valid[1].val();
        self.vecu.valid.next = self.ctrl.u_valid[2].val();
        self.ctrl.u_ready[0].next = self.dma.ready.val();
        self.ctrl.u_ready[1].next = self.gemm.ready.val();
        self.ctrl.u_ready[2].next = self.vecu.ready.val();
        self.ctrl.u_idle[0].next = self.dma.idle.val();
        self.ctrl.u_idle[1].next = self.gemm.idle.val();
        self.ctrl.u_idle[2].next = self.vecu.idle.val();
        self.ctrl.u_done[0].next = self.dma.done.val();
        self.ctrl.u_done[1].next = self.gemm.done.val();
        self.ctrl.u_done[2].next = self.vecu.done.val();
        self.ctrl.u_error[0].next = self.dma.error.val();
        self.ctrl.u_error[1].next = self.gemm.error.val();
        self.ctrl.u_error[2].next = self.vecu.error.val();
        self.ctrl.u_error_code[0].next = self.dma.error_code.val();
        self.ctrl.u_error_code[1].next = self.gemm.error_code.val();
        self.ctrl.u_error_code[2].next = self.vecu.error_code.val();
        self.ctrl.u_error_index[0].next = self.dma.error_index.val();
        self.ctrl.u_error_index[1].next = self.gemm.error_index.val();
        self.ctrl.u_error_index[2].next = self.vecu.error_index.val();

        // Read arbiter: client 0 fetch, 1 DMA, 2 GEMM weight stream. Its grant is combinational
        // in the requests, so these wires are separate Verilog statements (join), which keeps
        // Verilator from seeing a loop through this block.
        Signal::<In, Bit>::join(&mut self.arb.c_cmd_valid[0], &mut self.ctrl.rd_cmd_valid);
        Signal::<In, Bits<40>>::join(&mut self.arb.c_cmd_addr[0], &mut self.ctrl.rd_cmd_addr);
        Signal::<In, Bits<32>>::join(&mut self.arb.c_cmd_beats[0], &mut self.ctrl.rd_cmd_beats);
        Signal::<In, Bit>::join(&mut self.ctrl.rd_cmd_ready, &mut self.arb.c_cmd_ready[0]);
        Signal::<In, Bit>::join(&mut self.arb.c_cmd_valid[1], &mut self.dma.rd_cmd_valid);
        Signal::<In, Bits<40>>::join(&mut self.arb.c_cmd_addr[1], &mut self.dma.rd_cmd_addr);
        Signal::<In, Bits<32>>::join(&mut self.arb.c_cmd_beats[1], &mut self.dma.rd_cmd_beats);
        Signal::<In, Bit>::join(&mut self.dma.rd_cmd_ready, &mut self.arb.c_cmd_ready[1]);
        Signal::<In, Bit>::join(&mut self.arb.c_cmd_valid[2], &mut self.gemm.rd_cmd_valid);
        Signal::<In, Bits<40>>::join(&mut self.arb.c_cmd_addr[2], &mut self.gemm.rd_cmd_addr);
        Signal::<In, Bits<32>>::join(&mut self.arb.c_cmd_beats[2], &mut self.gemm.rd_cmd_beats);
        Signal::<In, Bit>::join(&mut self.gemm.rd_cmd_ready, &mut self.arb.c_cmd_ready[2]);
        self.ctrl.rd_data.next = self.rd.data.val();
        self.dma.rd_data.next = self.rd.data.val();
        self.gemm.rd_data.next = self.rd.data.val();
        Signal::<In, Bit>::join(&mut self.ctrl.rd_data_valid, &mut self.arb.c_data_valid[0]);
        Signal::<In, Bit>::join(&mut self.dma.rd_data_valid, &mut self.arb.c_data_valid[1]);
        Signal::<In, Bit>::join(&mut self.gemm.rd_data_valid, &mut self.arb.c_data_valid[2]);
        Signal::<In, Bit>::join(&mut self.arb.c_data_ready[0], &mut self.ctrl.rd_data_ready);
        Signal::<In, Bit>::join(&mut self.arb.c_data_ready[1], &mut self.dma.rd_data_ready);
        Signal::<In, Bit>::join(&mut self.arb.c_data_ready[2], &mut self.gemm.rd_data_ready);
        Signal::<In, Bit>::join(&mut self.rd.cmd_valid, &mut self.arb.cmd_valid);
        Signal::<In, Bit>::join(&mut self.arb.cmd_ready, &mut self.rd.cmd_ready);
        Signal::<In, Bits<40>>::join(&mut self.rd.cmd_addr, &mut self.arb.cmd_addr);
        Signal::<In, Bits<32>>::join(&mut self.rd.cmd_beats, &mut self.arb.cmd_beats);
        Signal::<In, Bit>::join(&mut self.arb.data_valid, &mut self.rd.data_valid);
        Signal::<In, Bit>::join(&mut self.rd.data_ready, &mut self.arb.data_ready);
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

        // AXI4 write engine (DMA STORE only).
        self.wr.cmd_valid.next = self.dma.wr_cmd_valid.val();
        self.dma.wr_cmd_ready.next = self.wr.cmd_ready.val();
        self.wr.cmd_addr.next = self.dma.wr_cmd_addr.val();
        self.wr.cmd_beats.next = self.dma.wr_cmd_beats.val();
        self.wr.data.next = self.dma.wr_data.val();
        self.wr.data_valid.next = self.dma.wr_data_valid.val();
        self.dma.wr_data_ready.next = self.wr.data_ready.val();
        self.dma.wr_idle.next = self.wr.idle.val();
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

        // Scratchpad crossbar (client numbers of `scratchpad::read_client`/`write_client`; the
        // HDL macro needs literal indices, `new` checks they agree).
        self.sp.rd_en[0].next = self.dma.sp_rd_en.val();
        self.sp.rd_bank[0].next = self.dma.sp_rd_bank.val();
        self.sp.rd_addr[0].next = self.dma.sp_rd_addr.val();
        self.dma.sp_rd_data.next = self.sp.rd_data[0].val();
        self.sp.rd_en[1].next = self.gemm.a_en.val();
        self.sp.rd_bank[1].next = self.gemm.a_bank.val();
        self.sp.rd_addr[1].next = self.gemm.a_addr.val();
        self.gemm.a_data.next = self.sp.rd_data[1].val();
        self.sp.rd_en[2].next = self.gemm.b_en.val();
        self.sp.rd_bank[2].next = self.gemm.b_bank.val();
        self.sp.rd_addr[2].next = self.gemm.b_addr.val();
        self.gemm.b_data.next = self.sp.rd_data[2].val();
        self.sp.rd_en[3].next = self.gemm.x_en.val();
        self.sp.rd_bank[3].next = self.gemm.x_lo_bank.val();
        self.sp.rd_addr[3].next = self.gemm.x_addr.val();
        self.gemm.x_lo_data.next = self.sp.rd_data[3].val();
        self.sp.rd_en[4].next = self.gemm.x_en.val();
        self.sp.rd_bank[4].next = self.gemm.x_hi_bank.val();
        self.sp.rd_addr[4].next = self.gemm.x_addr.val();
        self.gemm.x_hi_data.next = self.sp.rd_data[4].val();
        self.sp.rd_en[5].next = self.vecu.rd0_en.val();
        self.sp.rd_bank[5].next = self.vecu.rd0_bank.val();
        self.sp.rd_addr[5].next = self.vecu.rd0_addr.val();
        self.vecu.rd0_data.next = self.sp.rd_data[5].val();
        self.sp.rd_en[6].next = self.vecu.rd1_en.val();
        self.sp.rd_bank[6].next = self.vecu.rd1_bank.val();
        self.sp.rd_addr[6].next = self.vecu.rd1_addr.val();
        self.vecu.rd1_data.next = self.sp.rd_data[6].val();
        self.sp.wr_en[0].next = self.dma.sp_wr_en.val();
        self.sp.wr_bank[0].next = self.dma.sp_wr_bank.val();
        self.sp.wr_addr[0].next = self.dma.sp_wr_addr.val();
        self.sp.wr_data[0].next = self.dma.sp_wr_data.val();
        self.sp.wr_be[0].next = self.dma.sp_wr_be.val();
        self.sp.wr_en[1].next = self.gemm.o_en.val();
        self.sp.wr_bank[1].next = self.gemm.o_bank.val();
        self.sp.wr_addr[1].next = self.gemm.o_addr.val();
        self.sp.wr_data[1].next = self.gemm.o_data.val();
        self.sp.wr_be[1].next = self.gemm.o_be.val();
        self.sp.wr_en[2].next = self.gemm.o_hi_en.val();
        self.sp.wr_bank[2].next = self.gemm.o_hi_bank.val();
        self.sp.wr_addr[2].next = self.gemm.o_addr.val();
        self.sp.wr_data[2].next = self.gemm.o_hi_data.val();
        self.sp.wr_be[2].next = self.gemm.o_be.val();
        self.sp.wr_en[3].next = self.vecu.wr_en.val();
        self.sp.wr_bank[3].next = self.vecu.wr_bank.val();
        self.sp.wr_addr[3].next = self.vecu.wr_addr.val();
        self.sp.wr_data[3].next = self.vecu.wr_data.val();
        self.sp.wr_be[3].next = self.vecu.wr_be.val();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn small_top_is_lint_clean() {
        let v = crate::top_verilog(&spec::AccelConfig::small()).unwrap();
        std::fs::write(std::env::temp_dir().join("vitaccel_top_small.v"), &v).unwrap();
        crate::verilog::lint(&v, crate::TOP_MODULE).unwrap();
    }
}
