//! Typed, checked access to safetensors files, shared by every file format of the project.
//!
//! A model is read and written by one *visitor* function per format that names each tensor once;
//! [`TensorReader`] and [`TensorWriter`] are the two directions of the same [`Codec`], so key
//! names and shapes cannot drift between loading and saving.

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Everything that can be wrong with an input file. Every variant names the file and, where it
/// applies, the key, the expected and the found shape or type.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
    /// Not a valid safetensors file (truncated, bad header, overlapping offsets, ...).
    #[error("{path}: corrupt or truncated safetensors file: {msg}")]
    Corrupt {
        /// File.
        path: PathBuf,
        /// Parser message.
        msg: String,
    },
    /// A metadata entry is missing or malformed.
    #[error("{path}: metadata '{key}': {msg}")]
    Metadata {
        /// File.
        path: PathBuf,
        /// Metadata key.
        key: String,
        /// What is wrong.
        msg: String,
    },
    /// A required tensor is absent.
    #[error("{path}: missing tensor '{key}' (expected shape {expected:?})")]
    MissingKey {
        /// File.
        path: PathBuf,
        /// Tensor name.
        key: String,
        /// Shape it should have.
        expected: Vec<usize>,
    },
    /// A tensor has the wrong shape.
    #[error("{path}: tensor '{key}' has shape {found:?}, expected {expected:?}")]
    WrongShape {
        /// File.
        path: PathBuf,
        /// Tensor name.
        key: String,
        /// Shape required by the model's dims.
        expected: Vec<usize>,
        /// Shape in the file.
        found: Vec<usize>,
    },
    /// A tensor has the wrong element type.
    #[error("{path}: tensor '{key}' has dtype {found}, expected {expected}")]
    WrongDtype {
        /// File.
        path: PathBuf,
        /// Tensor name.
        key: String,
        /// Required dtype.
        expected: String,
        /// Dtype in the file.
        found: String,
    },
    /// A float tensor holds NaN or infinity.
    #[error("{path}: tensor '{key}' contains NaN or infinite values")]
    NonFinite {
        /// File.
        path: PathBuf,
        /// Tensor name.
        key: String,
    },
    /// Tensors the format does not define (nothing is silently ignored).
    #[error("{path}: unexpected tensors not described by the model's dims: {keys:?}")]
    UnexpectedKeys {
        /// File.
        path: PathBuf,
        /// Up to 10 extra keys.
        keys: Vec<String>,
    },
    /// The dims violate the model contract.
    #[error("{path}: {source}")]
    Shape {
        /// File.
        path: PathBuf,
        /// Contract violation.
        source: spec::ShapeError,
    },
    /// The model does not fit the accelerator configuration.
    #[error("{path}: {source}")]
    Hardware {
        /// File.
        path: PathBuf,
        /// Limit exceeded.
        source: spec::ConfigError,
    },
    /// A value is out of its legal range (e.g. a label beyond the class count).
    #[error("{path}: tensor '{key}': {msg}")]
    BadValue {
        /// File.
        path: PathBuf,
        /// Tensor name.
        key: String,
        /// What is wrong.
        msg: String,
    },
}

/// An element type stored in safetensors (little endian).
pub trait Elem: Copy + Default + 'static {
    /// The safetensors dtype.
    const DTYPE: Dtype;
    /// Decode one element.
    fn read(b: &[u8]) -> Self;
    /// Append the encoding of `self`.
    fn write(self, out: &mut Vec<u8>);
    /// NaN/infinity check (integers are always finite).
    fn is_finite(self) -> bool {
        true
    }
}

