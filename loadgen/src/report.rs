//! The printed result: which machine, commit and date, then one row per figure with its
//! target and whether it was met.

use std::fmt::Write as _;
use std::process::Command;

/// One measured figure.
pub struct Row {
    pub name: String,
    pub value: String,
    /// The target as text, and whether the value meets it; `None` for context figures.
    pub target: Option<(String, bool)>,
}

impl Row {
    pub fn info(name: &str, value: impl ToString) -> Self {
        Self { name: name.to_owned(), value: value.to_string(), target: None }
    }

    /// A figure that should be at most `limit`; an infinite limit (a smoke run) is shown
    /// without a target.
    pub fn at_most(name: &str, value: f64, limit: f64, unit: &str) -> Self {
        Self {
            name: name.to_owned(),
            value: format!("{value:.2} {unit}"),
            target: limit.is_finite().then(|| (format!("<= {limit} {unit}"), value <= limit)),
        }
    }

    /// A count of faults, of which there must be none.
    pub fn none_allowed(name: &str, count: u64) -> Self {
        Self {
            name: name.to_owned(),
            value: count.to_string(),
            target: Some(("0".into(), count == 0)),
        }
    }

    /// A figure that should be at least `floor`.
    pub fn at_least(name: &str, value: f64, floor: f64, unit: &str) -> Self {
        Self {
            name: name.to_owned(),
            value: format!("{value:.0} {unit}"),
            target: Some((format!(">= {floor} {unit}"), value >= floor)),
        }
    }
}

pub struct Report {
    pub scenario: String,
    pub rows: Vec<Row>,
}

impl Report {
    pub fn new(scenario: &str) -> Self {
        Self { scenario: scenario.to_owned(), rows: Vec::new() }
    }

    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// Whether every figure with a target met it.
    pub fn met(&self) -> bool {
        self.rows.iter().all(|row| row.target.as_ref().is_none_or(|(_, met)| *met))
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let header = format!("scenario {}", self.scenario);
        writeln!(out, "{header}\n{}", "=".repeat(header.len())).ok();
        writeln!(out, "machine: {}", machine()).ok();
        writeln!(out, "commit:  {}", commit()).ok();
        writeln!(out, "date:    {}", today()).ok();
        writeln!(out).ok();

        let width = self.rows.iter().map(|row| row.name.len()).max().unwrap_or(0).max(6);
        let value_width = self.rows.iter().map(|row| row.value.len()).max().unwrap_or(0).max(5);
        writeln!(out, "{:width$}  {:>value_width$}  target", "figure", "value").ok();
        for row in &self.rows {
            let target = match &row.target {
                Some((target, true)) => format!("{target}  met"),
                Some((target, false)) => format!("{target}  MISSED"),
                None => String::new(),
            };
            writeln!(out, "{:width$}  {:>value_width$}  {target}", row.name, row.value).ok();
        }
        out
    }
}

/// CPU model, core count and memory, from /proc.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    format!("{model}, {cores} cores, {mem_gib:.0} GiB")
}

/// The checked-out commit, marked when the tree has changes.
fn commit() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let Some(head) = git(&["rev-parse", "--short=12", "HEAD"]) else {
        return "unknown (not a git checkout)".to_owned();
    };
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|status| !status.is_empty());
    if dirty { format!("{head} with uncommitted changes") } else { head }
}

fn today() -> String {
    let format = time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::now_utc().format(&format).unwrap_or_else(|_| "unknown".to_owned())
}
