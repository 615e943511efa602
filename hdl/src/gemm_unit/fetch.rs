//! The GEMM unit's weight fetch: streams a GEMM's weight stream from DRAM into the weight FIFO
//! in read commands that always fit. A command asks for the words left, or for the free FIFO
//! space not yet promised to a command in flight (at least half the FIFO), so its data never
//! waits for FIFO space and never stalls the shared read channel. A command is sized one cycle
//! and issued the next.

use crate::bus::ReadClient;
use crate::storage::{WordFifo, FIFO_COUNT_BITS};
use crate::widen::Extend;
use rust_hdl::prelude::*;

/// The fetch for `W`-bit words and a FIFO of `fifo_words`.
#[derive(LogicBlock)]
pub struct WeightFetch<const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// Begin a stream of `words` words at DRAM byte address `addr`.
    pub start: Signal<In, Bit>,
    /// Words in the stream.
    pub words: Signal<In, Bits<32>>,
    /// Its byte address (word-aligned).
    pub addr: Signal<In, Bits<40>>,
    /// Commands may be sized (the unit runs a GEMM).
    pub run: Signal<In, Bit>,
    /// Every word requested and arrived.
    pub idle: Signal<Out, Bit>,
    /// Reads the stream from DRAM.
    pub rd: ReadClient<W>,
    /// Head of the weight FIFO.
    pub wf_data: Signal<Out, Bits<W>>,
    /// Words in the weight FIFO.
    pub wf_count: Signal<Out, Bits<FIFO_COUNT_BITS>>,
    /// Pop the weight FIFO.
    pub wf_pop: Signal<In, Bit>,
    fifo: WordFifo<W>,
    words_left: DFF<Bits<32>>,
    inflight: DFF<Bits<32>>,
    fetch_addr: DFF<Bits<40>>,
    chunk: DFF<Bits<32>>,
    cmd_pending: DFF<Bit>,
    ext_count: Extend<32, 16>,
    ext_chunk: Extend<40, 32>,
    credit: Signal<Local, Bits<32>>,
    promised: Signal<Local, Bits<32>>,
    fifo_depth: Constant<Bits<32>>,
    min_chunk: Constant<Bits<32>>,
    word_shift: Constant<Bits<40>>,
}

impl<const W: usize> WeightFetch<W> {
    /// The fetch for a FIFO of `fifo_words` (a power of two).
    pub fn new(fifo_words: usize) -> Self {
        WeightFetch {
            clock: Signal::default(),
            reset: Signal::default(),
            start: Signal::default(),
            words: Signal::default(),
            addr: Signal::default(),
            run: Signal::default(),
            idle: Signal::default(),
            rd: ReadClient::default(),
            wf_data: Signal::default(),
            wf_count: Signal::default(),
            wf_pop: Signal::default(),
            fifo: WordFifo::new(fifo_words),
            words_left: DFF::default(),
            inflight: DFF::default(),
            fetch_addr: DFF::default(),
            chunk: DFF::default(),
            cmd_pending: DFF::default(),
            ext_count: Extend::new(false),
            ext_chunk: Extend::new(false),
            credit: Signal::default(),
            promised: Signal::default(),
            fifo_depth: Constant::new(Bits::<32>::from(fifo_words as u64)),
            min_chunk: Constant::new(Bits::<32>::from((fifo_words / 2) as u64)),
            word_shift: Constant::new(Bits::<40>::from((W / 8).trailing_zeros() as u64)),
        }
    }
}

