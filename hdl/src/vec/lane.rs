//! The lanes of the vector unit: [`VecLane`] (one channel of every word: its parameter RAMs and
//! its share of the element pipeline t1-t10, see the stage table of [`crate::vec`]) and
//! [`VecLanes`], the `R` lanes with the routing of the parameter words into their RAMs and of
//! the scratchpad words into the lanes.

use super::sigs;
use crate::arith::{MulS, RecipProduct, RoundShift, Slice};
use crate::storage::{Bank, SP_ADDR_BITS};
use crate::widen::{Concat, Extend, Pack};
use rust_hdl::prelude::*;

/// One lane of the vector unit: its parameter RAMs and its share of the per-element pipeline.
#[derive(LogicBlock)]
pub struct VecLane<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// t1: low byte (LayerNorm) or the int8 input (softmax).
    pub lo: Signal<In, Bits<8>>,
    /// t1: high byte (LayerNorm).
    pub hi: Signal<In, Bits<8>>,
    /// t1: the channel exists (`c < n`); dead lanes contribute 0 to the sums.
    pub live: Signal<In, Bit>,
    /// t1: LayerNorm A pass (square `x` instead of `n x`).
    pub a_pass: Signal<In, Bit>,
    /// The op is LayerNorm (else softmax).
    pub ln: Signal<In, Bit>,
    /// `n`, zero-extended.
    pub n: Signal<In, Bits<17>>,
    /// t1: the row maximum (softmax).
    pub row_max: Signal<In, Bits<8>>,
    /// t2: A pass.
    pub a_pass2: Signal<In, Bit>,
    /// t2: `S1` of the row (LayerNorm).
    pub s1: Signal<In, Bits<34>>,
    /// t3: reciprocal `r` of the row.
    pub recip: Signal<In, Bits<27>>,
    /// t4: `round_offset(shift)` of the row (`crate::arith::round_offset`).
    pub round: Signal<In, Bits<64>>,
    /// t5: normalisation shift (`b + 14`, or 32 for softmax).
    pub shift: Signal<In, Bits<8>>,
    /// t5: parameter RAM read address (word index in the row).
    pub param_index: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Output multiplier (1 for softmax).
    pub out_m: Signal<In, Bits<17>>,
    /// Output shift (0 for softmax).
    pub out_s: Signal<In, Bits<8>>,
    /// The op's output rounding offset, `round_offset(out_s)`.
    pub out_round: Signal<In, Bits<64>>,
    /// The op's clamp in the shifted offset domain (`z = x >> out_s`, the output `z - off`
    /// with `off = 2^62 >> out_s`): below `out_lo` the output is the low limit (LayerNorm
    /// -128, softmax 0), above `out_hi` the high one (127, 255).
    pub out_lo: Signal<In, Bits<64>>,
    /// See `out_lo`.
    pub out_hi: Signal<In, Bits<64>>,
    /// The low byte of `off`.
    pub out_off8: Signal<In, Bits<8>>,
    /// Gamma RAM write strobe.
    pub g_we: Signal<In, Bit>,
    /// Gamma RAM write address.
    pub g_waddr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Gamma RAM write data.
    pub g_wdata: Signal<In, Bits<16>>,
    /// Beta RAM write strobe.
    pub b_we: Signal<In, Bit>,
    /// Beta RAM write address.
    pub b_waddr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Beta RAM write data.
    pub b_wdata: Signal<In, Bits<32>>,
    /// Exp table write strobe.
    pub t_we: Signal<In, Bit>,
    /// Exp table write address (word of `R/2` entries).
    pub t_waddr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Exp table write data.
    pub t_wdata: Signal<In, Bits<W>>,
    /// t3: this lane's term of the first sum (`x` or `e`, two's complement).
    pub sum_a: Signal<Out, Bits<24>>,
    /// t3: this lane's term of the second sum (`x^2`).
    pub sum_b: Signal<Out, Bits<40>>,
    /// t10: the output byte.
    pub y: Signal<Out, Bits<8>>,

    /// Gamma per channel of this lane (entry = word index in the row).
    gamma_ram: Bank<16, 2>,
    /// Beta per channel of this lane.
    beta_ram: Bank<32, 4>,
    /// This lane's copy of the exp table, `R/2` entries a word.
    exp_table: Bank<W, BE>,
    // t1
    x_concat: Concat<8, 8, 16>,
    x_t1: Signal<Local, Bits<16>>,
    ext_x: Extend<17, 16>,
    mul_x: MulS<17, 16, 33>,
    table_index: Signal<Local, Bits<8>>,
    table_word: Extend<SP_ADDR_BITS, 8>,
    /// t2: `x` (0 in dead lanes).
    x_t2: DFF<Bits<16>>,
    /// t2: `x^2` (A pass) or `n x` (B pass).
    product_t2: DFF<Bits<33>>,
    /// t2: the exp entry's slot in the table word read.
    table_slot_t2: DFF<Bits<8>>,
    /// t2: the channel exists.
    live_t2: DFF<Bit>,
    // t2
    exp_entry: Signal<Local, Bits<16>>,
    ext_x_t2: Extend<34, 16>,
    ext_product: Extend<34, 33>,
    ext_exp: Extend<34, 16>,
    ext_square: Extend<40, 33>,
    /// t3: `t` = `n x - S1` (LN B), `x` (LN A) or `e` (softmax).
    term_t3: DFF<Bits<34>>,
    /// t3: `x^2`.
    square_t3: DFF<Bits<40>>,
    term_slice: Slice<34, 24>,
    // t3, t4
    mul_recip: RecipProduct,
    /// t4: the three terms of `p = t r` ([`RecipProduct`]: two DSP products and a LUT term).
    scaled_lo_t4: DFF<Bits<64>>,
    /// See `scaled_lo_t4`.
    scaled_hi_t4: DFF<Bits<64>>,
    /// See `scaled_lo_t4`.
    scaled_top_t4: DFF<Bits<64>>,
    /// t5: `p + round_offset(shift)` (offset binary and rounding half for the shifter).
    scaled_ob_t5: DFF<Bits<64>>,
    // t5
    round_norm: RoundShift,
    norm_slice: Slice<64, 24>,
    /// t6: `u = shift_round(p, shift)`.
    norm_t6: DFF<Bits<24>>,
    // t6
    mul_gamma: MulS<24, 16, 40>,
    ext_b: Extend<40, 32>,
    beta_term: Signal<Local, Bits<40>>,
    /// t7: `u gamma + beta` (softmax: `u`).
    affine_t7: DFF<Bits<40>>,
    // t7, t8
    mul_out_m: MulS<40, 17, 57>,
    /// t8: that times the output multiplier.
    requant_t8: DFF<Bits<57>>,
    ext_requant: Extend<64, 57>,
    /// t9: that `+ round_offset(out_s)`.
    requant_ob_t9: DFF<Bits<64>>,
    // t9
    /// `z = x >> out_s`: the output is `z - off`, compared in this domain.
    shifted: Signal<Local, Bits<64>>,
    /// t10: the clamped output byte.
    y_t10: DFF<Bits<8>>,

    one16: Constant<Bits<16>>,
    zero16: Constant<Bits<16>>,
    zero40: Constant<Bits<40>>,
    sel_mask: Constant<Bits<8>>,
    tab_shift: Constant<Bits<8>>,
    g_be: Constant<Bits<2>>,
    b_be: Constant<Bits<4>>,
    t_be: Constant<Bits<BE>>,
    i8_max: Constant<Bits<8>>,
    i8_min: Constant<Bits<8>>,
    u8_max: Constant<Bits<8>>,
    zero8: Constant<Bits<8>>,
    _half: usize,
}

