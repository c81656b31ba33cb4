//! The service manager: opens the driver once per process and accounts for
//! every block.

use std::fmt;
use std::io;
use std::os::fd::BorrowedFd;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::driver::{cma, emulated, legacy, AllocRequest, Driver};
use crate::live::Claim;
use crate::sys::{file_id, open_device, Kernel};
use crate::{CacheMode, Error, Result, SharedMemory, Stats};

/// Environment variable choosing the VideoCore: `auto` (the default),
/// `hardware` or `emulated`.
pub const VIDEOCORE_VAR: &str = "VIDEOCORE";

/// Which driver a [`ServiceManager`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DriverKind {
    /// vc-sm-cma, `/dev/vcsm-cma`: kernels 5.4 and later, 32- and 64-bit.
    Cma,
    /// The legacy vc-sm driver, `/dev/vcsm`: kernels up to 5.4, 32-bit only.
    Legacy,
    /// The software VideoCore, for machines without one.
    Emulated,
}

impl fmt::Display for DriverKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DriverKind::Cma => "vc-sm-cma",
            DriverKind::Legacy => "legacy vc-sm",
            DriverKind::Emulated => "emulated",
        })
    }
}

/// The process's connection to VideoCore shared memory.
///
/// There is one per process, opened lazily by the first call to
/// [`get`](Self::get) and kept until the process exits, so every
/// [`SharedMemory`] can rely on it (the legacy driver frees every block when
/// its device is closed).
///
/// # Choosing the VideoCore
///
/// The `VIDEOCORE` environment variable decides, read on first use:
///
/// * `auto` (or unset): `/dev/vcsm-cma` if it exists, else `/dev/vcsm` (on
///   32-bit ARM); on a Raspberry Pi with neither, an error that says how to
///   enable the driver; anywhere else, the emulated VideoCore, announced once
///   through the `log` facade.
/// * `hardware`: a real driver or an error; never emulation.
/// * `emulated`: the emulated VideoCore, even on a Pi.
///
/// ```
/// # fn main() -> vcsm::Result<()> {
/// let manager = vcsm::ServiceManager::get()?;
/// println!("{}", manager.stats());
/// # Ok(()) }
/// ```
pub struct ServiceManager {
    driver: Driver,
    live_allocations: AtomicU64,
    live_bytes: AtomicU64,
    total_allocations: AtomicU64,
    failed_allocations: AtomicU64,
}

impl fmt::Debug for ServiceManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceManager").field("driver", &self.driver()).finish_non_exhaustive()
    }
}

static MANAGER: OnceLock<ServiceManager> = OnceLock::new();
static OPENING: Mutex<()> = Mutex::new(());

/// The user's choice of VideoCore, from `VIDEOCORE`; exported as
/// [`VideoCoreChoice`](crate::VideoCoreChoice) so that every crate of the
/// workspace reads the variable the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// `auto` (or unset): the hardware where there is one, else emulation.
    Auto,
    /// `hardware`: a real VideoCore or an error.
    Hardware,
    /// `emulated`: the software VideoCore, even on a Pi.
    Emulated,
    /// `vchiq`: MMAL spoken over `/dev/vchiq` without libmmal (the `mmal`
    /// crate's VCHIQ provider, for 64-bit Raspberry Pi OS). Memory is
    /// chosen as for `auto`.
    Vchiq,
}

impl Choice {
    pub(crate) fn parse(value: Option<&str>) -> Result<Choice> {
        match value.map(str::trim) {
            None | Some("" | "auto") => Ok(Choice::Auto),
            Some("hardware") => Ok(Choice::Hardware),
            Some("emulated") => Ok(Choice::Emulated),
            Some("vchiq") => Ok(Choice::Vchiq),
            Some(other) => Err(Error::InvalidEnvironment {
                name: VIDEOCORE_VAR,
                value: other.to_owned(),
                expected: "auto, hardware, emulated or vchiq",
            }),
        }
    }

