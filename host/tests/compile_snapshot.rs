//! The model compiler's output, pinned: every case below (the trained fixture with and without
//! pruning, with live token counts and with debug dumps; seeded synthetic models of DeiT-Tiny and
//! NViT-T-like shapes and random NViT shapes, on the small and the default configuration) is
//! compiled and hashed, and the hashes must equal the ones in `snapshots/compile_model.txt`.
//!
//! The snapshot was recorded from the compiler as it was before it was split into named emit
//! steps, so a refactoring of the compiler that changes a single instruction bit, weight byte,
//! DRAM address, debug dump or per-instruction report entry fails here. A deliberate change of
//! the compiler's output re-records it: `VITACCEL_BLESS=1 cargo test -p host --test
//! compile_snapshot` (and the diff of the snapshot file shows which cases changed).
//!
//! Each line also holds a hash of the input model, so that a change of the quantizer or of the
//! synthetic models (which changes the input, not the compiler) is told apart in the failure.

use golden::synth::{deit_tiny, nvit_t_like, random_images, random_model, random_shape, Rng};
use golden::IntModel;
use host::model_compile::{compile_model, CompiledModel, ModelOptions};
use host::testkit::fixture_int_model;
use spec::AccelConfig;
use std::fmt::Write;
use std::path::PathBuf;

/// FNV-1a, 64 bits: a small, fixed, well-known hash (stable across Rust versions, unlike
/// `DefaultHasher`).
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self
    }
    /// A length-prefixed field, so that adjacent fields cannot trade bytes.
    fn field(&mut self, bytes: &[u8]) -> &mut Self {
        self.bytes(&(bytes.len() as u64).to_le_bytes()).bytes(bytes)
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }
}

/// Hash of what runs on the device: the encoded instructions and the whole DRAM image (every
/// segment's name, address and bytes), the output regions and the program header fields.
fn program_hash(cm: &CompiledModel) -> u64 {
    let p = &cm.program;
    let mut h = Fnv::new();
    h.field(&p.insn_bytes()).u64(p.insn_base).u64(p.dram_bytes).u64(p.live_tokens as u64);
    for s in &p.segments {
        h.field(s.name.as_bytes()).u64(s.addr).field(&s.bytes);
    }
    for o in &p.outputs {
        h.field(o.name.as_bytes()).u64(o.addr).u64(o.rows as u64).u64(o.row_bytes as u64).u64(o.cols as u64);
    }
    h.0
}

/// Hash of the host-side description of the program: patch and logits addresses, debug dumps,
/// per-instruction layer kinds and blocks, selector read-backs.
fn layout_hash(cm: &CompiledModel) -> u64 {
    let text = format!(
        "{} {} {} {} {} {:?} {:?} {:?} {:?} {}",
        cm.patch_addr,
        cm.patch_row_bytes,
        cm.logits_lo,
        cm.logits_hi,
        cm.classes,
        cm.dumps,
        cm.layer_of,
        cm.block_of,
        cm.kept_at,
        cm.kept_row_bytes
    );
    Fnv::new().bytes(text.as_bytes()).0
}

/// A synthetic model of `shape` quantized on one random calibration image (as the benchmarks
/// make theirs, smaller).
fn synthetic(shape: &spec::ModelShape, seed: u64) -> IntModel {
    let fm = random_model(shape, seed, 0.0);
    let calib = random_images(shape, 1, seed ^ 0xca1b);
    let cal = golden::Calibration::collect(&fm, &calib, |_| {});
    golden::quantize(&fm, &cal).expect("synthetic models quantize").0
}

/// Every option combination the compiler has.
fn all_options() -> Vec<(&'static str, ModelOptions)> {
    let o = ModelOptions::default();
    vec![
        ("plain", o),
        ("debug", ModelOptions { debug: true, ..o }),
        ("live", ModelOptions { live_tokens: true, ..o }),
        ("live+debug", ModelOptions { live_tokens: true, debug: true, ..o }),
        ("prune", ModelOptions { prune: true, ..o }),
        ("prune+debug", ModelOptions { prune: true, debug: true, ..o }),
    ]
}

