//! Buffer headers: the C struct with the emulator's bookkeeping (references,
//! pre-release callback, home pool), and [`BufPtr`], the pointer to one.

use std::ffi::c_void;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};

use mmal_sys as sys;

use super::Status;

/// A buffer header and the emulator's bookkeeping for it.
#[repr(C)]
pub(super) struct HeaderBox {
    pub(super) raw: sys::MMAL_BUFFER_HEADER_T,
    pub(super) video: sys::MMAL_BUFFER_HEADER_TYPE_SPECIFIC_T,
    pub(super) refs: AtomicU32,
    /// Where the header goes when its last reference is released: its
    /// pool, as `give_back`'s first argument (null: nowhere). Set by the
    /// pool that made it (`pools.rs`), as libmmal's pool sets a header's
    /// release function.
    pub(super) home: *const c_void,
    pub(super) give_back: GiveBack,
    /// The client's pre-release callback (a `PreReleaseCb` as `usize`, 0
    /// for none) and its userdata.
    pub(super) pre_release: [AtomicUsize; 2],
    /// The header whose payload this one borrows
    /// (`mmal_buffer_header_replicate`), released with it; null for none.
    pub(super) reference: AtomicPtr<sys::MMAL_BUFFER_HEADER_T>,
    /// The header's own payload and its size, put back when a replicated
    /// header is released.
    pub(super) payload: (*mut u8, u32),
}

/// Takes a released header back into the pool at `home` (see
/// [`HeaderBox::home`]).
///
/// # Safety
///
/// `home` is the live pool the header belongs to, and the caller owns the
/// header.
pub(super) type GiveBack = unsafe fn(home: *const c_void, BufPtr);

/// `MMAL_BH_PRE_RELEASE_CB_T`: called when a header's last reference goes;
/// a nonzero answer keeps it until `mmal_buffer_header_release_continue`.
pub(crate) type PreReleaseCb = unsafe extern "C" fn(*mut sys::MMAL_BUFFER_HEADER_T, *mut c_void) -> sys::MMAL_BOOL_T;

/// A buffer header owned by whoever holds this value: the emulator takes
/// one out of a queue (a port's, a pool's) and touches it only until it
/// hands it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BufPtr(pub(super) NonNull<sys::MMAL_BUFFER_HEADER_T>);

// SAFETY: a header is plain data; ownership moves between threads with the
// value, and libmmal's contract lets any thread release or send a header.
unsafe impl Send for BufPtr {}

impl BufPtr {
    pub(crate) fn from_raw(raw: *mut sys::MMAL_BUFFER_HEADER_T) -> Option<BufPtr> {
        NonNull::new(raw).map(BufPtr)
    }

    pub(crate) fn as_raw(self) -> *mut sys::MMAL_BUFFER_HEADER_T {
        self.0.as_ptr()
    }

    /// The bookkeeping box around the header, as a raw pointer: its parts
    /// are reached one at a time (`addr_of!`), never through a reference to
    /// the whole box, whose `raw` part the holder may be writing through
    /// [`raw_mut`](Self::raw_mut).
    fn boxed(&self) -> *mut HeaderBox {
        self.0.as_ptr().cast::<HeaderBox>()
    }

    fn refs(&self) -> &AtomicU32 {
        // SAFETY: as in `raw`; the count is atomic, and the reference
        // covers only it.
        unsafe { &*ptr::addr_of!((*self.boxed()).refs) }
    }

    fn pre_release(&self) -> &[AtomicUsize; 2] {
        // SAFETY: as in `refs`.
        unsafe { &*ptr::addr_of!((*self.boxed()).pre_release) }
    }

    fn reference(&self) -> &AtomicPtr<sys::MMAL_BUFFER_HEADER_T> {
        // SAFETY: as in `refs`.
        unsafe { &*ptr::addr_of!((*self.boxed()).reference) }
    }

    /// The header's pool, how to give it back there, and its own payload,
    /// fixed at creation.
    pub(super) fn home(&self) -> (*const c_void, GiveBack, (*mut u8, u32)) {
        let b = self.boxed();
        // SAFETY: as in `raw`; plain values written once, when the pool
        // was made (or resized, with every header home).
        unsafe {
            (ptr::addr_of!((*b).home).read(), ptr::addr_of!((*b).give_back).read(), ptr::addr_of!((*b).payload).read())
        }
    }

    pub(super) fn raw(&self) -> &sys::MMAL_BUFFER_HEADER_T {
        // SAFETY: every header the emulator hands out is the first field of
        // a `HeaderBox` inside a live pool (pools outlive their headers'
        // use: a client destroying a pool with headers in flight breaks
        // libmmal's contract too); the holder of the `BufPtr` owns it.
        unsafe { &*self.0.as_ptr() }
    }

