//! A software VideoCore: libmmal's C ABI implemented in Rust.
//!
//! [`api()`] returns an [`mmal_sys::Api`] table whose functions behave like
//! libmmal's on a Raspberry Pi, so that the `mmal` crate (and anything else
//! written against the table) runs unchanged on a laptop or CI machine:
//!
//! * components are reference counted, each with a worker thread on which
//!   its callbacks run (as libmmal's per-component action thread does), and
//!   four event buffers on its control port;
//! * port formats are edited in place and committed; committing recomputes
//!   the buffer requirements (I420: stride aligned to 32, height to 16);
//!   enabling checks the buffer count and size (`MMAL_EINVAL`); disabling
//!   returns every buffer the port holds, waiting for those in flight;
//! * a parameter read into a short buffer gets `MMAL_ENOSPC` and the full
//!   size; an unknown component name gets `MMAL_ENOSYS`;
//! * tunnelled connections move buffers between components with no client
//!   callback; connections without tunnelling own a pool and pass buffers
//!   through the client's connection callback, as libmmal's do;
//! * `MMAL_PARAMETER_ZERO_COPY` makes port payloads come from emulated VCSM
//!   memory (the `vcsm` crate's emulated driver), as libmmal's VC client
//!   does with real VCSM.
//!
//! # Stricter than libmmal
//!
//! Where libmmal would go on and leave a caller's pointer dangling, the
//! emulator refuses and changes nothing:
//!
//! * `mmal_connection_create` refuses an enabled port with `MMAL_EINVAL`
//!   and hands back no connection, so it never takes over the `userdata` of
//!   a port streaming to a callback (libmmal refuses only a tunnel, and
//!   still hands back a connection and writes both ports' `userdata`);
//! * `mmal_port_disable` of a tunnel, and `mmal_component_release` of a
//!   component at either end of an enabled one, called from a callback of
//!   the component at the other end, are refused with `MMAL_EINVAL` (that
//!   component's worker holds the tunnel's buffers, and could not give them
//!   back). The last release of a tunnel's input component disables the
//!   tunnel through its output first, as libmmal's destroy disables every
//!   port (and waits for a disable of that output already under way), so
//!   no tunnel ever reaches into a freed component;
//! * a port being disabled reads `is_enabled` 0 from the start, as in
//!   libmmal, but until its disable has given back every buffer and no
//!   callback of it can run any more it refuses `mmal_port_enable` and
//!   `mmal_connection_create` with `MMAL_EINVAL`, as an enabled port
//!   (in libmmal an enable waits on the port's lock for the disable to end);
//! * `mmal_connection_create` keeps both ports reserved (no enable, no
//!   other connection) until it has written the connection into their
//!   `userdata`; an `MMAL_EISCONN` answer writes only the `userdata` of the
//!   ports no other call is connecting;
//! * a component of this VideoCore whose port cannot be disabled is not
//!   destroyed: the last release returns the port's status and frees
//!   nothing (the reference stays with the caller, who may release it
//!   again), rather than free a port a callback may still use. A tunnel's
//!   pool is likewise kept, not freed, if its input could not be disabled.
//!   A component reached over VCHIQ is destroyed on the VideoCore anyway,
//!   as libmmal destroys it, and the release succeeds; its memory is then
//!   kept (leaked, and logged), for the same reason;
//! * a component that fails (panics) is reported with an `MMAL_EVENT_ERROR`
//!   event (`MMAL_EFAULT`) on its control port, and what it held is given
//!   back, so a disable never waits forever.
//!
//! # Components
//!
//! | name | ports | what it does |
//! | --- | --- | --- |
//! | `vc.camera_info` | control | `MMAL_PARAMETER_CAMERA_INFO`: one camera, the [`Sensor`] chosen |
//! | `vc.ril.camera` | outputs 0 preview, 1 video, 2 still | a sensor looking at a [`Scene`] through a lens with per-channel vignetting and noise; exposure, gains, AWB, sensor modes and the lens shading override |
//! | `vc.null_sink` | 1 input | takes buffers and returns them |
//! | `vc.ril.video_splitter` | 1 input, 4 outputs | copies each input frame to every enabled output, converting to each output's encoding and size |
//! | `vc.ril.resize` | 1 input, 1 output | scales the input to the output's size and converts between I420, RGB24, BGR24, RGBA and BGRA |
//! | `vc.ril.video_encode` | 1 input, 1 output | H.264 (OpenH264, the SPS signalling the profile, level and timing set) or MJPEG; the stream's headers in a `CONFIG` buffer (before every IDR with inline headers), each frame with `FRAME_END` (`KEYFRAME` on IDRs), motion vectors in a `CODECSIDEINFO` buffer when asked for; bitrate, intra period, quantisers, I-frame requests |
//! | `vc.ril.image_encode` | 1 input, 1 output | JPEG, GIF, PNG, BMP, PPM or TGA (the output's encoding, the firmware's list); a JPEG with the quality, restart interval, EXIF tags and thumbnail set; one file per input picture, across as many output buffers as it takes, the last with `FRAME_END` and `EOS` |
//! | `vc.ril.video_render` | 1 input | shows its pictures (OPAQUE from the camera, tunnelled, or a client's I420, RGB24, BGR24, RGBA, BGRA) on the off-screen [`display`], placed by `MMAL_PARAMETER_DISPLAYREGION` (kept and read back whole; a set changes the fields its mask names): layer, opacity, window or full screen, crop, rotation and mirrors, letterboxed unless `noaspect`; a client's pictures at most one per 60 Hz refresh, each buffer returned once shown; unlike a Pi, which returns an empty buffer at once, an empty one waits for the next refresh too (picamerax's overlay callback sends every returned buffer straight back, which on a Pi keeps a core busy) |
//!
//! The camera's OPAQUE buffers name an image the splitter, the resizer and
//! the encoder render.
//!
//! The camera goes through an ISP as the Pi's does: the sensor sees the
//! scene through optics that vignette harder than the stock lens (as a
//! microscope's do, their axis a little off the sensor's centre), and the
//! ISP applies, in the Pi's order, black level subtraction (`BLACK_LEVEL`),
//! lens shading (the override, mapped from the orientation its
//! `ref_transform` names, else the built-in table, made for the stock
//! lens), white balance, dynamic range compression, a colour matrix, gamma,
//! then the picture controls: contrast, brightness, saturation, the image
//! effects `negative`, `solarize`, `posterize`/`posterise`, `saturation`,
//! `colourswap`, `washedout` and `blur`, the colour effect, and sharpness.
//! Other image effects, metering, flicker avoidance, stabilisation,
//! denoise, annotation, input crop (picamera's `zoom`), the ISP block
//! override, the statistics pass, zero shutter lag, stereoscopic mode (on
//! the control port and each output) and
//! rotation by 90 or 270 degrees are kept and read back, but leave the
//! picture as it is. Values the ISP acts on are checked as they are set
//! (`EINVAL` for a brightness past 100, a zero denominator, an unknown
//! effect). `MIRROR` and `ROTATION` 180 flip
//! the sensor's readout, so the raw data's Bayer order and transform change
//! with them as a Pi's do. An uncorrected flat field has visibly dark
//! corners; a table computed from the processed picture does not undo
//! them; one computed from the raw Bayer data (`ENABLE_RAW_CAPTURE` on the
//! still port) does.
//!
//! # Configuration
//!
//! | variable | values | default |
//! | --- | --- | --- |
//! | `VIDEOCORE_EMU_SENSOR` | `imx219`, `ov5647`, `imx477` | `imx219` |
//! | `VIDEOCORE_EMU_SCENE` | `chart`, `flat`, or the path of a binary PPM/PGM image | `chart` |
//! | `VIDEOCORE_EMU_CAMERA` | `ok`, `disabled` (create fails with `ENOMEM`, as with `start_x=0`), `missing` (enable fails with `ENOSPC` and an error event, as with no sensor attached) | `ok` |
//! | `VIDEOCORE_EMU_PACING` | `frame-rate`, or `unlimited` (frames as fast as buffers come back, for benchmarks) | `frame-rate` |
//! | `VIDEOCORE_EMU_CAMERA_LOCK` | a name: the programs whose cameras contend for the sensor, as on a Pi (one enabled camera component per camera at a time, in this process or another: `ENOSPC` for a second, until the first is destroyed or its process ends), or `off` | the user's programs (`off` for programs cargo runs in this workspace, whose tests run cameras side by side: `.cargo/config.toml`) |
//! | `VIDEOCORE_EMU_DISPLAY` | the off-screen [`display`]'s `WIDTHxHEIGHT` (sides 1 to 8192; another value is logged and the default used) | `1920x1080` |
//! | `VIDEOCORE_EMU_DISPLAY_PNG` | a path: the display is written there as a PNG when a renderer shows a picture, at most once a second | unset |
//!
//! Each has a function that overrides it for the whole process:
//! [`set_sensor`], [`set_scene`], [`set_camera_fault`], [`set_pacing`],
//! [`display::set_size`] (and [`display::dump_png`] writes the display on
//! request).
//!
//! # Where things live
//!
//! | module | what it is |
//! | --- | --- |
//! | `core` | libmmal's core: component state, ports (commit, enable, disable, tunnels), parameters the core answers, the per-component worker, events |
//! | `components` | the firmware components, one file each behind one trait (a filter or an encoder says so in its `processor`); adding one is a file and a line in `components::create` |
//! | [`display`] | the off-screen display the renderers show on: its size, snapshots and PNG dumps (the planes and their compositing live with `vc.ril.video_render` in `components`) |
//! | `settings` | the process-wide settings above (sensor, scene, camera fault, pacing), read by the components; re-exported here |
//! | `sensor`, `scene` | the camera's model, a file per stage (`modes`, `exposure`, `optics`, `isp`, `draw`, `raw`), and what it looks at |
//! | `format` | video formats and their buffer sizes |
//! | `convert`, `opaque`, `h264` | picture conversion and scaling, OPAQUE image handles, H.264 bitstream details |
//! | `yuv` | an I420 picture, its planes and the BT.601 matrix, shared by the ISP, the conversions and the encoders (a leaf: components → convert, h264 → yuv) |
//! | `objects` | the C-visible objects (components, ports, pools, queues, buffer headers, connections) |
//! | `remote` | (feature `vchiq`) the VideoCore over VCHIQ: components whose C objects are `objects`' and whose work is the firmware's, through an `mmal-vchiq` client ([`vchiq_api`]) |
//! | `abi` | the `extern "C"` functions of the [`api()`] table |
//! | [`c_api`] | the rest of libmmal's C functions (buffer headers, queues, pools, port helpers) |
//! | `guard` | the panic guard every C entry point runs its body in |
//!
//! Imports point one way, from the entry points down: `abi` and `c_api`
//! import `components`, `core`, `remote` and `objects` (each entry point
//! asks `remote` whether an object is the VideoCore's before it asks
//! `core`); `remote` imports `objects` and `format`; `components` import `core`
//! (the trait they implement), `objects` and the picture modules; `core`
//! imports `objects`; `objects` imports only `format`. No module imports
//! one that imports it (`.ci/module_cycles.py` checks every crate of the
//! workspace for cycles, in CI).
//!
//! `unsafe` code is in `objects`, `abi`, `c_api` and `controls`, in the camera lock's
//! fork handler, and in the video encoder's two calls into OpenH264 the
//! `openh264` crate does not wrap (and in tests); the rest of the crate
//! denies it.
#![deny(unsafe_code)]

