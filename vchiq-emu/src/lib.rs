//! An emulated `/dev/vchiq`: the kernel driver and the VideoCore's MMAL
//! service, in process, serving the software VideoCore's components
//! (`mmal-emu`).
//!
//! [`EmulatedVchiq`] implements [`vchiq::Device`], one method per ioctl, so
//! a [`vchiq::Connection`] opened on it speaks to the emulated firmware
//! exactly as it would to a Raspberry Pi's: the same messages (the
//! `mmal_msg_*` layouts of `vchiq-sys`), the same bulk transfers, the same
//! answers.
//!
//! ```
//! use std::sync::Arc;
//! use vchiq::{Connection, Fourcc, Options, ServiceOptions};
//!
//! let device = Arc::new(vchiq_emu::EmulatedVchiq::new());
//! let connection = Connection::with_device(Arc::clone(&device), Options::default()).unwrap();
//! let mmal = connection.open_service(ServiceOptions::new(Fourcc::MMAL, 15, 10)).unwrap();
//! // Any other service is refused, as the VideoCore refuses it.
//! assert!(connection.open_service(ServiceOptions::new(Fourcc::new(*b"nope"), 1, 1)).is_err());
//! mmal.close().unwrap();
//! ```
//!
//! # The driver
//!
//! GET_CONFIG reports what a current kernel reports ([`vchiq::Config`]'s
//! default: version 8, minimum 3, 4 bulks per direction); LIB_VERSION
//! refuses a version below 3 (`EINVAL`) and takes any other; CONNECT comes
//! before any service (`ENOTCONN`).
//! CREATE_SERVICE opens `mmal` when the client's versions overlap the
//! service's (10 to 16) and fails with `EIO` for any other 4CC or version,
//! as the kernel does when the VideoCore refuses the open; a service opens with one use held
//! (USE/RELEASE_SERVICE count it, a release below zero is `EINVAL`).
//! QUEUE_MESSAGE takes at most 8 elements and `max_msg_size` bytes
//! (`EINVAL`). QUEUE_BULK_* queue at most 4 transfers per direction (a
//! fifth waits until one completes, as in the kernel, though no signal
//! interrupts it), and complete in order: a host receive takes the next data the
//! VideoCore transmits, a VideoCore receive the next host transmit.
//! AWAIT_COMPLETION blocks until something is there (or SHUTDOWN; a count
//! of 0 then returns, taking nothing, as the kernel's loop does), takes a
//! message buffer per message from the caller's ([`vchiq::MessageBuffers`]:
//! `EMSGSIZE` for a message that does not fit, none left returns what it
//! has). CLOSE_SERVICE aborts the service's queued transfers, queues
//! SERVICE_CLOSED, ends the service (its components destroyed) and, for a
//! client that gave LIB_VERSION 7 or later, returns once CLOSE_DELIVERED
//! acknowledged it (10 s at most: `ETIMEDOUT`), as the kernel does. The
//! service is then freed (its handle refused with `EINVAL`): by
//! CLOSE_DELIVERED (also after the VideoCore closed it), by the close
//! itself for an older client, or by REMOVE_SERVICE.
//!
//! # Threads
//!
//! Each open service has one VideoCore thread, which takes the host's
//! messages in order (QUEUE_MESSAGE only hands them over) and replies on
//! it; buffers and events come back on the emulated components' own worker
//! threads, which queue BUFFER_TO_HOST (with its bulk data, atomically, so
//! that the bulk order matches the message order) and EVENT_TO_HOST. The
//! VideoCore thread waits for an input buffer's bulk data (5 s at most);
//! nothing else blocks on the host. The thread ends with its service, after
//! destroying every component the service created; CLOSE_SERVICE, or the
//! CLOSE_DELIVERED of a service the VideoCore closed, joins it before the
//! service is freed, so no component outlives its service; [`threads`]
//! counts them.
//!
//! # The MMAL service, and what it checks
//!
//! Every message is checked as the firmware would:
//!
//! * shorter than the 24-byte header, or a wrong magic: the service is
//!   closed (SERVICE_CLOSED), since no reply can be attributed;
//! * longer than 512 bytes, or shorter than its type's struct, or with a
//!   parameter size outside 8..=392, a component name without its NUL, an
//!   extradata size over 128: an error reply (`MMAL_MSG_STATUS_EINVAL`, the
//!   status in the header and the reply's first word, the rest of the
//!   reply's struct zero);
//! * an unknown or unserved type (QUIT, GET_STATS, OPAQUE_ALLOCATOR …):
//!   `ENOSYS`;
//! * an unknown component handle, a port handle not of that component, an
//!   unknown port action: `EINVAL`; an unknown port type or index in
//!   PORT_INFO_GET/SET: `ENOENT`; more than 64 components: `ENOMEM`;
//! * a BUFFER_FROM_HOST refused comes straight back as BUFFER_TO_HOST with
//!   the status in its header and length 0, every word the host sent (the
//!   client context included) unchanged: `EINVAL` for a wrong driver-buffer
//!   magic, unknown handles, a disabled port, `alloc_size` below the port's
//!   buffer size, `length` above `alloc_size`, inline data over 128 bytes
//!   or shorter than `length`, a reference, zero copy on a port without
//!   `MMAL_PARAMETER_ZERO_COPY` or naming no live VCSM block of
//!   `alloc_size` bytes, a zero-copy input's `offset + length` past
//!   `alloc_size`; `EFAULT` for a zero-copy block the CPU holds or the
//!   VideoCore holds already (in another buffer); `ENOSPC` for more
//!   buffers than the port was enabled with; `ENOMEM` for a buffer whose
//!   memory cannot be had; `EIO` for input data whose bulk transmit does
//!   not come within 5 s.
//!
//! An output's frame goes to the host from the memory it was written in,
//! lent to its buffer (the port's pool payloads count against the
//! VideoCore's memory but stay untouched); that memory is kept for the
//! port's next buffers (as many blocks as it has buffers) until its
//! disable.
//!
//! Replies echo the request's header (magic, type, `control_service`,
//! `context`). COMPONENT_CREATE takes the name without `vc.` (as the host
//! sends it). A component's handle is a block of the firmware's pool of
//! 256 (`(index + 1) << 3`, the form libmmal checks before it sends a
//! buffer; given out as vcos's free list goes, the highest first and the
//! last one freed next; the 257th live component in the process:
//! `ENOMEM`), a port's is its place in its component counted from 1
//! (libmmal refuses one over 255). PORT_INFO_GET
//! and _SET answer the 292-byte reply (`found` 1); _SET writes
//! `buffer_num`, `buffer_size`, `userdata` and the format, and commits it.
//! PORT_ACTION ENABLE makes a pool of the port's `buffer_num` buffers of
//! `buffer_size` (after the counts in the message's port struct), DISABLE
//! returns every buffer the port holds (length 0), FLUSH returns them and
//! keeps the port enabled, CONNECT/DISCONNECT make and destroy a tunnel
//! (enabled and disabled through its output port; the input's own ENABLE
//! and DISABLE, which libmmal sends around its output's, are taken and
//! change nothing), SET_REQUIREMENTS sets a
//! disabled port's buffer count and size (libmmal tells a tunnel's input
//! before enabling its output). The PORT_FLUSH message (libmmal's flush of
//! a port that has sent data by bulk) takes the 8-byte dummy bulk that
//! follows it, then flushes as FLUSH does; BUFFER_FROM_HOST_ZEROLEN
//! (libmmal's empty EOS buffer) takes its 8-byte dummy bulk, then is an
//! empty buffer: each dummy keeps the message behind the data sent before
//! it. Output buffers come back
//! with their data by bulk (offset 0; an empty EOS buffer with the 8-byte
//! dummy the kernel's client receives); input buffers come back consumed
//! (length 0, no data); input data comes inline (`payload_in_message`) or by
//! the bulk transmit that follows the message. Zero copy, once
//! `MMAL_PARAMETER_ZERO_COPY` is on for the port: `data` is the VideoCore
//! handle of an emulated VCSM block (`vcsm`'s emulated memory), which the
//! VideoCore maps for itself (once per port and block, while the port is
//! enabled) and the component works in directly: an input's data is read
//! and an output's frame is written in the block, with no copy on either
//! side. The buffer comes back with `is_zero_copy`, its offset and length,
//! and no bulk. While the component holds the buffer, the block is held
//! from the host's CPU side (`vcsm::Error::DeviceBusy`), and the mapping
//! keeps the memory alive even if the host frees the block.
//! EVENT_TO_HOST carries the event's first 256 bytes; a FORMAT_CHANGED event
//! carries the four buffer words, a null format word, the format and its
//! video `es` (96 bytes). GET_VERSION answers 16.1, minimum 10.
//!
//! # Not emulated
//!
//! Reference buffers (passthrough): a buffer's `has_reference` is not
//! read (libmmal leaves it unset), and one is never sent back; events
//! longer than 256 bytes are cut (no delayed bulk);
//! GET_STATS, OPAQUE_ALLOCATOR, CONSUME_MEM, LMK, DRM_*, HOST_LOG and
//! COMPACT answer `ENOSYS`; VCHI-style services (DEQUEUE_MESSAGE), SET_SERVICE_OPTION and
//! synchronous mode are not part of the trait.

