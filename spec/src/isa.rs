//! The instruction set: 256-bit descriptors the controller fetches from memory.
//!
//! Every field is described once by a [`Field`] (bit offset and width in the 256-bit word);
//! [`Insn::encode`]/[`Insn::decode`] (host, golden backend) and the RTL decoder (`hdl`) all slice
//! with these constants, so the encoding cannot drift. `docs/ISA.md` is generated from
//! [`FIELDS`].

use serde::Serialize;

/// Bytes per instruction.
pub const INSN_BYTES: usize = 32;

/// A bit field of the 256-bit instruction word (little-endian bit numbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Field {
    /// Name (used in docs and error messages).
    pub name: &'static str,
    /// Lowest bit.
    pub lsb: u32,
    /// Width in bits.
    pub width: u32,
}

impl Field {
    /// Largest value the field holds.
    pub const fn max(&self) -> u64 {
        if self.width == 64 {
            u64::MAX
        } else {
            (1u64 << self.width) - 1
        }
    }
    /// Read the field from an instruction word.
    pub fn get(&self, w: &[u8; INSN_BYTES]) -> u64 {
        let mut v = 0u64;
        for i in 0..self.width {
            let b = self.lsb + i;
            v |= (((w[(b / 8) as usize] >> (b % 8)) & 1) as u64) << i;
        }
        v
    }
    /// Write the field; `v` must fit.
    pub fn set(&self, w: &mut [u8; INSN_BYTES], v: u64) {
        assert!(v <= self.max(), "{} = {v} does not fit in {} bits", self.name, self.width);
        for i in 0..self.width {
            let b = self.lsb + i;
            let byte = &mut w[(b / 8) as usize];
            *byte = (*byte & !(1 << (b % 8))) | ((((v >> i) & 1) as u8) << (b % 8));
        }
    }
}

macro_rules! fields {
    ($($(#[$doc:meta])* $id:ident = ($lsb:expr, $w:expr);)*) => {
        $( $(#[$doc])* pub const $id: Field = Field { name: stringify!($id), lsb: $lsb, width: $w }; )*
        /// Every field, for documentation and overlap checks.
        pub const FIELDS: &[Field] = &[$($id),*];
    };
}

fields! {
    /// Operation ([`Opcode`]).
    OPCODE = (0, 8);
    /// DMA: scratchpad bank.
    DMA_BANK = (8, 4);
    /// DMA: first scratchpad word.
    DMA_ADDR = (12, 20);
    /// DMA: rows to move.
    DMA_ROWS = (32, 16);
    /// DMA: scratchpad words between row starts.
    DMA_STRIDE = (64, 20);
    /// DMA: words (of R bytes) per row.
    DMA_WORDS = (96, 32);
    /// DMA: first DRAM byte address (word aligned).
    DMA_DRAM_ADDR = (128, 40);
    /// DMA: DRAM bytes between row starts (word aligned).
    DMA_DRAM_STRIDE = (192, 40);
    /// Reserved for future fields: must be zero (the hardware reports BAD_FIELD otherwise).
    RESERVED = (232, 24);
    /// GEMM: flags ([`GEMM_FLAG_A_UNSIGNED`], output mode in bits 1..4).
    GEMM_FLAGS = (8, 8);
    /// GEMM: rows of A (tokens), 1..=max_tokens.
    GEMM_M = (16, 16);
    /// GEMM: reduction length, 1..=max_width.
    GEMM_K = (32, 16);
    /// GEMM: output channels, 1..=max_width.
    GEMM_N = (48, 16);
    /// GEMM: bank of A.
    GEMM_A_BANK = (64, 4);
    /// GEMM: word address of A's row 0.
    GEMM_A_ADDR = (68, 20);
    /// GEMM: words between A rows.
    GEMM_A_STRIDE = (88, 20);
    /// GEMM: bank of the output.
    GEMM_O_BANK = (108, 4);
    /// GEMM: word address of output row 0.
    GEMM_O_ADDR = (112, 20);
    /// GEMM: words between output rows.
    GEMM_O_STRIDE = (132, 20);
    /// GEMM: DRAM byte address of the packed weight stream (word aligned).
    GEMM_W_ADDR = (160, 40);
}

/// GEMM flag: A holds unsigned bytes (softmax probabilities) instead of int8.
pub const GEMM_FLAG_A_UNSIGNED: u64 = 1;

/// Instruction opcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[repr(u8)]
pub enum Opcode {
    /// DRAM -> scratchpad.
    Load = 1,
    /// Scratchpad -> DRAM.
    Store = 2,
    /// Tiled GEMM with the weight stream from DRAM, requantized int8 output to the scratchpad.
    Gemm = 3,
}

impl Opcode {
    /// Decode an opcode byte.
    pub fn from_u8(v: u8) -> Option<Opcode> {
        match v {
            1 => Some(Opcode::Load),
            2 => Some(Opcode::Store),
            3 => Some(Opcode::Gemm),
            _ => None,
        }
    }
}

/// A scratchpad location: bank and word address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BankAddr {
    /// Bank index.
    pub bank: u8,
    /// Word address within the bank.
    pub addr: u32,
}

/// A 2-D copy between DRAM and the scratchpad (`rows` rows of `words` words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Dma {
    /// Scratchpad side.
    pub sp: BankAddr,
    /// Scratchpad words between rows.
    pub sp_stride: u32,
    /// Rows.
    pub rows: u16,
    /// Words per row.
    pub words: u32,
    /// DRAM byte address (multiple of the word size).
    pub dram: u64,
    /// DRAM bytes between rows (multiple of the word size).
    pub dram_stride: u64,
}

/// Output mode of a GEMM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[repr(u8)]
pub enum OutMode {
    /// Per-channel requantization to int8.
    Int8 = 0,
}

/// `out[m][n] = requant(sum_k A[m][k] W[n][k] + bias[n])` over the scratchpad and a weight stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Gemm {
    /// Rows of A.
    pub m: u16,
    /// Reduction length.
    pub k: u16,
    /// Output channels.
    pub n: u16,
    /// A's row 0.
    pub a: BankAddr,
    /// Words between A rows.
    pub a_stride: u32,
    /// A holds unsigned bytes.
    pub a_unsigned: bool,
    /// Output row 0.
    pub out: BankAddr,
    /// Words between output rows.
    pub out_stride: u32,
    /// Output mode.
    pub mode: OutMode,
    /// DRAM address of the packed weight stream ([`crate::isa::weight_stream_words`]).
    pub weights: u64,
}

/// One instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Insn {
    /// DRAM -> scratchpad.
    Load(Dma),
    /// Scratchpad -> DRAM.
    Store(Dma),
    /// Tiled GEMM.
    Gemm(Gemm),
}