    /// Reads `VIDEOCORE` (surrounding spaces ignored).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEnvironment`] for a value other than `auto`,
    /// `hardware`, `emulated` or `vchiq`.
    pub fn from_env() -> Result<Choice> {
        Choice::parse(std::env::var(VIDEOCORE_VAR).ok().as_deref())
    }
}

/// What this machine offers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Probe {
    pub(crate) cma_node: bool,
    pub(crate) legacy_node: bool,
    /// The device-tree model, when it names a Raspberry Pi.
    pub(crate) raspberry_pi: Option<String>,
    /// Whether this build can use the legacy driver (32-bit ARM).
    pub(crate) legacy_usable: bool,
}

impl Probe {
    pub(crate) fn this_machine() -> Probe {
        let model = std::fs::read("/proc/device-tree/model")
            .ok()
            .map(|bytes| String::from_utf8_lossy(&bytes).trim_end_matches('\0').trim().to_owned());
        Probe {
            cma_node: device_node_present(cma::PATH),
            legacy_node: device_node_present(legacy::PATH),
            raspberry_pi: model.filter(|m| m.contains("Raspberry Pi")),
            legacy_usable: cfg!(target_pointer_width = "32"),
        }
    }
}

/// Whether the device node `path` (`/dev/vcsm-cma`, `/dev/vchiq`...) is
/// there: it opens, or fails for another reason than its absence (a user
/// outside the `video` group is told so when it is opened for real).
/// Probed by opening rather than by `stat`, so that a device answered by an
/// interposed `open` (the preload library's emulated `/dev/vchiq` and
/// `/dev/vcsm-cma`) is found as a program finds it. The `mmal` crate probes
/// `/dev/vchiq` with it too.
///
/// ```
/// assert!(!vcsm::device_node_present("/dev/no-such-videocore-node"));
/// ```
pub fn device_node_present(path: &str) -> bool {
    match open_device(path) {
        Ok(_) => true,
        Err(e) => e.kind() != io::ErrorKind::NotFound && Path::new(path).exists(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    Cma,
    Legacy,
    Emulated { announce: bool },
    Fail(String),
}

const ENABLE_ADVICE: &str = "enable the legacy camera stack (raspi-config > Interface Options > Legacy Camera, \
     or start_x=1 and gpu_mem=128 or more in /boot/config.txt), reboot, and check `dmesg | grep -i vcsm`; \
     or set VIDEOCORE=emulated to use the software VideoCore";

pub(crate) fn plan(choice: Choice, probe: &Probe) -> Plan {
    if choice == Choice::Emulated {
        return Plan::Emulated { announce: false };
    }
    if probe.cma_node {
        return Plan::Cma;
    }
    if probe.legacy_node {
        if probe.legacy_usable {
            return Plan::Legacy;
        }
        return Plan::Fail(
            "only the legacy /dev/vcsm exists, which 64-bit programs cannot use: \
             run a kernel with /dev/vcsm-cma (5.4 or later), or build for armv7-unknown-linux-gnueabihf"
                .into(),
        );
    }
    match (&probe.raspberry_pi, choice) {
        (Some(model), _) => {
            Plan::Fail(format!("this is a {model} but neither /dev/vcsm-cma nor /dev/vcsm exists: {ENABLE_ADVICE}"))
        }
        (None, Choice::Hardware) => Plan::Fail(
            "VIDEOCORE=hardware, but this machine has neither /dev/vcsm-cma nor /dev/vcsm \
             (it is not a Raspberry Pi with the VideoCore drivers loaded); unset VIDEOCORE or set VIDEOCORE=emulated"
                .into(),
        ),
        (None, _) => Plan::Emulated { announce: true },
    }
}

fn open_node(path: &'static str) -> Result<std::os::fd::OwnedFd> {
    open_device(path).map_err(|e| match e.kind() {
        io::ErrorKind::PermissionDenied => Error::PermissionDenied { path, source: e },
        io::ErrorKind::NotFound => {
            Error::NoDriver { advice: format!("{path} disappeared while opening it: {ENABLE_ADVICE}") }
        }
        _ => Error::syscall(if path == cma::PATH { "open /dev/vcsm-cma" } else { "open /dev/vcsm" }, e),
    })
}

impl ServiceManager {
    /// The process's service manager, opening the driver on first use.
    ///
    /// # Errors
    ///
    /// [`Error::NoDriver`] on a Pi without the driver, or with
    /// `VIDEOCORE=hardware` on a machine without one;
    /// [`Error::PermissionDenied`] if the user is not in the `video` group;
    /// [`Error::InvalidEnvironment`] for a bad `VIDEOCORE`,
    /// `VIDEOCORE_EMU_CMA` or `VIDEOCORE_EMU_FAIL_EVERY`. A failed open is
    /// retried by the next call.
    pub fn get() -> Result<&'static ServiceManager> {
        if let Some(manager) = MANAGER.get() {
            return Ok(manager);
        }
        let _guard = crate::lock(&OPENING);
        if let Some(manager) = MANAGER.get() {
            return Ok(manager);
        }
        let manager = ServiceManager::open(Choice::from_env()?, &Probe::this_machine(), true)?;
        Ok(MANAGER.get_or_init(|| manager))
    }

    /// The process's service manager if one is open already (by
    /// [`get`](Self::get) or [`emulated`](Self::emulated)), without
    /// opening one: for code that reads the memory's figures where it is
    /// open, and must not choose the process's memory by asking.
    ///
    /// ```
    /// if let Some(manager) = vcsm::ServiceManager::opened() {
    ///     println!("{:?}", manager.driver());
    /// }
    /// ```
    pub fn opened() -> Option<&'static ServiceManager> {
        MANAGER.get()
    }

    /// The process's service manager on the emulated VideoCore, whatever
    /// `VIDEOCORE` says: for the software VideoCore itself, whose
    /// components know no other memory. Opens it if no manager is open yet.
    ///
    /// # Errors
    ///
    /// [`Error::NoDriver`] if this process already opened a real driver
    /// (the emulated memory cannot join it); [`Error::InvalidEnvironment`]
    /// for a bad `VIDEOCORE_EMU_CMA` or `VIDEOCORE_EMU_FAIL_EVERY`.
    pub fn emulated() -> Result<&'static ServiceManager> {
        let manager = match MANAGER.get() {
            Some(manager) => manager,
            None => {
                let _guard = crate::lock(&OPENING);
                match MANAGER.get() {
                    Some(manager) => manager,
                    None => {
                        let manager = ServiceManager::open(Choice::Emulated, &Probe::default(), false)?;
                        MANAGER.get_or_init(|| manager)
                    }
                }
            }
        };
        if manager.library_memory() {
            return Err(Error::NoDriver {
                advice: "this process uses the memory of the software VideoCore library in MMAL_LIB_DIR, and the \
                         software VideoCore linked into it cannot use that: use one of the two (unset MMAL_LIB_DIR, \
                         or VIDEOCORE=hardware to load the library)"
                    .into(),
            });
        }
        if manager.driver() != DriverKind::Emulated {
            return Err(Error::NoDriver {
                advice: format!(
                    "this process already uses the {} driver, and the software VideoCore's components can use only \
                     emulated memory: choose one VideoCore per process (VIDEOCORE=emulated or hardware)",
                    manager.driver()
                ),
            });
        }
        Ok(manager)
    }

    /// Opens the driver `choice` and this machine call for. With `library`,
    /// emulated memory comes from the software VideoCore library the
    /// process uses, if any (see [`crate::emulated::library`]): under
    /// `auto` on a machine without a VideoCore, and under `hardware` where
    /// there is none but `MMAL_LIB_DIR` names that library.
    fn open(choice: Choice, probe: &Probe, library: bool) -> Result<ServiceManager> {
        let from_library = || library.then(crate::emulated::library::find).flatten();
        let driver = match plan(choice, probe) {
            Plan::Cma => Driver::Cma(cma::Cma::new(open_node(cma::PATH)?, Box::new(Kernel))),
            Plan::Legacy => Driver::Legacy(legacy::Legacy::new(open_node(legacy::PATH)?, Box::new(Kernel))),
            Plan::Emulated { announce } => match (choice == Choice::Auto).then(from_library).flatten() {
                Some(table) => Driver::Emulated(emulated::Emulated::library(table)),
                None => {
                    let vc = crate::emulated::videocore()?;
                    if announce {
                        log::info!("no VideoCore on this machine: using the emulated VideoCore (VIDEOCORE=hardware requires a real one)");
                    }
                    Driver::Emulated(emulated::Emulated::new(vc))
                }
            },
            Plan::Fail(advice) => {
                let wanted = choice == Choice::Hardware && probe.raspberry_pi.is_none();
                match wanted.then(from_library).flatten() {
                    Some(table) => {
                        log::info!("no VCSM device: using the memory of the software VideoCore in MMAL_LIB_DIR");
                        Driver::Emulated(emulated::Emulated::library(table))
                    }
                    None => return Err(Error::NoDriver { advice }),
                }
            }
        };
        log::debug!("VideoCore shared memory: {} driver", driver.kind());
        Ok(ServiceManager::with_driver(driver))
    }

    fn with_driver(driver: Driver) -> ServiceManager {
        ServiceManager {
            driver,
            live_allocations: AtomicU64::new(0),
            live_bytes: AtomicU64::new(0),
            total_allocations: AtomicU64::new(0),
            failed_allocations: AtomicU64::new(0),
        }
    }

    /// A manager over a given driver, for driver tests.
    #[cfg(test)]
    pub(crate) fn leak_with_driver(driver: Driver) -> &'static ServiceManager {
        Box::leak(Box::new(ServiceManager::with_driver(driver)))
    }

    /// Whether the memory is that of a software VideoCore library this
    /// process loaded, not this crate's own.
    fn library_memory(&self) -> bool {
        matches!(&self.driver, Driver::Emulated(e) if e.table().is_some())
    }

    /// The driver in use.
    pub fn driver(&self) -> DriverKind {
        self.driver.kind()
    }

    /// A snapshot of this process's blocks and of the pool they come from.
    pub fn stats(&self) -> Stats {
        let mut stats = Stats::new(self.driver());
        stats.live_allocations = self.live_allocations.load(Ordering::Relaxed);
        stats.live_bytes = self.live_bytes.load(Ordering::Relaxed);
        stats.total_allocations = self.total_allocations.load(Ordering::Relaxed);
        stats.failed_allocations = self.failed_allocations.load(Ordering::Relaxed);
        self.driver.pool_stats(&mut stats);
        stats
    }

    /// The size a request for `size` bytes allocates (page-rounded).
    ///
    /// # Errors
    ///
    /// [`Error::ZeroSize`], or [`Error::SizeTooLarge`] if the driver cannot
    /// express it.
    pub fn rounded_size(&self, size: usize) -> Result<usize> {
        if size == 0 {
            return Err(Error::ZeroSize);
        }
        self.driver.round(size).ok_or(Error::SizeTooLarge {
            requested: size as u64,
            max: self.driver.max_size(),
            driver: self.driver(),
        })
    }

    /// Allocates a block of at least `size` bytes. [`SharedMemory::new`] and
    /// [`SharedMemory::with_cache`] call this on [`get`](Self::get)'s manager.
    ///
    /// # Errors
    ///
    /// See [`SharedMemory::with_cache`].
    pub fn allocate(&'static self, size: usize, name: &str, cache: CacheMode) -> Result<SharedMemory> {
        check_name(name)?;
        let rounded = self.rounded_size(size)?;
        let result = self.driver.alloc(AllocRequest { size: rounded, name, cache }).and_then(|block| {
            let mut claim = Claim::default();
            claim_own(&block, &mut claim, name)?;
            Ok((block, claim))
        });
        self.account(result, |_| size, name, cache)
    }

    /// Wraps a dma-buf made elsewhere (a camera, a codec, `dma-heap`, another
    /// process) so the VideoCore can use it. The descriptor is duplicated:
    /// the caller may close its own.
    ///
    /// # Aliasing
    ///
    /// A dma-buf that this process already maps as a live [`SharedMemory`]
    /// (one it allocated and exported, or imported before) is refused with
    /// [`Error::AlreadyMapped`]: two blocks over the same pages would let one
    /// [`Lock`](crate::Lock) hand out `&mut [u8]` while another hands out
    /// `&[u8]` to the same bytes. Use the block you have, or drop it first.
    ///
    /// What is not in this process cannot be checked: the device or process
    /// that exported the dma-buf (or any other holder of it) can write it at
    /// any time, as the VideoCore can write any block it has been given, and
    /// the bytes a [`Lock`](crate::Lock) shows are then changing under it.
    /// That is the contract of all memory shared with hardware or other
    /// processes (it is why `memmap2::Mmap::map` is `unsafe`): keep the
    /// exporter off the buffer while you hold a `Lock`, through whatever
    /// protocol hands the buffer between you (MMAL gives a buffer back only
    /// when it is done with it; a V4L2 camera does not write a dequeued
    /// buffer until it is queued again). The descriptor itself cannot pull
    /// the pages away: a dma-buf never shrinks, and the emulated VideoCore
    /// only imports dma-bufs and memfds sealed against shrinking.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyMapped`] as above; [`Error::Unsupported`] on the
    /// legacy driver, and on the emulated VideoCore for a descriptor that is
    /// neither a dma-buf nor a memfd that can be sealed against shrinking;
    /// on vc-sm-cma the kernel refuses memory that is not physically
    /// contiguous (`ENOMEM`).
    pub fn import_dmabuf(&'static self, fd: BorrowedFd<'_>, name: &str) -> Result<SharedMemory> {
        check_name(name)?;
        let result = (|| {
            let mut claim = Claim::default();
            let id = file_id(fd).map_err(|e| Error::syscall("fstat of the imported descriptor", e))?;
            // Claimed before the import, so that a second import of the same
            // dma-buf on another thread meanwhile is refused too.
            claim.take(id, None, name)?;
            let block = self.driver.import(fd, name)?;
            claim_own(&block, &mut claim, name)?;
            Ok((block, claim))
        })();
        self.account(result, |block| block.map.len(), name, CacheMode::None)
    }

    fn account(
        &'static self,
        result: Result<(crate::driver::Block, Claim)>,
        requested: impl FnOnce(&crate::driver::Block) -> usize,
        name: &str,
        cache: CacheMode,
    ) -> Result<SharedMemory> {
        match result {
            Ok((block, claim)) => {
                self.total_allocations.fetch_add(1, Ordering::Relaxed);
                self.live_allocations.fetch_add(1, Ordering::Relaxed);
                self.live_bytes.fetch_add(block.map.len() as u64, Ordering::Relaxed);
                let requested = requested(&block);
                Ok(SharedMemory::from_block(self, block, claim, requested, name, cache))
            }
            Err(mut e) => {
                self.failed_allocations.fetch_add(1, Ordering::Relaxed);
                if let Error::OutOfMemory { stats, .. } = &mut e {
                    **stats = self.stats();
                }
                Err(e)
            }
        }
    }

    pub(crate) fn note_free(&self, size: usize) {
        self.live_allocations.fetch_sub(1, Ordering::Relaxed);
        self.live_bytes.fetch_sub(size as u64, Ordering::Relaxed);
    }

    pub(crate) fn drv(&self) -> &Driver {
        &self.driver
    }
}

