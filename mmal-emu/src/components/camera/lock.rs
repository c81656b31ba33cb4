//! One camera component per sensor at a time, across processes.

use mmal_sys as sys;

use crate::objects::Status;
use crate::settings;

/// A sensor held by one camera component: the firmware lets one camera
/// component at a time run on a sensor, and answers the enable of a
/// second, or of one of its outputs, with ENOSPC ("Out of resources" to
/// picamera), from the same program or another. Across processes: an
/// abstract Unix socket named for the camera, bound while held, which the
/// kernel frees when the socket is closed or its process dies (no file
/// left behind; close-on-exec).
///
/// `VIDEOCORE_EMU_CAMERA_LOCK` names the set of programs that contend for
/// the cameras (by default the user's); `off` lets every camera component
/// run at once.
pub(super) struct SensorLock {
    _held: Held,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
type Held = std::os::unix::net::UnixListener;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
type Held = local::Held;

impl SensorLock {
    /// Takes camera `camera_num`'s sensor: `None` with the lock off,
    /// ENOSPC while another camera component holds it.
    pub(super) fn take(camera_num: i32) -> Result<Option<SensorLock>, Status> {
        let Some(scope) = settings::camera_lock_scope() else { return Ok(None) };
        let name = format!("videocore-emu/camera{camera_num}/{scope}");
        match bind(&name) {
            Ok(held) => Ok(Some(SensorLock { _held: held })),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(sys::MMAL_ENOSPC),
            Err(e) => {
                // Not the sensor being busy: the emulator cannot tell, and
                // lets the camera run.
                log::warn!("camera {camera_num}: cannot take the sensor's lock {name:?}: {e}; running without it");
                Ok(None)
            }
        }
    }
}

#[cfg(target_os = "linux")]
fn bind(name: &str) -> std::io::Result<Held> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    std::os::unix::net::UnixListener::bind_addr(&addr)
}

#[cfg(target_os = "android")]
fn bind(name: &str) -> std::io::Result<Held> {
    use std::os::android::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    std::os::unix::net::UnixListener::bind_addr(&addr)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
use local::bind;

/// Without abstract sockets: the cameras of this process only.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod local {
    use parking_lot::Mutex;

    static HELD: Mutex<Vec<String>> = Mutex::new(Vec::new());

    pub(super) struct Held(String);

    impl Drop for Held {
        fn drop(&mut self) {
            HELD.lock().retain(|n| *n != self.0);
        }
    }

    pub(super) fn bind(name: &str) -> std::io::Result<Held> {
        let mut held = HELD.lock();
        if held.iter().any(|n| n == name) {
            return Err(std::io::ErrorKind::AddrInUse.into());
        }
        held.push(name.to_owned());
        Ok(Held(name.to_owned()))
    }
}
