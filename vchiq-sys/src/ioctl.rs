//! Request numbers, computed exactly as the kernel's `_IOC` macros do
//! (`include/uapi/asm-generic/ioctl.h`, which ARM and arm64 both use).

use core::mem::size_of;

use crate::bindings::*;

/// `_IOC_NONE`: no data transfer.
pub const IOC_NONE: u32 = 0;
/// `_IOC_WRITE`: user space writes the argument, the kernel reads it.
pub const IOC_WRITE: u32 = 1;
/// `_IOC_READ`: the kernel writes the argument back.
pub const IOC_READ: u32 = 2;

const IOC_NRSHIFT: u32 = 0;
const IOC_TYPESHIFT: u32 = 8;
const IOC_SIZESHIFT: u32 = 16;
const IOC_DIRSHIFT: u32 = 30;
const IOC_SIZEMASK: usize = (1 << 14) - 1;

/// The kernel's `_IOC(dir, type, nr, size)`.
///
/// Fails to compile (when used in a `const`) if `size` does not fit the
/// 14-bit size field, like the kernel's `_IOC_TYPECHECK`.
///
/// ```
/// use vchiq_sys::{ioc, IOC_READ, IOC_WRITE};
/// assert_eq!(ioc(IOC_READ | IOC_WRITE, 0xC4, 10, 16), 0xC010_C40A);
/// ```
pub const fn ioc(dir: u32, ty: u32, nr: u32, size: usize) -> u32 {
    assert!(size <= IOC_SIZEMASK, "ioctl argument too large for _IOC");
    assert!(nr <= 0xFF, "ioctl number out of range");
    assert!(ty <= 0xFF, "ioctl type out of range");
    (dir << IOC_DIRSHIFT) | ((size as u32) << IOC_SIZESHIFT) | (ty << IOC_TYPESHIFT) | (nr << IOC_NRSHIFT)
}

/// The kernel's `_IO(type, nr)`.
///
/// ```
/// assert_eq!(vchiq_sys::io(0xC4, 12), vchiq_sys::VCHIQ_IOC_USE_SERVICE);
/// ```
pub const fn io(ty: u32, nr: u32) -> u32 {
    ioc(IOC_NONE, ty, nr, 0)
}

/// The kernel's `_IOW(type, nr, T)`.
///
/// ```
/// use vchiq_sys::{iow, vchiq_queue_message, VCHIQ_IOC_QUEUE_MESSAGE};
/// assert_eq!(iow::<vchiq_queue_message>(0xC4, 4), VCHIQ_IOC_QUEUE_MESSAGE);
/// ```
pub const fn iow<T>(ty: u32, nr: u32) -> u32 {
    ioc(IOC_WRITE, ty, nr, size_of::<T>())
}

/// The kernel's `_IOWR(type, nr, T)`.
///
/// ```
/// use vchiq_sys::{iowr, vchiq_get_config, VCHIQ_IOC_GET_CONFIG};
/// assert_eq!(iowr::<vchiq_get_config>(0xC4, 10), VCHIQ_IOC_GET_CONFIG);
/// ```
pub const fn iowr<T>(ty: u32, nr: u32) -> u32 {
    ioc(IOC_READ | IOC_WRITE, ty, nr, size_of::<T>())
}

/// CONNECT: connect this instance to the VideoCore (once, before any
/// service is opened).
pub const VCHIQ_IOC_CONNECT: u32 = io(VCHIQ_IOC_MAGIC, VCHIQ_IOC_NR_CONNECT);
/// SHUTDOWN: close every service of this instance and wake a thread waiting
/// in AWAIT_COMPLETION.
pub const VCHIQ_IOC_SHUTDOWN: u32 = io(VCHIQ_IOC_MAGIC, VCHIQ_IOC_NR_SHUTDOWN);
/// CREATE_SERVICE: open (or add) a service, [`vchiq_create_service`].
pub const VCHIQ_IOC_CREATE_SERVICE: u32 = iowr::<vchiq_create_service>(VCHIQ_IOC_MAGIC, VCHIQ_IOC_NR_CREATE_SERVICE);
/// REMOVE_SERVICE: remove a service; the argument is its handle.
pub const VCHIQ_IOC_REMOVE_SERVICE: u32 = io(VCHIQ_IOC_MAGIC, VCHIQ_IOC_NR_REMOVE_SERVICE);
/// QUEUE_MESSAGE: send one message made of elements, [`vchiq_queue_message`].
pub const VCHIQ_IOC_QUEUE_MESSAGE: u32 = iow::<vchiq_queue_message>(VCHIQ_IOC_MAGIC, VCHIQ_IOC_NR_QUEUE_MESSAGE);
/// QUEUE_BULK_TRANSMIT: send a user buffer by DMA, [`vchiq_queue_bulk_transfer`].
pub const VCHIQ_IOC_QUEUE_BULK_TRANSMIT: u32 =
    iowr::<vchiq_queue_bulk_transfer>(VCHIQ_IOC_MAGIC, VCHIQ_IOC_NR_QUEUE_BULK_TRANSMIT);
