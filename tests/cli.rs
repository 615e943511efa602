//! The command-line tool as a user runs it: every subcommand's happy path (exit 0, its key
//! output, its JSON report parseable) and its main bad inputs (missing, corrupt or mis-shaped
//! files, bad configurations, models beyond the hardware): a non-zero exit, an error that names
//! the problem, never a panic. Inputs are the trained fixture (`fixtures/digits`) and the small
//! 8x8 configuration; each case runs in its own temporary folder.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("fixtures/digits").join(name)
}

fn small_config() -> PathBuf {
    root().join("configs/small-8x8.toml")
}

/// The tool, run inside `dir` (so relative default output paths land there).
fn vitaccel(dir: &TempDir) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vitaccel"));
    c.current_dir(dir.path());
    c
}

fn tmp() -> TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

/// Run `cmd`, which must fail with exit code 1 (an error, not a panic's 101) and an error
/// message containing every needle.
fn fails_with(cmd: &mut Command, needles: &[&str]) {
    let out = cmd.output().expect("the tool runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "expected an error exit:\nstderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "stderr lacks {n:?}:\n{stderr}");
    }
}

/// A usage error reported by the argument parser (exit code 2).
fn usage_error(cmd: &mut Command, needle: &str) {
    cmd.assert().code(2).stderr(predicate::str::contains(needle));
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write(dir: &TempDir, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The small configuration with one line replaced (`key = value`).
fn config_with(dir: &TempDir, key: &str, value: &str) -> PathBuf {
    let text = std::fs::read_to_string(small_config()).unwrap();
    let edited: Vec<String> = text
        .lines()
        .map(|l| if l.starts_with(&format!("{key} =")) { format!("{key} = {value}") } else { l.to_string() })
        .collect();
    assert_ne!(edited.join("\n"), text.trim_end(), "{key} is a field of the config");
    write(dir, &format!("{key}.toml"), edited.join("\n"))
}

/// A safetensors file with its JSON header edited by `edit` (data compacted to the tensors
/// left), written here from the format's definition: 8-byte little-endian header length, JSON
/// header (tensor entries and `__metadata__`), data.
fn edit_safetensors(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    edit(&mut header);
    let data = &bytes[8 + n..];
    let mut names: Vec<String> = header.keys().filter(|k| *k != "__metadata__").cloned().collect();
    names.sort_by_key(|k| header[k]["data_offsets"][0].as_u64());
    let mut out_data = Vec::new();
    for k in names {
        let offs = &header[&k]["data_offsets"];
        let (a, b) = (offs[0].as_u64().unwrap() as usize, offs[1].as_u64().unwrap() as usize);
        let start = out_data.len();
        out_data.extend_from_slice(&data[a..b]);
        header[&k]["data_offsets"] = serde_json::json!([start, out_data.len()]);
    }
    let mut h = serde_json::to_vec(&header).unwrap();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend(h);
    out.extend(out_data);
    out
}

/// The file without tensor `key`.
fn without_tensor(bytes: &[u8], key: &str) -> Vec<u8> {
    edit_safetensors(bytes, |h| assert!(h.remove(key).is_some(), "{key} is in the file"))
}

/// The float model file with field `field` of its `vitaccel` metadata set to `value`.
fn with_model_meta(bytes: &[u8], field: &str, value: serde_json::Value) -> Vec<u8> {
    edit_safetensors(bytes, |h| {
        let text = h["__metadata__"]["vitaccel"].as_str().unwrap().to_string();
        let mut meta: serde_json::Value = serde_json::from_str(&text).unwrap();
        meta[field] = value;
        h["__metadata__"]["vitaccel"] = meta.to_string().into();
    })
}

/// Quantize the fixture on 8 calibration images into `dir` and return the file.
fn quantized_fixture(dir: &TempDir) -> PathBuf {
    let q = dir.path().join("q.safetensors");
    vitaccel(dir)
        .args(["quantize", fixture("model.safetensors").to_str().unwrap(), "--limit", "8", "--out"])
        .arg(&q)
        .arg("--calib")
        .arg(fixture("calib.safetensors"))
        .assert()
        .success();
    q
}

#[test]
fn inspect_reports_the_fixture_and_writes_json() {
    let d = tmp();
    let json = d.path().join("inspect.json");
    vitaccel(&d)
        .arg("inspect")
        .arg(fixture("model.safetensors"))
        .arg("--json")
        .arg(&json)
        .assert()
        .success()
        .stdout(predicate::str::contains("(float model)"))
        .stdout(predicate::str::contains("fits the accelerator config"));
    let r = read_json(&json);
    // fixtures/digits: 8x8 images in 2x2 patches (16) + class and distillation tokens; 4 blocks.
    assert_eq!(r["kind"], "float");
    assert_eq!(r["tokens"], 18);
    assert_eq!(r["blocks"].as_array().unwrap().len(), 4);
    assert_eq!(r["shape"]["num_classes"], 10);
}

#[test]
fn inspect_rejects_missing_corrupt_and_incomplete_files() {
    let d = tmp();
    fails_with(
        vitaccel(&d).args(["inspect", "/nonexistent/model.safetensors"]),
        &["/nonexistent/model.safetensors", "cannot read"],
    );
    let garbage = write(&d, "garbage.safetensors", b"not a safetensors file, just text");
    fails_with(vitaccel(&d).arg("inspect").arg(&garbage), &["garbage.safetensors", "corrupt"]);
    let model = std::fs::read(fixture("model.safetensors")).unwrap();
    let truncated = write(&d, "truncated.safetensors", &model[..model.len() / 2]);
    fails_with(vitaccel(&d).arg("inspect").arg(&truncated), &["truncated.safetensors", "corrupt"]);
    let incomplete = write(&d, "incomplete.safetensors", without_tensor(&model, "blocks.0.attn.qkv.weight"));
    fails_with(vitaccel(&d).arg("inspect").arg(&incomplete), &["missing tensor 'blocks.0.attn.qkv.weight'"]);
    // A negative LayerNorm epsilon used to load and silently give garbage.
    let bad_eps = write(&d, "bad_eps.safetensors", with_model_meta(&model, "ln_eps", serde_json::json!(-1.0)));
    fails_with(vitaccel(&d).arg("inspect").arg(&bad_eps), &["bad_eps.safetensors", "ln_eps = -1"]);
    // The same edit with a legal value loads (the editing itself is sound).
    let ok = write(&d, "ok.safetensors", with_model_meta(&model, "ln_eps", serde_json::json!(1e-5)));
    vitaccel(&d).arg("inspect").arg(&ok).assert().success();
}

#[test]
fn bad_configs_are_refused_by_every_command_that_takes_one() {
    let d = tmp();
    let heads = config_with(&d, "max_heads", "100000");
    let model = fixture("model.safetensors");
    fails_with(vitaccel(&d).arg("inspect").arg(&model).arg("--config").arg(&heads), &["max_heads = 100000", "1..=32"]);
    fails_with(vitaccel(&d).args(["verilog", "--config"]).arg(&heads), &["max_heads = 100000"]);
    fails_with(vitaccel(&d).args(["run", "--chain", "8,8,8", "--config"]).arg(&heads), &["max_heads = 100000"]);
    let typo = config_with(&d, "banks", "\"twelve\"");
    fails_with(vitaccel(&d).args(["verilog", "--config"]).arg(&typo), &["invalid type", "banks = \"twelve\""]);
    let unknown = write(&d, "unknown.toml", std::fs::read_to_string(small_config()).unwrap() + "bogus = 1\n");
    fails_with(vitaccel(&d).args(["verilog", "--config"]).arg(&unknown), &["bogus"]);
    fails_with(
        vitaccel(&d).args(["verilog", "--config", "/nonexistent/cfg.toml"]),
        &["/nonexistent/cfg.toml", "cannot read accelerator config"],
    );
}

#[test]
fn verilog_writes_the_design_and_a_manifest() {
    let d = tmp();
    let out = d.path().join("v");
    vitaccel(&d)
        .args(["verilog", "--config"])
        .arg(root().join("configs/synth-8x8.toml"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("8x8 array"));
    let m = read_json(&out.join("manifest.json"));
    assert_eq!(m["top_module"], "vitaccel_top");
    assert_eq!(m["config"]["array_rows"], 8);
    let v = std::fs::read_to_string(out.join("vitaccel_top.v")).unwrap();
    assert!(v.contains("module vitaccel_top"));
    let header = std::fs::read_to_string(out.join("vitaccel_regs.h")).unwrap();
    assert!(header.contains(&format!("VITACCEL_CONFIG_HASH {}", m["config_hash"].as_str().unwrap())));
}

#[test]
fn quantize_golden_and_run_on_the_fixture() {
    let d = tmp();
    let q = d.path().join("q.safetensors");
    let rep = d.path().join("quant.json");
    vitaccel(&d)
        .arg("quantize")
        .arg(fixture("model.safetensors"))
        .arg("--calib")
        .arg(fixture("calib.safetensors"))
        .args(["--limit", "8", "--out"])
        .arg(&q)
        .arg("--json")
        .arg(&rep)
        .assert()
        .success()
        .stdout(predicate::str::contains("on 8 calibration images"));
    assert!(read_json(&rep)["logit_scale"].as_f64().unwrap() > 0.0);
    vitaccel(&d).arg("inspect").arg(&q).assert().success().stdout(predicate::str::contains("(quantized model)"));

    let g = d.path().join("golden.json");
    vitaccel(&d)
        .arg("golden")
        .arg(&q)
        .arg("--images")
        .arg(fixture("test.safetensors"))
        .args(["--limit", "20", "--json"])
        .arg(&g)
        .assert()
        .success()
        .stdout(predicate::str::contains("integer top-1"));
    let g = read_json(&g);
    assert_eq!(g["images"], 20);
    assert_eq!(g["int"]["total"], 20);

    let r = d.path().join("run.json");
    vitaccel(&d)
        .args(["run", "--backend", "golden", "--config"])
        .arg(small_config())
        .arg("--model")
        .arg(&q)
        .arg("--images")
        .arg(fixture("test.safetensors"))
        .args(["--limit", "2", "--json"])
        .arg(&r)
        .assert()
        .success()
        .stdout(predicate::str::contains("logits equal the integer golden model on 2/2 images"));
    let r = read_json(&r);
    assert_eq!((r["images"].as_u64(), r["exact_images"].as_u64()), (Some(2), Some(2)));
}

#[test]
fn quantize_and_golden_reject_bad_inputs() {
    let d = tmp();
    let model = fixture("model.safetensors");
    let calib = fixture("calib.safetensors");
    let out = d.path().join("q.safetensors");
    let quantize = |extra: &[&str]| {
        let mut c = vitaccel(&d);
        c.arg("quantize").arg(&model).arg("--out").arg(&out).args(extra);
        c
    };
    fails_with(&mut quantize(&["--calib", "/nonexistent/calib.safetensors"]), &["/nonexistent/calib.safetensors"]);
    // Images of the wrong size for the model.
    let small =
        host::Dataset { images: vec![golden::Image { chans: 1, size: 4, pixels: vec![0; 16] }], labels: Some(vec![0]) };
    let wrong = write(&d, "wrong.safetensors", small.to_bytes());
    fails_with(&mut quantize(&["--calib", wrong.to_str().unwrap()]), &["wrong.safetensors", "1x4x4", "1x8x8"]);
    // Labels beyond the class count.
    let mut ds = host::Dataset::load(&fixture("test.safetensors")).unwrap();
    ds.labels.as_mut().unwrap()[0] = 10;
    let labels = write(&d, "labels.safetensors", ds.to_bytes());
    fails_with(
        vitaccel(&d).arg("golden").arg(&model).arg("--calib").arg(&calib).arg("--images").arg(&labels),
        &["label 10"],
    );
    // A model beyond the hardware: 18 tokens against a limit of 8.
    let few = config_with(&d, "max_tokens", "8");
    fails_with(
        &mut quantize(&["--calib", calib.to_str().unwrap(), "--config", few.to_str().unwrap()]),
        &["token count is 18", "max_tokens"],
    );
    // A float model needs calibration images before it can run on integers.
    fails_with(
        vitaccel(&d).arg("golden").arg(&model).arg("--images").arg(fixture("test.safetensors")),
        &["float model", "--calib"],
    );
    // Quantizing a quantized model.
    let q = quantized_fixture(&d);
    fails_with(
        vitaccel(&d).arg("quantize").arg(&q).arg("--calib").arg(&calib).arg("--out").arg(&out),
        &["already quantized"],
    );
    usage_error(vitaccel(&d).arg("quantize").arg(&model), "--calib");
}

#[test]
fn run_chain_on_the_golden_backend_is_bit_exact() {
    let d = tmp();
    let json = d.path().join("run.json");
    vitaccel(&d)
        .args(["run", "--backend", "golden", "--chain", "16,32,24,8", "--config"])
        .arg(small_config())
        .arg("--json")
        .arg(&json)
        .assert()
        .success()
        .stdout(predicate::str::contains("output EQUALS the golden model"));
    let r = read_json(&json);
    assert_eq!(r["bit_exact"], true);
    assert_eq!(r["layers"], serde_json::json!([[16, 32, 24], [16, 24, 8]]));
    // 16 x 32 x 24 + 16 x 24 x 8 multiply-accumulates.
    assert_eq!(r["macs"], 16 * 32 * 24 + 16 * 24 * 8);
}

#[cfg(feature = "verilator")]
#[test]
fn run_chain_on_the_verilator_backend_is_bit_exact() {
    let d = tmp();
    vitaccel(&d)
        .args(["run", "--backend", "verilator", "--chain", "8,16,8", "--config"])
        .arg(small_config())
        .assert()
        .success()
        .stdout(predicate::str::contains("Verilator backend"))
        .stdout(predicate::str::contains("output EQUALS the golden model"));
}

#[test]
fn run_rejects_bad_workloads() {
    let d = tmp();
    let cfg = small_config();
    fails_with(vitaccel(&d).args(["run", "--chain", "8,16", "--config"]).arg(&cfg), &["--chain needs M,K"]);
    fails_with(
        vitaccel(&d).args(["run", "--config"]).arg(&cfg).arg("--model").arg(fixture("model.safetensors")),
        &["--model needs --images"],
    );
    // Wider than the 8x8 configuration's 4096 channels.
    fails_with(vitaccel(&d).args(["run", "--chain", "8,8192,8", "--config"]).arg(&cfg), &["8192"]);
    fails_with(vitaccel(&d).args(["run", "--chain", "0,8,8", "--config"]).arg(&cfg), &["entry 0 is 0"]);
    fails_with(vitaccel(&d).args(["run", "--chain", "8,0,8", "--config"]).arg(&cfg), &["entry 1 is 0"]);
    let few = config_with(&d, "max_tokens", "8");
    fails_with(
        vitaccel(&d)
            .args(["run", "--config"])
            .arg(&few)
            .arg("--model")
            .arg(fixture("model.safetensors"))
            .arg("--calib")
            .arg(fixture("calib.safetensors"))
            .arg("--images")
            .arg(fixture("test.safetensors")),
        &["token count is 18", "max_tokens"],
    );
    usage_error(vitaccel(&d).args(["run", "--backend", "fpga"]), "fpga");
}

#[test]
fn synth_writes_a_model_and_refuses_bad_selectors() {
    let d = tmp();
    let m = d.path().join("deit.safetensors");
    let imgs = d.path().join("imgs.safetensors");
    vitaccel(&d)
        .args(["synth", "deit-tiny", "--selectors", "3", "--images", "2", "--out"])
        .arg(&m)
        .arg("--images-out")
        .arg(&imgs)
        .assert()
        .success()
        .stdout(predicate::str::contains("wrote DeitTiny"));
    let ds = host::Dataset::load(&imgs).unwrap();
    assert_eq!((ds.images.len(), ds.images[0].size, ds.images[0].chans), (2, 224, 3));
    let json = d.path().join("deit.json");
    vitaccel(&d).arg("inspect").arg(&m).arg("--json").arg(&json).assert().success();
    // DeiT-Tiny (distilled): 224/16 = 14, 14^2 + 2 = 198 tokens, 12 blocks of 3 heads.
    let r = read_json(&json);
    assert_eq!((r["tokens"].as_u64(), r["blocks"].as_array().unwrap().len()), (Some(198), 12));
    fails_with(
        vitaccel(&d).args(["synth", "deit-tiny", "--selectors", "12", "--out"]).arg(&m),
        &["selector 0 placed before block 12 of 12"],
    );
    usage_error(vitaccel(&d).args(["synth", "vit-huge", "--out"]).arg(&m), "vit-huge");
}

#[test]
fn demo_runs_on_the_fixture_and_names_a_missing_one() {
    let d = tmp();
    let out = d.path().join("demo");
    vitaccel(&d)
        .arg("demo")
        .arg("--fixture")
        .arg(root().join("fixtures/digits"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("with token pruning"));
    let r = read_json(&out.join("report.json"));
    assert!(r["pruned"]["int"]["top1_percent"].as_f64().unwrap() > 50.0, "{r}");
    assert!(out.join("model.q.safetensors").exists());
    fails_with(
        vitaccel(&d).args(["demo", "--fixture", "/nonexistent/fixture", "--out"]).arg(&out),
        &["/nonexistent/fixture/model.safetensors"],
    );
}

#[test]
fn bench_golden_on_a_small_run() {
    let d = tmp();
    let json = d.path().join("golden.json");
    vitaccel(&d).args(["bench", "golden", "--images", "1", "--selectors", "3", "--json"]).arg(&json).assert().success();
    let r = read_json(&json);
    assert_eq!(r["images"], 1);
    assert!(r["int_seconds_per_image"].as_f64().unwrap() > 0.0);
}

#[test]
fn help_lists_every_subcommand_and_unknown_ones_are_usage_errors() {
    let d = tmp();
    let mut help = vitaccel(&d).arg("--help").assert().success();
    for sub in [
        "inspect",
        "quantize",
        "golden",
        "synth",
        "bench",
        "demo",
        "run",
        "verilog",
        "bitstream",
        "board",
        "regs",
        "report",
    ] {
        help = help.stdout(predicate::str::contains(sub));
    }
    usage_error(vitaccel(&d).arg("frobnicate"), "frobnicate");
}

/// `vitaccel report` on the quick synthesis config (8x4), two of its groups (the whole design is
/// the heavy tier's): each has a row, the total is their sum, the packed array takes exactly one
/// DSP48E1 per PE pair, DeiT-Tiny is projected, and a second run comes from the cache with the
/// same figures. A bad `--verilog` names the missing module.
#[test]
fn report_gives_resources_per_module_and_caches_them() {
    let d = tmp();
    let cfg = root().join("configs/synth-quick.toml");
    let json = d.path().join("report.json");
    let run = |d: &TempDir| {
        vitaccel(d)
            .args(["report", "--only", "systolic array", "--only", "controller", "--cache", "cache", "--json"])
            .arg(&json)
            .arg("--config")
            .arg(&cfg)
            .assert()
            .success()
            .stdout(predicate::str::contains("systolic array (PEs)").and(predicate::str::contains("GOPS/DSP48E1")));
        read_json(&json)
    };
    let first = run(&d);
    let rows = first["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(first["groups_left_out"].as_array().unwrap().len(), 7);
    assert!(first["projection"]["gops_per_dsp"].as_f64().unwrap() > 0.0);
    let sum = |key: &str| rows.iter().map(|r| r["resources"][key].as_u64().unwrap()).sum::<u64>();
    assert_eq!(first["total"]["dsp"].as_u64().unwrap(), sum("dsp"));
    assert_eq!(first["total"]["luts"].as_u64().unwrap(), sum("luts"));
    let array = rows.iter().find(|r| r["name"] == "systolic array (PEs)").unwrap();
    assert_eq!(array["resources"]["dsp"], 8 * 4 / 2, "one DSP48E1 per packed PE pair");
    assert!(rows.iter().all(|r| r["depth"]["levels"].as_u64().unwrap() > 0 && !r["cached"].as_bool().unwrap()));
    let second = run(&d);
    assert!(second["rows"].as_array().unwrap().iter().all(|r| r["cached"].as_bool().unwrap()));
    assert_eq!(second["total"], first["total"]);
    std::fs::write(d.path().join("other.v"), "module other(); endmodule\n").unwrap();
    fails_with(
        vitaccel(&d).args(["report", "--verilog", "other.v", "--config"]).arg(&cfg),
        &["no module", "vitaccel_top$gemm$engine$array"],
    );
}
