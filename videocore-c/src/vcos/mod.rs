//! libvcos: the part of vcos (VideoCore OS abstraction) that programs built
//! against userland link to on Linux, where the rest of vcos is inline in
//! its headers (semaphores, mutexes and sleeps over pthreads):
//!
//! * logging: `vcos_log_register`/`_unregister`, `vcos_log_impl` and
//!   `vcos_vlog_impl` ([`trampolines`]), `vcos_log_get_default_category`,
//!   `vcos_log_level_to_string`, `vcos_string_to_log_level`;
//! * `vcos_pthreads_logging_assert` (the failure of `vcos_assert` and
//!   `vcos_demand`);
//! * `vcos_pthreads_map_error` and `vcos_pthreads_map_errno` (the inline
//!   `vcos_semaphore_create` and `vcos_mutex_create` call the second when
//!   they fail), and `vcos_getmicrosecs64_internal` (the inline
//!   `vcos_getmicrosecs64`);
//! * libmmal's log category `mmal_log_category`, the `VCOS_LOG_CAT_T` that
//!   libmmal's logging macros (`mmal_logging.h`, which raspistill, raspiyuv
//!   and raspivid include) read and pass to `vcos_log_impl`.
//!
//! Behaviour, from userland's `interface/vcos/generic/vcos_logcat.c` and
//! `interface/vcos/pthreads/vcos_pthreads.c`:
//!
//! * A category's level is `VCOS_LOG_UNINITIALIZED` (0), `NEVER`, `ERROR`,
//!   `WARN`, `INFO` or `TRACE`; a message at level `l` is shown when the
//!   category's level is at least `l` (the macros' check, inline in C).
//! * `vcos_log_register(name, cat)` names the category, raises an
//!   uninitialised level to `ERROR`, makes it want the `name: ` prefix
//!   (all but the default category do), links it in (a second
//!   registration counts a reference), then applies `VC_LOGLEVEL`:
//!   `name:level[,name:level...]`, names of letters, digits and `_`, levels
//!   `never`, `error`, `warn`/`warning`, `info`, `trace`, white space
//!   allowed before each token. The first entry for the name wins; a
//!   malformed variable is reported once (on the default category, at
//!   `INFO`) and leaves the level as it was.
//! * Messages go to standard error, prefixed with the category's name and
//!   ": " when it wants a prefix, and end with a newline.
//! * libmmal sets its category to `TRACE` and registers it as `mmal` when
//!   its first component is created (`mmal_logging_init`, from
//!   `mmal_core_init`); `VC_LOGLEVEL=mmal:...` then applies. Here that
//!   happens once, at the first `mmal_component_create` (see
//!   [`mmal_core_init`]); libmmal unregisters it again when its last
//!   component is destroyed and restores the level it had when registering
//!   anew, which leaves the same level, so the category simply stays
//!   registered.
//!
//! Categories are C structs the program owns: the list runs through their
//! `next` fields, as vcos's does, and a category must stay alive while
//! registered. Every function takes a NULL category or name as a no-op
//! (vcos would crash).
#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::io::Write;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use parking_lot::Mutex;

pub mod trampolines;

/// `VCOS_LOG_UNINITIALIZED`: a category never registered nor set.
pub const VCOS_LOG_UNINITIALIZED: u32 = 0;
/// `VCOS_LOG_NEVER`: nothing shown.
pub const VCOS_LOG_NEVER: u32 = 1;
/// `VCOS_LOG_ERROR`: errors shown (a registered category's default).
pub const VCOS_LOG_ERROR: u32 = 2;
/// `VCOS_LOG_WARN`: warnings and errors.
pub const VCOS_LOG_WARN: u32 = 3;
/// `VCOS_LOG_INFO`: information too.
pub const VCOS_LOG_INFO: u32 = 4;
/// `VCOS_LOG_TRACE`: everything.
pub const VCOS_LOG_TRACE: u32 = 5;

