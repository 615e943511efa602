//! Every class of bad model/data file gives a precise error, never a panic.

use golden::synth::{random_model, Rng};
use host::model_file;
use host::LoadError;
use proptest::prelude::*;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use spec::{AccelConfig, BlockShape, InputSpec, ModelShape, SelectorShape};
use std::collections::HashMap;
use std::path::Path;

fn shape() -> ModelShape {
    ModelShape {
        embed: 16,
        blocks: vec![BlockShape { heads: 2, qk: 8, v: 4, mlp: 32 }, BlockShape { heads: 1, qk: 4, v: 8, mlp: 16 }],
        img_size: 4,
        patch_size: 2,
        in_chans: 1,
        num_classes: 3,
        distilled: true,
        selectors: vec![SelectorShape { block: 1, heads: 2, hidden1: 4, hidden2: 2, head_hidden: 1 }],
        attn_scale: 0.125,
        ln_eps: 1e-6,
        input: InputSpec { pixel_max: 16, pixel_scale: 1.0 / 16.0, mean: vec![0.5], std: vec![0.5] },
    }
}

fn good_bytes() -> Vec<u8> {
    model_file::to_bytes(&random_model(&shape(), 1, 0.0))
}

/// An editable copy of a safetensors file (independent of the code under test).
struct Edit {
    tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)>,
    meta: HashMap<String, String>,
}

impl Edit {
    fn of(bytes: &[u8]) -> Edit {
        let st = SafeTensors::deserialize(bytes).unwrap();
        let (_, m) = SafeTensors::read_metadata(bytes).unwrap();
        let mut tensors: Vec<_> =
            st.tensors().into_iter().map(|(k, v)| (k, v.dtype(), v.shape().to_vec(), v.data().to_vec())).collect();
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        Edit { tensors, meta: m.metadata().clone().unwrap() }
    }
    fn bytes(&self) -> Vec<u8> {
        let views: Vec<(String, TensorView)> =
            self.tensors.iter().map(|(k, d, s, b)| (k.clone(), TensorView::new(*d, s.clone(), b).unwrap())).collect();
        safetensors::serialize(views, Some(self.meta.clone())).unwrap()
    }
    fn get(&mut self, key: &str) -> &mut (String, Dtype, Vec<usize>, Vec<u8>) {
        self.tensors.iter_mut().find(|t| t.0 == key).unwrap()
    }
}

fn load(bytes: &[u8]) -> Result<golden::FloatModel, LoadError> {
    model_file::load_bytes(Path::new("m.safetensors"), bytes, Some(&AccelConfig::default()))
}

#[test]
fn good_file_round_trips_exactly() {
    let m = random_model(&shape(), 1, 0.0);
    let back = load(&model_file::to_bytes(&m)).unwrap();
    assert_eq!(back, m);
}

#[test]
fn missing_key_is_named() {
    let mut e = Edit::of(&good_bytes());
    e.tensors.retain(|t| t.0 != "blocks.1.attn.proj.weight");
    let err = load(&e.bytes()).unwrap_err();
    assert!(
        matches!(&err, LoadError::MissingKey { key, expected, .. } if key == "blocks.1.attn.proj.weight" && expected == &vec![16, 8]),
        "{err}"
    );
    assert!(err.to_string().contains("blocks.1.attn.proj.weight"));
}

#[test]
fn wrong_shape_names_key_and_both_shapes() {
    let mut e = Edit::of(&good_bytes());
    let t = e.get("blocks.0.mlp.fc1.weight");
    t.2 = vec![16, 32]; // transposed: same byte count
    let err = load(&e.bytes()).unwrap_err();
    match &err {
        LoadError::WrongShape { key, expected, found, .. } => {
            assert_eq!(key, "blocks.0.mlp.fc1.weight");
            assert_eq!(expected, &vec![32, 16]);
            assert_eq!(found, &vec![16, 32]);
        }
        _ => panic!("{err}"),
    }
}

