//! `/dev/vchiq` itself: the one module where `unsafe` is allowed (the crate
//! root denies it), each block with the reason it is sound.
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::ffi::{c_void, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use parking_lot::Mutex;
use vchiq_sys as sys;

use crate::device::{
    Bulk, BulkDirection, Completion, Config, Device, MessageBuffers, ServiceHandle, ServiceParams, HEADER_SIZE,
};

/// The running kernel's VCHIQ driver.
pub(crate) struct Kernel {
    fd: OwnedFd,
    /// Bulk transfers the kernel is working on, by userdata: their memory
    /// is pinned by the kernel and must not be freed, moved or given back
    /// to a lender until their completion (or ever, if the device goes
    /// away first).
    bulks: Mutex<HashMap<u32, Bulk>>,
}

impl Kernel {
    /// Opens the device node read-write, close-on-exec.
    pub(crate) fn open(path: &str) -> io::Result<Kernel> {
        let c = CString::new(path).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: `c` is a NUL-terminated path that outlives the call.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `open` returned a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Kernel { fd, bulks: Mutex::new(HashMap::new()) })
    }

    /// An ioctl whose argument is a plain integer.
    fn ioctl_value(&self, request: u32, value: u32) -> io::Result<libc::c_int> {
        #[allow(clippy::useless_conversion)] // `c_ulong` is `u32` on 32-bit ARM
        let value = libc::c_ulong::from(value);
        // SAFETY: the requests passed here (`_IO` numbers) take their argument
        // by value; the kernel dereferences nothing. `fd` is open.
        let rc = unsafe { libc::ioctl(self.fd.as_raw_fd(), request as _, value) };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(rc)
        }
    }

    /// An ioctl whose argument is a pointer to `arg`.
    ///
    /// # Safety
    ///
    /// `request` must encode `T` as its argument, and every pointer inside
    /// `arg` must be valid for what the kernel does with it during the call.
    unsafe fn ioctl_ptr<T>(&self, request: u32, arg: &mut T) -> io::Result<libc::c_int> {
        // SAFETY: `arg` is a live, exclusive `T` matching `request`; the
        // caller vouches for the pointers inside it.
        let rc = unsafe { libc::ioctl(self.fd.as_raw_fd(), request as _, arg as *mut T) };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(rc)
        }
    }
}

impl Device for Kernel {
    fn get_config(&self) -> io::Result<Config> {
        let mut config = sys::vchiq_config::default();
        let mut arg = sys::vchiq_get_config {
            config_size: std::mem::size_of::<sys::vchiq_config>() as u32,
            pconfig: &mut config,
        };
        // SAFETY: GET_CONFIG takes a `vchiq_get_config` whose pointer names a
        // `vchiq_config` of `config_size` bytes, live and exclusive for the call.
        unsafe { self.ioctl_ptr(sys::VCHIQ_IOC_GET_CONFIG, &mut arg) }?;
        Ok(Config {
            max_msg_size: config.max_msg_size,
            bulk_threshold: config.bulk_threshold,
            max_outstanding_bulks: config.max_outstanding_bulks,
            max_services: config.max_services,
            version: config.version,
            version_min: config.version_min,
        })
    }

    fn lib_version(&self, version: u32) -> io::Result<()> {
        self.ioctl_value(sys::VCHIQ_IOC_LIB_VERSION, version).map(drop)
    }

    fn connect(&self) -> io::Result<()> {
        self.ioctl_value(sys::VCHIQ_IOC_CONNECT, 0).map(drop)
    }

    fn shutdown(&self) -> io::Result<()> {
        self.ioctl_value(sys::VCHIQ_IOC_SHUTDOWN, 0).map(drop)
    }

    fn create_service(&self, params: &ServiceParams) -> io::Result<ServiceHandle> {
        let mut arg = sys::vchiq_create_service {
            params: sys::vchiq_service_params {
                fourcc: params.fourcc.to_u32() as i32,
                // The kernel substitutes its own callback for user services;
                // any non-NULL value would do, NULL is honest.
                callback: std::ptr::null_mut(),
                // An integer, never dereferenced: it comes back verbatim.
                userdata: params.userdata as usize as *mut c_void,
                version: params.version,
                version_min: params.version_min,
            },
            is_open: 1,
            is_vchi: 0,
            handle: 0,
        };
        // SAFETY: CREATE_SERVICE takes a `vchiq_create_service`; its pointers
        // are never dereferenced by the kernel (callback and userdata are
        // stored as values).
        unsafe { self.ioctl_ptr(sys::VCHIQ_IOC_CREATE_SERVICE, &mut arg) }?;
        Ok(ServiceHandle(arg.handle))
    }

