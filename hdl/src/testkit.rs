//! The shared kit of the hdl unit tests: one seeded random generator, a scratchpad memory model,
//! the run loop of an engine against that memory in Rust-HDL's simulator, and a runner of the
//! *generated Verilog* of such an engine in Icarus Verilog.
//!
//! An "engine" here is a block with the scratchpad ports of the vector unit's engines (`start`,
//! `busy`, `done`, read ports 0 and 1, a byte-enabled write port); every test op runs from a
//! known memory image to an expected one.

use crate::storage::SP_ADDR_BITS;
use proptest::prelude::Rng as _;
use proptest::test_runner::{RngAlgorithm, TestRng};
use rust_hdl::prelude::*;

/// The one random generator of the hdl tests: proptest's ChaCha `TestRng`, seeded from a `u64`
/// so every test draws the same cases on every run.
pub struct Rng(TestRng);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        Rng(TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
    }

    /// 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `0..n` (`n > 0`; the modulo bias is irrelevant for test inputs).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with probability `pct` percent (always from 100 on).
    pub fn chance(&mut self, pct: u64) -> bool {
        pct >= 100 || self.below(100) < pct
    }

    /// One element of `v`.
    pub fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }

    /// `(a, b)`, two different banks of `banks`.
    pub fn distinct_banks(&mut self, banks: usize) -> (usize, usize) {
        let a = self.below(banks as u64) as usize;
        let b = (a + 1 + self.below(banks as u64 - 1) as usize) % banks;
        (a, b)
    }
}

/// `banks` banks of `words` random words of `r` bytes.
pub fn random_memory(rng: &mut Rng, banks: usize, words: usize, r: usize) -> Vec<Vec<u8>> {
    (0..banks).map(|_| (0..words * r).map(|_| rng.next() as u8).collect()).collect()
}

/// Byte `i` counted from word `word` of a bank of `r`-byte words (byte `i % r` of word
/// `word + i / r`).
pub fn at(r: usize, word: usize, i: usize) -> usize {
    (word + i / r) * r + i % r
}

/// Hands out non-overlapping word ranges of the banks (random gaps between them).
pub struct Alloc {
    next: Vec<usize>,
    words: usize,
}

impl Alloc {
    /// An allocator over `banks` banks of `words` words.
    pub fn new(rng: &mut Rng, banks: usize, words: usize) -> Self {
        Alloc { next: (0..banks).map(|_| rng.below(4) as usize).collect(), words }
    }

    /// `words` words at the same address in every bank of `banks`.
    pub fn take(&mut self, rng: &mut Rng, banks: &[usize], words: usize) -> usize {
        let a = banks.iter().map(|&b| self.next[b]).max().unwrap() + rng.below(3) as usize;
        for &b in banks {
            self.next[b] = a + words;
        }
        assert!(a + words <= self.words, "test layout overflows a bank");
        a
    }
}

/// Scratchpad model for the simulations: banks of `R = BE`-byte words, two read ports
/// (registered, like `Bank`), one byte-enabled write port. Rust model only (no Verilog).
#[derive(LogicBlock)]
pub struct TbMem<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Read port 0 bank.
    pub rd0_bank: Signal<In, Bits<4>>,
    /// Read port 0 address.
    pub rd0_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Read port 0 data.
    pub rd0_data: Signal<Out, Bits<W>>,
    /// Read port 1 bank.
    pub rd1_bank: Signal<In, Bits<4>>,
    /// Read port 1 address.
    pub rd1_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Read port 1 data.
    pub rd1_data: Signal<Out, Bits<W>>,
    /// Write bank.
    pub wr_bank: Signal<In, Bits<4>>,
    /// Write address.
    pub wr_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Write data.
    pub wr_data: Signal<In, Bits<W>>,
    /// Write byte enables.
    pub wr_be: Signal<In, Bits<BE>>,
    /// Write strobe.
    pub wr_en: Signal<In, Bit>,
    /// The banks, byte by byte (bank index and word address wrap around).
    pub _mem: Vec<Vec<u8>>,
}