/// Decoding failures (the hardware reports the same conditions in its ERROR_CODE register).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IsaError {
    /// Unknown opcode byte.
    #[error("unknown opcode {0:#04x}")]
    BadOpcode(u8),
    /// A field holds an unsupported value.
    #[error("unsupported value {value} in field {field}")]
    BadField {
        /// Field name.
        field: &'static str,
        /// Value.
        value: u64,
    },
}

impl Insn {
    /// Encode to the 256-bit little-endian word.
    pub fn encode(&self) -> [u8; INSN_BYTES] {
        let mut w = [0u8; INSN_BYTES];
        match self {
            Insn::Load(d) | Insn::Store(d) => {
                let op = if matches!(self, Insn::Load(_)) { Opcode::Load } else { Opcode::Store };
                OPCODE.set(&mut w, op as u64);
                DMA_BANK.set(&mut w, d.sp.bank as u64);
                DMA_ADDR.set(&mut w, d.sp.addr as u64);
                DMA_ROWS.set(&mut w, d.rows as u64);
                DMA_WORDS.set(&mut w, d.words as u64);
                DMA_STRIDE.set(&mut w, d.sp_stride as u64);
                DMA_DRAM_ADDR.set(&mut w, d.dram);
                DMA_DRAM_STRIDE.set(&mut w, d.dram_stride);
            }
            Insn::Gemm(g) => {
                OPCODE.set(&mut w, Opcode::Gemm as u64);
                GEMM_FLAGS.set(&mut w, g.a_unsigned as u64 | ((g.mode as u64) << 1));
                GEMM_M.set(&mut w, g.m as u64);
                GEMM_K.set(&mut w, g.k as u64);
                GEMM_N.set(&mut w, g.n as u64);
                GEMM_A_BANK.set(&mut w, g.a.bank as u64);
                GEMM_A_ADDR.set(&mut w, g.a.addr as u64);
                GEMM_A_STRIDE.set(&mut w, g.a_stride as u64);
                GEMM_O_BANK.set(&mut w, g.out.bank as u64);
                GEMM_O_ADDR.set(&mut w, g.out.addr as u64);
                GEMM_O_STRIDE.set(&mut w, g.out_stride as u64);
                GEMM_W_ADDR.set(&mut w, g.weights);
            }
        }
        w
    }

