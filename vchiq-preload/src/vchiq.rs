//! `/dev/vchiq`: each ioctl decoded for this build's ABI (the `vchiq-sys`
//! structs and request numbers of the target: LP64 on x86_64 and aarch64,
//! ILP32 on 32-bit ARM) and answered by one [`EmulatedVchiq`] per open
//! descriptor, with the results written back into the caller's structs as
//! the kernel's `vchiq_dev.c` writes them.
//!
//! The device takes integer userdata and owned buffers where the kernel
//! takes the caller's pointers, so each instance keeps two small tables:
//! services (a token given to the device → the caller's `userdata`
//! pointer, returned in every completion of the service) and bulk
//! transfers (a token → the caller's buffer, size and `userdata`; a
//! receive's data is copied into the caller's buffer when its completion
//! is collected, before AWAIT_COMPLETION reports it; a buffer that cannot
//! take it, or one of a descriptor closed meanwhile, is not written, and
//! the transfer is reported aborted).
//!
//! As the kernel, AWAIT_COMPLETION removes a completion from the queue only
//! once it has been copied out: one that cannot be (a message buffer that
//! is null, too small, or none left) is kept, with those after it, for the
//! next call, and the message buffer count is taken down only for a message
//! copied. Nothing is allocated from a caller's sizes beyond what a
//! transfer holds: a bulk receive's buffer that cannot be allocated is
//! `ENOMEM`, and the message buffers are counted, not allocated.

use std::collections::{HashMap, VecDeque};
use std::ffi::{c_int, c_void};
use std::io;
use std::mem::{offset_of, size_of};
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use vchiq::{Bulk, BulkDirection, Completion, Device, Fourcc, MessageBuffers, ServiceHandle, ServiceParams};
use vchiq_emu::EmulatedVchiq;
use vchiq_sys as sys;

use crate::sys::{addr, ptr, value_arg, zeroed_bytes, Errno, User};

/// A bulk transfer queued by the caller, until its completion is collected.
#[derive(Clone, Copy)]
struct PendingBulk {
    direction: BulkDirection,
    /// The caller's buffer (written on a receive's completion).
    data: User,
    size: usize,
    /// The caller's `userdata`, returned in the completion.
    userdata: usize,
    /// `VCHIQ_BULK_MODE_NOCALLBACK`: no completion is reported.
    report: bool,
}

#[derive(Default)]
struct Tables {
    connected: bool,
    /// Service tokens (the device's userdata) → the caller's userdata.
    services: HashMap<u32, usize>,
    next_service: u32,
    bulks: HashMap<u32, PendingBulk>,
    next_bulk: u32,
    /// Completions taken from the device and not yet copied out to the
    /// caller (one failed, or the call's `count` was reached), for the next
    /// AWAIT_COMPLETION, in order before the device's.
    carry: VecDeque<Completion>,
}

/// What became of one completion in AWAIT_COMPLETION.
enum Outcome {
    /// Copied out to the caller.
    Reported,
    /// Done with, not for the caller (a NOCALLBACK transfer's).
    Silent,
    /// A message with no message buffer left: it waits for the next call.
    Stall,
}

/// One open of `/dev/vchiq`: an instance of the driver, as the kernel
/// makes one per open.
pub(crate) struct Vchiq {
    device: EmulatedVchiq,
    tables: Mutex<Tables>,
    /// Held by an AWAIT_COMPLETION from taking completions until it has
    /// copied them out or put them back, so that two threads waiting at
    /// once report them in order (the kernel copies out under its
    /// `completion_mutex`).
    awaiting: Mutex<()>,
    /// The descriptor was closed: no received data is written into the
    /// caller's buffers from then on (they may be freed; the kernel never
    /// writes after its release either).
    closed: AtomicBool,
}

fn errno(e: io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(libc::EIO))
}

/// A fresh token not in `map` (never 0).
fn token<V>(next: &mut u32, map: &HashMap<u32, V>) -> u32 {
    loop {
        *next = next.wrapping_add(1);
        if *next != 0 && !map.contains_key(next) {
            return *next;
        }
    }
}

impl Vchiq {
    pub(crate) fn new() -> Vchiq {
        Vchiq {
            device: EmulatedVchiq::new(),
            tables: Mutex::new(Tables::default()),
            awaiting: Mutex::new(()),
            closed: AtomicBool::new(false),
        }
    }

