//! The software VideoCore's components, driven through its C table
//! (`mmal_emu::api()`) as the firmware's MMAL service drives its own: the
//! only module that touches the emulator's pointers.
//!
//! Pointers are wrapped in handles that are `Send`: the emulator's objects
//! may be used from any thread (libmmal's contract, which it keeps), and
//! the service thread owns each one from create to release. Buffer
//! callbacks arrive on the components' worker threads and are handed to
//! the function given to [`set_handler`].
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::ptr::{self, NonNull};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use mmal_sys as sys;

fn api() -> &'static sys::Api {
    mmal_emu::api()
}

/// A live component, owned by the service that created it.
#[derive(Debug)]
pub(crate) struct Comp(NonNull<sys::MMAL_COMPONENT_T>);
// SAFETY: the emulator's components may be used from any thread; the
// pointer stays valid until `release`, which consumes the handle.
unsafe impl Send for Comp {}

/// A port of a live component (valid while the component is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Port(NonNull<sys::MMAL_PORT_T>);
// SAFETY: as `Comp`: the port lives as long as its component, which the
// service keeps until it has stopped using the port.
unsafe impl Send for Port {}
// SAFETY: as above; the emulator locks its own state.
unsafe impl Sync for Port {}

/// A pool made for a port, destroyed after the port is disabled.
#[derive(Debug)]
pub(crate) struct Pool(NonNull<sys::MMAL_POOL_T>);
// SAFETY: as `Comp`.
unsafe impl Send for Pool {}

/// A tunnel between two ports.
#[derive(Debug)]
pub(crate) struct Tunnel(NonNull<sys::MMAL_CONNECTION_T>);
// SAFETY: as `Comp`.
unsafe impl Send for Tunnel {}

/// A buffer header the emulator hands over in a callback (or the service
/// takes from a pool); valid until released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Header(NonNull<sys::MMAL_BUFFER_HEADER_T>);
// SAFETY: headers are handed between threads by the emulator itself.
unsafe impl Send for Header {}

/// What a port looks like, copied out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PortInfo {
    pub(crate) index: u16,
    pub(crate) index_all: u16,
    pub(crate) is_enabled: u32,
    pub(crate) buffer_num_min: u32,
    pub(crate) buffer_size_min: u32,
    pub(crate) buffer_alignment_min: u32,
    pub(crate) buffer_num_recommended: u32,
    pub(crate) buffer_size_recommended: u32,
    pub(crate) buffer_num: u32,
    pub(crate) buffer_size: u32,
    pub(crate) capabilities: u32,
    pub(crate) format: Format,
}

/// A port's format, copied out (video `es` and extradata).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Format {
    pub(crate) type_: u32,
    pub(crate) encoding: u32,
    pub(crate) encoding_variant: u32,
    pub(crate) bitrate: u32,
    pub(crate) flags: u32,
    pub(crate) video: [u32; 11],
    pub(crate) extradata: [u8; 128],
    pub(crate) extradata_size: u32,
}

/// What a buffer header says.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HeaderInfo {
    pub(crate) cmd: u32,
    pub(crate) offset: u32,
    pub(crate) length: u32,
    pub(crate) flags: u32,
    pub(crate) pts: i64,
    pub(crate) dts: i64,
}

/// Receives every buffer a port the service enabled gives back.
pub(crate) type Handler = fn(Port, Header);

static HANDLER: OnceLock<Handler> = OnceLock::new();

/// Sets the buffer handler (once per process).
pub(crate) fn set_handler(handler: Handler) {
    let _ = HANDLER.set(handler);
}

extern "C" fn callback(port: *mut sys::MMAL_PORT_T, buffer: *mut sys::MMAL_BUFFER_HEADER_T) {
    let (Some(port), Some(buffer)) = (NonNull::new(port), NonNull::new(buffer)) else { return };
    match HANDLER.get() {
        Some(h) => h(Port(port), Header(buffer)),
        None => Header(buffer).release(),
    }
}

/// `mmal_component_create`.
pub(crate) fn create(name: &CStr) -> Result<Comp, u32> {
    let mut out = ptr::null_mut();
    // SAFETY: `name` is NUL-terminated; `out` is a valid place for the result.
    let status = unsafe { (api().component_create)(name.as_ptr(), &mut out) };
    match NonNull::new(out) {
        Some(c) if status == sys::MMAL_SUCCESS => Ok(Comp(c)),
        _ => Err(if status == sys::MMAL_SUCCESS { sys::MMAL_ENOMEM } else { status }),
    }
}

