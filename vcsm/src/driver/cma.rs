//! The vc-sm-cma driver, `/dev/vcsm-cma`.
//!
//! System calls per operation:
//!
//! | operation | calls |
//! | --- | --- |
//! | open | `open("/dev/vcsm-cma")` once per process |
//! | allocate | `ioctl(VC_SM_CMA_IOCTL_MEM_ALLOC)` (returns a dma-buf fd), `mmap(fd)`, `fstatfs` + `fstat` (its identity) |
//! | lock / copy in | `ioctl(fd, DMA_BUF_IOCTL_SYNC, START | RW or WRITE)`, then `END` with the same direction |
//! | read back | `DMA_BUF_IOCTL_SYNC` `START | READ`, `END | READ` |
//! | free | `munmap`, `close(fd)` (the VideoCore frees when the last reference goes) |
//! | import | `fstatfs` + `fstat` of the fd given (refused if this process maps it already), `ioctl(VC_SM_CMA_IOCTL_MEM_IMPORT_DMABUF)` (returns a new fd), `mmap`, `fstatfs` + `fstat` of the new fd |
//! | export | `dup(fd)` |
//!
//! The driver allocates uncached memory whatever cache mode is asked for.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use vcsm_sys::{
    dma_buf_sync, vc_sm_cma_ioctl_alloc, vc_sm_cma_ioctl_import_dmabuf, DMA_BUF_IOCTL_SYNC, DMA_BUF_SYNC_END,
    DMA_BUF_SYNC_START, VC_SM_CMA_IOCTL_MEM_ALLOC, VC_SM_CMA_IOCTL_MEM_IMPORT_DMABUF,
};

use super::{name_field, request_error, Access, AllocRequest, Backing, Block};
use crate::sys::{bytes_of_mut, Ioctl, Mapping};
use crate::{DriverKind, Error, Result, VcHandle};

pub(crate) const PATH: &str = "/dev/vcsm-cma";

pub(crate) struct Cma {
    dev: OwnedFd,
    io: Box<dyn Ioctl>,
}

/// Adopts the descriptor in an ALLOC/IMPORT reply, if the driver filled one in.
#[allow(unsafe_code)]
fn adopt_reply_fd(raw: i32) -> Option<OwnedFd> {
    // SAFETY: the caller pre-filled the field with -1; a non-negative value is
    // therefore a descriptor the driver just installed for this process and
    // handed to us, owned by nothing else.
    (raw >= 0).then(|| unsafe { crate::sys::owned_fd(raw) })
}

/// Checks an ALLOC/IMPORT reply. Dropping the returned error closes `fd`.
fn validate(
    operation: &'static str,
    fd: Option<OwnedFd>,
    vc_handle: u32,
    dma_addr: u64,
) -> Result<(OwnedFd, VcHandle, u32)> {
    let bad = |detail: String| Err(Error::BadReply { operation, detail });
    let Some(fd) = fd else {
        return bad("no dma-buf descriptor in the reply (the kernel may be out of file descriptors)".into());
    };
    let Some(handle) = VcHandle::new(vc_handle) else {
        return bad("VideoCore handle 0".into());
    };
    let Ok(bus) = u32::try_from(dma_addr) else {
        return bad(format!("bus address {dma_addr:#x} beyond 32 bits"));
    };
    Ok((fd, handle, bus))
}

impl Cma {
    pub(crate) fn new(dev: OwnedFd, io: Box<dyn Ioctl>) -> Cma {
        Cma { dev, io }
    }

    pub(crate) fn alloc(&self, req: AllocRequest<'_>) -> Result<Block> {
        let mut alloc = vc_sm_cma_ioctl_alloc {
            size: req.size as u32,
            num: 1,
            cached: req.cache as u32,
            name: name_field(req.name),
            handle: -1,
            vc_handle: 0,
            ..Default::default()
        };
        self.io
            .ioctl(self.dev.as_fd(), VC_SM_CMA_IOCTL_MEM_ALLOC, bytes_of_mut(&mut alloc))
            .map_err(|e| request_error(DriverKind::Cma, "VC_SM_CMA_IOCTL_MEM_ALLOC", req.size as u64, e))?;
        let fd = adopt_reply_fd(alloc.handle);
        let (fd, vc_handle, bus_address) = validate("VC_SM_CMA_IOCTL_MEM_ALLOC", fd, alloc.vc_handle, alloc.dma_addr)?;
        let map = Mapping::new(fd.as_fd(), req.size, 0).map_err(|e| Error::syscall("mmap of the dma-buf", e))?;
        Ok(Block { registration: None, map, backing: Backing::Cma(fd), vc_handle, bus_address })
    }

