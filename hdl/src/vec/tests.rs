//! The whole-unit tests of the vector unit: both ops against `spec::numerics` and the cycle
//! count against [`vec_cycles`], in Rust-HDL's simulator and on the generated Verilog in Icarus.

use super::*;
use crate::testkit::{
    bench_clock_and_memory, engine_case, random_memory, run_ops, simulate, Alloc, EngineBench, IcarusBench, IcarusOp,
    Rng, TbMem,
};
use spec::numerics::{exp_lut, layernorm_row, softmax_row, Dyadic, LayerNormParams};

const NB: usize = 4;
const WORDS: usize = 512;

/// The unit under test with its memory; the operands are the test bench's.
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
    out_m: Signal<In, Bits<16>>,
    out_s: Signal<In, Bits<8>>,
    vu: VecUnit<W, BE>,
    mem: TbMem<W, BE>,
}

impl<const W: usize, const BE: usize> Logic for Tb<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        self.vu.clock.next = self.clock.val();
        self.mem.clock.next = self.clock.val();
        self.vu.reset.next = self.reset.val();
        self.vu.start.next = self.start.val();
        self.vu.op.next = self.op.val();
        self.vu.rows.next = self.rows.val();
        self.vu.n.next = self.n.val();
        self.vu.in_lo_bank.next = self.in_lo_bank.val();
        self.vu.in_hi_bank.next = self.in_hi_bank.val();
        self.vu.in_addr.next = self.in_addr.val();
        self.vu.in_stride.next = self.in_stride.val();
        self.vu.out_bank.next = self.out_bank.val();
        self.vu.out_addr.next = self.out_addr.val();
        self.vu.out_stride.next = self.out_stride.val();
        self.vu.par_bank.next = self.par_bank.val();
        self.vu.par_addr.next = self.par_addr.val();
        self.vu.out_m.next = self.out_m.val();
        self.vu.out_s.next = self.out_s.val();
        self.mem.rd0_bank.next = self.vu.rd0_bank.val();
        self.mem.rd0_addr.next = self.vu.rd0_addr.val();
        self.vu.rd0_data.next = self.mem.rd0_data.val();
        self.mem.rd1_bank.next = self.vu.rd1_bank.val();
        self.mem.rd1_addr.next = self.vu.rd1_addr.val();
        self.vu.rd1_data.next = self.mem.rd1_data.val();
        self.mem.wr_bank.next = self.vu.wr_bank.val();
        self.mem.wr_addr.next = self.vu.wr_addr.val();
        self.mem.wr_data.next = self.vu.wr_data.val();
        self.mem.wr_be.next = self.vu.wr_be.val();
        self.mem.wr_en.next = self.vu.wr_en.val();
    }
}

/// One op: operands, the memory before and the memory expected after.
#[derive(Clone, Debug)]
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
    out: Dyadic,
    init: Vec<Vec<u8>>,
    expect: Vec<Vec<u8>>,
    what: String,
    /// Cycles from `start` to `done` ([`vec_cycles`], set by [`run_cases`]).
    cycles: u64,
}