    /// Decode a 256-bit word.
    pub fn decode(w: &[u8; INSN_BYTES]) -> Result<Insn, IsaError> {
        let op = OPCODE.get(w) as u8;
        if Opcode::from_u8(op).is_some() && RESERVED.get(w) != 0 {
            return Err(IsaError::BadField { field: "RESERVED", value: RESERVED.get(w) });
        }
        match Opcode::from_u8(op) {
            Some(Opcode::Load) | Some(Opcode::Store) => {
                let d = Dma {
                    sp: BankAddr { bank: DMA_BANK.get(w) as u8, addr: DMA_ADDR.get(w) as u32 },
                    sp_stride: DMA_STRIDE.get(w) as u32,
                    rows: DMA_ROWS.get(w) as u16,
                    words: DMA_WORDS.get(w) as u32,
                    dram: DMA_DRAM_ADDR.get(w),
                    dram_stride: DMA_DRAM_STRIDE.get(w),
                };
                Ok(if op == Opcode::Load as u8 { Insn::Load(d) } else { Insn::Store(d) })
            }
            Some(Opcode::Gemm) => {
                let flags = GEMM_FLAGS.get(w);
                let mode = match flags >> 1 {
                    0 => OutMode::Int8,
                    v => return Err(IsaError::BadField { field: "GEMM_FLAGS.mode", value: v }),
                };
                Ok(Insn::Gemm(Gemm {
                    m: GEMM_M.get(w) as u16,
                    k: GEMM_K.get(w) as u16,
                    n: GEMM_N.get(w) as u16,
                    a: BankAddr { bank: GEMM_A_BANK.get(w) as u8, addr: GEMM_A_ADDR.get(w) as u32 },
                    a_stride: GEMM_A_STRIDE.get(w) as u32,
                    a_unsigned: flags & GEMM_FLAG_A_UNSIGNED != 0,
                    out: BankAddr { bank: GEMM_O_BANK.get(w) as u8, addr: GEMM_O_ADDR.get(w) as u32 },
                    out_stride: GEMM_O_STRIDE.get(w) as u32,
                    mode,
                    weights: GEMM_W_ADDR.get(w),
                }))
            }
            None => Err(IsaError::BadOpcode(op)),
        }
    }
}

/// The instruction encoding as Markdown (generated into `docs/ISA.md`).
pub fn to_markdown() -> String {
    let mut s = String::from("# vitaccel instruction encoding\n\n");
    s += "Generated from `spec::isa` by `vitaccel verilog`; do not edit. Instructions are 256-bit \
          little-endian words (32 bytes); bit 0 is bit 0 of byte 0.\n\n";
    s += "| opcode | value | meaning |\n|---|---|---|\n";
    s += "| LOAD | 1 | DRAM -> scratchpad bank, `rows` rows of `words` words |\n";
    s += "| STORE | 2 | scratchpad bank -> DRAM |\n";
    s += "| GEMM | 3 | `out = requant_i8(A W^T + bias)`, weights streamed from DRAM |\n\n";
    s += "| field | bits | width |\n|---|---|---|\n";
    let mut fields = FIELDS.to_vec();
    fields.sort_by_key(|f| (!f.name.starts_with("OPCODE"), f.name.starts_with("GEMM"), f.lsb));
    for f in fields {
        s += &format!("| `{}` | {}..{} | {} |\n", f.name, f.lsb, f.lsb + f.width - 1, f.width);
    }
    s += "\nWeight stream of a GEMM (`K x N` on an `R x C` array), per n-tile of C channels: a header of \
          C little-endian int32 biases and C requantization words (`m | s << 16`, m < 2^15, s <= 62), \
          then `ceil(K/R)` tiles of R rows, one R-byte word per row with the C weights of that \
          reduction index in bytes 0..C. Padding is zero.\n";
    s
}

/// Bytes of the per-n-tile header of a weight stream: `C` int32 biases then `C` u32 requant words.
pub fn weight_header_bytes(cols: usize) -> usize {
    8 * cols
}