/// `VCOS_STATUS_T` values (`interface/vcos/vcos_types.h`).
pub mod status {
    /// `VCOS_SUCCESS`.
    pub const VCOS_SUCCESS: u32 = 0;
    /// `VCOS_EAGAIN`.
    pub const VCOS_EAGAIN: u32 = 1;
    /// `VCOS_ENOSPC`.
    pub const VCOS_ENOSPC: u32 = 3;
    /// `VCOS_EINVAL`.
    pub const VCOS_EINVAL: u32 = 4;
    /// `VCOS_ENOMEM`.
    pub const VCOS_ENOMEM: u32 = 6;
    /// `VCOS_ENXIO`.
    pub const VCOS_ENXIO: u32 = 9;
}

/// Linux's errno values that vcos maps (the same on every architecture:
/// asm-generic/errno-base.h).
mod errno {
    pub(super) const ENXIO: i32 = 6;
    pub(super) const EAGAIN: i32 = 11;
    pub(super) const ENOMEM: i32 = 12;
    pub(super) const ENOSPC: i32 = 28;
}

/// The `VC_LOGLEVEL` variable.
pub const LOG_LEVEL_VAR: &str = "VC_LOGLEVEL";

/// `VCOS_LOG_CAT_T` (`interface/vcos/vcos_logging.h`), laid out as C lays
/// it out: 24 bytes on 32-bit ARM, 40 on 64-bit hosts (pinned by the tests
/// and by `videocore-c/include/videocore_vcos.h`).
#[repr(C)]
pub struct VcosLogCat {
    /// `VCOS_LOG_LEVEL_T level`: which messages are shown.
    pub level: u32,
    /// `const char *name`.
    pub name: *const c_char,
    /// `struct VCOS_LOG_CAT_T *next`: the registered list.
    pub next: *mut VcosLogCat,
    /// `struct { unsigned int want_prefix:1; } flags`: bit 0.
    pub flags: c_uint,
    /// `unsigned int refcount`: registrations not yet undone.
    pub refcount: c_uint,
    /// `void *platform_data`.
    pub platform_data: *mut c_void,
}

/// `flags.want_prefix`: the first bit field, bit 0 on little-endian ARM
/// and x86.
const WANT_PREFIX: c_uint = 1;

impl VcosLogCat {
    /// A category as C's zero initialisation makes it.
    pub const ZERO: VcosLogCat = VcosLogCat {
        level: VCOS_LOG_UNINITIALIZED,
        name: ptr::null(),
        next: ptr::null_mut(),
        flags: 0,
        refcount: 0,
        platform_data: ptr::null_mut(),
    };
}

/// A category defined here, which C reads and writes as its own.
#[repr(transparent)]
pub struct Category(UnsafeCell<VcosLogCat>);

// SAFETY: a C global: C programs read and write its fields as vcos's
// users do (the level without a lock, as vcos's inline
// `vcos_log_set_level` does); this library writes them only under
// `REGISTRY`'s lock, through raw pointers, never through references.
unsafe impl Sync for Category {}

impl Category {
    /// The category's address, for C.
    pub fn as_ptr(&self) -> *mut VcosLogCat {
        self.0.get()
    }
}

/// libmmal's `mmal_log_category`: `VCOS_LOG_CATEGORY` of every file that
/// includes `mmal_logging.h` (raspistill's `vcos_log_error` calls among
/// them). Zero until the first component is created (see
/// [`mmal_core_init`]) or the program registers it itself.
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static mmal_log_category: Category = Category(UnsafeCell::new(VcosLogCat::ZERO));

/// vcos's default category (`vcos_log_get_default_category`), registered
/// as `default` at `ERROR` on first use, without a prefix.
static DEFAULT_CATEGORY: Category = Category(UnsafeCell::new(VcosLogCat::ZERO));

/// The head of the registered list (linked through `next`).
struct Head(*mut VcosLogCat);

// SAFETY: the pointer is only followed under the mutex that holds it.
unsafe impl Send for Head {}

static REGISTRY: Mutex<Head> = Mutex::new(Head(ptr::null_mut()));

