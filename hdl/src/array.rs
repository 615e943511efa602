//! The R x C weight-stationary systolic array with its edge skew and output de-skew.
//!
//! Activations enter on the left, one token row (R lanes, lane r = reduction index k0 + r) per
//! cycle; lane r is delayed by r cycles so the row travels as a diagonal wavefront. Partial sums
//! flow down; column c's sum leaves the bottom c cycles after column 0's and is delayed by
//! `C - 1 - c` cycles so a whole output row (C lanes) appears together, [`ARRAY_LATENCY`]
//! cycles after its input row.
//!
//! Weights are written, never shifted: the row bus writes one tile row (C values) into one PE row,
//! the column bus writes one tile column (R values) into one PE column. Each PE holds two tiles;
//! the tag travelling with each activation selects which, so a tile loads while the previous one
//! streams (see `docs/ARCHITECTURE.md` for the load/stream timing rule).
//!
//! The PEs come in pairs of adjacent columns ([`PePair`]) that share one multiplier for the
//! activation passing them (two int8 MACs per DSP when packed), so `C` is even.

use crate::delay::DelayLine;
use crate::pe::PePair;
use rust_hdl::prelude::*;

/// Cycles from an input row to its aligned output row: `R + C` (row r is skewed r cycles, the
/// sum leaves column c at `R + c`, and column c is de-skewed by `C - c`).
pub fn array_latency(rows: usize, cols: usize) -> usize {
    rows + cols
}

/// `n` default signals.
pub fn signals<D: Direction, T: Synth>(n: usize) -> Vec<Signal<D, T>> {
    (0..n).map(|_| Signal::default()).collect()
}

/// The systolic array.
#[derive(LogicBlock)]
pub struct SystolicArray {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Input row: lane r is the activation for reduction index r of the tile.
    pub a_row: Vec<Signal<In, Signed<16>>>,
    /// Weight buffer the input row uses.
    pub a_tag: Signal<In, Bit>,
    /// Output row (C lanes), [`array_latency`] cycles after the input row.
    pub out: Vec<Signal<Out, Signed<32>>>,
    /// Row bus: C weights.
    pub w_row_data: Vec<Signal<In, Signed<16>>>,
    /// Row bus write enable, one per PE row.
    pub w_row_we: Vec<Signal<In, Bit>>,
    /// Column bus: R weights.
    pub w_col_data: Vec<Signal<In, Signed<16>>>,
    /// Column bus write enable, one per PE column.
    pub w_col_we: Vec<Signal<In, Bit>>,
    /// Weight register a write goes to.
    pub w_sel: Signal<In, Bit>,
    /// PE pairs, pair `j` of row `r` (columns `2j`, `2j + 1`) at `r * C/2 + j`.
    pe: Vec<PePair>,
    /// Input skew: row r >= 1 is delayed r cycles (line r - 1), activation and tag.
    skew_a: Vec<DelayLine<Signed<16>>>,
    skew_t: Vec<DelayLine<Bit>>,
    /// Activation pipeline from column c to column c + 1 (c < C - 2; the last column's
    /// activation is used by its pair's leader already), flattened at r * (C - 2) + c.
    pass_a: Vec<DFF<Signed<16>>>,
    pass_t: Vec<DFF<Bit>>,
    /// Column c's sum is delayed C - c cycles (de-skew plus the output register).
    deskew: Vec<DelayLine<Signed<32>>>,
    zero: Constant<Signed<32>>,
    _rows: usize,
    _cols: usize,
    _half: usize,
}