impl<const W: usize, const BE: usize> VecLane<W, BE> {
    /// A lane of an `R = BE`-lane unit with `depth`-entry gamma/beta RAMs.
    pub fn new(depth: usize) -> Self {
        let half = BE / 2;
        let mut all_be = Bits::<BE>::default();
        for i in 0..BE {
            all_be = all_be.replace_bit(i, true);
        }
        VecLane {
            clock: Signal::default(),
            lo: Signal::default(),
            hi: Signal::default(),
            live: Signal::default(),
            a_pass: Signal::default(),
            ln: Signal::default(),
            n: Signal::default(),
            row_max: Signal::default(),
            a_pass2: Signal::default(),
            s1: Signal::default(),
            recip: Signal::default(),
            round: Signal::default(),
            shift: Signal::default(),
            param_index: Signal::default(),
            out_m: Signal::default(),
            out_s: Signal::default(),
            out_round: Signal::default(),
            out_lo: Signal::default(),
            out_hi: Signal::default(),
            out_off8: Signal::default(),
            g_we: Signal::default(),
            g_waddr: Signal::default(),
            g_wdata: Signal::default(),
            b_we: Signal::default(),
            b_waddr: Signal::default(),
            b_wdata: Signal::default(),
            t_we: Signal::default(),
            t_waddr: Signal::default(),
            t_wdata: Signal::default(),
            sum_a: Signal::default(),
            sum_b: Signal::default(),
            y: Signal::default(),
            gamma_ram: Bank::new(depth),
            beta_ram: Bank::new(depth),
            exp_table: Bank::new(512 / BE),
            x_concat: Concat::default(),
            x_t1: Signal::default(),
            ext_x: Extend::new(true),
            mul_x: MulS::default(),
            table_index: Signal::default(),
            table_word: Extend::new(false),
            x_t2: DFF::default(),
            product_t2: DFF::default(),
            table_slot_t2: DFF::default(),
            live_t2: DFF::default(),
            exp_entry: Signal::default(),
            ext_x_t2: Extend::new(true),
            ext_product: Extend::new(true),
            ext_exp: Extend::new(false),
            ext_square: Extend::new(true),
            term_t3: DFF::default(),
            square_t3: DFF::default(),
            term_slice: Slice::new(0),
            mul_recip: RecipProduct::default(),
            scaled_lo_t4: DFF::default(),
            scaled_hi_t4: DFF::default(),
            scaled_top_t4: DFF::default(),
            scaled_ob_t5: DFF::default(),
            round_norm: RoundShift::default(),
            norm_slice: Slice::new(0),
            norm_t6: DFF::default(),
            mul_gamma: MulS::default(),
            ext_b: Extend::new(true),
            beta_term: Signal::default(),
            affine_t7: DFF::default(),
            mul_out_m: MulS::default(),
            requant_t8: DFF::default(),
            ext_requant: Extend::new(true),
            requant_ob_t9: DFF::default(),
            shifted: Signal::default(),
            y_t10: DFF::default(),
            one16: Constant::new(1u64.into()),
            zero16: Constant::new(0u64.into()),
            zero40: Constant::new(0u64.into()),
            sel_mask: Constant::new(((half - 1) as u64).into()),
            tab_shift: Constant::new((half.trailing_zeros() as u64).into()),
            g_be: Constant::new(3u64.into()),
            b_be: Constant::new(15u64.into()),
            t_be: Constant::new(all_be),
            i8_max: Constant::new(0x7Fu64.into()),
            i8_min: Constant::new(0x80u64.into()),
            u8_max: Constant::new(0xFFu64.into()),
            zero8: Constant::new(0u64.into()),
            _half: half,
        }
    }
}