impl<const W: usize, const BE: usize> TbMem<W, BE> {
    /// `banks` banks of `words` zero words.
    pub fn new(banks: usize, words: usize) -> Self {
        TbMem {
            clock: Signal::default(),
            rd0_bank: Signal::default(),
            rd0_addr: Signal::default(),
            rd0_data: Signal::default(),
            rd1_bank: Signal::default(),
            rd1_addr: Signal::default(),
            rd1_data: Signal::default(),
            wr_bank: Signal::default(),
            wr_addr: Signal::default(),
            wr_data: Signal::default(),
            wr_be: Signal::default(),
            wr_en: Signal::default(),
            _mem: vec![vec![0; words * BE]; banks],
        }
    }

    fn slot(&self, bank: Bits<4>, addr: Bits<SP_ADDR_BITS>) -> (usize, usize) {
        let words = self._mem[0].len() / BE;
        (bank.index() % self._mem.len(), addr.index() % words)
    }

    fn word(&self, bank: Bits<4>, addr: Bits<SP_ADDR_BITS>) -> Bits<W> {
        let (b, a) = self.slot(bank, addr);
        let mut w = Bits::<W>::default();
        for k in 0..BE.div_ceil(8) {
            let mut chunk = 0u64;
            for i in 0..8.min(BE - 8 * k) {
                chunk |= (self._mem[b][a * BE + 8 * k + i] as u64) << (8 * i);
            }
            w = w | (Bits::<W>::from(chunk) << (64 * k) as u64);
        }
        w
    }
}

impl<const W: usize, const BE: usize> Logic for TbMem<W, BE> {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self.rd0_data.next = self.word(self.rd0_bank.val(), self.rd0_addr.val());
            self.rd1_data.next = self.word(self.rd1_bank.val(), self.rd1_addr.val());
            if self.wr_en.val() {
                let (b, a) = self.slot(self.wr_bank.val(), self.wr_addr.val());
                let d = self.wr_data.val();
                for i in 0..BE {
                    if self.wr_be.val().get_bit(i) {
                        self._mem[b][a * BE + i] = d.get_bits::<8>(8 * i).index() as u8;
                    }
                }
            }
        }
    }
    fn connect(&mut self) {
        self.rd0_data.connect();
        self.rd1_data.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Empty
    }
}

/// The first byte where `got` differs from `want`, described (`init` is the memory before).
pub fn first_mismatch(got: &[Vec<u8>], want: &[Vec<u8>], init: &[Vec<u8>], r: usize) -> Option<String> {
    for (b, (g, w)) in got.iter().zip(want).enumerate() {
        if let Some(i) = (0..g.len()).find(|&i| g[i] != w[i]) {
            return Some(format!(
                "bank {b} word {} byte {}: got {:#04x}, want {:#04x} (was {:#04x})",
                i / r,
                i % r,
                g[i],
                w[i],
                init[b][i]
            ));
        }
    }
    None
}

/// One test op of an engine: the memory before and after and the exact cycles from `start` to
/// `done`.
pub trait EngineCase: Send + Sync + std::panic::RefUnwindSafe + 'static {
    /// The memory before the op.
    fn init(&self) -> &[Vec<u8>];
    /// The memory expected after the op.
    fn expect(&self) -> &[Vec<u8>];
    /// Cycles from the cycle `start` is high (cycle 0) to the cycle `done` is high.
    fn cycles(&self) -> u64;
    /// A description for failure messages.
    fn what(&self) -> String;
}

/// Implements [`EngineCase`] for a case struct with the fields `init`, `expect`, `cycles` and
/// `what` (`Clone + Debug`; the description adds its operands, without the memories).
macro_rules! engine_case {
    ($case:ty) => {
        impl $crate::testkit::EngineCase for $case {
            fn init(&self) -> &[Vec<u8>] {
                &self.init
            }
            fn expect(&self) -> &[Vec<u8>] {
                &self.expect
            }
            fn cycles(&self) -> u64 {
                self.cycles
            }
            fn what(&self) -> String {
                format!("{} {:?}", self.what, Self { init: vec![], expect: vec![], ..self.clone() })
            }
        }
    };
}
pub(crate) use engine_case;

