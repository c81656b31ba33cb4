//! Where the library's components are made: on the software VideoCore
//! linked in, or on the VideoCore behind `/dev/vchiq`, spoken to in MMAL
//! over VCHIQ by the software VideoCore's own client
//! (`mmal_emu::vchiq_api`): the way C programs and picamera get MMAL on
//! 64-bit Raspberry Pi OS, where no libmmal exists. `VIDEOCORE=vchiq`
//! asks for the VideoCore and `emulated` for the software one; `auto` (or
//! no value) and `hardware` (with which the `mmal` crate loads this library
//! as libmmal) take the VideoCore where `/dev/vchiq` opens, as on a Pi,
//! else the software VideoCore. Off a Pi, the preload library
//! (`vchiq-preload`) answers `/dev/vchiq`.
//!
//! Only `mmal_component_create` differs between the two tables; every
//! other entry tells the VideoCore's objects from local ones itself.

use std::sync::{LazyLock, OnceLock};

use mmal_sys as sys;
use parking_lot::Mutex;

/// The table of the VCHIQ provider, once its connection is open; set
/// under [`CONNECTED`]'s lock.
static READY: OnceLock<&'static sys::Api> = OnceLock::new();

/// Held while the connection is opened (one attempt at a time).
static CONNECTED: Mutex<()> = Mutex::new(());

/// The table while the VideoCore over VCHIQ is chosen and `/dev/vchiq`
/// or its MMAL service cannot be opened (or `VIDEOCORE` is invalid): the
/// local one, but a component cannot be created.
static UNAVAILABLE: LazyLock<sys::Api> =
    LazyLock::new(|| sys::Api { component_create: unavailable_create, ..*mmal_emu::api() });

/// Where components are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Choice {
    /// The software VideoCore linked in.
    Local,
    /// The VideoCore behind `/dev/vchiq`.
    Vchiq,
    /// Neither: `VIDEOCORE` has a value vcsm refuses too. Components
    /// cannot be created (the log says why), and libvcsm's memory fails
    /// with vcsm's error.
    Invalid,
}

/// The choice for a value of `VIDEOCORE`; `vchiq_present` is asked only
/// where the device decides. `hardware` (a real VideoCore where there is
/// one: the `mmal` crate loads this library as libmmal with it, off a Pi)
/// decides as `auto` does.
fn choose(value: Option<&str>, vchiq_present: impl FnOnce() -> bool) -> Choice {
    match value.map(str::trim) {
        Some("vchiq") => Choice::Vchiq,
        Some("emulated") => Choice::Local,
        None | Some("" | "auto" | "hardware") => {
            if vchiq_present() {
                Choice::Vchiq
            } else {
                Choice::Local
            }
        }
        Some(_) => Choice::Invalid,
    }
}

/// The choice, made once.
fn chosen() -> Choice {
    static CHOSEN: LazyLock<Choice> = LazyLock::new(|| {
        let value = std::env::var(vcsm::VIDEOCORE_VAR).ok();
        let choice = choose(value.as_deref(), || vcsm::device_node_present("/dev/vchiq"));
        if choice == Choice::Invalid {
            log::error!(
                "VIDEOCORE={}: not one of auto, hardware, emulated or vchiq; no component can be made",
                value.as_deref().unwrap_or_default().trim()
            );
        }
        choice
    });
    *CHOSEN
}

/// Whether the software VideoCore is chosen (else the VideoCore over
/// VCHIQ, or nothing).
fn local_chosen() -> bool {
    chosen() == Choice::Local
}

/// The VCSM memory libvcsm's functions allocate from: the software
/// VideoCore's own, or with the VideoCore over VCHIQ its own behind
/// `/dev/vcsm-cma` (the memory its handles name), as vcsm's `auto`
/// chooses it.
pub(crate) fn memory() -> vcsm::Result<&'static vcsm::ServiceManager> {
    if local_chosen() {
        vcsm::ServiceManager::emulated()
    } else {
        vcsm::ServiceManager::get()
    }
}

/// The function table the exports forward to: once the connection is
/// open, without a lock (every export, per frame too, comes here). Until
/// then, only a component's create tries to open it (as libmmal's opens
/// its connection from `mmal_vc_component_create`), and `mmal_vc_init`.
pub(crate) fn api() -> &'static sys::Api {
    if local_chosen() {
        return mmal_emu::api();
    }
    match READY.get() {
        Some(api) => api,
        None => &UNAVAILABLE,
    }
}

/// Opens `/dev/vchiq` and the MMAL service on it, once (a failure is tried
/// again on the next call); `MMAL_EIO` if that fails, as userland's
/// `mmal_vc_init` answers without VCHIQ. Nothing if the software
/// VideoCore is chosen.
pub(crate) fn init() -> sys::MMAL_STATUS_T {
    match chosen() {
        Choice::Local => return sys::MMAL_SUCCESS,
        Choice::Invalid => return sys::MMAL_EIO,
        Choice::Vchiq => {}
    }
    match connect() {
        Ok(_) => sys::MMAL_SUCCESS,
        Err(status) => status,
    }
}

fn connect() -> Result<&'static sys::Api, sys::MMAL_STATUS_T> {
    let _one_at_a_time = CONNECTED.lock();
    if let Some(api) = READY.get() {
        return Ok(api);
    }
    let connection = vchiq::Connection::open().map_err(|e| {
        log::error!("mmal_vc_init: the VideoCore over /dev/vchiq is chosen, but {e}");
        sys::MMAL_EIO
    })?;
    let api = mmal_emu::vchiq_api(&connection).map_err(|e| {
        log::error!("mmal_vc_init: the VideoCore's MMAL service over /dev/vchiq: {e}");
        sys::MMAL_EIO
    })?;
    log::info!("MMAL over /dev/vchiq: the VideoCore's MMAL service is open");
    // Kept for the life of the process, as libmmal keeps its VCHIQ
    // connection: the components made on it live there.
    std::mem::forget(connection);
    Ok(READY.get_or_init(|| api))
}

/// `mmal_component_create` while the VCHIQ connection cannot be opened.
extern "C" fn unavailable_create(
    _name: *const std::ffi::c_char,
    _out: *mut *mut sys::MMAL_COMPONENT_T,
) -> sys::MMAL_STATUS_T {
    if chosen() == Choice::Invalid {
        log::error!("mmal_component_create: VIDEOCORE is not one of auto, hardware, emulated or vchiq");
    } else {
        log::error!(
            "mmal_component_create: /dev/vchiq or its MMAL service cannot be opened \
             (VIDEOCORE=emulated uses the software VideoCore)"
        );
    }
    sys::MMAL_ENXIO
}

#[cfg(test)]
mod tests {
    use super::{choose, Choice};

    #[test]
    fn vchiq_when_asked_or_when_auto_finds_the_device() {
        let never = || -> bool { panic!("the device is probed only where it decides") };
        assert_eq!(choose(Some("vchiq"), never), Choice::Vchiq);
        assert_eq!(choose(Some(" vchiq\n"), never), Choice::Vchiq);
        assert_eq!(choose(Some("emulated"), never), Choice::Local);
        // A value vcsm refuses: nothing (and no probe).
        assert_eq!(choose(Some("gpu"), never), Choice::Invalid);
        // `hardware` is how the mmal crate loads this library as libmmal
        // (off a Pi, where the device is missing).
        for auto in [None, Some(""), Some("auto"), Some("hardware")] {
            assert_eq!(choose(auto, || true), Choice::Vchiq, "{auto:?} with /dev/vchiq");
            assert_eq!(choose(auto, || false), Choice::Local, "{auto:?} without /dev/vchiq");
        }
    }
}
