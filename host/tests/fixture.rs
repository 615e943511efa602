//! The trained fixture: the f32 reference agrees with the independent numpy reference written by
//! the training script, and the integer model stays within the stated accuracy bound of float.

use golden::{argmax, quantize, Calibration, ForwardOptions};
use host::eval::evaluate;
use host::{model_file, Dataset};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/digits").join(name)
}

fn load() -> (golden::FloatModel, Dataset, Dataset) {
    let fm = model_file::load(&fixture("model.safetensors"), Some(&spec::AccelConfig::default())).unwrap();
    let test = Dataset::load(&fixture("test.safetensors")).unwrap();
    let calib = Dataset::load(&fixture("calib.safetensors")).unwrap();
    (fm, test, calib)
}

#[test]
fn float_reference_matches_independent_numpy_reference() {
    let (fm, test, _) = load();
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("reference.json")).unwrap()).unwrap();
    let images = reference["images"].as_array().unwrap();
    assert!(images.len() >= 32);
    for r in images {
        let i = r["index"].as_u64().unwrap() as usize;
        let out = fm.forward(&test.images[i], &ForwardOptions::default(), None);
        let want: Vec<f64> = r["logits"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        for (g, w) in out.logits.iter().zip(&want) {
            // numpy computes in float64, we in f32: 1e-4 is ~30x the observed gap.
            assert!((*g as f64 - w).abs() < 1e-4, "image {i}: {:?} vs {want:?}", out.logits);
        }
        let kept: Vec<Vec<usize>> = serde_json::from_value(r["kept"].clone()).unwrap();
        assert_eq!(out.kept, kept, "image {i}");
        assert_eq!(argmax(&out.logits), r["pred"].as_u64().unwrap() as usize);
    }
}

#[test]
fn integer_model_is_within_one_point_of_float_on_the_test_split() {
    let (fm, test, calib) = load();
    let cal = Calibration::collect(&fm, &calib.images, |_| {});
    let (im, report) = quantize(&fm, &cal).unwrap();
    assert!(report.clamped_biases.is_empty(), "{:?}", report.clamped_biases);
    for prune in [true, false] {
        let r = evaluate(&im, Some(&fm), &test.images, test.labels.as_deref(), &ForwardOptions { prune }, |_| {});
        let (f, i) = (r.float.unwrap(), r.int.unwrap());
        assert_eq!(f.total, 360);
        // The bound of the issue: integer top-1 within 1.0 point of float.
        assert!(i.top1_percent >= f.top1_percent - 1.0, "prune={prune}: float {f:?} int {i:?}");
        // A trained model, not chance: the float model classifies digits.
        assert!(f.top1_percent > 95.0);
        if prune {
            let k = r.keep_agreement.unwrap();
            assert!(k.rate_percent > 95.0, "{k:?}");
            assert!(r.mac_reduction_percent > 10.0);
        }
    }
}

#[test]
fn quantized_fixture_round_trips_through_its_file() {
    let (fm, test, calib) = load();
    let cal = Calibration::collect(&fm, &calib.images[..16], |_| {});
    let (im, report) = quantize(&fm, &cal).unwrap();
    let bytes = host::qmodel_file::to_bytes(&im, &report, 16);
    let (back, _) = host::qmodel_file::load_bytes(Path::new("q"), &bytes, None).unwrap();
    assert_eq!(back, im);
    let o = ForwardOptions::default();
    assert_eq!(back.forward(&test.images[0], &o, None), im.forward(&test.images[0], &o, None));
}