impl<const W: usize, const BE: usize> Logic for VecLane<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, x_t2, product_t2, table_slot_t2, live_t2, term_t3, square_t3);
        dff_setup!(self, clock, scaled_lo_t4, scaled_hi_t4, scaled_top_t4);
        dff_setup!(self, clock, scaled_ob_t5, norm_t6, affine_t7, requant_t8, requant_ob_t9, y_t10);
        self.gamma_ram.clock.next = self.clock.val();
        self.beta_ram.clock.next = self.clock.val();
        self.exp_table.clock.next = self.clock.val();
        Signal::<In, Bits<34>>::join(&mut self.term_slice.din, &mut self.term_t3.q);
        Signal::<Out, Bits<24>>::link(&mut self.sum_a, &mut self.term_slice.dout);
        Signal::<Out, Bits<40>>::link(&mut self.sum_b, &mut self.square_t3.q);
        Signal::<Out, Bits<8>>::link(&mut self.y, &mut self.y_t10.q);

        // Parameter RAM writes.
        self.gamma_ram.wr_addr.next = self.g_waddr.val();
        self.gamma_ram.wr_data.next = self.g_wdata.val();
        self.gamma_ram.wr_be.next = self.g_be.val();
        self.gamma_ram.wr_en.next = self.g_we.val();
        self.beta_ram.wr_addr.next = self.b_waddr.val();
        self.beta_ram.wr_data.next = self.b_wdata.val();
        self.beta_ram.wr_be.next = self.b_be.val();
        self.beta_ram.wr_en.next = self.b_we.val();
        self.exp_table.wr_addr.next = self.t_waddr.val();
        self.exp_table.wr_data.next = self.t_wdata.val();
        self.exp_table.wr_be.next = self.t_be.val();
        self.exp_table.wr_en.next = self.t_we.val();

        // t1: x (dead lanes read as 0), the shared 17x16 multiplier, the exp table address.
        self.x_concat.hi.next = self.hi.val();
        self.x_concat.lo.next = self.lo.val();
        self.x_t1.next = self.zero16.val();
        if self.live.val() {
            self.x_t1.next = self.x_concat.dout.val();
        }
        self.ext_x.din.next = self.x_t1.val();
        self.mul_x.a.next = self.n.val();
        if self.a_pass.val() {
            self.mul_x.a.next = self.ext_x.dout.val();
        }
        self.mul_x.b.next = self.x_t1.val();
        self.x_t2.d.next = self.x_t1.val();
        self.product_t2.d.next = self.mul_x.p.val();
        self.table_index.next = self.row_max.val() - self.lo.val();
        self.table_word.din.next = self.table_index.val() >> self.tab_shift.val();
        self.exp_table.rd_addr.next = self.table_word.dout.val();
        self.table_slot_t2.d.next = self.table_index.val() & self.sel_mask.val();
        self.live_t2.d.next = self.live.val();

        // t2: e = table entry (0 in dead lanes); t = n x - S1 (LN B), x (LN A) or e (softmax).
        self.exp_entry.next = self.zero16.val();
        for i in 0..self._half {
            if self.live_t2.q.val() && (self.table_slot_t2.q.val().index() == i) {
                self.exp_entry.next = self.exp_table.rd_data.val().get_bits::<16>(16 * i);
            }
        }
        self.ext_x_t2.din.next = self.x_t2.q.val();
        self.ext_product.din.next = self.product_t2.q.val();
        self.ext_exp.din.next = self.exp_entry.val();
        self.ext_square.din.next = self.product_t2.q.val();
        if self.ln.val() {
            if self.a_pass2.val() {
                self.term_t3.d.next = self.ext_x_t2.dout.val();
            } else {
                self.term_t3.d.next = self.ext_product.dout.val() - self.s1.val();
            }
        } else {
            self.term_t3.d.next = self.ext_exp.dout.val();
        }
        self.square_t3.d.next = self.ext_square.dout.val();

        // t3: the terms of p = t * r; t4: their sum in offset binary with the rounding half (one
        // four-operand add: a carry-save level and a 64-bit carry chain).
        self.mul_recip.t.next = self.term_t3.q.val();
        self.mul_recip.r.next = self.recip.val();
        self.scaled_lo_t4.d.next = self.mul_recip.lo.val();
        self.scaled_hi_t4.d.next = self.mul_recip.hi.val();
        self.scaled_top_t4.d.next = self.mul_recip.top.val();
        self.scaled_ob_t5.d.next =
            self.scaled_lo_t4.q.val() + self.scaled_hi_t4.q.val() + self.scaled_top_t4.q.val() + self.round.val();

        // t5: u = shift_round(p, shift); the parameter RAMs are read for t6.
        self.round_norm.x.next = self.scaled_ob_t5.q.val();
        self.round_norm.s.next = self.shift.val();
        self.norm_slice.din.next = self.round_norm.y.val();
        self.norm_t6.d.next = self.norm_slice.dout.val();
        self.gamma_ram.rd_addr.next = self.param_index.val();
        self.beta_ram.rd_addr.next = self.param_index.val();

        // t6: acc = u * gamma + beta (softmax: u).
        self.mul_gamma.a.next = self.norm_t6.q.val();
        self.mul_gamma.b.next = self.one16.val();
        self.ext_b.din.next = self.beta_ram.rd_data.val();
        self.beta_term.next = self.zero40.val();
        if self.ln.val() {
            self.mul_gamma.b.next = self.gamma_ram.rd_data.val();
            self.beta_term.next = self.ext_b.dout.val();
        }
        self.affine_t7.d.next = self.mul_gamma.p.val() + self.beta_term.val();

        // t7, t8: acc * m, offset binary with the rounding half.
        self.mul_out_m.a.next = self.affine_t7.q.val();
        self.mul_out_m.b.next = self.out_m.val();
        self.requant_t8.d.next = self.mul_out_m.p.val();
        self.ext_requant.din.next = self.requant_t8.q.val();
        self.requant_ob_t9.d.next = self.ext_requant.dout.val() + self.out_round.val();

        // t9: shift, clamp to int8 (LN) or [0, 255] (softmax) against the op's bounds.
        self.shifted.next = self.requant_ob_t9.q.val() >> self.out_s.val();
        if self.shifted.val() < self.out_lo.val() {
            self.y_t10.d.next = self.zero8.val();
            if self.ln.val() {
                self.y_t10.d.next = self.i8_min.val();
            }
        } else if self.shifted.val() > self.out_hi.val() {
            self.y_t10.d.next = self.u8_max.val();
            if self.ln.val() {
                self.y_t10.d.next = self.i8_max.val();
            }
        } else {
            self.y_t10.d.next = self.shifted.val().get_bits::<8>(0) - self.out_off8.val();
        }
    }
}