mod abi;
pub mod c_api;
mod components;
pub mod controls;
mod convert;
mod core;
pub mod display;
mod format;
mod guard;
mod h264;
mod objects;
mod opaque;
#[cfg(feature = "vchiq")]
mod remote;
mod scene;
mod sensor;
mod settings;
#[cfg(test)]
mod tests;
mod yuv;

pub use core::{fail_next_port_disable, TestEvent};
pub use objects::Usage;
#[cfg(feature = "vchiq")]
pub use remote::{vchiq_payload_copies, vchiq_stats};
pub use scene::{Scene, SceneError};
pub use sensor::{Sensor, SensorMode};

pub use settings::{
    camera_fault, pacing, scene, sensor, set_camera_fault, set_pacing, set_scene, set_sensor, CameraFault, Pacing,
    CAMERA_LOCK_VAR, CAMERA_VAR, PACING_VAR, SCENE_VAR, SENSOR_VAR,
};

/// The software VideoCore's function table.
pub fn api() -> &'static mmal_sys::Api {
    &abi::API
}

/// Counts the emulator's live objects.
pub fn usage() -> Usage {
    objects::usage()
}

/// Posts `event` on the control port of the live component whose
/// `MMAL_COMPONENT_T::id` is `component_id`; returns `false` if there is no
/// such component, or the event names no such port, or (for
/// [`TestEvent::OutputFormatChanged`]) a format the port does not take (an
/// unsupported encoding, a side of 0 or over 8192 pixels). The event is delivered on the component's thread if its
/// control port is enabled (and dropped otherwise, as libmmal does).
pub fn post_event(component_id: u32, event: TestEvent) -> bool {
    core::post_test_event(component_id, event)
}

