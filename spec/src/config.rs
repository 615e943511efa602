//! Accelerator configuration: the one set of hardware parameters consumed by golden, hdl, sim and host.

use crate::model::ModelShape;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Hardware parameters of one accelerator build. Changing any field changes [`AccelConfig::hash`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccelConfig {
    /// PE rows `R` of the systolic array.
    pub array_rows: usize,
    /// PE columns `C` of the systolic array.
    pub array_cols: usize,
    /// Token-buffer depth: most live tokens a model may ever have.
    pub max_tokens: usize,
    /// Widest activation row a buffer holds (embedding, QKV, MLP hidden width).
    pub max_width: usize,
    /// Most attention heads in a block or selector.
    pub max_heads: usize,
    /// Scratchpad banks (each one read and one write port).
    pub banks: usize,
    /// Words of `R` bytes per bank (a power of two).
    pub bank_words: usize,
    /// Depth of the weight-stream FIFO in words (a power of two).
    pub weight_fifo_words: usize,
    /// Clock used for latency projections, MHz.
    pub clock_mhz: f64,
    /// Two int8 MACs per DSP multiplier: each pair of array columns shares one wide multiply
    /// (Xilinx WP486; fits a DSP48E1 or DSP48E2). Turn it off for targets whose multipliers are
    /// 18 x 18 (Lattice ECP5), where a packed product needs two. Results and cycles do not change.
    #[serde(default = "packing_default")]
    pub dsp_packing: bool,
    /// Physical lanes of the vector unit (LayerNorm, softmax), a power of two in
    /// `MIN_VECTOR_LANES..=array_rows`; `None` (the default) is one lane per array row. With
    /// fewer lanes the unit folds each `R`-byte scratchpad word over `R / lanes` cycles: its
    /// multipliers shrink by that factor and its ops take that much longer (cycles in
    /// [`crate::timing::vector::vec_cycles`]). Results do not change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector_lanes: Option<usize>,
    /// Multiply-accumulate lanes (each with its divider) of the token selector's column pass
    /// (COLMEAN and the SELECT package token), a power of two in `R / 16..=array_rows`; `None`
    /// (a config file without the field) is one lane per array row. With fewer lanes the pass
    /// takes each word's channels `lanes` at a time over `R / lanes` passes: its multipliers and
    /// dividers shrink by that factor and the pass takes about that much longer (cycles in
    /// [`crate::timing::select`]). Results do not change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_lanes: Option<usize>,
}

/// [`AccelConfig::dsp_packing`] when a config file does not say: on (Xilinx is the default target).
fn packing_default() -> bool {
    true
}

impl Default for AccelConfig {
    /// The default simulation configuration: a 16x16 array sized for DeiT-Tiny-shaped models.
    fn default() -> Self {
        AccelConfig {
            array_rows: 16,
            array_cols: 16,
            max_tokens: 256,
            max_width: 1024,
            max_heads: 16,
            banks: 12,
            bank_words: 16384,
            weight_fifo_words: 64,
            clock_mhz: 300.0,
            dsp_packing: true,
            vector_lanes: Some(8),
            select_lanes: Some(4),
        }
    }
}

/// A configuration that cannot be built, or a model that does not fit a configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// A parameter is out of its legal range.
    #[error("invalid accelerator config: {0}")]
    Invalid(String),
    /// The config file could not be read or parsed.
    #[error("cannot read accelerator config {path}: {msg}")]
    Read {
        /// File path.
        path: String,
        /// What went wrong.
        msg: String,
    },
    /// A model exceeds a hardware limit.
    #[error("model exceeds the hardware: {what} is {value}, the limit ({limit_name}) is {limit}")]
    ModelTooLarge {
        /// Which model quantity.
        what: String,
        /// Its value.
        value: usize,
        /// The config field that limits it.
        limit_name: &'static str,
        /// The limit.
        limit: usize,
    },
}

