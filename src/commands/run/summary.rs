//! The report of a whole-model run, computed from per-image records only, so that a run, a shard
//! and a merge of shards (`vitaccel merge`) all derive their figures the same way: sums and
//! counts over the images, never averages of averages.

use super::shard::Shard;
use super::Backend;
use serde::{Deserialize, Serialize};

/// What one image did on the device and in the golden models.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// Index of the image in the image set.
    pub index: usize,
    /// Its label, if the set has labels.
    pub label: Option<u8>,
    /// Class the device predicts (argmax of its logits).
    pub device_class: usize,
    /// Class the integer golden model predicts.
    pub golden_class: usize,
    /// Class the float reference predicts (with --calib).
    pub float_class: Option<usize>,
    /// Device logits equal the integer golden model's exactly.
    pub logits_exact: bool,
    /// Kept-token sets read back after every selector equal golden's (true without pruning).
    pub kept_exact: bool,
    /// Live tokens after each selector, as read back from the device.
    pub live_after_selector: Vec<usize>,
    /// Cycles from START to DONE.
    pub cycles: u64,
    /// Multiply-accumulates of the image (GEMMs, at golden's live counts when pruning).
    pub macs: u64,
    /// Host wall time on the device for this image, seconds.
    pub device_wall_seconds: f64,
}

impl ImageRecord {
    /// Logits and kept tokens both equal golden's.
    pub fn exact(&self) -> bool {
        self.logits_exact && self.kept_exact
    }
}

/// What the run ran: reports of runs that differ here cannot be merged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSource {
    /// Model file as given on the command line.
    pub model: String,
    /// FNV-1a 64 of the model file's bytes (hex).
    pub model_fnv1a64: String,
    /// FNV-1a 64 of the calibration set's bytes (hex), with --calib.
    pub calib_fnv1a64: Option<String>,
    /// Image set as given on the command line.
    pub images: String,
    /// FNV-1a 64 of the image set's bytes (hex).
    pub images_fnv1a64: String,
    /// CONFIG_HASH of the accelerator configuration (hex).
    pub config_hash: String,
    /// Clock of the configuration, MHz.
    pub clock_mhz: f64,
    /// FNV-1a 64 of the compiled program: instructions and every data segment (hex).
    pub program_fnv1a64: String,
    /// Images of the whole run before sharding (the set, or its first --limit images).
    pub images_in_run: usize,
    /// Tokens of the model (prefix and patch tokens).
    pub tokens: usize,
}

/// Result of a whole-model run (or of one shard of it, or of a merge of shards).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelRunReport {
    /// Backend.
    pub backend: Backend,
    /// Array size.
    pub array: (usize, usize),
    /// What ran.
    pub source: RunSource,
    /// The shard this report covers (`None`: every image of the run).
    pub shard: Option<Shard>,
    /// Images run.
    pub images: usize,
    /// Images whose logits equal the golden model's exactly.
    pub exact_images: usize,
    /// The selectors ran on chip (token pruning).
    pub pruning: bool,
    /// Images whose kept-token sets (read back after every selector) equal the golden model's.
    pub exact_kept_images: usize,
    /// Mean live tokens after each selector, as read back from the device.
    pub mean_live_after_selector: Vec<f64>,
    /// Top-1 accuracy of the device (percent), if labels were given.
    pub device_top1_percent: Option<f64>,
    /// Top-1 accuracy of the integer golden model, same pruning setting (percent).
    pub golden_top1_percent: Option<f64>,
    /// Top-1 accuracy of the float reference, same pruning setting (percent), with --calib.
    pub float_top1_percent: Option<f64>,
    /// Cycles per image (mean).
    pub cycles_per_image: f64,
    /// Multiply-accumulates per image (GEMMs; mean, rounded down).
    pub macs_per_image: u64,
    /// `macs / (PEs * cycles)` in percent.
    pub utilization_percent: f64,
    /// Latency per image at the configured clock, in milliseconds.
    pub latency_ms: f64,
    /// Instructions in the program.
    pub instructions: usize,
    /// Host wall time of the run, seconds (of a merge: the sum over its shards).
    pub wall_seconds: f64,
    /// Host wall time on the device alone (START to DONE and the counters), summed over the images.
    pub device_wall_seconds: f64,
    /// Every image, by index.
    pub per_image: Vec<ImageRecord>,
}