    /// The descriptor is closing: close every service and wake a thread in
    /// AWAIT_COMPLETION (as the kernel's release does; a thread still in an
    /// ioctl then returns, and the instance ends with the last of them).
    pub(crate) fn shut_down(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let _ = self.device.shutdown();
    }

    /// One ioctl: its result (≥ 0) or the errno.
    pub(crate) fn ioctl(&self, request: u32, arg: usize) -> Result<c_int, Errno> {
        let handle = ServiceHandle(value_arg(arg));
        let done = |r: io::Result<()>| r.map(|()| 0).map_err(errno);
        match request {
            sys::VCHIQ_IOC_CONNECT => {
                // The kernel refuses a second CONNECT.
                let mut t = self.tables.lock();
                if t.connected {
                    return Err(Errno(libc::EINVAL));
                }
                self.device.connect().map_err(errno)?;
                t.connected = true;
                Ok(0)
            }
            sys::VCHIQ_IOC_SHUTDOWN => {
                // Not connected: nothing to do, success (vchiq_dev.c).
                if !self.tables.lock().connected {
                    return Ok(0);
                }
                done(self.device.shutdown())
            }
            sys::VCHIQ_IOC_CREATE_SERVICE => self.create_service(User(arg)),
            sys::VCHIQ_IOC_REMOVE_SERVICE => done(self.device.remove_service(handle)),
            sys::VCHIQ_IOC_CLOSE_SERVICE => done(self.device.close_service(handle)),
            sys::VCHIQ_IOC_CLOSE_DELIVERED => done(self.device.close_delivered(handle)),
            sys::VCHIQ_IOC_USE_SERVICE => done(self.device.use_service(handle)),
            sys::VCHIQ_IOC_RELEASE_SERVICE => done(self.device.release_service(handle)),
            sys::VCHIQ_IOC_LIB_VERSION => done(self.device.lib_version(value_arg(arg))),
            sys::VCHIQ_IOC_QUEUE_MESSAGE => self.queue_message(User(arg)),
            sys::VCHIQ_IOC_QUEUE_BULK_TRANSMIT => self.queue_bulk(BulkDirection::Transmit, User(arg)),
            sys::VCHIQ_IOC_QUEUE_BULK_RECEIVE => self.queue_bulk(BulkDirection::Receive, User(arg)),
            sys::VCHIQ_IOC_AWAIT_COMPLETION => self.await_completion(User(arg)),
            sys::VCHIQ_IOC_GET_CONFIG => self.get_config(User(arg)),
            // No VCHI-style service can be made here (CREATE_SERVICE
            // refuses `is_vchi`), and the kernel refuses DEQUEUE_MESSAGE on
            // any other.
            sys::VCHIQ_IOC_DEQUEUE_MESSAGE => Err(Errno(libc::EINVAL)),
            // GET_CLIENT_ID, SET_SERVICE_OPTION, DUMP_PHYS_MEM (gone from
            // current kernels) and anything else: not this device's.
            _ => Err(Errno(libc::ENOTTY)),
        }
    }

    fn create_service(&self, arg: User) -> Result<c_int, Errno> {
        let a: sys::vchiq_create_service = arg.read()?;
        if a.is_open == 0 {
            // The kernel requires CONNECT only for an open; a listening
            // (server) service is not emulated: the VideoCore never opens
            // one towards the host here.
            return Err(Errno(libc::EINVAL));
        }
        if !self.tables.lock().connected {
            return Err(Errno(libc::ENOTCONN));
        }
        if a.is_vchi != 0 {
            // VCHI-style services (messages by DEQUEUE_MESSAGE) are not
            // emulated; MMAL is not one.
            return Err(Errno(libc::EINVAL));
        }
        let token = {
            let mut t = self.tables.lock();
            let t = &mut *t;
            let token = token(&mut t.next_service, &t.services);
            t.services.insert(token, a.params.userdata as usize);
            token
        };
        let params = ServiceParams {
            fourcc: Fourcc::from_u32(a.params.fourcc as u32),
            userdata: token,
            version: a.params.version,
            version_min: a.params.version_min,
        };
        match self.device.create_service(&params) {
            Ok(handle) => {
                // Only the handle is written back, as the kernel does; if
                // it cannot be, the service goes again (as the kernel
                // removes it), since the caller cannot name it. Its token
                // stays for the SERVICE_CLOSED that removal reports (with
                // the caller's userdata), which takes it.
                if let Err(e) = arg.offset(offset_of!(sys::vchiq_create_service, handle)).write::<u32>(handle.0) {
                    let _ = self.device.remove_service(handle);
                    return Err(e);
                }
                Ok(0)
            }
            Err(e) => {
                self.tables.lock().services.remove(&token);
                Err(errno(e))
            }
        }
    }