/// `(case name, model, configuration, options)` for every snapshot line.
fn cases() -> Vec<(String, IntModel, AccelConfig, ModelOptions)> {
    let small = AccelConfig::small();
    let default = AccelConfig::default();
    let mut out = vec![];
    let (fixture, _) = fixture_int_model();
    for (cfg_name, cfg) in [("small", &small), ("default", &default)] {
        for (opt_name, opts) in all_options() {
            out.push((format!("fixture/{cfg_name}/{opt_name}"), fixture.clone(), cfg.clone(), opts));
        }
    }
    // Full-size shapes on the default configuration (the benchmarks' shapes).
    let plain = ModelOptions::default();
    let prune = ModelOptions { prune: true, ..plain };
    for (name, shape) in [("deit-tiny", deit_tiny(&[3, 6, 9])), ("nvit-t", nvit_t_like(&[3, 6, 9]))] {
        let m = synthetic(&shape, 7);
        out.push((format!("{name}/default/plain"), m.clone(), default.clone(), plain));
        out.push((format!("{name}/default/prune"), m, default.clone(), prune));
    }
    // Random NViT shapes: widths in whole words of each configuration (so the selectors run on
    // chip), every option combination cycling over the seeds.
    let opts = all_options();
    for (cfg_name, cfg) in [("small", &small), ("default", &default)] {
        for seed in 0..12u64 {
            let shape = random_shape(&mut Rng::new(seed), 3, cfg.array_rows);
            let m = synthetic(&shape, seed);
            let (opt_name, o) = opts[seed as usize % opts.len()];
            out.push((format!("random{seed}/{cfg_name}/{opt_name}"), m, cfg.clone(), o));
        }
    }
    out
}

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/compile_model.txt")
}

fn record() -> String {
    let mut s = String::from("# case insns program-hash layout-hash model-hash (see tests/compile_snapshot.rs)\n");
    for (name, model, cfg, opts) in cases() {
        let model_hash = Fnv::new().bytes(format!("{model:?}").as_bytes()).0;
        // A model the compiler rejects is pinned by its message.
        let (insns, program, layout) = match compile_model(&model, &cfg, opts) {
            Ok(cm) => (cm.program.insns.len(), program_hash(&cm), layout_hash(&cm)),
            Err(e) => (0, Fnv::new().bytes(e.to_string().as_bytes()).0, 0),
        };
        writeln!(s, "{name} {insns} {program:016x} {layout:016x} {model_hash:016x}").expect("a String takes writes");
    }
    s
}

#[test]
fn compiled_programs_equal_the_snapshot() {
    let got = record();
    let path = snapshot_path();
    if std::env::var_os("VITACCEL_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("snapshot folder");
        std::fs::write(&path, &got).expect("snapshot written");
        return;
    }
    let want = std::fs::read_to_string(&path).expect("the snapshot file (record it with VITACCEL_BLESS=1)");
    let mut diffs = vec![];
    let cases = |s: &str| s.lines().filter(|l| !l.starts_with('#')).map(str::to_string).collect::<Vec<_>>();
    let (g, w) = (cases(&got), cases(&want));
    assert_eq!(g.len(), w.len(), "case count differs from the snapshot");
    for (g, w) in g.iter().zip(&w) {
        if g != w {
            let (gf, wf): (Vec<_>, Vec<_>) = (g.split(' ').collect(), w.split(' ').collect());
            let why = if gf.get(4) != wf.get(4) { "the input model changed" } else { "the compiler output changed" };
            diffs.push(format!("{why}:\n  got  {g}\n  want {w}"));
        }
    }
    assert!(diffs.is_empty(), "{} of {} cases differ:\n{}", diffs.len(), g.len(), diffs.join("\n"));
}
