//! SELECT steps 1-2: the head weights into registers, then per token the keep decision of
//! `spec::numerics::keep_decision` (plus the prefix rule) into the token RAM.
//!
//! Weights: `ceil(h/R)` words from `w_addr`, one read per cycle. Probabilities: token-major,
//! head-minor, one read of byte 0 of word `par_addr + j p_stride + t` per cycle, accumulating
//! `score = sum w_j p_j` and `margin = sum (w_j p_j - 128 w_j)` two cycles later (read latency);
//! the token RAM entry of token `t` is `1 << 31` (kept: `margin >= 0 || t < prefix`) or the
//! package weight `score + 1` (dropped), and the dropped weights are summed. Three cycles after
//! the last read (the pipeline drains, then one cycle to choose the next step) `finish` is high.

use super::head_weights::HeadWeights;
use super::ports::ReadRequest;
use super::token_ram::TokenWrite;
use crate::arith::MulS;
use crate::storage::SP_ADDR_BITS;
use crate::widen::Extend;
use rust_hdl::prelude::*;

const IDLE: u64 = 0;
const WEIGHTS: u64 = 1;
const PROBS: u64 = 2;
const DRAIN: u64 = 3;

/// The weight load and keep decision of an `R = BE`-lane selector for up to `max_heads` heads.
#[derive(LogicBlock)]
pub struct Decide<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: idle, nothing in flight.
    pub reset: Signal<In, Bit>,
    /// Start (the engine's SELECT start).
    pub go: Signal<In, Bit>,
    /// The engine is busy (a token RAM write needs it).
    pub busy: Signal<In, Bit>,
    /// Heads `h >= 1`.
    pub heads: Signal<In, Bits<8>>,
    /// Live tokens `L >= 1`.
    pub rows: Signal<In, Bits<16>>,
    /// Prefix tokens, always kept.
    pub prefix: Signal<In, Bits<4>>,
    /// Word of the probabilities of head 0.
    pub par_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Words between the heads' probability columns.
    pub p_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Word of the head weights.
    pub w_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Read data (of the previous cycle's address).
    pub rd_data: Signal<In, Bits<W>>,
    /// Reads of port 0 (in `par_bank`).
    pub rd: ReadRequest,
    /// Token RAM writes: per token `1 << 31` (kept) or the package weight.
    pub tok: TokenWrite,
    /// A token was dropped (valid with `finish`).
    pub dropped: Signal<Out, Bit>,
    /// Sum of the dropped tokens' package weights (valid with `finish`).
    pub total: Signal<Out, Bits<32>>,
    /// The last cycle of the decision.
    pub finish: Signal<Out, Bit>,

    phase: DFF<Bits<2>>,
    weight_addr: DFF<Bits<SP_ADDR_BITS>>,
    weight_words_left: DFF<Bits<16>>,
    head: DFF<Bits<8>>,
    token: DFF<Bits<16>>,
    token_prob_addr: DFF<Bits<SP_ADDR_BITS>>,
    prob_addr: DFF<Bits<SP_ADDR_BITS>>,
    drain_left: DFF<Bits<2>>,
    weights: HeadWeights<W, BE>,
    // Read pipeline: stage 1 (address issued), stage 2 (data arrives).
    p1_valid: DFF<Bit>,
    p1_head: DFF<Bits<8>>,
    p1_token: DFF<Bits<16>>,
    p1_first: DFF<Bit>,
    p1_last: DFF<Bit>,
    p2_valid: DFF<Bit>,
    p2_head: DFF<Bits<8>>,
    p2_token: DFF<Bits<16>>,
    p2_first: DFF<Bit>,
    p2_last: DFF<Bit>,
    margin: DFF<Bits<32>>,
    score: DFF<Bits<32>>,
    total_r: DFF<Bits<32>>,
    dropped_r: DFF<Bit>,

    ext_prefix: Extend<16, 4>,
    ext_weight_words: Extend<16, 8>,
    ext_w9: Extend<9, 8>,
    ext_p9: Extend<9, 8>,
    wp_mul: MulS<9, 9, 18>,
    ext_prod: Extend<32, 18>,
    ext_w32: Extend<32, 8>,
    last_head: Signal<Local, Bits<8>>,
    last_token: Signal<Local, Bits<16>>,
    margin_term: Signal<Local, Bits<32>>,
    margin_base: Signal<Local, Bits<32>>,
    score_base: Signal<Local, Bits<32>>,
    margin_new: Signal<Local, Bits<32>>,
    score_new: Signal<Local, Bits<32>>,
    package_weight: Signal<Local, Bits<32>>,
    keep: Signal<Local, Bit>,

    p_idle: Constant<Bits<2>>,
    p_weights: Constant<Bits<2>>,
    p_probs: Constant<Bits<2>>,
    p_drain: Constant<Bits<2>>,
    c_rm1_8: Constant<Bits<8>>,
    c_lr8: Constant<Bits<8>>,
    c_zero8: Constant<Bits<8>>,
    c_zero16: Constant<Bits<16>>,
    c_one16: Constant<Bits<16>>,
    c_zero32: Constant<Bits<32>>,
    c_two2: Constant<Bits<2>>,
    c_zero2: Constant<Bits<2>>,
    c_keep: Constant<Bits<32>>,
}

