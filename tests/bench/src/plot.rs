//! An SVG plot of p50 latency against concurrency (log–log), one panel per workload, one line
//! per server, transport and era.

use std::path::Path;

use plotters::prelude::*;

use crate::proto::Era;
use crate::report::LoadRun;

/// Draw `runs` into `path` (SVG): one panel for each workload label in `workloads`.
///
/// # Errors
/// The file cannot be written.
pub fn latency_vs_concurrency(
    path: &Path,
    runs: &[LoadRun],
    workloads: &[&str],
) -> anyhow::Result<()> {
    let width = 560 * workloads.len().max(1) as u32;
    let root = SVGBackend::new(path, (width, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let panels = root.split_evenly((1, workloads.len().max(1)));
    for (area, workload) in panels.iter().zip(workloads) {
        let mine: Vec<&LoadRun> = runs
            .iter()
            .filter(|r| r.workload.label == *workload && !r.levels.is_empty())
            .collect();
        let ys = mine
            .iter()
            .flat_map(|r| r.levels.iter().map(|l| l.latency_ms.p50))
            .filter(|v| *v > 0.0);
        let (lo, hi) = ys.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let (lo, hi) = if lo > hi {
            (0.01, 10.0)
        } else {
            (lo / 1.6, hi * 1.6)
        };
        let xmax = mine
            .iter()
            .flat_map(|r| r.levels.iter().map(|l| l.concurrency))
            .max()
            .unwrap_or(64) as f64;
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("{workload}: p50 latency vs concurrency"),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(38)
            .y_label_area_size(60)
            .build_cartesian_2d((0.8f64..xmax * 1.25).log_scale(), (lo..hi).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("calls in flight")
            .y_desc("p50 latency (ms)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.2}"))
            .draw()
            .map_err(err)?;
        for run in mine {
            let color = match (run.server.as_str(), run.transport.as_str()) {
                ("capsule", "stdio") => RED,
                ("capsule", _) => MAGENTA,
                (_, "stdio") => BLUE,
                _ => CYAN,
            };
            let width = if run.era == Era::Legacy { 2 } else { 1 };
            let style = ShapeStyle::from(&color).stroke_width(width);
            let points: Vec<(f64, f64)> = run
                .levels
                .iter()
                .map(|l| (l.concurrency as f64, l.latency_ms.p50.max(lo)))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), style))
                .map_err(err)?
                .label(format!("{} {} {}", run.server, run.transport, run.era))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            if run.era == Era::Legacy {
                chart
                    .draw_series(points.iter().map(|p| Circle::new(*p, 3, style.filled())))
                    .map_err(err)?;
            } else {
                chart
                    .draw_series(points.iter().map(|p| TriangleMarker::new(*p, 4, style)))
                    .map_err(err)?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .draw()
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("drawing the plot: {e}")
}
