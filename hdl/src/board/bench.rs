//! Tests of the board shell's UART bridge: serial frames in, register and memory accesses,
//! serial answers out, in Rust-HDL's simulator (the real register block and board memory).

use super::bridge::{UartBridge, ACK, CMD_READ, CMD_WRITE, MEMORY_SPACE};
use super::bus::AxiReadSlave;
use super::memory::AxiRam;
use super::uart::{UartRx, UartTx};
use crate::axi_lite::AxiLiteRegs;
use rust_hdl::prelude::*;

/// Clock cycles per UART bit in the tests (the board uses 217).
const CPB: u64 = 8;
/// CONFIG_HASH the bench's register block reports.
const HASH: u32 = 0x5eed_1234;

/// UART pins -> receiver -> bridge -> register block and memory -> transmitter -> UART pins.
#[derive(LogicBlock)]
struct Bench {
    clock: Signal<In, Clock>,
    reset: Signal<In, Bit>,
    rxd: Signal<In, Bit>,
    txd: Signal<Out, Bit>,
    /// The memory's AXI read port, left idle by the testbench.
    m_rd: AxiReadSlave<64>,
    m_wr: super::bus::AxiWriteSlave<64, 8>,
    rx: UartRx,
    tx: UartTx,
    bridge: UartBridge,
    regs: AxiLiteRegs,
    mem: AxiRam,
    z8: Constant<Bits<8>>,
    z16: Constant<Bits<16>>,
    z32: Constant<Bits<32>>,
    z64: Constant<Bits<64>>,
}

impl Bench {
    fn new() -> Self {
        Bench {
            clock: Signal::default(),
            reset: Signal::default(),
            rxd: Signal::default(),
            txd: Signal::default(),
            m_rd: AxiReadSlave::default(),
            m_wr: Default::default(),
            rx: UartRx::new(CPB),
            tx: UartTx::new(CPB),
            bridge: UartBridge::default(),
            regs: AxiLiteRegs::new(HASH, 0),
            mem: AxiRam::new(64),
            z8: Constant::new(bits(0)),
            z16: Constant::new(bits(0)),
            z32: Constant::new(bits(0)),
            z64: Constant::new(bits(0)),
        }
    }
}

impl Logic for Bench {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, rx, tx, bridge, regs, mem);
        self.rx.reset.next = self.reset.val();
        self.tx.reset.next = self.reset.val();
        self.bridge.reset.next = self.reset.val();
        self.regs.reset.next = self.reset.val();
        self.mem.reset.next = self.reset.val();
        self.rx.rxd.next = self.rxd.val();
        self.txd.next = self.tx.txd.val();
        self.bridge.rx_data.next = self.rx.data.val();
        self.bridge.rx_valid.next = self.rx.valid.val();
        self.tx.data.next = self.bridge.tx_data.val();
        self.tx.valid.next = self.bridge.tx_valid.val();
        self.bridge.tx_ready.next = self.tx.ready.val();
        super::bus::AxiLiteMaster::join(&mut self.bridge.m_axi, &mut self.regs.s_axi);
        AxiReadSlave::<64>::link(&mut self.m_rd, &mut self.mem.s_rd);
        super::bus::AxiWriteSlave::<64, 8>::link(&mut self.m_wr, &mut self.mem.s_wr);
        self.mem.host_req.next = self.bridge.mem_req.val();
        self.mem.host_we.next = self.bridge.mem_we.val();
        self.mem.host_addr.next = self.bridge.mem_addr.val();
        self.mem.host_wdata.next = self.bridge.mem_wdata.val();
        self.bridge.mem_ack.next = self.mem.host_ack.val();
        self.bridge.mem_rdata.next = self.mem.host_rdata.val();
        // The accelerator side of the register block, idle.
        self.regs.live_we.next = false;
        self.regs.live_in.next = self.z16.val();
        self.regs.busy.next = false;
        self.regs.done.next = false;
        self.regs.error.next = false;
        self.regs.error_code.next = self.z8.val();
        self.regs.error_insn.next = self.z32.val();
        self.regs.insn_done.next = self.z32.val();
        self.regs.cycles.next = self.z64.val();
        self.regs.active.next = self.z64.val();
        self.regs.unit_busy[0].next = self.z32.val();
        self.regs.unit_busy[1].next = self.z32.val();
        self.regs.unit_busy[2].next = self.z32.val();
    }
}

/// A frame: command, address, optional data (little-endian).
fn frame(cmd: u8, addr: u32, data: Option<u32>) -> Vec<u8> {
    let mut f = vec![cmd];
    f.extend(addr.to_le_bytes());
    if let Some(d) = data {
        f.extend(d.to_le_bytes());
    }
    f
}