impl Comp {
    /// `mmal_component_release`: on failure the component is handed back.
    pub(crate) fn release(self) -> Result<(), (u32, Comp)> {
        // SAFETY: a live component, released once (self is consumed).
        let status = unsafe { (api().component_release)(self.0.as_ptr()) };
        if status == sys::MMAL_SUCCESS {
            Ok(())
        } else {
            Err((status, self))
        }
    }

    /// `mmal_component_enable`.
    pub(crate) fn enable(&self) -> u32 {
        // SAFETY: a live component.
        unsafe { (api().component_enable)(self.0.as_ptr()) }
    }

    /// `mmal_component_disable`.
    pub(crate) fn disable(&self) -> u32 {
        // SAFETY: a live component.
        unsafe { (api().component_disable)(self.0.as_ptr()) }
    }

    /// `MMAL_COMPONENT_T::id`: the emulator's name for it.
    pub(crate) fn id(&self) -> u32 {
        // SAFETY: a live component.
        unsafe { self.0.as_ref().id }
    }

    /// Its ports: control, inputs, outputs, clocks, with their MMAL types.
    pub(crate) fn ports(&self) -> Vec<(u32, u32, Port)> {
        // SAFETY: a live component: its port arrays hold `*_num` live ports.
        unsafe {
            let c = self.0.as_ref();
            let mut out = Vec::new();
            if let Some(p) = NonNull::new(c.control) {
                out.push((sys::MMAL_PORT_TYPE_CONTROL, 0, Port(p)));
            }
            for (ty, num, arr) in [
                (sys::MMAL_PORT_TYPE_INPUT, c.input_num, c.input),
                (sys::MMAL_PORT_TYPE_OUTPUT, c.output_num, c.output),
                (sys::MMAL_PORT_TYPE_CLOCK, c.clock_num, c.clock),
            ] {
                if arr.is_null() {
                    continue;
                }
                for i in 0..num {
                    if let Some(p) = NonNull::new(*arr.add(i as usize)) {
                        out.push((ty, i, Port(p)));
                    }
                }
            }
            out
        }
    }
}

impl Port {
    /// The port's address, as a key.
    pub(crate) fn key(self) -> usize {
        self.0.as_ptr() as usize
    }

    /// The port and its format, copied out.
    pub(crate) fn info(self) -> PortInfo {
        // SAFETY: a live port; its format and es are live (the emulator
        // allocates them with the port).
        unsafe {
            let p = self.0.as_ref();
            let mut format = Format {
                type_: 0,
                encoding: 0,
                encoding_variant: 0,
                bitrate: 0,
                flags: 0,
                video: [0; 11],
                extradata: [0; 128],
                extradata_size: 0,
            };
            if let Some(f) = p.format.as_ref() {
                format.type_ = f.type_;
                format.encoding = f.encoding;
                format.encoding_variant = f.encoding_variant;
                format.bitrate = f.bitrate;
                format.flags = f.flags;
                if let Some(es) = f.es.as_ref() {
                    format.video = video_words(&es.video);
                }
                let n = (f.extradata_size as usize).min(128);
                if n > 0 && !f.extradata.is_null() {
                    format.extradata[..n].copy_from_slice(std::slice::from_raw_parts(f.extradata, n));
                    format.extradata_size = n as u32;
                }
            }
            PortInfo {
                index: p.index,
                index_all: p.index_all,
                is_enabled: p.is_enabled,
                buffer_num_min: p.buffer_num_min,
                buffer_size_min: p.buffer_size_min,
                buffer_alignment_min: p.buffer_alignment_min,
                buffer_num_recommended: p.buffer_num_recommended,
                buffer_size_recommended: p.buffer_size_recommended,
                buffer_num: p.buffer_num,
                buffer_size: p.buffer_size,
                capabilities: p.capabilities,
                format,
            }
        }
    }

