//! Chapter 6 at a distance: the table and the chart made from the
//! `06-rtt-*.json` documents, with chapter 5's mmap flag as the floor.
//!
//! Beside what was measured, one figure is computed, and said to be: the
//! check interval that keeps the looks under 1% of the search, a look's cost
//! over 1% of one candidate's (from the serial search of the same run). And
//! from the same two, the overhead each interval not run would have had.

use super::charts::{legend_at, ns_tick, plot_error, svg};
use super::tables::stamp_line;
use crate::data::{
    CHAPTER_INTERVALS, DEFAULT_INTERVAL, Data, Distance, Measured, Path, Run,
};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use workers::flag::Report;
use workers::report::human_ns;
use workers::search::candidates;
use workers::stats::Summary;

/// The share of the search the looks may take, in percent, for the interval
/// the table computes.
const BUDGET_PCT: f64 = 1.0;

/// Nanoseconds of one candidate, from the run's serial search (median).
fn per_candidate_ns(r: &Report) -> f64 {
    r.serial_ns.median / candidates(r.n) as f64
}

/// Candidates between looks for the looks to cost `BUDGET_PCT` of the search:
/// a look costs `look_ns`, a candidate `candidate_ns`.
fn interval_for_budget(look_ns: f64, candidate_ns: f64) -> f64 {
    look_ns * 100.0 / BUDGET_PCT / candidate_ns
}

/// The overhead in percent that looks of `look_ns` every `k` candidates of
/// `candidate_ns` add: the model the table sets beside each measurement.
fn model_pct(look_ns: f64, k: u64, candidate_ns: f64) -> f64 {
    look_ns / (k as f64 * candidate_ns) * 100.0
}

/// "1.23 ms (1.10 ms – 1.41 ms)".
fn spread(s: &Summary) -> String {
    super::tables::with_spread(s, human_ns)
}

/// "105 µs / 203 µs".
fn p50_p99(s: &Summary) -> String {
    format!("{} / {}", human_ns(s.median), human_ns(s.p99))
}

/// "55.0 µs / 105 µs / 203 µs": the fastest, the median, the 99th percentile.
fn min_p50_p99(s: &Summary) -> String {
    format!("{} / {}", human_ns(s.min), p50_p99(s))
}

/// A count of candidates, two figures: 2,900,000 as "2.9M".
fn candidates_text(x: f64) -> String {
    let (v, unit) = match x {
        x if x >= 1e6 => (x / 1e6, "M"),
        x if x >= 1e3 => (x / 1e3, "k"),
        x => (x, ""),
    };
    let digits = if v < 10.0 { 1 } else { 0 };
    format!("{v:.digits$}{unit}")
}

/// How far the programs were from the server, as a row's name.
fn distance_name(m: &Measured<Distance>) -> String {
    let added = m.output.added_rtt_ns as f64;
    match &m.output.path {
        Path::Loopback => "loopback, no relay".into(),
        Path::Namespace => format!("+{} round trip", human_ns(added)),
        Path::RelayOnLoopback { .. } => {
            format!("+{} round trip (relay on loopback)", human_ns(added))
        }
    }
}

/// The distributed runs' times, median and spread over the runs: to the
/// answer, as the coordinator timed it, and the whole command, as xtask did.
fn answer_and_wall(
    runs: &[Run<redis_flag::DistributedReport>],
) -> anyhow::Result<(Summary, Summary)> {
    let of = |pick: fn(&Run<redis_flag::DistributedReport>) -> u64| {
        let samples: Vec<f64> = runs.iter().map(|r| pick(r) as f64).collect();
        Summary::of(&samples)
            .ok_or_else(|| anyhow::anyhow!("a distance has no distributed run"))
    };
    Ok((of(|r| r.output.answer_ns)?, of(|r| r.wall_ns)?))
}

/// About how many round trips each worker of a distributed run made, median
/// over the runs: a look every `check_every` candidates it tried, and for
/// each range one to take it and one to report it.
fn round_trips(runs: &[Run<redis_flag::DistributedReport>]) -> anyhow::Result<f64> {
    let per_run: Vec<f64> = (runs.iter())
        .map(|r| {
            let o = &r.output;
            let total: u64 = (o.workers.values())
                .map(|w| w.tried / o.check_every + 2 * w.ranges)
                .sum();
            total as f64 / o.workers.len().max(1) as f64
        })
        .collect();
    Ok(Summary::of(&per_run)
        .ok_or_else(|| anyhow::anyhow!("a distance has no distributed run"))?
        .median)
}

