//! Plots of the benchmark figures, drawn with `plotters` as PNG and SVG.
//!
//! Text is set in DejaVu Sans, embedded in the binary (the `dejavu` crate) and registered with
//! plotters' `ab_glyph` renderer, so plotting needs no system fonts or fontconfig.

use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Canvas size in pixels (PNG) or user units (SVG).
const SIZE: (u32, u32) = (900, 600);
/// Font family every text uses (registered by [`register_font`]).
const FONT: &str = "sans-serif";

/// Colours of successive data series (black, then matplotlib's first colours).
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 0, 0),
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
];
/// Colour of reference curves.
pub const GREY: RGBColor = RGBColor(150, 150, 150);

/// How a series is drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A dashed line (references).
    Dashed,
    /// A solid line with a filled dot at each point.
    LineDots,
    /// Filled dots (measured values).
    Dots,
    /// Hollow rings (expected values).
    Rings,
}

/// One series of an [`XyChart`].
pub struct Series {
    /// Legend entry (none: not in the legend).
    pub label: Option<String>,
    /// Colour.
    pub color: RGBColor,
    /// How it is drawn.
    pub mark: Mark,
    /// The points.
    pub points: Vec<(f64, f64)>,
}

/// A chart of series over two numeric axes.
pub struct XyChart {
    /// Title (also the SVG's first text, which tests look for).
    pub title: String,
    /// X axis label, with its unit.
    pub x_label: String,
    /// Y axis label, with its unit.
    pub y_label: String,
    /// X range.
    pub x_range: Range<f64>,
    /// Y range.
    pub y_range: Range<f64>,
    /// Series, drawn in order.
    pub series: Vec<Series>,
}

/// Horizontal bars: one value per category.
pub struct BarChart {
    /// Title.
    pub title: String,
    /// Label of the value axis, with its unit.
    pub value_label: String,
    /// Label of the category axis.
    pub category_label: String,
    /// (category, value), drawn top to bottom.
    pub bars: Vec<(String, f64)>,
}

/// Register the embedded font once (plotters' `ab_glyph` renderer has no system fonts).
fn register_font() -> Result<()> {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    ok.then_some(()).ok_or_else(|| anyhow!("the embedded DejaVu Sans font does not parse"))
}

/// `<stem>.png` and `<stem>.svg`, their folder created and the font registered.
fn paths(stem: &Path) -> Result<[PathBuf; 2]> {
    register_font()?;
    if let Some(dir) = stem.parent() {
        std::fs::create_dir_all(dir)?;
    }
    Ok([stem.with_extension("png"), stem.with_extension("svg")])
}

/// Plotters' error (generic over the backend) as an `anyhow` error.
fn err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> anyhow::Error {
    anyhow!("drawing a plot: {e}")
}

/// Write `chart` as `<stem>.png` and `<stem>.svg`; the two paths.
pub fn save_xy(chart: &XyChart, stem: &Path) -> Result<Vec<PathBuf>> {
    let [png, svg] = paths(stem)?;
    draw_xy(BitMapBackend::new(&png, SIZE).into_drawing_area(), chart)?;
    draw_xy(SVGBackend::new(&svg, SIZE).into_drawing_area(), chart)?;
    Ok(vec![png, svg])
}

/// Write `chart` as `<stem>.png` and `<stem>.svg`; the two paths.
pub fn save_bars(chart: &BarChart, stem: &Path) -> Result<Vec<PathBuf>> {
    let [png, svg] = paths(stem)?;
    draw_bars(BitMapBackend::new(&png, SIZE).into_drawing_area(), chart)?;
    draw_bars(SVGBackend::new(&svg, SIZE).into_drawing_area(), chart)?;
    Ok(vec![png, svg])
}

fn title_style() -> TextStyle<'static> {
    (FONT, 22).into_font().style(FontStyle::Bold).color(&BLACK)
}

fn draw_xy<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, c: &XyChart) -> Result<()> {
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(&c.title, title_style())
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(c.x_range.clone(), c.y_range.clone())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(&c.x_label)
        .y_desc(&c.y_label)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(245, 245, 245))
        .draw()
        .map_err(err)?;
    for s in &c.series {
        let (color, pts, label) = (s.color, s.points.clone(), s.label.clone().unwrap_or_default());
        let dot = move |p: (f64, f64)| Circle::new(p, 4, color.filled());
        let ring = move |p: (f64, f64)| Circle::new(p, 7, color.stroke_width(1));
        // Legend samples are drawn in pixels around the entry's anchor point.
        let anno = match s.mark {
            Mark::Dashed => chart.draw_series(DashedLineSeries::new(pts, 8, 5, color.stroke_width(2))).map_err(err)?,
            Mark::LineDots => {
                chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2))).map_err(err)?;
                chart.draw_series(pts.into_iter().map(dot)).map_err(err)?
            }
            Mark::Dots => chart.draw_series(pts.into_iter().map(dot)).map_err(err)?,
            Mark::Rings => chart.draw_series(pts.into_iter().map(ring)).map_err(err)?,
        };
        if s.label.is_none() {
            continue;
        }
        let anno = anno.label(label);
        match s.mark {
            Mark::Dashed => anno.legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (7, 0)], color.stroke_width(2))
                    + PathElement::new(vec![(12, 0), (20, 0)], color.stroke_width(2))
            }),
            Mark::LineDots => anno.legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (20, 0)], color.stroke_width(2))
                    + Circle::new((10, 0), 4, color.filled())
            }),
            Mark::Dots => anno.legend(move |(x, y)| Circle::new((x + 10, y), 4, color.filled())),
            Mark::Rings => anno.legend(move |(x, y)| Circle::new((x + 10, y), 7, color.stroke_width(1))),
        };
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

fn draw_bars<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, c: &BarChart) -> Result<()> {
    root.fill(&WHITE).map_err(err)?;
    let n = c.bars.len() as i32;
    let max = c.bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1e-9) * 1.15;
    let mut chart = ChartBuilder::on(&root)
        .caption(&c.title, title_style())
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(110)
        .build_cartesian_2d(0.0..max, (0..(n - 1).max(1)).into_segmented())
        .map_err(err)?;
    let name = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) => c.bars.get((n - 1 - i) as usize).map(|b| b.0.clone()).unwrap_or_default(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(&c.value_label)
        .y_desc(&c.category_label)
        .y_labels(c.bars.len())
        .y_label_formatter(&name)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(245, 245, 245))
        .draw()
        .map_err(err)?;
    let color = PALETTE[1];
    chart
        .draw_series(c.bars.iter().enumerate().map(|(i, (_, v))| {
            let row = n - 1 - i as i32;
            let mut bar =
                Rectangle::new([(0.0, SegmentValue::Exact(row)), (*v, SegmentValue::Exact(row + 1))], color.filled());
            bar.set_margin(4, 4, 0, 0);
            bar
        }))
        .map_err(err)?;
    chart
        .draw_series(c.bars.iter().enumerate().map(|(i, (_, v))| {
            Text::new(format!(" {}", value_text(*v)), (*v, SegmentValue::CenterOf(n - 1 - i as i32)), (FONT, 13))
        }))
        .map_err(err)?;
    root.present().map_err(err)
}

/// A bar's value as printed beside it.
fn value_text(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// File names of written plots, for messages.
pub fn names(files: &[PathBuf]) -> String {
    files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(" and ")
}
