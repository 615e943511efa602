//! The UART command bridge: byte frames from the host become AXI4-Lite register accesses or
//! 32-bit accesses of the board memory, and their answers go back as bytes.
//!
//! Frames (all multi-byte fields little-endian):
//!
//! | host sends | board answers |
//! |---|---|
//! | [`CMD_READ`], address (4 bytes) | the 32-bit word (4 bytes) |
//! | [`CMD_WRITE`], address (4 bytes), data (4 bytes) | [`ACK`] (or [`NACK`] for an AXI error response) |
//!
//! An address with bit 31 ([`MEMORY_SPACE`]) set is a byte address in the board memory (bits
//! 30..0, 4-byte aligned); otherwise its low 12 bits are a register offset of the accelerator's
//! AXI4-Lite window (`spec::regmap`). A byte that starts no frame is ignored, so a host resyncs
//! by waiting out one answer's time and sending a fresh frame.

use super::bus::AxiLiteMaster;
use crate::widen::Concat;
use rust_hdl::prelude::*;

/// First byte of a read frame.
pub const CMD_READ: u8 = b'R';
/// First byte of a write frame.
pub const CMD_WRITE: u8 = b'W';
/// Answer to a write the slave accepted (AXI OKAY).
pub const ACK: u8 = b'K';
/// Answer to a write with an AXI error response.
pub const NACK: u8 = b'E';
/// Address bit selecting the board memory instead of the register window.
pub const MEMORY_SPACE: u32 = 1 << 31;

const IDLE: u64 = 0;
const ADDR: u64 = 1;
const DATA: u64 = 2;
const EXEC: u64 = 3;
const WAIT: u64 = 4;
const RESP: u64 = 5;

/// The bridge's frame engine (see the module documentation for the frames).
#[derive(LogicBlock)]
pub struct UartBridge {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset, active high.
    pub reset: Signal<In, Bit>,
    /// Received byte.
    pub rx_data: Signal<In, Bits<8>>,
    /// One-cycle pulse: `rx_data` is new.
    pub rx_valid: Signal<In, Bit>,
    /// Byte to send.
    pub tx_data: Signal<Out, Bits<8>>,
    /// `tx_data` is valid.
    pub tx_valid: Signal<Out, Bit>,
    /// The transmitter takes `tx_data`.
    pub tx_ready: Signal<In, Bit>,
    /// The accelerator's register window.
    pub m_axi: AxiLiteMaster,
    /// Memory request (held until `mem_ack`).
    pub mem_req: Signal<Out, Bit>,
    /// Memory request is a write.
    pub mem_we: Signal<Out, Bit>,
    /// Memory byte address (bit 31 set; the memory decodes the bits it has).
    pub mem_addr: Signal<Out, Bits<32>>,
    /// Memory write data.
    pub mem_wdata: Signal<Out, Bits<32>>,
    /// Memory request done.
    pub mem_ack: Signal<In, Bit>,
    /// Memory read data, valid with `mem_ack`.
    pub mem_rdata: Signal<In, Bits<32>>,
    state: DFF<Bits<3>>,
    write: DFF<Bit>,
    count: DFF<Bits<2>>,
    addr: DFF<Bits<32>>,
    data: DFF<Bits<32>>,
    aw_done: DFF<Bit>,
    w_done: DFF<Bit>,
    failed: DFF<Bit>,
    addr_in: Concat<8, 24, 32>,
    data_in: Concat<8, 24, 32>,
    to_memory: Signal<Local, Bit>,
    exec_regs: Signal<Local, Bit>,
    /// Read responses are not reported (the register block answers OKAY).
    unused_rresp: Signal<Local, Bits<2>>,
    st_idle: Constant<Bits<3>>,
    st_addr: Constant<Bits<3>>,
    st_data: Constant<Bits<3>>,
    st_exec: Constant<Bits<3>>,
    st_wait: Constant<Bits<3>>,
    st_resp: Constant<Bits<3>>,
    cmd_read: Constant<Bits<8>>,
    cmd_write: Constant<Bits<8>>,
    ack: Constant<Bits<8>>,
    nack: Constant<Bits<8>>,
    last_byte: Constant<Bits<2>>,
    one2: Constant<Bits<2>>,
    zero2: Constant<Bits<2>>,
    okay: Constant<Bits<2>>,
    all_bytes: Constant<Bits<4>>,
}

impl Default for UartBridge {
    fn default() -> Self {
        let state = |s: u64| Constant::new(bits(s));
        UartBridge {
            clock: Signal::default(),
            reset: Signal::default(),
            rx_data: Signal::default(),
            rx_valid: Signal::default(),
            tx_data: Signal::default(),
            tx_valid: Signal::default(),
            tx_ready: Signal::default(),
            m_axi: AxiLiteMaster::default(),
            mem_req: Signal::default(),
            mem_we: Signal::default(),
            mem_addr: Signal::default(),
            mem_wdata: Signal::default(),
            mem_ack: Signal::default(),
            mem_rdata: Signal::default(),
            state: DFF::default(),
            write: DFF::default(),
            count: DFF::default(),
            addr: DFF::default(),
            data: DFF::default(),
            aw_done: DFF::default(),
            w_done: DFF::default(),
            failed: DFF::default(),
            addr_in: Concat::default(),
            data_in: Concat::default(),
            to_memory: Signal::default(),
            exec_regs: Signal::default(),
            unused_rresp: Signal::default(),
            st_idle: state(IDLE),
            st_addr: state(ADDR),
            st_data: state(DATA),
            st_exec: state(EXEC),
            st_wait: state(WAIT),
            st_resp: state(RESP),
            cmd_read: Constant::new(bits(CMD_READ as u64)),
            cmd_write: Constant::new(bits(CMD_WRITE as u64)),
            ack: Constant::new(bits(ACK as u64)),
            nack: Constant::new(bits(NACK as u64)),
            last_byte: Constant::new(bits(3)),
            one2: Constant::new(bits(1)),
            zero2: Constant::new(bits(0)),
            okay: Constant::new(bits(0)),
            all_bytes: Constant::new(bits(0xf)),
        }
    }
}

