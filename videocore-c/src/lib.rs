//! The software VideoCore as a C shared library.
//!
//! `cargo xtask videocore-libs` builds this crate and lays it out under
//! `target/videocore/<triple>/lib/` with the names that programs written for
//! a Raspberry Pi load: `libmmal.so` (picamera's one name), the split
//! `libmmal_core.so`, `libmmal_util.so`, `libmmal_vc_client.so`,
//! `libmmal_components.so`, and `libvcos.so`, `libbcm_host.so`,
//! `libvcsm.so`, each also as `.so.0`. Every name is a link to one file, so
//! however many names a program opens, it gets one software VideoCore.
//!
//! What it exports, with C linkage:
//!
//! * libmmal's functions: every entry of [`mmal_sys::Api`] (with the
//!   behaviour of [`mmal_emu::api()`]), the rest of what picamera binds
//!   ([`mmal_emu::c_api`]: buffer headers, queues, pools, reference counts;
//!   [`util`]: formats, strings, the parameter helpers, `mmal_util_*`);
//! * `mmal_vc_init` / `mmal_vc_deinit` (libmmal_vc_client), which succeed:
//!   the software VideoCore needs no VCHIQ;
//! * libvcsm's API ([`libvcsm`]) over the emulated VCSM memory;
//! * `bcm_host`'s names ([`bcm_host`]), answered as a Pi with no display;
//! * libvcos's logging, assertion and errno functions and libmmal's log
//!   category `mmal_log_category` ([`vcos`]), which programs built from
//!   userland's sources (raspistill, raspiyuv, raspivid) link to;
//! * [`mmal_sys::SOFTWARE_VIDEOCORE_SYMBOL`], which says that this is the
//!   software VideoCore, and `videocore_emu_*` functions that reach its
//!   settings (sensor, scene, camera faults, pacing), post events and count
//!   its live objects, for test suites that load it like libmmal.
//!
//! One emulated memory per process: the library exports its VCSM memory as
//! a table of C functions (`videocore_emu_vcsm_table`), and the `vcsm`
//! crate of a program that loads the library (`MMAL_LIB_DIR`) allocates
//! through it, so a block from that program, from libvcsm or from a
//! zero-copy pool is one the components know.
//!
//! `VIDEOCORE_EMU_LOG=error|warn|info|debug|trace` prints the library's
//! messages on standard error.
//!
//! Where `/dev/vchiq` opens (a Pi), or with `VIDEOCORE=vchiq`, the
//! components are the VideoCore's behind it, reached in MMAL over VCHIQ
//! without libmmal: built for aarch64, this library is then libmmal for
//! 64-bit Raspberry Pi OS (`mmal_vc_init` opens the connection).
//! `VIDEOCORE=emulated` keeps the software VideoCore there too.
#![deny(unsafe_code)]

#[allow(unsafe_code)]
pub mod bcm_host;
pub mod display;
pub mod exports;
#[allow(unsafe_code)]
pub mod libvcsm;
mod logger;
mod provider;
#[allow(unsafe_code)]
pub mod util;
pub mod vcos;

// The rest of libmmal's surface (buffer headers, queues, pools, port and
// reference-count helpers) is exported by `mmal_emu::c_api` under the
// `c-exports` feature; naming it here keeps it in this library.
pub use mmal_emu::c_api;