/// The `R = BE` lanes of a unit with `W = 8R`-bit words, fed from the read ports, with the
/// parameter routing: gamma word `k` holds channels `kR/2..` (the lanes of half `k % 2`, RAM
/// entry `k / 2`), beta word `k` (after the `gamma_words` gamma words) holds channels `kR/4..`
/// (the lanes of quarter `k % 4`, entry `k / 4`), and every exp table word goes to every lane.
#[derive(LogicBlock)]
pub struct VecLanes<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// The op is LayerNorm (else softmax).
    pub ln: Signal<In, Bit>,
    /// `n`, zero-extended.
    pub n: Signal<In, Bits<17>>,
    /// Gamma words of the parameter block, `ceil(2n/R)`.
    pub gamma_words: Signal<In, Bits<SP_ADDR_BITS>>,
    /// t1: read port 0 data (the low byte plane, the int8 input, or a parameter word).
    pub rd0_data: Signal<In, Bits<W>>,
    /// t1: read port 1 data (the high byte plane).
    pub rd1_data: Signal<In, Bits<W>>,
    /// t1: a parameter word is on port 0.
    pub load_valid: Signal<In, Bit>,
    /// t1: its index in the parameter block.
    pub load_index: Signal<In, Bits<SP_ADDR_BITS>>,
    /// t1: the live lanes (`c < n`).
    pub live: Signal<In, Bits<BE>>,
    /// t1: A pass.
    pub a_pass: Signal<In, Bit>,
    /// t1: the row maximum (softmax).
    pub row_max: Signal<In, Bits<8>>,
    /// t2: A pass.
    pub a_pass2: Signal<In, Bit>,
    /// t2: `S1` of the row (LayerNorm).
    pub s1: Signal<In, Bits<34>>,
    /// t3: the row's reciprocal.
    pub recip: Signal<In, Bits<27>>,
    /// t4: the row's rounding offset.
    pub round: Signal<In, Bits<64>>,
    /// t5: the normalisation shift.
    pub shift: Signal<In, Bits<8>>,
    /// t5: the word's index in the row (parameter RAM address).
    pub param_index: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Output multiplier (1 for softmax).
    pub out_m: Signal<In, Bits<17>>,
    /// Output shift (0 for softmax).
    pub out_s: Signal<In, Bits<8>>,
    /// The op's output rounding offset and clamp bounds (see [`VecLane::out_lo`]).
    pub out_round: Signal<In, Bits<64>>,
    /// See [`VecLane::out_lo`].
    pub out_lo: Signal<In, Bits<64>>,
    /// See [`VecLane::out_lo`].
    pub out_hi: Signal<In, Bits<64>>,
    /// See [`VecLane::out_off8`].
    pub out_off8: Signal<In, Bits<8>>,
    /// t3: per lane, its term of the first sum.
    pub term: Vec<Signal<Out, Bits<24>>>,
    /// t3: per lane, its term of the second sum.
    pub term_sq: Vec<Signal<Out, Bits<40>>>,
    /// t10: the output word.
    pub y: Signal<Out, Bits<W>>,

    lane: Vec<VecLane<W, BE>>,
    out_pack: Pack<W>,
    /// Beta word index (`load_index - gamma_words`).
    beta_index: Signal<Local, Bits<SP_ADDR_BITS>>,
    /// The gamma word's half and the beta word's quarter.
    gamma_half: Signal<Local, Bits<SP_ADDR_BITS>>,
    beta_quarter: Signal<Local, Bits<SP_ADDR_BITS>>,
    /// Write strobes per half (gamma) and per quarter (beta).
    gamma_we: Vec<Signal<Local, Bit>>,
    beta_we: Vec<Signal<Local, Bit>>,
    c_one20: Constant<Bits<SP_ADDR_BITS>>,
    c_three20: Constant<Bits<SP_ADDR_BITS>>,
    _r: usize,
}