impl<const W: usize> Logic for WeightFetch<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, words_left, inflight, fetch_addr, chunk, cmd_pending);
        self.fifo.clock.next = self.clock.val();
        self.fifo.reset.next = self.reset.val();
        // The extensions are fed straight from a register and the FIFO (join: separate Verilog
        // statements), so Verilator sees no loop through this block.
        Signal::<In, Bits<16>>::join(&mut self.ext_count.din, &mut self.fifo.count);
        Signal::<In, Bits<32>>::join(&mut self.ext_chunk.din, &mut self.chunk.q);
        self.wf_data.next = self.fifo.dout.val();
        self.wf_count.next = self.fifo.count.val();
        self.fifo.pop.next = self.wf_pop.val();
        self.fifo.din.next = self.rd.data.val();
        self.fifo.push.next = self.rd.data_valid.val();
        self.rd.data_ready.next = true;
        // Free FIFO space not yet promised to a command in flight.
        self.credit.next = self.fifo_depth.val() - self.ext_count.dout.val() - self.inflight.q.val();
        if self.run.val() && !self.cmd_pending.q.val() && (self.words_left.q.val() != 0) {
            if self.words_left.q.val() <= self.credit.val() {
                self.chunk.d.next = self.words_left.q.val();
                self.cmd_pending.d.next = true;
            } else if self.credit.val() >= self.min_chunk.val() {
                self.chunk.d.next = self.credit.val();
                self.cmd_pending.d.next = true;
            }
        }
        self.rd.cmd_valid.next = self.cmd_pending.q.val();
        self.rd.cmd_addr.next = self.fetch_addr.q.val();
        self.rd.cmd_beats.next = self.chunk.q.val();
        self.promised.next = self.inflight.q.val();
        if self.cmd_pending.q.val() && self.rd.cmd_ready.val() {
            self.cmd_pending.d.next = false;
            self.promised.next = self.inflight.q.val() + self.chunk.q.val();
            self.words_left.d.next = self.words_left.q.val() - self.chunk.q.val();
            self.fetch_addr.d.next = self.fetch_addr.q.val() + (self.ext_chunk.dout.val() << self.word_shift.val());
        }
        self.inflight.d.next = self.promised.val();
        if self.rd.data_valid.val() {
            self.inflight.d.next = self.promised.val() - 1;
        }
        if self.start.val() {
            self.words_left.d.next = self.words.val();
            self.fetch_addr.d.next = self.addr.val();
        }
        if self.reset.val() {
            self.cmd_pending.d.next = false;
            self.inflight.d.next = 0.into();
            self.words_left.d.next = 0.into();
        }
        self.idle.next = (self.words_left.q.val() == 0) && (self.inflight.q.val() == 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    const FIFO: usize = 16;

    /// The word at DRAM word address `a`.
    fn dram(a: u64) -> u64 {
        a.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x1234
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Every word of the stream reaches the FIFO once, in order; the FIFO never overflows;
        /// every command fits (the rest, or at least half the FIFO); idle at the end. The DRAM
        /// takes commands and returns data with random delays, the consumer pops at random.
        #[test]
        fn streams_every_word_in_fitting_commands(
            words in 1u64..80,
            base in 0u64..1000,
            stalls in prop::collection::vec((any::<bool>(), any::<bool>(), any::<bool>()), 1..16),
        ) {
            let mut uut = WeightFetch::<64>::new(FIFO);
            uut.connect_all();
            let mut sim = Simulation::new();
            sim.add_clock(5, |x: &mut Box<WeightFetch<64>>| x.clock.next = !x.clock.val());
            sim.add_testbench(move |mut ep: Sim<WeightFetch<64>>| {
                let mut x = ep.init()?;
                x.reset.next = true;
                wait_clock_cycle!(ep, clock, x);
                x.reset.next = false;
                x.start.next = true;
                x.words.next = words.into();
                x.addr.next = (base * 8).into();
                wait_clock_cycle!(ep, clock, x);
                x.start.next = false;
                x.run.next = true;
                let (mut pending, mut popped, mut requested) = (VecDeque::new(), 0u64, 0u64);
                for cycle in 0..4000usize {
                    let (take_cmd, give_data, pop) = if cycle % 3 == 2 { (true, true, true) } else { stalls[cycle % stalls.len()] };
                    x.rd.cmd_ready.next = take_cmd;
                    x.rd.data_valid.next = give_data && !pending.is_empty();
                    x.rd.data.next = pending.front().copied().unwrap_or(0).into();
                    let count = x.wf_count.val().to_u64();
                    x.wf_pop.next = pop && count > 0;
                    x = ep.wait(1, x)?;
                    if x.wf_pop.val() {
                        sim_assert_eq!(ep, x.wf_data.val().to_u64(), dram(base + popped), x);
                        popped += 1;
                    }
                    if x.rd.cmd_valid.val() && take_cmd {
                        let (a, n) = (x.rd.cmd_addr.val().to_u64(), x.rd.cmd_beats.val().to_u64());
                        sim_assert_eq!(ep, a, (base + requested) * 8, x);
                        let left = words - requested;
                        sim_assert!(ep, n == left || (n >= FIFO as u64 / 2 && n < left), x);
                        pending.extend((0..n).map(|i| dram(base + requested + i)));
                        requested += n;
                    }
                    if x.rd.data_valid.val() {
                        pending.pop_front();
                    }
                    wait_clock_cycle!(ep, clock, x);
                    sim_assert!(ep, x.wf_count.val().to_u64() <= FIFO as u64, x);
                    if popped == words {
                        break;
                    }
                }
                sim_assert_eq!(ep, popped, words, x);
                sim_assert!(ep, x.idle.val(), x);
                ep.done(x)
            });
            sim.run(Box::new(uut), 1_000_000).unwrap();
        }
    }

    #[test]
    fn verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut WeightFetch::<64>::new(16), "gemm_fetch");
        crate::verilog::lint(&v, "gemm_fetch").unwrap();
    }
}
