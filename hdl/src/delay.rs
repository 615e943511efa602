//! Fixed-depth delay lines (shift registers): [`DelayLine`] for data, [`ValidLine`] for the
//! valid bits of a pipeline that a reset must empty.

use rust_hdl::prelude::*;

/// `dout(t) = din(t - depth)`, `depth >= 1`.
#[derive(LogicBlock)]
pub struct DelayLine<T: Synth> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Input.
    pub din: Signal<In, T>,
    /// Input delayed by `depth` cycles.
    pub dout: Signal<Out, T>,
    regs: Vec<DFF<T>>,
    _depth: usize,
}

impl<T: Synth> DelayLine<T> {
    /// A delay line of `depth >= 1` registers.
    pub fn new(depth: usize) -> Self {
        assert!(depth >= 1, "a delay line needs at least one register");
        DelayLine {
            clock: Signal::default(),
            din: Signal::default(),
            dout: Signal::default(),
            regs: (0..depth).map(|_| DFF::default()).collect(),
            _depth: depth,
        }
    }
}

impl<T: Synth> Logic for DelayLine<T> {
    #[hdl_gen]
    fn update(&mut self) {
        for i in 0..self._depth {
            self.regs[i].clock.next = self.clock.val();
        }
        self.regs[0].d.next = self.din.val();
        for i in 1..self._depth {
            self.regs[i].d.next = self.regs[i - 1].q.val();
        }
        for last in (self._depth - 1)..self._depth {
            self.dout.next = self.regs[last].q.val();
        }
    }
}

/// A delay line of valid bits with a synchronous `clear`: `dout(t) = din(t - depth)`, except
/// that every bit in flight is dropped in a cycle where `clear` is high. For pipelines longer
/// than the time between a reset and the next start (their stale rows must not reach the
/// next op).
#[derive(LogicBlock)]
pub struct ValidLine {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Drop every bit in flight (and `din`) at the end of this cycle.
    pub clear: Signal<In, Bit>,
    /// Input.
    pub din: Signal<In, Bit>,
    /// Input delayed by `depth` cycles.
    pub dout: Signal<Out, Bit>,
    regs: Vec<DFF<Bit>>,
    _depth: usize,
}

impl ValidLine {
    /// A valid line of `depth >= 1` registers.
    pub fn new(depth: usize) -> Self {
        assert!(depth >= 1, "a delay line needs at least one register");
        ValidLine {
            clock: Signal::default(),
            clear: Signal::default(),
            din: Signal::default(),
            dout: Signal::default(),
            regs: (0..depth).map(|_| DFF::default()).collect(),
            _depth: depth,
        }
    }
}

impl Logic for ValidLine {
    #[hdl_gen]
    fn update(&mut self) {
        for i in 0..self._depth {
            self.regs[i].clock.next = self.clock.val();
        }
        self.regs[0].d.next = self.din.val() && !self.clear.val();
        for i in 1..self._depth {
            self.regs[i].d.next = self.regs[i - 1].q.val() && !self.clear.val();
        }
        for last in (self._depth - 1)..self._depth {
            self.dout.next = self.regs[last].q.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bits come out `depth` cycles later; a clear drops every bit in flight and no other.
    #[test]
    fn valid_line_delays_and_clears() {
        let mut uut = ValidLine::new(3);
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<ValidLine>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<ValidLine>| {
            let mut x = ep.init()?;
            let din = [true, false, true, true, false, true, true, true, false, false, false, false];
            let clear_at = 6;
            let mut seen = vec![];
            for (t, &d) in din.iter().enumerate() {
                x.din.next = d;
                x.clear.next = t == clear_at;
                wait_clock_cycle!(ep, clock, x);
                seen.push(x.dout.val());
            }
            // Output after cycle t is din[t - 2]; inputs of cycles 4..=6 were in flight at
            // the clear (cycle 6) and are dropped.
            let want: Vec<bool> = (0..din.len()).map(|t| t >= 2 && !(4..=6).contains(&(t - 2)) && din[t - 2]).collect();
            sim_assert_eq!(ep, seen, want, x);
            ep.done(x)
        });
        sim.run(Box::new(uut), 10_000).unwrap();
    }

    #[test]
    fn valid_line_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut ValidLine::new(4), "valid_line");
        crate::verilog::lint(&v, "valid_line").unwrap();
    }
}
