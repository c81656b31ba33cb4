//! A small `free` for the VideoCore memory pool.
//!
//! ```text
//! cargo run --example vcsm_stats            # one report
//! cargo run --example vcsm_stats -- 1 10    # every second, ten times
//! cargo run --example vcsm_stats -- --help
//! ```
//!
//! On vc-sm-cma the pool is the kernel's CMA area (`CmaTotal`/`CmaFree`),
//! shared with the camera, codecs and display; on the legacy driver it is the
//! firmware's `gpu_mem`, which Linux cannot see; emulated, it is exact.

use std::time::Duration;

use examples::lexopt::prelude::*;
use examples::{Error, Result};
use vcsm::{ServiceManager, Stats};

const HELP: &str = "\
vcsm_stats: a small `free` for the VideoCore memory pool: its total, used
and free MiB, the largest free block, and this process's blocks.

usage: vcsm_stats [INTERVAL [COUNT]]

arguments:
  INTERVAL    seconds between reports, 0 to 3600 (default 0)
  COUNT       how many reports, 1 to 1000000 (default 1)

options:
  -h, --help  print this help

On vc-sm-cma the pool is the kernel's CMA area, shared with the camera,
codecs and display; on the legacy driver it is the firmware's gpu_mem,
which Linux cannot see; emulated, it is exact.
";

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "-".to_owned(), |b| format!("{:.2}", b as f64 / f64::from(1 << 20)))
}

fn report(stats: &Stats) {
    let used = match (stats.pool_total, stats.pool_free) {
        (Some(total), Some(free)) => Some(total.saturating_sub(free)),
        _ => None,
    };
    examples::outln!(
        "{:<10} {:>10} {:>10} {:>10} {:>14} {:>12} {:>10}",
        stats.driver.to_string(),
        mib(stats.pool_total),
        mib(used),
        mib(stats.pool_free),
        mib(stats.largest_free_block),
        stats.live_allocations,
        mib(Some(stats.live_bytes)),
    );
}

fn main() -> Result<()> {
    let (mut interval, mut count) = (None, None);
    let mut args = lexopt::Parser::from_env();
    while let Some(arg) = args.next()? {
        match arg {
            Short('h') | Long("help") => examples::print_help(HELP),
            Value(v) if interval.is_none() => {
                let text = v.to_string_lossy().into_owned();
                let seconds = text.trim().parse::<f64>().ok().filter(|s| s.is_finite() && (0.0..=3600.0).contains(s));
                interval = Some(seconds.ok_or_else(|| {
                    Error::usage(format!("INTERVAL {text}: give seconds between reports, from 0 to 3600"))
                })?);
            }
            Value(v) if count.is_none() => {
                count = Some(examples::number("COUNT", v, 1..=1_000_000u64, "how many reports")?);
            }
            Value(v) => return Err(Error::usage(format!("{}: at most INTERVAL and COUNT", v.to_string_lossy()))),
            Short(c) if c.is_ascii_digit() => {
                return Err(Error::usage("INTERVAL and COUNT: give numbers of 0 or more, not negative ones"));
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    let (interval, count) = (interval.unwrap_or(0.0), count.unwrap_or(1));

    let manager = ServiceManager::get()?;
    examples::outln!(
        "{:<10} {:>10} {:>10} {:>10} {:>14} {:>12} {:>10}",
        "MiB",
        "total",
        "used",
        "free",
        "largest free",
        "our blocks",
        "our MiB"
    );
    for i in 0..count {
        if i > 0 {
            std::thread::sleep(Duration::from_secs_f64(interval));
        }
        report(&manager.stats());
    }
    if manager.stats().pool_total.is_none() {
        examples::outln!("(the legacy driver allocates from gpu_mem, which Linux cannot see)");
    }
    Ok(())
}
