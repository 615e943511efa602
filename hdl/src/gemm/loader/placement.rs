//! Where each n-tile's data lives, for the loader: the n-tile's output placement (word offset
//! from output row 0, C-byte group, channels left) and, for an on-chip B, the scratchpad
//! addresses of its tile rows or columns.
//!
//! n-tile `j` of a GEMM whose first output channel sits in byte group `g0` writes byte group
//! `(g0 + j) % (R/C)` of word offset `(g0 + j) / (R/C)`; with B by rows it reads byte group
//! `(b0 + j) % (R/C)` of rows `b_addr + (b0 + j) / (R/C) + k * b_stride` for `k = 0, 1, ...`
//! (all its k-tiles in turn); with B by columns, k-tile `kt` reads column `c` at
//! `b_addr + (j C + c) * b_stride + kt`.

use crate::storage::SP_ADDR_BITS;
use rust_hdl::prelude::*;

/// The placement bookkeeping for an `R x C` array.
#[derive(LogicBlock)]
pub struct TilePlacement {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Start a GEMM; the operands below are latched.
    pub start: Signal<In, Bit>,
    /// Output channels N.
    pub n: Signal<In, Bits<16>>,
    /// Byte group of output channel 0.
    pub o_group: Signal<In, Bits<4>>,
    /// On-chip B: word address of row 0.
    pub b_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// On-chip B: words between rows (row loads) or output channels (column loads).
    pub b_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Row loads: byte group of output channel 0.
    pub b_group: Signal<In, Bits<4>>,
    /// B is loaded by columns.
    pub column_loads: Signal<In, Bit>,
    /// Move on to the next n-tile (its first header word is taken this cycle).
    pub next_n_tile: Signal<In, Bit>,
    /// A column-loaded tile starts this cycle: point at its k-tile's first column.
    pub tile_start: Signal<In, Bit>,
    /// The k-tile of that tile.
    pub k_tile: Signal<In, Bits<SP_ADDR_BITS>>,
    /// One B word is read this cycle (at `b_rd_addr`): step to the next row or column.
    pub read: Signal<In, Bit>,
    /// The current n-tile's output word offset.
    pub place_word: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Its output byte group.
    pub place_group: Signal<Out, Bits<4>>,
    /// Output channels left from its first one on.
    pub channels_left: Signal<Out, Bits<16>>,
    /// Row loads: the byte group of the n-tile being loaded.
    pub b_group_tile: Signal<Out, Bits<4>>,
    /// Address of the B word to read (the next row, or the next column while reading).
    pub b_rd_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    columns: DFF<Bit>,
    b_base: DFF<Bits<SP_ADDR_BITS>>,
    b_step: DFF<Bits<SP_ADDR_BITS>>,
    b_step_per_n_tile: DFF<Bits<SP_ADDR_BITS>>,
    n_left: DFF<Bits<16>>,
    o_word_next: DFF<Bits<SP_ADDR_BITS>>,
    o_group_next: DFF<Bits<4>>,
    b_word_next: DFF<Bits<SP_ADDR_BITS>>,
    b_group_next: DFF<Bits<4>>,
    b_group_now: DFF<Bits<4>>,
    b_row_ptr: DFF<Bits<SP_ADDR_BITS>>,
    b_col_next: DFF<Bits<SP_ADDR_BITS>>,
    b_col_tile: DFF<Bits<SP_ADDR_BITS>>,
    b_col_ptr: DFF<Bits<SP_ADDR_BITS>>,
    cols16: Constant<Bits<16>>,
    group_last: Constant<Bits<4>>,
    log_cols: Constant<Bits<SP_ADDR_BITS>>,
}

