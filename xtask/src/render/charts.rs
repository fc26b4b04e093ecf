//! The book's charts, drawn as SVG from the measured data by plotters.
//!
//! Each chart is drawn from the same typed data the tables are, so a rerun
//! of `cargo xtask measure` redraws them, and the book's checks redraw them to
//! confirm the committed files are current.

use crate::data::{Data, PyLeg, PyRedisLook, PyRow, Summary};
use crate::render::tables::{PYTHON_QUEUE, design_name};
use anyhow::{Context, ensure};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use work_queue::{Leg, Row};
use workers::report::human_ns;

const SIZE: (u32, u32) = (760, 420);
const FONT: (&str, u32) = ("sans-serif", 15);

/// Draws with `paint` into an SVG of the usual size and returns its text.
pub(super) fn svg(
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

pub(super) fn plot_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
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
pub(super) fn ns_tick(v: &f64) -> String {
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
    legend_at(chart, SeriesLabelPosition::UpperLeft)
}

/// The series' names, boxed where the lines leave room.
pub(super) fn legend_at<'b>(
    chart: &mut LogChart<'b, 'b>,
    at: SeriesLabelPosition,
) -> anyhow::Result<()> {
    chart
        .configure_series_labels()
        .position(at)
        .label_font(FONT)
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()
        .map_err(plot_error)
}

/// A figure with its spread: a point at the middle, a line from the low
/// end to the high, capped at both ends. `cap` is the caps' half-width, as
/// a factor on a log x axis (1.15 draws them 15% either side).
fn whisker<'b>(
    chart: &mut LogChart<'b, 'b>,
    (x, lo, mid, hi): (f64, f64, f64, f64),
    cap: f64,
    colour: RGBColor,
) -> anyhow::Result<()> {
    let style = colour.stroke_width(2);
    chart
        .draw_series([
            PathElement::new([(x, lo), (x, hi)], style),
            PathElement::new([(x / cap, lo), (x * cap, lo)], style),
            PathElement::new([(x / cap, hi), (x * cap, hi)], style),
        ])
        .map_err(plot_error)?;
    chart
        .draw_series([Circle::new((x, mid), 5, colour.filled())])
        .map_err(plot_error)?;
    Ok(())
}