    pub(crate) fn import(&self, source: BorrowedFd<'_>, name: &str) -> Result<Block> {
        let mut import = vc_sm_cma_ioctl_import_dmabuf {
            dmabuf_fd: source.as_raw_fd(),
            name: name_field(name),
            handle: -1,
            vc_handle: 0,
            ..Default::default()
        };
        self.io
            .ioctl(self.dev.as_fd(), VC_SM_CMA_IOCTL_MEM_IMPORT_DMABUF, bytes_of_mut(&mut import))
            .map_err(|e| request_error(DriverKind::Cma, "VC_SM_CMA_IOCTL_MEM_IMPORT_DMABUF", 0, e))?;
        let fd = adopt_reply_fd(import.handle);
        let (fd, vc_handle, bus_address) =
            validate("VC_SM_CMA_IOCTL_MEM_IMPORT_DMABUF", fd, import.vc_handle, import.dma_addr)?;
        if import.size == 0 {
            return Err(Error::BadReply { operation: "VC_SM_CMA_IOCTL_MEM_IMPORT_DMABUF", detail: "size 0".into() });
        }
        let map =
            Mapping::new(fd.as_fd(), import.size as usize, 0).map_err(|e| Error::syscall("mmap of the dma-buf", e))?;
        Ok(Block { registration: None, map, backing: Backing::Cma(fd), vc_handle, bus_address })
    }

    /// Begins (`end == false`) or ends CPU access. The direction is always
    /// given, since the dma-buf core rejects `END` alone.
    pub(crate) fn sync(&self, block: &Block, access: Access, end: bool) -> Result<()> {
        let Some(fd) = block.fd() else {
            return Err(Error::BadReply { operation: "DMA_BUF_IOCTL_SYNC", detail: "block has no descriptor".into() });
        };
        let phase = if end { DMA_BUF_SYNC_END } else { DMA_BUF_SYNC_START };
        let mut sync = dma_buf_sync { flags: access.dma_buf_flags() | u64::from(phase) };
        self.io
            .ioctl(fd, DMA_BUF_IOCTL_SYNC, bytes_of_mut(&mut sync))
            .map_err(|e| Error::syscall(if end { "DMA_BUF_IOCTL_SYNC (end)" } else { "DMA_BUF_IOCTL_SYNC (start)" }, e))
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::IntoRawFd;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::driver::fake::{Call, FakeDevice};
    use crate::driver::Driver;
    use crate::sys::{fd_inode, from_bytes, memfd};
    use crate::{CacheMode, ServiceManager};

    const VC: u32 = 0x0000_1234;
    const BUS: u64 = 0xC012_3000;

    /// A device that answers ALLOC like vc-sm-cma: a memfd stands in for the
    /// dma-buf it would install.
    fn kernel(mut reply: impl FnMut(&mut vc_sm_cma_ioctl_alloc) + Send + 'static) -> FakeDevice {
        FakeDevice::new(move |request, arg| {
            if request == VC_SM_CMA_IOCTL_MEM_ALLOC {
                let mut alloc: vc_sm_cma_ioctl_alloc = from_bytes(arg);
                let fd = memfd("fake-dmabuf", u64::from(alloc.size))?;
                alloc.handle = fd.into_raw_fd();
                alloc.vc_handle = VC;
                alloc.dma_addr = BUS;
                reply(&mut alloc);
                arg.copy_from_slice(bytes_of_mut(&mut alloc));
            }
            Ok(())
        })
    }

    fn manager(dev: FakeDevice) -> (&'static ServiceManager, Arc<Mutex<Vec<Call>>>) {
        let calls = dev.calls();
        let device = memfd("fake-vcsm-cma", 0).unwrap();
        let driver = Driver::Cma(Cma::new(device, Box::new(dev)));
        (ServiceManager::leak_with_driver(driver), calls)
    }

    #[test]
    fn alloc_request_bytes_and_reply() {
        let (mgr, calls) = manager(kernel(|_| {}));
        let mem = mgr.allocate(5000, "lens shading", CacheMode::Host).unwrap();
        let page = crate::sys::page_size();
        assert_eq!(mem.size(), 5000usize.next_multiple_of(page));
        assert_eq!(mem.vc_handle().get(), VC);
        assert_eq!(mem.bus_address(), BUS as u32);

        let calls = calls.lock().unwrap();
        assert_eq!(calls.len(), 1);
        let sent = &calls[0].sent;
        assert_eq!(calls[0].request, 0x8040_4A5A);
        assert_eq!(sent.len(), 64, "the kernel copies 64 bytes");
        assert_eq!(&sent[0..4], &(mem.size() as u32).to_ne_bytes(), "size is page-rounded");
        assert_eq!(&sent[4..8], &1u32.to_ne_bytes(), "num");
        assert_eq!(&sent[8..12], &1u32.to_ne_bytes(), "cached = HOST");
        assert_eq!(&sent[12..16], &[0; 4], "pad");
        assert_eq!(&sent[16..28], b"lens shading");
        assert!(sent[28..48].iter().all(|&b| b == 0), "name NUL-padded");
        assert_eq!(&sent[48..52], &(-1i32).to_ne_bytes(), "handle pre-filled with -1");
        assert_eq!(&sent[52..56], &0u32.to_ne_bytes(), "vc_handle pre-filled with 0");
        assert_eq!(&sent[56..64], &[0; 8], "dma_addr");
    }

    #[test]
    fn lock_brackets_with_directional_sync_and_free_closes() {
        let (mgr, calls) = manager(kernel(|_| {}));
        let mut mem = mgr.allocate(4096, "x", CacheMode::None).unwrap();
        let fd = mem.block_fd_for_test();
        {
            let mut lock = mem.lock().unwrap();
            lock[0] = 7;
        }
        mem.copy_from_slice(&[1, 2, 3]).unwrap();
        assert_eq!(mem.to_vec().unwrap()[..3], [1, 2, 3]);
        let syncs: Vec<(i32, u32, u64)> = calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.request == DMA_BUF_IOCTL_SYNC)
            .map(|c| (c.fd, c.request, from_bytes::<dma_buf_sync>(&c.sent).flags))
            .collect();
        let flags: Vec<u64> = syncs.iter().map(|s| s.2).collect();
        // START|RW, END|RW (lock); START|WRITE, END|WRITE (copy in); START|READ, END|READ (read back).
        assert_eq!(flags, [3, 7, 2, 6, 1, 5]);
        assert!(syncs.iter().all(|s| s.0 == fd && s.1 == 0x4008_6200), "sync goes to the dma-buf fd");
        let inode = fd_inode(fd);
        assert!(inode.is_some());
        drop(mem);
        assert_ne!(fd_inode(fd), inode, "free closes the dma-buf descriptor");
    }

