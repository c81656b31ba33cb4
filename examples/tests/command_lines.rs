//! The examples as command-line tools: each answers `--help`, refuses bad
//! input with a message that says what to do (exit status 1, no panic),
//! and the fixes for what a new user met stay fixed. Runs the examples'
//! binaries, which `cargo test -p examples` builds beside this test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const EXAMPLES: [&str; 11] = [
    "calibrate_raw",
    "camera_frames",
    "camera_info",
    "camera_rate",
    "capture_still",
    "mjpeg_server",
    "record_h264",
    "upload_lens_table",
    "vcsm_basic",
    "vcsm_stats",
    "video_rate",
];

/// The example's binary: `target/<profile>/examples/NAME`, beside this
/// test's `deps` folder.
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
    let path = dir.join("examples").join(name);
    assert!(path.exists(), "{} is missing: build the examples (`cargo build -p examples --examples`)", path.display());
    path
}

/// A command running example `name`: directly, or on armv7 through
/// qemu-arm where the binary cannot be started directly (CI's armv7 run).
fn command(name: &str) -> Command {
    let path = binary(name);
    // Every example answers `--help` with success. Under qemu-user with no
    // binfmt handler the exec fails in the child, which may still be
    // reported as a started process: its failure, not the spawn's, tells.
    let cannot_start = || {
        !Command::new(&path)
            .arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut command = if cfg!(target_arch = "arm") && cannot_start() {
        let mut runner = Command::new("qemu-arm");
        runner.args(["-L", "/usr/arm-linux-gnueabihf"]).arg(&path);
        runner
    } else {
        Command::new(&path)
    };
    // The software VideoCore, its variables as the test sets them.
    command.env("VIDEOCORE", "emulated");
    for var in ["VIDEOCORE_EMU_SENSOR", "VIDEOCORE_EMU_SCENE", "VIDEOCORE_EMU_CAMERA"] {
        command.env_remove(var);
    }
    // A camera lock of its own: examples run by tests at once (and any
    // other program's camera) do not contend for the emulated sensor.
    static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    command.env("VIDEOCORE_EMU_CAMERA_LOCK", format!("examples-test-{}-{run}", std::process::id()));
    command.stdin(Stdio::null());
    command
}

fn run(name: &str, args: &[&str]) -> Output {
    command(name).args(args).output().expect("the example runs")
}

/// A folder of its own for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("examples-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Asserts that `out` is a refusal: status 1, `expected` in the message,
/// no panic.
fn assert_refused(what: &str, out: &Output, expected: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
    assert!(stderr.starts_with("Error: "), "{what}: {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{what}: {stderr}");
    for e in expected {
        assert!(stderr.contains(e), "{what}: {e:?} not in {stderr}");
    }
}

#[test]
fn every_example_answers_help_with_usage_and_options() {
    for name in EXAMPLES {
        let out = run(name, &["--help"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name} --help: {}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.starts_with(&format!("{name}: ")), "{name} --help: {stdout}");
        assert!(stdout.contains(&format!("usage: {name}")) && stdout.contains("-h, --help"), "{stdout}");
    }
}

#[test]
fn every_example_refuses_an_unknown_option() {
    for name in EXAMPLES {
        let out = run(name, &["--no-such-option"]);
        assert_refused(name, &out, &["invalid option '--no-such-option'", "(see --help)"]);
    }
}

#[test]
fn upload_lens_table_help_neither_calibrates_nor_makes_a_folder() {
    let dir = scratch("lens-help");
    let out = command("upload_lens_table").arg("--help").current_dir(&dir).output().unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("raw:"), "it calibrated");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "it wrote into the working folder");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn record_h264_bounds_its_numbers_and_sizes() {
    assert_refused("--split 1e300", &run("record_h264", &["--split", "1e300"]), &["at most 3600"]);
    assert_refused("--seconds 1e300", &run("record_h264", &["--seconds", "1e300"]), &["at most 3600"]);
    assert_refused("--fps 1000", &run("record_h264", &["--fps", "1000"]), &["from 1 to 200"]);
    assert_refused("--size 2x2", &run("record_h264", &["--size", "2x2"]), &["from 16 to 4096"]);
    assert_refused("--size 2560x1440", &run("record_h264", &["--size", "2560x1440"]), &["widths up to 1920"]);
}

