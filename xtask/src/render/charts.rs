//! The book's charts, drawn as SVG from the measured data by plotters.
//!
//! Each chart is drawn from the same typed data the tables are, so a rerun
//! of `cargo xtask measure` redraws them, and the book's checks redraw them to
//! confirm the committed files are current.

use crate::data::Data;
use anyhow::Context;
use plotters::prelude::*;
use workers::report::human_ns;

const SIZE: (u32, u32) = (760, 420);
const FONT: (&str, u32) = ("sans-serif", 15);

/// Draws with `paint` into an SVG of the usual size and returns its text.
fn svg(
    size: (u32, u32),
    paint: impl FnOnce(
        DrawingArea<SVGBackend, plotters::coord::Shift>,
    ) -> anyhow::Result<()>,
) -> anyhow::Result<String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        paint(root.clone())?;
        root.present().map_err(plot_error)?;
    }
    Ok(text + "\n")
}

fn plot_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("cannot draw a chart: {e:?}")
}

/// Tick labels for counts on a log axis: 10, 1k, 100k, 1M.
fn count_tick(v: &f64) -> String {
    match *v {
        x if x >= 1e6 => format!("{}M", x / 1e6),
        x if x >= 1e3 => format!("{}k", x / 1e3),
        x if x >= 1.0 => format!("{x}"),
        x => format!("{x:.1}"),
    }
}

/// Tick labels for nanoseconds on a log axis: 1 ns, 10 µs, 1 ms.
fn ns_tick(v: &f64) -> String {
    match *v {
        x if x >= 1e6 => format!("{} ms", x / 1e6),
        x if x >= 1e3 => format!("{} µs", x / 1e3),
        x if x >= 1.0 => format!("{x} ns"),
        x => format!("{x:.1} ns"),
    }
}

/// A chart with logarithmic axes, as every line chart here has.
type LogChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<LogCoord<f64>, LogCoord<f64>>>;

/// The series' names, boxed in the upper left corner.
fn legend<'b>(chart: &mut LogChart<'b, 'b>) -> anyhow::Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(FONT)
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()
        .map_err(plot_error)
}

/// One look at each flag, on a log scale: the chart of the whole book.
pub fn cost_per_look(d: &Data) -> anyhow::Result<String> {
    // Nanoseconds per look, medians.
    let bars = [
        ("own memory (floor)", d.mmap.output.local_check_ns.median),
        ("RawValue: shared memory", d.raw.output.check_ns.median),
        ("mmap: mapped file", d.mmap.output.check_ns.median),
        ("Redis, pushed", d.push.output.check_ns.median),
        ("Manager: a round trip", d.manager.output.check_ns.median),
        (
            "Redis, polled: a round trip",
            d.redis().output.check_ns.median,
        ),
    ];
    svg(SIZE, |root| {
        let n = bars.len() as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption("One look at the stop flag (log scale)", FONT)
            .margin(16)
            .margin_right(40)
            .x_label_area_size(36)
            .y_label_area_size(10)
            .build_cartesian_2d((0.1f64..1e6).log_scale(), 0f64..n)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .x_desc("one look")
            .x_label_formatter(&ns_tick)
            .label_style(FONT)
            .draw()
            .map_err(plot_error)?;
        for (i, (name, ns)) in bars.iter().enumerate() {
            let y = n - 1.0 - i as f64;
            chart
                .draw_series([Rectangle::new(
                    [(0.1, y + 0.2), (*ns, y + 0.8)],
                    BLUE.mix(0.6).filled(),
                )])
                .map_err(plot_error)?;
            let label = format!("{name}: {}", human_ns(*ns));
            // Labels of short bars go beyond the bar's end, of long ones inside.
            let x = if *ns < 1e3 { ns * 1.6 } else { 0.15 };
            chart
                .draw_series([Text::new(label, (x, y + 0.62), FONT)])
                .map_err(plot_error)?;
        }
        Ok(())
    })
}