/// What sets stop latency (the mmap flag, 100 raises per point): against
/// the check interval, beside an interval of work; and against
/// workers per core.
pub fn stop_latency(d: &Data) -> anyhow::Result<String> {
    let per = crate::render::tables::ns_per_candidate(d);
    // (x, min, p50, p99) in nanoseconds.
    let spread = |x: f64, m: &crate::data::Measured<workers::flag::Report>| {
        let l = &m.output.stop_latency_ns;
        (x, l.min, l.median, l.p99)
    };
    let by_interval: Vec<_> = (d.latency_by_interval.iter())
        .map(|m| spread(m.output.check_every as f64, m))
        .collect();
    let by_workers: Vec<_> = (d.latency_workers().into_iter())
        .map(|m| spread(m.output.workers as f64 / m.stamp.cores as f64, m))
        .collect();
    let all = || by_interval.iter().chain(&by_workers);
    let lo = all().map(|p| p.1).fold(f64::MAX, f64::min);
    let hi = all().map(|p| p.3).fold(f64::MIN, f64::max);
    let interval = |k: f64| k * per;
    let ks = by_interval.iter().map(|p| p.0);
    let (k_lo, k_hi) = (ks.clone().fold(f64::MAX, f64::min), ks.fold(0.0, f64::max));
    let ys = decades(lo.min(interval(k_lo)), hi.max(interval(k_hi)));
    svg((SIZE.0, 400), |root| {
        let root = root.titled(
            "Stop latency of the mmap flag (ch. 5): p50, whiskers from fastest to p99",
            FONT,
        ).map_err(plot_error)?;
        let (left, right) = root.split_horizontally(SIZE.0 / 2);
        let mut chart = ChartBuilder::on(&left)
            .caption("against the check interval, 1 worker per core", FONT)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .margin_right(20)
            .build_cartesian_2d(
                decades(k_lo, k_hi).log_scale(),
                ys.clone().log_scale(),
            )
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("candidates between looks")
            .x_label_formatter(&count_tick)
            .y_label_formatter(&ns_tick)
            .label_style(FONT)
            .draw()
            .map_err(plot_error)?;
        let grey = BLACK.mix(0.5);
        let (a, b) = (decades(k_lo, k_hi).start, decades(k_lo, k_hi).end);
        chart
            .draw_series(DashedLineSeries::new(
                [(a, interval(a)), (b, interval(b))],
                6,
                4,
                grey.into(),
            ))
            .map_err(plot_error)?
            .label("an interval of work")
            .legend(move |(x, y)| {
                DashedPathElement::new([(x, y), (x + 16, y)], 4, 2, grey)
            });
        for &p in &by_interval {
            whisker(&mut chart, p, 1.4, BLUE)?;
        }
        legend(&mut chart)?;
        let xs = decades(
            by_workers.iter().map(|p| p.0).fold(f64::MAX, f64::min),
            by_workers.iter().map(|p| p.0).fold(0.0, f64::max),
        );
        let mut chart = ChartBuilder::on(&right)
            .caption(
                format!(
                    "against workers per core, a look every {}",
                    count_tick(&(d.latency_by_workers[0].output.check_every as f64))
                ),
                FONT,
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .margin_right(20)
            .build_cartesian_2d(xs.log_scale(), ys.log_scale())
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("workers per core")
            .x_label_formatter(&count_tick)
            .y_label_formatter(&ns_tick)
            .label_style(FONT)
            .draw()
            .map_err(plot_error)?;
        for &p in &by_workers {
            whisker(&mut chart, p, 1.1, RED)?;
        }
        Ok(())
    })
}

/// One look at each flag, Rust beside Python, on a log scale: the chart of
/// the whole book. Points at the medians, whiskers from the fastest sample
/// to the slowest; no bars, whose length a log axis would make arbitrary.
pub fn cost_per_look(d: &Data) -> anyhow::Result<String> {
    let py = &d.python.output.looks_ns;
    fn rust(m: &crate::data::Measured<workers::flag::Report>) -> &Summary {
        &m.output.check_ns
    }
    let py_redis: Option<&Summary> = match &py.redis {
        PyRedisLook::Ran { summary } => Some(summary),
        PyRedisLook::NotRun { .. } => None,
    };
    // (what, Rust, Python where it was measured)
    let rows: [(&str, &Summary, Option<&Summary>); 6] = [
        (
            "own memory (floor)",
            &d.mmap.output.local_check_ns,
            Some(&py.floor),
        ),
        ("RawValue: shared memory", rust(&d.raw), Some(&py.rawvalue)),
        ("mmap: mapped file", rust(&d.mmap), Some(&py.mmap)),
        ("Redis, pushed", rust(&d.push), None),
        ("Manager: a round trip", rust(&d.manager), Some(&py.manager)),
        ("Redis, polled: a round trip", rust(d.redis()), py_redis),
    ];
    let all = || {
        rows.iter()
            .flat_map(|(_, r, p)| std::iter::once(*r).chain(*p))
    };
    ensure!(
        all().all(|s| s.min > 0.0 && s.max.is_finite()),
        "a look took no time or forever: a log axis cannot show it"
    );
    let xs = decades(
        all().map(|s| s.min).fold(f64::MAX, f64::min) / 2.0,
        all().map(|s| s.max).fold(0.0, f64::max),
    );
    let python = format!(
        "{} {}",
        d.python.output.implementation, d.python.output.python
    );
    svg((SIZE.0, 460), |root| {
        let n = rows.len() as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "One look at each stop flag, Rust and Python: median, min to max (log scale)",
                FONT,
            )
            .margin(16)
            .margin_right(40)
            .x_label_area_size(36)
            .y_label_area_size(10)
            .build_cartesian_2d(xs.clone().log_scale(), 0f64..n)
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
        let dark_red = RGBColor(190, 30, 30);
        for (who, colour) in [("Rust", BLUE), (python.as_str(), dark_red)] {
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                .map_err(plot_error)?
                .label(who)
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, colour.filled()));
        }
        for (i, (name, r, p)) in rows.iter().enumerate() {
            let y = n - 1.0 - i as f64;
            let mut label = format!("{name}: Rust {}", human_ns(r.median));
            if let Some(p) = p {
                label += &format!(", Python {}", human_ns(p.median));
            }
            chart
                .draw_series([Text::new(label, (xs.start * 1.2, y + 0.8), FONT)])
                .map_err(plot_error)?;
            for (s, at, colour) in [(Some(*r), 0.55, BLUE), (*p, 0.3, dark_red)] {
                let Some(s) = s else { continue };
                let style = colour.stroke_width(2);
                chart
                    .draw_series([
                        PathElement::new([(s.min, y + at), (s.max, y + at)], style),
                        PathElement::new(
                            [(s.min, y + at - 0.08), (s.min, y + at + 0.08)],
                            style,
                        ),
                        PathElement::new(
                            [(s.max, y + at - 0.08), (s.max, y + at + 0.08)],
                            style,
                        ),
                    ])
                    .map_err(plot_error)?;
                chart
                    .draw_series([Circle::new(
                        (s.median, y + at),
                        5,
                        colour.filled(),
                    )])
                    .map_err(plot_error)?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font(FONT)
            .border_style(BLACK)
            .background_style(WHITE)
            .draw()
            .map_err(plot_error)
    })
}