    /// Sets the writable fields (buffer count and size) and the format,
    /// and commits the format (`mmal_port_format_commit`).
    pub(crate) fn set(self, buffer_num: u32, buffer_size: u32, f: &Format) -> u32 {
        // SAFETY: a live port of the service's own component, configured
        // by the service alone (one request at a time); the format and es
        // are the port's own. The port may be enabled (a format committed
        // in band), when the component's thread reads the buffer numbers:
        // they are written only if they change, as a client changes them
        // only while the port is disabled.
        unsafe {
            let p = self.0.as_ptr();
            if (*p).buffer_num != buffer_num {
                (*p).buffer_num = buffer_num;
            }
            if (*p).buffer_size != buffer_size {
                (*p).buffer_size = buffer_size;
            }
            if let Some(fmt) = (*p).format.as_mut() {
                fmt.type_ = f.type_;
                fmt.encoding = f.encoding;
                fmt.encoding_variant = f.encoding_variant;
                fmt.bitrate = f.bitrate;
                fmt.flags = f.flags;
                if let Some(es) = fmt.es.as_mut() {
                    let v = &mut es.video;
                    let w = f.video;
                    v.width = w[0];
                    v.height = w[1];
                    v.crop =
                        sys::MMAL_RECT_T { x: w[2] as i32, y: w[3] as i32, width: w[4] as i32, height: w[5] as i32 };
                    v.frame_rate = sys::MMAL_RATIONAL_T { num: w[6] as i32, den: w[7] as i32 };
                    v.par = sys::MMAL_RATIONAL_T { num: w[8] as i32, den: w[9] as i32 };
                    v.color_space = w[10];
                }
            }
            (api().port_format_commit)(p)
        }
    }

    /// Sets the buffer count and size only (PORT_ACTION's port struct).
    pub(crate) fn set_buffers(self, buffer_num: u32, buffer_size: u32) {
        // SAFETY: a live, disabled port owned by the service.
        unsafe {
            let p = self.0.as_ptr();
            (*p).buffer_num = buffer_num;
            (*p).buffer_size = buffer_size;
        }
    }

    /// `mmal_port_enable` with the service's callback.
    pub(crate) fn enable(self) -> u32 {
        // SAFETY: a live port; the callback is a plain function.
        unsafe { (api().port_enable)(self.0.as_ptr(), Some(callback)) }
    }

    /// `mmal_port_disable`.
    pub(crate) fn disable(self) -> u32 {
        // SAFETY: a live port.
        unsafe { (api().port_disable)(self.0.as_ptr()) }
    }

    /// `mmal_port_flush`.
    pub(crate) fn flush(self) -> u32 {
        // SAFETY: a live port.
        unsafe { (api().port_flush)(self.0.as_ptr()) }
    }

    /// `mmal_port_parameter_set` of `id` with `value`.
    pub(crate) fn parameter_set(self, id: u32, value: &[u8]) -> u32 {
        let mut buf = vec![0u32; 2 + value.len().div_ceil(4)];
        buf[0] = id;
        buf[1] = (8 + value.len()) as u32;
        for (i, chunk) in value.chunks(4).enumerate() {
            let mut w = [0u8; 4];
            w[..chunk.len()].copy_from_slice(chunk);
            buf[2 + i] = u32::from_ne_bytes(w);
        }
        // SAFETY: a live port; `buf` is an aligned parameter of `size` bytes.
        unsafe { (api().port_parameter_set)(self.0.as_ptr(), buf.as_ptr().cast()) }
    }

    /// `mmal_port_parameter_get` of `id` into `space` bytes (the request's
    /// value bytes first): the status, the size reported and the value.
    pub(crate) fn parameter_get(self, id: u32, space: usize, input: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut buf = vec![0u32; 2 + space.div_ceil(4)];
        buf[0] = id;
        buf[1] = (8 + space) as u32;
        for (i, chunk) in input.chunks(4).take(space.div_ceil(4)).enumerate() {
            let mut w = [0u8; 4];
            w[..chunk.len()].copy_from_slice(chunk);
            buf[2 + i] = u32::from_ne_bytes(w);
        }
        // SAFETY: a live port; `buf` is an aligned parameter with room for
        // `size` bytes.
        let status = unsafe { (api().port_parameter_get)(self.0.as_ptr(), buf.as_mut_ptr().cast()) };
        let size = buf[1];
        let n = (size as usize).saturating_sub(8).min(space);
        let value: Vec<u8> = buf[2..].iter().flat_map(|w| w.to_ne_bytes()).take(n).collect();
        (status, size, value)
    }

    /// `mmal_port_send_buffer`.
    pub(crate) fn send(self, header: Header) -> u32 {
        // SAFETY: a live port and a header from its pool.
        unsafe { (api().port_send_buffer)(self.0.as_ptr(), header.0.as_ptr()) }
    }