/// A malformed `VC_LOGLEVEL` is reported once per process.
static WARNED_FORMAT: AtomicBool = AtomicBool::new(false);

// ---------------------------------------------------------------------------
// Levels and VC_LOGLEVEL

/// `vcos_string_to_log_level`'s names.
pub fn level_from_name(name: &[u8]) -> Option<u32> {
    Some(match name {
        b"error" => VCOS_LOG_ERROR,
        b"never" => VCOS_LOG_NEVER,
        b"warn" | b"warning" => VCOS_LOG_WARN,
        b"info" => VCOS_LOG_INFO,
        b"trace" => VCOS_LOG_TRACE,
        _ => return None,
    })
}

/// `vcos_log_level_to_string`'s names.
pub fn level_name(level: u32) -> &'static CStr {
    match level {
        VCOS_LOG_UNINITIALIZED => c"uninit",
        VCOS_LOG_NEVER => c"never",
        VCOS_LOG_ERROR => c"error",
        VCOS_LOG_WARN => c"warn",
        VCOS_LOG_INFO => c"info",
        VCOS_LOG_TRACE => c"trace",
        _ => c"???",
    }
}

/// What `VC_LOGLEVEL` says about one category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvLevel {
    /// The first entry for the category sets this level.
    Set(u32),
    /// Well formed, but no entry names the category.
    Unmentioned,
    /// Malformed before any entry for the category: the level stays.
    Invalid {
        /// The rest of the variable where reading stopped (vcos reports it).
        at: Vec<u8>,
        /// The level word that was not one, if that was the fault.
        level: Option<Vec<u8>>,
    },
}

/// vcos's token reader: skips white space, then takes letters, digits and
/// `_` (at most `max` of them) up to `sep` or the end, and steps past the
/// separator. `None` if something else (or a longer token) comes first.
fn read_token<'a>(text: &mut &'a [u8], max: usize, sep: u8) -> Option<&'a [u8]> {
    let mut rest = *text;
    while let [c, tail @ ..] = rest {
        if !c.is_ascii_whitespace() && *c != 0x0b {
            break;
        }
        rest = tail;
    }
    let len = rest.iter().take(max).take_while(|&&c| c != sep && (c.is_ascii_alphanumeric() || c == b'_')).count();
    let (token, after) = rest.split_at(len);
    match after {
        [] => {
            *text = after;
            Some(token)
        }
        [c, tail @ ..] if *c == sep => {
            *text = tail;
            Some(token)
        }
        _ => None,
    }
}

/// Reads `VC_LOGLEVEL`'s value `env` for the category `name`, as
/// `vcos_log_register` does: `name:level` entries separated by commas
/// (names up to 63 characters, level words up to 15).
pub fn level_from_env(env: &[u8], name: &[u8]) -> EnvLevel {
    let mut rest = env;
    loop {
        let Some(entry) = read_token(&mut rest, 63, b':') else {
            return EnvLevel::Invalid { at: rest.to_vec(), level: None };
        };
        let Some(word) = read_token(&mut rest, 15, b',') else {
            return EnvLevel::Invalid { at: rest.to_vec(), level: None };
        };
        let Some(level) = level_from_name(word) else {
            return EnvLevel::Invalid { at: rest.to_vec(), level: Some(word.to_vec()) };
        };
        if entry == name {
            return EnvLevel::Set(level);
        }
        if rest.is_empty() {
            return EnvLevel::Unmentioned;
        }
    }
}

// ---------------------------------------------------------------------------
// Output

