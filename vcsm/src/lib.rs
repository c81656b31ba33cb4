//! Safe, leak-free VideoCore shared memory (VCSM) for the Raspberry Pi.
//!
//! Allocate memory the VideoCore GPU can see, copy slices or `ndarray`s into
//! it, and hand its [`VcHandle`] to MMAL — for example as a camera's lens
//! shading table. Every block is freed when its [`SharedMemory`] is dropped,
//! on success and error paths alike, so no GPU handle, descriptor or mapping
//! leaks unless you keep it: `std::mem::forget` keeps a block, and a
//! descriptor from [`SharedMemory::export_dmabuf`] keeps the dma-buf alive
//! until it is closed. (If the kernel refuses `munmap` or the legacy
//! driver's FREE, which drop cannot report, the failure is logged and the
//! kernel frees the block when the process exits.)
//!
//! ```
//! # fn main() -> vcsm::Result<()> {
//! use vcsm::{ndarray::Array3, SharedMemory};
//!
//! let table = Array3::<u8>::from_elem((4, 39, 52), 32); // gain 1.0 in u3.5
//! let mut mem = SharedMemory::new(table.len(), "lens shading")?;
//! mem.copy_from_array(&table)?;
//! println!("handle {} at bus address {:#x}", mem.vc_handle(), mem.bus_address());
//! # Ok(()) }
//! ```
//!
//! The driver is chosen once per process by the [`ServiceManager`]:
//! `/dev/vcsm-cma` (kernels 5.4 and later), the legacy `/dev/vcsm` (older
//! 32-bit kernels), or, where there is no VideoCore, the [emulated] one, so
//! the same program runs and tests on any Linux machine. The `VIDEOCORE`
//! environment variable (`auto`, `hardware`, `emulated`) overrides the choice.
//!
//! A [`BufferPool`] reuses blocks by layout so a long-running program that
//! switches modes does not fragment the contiguous pool, and [`Stats`] tells
//! a leak from fragmentation.
//!
//! # Who may touch the bytes
//!
//! A [`Lock`] hands out the block's bytes as `&mut [u8]`, so nothing else in
//! the program may touch them while it lives. Within this process's safe
//! code that holds: the lock borrows its [`SharedMemory`] mutably, and no
//! two `SharedMemory` map the same memory ([`ServiceManager::import_dmabuf`]
//! refuses a dma-buf this process already maps, with
//! [`Error::AlreadyMapped`]). The emulated VideoCore's device side keeps off
//! a locked block, and its writing functions are `unsafe`.
//!
//! The VideoCore itself is outside Rust's view, as is any other holder of a
//! dma-buf you exported or imported (another process, a camera, a codec).
//! A lock does not stop them: on vc-sm-cma it is the dma-buf's CPU-access
//! bracket (`DMA_BUF_IOCTL_SYNC`), on the legacy driver it pins the block
//! and maintains the ARM cache; neither keeps the GPU off it. The VideoCore
//! writes a block only while MMAL has it: a buffer sent to a port until it
//! comes back, a block whose handle is in a parameter being applied. So
//! lock a block only while the VideoCore does not have it, just as a
//! dma-buf's exporter must be kept off a buffer you are using (the reason
//! `memmap2::Mmap::map` is `unsafe`). What no other holder can do is take
//! the pages away: a dma-buf cannot shrink, and the emulated blocks are
//! memfds sealed at their size.
//!
//! This crate re-exports [`ndarray`] and [`bytemuck`] so you can use the
//! versions it was built with.

#![deny(unsafe_code)]

mod array;
mod driver;
pub mod emulated;
mod error;
mod live;
mod manager;
mod memory;
mod pool;
mod stats;
mod sys;

/// Locks a mutex whose holders keep its data consistent before anything can
/// panic, so a poisoned lock is still safe to use.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub use bytemuck;
pub use ndarray;

pub use error::{Error, Result};
pub use manager::{device_node_present, Choice as VideoCoreChoice, DriverKind, ServiceManager, VIDEOCORE_VAR};
pub use memory::{CacheMode, Lock, SharedMemory, VcHandle};
pub use pool::{BufferPool, PoolStats, PooledMemory};
pub use stats::Stats;