/// `06-rtt.md`: chapter 6 at each distance, then the overhead at each of the
/// chapter's check intervals.
pub fn table(d: &Data) -> anyhow::Result<String> {
    let mmap = &d.mmap;
    let mut t = format!(
        "| distance | a GET, p50 / p99 | one look, polled | one look, pushed | \
         stop, polled every {} candidates, fastest / p50 / p99 | stop, pushed, fastest / p50 / p99 | \
         a look every ... keeps the looks under {BUDGET_PCT}% | distributed run: to the answer; the whole command | \
         its round trips per worker (about), times a GET |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
        count(DEFAULT_INTERVAL),
    );
    let m = &mmap.output;
    let c = per_candidate_ns(m);
    t += &format!(
        "| shared memory (chapter 5's mmap flag, polled every {}) | – | {} | – | {} | – | {} candidates | – | – |\n",
        count(m.check_every),
        spread(&m.check_ns),
        min_p50_p99(&m.stop_latency_ns),
        candidates_text(interval_for_budget(m.check_ns.median, c)),
    );
    for dist in &d.distances {
        let o = &dist.output;
        let polled = &dist.poll_default()?.output;
        let c = per_candidate_ns(polled);
        let look = &polled.check_ns;
        let k = |ns| candidates_text(interval_for_budget(ns, c));
        t += &format!(
            "| {} | {} | {} | {} | {} | {} | {} ({} – {}) candidates, {} of work | {} | {} |\n",
            distance_name(dist),
            format_args!(
                "{} / {}",
                human_ns(o.floor.output.p50_ns),
                human_ns(o.floor.output.p99_ns)
            ),
            spread(look),
            spread(&o.push.output.check_ns),
            min_p50_p99(&polled.stop_latency_ns),
            min_p50_p99(&o.push.output.stop_latency_ns),
            k(look.median),
            k(look.min),
            k(look.max),
            human_ns(interval_for_budget(look.median, c) * c),
            {
                let (to_answer, wall) = answer_and_wall(&o.coordinate)?;
                format!("{}; {}", spread(&to_answer), spread(&wall))
            },
            {
                let trips = round_trips(&o.coordinate)?;
                format!(
                    "{}: {}",
                    count(trips.round() as u64),
                    human_ns(trips * o.floor.output.p50_ns)
                )
            },
        );
    }
    t += &format!(
        "\nWhat the looks add to the prime case, at each of the chapter's intervals: \
         measured (the median search against the median search that never looks; \
         \"within noise\" where the two cannot be told apart), and in brackets what a \
         look's cost predicts, {BUDGET_PCT_TEXT}. A dash: not run at that distance, where \
         the looks alone would take minutes.\n\n",
    );
    t += "| distance |";
    for k in CHAPTER_INTERVALS {
        t += &format!(" every {} |", count(k));
    }
    t += "\n|---|";
    t += &"--:|".repeat(CHAPTER_INTERVALS.len());
    t += "\n";
    for dist in &d.distances {
        let polled = &dist.poll_default()?.output;
        let (look, c) = (polled.check_ns.median, per_candidate_ns(polled));
        t += &format!("| {} |", distance_name(dist));
        for k in CHAPTER_INTERVALS {
            let model = format!("({:+.1}%)", model_pct(look, k, c));
            t += &match dist.poll(k) {
                Some(run) => format!(" {} {model} |", overhead(&run.output)?),
                None => format!(" – {model} |"),
            };
        }
        t += "\n";
    }
    t += "\nLooks: the program's own benchmark in worker 0, median of 21 samples \
          (min – max). Stop latency: from the flag raised to every worker stopped, \
          over the runs' trials. A GET: `redis-benchmark`, one client, from where \
          the workers run. Distributed run: `coordinate --local-workers 2`, from \
          the ranges queued to the factor found, and the whole command from start \
          to exit (start-up, connections, shut-down), over its runs (min – max); its \
          round trips, counted from its report: a look every `--check-every` \
          candidates a worker tried, and two per range (take it, report it), and \
          the time that many GETs take at their median. The interval for the budget: a look's cost (median, and its min and max) \
          over the budget's share of one candidate, which the run's own serial \
          search times. Searches and trials per run are in the commands below: \
          fewer where each costs more round trips.\n\n";
    t += &stamp_line(&mmap.stamp, &format!("`{}`", mmap.command));
    t += "\n";
    for dist in &d.distances {
        let o = &dist.output;
        let mut commands = vec![o.floor.command.clone()];
        commands.extend(o.polls.iter().map(|r| r.command.clone()));
        commands.push(o.push.command.clone());
        commands.extend(o.coordinate.first().map(|r| r.command.clone()));
        let runs: Vec<String> = commands.iter().map(|c| format!("`{c}`")).collect();
        let by = format!(
            "`{}` ({}), which ran {}; the distributed run {} times",
            dist.command,
            dist.file,
            runs.join(", "),
            o.coordinate.len()
        );
        t += &format!("\n{}\n", stamp_line(&dist.stamp, &by));
        if let Path::RelayOnLoopback { why } = &o.path {
            t += &format!("\nNo network namespace could be made ({why}).\n");
        }
    }
    Ok(t)
}

