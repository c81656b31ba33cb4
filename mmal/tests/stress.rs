//! Connections, streams, callbacks, event listeners, disables and drops
//! from several threads at once, in a random order, on shared components:
//! no crash, no deadlock (every thread finishes in bounded time), and
//! nothing left behind (the software VideoCore's objects and threads, this
//! process's threads and file descriptors).
//!
//! `MMAL_STRESS_SECONDS` (default 3) bounds the run, `MMAL_STRESS_THREADS`
//! (default 6) sets the threads, `MMAL_STRESS_SEED` replays a run (each run
//! prints its seed). Runs against the software VideoCore linked in, or
//! through the loader against its C library (`VIDEOCORE=hardware
//! MMAL_LIB_DIR=...`). Alone in its binary so that nothing else runs
//! meanwhile. With `--features deadlock-detection`, parking_lot's detector
//! watches the locks too.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use common::{count, emu, eventually, Rng};
use mmal::params::Capture;
use mmal::{CallbackPort, Component, Connection, ConnectionFlags, Encoding, Error, Events, Format, FrameStream};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A camera, a null sink and a splitter, configured.
#[derive(Clone)]
struct Rig {
    camera: Component,
    sink: Component,
    splitter: Component,
}

impl Rig {
    fn new() -> Rig {
        let camera = Component::new("vc.ril.camera").unwrap();
        for port in [0, 1] {
            let format = Format::video(Encoding::I420, 64, 48).with_frame_rate(60);
            camera.output(port).unwrap().set_format(&format).unwrap();
        }
        Rig {
            camera,
            sink: Component::new("vc.null_sink").unwrap(),
            splitter: Component::new("vc.ril.video_splitter").unwrap(),
        }
    }
}

/// What a thread made and keeps for a while, for any thread to drop.
enum Held {
    Stream(FrameStream),
    Callback(CallbackPort),
    Connection(Connection),
    Events(Events),
}

/// How the operations went, for the report.
#[derive(Default)]
struct Counts {
    ops: AtomicU64,
    refused: AtomicU64,
    frames: AtomicU64,
    /// A connection's closure that could configure its input: must stay 0.
    configured_from_closure: AtomicU64,
}

struct Shared {
    rigs: Mutex<Vec<Rig>>,
    held: Mutex<Vec<Held>>,
    counts: Counts,
}

const MAX_HELD: usize = 8;

impl Shared {
    fn rig(&self, rng: &mut Rng) -> Rig {
        let rigs = self.rigs.lock().unwrap();
        rigs[rng.below(rigs.len())].clone()
    }

    /// Keeps `item`; when full, a random one goes (dropped here, with no
    /// lock held: dropping waits for callbacks).
    fn keep(&self, item: Held, rng: &mut Rng) {
        let evicted = {
            let mut held = self.held.lock().unwrap();
            held.push(item);
            if held.len() > MAX_HELD {
                let i = rng.below(held.len());
                Some(held.swap_remove(i))
            } else {
                None
            }
        };
        drop(evicted);
    }

    fn take(&self, rng: &mut Rng) -> Option<Held> {
        let mut held = self.held.lock().unwrap();
        if held.is_empty() {
            return None;
        }
        let i = rng.below(held.len());
        Some(held.swap_remove(i))
    }

