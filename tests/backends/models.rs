//! Whole models compiled to one program, on every backend: the logits equal the integer golden
//! model's (`golden::IntModel::forward`) exactly, and programs compiled with debug dumps
//! reproduce every named golden stage. On a mismatch of the logits the image is rerun with
//! debug dumps and the first differing golden stage is reported. Where a backend measures its
//! cycles (the RTL), the cycle model's estimate of the program stays within 2 % of them on the
//! fixture and within 5 % on random models, and the AXI protocol holds.

use crate::common::Backend;
use golden::{ForwardOptions, IntModel, Trace};
use host::cycle_model::CycleModel;
use host::device;
use host::model_compile::{compile_model, first_mismatch, ModelOptions};
use host::testkit::{fixture_int_model, random_int_model};
use proptest::prelude::*;
use spec::AccelConfig;
use std::time::Duration;

const NO_PRUNE: ForwardOptions = ForwardOptions { prune: false };
const TIMEOUT: Duration = Duration::from_secs(600);

/// Run `images` on `backend` (with debug dumps compared stage by stage when `debug`); `Err`
/// names the image and what differs. Returns the largest relative error of the cycle model's
/// estimate of the program's cycles (measured backends only; 0 elsewhere).
fn check(
    backend: &Backend,
    model: &IntModel,
    images: &[golden::Image],
    cfg: &AccelConfig,
    debug: bool,
) -> Result<f64, String> {
    let cm = compile_model(model, cfg, ModelOptions { debug, ..ModelOptions::default() }).map_err(|e| e.to_string())?;
    let mut dev = backend.open(cfg, cm.program.dram_bytes as usize);
    device::load(dev.as_mut(), &cm.program).map_err(|e| e.to_string())?;
    let predicted = CycleModel::new(cfg).program(&cm.program.insns).0 as f64;
    let mut model_err = 0f64;
    for (i, img) in images.iter().enumerate() {
        let mut tr = Trace::new();
        let want = model.forward(img, &NO_PRUNE, Some(&mut tr));
        let got =
            cm.run_image(dev.as_mut(), &model.input_patches(img), TIMEOUT).map_err(|e| format!("image {i}: {e}"))?;
        if backend.measures_cycles {
            model_err = model_err.max((got.stats.cycles as f64 - predicted).abs() / predicted);
        }
        if debug {
            if let Some(m) = first_mismatch(&got.trace, &tr) {
                return Err(format!("image {i}: first differing stage {m}"));
            }
            if got.trace.stages().len() < 4 {
                return Err("debug program dumped nothing".into());
            }
        }
        if got.logits != want.logits {
            let why = if debug { String::new() } else { localize(backend, model, img, cfg) };
            return Err(format!("image {i}: logits {:?}, golden {:?}; {why}", got.logits, want.logits));
        }
    }
    if let Some(v) = dev.protocol_violations() {
        return Err(format!("AXI protocol: {v}"));
    }
    Ok(model_err)
}

/// Rerun one image with debug dumps and name the first stage that differs from golden.
fn localize(backend: &Backend, model: &IntModel, img: &golden::Image, cfg: &AccelConfig) -> String {
    let cm = compile_model(model, cfg, ModelOptions { debug: true, ..ModelOptions::default() })
        .expect("compiled once already");
    let mut dev = backend.open(cfg, cm.program.dram_bytes as usize);
    device::load(dev.as_mut(), &cm.program).expect("loads");
    let mut tr = Trace::new();
    model.forward(img, &NO_PRUNE, Some(&mut tr));
    match cm.run_image(dev.as_mut(), &model.input_patches(img), TIMEOUT) {
        Ok(r) => first_mismatch(&r.trace, &tr)
            .map_or("every dumped stage equal".into(), |m| format!("first differing stage {m}")),
        Err(e) => format!("debug run failed: {e}"),
    }
}