mod emu;
mod kernel;
mod mmal;
mod wire;

use std::io;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use vchiq::{Bulk, Completion, Config, Device, Fourcc, MessageBuffers, ServiceHandle, ServiceParams};

use kernel::{errno, Kernel, EINVAL, ENOTCONN, ETIMEDOUT};

/// The MMAL service's protocol versions on the VideoCore: it opens for a
/// client whose versions overlap these.
pub const MMAL_SERVICE_VERSION: i16 = 16;
/// The oldest client version the MMAL service accepts.
pub const MMAL_SERVICE_VERSION_MIN: i16 = 10;

/// How long CLOSE_SERVICE waits for its CLOSE_DELIVERED.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// The emulated `/dev/vchiq`, with the VideoCore behind it. Share it
/// (`Arc`) with the connection to keep a handle on it; dropping the last
/// handle closes every service still open.
pub struct EmulatedVchiq {
    kernel: Arc<Kernel>,
    config: Config,
}

impl Default for EmulatedVchiq {
    fn default() -> EmulatedVchiq {
        EmulatedVchiq::new()
    }
}

/// The emulated VideoCore's service threads running in the process.
///
/// ```
/// let before = vchiq_emu::threads();
/// drop(vchiq_emu::EmulatedVchiq::new());
/// assert_eq!(vchiq_emu::threads(), before);
/// ```
pub fn threads() -> usize {
    mmal::THREADS.load(Ordering::SeqCst)
}

