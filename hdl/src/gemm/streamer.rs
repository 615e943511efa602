//! The GEMM tile streamer: sends the `M` token rows of each tile through the systolic array,
//! one row per cycle, tiles in the order (n-tile, k-tile).
//!
//! Row `m` of tile (n-tile `nt`, k-tile `kt`) reads A word `a_addr + m * a_stride + kt` and, with
//! row scales, scale word `rs_addr + m / R`; one cycle later (with the read data) it leaves on
//! the `row_*` outputs tagged with everything the later stages need: first/last k-tile, n-tile
//! parity, weight buffer (`tile % 2`), accumulator row `m` and output word
//! `o_addr + m * o_stride`.
//!
//! Start rule: tile `i` starts once it is fully loaded (`tiles_loaded > i`), or once the loader
//! writes it from a FIFO that already holds its remaining rows (`rows_ahead` while
//! `tiles_loaded == i`). A tile whose successor is ready runs straight into it without a bubble.
//! Each start reloads the gate (`load_gate(C)`, or `column_load_gate(R)` for column loads) that
//! the loader waits out before writing the next tile. After the last tile, the streamer waits
//! until no row is in flight and pulses `done`.

use crate::storage::{ACC_ADDR_BITS, SP_ADDR_BITS};
use rust_hdl::prelude::*;
use spec::timing::gemm::{column_load_gate, load_gate};

// Streamer states: idle, waiting for the next tile, issuing rows, draining the pipeline.
const S_IDLE: u64 = 0;
const S_WAIT: u64 = 1;
const S_RUN: u64 = 2;
const S_DRAIN: u64 = 3;

