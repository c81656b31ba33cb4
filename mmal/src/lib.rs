//! Safe MMAL for the Raspberry Pi camera, with a software VideoCore for
//! every other machine.
//!
//! MMAL is the VideoCore's multimedia API on Raspberry Pi OS Buster, and on
//! Bullseye 32-bit with the legacy camera stack. This crate loads libmmal at
//! run time on a Pi, or on 64-bit Raspberry Pi OS (where there is no
//! libmmal) speaks MMAL over `/dev/vchiq` itself (`VIDEOCORE=vchiq`);
//! anywhere else (or with `VIDEOCORE=emulated`) it uses the software
//! VideoCore of the `mmal-emu` crate, whose camera, null sink, splitter,
//! resizer and encoders behave like the firmware's. The same program runs
//! on all three.
//!
//! # A camera in a few lines
//!
//! [`Camera`] opens the camera with its [`CameraOptions`] and does the
//! common jobs in a line each. A JPEG:
//!
//! ```
//! # std::env::set_current_dir(std::env::temp_dir()).unwrap();
//! use mmal::{Camera, CameraOptions};
//! let camera = Camera::open(0, &CameraOptions::default())?;
//! camera.capture("still.jpg")?; // or .png, .bmp, .gif, .yuv, .rgb…; capture_jpeg() gives the bytes
//! # Ok::<(), mmal::Error>(())
//! ```
//!
//! RGB frames as `ndarray` views over the VideoCore's buffer (no copy, no
//! allocation per frame), each with its index, timestamps and settings:
//!
//! ```
//! use mmal::{Camera, CameraOptions, Encoding};
//! let camera = Camera::open(0, &CameraOptions::default())?;
//! for frame in camera.frames(Encoding::RGB24, 640, 480)?.take(3) {
//!     println!("red at the centre: {}", frame?.as_array()?[[240, 320, 0]]);
//! }
//! # Ok::<(), mmal::Error>(())
//! ```
//!
//! Ten seconds of H.264:
//!
//! ```
//! # mmal::emulator::set_pacing(mmal::emulator::Pacing::Unlimited);
//! # std::env::set_current_dir(std::env::temp_dir()).unwrap();
//! use mmal::{Camera, CameraOptions};
//! let camera = Camera::open(0, &CameraOptions::new().resolution(640, 480))?;
//! camera.record("video.h264", std::time::Duration::from_secs(10))?;
//! # Ok::<(), mmal::Error>(())
//! ```
//!
//! Beneath it, the object layer:
//!
//! * [`components`]: typed components with named ports
//!   (`camera.still()`, `encoder.output()`).
//! * [`Component`]: created by name, reference counted, released in
//!   raspistill's order when the last handle goes.
//! * [`Port`]: [`format`](Port::format) / [`set_format`](Port::set_format),
//!   [`get`](Port::get) / [`set`](Port::set) of typed [`params`],
//!   [`enable_stream`](Port::enable_stream) for frames in Rust and
//!   [`enable_callback`](Port::enable_callback) for a callback.
//! * [`Connection`]: a tunnel between two ports, or a connection whose
//!   buffers pass through a closure of yours ([`Connection::through_client`]).
//! * [`Events`]: errors, end of stream, format and parameter changes.
//! * [`LensShadingTable`] and [`params::LensShading`]: compute a table from
//!   a flat field and upload it through VCSM.
//! * [`Recorder`]: the camera tunnelled to the H.264 or MJPEG encoder, its
//!   buffers read as a stream with their [`kind`](Frame::kind), started and
//!   stopped at will.
//!
//! Callbacks run on MMAL's threads. The crate never blocks them: a slow
//! reader of a [`FrameStream`] loses frames ([`FrameStream::dropped`])
//! instead of stalling the camera. Panics in callbacks are caught and
//! reported. Disabling a port or component from one of its own component's
//! callbacks is an [`Error::WouldDeadlock`] instead of a deadlock; dropping
//! a handle there (a stream, a connection, the last [`Component`]) hands
//! the release to a short-lived thread, which does it once the callback
//! has returned.
//!
//! # Ownership and leaks
//!
//! Every handle releases what it holds when the last one goes: streams and
//! callbacks disable their port and free their pool, connections disable
//! and destroy themselves, components are disabled and released. The
//! exceptions are deliberate: a port, connection or component that refuses
//! to be disabled (or a connection that refuses to be destroyed) is leaked,
//! with an error logged, together with what it may still call back into
//! (its pool, its sink, the components it belongs to), rather than freed
//! while the VideoCore may still call back; and a release handed to a
//! thread that cannot be started is leaked rather than run where it would
//! deadlock.
//!
//! Streams and callbacks are for output ports (and the control port's
//! events); an input port gets its buffers through a [`Connection`].
//!
//! # Locks
//!
//! The crate's mutexes and condition variables are `parking_lot`'s: they
//! have no poisoning (a panic caught in a callback leaves no lock unusable;
//! every critical section leaves its data consistent), and a timed wait
//! returns a plain flag. What is made once per process and never fails is
//! made with `std::sync::OnceLock`, which has taken the role of the
//! `once_cell` crate; the provider is chosen under a mutex instead, because
//! a failed choice is retried.
//!
//! # Features
//!
//! * `emulator` (default): the software VideoCore, linked in. Without it
//!   the crate only loads libmmal (on a Pi, or the software VideoCore's C
//!   libraries through `MMAL_LIB_DIR`).
//! * `hardware-tests`: the tests that need a Raspberry Pi.
//! * `deadlock-detection`: parking_lot's deadlock detector, for the
//!   threaded stress test (`cargo test -p mmal --features deadlock-detection
//!   --test stress`); off by default, as it slows every lock.
//!
//! # Loading libmmal
//!
//! libmmal is loaded once per process and stays loaded until it exits:
//! components, buffers and the callbacks libmmal calls all live in it. Before
//! the first MMAL call the loader calls `bcm_host_init` and `mmal_vc_init`
//! when the libraries have them, as raspistill and picamera do, and explains
//! a failure (`/dev/vchiq` missing or not accessible, camera not enabled).
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use mmal::{params::Capture, Component, Encoding, Format};
//!
//! let camera = Component::new("vc.ril.camera")?;
//! let video = camera.output(1)?;
//! video.set_format(&Format::video(Encoding::I420, 640, 480).with_frame_rate(30))?;
//! let frames = video.enable_stream(3)?;
//! camera.enable()?;
//! video.set(&Capture(true))?;
//! let frame = frames.next_timeout(Duration::from_secs(10))?;
//! assert_eq!(frame.len(), 640 * 480 * 3 / 2);
//! # Ok::<(), mmal::Error>(())
//! ```
#![deny(unsafe_code)]