/// The time the emulated drivers of the process have spent copying bulk
/// data between the host and the VideoCore. On a Pi that is the work of
/// the DMA engine, not of the ARM cores; a benchmark books it to the
/// VideoCore.
///
/// ```
/// let before = vchiq_emu::bulk_copy_time();
/// assert!(vchiq_emu::bulk_copy_time() >= before);
/// ```
pub fn bulk_copy_time() -> std::time::Duration {
    kernel::copy_time()
}

/// The software VideoCore's id (`MMAL_COMPONENT_T::id`) of the live
/// component with this handle on the wire (COMPONENT_CREATE's reply), for
/// [`mmal_emu::post_event`] in tests.
///
/// ```
/// assert_eq!(vchiq_emu::component_id(0), None);
/// ```
pub fn component_id(handle: u32) -> Option<u32> {
    mmal::component_id(handle)
}

impl EmulatedVchiq {
    /// A device with no service open.
    pub fn new() -> EmulatedVchiq {
        EmulatedVchiq { kernel: Arc::new(Kernel::new()), config: Config::default() }
    }

    /// A test knob, not firmware behaviour: while `hold` is set, no bulk
    /// data moves in either direction, as if the VideoCore's DMA stalled.
    /// The host's transfers stay queued (they keep their slots: at most
    /// four per direction), the VideoCore's data for the host waits, and
    /// the VideoCore waiting for a host transmit waits without its usual
    /// time limit. Released (`false`), everything moves on in order. A
    /// service that closes meanwhile aborts its queued transfers as usual.
    ///
    /// ```
    /// let vchiq = vchiq_emu::EmulatedVchiq::new();
    /// vchiq.hold_bulks(true);
    /// vchiq.hold_bulks(false);
    /// ```
    pub fn hold_bulks(&self, hold: bool) {
        self.kernel.hold_bulks(hold);
    }

