//! The one panic guard of the software VideoCore's C entry points: the
//! emulator's table (`abi`), the rest of libmmal's C functions (`c_api`),
//! and the `videocore-c` library's own exports (through `c_api`'s
//! re-export). A leaf: it imports nothing of the crate.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs the body of the C function `name`, answering `fallback` (and a
/// message) if it panics: a panic must not cross into C, where it would
/// abort the caller's process.
pub fn guarded<T>(name: &str, fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        log::error!("{name}: the software VideoCore panicked");
        fallback
    })
}
