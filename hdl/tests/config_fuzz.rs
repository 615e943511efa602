//! Config fuzz: random accelerator configuration files, within and beyond every limit (each
//! field at, just below and just above its bounds, zero, huge, negative, of the wrong type or
//! missing), never panic. Parsing and `AccelConfig` validation run on every case; Verilog
//! generation (what `vitaccel verilog` calls) runs on the valid ones, biased to small arrays
//! and memories so that a case stays well under a second.
//!
//! The bounds below are written out from the hardware (instruction field and register widths),
//! independently of `spec::config::limits`.

use proptest::prelude::*;
use spec::{AccelConfig, ConfigError};

/// Integer fields with their legal range (`lo..=hi`), before the relations between fields.
const INT_FIELDS: [(&str, i128, i128); 8] = [
    ("array_rows", 8, 64),
    ("array_cols", 4, 64),
    ("max_tokens", 2, 4096),
    ("max_width", 1, 1 << 15),
    ("max_heads", 1, 32),
    ("banks", 2, 16),
    ("bank_words", 1, 1 << 20),
    ("weight_fifo_words", 16, 1 << 15),
];

/// A TOML value for an integer field with range `lo..=hi`: its bounds and their neighbours,
/// zero, powers of two, huge and negative numbers, numbers TOML cannot hold, wrong types.
fn int_value(lo: i128, hi: i128) -> BoxedStrategy<String> {
    let edges = vec![lo - 1, lo, lo + 1, hi - 1, hi, hi + 1, 0, 1, -1, 2 * hi, i64::MAX as i128, i64::MIN as i128];
    prop_oneof![
        4 => prop::sample::select(edges).prop_map(|v| v.to_string()),
        2 => (0u32..63).prop_map(|k| (1u64 << k).to_string()),
        2 => (lo..=hi).prop_map(|v| v.to_string()),
        1 => Just("18446744073709551616".to_string()),
        1 => prop::sample::select(vec!["\"8\"", "8.0", "true", "[8]", "{ a = 1 }", "\"\"", "1e3"])
            .prop_map(str::to_string),
    ]
    .boxed()
}

/// A TOML value for `clock_mhz` (legal: `0 < f < 2000`).
fn clock_value() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "0.0", "-0.0", "-1.0", "1e-300", "1999.999", "2000.0", "2000.001", "300.0", "nan", "inf", "-inf",
            "1e308", "300", "\"300\"", "true",
        ])
        .prop_map(str::to_string),
        1 => (-10.0f64..3000.0).prop_map(|v| format!("{v:?}")),
    ]
    .boxed()
}

/// A config file: every field present (mostly) with a value from its strategy, sometimes an
/// unknown field or a duplicate.
fn any_config_text() -> impl Strategy<Value = String> {
    let ints: Vec<_> = INT_FIELDS
        .iter()
        .map(|&(name, lo, hi)| prop::option::weighted(0.95, int_value(lo, hi)).prop_map(move |v| (name, v)))
        .collect();
    (ints, prop::option::weighted(0.95, clock_value()), 0u8..20).prop_map(|(ints, clock, extra)| {
        let mut text = String::new();
        for (name, v) in ints.into_iter().chain([("clock_mhz", clock)]) {
            if let Some(v) = v {
                text += &format!("{name} = {v}\n");
            }
        }
        match extra {
            0 => text += "bogus = 1\n",
            1 => text += "banks = 4\n",
            2 => text += "[section]\nx = 1\n",
            3 => text += "= broken\n",
            _ => {}
        }
        text
    })
}

/// A config near the valid region: small arrays and memories, every field drawn from values
/// around its bounds, so that about half the cases are valid and each one generates quickly.
fn near_valid_config() -> impl Strategy<Value = AccelConfig> {
    (
        (prop::sample::select(vec![8usize, 16]), 0u32..4),
        prop::sample::select(vec![1usize, 2, 3, 8, 15, 16, 17, 31, 32, 33]),
        prop::sample::select(vec![1usize, 7, 8, 9, 16, 63, 64, 65]),
        prop::sample::select(vec![0usize, 1, 2, 3, 8, 31, 32, 33, 64]),
        prop::sample::select(vec![1usize, 2, 3, 4, 15, 16, 17]),
        (0u32..13, prop::sample::select(vec![-1i64, 0, 0, 0, 1])),
        (0u32..4, prop::sample::select(vec![-1i64, 0, 0, 0, 1])),
        prop::sample::select(vec![
            None,
            None,
            None,
            Some(2usize),
            Some(4),
            Some(4),
            Some(6),
            Some(8),
            Some(16),
            Some(32),
        ]),
        prop::sample::select(vec![None, None, Some(0usize), Some(1), Some(2), Some(3), Some(4), Some(16), Some(32)]),
    )
        .prop_map(
            |(
                (rows, cols_shift),
                max_tokens,
                max_width,
                max_heads,
                banks,
                (bw, bw_d),
                (ff, ff_d),
                vector_lanes,
                select_lanes,
            )| {
                AccelConfig {
                    array_rows: rows,
                    array_cols: (rows >> cols_shift).max(1),
                    max_tokens,
                    max_width,
                    max_heads,
                    banks,
                    bank_words: ((1i64 << bw) + bw_d) as usize,
                    weight_fifo_words: ((rows << (ff + 1)) as i64 + ff_d) as usize,
                    clock_mhz: 300.0,
                    dsp_packing: true,
                    vector_lanes,
                    select_lanes,
                }
            },
        )
}