/// "Talk less": the Redis flag polled at four intervals, overhead against
/// stop latency, each with its spread.
pub fn check_interval(d: &Data) -> anyhow::Result<String> {
    // Overhead in %: the medians' figure, and the range from the fastest
    // search looking against the slowest not looking to the reverse.
    // Negative overheads are noise around zero: drawn at the floor.
    const FLOOR: f64 = 0.1;
    let mut cost = Vec::new();
    let mut wait = Vec::new();
    for m in &d.polls {
        let k = m.output.check_every as f64;
        let (looking, never) = (&m.output.parallel_ns, m.unchecked_ns()?);
        let pct = |a: f64, b: f64| ((a - b) / never.median * 100.0).max(FLOOR);
        cost.push((
            k,
            pct(looking.min, never.max),
            pct(looking.median, never.median),
            pct(looking.max, never.min),
        ));
        let l = &m.output.stop_latency_ns;
        wait.push((k, l.min, l.median, l.p99));
    }
    let ks = || cost.iter().map(|p| p.0);
    let xs = decades(
        ks().fold(f64::MAX, f64::min) / 2.0,
        ks().fold(0.0, f64::max) * 2.0,
    );
    let y_cost = decades(
        cost.iter().map(|p| p.1).fold(f64::MAX, f64::min),
        cost.iter().map(|p| p.3).fold(0.0, f64::max),
    );
    let y_wait = decades(
        wait.iter().map(|p| p.1).fold(f64::MAX, f64::min),
        wait.iter().map(|p| p.3).fold(0.0, f64::max),
    );
    svg((SIZE.0, 400), |root| {
        let root = root
            .titled(
                "The Redis flag, polled (ch. 6): medians, whiskers over the spread",
                FONT,
            )
            .map_err(plot_error)?;
        let (left, right) = root.split_horizontally(SIZE.0 / 2);
        let mut chart = ChartBuilder::on(&left)
            .caption("What the looks cost (% of the search)", FONT)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .margin_right(24)
            .build_cartesian_2d(xs.clone().log_scale(), y_cost.log_scale())
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("candidates between looks")
            .x_label_formatter(&count_tick)
            .y_label_formatter(&|v| format!("{v}%"))
            .label_style(FONT)
            .draw()
            .map_err(plot_error)?;
        for &p in &cost {
            whisker(&mut chart, p, 1.3, RED)?;
        }
        let mut chart = ChartBuilder::on(&right)
            .caption("How long a stop goes unseen (fastest, p50, p99)", FONT)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .margin_right(24)
            .build_cartesian_2d(xs.log_scale(), y_wait.log_scale())
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("candidates between looks")
            .x_label_formatter(&count_tick)
            .y_label_formatter(&ns_tick)
            .label_style(FONT)
            .draw()
            .map_err(plot_error)?;
        for &p in &wait {
            whisker(&mut chart, p, 1.3, BLUE)?;
        }
        Ok(())
    })
}

/// Chapter 1: speedup against task cost, one number per message, for each
/// design and Python's queue.
pub fn queue_cost(d: &Data) -> anyhow::Result<String> {
    speedup_by_task_cost(
        d,
        "one number per message",
        |r| &r.unbatched,
        |r| &r.unbatched,
    )
}

