//! The AXI4-Lite register block: the host's control interface, implementing
//! [`spec::regmap::REGISTERS`] (offsets come from `spec::regmap`, never from literals here).

use crate::bus::AxiLiteSlave;
use crate::widen::Concat;
pub use read_mux::RegReadMux;
use rust_hdl::prelude::*;
use spec::regmap::{self, Register};

mod read_mux;

fn offset(r: Register) -> Constant<Bits<12>> {
    assert!(r.offset < 4096 && r.offset & 3 == 0, "register {} outside the 4 KiB AXI-Lite window", r.name);
    Constant::new(bits(r.offset as u64))
}

/// AXI4-Lite slave (12-bit addresses, 32-bit data) holding the register map.
///
/// * AW and W are buffered independently (either order, or together); a write completes once both
///   are in and no B response is pending. `awready`/`wready`/`arready` are register outputs.
/// * One read in flight: `arready` is low while `rvalid` waits for `rready`.
/// * RW registers honour WSTRB; INSN_BASE_HI keeps only bits 7:0 (the rest read 0). Writing CTRL
///   with bit 0 set (and WSTRB bit 0) pulses `start` for exactly one cycle; CTRL reads 0.
/// * Addresses are decoded on all 12 bits: a register is hit only by its aligned offset; anything
///   else is unmapped (reads 0, writes ignored). Every response is OKAY.
/// * `reset` is synchronous, active high: RW registers clear and pending transactions are dropped.
#[derive(LogicBlock)]
pub struct AxiLiteRegs {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset, active high.
    pub reset: Signal<In, Bit>,
    /// The AXI4-Lite slave port.
    pub s_axi: AxiLiteSlave,
    /// One-cycle pulse: CTRL was written with bit 0 set.
    pub start: Signal<Out, Bit>,
    /// `INSN_BASE_HI[7:0] ++ INSN_BASE_LO`.
    pub insn_base: Signal<Out, Bits<40>>,
    /// INSN_COUNT.
    pub insn_count: Signal<Out, Bits<32>>,
    /// LIVE_TOKENS.
    pub live_tokens: Signal<Out, Bits<16>>,
    /// The hardware sets LIVE_TOKENS (a SELECT finished; wins over a bus write in that cycle).
    pub live_we: Signal<In, Bit>,
    /// The value it sets.
    pub live_in: Signal<In, Bits<16>>,
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
    /// INSN_DONE.
    pub insn_done: Signal<In, Bits<32>>,
    /// CYCLES_HI ++ CYCLES_LO.
    pub cycles: Signal<In, Bits<64>>,
    /// ACTIVE_HI ++ ACTIVE_LO.
    pub active: Signal<In, Bits<64>>,
    /// DMA_BUSY, GEMM_BUSY, VEC_BUSY.
    pub unit_busy: Vec<Signal<In, Bits<32>>>,
    // Write channel state.
    aw_full: DFF<Bit>,
    aw_addr: DFF<Bits<12>>,
    w_full: DFF<Bit>,
    w_data: DFF<Bits<32>>,
    w_strb: DFF<Bits<4>>,
    bvalid: DFF<Bit>,
    // Read channel state.
    rvalid: DFF<Bit>,
    rdata: DFF<Bits<32>>,
    // Registers.
    start_q: DFF<Bit>,
    base_lo: DFF<Bits<32>>,
    base_hi: DFF<Bits<32>>,
    count: DFF<Bits<32>>,
    scratch: DFF<Bits<32>>,
    live: DFF<Bits<32>>,
    live_ext: crate::widen::Extend<32, 16>,
    read_mux: RegReadMux,
    // Combinational helpers.
    do_write: Signal<Local, Bit>,
    mask0: Signal<Local, Bits<32>>,
    mask1: Signal<Local, Bits<32>>,
    mask2: Signal<Local, Bits<32>>,
    mask3: Signal<Local, Bits<32>>,
    wmask: Signal<Local, Bits<32>>,
    base_cat: Concat<8, 32, 40>,
    // Constants.
    a_ctrl: Constant<Bits<12>>,
    a_base_lo: Constant<Bits<12>>,
    a_base_hi: Constant<Bits<12>>,
    a_count: Constant<Bits<12>>,
    a_scratch: Constant<Bits<12>>,
    a_live: Constant<Bits<12>>,
    low16: Constant<Bits<32>>,
    okay: Constant<Bits<2>>,
    zero32: Constant<Bits<32>>,
    byte0: Constant<Bits<32>>,
    byte1: Constant<Bits<32>>,
    byte2: Constant<Bits<32>>,
    byte3: Constant<Bits<32>>,
}

