//! Storage primitives: scratchpad bank, accumulator RAM lane and word FIFO.
//!
//! Like rust-hdl's own `RAM`, these are leaf modules whose bodies are written as Verilog text
//! (inferred block/distributed RAM); every piece of control logic around them is `#[hdl_gen]`.
//! Their Rust `update` models the same behaviour for rust-hdl simulation.

use rust_hdl::prelude::*;

/// Address bits of scratchpad ports (the ISA's address field width); a bank of `2^ab` words
/// uses the low `ab` bits.
pub const SP_ADDR_BITS: usize = 20;
/// Address bits of accumulator-RAM ports (the ISA's M field width).
pub const ACC_ADDR_BITS: usize = 16;
/// Bits of the FIFO fill count.
pub const FIFO_COUNT_BITS: usize = 16;

/// Verilog that marks the address bits above `used` of the named 20-/16-bit ports as
/// intentionally unused (Verilator's `*unused*` naming idiom).
fn unused_high_bits(ports: &[&str], width: usize, used: usize) -> String {
    if used >= width {
        return String::new();
    }
    let bits: Vec<String> = ports.iter().map(|p| format!("{p}[{}:{used}]", width - 1)).collect();
    format!("wire _unused_addr_bits = ^{{{}}};\n", bits.join(", "))
}

/// A scratchpad bank: `words` (a power of two) words of `W` bits, one synchronous read port
/// (1-cycle latency) and one write port with `BE = W/8` byte enables.
#[derive(LogicBlock)]
pub struct Bank<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Read address.
    pub rd_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Word at the read address of the previous cycle.
    pub rd_data: Signal<Out, Bits<W>>,
    /// Write address.
    pub wr_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Write data.
    pub wr_data: Signal<In, Bits<W>>,
    /// Byte enables.
    pub wr_be: Signal<In, Bits<BE>>,
    /// Write strobe.
    pub wr_en: Signal<In, Bit>,
    _mem: Vec<Bits<W>>,
}

impl<const W: usize, const BE: usize> Bank<W, BE> {
    /// A bank of `words` words (a power of two, at most 2^20).
    pub fn new(words: usize) -> Self {
        assert_eq!(BE * 8, W, "one byte enable per byte");
        assert!(words.is_power_of_two() && words <= 1 << SP_ADDR_BITS);
        Bank {
            clock: Signal::default(),
            rd_addr: Signal::default(),
            rd_data: Signal::default(),
            wr_addr: Signal::default(),
            wr_data: Signal::default(),
            wr_be: Signal::default(),
            wr_en: Signal::default(),
            _mem: vec![Bits::default(); words],
        }
    }
}

impl<const W: usize, const BE: usize> Logic for Bank<W, BE> {
    fn update(&mut self) {
        let mask = self._mem.len() - 1;
        if self.clock.pos_edge() {
            self.rd_data.next = self._mem[self.rd_addr.val().index() & mask];
            if self.wr_en.val() {
                let a = self.wr_addr.val().index() & mask;
                let mut w = self._mem[a];
                for b in 0..BE {
                    if self.wr_be.val().get_bit(b) {
                        for i in 0..8 {
                            w = w.replace_bit(8 * b + i, self.wr_data.val().get_bit(8 * b + i));
                        }
                    }
                }
                self._mem[a] = w;
            }
        }
    }
    fn connect(&mut self) {
        self.rd_data.connect();
    }
    fn hdl(&self) -> Verilog {
        let ab = self._mem.len().trailing_zeros() as usize;
        let (ra, wa) = if ab == 0 {
            ("0".to_string(), "0".to_string())
        } else {
            (format!("rd_addr[{}:0]", ab - 1), format!("wr_addr[{}:0]", ab - 1))
        };
        Verilog::Custom(format!(
            "{unused}reg [{msb}:0] mem [0:{last}];
integer i;
always @(posedge clock) begin
    rd_data <= mem[{ra}];
    if (wr_en) begin
        for (i = 0; i < {be}; i = i + 1) begin
            if (wr_be[i]) mem[{wa}][i*8 +: 8] <= wr_data[i*8 +: 8];
        end
    end
end",
            unused = unused_high_bits(&["rd_addr", "wr_addr"], SP_ADDR_BITS, ab),
            msb = W - 1,
            last = self._mem.len() - 1,
            be = BE
        ))
    }
}