impl<const W: usize, const BE: usize> VecLanes<W, BE> {
    /// The lanes with `depth`-entry gamma/beta RAMs.
    pub fn new(depth: usize) -> Self {
        VecLanes {
            clock: Signal::default(),
            ln: Signal::default(),
            n: Signal::default(),
            gamma_words: Signal::default(),
            rd0_data: Signal::default(),
            rd1_data: Signal::default(),
            load_valid: Signal::default(),
            load_index: Signal::default(),
            live: Signal::default(),
            a_pass: Signal::default(),
            row_max: Signal::default(),
            a_pass2: Signal::default(),
            s1: Signal::default(),
            recip: Signal::default(),
            round: Signal::default(),
            shift: Signal::default(),
            param_index: Signal::default(),
            out_m: Signal::default(),
            out_s: Signal::default(),
            out_round: Signal::default(),
            out_lo: Signal::default(),
            out_hi: Signal::default(),
            out_off8: Signal::default(),
            term: sigs(BE),
            term_sq: sigs(BE),
            y: Signal::default(),
            lane: (0..BE).map(|_| VecLane::new(depth)).collect(),
            out_pack: Pack::default(),
            beta_index: Signal::default(),
            gamma_half: Signal::default(),
            beta_quarter: Signal::default(),
            gamma_we: sigs(2),
            beta_we: sigs(4),
            c_one20: Constant::new(1u64.into()),
            c_three20: Constant::new(3u64.into()),
            _r: BE,
        }
    }
}