/// What a report says besides its per-image figures.
pub struct Header {
    /// Backend.
    pub backend: Backend,
    /// Array size.
    pub array: (usize, usize),
    /// What ran.
    pub source: RunSource,
    /// The shard covered.
    pub shard: Option<Shard>,
    /// Pruning on chip.
    pub pruning: bool,
    /// Selector stages of the program.
    pub selectors: usize,
    /// The image set has labels.
    pub labelled: bool,
    /// A float reference ran beside the integer model.
    pub float_reference: bool,
    /// Instructions in the program.
    pub instructions: usize,
    /// Host wall time, seconds.
    pub wall_seconds: f64,
}

impl ModelRunReport {
    /// The report of `images` (sorted here by index) under `h`.
    pub fn summarize(h: Header, mut images: Vec<ImageRecord>) -> ModelRunReport {
        images.sort_by_key(|r| r.index);
        let n = images.len();
        let count = |f: &dyn Fn(&ImageRecord) -> bool| images.iter().filter(|r| f(r)).count();
        let pct = |k: usize| if n == 0 { 0.0 } else { 100.0 * k as f64 / n as f64 };
        let mean = |sum: u64| if n == 0 { 0.0 } else { sum as f64 / n as f64 };
        let top1 = |class: &dyn Fn(&ImageRecord) -> Option<usize>| {
            pct(count(&|r| r.label.is_some_and(|l| class(r) == Some(l as usize))))
        };
        let cycles_per_image = mean(images.iter().map(|r| r.cycles).sum());
        let macs_per_image = images.iter().map(|r| r.macs).sum::<u64>() / n.max(1) as u64;
        let pes = (h.array.0 * h.array.1) as f64;
        let live_sum =
            |s: usize| images.iter().map(|r| r.live_after_selector.get(s).copied().unwrap_or(0) as u64).sum();
        ModelRunReport {
            backend: h.backend,
            array: h.array,
            images: n,
            exact_images: count(&|r| r.exact()),
            pruning: h.pruning,
            exact_kept_images: count(&|r| r.kept_exact),
            mean_live_after_selector: (0..h.selectors).map(|s| mean(live_sum(s))).collect(),
            device_top1_percent: h.labelled.then(|| top1(&|r| Some(r.device_class))),
            golden_top1_percent: h.labelled.then(|| top1(&|r| Some(r.golden_class))),
            float_top1_percent: (h.labelled && h.float_reference).then(|| top1(&|r| r.float_class)),
            cycles_per_image,
            macs_per_image,
            utilization_percent: if n == 0 { 0.0 } else { 100.0 * macs_per_image as f64 / (pes * cycles_per_image) },
            latency_ms: cycles_per_image / (h.source.clock_mhz * 1e3),
            instructions: h.instructions,
            wall_seconds: h.wall_seconds,
            device_wall_seconds: images.iter().map(|r| r.device_wall_seconds).sum(),
            source: h.source,
            shard: h.shard,
            per_image: images,
        }
    }

    /// This report's header (with the figures it was summarized from).
    pub fn header(&self) -> Header {
        Header {
            backend: self.backend,
            array: self.array,
            source: self.source.clone(),
            shard: self.shard,
            pruning: self.pruning,
            selectors: self.mean_live_after_selector.len(),
            labelled: self.device_top1_percent.is_some(),
            float_reference: self.float_top1_percent.is_some(),
            instructions: self.instructions,
            wall_seconds: self.wall_seconds,
        }
    }

    /// The first image whose logits or kept tokens differ from golden's.
    pub fn first_inexact(&self) -> Option<usize> {
        self.per_image.iter().find(|r| !r.exact()).map(|r| r.index)
    }

