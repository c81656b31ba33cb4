//! The software VideoCore's controls for programs and test suites in C or
//! Python (through `ctypes`): its sensor, scene, camera faults and pacing,
//! its live objects and VCSM memory, and the display `vc.ril.video_render`
//! shows on. These are the bodies of the functions a library built on the
//! emulator exports with [`export_controls!`](crate::export_controls),
//! each under the names it chooses: the `videocore-c` libraries as
//! `videocore_emu_*`, the preload library (whose VideoCore, behind its
//! `/dev/vchiq`, is another instance in the same process) as
//! `vchiq_preload_emu_*`.
//!
//! ```c
//! void videocore_emu_usage(uint64_t out[4]);
//! int videocore_emu_set_sensor(const char *name);
//! int videocore_emu_set_scene(const char *value);
//! void videocore_emu_set_camera_fault(int fault);
//! void videocore_emu_set_pacing(int unlimited);
//! void videocore_emu_vcsm_usage(uint64_t out[2]);
//! int videocore_emu_display_read(uint8_t *rgb, size_t size, uint32_t *width, uint32_t *height);
//! int videocore_emu_display_dump(const char *path);
//! int videocore_emu_set_display_size(uint32_t width, uint32_t height);
//! ```
//!
//! No panic crosses into C: each body runs under [`guarded`], and answers
//! as it says on a failure.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, CStr};
use std::os::unix::ffi::OsStrExt;

use crate::guard::guarded;
use crate::{CameraFault, Pacing, Scene, Sensor};

/// Counts the live objects into `out`: components, worker threads, pools,
/// connections. Does nothing if `out` is NULL.
///
/// # Safety
///
/// `out` is NULL or points at four writable `u64`s.
pub unsafe fn usage(out: *mut u64) {
    if out.is_null() {
        return;
    }
    let Some(u) = guarded("controls::usage", None, || Some(crate::usage())) else { return };
    let values = [u.components, u.threads, u.pools, u.connections].map(|v| v as u64);
    // SAFETY: the caller passes room for four u64s (checked non-null).
    unsafe { std::ptr::copy_nonoverlapping(values.as_ptr(), out, values.len()) };
}

/// Sets a named control from C: `text` NULL sets `None` (back to the
/// environment's value); otherwise what `parse` makes of it, or -1 with
/// nothing changed if it makes nothing. Returns 0 once set.
///
/// # Safety
///
/// `text` is NULL or a NUL-terminated string.
unsafe fn set_named<T>(
    control: &str,
    text: *const c_char,
    parse: impl FnOnce(&str) -> Option<T>,
    set: impl FnOnce(Option<T>),
) -> c_int {
    guarded(control, -1, || {
        if text.is_null() {
            set(None);
            return 0;
        }
        // SAFETY: a NUL-terminated string, as the caller promises.
        let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
        match parse(&text) {
            Some(value) => {
                set(Some(value));
                0
            }
            None => -1,
        }
    })
}

/// Chooses the sensor cameras created from now on emulate (`imx219`,
/// `ov5647`, `imx477`); NULL goes back to `VIDEOCORE_EMU_SENSOR`. Returns 0,
/// or -1 for an unknown name (nothing changes).
///
/// # Safety
///
/// `name` is NULL or a NUL-terminated string.
pub unsafe fn set_sensor(name: *const c_char) -> c_int {
    // SAFETY: as the caller promises.
    unsafe { set_named("controls::set_sensor", name, Sensor::from_name, crate::set_sensor) }
}

/// Sets the scene as `VIDEOCORE_EMU_SCENE` would (`chart`, `flat`, or an
/// image path); NULL goes back to the variable. Returns 0, or -1 if the
/// scene cannot be read (nothing changes).
///
/// # Safety
///
/// `value` is NULL or a NUL-terminated string.
pub unsafe fn set_scene(value: *const c_char) -> c_int {
    // SAFETY: as the caller promises.
    unsafe { set_named("controls::set_scene", value, |v| Scene::from_env_value(v).ok(), crate::set_scene) }
}

/// Injects a camera fault: 0 none, 1 disabled, 2 missing; any other value
/// goes back to `VIDEOCORE_EMU_CAMERA`.
pub fn set_camera_fault(fault: c_int) {
    guarded("controls::set_camera_fault", (), || {
        crate::set_camera_fault(match fault {
            0 => Some(None),
            1 => Some(Some(CameraFault::Disabled)),
            2 => Some(Some(CameraFault::Missing)),
            _ => None,
        })
    });
}

