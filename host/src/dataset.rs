//! Image-set files: safetensors with `images: U8 [n, C, H, W]` and optional `labels: U8 [n]`.

use crate::tensors::{read_file, Codec, LoadError, TensorReader, TensorWriter};
use golden::Image;
use spec::ModelShape;
use std::path::Path;

/// A set of images with optional labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Images.
    pub images: Vec<Image>,
    /// One label per image, if the file has them.
    pub labels: Option<Vec<u8>>,
}

impl Dataset {
    /// Load a data set file.
    pub fn load(path: &Path) -> Result<Dataset, LoadError> {
        Self::load_bytes(path, &read_file(path)?)
    }

    /// Load from bytes (`path` is used in messages).
    pub fn load_bytes(path: &Path, bytes: &[u8]) -> Result<Dataset, LoadError> {
        let mut r = TensorReader::new(path, bytes)?;
        let (shape, pixels) = r.any_shape::<u8>("images", 4)?;
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3]);
        if h != w {
            return Err(LoadError::BadValue {
                path: path.into(),
                key: "images".into(),
                msg: format!("images must be square, got {h}x{w}"),
            });
        }
        let labels = if r.contains("labels") {
            let mut l = vec![0u8; n];
            r.tensor("labels", &[n], &mut l)?;
            Some(l)
        } else {
            None
        };
        r.finish()?;
        let per = c * h * w;
        let images =
            (0..n).map(|i| Image { chans: c, size: h, pixels: pixels[i * per..(i + 1) * per].to_vec() }).collect();
        Ok(Dataset { images, labels })
    }

    /// Check the images fit a model (channels, size, pixel range) and labels its classes.
    pub fn check_against(&self, path: &Path, m: &ModelShape) -> Result<(), LoadError> {
        let bad = |key: &str, msg: String| LoadError::BadValue { path: path.into(), key: key.into(), msg };
        if let Some(img) = self.images.first() {
            if img.chans != m.in_chans || img.size != m.img_size {
                return Err(bad(
                    "images",
                    format!(
                        "images are {}x{}x{}, the model takes {}x{}x{}",
                        img.chans, img.size, img.size, m.in_chans, m.img_size, m.img_size
                    ),
                ));
            }
        }
        if let Some(p) = self.images.iter().flat_map(|i| i.pixels.iter()).find(|&&p| p as u16 > m.input.pixel_max) {
            return Err(bad("images", format!("pixel value {p} exceeds the model's pixel_max {}", m.input.pixel_max)));
        }
        if let Some(l) = self.labels.iter().flatten().find(|&&l| l as usize >= m.num_classes) {
            return Err(bad("labels", format!("label {l} is not below the class count {}", m.num_classes)));
        }
        Ok(())
    }

    /// Serialize (used for synthetic sets and tests).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = TensorWriter::new();
        let n = self.images.len();
        let (c, s) = self.images.first().map(|i| (i.chans, i.size)).unwrap_or((1, 1));
        let mut px: Vec<u8> = self.images.iter().flat_map(|i| i.pixels.iter().copied()).collect();
        w.tensor("images", &[n, c, s, s], &mut px).expect("writer");
        if let Some(l) = &self.labels {
            w.tensor("labels", &[n], &mut l.clone()).expect("writer");
        }
        w.to_bytes()
    }
}
