//! The ULX3S board shell around the accelerator: a UART (the FTDI USB serial port) to AXI4-Lite
//! bridge for the registers, an on-chip memory serving the accelerator's AXI4 master (and
//! loaded through the same UART), a power-on reset and status LEDs.

use super::bridge::UartBridge;
use super::led::Stretch;
use super::memory::AxiRam;
use super::uart::{UartRx, UartTx};
use crate::top::Top;
use crate::widen::PackBits;
use rust_hdl::prelude::*;
use spec::AccelConfig;

/// Board clock: the 25 MHz oscillator on pin G2, used directly (no PLL).
pub const CLOCK_HZ: u64 = 25_000_000;
/// UART speed (8N1) of the FTDI port.
pub const BAUD: u64 = 115_200;
/// Bits of the power-on reset counter: reset holds for the first 255 cycles.
const POR_BITS: usize = 8;
/// Bits of the heartbeat counter: LED 7 toggles every 2^24 cycles (0.67 s at 25 MHz).
/// (`update` reads bit 24: the macro takes literal bit numbers.)
const HEARTBEAT_BITS: usize = 25;

/// Clock cycles per UART bit at [`CLOCK_HZ`] and [`BAUD`] (217, 0.01 % fast).
pub fn clocks_per_bit() -> u64 {
    (CLOCK_HZ + BAUD / 2) / BAUD
}

/// What each LED shows.
pub const LEDS: [&str; 8] = [
    "irq: STATUS.DONE or STATUS.ERROR",
    "memory traffic of the accelerator (AXI4 beats, stretched)",
    "UART byte received (stretched)",
    "UART byte sent (stretched)",
    "reset (power-on or a button)",
    "off",
    "off",
    "heartbeat (the clock runs)",
];

/// The shell: ports named as in the ULX3S constraint files (`clk_25mhz`, `btn[1:0]`,
/// `ftdi_txd` from the FTDI chip, `ftdi_rxd` to it, `led[7:0]`, `wifi_gpio0`).
///
/// `VW`/`VBE`: the accelerator's vector-unit slice width and byte enables
/// (`8 vec_lanes`, `vec_lanes`).
#[derive(LogicBlock)]
pub struct UlxShell<const VW: usize, const VBE: usize> {
    /// 25 MHz oscillator.
    pub clk_25mhz: Signal<In, Clock>,
    /// `btn[0]` BTN_PWRn (low when pressed), `btn[1]` FIRE1 (high when pressed): either resets.
    pub btn: Signal<In, Bits<2>>,
    /// UART from the host (the FTDI chip's TXD).
    pub ftdi_txd: Signal<In, Bit>,
    /// UART to the host (the FTDI chip's RXD).
    pub ftdi_rxd: Signal<Out, Bit>,
    /// LEDs (see [`LEDS`]).
    pub led: Signal<Out, Bits<8>>,
    /// Held high so the ESP32 does not enter its boot loader and reconfigure the FPGA.
    pub wifi_gpio0: Signal<Out, Bit>,
    accel: Top<64, 8, VW, VBE>,
    mem: AxiRam,
    bridge: UartBridge,
    rx: UartRx,
    tx: UartTx,
    por: DFF<Bits<POR_BITS>>,
    heartbeat: DFF<Bits<HEARTBEAT_BITS>>,
    reset: Signal<Local, Bit>,
    traffic: Stretch,
    rx_seen: Stretch,
    tx_seen: Stretch,
    leds: PackBits<8>,
    por_done: Constant<Bits<POR_BITS>>,
    one_por: Constant<Bits<POR_BITS>>,
    one_beat: Constant<Bits<HEARTBEAT_BITS>>,
}

