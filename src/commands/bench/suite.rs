//! `vitaccel bench all`: the whole suite, or some of its pieces, into one folder.
//!
//! Each piece is one benchmark with fixed arguments writing `<folder>/<piece>.json` (and its
//! plots beside it); `<folder>/suite.json` records what ran, with which command and how long
//! it took, so the suite can run in pieces (`--only`) and `bench report` reads the folder.

use super::{common, gemm, golden, model, pruning, synth, tokens};
use crate::commands::synth::Shape;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Folder for the JSON files, the plots and `suite.json`.
    #[arg(long, default_value = "out/bench")]
    pub out: PathBuf,
    /// The quick configuration: an 8x8 array and a 4-block model of 18 tokens; seconds, not
    /// tens of minutes (for tests and trying the suite out). Leaves out the NViT pieces and
    /// `synth` (Yosys takes minutes even on its smallest config) unless named in `--only`.
    #[arg(long)]
    pub quick: bool,
    /// Run only these pieces (default: every piece).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<Piece>,
    /// Skip these pieces.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub skip: Vec<Piece>,
    /// Then write the results document from the folder to this file (as `bench report`).
    #[arg(long)]
    pub report: Option<PathBuf>,
}

/// A piece of the suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Piece {
    /// `bench gemm` (RTL).
    Gemm,
    /// `bench model` on DeiT-Tiny (RTL).
    Model,
    /// `bench model` on the NViT-T-like shape (RTL; not in the quick suite).
    ModelNvit,
    /// `bench tokens` (RTL).
    Tokens,
    /// `bench pruning` (RTL).
    Pruning,
    /// `bench synth` (Yosys).
    Synth,
    /// `bench golden` on DeiT-Tiny.
    Golden,
    /// `bench golden` on the NViT-T-like shape (not in the quick suite).
    GoldenNvit,
}

impl Piece {
    /// Every piece, in the order the suite runs them (cheap ones first).
    pub const ALL: [Piece; 8] = [
        Piece::Golden,
        Piece::GoldenNvit,
        Piece::Gemm,
        Piece::Model,
        Piece::ModelNvit,
        Piece::Tokens,
        Piece::Pruning,
        Piece::Synth,
    ];

    /// Its name on the command line and in `suite.json`.
    pub fn name(self) -> String {
        common::enum_arg(self)
    }

    /// Its JSON file in a suite folder.
    pub fn json(self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.json", self.name()))
    }

    /// Whether it needs the RTL simulator (Verilator).
    pub fn needs_rtl(self) -> bool {
        matches!(self, Piece::Gemm | Piece::Model | Piece::ModelNvit | Piece::Tokens | Piece::Pruning)
    }
}

/// One benchmark with its arguments.
#[derive(Clone)]
pub enum Job {
    /// `bench gemm`.
    Gemm(gemm::Args),
    /// `bench model`.
    Model(model::Args),
    /// `bench tokens`.
    Tokens(tokens::Args),
    /// `bench pruning`.
    Pruning(pruning::Args),
    /// `bench synth`.
    Synth(synth::Args),
    /// `bench golden`.
    Golden(golden::Args),
}

impl Job {
    /// Run it.
    pub fn run(&self) -> Result<()> {
        match self {
            Job::Gemm(a) => gemm::run(a),
            Job::Model(a) => model::run(a),
            Job::Tokens(a) => tokens::run(a),
            Job::Pruning(a) => pruning::run(a),
            Job::Synth(a) => synth::run(a),
            Job::Golden(a) => golden::run(a),
        }
    }

    /// The equivalent command line.
    pub fn command_line(&self) -> String {
        match self {
            Job::Gemm(a) => a.command_line(),
            Job::Model(a) => a.command_line(),
            Job::Tokens(a) => a.command_line(),
            Job::Pruning(a) => a.command_line(),
            Job::Synth(a) => a.command_line(),
            Job::Golden(a) => a.command_line(),
        }
    }
}

/// The accelerator config of the quick suite (8x8, up to 32 tokens).
const QUICK_CONFIG: &str = "configs/small-8x8.toml";
/// The synthesis config of the quick suite (8x4, 32 tokens, 2 heads, tiny banks; `--only synth`).
const QUICK_SYNTH_CONFIG: &str = "configs/synth-quick.toml";
/// Selector positions of the quick model (before blocks 2, 3, 4 of 4).
const QUICK_SELECTORS: [usize; 3] = [1, 2, 3];