/// The clock and memory methods of [`EngineBench`] for a bench with the fields `clock` and
/// `mem` (a [`TbMem`]); expands inside the `impl EngineBench`.
macro_rules! bench_clock_and_memory {
    () => {
        fn toggle_clock(&mut self) {
            self.clock.next = !self.clock.val();
        }
        fn clock_high(&self) -> bool {
            self.clock.val().clk
        }
        fn memory(&mut self) -> &mut Vec<Vec<u8>> {
            &mut self.mem._mem
        }
    };
}
pub(crate) use bench_clock_and_memory;

/// A test bench of one engine and its [`TbMem`], as [`run_ops`] drives it.
pub trait EngineBench: Block + Send + Sized + 'static {
    /// The ops it runs.
    type Case: EngineCase;
    /// Toggle the clock.
    fn toggle_clock(&mut self);
    /// The clock is high.
    fn clock_high(&self) -> bool;
    /// The memory model's banks.
    fn memory(&mut self) -> &mut Vec<Vec<u8>>;
    /// Present the op's operands (not `start`).
    fn apply(&mut self, c: &Self::Case);
    /// Drive `reset`.
    fn set_reset(&mut self, on: bool);
    /// Drive `start`.
    fn set_start(&mut self, on: bool);
    /// The engine's `busy`.
    fn busy(&self) -> bool;
    /// The engine's `done`.
    fn done(&self) -> bool;
    /// Checked in every cycle before `done` (after cycle 0).
    fn check_running(&self, _c: &Self::Case, _cycle: u64) -> Result<(), String> {
        Ok(())
    }
    /// Checked in the cycle of `done`.
    fn check_done(&self, _c: &Self::Case) -> Result<(), String> {
        Ok(())
    }
    /// Checked in the cycle after `done`.
    fn check_idle(&self) -> Result<(), String> {
        if self.busy() || self.done() {
            return Err("busy or done after the done cycle".into());
        }
        Ok(())
    }
}

/// One clock cycle: to the next falling edge after a rising one (as `wait_clock_cycle!`).
pub fn cycle<T: EngineBench>(ep: &mut Sim<T>, x: Box<T>) -> Result<Box<T>, SimError> {
    if x.clock_high() {
        let x = ep.watch(|x: &T| !x.clock_high(), x)?;
        ep.watch(|x: &T| x.clock_high(), x)
    } else {
        let x = ep.watch(|x: &T| x.clock_high(), x)?;
        ep.watch(|x: &T| !x.clock_high(), x)
    }
}

/// A simulation of `uut` with a 10-unit clock and `bench` as its test bench.
pub fn simulate<T: EngineBench>(
    mut uut: T,
    bench: impl Fn(Sim<T>) -> Result<(), SimError> + Send + 'static + std::panic::RefUnwindSafe,
) {
    uut.connect_all();
    let mut sim = Simulation::new();
    sim.add_clock(5, |x: &mut Box<T>| x.toggle_clock());
    sim.add_testbench(bench);
    sim.run(Box::new(uut), 1 << 40).unwrap();
}

/// Runs `cases` back to back in one simulation of `uut` (after a reset): checks every byte of
/// every bank after each op, the `busy`/`done` protocol, the bench's own checks and that the
/// cycle count equals the case's. The first failure is printed and fails the test.
pub fn run_ops<T: EngineBench>(uut: T, cases: Vec<T::Case>, r: usize) {
    simulate(uut, move |mut ep: Sim<T>| {
        let mut x = ep.init()?;
        x.set_reset(true);
        x = cycle(&mut ep, x)?;
        x.set_reset(false);
        x = cycle(&mut ep, x)?;
        for c in &cases {
            *x.memory() = c.init().to_vec();
            x.apply(c);
            x.set_start(true);
            x = cycle(&mut ep, x)?;
            x.set_start(false);
            let mut cycles = 1u64;
            while !x.done() {
                let check = if !x.busy() || cycles > 1_000_000 {
                    Err(format!("not busy or too long at cycle {cycles}"))
                } else {
                    x.check_running(c, cycles)
                };
                if let Err(e) = check {
                    println!("{}: {e}", c.what());
                    return ep.halt(x);
                }
                x = cycle(&mut ep, x)?;
                cycles += 1;
            }
            let mut fail = (cycles != c.cycles())
                .then(|| format!("cycles: measured {cycles}, expected {}", c.cycles()))
                .or_else(|| x.check_done(c).err());
            if fail.is_none() {
                fail = first_mismatch(x.memory(), c.expect(), c.init(), r);
            }
            if let Some(e) = fail {
                println!("{}: {e}", c.what());
                return ep.halt(x);
            }
            x = cycle(&mut ep, x)?;
            if let Err(e) = x.check_idle() {
                println!("{}: {e}", c.what());
                return ep.halt(x);
            }
        }
        ep.done(x)
    });
}