mod backend;
#[cfg(test)]
mod callback_tests;
mod camera;
mod clock;
mod component;
pub mod components;
mod connection;
mod error;
mod event;
mod events;
mod ffi;
mod flags;
mod format;
mod lens_shading;
mod loader;
pub mod params;
pub mod raw;
mod recorder;
mod stream;
mod view;

pub use backend::{is_software_videocore, provider, Provider, VCHIQ_DEVICE_VAR};
pub use camera::{
    Camera, CameraOptions, CircularBuffer, FrameCallback, Frames, Recording, SensorModeInfo, Settings, StillOptions,
    VideoOutput, WithMotion,
};
pub use component::{BufferRequirements, Component, Port, PortKind};
pub use connection::{Connection, ConnectionFlags, PassingBuffer};
pub use error::{Error, Result, Status};
pub use event::Event;
pub use events::Events;
pub use flags::BufferFlags;
pub use format::{Encoding, Format, Rational, Rect};
pub use lens_shading::{LensShadingTable, Normalise, UploadedTable};
pub use loader::MMAL_LIB_DIR_VAR;
pub use params::lens::CELL_SIZE;
pub use recorder::{EncodedKind, MotionVector, Recorder, RecorderConfig};
pub use stream::{Buffer, CallbackPort, Frame, FrameStream, StreamItem};
pub use vcsm::ndarray;
pub use view::{Plane, Planes};

/// The software VideoCore (with the default `emulator` feature).
#[cfg(feature = "emulator")]
pub use mmal_emu as emulator;
pub use vcsm;

