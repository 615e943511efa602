//! Tests of the whole engine against the reference semantics of `spec::isa` (the golden ISA
//! executor, `golden::exec`), in Rust-HDL's simulator and, for the generated Verilog, in Icarus Verilog.

use super::*;
use crate::testkit::{
    at, bench_clock_and_memory, engine_case, random_memory, run_ops, simulate, Alloc, EngineBench, IcarusBench,
    IcarusOp, Rng, TbMem,
};
use golden::exec::{Machine, Outcome};
use spec::isa::{BankAddr, ColMean, Deps, Insn, Op, Select};
use spec::AccelConfig;

const NB: usize = 4;
const WORDS: usize = 1024;

/// The engine under test with its memory; the operands are the test bench's.
#[derive(LogicBlock)]
struct Tb<const W: usize, const BE: usize> {
    clock: Signal<In, Clock>,
    reset: Signal<In, Bit>,
    start: Signal<In, Bit>,
    op: Signal<In, Bits<4>>,
    rows: Signal<In, Bits<16>>,
    n: Signal<In, Bits<16>>,
    in_lo_bank: Signal<In, Bits<4>>,
    in_hi_bank: Signal<In, Bits<4>>,
    in_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    in_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    out_bank: Signal<In, Bits<4>>,
    out_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    out_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    par_bank: Signal<In, Bits<4>>,
    par_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    aux: Signal<In, Bits<16>>,
    heads: Signal<In, Bits<8>>,
    prefix: Signal<In, Bits<4>>,
    p_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    w_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    g_rows: Signal<In, Bits<8>>,
    se: SelectEngine<W, BE>,
    mem: TbMem<W, BE>,
}

impl<const W: usize, const BE: usize> Tb<W, BE> {
    fn new(cfg: &AccelConfig) -> Self {
        Tb {
            clock: Signal::default(),
            reset: Signal::default(),
            start: Signal::default(),
            op: Signal::default(),
            rows: Signal::default(),
            n: Signal::default(),
            in_lo_bank: Signal::default(),
            in_hi_bank: Signal::default(),
            in_addr: Signal::default(),
            in_stride: Signal::default(),
            out_bank: Signal::default(),
            out_addr: Signal::default(),
            out_stride: Signal::default(),
            par_bank: Signal::default(),
            par_addr: Signal::default(),
            aux: Signal::default(),
            heads: Signal::default(),
            prefix: Signal::default(),
            p_stride: Signal::default(),
            w_addr: Signal::default(),
            g_rows: Signal::default(),
            se: SelectEngine::new(cfg),
            mem: TbMem::new(NB, WORDS),
        }
    }
}

impl<const W: usize, const BE: usize> Logic for Tb<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        self.se.clock.next = self.clock.val();
        self.mem.clock.next = self.clock.val();
        self.se.reset.next = self.reset.val();
        self.se.start.next = self.start.val();
        self.se.op.next = self.op.val();
        self.se.rows.next = self.rows.val();
        self.se.n.next = self.n.val();
        self.se.in_lo_bank.next = self.in_lo_bank.val();
        self.se.in_hi_bank.next = self.in_hi_bank.val();
        self.se.in_addr.next = self.in_addr.val();
        self.se.in_stride.next = self.in_stride.val();
        self.se.out_bank.next = self.out_bank.val();
        self.se.out_addr.next = self.out_addr.val();
        self.se.out_stride.next = self.out_stride.val();
        self.se.par_bank.next = self.par_bank.val();
        self.se.par_addr.next = self.par_addr.val();
        self.se.aux.next = self.aux.val();
        self.se.heads.next = self.heads.val();
        self.se.prefix.next = self.prefix.val();
        self.se.p_stride.next = self.p_stride.val();
        self.se.w_addr.next = self.w_addr.val();
        self.se.g_rows.next = self.g_rows.val();
        self.mem.rd0_bank.next = self.se.rd0_bank.val();
        self.mem.rd0_addr.next = self.se.rd0_addr.val();
        self.se.rd0_data.next = self.mem.rd0_data.val();
        self.mem.rd1_bank.next = self.se.rd1_bank.val();
        self.mem.rd1_addr.next = self.se.rd1_addr.val();
        self.se.rd1_data.next = self.mem.rd1_data.val();
        self.mem.wr_bank.next = self.se.wr_bank.val();
        self.mem.wr_addr.next = self.se.wr_addr.val();
        self.mem.wr_data.next = self.se.wr_data.val();
        self.mem.wr_be.next = self.se.wr_be.val();
        self.mem.wr_en.next = self.se.wr_en.val();
    }
}

