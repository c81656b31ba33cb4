//! 1920x1080 I420 frames from the emulated camera, side by side in one run,
//! through the VCHIQ provider (`VIDEOCORE=vchiq` over the emulated
//! `/dev/vchiq`) and through the C libraries (`VIDEOCORE=hardware`, the
//! software VideoCore's libmmal loaded as a Pi program loads libmmal), each
//! with and without zero copy: the process's CPU time per frame (the
//! client and the VideoCore both run in it, at the camera's 30 frames per
//! second) and, over VCHIQ, the bytes moved by bulk transfer and those the
//! client copied per frame.
//!
//! The process's CPU time is also split by thread. The emulated
//! VideoCore's threads (its components' workers and, over VCHIQ, the MMAL
//! service's thread `vc-mmal`) do the work a Pi's VideoCore does; the rest
//! (the program's own thread, and over VCHIQ the client's completion and
//! delivery threads, with the emulated kernel's copies made on them) is
//! what a Pi's ARM cores would spend. Through the C libraries the
//! client's callbacks run on the components' workers, so their share is
//! counted on the VideoCore's side there: that column is a lower bound,
//! and only the whole process's times are compared.
//!
//! Over VCHIQ the frames' bytes move by bulk transfer, which a Pi's
//! DMA engine does; the emulated driver does it with the CPU, on
//! whichever thread completes the transfer. That time is measured
//! (`vchiq_emu::bulk_copy_time`) and shown on its own, and the comparison
//! is made both with it and without it ("less DMA"): the latter is what
//! the two providers cost a Pi's CPU.
//!
//! ```sh
//! cargo xtask videocore-libs --release
//! cargo bench -p mmal --bench vchiq
//! ```
//!
//! Each case runs in a process of its own (a process has one provider).
//! The C libraries are taken from `MMAL_LIB_DIR`, else from
//! `target/videocore/<target>/lib`. Prints figures measured in one run;
//! nothing is asserted.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use mmal::params::{Capture, ZeroCopy};
use mmal::{Component, Encoding, Format};

const CASE_VAR: &str = "MMAL_BENCH_VCHIQ_CASE";
const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;
const FRAMES: u32 = 150;
/// Runs of each case; the median is shown.
const RUNS: usize = 3;

/// The process's CPU time (user and system) so far, in microseconds.
fn cpu_micros() -> u64 {
    // SAFETY: `getrusage` fills the zeroed struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    micros(usage.ru_utime) + micros(usage.ru_stime)
}

/// One of the process's threads, so far.
struct Thread {
    tid: libc::pid_t,
    name: String,
    /// CPU time (user and system), nanoseconds.
    cpu_ns: u64,
    /// Times it was switched out to wait (to be woken again), and
    /// preempted; zero where the kernel does not say.
    waits: u64,
    preemptions: u64,
}

/// The process's threads, each with its CPU time and switches so far.
fn threads() -> Vec<Thread> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Vec::new() };
    tasks
        .flatten()
        .filter_map(|task| {
            let tid: libc::pid_t = task.file_name().to_str()?.parse().ok()?;
            let name = std::fs::read_to_string(task.path().join("comm")).ok()?.trim_end().to_string();
            // A thread's CPU clock, as the kernel numbers it (what glibc's
            // `pthread_getcpuclockid` gives): the bitwise complement of the
            // thread id, shifted by 3, with CPUCLOCK_PERTHREAD (4) and
            // CPUCLOCK_SCHED (2).
            let clock = ((!tid) << 3) | 6;
            // SAFETY: `clock_gettime` writes the zeroed timespec it is
            // given; a thread that has exited gives an error, not a read.
            let (rc, t) = unsafe {
                let mut t: libc::timespec = std::mem::zeroed();
                (libc::clock_gettime(clock as libc::clockid_t, &mut t), t)
            };
            if rc != 0 {
                return None;
            }
            let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
            let count = |key: &str| {
                status.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0)
            };
            Some(Thread {
                tid,
                name,
                cpu_ns: t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64,
                waits: count("voluntary_ctxt_switches:"),
                preemptions: count("nonvoluntary_ctxt_switches:"),
            })
        })
        .collect()
}

/// Whether a thread of this name is the emulated VideoCore's: the MMAL
/// service's thread over VCHIQ, or a component's worker (named after the
/// component, `vc.` left off).
fn videocore_thread(name: &str) -> bool {
    name == "vc-mmal" || name.starts_with("ril.")
}