impl<const W: usize, const BE: usize> Decide<W, BE> {
    /// For `R = BE` lanes and up to `max_heads` heads (`ceil(max_heads/R)` weight words).
    pub fn new(max_heads: usize) -> Self {
        let rows = BE;
        let c8 = |v: u64| Constant::new(Bits::<8>::from(v));
        Decide {
            clock: Signal::default(),
            reset: Signal::default(),
            go: Signal::default(),
            busy: Signal::default(),
            heads: Signal::default(),
            rows: Signal::default(),
            prefix: Signal::default(),
            par_addr: Signal::default(),
            p_stride: Signal::default(),
            w_addr: Signal::default(),
            rd_data: Signal::default(),
            rd: ReadRequest::default(),
            tok: TokenWrite::default(),
            dropped: Signal::default(),
            total: Signal::default(),
            finish: Signal::default(),
            phase: DFF::default(),
            weight_addr: DFF::default(),
            weight_words_left: DFF::default(),
            head: DFF::default(),
            token: DFF::default(),
            token_prob_addr: DFF::default(),
            prob_addr: DFF::default(),
            drain_left: DFF::default(),
            weights: HeadWeights::new(max_heads),
            p1_valid: DFF::default(),
            p1_head: DFF::default(),
            p1_token: DFF::default(),
            p1_first: DFF::default(),
            p1_last: DFF::default(),
            p2_valid: DFF::default(),
            p2_head: DFF::default(),
            p2_token: DFF::default(),
            p2_first: DFF::default(),
            p2_last: DFF::default(),
            margin: DFF::default(),
            score: DFF::default(),
            total_r: DFF::default(),
            dropped_r: DFF::default(),
            ext_prefix: Extend::new(false),
            ext_weight_words: Extend::new(false),
            ext_w9: Extend::new(false),
            ext_p9: Extend::new(false),
            wp_mul: MulS::default(),
            ext_prod: Extend::new(false),
            ext_w32: Extend::new(false),
            last_head: Signal::default(),
            last_token: Signal::default(),
            margin_term: Signal::default(),
            margin_base: Signal::default(),
            score_base: Signal::default(),
            margin_new: Signal::default(),
            score_new: Signal::default(),
            package_weight: Signal::default(),
            keep: Signal::default(),
            p_idle: Constant::new(IDLE.into()),
            p_weights: Constant::new(WEIGHTS.into()),
            p_probs: Constant::new(PROBS.into()),
            p_drain: Constant::new(DRAIN.into()),
            c_rm1_8: c8(rows as u64 - 1),
            c_lr8: c8(rows.trailing_zeros() as u64),
            c_zero8: c8(0),
            c_zero16: Constant::new(0u64.into()),
            c_one16: Constant::new(1u64.into()),
            c_zero32: Constant::new(0u64.into()),
            c_two2: Constant::new(2u64.into()),
            c_zero2: Constant::new(0u64.into()),
            c_keep: Constant::new((1u64 << 31).into()),
        }
    }
}

