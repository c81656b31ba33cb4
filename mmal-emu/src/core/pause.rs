//! Pause points for tests: a test registers a function for a named point
//! and a key (the address of the port concerned), and the core calls it
//! when it gets there, so that a race can be laid out step by step instead
//! of hoped for; and failures a test injects into the worker. Compiled into
//! tests only; elsewhere [`at`] does nothing.

/// Makes the worker panic while filling the next camera frame.
#[cfg(test)]
pub(crate) static PANIC_NEXT_FRAME: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Makes the worker panic while preparing the next picture.
#[cfg(test)]
pub(crate) static PANIC_NEXT_PREPARE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[cfg(test)]
type Hook = std::sync::Arc<dyn Fn() + Send + Sync>;

#[cfg(test)]
static HOOKS: parking_lot::Mutex<Vec<(&'static str, usize, Hook)>> = parking_lot::Mutex::new(Vec::new());

/// Calls `f` each time the core reaches `point` for `key`, until [`clear`]
/// (tests run in parallel: the key keeps them apart).
#[cfg(test)]
pub(crate) fn set(point: &'static str, key: usize, f: impl Fn() + Send + Sync + 'static) {
    HOOKS.lock().push((point, key, std::sync::Arc::new(f)));
}

/// Removes every function registered for `key`.
#[cfg(test)]
pub(crate) fn clear(key: usize) {
    HOOKS.lock().retain(|(_, k, _)| *k != key);
}

/// Reaching pause point `point` for `key`: calls what a test registered
/// for it (outside the registry's lock).
#[cfg(test)]
pub(crate) fn at(point: &'static str, key: usize) {
    let hooks: Vec<Hook> =
        HOOKS.lock().iter().filter(|(p, k, _)| *p == point && *k == key).map(|(_, _, f)| f.clone()).collect();
    for f in hooks {
        f();
    }
}

/// Reaching pause point `point` for `key`: nothing outside tests.
#[cfg(not(test))]
#[inline(always)]
pub(crate) fn at(_point: &'static str, _key: usize) {}