/// The streamer of an `R x C` array.
#[derive(LogicBlock)]
pub struct TileStreamer {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// Start a GEMM (only while `idle`); `m`, the strides, `rs_en` and `column_loads` are latched.
    pub start: Signal<In, Bit>,
    /// No GEMM running.
    pub idle: Signal<Out, Bit>,
    /// Rows of A.
    pub m: Signal<In, Bits<16>>,
    /// Word address of A's row 0 (held while running).
    pub a_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Words between A rows.
    pub a_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Word address of output row 0 (held while running).
    pub o_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Words between output rows.
    pub o_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Read a row scale with each row.
    pub rs_en: Signal<In, Bit>,
    /// Word address of the row scales (R per word).
    pub rs_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// B is loaded by columns (the longer gate).
    pub column_loads: Signal<In, Bit>,
    /// k-tiles per n-tile (valid from the cycle after `start`).
    pub k_tiles: Signal<In, Bits<16>>,
    /// n-tiles (valid from the cycle after `start`).
    pub n_tiles: Signal<In, Bits<16>>,
    /// Tiles completely loaded.
    pub tiles_loaded: Signal<In, Bits<32>>,
    /// Tile `tiles_loaded` may start ahead of its last rows (they are in the weight FIFO).
    pub rows_ahead: Signal<In, Bit>,
    /// No row is in flight (issued and not yet retired).
    pub drained: Signal<In, Bit>,
    /// Tiles started.
    pub tiles_started: Signal<Out, Bits<32>>,
    /// The gate of the last started tile has run out.
    pub gate_open: Signal<Out, Bit>,
    /// A row is issued this cycle (the A read).
    pub issue: Signal<Out, Bit>,
    /// Its n-tile parity.
    pub issue_parity: Signal<Out, Bit>,
    /// A read address.
    pub a_rd_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Read a row scale word this cycle.
    pub rs_rd_en: Signal<Out, Bit>,
    /// Its word address.
    pub rs_rd_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// The row issued in the previous cycle (its A data is on the read port now).
    pub row_valid: Signal<Out, Bit>,
    /// It belongs to the first k-tile (add the bias).
    pub row_first_k: Signal<Out, Bit>,
    /// It belongs to the last k-tile (requantize and write).
    pub row_last_k: Signal<Out, Bit>,
    /// Its n-tile parity.
    pub row_parity: Signal<Out, Bit>,
    /// Its weight buffer.
    pub row_buffer: Signal<Out, Bit>,
    /// Its row index m (the accumulator row).
    pub row_m: Signal<Out, Bits<ACC_ADDR_BITS>>,
    /// Its output word address.
    pub row_o_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// The GEMM uses row scales (latched `rs_en`).
    pub rows_scaled: Signal<Out, Bit>,
    /// One-cycle pulse: the last row has retired.
    pub done: Signal<Out, Bit>,
    state: DFF<Bits<2>>,
    m_rows: DFF<Bits<16>>,
    a_step: DFF<Bits<SP_ADDR_BITS>>,
    o_step: DFF<Bits<SP_ADDR_BITS>>,
    rs_on: DFF<Bit>,
    rs_base: DFF<Bits<SP_ADDR_BITS>>,
    gate_len: DFF<Bits<8>>,
    k_tile: DFF<Bits<16>>,
    n_tile: DFF<Bits<16>>,
    row: DFF<Bits<16>>,
    acc_row: DFF<Bits<ACC_ADDR_BITS>>,
    buffer: DFF<Bit>,
    parity: DFF<Bit>,
    started: DFF<Bits<32>>,
    a_row_addr: DFF<Bits<SP_ADDR_BITS>>,
    a_k_offset: DFF<Bits<SP_ADDR_BITS>>,
    o_row_addr: DFF<Bits<SP_ADDR_BITS>>,
    rs_ptr: DFF<Bits<SP_ADDR_BITS>>,
    gate_left: DFF<Bits<8>>,
    done_pulse: DFF<Bit>,
    out_valid: DFF<Bit>,
    out_first_k: DFF<Bit>,
    out_last_k: DFF<Bit>,
    out_parity: DFF<Bit>,
    out_buffer: DFF<Bit>,
    out_m: DFF<Bits<ACC_ADDR_BITS>>,
    out_o_addr: DFF<Bits<SP_ADDR_BITS>>,
    next_tile: Signal<Local, Bits<32>>,
    next_ready: Signal<Local, Bit>,
    st_idle: Constant<Bits<2>>,
    st_wait: Constant<Bits<2>>,
    st_run: Constant<Bits<2>>,
    st_drain: Constant<Bits<2>>,
    gate_rows: Constant<Bits<8>>,
    gate_cols: Constant<Bits<8>>,
    rs_last: Constant<Bits<16>>,
}

