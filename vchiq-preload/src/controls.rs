//! The controls of the software VideoCore behind the library's
//! `/dev/vchiq` ([`mmal_emu::controls`]: its sensor, scene, camera faults
//! and pacing, its live objects and VCSM memory, its display), exported as
//! `vchiq_preload_emu_*` for test suites: a program that loads the
//! software VideoCore's libmmal as well has two in it (that library's own
//! answers to `videocore_emu_*`, and holds only the client's side of
//! components reached over VCHIQ), and these names reach the one its
//! camera is.
//!
//! ```c
//! void vchiq_preload_emu_usage(uint64_t out[4]);
//! int vchiq_preload_emu_set_sensor(const char *name);
//! int vchiq_preload_emu_set_scene(const char *value);
//! void vchiq_preload_emu_set_camera_fault(int fault);
//! void vchiq_preload_emu_set_pacing(int unlimited);
//! void vchiq_preload_emu_vcsm_usage(uint64_t out[2]);
//! int vchiq_preload_emu_display_read(uint8_t *rgb, size_t size, uint32_t *width, uint32_t *height);
//! int vchiq_preload_emu_display_dump(const char *path);
//! int vchiq_preload_emu_set_display_size(uint32_t width, uint32_t height);
//! ```
//!
//! Unsafe code is allowed here for the exported functions the macro
//! defines, each forwarding to its `mmal_emu::controls` function under
//! that function's contract.
#![allow(unsafe_code)]
// Exported by their symbol names, not by path.
#![allow(unreachable_pub)]

mmal_emu::export_controls! {
    usage: vchiq_preload_emu_usage,
    set_sensor: vchiq_preload_emu_set_sensor,
    set_scene: vchiq_preload_emu_set_scene,
    set_camera_fault: vchiq_preload_emu_set_camera_fault,
    set_pacing: vchiq_preload_emu_set_pacing,
    vcsm_usage: vchiq_preload_emu_vcsm_usage = || crate::cma::manager().ok().map(|m| m.stats()),
    display_read: vchiq_preload_emu_display_read,
    display_dump: vchiq_preload_emu_display_dump,
    set_display_size: vchiq_preload_emu_set_display_size,
}