/// The benchmark a piece runs, writing into `dir`: the full configuration, or the quick one.
pub fn job(piece: Piece, dir: &Path, quick: bool) -> Job {
    let json = piece.json(dir);
    let config = quick.then(|| PathBuf::from(QUICK_CONFIG));
    let shape = if quick { Shape::Tiny } else { Shape::DeitTiny };
    let selectors = if quick { QUICK_SELECTORS.to_vec() } else { vec![3, 6, 9] };
    match piece {
        Piece::Gemm => {
            let chain = if quick { vec![18, 32, 64, 32] } else { vec![197, 192, 768, 192] };
            Job::Gemm(gemm::Args { chain, config, json })
        }
        Piece::Model | Piece::ModelNvit => {
            let project = if quick {
                vec!["configs/default-16x16.toml".into()]
            } else {
                vec!["configs/32x32.toml".into(), "configs/64x32.toml".into()]
            };
            let shape = if piece == Piece::ModelNvit { Shape::NvitT } else { shape };
            Job::Model(model::Args { shape, config, project, json })
        }
        Piece::Tokens => {
            let keep = if quick { vec![1.0, 0.5] } else { vec![1.0, 0.7, 0.5, 0.3] };
            Job::Tokens(tokens::Args { shape, config, keep, json })
        }
        Piece::Pruning => {
            let keep = if quick { vec![1.0, 0.5] } else { vec![1.0, 0.7, 0.5, 0.3] };
            Job::Pruning(pruning::Args { shape, config, selectors, keep, json })
        }
        Piece::Synth => {
            let config = if quick { QUICK_SYNTH_CONFIG } else { "configs/synth-8x8.toml" };
            Job::Synth(synth::Args { config: config.into(), json })
        }
        Piece::Golden | Piece::GoldenNvit => {
            let shape = if piece == Piece::GoldenNvit { Shape::NvitT } else { shape };
            Job::Golden(golden::Args { shape, images: if quick { 2 } else { 5 }, selectors, json })
        }
    }
}

/// The pieces to run: `--only` (or all; not the NViT pieces and `synth` in the quick suite) less `--skip`
/// (and less the RTL pieces in a build without the RTL simulator).
pub fn pieces(a: &Args) -> Vec<Piece> {
    let mut chosen: Vec<Piece> = if a.only.is_empty() {
        let slow = [Piece::ModelNvit, Piece::GoldenNvit, Piece::Synth];
        Piece::ALL.into_iter().filter(|p| !(a.quick && slow.contains(p))).collect()
    } else {
        Piece::ALL.into_iter().filter(|p| a.only.contains(p)).collect()
    };
    chosen.retain(|p| !a.skip.contains(p));
    if !common::RTL_BUILT {
        chosen.retain(|p| !p.needs_rtl());
    }
    chosen
}

/// `suite.json`: what ran into the folder.
#[derive(Serialize, Deserialize, Default)]
pub struct SuiteManifest {
    /// Whether the pieces ran in the quick configuration.
    pub quick: bool,
    /// The pieces, in suite order.
    pub pieces: Vec<PieceRun>,
}

/// One piece's run.
#[derive(Serialize, Deserialize, Clone)]
pub struct PieceRun {
    /// Which piece.
    pub piece: Piece,
    /// The command that ran it.
    pub command: String,
    /// Wall time, seconds.
    pub wall_seconds: f64,
}

/// The manifest's path in a suite folder.
pub fn manifest_path(dir: &Path) -> PathBuf {
    dir.join("suite.json")
}

/// Run the suite.
pub fn run(a: &Args) -> Result<()> {
    let chosen = pieces(a);
    anyhow::ensure!(!chosen.is_empty(), "no pieces left to run (--only / --skip)");
    common::ensure_dir(&a.out)?;
    let path = manifest_path(&a.out);
    // Runs in pieces add to the folder's manifest (a change of configuration starts it anew).
    let mut manifest: SuiteManifest = common::load_json(&path).unwrap_or_default();
    if manifest.quick != a.quick {
        manifest = SuiteManifest { quick: a.quick, pieces: vec![] };
    }
    let t_suite = Instant::now();
    for piece in chosen {
        let job = job(piece, &a.out, a.quick);
        println!("== bench {}: {}", piece.name(), job.command_line());
        let t = Instant::now();
        job.run()?;
        let run = PieceRun { piece, command: job.command_line(), wall_seconds: t.elapsed().as_secs_f64() };
        println!("== bench {} done in {:.1} s", piece.name(), run.wall_seconds);
        manifest.pieces.retain(|p| p.piece != piece);
        manifest.pieces.push(run);
        manifest.pieces.sort_by_key(|p| Piece::ALL.iter().position(|q| *q == p.piece));
        // Saved after every piece, so an interrupted suite keeps what it measured.
        crate::commands::write_json(&path, &manifest)?;
    }
    println!("suite: {:.1} s; figures in {}", t_suite.elapsed().as_secs_f64(), a.out.display());
    Ok(())
}