    /// `mmal_connection_create(out = self, in, TUNNELLING |
    /// KEEP_BUFFER_REQUIREMENTS)`: the firmware's tunnel keeps the buffer
    /// numbers and sizes the host set (libmmal tells the input its
    /// requirements, and the output's enable carries its own, then reads
    /// the input's back), the two ends taking the larger at its enable; it
    /// does not put back the ports' recommended ones.
    pub(crate) fn connect(self, input: Port) -> Result<Tunnel, u32> {
        let mut out = ptr::null_mut();
        // SAFETY: two live ports; `out` receives the connection.
        let status = unsafe {
            (api().connection_create)(
                &mut out,
                self.0.as_ptr(),
                input.0.as_ptr(),
                sys::MMAL_CONNECTION_FLAG_TUNNELLING | sys::MMAL_CONNECTION_FLAG_KEEP_BUFFER_REQUIREMENTS,
            )
        };
        match NonNull::new(out) {
            Some(c) if status == sys::MMAL_SUCCESS => Ok(Tunnel(c)),
            _ => Err(if status == sys::MMAL_SUCCESS { sys::MMAL_ENOMEM } else { status }),
        }
    }
}

impl Pool {
    /// A pool of `num` headers with `size`-byte payloads (`mmal_pool_create`)
    /// for a port's buffers from the host: on the heap, whether or not the
    /// port is zero copy (a zero-copy buffer is lent the host's block
    /// instead, see [`Header::lend`], so VCSM payloads here would be memory
    /// unused).
    pub(crate) fn create(num: u32, size: u32) -> Option<Pool> {
        NonNull::new(mmal_emu::c_api::mmal_pool_create(num, size)).map(Pool)
    }

    /// `mmal_pool_destroy`, once every header is back (its port disabled).
    pub(crate) fn destroy(self) {
        // SAFETY: a pool from `create`, whose headers are all back,
        // destroyed once (consumed).
        unsafe { mmal_emu::c_api::mmal_pool_destroy(self.0.as_ptr()) }
    }

    /// A free header, if any.
    pub(crate) fn get(&self) -> Option<Header> {
        // SAFETY: a live pool; its queue is live; queue_get never blocks.
        NonNull::new(unsafe { (api().queue_get)((*self.0.as_ptr()).queue) }).map(Header)
    }
}

impl Tunnel {
    /// `mmal_connection_enable`.
    pub(crate) fn enable(&self) -> u32 {
        // SAFETY: a live connection.
        unsafe { (api().connection_enable)(self.0.as_ptr()) }
    }

    /// `mmal_connection_disable`.
    pub(crate) fn disable(&self) -> u32 {
        // SAFETY: a live connection.
        unsafe { (api().connection_disable)(self.0.as_ptr()) }
    }

    /// `mmal_connection_destroy`: on failure it is handed back.
    pub(crate) fn destroy(self) -> Result<(), (u32, Tunnel)> {
        // SAFETY: a live connection, destroyed once (consumed).
        let status = unsafe { (api().connection_destroy)(self.0.as_ptr()) };
        if status == sys::MMAL_SUCCESS {
            Ok(())
        } else {
            Err((status, self))
        }
    }
}

impl Header {
    /// The header's address, as a key.
    pub(crate) fn key(self) -> usize {
        self.0.as_ptr() as usize
    }

    /// Its fields.
    pub(crate) fn info(self) -> HeaderInfo {
        // SAFETY: a header the service holds.
        let h = unsafe { self.0.as_ref() };
        HeaderInfo { cmd: h.cmd, offset: h.offset, length: h.length, flags: h.flags, pts: h.pts, dts: h.dts }
    }

    /// Sets what the host sent: offset, length, flags, timestamps.
    pub(crate) fn set(self, offset: u32, length: u32, flags: u32, pts: i64, dts: i64) {
        // SAFETY: a header the service holds, not yet sent.
        unsafe {
            let h = self.0.as_ptr();
            (*h).length = length;
            (*h).offset = offset;
            (*h).flags = flags;
            (*h).pts = pts;
            (*h).dts = dts;
        }
    }