/// The TOML text of a config (written by hand: the test does not trust a serializer).
fn to_toml(c: &AccelConfig) -> String {
    let lanes = c.vector_lanes.map(|l| format!("vector_lanes = {l}\n")).unwrap_or_default()
        + &c.select_lanes.map(|l| format!("select_lanes = {l}\n")).unwrap_or_default();
    format!(
        "array_rows = {}\narray_cols = {}\nmax_tokens = {}\nmax_width = {}\nmax_heads = {}\nbanks = {}\n\
         bank_words = {}\nweight_fifo_words = {}\nclock_mhz = {:?}\n{lanes}",
        c.array_rows,
        c.array_cols,
        c.max_tokens,
        c.max_width,
        c.max_heads,
        c.banks,
        c.bank_words,
        c.weight_fifo_words,
        c.clock_mhz
    )
}

/// Parse and validate like `AccelConfig::load` on a `.toml` file.
fn load_text(text: &str) -> Result<AccelConfig, ConfigError> {
    let dir = std::env::temp_dir().join(format!("vitaccel-config-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{:016x}.toml", spec::fnv1a64(text.as_bytes())));
    std::fs::write(&path, text).unwrap();
    let r = AccelConfig::load(&path);
    let _ = std::fs::remove_file(&path);
    r
}

/// Whether `c` is within every bound, computed here from the hardware's own rules.
fn expected_valid(c: &AccelConfig) -> bool {
    let pow2 = |v: usize| v.is_power_of_two();
    let mut in_range = INT_FIELDS.iter().zip([
        c.array_rows,
        c.array_cols,
        c.max_tokens,
        c.max_width,
        c.max_heads,
        c.banks,
        c.bank_words,
        c.weight_fifo_words,
    ]);
    in_range.all(|(&(_, lo, hi), v)| (lo..=hi).contains(&(v as i128)))
        && pow2(c.array_rows)
        && pow2(c.array_cols)
        && pow2(c.bank_words)
        && pow2(c.weight_fifo_words)
        && c.array_cols <= c.array_rows
        && 4 * c.array_cols >= c.array_rows
        && c.weight_fifo_words >= 2 * c.array_rows
        && c.max_tokens * c.max_width.div_ceil(c.array_rows) <= c.bank_words
        // The selector sums up to max_tokens weights of max_heads * 255^2 + 1 in 32 bits.
        && (c.max_tokens as u128) * (c.max_heads as u128 * 65025 + 1) < 1 << 32
        && c.clock_mhz > 0.0
        && c.clock_mhz < 2000.0
        // The vector unit: 4..=R lanes (a quarter takes a beta word), a power of two, and its
        // slice addresses (word x R / lanes) within 20 bits.
        && c.vector_lanes.is_none_or(|l| {
            pow2(l) && (4..=c.array_rows).contains(&l) && c.bank_words * (c.array_rows / l) <= 1 << 20
        })
        // The selector's column pass: a power of two of lanes, at most R, at most 16 slices a word.
        && c.select_lanes.is_none_or(|l| pow2(l) && l <= c.array_rows && 16 * l >= c.array_rows)
}

