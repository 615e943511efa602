//! The generated Verilog: lint-clean under `verilator --lint-only -Wall`, synthesizable by Yosys,
//! and unchanged unless the change is acknowledged (snapshot fingerprints), together with the
//! generated documentation of the ISA and register map.

use spec::AccelConfig;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A deliberately tiny configuration for synthesis (generic memories stay small).
fn synth_config() -> AccelConfig {
    AccelConfig {
        array_rows: 8,
        array_cols: 4,
        max_tokens: 16,
        max_width: 64,
        max_heads: 4,
        banks: 2,
        bank_words: 256,
        weight_fifo_words: 16,
        clock_mhz: 300.0,
    }
}

#[test]
fn top_is_lint_clean_for_small_and_default_configs() {
    for cfg in [AccelConfig::small(), AccelConfig::default()] {
        let v = hdl::top_verilog(&cfg).unwrap();
        hdl::verilog::lint(&v, hdl::TOP_MODULE)
            .unwrap_or_else(|e| panic!("{}x{}: {e}", cfg.array_rows, cfg.array_cols));
    }
}

#[test]
fn top_synthesizes_with_yosys() {
    let v = hdl::top_verilog(&synth_config()).unwrap();
    let dir = std::env::temp_dir().join(format!("vitaccel-yosys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("top.v"), v).unwrap();
    let out = Command::new("yosys")
        .current_dir(&dir)
        .args([
            "-q",
            "-p",
            "read_verilog top.v; synth_xilinx -family xc7 -top vitaccel_top -flatten; tee -o stat.txt stat",
        ])
        .output()
        .expect("yosys must be installed (scripts/setup.sh installs it)");
    let stat = std::fs::read_to_string(dir.join("stat.txt")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "yosys failed:\n{}", String::from_utf8_lossy(&out.stderr));
    // One DSP per PE at least: the array really was synthesized, not optimized away.
    let dsp: usize = stat
        .lines()
        .find(|l| l.trim_start().starts_with("DSP48E1"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(dsp >= 32, "expected >= 32 DSP48E1 for an 8x4 array, got {dsp}\n{stat}");
}

/// Fingerprints of the generated Verilog. Set `UPDATE_SNAPSHOTS=1` to accept an intended change.
#[test]
fn verilog_matches_snapshot() {
    let path = root().join("hdl/tests/snapshots/verilog.txt");
    let mut now = String::new();
    for (name, cfg) in [("small", AccelConfig::small()), ("default", AccelConfig::default())] {
        let v = hdl::top_verilog(&cfg).unwrap();
        now += &format!("{name} {:016x} {}\n", spec::fnv1a64(v.as_bytes()), v.len());
    }
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &now).unwrap();
    }
    let before = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(before, now, "generated Verilog changed; if intended, rerun with UPDATE_SNAPSHOTS=1");
}

/// The committed ISA and register-map documents are exactly what `spec` generates.
#[test]
fn generated_docs_are_up_to_date() {
    let cfg = AccelConfig::default();
    for (file, text) in [("docs/ISA.md", spec::isa::to_markdown()), ("docs/REGMAP.md", spec::regmap::to_markdown(&cfg))]
    {
        let path = root().join(file);
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap_or_default(),
            text,
            "{file} is stale: rerun with UPDATE_SNAPSHOTS=1"
        );
    }
}
