//! The row sums of the A passes: adder trees over the lanes' terms at t3, accumulation over the
//! row's words at t4, and the hand-off (F1) of a finished row to the scalar pipeline at t5.
//!
//! A word of an A pass is announced at t1 (`valid`, `first`, `last` of its row, the row's
//! maximum for softmax); its lanes' terms (`x` or `e`, and `x^2`) arrive at t3. At the row's last
//! word the F1 registers hold the row's `sum`, `sum_sq` and payload (LayerNorm: `S1`; softmax:
//! the row maximum) with `valid` high for one cycle.

use super::sigs;
use crate::delay::DelayLine;
use crate::widen::Extend;
use rust_hdl::prelude::*;

/// The sums of an `R = BE`-lane unit.
#[derive(LogicBlock)]
pub struct RowSums<const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: no hand-off.
    pub reset: Signal<In, Bit>,
    /// The op is LayerNorm (payload `S1`), else softmax (payload the row maximum).
    pub ln: Signal<In, Bit>,
    /// Rows are handed off (low: a reset cut the op short).
    pub keep: Signal<In, Bit>,
    /// t1: a word of an A pass.
    pub valid: Signal<In, Bit>,
    /// t1: it is its row's first word.
    pub first: Signal<In, Bit>,
    /// t1: it is its row's last word.
    pub last: Signal<In, Bit>,
    /// t1: the row's maximum (softmax, int8).
    pub row_max: Signal<In, Bits<8>>,
    /// t3: per lane, the term of the first sum (`x` or `e`, two's complement).
    pub term: Vec<Signal<In, Bits<24>>>,
    /// t3: per lane, the term of the second sum (`x^2`).
    pub term_sq: Vec<Signal<In, Bits<40>>>,
    /// F1: a finished row's sums are on the outputs (one cycle).
    pub row_valid: Signal<Out, Bit>,
    /// F1: the row's first sum (`S1` or `sum e`).
    pub sum: Signal<Out, Bits<40>>,
    /// F1: the row's `S2`.
    pub sum_sq: Signal<Out, Bits<48>>,
    /// F1: the row's payload (LayerNorm `S1`, softmax the row maximum zero-extended).
    pub payload: Signal<Out, Bits<34>>,

    /// Word valid, first, last and the row maximum from t1 to t4.
    valid_delay: DelayLine<Bit>,
    first_delay: DelayLine<Bit>,
    last_delay: DelayLine<Bit>,
    row_max_delay: DelayLine<Bits<8>>,
    /// Adder trees: node `i` adds nodes `2i+1` and `2i+2`; leaves `R-1..2R-1` are the lanes.
    tree: Vec<Signal<Local, Bits<24>>>,
    tree_sq: Vec<Signal<Local, Bits<40>>>,
    /// t4: the word's first sum.
    word_sum: DFF<Bits<24>>,
    /// t4: the word's second sum.
    word_sum_sq: DFF<Bits<40>>,
    ext_word_sum: Extend<40, 24>,
    ext_word_sum_sq: Extend<48, 40>,
    ext_row_max: Extend<34, 8>,
    /// The row's sums including this word.
    row_sum_next: Signal<Local, Bits<40>>,
    row_sum_sq_next: Signal<Local, Bits<48>>,
    /// The row's sums so far.
    row_sum: DFF<Bits<40>>,
    row_sum_sq: DFF<Bits<48>>,
    /// F1 registers (the outputs).
    f1_valid: DFF<Bit>,
    f1_sum: DFF<Bits<40>>,
    f1_sum_sq: DFF<Bits<48>>,
    f1_payload: DFF<Bits<34>>,
    _r: usize,
}

impl<const BE: usize> Default for RowSums<BE> {
    fn default() -> Self {
        RowSums {
            clock: Signal::default(),
            reset: Signal::default(),
            ln: Signal::default(),
            keep: Signal::default(),
            valid: Signal::default(),
            first: Signal::default(),
            last: Signal::default(),
            row_max: Signal::default(),
            term: sigs(BE),
            term_sq: sigs(BE),
            row_valid: Signal::default(),
            sum: Signal::default(),
            sum_sq: Signal::default(),
            payload: Signal::default(),
            valid_delay: DelayLine::new(3),
            first_delay: DelayLine::new(3),
            last_delay: DelayLine::new(3),
            row_max_delay: DelayLine::new(3),
            tree: sigs(2 * BE - 1),
            tree_sq: sigs(2 * BE - 1),
            word_sum: DFF::default(),
            word_sum_sq: DFF::default(),
            ext_word_sum: Extend::new(true),
            ext_word_sum_sq: Extend::new(false),
            ext_row_max: Extend::new(false),
            row_sum_next: Signal::default(),
            row_sum_sq_next: Signal::default(),
            row_sum: DFF::default(),
            row_sum_sq: DFF::default(),
            f1_valid: DFF::default(),
            f1_sum: DFF::default(),
            f1_sum_sq: DFF::default(),
            f1_payload: DFF::default(),
            _r: BE,
        }
    }
}

