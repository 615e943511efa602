//! Rows in flight per n-tile parity: issued by the streamer, minus those retired at the
//! accumulator stage (rows of non-final k-tiles, whose partial sums are written) and after the
//! requantizers (rows of the final k-tile, placed with their n-tile's parameters). An n-tile's
//! parameters may be overwritten by the n-tile two on (same parity) only once its rows are gone,
//! and the GEMM is done when no row is left.

use rust_hdl::prelude::*;

/// The two counters.
#[derive(LogicBlock, Default)]
pub struct RowsInFlight {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// A row is issued this cycle.
    pub issue: Signal<In, Bit>,
    /// Its n-tile parity.
    pub issue_parity: Signal<In, Bit>,
    /// A non-final k-tile's row retires this cycle.
    pub partial_done: Signal<In, Bit>,
    /// Its n-tile parity.
    pub partial_parity: Signal<In, Bit>,
    /// A final k-tile's row retires this cycle.
    pub final_done: Signal<In, Bit>,
    /// Its n-tile parity.
    pub final_parity: Signal<In, Bit>,
    /// No row of an even n-tile is in flight.
    pub even_drained: Signal<Out, Bit>,
    /// No row of an odd n-tile is in flight.
    pub odd_drained: Signal<Out, Bit>,
    even: DFF<Bits<16>>,
    odd: DFF<Bits<16>>,
    issued_even: Signal<Local, Bits<16>>,
    issued_odd: Signal<Local, Bits<16>>,
    retired_even: Signal<Local, Bits<16>>,
    retired_odd: Signal<Local, Bits<16>>,
}

impl Logic for RowsInFlight {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, even, odd);
        self.issued_even.next = 0.into();
        self.issued_odd.next = 0.into();
        if self.issue.val() {
            if self.issue_parity.val() {
                self.issued_odd.next = 1.into();
            } else {
                self.issued_even.next = 1.into();
            }
        }
        self.retired_even.next = 0.into();
        self.retired_odd.next = 0.into();
        if self.partial_done.val() {
            if self.partial_parity.val() {
                self.retired_odd.next = 1.into();
            } else {
                self.retired_even.next = 1.into();
            }
        }
        if self.final_done.val() {
            if self.final_parity.val() {
                self.retired_odd.next = self.retired_odd.val() + 1;
            } else {
                self.retired_even.next = self.retired_even.val() + 1;
            }
        }
        self.even.d.next = self.even.q.val() + self.issued_even.val() - self.retired_even.val();
        self.odd.d.next = self.odd.q.val() + self.issued_odd.val() - self.retired_odd.val();
        if self.reset.val() {
            self.even.d.next = 0.into();
            self.odd.d.next = 0.into();
        }
        self.even_drained.next = self.even.q.val() == 0;
        self.odd_drained.next = self.odd.q.val() == 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Random issues and retirements (never more retired than issued, per parity): drained
        /// exactly when the counts balance.
        #[test]
        fn counts_rows_per_parity(events in prop::collection::vec((any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()), 1..200)) {
            let mut uut = RowsInFlight::default();
            uut.connect_all();
            let mut sim = Simulation::new();
            sim.add_clock(5, |x: &mut Box<RowsInFlight>| x.clock.next = !x.clock.val());
            sim.add_testbench(move |mut ep: Sim<RowsInFlight>| {
                let mut x = ep.init()?;
                x.reset.next = true;
                wait_clock_cycle!(ep, clock, x);
                x.reset.next = false;
                let mut count = [0i64; 2];
                for &(issue, ip, partial, pp, fin, fp) in &events {
                    // Retire only what is in flight (the pipeline never retires more).
                    let mut left = count;
                    let partial = partial && left[pp as usize] > 0;
                    if partial {
                        left[pp as usize] -= 1;
                    }
                    let fin = fin && left[fp as usize] > 0;
                    x.issue.next = issue;
                    x.issue_parity.next = ip;
                    x.partial_done.next = partial;
                    x.partial_parity.next = pp;
                    x.final_done.next = fin;
                    x.final_parity.next = fp;
                    wait_clock_cycle!(ep, clock, x);
                    count[ip as usize] += issue as i64;
                    count[pp as usize] -= partial as i64;
                    count[fp as usize] -= fin as i64;
                    x = ep.wait(1, x)?;
                    sim_assert_eq!(ep, x.even_drained.val(), count[0] == 0, x);
                    sim_assert_eq!(ep, x.odd_drained.val(), count[1] == 0, x);
                }
                ep.done(x)
            });
            sim.run(Box::new(uut), 1_000_000).unwrap();
        }
    }

    #[test]
    fn verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut RowsInFlight::default(), "gemm_inflight");
        crate::verilog::lint(&v, "gemm_inflight").unwrap();
    }
}