impl<const W: usize, const BE: usize> Logic for VecLanes<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        Signal::<Out, Bits<W>>::link(&mut self.y, &mut self.out_pack.dout);
        self.beta_index.next = self.load_index.val() - self.gamma_words.val();
        for l in 0..self._r {
            self.lane[l].clock.next = self.clock.val();
            Signal::<In, Bits<8>>::join(&mut self.out_pack.lanes[l], &mut self.lane[l].y);
            self.term[l].next = self.lane[l].sum_a.val();
            self.term_sq[l].next = self.lane[l].sum_b.val();
            self.lane[l].lo.next = self.rd0_data.val().get_bits::<8>(8 * l);
            self.lane[l].hi.next = self.rd1_data.val().get_bits::<8>(8 * l);
            self.lane[l].live.next = self.live.val().get_bit(l);
            self.lane[l].a_pass.next = self.a_pass.val();
            self.lane[l].ln.next = self.ln.val();
            self.lane[l].n.next = self.n.val();
            self.lane[l].row_max.next = self.row_max.val();
            self.lane[l].a_pass2.next = self.a_pass2.val();
            self.lane[l].s1.next = self.s1.val();
            self.lane[l].recip.next = self.recip.val();
            self.lane[l].round.next = self.round.val();
            self.lane[l].shift.next = self.shift.val();
            self.lane[l].param_index.next = self.param_index.val();
            self.lane[l].out_m.next = self.out_m.val();
            self.lane[l].out_s.next = self.out_s.val();
            self.lane[l].out_round.next = self.out_round.val();
            self.lane[l].out_lo.next = self.out_lo.val();
            self.lane[l].out_hi.next = self.out_hi.val();
            self.lane[l].out_off8.next = self.out_off8.val();
            self.lane[l].g_waddr.next = self.load_index.val() >> 1;
            self.lane[l].b_waddr.next = self.beta_index.val() >> 2;
            self.lane[l].t_waddr.next = self.load_index.val();
            self.lane[l].t_wdata.next = self.rd0_data.val();
            self.lane[l].t_we.next = self.load_valid.val() && !self.ln.val();
        }
        self.gamma_half.next = self.load_index.val() & self.c_one20.val();
        self.beta_quarter.next = self.beta_index.val() & self.c_three20.val();
        for h in 0..2 {
            self.gamma_we[h].next = self.load_valid.val()
                && self.ln.val()
                && (self.load_index.val() < self.gamma_words.val())
                && (self.gamma_half.val().index() == h);
        }
        for q in 0..4 {
            self.beta_we[q].next = self.load_valid.val()
                && self.ln.val()
                && (self.load_index.val() >= self.gamma_words.val())
                && (self.beta_quarter.val().index() == q);
        }
        for hr in (self._r / 2)..(self._r / 2 + 1) {
            for h in 0..2 {
                for e in 0..(self._r / 2) {
                    self.lane[h * hr + e].g_wdata.next = self.rd0_data.val().get_bits::<16>(16 * e);
                    self.lane[h * hr + e].g_we.next = self.gamma_we[h].val();
                }
            }
        }
        for qr in (self._r / 4)..(self._r / 4 + 1) {
            for q in 0..4 {
                for e in 0..(self._r / 4) {
                    self.lane[q * qr + e].b_wdata.next = self.rd0_data.val().get_bits::<32>(32 * e);
                    self.lane[q * qr + e].b_we.next = self.beta_we[q].val();
                }
            }
        }
    }
}