macro_rules! elem {
    ($t:ty, $d:expr) => {
        impl Elem for $t {
            const DTYPE: Dtype = $d;
            fn read(b: &[u8]) -> Self {
                <$t>::from_le_bytes(b.try_into().expect("element size"))
            }
            fn write(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    };
}
elem!(i8, Dtype::I8);
elem!(u8, Dtype::U8);
elem!(i16, Dtype::I16);
elem!(u16, Dtype::U16);
elem!(i32, Dtype::I32);

impl Elem for f32 {
    const DTYPE: Dtype = Dtype::F32;
    fn read(b: &[u8]) -> Self {
        f32::from_le_bytes(b.try_into().expect("element size"))
    }
    fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
}

/// One direction of a file format: a visitor calls `tensor` for every tensor it defines.
pub trait Codec {
    /// Read into or write from `data`, which has `shape` (row-major).
    fn tensor<T: Elem>(&mut self, key: &str, shape: &[usize], data: &mut [T]) -> Result<(), LoadError>;
    /// Like `tensor`, for a tensor that may be absent; returns whether it was present (or written).
    fn optional<T: Elem>(&mut self, key: &str, shape: &[usize], data: &mut [T]) -> Result<bool, LoadError>;
    /// A `BadValue` error for `key` in this file.
    fn invalid(&self, key: &str, msg: String) -> LoadError;
}

/// Reads and checks tensors from a safetensors buffer.
pub struct TensorReader<'a> {
    path: PathBuf,
    st: SafeTensors<'a>,
    metadata: HashMap<String, String>,
    seen: BTreeSet<String>,
}

/// Bytes a loader may allocate beyond the size of the file it reads: a file that lacks tensors of
/// up to this size in total is still read, so the first missing tensor is reported by its key.
pub const MISSING_TENSOR_ALLOWANCE: u128 = 256 << 20;

/// Refuse dims that need more than `need` bytes of tensors, far more than the file's `have`
/// bytes, before allocating anything for them (a corrupt or hostile header). Dims within
/// [`MISSING_TENSOR_ALLOWANCE`] of the file size pass: a missing tensor is then named by key.
pub fn check_dims_fit(path: &Path, need: u128, have: usize) -> Result<(), LoadError> {
    if need > have as u128 + MISSING_TENSOR_ALLOWANCE {
        return Err(LoadError::Corrupt {
            path: path.to_path_buf(),
            msg: format!("the dims need {need} bytes of weights but the file has only {have} bytes"),
        });
    }
    Ok(())
}

/// Read a whole file, mapping the OS error.
pub fn read_file(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|source| LoadError::Io { path: path.to_path_buf(), source })
}

impl<'a> TensorReader<'a> {
    /// Parse a buffer read from `path`.
    pub fn new(path: &Path, bytes: &'a [u8]) -> Result<Self, LoadError> {
        let corrupt = |msg: String| LoadError::Corrupt { path: path.to_path_buf(), msg };
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| corrupt(e.to_string()))?;
        let st = SafeTensors::deserialize(bytes).map_err(|e| corrupt(e.to_string()))?;
        Ok(TensorReader {
            path: path.to_path_buf(),
            st,
            metadata: meta.metadata().clone().unwrap_or_default(),
            seen: BTreeSet::new(),
        })
    }

    /// The file path (for error messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A metadata string, or a `Metadata` error naming the key.
    pub fn metadata(&self, key: &str) -> Result<&str, LoadError> {
        self.metadata.get(key).map(String::as_str).ok_or_else(|| self.meta_err(key, "missing".into()))
    }

    /// Parse a metadata entry as JSON into `T`.
    pub fn metadata_json<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<T, LoadError> {
        serde_json::from_str(self.metadata(key)?).map_err(|e| self.meta_err(key, e.to_string()))
    }

    /// A `Metadata` error for this file.
    pub fn meta_err(&self, key: &str, msg: String) -> LoadError {
        LoadError::Metadata { path: self.path.clone(), key: key.to_string(), msg }
    }

    /// Shape of a tensor if present (does not mark it as read).
    pub fn shape_of(&self, key: &str) -> Option<Vec<usize>> {
        self.st.tensor(key).ok().map(|t| t.shape().to_vec())
    }

    /// Whether a tensor exists.
    pub fn contains(&self, key: &str) -> bool {
        self.st.tensor(key).is_ok()
    }

    /// Read a tensor of any shape with rank `rank` (for data sets).
    pub fn any_shape<T: Elem>(&mut self, key: &str, rank: usize) -> Result<(Vec<usize>, Vec<T>), LoadError> {
        let shape = self.shape_of(key).ok_or_else(|| LoadError::MissingKey {
            path: self.path.clone(),
            key: key.to_string(),
            expected: vec![],
        })?;
        if shape.len() != rank {
            return Err(LoadError::WrongShape {
                path: self.path.clone(),
                key: key.into(),
                expected: vec![0; rank],
                found: shape,
            });
        }
        let mut data = vec![T::default(); shape.iter().product()];
        self.tensor(key, &shape, &mut data)?;
        Ok((shape, data))
    }

    /// Fail if the file holds tensors nobody read.
    pub fn finish(&self) -> Result<(), LoadError> {
        let extra: Vec<String> =
            self.st.names().into_iter().filter(|k| !self.seen.contains(*k)).map(String::from).collect();
        if extra.is_empty() {
            Ok(())
        } else {
            let mut keys = extra;
            keys.sort();
            keys.truncate(10);
            Err(LoadError::UnexpectedKeys { path: self.path.clone(), keys })
        }
    }
}