/// A LayerNorm case over rows `x` with parameters `p`, random layout (`R = r` lanes, folded
/// `fold` times: beta starts after whole `fold r`-byte scratchpad words of gamma).
fn ln_case(rng: &mut Rng, r: usize, fold: usize, x: Vec<Vec<i16>>, p: LayerNormParams, what: String) -> Case {
    let rows = x.len();
    let n = x[0].len();
    let w = n.div_ceil(r);
    let mut mem = random_memory(rng, NB, WORDS, r);
    let (in_lo, in_hi) = rng.distinct_banks(NB);
    let out_bank = rng.below(NB as u64) as usize;
    let par_bank = rng.below(NB as u64) as usize;
    let mut al = Alloc::new(rng, NB, WORDS);
    let in_stride = w + rng.below(3) as usize;
    let in_addr = al.take(rng, &[in_lo, in_hi], (rows - 1) * in_stride + w);
    let g_words = fold * (2 * n).div_ceil(fold * r);
    let par_addr = al.take(rng, &[par_bank], g_words + (4 * n).div_ceil(r));
    // Sometimes in place: the output overwrites the low byte plane.
    let (out_bank, out_addr, out_stride) = if rng.below(6) == 0 {
        (in_lo, in_addr, in_stride)
    } else {
        let s = w + rng.below(3) as usize;
        (out_bank, al.take(rng, &[out_bank], (rows - 1) * s + w), s)
    };
    for (i, row) in x.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            let byte = (in_addr + i * in_stride + c / r) * r + c % r;
            mem[in_lo][byte] = v as u16 as u8;
            mem[in_hi][byte] = ((v as u16) >> 8) as u8;
        }
    }
    for c in 0..n {
        let g = (p.gamma[c] as u16).to_le_bytes();
        mem[par_bank][par_addr * r + 2 * c..par_addr * r + 2 * c + 2].copy_from_slice(&g);
        let b = (p.beta[c] as u32).to_le_bytes();
        let base = (par_addr + g_words) * r + 4 * c;
        mem[par_bank][base..base + 4].copy_from_slice(&b);
    }
    let mut expect = mem.clone();
    for (i, row) in x.iter().enumerate() {
        let mut y = vec![0i8; n];
        layernorm_row(row, &p, &mut y);
        for (c, &v) in y.iter().enumerate() {
            expect[out_bank][(out_addr + i * out_stride + c / r) * r + c % r] = v as u8;
        }
    }
    Case {
        op: OP_LAYERNORM,
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
        out: p.out,
        init: mem,
        expect,
        what,
        cycles: 0,
    }
}

/// A softmax case over rows `x` with exp table `t`, random layout (sometimes in place).
fn sm_case(rng: &mut Rng, r: usize, x: Vec<Vec<i8>>, t: &[u16; 256], what: String) -> Case {
    let rows = x.len();
    let n = x[0].len();
    let w = n.div_ceil(r);
    let mut mem = random_memory(rng, NB, WORDS, r);
    let (in_lo, in_hi) = rng.distinct_banks(NB);
    let par_bank = rng.below(NB as u64) as usize;
    let mut al = Alloc::new(rng, NB, WORDS);
    let in_stride = w + rng.below(3) as usize;
    let in_addr = al.take(rng, &[in_lo, in_hi], (rows - 1) * in_stride + w);
    let par_addr = al.take(rng, &[par_bank], 512 / r);
    let (out_bank, out_addr, out_stride) = if rng.below(4) == 0 {
        (in_lo, in_addr, in_stride)
    } else {
        let b = rng.below(NB as u64) as usize;
        let s = w + rng.below(3) as usize;
        (b, al.take(rng, &[b], (rows - 1) * s + w), s)
    };
    for (i, row) in x.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            mem[in_lo][(in_addr + i * in_stride + c / r) * r + c % r] = v as u8;
            mem[in_hi][(in_addr + i * in_stride + c / r) * r + c % r] = v as u8;
        }
    }
    for (k, &e) in t.iter().enumerate() {
        mem[par_bank][par_addr * r + 2 * k..par_addr * r + 2 * k + 2].copy_from_slice(&e.to_le_bytes());
    }
    let mut expect = mem.clone();
    for (i, row) in x.iter().enumerate() {
        let mut y = vec![0u8; n];
        softmax_row(row, t, &mut y);
        for (c, &v) in y.iter().enumerate() {
            expect[out_bank][(out_addr + i * out_stride + c / r) * r + c % r] = v;
        }
    }
    Case {
        op: OP_SOFTMAX,
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
        out: Dyadic::ZERO,
        init: mem,
        expect,
        what,
        cycles: 0,
    }
}