impl Logic for UartBridge {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state, write, count, addr, data, aw_done, w_done, failed);
        // Little-endian fields: each byte enters at the top and the word shifts down.
        self.addr_in.hi.next = self.rx_data.val();
        self.addr_in.lo.next = self.addr.q.val().get_bits::<24>(8);
        self.data_in.hi.next = self.rx_data.val();
        self.data_in.lo.next = self.data.q.val().get_bits::<24>(8);
        self.to_memory.next = self.addr.q.val().get_bit(31);
        self.unused_rresp.next = self.m_axi.rresp.val();

        if self.state.q.val() == self.st_idle.val() {
            self.count.d.next = self.zero2.val();
            self.aw_done.d.next = false;
            self.w_done.d.next = false;
            self.failed.d.next = false;
            if self.rx_valid.val() & (self.rx_data.val() == self.cmd_read.val()) {
                self.write.d.next = false;
                self.state.d.next = self.st_addr.val();
            }
            if self.rx_valid.val() & (self.rx_data.val() == self.cmd_write.val()) {
                self.write.d.next = true;
                self.state.d.next = self.st_addr.val();
            }
        } else if self.state.q.val() == self.st_addr.val() {
            if self.rx_valid.val() {
                self.addr.d.next = self.addr_in.dout.val();
                self.count.d.next = self.count.q.val() + self.one2.val();
                if self.count.q.val() == self.last_byte.val() {
                    self.state.d.next = self.st_exec.val();
                    if self.write.q.val() {
                        self.state.d.next = self.st_data.val();
                    }
                }
            }
        } else if self.state.q.val() == self.st_data.val() {
            if self.rx_valid.val() {
                self.data.d.next = self.data_in.dout.val();
                self.count.d.next = self.count.q.val() + self.one2.val();
                if self.count.q.val() == self.last_byte.val() {
                    self.state.d.next = self.st_exec.val();
                }
            }
        } else if self.state.q.val() == self.st_exec.val() {
            if self.to_memory.val() {
                if self.mem_ack.val() {
                    if !self.write.q.val() {
                        self.data.d.next = self.mem_rdata.val();
                    }
                    self.state.d.next = self.st_resp.val();
                }
            } else if self.write.q.val() {
                if self.m_axi.awready.val() {
                    self.aw_done.d.next = true;
                }
                if self.m_axi.wready.val() {
                    self.w_done.d.next = true;
                }
                if (self.aw_done.q.val() | self.m_axi.awready.val()) & (self.w_done.q.val() | self.m_axi.wready.val()) {
                    self.state.d.next = self.st_wait.val();
                }
            } else if self.m_axi.arready.val() {
                self.state.d.next = self.st_wait.val();
            }
        } else if self.state.q.val() == self.st_wait.val() {
            if self.write.q.val() & self.m_axi.bvalid.val() {
                self.failed.d.next = self.m_axi.bresp.val() != self.okay.val();
                self.state.d.next = self.st_resp.val();
            }
            if !self.write.q.val() & self.m_axi.rvalid.val() {
                self.data.d.next = self.m_axi.rdata.val();
                self.state.d.next = self.st_resp.val();
            }
        } else if self.state.q.val() == self.st_resp.val() {
            if self.tx_ready.val() {
                self.count.d.next = self.count.q.val() + self.one2.val();
                self.data.d.next = self.data.q.val() >> 8;
                if self.write.q.val() | (self.count.q.val() == self.last_byte.val()) {
                    self.state.d.next = self.st_idle.val();
                }
            }
        } else {
            self.state.d.next = self.st_idle.val();
        }
        if self.reset.val() {
            self.state.d.next = self.st_idle.val();
        }

        self.exec_regs.next = (self.state.q.val() == self.st_exec.val()) & !self.to_memory.val();
        self.m_axi.awaddr.next = self.addr.q.val().get_bits::<12>(0);
        self.m_axi.awvalid.next = self.exec_regs.val() & self.write.q.val() & !self.aw_done.q.val();
        self.m_axi.wdata.next = self.data.q.val();
        self.m_axi.wstrb.next = self.all_bytes.val();
        self.m_axi.wvalid.next = self.exec_regs.val() & self.write.q.val() & !self.w_done.q.val();
        self.m_axi.bready.next = (self.state.q.val() == self.st_wait.val()) & self.write.q.val();
        self.m_axi.araddr.next = self.addr.q.val().get_bits::<12>(0);
        self.m_axi.arvalid.next = self.exec_regs.val() & !self.write.q.val();
        self.m_axi.rready.next = (self.state.q.val() == self.st_wait.val()) & !self.write.q.val();
        self.mem_req.next = (self.state.q.val() == self.st_exec.val()) & self.to_memory.val();
        self.mem_we.next = self.write.q.val();
        self.mem_addr.next = self.addr.q.val();
        self.mem_wdata.next = self.data.q.val();
        self.tx_valid.next = self.state.q.val() == self.st_resp.val();
        self.tx_data.next = self.data.q.val().get_bits::<8>(0);
        if self.write.q.val() {
            self.tx_data.next = self.ack.val();
            if self.failed.q.val() {
                self.tx_data.next = self.nack.val();
            }
        }
    }
}
