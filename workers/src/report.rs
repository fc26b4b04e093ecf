//! Report printing: a plain table for people, one JSON document for scripts.
//!
//! Every program prints the same way: words and a small aligned table by
//! default, or with `--json` a single document that `cargo xtask measure` turns
//! into the book's measured files.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A table of text cells, printed with aligned columns.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column headings, printed first and underlined.
    head: Vec<String>,
    /// Rows of cells; a row may be shorter than the heading.
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headings.
    pub fn new<S: ToString>(head: impl IntoIterator<Item = S>) -> Table {
        Table {
            head: head.into_iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row of cells.
    pub fn row<S: ToString>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows
            .push(cells.into_iter().map(|c| c.to_string()).collect());
    }
}

impl fmt::Display for Table {
    /// The first column is left-aligned (it names the row), the rest are
    /// right-aligned (they hold numbers).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut width: Vec<usize> =
            self.head.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if i == width.len() {
                    width.push(0);
                }
                width[i] = width[i].max(cell.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, cells: &[String]| {
            let mut out = String::new();
            for (i, cell) in cells.iter().enumerate() {
                let w = width[i];
                if i == 0 {
                    out.push_str(&format!("{cell:<w$}"));
                } else {
                    out.push_str(&format!("  {cell:>w$}"));
                }
            }
            writeln!(f, "{}", out.trim_end())
        };
        line(f, &self.head)?;
        let rule: Vec<String> = width.iter().map(|&w| "-".repeat(w)).collect();
        line(f, &rule)?;
        for row in &self.rows {
            line(f, row)?;
        }
        Ok(())
    }
}

/// Formats a duration given in nanoseconds with a unit that keeps 3 figures.
pub fn human_ns(ns: f64) -> String {
    let (v, unit) = match ns.abs() {
        x if x < 1e3 => (ns, "ns"),
        x if x < 1e6 => (ns / 1e3, "µs"),
        x if x < 1e9 => (ns / 1e6, "ms"),
        _ => (ns / 1e9, "s"),
    };
    let digits = match v.abs() {
        x if x < 10.0 => 2,
        x if x < 100.0 => 1,
        _ => 0,
    };
    format!("{v:.digits$} {unit}")
}

/// A summary of nanosecond samples as "median (min to max)", each with a unit.
pub fn spread(s: &crate::stats::Summary) -> String {
    format!(
        "{} ({} to {})",
        human_ns(s.median),
        human_ns(s.min),
        human_ns(s.max)
    )
}

/// Formats a ratio such as a speedup: two decimals from 1 up, two significant
/// figures below (so 0.0031x does not print as 0.00x).
pub fn ratio(x: f64) -> String {
    if x >= 1.0 || x <= 0.0 || !x.is_finite() {
        return format!("{x:.2}x");
    }
    let decimals = (1 - x.log10().floor() as i32).max(2) as usize;
    format!("{x:.decimals$}x")
}

/// Where and how a set of figures was measured, so a number in the book can be
/// traced to the machine and build that produced it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model from `/proc/cpuinfo`, or "unknown".
    pub cpu: String,
    /// Cores this process may run on.
    pub cores: usize,
    /// Kernel release from `uname`.
    pub kernel: String,
    /// Whether the binary carries debug assertions (timings then mislead).
    pub debug_assertions: bool,
}

impl Machine {
    /// Reads the machine this process runs on.
    pub fn here() -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel: rustix::system::uname()
                .release()
                .to_string_lossy()
                .into_owned(),
            debug_assertions: cfg!(debug_assertions),
        }
    }
}

/// Prints `value` as one pretty JSON document on standard output.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let mut t = Table::new(["worker", "tasks"]);
        t.row(["0", "120"]);
        t.row(["slow 1", "8"]);
        let text = t.to_string();
        assert_eq!(
            text,
            "worker  tasks\n------  -----\n0         120\nslow 1      8\n"
        );
    }

    #[test]
    fn human_units() {
        assert_eq!(human_ns(12.345), "12.3 ns");
        assert_eq!(human_ns(1_500.0), "1.50 µs");
        assert_eq!(human_ns(250_000_000.0), "250 ms");
        assert_eq!(human_ns(3.2e9), "3.20 s");
    }

    #[test]
    fn ratios_keep_two_significant_figures() {
        assert_eq!(ratio(1.937), "1.94x");
        assert_eq!(ratio(0.5), "0.50x");
        assert_eq!(ratio(0.0312), "0.031x");
        assert_eq!(ratio(0.00314), "0.0031x");
    }

    #[test]
    fn machine_is_described() {
        let m = Machine::here();
        assert!(m.cores >= 1);
        assert!(!m.kernel.is_empty());
    }
}