    fn refused<T>(&self, result: mmal::Result<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e @ Error::CallbackPanicked { .. }) => panic!("{e}"),
            Err(_) => {
                self.counts.refused.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    fn step(&self, rng: &mut Rng) {
        self.counts.ops.fetch_add(1, Ordering::Relaxed);
        let rig = self.rig(rng);
        match rng.below(10) {
            0 | 1 => {
                let port = rig.camera.output(rng.below(2)).unwrap();
                if let Some(stream) = self.refused(port.enable_stream(2)) {
                    let _ = rig.camera.enable();
                    let _ = port.set(&Capture(true));
                    if stream.next_timeout(Duration::from_millis(30)).is_ok() {
                        self.counts.frames.fetch_add(1, Ordering::Relaxed);
                    }
                    self.keep(Held::Stream(stream), rng);
                }
            }
            2 => {
                let port = rig.camera.output(rng.below(2)).unwrap();
                if let Some(calls) =
                    self.refused(port.enable_callback(|b| assert!(b.event().is_some() || !b.data().is_empty())))
                {
                    self.keep(Held::Callback(calls), rng);
                }
            }
            3 | 4 => {
                let output = rig.camera.output(rng.below(2)).unwrap();
                let input = if rng.below(2) == 0 { rig.sink.input(0) } else { rig.splitter.input(0) }.unwrap();
                let link = match rng.below(3) {
                    0 => Connection::new(&output, &input, ConnectionFlags::default()),
                    1 => Connection::new(&output, &input, ConnectionFlags::ALLOCATION_ON_INPUT),
                    _ => {
                        let (port, component) = (input.clone(), input.component());
                        let counts = Arc::new(AtomicU64::new(0));
                        let seen = counts.clone();
                        let result = Connection::through_client(&output, &input, move |_| {
                            // Configuring either component from the closure
                            // is WouldDeadlock, never a wait.
                            for r in [port.set_buffers(2, 1 << 16), component.disable()] {
                                if !matches!(r, Err(Error::WouldDeadlock(_))) {
                                    seen.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        });
                        self.counts
                            .configured_from_closure
                            .fetch_add(counts.load(Ordering::Relaxed), Ordering::Relaxed);
                        result
                    }
                };
                if let Some(link) = self.refused(link) {
                    let _ = rig.sink.enable();
                    let _ = rig.splitter.enable();
                    let _ = rig.camera.enable();
                    let _ = output.set(&Capture(true));
                    self.keep(Held::Connection(link), rng);
                }
            }
            5 => {
                if let Some(events) = self.refused(rig.camera.events()) {
                    self.keep(Held::Events(events), rng);
                }
            }
            6 => {
                let component = [&rig.camera, &rig.sink, &rig.splitter][rng.below(3)];
                let result = if rng.below(2) == 0 { component.disable() } else { component.enable() };
                self.refused(result);
            }
            7 => {
                // Drop one (or disable and enable a connection, or flush a
                // stream, first).
                match self.take(rng) {
                    Some(Held::Connection(link)) if rng.below(2) == 0 => {
                        self.refused(link.disable());
                        self.refused(link.enable());
                        self.keep(Held::Connection(link), rng);
                    }
                    Some(Held::Stream(stream)) if rng.below(2) == 0 => {
                        self.refused(stream.flush());
                        if stream.try_next().is_some() {
                            self.counts.frames.fetch_add(1, Ordering::Relaxed);
                        }
                        self.keep(Held::Stream(stream), rng);
                    }
                    Some(Held::Callback(calls)) => {
                        // A panic in the callback (a buffer with nothing in
                        // it) would show here.
                        calls.check().unwrap();
                        if rng.below(2) == 0 {
                            self.refused(calls.disable());
                        }
                    }
                    Some(Held::Events(events)) => {
                        while events.try_next().is_some() {}
                        if rng.below(2) == 0 {
                            self.refused(events.disable());
                        }
                    }
                    other => drop(other),
                }
            }
            8 => drop(self.take(rng)),
            _ => {
                // A new rig in place of one: the old one's components go
                // when the last stream or connection holding them does.
                let new = Rig::new();
                let old = {
                    let mut rigs = self.rigs.lock().unwrap();
                    let i = rng.below(rigs.len());
                    std::mem::replace(&mut rigs[i], new)
                };
                drop(old);
            }
        }
    }
}

/// With the `deadlock-detection` feature, a thread that asks parking_lot's
/// detector every 100 ms whether threads wait on each other's locks, and
/// ends the process with their backtraces if they do: a deadlock reported
/// where it forms instead of by the test's timeout. Started before the
/// baseline of threads is taken, and runs until the process exits.
#[cfg(feature = "deadlock-detection")]
fn watch_for_deadlocks() {
    use std::io::Write;

    std::thread::Builder::new()
        .name("deadlock-watchdog".into())
        .spawn(|| loop {
            std::thread::sleep(Duration::from_millis(100));
            let deadlocks = parking_lot::deadlock::check_deadlock();
            if !deadlocks.is_empty() {
                // Straight to stderr: the test harness captures `eprintln!`
                // and would lose it at the exit.
                let mut stderr = std::io::stderr().lock();
                for (i, threads) in deadlocks.iter().enumerate() {
                    let _ = writeln!(stderr, "deadlock {i}:");
                    for thread in threads {
                        let _ = writeln!(stderr, "thread {:?}:\n{:?}", thread.thread_id(), thread.backtrace());
                    }
                }
                std::process::exit(101);
            }
        })
        .unwrap();
}

#[test]
fn threads_racing_connections_streams_disables_and_drops() {
    common::emulated();
    #[cfg(feature = "deadlock-detection")]
    watch_for_deadlocks();
    let seconds = env_number("MMAL_STRESS_SECONDS", 3);
    let threads = env_number("MMAL_STRESS_THREADS", 6).max(2) as usize;
    let seed = env_number(
        "MMAL_STRESS_SEED",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64,
    )
    .max(1);
    println!("stress: {threads} threads for {seconds} s, seed {seed} (MMAL_STRESS_SEED={seed} replays it)");
    // Warm up (the provider, logging, the VCSM pool), then the baseline.
    drop(Rig::new().camera.output(1).unwrap().enable_stream(1).unwrap());
    assert!(eventually(Duration::from_secs(10), || emu::usage().threads == 0));
    let (threads_before, fds_before) = (count("/proc/self/task"), count("/proc/self/fd"));

    let shared = Arc::new(Shared {
        rigs: Mutex::new(vec![Rig::new(), Rig::new()]),
        held: Mutex::new(Vec::new()),
        counts: Counts::default(),
    });
    let stop = Instant::now() + Duration::from_secs(seconds);
    let (done, finished) = mpsc::channel();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (shared, done) = (shared.clone(), done.clone());
            let mut rng = Rng(seed ^ (t as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            std::thread::Builder::new()
                .name(format!("stress-{t}"))
                .spawn(move || {
                    while Instant::now() < stop {
                        shared.step(&mut rng);
                    }
                    let _ = done.send(t);
                })
                .unwrap()
        })
        .collect();
    drop(done);
    // Every thread finishes its last step well after the deadline, or it
    // is stuck: a deadlock (the test fails; the stuck threads die with the
    // process).
    let limit = Duration::from_secs(seconds + 60);
    for _ in 0..threads {
        match finished.recv_timeout(stop.saturating_duration_since(Instant::now()) + limit) {
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("a thread did not finish within {limit:?} of the end: a deadlock (seed {seed})")
            }
        }
    }
    for worker in workers {
        if let Err(panic) = worker.join() {
            eprintln!("seed {seed}");
            std::panic::resume_unwind(panic);
        }
    }
    let counts = &shared.counts;
    println!(
        "stress: {} operations, {} refused, {} frames",
        counts.ops.load(Ordering::Relaxed),
        counts.refused.load(Ordering::Relaxed),
        counts.frames.load(Ordering::Relaxed)
    );
    assert_eq!(
        counts.configured_from_closure.load(Ordering::Relaxed),
        0,
        "a closure configured a component (seed {seed})"
    );
    assert!(counts.ops.load(Ordering::Relaxed) > 0);

    // Everything goes: what is held, then the rigs.
    let held = std::mem::take(&mut *shared.held.lock().unwrap());
    drop(held);
    shared.rigs.lock().unwrap().clear();
    drop(shared);
    // Releases handed to short-lived threads finish on their own.
    let idle = eventually(Duration::from_secs(30), || {
        let usage = emu::usage();
        (usage.components, usage.threads, usage.pools, usage.connections) == (0, 0, 0, 0)
            && count("/proc/self/task") <= threads_before
    });
    let usage = emu::usage();
    assert!(idle, "left behind (seed {seed}): {usage:?}, {} threads (were {threads_before})", count("/proc/self/task"));
    assert_eq!(count("/proc/self/fd"), fds_before, "file descriptors (seed {seed})");
}
