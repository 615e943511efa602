//! The GEMM tile loader: reads the weight stream and the stationary operand B into the
//! systolic array's two weight buffers, tile by tile in the order (n-tile, k-tile).
//!
//! From the weight FIFO it pops, in stream order (`spec::isa::weight_stream_words`): the
//! 256-byte LUT (LUT output only) into the LUT RAM; per n-tile the header words (handed to
//! [`TileParams`](super::params::TileParams) with the n-tile's output placement); and, for DRAM
//! weights, one word per tile row, written into PE row `r` as it is popped. For an on-chip B it
//! instead reads one scratchpad word per tile row (row loads: C bytes of the n-tile's byte
//! group) or per tile column (column loads: R bytes), written one cycle later when the data
//! returns; reduction indices `>= K` are written as zero.
//!
//! Flow control (see the engine's module docs): an n-tile's header waits until no row of the
//! n-tile two back (same parity) is in flight; tile `i` waits until tile `i - 1` has started
//! streaming and its gate has run out (`gate_open`). Tile `i` is written into buffer `i % 2`.
//!
//! Three parts: the [`sequencer`] (what to do next), the [`placement`] (where each n-tile's
//! output and on-chip B live) and the [`weights`] write stage (the array's weight buses).

use super::b_mode;
use crate::array::signals;
use crate::storage::{FIFO_COUNT_BITS, SP_ADDR_BITS};
use placement::TilePlacement;
use rust_hdl::prelude::*;
use sequencer::LoadSequencer;
use weights::WeightWriter;

pub mod placement;
pub mod sequencer;
pub mod weights;

/// The loader of an `R x C` array with `W = 8R`-bit words.
#[derive(LogicBlock)]
pub struct TileLoader<const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// Start a GEMM (the loader is idle); the operands below are latched.
    pub start: Signal<In, Bit>,
    /// Reduction length K.
    pub k: Signal<In, Bits<16>>,
    /// Output channels N.
    pub n: Signal<In, Bits<16>>,
    /// Source of B ([`b_mode`]).
    pub b_mode: Signal<In, Bits<2>>,
    /// On-chip B: word address of row 0.
    pub b_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// On-chip B: words between rows (row loads) or output channels (column loads).
    pub b_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Row loads: C-byte group of output channel 0.
    pub b_group: Signal<In, Bits<4>>,
    /// C-byte group of output channel 0 in the output word.
    pub o_group: Signal<In, Bits<4>>,
    /// The stream starts with the LUT.
    pub with_lut: Signal<In, Bit>,
    /// k-tiles per n-tile, `ceil(K/R)` (valid from the cycle after `start`).
    pub k_tiles: Signal<In, Bits<16>>,
    /// n-tiles, `ceil(N/C)` (valid from the cycle after `start`).
    pub n_tiles: Signal<In, Bits<16>>,
    /// Head of the weight FIFO.
    pub wf_data: Signal<In, Bits<W>>,
    /// Words in the weight FIFO.
    pub wf_count: Signal<In, Bits<FIFO_COUNT_BITS>>,
    /// Pop the weight FIFO.
    pub wf_pop: Signal<Out, Bit>,
    /// No row of an even n-tile is in flight (its parameters may be overwritten).
    pub even_drained: Signal<In, Bit>,
    /// No row of an odd n-tile is in flight.
    pub odd_drained: Signal<In, Bit>,
    /// Tiles the streamer has started.
    pub tiles_started: Signal<In, Bits<32>>,
    /// The gate after the last started tile has run out.
    pub gate_open: Signal<In, Bit>,
    /// Tiles completely written into the array.
    pub tiles_loaded: Signal<Out, Bits<32>>,
    /// The tile `tiles_loaded` is being written from the FIFO with at least one row written and
    /// the rest already in the FIFO (so it may start streaming ahead of its last rows).
    pub rows_ahead: Signal<Out, Bit>,
    /// Write header word `header_index` of the n-tile of parity `n_parity`.
    pub header_we: Signal<Out, Bit>,
    /// Index of the header word (also the LUT word index while loading the LUT).
    pub header_index: Signal<Out, Bits<8>>,
    /// Parity of the n-tile being loaded.
    pub n_parity: Signal<Out, Bit>,
    /// Its output word offset from output row 0.
    pub place_word: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Its output byte group.
    pub place_group: Signal<Out, Bits<4>>,
    /// Output channels left from its first channel on.
    pub channels_left: Signal<Out, Bits<16>>,
    /// Write LUT word `header_index` from the FIFO head.
    pub lut_we: Signal<Out, Bit>,
    /// Read the scratchpad for on-chip B this cycle.
    pub b_rd_en: Signal<Out, Bit>,
    /// Its word address.
    pub b_rd_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// The word read in the previous cycle.
    pub b_rd_data: Signal<In, Bits<W>>,
    /// Weight buffer the writes below go to.
    pub w_sel: Signal<Out, Bit>,
    /// Row bus: C weights.
    pub w_row_data: Vec<Signal<Out, Signed<16>>>,
    /// Row bus write enable, one per PE row.
    pub w_row_we: Vec<Signal<Out, Bit>>,
    /// Column bus: R weights.
    pub w_col_data: Vec<Signal<Out, Signed<16>>>,
    /// Column bus write enable, one per PE column.
    pub w_col_we: Vec<Signal<Out, Bit>>,
    sequencer: LoadSequencer,
    placement: TilePlacement,
    writer: WeightWriter<W>,
    bm_cols: Constant<Bits<2>>,
    _rows: usize,
    _cols: usize,
}