    fn queue_message(&self, arg: User) -> Result<c_int, Errno> {
        let a: sys::vchiq_queue_message = arg.read()?;
        let count = a.count as usize;
        if count > sys::VCHIQ_MAX_ELEMENTS as usize {
            return Err(Errno(libc::EINVAL));
        }
        let max = self.device.get_config().map_err(errno)?.max_msg_size as usize;
        let elements = addr(a.elements.cast_mut());
        let mut parts = Vec::with_capacity(count);
        let mut total = 0usize;
        for i in 0..count {
            let e: sys::vchiq_element = elements.read_at(i)?;
            total = total.saturating_add(e.size as usize);
            if total > max {
                return Err(Errno(libc::EINVAL));
            }
            parts.push(addr(e.data.cast_mut()).read_bytes(e.size as usize)?);
        }
        let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        self.device.queue_message(ServiceHandle(a.handle), &slices).map(|()| 0).map_err(errno)
    }

    fn queue_bulk(&self, direction: BulkDirection, arg: User) -> Result<c_int, Errno> {
        let a: sys::vchiq_queue_bulk_transfer = arg.read()?;
        let report = match a.mode {
            sys::VCHIQ_BULK_MODE_CALLBACK => true,
            sys::VCHIQ_BULK_MODE_NOCALLBACK => false,
            // A blocking transfer is not emulated (the vchiq crate, and
            // libmmal's data path, queue in callback mode); WAITING resumes
            // a blocking transfer, and there is none to resume.
            sys::VCHIQ_BULK_MODE_BLOCKING => return Err(Errno(libc::EINVAL)),
            sys::VCHIQ_BULK_MODE_WAITING => return Err(Errno(libc::ESRCH)),
            _ => return Err(Errno(libc::EINVAL)),
        };
        let size = a.size as usize;
        let data = addr(a.data);
        if size > 0 && data.0 == 0 {
            return Err(Errno(libc::EFAULT));
        }
        let buffer = match direction {
            BulkDirection::Transmit => data.read_bytes(size)?,
            BulkDirection::Receive => zeroed_bytes(size)?,
        };
        let token = {
            let mut t = self.tables.lock();
            let t = &mut *t;
            let token = token(&mut t.next_bulk, &t.bulks);
            let pending = PendingBulk { direction, data, size, userdata: a.userdata as usize, report };
            t.bulks.insert(token, pending);
            token
        };
        let bulk = Bulk { direction, buffer: buffer.into(), size, userdata: token };
        match self.device.queue_bulk(ServiceHandle(a.handle), bulk) {
            Ok(()) => Ok(0),
            Err((e, _)) => {
                self.tables.lock().bulks.remove(&token);
                Err(errno(e))
            }
        }
    }

    fn get_config(&self, arg: User) -> Result<c_int, Errno> {
        let a: sys::vchiq_get_config = arg.read()?;
        let size = a.config_size as usize;
        if size > size_of::<sys::vchiq_config>() {
            return Err(Errno(libc::EINVAL));
        }
        let c = self.device.get_config().map_err(errno)?;
        let config = sys::vchiq_config {
            max_msg_size: c.max_msg_size,
            bulk_threshold: c.bulk_threshold,
            max_outstanding_bulks: c.max_outstanding_bulks,
            max_services: c.max_services,
            version: c.version,
            version_min: c.version_min,
        };
        addr(a.pconfig).write_prefix(&config, size)?;
        Ok(0)
    }

