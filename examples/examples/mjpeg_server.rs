//! Streams the camera as MJPEG over HTTP (`multipart/x-mixed-replace`, as
//! browsers and `ffplay` show it): open `http://localhost:8080/` while it
//! runs. One viewer at a time; the camera records only while one watches,
//! and starts again, from a keyframe, for the next.
//!
//! `cargo run --release --example mjpeg_server -- [--port P] [--size WxH] [--fps F] [--viewers N]`
//! (`--viewers N` stops after N viewers have gone; the default serves on).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use mmal::{Recorder, RecorderConfig};

const BOUNDARY: &str = "videocore-frame";

struct Options {
    port: u16,
    size: (u32, u32),
    fps: u32,
    viewers: Option<usize>,
}

fn options() -> Result<Options, String> {
    let (mut port, mut size, mut fps, mut viewers) = (8080, (640, 480), 15, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or(format!("{arg} takes a value"))?;
        let bad = |what: &str| format!("{arg} {value}: {what}");
        match arg.as_str() {
            "--port" => port = value.parse().map_err(|_| bad("a port number"))?,
            "--fps" => fps = value.parse().map_err(|_| bad("frames per second"))?,
            "--viewers" => viewers = Some(value.parse().map_err(|_| bad("a count"))?),
            "--size" => {
                let (w, h) = value.split_once('x').ok_or(bad("WxH, as 640x480"))?;
                size = (w.parse().map_err(|_| bad("a width"))?, h.parse().map_err(|_| bad("a height"))?);
            }
            _ => return Err(format!("unknown option {arg}: use [--port P] [--size WxH] [--fps F] [--viewers N]")),
        }
    }
    Ok(Options { port, size, fps, viewers })
}

/// Sends JPEGs to one viewer until it goes away.
fn serve(mut client: TcpStream, recorder: &mut Recorder) -> mmal::Result<usize> {
    // The request line and headers: read and ignored.
    let mut reader = BufReader::new(client.try_clone().map_err(io)?);
    let mut line = String::new();
    while reader.read_line(&mut line).map_err(io)? > 2 {
        line.clear();
    }
    let head = format!(
        "HTTP/1.0 200 OK\r\nCache-Control: no-cache\r\nContent-Type: multipart/x-mixed-replace; boundary={BOUNDARY}\r\n\r\n"
    );
    if client.write_all(head.as_bytes()).is_err() {
        return Ok(0);
    }
    recorder.start()?;
    let (mut jpeg, mut sent) = (Vec::new(), 0);
    loop {
        let buffer = recorder.next_timeout(Duration::from_secs(10))?;
        jpeg.extend_from_slice(&buffer);
        if !buffer.ends_picture() {
            continue;
        }
        let part = format!("--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n", jpeg.len());
        let ok = client
            .write_all(part.as_bytes())
            .and_then(|()| client.write_all(&jpeg))
            .and_then(|()| client.write_all(b"\r\n"));
        jpeg.clear();
        if ok.is_err() {
            break;
        }
        sent += 1;
    }
    recorder.stop()?;
    Ok(sent)
}

fn io(e: std::io::Error) -> mmal::Error {
    mmal::Error::InvalidParameter(format!("connection: {e}"))
}

fn main() {
    let Options { port, size: (w, h), fps, viewers } = options().unwrap_or_else(|e| {
        eprintln!("mjpeg_server: {e}");
        std::process::exit(2);
    });
    let run = || -> mmal::Result<()> {
        let mut recorder = Recorder::new(&RecorderConfig::mjpeg(w, h).frame_rate(fps))?;
        let listener = TcpListener::bind(("127.0.0.1", port))
            .map_err(|e| mmal::Error::InvalidParameter(format!("cannot listen on port {port}: {e}")))?;
        println!("http://localhost:{port}/: {w}x{h} MJPEG at {fps} fps");
        for (served, client) in listener.incoming().enumerate() {
            let Ok(client) = client else { continue };
            let peer = client.peer_addr().map(|a| a.to_string()).unwrap_or_default();
            let sent = serve(client, &mut recorder)?;
            println!("{peer}: {sent} frames");
            if viewers.is_some_and(|n| served + 1 >= n) {
                break;
            }
        }
        Ok(())
    };
    if let Err(e) = run() {
        eprintln!("mjpeg_server: {e}");
        std::process::exit(1);
    }
}
