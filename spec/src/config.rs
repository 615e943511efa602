//! Accelerator configuration: the one set of hardware parameters consumed by golden, hdl, sim and host.

use crate::model::ModelShape;
use crate::numerics::MAX_REDUCTION;
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

impl AccelConfig {
    /// Check ranges: `R` a power of two in 8..=64 (the AXI data width is `8R` bits, 64..=512),
    /// `C` a power of two in 4..=R with `4C >= R`, buffers hold a full activation matrix,
    /// widths fit the accumulator proof.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        for (name, v, lo) in [("array_rows", self.array_rows, 8), ("array_cols", self.array_cols, 4)] {
            if !(lo..=64).contains(&v) || !v.is_power_of_two() {
                return bad(format!("{name} = {v} must be a power of two in {lo}..=64"));
            }
        }
        if 4 * self.array_cols < self.array_rows {
            return bad(format!(
                "array_rows = {} exceeds 4 x array_cols = {} (a weight-stream header word holds R/4 channels)",
                self.array_rows, self.array_cols
            ));
        }
        if self.array_cols > self.array_rows {
            return bad(format!(
                "array_cols = {} must not exceed array_rows = {} (a tile row must fit one scratchpad word)",
                self.array_cols, self.array_rows
            ));
        }
        if !(2..=16).contains(&self.banks) {
            return bad(format!("banks = {} must be in 2..=16", self.banks));
        }
        if !self.bank_words.is_power_of_two() || self.bank_words > 1 << 20 {
            return bad(format!("bank_words = {} must be a power of two <= 2^20", self.bank_words));
        }
        if !self.weight_fifo_words.is_power_of_two() || self.weight_fifo_words < 2 * self.array_rows {
            return bad(format!(
                "weight_fifo_words = {} must be a power of two >= 2 * array_rows",
                self.weight_fifo_words
            ));
        }
        if self.max_tokens == 0 || self.max_tokens > 4096 {
            return bad(format!("max_tokens = {} must be in 1..=4096", self.max_tokens));
        }
        if self.max_width == 0 || self.max_width > MAX_REDUCTION {
            return bad(format!("max_width = {} must be in 1..={MAX_REDUCTION}", self.max_width));
        }
        if self.max_heads == 0 {
            return bad("max_heads must be positive".into());
        }
        if self.max_tokens * self.max_width.div_ceil(self.array_rows) > self.bank_words {
            return bad(format!(
                "bank_words = {} cannot hold max_tokens x max_width = {} x {} bytes",
                self.bank_words, self.max_tokens, self.max_width
            ));
        }
        if !(self.clock_mhz > 0.0 && self.clock_mhz < 2000.0) {
            return bad(format!("clock_mhz = {} out of range", self.clock_mhz));
        }
        Ok(())
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

    /// The small configuration used by fast co-simulation tests: 8x8, K up to 4096.
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