/// The fixture's test images (every one on the golden ISA simulator; `VITACCEL_COSIM_IMAGES`
/// or 8 on the RTL) exact, the first two also with debug dumps; on the RTL the cycle model
/// within 2 % of the program's cycles.
fn check_fixture(backend: &Backend) {
    let (im, test) = fixture_int_model();
    let cfg = AccelConfig::small();
    let n = backend.fixture_images(test.images.len());
    let model_err =
        check(backend, &im, &test.images[..n], &cfg, false).unwrap_or_else(|e| panic!("{}: {e}", backend.name));
    check(backend, &im, &test.images[..2], &cfg, true).unwrap_or_else(|e| panic!("{}: debug: {e}", backend.name));
    eprintln!("{}: {n} fixture images, cycle model within {:.2} %", backend.name, model_err * 100.0);
    assert!(model_err <= 0.02, "{}: program cycles, model off by {:.2} %", backend.name, model_err * 100.0);
}

on_every_backend!(BACKEND => {
    #[test]
    fn fixture_images_are_exact() {
        check_fixture(BACKEND);
    }

    /// Enough tokens (65 or 66 on 16x16) that LN1 and LN2 run in two row chunks (the second
    /// in bank S0) with Q/K/V and FC1 per chunk, the token mask's row scales taken from each
    /// chunk's first row: the program has the chunks, and the logits are exact.
    #[test]
    fn layernorm_row_chunks_are_exact() {
        let mut rng = golden::synth::Rng::new(0x1c4e);
        let mut shape = golden::synth::random_shape(&mut rng, 2, 16);
        (shape.img_size, shape.patch_size) = (8, 1);
        shape.selectors.clear();
        let fm = golden::synth::random_model(&shape, 7, 0.0);
        let cal = golden::Calibration::collect(&fm, &golden::synth::random_images(&shape, 4, 8), |_| {});
        let (im, _) = golden::quantize(&fm, &cal).expect("quantizes");
        let cfg = AccelConfig::default();
        let cm = compile_model(&im, &cfg, ModelOptions::default()).expect("compiles");
        let lns = cm.program.insns.iter().filter(|i| matches!(i.op, spec::isa::Op::LayerNorm(_))).count();
        assert_eq!(lns, 4 * shape.blocks.len() + 1, "LN1 and LN2 in two chunks each, the final LayerNorm whole");
        let images = golden::synth::random_images(&shape, 1, 9);
        let model_err = check(BACKEND, &im, &images, &cfg, false).unwrap_or_else(|e| panic!("{}: {e}", BACKEND.name));
        assert!(model_err <= 0.05, "{}: program cycles, model off by {:.2} %", BACKEND.name, model_err * 100.0);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: BACKEND.cases(200), failure_persistence: None, ..ProptestConfig::default() })]

        /// Random NViT shapes, one image each; every fourth also with debug dumps.
        #[test]
        fn random_models_are_exact(seed in any::<u64>()) {
            let (im, images) = random_int_model(seed, 3, 1);
            let cfg = AccelConfig::small();
            let r = check(BACKEND, &im, &images, &cfg, false);
            prop_assert!(r.is_ok(), "{}: {:?}: {:?}", BACKEND.name, im.shape, r);
            let model_err = r.unwrap();
            prop_assert!(model_err <= 0.05, "{}: {:?}: program cycles, model off by {:.2} %",
                         BACKEND.name, im.shape, model_err * 100.0);
            if seed % 4 == 0 {
                let r = check(BACKEND, &im, &images, &cfg, true);
                prop_assert!(r.is_ok(), "{}: {:?}: debug: {:?}", BACKEND.name, im.shape, r);
            }
        }
    }
});

/// Models beyond the hardware are rejected by the compiler, naming the limit (no backend runs).
#[test]
fn models_beyond_the_hardware_are_rejected_naming_the_limit() {
    let (im, _) = fixture_int_model();
    let mut cfg = AccelConfig::small();
    cfg.max_tokens = 16;
    let e = compile_model(&im, &cfg, ModelOptions::default()).unwrap_err().to_string();
    assert!(e.contains("max_tokens"), "{e}");
    let mut cfg = AccelConfig::small();
    cfg.bank_words = 64;
    let e = compile_model(&im, &cfg, ModelOptions::default()).unwrap_err().to_string();
    assert!(e.contains("bank_words"), "{e}");
}