impl AxiLiteRegs {
    /// A register block reporting `config_hash` in CONFIG_HASH and `hw_info` in HW_INFO.
    pub fn new(config_hash: u32, hw_info: u32) -> Self {
        AxiLiteRegs {
            clock: Signal::default(),
            reset: Signal::default(),
            s_axi: AxiLiteSlave::default(),
            start: Signal::default(),
            insn_base: Signal::default(),
            insn_count: Signal::default(),
            live_tokens: Signal::default(),
            live_we: Signal::default(),
            live_in: Signal::default(),
            busy: Signal::default(),
            done: Signal::default(),
            error: Signal::default(),
            error_code: Signal::default(),
            error_insn: Signal::default(),
            insn_done: Signal::default(),
            cycles: Signal::default(),
            active: Signal::default(),
            unit_busy: crate::array::signals(3),
            aw_full: DFF::default(),
            aw_addr: DFF::default(),
            w_full: DFF::default(),
            w_data: DFF::default(),
            w_strb: DFF::default(),
            bvalid: DFF::default(),
            rvalid: DFF::default(),
            rdata: DFF::default(),
            start_q: DFF::default(),
            base_lo: DFF::default(),
            base_hi: DFF::default(),
            count: DFF::default(),
            scratch: DFF::default(),
            live: DFF::default(),
            live_ext: crate::widen::Extend::new(false),
            read_mux: RegReadMux::new(config_hash, hw_info),
            do_write: Signal::default(),
            mask0: Signal::default(),
            mask1: Signal::default(),
            mask2: Signal::default(),
            mask3: Signal::default(),
            wmask: Signal::default(),
            base_cat: Concat::default(),
            a_ctrl: offset(regmap::CTRL),
            a_base_lo: offset(regmap::INSN_BASE_LO),
            a_base_hi: offset(regmap::INSN_BASE_HI),
            a_count: offset(regmap::INSN_COUNT),
            a_scratch: offset(regmap::SCRATCH),
            a_live: offset(regmap::LIVE_TOKENS),
            low16: Constant::new(bits(0xffff)),
            okay: Constant::new(bits(0)),
            zero32: Constant::new(bits(0)),
            byte0: Constant::new(bits(0x0000_00ff)),
            byte1: Constant::new(bits(0x0000_ff00)),
            byte2: Constant::new(bits(0x00ff_0000)),
            byte3: Constant::new(bits(0xff00_0000)),
        }
    }
}

