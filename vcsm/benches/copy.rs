//! Copy-in and allocation speed, as ratios measured in one run.
//!
//! `cargo bench -p vcsm --bench copy`
//!
//! Each comparison interleaves the two sides (A, B, A, B, ...) and compares
//! medians, so both see the same machine load. A ratio is the plain copy's
//! time divided by the block's: 1.0 means as fast as copying into a `Vec`.
//! Targets: `copy_from_slice` >= 0.95 from 1 MiB up, contiguous
//! `copy_from_array` >= 0.9, transposed 4096 x 4096 `u8` view >= 0.25.

use std::hint::black_box;
use std::time::{Duration, Instant};

use vcsm::ndarray::Array2;
use vcsm::{ServiceManager, SharedMemory};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// Runs `a` and `b` alternately `reps` times (after one warm-up each) and
/// returns their median times.
fn interleaved(reps: usize, mut a: impl FnMut(), mut b: impl FnMut()) -> (Duration, Duration) {
    a();
    b();
    let (mut ta, mut tb) = (Vec::with_capacity(reps), Vec::with_capacity(reps));
    for _ in 0..reps {
        let t = Instant::now();
        a();
        ta.push(t.elapsed());
        let t = Instant::now();
        b();
        tb.push(t.elapsed());
    }
    (median(ta), median(tb))
}

fn gib_per_s(bytes: usize, t: Duration) -> f64 {
    bytes as f64 / t.as_secs_f64() / f64::from(1 << 30)
}

fn main() -> vcsm::Result<()> {
    let manager = ServiceManager::get()?;
    println!("driver: {}", manager.driver());
    println!();
    println!("copy_from_slice into a block vs a plain copy into a Vec (steady state)");
    println!("{:>10} {:>12} {:>12} {:>8}", "size", "block GiB/s", "Vec GiB/s", "ratio");
    let mut size = 4 << 10;
    while size <= 16 << 20 {
        // Enough repetitions for ~256 MiB per side, at least 31.
        let reps = ((256 << 20) / size).clamp(31, 4000);
        let data: Vec<u8> = (0..size).map(|i| i as u8).collect();
        let mut block = SharedMemory::new(size, "bench")?;
        let mut plain = vec![0u8; size];
        let (t_block, t_vec) = interleaved(
            reps,
            || block.copy_from_slice(black_box(&data)).expect("copy fits"),
            || black_box(&mut plain[..]).copy_from_slice(black_box(&data)),
        );
        println!(
            "{:>9}K {:>12.2} {:>12.2} {:>8.2}",
            size >> 10,
            gib_per_s(size, t_block),
            gib_per_s(size, t_vec),
            t_vec.as_secs_f64() / t_block.as_secs_f64()
        );
        size *= 4;
    }

    println!();
    println!("copy_from_array, 4096 x 4096 u8 (16 MiB), vs a plain copy into a Vec");
    let n = 4096;
    let array = Array2::<u8>::from_shape_fn((n, n), |(r, c)| (r * 31 + c) as u8);
    let flat: Vec<u8> = array.iter().copied().collect();
    let mut block = SharedMemory::new(n * n, "bench array")?;
    let mut plain = vec![0u8; n * n];
    let transposed = array.t();
    for (label, view) in [("contiguous", array.view()), ("transposed view", transposed)] {
        let (t_arr, t_vec) = interleaved(
            31,
            || block.copy_from_array(black_box(&view)).expect("fits"),
            || black_box(&mut plain[..]).copy_from_slice(black_box(&flat)),
        );
        println!(
            "{label:>24} {:>8.2} GiB/s  ratio {:.2}",
            gib_per_s(n * n, t_arr),
            t_vec.as_secs_f64() / t_arr.as_secs_f64()
        );
    }

    println!();
    println!("allocate + free cycle");
    for size in [4 << 10, 1 << 20] {
        let cycles = 20_000;
        let start = Instant::now();
        for _ in 0..cycles {
            black_box(SharedMemory::new(size, "cycle")?);
        }
        let per = start.elapsed() / cycles;
        println!("{:>9}K {:>8.2} us per cycle", size >> 10, per.as_secs_f64() * 1e6);
    }
    Ok(())
}