/// One 32-bit lane of the accumulator RAM: `rows` (a power of two) entries, synchronous read,
/// one write port.
#[derive(LogicBlock)]
pub struct AccLane {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Read address.
    pub rd_addr: Signal<In, Bits<ACC_ADDR_BITS>>,
    /// Entry at the read address of the previous cycle.
    pub rd_data: Signal<Out, Bits<32>>,
    /// Write address.
    pub wr_addr: Signal<In, Bits<ACC_ADDR_BITS>>,
    /// Write data.
    pub wr_data: Signal<In, Bits<32>>,
    /// Write strobe.
    pub wr_en: Signal<In, Bit>,
    _mem: Vec<Bits<32>>,
}

impl AccLane {
    /// A lane of `rows` entries (a power of two, at most 2^16).
    pub fn new(rows: usize) -> Self {
        assert!(rows.is_power_of_two() && rows <= 1 << ACC_ADDR_BITS);
        AccLane {
            clock: Signal::default(),
            rd_addr: Signal::default(),
            rd_data: Signal::default(),
            wr_addr: Signal::default(),
            wr_data: Signal::default(),
            wr_en: Signal::default(),
            _mem: vec![Bits::default(); rows],
        }
    }
}

impl Logic for AccLane {
    fn update(&mut self) {
        let mask = self._mem.len() - 1;
        if self.clock.pos_edge() {
            self.rd_data.next = self._mem[self.rd_addr.val().index() & mask];
            if self.wr_en.val() {
                self._mem[self.wr_addr.val().index() & mask] = self.wr_data.val();
            }
        }
    }
    fn connect(&mut self) {
        self.rd_data.connect();
    }
    fn hdl(&self) -> Verilog {
        let tb = self._mem.len().trailing_zeros() as usize;
        Verilog::Custom(format!(
            "{unused}reg [31:0] mem [0:{last}];
always @(posedge clock) begin
    rd_data <= mem[rd_addr[{msb}:0]];
    if (wr_en) mem[wr_addr[{msb}:0]] <= wr_data;
end",
            unused = unused_high_bits(&["rd_addr", "wr_addr"], ACC_ADDR_BITS, tb),
            last = self._mem.len() - 1,
            msb = tb - 1
        ))
    }
}

/// A 256-entry byte table (the GELU LUT of the output path): written one `W`-bit word (`W/8`
/// entries) at a time, read through `ports` synchronous read ports (1-cycle latency).
#[derive(LogicBlock)]
pub struct LutRam<const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Word index of the write (entries `8 * waddr / W ..`).
    pub waddr: Signal<In, Bits<8>>,
    /// Entries to write, entry `i` in bits `8i+7:8i`.
    pub wdata: Signal<In, Bits<W>>,
    /// Write strobe.
    pub we: Signal<In, Bit>,
    /// Read addresses.
    pub raddr: Vec<Signal<In, Bits<8>>>,
    /// Entries at the read addresses of the previous cycle.
    pub rdata: Vec<Signal<Out, Bits<8>>>,
    _mem: Vec<u8>,
}

impl<const W: usize> LutRam<W> {
    /// A table with `ports` read ports (`W` divides 2048; `16 <= W <= 1024`).
    pub fn new(ports: usize) -> Self {
        assert!(W.is_multiple_of(8) && 2048 % W == 0 && (16..=1024).contains(&W));
        LutRam {
            clock: Signal::default(),
            waddr: Signal::default(),
            wdata: Signal::default(),
            we: Signal::default(),
            raddr: (0..ports).map(|_| Signal::default()).collect(),
            rdata: (0..ports).map(|_| Signal::default()).collect(),
            _mem: vec![0; 256],
        }
    }
}