    #[test]
    fn untouched_reply_is_a_failure() {
        // The kernel's dma_buf_fd() error path returns 0 without writing back.
        let dev = FakeDevice::new(|_, _| Ok(()));
        let (mgr, _) = manager(dev);
        let err = mgr.allocate(4096, "x", CacheMode::None).unwrap_err();
        assert!(matches!(err, Error::BadReply { .. }), "{err}");
        assert_eq!(mgr.stats().live_allocations, 0);
        assert_eq!(mgr.stats().failed_allocations, 1);
    }

    #[test]
    fn zero_vc_handle_closes_the_descriptor() {
        let seen = Arc::new(Mutex::new((-1, None)));
        let seen2 = seen.clone();
        let (mgr, _) = manager(kernel(move |a| {
            a.vc_handle = 0;
            *seen2.lock().unwrap() = (a.handle, fd_inode(a.handle));
        }));
        let err = mgr.allocate(4096, "x", CacheMode::None).unwrap_err();
        assert!(matches!(err, Error::BadReply { .. }), "{err}");
        let (fd, inode) = *seen.lock().unwrap();
        assert!(fd >= 0 && inode.is_some());
        assert_ne!(fd_inode(fd), inode, "the reply's fd must not leak");
    }

    #[test]
    fn enomem_carries_stats() {
        let dev = FakeDevice::new(|_, _| Err(std::io::Error::from_raw_os_error(libc::ENOMEM)));
        let (mgr, _) = manager(dev);
        let err = mgr.allocate(1 << 20, "x", CacheMode::None).unwrap_err();
        match &err {
            Error::OutOfMemory { requested, stats, .. } => {
                assert_eq!(*requested, 1 << 20);
                assert_eq!(stats.driver, DriverKind::Cma);
            }
            other => panic!("expected OutOfMemory, got {other}"),
        }
        assert_eq!(err.raw_os_error(), Some(libc::ENOMEM));
    }

    #[test]
    fn bus_address_beyond_32_bits_is_refused() {
        let (mgr, _) = manager(kernel(|a| a.dma_addr = 1 << 32));
        assert!(matches!(mgr.allocate(1, "x", CacheMode::None), Err(Error::BadReply { .. })));
    }

