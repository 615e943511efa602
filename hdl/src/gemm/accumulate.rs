//! The GEMM accumulator stage: what happens to a row's `C` array sums.
//!
//! A row's tag (valid, first/last k-tile, n-tile parity, accumulator row, output word, row
//! scale) enters with the row's activations and is delayed to meet the row's sums at the
//! array output. There the sum of channel `c` is `array + bias[c]` for the first k-tile and
//! `array + partial[m][c]` after it (`partial` being the `max_tokens x C` int32 RAM); for a
//! non-final k-tile it is written back into `partial[m]`, for the final one it is requantized
//! with the row scale (`1` without row scales) by a [`RequantLane`], leaving on `y`
//! [`REQUANT_LATENCY`] cycles later with the row's output word and parity.

use crate::array::{array_latency, signals};
use crate::delay::DelayLine;
use crate::requant::{RequantLane, REQUANT_LATENCY};
use crate::storage::{AccLane, ACC_ADDR_BITS, SP_ADDR_BITS};
use rust_hdl::prelude::*;

/// The accumulator stage of an `R x C` array with `acc_rows` accumulator rows.
#[derive(LogicBlock)]
pub struct Accumulator {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// A row enters the array this cycle.
    pub row_valid: Signal<In, Bit>,
    /// It belongs to the first k-tile (start from the bias).
    pub row_first_k: Signal<In, Bit>,
    /// It belongs to the last k-tile (requantize).
    pub row_last_k: Signal<In, Bit>,
    /// Its n-tile parity.
    pub row_parity: Signal<In, Bit>,
    /// Its accumulator row.
    pub row_m: Signal<In, Bits<ACC_ADDR_BITS>>,
    /// Its output word address.
    pub row_o_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Its int8 row scale (1 without row scales).
    pub row_scale: Signal<In, Bits<8>>,
    /// The array's output row, [`array_latency`] cycles after the row entered.
    pub array_out: Vec<Signal<In, Signed<32>>>,
    /// Parity of the row whose sums are formed this cycle (selects `bias`, `mult`, `shift`).
    pub acc_parity: Signal<Out, Bit>,
    /// Its n-tile's biases.
    pub bias: Vec<Signal<In, Bits<32>>>,
    /// Its n-tile's requantization multipliers.
    pub mult: Vec<Signal<In, Bits<16>>>,
    /// Its n-tile's requantization shifts.
    pub shift: Vec<Signal<In, Bits<6>>>,
    /// Requantize to int16 (residual update) instead of int8.
    pub wide: Signal<In, Bit>,
    /// A non-final k-tile's row is done with this cycle (its partial sums are written).
    pub partial_done: Signal<Out, Bit>,
    /// A final row's requantized values are on `y` this cycle.
    pub final_valid: Signal<Out, Bit>,
    /// Its n-tile parity.
    pub final_parity: Signal<Out, Bit>,
    /// Its output word address.
    pub final_o_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Its requantized values (int8 in the low byte, or int16).
    pub y: Vec<Signal<Out, Bits<16>>>,
    to_out_valid: DelayLine<Bit>,
    to_out_first_k: DelayLine<Bit>,
    to_out_last_k: DelayLine<Bit>,
    to_out_parity: DelayLine<Bit>,
    to_out_m: DelayLine<Bits<ACC_ADDR_BITS>>,
    to_out_o_addr: DelayLine<Bits<SP_ADDR_BITS>>,
    to_out_scale: DelayLine<Bits<8>>,
    sum_valid: DFF<Bit>,
    sum_first_k: DFF<Bit>,
    sum_last_k: DFF<Bit>,
    sum_parity: DFF<Bit>,
    sum_m: DFF<Bits<ACC_ADDR_BITS>>,
    sum_o_addr: DFF<Bits<SP_ADDR_BITS>>,
    sum_scale: DFF<Bits<8>>,
    partial: Vec<AccLane>,
    sum: Vec<Signal<Local, Bits<32>>>,
    requant: Vec<RequantLane>,
    rq_valid: DelayLine<Bit>,
    rq_parity: DelayLine<Bit>,
    rq_o_addr: DelayLine<Bits<SP_ADDR_BITS>>,
    _cols: usize,
}