impl<const W: usize> Logic for LutRam<W> {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            for (a, d) in self.raddr.iter().zip(self.rdata.iter_mut()) {
                d.next = (self._mem[a.val().index()] as u64).into();
            }
            if self.we.val() {
                let per = W / 8;
                let base = (self.waddr.val().index() * per) % 256;
                for i in 0..per {
                    self._mem[base + i] = self.wdata.val().get_bits::<8>(8 * i).index() as u8;
                }
            }
        }
    }
    fn connect(&mut self) {
        for d in &mut self.rdata {
            d.connect();
        }
    }
    fn hdl(&self) -> Verilog {
        // One copy of the table per read port, each stored as `256 / (W/8)` words of `W` bits:
        // a memory with one write port and one read port, which synthesis maps to distributed
        // RAM. (One byte-wide table with `W/8` write ports and `C` read ports made Yosys'
        // `memory_libmap` run out of memory at 16x16.) The read takes the word, and the byte
        // is chosen from it by the address's low bits, registered beside it.
        let per = W / 8;
        let wbits = per.trailing_zeros() as usize; // log2 entries per word
        let idx_bits = 8 - wbits;
        let words = 1usize << idx_bits;
        let mut body = String::new();
        if idx_bits < 8 {
            body += &format!("wire _unused_waddr = ^waddr[7:{idx_bits}];\n");
        }
        for p in 0..self.raddr.len() {
            body += &format!(
                "reg [{wm}:0] mem${p} [0:{last}];
reg [{wm}:0] word${p};
reg [{lm}:0] lo${p};
always @(posedge clock) begin
    word${p} <= mem${p}[raddr${p}[7:{wbits}]];
    lo${p} <= raddr${p}[{lm}:0];
    if (we) mem${p}[waddr[{im}:0]] <= wdata;
end
always @(*) rdata${p} = word${p}[{{lo${p}, 3'd0}} +: 8];
",
                wm = W - 1,
                last = words - 1,
                lm = wbits - 1,
                im = idx_bits - 1,
            );
        }
        Verilog::Custom(body)
    }
}

/// A first-word-fall-through FIFO of `depth` (a power of two) words of `W` bits. Pushing when
/// full or popping when empty is ignored.
#[derive(LogicBlock)]
pub struct WordFifo<const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset (empties the FIFO).
    pub reset: Signal<In, Bit>,
    /// Word to push.
    pub din: Signal<In, Bits<W>>,
    /// Push strobe.
    pub push: Signal<In, Bit>,
    /// Oldest word (valid when `count > 0`).
    pub dout: Signal<Out, Bits<W>>,
    /// Pop strobe.
    pub pop: Signal<In, Bit>,
    /// Words held, `0..=depth`.
    pub count: Signal<Out, Bits<FIFO_COUNT_BITS>>,
    _mem: Vec<Bits<W>>,
    _wp: usize,
    _rp: usize,
}

impl<const W: usize> WordFifo<W> {
    /// A FIFO of `depth` words (a power of two, 2..=2^15).
    pub fn new(depth: usize) -> Self {
        assert!(depth.is_power_of_two() && (2..=1 << 15).contains(&depth));
        WordFifo {
            clock: Signal::default(),
            reset: Signal::default(),
            din: Signal::default(),
            push: Signal::default(),
            dout: Signal::default(),
            pop: Signal::default(),
            count: Signal::default(),
            _mem: vec![Bits::default(); depth],
            _wp: 0,
            _rp: 0,
        }
    }
}

impl<const W: usize> Logic for WordFifo<W> {
    fn update(&mut self) {
        let depth = self._mem.len();
        if self.clock.pos_edge() {
            if self.reset.val() {
                self._wp = 0;
                self._rp = 0;
            } else {
                let n = self._wp.wrapping_sub(self._rp) % (2 * depth);
                if self.pop.val() && n > 0 {
                    self._rp = (self._rp + 1) % (2 * depth);
                }
                if self.push.val() && n < depth {
                    self._mem[self._wp % depth] = self.din.val();
                    self._wp = (self._wp + 1) % (2 * depth);
                }
            }
        }
        let n = (self._wp + 2 * depth - self._rp) % (2 * depth);
        self.count.next = (n as u64).into();
        self.dout.next = self._mem[self._rp % depth];
    }
    fn connect(&mut self) {
        self.dout.connect();
        self.count.connect();
    }
    fn hdl(&self) -> Verilog {
        let pb = self._mem.len().trailing_zeros() as usize;
        Verilog::Custom(format!(
            "reg [{msb}:0] mem [0:{last}];
reg [{pb}:0] wp;
reg [{pb}:0] rp;
initial begin wp = 0; rp = 0; end
always @(*) begin
    count = {{{pad}'d0, wp - rp}};
    dout = mem[rp[{pbm}:0]];
end
always @(posedge clock) begin
    if (reset) begin
        wp <= 0;
        rp <= 0;
    end else begin
        if (pop && (wp != rp)) rp <= rp + 1'b1;
        if (push && ((wp - rp) != {pbw}'d{depth})) begin
            mem[wp[{pbm}:0]] <= din;
            wp <= wp + 1'b1;
        end
    end
end",
            msb = W - 1,
            last = self._mem.len() - 1,
            pb = pb,
            pbm = pb - 1,
            pad = FIFO_COUNT_BITS - pb - 1,
            depth = self._mem.len(),
            pbw = pb + 1,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verilog::{generate, lint};

    #[test]
    fn storage_verilog_is_lint_clean() {
        lint(&generate(&mut Bank::<64, 8>::new(64), "bank"), "bank").unwrap();
        lint(&generate(&mut AccLane::new(32), "acc"), "acc").unwrap();
        lint(&generate(&mut WordFifo::<64>::new(8), "fifo"), "fifo").unwrap();
        lint(&generate(&mut LutRam::<64>::new(3), "lut"), "lut").unwrap();
        lint(&generate(&mut LutRam::<128>::new(16), "lut"), "lut").unwrap();
    }

    /// The table's Verilog in Icarus against a byte array: every port reads every entry, while
    /// words are rewritten (a read in the cycle of a write to its word returns the old entry).
    #[test]
    fn lut_ram_verilog_reads_every_entry_through_every_port() {
        use crate::testkit::icarus_clocked;
        const PORTS: usize = 3;
        let verilog = generate(&mut LutRam::<64>::new(PORTS), "lut");
        let mut rng = crate::testkit::Rng::new(17);
        let mut table = [0u8; 256];
        let mut vectors = Vec::new();
        let mut expected = Vec::new();
        // 32 cycles writing the whole table, then 3 x 256 reads (port p reads entry t + 85 p in
        // cycle t), with a random word rewritten every third cycle.
        for t in 0..32 + 3 * 256u64 {
            let writing = t < 32 || t % 3 == 0;
            let waddr = if t < 32 { t } else { rng.below(32) };
            let wdata = rng.next();
            let raddr: Vec<u64> = (0..PORTS as u64).map(|p| (t + 85 * p) % 256).collect();
            let mut v = vec![waddr, wdata, writing as u64];
            v.extend(&raddr);
            vectors.push(v);
            expected.push(raddr.iter().map(|&a| table[a as usize] as u64).collect::<Vec<_>>());
            if writing {
                for i in 0..8 {
                    table[8 * waddr as usize + i] = (wdata >> (8 * i)) as u8;
                }
            }
        }
        let names: Vec<String> = (0..PORTS).map(|p| format!("raddr${p}")).collect();
        let outs: Vec<String> = (0..PORTS).map(|p| format!("rdata${p}")).collect();
        let mut inputs = vec![("waddr", 8), ("wdata", 64), ("we", 1)];
        inputs.extend(names.iter().map(|n| (n.as_str(), 8)));
        let outputs: Vec<(&str, usize)> = outs.iter().map(|n| (n.as_str(), 8)).collect();
        let got = icarus_clocked(&verilog, "lut", &inputs, &outputs, &vectors);
        // The first 32 cycles read a table still being written (entries not yet written are X).
        assert_eq!(got[32..], expected[32..]);
    }

    #[test]
    fn fifo_preserves_order_and_counts() {
        let mut uut = WordFifo::<16>::new(4);
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<WordFifo<16>>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<WordFifo<16>>| {
            let mut x = ep.init()?;
            let mut model = std::collections::VecDeque::new();
            let mut next = 1u64;
            for t in 0..200u64 {
                let push = (t * 7 + 3) % 5 < 3;
                let pop = (t * 11 + 1) % 4 < 2;
                x.push.next = push;
                x.pop.next = pop;
                x.din.next = next.into();
                sim_assert_eq!(ep, x.count.val().index(), model.len(), x);
                if let Some(&front) = model.front() {
                    sim_assert_eq!(ep, x.dout.val(), Bits::<16>::from(front), x);
                }
                wait_clock_cycle!(ep, clock, x);
                let room = model.len() < 4;
                if pop && !model.is_empty() {
                    model.pop_front();
                }
                if push && room {
                    model.push_back(next);
                    next += 1;
                }
            }
            ep.done(x)
        });
        sim.run(Box::new(uut), 100_000).unwrap();
    }
}