/// Send `frames` to the bench one after another; return every byte the bench sends back,
/// decoded from `txd` by sampling the middle of each bit.
fn exchange(frames: Vec<(Vec<u8>, usize)>) -> Vec<u8> {
    let mut uut = Bench::new();
    uut.connect_all();
    let mut sim = Simulation::new();
    sim.add_clock(5, |x: &mut Box<Bench>| x.clock.next = !x.clock.val());
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let out = received.clone();
    sim.add_testbench(move |mut ep: Sim<Bench>| {
        let mut x = ep.init()?;
        x.rxd.next = true;
        x.reset.next = true;
        for _ in 0..4 {
            wait_clock_cycle!(ep, clock, x);
        }
        x.reset.next = false;
        for _ in 0..4 * CPB {
            wait_clock_cycle!(ep, clock, x);
        }
        for (bytes, answer_len) in frames.clone() {
            for b in bytes {
                let line: Vec<bool> =
                    std::iter::once(false).chain((0..8).map(|i| b >> i & 1 == 1)).chain([true]).collect();
                for level in line {
                    x.rxd.next = level;
                    for _ in 0..CPB {
                        wait_clock_cycle!(ep, clock, x);
                    }
                }
            }
            for _ in 0..answer_len {
                // Wait for a start bit (bounded), then sample mid-bit.
                let mut waited = 0;
                while x.txd.val() {
                    wait_clock_cycle!(ep, clock, x);
                    waited += 1;
                    sim_assert!(ep, waited < 200 * CPB, x);
                }
                for _ in 0..CPB / 2 {
                    wait_clock_cycle!(ep, clock, x);
                }
                let mut byte = 0u8;
                for i in 0..9 {
                    for _ in 0..CPB {
                        wait_clock_cycle!(ep, clock, x);
                    }
                    if i < 8 {
                        byte |= (x.txd.val() as u8) << i;
                    } else {
                        sim_assert!(ep, x.txd.val(), x);
                    }
                }
                out.lock().unwrap().push(byte);
            }
            // Nothing more comes.
            for _ in 0..12 * CPB {
                wait_clock_cycle!(ep, clock, x);
                sim_assert!(ep, x.txd.val(), x);
            }
        }
        ep.done(x)
    });
    sim.run(Box::new(uut), 50_000_000).unwrap();
    let bytes = received.lock().unwrap().clone();
    bytes
}

#[test]
fn register_and_memory_frames_get_their_answers() {
    let scratch = spec::regmap::SCRATCH.offset;
    let hash = spec::regmap::CONFIG_HASH.offset;
    let m = MEMORY_SPACE;
    let got = exchange(vec![
        (frame(CMD_READ, hash, None), 4),
        (frame(CMD_WRITE, scratch, Some(0xa5c3_1e07)), 1),
        (frame(CMD_READ, scratch, None), 4),
        (frame(CMD_WRITE, m | 0x10, Some(0xdead_beef)), 1),
        (frame(CMD_WRITE, m | 0x14, Some(0x0123_4567)), 1),
        (frame(CMD_WRITE, m | 0x18, Some(0x89ab_cdef)), 1),
        (frame(CMD_READ, m | 0x14, None), 4),
        (frame(CMD_READ, m | 0x10, None), 4),
        (frame(CMD_READ, m | 0x1c, None), 4),
        (frame(CMD_READ, scratch, None), 4),
    ]);
    let mut want = Vec::new();
    want.extend(HASH.to_le_bytes());
    want.push(ACK);
    want.extend(0xa5c3_1e07u32.to_le_bytes());
    want.extend([ACK, ACK, ACK]);
    want.extend(0x0123_4567u32.to_le_bytes());
    want.extend(0xdead_beefu32.to_le_bytes());
    want.extend(0u32.to_le_bytes());
    want.extend(0xa5c3_1e07u32.to_le_bytes());
    assert_eq!(got, want);
}

#[test]
fn bytes_that_start_no_frame_are_ignored() {
    let scratch = spec::regmap::SCRATCH.offset;
    let got = exchange(vec![
        (vec![0x00, 0xff, b'x'], 0),
        (frame(CMD_WRITE, scratch, Some(0x600d_f00d)), 1),
        (frame(CMD_READ, scratch, None), 4),
    ]);
    let mut want = vec![ACK];
    want.extend(0x600d_f00du32.to_le_bytes());
    assert_eq!(got, want);
}
