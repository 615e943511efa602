//! The GEMM engine's control, stepped cycle by cycle with the RTL's rules and no arithmetic
//! (`hdl::gemm`, timing in `spec::timing::gemm`): the weight stream filling the FIFO, the
//! loader writing tiles into the two weight buffers, the streamer sending token rows through the
//! array, and the rows in flight per buffer. Each part is a small state machine whose fields are
//! the RTL's registers at the start of a cycle; [`run`] computes one cycle's combinational
//! conditions from them, steps every part, then commits the registered values.

use super::units::{BSource, CycleModel, GemmShape};
use spec::isa;
use spec::timing::gemm::{
    column_load_gate, load_gate, ACC_RETIRE, OUT_RETIRE, STREAM_ACCEPT, STREAM_ARRIVE, UNIT_DONE as GEMM_DONE,
    UNIT_START as GEMM_START,
};
use spec::timing::read::AR_DELAY;
use std::collections::VecDeque;

/// `(unit busy cycles, active cycles)` of a GEMM of shape `g` on `model`'s engine.
pub fn run(model: &CycleModel, g: GemmShape) -> (u64, u64) {
    let tiles = Tiles::new(model, g);
    let mut stream = WeightStream::new(model, g);
    let mut loader = Loader::new(g.lut);
    let mut streamer = Streamer::default();
    let mut rows = RowsInFlight::default();
    let mut t = 0u64;
    loop {
        rows.retire_until(t);
        let count = stream.fifo;
        stream.issue(t);
        // The next tile's start and load conditions (combinational, from this cycle's registers).
        let next_tile = streamer.started + u64::from(streamer.state == StreamerState::Run && streamer.row == 0);
        let start_ok = loader.loaded > next_tile || loader.streams_ahead(&tiles, next_tile, count);
        let load_ok =
            (loader.loaded == 0 || (streamer.started == loader.loaded && streamer.gate == 0)) && !loader.write_valid;
        let mut next = Registered {
            gate: streamer.gate.saturating_sub(1),
            started: streamer.started,
            loaded: loader.loaded,
            write_valid: false,
        };
        let pop = loader.step(&tiles, t, count, &rows, load_ok, &mut next);
        let finished = streamer.step(&tiles, t, start_ok, &mut rows, &mut next);
        stream.tick(t, pop);
        loader.write_valid = next.write_valid;
        loader.loaded = next.loaded;
        streamer.gate = next.gate;
        streamer.started = next.started;
        t += 1;
        if finished {
            return (GEMM_START + t + GEMM_DONE, streamer.active);
        }
        assert!(t < 1 << 40, "cycle model did not converge");
    }
}

/// The tiling of one GEMM: counts and per-tile costs that do not change while it runs.
struct Tiles {
    /// Token rows M.
    m: u64,
    /// k-tiles per n-tile.
    k_tiles: u64,
    /// n-tiles.
    n_tiles: u64,
    /// FIFO words of an n-tile's header.
    header_words: u64,
    /// FIFO words of the LUT (0 without one).
    lut_words: u64,
    /// B from the scratchpad (read by the loader) rather than the FIFO.
    on_chip: bool,
    /// Array rows R: FIFO words of a streamed tile.
    rows: u64,
    /// Reads of an on-chip tile.
    tile_reads: u64,
    /// The loader's gate after a tile starts streaming.
    gate: u64,
    /// Array latency.
    latency: u64,
}

impl Tiles {
    fn new(model: &CycleModel, g: GemmShape) -> Self {
        let (r, c) = (model.rows as u64, model.cols as u64);
        let (tile_reads, gate) = match g.b {
            BSource::Stream | BSource::Rows => (r, load_gate(model.cols) as u64),
            BSource::Columns => (c, column_load_gate(model.rows) as u64),
        };
        Tiles {
            m: g.m as u64,
            k_tiles: g.k.div_ceil(model.rows) as u64,
            n_tiles: g.n.div_ceil(model.cols) as u64,
            header_words: (isa::weight_header_bytes(model.cols) / model.rows) as u64,
            lut_words: if g.lut { (isa::LUT_BYTES / model.rows) as u64 } else { 0 },
            on_chip: g.b != BSource::Stream,
            rows: r,
            tile_reads,
            gate,
            latency: r + c,
        }
    }
}

/// Values the loader and the streamer register at the end of a cycle (read by both of them and
/// by the start/load conditions during it).
struct Registered {
    /// The loader's gate countdown.
    gate: u64,
    /// Tiles the streamer has started.
    started: u64,
    /// Tiles fully loaded.
    loaded: u64,
    /// On-chip loads: a read's write stage next cycle.
    write_valid: bool,
}

