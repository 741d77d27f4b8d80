//! The `process_*` metrics every exporter has (CPU, memory, open files,
//! threads, start time), read from `/proc/self` at each scrape. Only the
//! process's own directory is read: the unit's `ProcSubset=pid` hides the
//! rest of /proc, so the start time is taken when the process starts.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

static STARTED: OnceLock<f64> = OnceLock::new();

/// Notes the process's start time (Unix seconds); the first call counts.
pub fn mark_start() {
    STARTED.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    });
}

/// What `/proc/self` says about the process.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Sample {
    cpu_seconds: f64,
    threads: f64,
    virtual_bytes: f64,
    resident_bytes: f64,
    open_fds: f64,
    max_fds: Option<f64>,
}

/// The auxiliary vector's value of `key` (AT_CLKTCK, AT_PAGESZ): the
/// kernel's own clock tick and page size, without a libc call.
fn auxv(raw: &[u8], key: usize) -> Option<usize> {
    const WORD: usize = std::mem::size_of::<usize>();
    raw.chunks_exact(2 * WORD).find_map(|pair| {
        let word = |b: &[u8]| usize::from_ne_bytes(b.try_into().unwrap_or([0; WORD]));
        (word(&pair[..WORD]) == key).then(|| word(&pair[WORD..]))
    })
}

/// Parses `/proc/self/stat` (the fields after the command's parentheses),
/// `/proc/self/limits`, and the tick and page size.
fn parse(stat: &str, limits: &str, tick: f64, page: f64, open_fds: usize) -> Option<Sample> {
    // field 3 (state) is the first after ") "; utime is field 14
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<f64>().ok();
    let max_fds = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|soft| soft.parse().ok());
    Some(Sample {
        cpu_seconds: (field(14)? + field(15)?) / tick,
        threads: field(20)?,
        virtual_bytes: field(23)?,
        resident_bytes: field(24)? * page,
        open_fds: open_fds as f64,
        max_fds,
    })
}

fn read() -> Option<Sample> {
    const AT_PAGESZ: usize = 6;
    const AT_CLKTCK: usize = 17;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let aux = std::fs::read("/proc/self/auxv").unwrap_or_default();
    let tick = auxv(&aux, AT_CLKTCK).unwrap_or(100) as f64;
    let page = auxv(&aux, AT_PAGESZ).unwrap_or(4096) as f64;
    let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
    parse(&stat, &limits, tick, page, fds)
}

/// Writes the `process_*` metrics at each scrape.
#[derive(Debug, Default)]
pub(super) struct ProcessMetrics;

impl Collector for ProcessMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut gauge = |name: &str, help: &str, value: f64| -> Result<(), std::fmt::Error> {
            let metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            ConstGauge::new(value).encode(metric)
        };
        if let Some(started) = STARTED.get() {
            gauge(
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch in seconds.",
                *started,
            )?;
        }
        let Some(s) = read() else {
            return Ok(());
        };
        gauge(
            "process_open_fds",
            "Number of open file descriptors.",
            s.open_fds,
        )?;
        if let Some(max) = s.max_fds {
            gauge(
                "process_max_fds",
                "Maximum number of open file descriptors.",
                max,
            )?;
        }
        gauge(
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
            s.virtual_bytes,
        )?;
        gauge(
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            s.resident_bytes,
        )?;
        gauge("process_threads", "Number of OS threads.", s.threads)?;
        let cpu = encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds.",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(s.cpu_seconds).encode(cpu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_and_limits_are_read_past_a_command_with_blanks() {
        let stat = "4711 (retentiond (x) y) S 1 4711 4711 0 -1 4194560 1 0 0 0 250 50 0 0 \
                    20 0 7 0 123 104857600 2560 18446744073709551615";
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(
            parse(stat, limits, 100.0, 4096.0, 9),
            Some(Sample {
                cpu_seconds: 3.0,
                threads: 7.0,
                virtual_bytes: 104_857_600.0,
                resident_bytes: 2560.0 * 4096.0,
                open_fds: 9.0,
                max_fds: Some(1024.0),
            })
        );
    }

    #[test]
    fn this_process_reads_its_own_numbers() {
        let s = read().expect("/proc/self");
        assert!(
            s.threads >= 1.0 && s.resident_bytes > 0.0 && s.open_fds > 0.0,
            "{s:?}"
        );
        assert!(s.max_fds.is_some_and(|m| m >= s.open_fds));
    }
}