impl<const W: usize, const BE: usize> Logic for Decide<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            phase,
            weight_addr,
            weight_words_left,
            head,
            token,
            token_prob_addr,
            prob_addr,
            drain_left,
            p1_valid,
            p1_head,
            p1_token,
            p1_first,
            p1_last,
            p2_valid,
            p2_head,
            p2_token,
            p2_first,
            p2_last,
            margin,
            score,
            total_r,
            dropped_r
        );
        Signal::<Out, Bit>::link(&mut self.dropped, &mut self.dropped_r.q);
        Signal::<Out, Bits<32>>::link(&mut self.total, &mut self.total_r.q);
        self.ext_weight_words.din.next = (self.heads.val() + self.c_rm1_8.val()) >> self.c_lr8.val();
        self.ext_prefix.din.next = self.prefix.val();
        self.last_head.next = self.heads.val() - 1;
        self.last_token.next = self.rows.val() - 1;

        // The weight words: one read per WEIGHTS cycle (word `head`), kept as the data arrives.
        self.weights.clock.next = self.clock.val();
        self.weights.reset.next = self.reset.val();
        self.weights.load.next = self.phase.q.val() == self.p_weights.val();
        self.weights.word.next = self.head.q.val();
        self.weights.rd_data.next = self.rd_data.val();
        self.weights.head.next = self.p2_head.q.val();

        // Read pipeline stage 2: the data of a stage-1 address arrives now.
        self.p1_valid.d.next = false;
        self.p2_valid.d.next = self.p1_valid.q.val();
        self.p2_head.d.next = self.p1_head.q.val();
        self.p2_token.d.next = self.p1_token.q.val();
        self.p2_first.d.next = self.p1_first.q.val();
        self.p2_last.d.next = self.p1_last.q.val();

        // margin += w p - 128 w, score += w p; the token's entry after its last head.
        self.ext_w9.din.next = self.weights.weight.val();
        self.ext_p9.din.next = self.rd_data.val().get_bits::<8>(0);
        self.wp_mul.a.next = self.ext_w9.dout.val();
        self.wp_mul.b.next = self.ext_p9.dout.val();
        self.ext_prod.din.next = self.wp_mul.p.val();
        self.ext_w32.din.next = self.weights.weight.val();
        self.margin_term.next = self.ext_prod.dout.val() - (self.ext_w32.dout.val() << 7);
        self.margin_base.next = self.margin.q.val();
        self.score_base.next = self.score.q.val();
        if self.p2_first.q.val() {
            self.margin_base.next = self.c_zero32.val();
            self.score_base.next = self.c_zero32.val();
        }
        self.margin_new.next = self.margin_base.val() + self.margin_term.val();
        self.score_new.next = self.score_base.val() + self.ext_prod.dout.val();
        self.package_weight.next = self.score_new.val() + 1;
        self.keep.next = !self.margin_new.val().get_bit(31) || (self.p2_token.q.val() < self.ext_prefix.dout.val());
        self.tok.addr.next = self.p2_token.q.val();
        self.tok.data.next = self.package_weight.val();
        if self.keep.val() {
            self.tok.data.next = self.c_keep.val();
        }
        self.tok.en.next = false;
        if self.p2_valid.q.val() && self.busy.val() {
            self.margin.d.next = self.margin_new.val();
            self.score.d.next = self.score_new.val();
            if self.p2_last.q.val() {
                self.tok.en.next = true;
                if !self.keep.val() {
                    self.total_r.d.next = self.total_r.q.val() + self.package_weight.val();
                    self.dropped_r.d.next = true;
                }
            }
        }

        // Reads: the weight words, then the probabilities.
        self.rd.en.next = false;
        self.rd.addr.next = self.weight_addr.q.val();
        self.finish.next = false;
        if self.phase.q.val() == self.p_weights.val() {
            self.rd.en.next = true;
            self.head.d.next = self.head.q.val() + 1;
            self.weight_addr.d.next = self.weight_addr.q.val() + 1;
            self.weight_words_left.d.next = self.weight_words_left.q.val() - 1;
            if self.weight_words_left.q.val() == self.c_one16.val() {
                self.phase.d.next = self.p_probs.val();
                self.head.d.next = self.c_zero8.val();
                self.token.d.next = self.c_zero16.val();
                self.token_prob_addr.d.next = self.par_addr.val();
                self.prob_addr.d.next = self.par_addr.val();
            }
        } else if self.phase.q.val() == self.p_probs.val() {
            self.rd.en.next = true;
            self.rd.addr.next = self.prob_addr.q.val();
            self.p1_valid.d.next = true;
            self.p1_head.d.next = self.head.q.val();
            self.p1_token.d.next = self.token.q.val();
            self.p1_first.d.next = self.head.q.val() == self.c_zero8.val();
            self.p1_last.d.next = self.head.q.val() == self.last_head.val();
            if self.head.q.val() == self.last_head.val() {
                self.head.d.next = self.c_zero8.val();
                self.token.d.next = self.token.q.val() + 1;
                self.token_prob_addr.d.next = self.token_prob_addr.q.val() + 1;
                self.prob_addr.d.next = self.token_prob_addr.q.val() + 1;
                if self.token.q.val() == self.last_token.val() {
                    self.phase.d.next = self.p_drain.val();
                    self.drain_left.d.next = self.c_two2.val();
                }
            } else {
                self.head.d.next = self.head.q.val() + 1;
                self.prob_addr.d.next = self.prob_addr.q.val() + self.p_stride.val();
            }
        } else if self.phase.q.val() == self.p_drain.val() {
            self.drain_left.d.next = self.drain_left.q.val() - 1;
            if self.drain_left.q.val() == self.c_zero2.val() {
                self.finish.next = true;
                self.phase.d.next = self.p_idle.val();
            }
        }
        if self.go.val() {
            self.phase.d.next = self.p_weights.val();
            self.weight_addr.d.next = self.w_addr.val();
            self.weight_words_left.d.next = self.ext_weight_words.dout.val();
            self.head.d.next = self.c_zero8.val();
            self.token.d.next = self.c_zero16.val();
            self.dropped_r.d.next = false;
            self.total_r.d.next = self.c_zero32.val();
        }
        if self.reset.val() {
            self.phase.d.next = self.p_idle.val();
            self.p1_valid.d.next = false;
            self.p2_valid.d.next = false;
            self.tok.en.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block alone (R = 8 and R = 64) generates Verilog that `verilator -Wall` accepts;
    /// its behaviour is checked through the whole engine (`select/tests.rs`).
    #[test]
    fn decide_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut Decide::<64, 8>::new(16), "decide");
        crate::verilog::lint(&v, "decide").unwrap();
        let v = crate::verilog::generate(&mut Decide::<512, 64>::new(32), "decide");
        crate::verilog::lint(&v, "decide").unwrap();
    }
}
