//! The register block's read side: the value of the register at a read address (0 when the
//! address is unmapped). Combinational; its output is assigned once per evaluation.

use super::offset;
use crate::widen::Concat;
use rust_hdl::prelude::*;
use spec::regmap;

/// The read multiplexer of the register map.
#[derive(LogicBlock)]
pub struct RegReadMux {
    /// The read address.
    pub addr: Signal<In, Bits<12>>,
    /// STATUS bit 0.
    pub busy: Signal<In, Bit>,
    /// STATUS bit 1.
    pub done: Signal<In, Bit>,
    /// STATUS bit 2.
    pub error: Signal<In, Bit>,
    /// ERROR_CODE.
    pub error_code: Signal<In, Bits<8>>,
    /// ERROR_INSN.
    pub error_insn: Signal<In, Bits<32>>,
    /// INSN_BASE_LO.
    pub base_lo: Signal<In, Bits<32>>,
    /// INSN_BASE_HI.
    pub base_hi: Signal<In, Bits<32>>,
    /// INSN_COUNT.
    pub count: Signal<In, Bits<32>>,
    /// INSN_DONE.
    pub insn_done: Signal<In, Bits<32>>,
    /// CYCLES_HI ++ CYCLES_LO.
    pub cycles: Signal<In, Bits<64>>,
    /// ACTIVE_HI ++ ACTIVE_LO.
    pub active: Signal<In, Bits<64>>,
    /// DMA_BUSY, GEMM_BUSY, VEC_BUSY.
    pub unit_busy: Vec<Signal<In, Bits<32>>>,
    /// LIVE_TOKENS.
    pub live: Signal<In, Bits<32>>,
    /// SCRATCH.
    pub scratch: Signal<In, Bits<32>>,
    /// The register's value.
    pub data: Signal<Out, Bits<32>>,

    value: Signal<Local, Bits<32>>,
    st_busy: Signal<Local, Bits<32>>,
    st_done: Signal<Local, Bits<32>>,
    st_error: Signal<Local, Bits<32>>,
    code_ext: Concat<24, 8, 32>,
    a_status: Constant<Bits<12>>,
    a_error_code: Constant<Bits<12>>,
    a_error_insn: Constant<Bits<12>>,
    a_base_lo: Constant<Bits<12>>,
    a_base_hi: Constant<Bits<12>>,
    a_count: Constant<Bits<12>>,
    a_insn_done: Constant<Bits<12>>,
    a_cycles_lo: Constant<Bits<12>>,
    a_cycles_hi: Constant<Bits<12>>,
    a_active_lo: Constant<Bits<12>>,
    a_active_hi: Constant<Bits<12>>,
    a_config_hash: Constant<Bits<12>>,
    a_hw_info: Constant<Bits<12>>,
    a_scratch: Constant<Bits<12>>,
    a_live: Constant<Bits<12>>,
    a_unit_busy: Vec<Constant<Bits<12>>>,
    config_hash: Constant<Bits<32>>,
    hw_info: Constant<Bits<32>>,
    zero24: Constant<Bits<24>>,
    zero32: Constant<Bits<32>>,
    status_busy: Constant<Bits<32>>,
    status_done: Constant<Bits<32>>,
    status_error: Constant<Bits<32>>,
}