#[test]
fn camera_frames_refuses_bad_seconds() {
    assert_refused("abc", &run("camera_frames", &["abc"]), &["SECONDS abc", "from 1 to 3600"]);
    assert_refused("-5", &run("camera_frames", &["-5"]), &["not a negative one"]);
    assert_refused("1 2", &run("camera_frames", &["1", "2"]), &["one SECONDS argument only"]);
}

#[test]
fn capture_still_takes_one_output_and_writes_none_of_two() {
    let dir = scratch("two-outputs");
    let out = command("capture_still").args(["a.jpg", "b.jpg"]).current_dir(&dir).output().unwrap();
    assert_refused("a.jpg b.jpg", &out, &["one output file only"]);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn invalid_emulator_variables_are_errors_listing_the_valid_values() {
    let cases = [
        ("VIDEOCORE_EMU_SENSOR", "imx999", &["imx219", "ov5647", "imx477"][..]),
        ("VIDEOCORE_EMU_SCENE", "/no/such/scene.ppm", &["chart", "flat", "PPM"][..]),
        ("VIDEOCORE_EMU_CAMERA", "broken", &["ok", "disabled", "missing"][..]),
    ];
    for (var, value, valid) in cases {
        for name in ["camera_info", "capture_still", "record_h264", "camera_frames"] {
            let out = command(name).env(var, value).output().unwrap();
            assert_refused(&format!("{name} with {var}={value}"), &out, valid);
        }
    }
}

#[test]
fn camera_info_names_the_provider_once() {
    let out = run("camera_info", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(stdout.starts_with("MMAL provider: the software VideoCore\n"), "{stdout}");
}

#[test]
fn record_h264_counts_in_the_singular_and_the_default_goes_to_the_temporary_folder() {
    let (cwd, tmp) = (scratch("record-cwd"), scratch("record-tmp"));
    let out = command("record_h264")
        .args(["--seconds", "0.3", "--size", "320x240", "--fps", "10"])
        .current_dir(&cwd)
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("(1 keyframe)"), "{stdout}");
    let video = tmp.join("videocore-examples").join("video.h264");
    assert!(stdout.contains(&video.display().to_string()), "{stdout}");
    assert!(std::fs::metadata(&video).unwrap().len() > 100);
    assert_eq!(std::fs::read_dir(&cwd).unwrap().count(), 0, "it wrote into the working folder");
    std::fs::remove_dir_all(&cwd).unwrap();
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// Connects to the server and reads until `parts` JPEGs have come.
fn watch(port: u16) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    stream
}

fn jpegs_seen(stream: &mut TcpStream, wanted: usize) -> usize {
    let (mut seen, mut data, mut buf) = (0, Vec::new(), [0u8; 65536]);
    while seen < wanted {
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            // A receive with a timeout is interrupted (not restarted) when
            // the process is stopped and continued: read again.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => panic!("reading the stream: {e}"),
        };
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
        seen = data.windows(24).filter(|w| w == b"Content-Type: image/jpeg").count();
    }
    seen
}

/// A server process, killed if the test fails before it stops.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn mjpeg_server_serves_two_viewers_at_once_on_the_port_it_prints() {
    let mut server = Server(
        command("mjpeg_server")
            .args(["--port", "0", "--viewers", "2", "--size", "320x240", "--fps", "10"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(server.0.stdout.take().unwrap());
    let mut first = String::new();
    lines.read_line(&mut first).unwrap();
    let port: u16 = first
        .strip_prefix("http://localhost:")
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {first:?}"));
    assert_ne!(port, 0);
    // Both connected before either reads: one viewer at a time would
    // leave the second without a frame.
    let (mut a, mut b) = (watch(port), watch(port));
    assert_eq!(jpegs_seen(&mut b, 3), 3);
    assert_eq!(jpegs_seen(&mut a, 3), 3);
    drop((a, b));
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            panic!("the server did not stop after its two viewers");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
}

#[test]
fn a_reader_that_goes_away_ends_the_listing_quietly() {
    // `camera_info --modes | head -1`: the pipe closes after the first
    // line, and every later write fails with EPIPE.
    for (name, args) in [("camera_info", &["--modes"][..]), ("vcsm_stats", &[][..]), ("camera_info", &["--help"][..])] {
        let mut child = command(name).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        drop(child.stdout.take());
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        let status = child.wait().unwrap();
        assert!(status.success(), "{name} {args:?}: {status}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name} {args:?}: {stderr}");
    }
}