/// One op: operands, the memory before and the memory expected after, the expected new
/// token count (SELECT) and cycle count.
#[derive(Clone, Debug, Default)]
struct Case {
    op: u64,
    rows: usize,
    n: usize,
    in_lo: usize,
    in_hi: usize,
    in_addr: usize,
    in_stride: usize,
    out_bank: usize,
    out_addr: usize,
    out_stride: usize,
    par_bank: usize,
    par_addr: usize,
    aux: usize,
    heads: usize,
    prefix: usize,
    p_stride: usize,
    w_addr: usize,
    g_rows: usize,
    init: Vec<Vec<u8>>,
    expect: Vec<Vec<u8>>,
    live: Option<u16>,
    /// SELECT: the reference's keep decision per token (empty for COLMEAN).
    keep: Vec<bool>,
    cycles: u64,
    what: String,
}

impl Case {
    /// The formulas' cycles of the case on an engine for `r`-byte words with `lanes` column-pass
    /// lanes (1 for an invalid op).
    fn cycles_on(&self, r: usize, lanes: usize) -> u64 {
        match self.op {
            OP_COLMEAN => colmean_cycles(self.rows, self.n, lanes),
            OP_SELECT if self.rows > 0 && self.heads > 0 => {
                select_cycles(&self.keep, self.heads, self.n, r, lanes, self.g_rows)
            }
            _ => 1,
        }
    }
}

/// `cases` with their cycles on the engine `cfg` builds.
fn timed(cfg: &AccelConfig, mut cases: Vec<Case>) -> Vec<Case> {
    for c in &mut cases {
        c.cycles = c.cycles_on(cfg.array_rows, cfg.sel_lanes());
    }
    cases
}

// ---------------- the reference: the one ISA executor (`golden::exec`) ----------------

/// Runs `op` on the test memory with the golden ISA executor, the reference of every backend.
fn execute(mem: &mut Vec<Vec<u8>>, r: usize, op: Op) -> Outcome {
    let cfg = AccelConfig { array_rows: r, array_cols: r, banks: NB, bank_words: WORDS, ..AccelConfig::default() };
    let mut machine = Machine::new(&cfg, 0);
    machine.banks = std::mem::take(mem);
    let outcome = machine.execute(&Insn { deps: Deps::default(), op, live: 0 }).expect("no DRAM access");
    *mem = machine.banks;
    outcome
}

/// Runs COLMEAN on `mem`.
fn ref_colmean(mem: &mut Vec<Vec<u8>>, r: usize, c: &Case) {
    let op = ColMean {
        rows: c.rows as u16,
        n: c.n as u16,
        input: BankAddr { bank: c.in_lo as u8, addr: c.in_addr as u32 },
        in_stride: c.in_stride as u32,
        out: BankAddr { bank: c.out_bank as u8, addr: c.out_addr as u32 },
        out_stride: c.out_stride as u32,
        mean_at: BankAddr { bank: c.par_bank as u8, addr: c.par_addr as u32 },
        mean_byte: c.aux as u16,
    };
    assert_eq!(execute(mem, r, Op::ColMean(op)), Outcome::Done);
}

/// Runs SELECT on `mem`; returns the keep decisions and the new count.
fn ref_select(mem: &mut Vec<Vec<u8>>, r: usize, c: &Case) -> (Vec<bool>, u16) {
    let op = Select {
        rows: c.rows as u16,
        n: c.n as u16,
        x: BankAddr { bank: c.in_lo as u8, addr: c.in_addr as u32 },
        x_hi_bank: c.in_hi as u8,
        x_stride: c.in_stride as u32,
        probs: BankAddr { bank: c.par_bank as u8, addr: c.par_addr as u32 },
        probs_stride: c.p_stride as u32,
        weights_addr: c.w_addr as u32,
        heads: c.heads as u8,
        prefix: c.prefix as u8,
        gather: BankAddr { bank: c.out_bank as u8, addr: c.out_addr as u32 },
        gather_stride: c.out_stride as u32,
        gather_rows: c.g_rows as u8,
        package_byte: c.aux as u16,
    };
    match execute(mem, r, Op::Select(op)) {
        Outcome::Selected { keep, live } => (keep, live),
        other => panic!("SELECT gave {other:?}"),
    }
}

