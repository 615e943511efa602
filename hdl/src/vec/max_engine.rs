//! The softmax max engine: row maxima computed ahead of the main passes on read port 1.
//!
//! Rows are issued back to back (one word per cycle, `words` words a row, `in_stride` apart)
//! while the max queue has room for every row in flight: a row is issued only if the queued
//! maxima plus the rows in flight leave room for it. A word arrives at t1 (the cycle after its
//! address): its live bytes (`c < n`) become offset binary (`x ^ 0x80`, dead lanes 0, i.e. -128)
//! and a comparator tree takes their maximum; at t2 the word's maximum updates the row's running
//! maximum, and the row's last word pushes the row maximum (back in two's complement) into the
//! [`MAX_QUEUE`]-entry queue, which the main engine pops at each softmax A pass.
//!
//! The engine owns the port 1 address register (`rd_addr`): at `op_start` it goes to `in_addr`
//! (row 0), then moves on with the engine's rows; LayerNorm's passes (which read the high byte
//! plane on port 1) move it with `main_step` (next word) and `main_jump` (to `main_jump_addr`).

use super::{sigs, MAX_QUEUE};
use crate::storage::{WordFifo, SP_ADDR_BITS};
use crate::widen::PackBits;
use rust_hdl::prelude::*;

const IDLE: u64 = 0;
const ISSUE: u64 = 1;
const WAIT_ROOM: u64 = 2;

/// The max engine of an `R = BE`-lane unit with `W = 8R`-bit words.
#[derive(LogicBlock)]
pub struct MaxEngine<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: idle, queue emptied.
    pub reset: Signal<In, Bit>,
    /// An op starts this cycle: the queue is emptied; with `softmax` the engine starts issuing
    /// (row 0 is on the port from the next cycle, set by the parent).
    pub op_start: Signal<In, Bit>,
    /// With `op_start`: the op is softmax (else the engine stays idle).
    pub softmax: Signal<In, Bit>,
    /// Rows of the op.
    pub rows: Signal<In, Bits<16>>,
    /// Channels per row.
    pub n: Signal<In, Bits<16>>,
    /// Words per row, `ceil(n/R)`.
    pub words: Signal<In, Bits<16>>,
    /// Word address of input row 0.
    pub in_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Words between input rows.
    pub in_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Read port 1 data (of the previous cycle's address).
    pub rd_data: Signal<In, Bits<W>>,
    /// Pop the oldest row maximum (the main engine starts a softmax A pass).
    pub pop: Signal<In, Bit>,
    /// LayerNorm: the main engine moves port 1 to the next word.
    pub main_step: Signal<In, Bit>,
    /// LayerNorm: the main engine moves port 1 to `main_jump_addr`.
    pub main_jump: Signal<In, Bit>,
    /// Where `main_jump` goes.
    pub main_jump_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Row maxima queued.
    pub count: Signal<Out, Bits<16>>,
    /// The oldest queued row maximum (int8; valid when `count > 0`).
    pub head: Signal<Out, Bits<8>>,
    /// Read port 1 address.
    pub rd_addr: Signal<Out, Bits<SP_ADDR_BITS>>,

    /// Read port 1 address.
    port_addr: DFF<Bits<SP_ADDR_BITS>>,
    /// Port 1 moves on to the next word of the row this cycle.
    next_word: Signal<Local, Bit>,
    /// Issue state: idle, issuing a row, waiting for room in the queue.
    state: DFF<Bits<2>>,
    /// Rows issued so far (the row being issued included).
    rows_issued: DFF<Bits<16>>,
    /// First word of the next row to issue.
    next_row_addr: DFF<Bits<SP_ADDR_BITS>>,
    /// Words of the current row still to issue.
    words_left: DFF<Bits<16>>,
    /// Channels of the current row from the word being issued on.
    channels_left: DFF<Bits<16>>,
    /// The word being issued is the row's first.
    first_word: DFF<Bit>,
    /// Rows issued whose maximum is not queued yet.
    in_flight: DFF<Bits<16>>,
    /// t1: a word arrives on the port.
    word_valid: DFF<Bit>,
    /// t1: it is its row's first word.
    word_first: DFF<Bit>,
    /// t1: it is its row's last word.
    word_last: DFF<Bit>,
    /// t1: its live lanes (`c < n`).
    word_live: DFF<Bits<BE>>,
    /// t2: the word's maximum (offset binary).
    word_max: DFF<Bits<8>>,
    /// t2: `word_max` is valid.
    max_valid: DFF<Bit>,
    /// t2: `word_max` is of a row's first word.
    max_first: DFF<Bit>,
    /// t2: `word_max` is of a row's last word.
    max_last: DFF<Bit>,
    /// Running maximum of the row (offset binary).
    row_max: DFF<Bits<8>>,
    /// The queue of row maxima.
    queue: WordFifo<8>,

    live_pack: PackBits<BE>,
    byte_col: Vec<Constant<Bits<16>>>,
    /// Comparator tree, node `i` over nodes `2i+1`, `2i+2`; leaves `R-1..2R-1` are the bytes.
    max_tree: Vec<Signal<Local, Bits<8>>>,
    row_max_next: Signal<Local, Bits<8>>,
    occupancy: Signal<Local, Bits<16>>,
    row_issued: Signal<Local, Bits<16>>,
    row_queued: Signal<Local, Bits<16>>,
    start_row: Signal<Local, Bit>,

    idle: Constant<Bits<2>>,
    issue: Constant<Bits<2>>,
    wait_room: Constant<Bits<2>>,
    c_lanes16: Constant<Bits<16>>,
    c_one16: Constant<Bits<16>>,
    c_one20: Constant<Bits<SP_ADDR_BITS>>,
    c_two16: Constant<Bits<16>>,
    c_three16: Constant<Bits<16>>,
    c_zero16: Constant<Bits<16>>,
    c_zero8: Constant<Bits<8>>,
    c_sign8: Constant<Bits<8>>,
    _r: usize,
}

