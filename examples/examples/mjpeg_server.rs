//! Streams the camera as MJPEG over HTTP (`multipart/x-mixed-replace`, as
//! browsers and `ffplay` show it) to any number of viewers at once: a
//! thread per viewer, each sent the latest JPEG (a slow viewer skips
//! frames, never slows the others). The camera records only while someone
//! watches.
//!
//! `cargo run --release --example mjpeg_server -- --help`

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use examples::lexopt::prelude::*;
use examples::{plural, Error, Result};
use mmal::{Camera, CameraOptions, Frame, RecorderConfig, VideoOutput};

const HELP: &str = "\
mjpeg_server: streams the camera as MJPEG over HTTP (multipart/x-mixed-
replace): open the address it prints in a browser, or `ffplay URL`. Serves
several viewers at once, each on its own thread with the latest frame; the
camera records only while at least one watches.

usage: mjpeg_server [--listen ADDR] [--port P] [--size WxH] [--fps F]
                    [--viewers N]

options:
  --listen ADDR  the address to listen on (default 127.0.0.1, this machine
                 only; 0.0.0.0 or :: for every network)
  --port P       the TCP port, 0 to 65535 (default 8080; 0 picks a free
                 one, printed)
  --size WxH     the pictures' size (default 640x480)
  --fps F        frames per second, 1 to 200 (default 15)
  --viewers N    stop once N viewers have come and gone (default: serve
                 until interrupted)
  --camera N     which camera (default 0)
  -h, --help     print this help
";

const BOUNDARY: &str = "videocore-frame";

struct Options {
    listen: IpAddr,
    port: u16,
    size: (u32, u32),
    fps: u32,
    viewers: Option<u64>,
    camera: u32,
}

fn options() -> Result<Options> {
    let mut o = Options {
        listen: IpAddr::from([127, 0, 0, 1]),
        port: 8080,
        size: (640, 480),
        fps: 15,
        viewers: None,
        camera: 0,
    };
    let mut args = lexopt::Parser::from_env();
    while let Some(arg) = args.next()? {
        match arg {
            Short('h') | Long("help") => examples::print_help(HELP),
            Long("listen") => {
                let value = args.value()?.to_string_lossy().into_owned();
                o.listen = value.parse().map_err(|_| {
                    Error::usage(format!("--listen {value}: give an IP address, as 127.0.0.1, 0.0.0.0 or ::"))
                })?;
            }
            Long("port") => o.port = examples::number("--port", args.value()?, 0..=65535, "a TCP port")?,
            Long("size") => o.size = examples::size("--size", args.value()?)?,
            Long("fps") => o.fps = examples::number("--fps", args.value()?, 1..=200, "frames per second")?,
            Long("viewers") => {
                o.viewers = Some(examples::number("--viewers", args.value()?, 1..=u64::MAX, "a count of viewers")?)
            }
            Long("camera") => o.camera = examples::number("--camera", args.value()?, 0..=3, "a camera number")?,
            _ => return Err(arg.unexpected().into()),
        }
    }
    Ok(o)
}

/// What the camera's thread and the viewers' threads share.
#[derive(Default)]
struct State {
    /// The latest JPEG and its number (0: none yet).
    latest: Option<Arc<Vec<u8>>>,
    number: u64,
    /// Viewers connected, and viewers gone.
    watching: u64,
    gone: u64,
    /// Why the camera stopped, if it did.
    failed: Option<String>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stopping: AtomicBool,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // No code here panics while holding the lock; a poisoned one is
        // still consistent.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The recording's output: whole JPEGs handed to every viewer.
struct Broadcast {
    shared: Arc<Shared>,
    jpeg: Vec<u8>,
}

impl VideoOutput for Broadcast {
    fn write_buffer(&mut self, buffer: &Frame) -> std::io::Result<()> {
        self.jpeg.extend_from_slice(buffer);
        if buffer.ends_picture() {
            let jpeg = Arc::new(std::mem::take(&mut self.jpeg));
            let mut state = self.shared.lock();
            state.latest = Some(jpeg);
            state.number += 1;
            self.shared.changed.notify_all();
        }
        Ok(())
    }
}

/// Records while anyone watches, until told to stop.
fn record(camera: &Camera, config: &RecorderConfig, shared: &Arc<Shared>) -> mmal::Result<()> {
    loop {
        {
            let mut state = shared.lock();
            while state.watching == 0 && !shared.stopping.load(Ordering::Acquire) {
                state = shared.changed.wait(state).unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        }
        if shared.stopping.load(Ordering::Acquire) {
            return Ok(());
        }
        let output = Broadcast { shared: shared.clone(), jpeg: Vec::new() };
        let mut recording = camera.start_recording(output, config)?;
        while shared.lock().watching > 0 && !shared.stopping.load(Ordering::Acquire) {
            recording.wait(Duration::from_millis(200))?;
        }
        recording.stop()?;
    }
}

/// Sends JPEGs to one viewer until it goes away; returns how many.
fn serve(mut client: TcpStream, shared: &Shared) -> std::io::Result<u64> {
    client.set_read_timeout(Some(Duration::from_secs(5)))?;
    client.set_write_timeout(Some(Duration::from_secs(10)))?;
    // The request line and headers: read and ignored.
    let mut reader = BufReader::new(client.try_clone()?);
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let head = format!(
        "HTTP/1.0 200 OK\r\nCache-Control: no-cache\r\nContent-Type: multipart/x-mixed-replace; boundary={BOUNDARY}\r\n\r\n"
    );
    client.write_all(head.as_bytes())?;
    let (mut seen, mut sent) = (0, 0);
    loop {
        let jpeg = {
            let mut state = shared.lock();
            while state.number == seen && state.failed.is_none() && !shared.stopping.load(Ordering::Acquire) {
                let (s, timeout) = shared
                    .changed
                    .wait_timeout(state, Duration::from_secs(10))
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                state = s;
                if timeout.timed_out() {
                    return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "no frame from the camera"));
                }
            }
            match (&state.latest, state.failed.is_some() || shared.stopping.load(Ordering::Acquire)) {
                (Some(jpeg), false) => {
                    seen = state.number;
                    jpeg.clone()
                }
                _ => return Ok(sent),
            }
        };
        let part = format!("--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n", jpeg.len());
        let written = client
            .write_all(part.as_bytes())
            .and_then(|()| client.write_all(&jpeg))
            .and_then(|()| client.write_all(b"\r\n"));
        match written {
            Ok(()) => sent += 1,
            // The viewer closed the page: gone, as expected.
            Err(e) if matches!(e.kind(), std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset) => {
                return Ok(sent)
            }
            Err(e) => return Err(e),
        }
    }
}