/// Hardware limits every [`AccelConfig`] is checked against ([`AccelConfig::validate`]). Each is
/// the bound some hardware module asserts, stated once here with the reason.
pub mod limits {
    /// Smallest array height `R`: the AXI data width `8R` is at least 64 bits.
    pub const MIN_ARRAY_ROWS: usize = 8;
    /// Largest array height `R`: a 512-bit instruction is a whole number of `8R`-bit beats, and
    /// the generator instantiates word widths up to 512 bits.
    pub const MAX_ARRAY_ROWS: usize = 64;
    /// Smallest array width `C`: the GEMM output path packs at least four lanes per header word.
    pub const MIN_ARRAY_COLS: usize = 4;
    /// Fewest scratchpad banks.
    pub const MIN_BANKS: usize = 2;
    /// Most scratchpad banks: bank numbers are 4-bit instruction fields.
    pub const MAX_BANKS: usize = 16;
    /// Most words per bank: scratchpad addresses are 20-bit instruction fields.
    pub const MAX_BANK_WORDS: usize = 1 << 20;
    /// Deepest weight FIFO: its fill counter is 16 bits.
    pub const MAX_WEIGHT_FIFO_WORDS: usize = 1 << 15;
    /// Fewest tokens: the GEMM accumulator RAM (`max_tokens` rounded up to a power of two rows)
    /// needs at least one address bit.
    pub const MIN_TOKENS: usize = 2;
    /// Most tokens: token counts are 16-bit fields and the selector's weight sum must fit
    /// [`SELECT_TOTAL_BITS`]; kept at a size a token buffer can hold.
    pub const MAX_TOKENS: usize = 4096;
    /// Widest activation row: the accumulator proof ([`crate::numerics::MAX_REDUCTION`]).
    pub const MAX_WIDTH: usize = crate::numerics::MAX_REDUCTION;
    /// Most heads in a block or selector: the selector's per-token weight
    /// `heads * 255^2 + 1` must fit [`SELECT_WEIGHT_BITS`].
    pub const MAX_HEADS: usize = 32;
    /// Bits of one token's weight in the selector's token RAM.
    pub const SELECT_WEIGHT_BITS: u32 = 21;
    /// Bits of the selector's sum of dropped-token weights.
    pub const SELECT_TOTAL_BITS: u32 = 32;
    /// Fewest vector-unit lanes: the LayerNorm parameter load routes a beta word (4 bytes a
    /// channel) to a quarter of the lanes.
    pub const MIN_VECTOR_LANES: usize = 4;
    /// Most passes of the selector's column pass over one word (`R / select_lanes`).
    pub const MAX_SELECT_FOLD: usize = 16;
    /// Clock range accepted for latency projections, MHz (exclusive bounds).
    pub const CLOCK_MHZ_RANGE: (f64, f64) = (0.0, 2000.0);

    // The head limit keeps every selector token weight inside its register.
    const _: () = assert!((MAX_HEADS as u64) * 255 * 255 + 1 < 1 << SELECT_WEIGHT_BITS);
}

/// `Ok` if `ok`, else the [`ConfigError::Invalid`] with `msg` (Gemmini's `require`).
fn require(ok: bool, msg: impl FnOnce() -> String) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Invalid(msg()))
    }
}

/// `field = value` must lie in `lo..=hi`; `why` says which hardware needs the bound.
fn require_range(field: &str, value: usize, lo: usize, hi: usize, why: &str) -> Result<(), ConfigError> {
    require((lo..=hi).contains(&value), || format!("{field} = {value} is outside the limit {lo}..={hi} ({why})"))
}

/// `field = value` must be a power of two.
fn require_pow2(field: &str, value: usize) -> Result<(), ConfigError> {
    require(value.is_power_of_two(), || format!("{field} = {value} must be a power of two"))
}

