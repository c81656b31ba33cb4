//! The off-screen display `vc.ril.video_render` shows on
//! ([`mmal_emu::display`]), for test suites that load the library as
//! libmmal: read it back pixel by pixel, write it as a PNG, size it. The
//! functions are [`mmal_emu::controls`]' (exported in [`crate::exports`]).
//!
//! ```c
//! int videocore_emu_display_read(uint8_t *rgb, size_t size, uint32_t *width, uint32_t *height);
//! int videocore_emu_display_dump(const char *path);
//! int videocore_emu_set_display_size(uint32_t width, uint32_t height);
//! ```

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use std::ffi::CStr;
    use std::os::unix::ffi::OsStrExt;

    use crate::exports::{videocore_emu_display_dump, videocore_emu_display_read, videocore_emu_set_display_size};

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
