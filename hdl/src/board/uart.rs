//! 8N1 UART receiver and transmitter at a fixed number of clock cycles per bit.

use rust_hdl::prelude::*;

/// Bits of the bit-period counter: up to 65535 clock cycles per bit.
pub const DIVIDER_BITS: usize = 16;

fn divider(clocks_per_bit: u64) -> Constant<Bits<DIVIDER_BITS>> {
    assert!((4..1 << DIVIDER_BITS).contains(&clocks_per_bit), "{clocks_per_bit} clock cycles per UART bit");
    Constant::new(bits(clocks_per_bit - 1))
}

/// 8N1 receiver: after a falling edge of `rxd` it samples the middle of the start bit (a high
/// line there is a glitch and is ignored), then the middle of each data bit (LSB first) and of
/// the stop bit; with a high stop bit, `valid` pulses for one cycle with the byte in `data`
/// (a low stop bit drops the byte). `rxd` passes two synchronizer flip-flops.
#[derive(LogicBlock)]
pub struct UartRx {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset, active high.
    pub reset: Signal<In, Bit>,
    /// Serial input (idle high).
    pub rxd: Signal<In, Bit>,
    /// The last byte received.
    pub data: Signal<Out, Bits<8>>,
    /// One-cycle pulse: `data` is a new byte.
    pub valid: Signal<Out, Bit>,
    sync1: DFF<Bit>,
    sync2: DFF<Bit>,
    busy: DFF<Bit>,
    count: DFF<Bits<DIVIDER_BITS>>,
    bit_index: DFF<Bits<4>>,
    shift: DFF<Bits<8>>,
    strobe: DFF<Bit>,
    full_bit: Constant<Bits<DIVIDER_BITS>>,
    half_bit: Constant<Bits<DIVIDER_BITS>>,
    one: Constant<Bits<DIVIDER_BITS>>,
    zero: Constant<Bits<DIVIDER_BITS>>,
    zero4: Constant<Bits<4>>,
    one4: Constant<Bits<4>>,
    stop_index: Constant<Bits<4>>,
    msb: Constant<Bits<8>>,
}

impl UartRx {
    /// A receiver for `clocks_per_bit` clock cycles per bit (4..=65535).
    pub fn new(clocks_per_bit: u64) -> Self {
        UartRx {
            clock: Signal::default(),
            reset: Signal::default(),
            rxd: Signal::default(),
            data: Signal::default(),
            valid: Signal::default(),
            sync1: DFF::default(),
            sync2: DFF::default(),
            busy: DFF::default(),
            count: DFF::default(),
            bit_index: DFF::default(),
            shift: DFF::default(),
            strobe: DFF::default(),
            full_bit: divider(clocks_per_bit),
            half_bit: Constant::new(bits(clocks_per_bit / 2 - 1)),
            one: Constant::new(bits(1)),
            zero: Constant::new(bits(0)),
            zero4: Constant::new(bits(0)),
            one4: Constant::new(bits(1)),
            stop_index: Constant::new(bits(9)),
            msb: Constant::new(bits(0x80)),
        }
    }
}

impl Logic for UartRx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, sync1, sync2, busy, count, bit_index, shift, strobe);
        self.sync1.d.next = self.rxd.val();
        self.sync2.d.next = self.sync1.q.val();
        self.strobe.d.next = false;
        if !self.busy.q.val() {
            if !self.sync2.q.val() {
                self.busy.d.next = true;
                self.count.d.next = self.half_bit.val();
                self.bit_index.d.next = self.zero4.val();
            }
        } else if self.count.q.val() != self.zero.val() {
            self.count.d.next = self.count.q.val() - self.one.val();
        } else {
            // The middle of bit `bit_index`: 0 start, 1..=8 data, 9 stop.
            self.count.d.next = self.full_bit.val();
            self.bit_index.d.next = self.bit_index.q.val() + self.one4.val();
            if self.bit_index.q.val() == self.zero4.val() {
                if self.sync2.q.val() {
                    self.busy.d.next = false;
                }
            } else if self.bit_index.q.val() != self.stop_index.val() {
                self.shift.d.next = self.shift.q.val() >> 1;
                if self.sync2.q.val() {
                    self.shift.d.next = (self.shift.q.val() >> 1) | self.msb.val();
                }
            } else {
                self.busy.d.next = false;
                self.strobe.d.next = self.sync2.q.val();
            }
        }
        if self.reset.val() {
            self.busy.d.next = false;
            self.strobe.d.next = false;
        }
        self.data.next = self.shift.q.val();
        self.valid.next = self.strobe.q.val();
    }
}

