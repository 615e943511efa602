//! The accelerator top level: AXI4-Lite control slave, AXI4 master (read and write engines,
//! the read engine shared through an arbiter), controller, the three execution units (DMA,
//! GEMM, vector) and the banked scratchpad with its crossbar. Port names follow Vivado's AXI
//! conventions (`aclk`, `aresetn`, `s_axi_*`, `m_axi_*`), so the IP packager infers both
//! interfaces. The top only wires; every behaviour lives in a submodule.

use crate::axi_lite::AxiLiteRegs;
use crate::axi_master::{AxiReader, AxiWriter};
use crate::bus::{
    AxiLiteSlave, AxiReadMaster, AxiWriteMaster, ReadClient, SpReadClient, SpWriteClient, UnitDispatch, WriteClient,
};
use crate::controller::Controller;
use crate::dma::DmaUnit;
use crate::gemm_unit::GemmUnit;
use crate::rdarb::ReadArbiter;
use crate::scratchpad::{read_client as rc, write_client as wc, Scratchpad};
use crate::vector_unit::VectorUnit;
use rust_hdl::prelude::*;
use spec::AccelConfig;

/// The accelerator for `W = 8R`-bit words with `BE = R` byte enables, its vector unit's row
/// engine on `VW = 8 vec_lanes`-bit slices with `VBE = vec_lanes` byte enables.
///
/// The AXI bundles appear in the Verilog as `s_axi_*` and `m_axi_*` ports (see
/// [`VERILOG_PORT_PREFIXES`]).
#[derive(LogicBlock)]
pub struct Top<const W: usize, const BE: usize, const VW: usize, const VBE: usize> {
    /// Clock.
    pub aclk: Signal<In, Clock>,
    /// Active-low reset.
    pub aresetn: Signal<In, Bit>,
    /// The AXI4-Lite control slave.
    pub s_axi: AxiLiteSlave,
    /// The AXI4 master's read half.
    pub m_axi_rd: AxiReadMaster<W>,
    /// The AXI4 master's write half.
    pub m_axi_wr: AxiWriteMaster<W, BE>,
    /// Interrupt, level-high: STATUS.DONE or STATUS.ERROR (cleared by the next START). The
    /// Vivado flow wires it to the PS (`pl_ps_irq0`) and the overlay gives it to the UIO node.
    pub irq: Signal<Out, Bit>,
    regs: AxiLiteRegs,
    rd: AxiReader<W>,
    wr: AxiWriter<W, BE>,
    arb: ReadArbiter<W>,
    ctrl: Controller<W>,
    dma: DmaUnit<W, BE>,
    gemm: GemmUnit<W, BE>,
    vecu: VectorUnit<W, BE, VW, VBE>,
    sp: Scratchpad<W, BE>,
    rst: DFF<Bit>,
    /// The GEMM unit tracks its own reads; the read engine's idle flag is not needed.
    unused_rd_idle: Signal<Local, Bit>,
}

/// How the top's bundles are spelled as Verilog ports: rust-hdl names a bundle's signal
/// `bundle$signal`; the top's ports carry Vivado's AXI names instead (`s_axi_awaddr`,
/// `m_axi_araddr`, `m_axi_awaddr`, ...), which the IP packager and the simulation harness use.
pub const VERILOG_PORT_PREFIXES: [(&str, &str); 3] =
    [("s_axi$", "s_axi_"), ("m_axi_rd$", "m_axi_"), ("m_axi_wr$", "m_axi_")];