// ---------------- case generators ----------------

/// A COLMEAN case: `rows x n` int8 values of `kind`, random layout, sometimes in place.
fn colmean_case(rng: &mut Rng, r: usize, rows: usize, n: usize, kind: u64, what: String) -> Case {
    let w = n.div_ceil(r);
    let mut mem = random_memory(rng, NB, WORDS, r);
    let mut al = Alloc::new(rng, NB, WORDS);
    let in_lo = rng.below(NB as u64) as usize;
    let in_stride = w + rng.below(3) as usize;
    let in_addr = al.take(rng, &[in_lo], (rows - 1) * in_stride + w);
    let (out_bank, out_addr, out_stride) = if rng.below(3) == 0 {
        (in_lo, in_addr, in_stride)
    } else {
        let b = rng.below(NB as u64) as usize;
        let s = w + rng.below(3) as usize;
        (b, al.take(rng, &[b], (rows - 1) * s + w), s)
    };
    let par_bank = rng.below(NB as u64) as usize;
    let par_words = 1 + rng.below(3) as usize;
    let par_addr = al.take(rng, &[par_bank], par_words);
    let aux = rng.below((par_words * r) as u64) as usize;
    let base = rng.next() as i8;
    for t in 0..rows {
        for ch in 0..n {
            let v: i8 = match kind {
                0 => rng.next() as i8,
                1 => i8::MIN,
                2 => i8::MAX,
                3 => rng.pick(&[i8::MIN, i8::MAX]),
                4 => base.saturating_add(rng.below(5) as i8 - 2),
                _ => rng.pick(&[-1, 0, 1, -2]),
            };
            mem[in_lo][at(r, in_addr + t * in_stride, ch)] = v as u8;
        }
    }
    let mut c = Case {
        op: OP_COLMEAN,
        rows,
        n,
        in_lo,
        in_hi: (in_lo + 1) % NB,
        in_addr,
        in_stride,
        out_bank,
        out_addr,
        out_stride,
        par_bank,
        par_addr,
        aux,
        // Operands COLMEAN ignores: junk.
        heads: rng.below(256) as usize,
        prefix: rng.below(16) as usize,
        p_stride: rng.below(1000) as usize,
        w_addr: rng.below(1000) as usize,
        g_rows: rng.below(256) as usize,
        init: mem.clone(),
        expect: vec![],
        live: None,
        keep: vec![],
        // Set for the engine under test by `timed`.
        cycles: 0,
        what,
    };
    ref_colmean(&mut mem, r, &c);
    c.expect = mem;
    c
}

/// How a SELECT case's probabilities, weights and values are drawn.
#[derive(Clone, Copy, Debug)]
enum Keep {
    /// Every probability >= 128: all kept.
    All,
    /// Every probability < 128 and a non-zero weight: only the prefix is kept.
    None,
    /// One token (not the first) kept, the prefix is 0.
    One,
    /// Random probabilities and weights.
    Random,
    /// Probabilities around 128 (ties), small weights.
    Ties,
    /// Weights 255, probabilities 0 or 255, values i16::MIN / i16::MAX.
    Extreme,
    /// All weights zero: margin 0, all kept.
    ZeroWeights,
}