impl Accumulator {
    /// The stage of an `rows x cols` array with `acc_rows` (a power of two) accumulator rows.
    pub fn new(rows: usize, cols: usize, acc_rows: usize) -> Self {
        // The tag waits for the sums one cycle less than the array takes: the sums are formed
        // from the array's (registered) output in the cycle the tag leaves the delay line.
        let wait = array_latency(rows, cols) - 1;
        Accumulator {
            clock: Signal::default(),
            row_valid: Signal::default(),
            row_first_k: Signal::default(),
            row_last_k: Signal::default(),
            row_parity: Signal::default(),
            row_m: Signal::default(),
            row_o_addr: Signal::default(),
            row_scale: Signal::default(),
            array_out: signals(cols),
            acc_parity: Signal::default(),
            bias: signals(cols),
            mult: signals(cols),
            shift: signals(cols),
            wide: Signal::default(),
            partial_done: Signal::default(),
            final_valid: Signal::default(),
            final_parity: Signal::default(),
            final_o_addr: Signal::default(),
            y: signals(cols),
            to_out_valid: DelayLine::new(wait),
            to_out_first_k: DelayLine::new(wait),
            to_out_last_k: DelayLine::new(wait),
            to_out_parity: DelayLine::new(wait),
            to_out_m: DelayLine::new(wait),
            to_out_o_addr: DelayLine::new(wait),
            to_out_scale: DelayLine::new(wait),
            sum_valid: DFF::default(),
            sum_first_k: DFF::default(),
            sum_last_k: DFF::default(),
            sum_parity: DFF::default(),
            sum_m: DFF::default(),
            sum_o_addr: DFF::default(),
            sum_scale: DFF::default(),
            partial: (0..cols).map(|_| AccLane::new(acc_rows)).collect(),
            sum: signals(cols),
            requant: (0..cols).map(|_| RequantLane::default()).collect(),
            rq_valid: DelayLine::new(REQUANT_LATENCY),
            rq_parity: DelayLine::new(REQUANT_LATENCY),
            rq_o_addr: DelayLine::new(REQUANT_LATENCY),
            _cols: cols,
        }
    }
}

