//! What the compiler returns, and how a compiled model runs one image on a device.

use crate::program::Program;
use ndarray::Array2;

/// How an intermediate is laid out in a debug dump.
#[derive(Clone, Debug)]
pub enum DumpKind {
    /// int8 at byte `cols[c]` of each stored row.
    I8,
    /// uint8 (softmax probabilities).
    U8,
    /// int16: low bytes in the first region, high bytes in the second.
    I16,
}

/// A debug dump of one golden trace stage: `rows` rows of DRAM regions, golden column `c` at byte
/// `cols[c]` of a row.
#[derive(Clone, Debug)]
pub struct Dump {
    /// Golden trace stage name (`block0.ln1`, ...).
    pub stage: String,
    /// Element type.
    pub kind: DumpKind,
    /// DRAM address of row 0 (low plane for int16).
    pub addr: u64,
    /// DRAM address of the high plane (int16).
    pub hi_addr: u64,
    /// Rows.
    pub rows: usize,
    /// Bytes per stored row.
    pub row_bytes: usize,
    /// Byte offset of each golden column.
    pub cols: Vec<usize>,
}

/// A compiled model: the program plus where each image goes and where the logits come back.
#[derive(Clone, Debug)]
pub struct CompiledModel {
    /// Instructions and DRAM image (weights, parameters, initial residual stream).
    pub program: Program,
    /// DRAM address of the patch matrix (`P x patch_dim` int8, rows of `patch_row_bytes`).
    pub patch_addr: u64,
    /// Bytes per patch row in DRAM.
    pub patch_row_bytes: usize,
    /// DRAM address of the logits' low byte plane.
    pub logits_lo: u64,
    /// DRAM address of the logits' high byte plane.
    pub logits_hi: u64,
    /// Classes.
    pub classes: usize,
    /// Debug dumps (empty unless compiled with `debug`).
    pub dumps: Vec<Dump>,
    /// What each instruction computes, for per-layer-type reports.
    pub layer_of: Vec<LayerKind>,
    /// The block each instruction belongs to (a selector belongs to the block it precedes;
    /// `None`: embedding, final LayerNorm, heads, set-up).
    pub block_of: Vec<Option<u16>>,
    /// Per on-chip selector: DRAM address of its read-back (the live tokens' original indices,
    /// low then high byte row of `kept_row_bytes` each, then the live count, 16-bit LE).
    pub kept_at: Vec<u64>,
    /// Bytes per read-back row.
    pub kept_row_bytes: usize,
}

/// What an instruction computes, for per-layer-type reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum LayerKind {
    /// Data movement.
    Dma,
    /// Patch embedding GEMM.
    PatchEmbed,
    /// Q/K/V projections.
    Qkv,
    /// `Q K^T`.
    Scores,
    /// `P V`.
    AttnV,
    /// Output projection.
    Proj,
    /// MLP GEMMs.
    Mlp,
    /// Classifier heads.
    Head,
    /// LayerNorm.
    LayerNorm,
    /// Softmax.
    Softmax,
    /// Token selector (its LayerNorm, GEMMs, column means and SELECT).
    Selector,
}

