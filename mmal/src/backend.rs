//! Choosing the MMAL provider: libmmal on a Pi, the software VideoCore
//! elsewhere.

use mmal_sys as sys;
use parking_lot::Mutex;
use vcsm::VideoCoreChoice;

use crate::error::{Error, Result};
use crate::loader;

/// Who implements MMAL for this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// libmmal, loaded at run time: on a Pi, talking to the VideoCore over
    /// `/dev/vchiq`; elsewhere, the software VideoCore's C library loaded
    /// the same way (`MMAL_LIB_DIR=target/videocore/<triple>/lib`).
    Hardware,
    /// The software VideoCore (`mmal-emu`), linked into this program.
    Emulated,
    /// MMAL spoken over `/dev/vchiq` by this crate itself, without
    /// libmmal (`VIDEOCORE=vchiq`; `auto` on 64-bit Raspberry Pi OS, where
    /// no libmmal exists).
    Vchiq,
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Provider::Hardware => "libmmal (hardware)",
            Provider::Emulated => "the software VideoCore",
            Provider::Vchiq => "MMAL over /dev/vchiq",
        })
    }
}

/// The provider of this process: its function table, and the libraries the
/// table points into.
pub(crate) struct Backend {
    pub(crate) api: sys::Api,
    pub(crate) provider: Provider,
    /// Whether `vc.` components exist (libmmal_vc_client loaded).
    pub(crate) vc_components: bool,
    /// The loaded libmmal is the software VideoCore's C library, which
    /// works with emulated VCSM memory.
    pub(crate) software: bool,
    /// Keeps the libraries loaded: every pointer in `api` points into them.
    /// A backend is never dropped (see [`backend`]), so they stay loaded
    /// until the process exits, as libmmal expects: its components and
    /// threads live in them.
    _libraries: Option<loader::Libraries>,
    /// The VCHIQ provider's connection, kept open for the process.
    #[cfg(feature = "vchiq")]
    _connection: Option<vchiq::Connection>,
}

static BACKEND: Mutex<Option<&'static Backend>> = Mutex::new(None);

#[cfg(feature = "emulator")]
fn emulated() -> Result<Backend> {
    Ok(Backend {
        api: *mmal_emu::api(),
        provider: Provider::Emulated,
        vc_components: true,
        software: true,
        _libraries: None,
        #[cfg(feature = "vchiq")]
        _connection: None,
    })
}

/// A backend on the software VideoCore whose function table the test
/// changed (to watch what the crate calls, and on which thread). Leaked,
/// as every backend is.
#[cfg(all(test, feature = "emulator"))]
pub(crate) fn emulated_with(edit: impl FnOnce(&mut sys::Api)) -> &'static Backend {
    let mut backend = emulated().expect("the software VideoCore");
    edit(&mut backend.api);
    Box::leak(Box::new(backend))
}

#[cfg(not(feature = "emulator"))]
fn emulated() -> Result<Backend> {
    Err(Error::Unsupported(
        "this program was built without the software VideoCore (the `emulator` feature of the mmal crate); \
         run it on a Raspberry Pi with the legacy camera stack, or set MMAL_LIB_DIR to the software VideoCore's \
         C libraries (cargo xtask videocore-libs)",
    ))
}

fn hardware() -> Result<Backend> {
    let loaded = loader::load()?;
    Ok(Backend {
        api: loaded.api,
        provider: Provider::Hardware,
        vc_components: loaded.vc_components,
        software: loaded.software,
        _libraries: Some(loaded.libraries),
        #[cfg(feature = "vchiq")]
        _connection: None,
    })
}

/// Chooses the VCHIQ provider's device: `emulated` (the software VideoCore
/// behind an emulated `/dev/vchiq`, in this process), or unset for the
/// real `/dev/vchiq`.
pub const VCHIQ_DEVICE_VAR: &str = "VIDEOCORE_VCHIQ_DEVICE";

