//! One processing element of the weight-stationary systolic array.

use rust_hdl::prelude::*;

/// A weight-stationary PE: two weight registers (the activation's tag picks one, so the next
/// tile's weights load while the current tile streams) and a partial-sum register passing down:
/// `psum_out <= psum_in + a_in * w[tag_in]`. The activation pipeline between PEs of a row lives
/// in the array (one tapped shift register per row).
///
/// Operands are carried as `Signed<16>` (int8 weights, int8 or uint8 activations sign- or
/// zero-extended at the array edge); products fit in 17 bits and partial sums in 32.
#[derive(LogicBlock, Default)]
pub struct Pe {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Activation (from the row's tapped shift register).
    pub a_in: Signal<In, Signed<16>>,
    /// Weight buffer the activation uses.
    pub tag_in: Signal<In, Bit>,
    /// Partial sum from above.
    pub psum_in: Signal<In, Signed<32>>,
    /// Registered partial sum to the PE below.
    pub psum_out: Signal<Out, Signed<32>>,
    /// Weight write from the row bus (row-wise tile load).
    pub w_row_we: Signal<In, Bit>,
    /// Byte on the row bus for this PE's column.
    pub w_row_data: Signal<In, Signed<16>>,
    /// Weight write from the column bus (column-wise tile load).
    pub w_col_we: Signal<In, Bit>,
    /// Byte on the column bus for this PE's row.
    pub w_col_data: Signal<In, Signed<16>>,
    /// Which weight register a write goes to.
    pub w_sel: Signal<In, Bit>,
    psum_reg: DFF<Signed<32>>,
    w0: DFF<Signed<16>>,
    w1: DFF<Signed<16>>,
}

impl Logic for Pe {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, psum_reg, w0, w1);
        if self.tag_in.val() {
            self.psum_reg.d.next = self.psum_in.val() + self.a_in.val() * self.w1.q.val();
        } else {
            self.psum_reg.d.next = self.psum_in.val() + self.a_in.val() * self.w0.q.val();
        }
        if self.w_row_we.val() {
            if self.w_sel.val() {
                self.w1.d.next = self.w_row_data.val();
            } else {
                self.w0.d.next = self.w_row_data.val();
            }
        } else if self.w_col_we.val() {
            if self.w_sel.val() {
                self.w1.d.next = self.w_col_data.val();
            } else {
                self.w0.d.next = self.w_col_data.val();
            }
        }
        self.psum_out.next = self.psum_reg.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s16(v: i64) -> Signed<16> {
        Signed::<16>::from(v)
    }

    /// Exhaustive over every int8 weight and every int8/uint8 activation: the PE computes
    /// `psum_in + a * w` with the weight from the register the tag selects.
    #[test]
    fn pe_multiplies_every_8_bit_pair() {
        let mut pe = Pe::default();
        pe.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<Pe>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<Pe>| {
            let mut x = ep.init()?;
            for w in -128i64..=127 {
                // Load w into register 0 and -w-1 into register 1 (row bus, then column bus).
                x.w_row_we.next = true;
                x.w_sel.next = false;
                x.w_row_data.next = s16(w);
                wait_clock_cycle!(ep, clock, x);
                x.w_row_we.next = false;
                x.w_col_we.next = true;
                x.w_sel.next = true;
                x.w_col_data.next = s16(-w - 1);
                wait_clock_cycle!(ep, clock, x);
                x.w_col_we.next = false;
                for a in -128i64..=255 {
                    for tag in [false, true] {
                        x.a_in.next = s16(a);
                        x.tag_in.next = tag;
                        x.psum_in.next = Signed::<32>::from(1000 * a);
                        wait_clock_cycle!(ep, clock, x);
                        let wv = if tag { -w - 1 } else { w };
                        sim_assert_eq!(ep, x.psum_out.val(), Signed::<32>::from(1000 * a + a * wv), x);
                    }
                }
            }
            ep.done(x)
        });
        sim.run(Box::new(pe), 1_000_000_000).unwrap();
    }
}