    fn close_service(&self, handle: ServiceHandle) -> io::Result<()> {
        self.ioctl_value(sys::VCHIQ_IOC_CLOSE_SERVICE, handle.0).map(drop)
    }

    fn remove_service(&self, handle: ServiceHandle) -> io::Result<()> {
        self.ioctl_value(sys::VCHIQ_IOC_REMOVE_SERVICE, handle.0).map(drop)
    }

    fn close_delivered(&self, handle: ServiceHandle) -> io::Result<()> {
        self.ioctl_value(sys::VCHIQ_IOC_CLOSE_DELIVERED, handle.0).map(drop)
    }

    fn use_service(&self, handle: ServiceHandle) -> io::Result<()> {
        self.ioctl_value(sys::VCHIQ_IOC_USE_SERVICE, handle.0).map(drop)
    }

    fn release_service(&self, handle: ServiceHandle) -> io::Result<()> {
        self.ioctl_value(sys::VCHIQ_IOC_RELEASE_SERVICE, handle.0).map(drop)
    }

    fn queue_message(&self, handle: ServiceHandle, elements: &[&[u8]]) -> io::Result<()> {
        let mut raw = Vec::with_capacity(elements.len());
        for e in elements {
            let size = u32::try_from(e.len()).map_err(|_| io::Error::from_raw_os_error(libc::EMSGSIZE))?;
            raw.push(sys::vchiq_element { data: e.as_ptr().cast(), size });
        }
        let mut arg = sys::vchiq_queue_message { handle: handle.0, count: raw.len() as u32, elements: raw.as_ptr() };
        // SAFETY: QUEUE_MESSAGE takes a `vchiq_queue_message` naming `count`
        // elements at `elements`, each `size` readable bytes at `data`: all
        // borrowed slices that outlive the call (the kernel copies them).
        unsafe { self.ioctl_ptr(sys::VCHIQ_IOC_QUEUE_MESSAGE, &mut arg) }.map(drop)
    }

    fn queue_bulk(&self, handle: ServiceHandle, mut bulk: Bulk) -> Result<(), (io::Error, Bulk)> {
        let Ok(size) = u32::try_from(bulk.size) else {
            return Err((io::Error::from_raw_os_error(libc::EINVAL), bulk));
        };
        if bulk.size > bulk.buffer.len() || bulk.size == 0 {
            return Err((io::Error::from_raw_os_error(libc::EINVAL), bulk));
        }
        let userdata = bulk.userdata;
        let request = match bulk.direction {
            BulkDirection::Transmit => sys::VCHIQ_IOC_QUEUE_BULK_TRANSMIT,
            BulkDirection::Receive => sys::VCHIQ_IOC_QUEUE_BULK_RECEIVE,
        };
        let data = bulk.buffer.as_mut_ptr().cast::<c_void>();
        // Stash first: the completion may be read by the completion thread
        // before this ioctl returns. Moving the buffer keeps its memory
        // where it is (a Vec's heap block, or lent memory).
        let mut bulks = self.bulks.lock();
        if bulks.contains_key(&userdata) {
            drop(bulks);
            return Err((io::Error::from_raw_os_error(libc::EEXIST), bulk));
        }
        bulks.insert(userdata, bulk);
        drop(bulks);
        let mut arg = sys::vchiq_queue_bulk_transfer {
            handle: handle.0,
            data,
            size,
            userdata: userdata as usize as *mut c_void,
            mode: sys::VCHIQ_BULK_MODE_CALLBACK,
        };
        // SAFETY: the transfer's `size` bytes at `data` (checked against the
        // buffer's length above) are the memory of a `BulkBuffer` now owned
        // by `self.bulks`: a Vec's heap block, or memory valid and ours
        // alone under `BulkBuffer::lend`'s contract until the buffer's
        // owner is dropped with it. `self.bulks` neither drops nor moves the
        // buffer until the kernel reports the transfer done or aborted (or
        // ever, if `self` is dropped first). The userdata pointer is an
        // integer the kernel hands back without dereferencing it.
        match unsafe { self.ioctl_ptr(request, &mut arg) } {
            Ok(_) => Ok(()),
            Err(e) => {
                // Not queued: the kernel has let go of the buffer.
                let bulk = self.bulks.lock().remove(&userdata).expect("stashed above; only completions remove");
                Err((e, bulk))
            }
        }
    }

