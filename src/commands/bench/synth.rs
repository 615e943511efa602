//! `vitaccel bench synth`: hardware cost of the token selector engine from Yosys
//! (`synth_xilinx`, read from `stat -json`). Needs `yosys`, not Verilator.

use super::common;
use super::plot;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `vitaccel bench synth` (its help text is on `bench::What::Synth`).
#[derive(clap::Args, Clone)]
pub struct Args {
    /// Accelerator config: 8x8 with the default token/head limits and small banks, so the
    /// whole-design synthesis takes minutes on two cores.
    #[arg(long, default_value = "configs/synth-8x8.toml")]
    pub config: PathBuf,
    /// JSON output (the plot goes beside it, as .png and .svg).
    #[arg(long, default_value = "out/bench/synth.json")]
    pub json: PathBuf,
}

impl Args {
    /// The equivalent command line.
    pub fn command_line(&self) -> String {
        common::command_line("synth", &common::config_arg(Some(&self.config)), &self.json)
    }
}

/// Cell counts of one Yosys `synth_xilinx` run.
#[derive(Serialize, Deserialize, Default, Clone, Copy)]
pub struct Cells {
    pub cells: u64,
    pub luts: u64,
    pub flip_flops: u64,
    pub dsp48: u64,
    pub bram: u64,
    pub carry4: u64,
    pub seconds: f64,
}

/// `synth.json`.
#[derive(Serialize, Deserialize)]
pub struct SynthBench {
    pub config: spec::AccelConfig,
    pub whole: Cells,
    pub selector_engine: Cells,
    pub lut_share_percent: f64,
    pub flip_flop_share_percent: f64,
    pub dsp_share_percent: f64,
    /// The command that produced these figures.
    #[serde(default)]
    pub command: String,
}

/// The part of Yosys' `stat -json` report this reads: the whole (flattened) design.
#[derive(Deserialize)]
struct YosysStat {
    design: DesignStat,
}

#[derive(Deserialize)]
struct DesignStat {
    num_cells: u64,
    num_cells_by_type: BTreeMap<String, u64>,
}

impl Cells {
    /// Count a `stat -json` report's cells by Xilinx primitive family.
    fn from_stat_json(json: &str) -> Result<Cells> {
        let stat: YosysStat = serde_json::from_str(json).context("parsing yosys `stat -json`")?;
        let mut c = Cells { cells: stat.design.num_cells, ..Cells::default() };
        for (name, &n) in &stat.design.num_cells_by_type {
            match name.as_str() {
                _ if name.starts_with("LUT") => c.luts += n,
                _ if name.starts_with("FD") => c.flip_flops += n,
                _ if name.starts_with("DSP48") => c.dsp48 += n,
                _ if name.starts_with("RAMB") => c.bram += n,
                "CARRY4" => c.carry4 += n,
                _ => {}
            }
        }
        Ok(c)
    }
}

/// Synthesize `verilog` (top module `top`) for xc7 with Yosys and count its cells.
fn yosys_cells(verilog: &str, top: &str) -> Result<Cells> {
    let dir = std::env::temp_dir().join(format!("vitaccel-synth-{top}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("in.v"), verilog)?;
    let t = Instant::now();
    let script =
        format!("read_verilog in.v; synth_xilinx -family xc7 -top {top} -flatten; tee -q -o stat.json stat -json");
    let out = std::process::Command::new("yosys")
        .current_dir(&dir)
        .args(["-q", "-p", &script])
        .output()
        .map_err(|e| anyhow::anyhow!("running yosys (scripts/setup.sh installs it): {e}"))?;
    let stat = std::fs::read_to_string(dir.join("stat.json")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    anyhow::ensure!(out.status.success(), "yosys failed:\n{}", String::from_utf8_lossy(&out.stderr));
    Ok(Cells { seconds: t.elapsed().as_secs_f64(), ..Cells::from_stat_json(&stat)? })
}

/// Run the benchmark.
pub fn run(a: &Args) -> Result<()> {
    let cfg = common::config(Some(&a.config))?;
    println!(
        "Yosys synth_xilinx (xc7, flattened), {}x{} array, {} banks x {} words:",
        cfg.array_rows, cfg.array_cols, cfg.banks, cfg.bank_words
    );
    let sel = yosys_cells(&hdl::selector_verilog(&cfg)?, hdl::SELECTOR_MODULE)?;
    let whole = yosys_cells(&hdl::top_verilog(&cfg)?, hdl::TOP_MODULE)?;
    let share = |a: u64, b: u64| 100.0 * a as f64 / b.max(1) as f64;
    let r = SynthBench {
        config: cfg,
        whole,
        selector_engine: sel,
        lut_share_percent: share(sel.luts, whole.luts),
        flip_flop_share_percent: share(sel.flip_flops, whole.flip_flops),
        dsp_share_percent: share(sel.dsp48, whole.dsp48),
        command: a.command_line(),
    };
    for (name, c) in [("whole design", &whole), ("selector engine", &sel)] {
        println!(
            "  {name:<16} {:>8} cells, {:>7} LUTs, {:>7} FFs, {:>5} DSP48E1, {:>4} RAMB, {:>5} CARRY4 ({:.0} s)",
            c.cells, c.luts, c.flip_flops, c.dsp48, c.bram, c.carry4, c.seconds
        );
    }
    println!(
        "  selector engine share: {:.2} % of LUTs, {:.2} % of FFs, {:.2} % of DSP48E1 (HeatViT: +5-8 % LUT, +8-11 % DSP)",
        r.lut_share_percent, r.flip_flop_share_percent, r.dsp_share_percent
    );
    common::save_json(&a.json, &r)?;
    let files = plot::save_bars(&chart(&r), &common::plot_stem(&a.json))?;
    println!("  plotted {}", plot::names(&files));
    Ok(())
}

/// The selector engine's share of each resource.
fn chart(r: &SynthBench) -> plot::BarChart {
    let c = &r.config;
    plot::BarChart {
        title: format!("Selector engine share of the design ({}x{}, xc7)", c.array_rows, c.array_cols),
        value_label: "share of the whole design (%)".into(),
        category_label: "resource".into(),
        bars: vec![
            ("LUTs".into(), r.lut_share_percent),
            ("flip-flops".into(), r.flip_flop_share_percent),
            ("DSP48E1".into(), r.dsp_share_percent),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::Cells;

    /// A `stat -json` report as yosys 0.23 writes it (cell counts invented for the test).
    const STAT: &str = r#"{
       "creator": "Yosys 0.23 (git sha1 7ce5011c24b)",
       "invocation": "stat -json ",
       "modules": { "\\top": { "num_cells": 1 } },
       "design": {
          "num_wires": 10, "num_cells": 131,
          "num_cells_by_type": { "BUFG": 1, "CARRY4": 7, "DSP48E1": 2, "FDRE": 40, "FDSE": 3,
            "IBUF": 17, "LUT2": 20, "LUT6": 11, "OBUF": 16, "RAMB18E1": 1, "RAMB36E1": 4, "MUXF7": 9 }
       }
    }"#;

    #[test]
    fn stat_json_counts_cells_by_primitive_family() {
        let c = Cells::from_stat_json(STAT).unwrap();
        assert_eq!(c.cells, 131);
        assert_eq!(c.luts, 31);
        assert_eq!(c.flip_flops, 43);
        assert_eq!(c.dsp48, 2);
        assert_eq!(c.bram, 5);
        assert_eq!(c.carry4, 7);
    }

    #[test]
    fn stat_json_without_a_design_is_an_error() {
        assert!(Cells::from_stat_json(r#"{"modules": {}}"#).is_err());
    }
}
