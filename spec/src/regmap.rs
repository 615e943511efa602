//! The AXI4-Lite register map (32-bit registers). The RTL register block, the host drivers and the
//! generated C header / JSON / Markdown all come from [`REGISTERS`].

use crate::AccelConfig;
use serde::Serialize;

/// Access type of a register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Access {
    /// Read only.
    RO,
    /// Read/write.
    RW,
    /// Write 1 to trigger; reads 0.
    W1,
}

/// One 32-bit register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Register {
    /// Name (C macro suffix).
    pub name: &'static str,
    /// Byte offset.
    pub offset: u32,
    /// Access.
    pub access: Access,
    /// What it holds.
    pub doc: &'static str,
}

macro_rules! registers {
    ($($id:ident = ($off:expr, $acc:ident, $doc:expr);)*) => {
        $( #[doc = $doc] pub const $id: Register = Register { name: stringify!($id), offset: $off, access: Access::$acc, doc: $doc }; )*
        /// Every register, by offset.
        pub const REGISTERS: &[Register] = &[$($id),*];
    };
}

registers! {
    CTRL = (0x00, W1, "bit 0: START (run INSN_COUNT instructions from INSN_BASE; clears DONE/ERROR and the counters)");
    STATUS = (0x04, RO, "bit 0: BUSY, bit 1: DONE (sticky until START), bit 2: ERROR");
    ERROR_CODE = (0x08, RO, "0 none, 1 bad opcode, 2 bad field or unmeetable dependency counts, 3 AXI error response, 4 scratchpad bank conflict");
    ERROR_INSN = (0x0C, RO, "index of the instruction that raised ERROR (the last one dispatched for AXI errors)");
    INSN_BASE_LO = (0x10, RW, "DRAM byte address of instruction 0, bits 31:0");
    INSN_BASE_HI = (0x14, RW, "DRAM byte address of instruction 0, bits 39:32");
    INSN_COUNT = (0x18, RW, "instructions to run");
    INSN_DONE = (0x1C, RO, "instructions completed since START (after an error: those before the failing one)");
    CYCLES_LO = (0x20, RO, "cycles from START to DONE, bits 31:0");
    CYCLES_HI = (0x24, RO, "cycles from START to DONE, bits 63:32");
    ACTIVE_LO = (0x28, RO, "cycles in which a row entered the systolic array, bits 31:0 (PE utilization = ACTIVE / CYCLES)");
    ACTIVE_HI = (0x2C, RO, "cycles in which a row entered the systolic array, bits 63:32");
    CONFIG_HASH = (0x30, RO, "CONFIG_HASH of the configuration the hardware was built from");
    HW_INFO = (0x34, RO, "bits 7:0 array rows, 15:8 array cols, 20:16 banks, 31:24 ISA version");
    SCRATCH = (0x38, RW, "free register for bus tests");
    DMA_BUSY = (0x3C, RO, "cycles the DMA unit was executing an instruction (since START)");
    GEMM_BUSY = (0x40, RO, "cycles the GEMM unit was executing an instruction (since START)");
    VEC_BUSY = (0x44, RO, "cycles the vector unit was executing an instruction (since START)");
    LIVE_TOKENS = (0x48, RW, "bits 15:0: live token count; sizes of instructions with LIVE_SIZES bits are taken from it at dispatch");
}

/// Address bits of the AXI4-Lite slave (`s_axi_awaddr`/`s_axi_araddr` width).
pub const ADDR_BITS: u32 = 12;

/// Bytes of the register window the slave decodes (`2^ADDR_BITS`): the size of the
/// address segment a block design assigns it and of the UIO map a board driver maps.
pub const WINDOW_BYTES: u32 = 1 << ADDR_BITS;

// Every register lies inside the window.
const _: () = assert!(REGISTERS[REGISTERS.len() - 1].offset + 4 <= WINDOW_BYTES);

/// The register at byte `offset`, if any.
pub fn by_offset(offset: u32) -> Option<&'static Register> {
    REGISTERS.iter().find(|r| r.offset == offset)
}

/// The register called `name` (case-insensitive), if any.
pub fn by_name(name: &str) -> Option<&'static Register> {
    REGISTERS.iter().find(|r| r.name.eq_ignore_ascii_case(name))
}

