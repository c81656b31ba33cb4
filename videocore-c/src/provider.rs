//! Where the library's components are made: on the software VideoCore
//! linked in (the default), or, with `VIDEOCORE=vchiq`, on the VideoCore
//! behind `/dev/vchiq`, spoken to in MMAL over VCHIQ by the software
//! VideoCore's own client (`mmal_emu::vchiq_api`): the way C programs and
//! picamera get MMAL on 64-bit Raspberry Pi OS, where no libmmal exists.
//! Off a Pi, the preload library (`vchiq-preload`) answers `/dev/vchiq`.
//!
//! Only `mmal_component_create` differs between the two tables; every
//! other entry tells the VideoCore's objects from local ones itself.

use std::sync::LazyLock;

use mmal_sys as sys;
use parking_lot::Mutex;

/// The table of the VCHIQ provider, once its connection is open.
static CONNECTED: Mutex<Option<&'static sys::Api>> = Mutex::new(None);

/// The table while `VIDEOCORE=vchiq` and `/dev/vchiq` cannot be opened:
/// the local one, but a component cannot be created.
static UNAVAILABLE: LazyLock<sys::Api> =
    LazyLock::new(|| sys::Api { component_create: unavailable_create, ..*mmal_emu::api() });

/// Whether `VIDEOCORE=vchiq` asks for the VideoCore over VCHIQ.
fn vchiq_chosen() -> bool {
    static CHOSEN: LazyLock<bool> =
        LazyLock::new(|| std::env::var(vcsm::VIDEOCORE_VAR).is_ok_and(|v| v.trim() == "vchiq"));
    *CHOSEN
}

/// The VCSM memory libvcsm's functions allocate from: the software
/// VideoCore's own, or with `VIDEOCORE=vchiq` the VideoCore's behind
/// `/dev/vcsm-cma` (the memory its handles name), as `auto` chooses it.
pub(crate) fn memory() -> vcsm::Result<&'static vcsm::ServiceManager> {
    if vchiq_chosen() {
        vcsm::ServiceManager::get()
    } else {
        vcsm::ServiceManager::emulated()
    }
}

/// The function table the exports forward to.
pub(crate) fn api() -> &'static sys::Api {
    if !vchiq_chosen() {
        return mmal_emu::api();
    }
    match connect() {
        Ok(api) => api,
        Err(_) => &UNAVAILABLE,
    }
}

/// Opens `/dev/vchiq` and the MMAL service on it, once (a failure is tried
/// again on the next call); `MMAL_EIO` if that fails, as userland's
/// `mmal_vc_init` answers without VCHIQ. Nothing if `VIDEOCORE` is not
/// `vchiq`.
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
    let mut slot = CONNECTED.lock();
    if let Some(api) = *slot {
        return Ok(api);
    }
    let connection = vchiq::Connection::open().map_err(|e| {
        log::error!("mmal_vc_init: VIDEOCORE=vchiq, but {e}");
        sys::MMAL_EIO
    })?;
    let api = mmal_emu::vchiq_api(&connection).map_err(|e| {
        log::error!("mmal_vc_init: the VideoCore's MMAL service over /dev/vchiq: {e}");
        sys::MMAL_EIO
    })?;
    // Kept for the life of the process, as libmmal keeps its VCHIQ
    // connection: the components made on it live there.
    std::mem::forget(connection);
    *slot = Some(api);
    Ok(api)
}

/// `mmal_component_create` while the VCHIQ connection cannot be opened.
extern "C" fn unavailable_create(
    _name: *const std::ffi::c_char,
    _out: *mut *mut sys::MMAL_COMPONENT_T,
) -> sys::MMAL_STATUS_T {
    log::error!("mmal_component_create: VIDEOCORE=vchiq, but /dev/vchiq or its MMAL service cannot be opened");
    sys::MMAL_ENXIO
}