/// Runs ops on the *generated Verilog* of an engine with 64-bit words (`R = 8`) in Icarus
/// Verilog, around a behavioural two-read-port memory of `banks x words` words (powers of two).
pub struct IcarusBench {
    /// Name of the engine's Verilog module.
    pub module: String,
    /// The engine's Verilog.
    pub verilog: String,
    /// The operand inputs besides the scratchpad ports, `(name, bits)`, set per op.
    pub operands: Vec<(&'static str, usize)>,
    /// Outputs sampled in the cycle of `done`, `(name, bits)`.
    pub probes: Vec<(&'static str, usize)>,
    /// Banks of the memory.
    pub banks: usize,
    /// Words per bank.
    pub words: usize,
}

/// One op for [`IcarusBench::run`]: the memory before and the operand values (in the order of
/// [`IcarusBench::operands`]).
pub struct IcarusOp {
    /// The memory before the op.
    pub init: Vec<Vec<u8>>,
    /// The operand values.
    pub operands: Vec<u64>,
}

/// What one op did in Icarus Verilog.
pub struct IcarusResult {
    /// The memory after the op.
    pub mem: Vec<Vec<u8>>,
    /// Cycles from `start` to `done`.
    pub cycles: u64,
    /// The probes' values in the cycle of `done`.
    pub probes: Vec<u64>,
}

impl IcarusBench {
    /// The test bench module.
    fn testbench(&self, steps: &str, dir: &std::path::Path) -> String {
        const R: usize = 8;
        let bank_bits = self.banks.trailing_zeros();
        let word_bits = self.words.trailing_zeros();
        let decl = |kind: &str, list: &[(&str, usize)]| -> String {
            list.iter().map(|(name, bits)| format!("  {kind} [{}:0] {name};\n", bits - 1)).collect()
        };
        let regs = decl("reg", &self.operands);
        let wires = decl("wire", &self.probes);
        let probe_ints: String = (0..self.probes.len()).map(|i| format!(", p{i}")).collect();
        let conn: String = self.operands.iter().chain(&self.probes).map(|(n, _)| format!(".{n}({n}), ")).collect();
        let sample: String = self.probes.iter().enumerate().map(|(i, (n, _))| format!("      p{i} = {n};\n")).collect();
        let fmt = " %0d".repeat(self.probes.len());
        let args: String = (0..self.probes.len()).map(|i| format!(", p{i}")).collect();
        let a = |port: &str| format!("{{{port}_bank[{}:0], {port}_addr[{}:0]}}", bank_bits - 1, word_bits - 1);
        format!(
            "`timescale 1ns/1ps
module tb;
  reg clock = 0;
  always #5 clock = ~clock;
  reg reset = 1, start = 0;
{regs}{wires}  wire busy, done, wr_en;
  wire [3:0] rd0_bank, rd1_bank, wr_bank;
  wire [{ab}:0] rd0_addr, rd1_addr, wr_addr;
  reg [63:0] rd0_data, rd1_data;
  wire [63:0] wr_data;
  wire [7:0] wr_be;
  reg [63:0] mem [0:{last}];
  integer i, cyc, fd{probe_ints};
  {module} dut(.clock(clock), .reset(reset), .start(start), {conn}.busy(busy), .done(done),
    .rd0_bank(rd0_bank), .rd0_addr(rd0_addr), .rd0_data(rd0_data), .rd1_bank(rd1_bank),
    .rd1_addr(rd1_addr), .rd1_data(rd1_data), .wr_bank(wr_bank), .wr_addr(wr_addr),
    .wr_data(wr_data), .wr_be(wr_be), .wr_en(wr_en));
  always @(posedge clock) begin
    rd0_data <= mem[{rd0}];
    rd1_data <= mem[{rd1}];
    if (wr_en)
      for (i = 0; i < {R}; i = i + 1)
        if (wr_be[i]) mem[{wr}][i*8 +: 8] <= wr_data[i*8 +: 8];
  end
  task run_op;
    begin
      @(negedge clock) start = 1;
      @(negedge clock) start = 0;
      cyc = 1;
      while (!done) begin
        @(negedge clock);
        cyc = cyc + 1;
      end
{sample}      $fdisplay(fd, \"%0d{fmt}\", cyc{args});
      @(negedge clock);
    end
  endtask
  initial begin
    fd = $fopen(\"{d}/cycles.txt\", \"w\");
    @(negedge clock); @(negedge clock) reset = 0;
{steps}    $fclose(fd);
    $finish;
  end
endmodule
",
            ab = SP_ADDR_BITS - 1,
            last = self.banks * self.words - 1,
            module = self.module,
            rd0 = a("rd0"),
            rd1 = a("rd1"),
            wr = a("wr"),
            d = dir.display(),
        )
    }

    /// Runs `ops` back to back (after a reset) and returns what each did.
    pub fn run(&self, ops: &[IcarusOp]) -> Vec<IcarusResult> {
        const R: usize = 8;
        let dir = std::env::temp_dir().join(format!(
            "vitaccel-iv-{}-{}-{:?}",
            self.module,
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("dut.v"), &self.verilog).unwrap();
        let mut steps = String::new();
        for (k, op) in ops.iter().enumerate() {
            let mut hex = String::new();
            for bank in &op.init {
                for w in 0..self.words {
                    let v = (0..R).fold(0u64, |a, i| a | (bank[w * R + i] as u64) << (8 * i));
                    hex += &format!("{v:016x}\n");
                }
            }
            std::fs::write(dir.join(format!("in{k}.hex")), hex).unwrap();
            let set: String =
                self.operands.iter().zip(&op.operands).map(|((name, _), v)| format!(" {name} = {v};")).collect();
            steps += &format!(
                "    $readmemh(\"{d}/in{k}.hex\", mem);\n   {set}\n    run_op;\n    $writememh(\"{d}/out{k}.hex\", mem);\n",
                d = dir.display()
            );
        }
        std::fs::write(dir.join("tb.v"), self.testbench(&steps, &dir)).unwrap();
        run_icarus(&dir);
        let lines: Vec<Vec<u64>> = std::fs::read_to_string(dir.join("cycles.txt"))
            .unwrap()
            .lines()
            .map(|l| l.split_whitespace().map(|x| x.parse().unwrap()).collect())
            .collect();
        assert_eq!(lines.len(), ops.len(), "every op finished");
        let result = lines
            .into_iter()
            .enumerate()
            .map(|(k, v)| {
                let text = std::fs::read_to_string(dir.join(format!("out{k}.hex"))).unwrap();
                let words: Vec<u64> = text
                    .lines()
                    .map(|l| l.trim())
                    .filter(|l| !l.is_empty() && !l.starts_with("//"))
                    .map(|l| u64::from_str_radix(l, 16).expect("memory dump word"))
                    .collect();
                assert_eq!(words.len(), self.banks * self.words);
                let mem = (0..self.banks)
                    .map(|b| {
                        (0..self.words * R).map(|i| (words[b * self.words + i / R] >> (8 * (i % R))) as u8).collect()
                    })
                    .collect();
                IcarusResult { mem, cycles: v[0], probes: v[1..].to_vec() }
            })
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        result
    }
}

/// Evaluate a combinational module in Icarus Verilog on `vectors` (one value per input, in the
/// order of `inputs`) and return its outputs (in the order of `outputs`) per vector (`u64::MAX`
/// where an output has unknown bits). Ports are `(name, bits)` with `bits <= 64`; the check of a
/// leaf's hand-written Verilog body against its Rust model.
pub fn icarus_combinational(
    verilog: &str,
    module: &str,
    inputs: &[(&str, usize)],
    outputs: &[(&str, usize)],
    vectors: &[Vec<u64>],
) -> Vec<Vec<u64>> {
    icarus_vectors(verilog, module, inputs, outputs, vectors, false)
}

/// Like [`icarus_combinational`] for a module with a `clock` input: each vector is applied, then
/// one rising clock edge, and the outputs are read after it (what a synchronous read returns for
/// the addresses of that vector).
pub fn icarus_clocked(
    verilog: &str,
    module: &str,
    inputs: &[(&str, usize)],
    outputs: &[(&str, usize)],
    vectors: &[Vec<u64>],
) -> Vec<Vec<u64>> {
    icarus_vectors(verilog, module, inputs, outputs, vectors, true)
}

fn icarus_vectors(
    verilog: &str,
    module: &str,
    inputs: &[(&str, usize)],
    outputs: &[(&str, usize)],
    vectors: &[Vec<u64>],
    clocked: bool,
) -> Vec<Vec<u64>> {
    let dir = std::env::temp_dir().join(format!(
        "vitaccel-ivc-{module}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("dut.v"), verilog).unwrap();
    let hex: String = vectors
        .iter()
        .flat_map(|v| {
            assert_eq!(v.len(), inputs.len(), "one value per input");
            v.iter().map(|x| format!("{x:016x}\n"))
        })
        .collect();
    std::fs::write(dir.join("in.hex"), hex).unwrap();
    let decl = |kind: &str, list: &[(&str, usize)]| -> String {
        list.iter().map(|(name, bits)| format!("  {kind} [{}:0] {name};\n", bits - 1)).collect()
    };
    let set: String =
        inputs.iter().enumerate().map(|(i, (n, _))| format!("      {n} = vec[k * {}+ {i}];\n", inputs.len())).collect();
    let mut conn: Vec<String> = inputs.iter().chain(outputs).map(|(n, _)| format!(".{n}({n})")).collect();
    let (clock_decl, edge) = if clocked {
        conn.push(".clock(clock)".into());
        ("  reg clock = 0;\n", "      clock = 1;\n      #1;\n      clock = 0;\n      #1;\n")
    } else {
        ("", "")
    };
    let fmt = vec!["%0d"; outputs.len()].join(" ");
    let args: String = outputs.iter().map(|(n, _)| format!(", {{1'b0, {n}}}")).collect();
    let tb = format!(
        "module tb;\n{clock_decl}{}{}  reg [63:0] vec [0:{}];\n  integer k, f;\n  {module} dut({});\n  initial begin\n    \
         $readmemh(\"{d}/in.hex\", vec);\n    f = $fopen(\"{d}/out.txt\", \"w\");\n    \
         for (k = 0; k < {n}; k = k + 1) begin\n{set}      #1;\n{edge}      $fdisplay(f, \"{fmt}\"{args});\n    end\n    \
         $fclose(f);\n    $finish;\n  end\nendmodule\n",
        decl("reg", inputs),
        decl("wire", outputs),
        vectors.len() * inputs.len() - 1,
        conn.join(", "),
        d = dir.display(),
        n = vectors.len(),
    );
    std::fs::write(dir.join("tb.v"), tb).unwrap();
    run_icarus(&dir);
    let text = std::fs::read_to_string(dir.join("out.txt")).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    // An output with unknown (x) or floating (z) bits reads as `u64::MAX`.
    let value = |x: &str| {
        if x.contains(['x', 'X', 'z', 'Z']) {
            u64::MAX
        } else {
            x.parse().expect("decimal output")
        }
    };
    let rows: Vec<Vec<u64>> = text.lines().map(|l| l.split_whitespace().map(value).collect()).collect();
    assert_eq!(rows.len(), vectors.len(), "one output row per vector");
    rows
}

/// Compile `dir/dut.v` + `dir/tb.v` (top `tb`) with Icarus Verilog and run it in `dir`.
fn run_icarus(dir: &std::path::Path) {
    let out = std::process::Command::new("iverilog")
        .args(["-g2005", "-o"])
        .arg(dir.join("sim.vvp"))
        .args(["-s", "tb"])
        .arg(dir.join("dut.v"))
        .arg(dir.join("tb.v"))
        .output()
        .expect("iverilog must be installed (scripts/setup.sh installs it)");
    assert!(out.status.success(), "iverilog: {}", String::from_utf8_lossy(&out.stderr));
    let out = std::process::Command::new("vvp").arg(dir.join("sim.vvp")).output().expect("vvp");
    assert!(out.status.success(), "vvp: {}", String::from_utf8_lossy(&out.stderr));
}