impl TileStreamer {
    /// The streamer of an `rows x cols` array (`rows <= 128`: the gate counter has 8 bits).
    pub fn new(rows: usize, cols: usize) -> Self {
        assert!(rows <= 128, "the gate counter is 8 bits");
        TileStreamer {
            clock: Signal::default(),
            reset: Signal::default(),
            start: Signal::default(),
            idle: Signal::default(),
            m: Signal::default(),
            a_addr: Signal::default(),
            a_stride: Signal::default(),
            o_addr: Signal::default(),
            o_stride: Signal::default(),
            rs_en: Signal::default(),
            rs_addr: Signal::default(),
            column_loads: Signal::default(),
            k_tiles: Signal::default(),
            n_tiles: Signal::default(),
            tiles_loaded: Signal::default(),
            rows_ahead: Signal::default(),
            drained: Signal::default(),
            tiles_started: Signal::default(),
            gate_open: Signal::default(),
            issue: Signal::default(),
            issue_parity: Signal::default(),
            a_rd_addr: Signal::default(),
            rs_rd_en: Signal::default(),
            rs_rd_addr: Signal::default(),
            row_valid: Signal::default(),
            row_first_k: Signal::default(),
            row_last_k: Signal::default(),
            row_parity: Signal::default(),
            row_buffer: Signal::default(),
            row_m: Signal::default(),
            row_o_addr: Signal::default(),
            rows_scaled: Signal::default(),
            done: Signal::default(),
            state: DFF::default(),
            m_rows: DFF::default(),
            a_step: DFF::default(),
            o_step: DFF::default(),
            rs_on: DFF::default(),
            rs_base: DFF::default(),
            gate_len: DFF::default(),
            k_tile: DFF::default(),
            n_tile: DFF::default(),
            row: DFF::default(),
            acc_row: DFF::default(),
            buffer: DFF::default(),
            parity: DFF::default(),
            started: DFF::default(),
            a_row_addr: DFF::default(),
            a_k_offset: DFF::default(),
            o_row_addr: DFF::default(),
            rs_ptr: DFF::default(),
            gate_left: DFF::default(),
            done_pulse: DFF::default(),
            out_valid: DFF::default(),
            out_first_k: DFF::default(),
            out_last_k: DFF::default(),
            out_parity: DFF::default(),
            out_buffer: DFF::default(),
            out_m: DFF::default(),
            out_o_addr: DFF::default(),
            next_tile: Signal::default(),
            next_ready: Signal::default(),
            st_idle: Constant::new(S_IDLE.into()),
            st_wait: Constant::new(S_WAIT.into()),
            st_run: Constant::new(S_RUN.into()),
            st_drain: Constant::new(S_DRAIN.into()),
            gate_rows: Constant::new(Bits::<8>::from(load_gate(cols) as u64)),
            gate_cols: Constant::new(Bits::<8>::from(column_load_gate(rows) as u64)),
            rs_last: Constant::new(Bits::<16>::from(rows as u64 - 1)),
        }
    }
}