/// The README's examples (VCSM and MMAL), compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// Runs `release` on a new thread: for handles dropped inside one of their
/// component's callbacks, where releasing them would wait for the callback
/// itself. If no thread can be started, `release` is dropped unrun, which
/// leaks what it would have released rather than deadlock.
pub(crate) fn release_later(what: &str, release: impl FnOnce() + Send + 'static) {
    log::debug!("{what} released from its component's callback: releasing it on another thread");
    if let Err(e) = std::thread::Builder::new().name("mmal-release".into()).spawn(release) {
        log::error!("{what}: cannot start a thread to release it ({e}); it is leaked");
    }
}

/// The message of a panic caught in a callback.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("(non-string panic payload)")
    }
}

/// Work handed to another thread.
pub(crate) type Work = Box<dyn FnOnce() + Send + 'static>;

/// Starts `work` on a new thread: for what must not run on MMAL's threads
/// (applying a format change a callback received).
fn spawn_apply(work: Work) -> std::io::Result<()> {
    std::thread::Builder::new().name("mmal-apply".into()).spawn(work).map(drop)
}

/// Work to apply one item at a time, in the order it came, on a thread of
/// its own: the items waiting, and whether a thread is applying them.
pub(crate) type InOrder<T> = parking_lot::Mutex<(std::collections::VecDeque<T>, bool)>;

/// Queues `item` on `queue`; if no thread is applying its items, starts
/// one that runs `apply` on each until none is left.
pub(crate) fn apply_in_order<T: Send + 'static, S: Send + Sync + 'static>(
    owner: &std::sync::Arc<S>,
    queue: fn(&S) -> &InOrder<T>,
    item: T,
    apply: fn(&std::sync::Arc<S>, T),
) {
    apply_in_order_with(owner, queue, item, apply, spawn_apply);
}