    #[test]
    fn import_request_bytes() {
        let dev = FakeDevice::new(|request, arg| {
            if request == VC_SM_CMA_IOCTL_MEM_IMPORT_DMABUF {
                let mut import: vc_sm_cma_ioctl_import_dmabuf = from_bytes(arg);
                let fd = memfd("imported", 8192)?;
                import.handle = fd.into_raw_fd();
                import.vc_handle = 0x77;
                import.size = 8192;
                import.dma_addr = 0xC000_8000;
                arg.copy_from_slice(bytes_of_mut(&mut import));
            }
            Ok(())
        });
        let (mgr, calls) = manager(dev);
        let source = memfd("source", 8192).unwrap();
        let mem = mgr.import_dmabuf(source.as_fd(), "cam").unwrap();
        assert_eq!((mem.size(), mem.vc_handle().get(), mem.bus_address()), (8192, 0x77, 0xC000_8000));
        let calls = calls.lock().unwrap();
        assert_eq!(calls[0].request, 0x8040_4A5B);
        let sent = &calls[0].sent;
        assert_eq!(sent.len(), 64);
        assert_eq!(&sent[0..4], &source.as_raw_fd().to_ne_bytes(), "dmabuf_fd");
        assert_eq!(&sent[8..11], b"cam");
        assert_eq!(&sent[40..44], &(-1i32).to_ne_bytes(), "handle pre-filled with -1");
        let exported = mem.export_dmabuf().unwrap();
        assert_ne!(exported.as_raw_fd(), source.as_raw_fd());
    }

    /// A device that answers IMPORT with a new dma-buf wrapping the one
    /// given (a memfd stands in for it), as vc-sm-cma does.
    fn importer() -> FakeDevice {
        FakeDevice::new(|request, arg| {
            if request == VC_SM_CMA_IOCTL_MEM_IMPORT_DMABUF {
                let mut import: vc_sm_cma_ioctl_import_dmabuf = from_bytes(arg);
                let fd = memfd("wrapper", 4096)?;
                import.handle = fd.into_raw_fd();
                import.vc_handle = 0x77;
                import.size = 4096;
                import.dma_addr = 0xC000_8000;
                arg.copy_from_slice(bytes_of_mut(&mut import));
            } else if request == VC_SM_CMA_IOCTL_MEM_ALLOC {
                let mut alloc: vc_sm_cma_ioctl_alloc = from_bytes(arg);
                let fd = memfd("fake-dmabuf", u64::from(alloc.size))?;
                alloc.handle = fd.into_raw_fd();
                alloc.vc_handle = VC;
                alloc.dma_addr = BUS;
                arg.copy_from_slice(bytes_of_mut(&mut alloc));
            }
            Ok(())
        })
    }

    #[test]
    fn memory_this_process_maps_is_not_imported_again() {
        let (mgr, calls) = manager(importer());
        let imports =
            || calls.lock().unwrap().iter().filter(|c| c.request == VC_SM_CMA_IOCTL_MEM_IMPORT_DMABUF).count();
        // A block's own export.
        let mem = mgr.allocate(4096, "mine", CacheMode::None).unwrap();
        let exported = mem.export_dmabuf().unwrap();
        let err = mgr.import_dmabuf(exported.as_fd(), "again").unwrap_err();
        assert!(matches!(&err, Error::AlreadyMapped { handle: Some(VC), name } if name == "mine"), "{err}");
        assert_eq!(imports(), 0, "refused before the kernel is asked");
        // A foreign dma-buf, imported twice, or through the import's export.
        let source = memfd("camera", 4096).unwrap();
        let first = mgr.import_dmabuf(source.as_fd(), "first").unwrap();
        assert!(matches!(mgr.import_dmabuf(source.as_fd(), "second"), Err(Error::AlreadyMapped { .. })));
        let wrapper = first.export_dmabuf().unwrap();
        assert!(matches!(mgr.import_dmabuf(wrapper.as_fd(), "third"), Err(Error::AlreadyMapped { .. })));
        assert_eq!(imports(), 1);
        assert_eq!(mgr.stats().live_allocations, 2);
        // Freed, the memory can be imported again.
        drop(first);
        assert!(mgr.import_dmabuf(source.as_fd(), "again").is_ok());
        drop(mem);
        assert!(mgr.import_dmabuf(exported.as_fd(), "after free").is_ok());
    }
}