/// Writes `text` for the category `cat` (prefix, text, newline) to standard
/// error in one write, as `vcos_vlog_default_impl` does.
///
/// # Safety
///
/// `cat` is a live category whose name is NULL or a NUL-terminated string.
unsafe fn write_message(cat: *const VcosLogCat, text: &[u8]) {
    // SAFETY: `cat` is live (the caller's promise); plain fields read by
    // raw pointer.
    let (name, flags) = unsafe { (ptr::addr_of!((*cat).name).read(), ptr::addr_of!((*cat).flags).read()) };
    let mut line = Vec::with_capacity(text.len() + 32);
    if flags & WANT_PREFIX != 0 && !name.is_null() {
        // SAFETY: a NUL-terminated string (the caller's promise; non-null).
        line.extend_from_slice(unsafe { CStr::from_ptr(name) }.to_bytes());
        line.extend_from_slice(b": ");
    }
    line.extend_from_slice(text);
    line.push(b'\n');
    #[cfg(test)]
    if tests::capture(&line) {
        return;
    }
    let _ = std::io::stderr().lock().write_all(&line);
}

/// Logs `text` on the default category at `level`, if it shows that level
/// (never before it is registered: vcos reports on it while registering
/// it, when it is still at `ERROR`).
fn default_log(level: u32, text: &str) {
    let cat = DEFAULT_CATEGORY.as_ptr();
    // SAFETY: the default category is this library's static; its level is
    // read by raw pointer.
    if unsafe { ptr::addr_of!((*cat).level).read() } >= level {
        // SAFETY: live for the process; its name is a static C string.
        unsafe { write_message(cat, text.as_bytes()) };
    }
}

/// The Rust half of `vcos_log_impl`/`vcos_vlog_impl` (called by
/// `varargs.c`, which formatted `text`; NULL for a NULL format): writes the
/// message for `category`. Not part of vcos.
///
/// # Safety
///
/// `category` is NULL or a live category whose name is NULL or a
/// NUL-terminated string; `text` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn videocore_vcos_log_text(category: *const VcosLogCat, _level: c_int, text: *const c_char) {
    if category.is_null() || text.is_null() {
        return;
    }
    // SAFETY: as the caller promises; checked non-null.
    let text = unsafe { CStr::from_ptr(text) };
    // SAFETY: as the caller promises; checked non-null.
    unsafe { write_message(category, text.to_bytes()) };
}

/// The Rust half of `vcos_pthreads_logging_assert` (called by
/// `varargs.c`): writes `assertion failure:FILE:LINE:FUNC():MESSAGE` to
/// standard error and aborts. Not part of vcos.
///
/// # Safety
///
/// `file`, `func` and `text` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn videocore_vcos_assert_text(
    file: *const c_char,
    func: *const c_char,
    line: c_uint,
    text: *const c_char,
) {
    let show = |s: *const c_char| {
        if s.is_null() {
            Vec::new()
        } else {
            // SAFETY: NUL-terminated (the caller's promise; non-null).
            unsafe { CStr::from_ptr(s) }.to_bytes().to_vec()
        }
    };
    let mut message = b"assertion failure:".to_vec();
    message.extend_from_slice(&show(file));
    message.extend_from_slice(format!(":{line}:").as_bytes());
    message.extend_from_slice(&show(func));
    message.extend_from_slice(b"():");
    message.extend_from_slice(&show(text));
    message.push(b'\n');
    let _ = std::io::stderr().lock().write_all(&message);
    std::process::abort();
}

// ---------------------------------------------------------------------------
// Registration

/// The default category, registered on first use.
fn default_category() -> *mut VcosLogCat {
    static REGISTERED: Once = Once::new();
    let cat = DEFAULT_CATEGORY.as_ptr();
    REGISTERED.call_once(|| register(c"default", cat));
    cat
}

/// `vcos_log_register`'s work, for a non-NULL `name` and `cat`.
fn register(name: &'static CStr, cat: *mut VcosLogCat) {
    // SAFETY: `name` is a NUL-terminated string that outlives the process.
    unsafe { register_raw(name.as_ptr(), cat) }
}