impl CompiledModel {
    /// The DRAM bytes of one image's patch matrix (`P x patch_dim` int8).
    pub fn patch_bytes(&self, patches: &Array2<i8>) -> Vec<u8> {
        let mut out = vec![0u8; patches.nrows() * self.patch_row_bytes];
        for ((m, k), &v) in patches.indexed_iter() {
            out[m * self.patch_row_bytes + k] = v as u8;
        }
        out
    }
    /// Logits from the two stored byte planes.
    pub fn logits(&self, lo: &[u8], hi: &[u8]) -> Vec<i32> {
        (0..self.classes).map(|i| i16::from_le_bytes([lo[i], hi[i]]) as i32).collect()
    }
    /// Debug dumps read back as golden-trace-shaped stages (softmax heads stacked).
    pub fn read_dumps(&self, read: &mut dyn FnMut(u64, usize) -> Vec<u8>) -> golden::trace::Trace<i32> {
        let mut tr = golden::trace::Trace::new();
        let mut pending: Option<(String, Vec<Array2<i32>>)> = None;
        for d in &self.dumps {
            let lo = read(d.addr, d.rows * d.row_bytes);
            let hi = if matches!(d.kind, DumpKind::I16) { read(d.hi_addr, d.rows * d.row_bytes) } else { vec![] };
            let a = Array2::from_shape_fn((d.rows, d.cols.len()), |(i, j)| {
                let o = i * d.row_bytes + d.cols[j];
                match d.kind {
                    DumpKind::I8 => lo[o] as i8 as i32,
                    DumpKind::U8 => lo[o] as i32,
                    DumpKind::I16 => i16::from_le_bytes([lo[o], hi[o]]) as i32,
                }
            });
            let base = d.stage.split('#').next().unwrap_or(&d.stage).to_string();
            if let Some((name, parts)) = &mut pending {
                if *name == base {
                    parts.push(a);
                    continue;
                }
                let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
                tr.push(name.clone(), ndarray::concatenate(ndarray::Axis(0), &views).expect("heads share width"));
                pending = None;
            }
            if matches!(d.kind, DumpKind::U8) {
                pending = Some((base, vec![a]));
            } else {
                tr.push(base, a);
            }
        }
        if let Some((name, parts)) = pending {
            let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
            tr.push(name, ndarray::concatenate(ndarray::Axis(0), &views).expect("heads share width"));
        }
        tr
    }
}

/// Compare a device trace with golden's: the first stage (in device order) whose values differ,
/// with the (row, column) of the first differing element.
pub fn first_mismatch(device: &golden::trace::Trace<i32>, golden: &golden::trace::Trace<i32>) -> Option<String> {
    for (name, a) in device.stages() {
        match golden.get(name) {
            Some(g) if g.shape() == a.shape() => {
                if let Some(((i, j), v)) = a.indexed_iter().find(|(ij, v)| g[*ij] != **v) {
                    return Some(format!("{name}[{i}][{j}]: device {v}, golden {}", g[[i, j]]));
                }
            }
            Some(g) => return Some(format!("{name}: device shape {:?}, golden {:?}", a.shape(), g.shape())),
            None => return Some(format!("{name}: not in the golden trace")),
        }
    }
    None
}

/// Figures and results of one image on a device.
#[derive(Clone, Debug)]
pub struct ImageRun {
    /// Logits (int16 values).
    pub logits: Vec<i32>,
    /// Device counters.
    pub stats: crate::device::RunStats,
    /// The debug dumps as a trace (empty unless compiled with `debug`).
    pub trace: golden::trace::Trace<i32>,
    /// Per on-chip selector: the original indices of the tokens live after it (the package
    /// token's index is `N0`), as read back from the device.
    pub kept: Vec<Vec<usize>>,
}

impl CompiledModel {
    /// Run one image's patch matrix on `dev`, which holds this program (see
    /// [`crate::device::load`]).
    pub fn run_image(
        &self,
        dev: &mut dyn crate::device::Device,
        patches: &Array2<i8>,
        timeout: std::time::Duration,
    ) -> Result<ImageRun, crate::device::DeviceError> {
        dev.write_mem(self.patch_addr, &self.patch_bytes(patches))?;
        let stats = crate::device::execute(dev, &self.program, timeout)?;
        let lo = dev.read_mem(self.logits_lo, self.classes)?;
        let hi = dev.read_mem(self.logits_hi, self.classes)?;
        let mut err = None;
        let trace = self.read_dumps(&mut |a, n| match dev.read_mem(a, n) {
            Ok(v) => v,
            Err(e) => {
                err = Some(e);
                vec![0; n]
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        let mut kept = Vec::with_capacity(self.kept_at.len());
        for &at in &self.kept_at {
            let rb = self.kept_row_bytes;
            let bytes = dev.read_mem(at, 2 * rb + 2)?;
            let count = u16::from_le_bytes([bytes[2 * rb], bytes[2 * rb + 1]]) as usize;
            if count > rb {
                return Err(crate::device::DeviceError::Backend(format!(
                    "selector read-back: live count {count} exceeds the {rb} token slots"
                )));
            }
            kept.push((0..count).map(|i| bytes[i] as usize | (bytes[rb + i] as usize) << 8).collect());
        }
        Ok(ImageRun { logits: self.logits(&lo, &hi), stats, trace, kept })
    }
}