impl<const W: usize, const BE: usize> Tb<W, BE> {
    fn new(max_width: usize, fold: usize) -> Self {
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
            out_m: Signal::default(),
            out_s: Signal::default(),
            vu: VecUnit::new(BE, fold, max_width),
            mem: TbMem::new(NB, WORDS),
        }
    }
}

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
        self.out_m.next = (c.out.m as u64).into();
        self.out_s.next = (c.out.s as u64).into();
    }
    fn set_reset(&mut self, on: bool) {
        self.reset.next = on;
    }
    fn set_start(&mut self, on: bool) {
        self.start.next = on;
    }
    fn busy(&self) -> bool {
        self.vu.busy.val()
    }
    fn done(&self) -> bool {
        self.vu.done.val()
    }
}

/// Runs the cases back to back in one simulation of an `R = BE` unit built for
/// `max_width`; checks every byte of every bank, the `busy`/`done` protocol and that the
/// cycle count equals [`vec_cycles`]. A case with any other op must finish at once.
fn run_cases<const W: usize, const BE: usize>(max_width: usize, cases: Vec<Case>) {
    run_folded::<W, BE>(max_width, 1, cases)
}

/// [`run_cases`] on a unit folded `fold` times (the cases' beta placed for it).
fn run_folded<const W: usize, const BE: usize>(max_width: usize, fold: usize, mut cases: Vec<Case>) {
    for c in &mut cases {
        c.cycles = if c.op == OP_LAYERNORM || c.op == OP_SOFTMAX {
            vec_cycles(c.op, c.n, c.rows, BE, fold, max_width)
        } else {
            1
        };
    }
    run_ops(Tb::<W, BE>::new(max_width, fold), cases, BE);
}

/// Random LayerNorm parameters: realistic (full-range gamma, beta near the accumulator
/// scale, output shift around 33) or extreme (any m < 2^15, any s <= 62, saturated values).
fn ln_params(rng: &mut Rng, n: usize) -> LayerNormParams {
    let extreme = rng.below(4) == 0;
    let gamma = (0..n)
        .map(|_| match rng.below(if extreme { 6 } else { 3 }) {
            0 | 1 => rng.next() as i16,
            2 => (rng.next() as i16) >> rng.below(14),
            3 => i16::MIN,
            4 => i16::MAX,
            _ => 0,
        })
        .collect();
    let beta = (0..n)
        .map(|_| match rng.below(if extreme { 5 } else { 2 }) {
            0 => (rng.next() as i32) >> 7,
            1 => (rng.next() as i32) >> rng.below(32),
            2 => i32::MIN,
            3 => i32::MAX,
            _ => rng.next() as i32,
        })
        .collect();
    let out = if extreme {
        {
            let any = rng.below(32768) as u16;
            Dyadic { m: rng.pick(&[0, 1, 16384, 32767, any]), s: rng.below(63) as u8 }
        }
    } else {
        Dyadic { m: 16384 + rng.below(16384) as u16, s: rng.range(26, 40) as u8 }
    };
    LayerNormParams { gamma, beta, out }
}

/// A random LayerNorm row of one of several kinds.
fn ln_row(rng: &mut Rng, n: usize, kind: u64) -> Vec<i16> {
    let base = rng.next() as i16;
    let spread = rng.below(16) as u32;
    (0..n)
        .map(|_| match kind {
            0 => rng.next() as i16,
            1 => ((rng.next() as i16) >> (15 - spread.min(15))).saturating_add(base),
            2 => base,
            3 => rng.pick(&[i16::MIN, i16::MAX, -32767]),
            4 => rng.pick(&[0, 0, 0, 0, 1, -1, i16::MAX, i16::MIN]),
            _ => 30000 + rng.range(-3, 3) as i16,
        })
        .collect()
}

fn ln_cases(rng: &mut Rng, r: usize, fold: usize, max_width: usize, count: usize) -> Vec<Case> {
    (0..count)
        .map(|k| {
            let n = match k % 7 {
                0 => 1,
                1 => max_width,
                2 => r * (1 + rng.below((max_width / r) as u64) as usize),
                _ => 1 + rng.below(max_width as u64) as usize,
            };
            let rows = 1 + rng.below(4) as usize;
            let kind = rng.below(6);
            let x = (0..rows)
                .map(|_| {
                    let k = if rng.below(3) == 0 { rng.below(6) } else { kind };
                    ln_row(rng, n, k)
                })
                .collect();
            let p = ln_params(rng, n);
            ln_case(rng, r, fold, x, p, format!("LN #{k} n={n} rows={rows} kind={kind}"))
        })
        .collect()
}