/// 8N1 transmitter: takes a byte when `valid` and `ready` are both high, sends the start bit,
/// the eight data bits LSB first and the stop bit, one bit period each; `ready` is high when
/// idle. `txd` is a register output, high when idle.
#[derive(LogicBlock)]
pub struct UartTx {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset, active high.
    pub reset: Signal<In, Bit>,
    /// Byte to send.
    pub data: Signal<In, Bits<8>>,
    /// `data` is valid.
    pub valid: Signal<In, Bit>,
    /// Idle: a byte offered now is taken.
    pub ready: Signal<Out, Bit>,
    /// Serial output.
    pub txd: Signal<Out, Bit>,
    busy: DFF<Bit>,
    line: DFF<Bit>,
    count: DFF<Bits<DIVIDER_BITS>>,
    bit_index: DFF<Bits<4>>,
    shift: DFF<Bits<8>>,
    full_bit: Constant<Bits<DIVIDER_BITS>>,
    one: Constant<Bits<DIVIDER_BITS>>,
    zero: Constant<Bits<DIVIDER_BITS>>,
    zero4: Constant<Bits<4>>,
    one4: Constant<Bits<4>>,
    last_data: Constant<Bits<4>>,
    stop_index: Constant<Bits<4>>,
}

impl UartTx {
    /// A transmitter for `clocks_per_bit` clock cycles per bit (4..=65535).
    pub fn new(clocks_per_bit: u64) -> Self {
        UartTx {
            clock: Signal::default(),
            reset: Signal::default(),
            data: Signal::default(),
            valid: Signal::default(),
            ready: Signal::default(),
            txd: Signal::default(),
            busy: DFF::default(),
            line: DFF::default(),
            count: DFF::default(),
            bit_index: DFF::default(),
            shift: DFF::default(),
            full_bit: divider(clocks_per_bit),
            one: Constant::new(bits(1)),
            zero: Constant::new(bits(0)),
            zero4: Constant::new(bits(0)),
            one4: Constant::new(bits(1)),
            last_data: Constant::new(bits(8)),
            stop_index: Constant::new(bits(9)),
        }
    }
}

impl Logic for UartTx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, busy, line, count, bit_index, shift);
        if !self.busy.q.val() {
            self.line.d.next = true;
            if self.valid.val() {
                self.busy.d.next = true;
                self.line.d.next = false;
                self.shift.d.next = self.data.val();
                self.count.d.next = self.full_bit.val();
                self.bit_index.d.next = self.zero4.val();
            }
        } else if self.count.q.val() != self.zero.val() {
            self.count.d.next = self.count.q.val() - self.one.val();
        } else {
            // The end of bit `bit_index`: 0 start, 1..=8 data, 9 stop.
            self.count.d.next = self.full_bit.val();
            self.bit_index.d.next = self.bit_index.q.val() + self.one4.val();
            if self.bit_index.q.val() < self.last_data.val() {
                self.line.d.next = self.shift.q.val().get_bit(0);
                self.shift.d.next = self.shift.q.val() >> 1;
            } else if self.bit_index.q.val() == self.last_data.val() {
                self.line.d.next = true;
            } else if self.bit_index.q.val() == self.stop_index.val() {
                self.busy.d.next = false;
            }
        }
        if self.reset.val() {
            self.busy.d.next = false;
            self.line.d.next = true;
        }
        self.ready.next = !self.busy.q.val();
        self.txd.next = self.line.q.val();
    }
}