/// Error codes of [`ERROR_CODE`].
pub mod error_code {
    /// No error.
    pub const NONE: u32 = 0;
    /// Unknown opcode.
    pub const BAD_OPCODE: u32 = 1;
    /// A field out of range for this configuration (bank, address, size), or dependency counts
    /// that can never be met (every unit idle, the counts still short).
    pub const BAD_FIELD: u32 = 2;
    /// The memory answered SLVERR or DECERR.
    pub const AXI_ERROR: u32 = 3;
    /// Two units used one scratchpad bank port in the same cycle (a compiler bug: instructions
    /// that may run concurrently must use disjoint banks; `host::device::golden` checks it).
    pub const BANK_CONFLICT: u32 = 4;
}

/// Status bits of [`STATUS`].
pub mod status {
    /// Running.
    pub const BUSY: u32 = 1;
    /// Finished (sticky until the next START).
    pub const DONE: u32 = 2;
    /// Stopped on an error.
    pub const ERROR: u32 = 4;
}

/// Value of [`HW_INFO`] for a configuration.
pub fn hw_info(cfg: &AccelConfig) -> u32 {
    cfg.array_rows as u32 | (cfg.array_cols as u32) << 8 | (cfg.banks as u32) << 16 | crate::FORMAT_VERSIONS.1 << 24
}

/// The register map as JSON (with the configuration and its hash).
pub fn to_json(cfg: &AccelConfig) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "config": cfg,
        "config_hash": format!("{:#010x}", cfg.hash()),
        "registers": REGISTERS,
    }))
    .expect("serializable")
}

/// The register map as a C header.
pub fn to_c_header(cfg: &AccelConfig) -> String {
    let mut s = String::from("/* Generated by `vitaccel verilog` from spec::regmap. Do not edit. */\n");
    s += "#ifndef VITACCEL_REGS_H\n#define VITACCEL_REGS_H\n\n";
    s += &format!("#define VITACCEL_CONFIG_HASH 0x{:08x}u\n", cfg.hash());
    s += &format!("#define VITACCEL_HW_INFO 0x{:08x}u\n", hw_info(cfg));
    s += &format!("#define VITACCEL_INSN_BYTES {}\n\n", crate::isa::INSN_BYTES);
    for r in REGISTERS {
        s += &format!("/* {} ({:?}) */\n#define VITACCEL_REG_{} 0x{:02x}u\n", r.doc, r.access, r.name, r.offset);
    }
    s += "\n#endif /* VITACCEL_REGS_H */\n";
    s
}

/// The register map as Markdown.
pub fn to_markdown(cfg: &AccelConfig) -> String {
    let mut s = String::from("# vitaccel register map (AXI4-Lite, 32-bit)\n\n");
    s += &format!(
        "Generated from `spec::regmap` for a {}x{} array, CONFIG_HASH `{:#010x}`. Do not edit.\n\n",
        cfg.array_rows,
        cfg.array_cols,
        cfg.hash()
    );
    s += "| offset | name | access | description |\n|---|---|---|---|\n";
    for r in REGISTERS {
        s += &format!("| `0x{:02x}` | `{}` | {:?} | {} |\n", r.offset, r.name, r.access, r.doc);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_unique_aligned_and_sorted() {
        for w in REGISTERS.windows(2) {
            assert!(w[0].offset < w[1].offset, "{} / {}", w[0].name, w[1].name);
        }
        assert!(REGISTERS.iter().all(|r| r.offset % 4 == 0));
    }

    #[test]
    fn lookups_find_each_register_by_offset_and_name() {
        for r in REGISTERS {
            assert_eq!(by_offset(r.offset), Some(r));
            assert_eq!(by_name(&r.name.to_lowercase()), Some(r));
        }
        assert_eq!(by_offset(0x02), None);
        assert_eq!(by_name("NO_SUCH_REG"), None);
        assert_eq!(WINDOW_BYTES, 4096);
    }

    #[test]
    fn generated_views_name_every_register() {
        let cfg = AccelConfig::default();
        let (h, j, m) = (to_c_header(&cfg), to_json(&cfg), to_markdown(&cfg));
        for r in REGISTERS {
            assert!(h.contains(&format!("#define VITACCEL_REG_{} 0x{:02x}u", r.name, r.offset)));
            assert!(j.contains(r.name) && m.contains(r.name));
        }
        assert!(h.contains(&format!("0x{:08x}u", cfg.hash())));
    }
}