fn dtype_name(d: Dtype) -> String {
    format!("{d:?}")
}

impl Codec for TensorReader<'_> {
    fn tensor<T: Elem>(&mut self, key: &str, shape: &[usize], data: &mut [T]) -> Result<(), LoadError> {
        if !self.optional(key, shape, data)? {
            return Err(LoadError::MissingKey {
                path: self.path.clone(),
                key: key.to_string(),
                expected: shape.to_vec(),
            });
        }
        Ok(())
    }

    fn optional<T: Elem>(&mut self, key: &str, shape: &[usize], data: &mut [T]) -> Result<bool, LoadError> {
        let Ok(t) = self.st.tensor(key) else { return Ok(false) };
        let path = || self.path.clone();
        if t.dtype() != T::DTYPE {
            return Err(LoadError::WrongDtype {
                path: path(),
                key: key.into(),
                expected: dtype_name(T::DTYPE),
                found: dtype_name(t.dtype()),
            });
        }
        if t.shape() != shape {
            return Err(LoadError::WrongShape {
                path: path(),
                key: key.into(),
                expected: shape.to_vec(),
                found: t.shape().to_vec(),
            });
        }
        let size = T::DTYPE.bitsize() / 8;
        assert_eq!(data.len(), shape.iter().product::<usize>(), "caller buffer for {key}");
        for (d, b) in data.iter_mut().zip(t.data().chunks_exact(size)) {
            *d = T::read(b);
            if !d.is_finite() {
                return Err(LoadError::NonFinite { path: path(), key: key.into() });
            }
        }
        self.seen.insert(key.to_string());
        Ok(true)
    }

    fn invalid(&self, key: &str, msg: String) -> LoadError {
        LoadError::BadValue { path: self.path.clone(), key: key.to_string(), msg }
    }
}

/// Collects tensors and metadata, then writes one safetensors file.
#[derive(Default)]
pub struct TensorWriter {
    tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)>,
    metadata: HashMap<String, String>,
}

impl TensorWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }
    /// Add a metadata string.
    pub fn metadata(&mut self, key: &str, value: String) {
        self.metadata.insert(key.to_string(), value);
    }
    /// Serialize to bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let views: Vec<(String, TensorView)> = self
            .tensors
            .iter()
            .map(|(k, d, s, b)| (k.clone(), TensorView::new(*d, s.clone(), b).expect("consistent tensor")))
            .collect();
        safetensors::serialize(views, Some(self.metadata.clone())).expect("serializable")
    }
    /// Write to a file.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.to_bytes())
    }
}

impl Codec for TensorWriter {
    fn tensor<T: Elem>(&mut self, key: &str, shape: &[usize], data: &mut [T]) -> Result<(), LoadError> {
        let mut bytes = Vec::with_capacity(data.len() * T::DTYPE.bitsize() / 8);
        for &v in data.iter() {
            v.write(&mut bytes);
        }
        self.tensors.push((key.to_string(), T::DTYPE, shape.to_vec(), bytes));
        Ok(())
    }
    fn optional<T: Elem>(&mut self, key: &str, shape: &[usize], data: &mut [T]) -> Result<bool, LoadError> {
        self.tensor(key, shape, data)?;
        Ok(true)
    }

    fn invalid(&self, key: &str, msg: String) -> LoadError {
        LoadError::BadValue { path: PathBuf::from("<writer>"), key: key.to_string(), msg }
    }
}