    /// Print the report for humans.
    pub fn print(&self) {
        let n = self.images;
        let shard = match self.shard {
            Some(s) => {
                let r = s.range(self.source.images_in_run);
                format!(" (shard {s}: images {}..{} of {})", r.start, r.end, self.source.images_in_run)
            }
            None => String::new(),
        };
        println!(
            "{:?} backend, {}x{} array, {} ({} instructions), {n} images{shard}, {}:",
            self.backend,
            self.array.0,
            self.array.1,
            self.source.model,
            self.instructions,
            if self.pruning { "token pruning on chip" } else { "no token pruning" }
        );
        println!("  logits equal the integer golden model on {}/{n} images", self.exact_images);
        if self.pruning {
            let live: Vec<String> = self.mean_live_after_selector.iter().map(|l| format!("{l:.2}")).collect();
            println!(
                "  kept-token sets equal golden after every selector on {}/{n} images; mean live tokens after \
                 each selector: {} (of {})",
                self.exact_kept_images,
                live.join(", "),
                self.source.tokens
            );
        }
        if let (Some(d), Some(g)) = (self.device_top1_percent, self.golden_top1_percent) {
            let f = self.float_top1_percent.map_or(String::new(), |f| format!(", float {f:.2} %"));
            println!("  top-1: device {d:.2} %, golden {g:.2} %{f}");
        }
        println!(
            "  {:.0} cycles/image ({:.3} ms at {} MHz), {} MACs/image, PE utilization {:.2} %, wall {:.2} s \
             ({:.2} s on the device)",
            self.cycles_per_image,
            self.latency_ms,
            self.source.clock_mhz,
            self.macs_per_image,
            self.utilization_percent,
            self.wall_seconds,
            self.device_wall_seconds
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(index: usize, label: u8, device: usize, golden: usize, cycles: u64, macs: u64) -> ImageRecord {
        ImageRecord {
            index,
            label: Some(label),
            device_class: device,
            golden_class: golden,
            float_class: Some(label as usize),
            logits_exact: device == golden,
            kept_exact: true,
            live_after_selector: vec![10 + index, 5],
            cycles,
            macs,
            device_wall_seconds: 0.5,
        }
    }

    fn header() -> Header {
        Header {
            backend: Backend::Golden,
            array: (4, 2),
            source: RunSource {
                model: "m".into(),
                model_fnv1a64: "0".into(),
                calib_fnv1a64: None,
                images: "i".into(),
                images_fnv1a64: "0".into(),
                config_hash: "0".into(),
                clock_mhz: 200.0,
                program_fnv1a64: "0".into(),
                images_in_run: 3,
                tokens: 17,
            },
            shard: None,
            pruning: true,
            selectors: 2,
            labelled: true,
            float_reference: true,
            instructions: 7,
            wall_seconds: 1.0,
        }
    }

    /// Three images worked out by hand: figures are sums and counts over the images.
    #[test]
    fn figures_are_counts_and_sums_over_the_images() {
        let images = vec![record(2, 1, 1, 1, 300, 1000), record(0, 3, 3, 3, 100, 1000), record(1, 4, 5, 4, 200, 1001)];
        let r = ModelRunReport::summarize(header(), images);
        assert_eq!(r.per_image.iter().map(|r| r.index).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!((r.images, r.exact_images, r.exact_kept_images), (3, 2, 3));
        assert_eq!(r.first_inexact(), Some(1));
        // Device right on images 0 and 2; golden and float on all three.
        assert_eq!(r.device_top1_percent, Some(200.0 / 3.0));
        assert_eq!((r.golden_top1_percent, r.float_top1_percent), (Some(100.0), Some(100.0)));
        // Live after selector 0: 10, 11, 12.
        assert_eq!(r.mean_live_after_selector, [11.0, 5.0]);
        assert_eq!(r.cycles_per_image, 200.0);
        assert_eq!(r.macs_per_image, 1000); // 3001 / 3 rounded down
                                            // 1000 MACs / (8 PEs * 200 cycles) = 62.5 %; 200 cycles at 200 MHz = 1 us.
        assert_eq!(r.utilization_percent, 62.5);
        assert_eq!(r.latency_ms, 0.001);
        assert_eq!(r.device_wall_seconds, 1.5);
    }

    #[test]
    fn no_images_give_zeros_not_nan() {
        let r = ModelRunReport::summarize(header(), vec![]);
        assert_eq!((r.cycles_per_image, r.utilization_percent, r.latency_ms), (0.0, 0.0, 0.0));
        assert_eq!(r.device_top1_percent, Some(0.0));
        // JSON has no NaN: serde_json would write null, which does not read back as a number.
        let back: ModelRunReport = serde_json::from_str(&serde_json::to_string(&r).unwrap()).expect("reads back");
        assert_eq!(back, r);
    }
}