/// A random softmax row of one of several kinds.
fn sm_row(rng: &mut Rng, n: usize, kind: u64) -> Vec<i8> {
    let base = rng.next() as i8;
    (0..n)
        .map(|_| match kind {
            0 => rng.next() as i8,
            1 => base,
            2 => rng.pick(&[i8::MIN, i8::MAX]),
            3 => rng.pick(&[i8::MIN, i8::MIN, i8::MIN, i8::MIN, i8::MAX]),
            _ => base.saturating_add(rng.range(-4, 4) as i8),
        })
        .collect()
}

fn sm_cases(rng: &mut Rng, r: usize, max_width: usize, count: usize) -> Vec<Case> {
    let scales = [0.002, 0.02, 0.05, 0.1, 0.5, 1.0, 8.0];
    (0..count)
        .map(|k| {
            let n = match k % 7 {
                0 => 1,
                1 => max_width,
                _ => 1 + rng.below(max_width as u64) as usize,
            };
            let rows = 1 + rng.below(5) as usize;
            let kind = rng.below(5);
            let x = (0..rows)
                .map(|_| {
                    let k = if rng.below(3) == 0 { rng.below(5) } else { kind };
                    sm_row(rng, n, k)
                })
                .collect();
            let s = rng.pick(&scales);
            sm_case(rng, r, x, &exp_lut(s), format!("SM #{k} n={n} rows={rows} kind={kind} s={s}"))
        })
        .collect()
}

/// LayerNorm, R = 8: random rows of every kind (full range, low variance, constant,
/// saturated, sparse, large offset), n = 1..=40, random layouts, realistic and extreme
/// parameters. Every output byte equals `layernorm_row`; nothing else changes.
#[test]
fn layernorm_matches_spec() {
    let mut rng = Rng::new(0x1234_5678_9abc_def0);
    run_cases::<64, 8>(40, ln_cases(&mut rng, 8, 1, 40, 60));
}

/// More LayerNorm rows (another seed), run as a second test so the two run in parallel.
#[test]
fn layernorm_matches_spec_more() {
    let mut rng = Rng::new(0x1234_5678_9abc_def5);
    run_cases::<64, 8>(40, ln_cases(&mut rng, 8, 1, 40, 60));
}

/// Softmax, R = 8: random, constant, extreme and narrow rows, n = 1..=40, real exp tables
/// for several input scales. Every output byte equals `softmax_row`; nothing else changes.
#[test]
fn softmax_matches_spec() {
    let mut rng = Rng::new(0x2234_5678_9abc_def1);
    run_cases::<64, 8>(40, sm_cases(&mut rng, 8, 40, 50));
}

/// More softmax rows (another seed), run as a second test so the two run in parallel.
#[test]
fn softmax_matches_spec_more() {
    let mut rng = Rng::new(0x2234_5678_9abc_def6);
    run_cases::<64, 8>(40, sm_cases(&mut rng, 8, 40, 50));
}

