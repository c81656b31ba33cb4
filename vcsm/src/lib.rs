//! Safe, leak-free VideoCore shared memory (VCSM) for the Raspberry Pi.
//!
//! Allocate memory the VideoCore GPU can see, copy slices or `ndarray`s into
//! it, and hand its [`VcHandle`] to MMAL — for example as a camera's lens
//! shading table. Every block is freed when its [`SharedMemory`] is dropped,
//! on every path, so no GPU handle, descriptor or mapping ever leaks.
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
//! This crate re-exports [`ndarray`] and [`bytemuck`] so you can use the
//! versions it was built with.

#![deny(unsafe_code)]

mod array;
mod driver;
pub mod emulated;
mod error;
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
pub use manager::{Choice as VideoCoreChoice, DriverKind, ServiceManager, VIDEOCORE_VAR};
pub use memory::{CacheMode, Lock, SharedMemory, VcHandle};
pub use pool::{BufferPool, PoolStats, PooledMemory};
pub use stats::Stats;
