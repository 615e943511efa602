//! A fixed-depth delay line (shift register).

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
