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
/// or its MMAL service cannot be opened: the local one, but a component
/// cannot be created.
static UNAVAILABLE: LazyLock<sys::Api> =
    LazyLock::new(|| sys::Api { component_create: unavailable_create, ..*mmal_emu::api() });

/// Where components are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Choice {
    /// The software VideoCore linked in.
    Local,
    /// The VideoCore behind `/dev/vchiq`.
    Vchiq,
}

/// The choice for a value of `VIDEOCORE`; `vchiq_present` is asked only
/// where the device decides. `hardware` (a real VideoCore where there is
/// one: the `mmal` crate loads this library as libmmal with it, off a Pi)
/// decides as `auto` does; a value vcsm would refuse is said so, then
/// taken as `auto`.
fn choose(value: Option<&str>, vchiq_present: impl FnOnce() -> bool) -> Choice {
    let probe = |present: bool| if present { Choice::Vchiq } else { Choice::Local };
    match value.map(str::trim) {
        Some("vchiq") => Choice::Vchiq,
        Some("emulated") => Choice::Local,
        None | Some("" | "auto" | "hardware") => probe(vchiq_present()),
        Some(other) => {
            log::error!("VIDEOCORE={other}: not one of auto, hardware, emulated or vchiq; taken as auto");
            probe(vchiq_present())
        }
    }
}

/// Whether the VideoCore over VCHIQ is chosen, decided once.
fn vchiq_chosen() -> bool {
    static CHOSEN: LazyLock<bool> = LazyLock::new(|| {
        let value = std::env::var(vcsm::VIDEOCORE_VAR).ok();
        choose(value.as_deref(), || vcsm::device_node_present("/dev/vchiq")) == Choice::Vchiq
    });
    *CHOSEN
}

/// The VCSM memory libvcsm's functions allocate from: the software
/// VideoCore's own, or with the VideoCore over VCHIQ its own behind
/// `/dev/vcsm-cma` (the memory its handles name), as vcsm's `auto`
/// chooses it.
pub(crate) fn memory() -> vcsm::Result<&'static vcsm::ServiceManager> {
    if vchiq_chosen() {
        vcsm::ServiceManager::get()
    } else {
        vcsm::ServiceManager::emulated()
    }
}

/// The function table the exports forward to: once the connection is
/// open, without a lock (every export, per frame too, comes here). Until
/// then, only a component's create tries to open it (as libmmal's opens
/// its connection from `mmal_vc_component_create`), and `mmal_vc_init`.
pub(crate) fn api() -> &'static sys::Api {
    if !vchiq_chosen() {
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
    if !vchiq_chosen() {
        return sys::MMAL_SUCCESS;
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
    log::error!("mmal_component_create: /dev/vchiq or its MMAL service cannot be opened (VIDEOCORE=emulated uses the software VideoCore)");
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
        // `hardware` is how the mmal crate loads this library as libmmal
        // (off a Pi, where the device is missing); a value vcsm refuses is
        // taken as auto.
        for auto in [None, Some(""), Some("auto"), Some("hardware"), Some("gpu")] {
            assert_eq!(choose(auto, || true), Choice::Vchiq, "{auto:?} with /dev/vchiq");
            assert_eq!(choose(auto, || false), Choice::Local, "{auto:?} without /dev/vchiq");
        }
    }
}