/// One case, in this process: prints, per frame, the CPU time (µs), the
/// bytes moved by bulk, the bytes the client copied, the emulated
/// VideoCore's CPU time and the emulated DMA's (µs).
fn run_case(zero_copy: bool) -> mmal::Result<()> {
    let camera = Component::new("vc.ril.camera")?;
    let video = camera.output(1)?;
    video.set_format(&Format::video(Encoding::I420, WIDTH, HEIGHT).with_frame_rate(30))?;
    if zero_copy {
        video.set(&ZeroCopy(true))?;
    }
    let frames = video.enable_stream(4)?;
    camera.enable()?;
    video.set(&Capture(true))?;
    let mut checksum = 0u64;
    for _ in 0..10 {
        let f = frames.next_timeout(Duration::from_secs(10))?;
        checksum = checksum.wrapping_add(u64::from(f[f.len() / 2]));
    }
    // The bytes the frames' bulk transfers moved (a Pi's DMA moves them),
    // and those the client copied into the buffer headers' payloads.
    let received = || mmal_emu::vchiq_stats().map_or(0, |s| s.bytes_received);
    let copies = mmal_emu::vchiq_payload_copies;
    let dma = || vchiq_emu::bulk_copy_time().as_micros() as u64;
    // The threads' counts first and last, so that reading them is not
    // billed to the frames.
    let before = threads();
    let (bytes, copied, copying) = (received(), copies(), dma());
    let cpu = cpu_micros();
    for _ in 0..FRAMES {
        let f = frames.next_timeout(Duration::from_secs(10))?;
        checksum = checksum.wrapping_add(u64::from(f[f.len() / 2]));
    }
    let cpu = cpu_micros() - cpu;
    let (bytes, copied, copying) = (received() - bytes, copies() - copied, dma() - copying);
    let after = threads();
    // What a thread did meanwhile, against its own earlier count (a thread
    // started meanwhile: all it did; one that ended took its count along).
    let since = |t: &Thread, count: fn(&Thread) -> u64| {
        count(t).saturating_sub(before.iter().find(|b| b.tid == t.tid).map_or(0, count))
    };
    let videocore =
        after.iter().filter(|t| videocore_thread(&t.name)).map(|t| since(t, |t| t.cpu_ns)).sum::<u64>() / 1000;
    if std::env::var_os("MMAL_BENCH_THREADS").is_some() {
        // Each thread name's share, for a closer look (to stderr).
        let mut by_name: std::collections::BTreeMap<&str, [u64; 3]> = Default::default();
        for t in &after {
            let sum = by_name.entry(&t.name).or_default();
            sum[0] += since(t, |t| t.cpu_ns);
            sum[1] += since(t, |t| t.waits);
            sum[2] += since(t, |t| t.preemptions);
        }
        let per_frame = |n: u64| n as f64 / f64::from(FRAMES);
        for (name, [ns, waits, preemptions]) in by_name {
            eprintln!(
                "  {name:<16} {:>8.1} us/frame, {:>5.2} waits and {:>5.2} preemptions per frame",
                per_frame(ns) / 1000.0,
                per_frame(waits),
                per_frame(preemptions)
            );
        }
    }
    std::hint::black_box(checksum);
    let per_frame = |n: u64| n as f64 / f64::from(FRAMES);
    let figures = [cpu, bytes, copied, videocore, copying].map(per_frame);
    println!("{} {} {} {} {}", figures[0], figures[1], figures[2], figures[3], figures[4]);
    Ok(())
}

/// The software VideoCore's C libraries for this machine.
fn library_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("MMAL_LIB_DIR") {
        return Some(dir.into());
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/videocore");
    let arch = match std::env::consts::ARCH {
        "arm" => "armv7",
        arch => arch,
    };
    std::fs::read_dir(&root)
        .ok()?
        .flatten()
        .map(|e| e.path().join("lib"))
        .find(|p| p.parent().and_then(|t| t.file_name()).is_some_and(|n| n.to_string_lossy().starts_with(arch)))
        .filter(|p| p.join("libmmal.so").exists())
}

