//! The benchmark suite end to end in its quick configuration: `vitaccel bench all --quick`
//! into a temporary folder, then its JSON, plots and generated results document.
//!
//! Expected values come from the quick configuration's definition (an 8x8 array; a model of
//! 16 patches plus class and distillation tokens; the GEMM chain 18,32,64,32), not from the
//! benchmark code.

#![cfg(feature = "verilator")]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fresh folder under the target directory's temp space.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vitaccel-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Width and height from a PNG's IHDR chunk (after checking the signature).
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    assert!(b.len() > 5000, "{} is only {} bytes", path.display(), b.len());
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", path.display());
    assert_eq!(&b[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

/// The plot pair of a piece: a 900x600 PNG and an SVG with `title` and texts starting with each
/// of `texts`.
fn check_plots(dir: &Path, piece: &str, title: &str, texts: &[&str]) {
    assert_eq!(png_size(&dir.join(format!("{piece}.png"))), (900, 600));
    let svg = std::fs::read_to_string(dir.join(format!("{piece}.svg"))).unwrap();
    assert!(svg.starts_with("<svg"), "{piece}.svg is not an SVG");
    // Plotters writes each text element's content on a line of its own.
    let lines: Vec<&str> = svg.lines().map(str::trim).collect();
    for t in std::iter::once(&title).chain(texts) {
        assert!(lines.iter().any(|l| l.starts_with(t)), "{piece}.svg lacks a text starting {t:?}");
    }
}

#[test]
fn quick_suite_writes_figures_plots_and_results() {
    let dir = temp_dir("bench-suite");
    let md = dir.join("RESULTS.md");
    let out = Command::new(env!("CARGO_BIN_EXE_vitaccel"))
        .args(["bench", "all", "--quick", "--out"])
        .arg(&dir)
        .arg("--report")
        .arg(&md)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "bench all --quick failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));

    let suite = read_json(&dir.join("suite.json"));
    assert_eq!(suite["quick"], true);
    let pieces: Vec<&str> = suite["pieces"].as_array().unwrap().iter().map(|p| p["piece"].as_str().unwrap()).collect();
    // The quick suite leaves out Yosys (minutes even on its smallest config); `synth`'s
    // `stat -json` reading has unit tests.
    assert_eq!(pieces, ["golden", "gemm", "model", "tokens", "pruning"]);

    let gemm = read_json(&dir.join("gemm.json"));
    assert_eq!(gemm["array"], serde_json::json!([8, 8]));
    let dims: Vec<[u64; 3]> = gemm["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| [l["m"].as_u64().unwrap(), l["k"].as_u64().unwrap(), l["n"].as_u64().unwrap()])
        .collect();
    assert_eq!(dims, [[18, 32, 64], [18, 64, 32]]);
    assert_eq!(gemm["macs"], 2 * 18 * 32 * 64);
    assert_eq!(gemm["bit_exact"], true);
    assert!(gemm["command"].as_str().unwrap().starts_with("vitaccel bench gemm --chain 18,32,64,32"));

    let model = read_json(&dir.join("model.json"));
    assert_eq!(model["shape"], "Tiny");
    assert_eq!(model["bit_exact"], true);
    assert_eq!(model["projections"][0]["array"], serde_json::json!([16, 16]));
    assert!(model["rtl_cycles"].as_u64().unwrap() > 0);

    let tokens = read_json(&dir.join("tokens.json"));
    assert_eq!(tokens["tokens"], 18);
    let live: Vec<u64> =
        tokens["points"].as_array().unwrap().iter().map(|p| p["live_tokens"].as_u64().unwrap()).collect();
    assert_eq!(live, [18, 2 + 8], "all 16 patch tokens, then half of them, plus the 2 prefix tokens");
    let cycles: Vec<u64> =
        tokens["points"].as_array().unwrap().iter().map(|p| p["rtl_cycles"].as_u64().unwrap()).collect();
    assert!(cycles[1] < cycles[0], "fewer live tokens, fewer cycles: {cycles:?}");

    let pruning = read_json(&dir.join("pruning.json"));
    let points = pruning["points"].as_array().unwrap();
    let labels: Vec<&str> = points.iter().map(|p| p["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["keep 1.00", "keep 0.50", "SPViT ratios"]);
    assert_eq!(points[0]["live_after_selector"], serde_json::json!([18, 18, 18]));
    assert!(points.iter().all(|p| p["kept_and_logits_equal_golden"] == true));
    // (On a model this small the selectors cost more than they save: no speedup to check.)
    let half: Vec<u64> =
        points[1]["live_after_selector"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert!(half[0] < 18 && half.windows(2).all(|w| w[1] <= w[0]), "keep 0.5 live tokens {half:?}");

    let golden = read_json(&dir.join("golden.json"));
    assert_eq!(golden["images"], 2);
    assert_eq!(golden["mean_live_tokens"].as_array().unwrap().len(), 4);

    check_plots(&dir, "tokens", "Tiny on 8x8: cycles vs live tokens", &["whole model (RTL)", "r (proportional)"]);
    check_plots(
        &dir,
        "pruning",
        "Tiny on 8x8: block cycles vs live tokens (on-chip pruning)",
        &["block cycles / unpruned block cycles (ratio)", "SPViT ratios (x"],
    );
    check_plots(&dir, "model", "Tiny on 8x8: unit busy cycles by layer type", &["unit busy cycles (thousands)", "Mlp"]);

    let results = std::fs::read_to_string(&md).unwrap();
    for want in [
        "# Measured results",
        "## GEMM engine (8x8 array)",
        "| 18 x 32 -> 64 |",
        "## Tiny on the RTL, and projections",
        "| 16x16 | cycle model (`configs/default-16x16.toml`) |",
        "## Cycles vs live tokens (Tiny on 8x8, 18 tokens)",
        "## Token pruning on chip (Tiny on 8x8, selectors before blocks [1, 2, 3] (0-based), 18 tokens)",
        "| SPViT ratios |",
        "## Golden model inference",
        "Command: `vitaccel bench tokens --shape tiny --config configs/small-8x8.toml --keep 1,0.5",
        "![cycles vs live tokens](results/tokens.svg)",
    ] {
        assert!(results.contains(want), "RESULTS.md lacks {want:?}:\n{results}");
    }
    assert!(!results.contains("**NO**"), "a bit-exactness check failed:\n{results}");
    assert!(!dir.join("synth.json").exists());
    for plot in ["tokens", "pruning", "model"] {
        assert!(dir.join("results").join(format!("{plot}.svg")).exists(), "{plot}.svg not copied beside RESULTS.md");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
