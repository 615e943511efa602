//! Two adjacent processing elements of the weight-stationary systolic array (a PE pair).

use crate::mul::PairMul;
use rust_hdl::prelude::*;

/// PEs `(r, 2j)` (the leader) and `(r, 2j + 1)` (the follower) of the array. Each holds two
/// weight registers (the activation's tag picks one, so the next tile's weights load while the
/// current tile streams) and a partial-sum register passing down:
/// `psum_out <= psum_in + a * w[tag]`.
///
/// Both products come from the activation as it passes the leader, in one [`PairMul`] (one DSP
/// when packed): the follower's product waits one cycle in a register, which is exactly when
/// that activation reaches the follower's column, so the pair computes what two PEs would. The
/// follower's weights are therefore read one cycle earlier than its own column would; the
/// tile-load timing rule (`docs/ARCHITECTURE.md`) writes a whole PE row before its wavefront
/// reaches column 0, so both columns' weights are in place. The activation pipeline between
/// columns lives in the array.
///
/// Operands are carried as `Signed<16>` (int8 weights, int8 or uint8 activations sign- or
/// zero-extended at the array edge); products fit in 17 bits and partial sums in 32.
#[derive(LogicBlock)]
pub struct PePair {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Activation at the leader's column.
    pub a_in: Signal<In, Signed<16>>,
    /// Weight buffer the activation uses.
    pub tag_in: Signal<In, Bit>,
    /// Leader's partial sum from above.
    pub psum_in_l: Signal<In, Signed<32>>,
    /// Follower's partial sum from above (one cycle after the leader's).
    pub psum_in_f: Signal<In, Signed<32>>,
    /// Leader's registered partial sum to the PE below.
    pub psum_out_l: Signal<Out, Signed<32>>,
    /// Follower's registered partial sum to the PE below.
    pub psum_out_f: Signal<Out, Signed<32>>,
    /// Weight write from the row bus (row-wise tile load), both columns.
    pub w_row_we: Signal<In, Bit>,
    /// Byte on the row bus for the leader's column.
    pub w_row_data_l: Signal<In, Signed<16>>,
    /// Byte on the row bus for the follower's column.
    pub w_row_data_f: Signal<In, Signed<16>>,
    /// Weight write from the column bus into the leader's column.
    pub w_col_we_l: Signal<In, Bit>,
    /// Weight write from the column bus into the follower's column.
    pub w_col_we_f: Signal<In, Bit>,
    /// Byte on the column bus for this pair's row.
    pub w_col_data: Signal<In, Signed<16>>,
    /// Which weight register a write goes to.
    pub w_sel: Signal<In, Bit>,
    mul: PairMul,
    psum_l: DFF<Signed<32>>,
    psum_f: DFF<Signed<32>>,
    /// The follower's product, one cycle on its way to the follower's column.
    product_f: DFF<Signed<32>>,
    w0_l: DFF<Signed<16>>,
    w1_l: DFF<Signed<16>>,
    w0_f: DFF<Signed<16>>,
    w1_f: DFF<Signed<16>>,
}

impl PePair {
    /// A PE pair; `packed` computes both products in one multiplier ([`PairMul`]).
    pub fn new(packed: bool) -> Self {
        PePair {
            clock: Signal::default(),
            a_in: Signal::default(),
            tag_in: Signal::default(),
            psum_in_l: Signal::default(),
            psum_in_f: Signal::default(),
            psum_out_l: Signal::default(),
            psum_out_f: Signal::default(),
            w_row_we: Signal::default(),
            w_row_data_l: Signal::default(),
            w_row_data_f: Signal::default(),
            w_col_we_l: Signal::default(),
            w_col_we_f: Signal::default(),
            w_col_data: Signal::default(),
            w_sel: Signal::default(),
            mul: PairMul::new(packed),
            psum_l: DFF::default(),
            psum_f: DFF::default(),
            product_f: DFF::default(),
            w0_l: DFF::default(),
            w1_l: DFF::default(),
            w0_f: DFF::default(),
            w1_f: DFF::default(),
        }
    }
}

