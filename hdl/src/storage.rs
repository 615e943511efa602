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
    /// A table with `ports` read ports (`W` divides 2048).
    pub fn new(ports: usize) -> Self {
        assert!(W.is_multiple_of(8) && 2048 % W == 0);
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
        let per = W / 8;
        let wbits = per.trailing_zeros() as usize; // log2 entries per word
        let idx_bits = 8 - wbits;
        let mut reads = String::new();
        for p in 0..self.raddr.len() {
            reads += &format!("    rdata${p} <= mem[raddr${p}];\n");
        }
        let waddr = if idx_bits == 0 {
            "wire _unused_waddr = ^waddr;\n".to_string()
        } else if idx_bits < 8 {
            format!("wire _unused_waddr = ^waddr[7:{idx_bits}];\n")
        } else {
            String::new()
        };
        let mut writes = String::new();
        for i in 0..per {
            let at = if idx_bits == 0 {
                format!("8'd{i}")
            } else if wbits == 0 {
                format!("waddr[{}:0]", idx_bits - 1)
            } else {
                format!("{{waddr[{}:0], {wbits}'d{i}}}", idx_bits - 1)
            };
            writes += &format!("        mem[{at}] <= wdata[{}:{}];\n", 8 * i + 7, 8 * i);
        }
        Verilog::Custom(format!(
            "{waddr}reg [7:0] mem [0:255];
always @(posedge clock) begin
{reads}    if (we) begin
{writes}    end
end"
        ))
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
