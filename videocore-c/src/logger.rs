//! Messages of the software VideoCore on standard error, for programs in
//! C or Python that have no Rust logger: `VIDEOCORE_EMU_LOG=error`, `warn`,
//! `info`, `debug` or `trace` turns them on (off by default). Set up when
//! the library is loaded.

use std::io::Write;

/// The variable that turns messages on.
const LOG_VAR: &str = "VIDEOCORE_EMU_LOG";

struct Stderr;

impl log::Log for Stderr {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let _ = writeln!(std::io::stderr().lock(), "videocore [{}] {}", record.level(), record.args());
        }
    }

    fn flush(&self) {}
}

static LOGGER: Stderr = Stderr;

/// Installs the logger if `VIDEOCORE_EMU_LOG` asks for it (and no other
/// logger is installed in this copy of the `log` crate).
pub(crate) extern "C" fn install() {
    let Ok(value) = std::env::var(LOG_VAR) else { return };
    let level = match value.trim() {
        "error" => log::LevelFilter::Error,
        "warn" => log::LevelFilter::Warn,
        "info" => log::LevelFilter::Info,
        "debug" => log::LevelFilter::Debug,
        "trace" => log::LevelFilter::Trace,
        _ => return,
    };
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}
