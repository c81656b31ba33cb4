//! Pools and the buffer headers the crate owns: taking a header from a
//! pool's queue, reading its fields and payload, filling it, reading a
//! format-changed event it carries, and giving it back.

use std::ptr::{addr_of, NonNull};

use mmal_sys as sys;

use super::{format_from, RawBuffer, RawPool, RawPort};
use crate::format::{Encoding, Format};

impl RawPool {
    pub(crate) fn destroy(self, api: &sys::Api, port: RawPort) {
        // SAFETY: the pool was made on `port`, whose component is alive, and
        // no header of it is in use any more.
        unsafe { (api.port_pool_destroy)(port.0.as_ptr(), self.0.as_ptr()) }
    }

    /// A free header, if any.
    pub(crate) fn get(self, api: &sys::Api) -> Option<RawBuffer> {
        // SAFETY: a live pool (see `RawPool`'s `Send`); `queue` never
        // changes.
        let queue = unsafe { field!(self.0.as_ptr(), queue) };
        // SAFETY: a live pool's queue.
        NonNull::new(unsafe { (api.queue_get)(queue) }).map(RawBuffer)
    }

    pub(crate) fn size(self) -> usize {
        // SAFETY: a live pool; `headers_num` never changes.
        unsafe { field!(self.0.as_ptr(), headers_num) as usize }
    }

    /// Whether every header is back in the pool (none is in use).
    pub(crate) fn is_full(self, api: &sys::Api) -> bool {
        // SAFETY: as in `get`.
        let queue = unsafe { field!(self.0.as_ptr(), queue) };
        // SAFETY: a live pool's queue.
        (unsafe { (api.queue_length)(queue) }) as usize == self.size()
    }
}

impl RawBuffer {
    pub(crate) fn from_raw(raw: *mut sys::MMAL_BUFFER_HEADER_T) -> Option<RawBuffer> {
        NonNull::new(raw).map(RawBuffer)
    }

    fn get(&self) -> &sys::MMAL_BUFFER_HEADER_T {
        // SAFETY: the crate owns the header until it releases or sends it,
        // and nobody else writes it meanwhile (see the `Sync` reason); the
        // calls that let C write it or its payload take `&mut RawBuffer`.
        unsafe { self.0.as_ref() }
    }

    pub(crate) fn release(self, api: &sys::Api) {
        // SAFETY: the crate gives up its reference.
        unsafe { (api.buffer_header_release)(self.0.as_ptr()) }
    }

    pub(crate) fn cmd(&self) -> u32 {
        self.get().cmd
    }

    pub(crate) fn flags(&self) -> u32 {
        self.get().flags
    }

    /// Presentation time in microseconds, if known.
    pub(crate) fn pts(&self) -> Option<i64> {
        known_time(self.get().pts)
    }

    /// Decode time in microseconds, if known.
    pub(crate) fn dts(&self) -> Option<i64> {
        known_time(self.get().dts)
    }

    /// No data and no flags: a buffer a port gave back (on a flush or a
    /// disable) rather than filled.
    pub(crate) fn is_given_back(&self) -> bool {
        self.length() == 0 && self.flags() == 0
    }

    pub(crate) fn length(&self) -> usize {
        self.get().length as usize
    }

    /// The valid bytes, writable: the crate owns the header and its payload.
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        let b = self.get();
        let (data, offset, length, alloc) = (b.data, b.offset as usize, b.length as usize, b.alloc_size as usize);
        if data.is_null() || length == 0 || offset.saturating_add(length) > alloc {
            return &mut [];
        }
        // SAFETY: as in `data`, and the `&mut self` borrow is the only way
        // to the payload while it lasts.
        unsafe { std::slice::from_raw_parts_mut(data.add(offset), length) }
    }

    /// The valid bytes: `data[offset..offset + length]`.
    pub(crate) fn data(&self) -> &[u8] {
        let b = self.get();
        if b.data.is_null() || b.length == 0 {
            return &[];
        }
        let end = (b.offset as usize).saturating_add(b.length as usize);
        if end > b.alloc_size as usize {
            return &[];
        }
        // SAFETY: the payload is `alloc_size` bytes, of which the provider
        // filled `offset..offset + length` (checked in bounds above).
        unsafe { std::slice::from_raw_parts(b.data.add(b.offset as usize), b.length as usize) }
    }

    /// The FORMAT_CHANGED payload: requirements and the new format.
    ///
    /// `&mut self`: `mmal_event_format_changed_get` writes into the event's
    /// payload (libmmal points the event's `format`, and the format's `es`,
    /// at the copies that follow the struct), so no other reference to the
    /// header or its payload may be live meanwhile.
    pub(crate) fn format_changed(&mut self, api: &sys::Api) -> Option<([u32; 4], Format, Encoding)> {
        // SAFETY: the crate owns the header, and `&mut self` is the only way
        // to it (and its payload) while the call runs.
        let ev = unsafe { (api.event_format_changed_get)(self.0.as_ptr()) };
        if ev.is_null() {
            return None;
        }
        // SAFETY: `ev` points into the event's payload, which holds the
        // struct and the format it points at (the provider checked that
        // they fit); nobody else touches the payload while the crate owns
        // the header and `&mut self` lasts. C need not align a payload's
        // structs: every read is unaligned.
        unsafe {
            let f = field!(unaligned ev, format);
            if f.is_null() {
                return None;
            }
            let format = format_from(f);
            let req = [
                field!(unaligned ev, buffer_num_min),
                field!(unaligned ev, buffer_size_min),
                field!(unaligned ev, buffer_num_recommended),
                field!(unaligned ev, buffer_size_recommended),
            ];
            Some((req, format, Encoding::from_raw(field!(unaligned f, encoding_variant))))
        }
    }
}

/// A timestamp, unless it is `MMAL_TIME_UNKNOWN`.
fn known_time(t: i64) -> Option<i64> {
    Some(t).filter(|&t| t != sys::MMAL_TIME_UNKNOWN)
}
