//! What the examples share: their error type (its message says what to
//! do), option parsing on top of [`lexopt`], the check of the software
//! VideoCore's environment variables, and where default outputs go.
//!
//! The examples themselves are in `examples/`; see `examples/README.md`.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

pub use lexopt;

/// An example's error: a message that says what went wrong and what to
/// do. `main` returns it, and both its `Display` and `Debug` forms are the
/// message, so that a failing example prints `Error: <message>` and exits
/// with status 1, with no panic or backtrace.
pub struct Error(String);

/// An example's result.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Error {
        Error(message.into())
    }

    /// A bad command line: `message`, then where to read the usage.
    pub fn usage(message: impl fmt::Display) -> Error {
        Error(format!("{message} (see --help)"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<mmal::Error> for Error {
    fn from(e: mmal::Error) -> Error {
        Error(e.to_string())
    }
}

impl From<vcsm::Error> for Error {
    fn from(e: vcsm::Error) -> Error {
        Error(e.to_string())
    }
}

impl From<lexopt::Error> for Error {
    fn from(e: lexopt::Error) -> Error {
        Error::usage(e)
    }
}

/// Prints `text` (an example's `--help`) and exits with success.
pub fn print_help(text: &str) -> ! {
    write_out(format_args!("{text}"));
    std::process::exit(0)
}

/// Writes to standard output, as `print!` does, except that a reader that
/// went away (`camera_info | head -1`) ends the program quietly with
/// success, as command-line tools end, instead of a panic; any other
/// failure to write ends it with the error.
pub fn write_out(args: fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing to standard output: {e}");
        std::process::exit(1);
    }
}

/// `println!` through [`write_out`]: a closed pipe ends the program
/// quietly.
///
/// ```
/// examples::outln!("{} frames", 3);
/// ```
#[macro_export]
macro_rules! outln {
    () => {
        $crate::write_out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// The text of an option's value.
fn text(option: &str, value: OsString) -> Result<String> {
    value.into_string().map_err(|v| Error::usage(format!("{option} {v:?}: not valid UTF-8")))
}

/// An option's value as a number in `range`; `what` says what it is
/// ("frames per second").
pub fn number<T>(option: &str, value: OsString, range: std::ops::RangeInclusive<T>, what: &str) -> Result<T>
where
    T: FromStr + PartialOrd + fmt::Display,
{
    let value = text(option, value)?;
    let bad = || {
        Error::usage(format!("{option} {value}: give {what}, a whole number from {} to {}", range.start(), range.end()))
    };
    let n: T = value.trim().parse().map_err(|_| bad())?;
    if !range.contains(&n) {
        return Err(bad());
    }
    Ok(n)
}

/// An option's value as a duration in seconds (a decimal number above 0
/// and at most `max` seconds).
pub fn seconds(option: &str, value: OsString, max: f64) -> Result<Duration> {
    let value = text(option, value)?;
    let bad = || Error::usage(format!("{option} {value}: give seconds, a number above 0 and at most {max}"));
    let s: f64 = value.trim().parse().map_err(|_| bad())?;
    if !(s.is_finite() && s > 0.0 && s <= max) {
        return Err(bad());
    }
    Duration::try_from_secs_f64(s).map_err(|_| bad())
}

/// The smallest side of a picture the examples take.
pub const MIN_SIDE: u32 = 16;
/// The largest side of a picture the examples take (the resizer's limit).
pub const MAX_SIDE: u32 = 4096;

/// An option's value as `WxH`: even sides from [`MIN_SIDE`] to
/// [`MAX_SIDE`] (the camera then checks them against its sensor).
pub fn size(option: &str, value: OsString) -> Result<(u32, u32)> {
    let value = text(option, value)?;
    let bad = |why: &str| Error::usage(format!("{option} {value}: {why}"));
    let (w, h) = value.split_once(['x', 'X']).ok_or_else(|| bad("give WIDTHxHEIGHT, as 1280x720"))?;
    let (w, h) = match (w.trim().parse::<u32>(), h.trim().parse::<u32>()) {
        (Ok(w), Ok(h)) => (w, h),
        _ => return Err(bad("give WIDTHxHEIGHT in whole pixels, as 1280x720")),
    };
    let side = MIN_SIDE..=MAX_SIDE;
    if !side.contains(&w) || !side.contains(&h) || w % 2 != 0 || h % 2 != 0 {
        return Err(bad(&format!(
            "give an even width and height from {MIN_SIDE} to {MAX_SIDE} (and within the sensor's full resolution)"
        )));
    }
    Ok((w, h))
}

/// An option's value as a file path.
pub fn path(value: OsString) -> PathBuf {
    PathBuf::from(value)
}

/// Checks the software VideoCore's environment variables
/// (`VIDEOCORE_EMU_SENSOR`, `VIDEOCORE_EMU_SCENE`, `VIDEOCORE_EMU_CAMERA`)
/// when it is the provider: a value it does not know is an error that
/// lists the valid ones, as `VIDEOCORE=bogus` is, rather than the default
/// the emulator falls back to.
///
/// # Errors
///
/// The provider's error (`VIDEOCORE` itself wrong, libmmal missing), or
/// the first variable with a value the emulator does not take.
pub fn check_environment() -> Result<()> {
    if !mmal::is_software_videocore()? {
        return Ok(());
    }
    use mmal::emulator::{Scene, Sensor, CAMERA_VAR, SCENE_VAR, SENSOR_VAR};
    if let Some(value) = std::env::var_os(SENSOR_VAR) {
        let value = value.to_string_lossy();
        if Sensor::from_name(&value).is_none() {
            return Err(Error::new(format!(
                "{SENSOR_VAR}={value:?}: give imx219 (the default), ov5647 or imx477, or unset it"
            )));
        }
    }
    if let Some(value) = std::env::var_os(SCENE_VAR) {
        let value = value.to_string_lossy();
        if let Err(e) = Scene::from_env_value(&value) {
            return Err(Error::new(format!(
                "{SCENE_VAR}={value:?}: {e}; give chart (the default), flat, or the path of a PPM or PGM image"
            )));
        }
    }
    if let Some(value) = std::env::var_os(CAMERA_VAR) {
        let value = value.to_string_lossy();
        if !matches!(value.as_ref(), "" | "ok" | "disabled" | "missing") {
            return Err(Error::new(format!(
                "{CAMERA_VAR}={value:?}: give ok (the default), disabled or missing, or unset it"
            )));
        }
    }
    Ok(())
}

/// The folder default outputs go to, made if need be: `videocore-examples`
/// in the system's temporary folder, so that nothing lands in the
/// checkout.
///
/// # Errors
///
/// If the folder cannot be made.
pub fn output_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join("videocore-examples");
    std::fs::create_dir_all(&dir).map_err(|e| Error::new(format!("cannot make {}: {e}", dir.display())))?;
    Ok(dir)
}

/// `n` and `word`, in the plural unless `n` is 1 (`1 keyframe`,
/// `3 keyframes`).
pub fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// User plus system CPU time of this process so far, in seconds, from
/// `/proc/self/stat` (clock ticks of 1/100 s, as Linux reports them to user
/// space); 0 where it cannot be read. It includes threads that have ended.
pub fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here.
    (ticks(11) + ticks(12)) as f64 / 100.0
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_out_of_range_and_malformed_are_refused_with_the_range() {
        assert_eq!(size("--size", "640x480".into()).unwrap(), (640, 480));
        let e = size("--size", "2x2".into()).unwrap_err().to_string();
        assert!(e.contains("from 16 to 4096"), "{e}");
        assert!(size("--size", "640".into()).unwrap_err().to_string().contains("WIDTHxHEIGHT"));
        assert!(size("--size", "641x480".into()).is_err());
    }

    #[test]
    fn huge_or_bad_seconds_are_refused_not_a_panic() {
        assert!(seconds("--split", "1e300".into(), 86_400.0).unwrap_err().to_string().contains("at most 86400"));
        assert!(seconds("--split", "inf".into(), 86_400.0).is_err());
        assert!(seconds("--split", "-1".into(), 86_400.0).is_err());
        assert!(seconds("--split", "0".into(), 86_400.0).is_err());
        assert_eq!(seconds("--split", "1.5".into(), 86_400.0).unwrap(), Duration::from_millis(1500));
    }

    #[test]
    fn numbers_out_of_range_say_the_range() {
        let e = number::<u32>("--fps", "1000".into(), 1..=120, "frames per second").unwrap_err().to_string();
        assert!(e.contains("from 1 to 120"), "{e}");
        assert!(number::<u32>("--fps", "abc".into(), 1..=120, "frames per second").is_err());
        assert_eq!(number::<u32>("--fps", "25".into(), 1..=120, "frames per second").unwrap(), 25);
    }

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "keyframe"), "1 keyframe");
        assert_eq!(plural(0, "keyframe"), "0 keyframes");
        assert_eq!(plural(2, "file"), "2 files");
    }
}