impl<const W: usize, const BE: usize> Default for MaxEngine<W, BE> {
    fn default() -> Self {
        let c16 = |v: u64| Constant::new(Bits::<16>::from(v));
        MaxEngine {
            clock: Signal::default(),
            reset: Signal::default(),
            op_start: Signal::default(),
            softmax: Signal::default(),
            rows: Signal::default(),
            n: Signal::default(),
            words: Signal::default(),
            in_addr: Signal::default(),
            in_stride: Signal::default(),
            rd_data: Signal::default(),
            pop: Signal::default(),
            count: Signal::default(),
            head: Signal::default(),
            main_step: Signal::default(),
            main_jump: Signal::default(),
            main_jump_addr: Signal::default(),
            rd_addr: Signal::default(),
            port_addr: DFF::default(),
            next_word: Signal::default(),
            state: DFF::default(),
            rows_issued: DFF::default(),
            next_row_addr: DFF::default(),
            words_left: DFF::default(),
            channels_left: DFF::default(),
            first_word: DFF::default(),
            in_flight: DFF::default(),
            word_valid: DFF::default(),
            word_first: DFF::default(),
            word_last: DFF::default(),
            word_live: DFF::default(),
            word_max: DFF::default(),
            max_valid: DFF::default(),
            max_first: DFF::default(),
            max_last: DFF::default(),
            row_max: DFF::default(),
            queue: WordFifo::new(MAX_QUEUE),
            live_pack: PackBits::default(),
            byte_col: (0..BE).map(|l| c16(l as u64)).collect(),
            max_tree: sigs(2 * BE - 1),
            row_max_next: Signal::default(),
            occupancy: Signal::default(),
            row_issued: Signal::default(),
            row_queued: Signal::default(),
            start_row: Signal::default(),
            idle: Constant::new(IDLE.into()),
            issue: Constant::new(ISSUE.into()),
            wait_room: Constant::new(WAIT_ROOM.into()),
            c_lanes16: c16(BE as u64),
            c_one16: c16(1),
            c_one20: Constant::new(1u64.into()),
            c_two16: c16(2),
            c_three16: c16(3),
            c_zero16: c16(0),
            c_zero8: Constant::new(0u64.into()),
            c_sign8: Constant::new(0x80u64.into()),
            _r: BE,
        }
    }
}