impl Logic for AxiLiteRegs {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, aw_full, aw_addr, w_full, w_data, w_strb, bvalid, rvalid, rdata, start_q, base_lo, base_hi,
            count, scratch, live
        );
        self.start_q.d.next = false;

        // Write address and data are buffered independently, in either order.
        if self.s_axi.awvalid.val() & !self.aw_full.q.val() {
            self.aw_full.d.next = true;
            self.aw_addr.d.next = self.s_axi.awaddr.val();
        }
        if self.s_axi.wvalid.val() & !self.w_full.q.val() {
            self.w_full.d.next = true;
            self.w_data.d.next = self.s_axi.wdata.val();
            self.w_strb.d.next = self.s_axi.wstrb.val();
        }
        if self.bvalid.q.val() & self.s_axi.bready.val() {
            self.bvalid.d.next = false;
        }

        // Byte mask of the buffered strobes.
        self.mask0.next = self.zero32.val();
        if self.w_strb.q.val().get_bit(0) {
            self.mask0.next = self.byte0.val();
        }
        self.mask1.next = self.zero32.val();
        if self.w_strb.q.val().get_bit(1) {
            self.mask1.next = self.byte1.val();
        }
        self.mask2.next = self.zero32.val();
        if self.w_strb.q.val().get_bit(2) {
            self.mask2.next = self.byte2.val();
        }
        self.mask3.next = self.zero32.val();
        if self.w_strb.q.val().get_bit(3) {
            self.mask3.next = self.byte3.val();
        }
        self.wmask.next = self.mask0.val() | self.mask1.val() | self.mask2.val() | self.mask3.val();

        // Perform a write once both halves are in and the previous response has gone.
        self.do_write.next = self.aw_full.q.val() & self.w_full.q.val() & !self.bvalid.q.val();
        if self.do_write.val() {
            self.aw_full.d.next = false;
            self.w_full.d.next = false;
            self.bvalid.d.next = true;
            if self.aw_addr.q.val() == self.a_ctrl.val() {
                self.start_q.d.next = self.w_data.q.val().get_bit(0) & self.w_strb.q.val().get_bit(0);
            }
            if self.aw_addr.q.val() == self.a_base_lo.val() {
                self.base_lo.d.next =
                    (self.base_lo.q.val() & !self.wmask.val()) | (self.w_data.q.val() & self.wmask.val());
            }
            if self.aw_addr.q.val() == self.a_base_hi.val() {
                self.base_hi.d.next = (self.base_hi.q.val() & !self.wmask.val())
                    | (self.w_data.q.val() & self.wmask.val() & self.byte0.val());
            }
            if self.aw_addr.q.val() == self.a_count.val() {
                self.count.d.next = (self.count.q.val() & !self.wmask.val()) | (self.w_data.q.val() & self.wmask.val());
            }
            if self.aw_addr.q.val() == self.a_live.val() {
                self.live.d.next = (self.live.q.val() & !self.wmask.val())
                    | (self.w_data.q.val() & self.wmask.val() & self.low16.val());
            }
            if self.aw_addr.q.val() == self.a_scratch.val() {
                self.scratch.d.next =
                    (self.scratch.q.val() & !self.wmask.val()) | (self.w_data.q.val() & self.wmask.val());
            }
        }
        self.live_ext.din.next = self.live_in.val();
        if self.live_we.val() {
            self.live.d.next = self.live_ext.dout.val();
        }

        // Read: one at a time; the data is captured when AR is accepted.
        self.read_mux.addr.next = self.s_axi.araddr.val();
        self.read_mux.busy.next = self.busy.val();
        self.read_mux.done.next = self.done.val();
        self.read_mux.error.next = self.error.val();
        self.read_mux.error_code.next = self.error_code.val();
        self.read_mux.error_insn.next = self.error_insn.val();
        self.read_mux.base_lo.next = self.base_lo.q.val();
        self.read_mux.base_hi.next = self.base_hi.q.val();
        self.read_mux.count.next = self.count.q.val();
        self.read_mux.insn_done.next = self.insn_done.val();
        self.read_mux.cycles.next = self.cycles.val();
        self.read_mux.active.next = self.active.val();
        for u in 0..3 {
            self.read_mux.unit_busy[u].next = self.unit_busy[u].val();
        }
        self.read_mux.live.next = self.live.q.val();
        self.read_mux.scratch.next = self.scratch.q.val();
        if self.rvalid.q.val() & self.s_axi.rready.val() {
            self.rvalid.d.next = false;
        }
        if self.s_axi.arvalid.val() & !self.rvalid.q.val() {
            self.rvalid.d.next = true;
            self.rdata.d.next = self.read_mux.data.val();
        }

        if self.reset.val() {
            self.aw_full.d.next = false;
            self.w_full.d.next = false;
            self.bvalid.d.next = false;
            self.rvalid.d.next = false;
            self.start_q.d.next = false;
            self.base_lo.d.next = self.zero32.val();
            self.base_hi.d.next = self.zero32.val();
            self.count.d.next = self.zero32.val();
            self.scratch.d.next = self.zero32.val();
            self.live.d.next = self.zero32.val();
        }

        self.s_axi.awready.next = !self.aw_full.q.val();
        self.s_axi.wready.next = !self.w_full.q.val();
        self.s_axi.bvalid.next = self.bvalid.q.val();
        self.s_axi.bresp.next = self.okay.val();
        self.s_axi.arready.next = !self.rvalid.q.val();
        self.s_axi.rvalid.next = self.rvalid.q.val();
        self.s_axi.rdata.next = self.rdata.q.val();
        self.s_axi.rresp.next = self.okay.val();
        self.start.next = self.start_q.q.val();
        self.base_cat.hi.next = self.base_hi.q.val().get_bits::<8>(0);
        self.base_cat.lo.next = self.base_lo.q.val();
        self.insn_base.next = self.base_cat.dout.val();
        self.insn_count.next = self.count.q.val();
        self.live_tokens.next = self.live.q.val().get_bits::<16>(0);
    }
}

#[cfg(test)]
mod lint {
    use super::*;

