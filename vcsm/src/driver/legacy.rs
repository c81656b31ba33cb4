//! The legacy vc-sm driver, `/dev/vcsm` (kernels up to 5.4, 32-bit user
//! space only: its structs carry 32-bit addresses).
//!
//! System calls per operation:
//!
//! | operation | calls |
//! | --- | --- |
//! | open | `open("/dev/vcsm")` once per process; the descriptor lives as long as the process, since closing it frees every block |
//! | allocate | `ioctl(VMCS_SM_IOCTL_MEM_ALLOC)`, `mmap(device fd, offset = user handle)`, `ioctl(VMCS_SM_IOCTL_MAP_VC_HDL_FR_HDL)`, `ioctl(VMCS_SM_IOCTL_MAP_VC_ADDR_FR_HDL)` |
//! | lock / copy in / read back | `ioctl(VMCS_SM_IOCTL_MEM_LOCK)` (+ `MEM_INVALID` when host-cached; if that fails, `MEM_UNLOCK` at once and the error), then `MEM_FLUSH` (when host-cached) and `ioctl(VMCS_SM_IOCTL_MEM_UNLOCK)` |
//! | free | `munmap`, `ioctl(VMCS_SM_IOCTL_MEM_FREE)` |
//!
//! This driver honours the cache mode. The bus address is read at allocation;
//! the firmware may move an unlocked block, so MMAL should be given the
//! VideoCore handle, never the address.

use std::os::fd::{AsFd, OwnedFd};

use vcsm_sys::{
    vmcs_sm_ioctl_alloc, vmcs_sm_ioctl_cache, vmcs_sm_ioctl_free, vmcs_sm_ioctl_lock_unlock, vmcs_sm_ioctl_map,
    VMCS_SM_IOCTL_MAP_VC_ADDR_FR_HDL, VMCS_SM_IOCTL_MAP_VC_HDL_FR_HDL, VMCS_SM_IOCTL_MEM_ALLOC,
    VMCS_SM_IOCTL_MEM_FLUSH, VMCS_SM_IOCTL_MEM_FREE, VMCS_SM_IOCTL_MEM_INVALID, VMCS_SM_IOCTL_MEM_LOCK,
    VMCS_SM_IOCTL_MEM_UNLOCK,
};

use super::{name_field, request_error, AllocRequest, Backing, Block};
use crate::sys::{bytes_of_mut, pid, Ioctl, Mapping};
use crate::{CacheMode, DriverKind, Error, Result, VcHandle};

pub(crate) const PATH: &str = "/dev/vcsm";

pub(crate) struct Legacy {
    dev: OwnedFd,
    io: Box<dyn Ioctl>,
}

/// The kernel's handle for one block; sends MEM_FREE when dropped.
pub(crate) struct UserHandle {
    driver: &'static Legacy,
    handle: u32,
    cache: CacheMode,
}

impl std::fmt::Debug for UserHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserHandle").field("handle", &self.handle).field("cache", &self.cache).finish()
    }
}

impl Drop for UserHandle {
    fn drop(&mut self) {
        let mut free = vmcs_sm_ioctl_free { handle: self.handle };
        // A failed FREE cannot be retried or reported from drop; the kernel
        // frees the block when the process exits in any case.
        if let Err(e) = self.driver.io.ioctl(self.driver.dev.as_fd(), VMCS_SM_IOCTL_MEM_FREE, bytes_of_mut(&mut free)) {
            log::warn!("VMCS_SM_IOCTL_MEM_FREE of handle {:#x} failed: {e}", self.handle);
        }
    }
}

fn host_cached(cache: CacheMode) -> bool {
    matches!(cache, CacheMode::Host | CacheMode::Both)
}

impl Legacy {
    pub(crate) fn new(dev: OwnedFd, io: Box<dyn Ioctl>) -> Legacy {
        Legacy { dev, io }
    }

    fn call<T: crate::sys::AbiStruct>(&self, operation: &'static str, request: u32, arg: &mut T) -> Result<()> {
        self.io.ioctl(self.dev.as_fd(), request, bytes_of_mut(arg)).map_err(|e| Error::syscall(operation, e))
    }

