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
/// left behind; close-on-exec). A child forked while it is held does not
/// hold it (on Linux its copy of the socket is swapped for `/dev/null` as
/// it starts): closing the camera in the parent frees it, as on a Pi,
/// where the firmware's camera belongs to the process that opened it (a
/// camera closed in the very instant a child is forked may stay held until
/// the child has started).
///
/// `VIDEOCORE_EMU_CAMERA_LOCK` names the set of programs that contend for
/// the cameras (by default the user's); `off` lets every camera component
/// run at once.
pub(super) struct SensorLock {
    held: Held,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl Drop for SensorLock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // No longer swapped in a forked child; the socket closes next.
        fork::forget(self.held.as_raw_fd());
    }
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
        let name = lock_name(camera_num, &scope);
        match bind(&name) {
            Ok(held) => {
                #[cfg(any(target_os = "linux", target_os = "android"))]
                {
                    use std::os::fd::AsRawFd;
                    fork::note(held.as_raw_fd());
                }
                Ok(Some(SensorLock { held }))
            }
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

/// The lock's name: the camera and the scope, the scope as a hash when
/// the name would not fit an abstract socket's 107 bytes (FNV-1a, the
/// same in every build, so that every program of the scope agrees).
fn lock_name(camera_num: i32, scope: &str) -> String {
    let name = format!("videocore-emu/camera{camera_num}/{scope}");
    if name.len() <= 100 {
        return name;
    }
    let hash = scope.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    format!("videocore-emu/camera{camera_num}/fnv-{hash:016x}")
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

/// The held sensors' sockets, which a forked child gives up as it starts:
/// its copy of each is replaced by `/dev/null` (the descriptor stays open,
/// so that the child's copy of the lock closes a descriptor it owns if it
/// ever drops it), which unbinds nothing of the parent's but leaves the
/// socket, and its name, to the parent alone.
#[cfg(any(target_os = "linux", target_os = "android"))]
mod fork {
    #![allow(unsafe_code)]

    use std::os::fd::RawFd;
    use std::sync::atomic::{AtomicI32, Ordering};
    use std::sync::Once;

    /// More than the sensors a process can hold.
    const SLOTS: usize = 16;
    static HELD: [AtomicI32; SLOTS] = [const { AtomicI32::new(-1) }; SLOTS];
    static HANDLER: Once = Once::new();

    /// Notes `fd`, a held sensor's socket.
    pub(super) fn note(fd: RawFd) {
        HANDLER.call_once(|| {
            // SAFETY: `in_child` is an `extern "C" fn()` that lives for the
            // program and does only async-signal-safe work.
            let status = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
            if status != 0 {
                log::warn!("pthread_atfork failed ({status}): a forked child keeps the camera's sensor");
            }
        });
        if !HELD.iter().any(|slot| slot.compare_exchange(-1, fd, Ordering::AcqRel, Ordering::Acquire).is_ok()) {
            log::warn!("more than {SLOTS} sensors held: a forked child keeps the camera's sensor");
        }
    }

    /// Forgets `fd` (the lock is being released).
    pub(super) fn forget(fd: RawFd) {
        for slot in &HELD {
            let _ = slot.compare_exchange(fd, -1, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    /// In a forked child, before `fork` returns there: each held socket's
    /// descriptor now refers to `/dev/null`.
    extern "C" fn in_child() {
        for slot in &HELD {
            let fd = slot.swap(-1, Ordering::AcqRel);
            if fd < 0 {
                continue;
            }
            // SAFETY: open, dup3 and close are async-signal-safe; `fd` is
            // a descriptor of this process (the parent's copy); the path
            // is NUL-terminated.
            unsafe {
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
                if null >= 0 {
                    libc::dup3(null, fd, libc::O_CLOEXEC);
                    libc::close(null);
                }
            }
        }
    }
}

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