    /// A copy of its payload, `data[offset..offset + length]` (clamped to
    /// the allocation).
    pub(crate) fn data(self) -> Vec<u8> {
        // SAFETY: a header the service holds; its payload has `alloc_size`
        // bytes (or is null).
        unsafe {
            let h = self.0.as_ref();
            if h.data.is_null() {
                return Vec::new();
            }
            let start = (h.offset as usize).min(h.alloc_size as usize);
            let end = start.saturating_add(h.length as usize).min(h.alloc_size as usize);
            std::slice::from_raw_parts(h.data.add(start), end - start).to_vec()
        }
    }

    /// Writes `bytes` at the start of the payload (at most `alloc_size`).
    pub(crate) fn write(self, bytes: &[u8]) -> usize {
        // SAFETY: a header the service holds and has not sent; its payload
        // has `alloc_size` writable bytes (or is null).
        unsafe {
            let h = self.0.as_ref();
            if h.data.is_null() {
                return 0;
            }
            let n = bytes.len().min(h.alloc_size as usize);
            ptr::copy_nonoverlapping(bytes.as_ptr(), h.data, n);
            n
        }
    }

    /// Points the header at `memory` (a zero-copy block, mapped for the
    /// VideoCore, or heap memory, see [`lend_vec`](Self::lend_vec)), of
    /// which the first `alloc_size` bytes are the payload, as a C client
    /// may point a header it holds at its own memory. `keep` (the block's
    /// mapping and hold, or the memory itself) lives until the header's
    /// last release, which gives the header its own payload back first, on
    /// every path a header takes back to its pool (a component's panic
    /// too): a pre-release callback, the one place `keep` is dropped.
    ///
    /// # Safety
    ///
    /// `keep` keeps `memory` valid (mapped, and a block kept to the
    /// VideoCore) until it is dropped; `alloc_size` is at most its size.
    /// The header has no pre-release callback of its own.
    pub(crate) unsafe fn lend(self, memory: *mut u8, alloc_size: u32, keep: Box<dyn Send>) {
        // SAFETY: a header the service holds and has not sent; its payload
        // fields are put back by `give_back_payload` before it goes home.
        unsafe {
            let h = self.0.as_ptr();
            let lent = Box::new(Lent { data: (*h).data, alloc_size: (*h).alloc_size, _keep: keep });
            (*h).data = memory;
            (*h).alloc_size = alloc_size;
            mmal_emu::c_api::mmal_buffer_header_pre_release_cb_set(
                h,
                Some(give_back_payload),
                Box::into_raw(lent).cast(),
            );
        }
    }

    /// Where its payload is (compared, never followed).
    pub(crate) fn data_ptr(self) -> usize {
        // SAFETY: a header the service holds.
        unsafe { self.0.as_ref().data as usize }
    }

    /// The size of its payload.
    pub(crate) fn alloc_size(self) -> u32 {
        // SAFETY: a header the service holds.
        unsafe { self.0.as_ref().alloc_size }
    }

    /// Lends the header a heap payload of `size` bytes until its last
    /// release (see [`lend`](Self::lend)): `memory` if it holds that many
    /// (as last written), else a zeroed block. Returns where the memory
    /// goes once the header lets go of it (at that release), so that the
    /// caller can take it back without a copy; `None` if the memory cannot
    /// be had.
    pub(crate) fn lend_vec(self, size: usize, memory: Option<Vec<u8>>) -> Option<Arc<Mutex<Option<Vec<u8>>>>> {
        let alloc_size = u32::try_from(size).ok()?;
        let mut memory = match memory {
            Some(v) if v.len() >= size => v,
            _ => {
                let mut v = Vec::new();
                v.try_reserve_exact(size).ok()?;
                v.resize(size, 0u8);
                v
            }
        };
        let data = memory.as_mut_ptr();
        let back = Arc::new(Mutex::new(None));
        let returner = Returner { memory, back: Arc::clone(&back) };
        // SAFETY: the vector's buffer does not move when the vector does
        // (into the returner, boxed by `lend` until the header's last
        // release, which puts the header's own payload back before the
        // returner hands the vector on), and holds `size` bytes; the
        // header is the service's, unsent, with no pre-release callback of
        // its own (it is lent once per send).
        unsafe { self.lend(data, alloc_size, Box::new(returner)) };
        Some(back)
    }

    /// `mmal_buffer_header_release`.
    pub(crate) fn release(self) {
        // SAFETY: a header the service holds, released once.
        unsafe { (api().buffer_header_release)(self.0.as_ptr()) }
    }
}

