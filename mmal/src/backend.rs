//! Choosing the MMAL provider: libmmal on a Pi, the software VideoCore
//! elsewhere.

use std::sync::{Mutex, PoisonError};

use mmal_sys as sys;
use vcsm::VideoCoreChoice;

use crate::error::{Error, Result};
use crate::loader;

/// Who implements MMAL for this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// libmmal, talking to the VideoCore over `/dev/vchiq`.
    Hardware,
    /// The software VideoCore (`mmal-emu`).
    Emulated,
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Provider::Hardware => "libmmal (hardware)",
            Provider::Emulated => "the software VideoCore",
        })
    }
}

pub(crate) struct Backend {
    pub(crate) api: sys::Api,
    pub(crate) provider: Provider,
    /// Whether `vc.` components exist (libmmal_vc_client loaded).
    pub(crate) vc_components: bool,
}

static BACKEND: Mutex<Option<&'static Backend>> = Mutex::new(None);

fn emulated() -> Backend {
    Backend { api: *mmal_emu::api(), provider: Provider::Emulated, vc_components: true }
}

fn hardware() -> Result<Backend> {
    let loaded = loader::load()?;
    Ok(Backend { api: loaded.api, provider: Provider::Hardware, vc_components: loaded.vc_components })
}

/// The provider, chosen once per process (a failure is retried next time).
pub(crate) fn backend() -> Result<&'static Backend> {
    let mut slot = BACKEND.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(b) = *slot {
        return Ok(b);
    }
    // One parser for `VIDEOCORE`: vcsm's, so memory and MMAL read it alike.
    let backend = match VideoCoreChoice::from_env()? {
        VideoCoreChoice::Emulated => emulated(),
        VideoCoreChoice::Hardware => hardware()?,
        VideoCoreChoice::Auto => {
            if std::path::Path::new("/dev/vchiq").exists() {
                match hardware() {
                    Ok(b) => b,
                    Err(e) => {
                        log::info!("using the software VideoCore: {e}");
                        emulated()
                    }
                }
            } else {
                emulated()
            }
        }
    };
    check_pair(backend.provider, vcsm::ServiceManager::get().map(|m| m.driver()))?;
    log::info!("MMAL provider: {}", backend.provider);
    let backend: &'static Backend = Box::leak(Box::new(backend));
    *slot = Some(backend);
    Ok(backend)
}

/// Refuses emulated memory with hardware MMAL, and the reverse.
pub(crate) fn check_pair(provider: Provider, memory: vcsm::Result<vcsm::DriverKind>) -> Result<()> {
    match (provider, memory) {
        (Provider::Emulated, Ok(vcsm::DriverKind::Emulated)) => Ok(()),
        (Provider::Emulated, Ok(driver)) => Err(Error::MixedVideoCore {
            memory: driver.to_string(),
            mmal: "emulated",
            hint: "libmmal could not be used: it exists for 32-bit Raspberry Pi OS with the legacy camera only",
        }),
        (Provider::Emulated, Err(e)) => Err(Error::Vcsm(e)),
        (Provider::Hardware, Ok(vcsm::DriverKind::Emulated)) => Err(Error::MixedVideoCore {
            memory: "emulated".to_owned(),
            mmal: "libmmal (hardware)",
            hint: "no VCSM device could be opened: check /dev/vcsm-cma or /dev/vcsm and the `video` group",
        }),
        (Provider::Hardware, Ok(_)) => Ok(()),
        (Provider::Hardware, Err(e)) => {
            // libmmal has its own VCSM; only lens shading tables need ours.
            log::warn!("VideoCore shared memory is unavailable ({e}); lens shading uploads will fail");
            Ok(())
        }
    }
}

/// Which MMAL provider this process uses, choosing it if not done yet
/// (`VIDEOCORE=auto|hardware|emulated`, as for `vcsm`).
///
/// # Errors
///
/// [`Error::LibraryMissing`], [`Error::VchiqAccess`] and the like when
/// `VIDEOCORE=hardware` and libmmal cannot be used;
/// [`Error::MixedVideoCore`] when VCSM and MMAL would come from different
/// VideoCores; [`Error::Vcsm`] carrying `vcsm::Error::InvalidEnvironment`
/// for a bad `VIDEOCORE`.
pub fn provider() -> Result<Provider> {
    backend().map(|b| b.provider)
}
