//! The board's on-chip memory array: 64-bit words with byte enables, one synchronous read port
//! with a read enable (the output holds while it is low) and one write port. Like
//! `crate::storage`, a leaf whose body is Verilog text, so Yosys infers block RAM (ECP5 EBR).

use rust_hdl::prelude::*;

/// Bits of a word address (up to 2^20 words, 8 MiB).
pub const WORD_ADDR_BITS: usize = 20;

/// `words` 64-bit words (a power of two).
#[derive(LogicBlock)]
pub struct Ram64 {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Read enable: `rd_data` loads the word at `rd_addr`.
    pub rd_en: Signal<In, Bit>,
    /// Read word address.
    pub rd_addr: Signal<In, Bits<WORD_ADDR_BITS>>,
    /// The word read at the last enabled cycle.
    pub rd_data: Signal<Out, Bits<64>>,
    /// Write strobe.
    pub wr_en: Signal<In, Bit>,
    /// Write word address.
    pub wr_addr: Signal<In, Bits<WORD_ADDR_BITS>>,
    /// Write data.
    pub wr_data: Signal<In, Bits<64>>,
    /// Byte enables of the write.
    pub wr_be: Signal<In, Bits<8>>,
    _mem: Vec<u64>,
}

impl Ram64 {
    /// A memory of `words` words (a power of two, 2..=2^20).
    pub fn new(words: usize) -> Self {
        assert!(words.is_power_of_two() && (2..=1 << WORD_ADDR_BITS).contains(&words), "{words} words");
        Ram64 {
            clock: Signal::default(),
            rd_en: Signal::default(),
            rd_addr: Signal::default(),
            rd_data: Signal::default(),
            wr_en: Signal::default(),
            wr_addr: Signal::default(),
            wr_data: Signal::default(),
            wr_be: Signal::default(),
            _mem: vec![0; words],
        }
    }

    /// Words.
    pub fn words(&self) -> usize {
        self._mem.len()
    }
}

impl Logic for Ram64 {
    fn update(&mut self) {
        let mask = self._mem.len() - 1;
        if self.clock.pos_edge() {
            if self.rd_en.val() {
                self.rd_data.next = bits(self._mem[self.rd_addr.val().index() & mask]);
            }
            if self.wr_en.val() {
                let a = self.wr_addr.val().index() & mask;
                let (data, be) = (self.wr_data.val().to_u64(), self.wr_be.val().to_u64());
                let mask: u64 = (0..8).filter(|b| be >> b & 1 == 1).map(|b| 0xffu64 << (8 * b)).sum();
                self._mem[a] = (self._mem[a] & !mask) | (data & mask);
            }
        }
    }
    fn connect(&mut self) {
        self.rd_data.connect();
    }
    fn hdl(&self) -> Verilog {
        let ab = self._mem.len().trailing_zeros() as usize;
        let unused = if ab < WORD_ADDR_BITS {
            format!(
                "wire _unused_addr_bits = ^{{rd_addr[{top}:{ab}], wr_addr[{top}:{ab}]}};\n",
                top = WORD_ADDR_BITS - 1
            )
        } else {
            String::new()
        };
        Verilog::Custom(format!(
            "{unused}reg [63:0] mem [0:{last}];
integer i;
always @(posedge clock) begin
    if (rd_en) rd_data <= mem[rd_addr[{msb}:0]];
    if (wr_en) begin
        for (i = 0; i < 8; i = i + 1) begin
            if (wr_be[i]) mem[wr_addr[{msb}:0]][i*8 +: 8] <= wr_data[i*8 +: 8];
        end
    end
end",
            last = self._mem.len() - 1,
            msb = ab - 1
        ))
    }
}