impl AccelConfig {
    /// Check every parameter against the [`limits`] the hardware modules assume, and the
    /// relations between them: `R` a power of two in 8..=64 (the AXI data width is `8R` bits,
    /// 64..=512), `C` a power of two in 4..=R with `4C >= R`, buffers hold a full activation
    /// matrix, widths fit the accumulator proof and the selector's weight registers. No
    /// configuration that passes can make Verilog generation fail.
    pub fn validate(&self) -> Result<(), ConfigError> {
        use limits::*;
        require_range(
            "array_rows",
            self.array_rows,
            MIN_ARRAY_ROWS,
            MAX_ARRAY_ROWS,
            "AXI data width 8R of 64..=512 bits",
        )?;
        require_pow2("array_rows", self.array_rows)?;
        require_range("array_cols", self.array_cols, MIN_ARRAY_COLS, MAX_ARRAY_ROWS, "GEMM output lanes")?;
        require_pow2("array_cols", self.array_cols)?;
        require(4 * self.array_cols >= self.array_rows, || {
            format!(
                "array_rows = {} exceeds the limit 4 x array_cols = {} (a weight-stream header word holds R/4 channels)",
                self.array_rows,
                4 * self.array_cols
            )
        })?;
        require(self.array_cols <= self.array_rows, || {
            format!(
                "array_cols = {} exceeds the limit array_rows = {} (a tile row must fit one scratchpad word)",
                self.array_cols, self.array_rows
            )
        })?;
        require_range("banks", self.banks, MIN_BANKS, MAX_BANKS, "4-bit bank fields")?;
        require_range("bank_words", self.bank_words, 1, MAX_BANK_WORDS, "20-bit scratchpad addresses")?;
        require_pow2("bank_words", self.bank_words)?;
        require_range(
            "weight_fifo_words",
            self.weight_fifo_words,
            2 * self.array_rows,
            MAX_WEIGHT_FIFO_WORDS,
            "at least two tiles of array_rows words; a 16-bit fill counter",
        )?;
        require_pow2("weight_fifo_words", self.weight_fifo_words)?;
        require_range("max_tokens", self.max_tokens, MIN_TOKENS, MAX_TOKENS, "token buffer depth")?;
        require_range("max_width", self.max_width, 1, MAX_WIDTH, "the int32 accumulator proof")?;
        require_range("max_heads", self.max_heads, 1, MAX_HEADS, "the selector's 21-bit token weights")?;
        require(self.select_weight_total_bound() < 1 << SELECT_TOTAL_BITS, || {
            format!(
                "max_tokens x (max_heads x 255^2 + 1) = {} x {} exceeds the limit 2^{SELECT_TOTAL_BITS} \
                 (the selector's sum of token weights); lower max_tokens or max_heads",
                self.max_tokens,
                self.select_max_weight()
            )
        })?;
        let matrix_words = self.max_tokens * self.max_width.div_ceil(self.array_rows);
        require(matrix_words <= self.bank_words, || {
            format!(
                "bank_words = {} is below the limit max_tokens x ceil(max_width / array_rows) = {} x {} = {matrix_words} \
                 (a bank holds one full activation matrix)",
                self.bank_words,
                self.max_tokens,
                self.max_width.div_ceil(self.array_rows)
            )
        })?;
        if let Some(lanes) = self.vector_lanes {
            require_range(
                "vector_lanes",
                lanes,
                MIN_VECTOR_LANES,
                self.array_rows,
                "a quarter of the lanes takes a beta word; at most one lane per array row",
            )?;
            require_pow2("vector_lanes", lanes)?;
            require(self.bank_words * self.vector_fold() <= MAX_BANK_WORDS, || {
                format!(
                    "bank_words x array_rows / vector_lanes = {} exceeds the limit {MAX_BANK_WORDS} \
                     (the folded vector unit addresses {}-byte slices of a word with 20 bits)",
                    self.bank_words * self.vector_fold(),
                    lanes
                )
            })?;
        }
        if let Some(lanes) = self.select_lanes {
            require_range(
                "select_lanes",
                lanes,
                self.array_rows.div_ceil(MAX_SELECT_FOLD),
                self.array_rows,
                "a word's channels in at most 16 passes; at most one lane per array row",
            )?;
            require_pow2("select_lanes", lanes)?;
        }
        let (lo, hi) = CLOCK_MHZ_RANGE;
        require(self.clock_mhz > lo && self.clock_mhz < hi, || {
            format!("clock_mhz = {} is outside the limit ({lo}, {hi}) MHz", self.clock_mhz)
        })
    }

    /// Largest weight of one token in the selector's token RAM: `max_heads * 255^2 + 1` (it fits
    /// [`limits::SELECT_WEIGHT_BITS`] for every `max_heads <= limits::MAX_HEADS`).
    pub fn select_max_weight(&self) -> u64 {
        (self.max_heads as u64).saturating_mul(255 * 255).saturating_add(1)
    }