impl Logic for Accumulator {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, sum_valid, sum_first_k, sum_last_k, sum_parity, sum_m, sum_o_addr, sum_scale);
        for c in 0..self._cols {
            self.partial[c].clock.next = self.clock.val();
            self.requant[c].clock.next = self.clock.val();
        }
        self.to_out_valid.clock.next = self.clock.val();
        self.to_out_first_k.clock.next = self.clock.val();
        self.to_out_last_k.clock.next = self.clock.val();
        self.to_out_parity.clock.next = self.clock.val();
        self.to_out_m.clock.next = self.clock.val();
        self.to_out_o_addr.clock.next = self.clock.val();
        self.to_out_scale.clock.next = self.clock.val();
        self.rq_valid.clock.next = self.clock.val();
        self.rq_parity.clock.next = self.clock.val();
        self.rq_o_addr.clock.next = self.clock.val();

        self.to_out_valid.din.next = self.row_valid.val();
        self.to_out_first_k.din.next = self.row_first_k.val();
        self.to_out_last_k.din.next = self.row_last_k.val();
        self.to_out_parity.din.next = self.row_parity.val();
        self.to_out_m.din.next = self.row_m.val();
        self.to_out_o_addr.din.next = self.row_o_addr.val();
        self.to_out_scale.din.next = self.row_scale.val();
        self.sum_valid.d.next = self.to_out_valid.dout.val();
        self.sum_first_k.d.next = self.to_out_first_k.dout.val();
        self.sum_last_k.d.next = self.to_out_last_k.dout.val();
        self.sum_parity.d.next = self.to_out_parity.dout.val();
        self.sum_m.d.next = self.to_out_m.dout.val();
        self.sum_o_addr.d.next = self.to_out_o_addr.dout.val();
        self.sum_scale.d.next = self.to_out_scale.dout.val();

        self.acc_parity.next = self.sum_parity.q.val();
        for c in 0..self._cols {
            // The partial sum is read a cycle ahead, as the tag leaves the delay line.
            self.partial[c].rd_addr.next = self.to_out_m.dout.val();
            if self.sum_first_k.q.val() {
                self.sum[c].next = unsigned_cast(self.array_out[c].val()) + self.bias[c].val();
            } else {
                self.sum[c].next = unsigned_cast(self.array_out[c].val()) + self.partial[c].rd_data.val();
            }
            self.partial[c].wr_addr.next = self.sum_m.q.val();
            self.partial[c].wr_data.next = self.sum[c].val();
            self.partial[c].wr_en.next = self.sum_valid.q.val() && !self.sum_last_k.q.val();
            self.requant[c].acc.next = self.sum[c].val();
            self.requant[c].scale.next = self.sum_scale.q.val();
            self.requant[c].wide.next = self.wide.val();
            self.requant[c].mult.next = self.mult[c].val();
            self.requant[c].shift.next = self.shift[c].val();
            self.y[c].next = self.requant[c].y.val();
        }
        self.partial_done.next = self.sum_valid.q.val() && !self.sum_last_k.q.val();
        self.rq_valid.din.next = self.sum_valid.q.val() && self.sum_last_k.q.val();
        self.rq_parity.din.next = self.sum_parity.q.val();
        self.rq_o_addr.din.next = self.sum_o_addr.q.val();
        self.final_valid.next = self.rq_valid.dout.val();
        self.final_parity.next = self.rq_parity.dout.val();
        self.final_o_addr.next = self.rq_o_addr.dout.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use spec::numerics::{requant_i16, requant_i8, Dyadic};

    /// An 8x4 array with 16 accumulator rows.
    const R: usize = 8;
    const C: usize = 4;
    const ACC_ROWS: usize = 16;

    /// One GEMM through the stage: `k_tiles` passes over `m` rows per n-tile, the array's sums
    /// of each row, the row scales and the parameters of each parity.
    #[derive(Clone, Debug)]
    struct Case {
        m: usize,
        k_tiles: usize,
        n_tiles: usize,
        wide: bool,
        sums: Vec<i32>,
        scales: Vec<i8>,
        bias: [[i32; C]; 2],
        requant: [[(u16, u8); C]; 2],
        gaps: Vec<usize>,
    }

    fn case() -> impl Strategy<Value = Case> {
        (
            (1usize..ACC_ROWS, 1usize..4, 1usize..4, any::<bool>()),
            prop::collection::vec(any::<i32>(), 64),
            prop::collection::vec(any::<i8>(), 16),
            prop::array::uniform2(prop::array::uniform4(any::<i32>())),
            prop::array::uniform2(prop::array::uniform4((0u16..=0x7fff, 8u8..48))),
            prop::collection::vec(0usize..3, 1..8),
        )
            .prop_map(|((m, k_tiles, n_tiles, wide), sums, scales, bias, requant, gaps)| Case {
                m,
                k_tiles,
                n_tiles,
                wide,
                sums,
                scales,
                bias,
                requant,
                gaps,
            })
    }

    /// One row entering the stage: (first k-tile, last k-tile, parity, m, output word, scale).
    type Row = (bool, bool, bool, usize, u64, i8);

    /// The rows in the order the streamer sends them, and the array's sums of each.
    fn rows(c: &Case) -> Vec<(Row, [i32; C])> {
        let mut out = vec![];
        for nt in 0..c.n_tiles {
            for kt in 0..c.k_tiles {
                for m in 0..c.m {
                    let i = out.len();
                    let sums = std::array::from_fn(|x| c.sums[(i * C + x) % c.sums.len()] >> (i % 24));
                    let row =
                        (kt == 0, kt + 1 == c.k_tiles, nt % 2 == 1, m, 300 + m as u64, c.scales[m % c.scales.len()]);
                    out.push((row, sums));
                }
            }
        }
        out
    }

    /// What leaves the stage for each row, in order: `None` for a partial row, the output word,
    /// parity and values for a final one: int32 sums from the bias or the partial sums, scaled
    /// and requantized as `spec::numerics` defines.
    fn expected(c: &Case) -> Vec<Option<(u64, bool, [u16; C])>> {
        let mut partial = [[0i32; C]; ACC_ROWS];
        rows(c)
            .into_iter()
            .map(|((first, last, parity, m, o, scale), sums)| {
                let p = parity as usize;
                let acc: [i32; C] =
                    std::array::from_fn(|x| sums[x].wrapping_add(if first { c.bias[p][x] } else { partial[m][x] }));
                if !last {
                    partial[m] = acc;
                    return None;
                }
                let y = std::array::from_fn(|x| {
                    let d = Dyadic { m: c.requant[p][x].0, s: c.requant[p][x].1 };
                    let v = acc[x] as i64 * scale as i64;
                    if c.wide {
                        requant_i16(v, d) as u16
                    } else {
                        requant_i8(v, d) as u8 as u16
                    }
                    // (int8: the low byte is the value.)
                });
                Some((o, parity, y))
            })
            .collect()
    }

    fn run(c: Case) {
        let lat = array_latency(R, C);
        let want = expected(&c);
        let seen = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
        let seen_tb = seen.clone();
        let case = c.clone();
        let mut uut = Accumulator::new(R, C, ACC_ROWS);
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<Accumulator>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<Accumulator>| {
            let c = &case;
            let mut x = ep.init()?;
            // Rows with idle gaps (at least two cycles between passes over the same rows).
            let mut schedule: Vec<Option<(Row, [i32; C])>> = vec![];
            for (i, r) in rows(c).into_iter().enumerate() {
                let gap = c.gaps[i % c.gaps.len()] + if r.0 .3 == 0 { 2 } else { 0 };
                schedule.extend(std::iter::repeat_n(None, gap));
                schedule.push(Some(r));
            }
            let total = schedule.len() + lat + REQUANT_LATENCY + 2;
            x.wide.next = c.wide;
            for e in 0..total {
                let row = schedule.get(e).copied().flatten();
                x.row_valid.next = row.is_some();
                let (first, last, parity, m, o, scale) = row.map_or((false, false, false, 0, 0, 1), |r| r.0);
                x.row_first_k.next = first;
                x.row_last_k.next = last;
                x.row_parity.next = parity;
                x.row_m.next = (m as u64).into();
                x.row_o_addr.next = o.into();
                x.row_scale.next = (scale as u8 as u64).into();
                // The array's output row for the row that entered `lat` cycles ago.
                let out = e.checked_sub(lat).and_then(|s| schedule.get(s).copied().flatten());
                for i in 0..C {
                    x.array_out[i].next = Signed::from(out.map_or(0x5555, |r| r.1[i]) as i64);
                }
                x = ep.wait(1, x)?;
                // The parameters of the parity in the sum stage.
                let p = x.acc_parity.val() as usize;
                for i in 0..C {
                    x.bias[i].next = (c.bias[p][i] as u32 as u64).into();
                    x.mult[i].next = (c.requant[p][i].0 as u64).into();
                    x.shift[i].next = (c.requant[p][i].1 as u64).into();
                }
                x = ep.wait(1, x)?;
                let mut s = seen_tb.lock().unwrap();
                // Each result, keyed by the cycle its row entered.
                if x.partial_done.val() {
                    s.push((e - lat, None));
                }
                if x.final_valid.val() {
                    let mask = if c.wide { 0xffff } else { 0xff };
                    let y = std::array::from_fn(|i| (x.y[i].val().to_u64() & mask) as u16);
                    s.push((e - lat - REQUANT_LATENCY, Some((x.final_o_addr.val().to_u64(), x.final_parity.val(), y))));
                }
                drop(s);
                wait_clock_cycle!(ep, clock, x);
            }
            ep.done(x)
        });
        sim.run(Box::new(uut), 100_000_000).unwrap();
        let mut seen = seen.lock().unwrap().clone();
        seen.sort_by_key(|s| s.0);
        assert_eq!(seen.into_iter().map(|s| s.1).collect::<Vec<_>>(), want);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        /// Bias on the first k-tile, partial sums after it, row scale and requantization on the
        /// last, each n-tile parity with its own parameters.
        #[test]
        fn accumulates_and_requantizes(c in case()) {
            run(c);
        }
    }

    #[test]
    fn verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut Accumulator::new(8, 4, 16), "gemm_acc");
        crate::verilog::lint(&v, "gemm_acc").unwrap();
    }
}
