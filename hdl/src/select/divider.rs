//! The selector's shared restoring divider: `div_round(a, b) = floor((2a + b) / (2b))` for a
//! signed `a` and `b > 0` whose result is an int16, one quotient bit per cycle.
//!
//! The quotient of `N = 2a + b + 2^16 b` by `2b` is `q + 2^15`, in `0..2^16` when `q` is an
//! int16, so [`QUOTIENT_BITS`] restoring steps give it; `q` is that with the top bit flipped.

use super::{DIV_BITS, QUOTIENT_BITS};
use rust_hdl::prelude::*;

/// `load` takes `dividend`/`divisor`; then [`QUOTIENT_BITS`] cycles of `step`, the last of
/// which has `last` high and the result on `quotient`.
#[derive(LogicBlock)]
pub struct RoundDivider {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Load the operands this cycle.
    pub load: Signal<In, Bit>,
    /// Produce one quotient bit this cycle.
    pub step: Signal<In, Bit>,
    /// `a`, two's complement in [`DIV_BITS`] bits (`0 <= 2a + b + 2^16 b < 2^49` when the
    /// result is an int16 and `b < 2^32`).
    pub dividend: Signal<In, Bits<DIV_BITS>>,
    /// `b > 0`, `b < 2^32`.
    pub divisor: Signal<In, Bits<DIV_BITS>>,
    /// The int16 result once the step with `last` high is taken (valid in that cycle).
    pub quotient: Signal<Out, Bits<16>>,
    /// The step of this cycle is the last one.
    pub last: Signal<Out, Bit>,
    remainder: DFF<Bits<DIV_BITS>>,
    shifted_divisor: DFF<Bits<DIV_BITS>>,
    quotient_bits: DFF<Bits<16>>,
    steps_left: DFF<Bits<8>>,
    takes: Signal<Local, Bit>,
    next_quotient: Signal<Local, Bits<16>>,
    one16: Constant<Bits<16>>,
    sign16: Constant<Bits<16>>,
    zero16: Constant<Bits<16>>,
    last_step: Constant<Bits<8>>,
    zero8: Constant<Bits<8>>,
}

impl Default for RoundDivider {
    fn default() -> Self {
        RoundDivider {
            clock: Signal::default(),
            load: Signal::default(),
            step: Signal::default(),
            dividend: Signal::default(),
            divisor: Signal::default(),
            quotient: Signal::default(),
            last: Signal::default(),
            remainder: DFF::default(),
            shifted_divisor: DFF::default(),
            quotient_bits: DFF::default(),
            steps_left: DFF::default(),
            takes: Signal::default(),
            next_quotient: Signal::default(),
            one16: Constant::new(1u64.into()),
            sign16: Constant::new((1u64 << 15).into()),
            zero16: Constant::new(0u64.into()),
            last_step: Constant::new((QUOTIENT_BITS as u64 - 1).into()),
            zero8: Constant::new(0u64.into()),
        }
    }
}

impl Logic for RoundDivider {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, remainder, shifted_divisor, quotient_bits, steps_left);
        self.takes.next = self.remainder.q.val() >= self.shifted_divisor.q.val();
        self.next_quotient.next = self.quotient_bits.q.val() << 1;
        if self.takes.val() {
            self.next_quotient.next = (self.quotient_bits.q.val() << 1) | self.one16.val();
        }
        self.quotient.next = self.next_quotient.val() ^ self.sign16.val();
        self.last.next = self.steps_left.q.val() == self.zero8.val();
        if self.load.val() {
            self.remainder.d.next = (self.dividend.val() << 1) + self.divisor.val() + (self.divisor.val() << 16);
            self.shifted_divisor.d.next = self.divisor.val() << 16;
            self.quotient_bits.d.next = self.zero16.val();
            self.steps_left.d.next = self.last_step.val();
        }
        if self.step.val() {
            if self.takes.val() {
                self.remainder.d.next = self.remainder.q.val() - self.shifted_divisor.q.val();
            }
            self.quotient_bits.d.next = self.next_quotient.val();
            self.shifted_divisor.d.next = self.shifted_divisor.q.val() >> 1;
            self.steps_left.d.next = self.steps_left.q.val() - 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use spec::numerics::div_round;

    /// Divides every `(a, b)` in one simulation (load, 16 steps, one idle cycle each) and
    /// returns the quotients and whether `last` was high exactly on the 16th step.
    fn divide(pairs: Vec<(i64, u64)>) -> Vec<(i16, bool)> {
        let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = out.clone();
        let mut uut = RoundDivider::default();
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<RoundDivider>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<RoundDivider>| {
            let mut x = ep.init()?;
            for &(a, b) in &pairs {
                x.dividend.next = ((a as u64) & ((1 << DIV_BITS) - 1)).into();
                x.divisor.next = b.into();
                x.load.next = true;
                wait_clock_cycle!(ep, clock, x);
                x.load.next = false;
                x.step.next = true;
                let mut last_ok = true;
                for s in 0..QUOTIENT_BITS {
                    last_ok &= x.last.val() == (s + 1 == QUOTIENT_BITS);
                    if s + 1 < QUOTIENT_BITS {
                        wait_clock_cycle!(ep, clock, x);
                    }
                }
                sink.lock().unwrap().push((x.quotient.val().index() as u16 as i16, last_ok));
                wait_clock_cycle!(ep, clock, x);
                x.step.next = false;
                wait_clock_cycle!(ep, clock, x);
            }
            ep.done(x)
        });
        sim.run(Box::new(uut), 1 << 40).unwrap();
        let quotients = out.lock().unwrap().clone();
        quotients
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        /// Against `spec::numerics::div_round` for divisors up to `2^32` and every dividend
        /// whose rounded quotient is an int16 (the range the engine guarantees), the extremes
        /// included.
        #[test]
        fn divider_rounds_like_spec(
            pairs in prop::collection::vec((1u64..=1 << 32, -32768i64..=32767, 0.0f64..1.0), 1..24)
        ) {
            let pairs: Vec<(i64, u64)> = pairs
                .into_iter()
                .map(|(b, q, f)| {
                    // a = q b + r with |r| <= b/2, so div_round(a, b) = q (or q + 1 when the
                    // rounding goes up at the top; clamp back into the int16 range).
                    let r = ((f - 0.5) * b as f64) as i64;
                    let a = q * b as i64 + r;
                    let a = if div_round(a, b as i64) > 32767 { a - b as i64 } else { a };
                    let a = if div_round(a, b as i64) < -32768 { a + b as i64 } else { a };
                    (a, b)
                })
                .collect();
            let got = divide(pairs.clone());
            for ((a, b), (q, last_ok)) in pairs.into_iter().zip(got) {
                prop_assert!(last_ok, "last high on the last step only");
                prop_assert_eq!(q as i64, div_round(a, b as i64), "a = {}, b = {}", a, b);
            }
        }
    }
}