#[allow(clippy::too_many_arguments)]
fn select_case(
    rng: &mut Rng,
    r: usize,
    rows: usize,
    heads: usize,
    n: usize,
    prefix: usize,
    g_rows: usize,
    keep: Keep,
    xkind: Option<u64>,
    what: String,
) -> Case {
    let w = n.div_ceil(r);
    let mut mem = random_memory(rng, NB, WORDS, r);
    let mut al = Alloc::new(rng, NB, WORDS);
    let in_lo = rng.below(NB as u64) as usize;
    let in_hi = (in_lo + 1 + rng.below(NB as u64 - 1) as usize) % NB;
    let in_stride = w + rng.below(3) as usize;
    let in_addr = al.take(rng, &[in_lo, in_hi], rows * in_stride + w);
    let par_bank = rng.below(NB as u64) as usize;
    let p_stride = rows + rng.below(3) as usize;
    let par_addr = al.take(rng, &[par_bank], (heads - 1) * p_stride + rows);
    let w_addr = al.take(rng, &[par_bank], heads.div_ceil(r));
    let out_bank = rng.below(NB as u64) as usize;
    let aux = rng.below(rows as u64 + 6) as usize;
    let g_words = (rows + 1).max(aux + 1).div_ceil(r);
    let out_stride = g_words + rng.below(2) as usize;
    let out_addr = al.take(rng, &[out_bank], g_rows * out_stride + 1);
    // Weights and probabilities.
    let one = if rows > 1 { 1 + rng.below(rows as u64 - 1) as usize } else { 0 };
    let mut wv: Vec<u8> = (0..heads).map(|_| rng.next() as u8).collect();
    match keep {
        Keep::None | Keep::One if wv.iter().all(|&x| x == 0) => wv[0] = 1,
        Keep::Ties => wv.iter_mut().for_each(|x| *x %= 4),
        Keep::Extreme => wv.iter_mut().for_each(|x| *x = 255),
        Keep::ZeroWeights => wv.iter_mut().for_each(|x| *x = 0),
        _ => {}
    }
    for (j, &v) in wv.iter().enumerate() {
        mem[par_bank][at(r, w_addr, j)] = v;
    }
    for t in 0..rows {
        for j in 0..heads {
            let p = match keep {
                Keep::All => rng.range(128, 255) as u8,
                Keep::None => rng.range(0, 127) as u8,
                Keep::One if t == one => rng.range(128, 255) as u8,
                Keep::One => rng.range(0, 127) as u8,
                Keep::Random | Keep::ZeroWeights => rng.next() as u8,
                Keep::Ties => rng.range(126, 130) as u8,
                Keep::Extreme => rng.pick(&[0, 255, 0]),
            };
            mem[par_bank][(par_addr + j * p_stride + t) * r] = p;
        }
    }
    // Residual stream values.
    let xkind = match (xkind, keep) {
        (Some(k), _) => k,
        (None, Keep::Extreme) => 1 + rng.below(3),
        (None, _) => rng.pick(&[0, 0, 0, 1, 2, 3, 4]),
    };
    for t in 0..=rows {
        for ch in 0..n {
            let v: i16 = match xkind {
                0 => rng.next() as i16,
                1 => i16::MIN,
                2 => i16::MAX,
                3 => rng.pick(&[i16::MIN, i16::MAX]),
                _ => (rng.next() as i16) >> 12,
            };
            let b = v.to_le_bytes();
            mem[in_lo][at(r, in_addr + t * in_stride, ch)] = b[0];
            mem[in_hi][at(r, in_addr + t * in_stride, ch)] = b[1];
        }
    }
    let mut c = Case {
        op: OP_SELECT,
        rows,
        n,
        in_lo,
        in_hi,
        in_addr,
        in_stride,
        out_bank,
        out_addr,
        out_stride,
        par_bank,
        par_addr,
        aux,
        heads,
        prefix: if matches!(keep, Keep::One) { 0 } else { prefix },
        p_stride,
        w_addr,
        g_rows,
        init: mem.clone(),
        expect: vec![],
        live: None,
        keep: vec![],
        cycles: 0,
        what,
    };
    let (kv, count) = ref_select(&mut mem, r, &c);
    match keep {
        Keep::All | Keep::ZeroWeights => assert!(kv.iter().all(|&k| k)),
        Keep::None => assert!(kv.iter().enumerate().all(|(t, &k)| k == (t < c.prefix))),
        Keep::One => assert_eq!(kv.iter().filter(|&&k| k).count(), 1),
        _ => {}
    }
    c.keep = kv;
    c.live = Some(count);
    c.expect = mem;
    c
}

fn random_select(rng: &mut Rng, r: usize, cfg: &AccelConfig, max_n: usize, k: usize) -> Case {
    let keeps =
        [Keep::All, Keep::None, Keep::One, Keep::Random, Keep::Random, Keep::Ties, Keep::Extreme, Keep::ZeroWeights];
    let keep = keeps[k % keeps.len()];
    let rows = match k % 5 {
        0 => cfg.max_tokens,
        1 => 2 + rng.below(4) as usize,
        _ => 2 + rng.below(cfg.max_tokens as u64 - 1) as usize,
    };
    let heads = match k % 3 {
        0 => cfg.max_heads,
        1 => 1,
        _ => 1 + rng.below(cfg.max_heads as u64) as usize,
    };
    let n = match k % 4 {
        0 => r * (1 + rng.below((max_n / r) as u64) as usize),
        _ => 1 + rng.below(max_n as u64) as usize,
    };
    let prefix = rng.pick(&[0, 0, 1, 1, 2, 15]);
    let g_rows = rng.below(5) as usize;
    let what = format!("SELECT #{k} {keep:?} L={rows} h={heads} n={n} P={prefix} G={g_rows}");
    select_case(rng, r, rows, heads, n, prefix, g_rows, keep, None, what)
}