/// Both ops alternating on one unit, more rows per op (the A passes run up to `ROW_LAG`
/// rows ahead of the B passes), an unknown op code (done at once, nothing written) and ops
/// with no rows (nothing written, nothing left behind for the next op).
#[test]
fn mixed_ops_and_long_ops() {
    let mut rng = Rng::new(0x3234_5678_9abc_def2);
    let mut cases = Vec::new();
    for k in 0..12 {
        let n = 1 + rng.below(40) as usize;
        let rows = 10 + rng.below(12) as usize;
        if k % 2 == 0 {
            let x = (0..rows)
                .map(|_| {
                    let k = rng.below(6);
                    ln_row(&mut rng, n, k)
                })
                .collect();
            let p = ln_params(&mut rng, n);
            cases.push(ln_case(&mut rng, 8, 1, x, p, format!("long LN n={n} rows={rows}")));
        } else {
            let x = (0..rows)
                .map(|_| {
                    let k = rng.below(5);
                    sm_row(&mut rng, n, k)
                })
                .collect();
            cases.push(sm_case(&mut rng, 8, x, &exp_lut(0.05), format!("long SM n={n} rows={rows}")));
        }
    }
    let mut bad = cases[0].clone();
    bad.op = 3;
    bad.expect = bad.init.clone();
    bad.what = "op 3".into();
    cases.insert(5, bad);
    for (k, at) in [(1usize, 8usize), (2, 11)] {
        let mut empty = cases[k].clone();
        empty.rows = 0;
        empty.expect = empty.init.clone();
        empty.what = "no rows".into();
        cases.insert(at, empty);
    }
    run_cases::<64, 8>(40, cases);
}

/// R = 16 (128-bit words): the lane routing of gamma (halves), beta (quarters) and the
/// exp table words differs from R = 8.
#[test]
fn sixteen_lanes_match_spec() {
    let mut rng = Rng::new(0x4234_5678_9abc_def3);
    let mut cases = ln_cases(&mut rng, 16, 1, 72, 8);
    cases.extend(sm_cases(&mut rng, 16, 72, 8));
    run_cases::<128, 16>(72, cases);
}

/// Four lanes folded four times (the 16-byte words of a 16-row array, `vector_lanes = 4`): the
/// lanes see 4-byte slices; gamma is loaded in whole 16-byte words, so beta starts at
/// `4 ceil(2n/16)` slices, and the gamma RAMs hold the channels up to that.
#[test]
fn folded_lanes_match_spec() {
    let mut rng = Rng::new(0x6234_5678_9abc_def7);
    let mut cases = ln_cases(&mut rng, 4, 4, 36, 16);
    cases.extend(sm_cases(&mut rng, 4, 36, 8));
    run_folded::<32, 4>(36, 4, cases);
}

/// A reset in the middle of an op stops it (no more writes, not busy); the next op runs
/// normally.
#[test]
fn reset_mid_op_recovers() {
    let mut rng = Rng::new(0x5234_5678_9abc_def4);
    let x = (0..6).map(|_| ln_row(&mut rng, 37, 0)).collect();
    let p = ln_params(&mut rng, 37);
    let first = ln_case(&mut rng, 8, 1, x, p, "aborted".into());
    let x = (0..3).map(|_| sm_row(&mut rng, 29, 0)).collect();
    let second = sm_case(&mut rng, 8, x, &exp_lut(0.1), "after reset".into());
    simulate(Tb::<64, 8>::new(40, 1), move |mut ep: Sim<Tb<64, 8>>| {
        let mut x = ep.init()?;
        for (k, c) in [&first, &second].into_iter().enumerate() {
            x.mem._mem = c.init.clone();
            x.apply(c);
            x.start.next = true;
            wait_clock_cycle!(ep, clock, x);
            x.start.next = false;
            if k == 0 {
                // Into the first B passes, then reset.
                wait_clock_cycle!(ep, clock, x, 60);
                sim_assert!(ep, x.vu.busy.val(), x);
                x.reset.next = true;
                wait_clock_cycle!(ep, clock, x);
                x.reset.next = false;
                let snapshot = x.mem._mem.clone();
                for _ in 0..40 {
                    wait_clock_cycle!(ep, clock, x);
                    sim_assert!(ep, !x.vu.busy.val() && !x.vu.done.val() && !x.vu.wr_en.val(), x);
                }
                sim_assert!(ep, x.mem._mem == snapshot, x);
            } else {
                let mut cycles = 1;
                while !x.vu.done.val() {
                    wait_clock_cycle!(ep, clock, x);
                    cycles += 1;
                }
                sim_assert_eq!(ep, cycles, vec_cycles(c.op, c.n, c.rows, 8, 1, 40), x);
                sim_assert!(ep, x.mem._mem == c.expect, x);
            }
        }
        ep.done(x)
    });
}