impl<const W: usize, const BE: usize> Logic for MaxEngine<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state, rows_issued, next_row_addr, words_left, channels_left, first_word, in_flight);
        dff_setup!(self, clock, word_valid, word_first, word_last, word_live, word_max, max_valid, max_first);
        dff_setup!(self, clock, max_last, row_max, port_addr);
        self.queue.clock.next = self.clock.val();
        self.queue.reset.next = self.reset.val() || self.op_start.val();
        self.queue.pop.next = self.pop.val();
        Signal::<Out, Bits<16>>::link(&mut self.count, &mut self.queue.count);
        Signal::<Out, Bits<8>>::link(&mut self.head, &mut self.queue.dout);
        Signal::<Out, Bits<SP_ADDR_BITS>>::link(&mut self.rd_addr, &mut self.port_addr.q);

        // Issue: rows back to back while the queue has room for every row in flight.
        for l in 0..self._r {
            self.live_pack.lanes[l].next = self.channels_left.q.val() > self.byte_col[l].val();
        }
        self.occupancy.next = self.queue.count.val() + self.in_flight.q.val();
        self.next_word.next = self.state.q.val() == self.issue.val();
        self.start_row.next = ((self.state.q.val() == self.issue.val())
            && (self.words_left.q.val() == self.c_one16.val())
            && (self.rows_issued.q.val() != self.rows.val())
            && (self.occupancy.val() <= self.c_two16.val()))
            || ((self.state.q.val() == self.wait_room.val()) && (self.occupancy.val() <= self.c_three16.val()));
        self.row_issued.next = self.c_zero16.val();
        self.row_queued.next = self.c_zero16.val();
        self.word_valid.d.next = false;
        if self.state.q.val() == self.issue.val() {
            self.word_valid.d.next = true;
            self.word_first.d.next = self.first_word.q.val();
            self.word_last.d.next = self.words_left.q.val() == self.c_one16.val();
            self.word_live.d.next = self.live_pack.dout.val();
            self.words_left.d.next = self.words_left.q.val() - self.c_one16.val();
            self.channels_left.d.next = self.channels_left.q.val() - self.c_lanes16.val();
            self.first_word.d.next = false;
            if self.words_left.q.val() == self.c_one16.val() {
                self.row_issued.next = self.c_one16.val();
                if self.rows_issued.q.val() == self.rows.val() {
                    self.state.d.next = self.idle.val();
                } else if self.occupancy.val() > self.c_two16.val() {
                    self.state.d.next = self.wait_room.val();
                }
            }
        }
        // Port 1: LayerNorm's passes, then this engine's rows (the two never run at once).
        if self.main_step.val() {
            self.port_addr.d.next = self.port_addr.q.val() + self.c_one20.val();
        }
        if self.main_jump.val() {
            self.port_addr.d.next = self.main_jump_addr.val();
        }
        if self.next_word.val() {
            self.port_addr.d.next = self.port_addr.q.val() + self.c_one20.val();
        }
        if self.start_row.val() {
            self.port_addr.d.next = self.next_row_addr.q.val();
            self.state.d.next = self.issue.val();
            self.next_row_addr.d.next = self.next_row_addr.q.val() + self.in_stride.val();
            self.rows_issued.d.next = self.rows_issued.q.val() + self.c_one16.val();
            self.words_left.d.next = self.words.val();
            self.channels_left.d.next = self.n.val();
            self.first_word.d.next = true;
        }

        // t1: offset-binary bytes (dead lanes 0 = -128), comparator tree.
        for rr in (self._r)..(self._r + 1) {
            for l in 0..self._r {
                self.max_tree[rr - 1 + l].next = self.c_zero8.val();
                if self.word_live.q.val().get_bit(l) {
                    self.max_tree[rr - 1 + l].next = self.rd_data.val().get_bits::<8>(8 * l) ^ self.c_sign8.val();
                }
            }
            for i in 0..(self._r - 1) {
                if self.max_tree[2 * (rr - 2 - i) + 1].val() > self.max_tree[2 * (rr - 2 - i) + 2].val() {
                    self.max_tree[rr - 2 - i].next = self.max_tree[2 * (rr - 2 - i) + 1].val();
                } else {
                    self.max_tree[rr - 2 - i].next = self.max_tree[2 * (rr - 2 - i) + 2].val();
                }
            }
        }
        // t2: the row's running maximum; the last word queues it.
        self.word_max.d.next = self.max_tree[0].val();
        self.max_valid.d.next = self.word_valid.q.val();
        self.max_first.d.next = self.word_first.q.val();
        self.max_last.d.next = self.word_last.q.val();
        self.row_max_next.next = self.word_max.q.val();
        if !self.max_first.q.val() && (self.row_max.q.val() > self.word_max.q.val()) {
            self.row_max_next.next = self.row_max.q.val();
        }
        self.queue.din.next = self.row_max_next.val() ^ self.c_sign8.val();
        self.queue.push.next = false;
        if self.max_valid.q.val() {
            self.row_max.d.next = self.row_max_next.val();
            if self.max_last.q.val() {
                self.queue.push.next = true;
                self.row_queued.next = self.c_one16.val();
            }
        }
        self.in_flight.d.next = self.in_flight.q.val() + self.row_issued.val() - self.row_queued.val();

        // Start (row 0 is issued from the next cycle), reset.
        if self.op_start.val() {
            self.port_addr.d.next = self.in_addr.val();
            self.in_flight.d.next = self.c_zero16.val();
            self.state.d.next = self.idle.val();
            if self.softmax.val() {
                self.rows_issued.d.next = self.c_one16.val();
                self.next_row_addr.d.next = self.in_addr.val() + self.in_stride.val();
                self.words_left.d.next = self.words.val();
                self.channels_left.d.next = self.n.val();
                self.first_word.d.next = true;
                if self.rows.val() != self.c_zero16.val() {
                    self.state.d.next = self.issue.val();
                }
            }
        }
        if self.reset.val() {
            self.state.d.next = self.idle.val();
            self.word_valid.d.next = false;
            self.max_valid.d.next = false;
            self.in_flight.d.next = self.c_zero16.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{random_memory, Rng};

    type Engine = MaxEngine<64, 8>;
    const R: usize = 8;
    const WORDS: usize = 4096;

    /// One op: `rows` rows of `n` channels at `addr`, `stride` apart, in `mem` (one bank); the
    /// consumer pops a queued maximum with probability `1 / pop_every` per cycle.
    #[derive(Clone, Debug)]
    struct Op {
        rows: usize,
        n: usize,
        addr: usize,
        stride: usize,
        pop_every: u64,
        softmax: bool,
    }

    /// The row maxima, computed in plain Rust.
    fn row_maxima(mem: &[u8], op: &Op) -> Vec<i8> {
        (0..op.rows).map(|i| (0..op.n).map(|c| mem[(op.addr + i * op.stride) * R + c] as i8).max().unwrap()).collect()
    }

    /// Runs the ops back to back; the bench plays the memory (one cycle of read latency) and the
    /// popping consumer. Returns per op the popped maxima, and whether the queue ever held more
    /// than `MAX_QUEUE` entries, maxima were left over or (LayerNorm) the port left `in_addr`.
    fn run(mem: Vec<u8>, ops: Vec<Op>, seed: u64) -> Vec<(Vec<i8>, bool)> {
        let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = out.clone();
        let mut uut = Engine::default();
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<Engine>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<Engine>| {
            let mut x = ep.init()?;
            let mut rng = Rng::new(seed);
            for op in &ops {
                x.rows.next = (op.rows as u64).into();
                x.n.next = (op.n as u64).into();
                x.words.next = (op.n.div_ceil(R) as u64).into();
                x.in_addr.next = (op.addr as u64).into();
                x.in_stride.next = (op.stride as u64).into();
                x.softmax.next = op.softmax;
                // The address on the port in the cycle before (its data arrives in this one).
                let mut prev = x.rd_addr.val().index();
                x.op_start.next = true;
                wait_clock_cycle!(ep, clock, x);
                x.op_start.next = false;
                let mut got = Vec::new();
                let mut bad = false;
                let expected = if op.softmax { op.rows } else { 0 };
                let mut idle_cycles = 0;
                while got.len() < expected || idle_cycles < 2 * R + 8 {
                    let word = prev.min(WORDS - 1);
                    let bytes: [u8; R] = mem[word * R..word * R + R].try_into().unwrap();
                    x.rd_data.next = u64::from_le_bytes(bytes).into();
                    prev = x.rd_addr.val().index();
                    bad |= x.count.val().index() > MAX_QUEUE;
                    bad |= !op.softmax && (prev != op.addr || x.count.val().index() > 0);
                    x.pop.next = false;
                    if x.count.val().index() > 0 && rng.below(op.pop_every) == 0 {
                        got.push(x.head.val().index() as u8 as i8);
                        x.pop.next = true;
                    }
                    if got.len() >= expected {
                        idle_cycles += 1;
                    }
                    wait_clock_cycle!(ep, clock, x);
                }
                x.pop.next = false;
                // Nothing left behind: no more maxima after the op's rows.
                bad |= x.count.val().index() != 0;
                sink.lock().unwrap().push((got, bad));
            }
            ep.done(x)
        });
        sim.run(Box::new(uut), 1 << 40).unwrap();
        let results = out.lock().unwrap().clone();
        results
    }

    /// Random rows (n = 1..=40, up to 20 rows, strided), consumers fast and slow (the queue
    /// fills and the engine waits for room), rows of all -128 or all 127, an op with no rows
    /// and a LayerNorm op (the engine stays idle): the popped maxima are the rows' maxima, in
    /// order, each once, and the queue never overflows.
    #[test]
    fn row_maxima_match_plain_max() {
        let mut rng = Rng::new(0x7a3c_0001_2345_6789);
        let mut mem = random_memory(&mut rng, 1, WORDS, R).remove(0);
        let mut ops = Vec::new();
        let mut at = 0;
        for k in 0..14 {
            let n = if k % 5 == 0 { R * (1 + rng.below(5) as usize) } else { 1 + rng.below(40) as usize };
            let rows = match k {
                3 => 0,
                _ => 1 + rng.below(20) as usize,
            };
            let w = n.div_ceil(R);
            let stride = w + rng.below(3) as usize;
            if k == 6 || k == 7 {
                let v = if k == 6 { 0x80 } else { 0x7f };
                for i in 0..rows {
                    for c in 0..n {
                        mem[(at + i * stride) * R + c] = v;
                    }
                }
            }
            let pop_every = rng.pick(&[1, 1, 2, 8, 40]);
            ops.push(Op { rows, n, addr: at, stride, pop_every, softmax: k != 9 });
            at += rows.max(1) * stride;
            assert!(at < WORDS, "test memory too small");
        }
        let results = run(mem.clone(), ops.clone(), 11);
        for (op, (got, bad)) in ops.iter().zip(results) {
            let want = if op.softmax { row_maxima(&mem, op) } else { vec![] };
            assert_eq!(got, want, "{op:?}");
            assert!(!bad, "queue overflow, port moved while idle or maxima left over: {op:?}");
        }
    }

    #[test]
    fn max_engine_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut MaxEngine::<64, 8>::default(), "max_engine");
        crate::verilog::lint(&v, "max_engine").unwrap();
        let v = crate::verilog::generate(&mut MaxEngine::<128, 16>::default(), "max_engine");
        crate::verilog::lint(&v, "max_engine").unwrap();
    }
}