// ---------------- the simulation ----------------

engine_case!(Case);

impl<const W: usize, const BE: usize> EngineBench for Tb<W, BE> {
    type Case = Case;
    bench_clock_and_memory!();
    fn apply(&mut self, c: &Case) {
        self.op.next = c.op.into();
        self.rows.next = (c.rows as u64).into();
        self.n.next = (c.n as u64).into();
        self.in_lo_bank.next = (c.in_lo as u64).into();
        self.in_hi_bank.next = (c.in_hi as u64).into();
        self.in_addr.next = (c.in_addr as u64).into();
        self.in_stride.next = (c.in_stride as u64).into();
        self.out_bank.next = (c.out_bank as u64).into();
        self.out_addr.next = (c.out_addr as u64).into();
        self.out_stride.next = (c.out_stride as u64).into();
        self.par_bank.next = (c.par_bank as u64).into();
        self.par_addr.next = (c.par_addr as u64).into();
        self.aux.next = (c.aux as u64).into();
        self.heads.next = (c.heads as u64).into();
        self.prefix.next = (c.prefix as u64).into();
        self.p_stride.next = (c.p_stride as u64).into();
        self.w_addr.next = (c.w_addr as u64).into();
        self.g_rows.next = (c.g_rows as u64).into();
    }
    fn set_reset(&mut self, on: bool) {
        self.reset.next = on;
    }
    fn set_start(&mut self, on: bool) {
        self.start.next = on;
    }
    fn busy(&self) -> bool {
        self.se.busy.val()
    }
    fn done(&self) -> bool {
        self.se.done.val()
    }
    /// `live_we` stays low, and the two read ports never address one bank during a SELECT.
    fn check_running(&self, c: &Case, cycle: u64) -> Result<(), String> {
        if self.se.live_we.val() {
            return Err(format!("live_we before done, cycle {cycle}"));
        }
        if c.op == OP_SELECT && self.se.rd0_bank.val() == self.se.rd1_bank.val() {
            return Err(format!("port clash: cycle {cycle}, bank {}", self.se.rd0_bank.val().index()));
        }
        Ok(())
    }
    fn check_done(&self, c: &Case) -> Result<(), String> {
        let live = if self.se.live_we.val() { Some(self.se.live_value.val().index() as u16) } else { None };
        if live != c.live {
            return Err(format!("live: got {live:?}, want {:?}", c.live));
        }
        Ok(())
    }
    fn check_idle(&self) -> Result<(), String> {
        if self.se.done.val() || self.se.busy.val() || self.se.live_we.val() {
            return Err("busy, done or live_we after the done cycle".into());
        }
        Ok(())
    }
}

/// Runs the cases back to back in one simulation of an engine built for `cfg`; checks every
/// byte of every bank, `live_we`/`live_value`, the `busy`/`done` protocol, that the two read
/// ports never address one bank during a SELECT, and that the cycle count equals the case's
/// (the formula's) count.
fn run_cases<const W: usize, const BE: usize>(cfg: &AccelConfig, cases: Vec<Case>) {
    run_ops(Tb::<W, BE>::new(cfg), timed(cfg, cases), BE);
}

/// The R = 8 test configuration: 32 tokens, 16 heads (two head-weight words).
fn cfg8() -> AccelConfig {
    AccelConfig { max_tokens: 32, max_heads: 16, max_width: 64, ..AccelConfig::small() }
}

/// R = 16: 24 tokens (a token RAM of 32 entries), 5 heads (one head-weight word).
fn cfg16() -> AccelConfig {
    AccelConfig { array_rows: 16, array_cols: 16, max_tokens: 24, max_heads: 5, ..AccelConfig::default() }
}