/// Claims the identity of the descriptor a new block keeps (none for the
/// legacy driver, whose memory has no descriptor and cannot be imported).
fn claim_own(block: &crate::driver::Block, claim: &mut Claim, name: &str) -> Result<()> {
    if let Some(fd) = block.fd() {
        let id = file_id(fd).map_err(|e| Error::syscall("fstat of the block's descriptor", e))?;
        claim.take(id, Some(block.vc_handle), name)?;
    }
    claim.set_handle(block.vc_handle);
    Ok(())
}

/// Names travel in a 32-byte, NUL-terminated field.
pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.len() > 31 {
        return Err(Error::InvalidName { name: name.to_owned(), reason: "longer than 31 bytes; shorten it" });
    }
    if name.contains('\0') {
        return Err(Error::InvalidName { name: name.to_owned(), reason: "contains a NUL byte; remove it" });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(cma: bool, legacy: bool, pi: bool, legacy_usable: bool) -> Probe {
        Probe {
            cma_node: cma,
            legacy_node: legacy,
            raspberry_pi: pi.then(|| "Raspberry Pi 3 Model B Rev 1.2".to_owned()),
            legacy_usable,
        }
    }

    #[test]
    fn choice_parsing() {
        assert_eq!(Choice::parse(None).unwrap(), Choice::Auto);
        assert_eq!(Choice::parse(Some("auto")).unwrap(), Choice::Auto);
        assert_eq!(Choice::parse(Some("hardware")).unwrap(), Choice::Hardware);
        assert_eq!(Choice::parse(Some(" emulated ")).unwrap(), Choice::Emulated);
        let err = Choice::parse(Some("gpu")).unwrap_err();
        assert!(err.to_string().contains("auto, hardware, emulated or vchiq"), "{err}");
        assert_eq!(Choice::parse(Some("vchiq")).unwrap(), Choice::Vchiq);
    }

    #[test]
    fn selection() {
        use Choice::*;
        assert_eq!(plan(Auto, &probe(true, true, true, true)), Plan::Cma, "CMA preferred");
        assert_eq!(plan(Auto, &probe(false, true, true, true)), Plan::Legacy);
        assert!(matches!(plan(Auto, &probe(false, true, true, false)), Plan::Fail(m) if m.contains("64-bit")));
        assert_eq!(plan(Auto, &probe(false, false, false, false)), Plan::Emulated { announce: true });
        assert_eq!(plan(Emulated, &probe(true, true, true, true)), Plan::Emulated { announce: false });
        assert_eq!(plan(Vchiq, &probe(true, false, true, false)), Plan::Cma, "vchiq: memory as for auto");
        assert_eq!(plan(Vchiq, &probe(false, false, false, false)), Plan::Emulated { announce: true });
        assert_eq!(plan(Hardware, &probe(true, false, false, false)), Plan::Cma);
        let Plan::Fail(advice) = plan(Auto, &probe(false, false, true, true)) else {
            panic!("a Pi without driver must fail")
        };
        assert!(
            advice.contains("Raspberry Pi 3")
                && advice.contains("Legacy Camera")
                && advice.contains("VIDEOCORE=emulated")
        );
        let Plan::Fail(advice) = plan(Hardware, &probe(false, false, false, false)) else {
            panic!("hardware must not emulate")
        };
        assert!(advice.contains("VIDEOCORE=emulated"), "{advice}");
    }

    #[test]
    fn names() {
        assert!(check_name("").is_ok());
        assert!(check_name(&"n".repeat(31)).is_ok());
        assert!(matches!(check_name(&"n".repeat(32)), Err(Error::InvalidName { .. })));
        assert!(matches!(check_name("a\0b"), Err(Error::InvalidName { .. })));
    }

    #[test]
    #[allow(clippy::unnecessary_cast)] // c_char is i8 on x86, u8 on ARM
    fn name_field_is_truncated_and_terminated() {
        let field = crate::driver::name_field("héllo");
        assert_eq!(field[..6].iter().map(|&c| c as u8).collect::<Vec<_>>(), "héllo".as_bytes());
        assert!(field[6..].iter().all(|&c| c == 0));
    }
}