/// Runs `cases` on the *generated Verilog* of an R = 8 unit in Icarus Verilog (a behavioural
/// two-read-port memory around it); returns, per case, the memory after the op and the
/// cycles from `start` to `done`.
fn run_verilog(max_width: usize, cases: &[Case]) -> Vec<(Vec<Vec<u8>>, u64)> {
    let a = SP_ADDR_BITS;
    let bench = IcarusBench {
        module: "vecu".into(),
        verilog: crate::verilog::generate(&mut VecUnit::<64, 8>::new(8, 1, max_width), "vecu"),
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
            ("out_m", 16),
            ("out_s", 8),
        ],
        probes: vec![],
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
                c.out.m as usize,
                c.out.s as usize,
            ]
            .map(|v| v as u64)
            .to_vec(),
        })
        .collect();
    bench.run(&ops).into_iter().map(|r| (r.mem, r.cycles)).collect()
}

/// The generated Verilog (not only rust-hdl's model of it) computes both ops bit-exactly
/// and in exactly [`vec_cycles`] cycles.
#[test]
fn generated_verilog_matches_spec() {
    let mut rng = Rng::new(0x6234_5678_9abc_def7);
    let mut cases = ln_cases(&mut rng, 8, 1, 40, 14);
    cases.extend(sm_cases(&mut rng, 8, 40, 14));
    let results = run_verilog(40, &cases);
    for (c, (mem, cycles)) in cases.iter().zip(results) {
        assert_eq!(cycles, vec_cycles(c.op, c.n, c.rows, 8, 1, 40), "{}: cycles", c.what);
        for b in 0..NB {
            for i in 0..WORDS * 8 {
                assert_eq!(mem[b][i], c.expect[b][i], "{}: bank {b} word {} byte {}", c.what, i / 8, i % 8);
            }
        }
    }
}

/// The closed forms of [`vec_cycles`]'s documentation agree with the replay wherever their
/// conditions hold (the replay itself is checked against the RTL by every other test).
#[test]
fn closed_forms_agree_with_the_replay() {
    let mut checked = 0;
    for r in [8usize, 16, 32, 64, 128] {
        for max_width in [40usize, 1024] {
            for op in [OP_LAYERNORM, OP_SOFTMAX] {
                let lat = scalar_latency(op, max_width) as u64;
                for n in (1..=max_width.min(300)).step_by(7) {
                    for rows in [1usize, 2, 3, 5, 15, 16, 17, 40, 198] {
                        let w = n.div_ceil(r) as u64;
                        let nr = rows as u64;
                        let load =
                            if op == OP_LAYERNORM { (2 * n).div_ceil(r) + (4 * n).div_ceil(r) } else { 512 / r } as u64;
                        let got = vec_cycles(op, n, rows, r, 1, max_width);
                        let max_ok = op == OP_LAYERNORM || w + 3 <= load;
                        if rows == 1 && max_ok {
                            assert_eq!(got, load + 2 * w + lat + 11, "N = 1: op {op} R {r} n {n}");
                            checked += 1;
                        }
                        let m = (ROW_LAG as u64).min(nr - 1);
                        if max_ok && lat <= m * w {
                            assert_eq!(got, load + 2 * nr * w + 11, "op {op} R {r} n {n} rows {rows}");
                            checked += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 1000);
}

#[test]
fn vec_unit_verilog_is_lint_clean() {
    let v = crate::verilog::generate(&mut VecUnit::<64, 8>::new(8, 1, 40), "vecu");
    crate::verilog::lint(&v, "vecu").unwrap();
    let v = crate::verilog::generate(&mut VecUnit::<128, 16>::new(16, 1, 1024), "vecu");
    crate::verilog::lint(&v, "vecu").unwrap();
}