impl Logic for TileStreamer {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            state,
            m_rows,
            a_step,
            o_step,
            rs_on,
            rs_base,
            gate_len,
            k_tile,
            n_tile,
            row,
            acc_row,
            buffer,
            parity,
            started,
            a_row_addr,
            a_k_offset,
            o_row_addr,
            rs_ptr,
            gate_left,
            done_pulse,
            out_valid,
            out_first_k,
            out_last_k,
            out_parity,
            out_buffer,
            out_m,
            out_o_addr
        );
        self.done_pulse.d.next = false;
        // Row `row` of tile (n_tile, k_tile) is issued in every Run cycle, with its row scale.
        self.issue.next = self.state.q.val() == self.st_run.val();
        self.out_valid.d.next = self.state.q.val() == self.st_run.val();
        self.rs_rd_en.next = (self.state.q.val() == self.st_run.val()) && self.rs_on.q.val();
        self.rs_rd_addr.next = self.rs_ptr.q.val();
        if self.gate_left.q.val() != 0 {
            self.gate_left.d.next = self.gate_left.q.val() - 1;
        }
        // Index of the next tile to start: `started` counts started tiles, but during the first
        // row of a tile (row 0 in Run) that tile's own increment is not visible yet.
        self.next_tile.next = self.started.q.val();
        if (self.state.q.val() == self.st_run.val()) && (self.row.q.val() == 0) {
            self.next_tile.next = self.started.q.val() + 1;
        }
        self.next_ready.next = (self.tiles_loaded.val() > self.next_tile.val())
            || (self.rows_ahead.val() && (self.tiles_loaded.val() == self.next_tile.val()));
        self.a_rd_addr.next = self.a_row_addr.q.val() + self.a_k_offset.q.val();
        if self.state.q.val() == self.st_wait.val() {
            if self.next_ready.val() {
                self.state.d.next = self.st_run.val();
            }
        } else if self.state.q.val() == self.st_run.val() {
            if self.rs_on.q.val() && ((self.row.q.val() & self.rs_last.val()) == self.rs_last.val()) {
                self.rs_ptr.d.next = self.rs_ptr.q.val() + 1;
            }
            self.out_first_k.d.next = self.k_tile.q.val() == 0;
            self.out_last_k.d.next = self.k_tile.q.val() + 1 == self.k_tiles.val();
            self.out_parity.d.next = self.parity.q.val();
            self.out_buffer.d.next = self.buffer.q.val();
            self.out_m.d.next = self.acc_row.q.val();
            self.out_o_addr.d.next = self.o_row_addr.q.val();
            if self.row.q.val() == 0 {
                self.started.d.next = self.started.q.val() + 1;
                self.gate_left.d.next = self.gate_len.q.val();
            }
            self.row.d.next = self.row.q.val() + 1;
            self.acc_row.d.next = self.acc_row.q.val() + 1;
            self.a_row_addr.d.next = self.a_row_addr.q.val() + self.a_step.q.val();
            self.o_row_addr.d.next = self.o_row_addr.q.val() + self.o_step.q.val();
            if self.row.q.val() + 1 == self.m_rows.q.val() {
                // Tile issued: rewind rows, advance to the next tile.
                self.row.d.next = 0.into();
                self.acc_row.d.next = 0.into();
                self.o_row_addr.d.next = self.o_addr.val();
                self.a_row_addr.d.next = self.a_addr.val();
                self.rs_ptr.d.next = self.rs_base.q.val();
                self.buffer.d.next = !self.buffer.q.val();
                // Straight into the next tile when it is ready (no bubble between tiles).
                self.state.d.next = self.st_wait.val();
                if self.next_ready.val() {
                    self.state.d.next = self.st_run.val();
                }
                self.k_tile.d.next = self.k_tile.q.val() + 1;
                self.a_k_offset.d.next = self.a_k_offset.q.val() + 1;
                if self.k_tile.q.val() + 1 == self.k_tiles.val() {
                    self.k_tile.d.next = 0.into();
                    self.a_k_offset.d.next = 0.into();
                    self.n_tile.d.next = self.n_tile.q.val() + 1;
                    self.parity.d.next = !self.parity.q.val();
                    if self.n_tile.q.val() + 1 == self.n_tiles.val() {
                        self.state.d.next = self.st_drain.val();
                    }
                }
            }
        } else if self.state.q.val() == self.st_drain.val() {
            if self.drained.val() {
                self.state.d.next = self.st_idle.val();
                self.done_pulse.d.next = true;
            }
        }
        if self.start.val() && (self.state.q.val() == self.st_idle.val()) {
            self.m_rows.d.next = self.m.val();
            self.a_step.d.next = self.a_stride.val();
            self.o_step.d.next = self.o_stride.val();
            self.rs_on.d.next = self.rs_en.val();
            self.rs_base.d.next = self.rs_addr.val();
            self.gate_len.d.next = self.gate_rows.val();
            if self.column_loads.val() {
                self.gate_len.d.next = self.gate_cols.val();
            }
            self.state.d.next = self.st_wait.val();
            self.k_tile.d.next = 0.into();
            self.n_tile.d.next = 0.into();
            self.row.d.next = 0.into();
            self.acc_row.d.next = 0.into();
            self.buffer.d.next = false;
            self.parity.d.next = false;
            self.started.d.next = 0.into();
            self.a_row_addr.d.next = self.a_addr.val();
            self.a_k_offset.d.next = 0.into();
            self.o_row_addr.d.next = self.o_addr.val();
            self.rs_ptr.d.next = self.rs_addr.val();
            self.gate_left.d.next = 0.into();
        }
        if self.reset.val() {
            self.state.d.next = self.st_idle.val();
            self.out_valid.d.next = false;
            self.done_pulse.d.next = false;
        }
        self.idle.next = self.state.q.val() == self.st_idle.val();
        self.issue_parity.next = self.parity.q.val();
        self.tiles_started.next = self.started.q.val();
        self.gate_open.next = self.gate_left.q.val() == 0;
        self.row_valid.next = self.out_valid.q.val();
        self.row_first_k.next = self.out_first_k.q.val();
        self.row_last_k.next = self.out_last_k.q.val();
        self.row_parity.next = self.out_parity.q.val();
        self.row_buffer.next = self.out_buffer.q.val();
        self.row_m.next = self.out_m.q.val();
        self.row_o_addr.next = self.out_o_addr.q.val();
        self.rows_scaled.next = self.rs_on.q.val();
        self.done.next = self.done_pulse.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An 8x4 array.
    const R: usize = 8;
    const C: usize = 4;
    /// Cycles from a row's issue to its retirement in the testbench's pipeline.
    const RETIRE: usize = 6;

    /// One GEMM's streamer operands and the loader's progress.
    #[derive(Clone, Debug)]
    struct Case {
        m: usize,
        k_tiles: usize,
        n_tiles: usize,
        a_addr: u64,
        a_stride: u64,
        o_addr: u64,
        o_stride: u64,
        rs_en: bool,
        rs_addr: u64,
        column_loads: bool,
        /// Per cycle: (load a tile, rows ahead), cycled through.
        loads: Vec<(bool, bool)>,
    }

    fn case() -> impl Strategy<Value = Case> {
        (
            (1usize..20, 1usize..4, 1usize..4),
            (0u64..100, 1u64..4, 0u64..100, 1u64..4, any::<bool>(), 0u64..100, any::<bool>()),
            prop::collection::vec((any::<bool>(), any::<bool>()), 1..20),
        )
            .prop_map(
                |((m, k_tiles, n_tiles), (a_addr, a_stride, o_addr, o_stride, rs_en, rs_addr, column_loads), loads)| {
                    Case {
                        m,
                        k_tiles,
                        n_tiles,
                        a_addr,
                        a_stride,
                        o_addr,
                        o_stride,
                        rs_en,
                        rs_addr,
                        column_loads,
                        loads,
                    }
                },
            )
    }

    /// What the streamer showed in one cycle (cycle 0: the start pulse).
    #[derive(Clone, Debug, Default, PartialEq)]
    struct Cycle {
        issue: Option<(u64, Option<u64>, bool)>,
        row: Option<(bool, bool, bool, bool, u64, u64)>,
        started: u64,
        gate_open: bool,
        done: bool,
    }

    /// The inputs the testbench gave in one cycle.
    #[derive(Clone, Copy, Debug, Default)]
    struct Given {
        loaded: usize,
        rows_ahead: bool,
        drained: bool,
    }

    /// The contract, cycle by cycle, from the inputs given: tile t's M rows issue back to back,
    /// the first in the cycle after the first cycle (from the start's next cycle, or from the
    /// previous tile's last row on) in which tile t was loaded or could start ahead.
    fn expected(c: &Case, given: &[Given]) -> Vec<Cycle> {
        let gate = if c.column_loads { column_load_gate(R) } else { load_gate(C) };
        let mut want = vec![Cycle { gate_open: true, ..Cycle::default() }; given.len()];
        let ready = |t: usize, g: &Given| g.loaded > t || (g.rows_ahead && g.loaded == t);
        let mut from = 1;
        let mut tile = 0;
        for nt in 0..c.n_tiles {
            for kt in 0..c.k_tiles {
                let Some(e) = (from..given.len()).find(|&e| ready(tile, &given[e])) else { return want };
                let first = e + 1;
                for m in 0..c.m {
                    let at = first + m;
                    if at + 1 >= given.len() {
                        return want;
                    }
                    let a = c.a_addr + m as u64 * c.a_stride + kt as u64;
                    let rs = c.rs_en.then_some(c.rs_addr + (m / R) as u64);
                    want[at].issue = Some((a, rs, nt % 2 == 1));
                    let o = c.o_addr + m as u64 * c.o_stride;
                    want[at + 1].row = Some((kt == 0, kt + 1 == c.k_tiles, nt % 2 == 1, tile % 2 == 1, m as u64, o));
                }
                for e in first + 1..given.len() {
                    want[e].started += 1;
                }
                for e in first + 1..(first + 1 + gate).min(given.len()) {
                    want[e].gate_open = false;
                }
                from = first + c.m - 1;
                tile += 1;
            }
        }
        if let Some(d) = (from + 1..given.len()).find(|&e| given[e].drained) {
            if d + 1 < given.len() {
                want[d + 1].done = true;
            }
        }
        want
    }

    fn run(c: Case) {
        let tiles = c.k_tiles * c.n_tiles;
        let cycles = 4 * (tiles * (c.m + 4) + 20);
        let trace = std::sync::Arc::new(std::sync::Mutex::new((vec![], vec![])));
        let trace_tb = trace.clone();
        let case = c.clone();
        let mut uut = TileStreamer::new(R, C);
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<TileStreamer>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<TileStreamer>| {
            let c = &case;
            let mut x = ep.init()?;
            x.reset.next = true;
            wait_clock_cycle!(ep, clock, x);
            x.reset.next = false;
            x.m.next = (c.m as u64).into();
            x.a_addr.next = c.a_addr.into();
            x.a_stride.next = c.a_stride.into();
            x.o_addr.next = c.o_addr.into();
            x.o_stride.next = c.o_stride.into();
            x.rs_en.next = c.rs_en;
            x.rs_addr.next = c.rs_addr.into();
            x.column_loads.next = c.column_loads;
            x.k_tiles.next = (c.k_tiles as u64).into();
            x.n_tiles.next = (c.n_tiles as u64).into();
            let (mut loaded, mut issued_at) = (0usize, vec![]);
            for e in 0..cycles {
                x.start.next = e == 0;
                // The loader model: a tile at a time, at most two ahead of the started ones.
                let (load, rows_ahead) = if e % 3 == 2 { (true, false) } else { c.loads[e % c.loads.len()] };
                let started = x.tiles_started.val().to_u64() as usize;
                if e > 0 && load && loaded < tiles && loaded < started + 2 {
                    loaded += 1;
                }
                let drained = issued_at.iter().all(|&i| i + RETIRE <= e);
                let given = Given { loaded, rows_ahead: rows_ahead && loaded < tiles, drained };
                x.tiles_loaded.next = (given.loaded as u64).into();
                x.rows_ahead.next = given.rows_ahead;
                x.drained.next = given.drained;
                x = ep.wait(1, x)?;
                let mut seen = Cycle {
                    started: x.tiles_started.val().to_u64(),
                    gate_open: x.gate_open.val(),
                    done: x.done.val(),
                    ..Cycle::default()
                };
                if x.issue.val() {
                    issued_at.push(e);
                    let rs = x.rs_rd_en.val().then(|| x.rs_rd_addr.val().to_u64());
                    seen.issue = Some((x.a_rd_addr.val().to_u64(), rs, x.issue_parity.val()));
                }
                if x.row_valid.val() {
                    seen.row = Some((
                        x.row_first_k.val(),
                        x.row_last_k.val(),
                        x.row_parity.val(),
                        x.row_buffer.val(),
                        x.row_m.val().to_u64(),
                        x.row_o_addr.val().to_u64(),
                    ));
                }
                let mut t = trace_tb.lock().unwrap();
                t.0.push(given);
                t.1.push(seen);
                drop(t);
                wait_clock_cycle!(ep, clock, x);
            }
            ep.done(x)
        });
        sim.run(Box::new(uut), 20 * cycles as u64 + 100).unwrap();
        let (given, seen) = &*trace.lock().unwrap();
        let want = expected(&c, given);
        for e in 0..seen.len() {
            assert_eq!(seen[e], want[e], "cycle {e}");
        }
        assert!(want.iter().any(|w| w.done), "the case did not finish in {cycles} cycles");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Rows, addresses, tags, start rule, gate and done against the contract, with the loader
        /// running behind, ahead, and starting tiles early.
        #[test]
        fn streams_rows_by_the_start_rule(c in case()) {
            run(c);
        }
    }

    #[test]
    fn verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut TileStreamer::new(8, 4), "gemm_streamer");
        crate::verilog::lint(&v, "gemm_streamer").unwrap();
    }
}