/// Camera pacing: 0 at the frame rate, anything else as fast as buffers
/// come back.
pub fn set_pacing(unlimited: c_int) {
    guarded("controls::set_pacing", (), || {
        crate::set_pacing(if unlimited == 0 { Pacing::FrameRate } else { Pacing::Unlimited })
    });
}

/// The emulated VCSM memory in use, as `stats` reads it from the library's
/// memory: `out[0]` blocks, `out[1]` bytes (0 and 0 where `stats` has
/// none). Does nothing if `out` is NULL.
///
/// # Safety
///
/// `out` is NULL or points at two writable `u64`s.
pub unsafe fn vcsm_usage(out: *mut u64, stats: impl FnOnce() -> Option<vcsm::Stats>) {
    if out.is_null() {
        return;
    }
    let (blocks, bytes) =
        guarded("controls::vcsm_usage", (0, 0), || stats().map_or((0, 0), |s| (s.live_allocations, s.live_bytes)));
    // SAFETY: the caller passes room for two values (checked non-null).
    unsafe {
        out.write(blocks);
        out.add(1).write(bytes);
    }
}

/// Composites the display now and copies it into `rgb` as packed RGB24
/// rows (`width * height * 3` bytes), writing its size into `width` and
/// `height` (each may be NULL). Returns 0; or, changing nothing in `rgb`,
/// -1 if `size` is less than the picture (the size is still written, so a
/// caller may ask with a NULL `rgb` and a `size` of 0 first).
///
/// # Safety
///
/// `rgb` is NULL or points at `size` writable bytes; `width` and `height`
/// are NULL or point at a writable `uint32_t` each.
pub unsafe fn display_read(rgb: *mut u8, size: usize, width: *mut u32, height: *mut u32) -> c_int {
    let read = guarded("controls::display_read", None, || {
        if rgb.is_null() {
            let (w, h) = crate::display::size();
            return Some((w, h, None));
        }
        let (w, h, pixels) = crate::display::snapshot();
        Some((w, h, Some(pixels)))
    });
    let Some((w, h, pixels)) = read else { return -1 };
    // SAFETY: each is NULL (skipped) or writable, as the caller promises.
    unsafe {
        if !width.is_null() {
            width.write(w);
        }
        if !height.is_null() {
            height.write(h);
        }
    }
    let Some(pixels) = pixels else { return -1 };
    if size < pixels.len() {
        return -1;
    }
    // SAFETY: `rgb` has room for `size` bytes (checked non-null above, and
    // `size` covers the picture).
    unsafe { std::ptr::copy_nonoverlapping(pixels.as_ptr(), rgb, pixels.len()) };
    0
}

/// Writes the display, composited now, to the file `path` as a PNG.
/// Returns 0, or -1 (logged) if `path` is NULL or cannot be written.
///
/// # Safety
///
/// `path` is NULL or a NUL-terminated string.
pub unsafe fn display_dump(path: *const c_char) -> c_int {
    if path.is_null() {
        log::error!("controls::display_dump: no path");
        return -1;
    }
    // SAFETY: a NUL-terminated string, as the caller promises.
    let path = unsafe { CStr::from_ptr(path) };
    guarded("controls::display_dump", -1, || {
        // Unix paths are bytes.
        let path = std::path::Path::new(std::ffi::OsStr::from_bytes(path.to_bytes()));
        match crate::display::dump_png(path) {
            Ok(()) => 0,
            Err(e) => {
                log::error!("controls::display_dump: {}: {e}", path.display());
                -1
            }
        }
    })
}

/// Sets the display's size, overriding `VIDEOCORE_EMU_DISPLAY`; 0 by 0
/// goes back to the variable. Returns 0, or -1 (nothing changes) for a
/// side of 0 (with the other not) or past the largest the display takes.
pub fn set_display_size(width: u32, height: u32) -> c_int {
    guarded("controls::set_display_size", -1, || {
        let size = (width != 0 || height != 0).then_some((width, height));
        if crate::display::set_size(size) {
            0
        } else {
            -1
        }
    })
}