    fn raw_mut(&mut self) -> &mut sys::MMAL_BUFFER_HEADER_T {
        // SAFETY: as in `header`; the holder of a `BufPtr` owns the header.
        unsafe { &mut *self.0.as_ptr() }
    }

    /// Points the header at `data` (`alloc_size` bytes), as a client may.
    #[cfg(all(test, feature = "vchiq"))]
    pub(crate) fn set_payload_for_test(mut self, data: *mut u8, alloc_size: u32) {
        let raw = self.raw_mut();
        (raw.data, raw.alloc_size) = (data, alloc_size);
    }

    /// Where the header's payload is, and its size.
    #[cfg(all(test, feature = "vchiq"))]
    pub(crate) fn payload_for_test(self) -> (*mut u8, u32) {
        (self.raw().data, self.raw().alloc_size)
    }

    /// Whether the header has a payload (`data` is not NULL).
    pub(crate) fn has_data(self) -> bool {
        !self.raw().data.is_null()
    }

    pub(crate) fn cmd(self) -> u32 {
        self.raw().cmd
    }

    pub(crate) fn length(self) -> usize {
        self.raw().length as usize
    }

    pub(crate) fn flags(self) -> u32 {
        self.raw().flags
    }

    /// `offset`.
    #[cfg(feature = "vchiq")]
    pub(crate) fn offset(self) -> usize {
        self.raw().offset as usize
    }

    pub(crate) fn alloc_size(self) -> usize {
        self.raw().alloc_size as usize
    }

    /// Marks the header as carrying data (or an event) of `length` bytes.
    pub(crate) fn set(mut self, cmd: u32, length: usize, flags: u32, pts: i64) {
        let raw = self.raw_mut();
        raw.cmd = cmd;
        raw.offset = 0;
        raw.length = length as u32;
        raw.flags = flags;
        raw.pts = pts;
        raw.dts = pts;
    }

    #[cfg(feature = "vchiq")]
    /// Sets `offset` (after [`set`](Self::set), which clears it).
    pub(crate) fn set_offset(mut self, offset: usize) {
        self.raw_mut().offset = offset as u32;
    }

    #[cfg(feature = "vchiq")]
    pub(crate) fn dts(self) -> i64 {
        self.raw().dts
    }

    #[cfg(feature = "vchiq")]
    /// Sets the decode timestamp (after [`set`](Self::set), which sets it
    /// to the presentation time).
    pub(crate) fn set_dts(mut self, dts: i64) {
        self.raw_mut().dts = dts;
    }

    #[cfg(feature = "vchiq")]
    /// The header's type-specific part (`*type`), read where the header's
    /// own `type` points when it is made, not through the pointer, which
    /// a client could move.
    pub(crate) fn video(self) -> sys::MMAL_BUFFER_HEADER_VIDEO_SPECIFIC_T {
        // SAFETY: as in `raw`; the union holds only plain integers, so
        // any bytes read as `video` are valid.
        unsafe { ptr::addr_of!((*self.boxed()).video.video).read() }
    }

    #[cfg(feature = "vchiq")]
    /// Sets the header's type-specific part (see [`video`](Self::video)).
    pub(crate) fn set_video(self, video: sys::MMAL_BUFFER_HEADER_VIDEO_SPECIFIC_T) {
        // SAFETY: as in `raw`; the holder owns the header.
        unsafe { ptr::addr_of_mut!((*self.boxed()).video.video).write(video) };
    }

    pub(crate) fn pts(self) -> i64 {
        self.raw().pts
    }