/// See [`vcos_log_register`].
///
/// # Safety
///
/// `name` is a NUL-terminated string and `cat` a live category, both alive
/// while registered.
unsafe fn register_raw(name: *const c_char, cat: *mut VcosLogCat) {
    let is_default = cat == DEFAULT_CATEGORY.as_ptr();
    {
        let mut head = REGISTRY.lock();
        // SAFETY: `cat` is live (the caller's promise); its fields are
        // written by raw pointer, under the registry's lock.
        unsafe {
            ptr::addr_of_mut!((*cat).name).write(name);
            let level = ptr::addr_of_mut!((*cat).level);
            if level.read() == VCOS_LOG_UNINITIALIZED {
                level.write(VCOS_LOG_ERROR);
            }
            let flags = ptr::addr_of_mut!((*cat).flags);
            flags.write(if is_default { flags.read() & !WANT_PREFIX } else { flags.read() | WANT_PREFIX });
        }
        let mut at = head.0;
        while !at.is_null() && at != cat {
            // SAFETY: registered categories are live (vcos's contract).
            at = unsafe { ptr::addr_of!((*at).next).read() };
        }
        // SAFETY: `cat` is live; under the lock.
        unsafe {
            let refcount = ptr::addr_of_mut!((*cat).refcount);
            if at.is_null() {
                ptr::addr_of_mut!((*cat).next).write(head.0);
                head.0 = cat;
            }
            refcount.write(refcount.read().wrapping_add(1));
        }
    }
    // SAFETY: NUL-terminated (the caller's promise).
    let name_bytes = unsafe { CStr::from_ptr(name) }.to_bytes();
    if let Some(env) = std::env::var_os(LOG_LEVEL_VAR) {
        match level_from_env(std::os::unix::ffi::OsStrExt::as_bytes(env.as_os_str()), name_bytes) {
            EnvLevel::Set(level) => {
                let _held = REGISTRY.lock();
                // SAFETY: `cat` is live; under the lock.
                unsafe { ptr::addr_of_mut!((*cat).level).write(level) };
            }
            EnvLevel::Unmentioned => {}
            EnvLevel::Invalid { at, level } => {
                if let Some(word) = level {
                    default_log(VCOS_LOG_INFO, &format!("Invalid trace level '{}'", String::from_utf8_lossy(&word)));
                }
                // Once per process, the default category's own
                // registration included (where it cannot show).
                if !WARNED_FORMAT.swap(true, Ordering::Relaxed) {
                    default_log(
                        VCOS_LOG_INFO,
                        &format!("{LOG_LEVEL_VAR} format invalid at {}", String::from_utf8_lossy(&at)),
                    );
                }
                return;
            }
        }
    }
    // SAFETY: `cat` is live.
    let level = unsafe { ptr::addr_of!((*cat).level).read() };
    default_log(
        VCOS_LOG_INFO,
        &format!(
            "Registered log category '{}' with level {}",
            String::from_utf8_lossy(name_bytes),
            level_name(level).to_string_lossy()
        ),
    );
}

/// `vcos_log_register(name, category)`: registers `category` under `name`
/// (see the module docs). Does nothing if either is NULL.
///
/// # Safety
///
/// `name` is NULL or a NUL-terminated string and `category` NULL or a live
/// category, both alive until the category is unregistered.
#[no_mangle]
pub unsafe extern "C" fn vcos_log_register(name: *const c_char, category: *mut VcosLogCat) {
    if name.is_null() || category.is_null() {
        log::error!("vcos_log_register: NULL name or category");
        return;
    }
    // The default category first, as vcos_init registers it first.
    let _ = default_category();
    // SAFETY: as the caller promises; checked non-null.
    unsafe { register_raw(name, category) };
}

/// `vcos_log_unregister(category)`: drops one registration; the last takes
/// the category off the list. Does nothing for NULL or a category not
/// registered.
///
/// # Safety
///
/// `category` is NULL or a live category.
#[no_mangle]
pub unsafe extern "C" fn vcos_log_unregister(category: *mut VcosLogCat) {
    if category.is_null() {
        return;
    }
    let mut head = REGISTRY.lock();
    let mut link: *mut *mut VcosLogCat = &mut head.0;
    // SAFETY: `link` points at the head or at a registered (live)
    // category's `next`; under the lock.
    unsafe {
        while !(*link).is_null() && *link != category {
            link = ptr::addr_of_mut!((**link).next);
        }
        if (*link).is_null() {
            return;
        }
        let refcount = ptr::addr_of_mut!((*category).refcount);
        let left = refcount.read().saturating_sub(1);
        refcount.write(left);
        if left == 0 {
            *link = ptr::addr_of!((*category).next).read();
            ptr::addr_of_mut!((*category).next).write(ptr::null_mut());
        }
    }
}