/// Opens the VideoCore's MMAL service on `connection` for this process
/// (once: later calls keep the first client) and returns the function
/// table whose components are the VideoCore's, reached over that
/// connection: the VCHIQ provider. Pools, queues, buffer headers and
/// connections are this crate's own, as libmmal's core is the host's.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let device = std::sync::Arc::new(vchiq_emu::EmulatedVchiq::new());
/// let connection = vchiq::Connection::with_device(device, vchiq::Options::default())?;
/// let api = mmal_emu::vchiq_api(&connection)?;
/// let mut camera = std::ptr::null_mut();
/// // SAFETY: a NUL-terminated name and a place for the answer.
/// let status = unsafe { (api.component_create)(c"vc.ril.camera".as_ptr(), &mut camera) };
/// assert_eq!(status, mmal_sys::MMAL_SUCCESS);
/// // SAFETY: the component just made, released once.
/// assert_eq!(unsafe { (api.component_release)(camera) }, mmal_sys::MMAL_SUCCESS);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// The client's, if the MMAL service cannot be opened (the VideoCore
/// refuses it, or speaks an incompatible MMAL version).
#[cfg(feature = "vchiq")]
pub fn vchiq_api(connection: &vchiq::Connection) -> Result<&'static mmal_sys::Api, mmal_vchiq::Error> {
    remote::install(connection)?;
    Ok(&abi::VCHIQ_API)
}