    /// A setting (on by default, as the firmware does): a port's DISABLE is
    /// answered only once the host has received the data of every buffer
    /// the VideoCore sent before it, each still the VideoCore's until its
    /// bulk transfer is done (at most 2 s, then it answers anyway; the
    /// host's own data is taken meanwhile).
    /// userland's libmmal relies on it: its disable checks, once answered,
    /// that every buffer of the port is back, and a buffer with data is
    /// back only when its bulk receive is done (`mmal_vc_port_disable`
    /// asserts it, then frees the buffers' contexts, which a later
    /// completion would use). A host that queues its bulk receives only on
    /// the thread that waits for the reply stalls on it; off, a test can
    /// show what such a host does against a VideoCore that answers first.
    ///
    /// ```
    /// let vchiq = vchiq_emu::EmulatedVchiq::new();
    /// vchiq.disable_after_bulks(false);
    /// ```
    pub fn disable_after_bulks(&self, on: bool) {
        self.kernel.state.lock().disable_after_bulks = on;
    }

    /// Bulk transmits the VideoCore has made (on every service) whose data
    /// the host has not received yet.
    ///
    /// ```
    /// assert_eq!(vchiq_emu::EmulatedVchiq::new().data_to_host(), 0);
    /// ```
    pub fn data_to_host(&self) -> usize {
        self.kernel.state.lock().services.values().map(|s| s.vc_tx.len()).sum()
    }

    /// The uses of the VideoCore (USE_SERVICE less RELEASE_SERVICE) that
    /// the open services hold.
    ///
    /// ```
    /// assert_eq!(vchiq_emu::EmulatedVchiq::new().uses(), 0);
    /// ```
    pub fn uses(&self) -> i64 {
        self.kernel.state.lock().services.values().filter(|s| !s.closed).map(|s| i64::from(s.uses)).sum()
    }

    /// Services known to the driver (open, or closed and not yet freed).
    ///
    /// ```
    /// assert_eq!(vchiq_emu::EmulatedVchiq::new().services(), 0);
    /// ```
    pub fn services(&self) -> usize {
        self.kernel.state.lock().services.len()
    }

    /// Services open (not yet closed).
    ///
    /// ```
    /// assert_eq!(vchiq_emu::EmulatedVchiq::new().open_services(), 0);
    /// ```
    pub fn open_services(&self) -> usize {
        self.kernel.state.lock().services.values().filter(|s| !s.closed).count()
    }

    fn service_open(&self, handle: ServiceHandle) -> io::Result<()> {
        match self.kernel.state.lock().services.get(&handle.0) {
            Some(s) if !s.closed => Ok(()),
            _ => Err(errno(EINVAL)),
        }
    }

    /// Closes and ends a service: its thread is joined (its components
    /// are destroyed by then).
    fn end(&self, handle: ServiceHandle) {
        self.kernel.close(handle);
        if let Some(t) = self.kernel.take_thread(handle) {
            let _ = t.join();
        }
    }
}

