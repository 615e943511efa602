//! The GEMM output path's write stage: one register stage after placement, then the output
//! function ([`o_mode`](super::o_mode)) per channel and the packing of the `C` channels into
//! their byte group of an `R`-byte scratchpad word.
//!
//! * int8: the requantized value's low byte;
//! * LUT: the LUT entry of that byte (looked up by the parent, which owns the table);
//! * residual: `sat16(X + y)` with `X` the int16 residual from the two byte planes read at the
//!   same address (their data arrives in this stage), written back as two planes;
//! * duplicate: the int8 value on both planes.

use super::o_mode;
use crate::array::signals;
use crate::storage::SP_ADDR_BITS;
use crate::widen::{Concat, Pack, PackBits};
use rust_hdl::prelude::*;

/// The GEMM's output write port: one address and byte-enable set for two byte planes (the
/// int8 output, or the low and high bytes of the int16 residual).
#[derive(LogicInterface, Default)]
pub struct OutputWrite<const W: usize, const BE: usize> {
    /// Write address (both planes).
    pub addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Low plane (or int8) data.
    pub lo_data: Signal<Out, Bits<W>>,
    /// High plane data.
    pub hi_data: Signal<Out, Bits<W>>,
    /// Byte enables (both planes).
    pub be: Signal<Out, Bits<BE>>,
    /// Low plane write strobe.
    pub lo_en: Signal<Out, Bit>,
    /// High plane write strobe.
    pub hi_en: Signal<Out, Bit>,
}

/// The write stage for `C` channels of a `W = 8R`-bit word with `BE = R` byte enables.
#[derive(LogicBlock)]
pub struct OutputWriter<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// A final row's values are placed this cycle (written the next).
    pub place_valid: Signal<In, Bit>,
    /// Its word address.
    pub place_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Its C-byte group in the word.
    pub place_group: Signal<In, Bits<4>>,
    /// Output channels of its n-tile that exist (the rest are not written).
    pub place_cols: Signal<In, Bits<16>>,
    /// The requantized values, per channel (int8 in the low byte, or int16).
    pub place_y: Vec<Signal<In, Bits<16>>>,
    /// Output function ([`o_mode`]).
    pub mode: Signal<In, Bits<2>>,
    /// The LUT entries of the values' low bytes (one cycle after `place_y`).
    pub lut_data: Vec<Signal<In, Bits<8>>>,
    /// Residual low byte plane at `place_addr` (one cycle after it).
    pub x_lo_data: Signal<In, Bits<W>>,
    /// Residual high byte plane at `place_addr` (one cycle after it).
    pub x_hi_data: Signal<In, Bits<W>>,
    /// The output write port (both planes).
    pub out: OutputWrite<W, BE>,
    row_valid: DFF<Bit>,
    row_addr: DFF<Bits<SP_ADDR_BITS>>,
    row_group: DFF<Bits<4>>,
    row_cols: DFF<Bits<16>>,
    row_y: Vec<DFF<Bits<16>>>,
    x_pair: Vec<Concat<8, 8, 16>>,
    x_lo_byte: Vec<Signal<Local, Bits<8>>>,
    x_hi_byte: Vec<Signal<Local, Bits<8>>>,
    x_sum_wrapped: Vec<Signal<Local, Bits<16>>>,
    x_sum: Vec<Signal<Local, Bits<16>>>,
    out_lo: Vec<Signal<Local, Bits<8>>>,
    out_hi: Vec<Signal<Local, Bits<8>>>,
    pack_lo: Pack<W>,
    pack_hi: Pack<W>,
    pack_be: PackBits<BE>,
    byte_group: Vec<Constant<Bits<4>>>,
    byte_col: Vec<Constant<Bits<16>>>,
    om_lut: Constant<Bits<2>>,
    om_resid: Constant<Bits<2>>,
    om_dup: Constant<Bits<2>>,
    zero8: Constant<Bits<8>>,
    i16_max: Constant<Bits<16>>,
    i16_min: Constant<Bits<16>>,
    _rows: usize,
    _cols: usize,
}