impl RegReadMux {
    /// A multiplexer reporting `config_hash` in CONFIG_HASH and `hw_info` in HW_INFO.
    pub fn new(config_hash: u32, hw_info: u32) -> Self {
        RegReadMux {
            addr: Signal::default(),
            busy: Signal::default(),
            done: Signal::default(),
            error: Signal::default(),
            error_code: Signal::default(),
            error_insn: Signal::default(),
            base_lo: Signal::default(),
            base_hi: Signal::default(),
            count: Signal::default(),
            insn_done: Signal::default(),
            cycles: Signal::default(),
            active: Signal::default(),
            unit_busy: crate::array::signals(3),
            live: Signal::default(),
            scratch: Signal::default(),
            data: Signal::default(),
            value: Signal::default(),
            st_busy: Signal::default(),
            st_done: Signal::default(),
            st_error: Signal::default(),
            code_ext: Concat::default(),
            a_status: offset(regmap::STATUS),
            a_error_code: offset(regmap::ERROR_CODE),
            a_error_insn: offset(regmap::ERROR_INSN),
            a_base_lo: offset(regmap::INSN_BASE_LO),
            a_base_hi: offset(regmap::INSN_BASE_HI),
            a_count: offset(regmap::INSN_COUNT),
            a_insn_done: offset(regmap::INSN_DONE),
            a_cycles_lo: offset(regmap::CYCLES_LO),
            a_cycles_hi: offset(regmap::CYCLES_HI),
            a_active_lo: offset(regmap::ACTIVE_LO),
            a_active_hi: offset(regmap::ACTIVE_HI),
            a_config_hash: offset(regmap::CONFIG_HASH),
            a_hw_info: offset(regmap::HW_INFO),
            a_scratch: offset(regmap::SCRATCH),
            a_live: offset(regmap::LIVE_TOKENS),
            a_unit_busy: [regmap::DMA_BUSY, regmap::GEMM_BUSY, regmap::VEC_BUSY].into_iter().map(offset).collect(),
            config_hash: Constant::new(bits(config_hash as u64)),
            hw_info: Constant::new(bits(hw_info as u64)),
            zero24: Constant::new(bits(0)),
            zero32: Constant::new(bits(0)),
            status_busy: Constant::new(bits(regmap::status::BUSY as u64)),
            status_done: Constant::new(bits(regmap::status::DONE as u64)),
            status_error: Constant::new(bits(regmap::status::ERROR as u64)),
        }
    }
}

impl Logic for RegReadMux {
    #[hdl_gen]
    fn update(&mut self) {
        self.st_busy.next = self.zero32.val();
        if self.busy.val() {
            self.st_busy.next = self.status_busy.val();
        }
        self.st_done.next = self.zero32.val();
        if self.done.val() {
            self.st_done.next = self.status_done.val();
        }
        self.st_error.next = self.zero32.val();
        if self.error.val() {
            self.st_error.next = self.status_error.val();
        }
        self.code_ext.hi.next = self.zero24.val();
        self.code_ext.lo.next = self.error_code.val();
        self.value.next = self.zero32.val();
        if self.addr.val() == self.a_status.val() {
            self.value.next = self.st_busy.val() | self.st_done.val() | self.st_error.val();
        }
        if self.addr.val() == self.a_error_code.val() {
            self.value.next = self.code_ext.dout.val();
        }
        if self.addr.val() == self.a_error_insn.val() {
            self.value.next = self.error_insn.val();
        }
        if self.addr.val() == self.a_base_lo.val() {
            self.value.next = self.base_lo.val();
        }
        if self.addr.val() == self.a_base_hi.val() {
            self.value.next = self.base_hi.val();
        }
        if self.addr.val() == self.a_count.val() {
            self.value.next = self.count.val();
        }
        if self.addr.val() == self.a_insn_done.val() {
            self.value.next = self.insn_done.val();
        }
        if self.addr.val() == self.a_cycles_lo.val() {
            self.value.next = self.cycles.val().get_bits::<32>(0);
        }
        if self.addr.val() == self.a_cycles_hi.val() {
            self.value.next = self.cycles.val().get_bits::<32>(32);
        }
        if self.addr.val() == self.a_active_lo.val() {
            self.value.next = self.active.val().get_bits::<32>(0);
        }
        if self.addr.val() == self.a_active_hi.val() {
            self.value.next = self.active.val().get_bits::<32>(32);
        }
        if self.addr.val() == self.a_config_hash.val() {
            self.value.next = self.config_hash.val();
        }
        if self.addr.val() == self.a_hw_info.val() {
            self.value.next = self.hw_info.val();
        }
        for u in 0..3 {
            if self.addr.val() == self.a_unit_busy[u].val() {
                self.value.next = self.unit_busy[u].val();
            }
        }
        if self.addr.val() == self.a_live.val() {
            self.value.next = self.live.val();
        }
        if self.addr.val() == self.a_scratch.val() {
            self.value.next = self.scratch.val();
        }
        self.data.next = self.value.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The multiplexer alone generates Verilog that `verilator -Wall` accepts; every register's
    /// read is tested through the register block (`axi_lite::tests`).
    #[test]
    fn reg_read_mux_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut RegReadMux::new(0xdead_beef, 0x0100_1010), "reg_read_mux");
        crate::verilog::lint(&v, "reg_read_mux").unwrap();
    }
}
