//! The per-n-tile parameters, double-buffered by n-tile parity: the header of an n-tile
//! (`spec::isa::weight_header_bytes`: `C` int32 biases, then `C` requantization words
//! `m | s << 16`) arrives from the weight FIFO one `R`-byte word at a time while the previous
//! n-tile's rows still use the other buffer, together with the n-tile's output placement.
//! The accumulator stage reads the biases and requantization words, the placement stage the
//! placement, each for the parity of the row it holds.

use crate::array::signals;
use crate::storage::SP_ADDR_BITS;
use rust_hdl::prelude::*;

/// Parameters of the two n-tiles in flight for `C` channels and `W = 8R`-bit header words.
#[derive(LogicBlock)]
pub struct TileParams<const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Take header word `header_index` of the n-tile of parity `load_par` from `header_word`
    /// (with word 0, also its placement).
    pub header_we: Signal<In, Bit>,
    /// Index of the header word (0 .. `8C/R`).
    pub header_index: Signal<In, Bits<8>>,
    /// The header word.
    pub header_word: Signal<In, Bits<W>>,
    /// Parity of the n-tile being loaded.
    pub load_par: Signal<In, Bit>,
    /// Its output word offset.
    pub place_word_in: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Its output byte group.
    pub place_group_in: Signal<In, Bits<4>>,
    /// Output channels left from its first channel on (it has `min(left, C)`).
    pub channels_left: Signal<In, Bits<16>>,
    /// Parity of the row in the accumulator stage.
    pub acc_par: Signal<In, Bit>,
    /// Its biases, per channel.
    pub bias: Vec<Signal<Out, Bits<32>>>,
    /// Its requantization multipliers, per channel.
    pub mult: Vec<Signal<Out, Bits<16>>>,
    /// Its requantization shifts, per channel.
    pub shift: Vec<Signal<Out, Bits<6>>>,
    /// Parity of the row in the placement stage.
    pub place_par: Signal<In, Bit>,
    /// Its output word offset.
    pub place_word: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Its output byte group.
    pub place_group: Signal<Out, Bits<4>>,
    /// Its output channels.
    pub place_cols: Signal<Out, Bits<16>>,
    bias_even: Vec<DFF<Bits<32>>>,
    bias_odd: Vec<DFF<Bits<32>>>,
    mult_even: Vec<DFF<Bits<16>>>,
    mult_odd: Vec<DFF<Bits<16>>>,
    shift_even: Vec<DFF<Bits<6>>>,
    shift_odd: Vec<DFF<Bits<6>>>,
    word_even: DFF<Bits<SP_ADDR_BITS>>,
    word_odd: DFF<Bits<SP_ADDR_BITS>>,
    group_even: DFF<Bits<4>>,
    group_odd: DFF<Bits<4>>,
    cols_even: DFF<Bits<16>>,
    cols_odd: DFF<Bits<16>>,
    tile_cols: Signal<Local, Bits<16>>,
    c_cols: Constant<Bits<16>>,
    _rows: usize,
    _cols: usize,
}

impl<const W: usize> TileParams<W> {
    /// The buffers for an `rows x cols` array (`W = 8 * rows`, `R/4 <= C`, `C` divides `R`).
    pub fn new(rows: usize, cols: usize) -> Self {
        assert_eq!(W, 8 * rows);
        assert!(rows.is_multiple_of(cols) && 4 * cols >= rows);
        TileParams {
            clock: Signal::default(),
            header_we: Signal::default(),
            header_index: Signal::default(),
            header_word: Signal::default(),
            load_par: Signal::default(),
            place_word_in: Signal::default(),
            place_group_in: Signal::default(),
            channels_left: Signal::default(),
            acc_par: Signal::default(),
            bias: signals(cols),
            mult: signals(cols),
            shift: signals(cols),
            place_par: Signal::default(),
            place_word: Signal::default(),
            place_group: Signal::default(),
            place_cols: Signal::default(),
            bias_even: (0..cols).map(|_| DFF::default()).collect(),
            bias_odd: (0..cols).map(|_| DFF::default()).collect(),
            mult_even: (0..cols).map(|_| DFF::default()).collect(),
            mult_odd: (0..cols).map(|_| DFF::default()).collect(),
            shift_even: (0..cols).map(|_| DFF::default()).collect(),
            shift_odd: (0..cols).map(|_| DFF::default()).collect(),
            word_even: DFF::default(),
            word_odd: DFF::default(),
            group_even: DFF::default(),
            group_odd: DFF::default(),
            cols_even: DFF::default(),
            cols_odd: DFF::default(),
            tile_cols: Signal::default(),
            c_cols: Constant::new((cols as u64).into()),
            _rows: rows,
            _cols: cols,
        }
    }
}

