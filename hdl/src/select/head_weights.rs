//! SELECT step 1's storage: the head weights (`ceil(max_heads/R)` words of `R` int8 weights,
//! head `j` in byte `j mod R` of word `j / R`), written two cycles after each word's read (read
//! latency), and the weight of one head selected for the keep decision. The selected weight is
//! assigned once per evaluation.

use rust_hdl::prelude::*;

/// The weight words of an `R = BE`-lane selector for up to `max_heads` heads.
#[derive(LogicBlock)]
pub struct HeadWeights<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: no read in flight.
    pub reset: Signal<In, Bit>,
    /// Weight word `word` is read this cycle.
    pub load: Signal<In, Bit>,
    /// The word read (`0..ceil(h/R)`).
    pub word: Signal<In, Bits<8>>,
    /// Read data (of the previous cycle's address).
    pub rd_data: Signal<In, Bits<W>>,
    /// The head whose weight is wanted.
    pub head: Signal<In, Bits<8>>,
    /// Its weight (0 for a head beyond the words).
    pub weight: Signal<Out, Bits<8>>,

    weight_words: Vec<DFF<Bits<W>>>,
    // Read pipeline: stage 1 (address issued), stage 2 (data arrives).
    w1_valid: DFF<Bit>,
    w1_word: DFF<Bits<8>>,
    w2_valid: DFF<Bit>,
    w2_word: DFF<Bits<8>>,
    head_weight: Signal<Local, Bits<8>>,
    head_id: Vec<Constant<Bits<8>>>,
    c_zero8: Constant<Bits<8>>,
    _r: usize,
    _kw: usize,
}

impl<const W: usize, const BE: usize> HeadWeights<W, BE> {
    /// For `R = BE` lanes and up to `max_heads` heads.
    pub fn new(max_heads: usize) -> Self {
        let rows = BE;
        let kw = max_heads.div_ceil(rows);
        HeadWeights {
            clock: Signal::default(),
            reset: Signal::default(),
            load: Signal::default(),
            word: Signal::default(),
            rd_data: Signal::default(),
            head: Signal::default(),
            weight: Signal::default(),
            weight_words: (0..kw).map(|_| DFF::default()).collect(),
            w1_valid: DFF::default(),
            w1_word: DFF::default(),
            w2_valid: DFF::default(),
            w2_word: DFF::default(),
            head_weight: Signal::default(),
            head_id: (0..kw * rows).map(|j| Constant::new(Bits::<8>::from(j as u64))).collect(),
            c_zero8: Constant::new(0u64.into()),
            _r: rows,
            _kw: kw,
        }
    }
}

impl<const W: usize, const BE: usize> Logic for HeadWeights<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, w1_valid, w1_word, w2_valid, w2_word);
        for k in 0..self._kw {
            self.weight_words[k].clock.next = self.clock.val();
            self.weight_words[k].d.next = self.weight_words[k].q.val();
        }
        self.w1_valid.d.next = self.load.val();
        if self.load.val() {
            self.w1_word.d.next = self.word.val();
        }
        self.w2_valid.d.next = self.w1_valid.q.val();
        self.w2_word.d.next = self.w1_word.q.val();
        for k in 0..self._kw {
            if self.w2_valid.q.val() && (self.w2_word.q.val().index() == k) {
                self.weight_words[k].d.next = self.rd_data.val();
            }
        }
        self.head_weight.next = self.c_zero8.val();
        for rr in (self._r)..(self._r + 1) {
            for k in 0..self._kw {
                for e in 0..self._r {
                    if self.head.val() == self.head_id[k * rr + e].val() {
                        self.head_weight.next = self.weight_words[k].q.val().get_bits::<8>(8 * e);
                    }
                }
            }
        }
        self.weight.next = self.head_weight.val();
        if self.reset.val() {
            self.w1_valid.d.next = false;
            self.w2_valid.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block alone (R = 8 and R = 64) generates Verilog that `verilator -Wall` accepts;
    /// its behaviour is checked through the whole engine (`select/tests.rs`).
    #[test]
    fn head_weights_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut HeadWeights::<64, 8>::new(16), "head_weights");
        crate::verilog::lint(&v, "head_weights").unwrap();
        let v = crate::verilog::generate(&mut HeadWeights::<512, 64>::new(32), "head_weights");
        crate::verilog::lint(&v, "head_weights").unwrap();
    }
}