    /// Bound on the selector's sum of the dropped tokens' weights: `max_tokens * select_max_weight()`.
    pub fn select_weight_total_bound(&self) -> u64 {
        (self.max_tokens as u64).saturating_mul(self.select_max_weight())
    }

    /// Load from a `.toml` or `.json` file (by extension) and validate.
    pub fn load(path: &Path) -> Result<AccelConfig, ConfigError> {
        let read_err = |msg: String| ConfigError::Read { path: path.display().to_string(), msg };
        let text = std::fs::read_to_string(path).map_err(|e| read_err(e.to_string()))?;
        let cfg: AccelConfig = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| read_err(e.to_string()))?
        } else {
            toml::from_str(&text).map_err(|e| read_err(e.to_string()))?
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Number of processing elements `R * C`.
    pub fn pes(&self) -> usize {
        self.array_rows * self.array_cols
    }

    /// Physical lanes of the vector unit ([`AccelConfig::vector_lanes`], else `R`).
    pub fn vec_lanes(&self) -> usize {
        self.vector_lanes.unwrap_or(self.array_rows)
    }

    /// Cycles the vector unit spends on each scratchpad word: `R / vec_lanes()` (1 unfolded).
    pub fn vector_fold(&self) -> usize {
        self.array_rows / self.vec_lanes()
    }

    /// Lanes of the token selector's column pass ([`AccelConfig::select_lanes`], else `R`).
    pub fn sel_lanes(&self) -> usize {
        self.select_lanes.unwrap_or(self.array_rows)
    }

    /// Bytes per scratchpad word, DMA beat and weight-FIFO entry: `R`.
    pub fn word_bytes(&self) -> usize {
        self.array_rows
    }

    /// Data width of the AXI4 master in bits (one scratchpad word per beat).
    pub fn axi_data_bits(&self) -> usize {
        8 * self.array_rows
    }

    /// Bits of a scratchpad word address.
    pub fn bank_addr_bits(&self) -> usize {
        self.bank_words.trailing_zeros() as usize
    }

    /// The small configuration used by fast co-simulation tests: 8x8, K up to 4096, DSP packing
    /// off (the default config has it on, so co-simulation covers both pair multipliers).
    pub fn small() -> Self {
        AccelConfig {
            array_rows: 8,
            array_cols: 8,
            max_tokens: 32,
            max_width: 4096,
            max_heads: 8,
            banks: 12,
            bank_words: 16384,
            weight_fifo_words: 32,
            clock_mhz: 300.0,
            dsp_packing: false,
            vector_lanes: None,
            select_lanes: None,
        }
    }

    /// 32-bit CONFIG_HASH: FNV-1a over the canonical JSON of the config and the numerics/ISA
    /// versions. The hardware exposes it in a register; host and harness refuse a mismatch.
    pub fn hash(&self) -> u32 {
        let canon = serde_json::to_string(&(self, crate::FORMAT_VERSIONS)).expect("config serializes");
        let h = crate::fnv1a64(canon.as_bytes());
        (h ^ (h >> 32)) as u32
    }

    /// Check that a model fits this hardware; the error names the first limit exceeded.
    pub fn check_model(&self, m: &ModelShape) -> Result<(), ConfigError> {
        let too_large = |what: String, value: usize, limit_name: &'static str, limit: usize| {
            Err(ConfigError::ModelTooLarge { what, value, limit_name, limit })
        };
        if m.max_live_tokens() > self.max_tokens {
            return too_large("token count".into(), m.max_live_tokens(), "max_tokens", self.max_tokens);
        }
        let mut widths = vec![("embedding width E".to_string(), m.embed), ("patch length".into(), m.patch_dim())];
        for (b, blk) in m.blocks.iter().enumerate() {
            widths.push((format!("block {b} QKV width h*(2qk+v)"), blk.qkv_width()));
            widths.push((format!("block {b} MLP width"), blk.mlp));
            if blk.heads > self.max_heads {
                return too_large(format!("block {b} heads"), blk.heads, "max_heads", self.max_heads);
            }
        }
        for (s, sel) in m.selectors.iter().enumerate() {
            if sel.heads > self.max_heads {
                return too_large(format!("selector {s} heads"), sel.heads, "max_heads", self.max_heads);
            }
        }
        for (what, w) in widths {
            if w > self.max_width {
                return too_large(what, w, "max_width", self.max_width);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numerics::MAX_REDUCTION;

    #[test]
    fn default_is_valid_and_hash_tracks_every_field() {
        let c = AccelConfig::default();
        c.validate().unwrap();
        let h = c.hash();
        let variants = [
            AccelConfig { array_rows: 8, ..c.clone() },
            AccelConfig { array_cols: 8, ..c.clone() },
            AccelConfig { max_tokens: 255, ..c.clone() },
            AccelConfig { max_width: 512, ..c.clone() },
            AccelConfig { max_heads: 8, ..c.clone() },
            AccelConfig { banks: 8, ..c.clone() },
            AccelConfig { bank_words: 32768, ..c.clone() },
            AccelConfig { weight_fifo_words: 128, ..c.clone() },
            AccelConfig { clock_mhz: 200.0, ..c.clone() },
            AccelConfig { dsp_packing: false, ..c.clone() },
            AccelConfig { vector_lanes: None, ..c.clone() },
            AccelConfig { vector_lanes: Some(4), ..c.clone() },
            AccelConfig { select_lanes: None, ..c.clone() },
            AccelConfig { select_lanes: Some(8), ..c.clone() },
        ];
        for v in variants {
            assert_ne!(v.hash(), h, "{v:?}");
        }
        assert_eq!(c.clone().hash(), h);
    }

    #[test]
    fn invalid_configs_are_rejected() {
        let c = AccelConfig::default();
        assert!(AccelConfig { array_rows: 12, ..c.clone() }.validate().is_err());
        assert!(AccelConfig { array_cols: 256, ..c.clone() }.validate().is_err());
        assert!(AccelConfig { max_tokens: 0, ..c.clone() }.validate().is_err());
        assert!(AccelConfig { array_cols: 32, ..c.clone() }.validate().is_err(), "C > R");
        assert!(AccelConfig { array_rows: 128, array_cols: 128, ..c.clone() }.validate().is_err(), "R > 64");
        assert!(AccelConfig { bank_words: 1000, ..c.clone() }.validate().is_err());
        assert!(AccelConfig { bank_words: 1024, ..c.clone() }.validate().is_err(), "too small for a matrix");
        assert!(AccelConfig { weight_fifo_words: 16, ..c.clone() }.validate().is_err());
        AccelConfig::small().validate().unwrap();
        assert!(AccelConfig { max_width: MAX_REDUCTION + 1, ..c }.validate().is_err());
    }

    /// The error of `cfg`, which must be invalid.
    fn invalid(cfg: AccelConfig) -> String {
        match cfg.validate() {
            Err(ConfigError::Invalid(m)) => m,
            other => panic!("{cfg:?} should be invalid, got {other:?}"),
        }
    }

    /// A small valid base for the bound tests: 8x8, 64 tokens x 256 channels in 4096-word banks.
    fn base() -> AccelConfig {
        AccelConfig {
            array_rows: 8,
            array_cols: 8,
            max_tokens: 64,
            max_width: 256,
            max_heads: 8,
            banks: 4,
            bank_words: 4096,
            weight_fifo_words: 32,
            clock_mhz: 250.0,
            dsp_packing: true,
            vector_lanes: None,
            select_lanes: None,
        }
    }

    /// Each field at, just inside and just outside its hardware bound (the numbers are the
    /// widths of the hardware registers and instruction fields, written out here independently
    /// of `limits`); a rejection names the field, the value and the limit.
    #[test]
    fn every_field_is_checked_at_its_bounds() {
        let b = base();
        b.validate().unwrap();
        let tiny = AccelConfig { max_tokens: 2, max_width: 8, ..b.clone() };
        let ok = [
            AccelConfig { max_heads: 32, ..b.clone() },
            AccelConfig { max_heads: 1, ..b.clone() },
            AccelConfig { banks: 2, ..b.clone() },
            AccelConfig { banks: 16, ..b.clone() },
            AccelConfig { bank_words: 1 << 20, ..b.clone() },
            AccelConfig { weight_fifo_words: 16, ..b.clone() },
            AccelConfig { weight_fifo_words: 1 << 15, ..b.clone() },
            AccelConfig { max_tokens: 2, ..b.clone() },
            AccelConfig { max_width: 1, ..b.clone() },
            AccelConfig { max_tokens: 4096, max_width: 8, max_heads: 16, ..b.clone() },
            AccelConfig { max_width: 1 << 15, max_tokens: 2, bank_words: 8192, ..b.clone() },
            // 2064 x (32 x 255^2 + 1) = 4_294_773_264 < 2^32.
            AccelConfig { max_tokens: 2064, max_width: 8, max_heads: 32, ..b.clone() },
            AccelConfig { array_rows: 64, array_cols: 16, weight_fifo_words: 128, ..b.clone() },
            AccelConfig { array_rows: 16, array_cols: 4, ..b.clone() },
            AccelConfig { bank_words: 2, ..tiny.clone() },
            AccelConfig { clock_mhz: 1999.9, ..b.clone() },
            AccelConfig { clock_mhz: 0.001, ..b.clone() },
            AccelConfig { vector_lanes: Some(4), ..b.clone() },
            AccelConfig { vector_lanes: Some(8), ..b.clone() },
            AccelConfig { vector_lanes: Some(4), bank_words: 1 << 19, ..b.clone() },
            AccelConfig { select_lanes: Some(1), ..b.clone() },
            AccelConfig { select_lanes: Some(8), ..b.clone() },
            AccelConfig { array_rows: 64, array_cols: 16, weight_fifo_words: 128, select_lanes: Some(4), ..b.clone() },
        ];
        for c in ok {
            c.validate().unwrap_or_else(|e| panic!("{c:?}: {e}"));
        }
        let bad: [(AccelConfig, &[&str]); 36] = [
            (AccelConfig { select_lanes: Some(16), ..b.clone() }, &["select_lanes = 16", "1..=8"]),
            (AccelConfig { select_lanes: Some(0), ..b.clone() }, &["select_lanes = 0", "1..=8"]),
            (AccelConfig { select_lanes: Some(3), ..b.clone() }, &["select_lanes = 3", "power of two"]),
            (
                AccelConfig {
                    array_rows: 64,
                    array_cols: 16,
                    weight_fifo_words: 128,
                    select_lanes: Some(2),
                    ..b.clone()
                },
                &["select_lanes = 2", "4..=64"],
            ),
            (AccelConfig { vector_lanes: Some(2), ..b.clone() }, &["vector_lanes = 2", "4..=8"]),
            (AccelConfig { vector_lanes: Some(16), ..b.clone() }, &["vector_lanes = 16", "4..=8"]),
            (AccelConfig { vector_lanes: Some(6), ..b.clone() }, &["vector_lanes = 6", "power of two"]),
            (AccelConfig { vector_lanes: Some(4), bank_words: 1 << 20, ..b.clone() }, &["2097152", "1048576"]),
            (AccelConfig { max_heads: 33, ..b.clone() }, &["max_heads = 33", "1..=32"]),
            (AccelConfig { max_heads: 100_000, ..b.clone() }, &["max_heads = 100000", "1..=32"]),
            (AccelConfig { max_heads: 0, ..b.clone() }, &["max_heads = 0"]),
            (AccelConfig { banks: 1, ..b.clone() }, &["banks = 1", "2..=16"]),
            (AccelConfig { banks: 17, ..b.clone() }, &["banks = 17", "2..=16"]),
            (AccelConfig { bank_words: (1 << 20) + 1, ..b.clone() }, &["bank_words = 1048577", "1048576"]),
            (AccelConfig { bank_words: 1 << 21, ..b.clone() }, &["bank_words = 2097152"]),
            (AccelConfig { bank_words: 4095, ..b.clone() }, &["bank_words = 4095", "power of two"]),
            (AccelConfig { bank_words: 0, ..b.clone() }, &["bank_words = 0"]),
            (AccelConfig { bank_words: 1024, ..b.clone() }, &["bank_words = 1024", "64 x 32"]),
            (AccelConfig { weight_fifo_words: 8, ..b.clone() }, &["weight_fifo_words = 8", "16..=32768"]),
            (AccelConfig { weight_fifo_words: 1 << 16, ..b.clone() }, &["weight_fifo_words = 65536", "32768"]),
            (AccelConfig { weight_fifo_words: 1 << 62, ..b.clone() }, &["weight_fifo_words"]),
            (AccelConfig { weight_fifo_words: 48, ..b.clone() }, &["weight_fifo_words = 48", "power of two"]),
            (AccelConfig { max_tokens: 0, ..b.clone() }, &["max_tokens = 0", "2..=4096"]),
            (AccelConfig { max_tokens: 1, ..b.clone() }, &["max_tokens = 1", "2..=4096"]),
            (AccelConfig { max_tokens: 4097, max_width: 8, ..b.clone() }, &["max_tokens = 4097"]),
            (AccelConfig { max_tokens: usize::MAX, ..b.clone() }, &["max_tokens"]),
            (AccelConfig { max_width: 0, ..b.clone() }, &["max_width = 0"]),
            (AccelConfig { max_width: (1 << 15) + 1, ..b.clone() }, &["max_width = 32769", "1..=32768"]),
            (AccelConfig { max_width: usize::MAX, ..b.clone() }, &["max_width"]),
            // 2065 x 2_080_801 = 4_296_854_065 > 2^32.
            (AccelConfig { max_tokens: 2065, max_width: 8, max_heads: 32, ..b.clone() }, &["max_tokens", "2^32"]),
            (AccelConfig { array_rows: 4, array_cols: 4, ..b.clone() }, &["array_rows = 4", "8..=64"]),
            (AccelConfig { array_rows: 128, array_cols: 32, ..b.clone() }, &["array_rows = 128"]),
            (AccelConfig { array_rows: 32, array_cols: 4, ..b.clone() }, &["array_rows = 32", "4 x array_cols"]),
            (AccelConfig { array_cols: 2, ..b.clone() }, &["array_cols = 2", "4..=64"]),
            (AccelConfig { clock_mhz: f64::NAN, ..b.clone() }, &["clock_mhz = NaN"]),
            (AccelConfig { clock_mhz: 2000.0, ..b.clone() }, &["clock_mhz = 2000", "2000"]),
        ];
        for (c, needles) in bad {
            let m = invalid(c);
            for n in needles {
                assert!(m.contains(n), "message {m:?} lacks {n:?}");
            }
        }
        for v in [0.0, -1.0, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(invalid(AccelConfig { clock_mhz: v, ..b.clone() }).contains("clock_mhz"));
        }
    }

    #[test]
    fn loads_toml_and_json_and_rejects_unknown_fields() {
        let dir = std::env::temp_dir().join(format!("vitaccel-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let t = dir.join("a.toml");
        std::fs::write(
            &t,
            "array_rows = 8\narray_cols = 8\nmax_tokens = 64\nmax_width = 256\nmax_heads = 8\nbanks = 4\nbank_words = 4096\nweight_fifo_words = 32\nclock_mhz = 250.0\n",
        )
        .unwrap();
        let c = AccelConfig::load(&t).unwrap();
        assert_eq!((c.array_rows, c.max_tokens), (8, 64));
        let j = dir.join("a.json");
        std::fs::write(&j, serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(AccelConfig::load(&j).unwrap(), c);
        std::fs::write(&t, "array_rows = 8\nbogus = 1\n").unwrap();
        let e = AccelConfig::load(&t).unwrap_err().to_string();
        assert!(e.contains("bogus"), "{e}");
        std::fs::write(&t, "array_rows = 6\narray_cols = 8\nmax_tokens = 64\nmax_width = 256\nmax_heads = 8\nbanks = 4\nbank_words = 4096\nweight_fifo_words = 32\nclock_mhz = 250.0\n").unwrap();
        assert!(matches!(AccelConfig::load(&t), Err(ConfigError::Invalid(_))));
    }
}

#[cfg(test)]
mod shipped_configs {
    use super::*;

    /// Every configuration shipped in `configs/` loads and validates; the named presets equal
    /// their Rust definitions (one source of truth, the files are views of it).
    #[test]
    fn shipped_config_files_are_valid() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            let c = AccelConfig::load(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            match p.file_name().unwrap().to_str().unwrap() {
                "small-8x8.toml" => assert_eq!(c, AccelConfig::small()),
                "default-16x16.toml" => assert_eq!(c, AccelConfig::default()),
                _ => {}
            }
            n += 1;
        }
        assert!(n >= 4);
    }
}