    #[test]
    fn axi_lite_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut AxiLiteRegs::new(0xdead_beef, 0x0100_1010), "axi_lite_regs");
        crate::verilog::lint(&v, "axi_lite_regs").unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spec::regmap::{Access, REGISTERS};

    type R = AxiLiteRegs;
    type Res<T> = std::result::Result<T, SimError>;

    const HASH: u32 = 0x1234_abcd;
    const INFO: u32 = 0x0204_1010;

    /// How AW and W are presented.
    #[derive(Clone, Copy, Debug)]
    enum Order {
        Together,
        /// AW first, W `n` cycles after AW was accepted.
        AwFirst(usize),
        /// W first, AW `n` cycles after W was accepted.
        WFirst(usize),
    }

    /// Testbench driver: counts cycles and records every cycle in which `start` was high.
    struct Tb {
        ep: Sim<R>,
        cyc: u64,
        starts: Vec<u64>,
    }

    impl Tb {
        /// One clock cycle (inputs were set after the previous falling edge); samples `start`.
        fn cycle(&mut self, mut x: Box<R>) -> Res<Box<R>> {
            let ep = &mut self.ep;
            wait_clock_cycle!(ep, clock, x);
            self.cyc += 1;
            if x.start.val() {
                self.starts.push(self.cyc);
            }
            Ok(x)
        }

        fn cycles(&mut self, mut x: Box<R>, n: usize) -> Res<Box<R>> {
            for _ in 0..n {
                x = self.cycle(x)?;
            }
            Ok(x)
        }

        /// One write; B is held off (`bready` low) for `b_delay` cycles after `bvalid` rises.
        fn write(
            &mut self,
            mut x: Box<R>,
            addr: u32,
            data: u32,
            strb: u8,
            order: Order,
            b_delay: usize,
        ) -> Res<Box<R>> {
            x.s_axi.awaddr.next = bits(addr as u64);
            x.s_axi.wdata.next = bits(data as u64);
            x.s_axi.wstrb.next = bits(strb as u64);
            let (mut aw_done, mut w_done) = (false, false);
            // Cycles until each half is presented; `None`: waits for the other half's handshake.
            let (mut aw_wait, mut w_wait, gap) = match order {
                Order::Together => (Some(0), Some(0), 0),
                Order::AwFirst(n) => (Some(0), None, n),
                Order::WFirst(n) => (None, Some(0), n),
            };
            let mut guard = 0;
            while !(aw_done && w_done) {
                x.s_axi.awvalid.next = !aw_done && aw_wait == Some(0);
                x.s_axi.wvalid.next = !w_done && w_wait == Some(0);
                x.s_axi.bready.next = false;
                x = self.ep.wait(1, x)?;
                let aw_fire = x.s_axi.awvalid.val() && x.s_axi.awready.val();
                let w_fire = x.s_axi.wvalid.val() && x.s_axi.wready.val();
                assert!(!x.s_axi.bvalid.val(), "B before both halves of the write");
                x = self.cycle(x)?;
                aw_wait = aw_wait.map(|n: usize| n.saturating_sub(1));
                w_wait = w_wait.map(|n: usize| n.saturating_sub(1));
                if aw_fire {
                    aw_done = true;
                    w_wait = w_wait.or(Some(gap));
                }
                if w_fire {
                    w_done = true;
                    aw_wait = aw_wait.or(Some(gap));
                }
                guard += 1;
                assert!(guard < 50, "write handshake stuck");
            }
            x.s_axi.awvalid.next = false;
            x.s_axi.wvalid.next = false;
            // The response.
            let mut held = 0;
            loop {
                x.s_axi.bready.next = x.s_axi.bvalid.val() && held >= b_delay;
                x = self.ep.wait(1, x)?;
                let b_fire = x.s_axi.bvalid.val() && x.s_axi.bready.val();
                if b_fire {
                    assert_eq!(x.s_axi.bresp.val(), bits::<2>(0), "BRESP");
                }
                if x.s_axi.bvalid.val() {
                    held += 1;
                }
                x = self.cycle(x)?;
                if b_fire {
                    break;
                }
                guard += 1;
                assert!(guard < 100, "no B response");
            }
            x.s_axi.bready.next = false;
            assert!(!x.s_axi.bvalid.val(), "BVALID still high after the handshake");
            Ok(x)
        }

        /// One read; R is held off (`rready` low) for `r_delay` cycles after `rvalid` rises and
        /// must stay valid and stable meanwhile.
        fn read(&mut self, mut x: Box<R>, addr: u32, r_delay: usize) -> Res<(Box<R>, u32)> {
            x.s_axi.araddr.next = bits(addr as u64);
            x.s_axi.arvalid.next = true;
            x.s_axi.rready.next = false;
            let mut guard = 0;
            loop {
                x = self.ep.wait(1, x)?;
                let fire = x.s_axi.arvalid.val() && x.s_axi.arready.val();
                x = self.cycle(x)?;
                if fire {
                    break;
                }
                guard += 1;
                assert!(guard < 50, "AR never accepted");
            }
            x.s_axi.arvalid.next = false;
            x.s_axi.araddr.next = bits(0xffc); // must not matter any more
            let mut held = 0;
            let mut seen: Option<u32> = None;
            loop {
                x.s_axi.rready.next = x.s_axi.rvalid.val() && held >= r_delay;
                x = self.ep.wait(1, x)?;
                let valid = x.s_axi.rvalid.val();
                let fire = valid && x.s_axi.rready.val();
                if valid {
                    let d = x.s_axi.rdata.val().to_u32();
                    if let Some(s) = seen {
                        assert_eq!(d, s, "RDATA changed while RVALID waited");
                    }
                    seen = Some(d);
                    assert_eq!(x.s_axi.rresp.val(), bits::<2>(0), "RRESP");
                    held += 1;
                } else {
                    assert!(seen.is_none(), "RVALID dropped before the handshake");
                }
                x = self.cycle(x)?;
                if fire {
                    break;
                }
                guard += 1;
                assert!(guard < 100, "no R response");
            }
            x.s_axi.rready.next = false;
            assert!(!x.s_axi.rvalid.val(), "RVALID still high after the handshake");
            Ok((x, seen.unwrap()))
        }
    }

    /// Run `body` against a fresh register block after a two-cycle reset.
    fn run<F>(body: F)
    where
        F: Fn(&mut Tb, Box<R>) -> Res<Box<R>> + Send + Sync + 'static + std::panic::RefUnwindSafe,
    {
        let mut uut = AxiLiteRegs::new(HASH, INFO);
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<R>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |ep: Sim<R>| {
            let mut tb = Tb { ep, cyc: 0, starts: vec![] };
            let mut x = tb.ep.init()?;
            x.reset.next = true;
            x = tb.cycles(x, 2)?;
            x.reset.next = false;
            x = tb.cycles(x, 1)?;
            x = body(&mut tb, x)?;
            tb.ep.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }

    /// Value bits a RW register keeps.
    fn rw_mask(r: &Register) -> u32 {
        if r.name == regmap::INSN_BASE_HI.name {
            0xff
        } else if r.name == regmap::LIVE_TOKENS.name {
            0xffff
        } else {
            0xffff_ffff
        }
    }

    fn strobe_mask(strb: u8) -> u32 {
        (0..4).filter(|b| strb >> b & 1 == 1).map(|b| 0xffu32 << (8 * b)).fold(0, |a, m| a | m)
    }

    #[test]
    fn axi_lite_rw_registers_honour_strobes() {
        run(|tb, mut x| {
            let rw: Vec<Register> = REGISTERS.iter().copied().filter(|r| r.access == Access::RW).collect();
            assert_eq!(rw.len(), 5, "INSN_BASE_LO/HI, INSN_COUNT, SCRATCH, LIVE_TOKENS");
            let mut model: Vec<u32> = vec![0; rw.len()];
            let patterns: [(u32, u8); 6] = [
                (0xffff_ffff, 0xf),
                (0x1122_3344, 0x1),
                (0x5566_7788, 0x6),
                (0x99aa_bbcc, 0x8),
                (0x0000_0000, 0x0),
                (0xdead_beef, 0xa),
            ];
            for (pi, &(data, strb)) in patterns.iter().enumerate() {
                for (i, r) in rw.iter().enumerate() {
                    let data = data.rotate_left(4 * i as u32);
                    x = tb.write(x, r.offset, data, strb, Order::Together, pi % 3)?;
                    let m = strobe_mask(strb) & rw_mask(r);
                    model[i] = (model[i] & !m) | (data & m);
                }
                for (i, r) in rw.iter().enumerate() {
                    let (y, v) = tb.read(x, r.offset, i % 2)?;
                    x = y;
                    assert_eq!(v, model[i], "{} after pattern {pi}", r.name);
                }
                let lo = model[rw.iter().position(|r| r.name == "INSN_BASE_LO").unwrap()] as u64;
                let hi = model[rw.iter().position(|r| r.name == "INSN_BASE_HI").unwrap()] as u64;
                let count = model[rw.iter().position(|r| r.name == "INSN_COUNT").unwrap()] as u64;
                assert_eq!(x.insn_base.val(), bits::<40>(hi << 32 | lo));
                assert_eq!(x.insn_count.val(), bits::<32>(count));
                let live = model[rw.iter().position(|r| r.name == "LIVE_TOKENS").unwrap()] as u64;
                assert_eq!(x.live_tokens.val(), bits::<16>(live));
            }
            // An unmapped write changes nothing and still gets OKAY.
            x = tb.write(x, 0xffc, 0x5a5a_5a5a, 0xf, Order::Together, 0)?;
            x = tb.write(x, regmap::SCRATCH.offset + 1, 0x5a5a_5a5a, 0xf, Order::Together, 0)?;
            for (i, r) in rw.iter().enumerate() {
                let (y, v) = tb.read(x, r.offset, 0)?;
                x = y;
                assert_eq!(v, model[i], "{} after unmapped writes", r.name);
            }
            assert!(tb.starts.is_empty(), "no START without a CTRL write");
            // Reset clears the RW registers.
            x.reset.next = true;
            x = tb.cycle(x)?;
            x.reset.next = false;
            for r in &rw {
                let (y, v) = tb.read(x, r.offset, 0)?;
                x = y;
                assert_eq!(v, 0, "{} after reset", r.name);
            }
            Ok(x)
        });
    }

    #[test]
    fn axi_lite_reads_every_register() {
        run(|tb, mut x| {
            let cycles: u64 = 0x0123_4567_89ab_cdef;
            let active: u64 = 0xfedc_ba98_7654_3210;
            for (busy, done, error) in
                [(true, false, false), (false, true, false), (false, true, true), (true, true, true)]
            {
                x.busy.next = busy;
                x.done.next = done;
                x.error.next = error;
                x.error_code.next = bits(0xa5);
                x.error_insn.next = bits(0x0bad_cafe);
                x.insn_done.next = bits(0x0000_1234);
                x.cycles.next = bits(cycles);
                x.active.next = bits(active);
                for (u, v) in [0x1111_0001u64, 0x2222_0002, 0x3333_0003].into_iter().enumerate() {
                    x.unit_busy[u].next = bits(v);
                }
                let status = (busy as u32 * regmap::status::BUSY)
                    | (done as u32 * regmap::status::DONE)
                    | (error as u32 * regmap::status::ERROR);
                for r in REGISTERS {
                    let want = match r.name {
                        "CTRL" => 0,
                        "STATUS" => status,
                        "ERROR_CODE" => 0xa5,
                        "ERROR_INSN" => 0x0bad_cafe,
                        "INSN_BASE_LO" | "INSN_BASE_HI" | "INSN_COUNT" | "SCRATCH" | "LIVE_TOKENS" => 0,
                        "INSN_DONE" => 0x1234,
                        "CYCLES_LO" => cycles as u32,
                        "CYCLES_HI" => (cycles >> 32) as u32,
                        "ACTIVE_LO" => active as u32,
                        "ACTIVE_HI" => (active >> 32) as u32,
                        "CONFIG_HASH" => HASH,
                        "HW_INFO" => INFO,
                        "DMA_BUSY" => 0x1111_0001,
                        "GEMM_BUSY" => 0x2222_0002,
                        "VEC_BUSY" => 0x3333_0003,
                        other => panic!("register {other} of spec::regmap is not covered by this test"),
                    };
                    let (y, v) = tb.read(x, r.offset, 0)?;
                    x = y;
                    assert_eq!(v, want, "{}", r.name);
                }
            }
            // Unmapped and unaligned addresses read 0.
            for addr in [0x48, 0x100, 0xffc, regmap::CONFIG_HASH.offset + 2] {
                let (y, v) = tb.read(x, addr, 1)?;
                x = y;
                assert_eq!(v, 0, "unmapped {addr:#x}");
            }
            Ok(x)
        });
    }

    #[test]
    fn axi_lite_start_is_a_one_cycle_pulse() {
        run(|tb, mut x| {
            let ctrl = regmap::CTRL.offset;
            x = tb.write(x, ctrl, 0, 0xf, Order::Together, 0)?;
            x = tb.write(x, ctrl, 0xffff_fffe, 0xf, Order::Together, 0)?;
            x = tb.write(x, ctrl, 1, 0xe, Order::Together, 0)?;
            x = tb.cycles(x, 5)?;
            assert!(tb.starts.is_empty(), "START without bit 0 written: {:?}", tb.starts);
            x = tb.write(x, ctrl, 1, 0xf, Order::AwFirst(2), 3)?;
            x = tb.cycles(x, 5)?;
            assert_eq!(tb.starts.len(), 1, "exactly one START cycle: {:?}", tb.starts);
            let first = tb.starts[0];
            x = tb.write(x, ctrl, 0x8000_0001, 0x1, Order::WFirst(1), 0)?;
            x = tb.cycles(x, 5)?;
            assert_eq!(tb.starts.len(), 2, "{:?}", tb.starts);
            assert!(tb.starts[1] > first + 1);
            let (y, v) = tb.read(x, ctrl, 0)?;
            assert_eq!(v, 0, "CTRL reads 0");
            Ok(y)
        });
    }

    #[test]
    fn axi_lite_write_orderings() {
        run(|tb, mut x| {
            let orders = [Order::Together, Order::AwFirst(0), Order::AwFirst(3), Order::WFirst(0), Order::WFirst(4)];
            for (i, &order) in orders.iter().enumerate() {
                let v = 0x1000_0001u32.wrapping_mul(i as u32 + 3);
                x = tb.write(x, regmap::SCRATCH.offset, v, 0xf, order, 0)?;
                let (y, got) = tb.read(x, regmap::SCRATCH.offset, 0)?;
                x = y;
                assert_eq!(got, v, "{order:?}");
            }
            Ok(x)
        });
    }

    #[test]
    fn axi_lite_backpressure_on_b_and_r() {
        run(|tb, mut x| {
            for delay in [1, 3, 6] {
                let v = 0xc0de_0000 | delay as u32;
                x = tb.write(x, regmap::INSN_COUNT.offset, v, 0xf, Order::Together, delay)?;
                let (y, got) = tb.read(x, regmap::INSN_COUNT.offset, delay)?;
                x = y;
                assert_eq!(got, v);
            }
            // While B waits, the next AW and W are taken into the buffers but not performed.
            x.s_axi.awaddr.next = bits(regmap::SCRATCH.offset as u64);
            x.s_axi.wdata.next = bits(0x1111_1111);
            x.s_axi.wstrb.next = bits(0xf);
            x.s_axi.awvalid.next = true;
            x.s_axi.wvalid.next = true;
            x = tb.cycle(x)?; // accepted
            x.s_axi.awvalid.next = false;
            x.s_axi.wvalid.next = false;
            x = tb.cycle(x)?; // performed, B pending
            assert!(x.s_axi.bvalid.val());
            x.s_axi.awaddr.next = bits(regmap::SCRATCH.offset as u64);
            x.s_axi.wdata.next = bits(0x2222_2222);
            x.s_axi.awvalid.next = true;
            x.s_axi.wvalid.next = true;
            x = tb.ep.wait(1, x)?;
            assert!(x.s_axi.awready.val() && x.s_axi.wready.val());
            x = tb.cycle(x)?;
            x.s_axi.awvalid.next = false;
            x.s_axi.wvalid.next = false;
            x = tb.cycles(x, 4)?;
            assert!(x.s_axi.bvalid.val(), "first B still held");
            assert!(!x.s_axi.awready.val() && !x.s_axi.wready.val(), "second write parked");
            let (y, got) = tb.read(x, regmap::SCRATCH.offset, 0)?;
            x = y;
            assert_eq!(got, 0x1111_1111, "second write must wait for the first B");
            x.s_axi.bready.next = true;
            x = tb.cycle(x)?; // first B accepted
            x.s_axi.bready.next = false;
            x = tb.cycle(x)?; // second write performed
            assert!(x.s_axi.bvalid.val(), "second B");
            x.s_axi.bready.next = true;
            x = tb.cycle(x)?;
            x.s_axi.bready.next = false;
            assert!(!x.s_axi.bvalid.val());
            let (y, got) = tb.read(x, regmap::SCRATCH.offset, 2)?;
            assert_eq!(got, 0x2222_2222);
            Ok(y)
        });
    }
}