/// QUEUE_BULK_RECEIVE: receive into a user buffer by DMA, [`vchiq_queue_bulk_transfer`].
pub const VCHIQ_IOC_QUEUE_BULK_RECEIVE: u32 =
    iowr::<vchiq_queue_bulk_transfer>(VCHIQ_IOC_MAGIC, VCHIQ_IOC_NR_QUEUE_BULK_RECEIVE);
/// AWAIT_COMPLETION: wait for completions (messages, bulk ends, closes),
/// [`vchiq_await_completion`]; returns how many were written.
pub const VCHIQ_IOC_AWAIT_COMPLETION: u32 =
    iowr::<vchiq_await_completion>(VCHIQ_IOC_MAGIC, VCHIQ_IOC_NR_AWAIT_COMPLETION);
/// DEQUEUE_MESSAGE: take a message of a VCHI-style service, [`vchiq_dequeue_message`].
pub const VCHIQ_IOC_DEQUEUE_MESSAGE: u32 = iowr::<vchiq_dequeue_message>(VCHIQ_IOC_MAGIC, VCHIQ_IOC_NR_DEQUEUE_MESSAGE);
/// GET_CLIENT_ID: the client id of a service; the argument is its handle.
pub const VCHIQ_IOC_GET_CLIENT_ID: u32 = io(VCHIQ_IOC_MAGIC, VCHIQ_IOC_NR_GET_CLIENT_ID);
/// GET_CONFIG: the driver's limits and versions, [`vchiq_get_config`].
pub const VCHIQ_IOC_GET_CONFIG: u32 = iowr::<vchiq_get_config>(VCHIQ_IOC_MAGIC, VCHIQ_IOC_NR_GET_CONFIG);
/// CLOSE_SERVICE: close a service; the argument is its handle.
pub const VCHIQ_IOC_CLOSE_SERVICE: u32 = io(VCHIQ_IOC_MAGIC, VCHIQ_IOC_NR_CLOSE_SERVICE);
/// USE_SERVICE: take a use of the VideoCore (keeps it powered) for a
/// service; the argument is its handle.
pub const VCHIQ_IOC_USE_SERVICE: u32 = io(VCHIQ_IOC_MAGIC, VCHIQ_IOC_NR_USE_SERVICE);
/// RELEASE_SERVICE: give back a use taken by USE_SERVICE; the argument is
/// the service's handle.
pub const VCHIQ_IOC_RELEASE_SERVICE: u32 = io(VCHIQ_IOC_MAGIC, VCHIQ_IOC_NR_RELEASE_SERVICE);
/// SET_SERVICE_OPTION: [`vchiq_set_service_option`].
pub const VCHIQ_IOC_SET_SERVICE_OPTION: u32 =
    iow::<vchiq_set_service_option>(VCHIQ_IOC_MAGIC, VCHIQ_IOC_NR_SET_SERVICE_OPTION);
/// DUMP_PHYS_MEM: a debugging aid of old kernels (argument: an address and
/// a size); not used by clients.
pub const VCHIQ_IOC_DUMP_PHYS_MEM: u32 = io(VCHIQ_IOC_MAGIC, VCHIQ_IOC_NR_DUMP_PHYS_MEM);
/// LIB_VERSION: tell the driver the client's protocol version (the
/// argument, [`VCHIQ_VERSION`]); drivers from version
/// [`VCHIQ_VERSION_LIB_VERSION`] on.
pub const VCHIQ_IOC_LIB_VERSION: u32 = io(VCHIQ_IOC_MAGIC, VCHIQ_IOC_NR_LIB_VERSION);
/// CLOSE_DELIVERED: acknowledge a SERVICE_CLOSED completion, letting a
/// CLOSE_SERVICE waiting for it return; the argument is the handle.
pub const VCHIQ_IOC_CLOSE_DELIVERED: u32 = io(VCHIQ_IOC_MAGIC, VCHIQ_IOC_NR_CLOSE_DELIVERED);