/// `vcos_log_get_default_category()`: vcos's own category (`default`, at
/// `ERROR` unless `VC_LOGLEVEL=default:...`).
#[no_mangle]
pub extern "C" fn vcos_log_get_default_category() -> *const VcosLogCat {
    default_category()
}

/// `vcos_log_level_to_string(level)`: `uninit`, `never`, `error`, `warn`,
/// `info`, `trace`, or `???`.
#[no_mangle]
pub extern "C" fn vcos_log_level_to_string(level: u32) -> *const c_char {
    level_name(level).as_ptr()
}

/// `vcos_string_to_log_level(text, level)`: `VCOS_SUCCESS` and the level
/// for `never`, `error`, `warn`, `warning`, `info` or `trace`;
/// `VCOS_EINVAL` for anything else or a NULL argument.
///
/// # Safety
///
/// `text` is NULL or a NUL-terminated string; `level` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn vcos_string_to_log_level(text: *const c_char, level: *mut u32) -> u32 {
    if text.is_null() || level.is_null() {
        return status::VCOS_EINVAL;
    }
    // SAFETY: as the caller promises; checked non-null.
    match level_from_name(unsafe { CStr::from_ptr(text) }.to_bytes()) {
        Some(l) => {
            // SAFETY: writable (the caller's promise; checked non-null).
            unsafe { level.write(l) };
            status::VCOS_SUCCESS
        }
        None => status::VCOS_EINVAL,
    }
}

/// libmmal's `mmal_logging_init`, run before the first
/// `mmal_component_create`: `mmal_log_category` at `TRACE`, registered as
/// `mmal` (so `VC_LOGLEVEL=mmal:...` applies). Once per process.
pub fn mmal_core_init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let cat = mmal_log_category.as_ptr();
        {
            let _held = REGISTRY.lock();
            // SAFETY: this library's static; under the lock.
            unsafe { ptr::addr_of_mut!((*cat).level).write(VCOS_LOG_TRACE) };
        }
        let _ = default_category();
        register(c"mmal", cat);
    });
}

// ---------------------------------------------------------------------------
// errno

/// `vcos_pthreads_map_error(error)`: an errno value as a `VCOS_STATUS_T`:
/// `ENOMEM`, `ENXIO`, `EAGAIN` and `ENOSPC` as themselves, anything else
/// `VCOS_EINVAL`.
#[no_mangle]
pub extern "C" fn vcos_pthreads_map_error(error: c_int) -> u32 {
    match error {
        errno::ENOMEM => status::VCOS_ENOMEM,
        errno::ENXIO => status::VCOS_ENXIO,
        errno::EAGAIN => status::VCOS_EAGAIN,
        errno::ENOSPC => status::VCOS_ENOSPC,
        _ => status::VCOS_EINVAL,
    }
}

/// `vcos_pthreads_map_errno()`: the calling thread's `errno`, mapped by
/// [`vcos_pthreads_map_error`].
#[no_mangle]
pub extern "C" fn vcos_pthreads_map_errno() -> u32 {
    vcos_pthreads_map_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
}

// ---------------------------------------------------------------------------
// Time

/// `vcos_getmicrosecs64_internal()`, behind the inline
/// `vcos_getmicrosecs64`/`vcos_getmicrosecs` (raspistill's timelapse
/// before 2018 reads it): the wall clock in microseconds since 1970, as
/// vcos's `gettimeofday` gives it (0 if the clock is before 1970).
#[no_mangle]
pub extern "C" fn vcos_getmicrosecs64_internal() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests;