/// Generate the whole design's Verilog for a valid config; it must succeed and name the top.
fn generates(c: &AccelConfig) {
    let v = hdl::top_verilog(c).unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(v.contains(&format!("module {}", hdl::TOP_MODULE)), "{c:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any config file parses or fails with an error, never a panic; an error names a field
    /// or the file.
    #[test]
    fn any_config_text_never_panics(text in any_config_text()) {
        match load_text(&text) {
            Ok(c) => prop_assert!(expected_valid(&c), "accepted {c:?}"),
            Err(ConfigError::Invalid(m)) => {
                let named = INT_FIELDS.iter().map(|f| f.0).chain(["clock_mhz"]).any(|f| m.contains(f));
                prop_assert!(named, "{m}");
            }
            Err(ConfigError::Read { msg, .. }) => prop_assert!(!msg.is_empty()),
            Err(e) => prop_assert!(false, "unexpected error kind {e}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Near the bounds, validation agrees with the hardware's rules exactly, and every config
    /// it accepts generates Verilog (Rust-HDL's own asserts and the module asserts included).
    #[test]
    fn valid_configs_generate_verilog(c in near_valid_config()) {
        let loaded = load_text(&to_toml(&c));
        prop_assert_eq!(loaded.is_ok(), expected_valid(&c), "{:?}: {:?}", c, loaded);
        if let Ok(back) = loaded {
            prop_assert_eq!(&back, &c);
            generates(&c);
        }
    }
}

/// A small valid base: 8x8, 16 tokens x 64 channels in 256-word banks.
fn base() -> AccelConfig {
    AccelConfig {
        array_rows: 8,
        array_cols: 8,
        max_tokens: 16,
        max_width: 64,
        max_heads: 4,
        banks: 2,
        bank_words: 256,
        weight_fifo_words: 16,
        clock_mhz: 300.0,
        dsp_packing: true,
        vector_lanes: None,
        select_lanes: None,
    }
}

/// Every field at its extreme legal value generates Verilog, and one step beyond it is refused
/// by validation (never by a panic in a hardware module).
#[test]
fn every_bound_is_reachable_and_the_next_value_refused() {
    let b = base();
    let at_limit = [
        AccelConfig { max_heads: 32, ..b.clone() },
        AccelConfig { max_heads: 1, ..b.clone() },
        AccelConfig { banks: 16, ..b.clone() },
        AccelConfig { max_tokens: 2, max_width: 1, bank_words: 2, ..b.clone() },
        AccelConfig { max_tokens: 2, max_width: 8, bank_words: 2, ..b.clone() },
        AccelConfig { max_tokens: 2064, max_width: 8, max_heads: 32, bank_words: 4096, ..b.clone() },
        AccelConfig { max_tokens: 4096, max_width: 8, max_heads: 16, bank_words: 4096, ..b.clone() },
        AccelConfig { max_width: 1 << 15, max_tokens: 2, bank_words: 8192, ..b.clone() },
        AccelConfig { weight_fifo_words: 1 << 15, ..b.clone() },
        AccelConfig { bank_words: 1 << 20, ..b.clone() },
        AccelConfig { array_rows: 64, array_cols: 16, weight_fifo_words: 128, ..b.clone() },
        AccelConfig { array_rows: 16, array_cols: 4, weight_fifo_words: 32, ..b.clone() },
        AccelConfig { vector_lanes: Some(4), ..b.clone() },
        AccelConfig { array_rows: 64, array_cols: 16, weight_fifo_words: 128, vector_lanes: Some(4), ..b.clone() },
        AccelConfig { array_rows: 64, array_cols: 16, weight_fifo_words: 128, vector_lanes: Some(32), ..b.clone() },
        AccelConfig { select_lanes: Some(1), ..b.clone() },
        AccelConfig { array_rows: 64, array_cols: 16, weight_fifo_words: 128, select_lanes: Some(4), ..b.clone() },
    ];
    for c in &at_limit {
        assert!(expected_valid(c), "{c:?}");
        generates(c);
    }
    let beyond = [
        AccelConfig { max_heads: 33, ..b.clone() },
        AccelConfig { max_heads: 100_000, ..b.clone() },
        AccelConfig { max_heads: 0, ..b.clone() },
        AccelConfig { max_tokens: 1, max_width: 8, bank_words: 1, ..b.clone() },
        AccelConfig { banks: 17, ..b.clone() },
        AccelConfig { banks: 1, ..b.clone() },
        AccelConfig { max_tokens: 2065, max_width: 8, max_heads: 32, bank_words: 4096, ..b.clone() },
        AccelConfig { max_tokens: 4097, max_width: 8, bank_words: 8192, ..b.clone() },
        AccelConfig { max_width: (1 << 15) + 1, max_tokens: 2, bank_words: 16384, ..b.clone() },
        AccelConfig { weight_fifo_words: 1 << 16, ..b.clone() },
        AccelConfig { bank_words: 1 << 21, ..b.clone() },
        AccelConfig { array_rows: 128, array_cols: 32, weight_fifo_words: 256, ..b.clone() },
        AccelConfig { array_rows: 32, array_cols: 4, weight_fifo_words: 64, ..b.clone() },
        AccelConfig { vector_lanes: Some(2), ..b.clone() },
        AccelConfig { vector_lanes: Some(16), ..b.clone() },
        AccelConfig { select_lanes: Some(16), ..b.clone() },
        AccelConfig { array_rows: 64, array_cols: 16, weight_fifo_words: 128, select_lanes: Some(2), ..b.clone() },
    ];
    for c in &beyond {
        assert!(!expected_valid(c), "{c:?}");
        let err = hdl::top_verilog(c).expect_err("validation refuses it");
        assert!(matches!(err, ConfigError::Invalid(_)), "{c:?}: {err}");
    }
}
