//! OPAQUE buffers. On a Pi their payload is a handle to an image that
//! stays in VideoCore memory, and only components read it. Here the camera
//! writes a tag, a handle and the frame number; the handle names a recent
//! frame's picture (kept for the last 16 frames of the process), from
//! which a component that needs pixels (the splitter, the resizer) renders
//! them. A handle too old to resolve gives a corrupted frame, as a stale
//! image would. A camera's images go when the camera does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::format::{VideoFormat, OPAQUE_SIZE};
use crate::sensor::{self, Prepared};

/// The tag at the start of every OPAQUE payload.
const TAG: &[u8; 4] = b"OPQV";

/// Images kept: more than the buffers in flight between a camera and the
/// components reading it (a few per port), and few enough that the
/// pictures they hold stay a small multiple of one camera's.
const SLOTS: usize = 16;

/// An image an OPAQUE buffer refers to: a prepared picture and the frame
/// (its noise) to render.
#[derive(Clone)]
pub(crate) struct Image {
    prepared: Arc<Prepared>,
    frame: u64,
}

struct Ring {
    next: u32,
    slots: [(u32, Option<Image>); SLOTS],
}

static IMAGES: Mutex<Ring> = Mutex::new(Ring { next: 0, slots: [const { (0, None) }; SLOTS] });

static OWNERS: AtomicU64 = AtomicU64::new(1);

/// A new name for a camera's images.
pub(crate) fn new_owner() -> u64 {
    OWNERS.fetch_add(1, Ordering::Relaxed)
}

/// Drops the images of `owner` (a camera that goes).
pub(crate) fn forget(owner: u64) {
    let gone: Vec<Image> = {
        let mut ring = IMAGES.lock();
        ring.slots
            .iter_mut()
            .filter(|(_, image)| image.as_ref().is_some_and(|i| i.prepared.images == owner))
            .filter_map(|(_, image)| image.take())
            .collect()
    };
    // The pictures are freed here, outside the lock.
    drop(gone);
}

/// Keeps frame `frame` of `prepared` and writes its OPAQUE payload into
/// `out`; returns the payload's length (0 if `out` is too small).
pub(crate) fn write(out: &mut [u8], prepared: Arc<Prepared>, frame: u64) -> usize {
    if out.len() < OPAQUE_SIZE {
        return 0;
    }
    let handle = {
        let mut ring = IMAGES.lock();
        ring.next = ring.next.wrapping_add(1).max(1);
        let handle = ring.next;
        ring.slots[handle as usize % SLOTS] = (handle, Some(Image { prepared, frame }));
        handle
    };
    let out = &mut out[..OPAQUE_SIZE];
    out.fill(0);
    out[..4].copy_from_slice(TAG);
    out[4..8].copy_from_slice(&handle.to_ne_bytes());
    out[8..16].copy_from_slice(&frame.to_ne_bytes());
    OPAQUE_SIZE
}

/// The image an OPAQUE payload refers to, if it is one and still kept.
pub(crate) fn read(data: &[u8]) -> Option<Image> {
    if data.len() < 16 || &data[..4] != TAG {
        return None;
    }
    let handle = u32::from_ne_bytes([data[4], data[5], data[6], data[7]]);
    let ring = IMAGES.lock();
    match &ring.slots[handle as usize % SLOTS] {
        (h, Some(image)) if *h == handle => Some(image.clone()),
        _ => {
            log::error!("an OPAQUE buffer refers to image {handle}, which is no longer kept");
            None
        }
    }
}

impl Image {
    /// The image's pixels' format (I420 at the camera port's size).
    pub(crate) fn format(&self) -> VideoFormat {
        self.prepared.format
    }

    /// Writes the pixels into `out` (at least `format().frame_size()`
    /// bytes).
    pub(crate) fn render(&self, out: &mut [u8]) {
        sensor::render(&self.prepared, self.frame, out);
    }

    /// Writes the pixels in `format` (its encoding and size) into `out` (at
    /// least `format.frame_size()` bytes), drawn so rather than converted;
    /// `false` (nothing written) for a format the ISP does not write.
    pub(crate) fn render_as(&self, format: &VideoFormat, out: &mut [u8]) -> bool {
        sensor::render_as(&self.prepared, self.frame, format, out)
    }

    /// The frame's raw Bayer block, when it was captured with raw.
    pub(crate) fn raw_block(&self) -> Option<Vec<u8>> {
        sensor::raw_block(&self.prepared, self.frame)
    }
}