impl Drop for EmulatedVchiq {
    fn drop(&mut self) {
        let handles: Vec<u32> = self.kernel.state.lock().services.keys().copied().collect();
        for h in handles {
            self.end(ServiceHandle(h));
        }
    }
}

impl Device for EmulatedVchiq {
    fn get_config(&self) -> io::Result<Config> {
        Ok(self.config)
    }

    fn lib_version(&self, version: u32) -> io::Result<()> {
        // As vchiq_dev.c: below the minimum is refused, anything else is
        // taken (newer clients included).
        if version < self.config.version_min as u32 {
            return Err(errno(EINVAL));
        }
        self.kernel.state.lock().lib_version = version;
        Ok(())
    }

    fn connect(&self) -> io::Result<()> {
        self.kernel.state.lock().connected = true;
        Ok(())
    }

    fn shutdown(&self) -> io::Result<()> {
        let handles: Vec<u32> = {
            let mut st = self.kernel.state.lock();
            st.shutdown = true;
            st.services.keys().copied().collect()
        };
        self.kernel.cond.notify_all();
        for h in handles {
            self.kernel.close(ServiceHandle(h));
        }
        Ok(())
    }

    fn create_service(&self, params: &ServiceParams) -> io::Result<ServiceHandle> {
        if !self.kernel.state.lock().connected {
            return Err(errno(ENOTCONN));
        }
        let versions_overlap = params.version >= MMAL_SERVICE_VERSION_MIN && params.version_min <= MMAL_SERVICE_VERSION;
        if params.fourcc != Fourcc::MMAL || !versions_overlap {
            return Err(errno(kernel::EIO));
        }
        let (tx, rx) = mpsc::channel();
        let handle = self.kernel.add_service(params.userdata, tx);
        let kernel = Arc::clone(&self.kernel);
        mmal::THREADS.fetch_add(1, Ordering::SeqCst);
        let spawned = std::thread::Builder::new().name("vc-mmal".into()).spawn(move || mmal::run(kernel, handle, rx));
        match spawned {
            Ok(t) => {
                if let Some(s) = self.kernel.state.lock().services.get_mut(&handle.0) {
                    s.thread = Some(t);
                }
                Ok(handle)
            }
            Err(e) => {
                mmal::THREADS.fetch_sub(1, Ordering::SeqCst);
                self.kernel.close(handle);
                self.kernel.state.lock().services.remove(&handle.0);
                Err(e)
            }
        }
    }

    fn close_service(&self, handle: ServiceHandle) -> io::Result<()> {
        if !self.kernel.state.lock().services.contains_key(&handle.0) {
            return Err(errno(EINVAL));
        }
        self.end(handle);
        let deadline = Instant::now() + CLOSE_WAIT;
        let mut st = self.kernel.state.lock();
        if st.lib_version < vchiq_sys::VCHIQ_VERSION_CLOSE_DELIVERED {
            // An older client never sends CLOSE_DELIVERED: the service is
            // freed now.
            st.services.remove(&handle.0);
            return Ok(());
        }
        // CLOSE_DELIVERED frees the service.
        while st.services.contains_key(&handle.0) && !st.shutdown {
            if self.kernel.cond.wait_until(&mut st, deadline).timed_out() {
                return Err(errno(ETIMEDOUT));
            }
        }
        Ok(())
    }

    fn remove_service(&self, handle: ServiceHandle) -> io::Result<()> {
        if !self.kernel.state.lock().services.contains_key(&handle.0) {
            return Err(errno(EINVAL));
        }
        self.end(handle);
        self.kernel.state.lock().services.remove(&handle.0);
        self.kernel.cond.notify_all();
        Ok(())
    }