/// How the budget reads in prose.
const BUDGET_PCT_TEXT: &str = "a look's cost over the candidates' between two looks";

/// What looking added, by the book's one rule (`verdict::overhead`):
/// "+3.1%", "+0.4% (within noise)", "+460.6% (one run)".
fn overhead(r: &Report) -> anyhow::Result<String> {
    let never = r.unchecked_ns.as_ref().ok_or_else(|| {
        anyhow::anyhow!("a polled run at a distance has no `unchecked_ns`")
    })?;
    Ok(super::verdict::overhead(&r.parallel_ns, never))
}

/// 100,000.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// One line of the chart: a name, a colour, a dash or not, and its points.
struct Line {
    name: String,
    colour: RGBColor,
    dashed: bool,
    points: Vec<(f64, f64)>,
}

/// `06-rtt.svg`: one look and the stop latency against the round trip, polled
/// and pushed, with the shared-memory flag as the floor.
pub fn chart(d: &Data) -> anyhow::Result<String> {
    // x: the round trip a GET measured from where the workers ran (p50).
    let mut look_polled = Vec::new();
    let mut look_pushed = Vec::new();
    let mut stop_polled = Vec::new();
    let mut stop_pushed = Vec::new();
    let mut budget = Vec::new();
    for dist in &d.distances {
        let o = &dist.output;
        let x = o.floor.output.p50_ns;
        let polled = &dist.poll_default()?.output;
        look_polled.push((x, polled.check_ns.median));
        look_pushed.push((x, o.push.output.check_ns.median));
        stop_polled.push((x, polled.stop_latency_ns.median));
        stop_pushed.push((x, o.push.output.stop_latency_ns.median));
        // Polled at the interval that keeps the looks under budget, a stop
        // waits up to the work between two looks: the look's cost / budget.
        budget.push((x, polled.check_ns.median * 100.0 / BUDGET_PCT));
    }
    let floor = &d.mmap.output;
    let red = RED;
    let blue = BLUE;
    let grey = RGBColor(110, 110, 110);
    let looks = vec![
        Line {
            name: "polled (an MGET: a round trip)".into(),
            colour: red,
            dashed: false,
            points: look_polled,
        },
        Line {
            name: "pushed (a load from memory)".into(),
            colour: blue,
            dashed: false,
            points: look_pushed,
        },
    ];
    let stops = vec![
        Line {
            name: format!("polled every {}, p50", count(DEFAULT_INTERVAL)),
            colour: red,
            dashed: false,
            points: stop_polled,
        },
        Line {
            name: "pushed, p50".into(),
            colour: blue,
            dashed: false,
            points: stop_pushed,
        },
        Line {
            name: format!("polled at {BUDGET_PCT}% cost: work between looks"),
            colour: grey,
            dashed: true,
            points: budget,
        },
    ];
    let xs: Vec<f64> = looks[0].points.iter().map(|p| p.0).collect();
    let x_range = decades(&xs);
    svg((900, 460), |root| {
        let (left, right) = root.split_horizontally(450);
        // Each legend where its lines leave room: between the looks, and
        // under the stops.
        for (area, title, lines, floor_ns, at) in [
            (
                &left,
                "One look",
                &looks,
                floor.check_ns.median,
                SeriesLabelPosition::MiddleRight,
            ),
            (
                &right,
                "Flag raised to all stopped",
                &stops,
                floor.stop_latency_ns.median,
                SeriesLabelPosition::LowerRight,
            ),
        ] {
            let ys: Vec<f64> =
                (lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)))
                    .chain([floor_ns])
                    .collect();
            let mut chart = ChartBuilder::on(area)
                .caption(title, ("sans-serif", 15))
                .margin(12)
                .margin_right(20)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(
                    x_range.clone().log_scale(),
                    decades(&ys).log_scale(),
                )
                .map_err(plot_error)?;
            chart
                .configure_mesh()
                .x_desc("round trip (a GET, p50)")
                .x_label_formatter(&ns_tick)
                .y_label_formatter(&ns_tick)
                .label_style(("sans-serif", 13))
                .draw()
                .map_err(plot_error)?;
            let shm = RGBColor(0, 150, 0);
            chart
                .draw_series(DashedLineSeries::new(
                    [(x_range.start, floor_ns), (x_range.end, floor_ns)],
                    6,
                    4,
                    shm.stroke_width(2),
                ))
                .map_err(plot_error)?
                .label("shared memory (ch. 5)")
                .legend(move |(x, y)| {
                    DashedPathElement::new(
                        [(x, y), (x + 16, y)],
                        4,
                        2,
                        shm.stroke_width(2),
                    )
                });
            for l in lines {
                let style = l.colour.stroke_width(2);
                let points = l.points.clone();
                if l.dashed {
                    chart
                        .draw_series(DashedLineSeries::new(points, 6, 4, style))
                        .map_err(plot_error)?
                        .label(l.name.clone())
                        .legend(move |(x, y)| {
                            DashedPathElement::new(
                                [(x, y), (x + 16, y)],
                                4,
                                2,
                                style,
                            )
                        });
                } else {
                    chart
                        .draw_series(LineSeries::new(points, style))
                        .map_err(plot_error)?
                        .label(l.name.clone())
                        .legend(move |(x, y)| {
                            PathElement::new([(x, y), (x + 16, y)], style)
                        });
                }
                let dot = l.colour.filled();
                chart
                    .draw_series(l.points.iter().map(|&p| Circle::new(p, 4, dot)))
                    .map_err(plot_error)?;
            }
            legend_at(&mut chart, at)?;
        }
        Ok(())
    })
}