    fn await_completion(&self, arg: User) -> Result<c_int, Errno> {
        let a: sys::vchiq_await_completion = arg.read()?;
        if !self.tables.lock().connected {
            return Err(Errno(libc::ENOTCONN));
        }
        if a.count == 0 {
            // As the kernel: waits until there is something, takes nothing.
            // (Unlike the kernel's, the wait also ends for a completion the
            // caller is never told of, a NOCALLBACK transfer's, until a
            // call with room takes it.)
            let _in_order = self.awaiting.lock();
            if self.tables.lock().carry.is_empty() {
                self.device.await_completion(0, &mut MessageBuffers::accounting(0, 0)).map_err(errno)?;
            }
            return Ok(0);
        }
        let out = addr(a.buf);
        if out.0 == 0 {
            return Err(Errno(libc::EFAULT));
        }
        let max = a.count as usize;
        let _in_order = self.awaiting.lock();
        let msgbufs = Msgbufs { at: addr(a.msgbufs), size: a.msgbufsize as usize };
        // The kernel reads the count as an `int`: one that is not
        // positive is no buffer (and is not written back).
        let given = (a.msgbufcount as i32).max(0) as usize;
        let mut msgbufcount = given;
        let mut written = 0usize;
        let mut failed = None;
        // Completions the caller is not told of (NOCALLBACK transfers) do
        // not end the wait, as they never reach the kernel's queue.
        while written == 0 {
            // What an earlier call left first; the device's when none.
            let mut batch = std::mem::take(&mut self.tables.lock().carry);
            if batch.is_empty() {
                // Accounting only: the messages are copied into the
                // caller's buffers, nothing is allocated for them here.
                let mut buffers = MessageBuffers::accounting(msgbufcount, msgbufs.size);
                let completions = self.device.await_completion(max, &mut buffers).map_err(errno)?;
                if completions.is_empty() {
                    // SHUTDOWN, or no message buffer left for the next message.
                    break;
                }
                batch = completions.into();
            }
            let mut stop = false;
            while let Some(c) = batch.pop_front() {
                let outcome = if written == max {
                    Ok(Outcome::Stall)
                } else {
                    self.report(&c, out, written, msgbufs, &mut msgbufcount)
                };
                match outcome {
                    Ok(Outcome::Reported) => written += 1,
                    Ok(Outcome::Silent) => {}
                    Ok(Outcome::Stall) | Err(_) => {
                        // Kept, with the rest, for the next call (as the
                        // kernel leaves them queued). As the kernel: the
                        // error if nothing was written, else what was.
                        failed = outcome.err();
                        batch.push_front(c);
                        stop = true;
                        break;
                    }
                }
            }
            if !batch.is_empty() {
                let mut t = self.tables.lock();
                while let Some(c) = batch.pop_back() {
                    t.carry.push_front(c);
                }
            }
            if stop {
                break;
            }
        }
        if msgbufcount != given {
            arg.offset(offset_of!(sys::vchiq_await_completion, msgbufcount)).write::<u32>(msgbufcount as u32)?;
        }
        match failed {
            Some(e) if written == 0 => Err(e),
            _ => Ok(written as c_int),
        }
    }

    /// Copies completion `c` out as the caller's `index`th (`out` the
    /// caller's array): a message into the caller's next message buffer
    /// (from the end of `msgbufs`, as the kernel takes them), a received
    /// bulk's data into the caller's buffer. What the completion releases
    /// (the message buffer, a service's or a transfer's token) is taken
    /// only once everything is written: a completion that fails is left
    /// whole, to be reported again.
    fn report(
        &self,
        c: &Completion,
        out: User,
        index: usize,
        msgbufs: Msgbufs,
        msgbufcount: &mut usize,
    ) -> Result<Outcome, Errno> {
        let service_userdata = |service: u32| self.tables.lock().services.get(&service).copied().unwrap_or(0);
        let mut data = sys::vchiq_completion_data::default();
        match c {
            Completion::ServiceOpened { service } => {
                data.reason = sys::VCHIQ_SERVICE_OPENED;
                data.service_userdata = ptr(service_userdata(*service));
                write_completion(out, index, &data)?;
            }
            Completion::ServiceClosed { service } => {
                data.reason = sys::VCHIQ_SERVICE_CLOSED;
                data.service_userdata = ptr(service_userdata(*service));
                write_completion(out, index, &data)?;
                // The service's last completion: its token is done with.
                self.tables.lock().services.remove(service);
            }
            Completion::Message { service, data: message } => {
                // As the kernel: too large for the caller's buffers is an
                // error, none left waits.
                if message.len().saturating_add(size_of::<sys::vchiq_header>()) > msgbufs.size {
                    return Err(Errno(libc::EMSGSIZE));
                }
                let Some(next) = msgbufcount.checked_sub(1) else { return Ok(Outcome::Stall) };
                let buf: User = addr(msgbufs.at.read_at::<*mut c_void>(next)?);
                // Clients read only the size; the message id is the slot's,
                // meaningless outside the driver.
                buf.offset(offset_of!(sys::vchiq_header, msgid)).write::<i32>(0)?;
                buf.offset(offset_of!(sys::vchiq_header, size)).write::<u32>(message.len() as u32)?;
                buf.offset(size_of::<sys::vchiq_header>()).write_bytes(message)?;
                data.reason = sys::VCHIQ_MESSAGE_AVAILABLE;
                data.service_userdata = ptr(service_userdata(*service));
                data.header = ptr(buf.0);
                write_completion(out, index, &data)?;
                *msgbufcount = next;
            }
            Completion::BulkDone { service, bulk } => return self.report_bulk(*service, bulk, true, out, index),
            Completion::BulkAborted { service, bulk } => return self.report_bulk(*service, bulk, false, out, index),
        }
        Ok(Outcome::Reported)
    }