/// The same, many numbers per message.
pub fn queue_cost_batched(d: &Data) -> anyhow::Result<String> {
    let batch = (d.python.output.queue.sweep.rows.first())
        .with_context(|| format!("{}'s sweep has no rows", d.python.file))?
        .batched
        .batch;
    speedup_by_task_cost(
        d,
        &format!("{batch} numbers per message"),
        |r| &r.batched,
        |r| &r.batched,
    )
}

/// The smallest power of ten at or below `x`, and the largest at or above
/// `y`: a log axis that holds both.
fn decades(x: f64, y: f64) -> std::ops::Range<f64> {
    10f64.powf(x.log10().floor())..10f64.powf(y.log10().ceil())
}

/// Speedup against the cost of one task (log axes) for each sweep, with
/// break-even dashed; `leg` and `py_leg` pick the way of sending drawn.
fn speedup_by_task_cost(
    d: &Data,
    how: &str,
    leg: fn(&Row) -> &Leg,
    py_leg: fn(&PyRow) -> &PyLeg,
) -> anyhow::Result<String> {
    // (name, colour, [(task cost in ns, speedup)], [(task cost, slowest
    // round's speedup, fastest round's)]): Python's line first.
    type Line<'a> = (&'a str, RGBColor, Vec<(f64, f64)>, Vec<(f64, f64, f64)>);
    let py = &d.python.output.queue.sweep;
    let mut lines: Vec<Line> = vec![(
        PYTHON_QUEUE,
        BLACK,
        (py.rows.iter())
            .map(|r| (r.task_ns.median, py_leg(r).speedup.median))
            .collect(),
        (py.rows.iter())
            .map(|r| {
                let s = &py_leg(r).speedup;
                (r.task_ns.median, s.min, s.max)
            })
            .collect(),
    )];
    let dark_green = RGBColor(0, 150, 0);
    for (q, colour) in d.queues.iter().zip([RED, BLUE, dark_green]) {
        let rows = &q.sweep.output.rows;
        let points = rows.iter().map(|r| (r.task_ns, leg(r).speedup)).collect();
        // The serial median over the slowest and the fastest round.
        let spread = (rows.iter())
            .map(|r| {
                let (serial, wall) = (r.serial_ns.median, &leg(r).wall_ns);
                (r.task_ns, serial / wall.max, serial / wall.min)
            })
            .collect();
        lines.push((design_name(q.design), colour, points, spread));
    }
    let all = || {
        lines.iter().flat_map(|(_, _, points, spread)| {
            let ends = spread.iter().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)]);
            points.iter().copied().chain(ends)
        })
    };
    ensure!(
        all().all(|(x, y)| x > 0.0 && y > 0.0 && x.is_finite() && y.is_finite()),
        "a sweep has a task cost or speedup a log axis cannot show"
    );
    let fold = |pick: fn((f64, f64)) -> f64| {
        all()
            .map(pick)
            .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)))
    };
    let (x_lo, x_hi) = fold(|p| p.0);
    let (y_lo, y_hi) = fold(|p| p.1);
    let xs = decades(x_lo, x_hi);
    // Room above the best speedup, and break-even always in sight.
    let ys = decades(y_lo.min(1.0), 1.0).start..(2.0 * y_hi).max(4.0);
    svg(SIZE, |root| {
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "Chapter 1's queues against serial, by task cost: {how} (median, min to max)"
                ),
                FONT,
            )
            .margin(16)
            .margin_right(40)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(xs.clone().log_scale(), ys.log_scale())
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
        let even = BLACK.mix(0.5);
        chart
            .draw_series(DashedLineSeries::new(
                [(xs.start, 1.0), (xs.end, 1.0)],
                6,
                4,
                even.into(),
            ))
            .map_err(plot_error)?
            .label("break-even")
            .legend(move |(x, y)| {
                DashedPathElement::new([(x, y), (x + 16, y)], 4, 2, even)
            });
        for (name, colour, points, spread) in lines {
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
                .map_err(plot_error)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2))
                });
            for (&(x, mid), &(_, lo, hi)) in points.iter().zip(&spread) {
                whisker(&mut chart, (x, lo, mid, hi), 1.15, colour)?;
            }
        }
        // Every line ends near its best speedup, to the right: the lower
        // right corner is free.
        legend_at(&mut chart, SeriesLabelPosition::LowerRight)
    })
}