impl TilePlacement {
    /// The bookkeeping for an `rows x cols` array (`cols` divides `rows`).
    pub fn new(rows: usize, cols: usize) -> Self {
        assert!(rows.is_multiple_of(cols));
        TilePlacement {
            clock: Signal::default(),
            start: Signal::default(),
            n: Signal::default(),
            o_group: Signal::default(),
            b_addr: Signal::default(),
            b_stride: Signal::default(),
            b_group: Signal::default(),
            column_loads: Signal::default(),
            next_n_tile: Signal::default(),
            tile_start: Signal::default(),
            k_tile: Signal::default(),
            read: Signal::default(),
            place_word: Signal::default(),
            place_group: Signal::default(),
            channels_left: Signal::default(),
            b_group_tile: Signal::default(),
            b_rd_addr: Signal::default(),
            columns: DFF::default(),
            b_base: DFF::default(),
            b_step: DFF::default(),
            b_step_per_n_tile: DFF::default(),
            n_left: DFF::default(),
            o_word_next: DFF::default(),
            o_group_next: DFF::default(),
            b_word_next: DFF::default(),
            b_group_next: DFF::default(),
            b_group_now: DFF::default(),
            b_row_ptr: DFF::default(),
            b_col_next: DFF::default(),
            b_col_tile: DFF::default(),
            b_col_ptr: DFF::default(),
            cols16: Constant::new(Bits::<16>::from(cols as u64)),
            group_last: Constant::new(Bits::<4>::from((rows / cols - 1) as u64)),
            log_cols: Constant::new(Bits::<SP_ADDR_BITS>::from(cols.trailing_zeros() as u64)),
        }
    }
}

