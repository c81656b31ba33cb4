//! The off-screen display `vc.ril.video_render` shows on
//! ([`mmal_emu::display`]), for test suites that load the library as
//! libmmal: read it back pixel by pixel, write it as a PNG, size it.
//!
//! ```c
//! int videocore_emu_display_read(uint8_t *rgb, size_t size, uint32_t *width, uint32_t *height);
//! int videocore_emu_display_dump(const char *path);
//! int videocore_emu_set_display_size(uint32_t width, uint32_t height);
//! ```
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, CStr};
use std::os::unix::ffi::OsStrExt;

use mmal_emu::c_api::guarded;

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
#[no_mangle]
pub unsafe extern "C" fn videocore_emu_display_read(
    rgb: *mut u8,
    size: usize,
    width: *mut u32,
    height: *mut u32,
) -> c_int {
    let read = guarded("videocore_emu_display_read", None, || {
        if rgb.is_null() {
            let (w, h) = mmal_emu::display::size();
            return Some((w, h, None));
        }
        let (w, h, pixels) = mmal_emu::display::snapshot();
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
#[no_mangle]
pub unsafe extern "C" fn videocore_emu_display_dump(path: *const c_char) -> c_int {
    if path.is_null() {
        log::error!("videocore_emu_display_dump: no path");
        return -1;
    }
    // SAFETY: a NUL-terminated string, as the caller promises.
    let path = unsafe { CStr::from_ptr(path) };
    guarded("videocore_emu_display_dump", -1, || {
        // Unix paths are bytes.
        let path = std::path::Path::new(std::ffi::OsStr::from_bytes(path.to_bytes()));
        match mmal_emu::display::dump_png(path) {
            Ok(()) => 0,
            Err(e) => {
                log::error!("videocore_emu_display_dump: {}: {e}", path.display());
                -1
            }
        }
    })
}

/// Sets the display's size, overriding `VIDEOCORE_EMU_DISPLAY`; 0 by 0
/// goes back to the variable. Returns 0, or -1 (nothing changes) for a
/// side of 0 (with the other not) or past the largest the display takes.
#[no_mangle]
pub extern "C" fn videocore_emu_set_display_size(width: u32, height: u32) -> c_int {
    guarded("videocore_emu_set_display_size", -1, || {
        let size = (width != 0 || height != 0).then_some((width, height));
        if mmal_emu::display::set_size(size) {
            0
        } else {
            -1
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_display_reads_back_through_the_exports() {
        assert_eq!(videocore_emu_set_display_size(0, 5), -1);
        assert_eq!(videocore_emu_set_display_size(9000, 5), -1);
        assert_eq!(videocore_emu_set_display_size(8, 4), 0);
        let (mut w, mut h) = (0u32, 0u32);
        // SAFETY: NULL pixels, and two writable sizes.
        assert_eq!(unsafe { videocore_emu_display_read(std::ptr::null_mut(), 0, &mut w, &mut h) }, -1);
        assert_eq!((w, h), (8, 4));
        let mut small = [7u8; 8 * 4 * 3 - 1];
        // SAFETY: `small` has the room it says.
        assert_eq!(unsafe { videocore_emu_display_read(small.as_mut_ptr(), small.len(), &mut w, &mut h) }, -1);
        assert!(small.iter().all(|&v| v == 7), "written past a refusal");
        let mut rgb = [7u8; 8 * 4 * 3];
        // SAFETY: `rgb` has the room it says; the sizes may be NULL.
        let status = unsafe { videocore_emu_display_read(rgb.as_mut_ptr(), rgb.len(), ptr_null(), ptr_null()) };
        assert_eq!(status, 0);
        assert!(rgb.iter().all(|&v| v == 0), "no renderer: a black display");
        let path = std::env::temp_dir().join(format!("videocore-display-{}.png\0", std::process::id()));
        let c_path = CStr::from_bytes_with_nul(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: NUL-terminated strings, or NULL.
        unsafe {
            assert_eq!(videocore_emu_display_dump(c_path.as_ptr()), 0);
            assert_eq!(videocore_emu_display_dump(std::ptr::null()), -1);
            assert_eq!(videocore_emu_display_dump(c"/nonexistent-dir/x.png".as_ptr()), -1);
        }
        let file = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(c_path.to_bytes()));
        assert_eq!(&std::fs::read(&file).unwrap()[..4], b"\x89PNG");
        let _ = std::fs::remove_file(file);
        assert_eq!(videocore_emu_set_display_size(0, 0), 0);
    }

    fn ptr_null() -> *mut u32 {
        std::ptr::null_mut()
    }
}