    fn await_completion(&self, max: usize, buffers: &mut MessageBuffers) -> io::Result<Vec<Completion>> {
        let max = max.clamp(1, sys::VCHIQ_MAX_COMPLETIONS as usize);
        let mut completions = vec![sys::vchiq_completion_data::default(); max];
        let mut pointers: Vec<*mut c_void> = buffers.buffers.iter_mut().map(|b| b.as_mut_ptr().cast()).collect();
        let size = buffers.size();
        let mut arg = sys::vchiq_await_completion {
            count: max as u32,
            buf: completions.as_mut_ptr(),
            msgbufsize: size as u32,
            msgbufcount: buffers.available.min(pointers.len()) as u32,
            msgbufs: pointers.as_mut_ptr(),
        };
        // SAFETY: AWAIT_COMPLETION writes at most `count` completions at `buf`
        // (a Vec of that many) and copies each message into one of the first
        // `msgbufcount` pointers of `msgbufs`, each a live Vec of `msgbufsize`
        // bytes borrowed exclusively through `buffers` for the call.
        let n = unsafe { self.ioctl_ptr(sys::VCHIQ_IOC_AWAIT_COMPLETION, &mut arg) }?;
        let n = usize::try_from(n).ok().filter(|&n| n <= max).ok_or_else(|| io::Error::from_raw_os_error(libc::EIO))?;
        buffers.available = (arg.msgbufcount as usize).min(buffers.available);
        let mut out = Vec::with_capacity(n);
        for c in &completions[..n] {
            let service = c.service_userdata as usize as u32;
            let completion = match c.reason {
                sys::VCHIQ_SERVICE_OPENED => Completion::ServiceOpened { service },
                sys::VCHIQ_SERVICE_CLOSED => Completion::ServiceClosed { service },
                sys::VCHIQ_MESSAGE_AVAILABLE => {
                    // The header is one of our buffers: find which, and read it
                    // through the Vec rather than the pointer.
                    let Some(i) = pointers.iter().position(|&p| p == c.header.cast::<c_void>()) else {
                        log::error!("vchiq: a message in a buffer that is not ours; dropped");
                        continue;
                    };
                    let buf = &buffers.buffers[i];
                    let len = u32::from_ne_bytes([buf[4], buf[5], buf[6], buf[7]]) as usize;
                    if len + HEADER_SIZE > buf.len() {
                        log::error!("vchiq: a message of {len} bytes overruns its {}-byte buffer; dropped", buf.len());
                        continue;
                    }
                    Completion::Message { service, data: buf[HEADER_SIZE..HEADER_SIZE + len].to_vec() }
                }
                reason @ (sys::VCHIQ_BULK_TRANSMIT_DONE
                | sys::VCHIQ_BULK_RECEIVE_DONE
                | sys::VCHIQ_BULK_TRANSMIT_ABORTED
                | sys::VCHIQ_BULK_RECEIVE_ABORTED) => {
                    let userdata = c.bulk_userdata as usize as u32;
                    let Some(bulk) = self.bulks.lock().remove(&userdata) else {
                        log::error!("vchiq: completion of an unknown bulk transfer {userdata}; dropped");
                        continue;
                    };
                    if matches!(reason, sys::VCHIQ_BULK_TRANSMIT_DONE | sys::VCHIQ_BULK_RECEIVE_DONE) {
                        Completion::BulkDone { service, bulk }
                    } else {
                        Completion::BulkAborted { service, bulk }
                    }
                }
                other => {
                    log::error!("vchiq: unknown completion reason {other}; dropped");
                    continue;
                }
            };
            out.push(completion);
        }
        Ok(out)
    }
}

impl Drop for Kernel {
    fn drop(&mut self) {
        // Closing the descriptor makes the kernel abort what is queued, but a
        // buffer it has pinned may still be written while it does: keep them.
        let bulks = std::mem::take(&mut *self.bulks.lock());
        if !bulks.is_empty() {
            log::warn!("vchiq: {} bulk buffers still with the driver at close; kept (leaked) for safety", bulks.len());
            std::mem::forget(bulks);
        }
    }
}