impl Logic for TilePlacement {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            columns,
            b_base,
            b_step,
            b_step_per_n_tile,
            n_left,
            o_word_next,
            o_group_next,
            b_word_next,
            b_group_next,
            b_group_now,
            b_row_ptr,
            b_col_next,
            b_col_tile,
            b_col_ptr
        );
        if self.next_n_tile.val() {
            // The output placement of the next n-tile.
            self.n_left.d.next = self.n_left.q.val() - self.cols16.val();
            self.o_group_next.d.next = self.o_group_next.q.val() + 1;
            if self.o_group_next.q.val() == self.group_last.val() {
                self.o_group_next.d.next = 0.into();
                self.o_word_next.d.next = self.o_word_next.q.val() + 1;
            }
            // This n-tile's B rows (byte group b_group_now from b_row_ptr on) or columns (from
            // b_col_tile on), and the next one's.
            self.b_group_now.d.next = self.b_group_next.q.val();
            self.b_row_ptr.d.next = self.b_base.q.val() + self.b_word_next.q.val();
            self.b_group_next.d.next = self.b_group_next.q.val() + 1;
            if self.b_group_next.q.val() == self.group_last.val() {
                self.b_group_next.d.next = 0.into();
                self.b_word_next.d.next = self.b_word_next.q.val() + 1;
            }
            self.b_col_tile.d.next = self.b_col_next.q.val();
            self.b_col_next.d.next = self.b_col_next.q.val() + self.b_step_per_n_tile.q.val();
        }
        if self.tile_start.val() {
            self.b_col_ptr.d.next = self.b_col_tile.q.val() + self.k_tile.val();
        }
        self.b_rd_addr.next = self.b_row_ptr.q.val();
        if self.read.val() {
            if self.columns.q.val() {
                self.b_rd_addr.next = self.b_col_ptr.q.val();
                self.b_col_ptr.d.next = self.b_col_ptr.q.val() + self.b_step.q.val();
            } else {
                self.b_row_ptr.d.next = self.b_row_ptr.q.val() + self.b_step.q.val();
            }
        }
        if self.start.val() {
            self.columns.d.next = self.column_loads.val();
            self.b_base.d.next = self.b_addr.val();
            self.b_step.d.next = self.b_stride.val();
            self.b_step_per_n_tile.d.next = self.b_stride.val() << self.log_cols.val();
            self.n_left.d.next = self.n.val();
            self.o_group_next.d.next = self.o_group.val();
            self.o_word_next.d.next = 0.into();
            self.b_group_next.d.next = self.b_group.val();
            self.b_word_next.d.next = 0.into();
            self.b_col_next.d.next = self.b_addr.val();
        }
        self.place_word.next = self.o_word_next.q.val();
        self.place_group.next = self.o_group_next.q.val();
        self.channels_left.next = self.n_left.q.val();
        self.b_group_tile.next = self.b_group_now.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const R: usize = 8;

    /// A GEMM's placement operands and, per n-tile, how many tiles it has.
    #[derive(Clone, Debug)]
    struct Case {
        cols: usize,
        n: u64,
        o_group: u64,
        b_addr: u64,
        b_stride: u64,
        b_group: u64,
        columns: bool,
        n_tiles: usize,
        k_tiles: usize,
    }

    fn case() -> impl Strategy<Value = Case> {
        (any::<bool>(), 1u64..100, 0u64..2, 0u64..1000, 0u64..9, 0u64..2, any::<bool>(), 1usize..5, 1usize..4).prop_map(
            |(narrow, n, o_group, b_addr, b_stride, b_group, columns, n_tiles, k_tiles)| {
                let cols = if narrow { 4 } else { 8 };
                let groups = (R / cols) as u64;
                Case {
                    cols,
                    n,
                    o_group: o_group % groups,
                    b_addr,
                    b_stride,
                    b_group: b_group % groups,
                    columns,
                    n_tiles,
                    k_tiles,
                }
            },
        )
    }

    /// Runs the loader's sequence of events (per n-tile: next n-tile, then per k-tile: tile
    /// start and its reads) and checks placement and addresses against the layout in the module
    /// docs.
    fn run(c: Case) {
        let mut uut = TilePlacement::new(R, c.cols);
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<TilePlacement>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<TilePlacement>| {
            let mut x = ep.init()?;
            let groups = (R / c.cols) as u64;
            x.start.next = true;
            x.n.next = c.n.into();
            x.o_group.next = c.o_group.into();
            x.b_addr.next = c.b_addr.into();
            x.b_stride.next = c.b_stride.into();
            x.b_group.next = c.b_group.into();
            x.column_loads.next = c.columns;
            wait_clock_cycle!(ep, clock, x);
            x.start.next = false;
            let reads_per_tile = if c.columns { c.cols } else { R };
            for j in 0..c.n_tiles as u64 {
                let o = c.o_group + j;
                sim_assert_eq!(ep, x.place_word.val(), Bits::<SP_ADDR_BITS>::from(o / groups), x);
                sim_assert_eq!(ep, x.place_group.val(), Bits::<4>::from(o % groups), x);
                let left = c.n.wrapping_sub(j * c.cols as u64) & 0xffff;
                sim_assert_eq!(ep, x.channels_left.val(), Bits::<16>::from(left), x);
                x.next_n_tile.next = true;
                wait_clock_cycle!(ep, clock, x);
                x.next_n_tile.next = false;
                let b = c.b_group + j;
                if !c.columns {
                    sim_assert_eq!(ep, x.b_group_tile.val(), Bits::<4>::from(b % groups), x);
                }
                for kt in 0..c.k_tiles as u64 {
                    x.tile_start.next = true;
                    x.k_tile.next = kt.into();
                    wait_clock_cycle!(ep, clock, x);
                    x.tile_start.next = false;
                    for i in 0..reads_per_tile as u64 {
                        x.read.next = true;
                        x = ep.wait(1, x)?;
                        let want = if c.columns {
                            c.b_addr + (j * c.cols as u64 + i) * c.b_stride + kt
                        } else {
                            c.b_addr + b / groups + (kt * R as u64 + i) * c.b_stride
                        };
                        sim_assert_eq!(ep, x.b_rd_addr.val(), Bits::<SP_ADDR_BITS>::from(want), x);
                        wait_clock_cycle!(ep, clock, x);
                        x.read.next = false;
                    }
                }
            }
            ep.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Output placement and B addresses of every n-tile, by rows and by columns.
        #[test]
        fn places_each_n_tile(c in case()) {
            run(c);
        }
    }

    #[test]
    fn verilog_is_lint_clean() {
        for cols in [4, 8] {
            let v = crate::verilog::generate(&mut TilePlacement::new(8, cols), "gemm_placement");
            crate::verilog::lint(&v, "gemm_placement").unwrap();
        }
    }
}