    pub(crate) fn alloc(&'static self, req: AllocRequest<'_>) -> Result<Block> {
        let mut alloc = vmcs_sm_ioctl_alloc {
            size: req.size as u32,
            num: 1,
            cached: req.cache as u32,
            name: name_field(req.name),
            handle: 0,
        };
        self.io
            .ioctl(self.dev.as_fd(), VMCS_SM_IOCTL_MEM_ALLOC, bytes_of_mut(&mut alloc))
            .map_err(|e| request_error(DriverKind::Legacy, "VMCS_SM_IOCTL_MEM_ALLOC", req.size as u64, e))?;
        if alloc.handle == 0 {
            return Err(Error::BadReply { operation: "VMCS_SM_IOCTL_MEM_ALLOC", detail: "user handle 0".into() });
        }
        // From here on, dropping `handle` frees the block.
        let handle = UserHandle { driver: self, handle: alloc.handle, cache: req.cache };
        // The user handle is the mmap offset; the length must be the block size.
        let map = Mapping::new(self.dev.as_fd(), req.size, u64::from(alloc.handle))
            .map_err(|e| Error::syscall("mmap of /dev/vcsm", e))?;

        let mut map_req = vmcs_sm_ioctl_map { pid: pid(), handle: alloc.handle, addr: 0, size: 0 };
        self.call("VMCS_SM_IOCTL_MAP_VC_HDL_FR_HDL", VMCS_SM_IOCTL_MAP_VC_HDL_FR_HDL, &mut map_req)?;
        let Some(vc_handle) = VcHandle::new(map_req.handle) else {
            return Err(Error::BadReply {
                operation: "VMCS_SM_IOCTL_MAP_VC_HDL_FR_HDL",
                detail: "VideoCore handle 0".into(),
            });
        };
        let mut addr_req = vmcs_sm_ioctl_map { pid: pid(), handle: alloc.handle, addr: 0, size: 0 };
        self.call("VMCS_SM_IOCTL_MAP_VC_ADDR_FR_HDL", VMCS_SM_IOCTL_MAP_VC_ADDR_FR_HDL, &mut addr_req)?;
        Ok(Block { registration: None, map, backing: Backing::Legacy(handle), vc_handle, bus_address: addr_req.addr })
    }

    fn handle(block: &Block) -> Result<&UserHandle> {
        match &block.backing {
            Backing::Legacy(h) => Ok(h),
            _ => Err(Error::BadReply { operation: "VMCS_SM_IOCTL_MEM_LOCK", detail: "not a legacy block".into() }),
        }
    }

    fn cache_op(&self, block: &Block, handle: &UserHandle, operation: &'static str, request: u32) -> Result<()> {
        // The legacy ABI carries 32-bit user addresses (usable on 32-bit ARM only).
        let mut op =
            vmcs_sm_ioctl_cache { handle: handle.handle, addr: block.map.addr() as u32, size: block.map.len() as u32 };
        self.call(operation, request, &mut op)
    }

    pub(crate) fn lock(&self, block: &Block) -> Result<()> {
        let handle = Self::handle(block)?;
        let mut lock = vmcs_sm_ioctl_lock_unlock { handle: handle.handle, addr: 0 };
        self.call("VMCS_SM_IOCTL_MEM_LOCK", VMCS_SM_IOCTL_MEM_LOCK, &mut lock)?;
        if lock.addr as usize != block.map.addr() {
            log::debug!("VMCS_SM_IOCTL_MEM_LOCK returned {:#x}, mapping is at {:#x}", lock.addr, block.map.addr());
        }
        if host_cached(handle.cache) {
            if let Err(e) = self.cache_op(block, handle, "VMCS_SM_IOCTL_MEM_INVALID", VMCS_SM_IOCTL_MEM_INVALID) {
                // The caller gets no `Lock` on an error, so nothing would ever
                // send the UNLOCK that balances the LOCK above: the kernel's
                // lock count would stay raised for the block's life (and the
                // firmware could not move or free it). Unlock here; the
                // invalidate's error is the one worth reporting.
                let mut unlock = vmcs_sm_ioctl_lock_unlock { handle: handle.handle, addr: 0 };
                if let Err(u) = self.call("VMCS_SM_IOCTL_MEM_UNLOCK", VMCS_SM_IOCTL_MEM_UNLOCK, &mut unlock) {
                    log::warn!("unlocking handle {:#x} after a failed invalidate failed too: {u}", handle.handle);
                }
                return Err(e);
            }
        }
        Ok(())
    }

