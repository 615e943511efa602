//! Pulse stretching for the board's LEDs: a one-cycle pulse lights an LED long enough to see.

use rust_hdl::prelude::*;

/// Bits of the stretch counter: a pulse lights the LED for 2^22 cycles (168 ms at 25 MHz).
pub const STRETCH_BITS: usize = 22;

/// `led` is high from a `pulse` cycle until 2^[`STRETCH_BITS`] - 1 cycles after the last one.
#[derive(LogicBlock)]
pub struct Stretch {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Event (any cycle it is high restarts the count).
    pub pulse: Signal<In, Bit>,
    /// Stretched output.
    pub led: Signal<Out, Bit>,
    left: DFF<Bits<STRETCH_BITS>>,
    full: Constant<Bits<STRETCH_BITS>>,
    one: Constant<Bits<STRETCH_BITS>>,
    zero: Constant<Bits<STRETCH_BITS>>,
}

impl Default for Stretch {
    fn default() -> Self {
        Stretch {
            clock: Signal::default(),
            pulse: Signal::default(),
            led: Signal::default(),
            left: DFF::default(),
            full: Constant::new(bits((1 << STRETCH_BITS) - 1)),
            one: Constant::new(bits(1)),
            zero: Constant::new(bits(0)),
        }
    }
}

impl Logic for Stretch {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, left);
        if self.pulse.val() {
            self.left.d.next = self.full.val();
        } else if self.left.q.val() != self.zero.val() {
            self.left.d.next = self.left.q.val() - self.one.val();
        }
        self.led.next = self.pulse.val() | (self.left.q.val() != self.zero.val());
    }
}