/// The weight stream: read commands sized when the FIFO's free space allows (all that is left,
/// or at least half the FIFO), accepted [`STREAM_ACCEPT`] cycles later; beats arrive in order,
/// one per cycle, into the FIFO.
struct WeightStream {
    /// FIFO depth in words.
    depth: u64,
    /// Cycles from a command's acceptance to its first beat.
    arrive: u64,
    /// Words not yet requested.
    words_left: u64,
    /// Words requested, not yet in the FIFO.
    requested: u64,
    /// A sized command: (acceptance cycle, words).
    pending: Option<(u64, u64)>,
    /// Accepted commands: (first beat cycle, words).
    beats: VecDeque<(u64, u64)>,
    /// The read channel's next free cycle.
    next_beat_free: u64,
    /// Words in the FIFO.
    fifo: u64,
}

impl WeightStream {
    fn new(model: &CycleModel, g: GemmShape) -> Self {
        let on_chip = g.b != BSource::Stream;
        WeightStream {
            depth: model.fifo_words as u64,
            arrive: AR_DELAY + model.read_latency + STREAM_ARRIVE,
            words_left: isa::weight_stream_words(g.k, g.n, model.rows, model.cols, !on_chip, g.lut) as u64,
            requested: 0,
            pending: None,
            beats: VecDeque::new(),
            next_beat_free: 0,
            fifo: 0,
        }
    }

    /// Accept the pending command, or size the next one from this cycle's FIFO count.
    fn issue(&mut self, t: u64) {
        if let Some((at, words)) = self.pending {
            if at == t {
                let first = (t + self.arrive).max(self.next_beat_free);
                self.beats.push_back((first, words));
                self.next_beat_free = first + words;
                self.words_left -= words;
                self.pending = None;
            }
        } else if self.words_left != 0 {
            let credit = self.depth - self.fifo - self.requested;
            let chunk = if self.words_left <= credit {
                Some(self.words_left)
            } else if credit >= self.depth / 2 {
                Some(credit)
            } else {
                None
            };
            if let Some(w) = chunk {
                self.pending = Some((t + STREAM_ACCEPT, w));
                self.requested += w;
            }
        }
    }

    /// The FIFO at the end of cycle `t`: a pop, and the beat arriving in `t`, if any.
    fn tick(&mut self, t: u64, pop: bool) {
        if pop {
            self.fifo -= 1;
        }
        if let Some(&(first, words)) = self.beats.front() {
            if t >= first {
                self.fifo += 1;
                self.requested -= 1;
                if t + 1 == first + words {
                    self.beats.pop_front();
                }
            }
        }
    }
}

/// The loader's states.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LoaderState {
    /// Popping the LUT.
    Lut,
    /// Popping an n-tile's header.
    Header,
    /// Waiting for the gate (the buffer's previous tile has left the array).
    Gate,
    /// Writing a tile's rows.
    Rows,
    /// Every tile loaded.
    Finished,
}

/// The loader: the LUT, per n-tile its header, then per k-tile its rows into weight buffer
/// `tile % 2`.
struct Loader {
    state: LoaderState,
    /// LUT words popped.
    lut_popped: u64,
    /// Header words popped of the current n-tile.
    header_popped: u64,
    /// Rows (reads) written of the current tile.
    row: u64,
    /// Current k-tile.
    k_tile: u64,
    /// Current n-tile.
    n_tile: u64,
    /// Weight buffer (parity) of the current n-tile.
    parity: usize,
    /// Tiles fully loaded (registered).
    loaded: u64,
    /// On-chip loads: a read's write stage this cycle (registered).
    write_valid: bool,
    /// On-chip loads: the cycle `loaded` increments (the last read's write).
    last_write_at: Option<u64>,
}

impl Loader {
    fn new(lut: bool) -> Self {
        Loader {
            state: if lut { LoaderState::Lut } else { LoaderState::Header },
            lut_popped: 0,
            header_popped: 0,
            row: 0,
            k_tile: 0,
            n_tile: 0,
            parity: 0,
            loaded: 0,
            write_valid: false,
            last_write_at: None,
        }
    }

    /// FIFO weights: tile `next` may start streaming while it loads once a row is written and the
    /// FIFO holds the rest (rows are then written ahead of the wavefront).
    fn streams_ahead(&self, tiles: &Tiles, next: u64, fifo: u64) -> bool {
        !tiles.on_chip
            && self.state == LoaderState::Rows
            && self.loaded == next
            && self.row != 0
            && fifo >= tiles.rows - self.row
    }