/// "Talk less": the Redis flag polled at four intervals, overhead against
/// stop latency.
pub fn check_interval(d: &Data) -> anyhow::Result<String> {
    // (candidates between looks, overhead in %, stop latency p50 and p99 in µs)
    let mut points = Vec::new();
    for m in &d.polls {
        let latency = &m.output.stop_latency_ns;
        points.push((
            m.output.check_every as f64,
            m.overhead_pct()?,
            latency.median / 1e3,
            latency.p99 / 1e3,
        ));
    }
    svg((SIZE.0, 380), |root| {
        let (left, right) = root.split_horizontally(SIZE.0 / 2);
        let xs = (500f64..2e6).log_scale();
        let mut cost = ChartBuilder::on(&left)
            .caption("What the looks cost (% of the search)", FONT)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .margin_right(24)
            .build_cartesian_2d(xs.clone(), (0.1f64..10_000.0).log_scale())
            .map_err(plot_error)?;
        cost.configure_mesh()
            .x_desc("candidates between looks")
            .x_label_formatter(&count_tick)
            .y_label_formatter(&|v| format!("{v}%"))
            .label_style(FONT)
            .draw()
            .map_err(plot_error)?;
        // Negative overheads are noise around zero: drawn at the floor.
        let line: Vec<(f64, f64)> =
            points.iter().map(|p| (p.0, p.1.max(0.1))).collect();
        cost.draw_series(LineSeries::new(line.clone(), RED.stroke_width(2)))
            .map_err(plot_error)?;
        cost.draw_series(line.iter().map(|&p| Circle::new(p, 4, RED.filled())))
            .map_err(plot_error)?;
        let mut wait = ChartBuilder::on(&right)
            .caption("How long a stop goes unseen", FONT)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .margin_right(24)
            .build_cartesian_2d(xs, (10f64..10_000.0).log_scale())
            .map_err(plot_error)?;
        wait.configure_mesh()
            .x_desc("candidates between looks")
            .x_label_formatter(&count_tick)
            .y_label_formatter(&|v| ns_tick(&(v * 1e3)))
            .label_style(FONT)
            .draw()
            .map_err(plot_error)?;
        for (pick, color, name) in [(2, BLUE, "p50"), (3, MAGENTA, "p99")] {
            let line: Vec<(f64, f64)> = points
                .iter()
                .map(|p| (p.0, if pick == 2 { p.2 } else { p.3 }))
                .collect();
            wait.draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))
                .map_err(plot_error)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2))
                });
            wait.draw_series(
                line.iter().map(|&p| Circle::new(p, 4, color.filled())),
            )
            .map_err(plot_error)?;
        }
        legend(&mut wait)
    })
}

/// Chapter 1: speedup against task cost, one number per message and batched,
/// with break-even and the crossovers marked.
pub fn queue_cost(d: &Data) -> anyhow::Result<String> {
    let sweep = &d.sweep.output;
    let batch = (sweep.rows.first())
        .with_context(|| format!("{} has no rows", d.sweep.file))?
        .batched
        .batch;
    // Each leg: (task cost in ns, speedup) per row, and where parallel first
    // won, if it did.
    let unbatched = sweep.rows.iter().map(|r| (r.task_ns, r.unbatched.speedup));
    let batched = sweep.rows.iter().map(|r| (r.task_ns, r.batched.speedup));
    let legs = [
        (
            unbatched.collect::<Vec<_>>(),
            sweep.crossover_unbatched_ns,
            RED,
            "1 per message".to_string(),
        ),
        (
            batched.collect(),
            sweep.crossover_batched_ns,
            BLUE,
            format!("{batch} per message"),
        ),
    ];
    svg(SIZE, |root| {
        let mut chart = ChartBuilder::on(&root)
            .caption("Parallel against serial, by the cost of one task", FONT)
            .margin(16)
            .margin_right(40)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(
                (5f64..1e6).log_scale(),
                (0.0003f64..4.0).log_scale(),
            )
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("one task, done serially")
            .y_desc("speedup")
            .x_label_formatter(&ns_tick)
            .y_label_formatter(&|v| format!("{v}x"))
            .label_style(FONT)
            .draw()
            .map_err(plot_error)?;
        chart
            .draw_series(LineSeries::new([(5.0, 1.0), (1e6, 1.0)], BLACK.mix(0.5)))
            .map_err(plot_error)?
            .label("break-even")
            .legend(|(x, y)| {
                PathElement::new([(x, y), (x + 16, y)], BLACK.mix(0.5))
            });
        for (line, crossing, color, name) in legs {
            chart
                .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))
                .map_err(plot_error)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2))
                });
            chart
                .draw_series(line.iter().map(|&p| Circle::new(p, 4, color.filled())))
                .map_err(plot_error)?;
            // The crossover: the first task cost where parallel won.
            if let Some(x) = crossing {
                chart
                    .draw_series([Circle::new((x, 1.0), 9, color.stroke_width(2))])
                    .map_err(plot_error)?;
            }
        }
        legend(&mut chart)
    })
}