fn colmean_cases(rng: &mut Rng, r: usize, count: usize) -> Vec<Case> {
    (0..count)
        .map(|k| {
            let rows = match k % 5 {
                0 => 1,
                1 => 40,
                _ => 1 + rng.below(40) as usize,
            };
            let n = match k % 4 {
                0 => 1,
                1 => 30,
                _ => 1 + rng.below(30) as usize,
            };
            let kind = rng.below(6);
            colmean_case(rng, r, rows, n, kind, format!("COLMEAN #{k} L={rows} n={n} kind={kind}"))
        })
        .collect()
}

/// COLMEAN, R = 8: L 1..=40, n 1..=30, random, constant, saturated and near-zero values (the
/// rounding of negative means), in place and not. Every byte of every bank equals the
/// reference; cycles equal [`colmean_cycles`].
#[test]
fn select_colmean_matches_spec() {
    let mut rng = Rng::new(0x5e1e_c701_0000_0001);
    run_cases::<64, 8>(&cfg8(), colmean_cases(&mut rng, 8, 80));
}

/// SELECT, R = 8: every keep pattern (all kept, only the prefix, exactly one, random, ties,
/// extreme weights and values, zero weights), L up to max_tokens, 1..=max_heads heads (two
/// weight words), prefix 0/1/2/15, 0..=4 gathered rows, the package byte inside and outside
/// the live bytes.
#[test]
fn select_matches_spec() {
    let cfg = cfg8();
    let mut rng = Rng::new(0x5e1e_c702_0000_0002);
    let cases = (0..80).map(|k| random_select(&mut rng, 8, &cfg, 40, k)).collect();
    run_cases::<64, 8>(&cfg, cases);
}

/// More SELECT cases (another seed), run as a second test so the two run in parallel.
#[test]
fn select_matches_spec_more() {
    let cfg = cfg8();
    let mut rng = Rng::new(0x5e1e_c702_0000_0012);
    let cases = (0..80).map(|k| random_select(&mut rng, 8, &cfg, 40, k + 3)).collect();
    run_cases::<64, 8>(&cfg, cases);
}

/// Hand-picked SELECT corner cases at R = 8: one token, a single kept token at the end,
/// all dropped with no prefix (only the package lives), L = max_tokens with every head,
/// extreme values, and an unknown op / zero operands (done at once, nothing written) between
/// them.
#[test]
fn select_corner_cases() {
    let cfg = cfg8();
    let mut rng = Rng::new(0x5e1e_c703_0000_0003);
    let mut cases = vec![
        select_case(&mut rng, 8, 1, 1, 1, 0, 1, Keep::None, None, "L=1 dropped".into()),
        select_case(&mut rng, 8, 1, 3, 9, 0, 2, Keep::All, None, "L=1 kept".into()),
        select_case(&mut rng, 8, 1, 3, 9, 1, 2, Keep::None, None, "L=1 prefix".into()),
        select_case(&mut rng, 8, 32, 16, 40, 0, 4, Keep::None, None, "all dropped".into()),
        select_case(&mut rng, 8, 32, 16, 40, 2, 4, Keep::Extreme, None, "extreme".into()),
        select_case(&mut rng, 8, 32, 9, 16, 0, 3, Keep::One, None, "one kept".into()),
        select_case(&mut rng, 8, 2, 8, 8, 0, 1, Keep::One, None, "last kept".into()),
        select_case(&mut rng, 8, 32, 16, 33, 1, 0, Keep::Random, None, "no gather".into()),
    ];
    for (i, (op, rows, n, heads)) in
        [(3u64, 5, 5, 1), (OP_SELECT, 0, 5, 1), (OP_SELECT, 5, 5, 0), (OP_COLMEAN, 5, 0, 1)].into_iter().enumerate()
    {
        let mut bad = cases[i].clone();
        (bad.op, bad.rows, bad.n, bad.heads) = (op, rows, n, heads);
        bad.expect = bad.init.clone();
        bad.live = None;
        bad.what = format!("invalid {op} {rows} {n} {heads}");
        cases.insert(2 * i + 1, bad);
    }
    run_cases::<64, 8>(&cfg, cases);
}

/// R = 8 with two column-pass lanes (each word in four slices): COLMEAN and SELECT cases,
/// every channel count from one slice to several words.
#[test]
fn select_folded_lanes_match_spec() {
    let cfg = AccelConfig { select_lanes: Some(2), ..cfg8() };
    let mut rng = Rng::new(0x5e1e_c707_0000_0007);
    let mut cases = colmean_cases(&mut rng, 8, 24);
    cases.extend((0..24).map(|k| random_select(&mut rng, 8, &cfg, 40, k)));
    run_cases::<64, 8>(&cfg, cases);
}