    fn report_bulk(&self, service: u32, bulk: &Bulk, done: bool, out: User, index: usize) -> Result<Outcome, Errno> {
        let (pending, userdata) = {
            let t = self.tables.lock();
            (t.bulks.get(&bulk.userdata).copied(), t.services.get(&service).copied().unwrap_or(0))
        };
        // A transfer this instance did not queue cannot complete here.
        let Some(pending) = pending else { return Ok(Outcome::Silent) };
        let mut done = done;
        if done && pending.direction == BulkDirection::Receive {
            // The kernel's DMA wrote the data before the transfer
            // completed; here it is written now. Not once the descriptor
            // is closed (the buffer may be gone), nor where the caller's
            // buffer cannot take it (the kernel refuses such a buffer when
            // the transfer is queued): the transfer is then reported as
            // aborted, its data not delivered, and the completions after
            // it go on.
            let n = bulk.data().len().min(pending.size);
            if self.closed.load(Ordering::SeqCst) || pending.data.write_bytes(&bulk.data()[..n]).is_err() {
                done = false;
            }
        }
        if pending.report {
            let reason = match (pending.direction, done) {
                (BulkDirection::Transmit, true) => sys::VCHIQ_BULK_TRANSMIT_DONE,
                (BulkDirection::Receive, true) => sys::VCHIQ_BULK_RECEIVE_DONE,
                (BulkDirection::Transmit, false) => sys::VCHIQ_BULK_TRANSMIT_ABORTED,
                (BulkDirection::Receive, false) => sys::VCHIQ_BULK_RECEIVE_ABORTED,
            };
            let data = sys::vchiq_completion_data {
                reason,
                header: std::ptr::null_mut(),
                service_userdata: ptr(userdata),
                bulk_userdata: ptr(pending.userdata),
            };
            write_completion(out, index, &data)?;
        }
        self.tables.lock().bulks.remove(&bulk.userdata);
        Ok(if pending.report { Outcome::Reported } else { Outcome::Silent })
    }
}

/// Writes completion `c` as the caller's `index`th (`out` the caller's
/// array), its fields at their offsets and its padding (4 bytes after
/// `reason` on LP64) zero: a copy of the struct as it is would hand the
/// caller whatever bytes this library's stack held there.
fn write_completion(out: User, index: usize, c: &sys::vchiq_completion_data) -> Result<(), Errno> {
    type C = sys::vchiq_completion_data;
    let mut bytes = [0u8; size_of::<C>()];
    let mut put = |offset: usize, field: &[u8]| bytes[offset..offset + field.len()].copy_from_slice(field);
    put(offset_of!(C, reason), &c.reason.to_ne_bytes());
    put(offset_of!(C, header), &(c.header as usize).to_ne_bytes());
    put(offset_of!(C, service_userdata), &(c.service_userdata as usize).to_ne_bytes());
    put(offset_of!(C, bulk_userdata), &(c.bulk_userdata as usize).to_ne_bytes());
    out.offset(index.wrapping_mul(size_of::<C>())).write_bytes(&bytes)
}

/// AWAIT_COMPLETION's message buffers: the caller's array of pointers and
/// the size of each.
#[derive(Clone, Copy)]
struct Msgbufs {
    at: User,
    size: usize,
}