#[cfg(feature = "vchiq")]
fn vchiq() -> Result<Backend> {
    let emulated = match std::env::var(VCHIQ_DEVICE_VAR).ok().as_deref().map(str::trim) {
        None | Some("") => false,
        Some("emulated") => true,
        Some(other) => {
            return Err(Error::Vcsm(vcsm::Error::InvalidEnvironment {
                name: VCHIQ_DEVICE_VAR,
                value: other.to_owned(),
                expected: "emulated, or unset for /dev/vchiq",
            }))
        }
    };
    let connection = if emulated {
        let device = std::sync::Arc::new(vchiq_emu::EmulatedVchiq::new());
        vchiq::Connection::with_device(device, vchiq::Options::default())
    } else {
        vchiq::Connection::open()
    }
    .map_err(|e| Error::VchiqService(e.into()))?;
    let api = mmal_emu::vchiq_api(&connection).map_err(Error::VchiqService)?;
    Ok(Backend {
        api: *api,
        provider: Provider::Vchiq,
        vc_components: true,
        software: emulated,
        _libraries: None,
        _connection: Some(connection),
    })
}

#[cfg(not(feature = "vchiq"))]
fn vchiq() -> Result<Backend> {
    Err(Error::Unsupported(
        "this program was built without the VCHIQ provider (the `vchiq` feature of the mmal crate); \
         rebuild with it, or unset VIDEOCORE",
    ))
}

/// The provider, chosen once per process (a failure is retried next time).
///
/// The backend is leaked on purpose: components, ports and buffers made from
/// it point into its libraries, and libmmal cannot be unloaded safely.
pub(crate) fn backend() -> Result<&'static Backend> {
    let mut slot = BACKEND.lock();
    if let Some(b) = *slot {
        return Ok(b);
    }
    // One parser for `VIDEOCORE`: vcsm's, so memory and MMAL read it alike.
    let backend = match VideoCoreChoice::from_env()? {
        VideoCoreChoice::Emulated => emulated()?,
        VideoCoreChoice::Hardware => hardware()?,
        VideoCoreChoice::Vchiq => vchiq()?,
        // Asked for by name: use it, or say why not.
        VideoCoreChoice::Auto if std::env::var_os(loader::MMAL_LIB_DIR_VAR).is_some() => hardware()?,
        VideoCoreChoice::Auto => {
            if vcsm::device_node_present("/dev/vchiq") {
                auto_on_a_pi(
                    AutoPlatform { vchiq_built: cfg!(feature = "vchiq"), wide: cfg!(target_pointer_width = "64") },
                    hardware,
                    vchiq,
                    || vcsm::ServiceManager::get().is_ok_and(|m| m.driver() == vcsm::DriverKind::Emulated),
                    emulated,
                )?
            } else {
                emulated()?
            }
        }
    };
    // Over a real /dev/vchiq, memory is only needed for zero copy, which
    // asks for it itself.
    if backend.provider != Provider::Vchiq || backend.software {
        check_pair(backend.provider, backend.software, vcsm::ServiceManager::get().map(|m| m.driver()))?;
    }
    log::info!("MMAL provider: {}{}", backend.provider, if backend.software { " (software VideoCore)" } else { "" });
    let backend: &'static Backend = Box::leak(Box::new(backend));
    *slot = Some(backend);
    Ok(backend)
}

/// What `auto` chooses among where `/dev/vchiq` exists.
#[derive(Clone, Copy)]
struct AutoPlatform {
    /// This build has the VCHIQ provider (the `vchiq` feature).
    vchiq_built: bool,
    /// A 64-bit process.
    wide: bool,
}

/// `auto` where `/dev/vchiq` exists (a Pi, or the preload library's
/// device), each provider tried by calling its constructor:
/// - a 64-bit process speaks MMAL over the device itself: libmmal is
///   32-bit (userland reverted its 64-bit port, whose buffers came back
///   with freed contexts); a 64-bit libmmal, which some distributions
///   build, only when asked for by name (`VIDEOCORE=hardware`);
/// - a 32-bit one loads libmmal where it is installed, else speaks MMAL
///   over the device; if neither works, why libmmal failed is the error
///   (the other is logged);
/// - a build without the VCHIQ provider loads libmmal.
///
/// If that fails, the software VideoCore is used only if the memory is
/// emulated too (`memory_emulated`): on a Pi, the failure is the error.
fn auto_on_a_pi<B>(
    platform: AutoPlatform,
    hardware: impl FnOnce() -> Result<B>,
    vchiq: impl FnOnce() -> Result<B>,
    memory_emulated: impl FnOnce() -> bool,
    emulated: impl FnOnce() -> Result<B>,
) -> Result<B> {
    let attempt = match platform {
        AutoPlatform { vchiq_built: false, .. } => hardware(),
        AutoPlatform { wide: true, .. } => vchiq(),
        AutoPlatform { wide: false, .. } => hardware().or_else(|e| {
            vchiq().inspect(|_| log::info!("speaking MMAL over /dev/vchiq: {e}")).map_err(|v| {
                log::warn!("MMAL over /dev/vchiq: {v}");
                e
            })
        }),
    };
    match attempt {
        Ok(b) => Ok(b),
        Err(e) if memory_emulated() => {
            log::info!("using the software VideoCore: {e}");
            emulated().map_err(|_| e)
        }
        Err(e) => Err(e),
    }
}