impl<const BE: usize> Logic for RowSums<BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, word_sum, word_sum_sq, row_sum, row_sum_sq, f1_valid, f1_sum, f1_sum_sq, f1_payload);
        self.valid_delay.clock.next = self.clock.val();
        self.first_delay.clock.next = self.clock.val();
        self.last_delay.clock.next = self.clock.val();
        self.row_max_delay.clock.next = self.clock.val();
        Signal::<Out, Bit>::link(&mut self.row_valid, &mut self.f1_valid.q);
        Signal::<Out, Bits<40>>::link(&mut self.sum, &mut self.f1_sum.q);
        Signal::<Out, Bits<48>>::link(&mut self.sum_sq, &mut self.f1_sum_sq.q);
        Signal::<Out, Bits<34>>::link(&mut self.payload, &mut self.f1_payload.q);
        self.valid_delay.din.next = self.valid.val();
        self.first_delay.din.next = self.first.val();
        self.last_delay.din.next = self.last.val();
        self.row_max_delay.din.next = self.row_max.val();

        // t3: adder trees.
        for rr in (self._r)..(self._r + 1) {
            for l in 0..self._r {
                self.tree[rr - 1 + l].next = self.term[l].val();
                self.tree_sq[rr - 1 + l].next = self.term_sq[l].val();
            }
            for i in 0..(self._r - 1) {
                self.tree[rr - 2 - i].next =
                    self.tree[2 * (rr - 2 - i) + 1].val() + self.tree[2 * (rr - 2 - i) + 2].val();
                self.tree_sq[rr - 2 - i].next =
                    self.tree_sq[2 * (rr - 2 - i) + 1].val() + self.tree_sq[2 * (rr - 2 - i) + 2].val();
            }
        }
        self.word_sum.d.next = self.tree[0].val();
        self.word_sum_sq.d.next = self.tree_sq[0].val();

        // t4: accumulate over the row's words; F1: a finished row's sums and payload.
        self.ext_word_sum.din.next = self.word_sum.q.val();
        self.ext_word_sum_sq.din.next = self.word_sum_sq.q.val();
        if self.first_delay.dout.val() {
            self.row_sum_next.next = self.ext_word_sum.dout.val();
            self.row_sum_sq_next.next = self.ext_word_sum_sq.dout.val();
        } else {
            self.row_sum_next.next = self.row_sum.q.val() + self.ext_word_sum.dout.val();
            self.row_sum_sq_next.next = self.row_sum_sq.q.val() + self.ext_word_sum_sq.dout.val();
        }
        self.ext_row_max.din.next = self.row_max_delay.dout.val();
        self.f1_valid.d.next = false;
        if self.valid_delay.dout.val() && self.keep.val() {
            self.row_sum.d.next = self.row_sum_next.val();
            self.row_sum_sq.d.next = self.row_sum_sq_next.val();
            if self.last_delay.dout.val() {
                self.f1_valid.d.next = true;
                self.f1_sum.d.next = self.row_sum_next.val();
                self.f1_sum_sq.d.next = self.row_sum_sq_next.val();
                if self.ln.val() {
                    self.f1_payload.d.next = self.row_sum_next.val().get_bits::<34>(0);
                } else {
                    self.f1_payload.d.next = self.ext_row_max.dout.val();
                }
            }
        }
        if self.reset.val() {
            self.f1_valid.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Rng;

    const R: usize = 8;

    /// One row: per word, per lane `(x or e, x^2)`; the op; the row maximum; idle cycles after.
    #[derive(Clone, Debug)]
    struct Row {
        words: Vec<Vec<(i32, u64)>>,
        ln: bool,
        max: i8,
        gap: usize,
    }

    /// One cycle of the bench: the announcement (valid, first, last, ln, row maximum) and the
    /// lanes' terms of that word (given two cycles later, at t3).
    type Slot = (bool, bool, bool, bool, i8, Vec<(i32, u64)>);

    /// Feeds the rows' words (announced at t1, the lanes' terms two cycles later at t3);
    /// returns every hand-off `(sum, sum_sq, payload)` and the cycles from the row's last
    /// announcement to it.
    fn run(rows: Vec<Row>) -> Vec<(u64, u64, u64, u64)> {
        let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = out.clone();
        let mut uut = RowSums::<R>::default();
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<RowSums<R>>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<RowSums<R>>| {
            let mut x = ep.init()?;
            x.keep.next = true;
            let mut schedule: Vec<Slot> = Vec::new();
            for row in &rows {
                for (k, w) in row.words.iter().enumerate() {
                    schedule.push((true, k == 0, k + 1 == row.words.len(), row.ln, row.max, w.clone()));
                }
                for _ in 0..row.gap {
                    schedule.push((false, false, false, row.ln, 0, vec![(0, 0); R]));
                }
            }
            let mut last_at = Vec::new();
            for cycle in 0..schedule.len() + 8 {
                let (valid, first, last, ln, max, _) =
                    schedule.get(cycle).cloned().unwrap_or((false, false, false, true, 0, vec![]));
                x.valid.next = valid;
                x.first.next = first;
                x.last.next = last;
                x.row_max.next = (max as u8 as u64).into();
                if valid && last {
                    last_at.push(cycle as u64);
                }
                // `ln` is the op's, stable from the announcement to the hand-off.
                if let Some(s) = schedule.get(cycle.saturating_sub(3)) {
                    x.ln.next = s.3;
                } else {
                    x.ln.next = ln;
                }
                let terms = cycle.checked_sub(2).and_then(|c| schedule.get(c)).map(|s| s.5.clone());
                for l in 0..R {
                    let (t, t2) = terms.as_ref().map_or((0, 0), |t| t[l]);
                    x.term[l].next = (t as u32 as u64 & 0xFF_FFFF).into();
                    x.term_sq[l].next = t2.into();
                }
                if x.row_valid.val() {
                    let at = last_at[sink.lock().unwrap().len()];
                    sink.lock().unwrap().push((
                        x.sum.val().to_u64(),
                        x.sum_sq.val().to_u64(),
                        x.payload.val().to_u64(),
                        cycle as u64 - at,
                    ));
                }
                wait_clock_cycle!(ep, clock, x);
            }
            ep.done(x)
        });
        sim.run(Box::new(uut), 1 << 40).unwrap();
        let results = out.lock().unwrap().clone();
        results
    }

    /// Random rows of 1..=6 words (LayerNorm `x` and `x^2` of int16 values, softmax `e` up to
    /// 2^16, dead lanes 0), back to back or with gaps: each row is handed off once, 4 cycles
    /// after its last word's announcement, with the plain sums of its terms and the payload
    /// (LayerNorm `S1` in 34 bits, softmax the row maximum).
    #[test]
    fn row_sums_match_plain_sums() {
        let mut rng = Rng::new(0x5a35_0001_0203_0405);
        let rows: Vec<Row> = (0..40)
            .map(|k| {
                let ln = k % 3 != 2;
                let words = (0..1 + rng.below(6))
                    .map(|_| {
                        (0..R)
                            .map(|_| {
                                let v = match rng.below(4) {
                                    0 => 0,
                                    1 => rng.pick(&[i16::MIN, i16::MAX]) as i32,
                                    _ => rng.next() as i16 as i32,
                                };
                                if ln {
                                    (v, (v as i64 * v as i64) as u64)
                                } else {
                                    (rng.below(1 << 16) as i32, 0)
                                }
                            })
                            .collect()
                    })
                    .collect();
                Row { words, ln, max: rng.next() as i8, gap: rng.pick(&[0, 0, 1, 3]) }
            })
            .collect();
        let got = run(rows.clone());
        assert_eq!(got.len(), rows.len());
        for (row, &(sum, sum_sq, payload, latency)) in rows.iter().zip(&got) {
            let s: i64 = row.words.iter().flatten().map(|&(t, _)| t as i64).sum();
            let s2: u64 = row.words.iter().flatten().map(|&(_, t2)| t2).sum();
            assert_eq!(sum, s as u64 & ((1 << 40) - 1), "{row:?}");
            if row.ln {
                assert_eq!(sum_sq, s2, "{row:?}");
                assert_eq!(payload, s as u64 & ((1 << 34) - 1), "{row:?}");
            } else {
                assert_eq!(payload, row.max as u8 as u64, "{row:?}");
            }
            assert_eq!(latency, 4, "{row:?}");
        }
    }

    #[test]
    fn row_sums_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut RowSums::<8>::default(), "row_sums");
        crate::verilog::lint(&v, "row_sums").unwrap();
        let v = crate::verilog::generate(&mut RowSums::<16>::default(), "row_sums");
        crate::verilog::lint(&v, "row_sums").unwrap();
    }
}