#[test]
fn wrong_dtype_is_named() {
    let mut e = Edit::of(&good_bytes());
    e.get("norm.weight").1 = Dtype::I32;
    let err = load(&e.bytes()).unwrap_err();
    assert!(
        matches!(&err, LoadError::WrongDtype { key, found, .. } if key == "norm.weight" && found == "I32"),
        "{err}"
    );
}

#[test]
fn truncated_and_garbage_files_are_corrupt() {
    let good = good_bytes();
    for cut in [0, 4, 8, 100, good.len() / 2, good.len() - 1] {
        let err = load(&good[..cut]).unwrap_err();
        assert!(matches!(err, LoadError::Corrupt { .. }), "cut {cut}: {err}");
    }
    let err = load(b"this is not a safetensors file at all").unwrap_err();
    assert!(matches!(err, LoadError::Corrupt { .. }), "{err}");
}

#[test]
fn metadata_problems_are_named() {
    let good = Edit::of(&good_bytes());
    let mut e = Edit { tensors: good.tensors.clone(), meta: good.meta.clone() };
    e.meta.remove("dim");
    assert!(matches!(load(&e.bytes()).unwrap_err(), LoadError::Metadata { key, .. } if key == "dim"));
    let mut e = Edit { tensors: good.tensors.clone(), meta: good.meta.clone() };
    e.meta.insert("dim".into(), r#"{"EMB": 16, "head": [2, 1], "QK": [8], "V": [4, 8], "MLP": [32, 16]}"#.into());
    let err = load(&e.bytes()).unwrap_err();
    assert!(err.to_string().contains("different lengths"), "{err}");
    let mut e = Edit { tensors: good.tensors.clone(), meta: good.meta.clone() };
    e.meta.insert("vitaccel".into(), "{not json".into());
    assert!(matches!(load(&e.bytes()).unwrap_err(), LoadError::Metadata { key, .. } if key == "vitaccel"));
}

#[test]
fn dims_that_disagree_with_tensors_are_caught() {
    // The dim claims block 0 has 3 heads; the QKV tensor has 2 heads' rows.
    let mut e = Edit::of(&good_bytes());
    e.meta.insert("dim".into(), r#"{"EMB": 16, "head": [3, 1], "QK": [8, 4], "V": [4, 8], "MLP": [32, 16]}"#.into());
    let err = load(&e.bytes()).unwrap_err();
    assert!(matches!(&err, LoadError::WrongShape { key, .. } if key == "blocks.0.attn.qkv.weight"), "{err}");
    // A third block in the dims that the file does not have.
    let mut e = Edit::of(&good_bytes());
    e.meta.insert(
        "dim".into(),
        r#"{"EMB": 16, "head": [2, 1, 1], "QK": [8, 4, 4], "V": [4, 8, 8], "MLP": [32, 16, 16]}"#.into(),
    );
    assert!(matches!(load(&e.bytes()).unwrap_err(), LoadError::MissingKey { key, .. } if key.starts_with("blocks.2.")));
}

#[test]
fn contract_violations_and_hardware_limits_are_reported() {
    let mut e = Edit::of(&good_bytes());
    let meta = e.meta["vitaccel"].replace("\"heads\":2", "\"heads\":3");
    e.meta.insert("vitaccel".into(), meta);
    assert!(matches!(load(&e.bytes()).unwrap_err(), LoadError::Shape { .. }));

    let tiny = AccelConfig { max_tokens: 4, ..AccelConfig::default() };
    let err = model_file::load_bytes(Path::new("m"), &good_bytes(), Some(&tiny)).unwrap_err();
    assert!(matches!(&err, LoadError::Hardware { .. }), "{err}");
    assert!(err.to_string().contains("max_tokens"), "{err}");
    let narrow = AccelConfig { max_width: 32, ..AccelConfig::default() };
    let err = model_file::load_bytes(Path::new("m"), &good_bytes(), Some(&narrow)).unwrap_err();
    assert!(err.to_string().contains("QKV width"), "{err}");
}

#[test]
fn nan_weights_and_extra_tensors_are_rejected() {
    let mut e = Edit::of(&good_bytes());
    e.get("head.bias").3[0..4].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(matches!(load(&e.bytes()).unwrap_err(), LoadError::NonFinite { key, .. } if key == "head.bias"));
    let mut e = Edit::of(&good_bytes());
    e.tensors.push(("blocks.7.attn.qkv.weight".into(), Dtype::F32, vec![1], vec![0; 4]));
    assert!(
        matches!(load(&e.bytes()).unwrap_err(), LoadError::UnexpectedKeys { keys, .. } if keys == vec!["blocks.7.attn.qkv.weight"])
    );
}

#[test]
fn missing_file_is_an_io_error() {
    let err = model_file::load(Path::new("/nonexistent/model.safetensors"), None).unwrap_err();
    assert!(matches!(err, LoadError::Io { .. }), "{err}");
}

#[test]
fn optional_token_mask_defaults_to_ones() {
    let mut e = Edit::of(&good_bytes());
    e.tensors.retain(|t| !t.0.ends_with("token_mask"));
    let m = load(&e.bytes()).unwrap();
    assert!(m.blocks.iter().all(|b| b.token_mask.iter().all(|&v| v == 1.0)));
}

#[test]
fn quantized_model_round_trips_and_rejects_corruption() {
    let bytes = quantized_bytes();
    let (im, _) = host::qmodel_file::load_bytes(Path::new("q"), &bytes, None).unwrap();
    let again = host::qmodel_file::to_bytes(&im, &golden::QuantReport::default(), 4);
    let (back, meta) = host::qmodel_file::load_bytes(Path::new("q"), &again, None).unwrap();
    assert_eq!(back, im);
    assert_eq!(meta.calibration_images, 4);
    let err = host::qmodel_file::load_bytes(Path::new("q"), &bytes[..bytes.len() - 3], None).unwrap_err();
    assert!(matches!(err, LoadError::Corrupt { .. }));
    let mut e = Edit::of(&bytes);
    e.get("blocks.0.gelu").2 = vec![128, 2];
    assert!(matches!(
        host::qmodel_file::load_bytes(Path::new("q"), &e.bytes(), None).unwrap_err(),
        LoadError::WrongShape { .. }
    ));
}

fn quantized_bytes() -> Vec<u8> {
    let fm = random_model(&shape(), 5, 0.0);
    let imgs = golden::synth::random_images(&shape(), 4, 5);
    let cal = golden::Calibration::collect(&fm, &imgs, |_| {});
    let (im, rep) = golden::quantize(&fm, &cal).unwrap();
    host::qmodel_file::to_bytes(&im, &rep, 4)
}

#[test]
fn quantized_constants_out_of_range_are_rejected() {
    let bytes = quantized_bytes();
    let mut e = Edit::of(&bytes);
    e.get("blocks.0.fc1.shift").3[0] = 63;
    let err = host::qmodel_file::load_bytes(Path::new("q"), &e.bytes(), None).unwrap_err();
    assert!(matches!(&err, LoadError::BadValue { key, .. } if key == "blocks.0.fc1.shift"), "{err}");
    let mut e = Edit::of(&bytes);
    e.get("blocks.1.exp_lut").3[0..2].copy_from_slice(&0u16.to_le_bytes());
    let err = host::qmodel_file::load_bytes(Path::new("q"), &e.bytes(), None).unwrap_err();
    assert!(matches!(&err, LoadError::BadValue { key, .. } if key == "blocks.1.exp_lut"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// Fuzz: random byte edits, truncations and header digit edits never panic.
    #[test]
    fn mutated_files_never_panic(seed in any::<u64>(), kind in 0u8..4, edits in 1usize..12) {
        let mut bytes = good_bytes();
        let mut rng = Rng::new(seed);
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize + 8;
        match kind {
            0 => for _ in 0..edits { let i = rng.range(0, bytes.len() - 1); bytes[i] = rng.next_u64() as u8; },
            1 => { let cut = rng.range(0, bytes.len()); bytes.truncate(cut); },
            2 => for _ in 0..edits {
                // Edit the JSON header: digits become other digits, so shapes/offsets/dims change.
                let i = rng.range(8, header_len - 1);
                if bytes[i].is_ascii_digit() { bytes[i] = b'0' + rng.range(0, 9) as u8; }
            },
            _ => { let i = rng.range(0, 7); bytes[i] = rng.next_u64() as u8; },
        }
        let _ = load(&bytes);
        let _ = host::Dataset::load_bytes(Path::new("d"), &bytes);
    }

    /// Fuzz the quantized format the same way; a file that still loads must also run.
    #[test]
    fn mutated_quantized_files_never_panic(seed in any::<u64>(), edits in 1usize..12) {
        let mut bytes = quantized_bytes();
        let mut rng = Rng::new(seed);
        for _ in 0..edits {
            let i = rng.range(0, bytes.len() - 1);
            bytes[i] = rng.next_u64() as u8;
        }
        if let Ok((m, _)) = host::qmodel_file::load_bytes(Path::new("q"), &bytes, None) {
            let img = &golden::synth::random_images(&m.shape, 1, seed)[0];
            let _ = m.forward(img, &golden::ForwardOptions::default(), None);
        }
    }
}

#[test]
fn huge_dims_in_a_small_file_are_refused_before_allocating() {
    let mut e = Edit::of(&good_bytes());
    e.meta.insert(
        "dim".into(),
        r#"{"EMB": 60000, "head": [2, 1], "QK": [8, 4], "V": [4, 8], "MLP": [60000, 16]}"#.into(),
    );
    let err = model_file::load_bytes(Path::new("m"), &e.bytes(), None).unwrap_err();
    assert!(matches!(&err, LoadError::Corrupt { msg, .. } if msg.contains("dims need")), "{err}");
}

/// The `vitaccel` metadata of the good file with `field` set to the JSON `value`.
fn with_meta_field(field: &str, value: &str) -> Vec<u8> {
    let mut e = Edit::of(&good_bytes());
    let mut meta: serde_json::Value = serde_json::from_str(&e.meta["vitaccel"]).unwrap();
    let mut slot = &mut meta;
    for part in field.split('.') {
        slot = match part.parse::<usize>() {
            Ok(i) => &mut slot[i],
            Err(_) => &mut slot[part],
        };
    }
    *slot = serde_json::from_str(value).unwrap();
    e.meta.insert("vitaccel".into(), meta.to_string());
    e.bytes()
}

/// Every metadata scalar is checked; the error names the field and its value. (A negative
/// `ln_eps` used to load and silently produce garbage.)
#[test]
fn bad_metadata_scalars_are_named() {
    let cases = [
        ("ln_eps", "-1.0", "ln_eps = -1"),
        ("ln_eps", "0.0", "ln_eps = 0"),
        ("attn_scale", "0.0", "attn_scale = 0"),
        ("attn_scale", "-0.125", "attn_scale = -0.125"),
        ("input.pixel_max", "0", "pixel_max = 0"),
        ("input.pixel_max", "300", "pixel_max = 300"),
        ("input.pixel_scale", "-1.0", "pixel_scale = -1"),
        ("input.std.0", "0.0", "input.std[0] = 0"),
        ("input.mean", "[0.5, 0.5]", "input.mean has 2"),
        ("num_classes", "0", "num_classes = 0"),
        ("patch_size", "3", "patch_size = 3 must divide img_size = 4"),
        ("selectors.0.block", "2", "selector 0 placed before block 2 of 2"),
        ("selectors", r#"[{"block": 1, "heads": 2}, {"block": 1, "heads": 2}]"#, "sorted by block"),
        ("selectors.0.heads", "3", "selector 0: 3 heads"),
    ];
    for (field, value, needle) in cases {
        let err = load(&with_meta_field(field, value)).unwrap_err();
        assert!(matches!(err, LoadError::Shape { .. }), "{field} = {value}: {err}");
        assert!(err.to_string().contains(needle), "{field} = {value}: {err} lacks {needle:?}");
    }
    let err = load(&with_meta_field("ln_eps", "\"small\"")).unwrap_err();
    assert!(
        matches!(&err, LoadError::Metadata { key, msg, .. } if key == "vitaccel" && msg.contains("string")),
        "{err}"
    );
    // Float overflow in JSON is a parse error, not an infinite value.
    let mut e = Edit::of(&good_bytes());
    let meta = e.meta["vitaccel"].replace("\"attn_scale\":0.125", "\"attn_scale\":1e400");
    assert_ne!(meta, e.meta["vitaccel"]);
    e.meta.insert("vitaccel".into(), meta);
    let err = load(&e.bytes()).unwrap_err();
    assert!(matches!(&err, LoadError::Metadata { key, .. } if key == "vitaccel"), "{err}");
}

fn fixture_model_bytes() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/digits/model.safetensors")).unwrap()
}

/// A missing tensor is named by its key even when it is a large part of the file (the size
/// guard against absurd dims used to fire first: "the dims need N bytes ... the file has M").
#[test]
fn missing_large_tensor_of_the_fixture_is_named() {
    for key in ["blocks.0.attn.qkv.weight", "blocks.0.mlp.fc1.weight", "pos_embed", "head_dist.weight"] {
        let mut e = Edit::of(&fixture_model_bytes());
        e.tensors.retain(|t| t.0 != key);
        let err = load(&e.bytes()).unwrap_err();
        assert!(matches!(&err, LoadError::MissingKey { key: k, .. } if k == key), "{key}: {err}");
        assert!(err.to_string().contains(&format!("missing tensor '{key}'")), "{err}");
    }
    // Every tensor gone: the file still has its metadata, the first key is named.
    let mut e = Edit::of(&fixture_model_bytes());
    e.tensors.clear();
    let err = load(&e.bytes()).unwrap_err();
    assert!(matches!(&err, LoadError::MissingKey { key, .. } if key == "patch_embed.proj.weight"), "{err}");
}

#[test]
fn missing_quantized_tensor_is_named() {
    let mut e = Edit::of(&quantized_bytes());
    let largest = e.tensors.iter().max_by_key(|t| t.3.len()).unwrap().0.clone();
    e.tensors.retain(|t| t.0 != largest);
    let err = host::qmodel_file::load_bytes(Path::new("q"), &e.bytes(), None).unwrap_err();
    assert!(matches!(&err, LoadError::MissingKey { key, .. } if *key == largest), "{err}");
}

#[test]
fn bad_quantized_metadata_is_named() {
    let good = Edit::of(&quantized_bytes());
    for (field, value, needle) in [
        ("logit_scale", "0.0", "logit_scale = 0"),
        ("logit_scale", "-2.0", "logit_scale = -2"),
        ("residual_scale", "-1.0", "residual_scale = -1"),
    ] {
        let mut e = Edit { tensors: good.tensors.clone(), meta: good.meta.clone() };
        let mut meta: serde_json::Value = serde_json::from_str(&e.meta["vitaccel_quant"]).unwrap();
        meta[field] = serde_json::from_str(value).unwrap();
        e.meta.insert("vitaccel_quant".into(), meta.to_string());
        let err = host::qmodel_file::load_bytes(Path::new("q"), &e.bytes(), None).unwrap_err();
        assert!(matches!(&err, LoadError::Metadata { key, .. } if key == "vitaccel_quant"), "{err}");
        assert!(err.to_string().contains(needle), "{err} lacks {needle:?}");
    }
    let mut e = Edit { tensors: good.tensors.clone(), meta: good.meta.clone() };
    let mut meta: serde_json::Value = serde_json::from_str(&e.meta["vitaccel_quant"]).unwrap();
    meta["shape"]["ln_eps"] = serde_json::json!(-1.0);
    e.meta.insert("vitaccel_quant".into(), meta.to_string());
    let err = host::qmodel_file::load_bytes(Path::new("q"), &e.bytes(), None).unwrap_err();
    assert!(matches!(&err, LoadError::Shape { .. }) && err.to_string().contains("ln_eps = -1"), "{err}");
}