/// The provider if one was chosen already.
pub(crate) fn chosen() -> Option<&'static Backend> {
    *BACKEND.lock()
}

/// Refuses emulated memory with real libmmal, and real memory with the
/// software VideoCore. `software`: the provider is the software VideoCore,
/// linked in or loaded as a C library.
pub(crate) fn check_pair(provider: Provider, software: bool, memory: vcsm::Result<vcsm::DriverKind>) -> Result<()> {
    match (software, memory) {
        (true, Ok(vcsm::DriverKind::Emulated)) => Ok(()),
        (true, Ok(driver)) => Err(Error::MixedVideoCore {
            memory: driver.to_string(),
            mmal: "the software VideoCore",
            hint: if provider == Provider::Hardware {
                "MMAL_LIB_DIR names the software VideoCore's libraries; unset it to use the Pi's libmmal"
            } else {
                "libmmal could not be used: it exists for 32-bit Raspberry Pi OS with the legacy camera only"
            },
        }),
        // The software VideoCore's C library has memory of its own.
        (true, Err(e)) if provider == Provider::Hardware => {
            log::info!("VideoCore shared memory is unavailable ({e}); the software VideoCore library needs none");
            Ok(())
        }
        (true, Err(e)) => Err(Error::Vcsm(e)),
        (false, Ok(vcsm::DriverKind::Emulated)) => Err(Error::MixedVideoCore {
            memory: "emulated".to_owned(),
            mmal: "libmmal (hardware)",
            hint: "no VCSM device could be opened: check /dev/vcsm-cma or /dev/vcsm and the `video` group",
        }),
        (false, Ok(_)) => Ok(()),
        (false, Err(e)) => {
            // libmmal has its own VCSM; only lens shading tables need ours.
            log::warn!("VideoCore shared memory is unavailable ({e}); lens shading uploads will fail");
            Ok(())
        }
    }
}

/// Which MMAL provider this process uses, choosing it if not done yet.
///
/// `VIDEOCORE` chooses, as for `vcsm`: `emulated` links the software
/// VideoCore in; `hardware` loads libmmal (from `MMAL_LIB_DIR` if set, else
/// `/opt/vc/lib` and the system path); `vchiq` speaks MMAL over
/// `/dev/vchiq` itself, without libmmal ([`VCHIQ_DEVICE_VAR`]`=emulated`:
/// over the software VideoCore behind an emulated device); `auto` (the
/// default) loads libmmal if `MMAL_LIB_DIR` is set or `/dev/vchiq` exists
/// (on 64-bit, where no libmmal loads, it speaks MMAL over `/dev/vchiq`),
/// and otherwise uses the software VideoCore.
///
/// Loaded libraries stay loaded until the process exits: everything made
/// from them (components, ports, buffers, the callbacks they call) points
/// into them.
///
/// # Errors
///
/// [`Error::LibraryMissing`], [`Error::VchiqAccess`] and the like when
/// libmmal is asked for and cannot be used; [`Error::MixedVideoCore`] when
/// VCSM and MMAL would come from different VideoCores; [`Error::Vcsm`]
/// carrying `vcsm::Error::InvalidEnvironment` for a bad `VIDEOCORE`;
/// [`Error::Unsupported`] when the software VideoCore is needed but this
/// build left it out; [`Error::VchiqService`] when the VCHIQ provider
/// cannot open the VideoCore's MMAL service.
pub fn provider() -> Result<Provider> {
    backend().map(|b| b.provider)
}