/// Requantization word of the weight-stream header: `m | s << 16`.
pub fn requant_word(d: crate::numerics::Dyadic) -> u32 {
    d.m as u32 | (d.s as u32) << 16
}

/// Words (of `R` bytes) of a GEMM weight stream for `K x N` on an `R x C` array:
/// per n-tile, the header, then `ceil(K/R)` tiles of `R` rows, one word per row (C bytes used).
pub fn weight_stream_words(k: usize, n: usize, rows: usize, cols: usize) -> usize {
    n.div_ceil(cols) * (weight_header_bytes(cols) / rows + k.div_ceil(rows) * rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_instruction_bit_belongs_to_a_field() {
        let mut used = [false; 256];
        for f in FIELDS {
            for b in f.lsb..f.lsb + f.width {
                used[b as usize] = true;
            }
        }
        assert!(used.iter().all(|&u| u), "unassigned bits would be silently ignored by the decoder");
    }

    #[test]
    fn fields_do_not_overlap_within_an_opcode() {
        let groups: [&[Field]; 2] = [
            &[OPCODE, DMA_BANK, DMA_ADDR, DMA_ROWS, DMA_WORDS, DMA_STRIDE, DMA_DRAM_ADDR, DMA_DRAM_STRIDE, RESERVED],
            &[
                OPCODE,
                GEMM_FLAGS,
                GEMM_M,
                GEMM_K,
                GEMM_N,
                GEMM_A_BANK,
                GEMM_A_ADDR,
                GEMM_A_STRIDE,
                GEMM_O_BANK,
                GEMM_O_ADDR,
                GEMM_O_STRIDE,
                GEMM_W_ADDR,
                RESERVED,
            ],
        ];
        for g in groups {
            let mut used = [false; 256];
            for f in g {
                for b in f.lsb..f.lsb + f.width {
                    assert!(!used[b as usize], "{} overlaps at bit {b}", f.name);
                    used[b as usize] = true;
                }
            }
        }
        assert!(FIELDS.iter().all(|f| f.lsb + f.width <= 256));
    }

    fn bank_addr() -> impl Strategy<Value = BankAddr> {
        (0u8..16, 0u32..(1 << 20)).prop_map(|(bank, addr)| BankAddr { bank, addr })
    }

    proptest! {
        #[test]
        fn dma_round_trips(sp in bank_addr(), st in 0u32..(1 << 20), rows: u16, words: u32,
                           dram in 0u64..(1 << 40), ds in 0u64..(1 << 40), load: bool) {
            let d = Dma { sp, sp_stride: st, rows, words, dram, dram_stride: ds };
            let i = if load { Insn::Load(d) } else { Insn::Store(d) };
            prop_assert_eq!(Insn::decode(&i.encode()), Ok(i));
        }

        #[test]
        fn gemm_round_trips(m: u16, k: u16, n: u16, a in bank_addr(), o in bank_addr(), sa in 0u32..(1 << 20),
                            so in 0u32..(1 << 20), w in 0u64..(1 << 40), uns: bool) {
            let g = Gemm { m, k, n, a, a_stride: sa, a_unsigned: uns, out: o, out_stride: so, mode: OutMode::Int8, weights: w };
            prop_assert_eq!(Insn::decode(&Insn::Gemm(g).encode()), Ok(Insn::Gemm(g)));
        }
    }

    #[test]
    fn bad_opcodes_and_modes_are_rejected() {
        let mut w = [0u8; INSN_BYTES];
        assert_eq!(Insn::decode(&w), Err(IsaError::BadOpcode(0)));
        w[0] = 0x7f;
        assert_eq!(Insn::decode(&w), Err(IsaError::BadOpcode(0x7f)));
        OPCODE.set(&mut w, Opcode::Gemm as u64);
        GEMM_FLAGS.set(&mut w, 0b110);
        assert!(matches!(Insn::decode(&w), Err(IsaError::BadField { .. })));
        GEMM_FLAGS.set(&mut w, 0);
        RESERVED.set(&mut w, 1);
        assert!(matches!(Insn::decode(&w), Err(IsaError::BadField { field: "RESERVED", .. })));
    }

    #[test]
    fn field_bits_are_little_endian() {
        let mut w = [0u8; INSN_BYTES];
        GEMM_M.set(&mut w, 0x1234);
        assert_eq!((w[2], w[3]), (0x34, 0x12));
    }
}