/// One run's figures, per frame.
#[derive(Clone, Copy)]
struct Run {
    /// The process's CPU time, microseconds.
    cpu: f64,
    /// The bytes moved by bulk transfer.
    bulk: f64,
    /// The bytes the VCHIQ client copied.
    copied: f64,
    /// The CPU time of the emulated VideoCore's threads, microseconds.
    videocore: f64,
    /// The emulated driver's bulk copies (a Pi's DMA), microseconds.
    dma: f64,
}

impl Run {
    /// The CPU time outside the emulated VideoCore's threads.
    fn arm(&self) -> f64 {
        self.cpu - self.videocore
    }

    /// The CPU time less the emulated DMA's.
    fn less_dma(&self) -> f64 {
        self.cpu - self.dma
    }
}

/// The run with the median CPU time.
fn median(mut runs: Vec<Run>) -> Option<Run> {
    runs.sort_by(|a, b| a.cpu.total_cmp(&b.cpu));
    runs.get(runs.len() / 2).copied()
}

/// Runs one case in a child process.
fn run_child(envs: &[(&str, String)], zero_copy: bool) -> Option<Run> {
    let exe = std::env::current_exe().ok()?;
    let mut cmd = Command::new(exe);
    cmd.env(CASE_VAR, if zero_copy { "zero-copy" } else { "copy" });
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().ok()?;
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.lines().last()?.split_whitespace().map(|w| w.parse::<f64>().ok());
    Some(Run {
        cpu: words.next()??,
        bulk: words.next()??,
        copied: words.next()??,
        videocore: words.next()??,
        dma: words.next()??,
    })
}

fn main() {
    if let Ok(case) = std::env::var(CASE_VAR) {
        if let Err(e) = run_case(case == "zero-copy") {
            eprintln!("{e}");
            std::process::exit(1);
        }
        return;
    }
    let vchiq = vec![("VIDEOCORE", "vchiq".to_string()), ("VIDEOCORE_VCHIQ_DEVICE", "emulated".to_string())];
    let library = library_dir();
    let hardware = library
        .as_ref()
        .map(|dir| vec![("VIDEOCORE", "hardware".to_string()), ("MMAL_LIB_DIR", dir.to_string_lossy().into_owned())]);
    println!("{WIDTH}x{HEIGHT} I420 from the emulated camera at 30 frames/s, {FRAMES} frames per run, median of {RUNS} runs:");
    match &library {
        Some(dir) => println!(
            "  C libraries: {}",
            std::fs::canonicalize(dir.join("libmmal.so")).unwrap_or(dir.clone()).display()
        ),
        None => println!("  C libraries: not built (cargo xtask videocore-libs --release): that side is left out"),
    }
    println!("  (CPU, emulated DMA, CPU less DMA and ARM side in us per frame; bulk and copied in bytes per frame)");
    println!(
        "  {:<38} {:>8} {:>13} {:>13} {:>9} {:>9} {:>8}",
        "case", "CPU", "emulated DMA", "CPU less DMA", "ARM side", "bulk", "copied"
    );
    for zero_copy in [false, true] {
        let label = if zero_copy { "zero copy" } else { "copied" };
        // The two providers take turns (the machine's load drifts).
        let (mut v, mut c) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            v.extend(run_child(&vchiq, zero_copy));
            c.extend(hardware.as_ref().and_then(|envs| run_child(envs, zero_copy)));
        }
        let (over_vchiq, through_c) = (median(v), median(c));
        if let Some(r) = over_vchiq {
            let name = format!("VIDEOCORE=vchiq, {label}");
            println!(
                "  {name:<38} {:>8.0} {:>13.0} {:>13.0} {:>9.0} {:>9.0} {:>8.0}",
                r.cpu,
                r.dma,
                r.less_dma(),
                r.arm(),
                r.bulk,
                r.copied
            );
        }
        if let Some(r) = through_c {
            let name = format!("VIDEOCORE=hardware (C libraries), {label}");
            println!("  {name:<38} {:>8.0} {:>13} {:>13.0} {:>9.0} {:>9} {:>8}", r.cpu, "-", r.cpu, r.arm(), "-", "-");
        }
        if let (Some(v), Some(c)) = (over_vchiq, through_c) {
            let name = format!("  ratio vchiq / hardware, {label}");
            println!("  {name:<38} {:>8.2} {:>13} {:>13.2}", v.cpu / c.cpu, "", v.less_dma() / c.cpu);
        }
    }
}