impl<const W: usize, const BE: usize> OutputWriter<W, BE> {
    /// The stage for an `rows x cols` array (`W = 8 * rows`, `cols` divides `rows`).
    pub fn new(rows: usize, cols: usize) -> Self {
        assert_eq!(W, 8 * rows);
        assert_eq!(BE, rows);
        assert!(rows.is_multiple_of(cols));
        OutputWriter {
            clock: Signal::default(),
            place_valid: Signal::default(),
            place_addr: Signal::default(),
            place_group: Signal::default(),
            place_cols: Signal::default(),
            place_y: signals(cols),
            mode: Signal::default(),
            lut_data: signals(cols),
            x_lo_data: Signal::default(),
            x_hi_data: Signal::default(),
            out: OutputWrite::default(),
            row_valid: DFF::default(),
            row_addr: DFF::default(),
            row_group: DFF::default(),
            row_cols: DFF::default(),
            row_y: (0..cols).map(|_| DFF::default()).collect(),
            x_pair: (0..cols).map(|_| Concat::default()).collect(),
            x_lo_byte: signals(cols),
            x_hi_byte: signals(cols),
            x_sum_wrapped: signals(cols),
            x_sum: signals(cols),
            out_lo: signals(cols),
            out_hi: signals(cols),
            pack_lo: Pack::default(),
            pack_hi: Pack::default(),
            pack_be: PackBits::default(),
            byte_group: (0..rows).map(|b| Constant::new(Bits::<4>::from((b / cols) as u64))).collect(),
            byte_col: (0..rows).map(|b| Constant::new(Bits::<16>::from((b % cols) as u64))).collect(),
            om_lut: Constant::new(o_mode::LUT.into()),
            om_resid: Constant::new(o_mode::RESID16.into()),
            om_dup: Constant::new(o_mode::DUP.into()),
            zero8: Constant::new(0u64.into()),
            i16_max: Constant::new(0x7fffu64.into()),
            i16_min: Constant::new(0x8000u64.into()),
            _rows: rows,
            _cols: cols,
        }
    }
}

