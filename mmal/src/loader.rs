//! Loading libmmal at run time (the hardware provider).
#![allow(unsafe_code)]

use std::path::{Path, PathBuf};

use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_LAZY};
use mmal_sys as sys;

use crate::error::{Error, Result};

/// Environment variable naming the directory that holds libmmal.
pub const MMAL_LIB_DIR_VAR: &str = "MMAL_LIB_DIR";

/// The libraries, in an order that resolves, and whether each is required:
/// libvcos first; core and util need each other, so everything is opened
/// with lazy, global binding. `bcm_host` is opened (and initialised) as
/// raspistill and picamera do before any MMAL call.
const LIBRARIES: [(&str, bool); 7] = [
    ("vcos", true),
    ("vchiq_arm", false),
    ("vcsm", false),
    ("bcm_host", false),
    ("mmal_core", true),
    ("mmal_util", true),
    ("mmal_vc_client", false),
];

/// libmmal's own host-side components (`null_sink`, `splitter`, `copy`…).
const COMPONENTS_LIBRARY: &str = "mmal_components";

/// Where to look for `lib{name}`: `MMAL_LIB_DIR` alone if set, else
/// Buster's `/opt/vc/lib` (unversioned) and Bullseye's system path
/// (`.so.0`, then the `-dev` package's unversioned link).
pub(crate) fn candidates(name: &str, dir: Option<&Path>) -> Vec<PathBuf> {
    match dir {
        Some(dir) => vec![dir.join(format!("lib{name}.so")), dir.join(format!("lib{name}.so.0"))],
        None => vec![
            PathBuf::from(format!("/opt/vc/lib/lib{name}.so")),
            PathBuf::from(format!("lib{name}.so.0")),
            PathBuf::from(format!("lib{name}.so")),
        ],
    }
}