    fn close_delivered(&self, handle: ServiceHandle) -> io::Result<()> {
        let thread = {
            let mut st = self.kernel.state.lock();
            match st.services.get_mut(&handle.0) {
                Some(s) if s.closed && !s.delivered => {
                    s.delivered = true;
                    s.thread.take()
                }
                _ => return Err(errno(EINVAL)),
            }
        };
        // The service ends (its components destroyed) before it is freed;
        // its thread needs nothing of the caller's.
        if let Some(t) = thread {
            let _ = t.join();
        }
        self.kernel.state.lock().services.remove(&handle.0);
        self.kernel.cond.notify_all();
        Ok(())
    }

    fn use_service(&self, handle: ServiceHandle) -> io::Result<()> {
        let mut st = self.kernel.state.lock();
        match st.services.get_mut(&handle.0) {
            Some(s) if !s.closed => {
                s.uses += 1;
                Ok(())
            }
            _ => Err(errno(EINVAL)),
        }
    }

    fn release_service(&self, handle: ServiceHandle) -> io::Result<()> {
        let mut st = self.kernel.state.lock();
        match st.services.get_mut(&handle.0) {
            Some(s) if !s.closed && s.uses > 0 => {
                s.uses -= 1;
                Ok(())
            }
            _ => Err(errno(EINVAL)),
        }
    }

    fn queue_message(&self, handle: ServiceHandle, elements: &[&[u8]]) -> io::Result<()> {
        let message: Vec<u8> = elements.concat();
        if elements.len() > vchiq_sys::VCHIQ_MAX_ELEMENTS as usize || message.len() > self.config.max_msg_size as usize
        {
            return Err(errno(EINVAL));
        }
        self.service_open(handle)?;
        let st = self.kernel.state.lock();
        let inbox = st.services.get(&handle.0).and_then(|s| s.inbox.as_ref()).ok_or_else(|| errno(EINVAL))?;
        inbox.send(message).map_err(|_| errno(EINVAL))
    }

    fn queue_bulk(&self, handle: ServiceHandle, bulk: Bulk) -> Result<(), (io::Error, Bulk)> {
        self.kernel.queue_bulk(handle, bulk)
    }

    fn await_completion(&self, max: usize, buffers: &mut MessageBuffers) -> io::Result<Vec<Completion>> {
        let mut st = self.kernel.state.lock();
        while st.completions.is_empty() && !st.shutdown {
            self.kernel.cond.wait(&mut st);
        }
        // As the kernel: the wait comes first, so a call for none (`max`
        // 0) returns once there is something, taking nothing.
        let mut out = Vec::new();
        while out.len() < max {
            let Some(c) = st.completions.pop_front() else { break };
            if let Completion::Message { data, .. } = &c {
                if let Err(e) = buffers.consume(data.len()) {
                    st.completions.push_front(c);
                    if out.is_empty() && e.raw_os_error() != Some(kernel::EAGAIN) {
                        return Err(e);
                    }
                    break;
                }
            }
            out.push(c);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use vchiq::{Connection, Fourcc, Options, ServiceOptions};
    use vchiq_sys::{MMAL_MAGIC, MMAL_MSG_TYPE_GET_VERSION};

    use super::*;

    #[test]
    fn a_fault_of_the_service_closes_it_and_ends_its_thread() {
        let device = Arc::new(EmulatedVchiq::new());
        let mut options = Options::default();
        options.reply_timeout = Duration::from_secs(10);
        let conn = Connection::with_device(Arc::clone(&device), options).unwrap();
        let svc = conn.open_service(ServiceOptions::new(Fourcc::MMAL, 15, 10)).unwrap();
        let mut m = vec![0u8; 24];
        m[..4].copy_from_slice(&MMAL_MAGIC.to_le_bytes());
        m[4..8].copy_from_slice(&MMAL_MSG_TYPE_GET_VERSION.to_le_bytes());
        mmal::FAIL_NEXT.store(true, Ordering::SeqCst);
        svc.send(&[&m]).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !svc.is_closed() {
            assert!(Instant::now() < deadline, "the service did not close");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(device.open_services(), 0);
        drop(svc);
        drop(conn);
        assert_eq!(threads(), 0, "its thread ended");
    }
}