/// R = 16 (128-bit words, four column-pass lanes as in the default configuration): COLMEAN
/// and SELECT cases, with a token count that is not a power of two and an odd head count.
#[test]
fn select_sixteen_lanes_match_spec() {
    let cfg = cfg16();
    assert_eq!(cfg.sel_lanes(), 4);
    let mut rng = Rng::new(0x5e1e_c704_0000_0004);
    let mut cases = colmean_cases(&mut rng, 16, 10);
    cases.extend((0..24).map(|k| random_select(&mut rng, 16, &cfg, 72, k)));
    run_cases::<128, 16>(&cfg, cases);
}

/// A reset in the middle of a SELECT stops it (no more writes, not busy, no live_we); the
/// next op runs normally.
#[test]
fn select_reset_mid_op_recovers() {
    let cfg = cfg8();
    let mut rng = Rng::new(0x5e1e_c705_0000_0005);
    let first = select_case(&mut rng, 8, 20, 4, 24, 1, 2, Keep::None, Some(0), "aborted".into());
    let second = select_case(&mut rng, 8, 12, 3, 17, 1, 2, Keep::None, Some(0), "after reset".into());
    let [first, second]: [Case; 2] = timed(&cfg, vec![first, second]).try_into().unwrap();
    assert_eq!(second.live, Some(2), "the second op has a package token");
    simulate(Tb::<64, 8>::new(&cfg), move |mut ep: Sim<Tb<64, 8>>| {
        let mut x = ep.init()?;
        for (k, c) in [&first, &second].into_iter().enumerate() {
            x.mem._mem = c.init.clone();
            x.apply(c);
            x.start.next = true;
            wait_clock_cycle!(ep, clock, x);
            x.start.next = false;
            if k == 0 {
                // Into the package pass, then reset.
                wait_clock_cycle!(ep, clock, x, 150);
                sim_assert!(ep, x.se.busy.val(), x);
                x.reset.next = true;
                wait_clock_cycle!(ep, clock, x);
                x.reset.next = false;
                let snapshot = x.mem._mem.clone();
                for _ in 0..40 {
                    wait_clock_cycle!(ep, clock, x);
                    sim_assert!(
                        ep,
                        !x.se.busy.val() && !x.se.done.val() && !x.se.wr_en.val() && !x.se.live_we.val(),
                        x
                    );
                }
                sim_assert!(ep, x.mem._mem == snapshot, x);
            } else {
                let mut cycles = 1;
                while !x.se.done.val() {
                    wait_clock_cycle!(ep, clock, x);
                    cycles += 1;
                }
                sim_assert_eq!(ep, cycles, c.cycles, x);
                sim_assert!(ep, x.se.live_we.val() && x.se.live_value.val().index() as u16 == c.live.unwrap(), x);
                sim_assert!(ep, x.mem._mem == c.expect, x);
            }
        }
        ep.done(x)
    });
}

/// Runs `cases` on the *generated Verilog* of an R = 8 engine built for `cfg` in Icarus
/// Verilog (a behavioural two-read-port memory around it); returns, per case, the memory
/// after the op, the cycles from `start` to `done` and `live_value` if `live_we` was high with
/// `done`.
fn run_verilog(cfg: &AccelConfig, cases: &[Case]) -> Vec<(Vec<Vec<u8>>, u64, Option<u16>)> {
    let a = SP_ADDR_BITS;
    let bench = IcarusBench {
        module: "sel".into(),
        verilog: crate::verilog::generate(&mut SelectEngine::<64, 8>::new(cfg), "sel"),
        operands: vec![
            ("op", 4),
            ("rows", 16),
            ("n", 16),
            ("in_lo_bank", 4),
            ("in_hi_bank", 4),
            ("in_addr", a),
            ("in_stride", a),
            ("out_bank", 4),
            ("out_addr", a),
            ("out_stride", a),
            ("par_bank", 4),
            ("par_addr", a),
            ("aux", 16),
            ("heads", 8),
            ("prefix", 4),
            ("p_stride", a),
            ("w_addr", a),
            ("g_rows", 8),
        ],
        probes: vec![("live_we", 1), ("live_value", 16)],
        banks: NB,
        words: WORDS,
    };
    let ops: Vec<IcarusOp> = cases
        .iter()
        .map(|c| IcarusOp {
            init: c.init.clone(),
            operands: [
                c.op as usize,
                c.rows,
                c.n,
                c.in_lo,
                c.in_hi,
                c.in_addr,
                c.in_stride,
                c.out_bank,
                c.out_addr,
                c.out_stride,
                c.par_bank,
                c.par_addr,
                c.aux,
                c.heads,
                c.prefix,
                c.p_stride,
                c.w_addr,
                c.g_rows,
            ]
            .map(|v| v as u64)
            .to_vec(),
        })
        .collect();
    bench.run(&ops).into_iter().map(|r| (r.mem, r.cycles, (r.probes[0] == 1).then_some(r.probes[1] as u16))).collect()
}