impl<const W: usize> Logic for TileParams<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, word_even, word_odd, group_even, group_odd, cols_even, cols_odd);
        for c in 0..self._cols {
            self.bias_even[c].clock.next = self.clock.val();
            self.bias_odd[c].clock.next = self.clock.val();
            self.mult_even[c].clock.next = self.clock.val();
            self.mult_odd[c].clock.next = self.clock.val();
            self.shift_even[c].clock.next = self.clock.val();
            self.shift_odd[c].clock.next = self.clock.val();
            self.bias_even[c].d.next = self.bias_even[c].q.val();
            self.bias_odd[c].d.next = self.bias_odd[c].q.val();
            self.mult_even[c].d.next = self.mult_even[c].q.val();
            self.mult_odd[c].d.next = self.mult_odd[c].q.val();
            self.shift_even[c].d.next = self.shift_even[c].q.val();
            self.shift_odd[c].d.next = self.shift_odd[c].q.val();
        }
        self.tile_cols.next = self.channels_left.val();
        if self.channels_left.val() > self.c_cols.val() {
            self.tile_cols.next = self.c_cols.val();
        }
        if self.header_we.val() {
            if self.header_index.val() == 0 {
                if self.load_par.val() {
                    self.word_odd.d.next = self.place_word_in.val();
                    self.group_odd.d.next = self.place_group_in.val();
                    self.cols_odd.d.next = self.tile_cols.val();
                } else {
                    self.word_even.d.next = self.place_word_in.val();
                    self.group_even.d.next = self.place_group_in.val();
                    self.cols_even.d.next = self.tile_cols.val();
                }
            }
            // Header word j holds R/4 lanes: biases in words 0..4C/R, then the requantization
            // words (m in bits 15:0, s in bits 21:16 of each 32-bit lane).
            for q in (self._rows / 4)..(self._rows / 4 + 1) {
                for hw in (self._cols * 4 / self._rows)..(self._cols * 4 / self._rows + 1) {
                    for j in 0..(self._cols * 4 / self._rows) {
                        if self.header_index.val().index() == j {
                            for i in 0..(self._rows / 4) {
                                if self.load_par.val() {
                                    self.bias_odd[j * q + i].d.next = self.header_word.val().get_bits::<32>(32 * i);
                                } else {
                                    self.bias_even[j * q + i].d.next = self.header_word.val().get_bits::<32>(32 * i);
                                }
                            }
                        }
                        if self.header_index.val().index() == j + hw {
                            for i in 0..(self._rows / 4) {
                                if self.load_par.val() {
                                    self.mult_odd[j * q + i].d.next = self.header_word.val().get_bits::<16>(32 * i);
                                    self.shift_odd[j * q + i].d.next =
                                        self.header_word.val().get_bits::<6>(32 * i + 16);
                                } else {
                                    self.mult_even[j * q + i].d.next = self.header_word.val().get_bits::<16>(32 * i);
                                    self.shift_even[j * q + i].d.next =
                                        self.header_word.val().get_bits::<6>(32 * i + 16);
                                }
                            }
                        }
                    }
                }
            }
        }
        for c in 0..self._cols {
            if self.acc_par.val() {
                self.bias[c].next = self.bias_odd[c].q.val();
                self.mult[c].next = self.mult_odd[c].q.val();
                self.shift[c].next = self.shift_odd[c].q.val();
            } else {
                self.bias[c].next = self.bias_even[c].q.val();
                self.mult[c].next = self.mult_even[c].q.val();
                self.shift[c].next = self.shift_even[c].q.val();
            }
        }
        if self.place_par.val() {
            self.place_word.next = self.word_odd.q.val();
            self.place_group.next = self.group_odd.q.val();
            self.place_cols.next = self.cols_odd.q.val();
        } else {
            self.place_word.next = self.word_even.q.val();
            self.place_group.next = self.group_even.q.val();
            self.place_cols.next = self.cols_even.q.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use spec::isa::{requant_word, weight_header_bytes};
    use spec::numerics::Dyadic;

    /// One n-tile's header and placement.
    #[derive(Clone, Debug)]
    struct Tile {
        bias: Vec<i32>,
        requant: Vec<(u16, u8)>,
        word: u64,
        group: u64,
        left: u64,
    }

    fn tile(cols: usize) -> impl Strategy<Value = Tile> {
        (
            prop::collection::vec(any::<i32>(), cols),
            prop::collection::vec((0u16..=0x7fff, 0u8..63), cols),
            0u64..1 << SP_ADDR_BITS,
            0u64..16,
            0u64..100,
        )
            .prop_map(|(bias, requant, word, group, left)| Tile { bias, requant, word, group, left })
    }

    /// The header as the weight stream carries it (`spec::isa`), cut into `rows`-byte words.
    fn header_words(t: &Tile, rows: usize) -> Vec<Bits<64>> {
        let mut bytes: Vec<u8> = t.bias.iter().flat_map(|b| b.to_le_bytes()).collect();
        for &(m, s) in &t.requant {
            bytes.extend(requant_word(Dyadic { m, s }).to_le_bytes());
        }
        assert_eq!(bytes.len(), weight_header_bytes(t.bias.len()));
        bytes.chunks(rows).map(|w| Bits::from(w.iter().rev().fold(0u64, |a, &b| (a << 8) | b as u64))).collect()
    }

    /// Loads n-tiles alternately into both parities and reads each back from both read ports
    /// while the other parity is being loaded.
    fn run(rows: usize, cols: usize, tiles: Vec<Tile>) {
        let mut uut = TileParams::<64>::new(rows, cols);
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<TileParams<64>>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<TileParams<64>>| {
            let mut x = ep.init()?;
            for (n, t) in tiles.iter().enumerate() {
                let par = n % 2 == 1;
                for (i, w) in header_words(t, rows).into_iter().enumerate() {
                    x.header_we.next = true;
                    x.header_index.next = (i as u64).into();
                    x.header_word.next = w;
                    x.load_par.next = par;
                    // Placement inputs matter with word 0 only.
                    let (word, group, left) = if i == 0 { (t.word, t.group, t.left) } else { (1, 2, 3) };
                    x.place_word_in.next = word.into();
                    x.place_group_in.next = group.into();
                    x.channels_left.next = left.into();
                    wait_clock_cycle!(ep, clock, x);
                }
                x.header_we.next = false;
                // Garbage while not enabled must not be taken.
                x.header_word.next = Bits::from(u64::MAX);
                x.header_index.next = 0.into();
                wait_clock_cycle!(ep, clock, x);
                for (tile, par) in [(t, par)].into_iter().chain((n > 0).then(|| (&tiles[n - 1], !par))) {
                    x.acc_par.next = par;
                    x.place_par.next = par;
                    x = ep.wait(1, x)?;
                    for c in 0..cols {
                        sim_assert_eq!(ep, x.bias[c].val(), Bits::<32>::from(tile.bias[c] as u32 as u64), x);
                        sim_assert_eq!(ep, x.mult[c].val(), Bits::<16>::from(tile.requant[c].0 as u64), x);
                        sim_assert_eq!(ep, x.shift[c].val(), Bits::<6>::from(tile.requant[c].1 as u64), x);
                    }
                    sim_assert_eq!(ep, x.place_word.val(), Bits::<SP_ADDR_BITS>::from(tile.word), x);
                    sim_assert_eq!(ep, x.place_group.val(), Bits::<4>::from(tile.group), x);
                    sim_assert_eq!(ep, x.place_cols.val(), Bits::<16>::from(tile.left.min(cols as u64)), x);
                }
                wait_clock_cycle!(ep, clock, x);
            }
            ep.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]
        /// 8x8 (two header words of biases, two of requant words) and 8x4 (one each).
        #[test]
        fn header_lands_in_its_parity(narrow in any::<bool>(), tiles in prop::collection::vec(tile(8), 1..6)) {
            let cols = if narrow { 4 } else { 8 };
            let tiles = tiles
                .into_iter()
                .map(|mut t| {
                    t.bias.truncate(cols);
                    t.requant.truncate(cols);
                    t
                })
                .collect();
            run(8, cols, tiles);
        }
    }

    #[test]
    fn verilog_is_lint_clean() {
        for cols in [4, 8] {
            let v = crate::verilog::generate(&mut TileParams::<64>::new(8, cols), "gemm_params");
            crate::verilog::lint(&v, "gemm_params").unwrap();
        }
    }
}