impl<const W: usize, const BE: usize, const VW: usize, const VBE: usize> Top<W, BE, VW, VBE> {
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
            s_axi: AxiLiteSlave::default(),
            m_axi_rd: AxiReadMaster::default(),
            m_axi_wr: AxiWriteMaster::default(),
            irq: Signal::default(),
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

impl<const W: usize, const BE: usize, const VW: usize, const VBE: usize> Logic for Top<W, BE, VW, VBE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, aclk, rst);
        self.rst.d.next = !self.aresetn.val();
        clock!(self, aclk, regs, rd, wr, arb, ctrl, dma, gemm, vecu, sp);
        self.regs.reset.next = self.rst.q.val();
        self.rd.reset.next = self.rst.q.val();
        self.wr.reset.next = self.rst.q.val();
        self.arb.reset.next = self.rst.q.val();
        self.ctrl.reset.next = self.rst.q.val();
        self.dma.reset.next = self.rst.q.val();
        self.gemm.reset.next = self.rst.q.val();
        self.vecu.reset.next = self.rst.q.val();

        // AXI ports.
        AxiLiteSlave::link(&mut self.s_axi, &mut self.regs.s_axi);
        AxiReadMaster::<W>::link(&mut self.m_axi_rd, &mut self.rd.m_axi);
        AxiWriteMaster::<W, BE>::link(&mut self.m_axi_wr, &mut self.wr.m_axi);

        // Registers <-> controller.
        self.ctrl.start.next = self.regs.start.val();
        self.ctrl.insn_base.next = self.regs.insn_base.val();
        self.ctrl.insn_count.next = self.regs.insn_count.val();
        self.ctrl.live_tokens.next = self.regs.live_tokens.val();
        self.regs.live_we.next = self.vecu.live_we.val();
        self.regs.live_in.next = self.vecu.live_value.val();
        self.regs.busy.next = self.ctrl.busy.val();
        self.regs.done.next = self.ctrl.done.val();
        self.irq.next = self.ctrl.done.val() | self.ctrl.error.val();
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

        // Dispatch: controller unit 0 is the DMA, 1 the GEMM unit, 2 the vector unit.
        UnitDispatch::join(&mut self.ctrl.units[0], &mut self.dma.dispatch);
        UnitDispatch::join(&mut self.ctrl.units[1], &mut self.gemm.dispatch);
        UnitDispatch::join(&mut self.ctrl.units[2], &mut self.vecu.dispatch);

        // DRAM reads through the arbiter: client 0 fetch, 1 DMA, 2 GEMM weight stream. The
        // arbiter's grant is combinational in the requests; joins are separate Verilog
        // statements, which keeps Verilator from seeing a loop through a block.
        ReadClient::<W>::join(&mut self.ctrl.rd, &mut self.arb.clients[0]);
        ReadClient::<W>::join(&mut self.dma.rd, &mut self.arb.clients[1]);
        ReadClient::<W>::join(&mut self.gemm.rd, &mut self.arb.clients[2]);
        ReadClient::<W>::join(&mut self.arb.engine, &mut self.rd.port);
        // DRAM writes (DMA STORE only).
        WriteClient::<W>::join(&mut self.dma.wr, &mut self.wr.port);

        // Scratchpad crossbar (client numbers of `scratchpad::read_client`/`write_client`; the
        // HDL macro needs literal indices, `new` checks they agree).
        SpReadClient::<W>::join(&mut self.dma.sp_rd, &mut self.sp.rd[0]);
        SpReadClient::<W>::join(&mut self.gemm.sp_a, &mut self.sp.rd[1]);
        SpReadClient::<W>::join(&mut self.gemm.sp_b, &mut self.sp.rd[2]);
        SpReadClient::<W>::join(&mut self.gemm.sp_x_lo, &mut self.sp.rd[3]);
        SpReadClient::<W>::join(&mut self.gemm.sp_x_hi, &mut self.sp.rd[4]);
        SpReadClient::<W>::join(&mut self.vecu.sp_rd0, &mut self.sp.rd[5]);
        SpReadClient::<W>::join(&mut self.vecu.sp_rd1, &mut self.sp.rd[6]);
        SpWriteClient::<W, BE>::join(&mut self.dma.sp_wr, &mut self.sp.wr[0]);
        SpWriteClient::<W, BE>::join(&mut self.gemm.sp_out_lo, &mut self.sp.wr[1]);
        SpWriteClient::<W, BE>::join(&mut self.gemm.sp_out_hi, &mut self.sp.wr[2]);
        SpWriteClient::<W, BE>::join(&mut self.vecu.sp_wr, &mut self.sp.wr[3]);
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

    /// The small top with its vector unit folded (4 lanes on 8-byte words).
    #[test]
    fn folded_top_is_lint_clean() {
        let cfg = spec::AccelConfig { vector_lanes: Some(4), ..spec::AccelConfig::small() };
        let v = crate::top_verilog(&cfg).unwrap();
        assert!(v.contains("din[63:32]"), "the slice reader picks the upper half");
        crate::verilog::lint(&v, crate::TOP_MODULE).unwrap();
    }
}