impl<const W: usize, const BE: usize> Logic for OutputWriter<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, row_valid, row_addr, row_group, row_cols);
        self.row_valid.d.next = self.place_valid.val();
        self.row_addr.d.next = self.place_addr.val();
        self.row_group.d.next = self.place_group.val();
        self.row_cols.d.next = self.place_cols.val();
        for c in 0..self._cols {
            self.row_y[c].clock.next = self.clock.val();
            self.row_y[c].d.next = self.place_y[c].val();
            self.x_lo_byte[c].next = self.zero8.val();
            self.x_hi_byte[c].next = self.zero8.val();
        }
        // The residual of channel c is byte c of the row's group in each plane.
        for cc in self._cols..(self._cols + 1) {
            for b in 0..self._rows {
                if self.row_group.q.val() == self.byte_group[b].val() {
                    self.x_lo_byte[b % cc].next = self.x_lo_data.val().get_bits::<8>(8 * b);
                    self.x_hi_byte[b % cc].next = self.x_hi_data.val().get_bits::<8>(8 * b);
                }
            }
        }
        for c in 0..self._cols {
            self.x_pair[c].hi.next = self.x_hi_byte[c].val();
            self.x_pair[c].lo.next = self.x_lo_byte[c].val();
            self.x_sum_wrapped[c].next = self.x_pair[c].dout.val() + self.row_y[c].q.val();
            // Saturating int16 add: overflow iff both operands share a sign the sum lacks.
            self.x_sum[c].next = self.x_sum_wrapped[c].val();
            if (self.x_pair[c].dout.val().get_bit(15) == self.row_y[c].q.val().get_bit(15))
                && (self.x_sum_wrapped[c].val().get_bit(15) != self.x_pair[c].dout.val().get_bit(15))
            {
                if self.x_pair[c].dout.val().get_bit(15) {
                    self.x_sum[c].next = self.i16_min.val();
                } else {
                    self.x_sum[c].next = self.i16_max.val();
                }
            }
            self.out_lo[c].next = self.row_y[c].q.val().get_bits::<8>(0);
            self.out_hi[c].next = self.zero8.val();
            if self.mode.val() == self.om_lut.val() {
                self.out_lo[c].next = self.lut_data[c].val();
            }
            if self.mode.val() == self.om_resid.val() {
                self.out_lo[c].next = self.x_sum[c].val().get_bits::<8>(0);
                self.out_hi[c].next = self.x_sum[c].val().get_bits::<8>(8);
            }
            if self.mode.val() == self.om_dup.val() {
                self.out_hi[c].next = self.row_y[c].q.val().get_bits::<8>(0);
            }
        }
        for cc in self._cols..(self._cols + 1) {
            for b in 0..self._rows {
                self.pack_lo.lanes[b].next = self.out_lo[b % cc].val();
                self.pack_hi.lanes[b].next = self.out_hi[b % cc].val();
                self.pack_be.lanes[b].next = (self.row_group.q.val() == self.byte_group[b].val())
                    && (self.byte_col[b].val() < self.row_cols.q.val());
            }
        }
        self.out.addr.next = self.row_addr.q.val();
        self.out.lo_data.next = self.pack_lo.dout.val();
        self.out.hi_data.next = self.pack_hi.dout.val();
        self.out.be.next = self.pack_be.dout.val();
        self.out.lo_en.next = self.row_valid.q.val();
        self.out.hi_en.next = self.row_valid.q.val()
            && ((self.mode.val() == self.om_resid.val()) || (self.mode.val() == self.om_dup.val()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One placed row and what the write stage must make of it.
    #[derive(Clone, Debug)]
    struct Row {
        mode: u64,
        group: usize,
        cols: usize,
        y: Vec<i16>,
        lut: Vec<u8>,
        x: Vec<i16>,
    }

    /// Lanes of an 8x4 array: 8-byte words, two 4-channel groups.
    const R: usize = 8;
    const C: usize = 4;

    fn row() -> impl Strategy<Value = Row> {
        (
            0u64..4,
            0..R / C,
            0..=C,
            prop::collection::vec(any::<i16>(), C),
            prop::collection::vec(any::<u8>(), C),
            prop::collection::vec(any::<i16>(), C),
        )
            .prop_map(|(mode, group, cols, y, lut, x)| Row { mode, group, cols, y, lut, x })
    }

    /// The expected (low plane, high plane, byte enables, high plane written), from the output
    /// functions' definitions (`i16::saturating_add` for the residual).
    fn expected(r: &Row) -> ([u8; R], [u8; R], u64, bool) {
        let (mut lo, mut hi, mut be) = ([0u8; R], [0u8; R], 0u64);
        for b in 0..R {
            let c = b % C;
            let y8 = r.y[c] as u8;
            let (l, h) = match r.mode {
                o_mode::INT8 => (y8, 0),
                o_mode::LUT => (r.lut[c], 0),
                o_mode::RESID16 => {
                    let s = r.x[c].saturating_add(r.y[c]);
                    (s as u8, (s >> 8) as u8)
                }
                _ => (y8, y8),
            };
            lo[b] = l;
            hi[b] = h;
            if b / C == r.group && c < r.cols {
                be |= 1 << b;
            }
        }
        (lo, hi, be, r.mode == o_mode::RESID16 || r.mode == o_mode::DUP)
    }

    fn word(bytes: impl Fn(usize) -> u8) -> Bits<64> {
        Bits::from((0..R).map(|b| (bytes(b) as u64) << (8 * b)).sum::<u64>())
    }

    fn run(rows: Vec<Row>) {
        let mut uut = OutputWriter::<64, 8>::new(R, C);
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<OutputWriter<64, 8>>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<OutputWriter<64, 8>>| {
            let mut x = ep.init()?;
            for (i, r) in rows.iter().enumerate() {
                // Place the row; the LUT and residual data follow one cycle later.
                x.place_valid.next = true;
                x.place_addr.next = (100 + i as u64).into();
                x.place_group.next = (r.group as u64).into();
                x.place_cols.next = (r.cols as u64).into();
                for c in 0..C {
                    x.place_y[c].next = (r.y[c] as u16 as u64).into();
                }
                x.mode.next = r.mode.into();
                wait_clock_cycle!(ep, clock, x);
                x.place_valid.next = false;
                for c in 0..C {
                    x.lut_data[c].next = (r.lut[c] as u64).into();
                }
                // The residual of channel c sits in byte c of the row's group.
                let x_at = |b: usize| if b / C == r.group { r.x[b % C] } else { 0x5a5a };
                x.x_lo_data.next = word(|b| x_at(b) as u8);
                x.x_hi_data.next = word(|b| (x_at(b) >> 8) as u8);
                x = ep.wait(1, x)?;
                let (lo, hi, be, hi_en) = expected(r);
                sim_assert!(ep, x.out.lo_en.val(), x);
                sim_assert_eq!(ep, x.out.addr.val(), Bits::<SP_ADDR_BITS>::from(100 + i as u64), x);
                sim_assert_eq!(ep, x.out.be.val(), Bits::<8>::from(be), x);
                sim_assert_eq!(ep, x.out.hi_en.val(), hi_en, x);
                let lo_word = word(|b| lo[b]);
                let hi_word = word(|b| hi[b]);
                sim_assert_eq!(ep, x.out.lo_data.val(), lo_word, x);
                sim_assert_eq!(ep, x.out.hi_data.val(), hi_word, x);
                wait_clock_cycle!(ep, clock, x);
                sim_assert!(ep, !x.out.lo_en.val() && !x.out.hi_en.val(), x);
            }
            ep.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        /// Every output function, byte group and column count, against the definitions.
        #[test]
        fn writes_each_output_function(rows in prop::collection::vec(row(), 1..12)) {
            run(rows);
        }
    }

    /// The residual saturates at both ends.
    #[test]
    fn residual_saturates() {
        let row = |y: i16, x: i16| Row {
            mode: o_mode::RESID16,
            group: 1,
            cols: C,
            y: vec![y; C],
            lut: vec![0; C],
            x: vec![x; C],
        };
        run(vec![row(i16::MAX, 1), row(i16::MIN, -1), row(30000, 30000), row(-30000, -30000), row(-5, 3)]);
    }

    #[test]
    fn verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut OutputWriter::<64, 8>::new(8, 4), "gemm_out");
        crate::verilog::lint(&v, "gemm_out").unwrap();
    }
}