/// [`apply_in_order`], starting its thread with `spawn`. If no thread can
/// be started, the item stays queued and no thread is marked as applying:
/// the next item queued tries again and applies both, in order. (Applying
/// on the caller's thread instead is no choice: the callers are MMAL's
/// threads, where applying a change would wait for themselves.)
fn apply_in_order_with<T: Send + 'static, S: Send + Sync + 'static>(
    owner: &std::sync::Arc<S>,
    queue: fn(&S) -> &InOrder<T>,
    item: T,
    apply: fn(&std::sync::Arc<S>, T),
    spawn: impl FnOnce(Work) -> std::io::Result<()>,
) {
    {
        let mut pending = queue(owner).lock();
        pending.0.push_back(item);
        if pending.1 {
            return;
        }
        pending.1 = true;
    }
    let worker = owner.clone();
    let work: Work = Box::new(move || loop {
        let next = {
            let mut pending = queue(&worker).lock();
            match pending.0.pop_front() {
                Some(item) => item,
                None => {
                    pending.1 = false;
                    return;
                }
            }
        };
        apply(&worker, next);
    });
    if let Err(e) = spawn(work) {
        let waiting = {
            let mut pending = queue(owner).lock();
            pending.1 = false;
            pending.0.len()
        };
        log::error!("cannot start a thread to apply a format change ({e}); {waiting} wait for the next one");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn handles_are_send_and_sync() {
        assert_send_sync::<Component>();
        assert_send_sync::<Port>();
        assert_send_sync::<FrameStream>();
        assert_send_sync::<Frame>();
        assert_send_sync::<Connection>();
        assert_send_sync::<Events>();
        assert_send_sync::<CallbackPort>();
        assert_send_sync::<Camera>();
        assert_send_sync::<Frames<'static>>();
        assert_send_sync::<Recording<'static, Vec<u8>>>();
        assert_send_sync::<CircularBuffer>();
        assert_send_sync::<components::CameraComponent>();
        assert_send_sync::<components::Splitter>();
    }

    struct Changes {
        queue: InOrder<u32>,
        applied: parking_lot::Mutex<Vec<u32>>,
    }

    /// When no thread can be started, the change waits and the next one
    /// applies both, in order. Before, the queue stayed marked as being
    /// applied by a thread that never started: every later change waited
    /// behind it for ever.
    #[test]
    fn changes_wait_for_the_next_thread_when_one_cannot_start() {
        let changes = std::sync::Arc::new(Changes { queue: Default::default(), applied: Default::default() });
        let apply = |c: &std::sync::Arc<Changes>, item| c.applied.lock().push(item);
        apply_in_order_with(&changes, |c| &c.queue, 1, apply, |_| Err(std::io::Error::other("no threads left")));
        assert!(!changes.queue.lock().1, "marked as applying with no thread to apply");
        assert_eq!(changes.queue.lock().0.len(), 1);
        apply_in_order_with(
            &changes,
            |c| &c.queue,
            2,
            apply,
            |work| {
                work();
                Ok(())
            },
        );
        assert_eq!(*changes.applied.lock(), [1, 2]);
        assert!(!changes.queue.lock().1);
        // and with real threads.
        apply_in_order(&changes, |c| &c.queue, 3, apply);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while changes.applied.lock().len() < 3 {
            assert!(std::time::Instant::now() < deadline, "the change was not applied");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(*changes.applied.lock(), [1, 2, 3]);
    }

    #[test]
    fn statuses_round_trip() {
        for raw in 1..=15 {
            let status = Status::from_raw(raw).unwrap();
            assert_eq!(status.to_raw(), raw);
            assert!(!matches!(status, Status::Unknown(_)));
        }
        assert_eq!(Status::from_raw(0), None);
        assert_eq!(Status::from_raw(99), Some(Status::Unknown(99)));
        assert_eq!(Status::NoSpace.to_string(), "ENOSPC (out of resources)");
    }

    #[test]
    fn encodings_print_as_fourcc() {
        assert_eq!(Encoding::I420.to_string(), "I420");
        assert_eq!(Encoding::from_fourcc(b"RGB3"), Encoding::RGB24);
        assert_eq!(Encoding::OPAQUE.fourcc(), *b"OPQV");
    }

    #[test]
    fn library_candidates_cover_buster_and_bullseye() {
        let c = loader::candidates("mmal_core", None);
        let c: Vec<String> = c.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(c, ["/opt/vc/lib/libmmal_core.so", "libmmal_core.so.0", "libmmal_core.so"]);
        let d = loader::candidates("vcos", Some(std::path::Path::new("/x")));
        assert_eq!(d[0], std::path::Path::new("/x/libvcos.so"));
        assert_eq!(d[1], std::path::Path::new("/x/libvcos.so.0"));
    }

    #[test]
    fn vchiq_errors_carry_advice() {
        let denied = loader::vchiq_advice(Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied)));
        assert!(denied.unwrap_err().to_string().contains("video` group"));
        let missing = loader::vchiq_advice(Err(std::io::Error::from(std::io::ErrorKind::NotFound)));
        assert!(missing.unwrap_err().to_string().contains("Legacy Camera"));
    }

    #[test]
    fn mixed_videocores_are_refused() {
        use vcsm::DriverKind;
        assert!(backend::check_pair(Provider::Emulated, true, Ok(DriverKind::Emulated)).is_ok());
        assert!(backend::check_pair(Provider::Hardware, false, Ok(DriverKind::Cma)).is_ok());
        let e = backend::check_pair(Provider::Emulated, true, Ok(DriverKind::Cma)).unwrap_err();
        assert!(matches!(e, Error::MixedVideoCore { .. }), "{e}");
        assert!(e.to_string().contains("VIDEOCORE=emulated"));
        let e = backend::check_pair(Provider::Hardware, false, Ok(DriverKind::Emulated)).unwrap_err();
        assert!(matches!(e, Error::MixedVideoCore { .. }), "{e}");
    }

    #[test]
    fn the_software_videocore_library_may_use_emulated_memory() {
        use vcsm::DriverKind;
        // Loaded through the loader, it says what it is: emulated memory
        // is its own, and no VCSM at all is fine too.
        assert!(backend::check_pair(Provider::Hardware, true, Ok(DriverKind::Emulated)).is_ok());
        let missing = vcsm::Error::Unsupported { driver: DriverKind::Cma, operation: "open", advice: "none" };
        assert!(backend::check_pair(Provider::Hardware, true, Err(missing)).is_ok());
        // but never with a real VCSM driver.
        let e = backend::check_pair(Provider::Hardware, true, Ok(DriverKind::Cma)).unwrap_err();
        assert!(matches!(e, Error::MixedVideoCore { .. }), "{e}");
    }
}