    pub(crate) fn unlock(&self, block: &Block) -> Result<()> {
        let handle = Self::handle(block)?;
        // UNLOCK itself does not flush: write back the ARM cache first.
        let flushed = if host_cached(handle.cache) {
            self.cache_op(block, handle, "VMCS_SM_IOCTL_MEM_FLUSH", VMCS_SM_IOCTL_MEM_FLUSH)
        } else {
            Ok(())
        };
        let mut unlock = vmcs_sm_ioctl_lock_unlock { handle: handle.handle, addr: 0 };
        self.call("VMCS_SM_IOCTL_MEM_UNLOCK", VMCS_SM_IOCTL_MEM_UNLOCK, &mut unlock)?;
        flushed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::fake::FakeDevice;
    use crate::driver::Driver;
    use crate::sys::{from_bytes, memfd};
    use crate::ServiceManager;

    const USER_HANDLE: u32 = 3 << 12;

    fn device() -> FakeDevice {
        FakeDevice::new(reply)
    }

    /// What the kernel answers to a successful request.
    fn reply(request: u32, arg: &mut [u8]) -> std::io::Result<()> {
        match request {
            VMCS_SM_IOCTL_MEM_ALLOC => {
                let mut a: vmcs_sm_ioctl_alloc = from_bytes(arg);
                a.handle = USER_HANDLE;
                arg.copy_from_slice(bytes_of_mut(&mut a));
            }
            VMCS_SM_IOCTL_MAP_VC_HDL_FR_HDL => {
                let mut m: vmcs_sm_ioctl_map = from_bytes(arg);
                m.handle = 0x55;
                arg.copy_from_slice(bytes_of_mut(&mut m));
            }
            VMCS_SM_IOCTL_MAP_VC_ADDR_FR_HDL => {
                let mut m: vmcs_sm_ioctl_map = from_bytes(arg);
                m.addr = 0xC040_0000;
                arg.copy_from_slice(bytes_of_mut(&mut m));
            }
            _ => {}
        }
        Ok(())
    }

    fn manager() -> (&'static ServiceManager, std::sync::Arc<std::sync::Mutex<Vec<crate::driver::fake::Call>>>) {
        let dev = device();
        let calls = dev.calls();
        // The device node is a memfd large enough to map at the handle offset.
        let node = memfd("fake-vcsm", u64::from(USER_HANDLE) + (1 << 20)).unwrap();
        (ServiceManager::leak_with_driver(Driver::Legacy(Legacy::new(node, Box::new(dev)))), calls)
    }

    #[test]
    fn full_life_cycle_at_the_byte_level() {
        let (mgr, calls) = manager();
        let mut mem = mgr.allocate(100, "legacy", CacheMode::Host).unwrap();
        assert_eq!(mem.size(), 4096);
        assert_eq!(mem.vc_handle().get(), 0x55);
        assert_eq!(mem.bus_address(), 0xC040_0000);
        mem.copy_from_slice(b"abc").unwrap();
        drop(mem);

        let calls = calls.lock().unwrap();
        let requests: Vec<u32> = calls.iter().map(|c| c.request).collect();
        assert_eq!(
            requests,
            [
                0x8030_495A, // ALLOC
                0x8010_4969, // MAP_VC_HDL_FR_HDL
                0x8010_496A, // MAP_VC_ADDR_FR_HDL
                0x8008_495C, // LOCK
                0x800C_4963, // INVALID (host-cached)
                0x800C_4962, // FLUSH (host-cached)
                0x8008_495E, // UNLOCK
                0x8004_4961, // FREE
            ]
        );
        let alloc = &calls[0].sent;
        assert_eq!(alloc.len(), 48);
        assert_eq!(&alloc[0..4], &4096u32.to_ne_bytes());
        assert_eq!(&alloc[4..8], &1u32.to_ne_bytes());
        assert_eq!(&alloc[8..12], &1u32.to_ne_bytes(), "cached = HOST");
        assert_eq!(&alloc[12..18], b"legacy");
        assert!(alloc[18..44].iter().all(|&b| b == 0));
        let map = &calls[1].sent;
        assert_eq!(&map[0..4], &std::process::id().to_ne_bytes(), "pid");
        assert_eq!(&map[4..8], &USER_HANDLE.to_ne_bytes(), "user handle");
        for c in &calls[3..] {
            assert_eq!(&c.sent[0..4], &USER_HANDLE.to_ne_bytes(), "every later request names the handle");
        }
        assert_eq!(&calls[4].sent[8..12], &4096u32.to_ne_bytes(), "invalidate the whole block");
    }

    #[test]
    fn uncached_blocks_skip_cache_maintenance() {
        let (mgr, calls) = manager();
        let mem = mgr.allocate(1, "x", CacheMode::None).unwrap();
        let _ = mem.to_vec().unwrap();
        drop(mem);
        let requests: Vec<u32> = calls.lock().unwrap().iter().skip(3).map(|c| c.request).collect();
        assert_eq!(requests, [VMCS_SM_IOCTL_MEM_LOCK, VMCS_SM_IOCTL_MEM_UNLOCK, VMCS_SM_IOCTL_MEM_FREE]);
    }

    #[test]
    fn failure_after_alloc_frees_the_block() {
        let dev = FakeDevice::new(|request, arg| {
            if request == VMCS_SM_IOCTL_MEM_ALLOC {
                let mut a: vmcs_sm_ioctl_alloc = from_bytes(arg);
                a.handle = USER_HANDLE;
                arg.copy_from_slice(bytes_of_mut(&mut a));
            }
            // MAP_VC_HDL_FR_HDL left untouched: handle stays the user handle,
            // so fail it outright instead.
            if request == VMCS_SM_IOCTL_MAP_VC_HDL_FR_HDL {
                return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
            }
            Ok(())
        });
        let calls = dev.calls();
        let node = memfd("fake-vcsm", u64::from(USER_HANDLE) + (1 << 20)).unwrap();
        let mgr = ServiceManager::leak_with_driver(Driver::Legacy(Legacy::new(node, Box::new(dev))));
        assert!(mgr.allocate(1, "x", CacheMode::None).is_err());
        let last = calls.lock().unwrap().last().cloned().unwrap();
        assert_eq!(last.request, VMCS_SM_IOCTL_MEM_FREE, "the half-made block is freed");
        assert_eq!(&last.sent[..], &USER_HANDLE.to_ne_bytes());
        assert_eq!(mgr.stats().live_allocations, 0);
    }

    #[test]
    fn a_failed_invalidate_unlocks_again() {
        let dev = FakeDevice::new(|request, arg| {
            if request == VMCS_SM_IOCTL_MEM_INVALID {
                return Err(std::io::Error::from_raw_os_error(libc::EIO));
            }
            reply(request, arg)
        });
        let calls = dev.calls();
        let node = memfd("fake-vcsm", u64::from(USER_HANDLE) + (1 << 20)).unwrap();
        let mgr = ServiceManager::leak_with_driver(Driver::Legacy(Legacy::new(node, Box::new(dev))));
        let mut mem = mgr.allocate(1, "x", CacheMode::Host).unwrap();
        let err = mem.lock().unwrap_err();
        assert!(err.to_string().contains("VMCS_SM_IOCTL_MEM_INVALID"), "{err}");
        let requests: Vec<u32> = calls.lock().unwrap().iter().skip(3).map(|c| c.request).collect();
        assert_eq!(
            requests,
            [VMCS_SM_IOCTL_MEM_LOCK, VMCS_SM_IOCTL_MEM_INVALID, VMCS_SM_IOCTL_MEM_UNLOCK],
            "the lock taken before the failed invalidate is given back"
        );
        assert!(calls.lock().unwrap()[5].sent[0..4] == USER_HANDLE.to_ne_bytes());
        // The block is still usable and is freed as usual.
        drop(mem);
        assert_eq!(calls.lock().unwrap().last().unwrap().request, VMCS_SM_IOCTL_MEM_FREE);
    }

    #[test]
    fn import_and_export_are_unsupported() {
        let (mgr, _) = manager();
        let mem = mgr.allocate(1, "x", CacheMode::None).unwrap();
        assert!(matches!(mem.export_dmabuf(), Err(Error::Unsupported { .. })));
        let fd = memfd("x", 4096).unwrap();
        assert!(matches!(mgr.import_dmabuf(fd.as_fd(), "x"), Err(Error::Unsupported { .. })));
    }
}
