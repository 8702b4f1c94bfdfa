//! Resident memory of the NOC and satellite processes, sampled from /proc/PID/status.

use std::collections::BTreeMap;

/// VmRSS and VmHWM (peak RSS of the process so far) in KiB, or None once the process is gone.
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Peaks per process kind (`noc`, `satellite`), overall and per half of the run, to tell a bound from a leak.
#[derive(Default, Debug)]
pub struct Peaks {
    pub overall: BTreeMap<&'static str, u64>,
    pub first_half: BTreeMap<&'static str, u64>,
    pub second_half: BTreeMap<&'static str, u64>,
}

impl Peaks {
    pub fn sample(&mut self, kind: &'static str, pid: u32, second_half: bool) {
        let Some((rss, hwm)) = rss_kib(pid) else { return };
        let peak = rss.max(hwm);
        for map in [&mut self.overall, if second_half { &mut self.second_half } else { &mut self.first_half }] {
            let e = map.entry(kind).or_default();
            *e = (*e).max(peak);
        }
    }
}