/// The generated Verilog (not only rust-hdl's model of it) computes both ops bit-exactly and
/// in exactly the formulas' cycles, with one column-pass lane per byte and with two.
#[test]
fn select_generated_verilog_matches_spec() {
    for (lanes, seed) in [(None, 0x5e1e_c706_0000_0006), (Some(2), 0x5e1e_c706_0000_0016)] {
        let cfg = AccelConfig { select_lanes: lanes, ..cfg8() };
        let mut rng = Rng::new(seed);
        let mut cases = colmean_cases(&mut rng, 8, 6);
        cases.extend((0..10).map(|k| random_select(&mut rng, 8, &cfg, 40, k)));
        verilog_matches(&cfg, &timed(&cfg, cases));
    }
}

/// Runs `cases` with [`run_verilog`] and checks the memory, `live_value` and cycles of each.
fn verilog_matches(cfg: &AccelConfig, cases: &[Case]) {
    let results = run_verilog(cfg, cases);
    for (c, (mem, cycles, live)) in cases.iter().zip(results) {
        assert_eq!(cycles, c.cycles, "{}: cycles", c.what);
        assert_eq!(live, c.live, "{}: live_value", c.what);
        for b in 0..NB {
            for i in 0..WORDS * 8 {
                assert_eq!(mem[b][i], c.expect[b][i], "{}: bank {b} word {} byte {}", c.what, i / 8, i % 8);
            }
        }
    }
}

/// The formulas at the DeiT-Tiny selector's size (R = 16, L = 198, h = 3, E = 192, 11
/// gathered rows; COLMEAN over 32 channels) stay within the performance targets.
#[test]
fn select_cycles_at_deit_tiny_size() {
    assert_eq!(colmean_cycles(198, 32, 16), 2 * (2 * 198 + 17 + 16 + 2) + 20);
    assert_eq!(colmean_cycles(198, 32, 16), 882);
    let keep = |f: fn(usize) -> bool| (0..198).map(f).collect::<Vec<bool>>();
    // All kept; only the class token kept; every other token dropped; only token 1 dropped
    // (the most rows move).
    let cases = [
        (keep(|_| true), 3276),
        // The package: 12 words of (198 reads + 2 latency + 17 division + 2 writes) = 2628.
        (keep(|t| t == 0), 5961),
        (keep(|t| t == 0 || t % 2 == 1), 8215),
        (keep(|t| t != 1), 10469),
    ];
    for (k, want) in &cases {
        assert_eq!(select_cycles(k, 3, 192, 16, 16, 11), *want);
        assert!(*want < 12_000);
    }
    assert_eq!(select_cycles(&keep(|_| true), 3, 192, 16, 16, 11), 1 + 594 + 3 + 199 + 11 * (1 + 26 + 198) + 1 + 3);
}

#[test]
fn select_engine_verilog_is_lint_clean() {
    let v = crate::verilog::generate(&mut SelectEngine::<64, 8>::new(&cfg8()), "sel");
    crate::verilog::lint(&v, "sel").unwrap();
    let v = crate::verilog::generate(&mut SelectEngine::<128, 16>::new(&AccelConfig::default()), "sel");
    crate::verilog::lint(&v, "sel").unwrap();
    let cfg64 = AccelConfig { array_rows: 64, array_cols: 64, max_tokens: 4096, ..AccelConfig::default() };
    let v = crate::verilog::generate(&mut SelectEngine::<512, 64>::new(&cfg64), "sel");
    crate::verilog::lint(&v, "sel").unwrap();
}