fn main() -> Result<()> {
    let o = options()?;
    examples::check_environment()?;
    let (w, h) = o.size;
    let camera = Camera::open(o.camera, &CameraOptions::new().resolution(w, h).frame_rate(o.fps))?;
    let config = RecorderConfig::mjpeg(w, h).frame_rate(o.fps);
    let listener = TcpListener::bind(SocketAddr::new(o.listen, o.port)).map_err(|e| {
        Error::new(format!("cannot listen on {}: {e}; give another --port, or 0 for a free one", o.listen))
    })?;
    let address = listener.local_addr().map_err(|e| Error::new(format!("the listening socket: {e}")))?;
    let url_host = if address.ip().is_loopback() { "localhost".to_owned() } else { address.ip().to_string() };
    if address.ip().is_unspecified() {
        examples::outln!(
            "http://<this machine's address>:{}/ (listening on {address}): {w}x{h} MJPEG at {} fps",
            address.port(),
            o.fps
        );
    } else if address.is_ipv6() && !address.ip().is_loopback() {
        examples::outln!("http://[{url_host}]:{}/: {w}x{h} MJPEG at {} fps", address.port(), o.fps);
    } else {
        examples::outln!("http://{url_host}:{}/: {w}x{h} MJPEG at {} fps", address.port(), o.fps);
    }
    // Polled, so that the loop sees the camera fail or the viewers done.
    listener.set_nonblocking(true).map_err(|e| Error::new(format!("the listening socket: {e}")))?;
    let shared =
        Arc::new(Shared { state: Mutex::default(), changed: Condvar::new(), stopping: AtomicBool::new(false) });

    std::thread::scope(|scope| {
        let recorder = scope.spawn(|| {
            let result = record(&camera, &config, &shared);
            if let Err(e) = &result {
                shared.lock().failed = Some(e.to_string());
            }
            shared.stopping.store(true, Ordering::Release);
            shared.changed.notify_all();
            result
        });
        loop {
            if shared.stopping.load(Ordering::Acquire) {
                break;
            }
            if o.viewers.is_some_and(|n| shared.lock().gone >= n) {
                shared.stopping.store(true, Ordering::Release);
                shared.changed.notify_all();
                break;
            }
            let client = match listener.accept() {
                Ok((client, _)) => client,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
                Err(e) => {
                    eprintln!("accepting a viewer: {e}");
                    continue;
                }
            };
            let peer = client.peer_addr().map(|a| a.to_string()).unwrap_or_default();
            if client.set_nonblocking(false).is_err() {
                continue;
            }
            shared.lock().watching += 1;
            shared.changed.notify_all();
            examples::outln!("{peer}: watching");
            let shared = &shared;
            scope.spawn(move || {
                let result = serve(client, shared);
                {
                    let mut state = shared.lock();
                    state.watching -= 1;
                    state.gone += 1;
                }
                shared.changed.notify_all();
                match result {
                    Ok(sent) => examples::outln!("{peer}: gone after {}", plural(sent, "frame")),
                    Err(e) => examples::outln!("{peer}: gone ({e})"),
                }
            });
        }
        match recorder.join() {
            Ok(result) => result.map_err(Error::from),
            Err(_) => Err(Error::new("the camera's thread panicked")),
        }
    })
}