/// From the power of ten at or below the smallest of `values` to the one at
/// or above the largest: a log axis that holds them all.
fn decades(values: &[f64]) -> std::ops::Range<f64> {
    let lo = values.iter().copied().fold(f64::MAX, f64::min);
    let hi = values.iter().copied().fold(f64::MIN, f64::max);
    10f64.powf(lo.log10().floor())..10f64.powf(hi.log10().ceil())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_interval_and_the_model_agree() {
        // A look of 50 µs, candidates of 2 ns: 1% needs 2.5M between looks,
        // and there the model says 1%.
        let k = interval_for_budget(50_000.0, 2.0);
        assert_eq!(k, 2_500_000.0);
        assert!((model_pct(50_000.0, k as u64, 2.0) - 1.0).abs() < 1e-9);
        assert_eq!(candidates_text(k), "2.5M");
        assert_eq!(candidates_text(21.4), "21");
        assert_eq!(count(1_000_000), "1,000,000");
    }

    #[test]
    fn the_table_and_chart_render_from_the_committed_data() {
        let data = Data::load().unwrap();
        let t = table(&data).unwrap();
        assert!(t.contains("\n_Measured "), "{t}");
        assert_eq!(t.matches("06-rtt-").count(), data.distances.len());
        assert!(chart(&data).unwrap().starts_with("<svg"));
    }
}