impl SystolicArray {
    /// An R x C array (C even); `packed` computes each PE pair's two products in one multiplier.
    pub fn new(rows: usize, cols: usize, packed: bool) -> Self {
        assert!(cols.is_multiple_of(2), "the array is built of PE pairs: C must be even");
        SystolicArray {
            clock: Signal::default(),
            a_row: signals(rows),
            a_tag: Signal::default(),
            out: signals(cols),
            w_row_data: signals(cols),
            w_row_we: signals(rows),
            w_col_data: signals(rows),
            w_col_we: signals(cols),
            w_sel: Signal::default(),
            pe: (0..rows * cols / 2).map(|_| PePair::new(packed)).collect(),
            skew_a: (1..rows).map(DelayLine::new).collect(),
            skew_t: (1..rows).map(DelayLine::new).collect(),
            pass_a: (0..rows * (cols - 2)).map(|_| DFF::default()).collect(),
            pass_t: (0..rows * (cols - 2)).map(|_| DFF::default()).collect(),
            deskew: (0..cols).map(|c| DelayLine::new(cols - c)).collect(),
            zero: Constant::new(Signed::from(0)),
            _rows: rows,
            _cols: cols,
            _half: cols / 2,
        }
    }
}

impl Logic for SystolicArray {
    #[hdl_gen]
    fn update(&mut self) {
        for i in 0..(self._rows * self._cols / 2) {
            self.pe[i].clock.next = self.clock.val();
        }
        for half in (self._cols / 2)..(self._cols / 2 + 1) {
            // Left column: row 0 directly, row r through its skew line.
            self.pe[0].a_in.next = self.a_row[0].val();
            self.pe[0].tag_in.next = self.a_tag.val();
            for r in 1..self._rows {
                self.skew_a[r - 1].clock.next = self.clock.val();
                self.skew_t[r - 1].clock.next = self.clock.val();
                self.skew_a[r - 1].din.next = self.a_row[r].val();
                self.skew_t[r - 1].din.next = self.a_tag.val();
                self.pe[r * half].a_in.next = self.skew_a[r - 1].dout.val();
                self.pe[r * half].tag_in.next = self.skew_t[r - 1].dout.val();
            }
            for r in 0..self._rows {
                // Activations pass right through one register per column: column 2j's is the
                // pair's input, column 2j + 1's only travels on to pair j + 1 (so the last
                // column needs none).
                for c in 0..(self._cols - 2) {
                    self.pass_a[r * (2 * half - 2) + c].clock.next = self.clock.val();
                    self.pass_t[r * (2 * half - 2) + c].clock.next = self.clock.val();
                }
                for j in 1..self._half {
                    self.pass_a[r * (2 * half - 2) + 2 * j - 1].d.next =
                        self.pass_a[r * (2 * half - 2) + 2 * j - 2].q.val();
                    self.pass_t[r * (2 * half - 2) + 2 * j - 1].d.next =
                        self.pass_t[r * (2 * half - 2) + 2 * j - 2].q.val();
                    self.pe[r * half + j].a_in.next = self.pass_a[r * (2 * half - 2) + 2 * j - 1].q.val();
                    self.pe[r * half + j].tag_in.next = self.pass_t[r * (2 * half - 2) + 2 * j - 1].q.val();
                }
                // (After every pair's input is assigned: reading one before would be a false
                // combinational loop to Verilator.)
                for j in 0..(self._half - 1) {
                    self.pass_a[r * (2 * half - 2) + 2 * j].d.next = self.pe[r * half + j].a_in.val();
                    self.pass_t[r * (2 * half - 2) + 2 * j].d.next = self.pe[r * half + j].tag_in.val();
                }
                for j in 0..self._half {
                    self.pe[r * half + j].w_row_we.next = self.w_row_we[r].val();
                    self.pe[r * half + j].w_row_data_l.next = self.w_row_data[2 * j].val();
                    self.pe[r * half + j].w_row_data_f.next = self.w_row_data[2 * j + 1].val();
                    self.pe[r * half + j].w_col_we_l.next = self.w_col_we[2 * j].val();
                    self.pe[r * half + j].w_col_we_f.next = self.w_col_we[2 * j + 1].val();
                    self.pe[r * half + j].w_col_data.next = self.w_col_data[r].val();
                    self.pe[r * half + j].w_sel.next = self.w_sel.val();
                }
            }
            // Partial sums pass down; the top row starts from zero.
            for j in 0..self._half {
                self.pe[j].psum_in_l.next = self.zero.val();
                self.pe[j].psum_in_f.next = self.zero.val();
            }
            for r in 1..self._rows {
                for j in 0..self._half {
                    self.pe[r * half + j].psum_in_l.next = self.pe[r * half + j - half].psum_out_l.val();
                    self.pe[r * half + j].psum_in_f.next = self.pe[r * half + j - half].psum_out_f.val();
                }
            }
            // Bottom row -> de-skew -> output.
            for rr in self._rows..(self._rows + 1) {
                for c in 0..self._cols {
                    self.deskew[c].clock.next = self.clock.val();
                    self.out[c].next = self.deskew[c].dout.val();
                }
                for j in 0..self._half {
                    self.deskew[2 * j].din.next = self.pe[(rr - 1) * half + j].psum_out_l.val();
                    self.deskew[2 * j + 1].din.next = self.pe[(rr - 1) * half + j].psum_out_f.val();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Load tile 0 row-wise and tile 1 column-wise, then stream rows alternating between them:
    /// every output row equals the reference product, `array_latency` cycles after its input.
    fn check(rows: usize, cols: usize, packed: bool) {
        let mut uut = SystolicArray::new(rows, cols, packed);
        uut.connect_all();
        let mut rng = crate::testkit::Rng::new(rows as u64 * 31 + cols as u64);
        let w: Vec<Vec<Vec<i64>>> =
            (0..2).map(|_| (0..rows).map(|_| (0..cols).map(|_| rng.range(-128, 127)).collect()).collect()).collect();
        let n_in = 12;
        let a: Vec<Vec<i64>> = (0..n_in).map(|_| (0..rows).map(|_| rng.range(-128, 255)).collect()).collect();
        let lat = array_latency(rows, cols);
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<SystolicArray>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<SystolicArray>| {
            let mut x = ep.init()?;
            // Tile 0 by rows into register 0.
            x.w_sel.next = false;
            for r in 0..rows {
                for rr in 0..rows {
                    x.w_row_we[rr].next = rr == r;
                }
                for c in 0..cols {
                    x.w_row_data[c].next = Signed::from(w[0][r][c]);
                }
                wait_clock_cycle!(ep, clock, x);
            }
            for rr in 0..rows {
                x.w_row_we[rr].next = false;
            }
            // Tile 1 by columns into register 1.
            x.w_sel.next = true;
            for c in 0..cols {
                for cc in 0..cols {
                    x.w_col_we[cc].next = cc == c;
                }
                for r in 0..rows {
                    x.w_col_data[r].next = Signed::from(w[1][r][c]);
                }
                wait_clock_cycle!(ep, clock, x);
            }
            for cc in 0..cols {
                x.w_col_we[cc].next = false;
            }
            for t in 0..n_in + lat {
                if t < n_in {
                    for r in 0..rows {
                        x.a_row[r].next = Signed::from(a[t][r]);
                    }
                    x.a_tag.next = t % 3 == 1;
                }
                wait_clock_cycle!(ep, clock, x);
                if t + 1 >= lat && t + 1 - lat < n_in {
                    let m = t + 1 - lat;
                    let tile = (m % 3 == 1) as usize;
                    for c in 0..cols {
                        let want: i64 = (0..rows).map(|r| a[m][r] * w[tile][r][c]).sum();
                        sim_assert_eq!(ep, x.out[c].val(), Signed::<32>::from(want), x);
                    }
                }
            }
            ep.done(x)
        });
        sim.run(Box::new(uut), 100_000).unwrap();
    }

    #[test]
    fn square_and_rectangular_arrays_multiply() {
        for packed in [true, false] {
            check(4, 4, packed);
            check(4, 2, packed);
            check(8, 4, packed);
        }
    }
}

#[cfg(test)]
mod lint {
    use super::*;

    #[test]
    fn array_verilog_is_lint_clean() {
        for (r, c, packed) in [(4, 4, true), (8, 4, false)] {
            let v = crate::verilog::generate(&mut SystolicArray::new(r, c, packed), "array");
            crate::verilog::lint(&v, "array").unwrap();
        }
    }
}