    /// Runs `f` on the valid bytes (`offset..offset + length`), or on
    /// nothing if they do not lie inside the payload.
    pub(crate) fn with_data<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        let (offset, length) = (self.raw().offset as usize, self.length());
        // Checked against the payload `with_payload` found (none if `data`
        // is NULL), not against `alloc_size` read apart from it.
        self.with_payload(|payload| {
            f(offset.checked_add(length).and_then(|end| payload.get(offset..end)).unwrap_or(&[]))
        })
    }

    /// Runs `f` on the whole payload.
    pub(crate) fn with_payload<R>(self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let raw = self.raw();
        if raw.data.is_null() || raw.alloc_size == 0 {
            return f(&mut []);
        }
        // SAFETY: `data` points at `alloc_size` bytes owned by the pool,
        // and the holder owns the header and so the payload.
        let payload = unsafe { std::slice::from_raw_parts_mut(raw.data, raw.alloc_size as usize) };
        f(payload)
    }

    /// Copies `src`'s data, flags and timestamps into this header (the
    /// splitter); fails if it does not fit.
    pub(crate) fn copy_from(self, src: BufPtr) -> bool {
        let s = *src.raw();
        let (offset, len) = (s.offset as usize, s.length as usize);
        // `offset` and `length` come from whoever filled the buffer.
        let in_source = offset.checked_add(len).is_some_and(|end| end <= src.alloc_size());
        if len > self.alloc_size() || !in_source {
            return false;
        }
        if len > 0 {
            src.with_payload(|from| self.with_payload(|to| to[..len].copy_from_slice(&from[offset..offset + len])));
        }
        self.set(s.cmd, len, s.flags, s.pts);
        true
    }

    /// `mmal_buffer_header_acquire`: one more reference.
    pub(crate) fn acquire(self) {
        self.refs().fetch_add(1, Ordering::AcqRel);
    }

    /// `mmal_buffer_header_release`: drops one reference; the last runs
    /// the client's pre-release callback, if any (which may keep the
    /// header for now), then [`release_continue`](Self::release_continue).
    pub(crate) fn release(self) {
        let refs = self.refs().fetch_sub(1, Ordering::AcqRel);
        if refs != 1 {
            if refs == 0 {
                // Released more often than acquired: a client bug libmmal
                // does not catch either; put the count back and say so.
                self.refs().store(0, Ordering::Release);
                log::error!("mmal_buffer_header_release: header {:p} released once too often", self.as_raw());
            }
            return;
        }
        let cb = self.pre_release()[0].load(Ordering::Acquire);
        if cb != 0 {
            let data = self.pre_release()[1].load(Ordering::Acquire) as *mut c_void;
            // SAFETY: a nonzero value was stored from a `PreReleaseCb` the
            // client set for this header (`set_pre_release`); it is called
            // as libmmal calls it, with the header and its userdata.
            let cb: PreReleaseCb = unsafe { std::mem::transmute::<usize, PreReleaseCb>(cb) };
            // SAFETY: as above.
            if unsafe { cb(self.as_raw(), data) } != 0 {
                return;
            }
        }
        self.release_continue();
    }

    /// `mmal_buffer_header_acquire`'s count and the pre-release callback:
    /// sets (or, with `None`, clears) the callback.
    pub(crate) fn set_pre_release(self, cb: Option<PreReleaseCb>, data: *mut c_void) {
        let h = self.pre_release();
        h[1].store(data as usize, Ordering::Release);
        h[0].store(cb.map_or(0, |f| f as usize), Ordering::Release);
    }

    /// `mmal_buffer_header_replicate`: this header takes `src`'s payload
    /// and fields, and a reference to `src` until it is released.
    pub(crate) fn replicate(mut self, src: BufPtr) -> Result<(), Status> {
        if self == src || !self.reference().load(Ordering::Acquire).is_null() {
            return Err(sys::MMAL_EINVAL);
        }
        src.acquire();
        self.reference().store(src.as_raw(), Ordering::Release);
        self.copy_header(src);
        let s = *src.raw();
        let raw = self.raw_mut();
        raw.alloc_size = s.alloc_size;
        raw.data = s.data;
        Ok(())
    }

    /// `mmal_buffer_header_copy_header`: cmd, offset, length, flags,
    /// timestamps and the type-specific part, not the payload.
    pub(crate) fn copy_header(mut self, src: BufPtr) {
        if self == src {
            return;
        }
        let s = *src.raw();
        // SAFETY: as in `raw`; the holder owns `src` too.
        let video = unsafe { ptr::addr_of!((*src.boxed()).video).read() };
        let raw = self.raw_mut();
        raw.cmd = s.cmd;
        raw.offset = s.offset;
        raw.length = s.length;
        raw.flags = s.flags;
        raw.pts = s.pts;
        raw.dts = s.dts;
        // SAFETY: as in `replicate`.
        unsafe { ptr::addr_of_mut!((*self.boxed()).video).write(video) };
    }

    /// `mmal_buffer_header_reset`: no data, no flags, no timestamps.
    pub(crate) fn reset(mut self) {
        let raw = self.raw_mut();
        raw.length = 0;
        raw.offset = 0;
        raw.flags = 0;
        raw.pts = sys::MMAL_TIME_UNKNOWN;
        raw.dts = sys::MMAL_TIME_UNKNOWN;
    }

    /// `mmal_buffer_header_release_continue`: resets the header, releases
    /// the header it replicated, and gives it back to its pool (whose
    /// callback may take it instead).
    pub(crate) fn release_continue(self) {
        self.refs().store(1, Ordering::Release);
        let (home, give_back, payload) = self.home();
        let reference = self.reference().swap(ptr::null_mut(), Ordering::AcqRel);
        let mut this = self;
        this.reset();
        if let Some(reference) = BufPtr::from_raw(reference) {
            // Its own payload again, not the one it borrowed.
            let raw = this.raw_mut();
            (raw.data, raw.alloc_size) = payload;
            reference.release();
        }
        if !home.is_null() {
            // SAFETY: `home` is the header's pool, which outlives its
            // headers (see `raw`), and `give_back` the function it set; the
            // header is ours.
            unsafe { give_back(home, self) };
        }
    }
}