/// Loaded libraries. They must outlive every function pointer and object
/// taken from them: the backend that owns them is never dropped, and they
/// are opened with `RTLD_NODELETE`, so a failed load leaves them in place
/// too.
pub(crate) struct Libraries(#[allow(dead_code)] Vec<Library>);

/// The loaded libraries and the table taken from them.
pub(crate) struct Loaded {
    pub(crate) api: sys::Api,
    /// libmmal_vc_client is loaded: `vc.` components can exist.
    pub(crate) vc_components: bool,
    /// The libraries are the software VideoCore's (they export
    /// [`sys::SOFTWARE_VIDEOCORE_SYMBOL`]).
    pub(crate) software: bool,
    pub(crate) libraries: Libraries,
}

fn open(name: &str, dir: Option<&Path>) -> std::result::Result<Library, String> {
    let mut errors = Vec::new();
    for path in candidates(name, dir) {
        // Never unloaded (RTLD_NODELETE), even when loading fails later:
        // bcm_host_init and mmal_vc_init may have started threads that run
        // the libraries' code.
        // SAFETY: loading runs the library's initialisers; libmmal's only
        // register its components and set up vcos, which is what loading
        // it is for.
        match unsafe { Library::open(Some(&path), RTLD_LAZY | RTLD_GLOBAL | libc::RTLD_NODELETE) } {
            Ok(lib) => {
                log::debug!("loaded {}", path.display());
                return Ok(lib);
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    Err(errors.join("; "))
}

const ADVICE_64: &str = "MMAL exists for 32-bit Raspberry Pi OS only, and this program is 64-bit: build for \
    armv7-unknown-linux-gnueabihf and run it on 32-bit Buster, or Bullseye with the legacy camera, or set \
    VIDEOCORE=emulated for the software VideoCore";
const ADVICE_32: &str = "install the legacy userland (Buster: /opt/vc/lib; Bullseye: the libraspberrypi0 \
    package); Bookworm no longer has MMAL. Set MMAL_LIB_DIR if the libraries are elsewhere, or VIDEOCORE=emulated \
    for the software VideoCore";

/// Loads libmmal and fills the function table.
pub(crate) fn load() -> Result<Loaded> {
    let dir = std::env::var_os(MMAL_LIB_DIR_VAR).map(PathBuf::from);
    let advice = if cfg!(target_pointer_width = "64") { ADVICE_64 } else { ADVICE_32 };
    let mut libraries = Vec::new();
    let mut core_util = Vec::new();
    let mut vc_components = false;
    for (name, required) in LIBRARIES {
        match open(name, dir.as_deref()) {
            Ok(lib) => {
                if name == "mmal_core" || name == "mmal_util" {
                    core_util.push(libraries.len());
                }
                vc_components |= name == "mmal_vc_client";
                libraries.push(lib);
            }
            Err(detail) if required => {
                return Err(Error::LibraryMissing { detail: format!("lib{name}: {detail}"), advice });
            }
            Err(detail) => log::debug!("lib{name} not loaded: {detail}"),
        }
    }
    if let Ok(lib) = open(COMPONENTS_LIBRARY, dir.as_deref()) {
        libraries.push(lib);
    }
    // One lookup per entry of the list that declares the table: each C
    // symbol into its field, with the field's type.
    macro_rules! table {
        ($($(#[$doc:meta])* $symbol:ident => $field:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;)*) => {
            sys::Api { $($field: symbol(&libraries, &core_util, stringify!($symbol))?,)* }
        };
    }
    let api = sys::for_each_api!(table);
    // SAFETY: the marker is `const char *(void)`; only its presence is used.
    let software = unsafe {
        optional::<unsafe extern "C" fn() -> *const std::ffi::c_char>(&libraries, sys::SOFTWARE_VIDEOCORE_SYMBOL)
    }
    .is_some();
    // userland's `bcm_host_init` ends the process if it cannot reach the
    // VideoCore: a device that will not open (a user not in the `video`
    // group) is said first, as an error. The software VideoCore needs no
    // device.
    if !software {
        check_vchiq()?;
    }
    // SAFETY: `void bcm_host_init(void)`.
    if let Some(init) = unsafe { optional::<unsafe extern "C" fn()>(&libraries, "bcm_host_init") } {
        // SAFETY: takes nothing; called once per process (the backend is
        // made once), before any MMAL call, as raspistill does. Its
        // `bcm_host_deinit` is left to process exit.
        unsafe { init() };
    }
    // `mmal_vc_init` connects to the VideoCore and registers the `vc.`
    // components (older libraries do only the latter from a constructor).
    // SAFETY: `MMAL_STATUS_T mmal_vc_init(void)`.
    if let Some(init) = unsafe { optional::<unsafe extern "C" fn() -> sys::MMAL_STATUS_T>(&libraries, "mmal_vc_init") }
    {
        // SAFETY: takes nothing; called once per process, and the matching
        // `mmal_vc_deinit` is left to process exit.
        let status = unsafe { init() };
        if status != sys::MMAL_SUCCESS {
            // Say why, starting with the device it needs.
            check_vchiq()?;
            return Err(Error::VideoCoreInit {
                status: crate::Status::from_raw(status).unwrap_or(crate::Status::Unknown(status)),
            });
        }
    }
    Ok(Loaded { api, vc_components, software, libraries: Libraries(libraries) })
}

/// Looks up an optional C function `name` in any of `libraries`.
///
/// # Safety
///
/// `T` must be the function's C signature.
unsafe fn optional<T: Copy>(libraries: &[Library], name: &str) -> Option<T> {
    libraries.iter().find_map(|lib| {
        // SAFETY: `T` is the symbol's type (the caller's promise).
        unsafe { lib.get::<T>(name.as_bytes()) }.ok().map(|s| *s)
    })
}

/// Looks `name` up in libmmal_core and libmmal_util, as the `Api` field
/// type `T`.
fn symbol<T: Copy>(libraries: &[Library], core_util: &[usize], name: &'static str) -> Result<T> {
    let mut last = String::new();
    for &i in core_util {
        // SAFETY: `T` is the type of the `Api` field for `name`, which
        // mmal-sys declares with libmmal's C signature for that function.
        match unsafe { libraries[i].get::<T>(name.as_bytes()) } {
            Ok(s) => return Ok(*s),
            Err(e) => last = e.to_string(),
        }
    }
    Err(Error::SymbolMissing { symbol: name, detail: last })
}

/// Fails with advice when `/dev/vchiq` cannot be opened.
pub(crate) fn check_vchiq() -> Result<()> {
    vchiq_advice(std::fs::OpenOptions::new().read(true).write(true).open("/dev/vchiq").map(drop))
}

pub(crate) fn vchiq_advice(result: std::io::Result<()>) -> Result<()> {
    result.map_err(|source| {
        let advice = match source.kind() {
            std::io::ErrorKind::PermissionDenied => {
                "add your user to the `video` group (sudo usermod -aG video $USER), then log out and in again"
            }
            std::io::ErrorKind::NotFound => {
                "the VideoCore's VCHIQ device is missing: this is not a Raspberry Pi running the legacy camera stack \
                 (enable it with raspi-config → Interface Options → Legacy Camera)"
            }
            _ => "check that the firmware and kernel are those of Raspberry Pi OS",
        };
        Error::VchiqAccess { advice, source }
    })
}
