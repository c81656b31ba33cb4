//! The memory of a bulk transfer: a `Vec` the transfer owns, or memory
//! lent by its owner (a payload the caller cannot move into a `Vec`, such
//! as a C buffer header's), which the VideoCore then reads or writes in
//! place. The one module of the crate besides the driver's where `unsafe`
//! is allowed.
#![allow(unsafe_code)]

use std::any::Any;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// The memory of a bulk transfer, owned by it while the device has it.
///
/// A `Vec<u8>` converts into one ([`From`]); [`BulkBuffer::lend`] wraps
/// memory owned elsewhere. Either way it dereferences to the bytes, and it
/// is dropped only when nothing can reach the memory through it: a transfer
/// that is never reported done (its connection gone with the transfer
/// pinned by the driver) keeps it, and what it holds, for good.
///
/// ```
/// let buffer = vchiq::BulkBuffer::from(vec![1, 2, 3]);
/// assert_eq!(&buffer[..], &[1, 2, 3]);
/// assert_eq!(buffer.into_vec(), Some(vec![1, 2, 3]));
/// ```
pub struct BulkBuffer(Repr);

enum Repr {
    Owned(Vec<u8>),
    Lent {
        data: NonNull<u8>,
        len: usize,
        /// Dropped with the buffer, after the last access through it.
        _owner: Box<dyn Any + Send>,
    },
}

// SAFETY: an owned buffer is a `Vec`. Lent memory is, by `lend`'s
// contract, reached by nothing but this value while its owner lives, and
// the owner is `Send`: moving the value moves sole access to the bytes.
unsafe impl Send for BulkBuffer {}
// SAFETY: through `&BulkBuffer` only `&[u8]` of the bytes is reached (a
// `Vec`'s, or lent memory that nothing else reaches), never the owner.
unsafe impl Sync for BulkBuffer {}

impl BulkBuffer {
    /// Lends `len` bytes at `data` to a transfer. `owner` keeps the memory
    /// alive and is dropped when the buffer is (after a transfer's
    /// completion, or never if the transfer never completes): dropping it
    /// is how the memory's owner learns that the VideoCore is done with it.
    ///
    /// `owner` may be dropped on the connection's completion thread, or
    /// with the connection's locks held: its `Drop` must not call back into
    /// the connection (keep it to releasing memory and setting flags).
    ///
    /// # Safety
    ///
    /// Until `owner` is dropped, the `len` bytes at `data` are initialised,
    /// valid for reads and writes, and accessed by nothing but the returned
    /// value (no other reference to them, no other thread, no C code).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    ///
    /// struct Lease(Arc<AtomicBool>);
    /// impl Drop for Lease {
    ///     fn drop(&mut self) {
    ///         self.0.store(false, Ordering::Release);
    ///     }
    /// }
    ///
    /// let memory: &'static mut [u8] = Box::leak(vec![0u8; 16].into_boxed_slice());
    /// let lent = Arc::new(AtomicBool::new(true));
    /// let data = std::ptr::NonNull::new(memory.as_mut_ptr()).unwrap();
    /// // SAFETY: the leaked block is reached only through the buffer.
    /// let mut buffer = unsafe { vchiq::BulkBuffer::lend(data, 16, Box::new(Lease(Arc::clone(&lent)))) };
    /// buffer[0] = 7;
    /// assert!(buffer.into_vec().is_none(), "lent memory is not a Vec");
    /// assert!(!lent.load(Ordering::Acquire), "given back to its owner");
    /// ```
    pub unsafe fn lend(data: NonNull<u8>, len: usize, owner: Box<dyn Any + Send>) -> BulkBuffer {
        BulkBuffer(Repr::Lent { data, len, _owner: owner })
    }

    /// Whether the memory is lent ([`lend`](BulkBuffer::lend)).
    ///
    /// ```
    /// assert!(!vchiq::BulkBuffer::from(vec![0; 4]).is_lent());
    /// ```
    pub fn is_lent(&self) -> bool {
        matches!(self.0, Repr::Lent { .. })
    }

    /// The `Vec` it was made from; `None` for lent memory, which this call
    /// gives back to its owner.
    ///
    /// ```
    /// assert_eq!(vchiq::BulkBuffer::from(vec![5]).into_vec(), Some(vec![5]));
    /// ```
    pub fn into_vec(self) -> Option<Vec<u8>> {
        match self.0 {
            Repr::Owned(v) => Some(v),
            Repr::Lent { .. } => None,
        }
    }
}

impl From<Vec<u8>> for BulkBuffer {
    fn from(v: Vec<u8>) -> BulkBuffer {
        BulkBuffer(Repr::Owned(v))
    }
}

impl Deref for BulkBuffer {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.0 {
            Repr::Owned(v) => v,
            // SAFETY: `lend`'s contract: `len` initialised bytes at `data`,
            // reached only through this value, which is borrowed here.
            Repr::Lent { data, len, .. } => unsafe { std::slice::from_raw_parts(data.as_ptr(), *len) },
        }
    }
}

impl DerefMut for BulkBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        match &mut self.0 {
            Repr::Owned(v) => v,
            // SAFETY: as for `deref`; borrowed mutably here, so the slice is
            // the only access.
            Repr::Lent { data, len, .. } => unsafe { std::slice::from_raw_parts_mut(data.as_ptr(), *len) },
        }
    }
}

impl fmt::Debug for BulkBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkBuffer").field("len", &self.len()).field("lent", &self.is_lent()).finish()
    }
}

impl PartialEq for BulkBuffer {
    fn eq(&self, other: &BulkBuffer) -> bool {
        self[..] == other[..]
    }
}

impl Eq for BulkBuffer {}

impl PartialEq<Vec<u8>> for BulkBuffer {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self[..] == other[..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    struct Count(Arc<AtomicUsize>);
    impl Drop for Count {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::AcqRel);
        }
    }

    #[test]
    fn lent_memory_is_written_in_place_and_its_owner_dropped_once_with_the_buffer() {
        let mut block = vec![0u8; 8].into_boxed_slice();
        let drops = Arc::new(AtomicUsize::new(0));
        let data = NonNull::new(block.as_mut_ptr()).unwrap();
        // SAFETY: `block` is not touched until the buffer is dropped.
        let mut buffer = unsafe { BulkBuffer::lend(data, 8, Box::new(Count(Arc::clone(&drops)))) };
        buffer[2..4].copy_from_slice(&[9, 9]);
        assert_eq!(buffer.len(), 8);
        assert!(buffer.is_lent());
        let moved = std::thread::spawn(move || buffer).join().unwrap();
        assert_eq!(drops.load(Ordering::Acquire), 0, "kept while the buffer lives");
        drop(moved);
        assert_eq!(drops.load(Ordering::Acquire), 1);
        assert_eq!(&block[..], &[0, 0, 9, 9, 0, 0, 0, 0]);
    }
}
