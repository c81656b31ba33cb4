//! The function table.

use core::ffi::{c_char, c_uint};

use crate::{
    MMAL_BUFFER_HEADER_T, MMAL_COMPONENT_T, MMAL_CONNECTION_T, MMAL_EVENT_FORMAT_CHANGED_T, MMAL_PARAMETER_HEADER_T,
    MMAL_POOL_T, MMAL_PORT_BH_CB_T, MMAL_PORT_T, MMAL_QUEUE_T, MMAL_STATUS_T,
};

/// One pointer per libmmal function that the `mmal` crate calls, named as in
/// libmmal without the `mmal_` prefix.
///
/// Two providers exist: libmmal itself, loaded at run time on a Raspberry Pi
/// (symbols `mmal_component_create` and so on, in `libmmal_core` and
/// `libmmal_util`), and the software VideoCore (`mmal_emu::api()`), which
/// implements every entry in Rust with libmmal's semantics.
///
/// # Safety
///
/// Every entry has the contract of the libmmal function it names: pointers
/// must come from the same provider and be live. A table must only hold
/// functions of one provider.
#[derive(Debug, Clone, Copy)]
pub struct Api {
    /// `mmal_component_create(name, &component)`; the component starts with
    /// one reference and every port disabled.
    pub component_create:
        unsafe extern "C" fn(name: *const c_char, component: *mut *mut MMAL_COMPONENT_T) -> MMAL_STATUS_T,
    /// `mmal_component_release`: drops one reference; the last destroys it.
    pub component_release: unsafe extern "C" fn(component: *mut MMAL_COMPONENT_T) -> MMAL_STATUS_T,
    /// `mmal_component_enable`.
    pub component_enable: unsafe extern "C" fn(component: *mut MMAL_COMPONENT_T) -> MMAL_STATUS_T,
    /// `mmal_component_disable`.
    pub component_disable: unsafe extern "C" fn(component: *mut MMAL_COMPONENT_T) -> MMAL_STATUS_T,
    /// `mmal_port_format_commit`: applies the edits made to `port->format`.
    pub port_format_commit: unsafe extern "C" fn(port: *mut MMAL_PORT_T) -> MMAL_STATUS_T,
    /// `mmal_port_enable(port, callback)`; the callback is NULL for a
    /// connected port.
    pub port_enable: unsafe extern "C" fn(port: *mut MMAL_PORT_T, cb: MMAL_PORT_BH_CB_T) -> MMAL_STATUS_T,
    /// `mmal_port_disable`: returns every buffer the port holds.
    pub port_disable: unsafe extern "C" fn(port: *mut MMAL_PORT_T) -> MMAL_STATUS_T,
    /// `mmal_port_flush`: an enabled port returns the buffers it holds and
    /// stays enabled; a disabled one does nothing.
    pub port_flush: unsafe extern "C" fn(port: *mut MMAL_PORT_T) -> MMAL_STATUS_T,
    /// `mmal_port_parameter_set(port, &param.hdr)`.
    pub port_parameter_set:
        unsafe extern "C" fn(port: *mut MMAL_PORT_T, param: *const MMAL_PARAMETER_HEADER_T) -> MMAL_STATUS_T,
    /// `mmal_port_parameter_get(port, &param.hdr)`: `hdr.size` is the
    /// buffer's size going in and the parameter's coming out; `MMAL_ENOSPC`
    /// if the buffer was too small.
    pub port_parameter_get:
        unsafe extern "C" fn(port: *mut MMAL_PORT_T, param: *mut MMAL_PARAMETER_HEADER_T) -> MMAL_STATUS_T,
    /// `mmal_port_send_buffer`: hands a header to an enabled port.
    pub port_send_buffer:
        unsafe extern "C" fn(port: *mut MMAL_PORT_T, buffer: *mut MMAL_BUFFER_HEADER_T) -> MMAL_STATUS_T,
    /// `mmal_port_pool_create(port, headers, payload_size)` (libmmal_util):
    /// payloads come from the port's allocator (VCSM in zero-copy mode).
    pub port_pool_create:
        unsafe extern "C" fn(port: *mut MMAL_PORT_T, headers: c_uint, payload_size: u32) -> *mut MMAL_POOL_T,
    /// `mmal_port_pool_destroy(port, pool)` (libmmal_util).
    pub port_pool_destroy: unsafe extern "C" fn(port: *mut MMAL_PORT_T, pool: *mut MMAL_POOL_T),
    /// `mmal_queue_get`: the next header, or NULL; never blocks.
    pub queue_get: unsafe extern "C" fn(queue: *mut MMAL_QUEUE_T) -> *mut MMAL_BUFFER_HEADER_T,
    /// `mmal_queue_length`.
    pub queue_length: unsafe extern "C" fn(queue: *mut MMAL_QUEUE_T) -> c_uint,
    /// `mmal_buffer_header_release`: drops one reference; the last returns
    /// the header to its pool.
    pub buffer_header_release: unsafe extern "C" fn(header: *mut MMAL_BUFFER_HEADER_T),
    /// `mmal_event_format_changed_get`: the payload of a FORMAT_CHANGED
    /// event, or NULL for any other buffer.
    pub event_format_changed_get:
        unsafe extern "C" fn(buffer: *mut MMAL_BUFFER_HEADER_T) -> *mut MMAL_EVENT_FORMAT_CHANGED_T,
    /// `mmal_connection_create(&connection, out, in, flags)` (libmmal_util).
    pub connection_create: unsafe extern "C" fn(
        connection: *mut *mut MMAL_CONNECTION_T,
        out: *mut MMAL_PORT_T,
        input: *mut MMAL_PORT_T,
        flags: u32,
    ) -> MMAL_STATUS_T,
    /// `mmal_connection_enable` (libmmal_util).
    pub connection_enable: unsafe extern "C" fn(connection: *mut MMAL_CONNECTION_T) -> MMAL_STATUS_T,
    /// `mmal_connection_disable` (libmmal_util).
    pub connection_disable: unsafe extern "C" fn(connection: *mut MMAL_CONNECTION_T) -> MMAL_STATUS_T,
    /// `mmal_connection_destroy` (libmmal_util): disables, disconnects and
    /// releases.
    pub connection_destroy: unsafe extern "C" fn(connection: *mut MMAL_CONNECTION_T) -> MMAL_STATUS_T,
    /// `mmal_connection_event_format_changed(connection, buffer)`
    /// (libmmal_util): applies a FORMAT_CHANGED event from the output of a
    /// connection through the client: forwarded to the input if the
    /// buffers still fit and the input takes such events, else by
    /// disabling the connection, committing the format on both ports and
    /// enabling it again. Never from a callback of either component.
    pub connection_event_format_changed:
        unsafe extern "C" fn(connection: *mut MMAL_CONNECTION_T, buffer: *mut MMAL_BUFFER_HEADER_T) -> MMAL_STATUS_T,
}