impl<const W: usize> TileLoader<W> {
    /// The loader of an `rows x cols` array (`W = 8 * rows`, `cols` divides `rows`,
    /// `R/4 <= C`).
    pub fn new(rows: usize, cols: usize) -> Self {
        assert_eq!(W, 8 * rows, "one word holds R bytes");
        assert!(rows.is_multiple_of(cols) && 4 * cols >= rows);
        TileLoader {
            clock: Signal::default(),
            reset: Signal::default(),
            start: Signal::default(),
            k: Signal::default(),
            n: Signal::default(),
            b_mode: Signal::default(),
            b_addr: Signal::default(),
            b_stride: Signal::default(),
            b_group: Signal::default(),
            o_group: Signal::default(),
            with_lut: Signal::default(),
            k_tiles: Signal::default(),
            n_tiles: Signal::default(),
            wf_data: Signal::default(),
            wf_count: Signal::default(),
            wf_pop: Signal::default(),
            even_drained: Signal::default(),
            odd_drained: Signal::default(),
            tiles_started: Signal::default(),
            gate_open: Signal::default(),
            tiles_loaded: Signal::default(),
            rows_ahead: Signal::default(),
            header_we: Signal::default(),
            header_index: Signal::default(),
            n_parity: Signal::default(),
            place_word: Signal::default(),
            place_group: Signal::default(),
            channels_left: Signal::default(),
            lut_we: Signal::default(),
            b_rd_en: Signal::default(),
            b_rd_addr: Signal::default(),
            b_rd_data: Signal::default(),
            w_sel: Signal::default(),
            w_row_data: signals(cols),
            w_row_we: signals(rows),
            w_col_data: signals(rows),
            w_col_we: signals(cols),
            sequencer: LoadSequencer::new(rows, cols),
            placement: TilePlacement::new(rows, cols),
            writer: WeightWriter::new(rows, cols),
            bm_cols: Constant::new(b_mode::COLUMNS.into()),
            _rows: rows,
            _cols: cols,
        }
    }
}

