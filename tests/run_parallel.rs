//! `vitaccel run --model` on several device instances (`--jobs`) and in shards (`--shard K/N`,
//! `vitaccel merge`): the reports equal the plain run's field for field, wall-clock fields aside.
//! On the trained fixture (`fixtures/digits`, quantized in memory with `--calib`) and the small
//! 8x8 configuration.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("fixtures/digits").join(name)
}

fn vitaccel(dir: &TempDir) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vitaccel"));
    c.current_dir(dir.path());
    c
}

/// `run --model` on the fixture's first `limit` test images, on the small configuration.
fn run_fixture(dir: &TempDir, backend: &str, limit: usize) -> Command {
    let mut c = vitaccel(dir);
    c.args(["run", "--backend", backend, "--config"])
        .arg(root().join("configs/small-8x8.toml"))
        .arg("--model")
        .arg(fixture("model.safetensors"))
        .arg("--calib")
        .arg(fixture("calib.safetensors"))
        .arg("--images")
        .arg(fixture("test.safetensors"))
        .args(["--limit", &limit.to_string()]);
    c
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The report without its host wall-clock fields (the run's and every image's).
fn without_wall_times(mut r: Value) -> Value {
    let o = r.as_object_mut().unwrap();
    assert!(o.remove("wall_seconds").is_some() && o.remove("device_wall_seconds").is_some());
    for img in o["per_image"].as_array_mut().unwrap() {
        assert!(img.as_object_mut().unwrap().remove("device_wall_seconds").is_some());
    }
    r
}

/// Stdout without the lines that carry wall times, the number of device instances or shards.
fn figures(stdout: &[u8]) -> String {
    let text = String::from_utf8_lossy(stdout);
    let varies = |l: &&str| l.contains("cycles/image") || l.contains("in parallel") || l.contains("merged from");
    text.lines().filter(|l| !varies(l)).collect::<Vec<_>>().join("\n")
}

/// Run and return (JSON report, stdout).
fn run_json(dir: &TempDir, cmd: &mut Command, name: &str) -> (Value, Vec<u8>) {
    let json = dir.path().join(name);
    let out = cmd.arg("--json").arg(&json).assert().success().get_output().stdout.clone();
    (read_json(&json), out)
}

#[test]
fn jobs_do_not_change_the_report_on_the_rtl() {
    let d = tempfile::tempdir().unwrap();
    let (one, out1) = run_json(&d, run_fixture(&d, "verilator", 7).args(["--jobs", "1"]), "j1.json");
    let (three, out3) = run_json(&d, run_fixture(&d, "verilator", 7).args(["--jobs", "3"]), "j3.json");
    assert!(String::from_utf8_lossy(&out3).contains("3 device instance(s) in parallel"));
    assert_eq!((one["images"].as_u64(), one["exact_images"].as_u64()), (Some(7), Some(7)));
    let indices: Vec<u64> =
        three["per_image"].as_array().unwrap().iter().map(|i| i["index"].as_u64().unwrap()).collect();
    assert_eq!(indices, (0..7).collect::<Vec<u64>>());
    // Cycles differ between images when pruning keeps different token counts; the sums must not
    // depend on which instance ran which image.
    assert_eq!(without_wall_times(one), without_wall_times(three));
    assert_eq!(figures(&out1), figures(&out3));
}

#[test]
fn three_shards_merge_into_the_unsharded_report() {
    let d = tempfile::tempdir().unwrap();
    let (whole, whole_out) = run_json(&d, run_fixture(&d, "golden", 11).args(["--jobs", "2"]), "whole.json");
    let mut shards = Vec::new();
    // 11 images in 3 contiguous blocks: 0..3, 3..7, 7..11 (k * 11 / 3 rounded down).
    for (k, first, len) in [(0, 0, 3), (1, 3, 4), (2, 7, 4)] {
        let name = format!("shard{k}.json");
        let (r, out) = run_json(&d, run_fixture(&d, "golden", 11).args(["--shard", &format!("{k}/3")]), &name);
        assert!(String::from_utf8_lossy(&out).contains(&format!("{len} images (shard {k}/3: images {first}..")));
        let idx: Vec<u64> = r["per_image"].as_array().unwrap().iter().map(|i| i["index"].as_u64().unwrap()).collect();
        assert_eq!(idx, (first..first + len).collect::<Vec<u64>>());
        shards.push((d.path().join(name), r));
    }
    let merged = d.path().join("merged.json");
    // Any order of the inputs.
    let out = vitaccel(&d)
        .arg("merge")
        .args([&shards[2].0, &shards[0].0, &shards[1].0])
        .arg("-o")
        .arg(&merged)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let merged = read_json(&merged);
    let wall_sum: f64 = shards.iter().map(|(_, r)| r["wall_seconds"].as_f64().unwrap()).sum();
    assert!((merged["wall_seconds"].as_f64().unwrap() - wall_sum).abs() < 1e-9);
    assert_eq!(without_wall_times(merged), without_wall_times(whole));
    assert_eq!(figures(&out), figures(&whole_out));
}

#[test]
fn merge_refuses_what_is_not_one_whole_run() {
    let d = tempfile::tempdir().unwrap();
    let shard = |k: usize, n: usize, extra: &[&str], name: &str| {
        let p = d.path().join(name);
        run_fixture(&d, "golden", 4)
            .args(["--shard", &format!("{k}/{n}")])
            .args(extra)
            .arg("--json")
            .arg(&p)
            .assert()
            .success();
        p
    };
    let (a, b) = (shard(0, 2, &[], "a.json"), shard(1, 2, &[], "b.json"));
    let b_unpruned = shard(1, 2, &["--no-prune"], "b-unpruned.json");
    let b_of_3 = shard(1, 3, &[], "b3.json");
    let whole = d.path().join("whole.json");
    run_fixture(&d, "golden", 4).arg("--json").arg(&whole).assert().success();
    let garbage = d.path().join("garbage.json");
    std::fs::write(&garbage, "{\"images\": 3}").unwrap();
    let out = d.path().join("m.json");
    let fails = |inputs: &[&PathBuf], needles: &[&str]| {
        let o = vitaccel(&d).arg("merge").args(inputs).arg("-o").arg(&out).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        for n in needles {
            assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
        }
        assert!(!out.exists(), "no report written on a refusal");
    };
    fails(&[&a], &["shard(s) 1/2 missing"]);
    fails(&[&a, &b, &a], &["shard 0/2 is given twice"]);
    fails(&[&a, &b_unpruned], &["not shards of the same run", "compiled program", "pruning"]);
    fails(&[&a, &b_of_3], &["shards of different splits"]);
    fails(&[&a, &whole], &["not a shard"]);
    fails(&[&a, &garbage], &["garbage.json", "not the JSON report"]);
    // An edited shard whose records are not its block.
    let mut edited = read_json(&b);
    edited["per_image"].as_array_mut().unwrap().pop();
    let b_short = d.path().join("b-short.json");
    std::fs::write(&b_short, edited.to_string()).unwrap();
    fails(&[&a, &b_short], &["shard 1/2 should hold images 2..4"]);
    // The pair that is one run merges.
    vitaccel(&d).arg("merge").args([&a, &b]).arg("-o").arg(&out).assert().success();
    assert_eq!(read_json(&out)["images"], 4);
}

#[test]
fn bad_jobs_and_shards_are_refused() {
    let d = tempfile::tempdir().unwrap();
    for bad in ["3/3", "1/0", "x"] {
        run_fixture(&d, "golden", 2).args(["--shard", bad]).assert().code(2).stderr(predicate::str::contains("K/N"));
    }
    run_fixture(&d, "golden", 2).args(["--jobs", "0"]).assert().code(2);
    // Both need --model.
    vitaccel(&d)
        .args(["run", "--chain", "8,8,8", "--jobs", "2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--model"));
    vitaccel(&d)
        .args(["run", "--chain", "8,8,8", "--shard", "0/2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--model"));
    // One board, one device instance.
    run_fixture(&d, "board", 2)
        .args(["--jobs", "2"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the board backend drives one device"));
}