/// The C symbol behind each [`Api`] entry, in field order: a reference list
/// (this crate's ABI test checks that the table has one entry per symbol).
/// The `mmal` crate's loader does not read it: it names each symbol next to
/// the field it fills, in its own table.
pub const API_SYMBOLS: [&str; 22] = [
    "mmal_component_create",
    "mmal_component_release",
    "mmal_component_enable",
    "mmal_component_disable",
    "mmal_port_format_commit",
    "mmal_port_enable",
    "mmal_port_disable",
    "mmal_port_flush",
    "mmal_port_parameter_set",
    "mmal_port_parameter_get",
    "mmal_port_send_buffer",
    "mmal_port_pool_create",
    "mmal_port_pool_destroy",
    "mmal_queue_get",
    "mmal_queue_length",
    "mmal_buffer_header_release",
    "mmal_event_format_changed_get",
    "mmal_connection_create",
    "mmal_connection_enable",
    "mmal_connection_disable",
    "mmal_connection_destroy",
    "mmal_connection_event_format_changed",
];

/// A symbol that only the software VideoCore's C libraries export (built by
/// `cargo xtask videocore-libs`): `const char *videocore_emu_identify(void)`
/// returns a NUL-terminated description. The `mmal` loader looks it up to
/// know that the "libmmal" it loaded is the software VideoCore, which works
/// with emulated VCSM memory where real libmmal must not.
pub const SOFTWARE_VIDEOCORE_SYMBOL: &str = "videocore_emu_identify";