impl<const VW: usize, const VBE: usize> UlxShell<VW, VBE> {
    /// The shell around the accelerator for `cfg` (8 array rows: 64-bit AXI data), with
    /// `memory_bytes` of on-chip memory (a power of two) and a UART of `clocks_per_bit`.
    pub fn new(cfg: &AccelConfig, memory_bytes: usize, clocks_per_bit: u64) -> Self {
        assert_eq!(cfg.axi_data_bits(), 64, "the ULX3S shell serves a 64-bit AXI master (8 array rows)");
        UlxShell {
            clk_25mhz: Signal::default(),
            btn: Signal::default(),
            ftdi_txd: Signal::default(),
            ftdi_rxd: Signal::default(),
            led: Signal::default(),
            wifi_gpio0: Signal::default(),
            accel: Top::new(cfg),
            mem: AxiRam::new(memory_bytes / 8),
            bridge: UartBridge::default(),
            rx: UartRx::new(clocks_per_bit),
            tx: UartTx::new(clocks_per_bit),
            por: DFF::default(),
            heartbeat: DFF::default(),
            reset: Signal::default(),
            traffic: Stretch::default(),
            rx_seen: Stretch::default(),
            tx_seen: Stretch::default(),
            leds: PackBits::default(),
            por_done: Constant::new(bits((1 << POR_BITS) - 1)),
            one_por: Constant::new(bits(1)),
            one_beat: Constant::new(bits(1)),
        }
    }
}

impl<const VW: usize, const VBE: usize> Logic for UlxShell<VW, VBE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk_25mhz, por, heartbeat);
        clock!(self, clk_25mhz, mem, bridge, rx, tx, traffic, rx_seen, tx_seen);
        self.accel.aclk.next = self.clk_25mhz.val();

        // Reset: the FPGA's flip-flops start at 0, so `por` counts up once after configuration.
        if self.por.q.val() != self.por_done.val() {
            self.por.d.next = self.por.q.val() + self.one_por.val();
        }
        self.reset.next =
            (self.por.q.val() != self.por_done.val()) | !self.btn.val().get_bit(0) | self.btn.val().get_bit(1);
        self.accel.aresetn.next = !self.reset.val();
        self.mem.reset.next = self.reset.val();
        self.bridge.reset.next = self.reset.val();
        self.rx.reset.next = self.reset.val();
        self.tx.reset.next = self.reset.val();

        // UART <-> bridge.
        self.rx.rxd.next = self.ftdi_txd.val();
        self.ftdi_rxd.next = self.tx.txd.val();
        self.bridge.rx_data.next = self.rx.data.val();
        self.bridge.rx_valid.next = self.rx.valid.val();
        self.tx.data.next = self.bridge.tx_data.val();
        self.tx.valid.next = self.bridge.tx_valid.val();
        self.bridge.tx_ready.next = self.tx.ready.val();

        // Bridge -> registers and memory; accelerator master -> memory.
        super::bus::AxiLiteMaster::join(&mut self.bridge.m_axi, &mut self.accel.s_axi);
        super::bus::AxiReadSlave::<64>::join(&mut self.mem.s_rd, &mut self.accel.m_axi_rd);
        super::bus::AxiWriteSlave::<64, 8>::join(&mut self.mem.s_wr, &mut self.accel.m_axi_wr);
        self.mem.host_req.next = self.bridge.mem_req.val();
        self.mem.host_we.next = self.bridge.mem_we.val();
        self.mem.host_addr.next = self.bridge.mem_addr.val();
        self.mem.host_wdata.next = self.bridge.mem_wdata.val();
        self.bridge.mem_ack.next = self.mem.host_ack.val();
        self.bridge.mem_rdata.next = self.mem.host_rdata.val();

        // LEDs.
        self.heartbeat.d.next = self.heartbeat.q.val() + self.one_beat.val();
        self.traffic.pulse.next = (self.accel.m_axi_rd.rvalid.val() & self.accel.m_axi_rd.rready.val())
            | (self.accel.m_axi_wr.wvalid.val() & self.accel.m_axi_wr.wready.val());
        self.rx_seen.pulse.next = self.rx.valid.val();
        self.tx_seen.pulse.next = self.bridge.tx_valid.val() & self.tx.ready.val();
        self.leds.lanes[0].next = self.accel.irq.val();
        self.leds.lanes[1].next = self.traffic.led.val();
        self.leds.lanes[2].next = self.rx_seen.led.val();
        self.leds.lanes[3].next = self.tx_seen.led.val();
        self.leds.lanes[4].next = self.reset.val();
        self.leds.lanes[5].next = false;
        self.leds.lanes[6].next = false;
        self.leds.lanes[7].next = self.heartbeat.q.val().get_bit(24);
        self.led.next = self.leds.dout.val();
        self.wifi_gpio0.next = true;
    }
}
