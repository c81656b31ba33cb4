//! The exported functions. Each libmmal entry forwards to the software
//! VideoCore's table, which checks its arguments as libmmal does and never
//! lets a panic cross into C. The `videocore_emu_*` hooks and the init
//! functions run under the emulator's [`guarded`], which turns a panic into
//! an error value (a panic that reached C would abort the caller's process).
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, CStr};
use std::sync::atomic::{AtomicU32, Ordering};

use mmal_emu::c_api::guarded;
use mmal_emu::TestEvent;
use mmal_sys as sys;

/// Run by the dynamic loader when the library is loaded (an ELF
/// constructor), before any of its functions: sets up the messages
/// `VIDEOCORE_EMU_LOG` asks for, and opens the library's own emulated
/// memory, so that nothing in it ever takes another library's memory
/// (or its own, through its table) for it.
#[used]
#[link_section = ".init_array"]
static AT_LOAD: extern "C" fn() = at_load;

extern "C" fn at_load() {
    guarded("the software VideoCore's constructor", (), || {
        crate::logger::install();
        if let Err(e) = crate::provider::memory() {
            log::error!("the VCSM memory: {e}");
        }
    });
}

/// Exports each entry of [`sys::for_each_api!`], `symbol(args) -> ret`,
/// forwarding to the table entry `field`.
macro_rules! forward {
    ($($(#[$doc:meta])* $name:ident => $field:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;)*) => {$(
        #[doc = concat!("`", stringify!($name), "`, as in libmmal.")]
        ///
        /// # Safety
        ///
        /// libmmal's contract for this function: pointers come from this
        /// library and are live.
        #[no_mangle]
        pub unsafe extern "C" fn $name($($arg: $ty),*) $(-> $ret)? {
            if const { same_name(stringify!($name), "mmal_component_create") } {
                // libmmal's core sets up its log category before creating
                // its first component.
                crate::vcos::mmal_core_init();
                // The VideoCore's connection, if it is chosen and not yet
                // open, as libmmal's create opens it.
                crate::provider::init();
            }
            // SAFETY: the caller keeps libmmal's contract, which is the
            // table entry's.
            unsafe { (crate::provider::api().$field)($($arg),*) }
        }
    )*};
}

/// Whether two names are the same (in a constant context, so that each
/// forwarder keeps only its own branch).
const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

sys::for_each_api!(forward);

/// Calls of `bcm_host_init` and `mmal_vc_init`, for tests of loaders.
static INIT_CALLS: [AtomicU32; 2] = [AtomicU32::new(0), AtomicU32::new(0)];

/// Environment variable that makes `mmal_vc_init` fail as it does where
/// the VideoCore's VCHIQ device is missing: `VIDEOCORE_EMU_VCHIQ=missing`.
const VCHIQ_VAR: &str = "VIDEOCORE_EMU_VCHIQ";

// Init after a failed init. Userland's `mmal_vc_init` counts its
// successful calls (each paired with an `mmal_vc_deinit`) and marks itself
// initialised only once VCHIQ is open and the service connected; a failure
// tears down what it had set up, so the next call starts over. Its
// `bcm_host_init` runs once per process (a static flag) and exits the
// process if VCHIQ cannot be opened. The software VideoCore has nothing to
// open: neither function holds any state but the call counters, so a
// failed `mmal_vc_init` leaves nothing half done, and calling it again
// simply tries again (succeeding once `VIDEOCORE_EMU_VCHIQ` no longer says
// `missing`), as userland's does; `bcm_host_init` cannot fail, and running
// it again is harmless, as userland's second call is.

/// `mmal_vc_init` (libmmal_vc_client): the software VideoCore needs no VCHIQ
/// connection, so this succeeds, unless `VIDEOCORE_EMU_VCHIQ=missing`, when
/// it fails with `MMAL_EIO` as on a machine without `/dev/vchiq`; it can be
/// called again after a failure (see above). With the VideoCore over VCHIQ
/// (`VIDEOCORE=vchiq`, or `auto` where `/dev/vchiq` opens) it opens
/// `/dev/vchiq` and the VideoCore's MMAL service (once), and fails with
/// `MMAL_EIO` if it cannot.
#[no_mangle]
pub extern "C" fn mmal_vc_init() -> sys::MMAL_STATUS_T {
    guarded("mmal_vc_init", sys::MMAL_EIO, || {
        INIT_CALLS[1].fetch_add(1, Ordering::SeqCst);
        if std::env::var(VCHIQ_VAR).is_ok_and(|v| v == "missing") {
            log::error!("mmal_vc_init: no VCHIQ ({VCHIQ_VAR}=missing)");
            return sys::MMAL_EIO;
        }
        crate::provider::init()
    })
}

/// `mmal_vc_deinit`: nothing to undo.
#[no_mangle]
pub extern "C" fn mmal_vc_deinit() {}

/// `bcm_host_init`: there is no VCHIQ service or display to start.
#[no_mangle]
pub extern "C" fn bcm_host_init() {
    INIT_CALLS[0].fetch_add(1, Ordering::SeqCst);
}

/// How often `bcm_host_init` (`out[0]`) and `mmal_vc_init` (`out[1]`) were
/// called. Does nothing if `out` is NULL.
///
/// # Safety
///
/// `out` is NULL or points at two writable `u32`s.
#[no_mangle]
pub unsafe extern "C" fn videocore_emu_init_calls(out: *mut u32) {
    if out.is_null() {
        return;
    }
    let values = [0, 1].map(|i| INIT_CALLS[i].load(Ordering::SeqCst));
    // SAFETY: the caller passes room for two u32s (checked non-null); no
    // Rust code that could panic runs here.
    unsafe { std::ptr::copy_nonoverlapping(values.as_ptr(), out, values.len()) };
}

/// Makes the next `mmal_port_disable` of an enabled port fail with
/// `MMAL_EIO` (see `mmal_emu::fail_next_port_disable`).
#[no_mangle]
pub extern "C" fn videocore_emu_fail_next_port_disable() {
    guarded("videocore_emu_fail_next_port_disable", (), mmal_emu::fail_next_port_disable);
}

/// `bcm_host_deinit`.
#[no_mangle]
pub extern "C" fn bcm_host_deinit() {}

/// The marker the `mmal` loader looks for
/// ([`mmal_sys::SOFTWARE_VIDEOCORE_SYMBOL`]): a NUL-terminated description.
#[no_mangle]
pub extern "C" fn videocore_emu_identify() -> *const c_char {
    const ID: &CStr = c"videocore-rs software VideoCore";
    ID.as_ptr()
}

// The controls (sensor, scene, faults, pacing, live objects, VCSM memory,
// the display) as `videocore_emu_*`.
mmal_emu::export_controls! {
    usage: videocore_emu_usage,
    set_sensor: videocore_emu_set_sensor,
    set_scene: videocore_emu_set_scene,
    set_camera_fault: videocore_emu_set_camera_fault,
    set_pacing: videocore_emu_set_pacing,
    vcsm_usage: videocore_emu_vcsm_usage = || crate::provider::memory().ok().map(|m| m.stats()),
    display_read: videocore_emu_display_read,
    display_dump: videocore_emu_display_dump,
    set_display_size: videocore_emu_set_display_size,
}

/// Posts an event on the control port of the component with `id`: `kind` 0
/// is an error with status `a`, 1 the end of stream of port type `a` index
/// `b`, 2 a format change of output `a`. Returns 1 if posted, 0 if there is
/// no such component or kind.
#[no_mangle]
pub extern "C" fn videocore_emu_post_event(id: u32, kind: u32, a: u32, b: u32) -> c_int {
    guarded("videocore_emu_post_event", 0, || {
        let event = match kind {
            0 => TestEvent::Error(a),
            1 => TestEvent::EndOfStream { port_type: a, port_index: b },
            2 => TestEvent::FormatChanged { output: a },
            _ => return 0,
        };
        c_int::from(mmal_emu::post_event(id, event))
    })
}

/// Has the component with `id` set the format of its output `output` to
/// `encoding` at `width`x`height` itself, with a FORMAT_CHANGED event on
/// that output port (see `mmal_emu::TestEvent::OutputFormatChanged`).
/// Returns 1 if done, 0 if there is no such component or port, or the
/// format is refused.
#[no_mangle]
pub extern "C" fn videocore_emu_change_output_format(
    id: u32,
    output: u32,
    encoding: u32,
    width: u32,
    height: u32,
) -> c_int {
    guarded("videocore_emu_change_output_format", 0, || {
        c_int::from(mmal_emu::post_event(id, TestEvent::OutputFormatChanged { output, encoding, width, height }))
    })
}