impl<const W: usize> Logic for TileLoader<W> {
    #[hdl_gen]
    fn update(&mut self) {
        self.sequencer.clock.next = self.clock.val();
        self.sequencer.reset.next = self.reset.val();
        self.placement.clock.next = self.clock.val();
        self.writer.clock.next = self.clock.val();
        self.writer.reset.next = self.reset.val();

        // ---------------- sequencer ----------------
        self.sequencer.start.next = self.start.val();
        self.sequencer.k.next = self.k.val();
        self.sequencer.b_mode.next = self.b_mode.val();
        self.sequencer.with_lut.next = self.with_lut.val();
        self.sequencer.k_tiles.next = self.k_tiles.val();
        self.sequencer.n_tiles.next = self.n_tiles.val();
        self.sequencer.wf_count.next = self.wf_count.val();
        self.sequencer.even_drained.next = self.even_drained.val();
        self.sequencer.odd_drained.next = self.odd_drained.val();
        self.sequencer.tiles_started.next = self.tiles_started.val();
        self.sequencer.gate_open.next = self.gate_open.val();
        self.sequencer.sp_writing.next = self.writer.sp_writing.val();
        self.sequencer.sp_tile_written.next = self.writer.sp_tile_written.val();
        self.wf_pop.next = self.sequencer.wf_pop.val();
        self.tiles_loaded.next = self.sequencer.tiles_loaded.val();
        self.rows_ahead.next = self.sequencer.rows_ahead.val();
        self.header_we.next = self.sequencer.header_we.val();
        self.lut_we.next = self.sequencer.lut_we.val();
        self.header_index.next = self.sequencer.header_index.val();
        self.n_parity.next = self.sequencer.n_parity.val();
        self.b_rd_en.next = self.sequencer.sp_read.val();

        // ---------------- placement and B addresses ----------------
        self.placement.start.next = self.start.val();
        self.placement.n.next = self.n.val();
        self.placement.o_group.next = self.o_group.val();
        self.placement.b_addr.next = self.b_addr.val();
        self.placement.b_stride.next = self.b_stride.val();
        self.placement.b_group.next = self.b_group.val();
        self.placement.column_loads.next = self.b_mode.val() == self.bm_cols.val();
        self.placement.next_n_tile.next = self.sequencer.next_n_tile.val();
        self.placement.tile_start.next = self.sequencer.tile_start.val();
        self.placement.k_tile.next = self.sequencer.k_tile.val();
        self.placement.read.next = self.sequencer.sp_read.val();
        self.place_word.next = self.placement.place_word.val();
        self.place_group.next = self.placement.place_group.val();
        self.channels_left.next = self.placement.channels_left.val();
        self.b_rd_addr.next = self.placement.b_rd_addr.val();

        // ---------------- weight write stage ----------------
        self.writer.onchip.next = self.sequencer.onchip.val();
        self.writer.k_len.next = self.sequencer.k_len.val();
        self.writer.fifo_we.next = self.sequencer.fifo_we.val();
        self.writer.wf_data.next = self.wf_data.val();
        self.writer.sp_read.next = self.sequencer.sp_read.val();
        self.writer.sp_columns.next = self.sequencer.columns.val();
        self.writer.sp_group.next = self.placement.b_group_tile.val();
        self.writer.sp_last.next = self.sequencer.sp_last.val();
        self.writer.k_first.next = self.sequencer.k_first.val();
        self.writer.index.next = self.sequencer.row.val();
        self.writer.buffer.next = self.sequencer.buffer.val();
        self.writer.b_rd_data.next = self.b_rd_data.val();
        self.w_sel.next = self.writer.w_sel.val();
        for r in 0..self._rows {
            self.w_row_we[r].next = self.writer.w_row_we[r].val();
            self.w_col_data[r].next = self.writer.w_col_data[r].val();
        }
        for c in 0..self._cols {
            self.w_row_data[c].next = self.writer.w_row_data[c].val();
            self.w_col_we[c].next = self.writer.w_col_we[c].val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    /// An 8-row array: 64-bit words.
    const R: usize = 8;
    /// Cycles a case may take at most.
    const MAX_CYCLES: usize = 20_000;

    /// One GEMM's loader operands and the testbench's stalls.
    #[derive(Clone, Debug)]
    struct Case {
        cols: usize,
        k: usize,
        n: usize,
        mode: u64,
        b_addr: u64,
        b_stride: u64,
        b_group: usize,
        o_group: usize,
        with_lut: bool,
        /// Per cycle: (FIFO words revealed, even drained, odd drained, start a loaded tile, gate
        /// cycles after a start), cycled through.
        stalls: Vec<(usize, bool, bool, bool, usize)>,
        seed: u64,
    }

    fn case() -> impl Strategy<Value = Case> {
        (
            (any::<bool>(), 1usize..40, 1usize..30, 0u64..3, 0u64..200, 1u64..5, 0usize..2, 0usize..2),
            any::<bool>(),
            prop::collection::vec((0usize..3, any::<bool>(), any::<bool>(), any::<bool>(), 0usize..4), 1..16),
            any::<u64>(),
        )
            .prop_map(|((narrow, k, n, mode, b_addr, b_stride, b_group, o_group), with_lut, stalls, seed)| {
                let cols = if narrow { 4 } else { 8 };
                Case {
                    cols,
                    k,
                    n,
                    mode,
                    b_addr,
                    b_stride,
                    b_group: b_group % (R / cols),
                    o_group: o_group % (R / cols),
                    with_lut,
                    stalls,
                    seed,
                }
            })
    }

    /// What the loader does, in order: LUT and header words taken, PE rows and columns written.
    #[derive(Clone, Debug, PartialEq)]
    enum Event {
        Lut { index: u64, word: u64 },
        Header { index: u64, parity: bool, word: u64, place: Option<(u64, u64, u64)> },
        Row { row: usize, buffer: bool, data: Vec<i16> },
        Column { column: usize, buffer: bool, data: Vec<i16> },
    }

    /// The scratchpad word at `addr` (any fixed function of the address will do).
    fn mem(seed: u64, addr: u64) -> u64 {
        let mut z = seed ^ addr.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z ^ (z >> 31)
    }

    fn byte(word: u64, b: usize) -> i16 {
        (word >> (8 * b)) as u8 as i8 as i16
    }

    /// The weight stream (`spec::isa::weight_stream_words`) as the FIFO delivers it: arbitrary
    /// words, `ceil(K/R)` row words per tile for DRAM weights only.
    fn stream(c: &Case) -> Vec<u64> {
        let (kt, nt) = (c.k.div_ceil(R), c.n.div_ceil(c.cols));
        let header = spec::isa::weight_header_bytes(c.cols) / R;
        let tiles = if c.mode == b_mode::FIFO { kt * R } else { 0 };
        let words = if c.with_lut { spec::isa::LUT_BYTES / R } else { 0 } + nt * (header + tiles);
        (0..words as u64).map(|i| mem(!c.seed, i)).collect()
    }

    /// The events the loader's contract asks for, from the stream layout and the B layouts.
    fn expected(c: &Case, words: &[u64]) -> (Vec<Event>, Vec<u64>) {
        let (kt, nt) = (c.k.div_ceil(R), c.n.div_ceil(c.cols));
        let groups = R / c.cols;
        let header = spec::isa::weight_header_bytes(c.cols) / R;
        let mut next = words.iter().copied();
        let (mut events, mut reads) = (vec![], vec![]);
        if c.with_lut {
            for index in 0..(spec::isa::LUT_BYTES / R) as u64 {
                events.push(Event::Lut { index, word: next.next().unwrap() });
            }
        }
        let mut tile = 0;
        for j in 0..nt {
            let o = c.o_group + j;
            let left = (c.n as u64).wrapping_sub((j * c.cols) as u64) & 0xffff;
            for index in 0..header as u64 {
                let place = (index == 0).then_some(((o / groups) as u64, (o % groups) as u64, left));
                events.push(Event::Header { index, parity: j % 2 == 1, word: next.next().unwrap(), place });
            }
            let b = c.b_group + j;
            let (b_word, b_group) = ((b / groups) as u64, b % groups);
            for i in 0..kt {
                let buffer = tile % 2 == 1;
                if c.mode == b_mode::FIFO {
                    for row in 0..R {
                        let w = next.next().unwrap();
                        events.push(Event::Row { row, buffer, data: (0..c.cols).map(|x| byte(w, x)).collect() });
                    }
                } else if c.mode == b_mode::ROWS {
                    for row in 0..R {
                        let k = i * R + row;
                        let addr = (c.b_addr + b_word + k as u64 * c.b_stride) & ((1 << SP_ADDR_BITS) - 1);
                        reads.push(addr);
                        let w = mem(c.seed, addr);
                        let data = (0..c.cols).map(|x| if k < c.k { byte(w, b_group * c.cols + x) } else { 0 });
                        events.push(Event::Row { row, buffer, data: data.collect() });
                    }
                } else {
                    for column in 0..c.cols {
                        let addr = c.b_addr + ((j * c.cols + column) as u64) * c.b_stride + i as u64;
                        reads.push(addr);
                        let w = mem(c.seed, addr);
                        let data = (0..R).map(|r| if i * R + r < c.k { byte(w, r) } else { 0 });
                        events.push(Event::Column { column, buffer, data: data.collect() });
                    }
                }
                tile += 1;
            }
        }
        (events, reads)
    }

    /// What the testbench saw, and the flow-control rules broken.
    #[derive(Default)]
    struct Seen {
        events: Vec<Event>,
        reads: Vec<u64>,
        broken: Vec<String>,
    }

    fn run(c: Case) {
        let words = stream(&c);
        let (want_events, want_reads) = expected(&c, &words);
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Seen::default()));
        let seen_tb = seen.clone();
        let (kt, nt) = (c.k.div_ceil(R), c.n.div_ceil(c.cols));
        let tiles = (kt * nt) as u64;
        let case = c.clone();
        let mut uut = TileLoader::<64>::new(R, c.cols);
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<TileLoader<64>>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<TileLoader<64>>| {
            let c = &case;
            let mut x = ep.init()?;
            x.reset.next = true;
            wait_clock_cycle!(ep, clock, x);
            x.reset.next = false;
            x.start.next = true;
            x.k.next = (c.k as u64).into();
            x.n.next = (c.n as u64).into();
            x.b_mode.next = c.mode.into();
            x.b_addr.next = c.b_addr.into();
            x.b_stride.next = c.b_stride.into();
            x.b_group.next = (c.b_group as u64).into();
            x.o_group.next = (c.o_group as u64).into();
            x.with_lut.next = c.with_lut;
            x.k_tiles.next = (kt as u64).into();
            x.n_tiles.next = (nt as u64).into();
            x.even_drained.next = true;
            x.odd_drained.next = true;
            x.gate_open.next = true;
            x.tiles_started.next = 0.into();
            wait_clock_cycle!(ep, clock, x);
            x.start.next = false;
            let mut fifo: VecDeque<u64> = VecDeque::new();
            let (mut revealed, mut started, mut gate, mut read_addr) = (0usize, 0u64, 0usize, None::<u64>);
            let mut gate_passed_for = 0u64; // tiles whose gate condition has held
            let mut cycle = 0;
            while (x.tiles_loaded.val().to_u64() < tiles || !fifo.is_empty()) && cycle < MAX_CYCLES {
                // Every fourth cycle lets everything proceed, so every case finishes.
                let (reveal, even, odd, start_tile, gate_len) =
                    if cycle % 4 == 3 { (2, true, true, true, 0) } else { c.stalls[cycle % c.stalls.len()] };
                while revealed < words.len() && fifo.len() < 2 * R && revealed < words.len().min(revealed + reveal) {
                    fifo.push_back(words[revealed]);
                    revealed += 1;
                }
                x.wf_count.next = (fifo.len() as u64).into();
                x.wf_data.next = fifo.front().copied().unwrap_or(0xdead).into();
                x.even_drained.next = even;
                x.odd_drained.next = odd;
                let loaded = x.tiles_loaded.val().to_u64();
                if start_tile && started < loaded {
                    started += 1;
                    gate = gate_len;
                }
                x.tiles_started.next = started.into();
                let open = gate == 0;
                x.gate_open.next = open;
                gate = gate.saturating_sub(1);
                if started == loaded && open {
                    gate_passed_for = gate_passed_for.max(loaded + 1);
                }
                x.b_rd_data.next = read_addr.map_or(0, |a| mem(c.seed, a)).into();
                x = ep.wait(1, x)?;
                // Outputs settle on this cycle's inputs.
                let mut s = seen_tb.lock().unwrap();
                let w = x.wf_data.val().to_u64();
                if x.wf_pop.val() {
                    if fifo.pop_front().is_none() {
                        s.broken.push(format!("cycle {cycle}: pop of an empty FIFO"));
                    }
                }
                let buffer = x.w_sel.val();
                let mut wrote = false;
                for row in (0..R).filter(|&r| x.w_row_we[r].val()) {
                    let data = (0..c.cols).map(|i| x.w_row_data[i].val().inner().to_u64() as i16).collect();
                    s.events.push(Event::Row { row, buffer, data });
                    wrote = true;
                }
                for column in (0..c.cols).filter(|&i| x.w_col_we[i].val()) {
                    let data = (0..R).map(|r| x.w_col_data[r].val().inner().to_u64() as i16).collect();
                    s.events.push(Event::Column { column, buffer, data });
                    wrote = true;
                }
                if x.lut_we.val() {
                    s.events.push(Event::Lut { index: x.header_index.val().to_u64(), word: w });
                }
                if x.header_we.val() {
                    let parity = x.n_parity.val();
                    if !(if parity { odd } else { even }) {
                        s.broken.push(format!("cycle {cycle}: header of an n-tile whose parity is in flight"));
                    }
                    let index = x.header_index.val().to_u64();
                    let place = (index == 0).then(|| {
                        (x.place_word.val().to_u64(), x.place_group.val().to_u64(), x.channels_left.val().to_u64())
                    });
                    s.events.push(Event::Header { index, parity, word: w, place });
                }
                // The first write of tile i >= 1 comes after tile i - 1 started and its gate ran out.
                if wrote && loaded >= gate_passed_for && loaded > 0 {
                    s.broken.push(format!("cycle {cycle}: tile {loaded} written before its gate"));
                }
                read_addr = None;
                if x.b_rd_en.val() {
                    let a = x.b_rd_addr.val().to_u64();
                    s.reads.push(a);
                    read_addr = Some(a);
                }
                drop(s);
                wait_clock_cycle!(ep, clock, x);
                cycle += 1;
            }
            ep.done(x)
        });
        sim.run(Box::new(uut), 100 * MAX_CYCLES as u64).unwrap();
        let s = seen.lock().unwrap();
        assert!(s.broken.is_empty(), "{:?}", s.broken);
        assert_eq!(s.events, want_events);
        assert_eq!(s.reads, want_reads);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Every B source, K and N across tile edges, the LUT, with random FIFO, drain and gate
        /// stalls: the loader takes the stream in order and writes each tile as laid out.
        #[test]
        fn loads_every_tile_as_laid_out(c in case()) {
            run(c);
        }
    }

    #[test]
    fn verilog_is_lint_clean() {
        for cols in [4, 8] {
            let v = crate::verilog::generate(&mut TileLoader::<64>::new(8, cols), "gemm_loader");
            crate::verilog::lint(&v, "gemm_loader").unwrap();
        }
    }
}