impl Logic for PePair {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, psum_l, psum_f, product_f, w0_l, w1_l, w0_f, w1_f);
        self.mul.a.next = self.a_in.val();
        if self.tag_in.val() {
            self.mul.w_l.next = self.w1_l.q.val();
            self.mul.w_f.next = self.w1_f.q.val();
        } else {
            self.mul.w_l.next = self.w0_l.q.val();
            self.mul.w_f.next = self.w0_f.q.val();
        }
        self.psum_l.d.next = self.psum_in_l.val() + self.mul.p_l.val();
        self.product_f.d.next = self.mul.p_f.val();
        self.psum_f.d.next = self.psum_in_f.val() + self.product_f.q.val();
        // Weight writes: the row bus has priority over the column bus, per column.
        if self.w_row_we.val() {
            if self.w_sel.val() {
                self.w1_l.d.next = self.w_row_data_l.val();
                self.w1_f.d.next = self.w_row_data_f.val();
            } else {
                self.w0_l.d.next = self.w_row_data_l.val();
                self.w0_f.d.next = self.w_row_data_f.val();
            }
        } else {
            if self.w_col_we_l.val() {
                if self.w_sel.val() {
                    self.w1_l.d.next = self.w_col_data.val();
                } else {
                    self.w0_l.d.next = self.w_col_data.val();
                }
            }
            if self.w_col_we_f.val() {
                if self.w_sel.val() {
                    self.w1_f.d.next = self.w_col_data.val();
                } else {
                    self.w0_f.d.next = self.w_col_data.val();
                }
            }
        }
        self.psum_out_l.next = self.psum_l.q.val();
        self.psum_out_f.next = self.psum_f.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s16(v: i64) -> Signed<16> {
        Signed::<16>::from(v)
    }

    /// Exhaustive over every int8 leader weight and every int8/uint8 activation, packed and
    /// unpacked: the leader computes `psum_in + a * w` and the follower, one cycle later,
    /// `psum_in + a * w'` with its own weight (a different function of the same byte), each with
    /// the weight register the tag selects.
    #[test]
    fn pe_pair_multiplies_every_8_bit_pair() {
        for packed in [true, false] {
            let mut pe = PePair::new(packed);
            pe.connect_all();
            let mut sim = Simulation::new();
            sim.add_clock(5, |x: &mut Box<PePair>| x.clock.next = !x.clock.val());
            sim.add_testbench(move |mut ep: Sim<PePair>| {
                let mut x = ep.init()?;
                let follower = |w: i64| ((w ^ 0x55) - 0x40) & 0xff;
                let byte = |w: i64| (w << 56) >> 56;
                for w in -128i64..=127 {
                    let (wf0, wf1) = (byte(follower(w)), byte(!w));
                    // Register 0 by the row bus, register 1 by the column bus (one column a cycle).
                    x.w_row_we.next = true;
                    x.w_sel.next = false;
                    x.w_row_data_l.next = s16(w);
                    x.w_row_data_f.next = s16(wf0);
                    wait_clock_cycle!(ep, clock, x);
                    x.w_row_we.next = false;
                    x.w_sel.next = true;
                    x.w_col_we_l.next = true;
                    x.w_col_data.next = s16(-w - 1);
                    wait_clock_cycle!(ep, clock, x);
                    x.w_col_we_l.next = false;
                    x.w_col_we_f.next = true;
                    x.w_col_data.next = s16(wf1);
                    wait_clock_cycle!(ep, clock, x);
                    x.w_col_we_f.next = false;
                    let mut previous: Option<(i64, bool)> = None;
                    for a in -128i64..=255 {
                        for tag in [false, true] {
                            x.a_in.next = s16(a);
                            x.tag_in.next = tag;
                            x.psum_in_l.next = Signed::<32>::from(1000 * a);
                            x.psum_in_f.next = Signed::<32>::from(-7 * a);
                            wait_clock_cycle!(ep, clock, x);
                            let wl = if tag { -w - 1 } else { w };
                            sim_assert_eq!(ep, x.psum_out_l.val(), Signed::<32>::from(1000 * a + a * wl), x);
                            if let Some((pa, ptag)) = previous {
                                // The follower adds this cycle's psum to the previous activation's product.
                                let wf = if ptag { wf1 } else { wf0 };
                                sim_assert_eq!(ep, x.psum_out_f.val(), Signed::<32>::from(-7 * a + pa * wf), x);
                            }
                            previous = Some((a, tag));
                        }
                    }
                }
                ep.done(x)
            });
            sim.run(Box::new(pe), 2_000_000_000).unwrap();
        }
    }
}
