//! The software VideoCore as a C shared library.
//!
//! `cargo xtask videocore-libs` builds this crate and lays it out under
//! `target/videocore/<triple>/lib/` with the names that programs written for
//! a Raspberry Pi load: `libmmal_core.so`, `libmmal_util.so`,
//! `libmmal_vc_client.so`, `libmmal.so`, `libvcos.so`, `libbcm_host.so`, each
//! also as `.so.0`. Every name is a link to one file, so however many names a
//! program opens, it gets one software VideoCore.
//!
//! What it exports, with C linkage:
//!
//! * libmmal's functions, one for every entry of [`mmal_sys::Api`], with
//!   the behaviour of [`mmal_emu::api()`];
//! * `mmal_vc_init` / `mmal_vc_deinit` (libmmal_vc_client), which succeed:
//!   the software VideoCore needs no VCHIQ;
//! * `bcm_host_init` / `bcm_host_deinit`, which do nothing (there is no
//!   display or VCHIQ service to start);
//! * [`mmal_sys::SOFTWARE_VIDEOCORE_SYMBOL`], which says that this is the
//!   software VideoCore, and `videocore_emu_*` functions that reach its
//!   settings (sensor, scene, camera faults, pacing), post events and count
//!   its live objects, for test suites that load it like libmmal.
//!
//! The library carries its own copy of the emulated VCSM memory. A Rust
//! program that loads it through the `mmal` loader also has the `vcsm`
//! crate's, and a block of one is unknown to the other: lens shading tables
//! and zero-copy pools from such a program need the emulator linked in
//! (`VIDEOCORE=emulated`) until the two share one memory.
#![deny(unsafe_code)]

#[allow(unsafe_code)]
pub mod bcm_host;
pub mod exports;
#[allow(unsafe_code)]
pub mod libvcsm;
mod logger;
#[allow(unsafe_code)]
pub mod util;

// The rest of libmmal's surface (buffer headers, queues, pools, port and
// reference-count helpers) is exported by `mmal_emu::c_api` under the
// `c-exports` feature; naming it here keeps it in this library.
pub use mmal_emu::c_api;