/// Whether the provider is the software VideoCore, linked in
/// ([`Provider::Emulated`]) or loaded as a C library in place of libmmal.
///
/// # Errors
///
/// As for [`provider`].
pub fn is_software_videocore() -> Result<bool> {
    backend().map(|b| b.software)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::{auto_on_a_pi, AutoPlatform};
    use crate::{Error, Result};

    /// `auto_on_a_pi` with providers that succeed or fail as asked: the
    /// result, and the order in which the providers (and the memory's
    /// kind) were asked for.
    fn run(
        platform: AutoPlatform,
        hardware: bool,
        vchiq: bool,
        memory_emulated: bool,
    ) -> (Result<&'static str>, Vec<&'static str>) {
        run_with(platform, hardware, vchiq, memory_emulated, true)
    }

    /// As [`run`], the software VideoCore working or not.
    fn run_with(
        platform: AutoPlatform,
        hardware: bool,
        vchiq: bool,
        memory_emulated: bool,
        emulated: bool,
    ) -> (Result<&'static str>, Vec<&'static str>) {
        let asked = RefCell::new(Vec::new());
        let provider = |name: &'static str, works: bool| {
            let asked = &asked;
            move || {
                asked.borrow_mut().push(name);
                if works {
                    Ok(name)
                } else {
                    Err(Error::Unsupported(name))
                }
            }
        };
        let memory = || {
            asked.borrow_mut().push("memory");
            memory_emulated
        };
        let result = auto_on_a_pi(
            platform,
            provider("hardware", hardware),
            provider("vchiq", vchiq),
            memory,
            provider("emulated", emulated),
        );
        (result, asked.into_inner())
    }

    fn failed_with(r: &Result<&str>) -> &'static str {
        match r {
            Err(Error::Unsupported(name)) => name,
            other => panic!("{other:?}"),
        }
    }

    const WIDE: AutoPlatform = AutoPlatform { vchiq_built: true, wide: true };
    const ARM32: AutoPlatform = AutoPlatform { vchiq_built: true, wide: false };

    #[test]
    fn a_64_bit_process_speaks_mmal_itself_and_never_loads_libmmal() {
        let (r, asked) = run(WIDE, true, true, false);
        assert_eq!((r.unwrap(), asked), ("vchiq", vec!["vchiq"]));
        // On a Pi (real memory) its failure is the error.
        let (r, asked) = run(WIDE, true, false, false);
        assert_eq!((failed_with(&r), asked), ("vchiq", vec!["vchiq", "memory"]));
    }

    #[test]
    fn a_32_bit_process_loads_libmmal_first_then_speaks_mmal_itself() {
        let (r, asked) = run(ARM32, true, true, false);
        assert_eq!((r.unwrap(), asked), ("hardware", vec!["hardware"]));
        let (r, asked) = run(ARM32, false, true, false);
        assert_eq!((r.unwrap(), asked), ("vchiq", vec!["hardware", "vchiq"]));
        // Neither: why libmmal failed is the error.
        let (r, asked) = run(ARM32, false, false, false);
        assert_eq!((failed_with(&r), asked), ("hardware", vec!["hardware", "vchiq", "memory"]));
    }

    #[test]
    fn a_build_without_the_vchiq_provider_loads_libmmal() {
        let platform = AutoPlatform { vchiq_built: false, wide: true };
        let (r, asked) = run(platform, true, true, false);
        assert_eq!((r.unwrap(), asked), ("hardware", vec!["hardware"]));
        let (r, asked) = run(platform, false, true, true);
        assert_eq!((r.unwrap(), asked), ("emulated", vec!["hardware", "memory", "emulated"]));
    }

    #[test]
    fn the_software_videocore_only_where_the_memory_is_emulated_too() {
        let (r, asked) = run(WIDE, true, false, true);
        assert_eq!((r.unwrap(), asked), ("emulated", vec!["vchiq", "memory", "emulated"]));
        let (r, asked) = run(ARM32, false, false, true);
        assert_eq!((r.unwrap(), asked), ("emulated", vec!["hardware", "vchiq", "memory", "emulated"]));
        // If it fails too, the first error is the one given.
        let (r, asked) = run_with(WIDE, true, false, true, false);
        assert_eq!((failed_with(&r), asked), ("vchiq", vec!["vchiq", "memory", "emulated"]));
    }
}
