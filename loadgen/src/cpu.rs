//! CPU time from `/proc`: of single processes, and of the whole machine. On a machine shared
//! by the servers, their database, their broker and the load generator itself, the share
//! each one takes says which of them a missed target is waiting for.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// CPU used over a stretch of time by chosen processes (each with its descendants), by this
/// load generator, and by the machine as a whole.
pub struct CpuMeter {
    roots: Vec<u32>,
    /// Each root's tree's CPU time at the start, in the order of `roots`.
    trees: Vec<Duration>,
    own: Duration,
    machine: Duration,
    wall: Instant,
}

/// What a [`CpuMeter`] read, as percent of one core (200 means both cores of a 2-core
/// machine).
pub struct CpuShares {
    /// Per root process with its descendants, in the order the meter was given.
    pub trees: Vec<f64>,
    /// This process alone: the servers it started are not counted in it.
    pub load_generator: f64,
    /// Every process on the machine, the kernel included.
    pub machine: f64,
}

impl CpuMeter {
    pub fn start(roots: &[u32]) -> Result<Self> {
        let children = children_by_parent();
        let trees = roots.iter().map(|&pid| tree_time(pid, &children)).collect::<Result<_>>()?;
        Ok(Self {
            roots: roots.to_vec(),
            trees,
            own: own_time()?,
            machine: machine_time()?,
            wall: Instant::now(),
        })
    }

    /// The shares since `start`.
    pub fn read(&self) -> Result<CpuShares> {
        let children = children_by_parent();
        let wall = self.wall.elapsed().as_secs_f64().max(f64::EPSILON);
        let percent =
            |now: Duration, then: Duration| 100.0 * now.saturating_sub(then).as_secs_f64() / wall;
        let trees = self
            .roots
            .iter()
            .zip(&self.trees)
            .map(|(&pid, &then)| Ok(percent(tree_time(pid, &children)?, then)))
            .collect::<Result<_>>()?;
        Ok(CpuShares {
            trees,
            load_generator: percent(own_time()?, self.own),
            machine: percent(machine_time()?, self.machine),
        })
    }
}

/// User plus system time of `pid` and all its descendants, running or exited: the kernel
/// adds a reaped child's time to its parent's `cutime` and `cstime`, so PostgreSQL's
/// backends count whether they outlive the stretch or not.
fn tree_time(pid: u32, children: &HashMap<u32, Vec<u32>>) -> Result<Duration> {
    let fields = stat_fields(pid)?;
    // utime, stime, cutime, cstime: fields 14 to 17 of the whole line, 11 to 14 after `)`.
    let mut total = ticks_to_time(sum_ticks(fields.get(11..15).context("short /proc stat")?)?);
    for &child in children.get(&pid).into_iter().flatten() {
        // A child that exits between listing and reading is in `cutime` from now on.
        if let Ok(time) = tree_time(child, children) {
            total += time;
        }
    }
    Ok(total)
}

/// User plus system time of this process alone.
fn own_time() -> Result<Duration> {
    let fields = stat_fields(std::process::id())?;
    Ok(ticks_to_time(sum_ticks(fields.get(11..13).context("short /proc stat")?)?))
}

/// The fields of `/proc/<pid>/stat` after the command name, which is in parentheses and
/// may contain spaces: the state is field 0 here, the parent's pid field 1.
fn stat_fields(pid: u32) -> Result<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("no /proc entry for process {pid}"))?;
    let rest = stat.rsplit_once(')').context("malformed /proc stat")?.1;
    Ok(rest.split_whitespace().map(str::to_owned).collect())
}

/// Every process's children, from one pass over `/proc`.
fn children_by_parent() -> HashMap<u32, Vec<u32>> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return children };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse().ok()) else {
            continue;
        };
        if let Some(parent) = stat_fields(pid).ok().and_then(|f| f.get(1)?.parse().ok()) {
            children.entry(parent).or_default().push(pid);
        }
    }
    children
}

/// The command name of `pid` (at most 15 bytes, without arguments), if it is running.
pub fn command_name(pid: u32) -> Option<String> {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(comm.trim_end().to_owned())
}

/// The parent of `pid`, e.g. the postmaster of a PostgreSQL backend.
pub fn parent_of(pid: u32) -> Result<u32> {
    let fields = stat_fields(pid)?;
    Ok(fields.get(1).context("short /proc stat")?.parse()?)
}

/// Busy time of all cores together so far: everything in `/proc/stat`'s `cpu` line except
/// idle and waiting for I/O. Guest time is left out because `user` already holds it.
fn machine_time() -> Result<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").context("no /proc/stat")?;
    let line = stat.lines().find(|line| line.starts_with("cpu ")).context("no cpu line")?;
    let fields: Vec<&str> = line.split_whitespace().skip(1).collect();
    // user nice system idle iowait irq softirq steal: skip idle (3) and iowait (4).
    let busy = [0, 1, 2, 5, 6, 7].map(|i| fields.get(i).copied().unwrap_or("0"));
    Ok(ticks_to_time(sum_ticks(&busy)?))
}

fn sum_ticks(fields: &[impl AsRef<str>]) -> Result<u64> {
    let sum = fields
        .iter()
        .try_fold(0u64, |sum, field| field.as_ref().parse::<u64>().map(|t| sum + t))?;
    Ok(sum)
}

fn ticks_to_time(ticks: u64) -> Duration {
    Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second())
}

/// `getconf CLK_TCK`, asked once; 100 on every Linux we run on, asked rather than assumed.
fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_and_the_machine_are_metered() {
        let meter = CpuMeter::start(&[std::process::id()]).unwrap();
        let spin = Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < Duration::from_millis(200) {
            x = std::hint::black_box(x.wrapping_add(1));
        }

        let shares = meter.read().unwrap();

        assert!(shares.load_generator > 0.0, "{}", shares.load_generator);
        assert!(shares.trees[0] >= shares.load_generator, "{:?}", shares.trees);
        assert!(shares.machine >= shares.load_generator * 0.5, "{}", shares.machine);
    }

    #[test]
    fn a_tree_counts_its_exited_children() {
        let me = std::process::id();
        let (tree_before, own_before) =
            (tree_time(me, &children_by_parent()).unwrap(), own_time());

        // A child that burns CPU, then is reaped: its time moves into our `cutime`.
        let status = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"])
            .status()
            .unwrap();
        assert!(status.success());
        let (tree_after, own_after) = (tree_time(me, &children_by_parent()).unwrap(), own_time());

        let children =
            (tree_after - tree_before).saturating_sub(own_after.unwrap() - own_before.unwrap());
        assert!(children >= Duration::from_millis(50), "children used {children:?}");
    }
}
