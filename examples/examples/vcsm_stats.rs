//! A small `free` for the VideoCore memory pool.
//!
//! ```text
//! cargo run --example vcsm_stats            # one report
//! cargo run --example vcsm_stats -- 1 10    # every second, ten times
//! ```
//!
//! On vc-sm-cma the pool is the kernel's CMA area (`CmaTotal`/`CmaFree`),
//! shared with the camera, codecs and display; on the legacy driver it is the
//! firmware's `gpu_mem`, which Linux cannot see; emulated, it is exact.

use std::time::Duration;

use vcsm::{ServiceManager, Stats};

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "-".to_owned(), |b| format!("{:.2}", b as f64 / f64::from(1 << 20)))
}

fn report(stats: &Stats) {
    let used = match (stats.pool_total, stats.pool_free) {
        (Some(total), Some(free)) => Some(total.saturating_sub(free)),
        _ => None,
    };
    println!(
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

fn usage() -> ! {
    eprintln!("usage: vcsm_stats [INTERVAL_SECONDS [COUNT]]   (e.g. vcsm_stats 1 10)");
    std::process::exit(2)
}

fn main() {
    // Print the error's message (it says what to do), not its Debug form.
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> vcsm::Result<()> {
    let mut args = std::env::args().skip(1);
    let interval: f64 = match args.next() {
        None => 0.0,
        Some(a) => a.parse().ok().filter(|s: &f64| *s >= 0.0 && s.is_finite()).unwrap_or_else(|| usage()),
    };
    let count: u64 = match args.next() {
        None => 1,
        Some(a) => a.parse().unwrap_or_else(|_| usage()),
    };

    let manager = ServiceManager::get()?;
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>14} {:>12} {:>10}",
        "MiB", "total", "used", "free", "largest free", "our blocks", "our MiB"
    );
    for i in 0..count.max(1) {
        if i > 0 {
            std::thread::sleep(Duration::from_secs_f64(interval));
        }
        report(&manager.stats());
    }
    if manager.stats().pool_total.is_none() {
        println!("(the legacy driver allocates from gpu_mem, which Linux cannot see)");
    }
    Ok(())
}