/// The payload of a FORMAT_CHANGED event: buffer size and count (minimum,
/// recommended) and the new format.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FormatChanged {
    pub(crate) buffer_size_min: u32,
    pub(crate) buffer_num_min: u32,
    pub(crate) buffer_size_recommended: u32,
    pub(crate) buffer_num_recommended: u32,
    pub(crate) format: Format,
}

impl Header {
    /// The FORMAT_CHANGED payload of an event buffer, if it is one.
    pub(crate) fn format_changed(self) -> Option<FormatChanged> {
        // SAFETY: a header the service holds; the emulator returns a
        // pointer into its payload (or null), live while the header is.
        unsafe {
            let ev = (api().event_format_changed_get)(self.0.as_ptr()).as_ref()?;
            let f = ev.format.as_ref()?;
            let mut format = Format {
                type_: f.type_,
                encoding: f.encoding,
                encoding_variant: f.encoding_variant,
                bitrate: f.bitrate,
                flags: f.flags,
                video: [0; 11],
                extradata: [0; 128],
                extradata_size: 0,
            };
            if let Some(es) = f.es.as_ref() {
                format.video = video_words(&es.video);
            }
            Some(FormatChanged {
                buffer_size_min: ev.buffer_size_min,
                buffer_num_min: ev.buffer_num_min,
                buffer_size_recommended: ev.buffer_size_recommended,
                buffer_num_recommended: ev.buffer_num_recommended,
                format,
            })
        }
    }
}

/// The memory [`Header::lend_vec`] lent, handed on to `back` when the
/// header lets go of it.
struct Returner {
    memory: Vec<u8>,
    back: Arc<Mutex<Option<Vec<u8>>>>,
}

impl Drop for Returner {
    fn drop(&mut self) {
        *self.back.lock() = Some(std::mem::take(&mut self.memory));
    }
}

/// A header's own payload while it carries a lent one, and what keeps the
/// lent one alive (see [`Header::lend`]).
struct Lent {
    data: *mut u8,
    alloc_size: u32,
    _keep: Box<dyn Send>,
}

/// The pre-release callback of a header [`Header::lend`] pointed at a
/// block: its own payload back, the callback cleared, the block's mapping
/// and hold dropped; then the release goes on (0).
unsafe extern "C" fn give_back_payload(
    header: *mut sys::MMAL_BUFFER_HEADER_T,
    userdata: *mut std::ffi::c_void,
) -> sys::MMAL_BOOL_T {
    // SAFETY: `userdata` is the `Lent` `lend` boxed for this header, taken
    // back once: the callback clears itself before anything else can
    // release the header again (its last reference is being released).
    unsafe {
        let lent = Box::from_raw(userdata.cast::<Lent>());
        (*header).data = lent.data;
        (*header).alloc_size = lent.alloc_size;
        mmal_emu::c_api::mmal_buffer_header_pre_release_cb_set(header, None, std::ptr::null_mut());
        drop(lent);
    }
    0
}

/// The block behind `handle`, its first `len` bytes taken for the
/// VideoCore (see `vcsm::emulated::DeviceHold`): `Err(true)` if the CPU
/// holds it or the VideoCore has it already, `Err(false)` if no live block
/// of that size has the handle.
pub(crate) fn block_hold(handle: u32, len: usize) -> Result<vcsm::emulated::DeviceHold, bool> {
    vcsm::emulated::hold(handle, len)
        .map_err(|e| matches!(e, vcsm::Error::CpuLocked { .. } | vcsm::Error::DeviceBusy { .. }))
}

/// Whether a live block has `handle`.
pub(crate) fn block_live(handle: u32) -> bool {
    vcsm::emulated::lookup(handle).is_ok()
}

/// The VideoCore's own mapping of the block behind `handle`, for a
/// zero-copy buffer: `None` if the block is gone or cannot be mapped.
pub(crate) fn block_map(handle: u32) -> Option<vcsm::emulated::DeviceMapping> {
    vcsm::emulated::map(handle).ok()
}

/// A port's video format as the wire's eleven words: size, crop, frame
/// rate, pixel aspect ratio and colour space.
fn video_words(v: &sys::MMAL_VIDEO_FORMAT_T) -> [u32; 11] {
    [
        v.width,
        v.height,
        v.crop.x as u32,
        v.crop.y as u32,
        v.crop.width as u32,
        v.crop.height as u32,
        v.frame_rate.num as u32,
        v.frame_rate.den as u32,
        v.par.num as u32,
        v.par.den as u32,
        v.color_space,
    ]
}