/// Exports the [controls](crate::controls) as `extern "C"` functions under
/// the names given, the VCSM usage read with the expression given (an
/// `FnOnce() -> Option<vcsm::Stats>`). As the C libraries export them
/// (whose VCSM usage is their own memory's; `None` here):
///
/// ```no_run
/// mmal_emu::export_controls! {
///     usage: videocore_emu_usage,
///     set_sensor: videocore_emu_set_sensor,
///     set_scene: videocore_emu_set_scene,
///     set_camera_fault: videocore_emu_set_camera_fault,
///     set_pacing: videocore_emu_set_pacing,
///     vcsm_usage: videocore_emu_vcsm_usage = || None,
///     display_read: videocore_emu_display_read,
///     display_dump: videocore_emu_display_dump,
///     set_display_size: videocore_emu_set_display_size,
/// }
/// ```
#[macro_export]
macro_rules! export_controls {
    (
        usage: $usage:ident,
        set_sensor: $set_sensor:ident,
        set_scene: $set_scene:ident,
        set_camera_fault: $set_camera_fault:ident,
        set_pacing: $set_pacing:ident,
        vcsm_usage: $vcsm_usage:ident = $stats:expr,
        display_read: $display_read:ident,
        display_dump: $display_dump:ident,
        set_display_size: $set_display_size:ident $(,)?
    ) => {
        /// See `mmal_emu::controls::usage`.
        ///
        /// # Safety
        ///
        /// `out` is NULL or points at four writable `u64`s.
        #[no_mangle]
        pub unsafe extern "C" fn $usage(out: *mut u64) {
            // SAFETY: the caller keeps the function's contract.
            unsafe { $crate::controls::usage(out) }
        }

        /// See `mmal_emu::controls::set_sensor`.
        ///
        /// # Safety
        ///
        /// `name` is NULL or a NUL-terminated string.
        #[no_mangle]
        pub unsafe extern "C" fn $set_sensor(name: *const ::std::ffi::c_char) -> ::std::ffi::c_int {
            // SAFETY: the caller keeps the function's contract.
            unsafe { $crate::controls::set_sensor(name) }
        }

        /// See `mmal_emu::controls::set_scene`.
        ///
        /// # Safety
        ///
        /// `value` is NULL or a NUL-terminated string.
        #[no_mangle]
        pub unsafe extern "C" fn $set_scene(value: *const ::std::ffi::c_char) -> ::std::ffi::c_int {
            // SAFETY: the caller keeps the function's contract.
            unsafe { $crate::controls::set_scene(value) }
        }

        /// See `mmal_emu::controls::set_camera_fault`.
        #[no_mangle]
        pub extern "C" fn $set_camera_fault(fault: ::std::ffi::c_int) {
            $crate::controls::set_camera_fault(fault)
        }

        /// See `mmal_emu::controls::set_pacing`.
        #[no_mangle]
        pub extern "C" fn $set_pacing(unlimited: ::std::ffi::c_int) {
            $crate::controls::set_pacing(unlimited)
        }

        /// See `mmal_emu::controls::vcsm_usage`.
        ///
        /// # Safety
        ///
        /// `out` is NULL or points at two writable `u64`s.
        #[no_mangle]
        pub unsafe extern "C" fn $vcsm_usage(out: *mut u64) {
            // SAFETY: the caller keeps the function's contract.
            unsafe { $crate::controls::vcsm_usage(out, $stats) }
        }

        /// See `mmal_emu::controls::display_read`.
        ///
        /// # Safety
        ///
        /// `rgb` is NULL or points at `size` writable bytes; `width` and
        /// `height` are NULL or point at a writable `uint32_t` each.
        #[no_mangle]
        pub unsafe extern "C" fn $display_read(
            rgb: *mut u8,
            size: usize,
            width: *mut u32,
            height: *mut u32,
        ) -> ::std::ffi::c_int {
            // SAFETY: the caller keeps the function's contract.
            unsafe { $crate::controls::display_read(rgb, size, width, height) }
        }

        /// See `mmal_emu::controls::display_dump`.
        ///
        /// # Safety
        ///
        /// `path` is NULL or a NUL-terminated string.
        #[no_mangle]
        pub unsafe extern "C" fn $display_dump(path: *const ::std::ffi::c_char) -> ::std::ffi::c_int {
            // SAFETY: the caller keeps the function's contract.
            unsafe { $crate::controls::display_dump(path) }
        }

        /// See `mmal_emu::controls::set_display_size`.
        #[no_mangle]
        pub extern "C" fn $set_display_size(width: u32, height: u32) -> ::std::ffi::c_int {
            $crate::controls::set_display_size(width, height)
        }
    };
}