    /// One cycle; returns whether a FIFO word was popped.
    fn step(
        &mut self,
        tiles: &Tiles,
        t: u64,
        fifo: u64,
        rows: &RowsInFlight,
        load_ok: bool,
        next: &mut Registered,
    ) -> bool {
        if self.last_write_at == Some(t) {
            next.loaded += 1;
            self.last_write_at = None;
        }
        let mut pop = false;
        match self.state {
            LoaderState::Lut => {
                if fifo != 0 {
                    pop = true;
                    self.lut_popped += 1;
                    if self.lut_popped == tiles.lut_words {
                        self.state = LoaderState::Header;
                    }
                }
            }
            LoaderState::Header => {
                if rows.per_buffer[self.parity] == 0 && fifo != 0 {
                    pop = true;
                    self.header_popped += 1;
                    if self.header_popped == tiles.header_words {
                        self.header_popped = 0;
                        self.state = LoaderState::Gate;
                    }
                }
            }
            LoaderState::Gate => {
                if load_ok {
                    self.state = LoaderState::Rows;
                }
            }
            LoaderState::Rows => {
                let mut last = false;
                if tiles.on_chip {
                    next.write_valid = true;
                    self.row += 1;
                    if self.row == tiles.tile_reads {
                        self.row = 0;
                        last = true;
                        self.last_write_at = Some(t + 1);
                    }
                } else if fifo != 0 {
                    pop = true;
                    self.row += 1;
                    if self.row == tiles.rows {
                        self.row = 0;
                        next.loaded += 1;
                        last = true;
                    }
                }
                if last {
                    self.next_tile(tiles);
                }
            }
            LoaderState::Finished => {}
        }
        pop
    }

    /// After a tile's last row: the gate for the next k-tile, or the next n-tile's header.
    fn next_tile(&mut self, tiles: &Tiles) {
        self.state = LoaderState::Gate;
        self.k_tile += 1;
        if self.k_tile == tiles.k_tiles {
            self.k_tile = 0;
            self.n_tile += 1;
            self.parity ^= 1;
            self.state = if self.n_tile == tiles.n_tiles { LoaderState::Finished } else { LoaderState::Header };
        }
    }
}

/// The streamer's states.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum StreamerState {
    /// Waiting for the next tile's start condition.
    #[default]
    Wait,
    /// Sending a tile's token rows, one per cycle.
    Run,
    /// Every tile sent: waiting for the last rows to leave.
    Drain,
}

/// The streamer: the `M` token rows of each tile through the array, one per cycle.
#[derive(Default)]
struct Streamer {
    state: StreamerState,
    /// Next row of the current tile.
    row: u64,
    /// Current k-tile.
    k_tile: u64,
    /// Current n-tile.
    n_tile: u64,
    /// Weight buffer (parity) of the current n-tile.
    parity: usize,
    /// Tiles started (registered).
    started: u64,
    /// The loader's gate countdown, set when a tile starts (registered).
    gate: u64,
    /// Cycles a row entered the array.
    active: u64,
}

impl Streamer {
    /// One cycle; returns whether the GEMM is finished (every row left).
    fn step(&mut self, tiles: &Tiles, t: u64, start_ok: bool, rows: &mut RowsInFlight, next: &mut Registered) -> bool {
        match self.state {
            StreamerState::Wait => {
                if start_ok {
                    self.state = StreamerState::Run;
                }
            }
            StreamerState::Run => {
                self.active += 1;
                let last_k = self.k_tile + 1 == tiles.k_tiles;
                // A row leaves the accumulator stage (non-final k-tiles) or the output stage.
                let leaves_at = t + tiles.latency + if last_k { OUT_RETIRE } else { ACC_RETIRE };
                rows.enter(self.parity, leaves_at);
                if self.row == 0 {
                    next.started += 1;
                    next.gate = tiles.gate;
                }
                self.row += 1;
                if self.row == tiles.m {
                    self.row = 0;
                    self.state = if start_ok { StreamerState::Run } else { StreamerState::Wait };
                    self.k_tile += 1;
                    if self.k_tile == tiles.k_tiles {
                        self.k_tile = 0;
                        self.n_tile += 1;
                        self.parity ^= 1;
                        if self.n_tile == tiles.n_tiles {
                            self.state = StreamerState::Drain;
                        }
                    }
                }
            }
            StreamerState::Drain => return rows.per_buffer == [0, 0],
        }
        false
    }
}

/// Token rows in the array or its output stages, per weight buffer.
#[derive(Default)]
struct RowsInFlight {
    /// Rows per buffer (parity).
    per_buffer: [u64; 2],
    /// (cycle the count drops, parity), in cycle order.
    leaving: VecDeque<(u64, usize)>,
}

impl RowsInFlight {
    /// A row of buffer `parity` enters; it leaves at `leaves_at`.
    fn enter(&mut self, parity: usize, leaves_at: u64) {
        self.per_buffer[parity] += 1;
        let pos = self.leaving.iter().position(|&(at, _)| at > leaves_at).unwrap_or(self.leaving.len());
        self.leaving.insert(pos, (leaves_at, parity));
    }

    /// The counts as registers at the start of cycle `t`.
    fn retire_until(&mut self, t: u64) {
        while self.leaving.front().is_some_and(|&(at, _)| at <= t) {
            let (_, parity) = self.leaving.pop_front().expect("non-empty");
            self.per_buffer[parity] -= 1;
        }
    }
}
