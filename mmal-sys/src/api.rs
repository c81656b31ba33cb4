//! The function table.

/// Calls `$callback!` with the whole libmmal function table: the one list
/// from which [`Api`], [`API_SYMBOLS`], the `mmal` crate's loader, the
/// software VideoCore's table and its C exports are generated (as ash
/// generates its function-pointer structs and loaders). Adding a libmmal
/// function is one entry here plus its implementation in the emulator
/// (`mmal-emu/src/abi.rs`, a function named as the field).
///
/// Each entry reads
///
/// ```text
/// /// docs
/// c_symbol => field(arg: Type, ...) -> Return;
/// ```
///
/// (`-> Return` absent for `void`), with every type a full path, so that a
/// callback matches entries with
///
/// ```text
/// $($(#[$doc:meta])* $symbol:ident => $field:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;)*
/// ```
#[macro_export]
macro_rules! for_each_api {
    ($callback:ident) => {
        $callback! {
            /// `mmal_component_create(name, &component)`; the component starts with
            /// one reference and every port disabled.
            mmal_component_create => component_create(name: *const ::core::ffi::c_char, component: *mut *mut $crate::MMAL_COMPONENT_T) -> $crate::MMAL_STATUS_T;
            /// `mmal_component_release`: drops one reference; the last destroys it.
            mmal_component_release => component_release(component: *mut $crate::MMAL_COMPONENT_T) -> $crate::MMAL_STATUS_T;
            /// `mmal_component_enable`.
            mmal_component_enable => component_enable(component: *mut $crate::MMAL_COMPONENT_T) -> $crate::MMAL_STATUS_T;
            /// `mmal_component_disable`.
            mmal_component_disable => component_disable(component: *mut $crate::MMAL_COMPONENT_T) -> $crate::MMAL_STATUS_T;
            /// `mmal_port_format_commit`: applies the edits made to `port->format`.
            mmal_port_format_commit => port_format_commit(port: *mut $crate::MMAL_PORT_T) -> $crate::MMAL_STATUS_T;
            /// `mmal_port_enable(port, callback)`; the callback is NULL for a
            /// connected port.
            mmal_port_enable => port_enable(port: *mut $crate::MMAL_PORT_T, cb: $crate::MMAL_PORT_BH_CB_T) -> $crate::MMAL_STATUS_T;
            /// `mmal_port_disable`: returns every buffer the port holds.
            mmal_port_disable => port_disable(port: *mut $crate::MMAL_PORT_T) -> $crate::MMAL_STATUS_T;
            /// `mmal_port_flush`: an enabled port returns the buffers it holds and
            /// stays enabled; a disabled one does nothing.
            mmal_port_flush => port_flush(port: *mut $crate::MMAL_PORT_T) -> $crate::MMAL_STATUS_T;
            /// `mmal_port_parameter_set(port, &param.hdr)`.
            mmal_port_parameter_set => port_parameter_set(port: *mut $crate::MMAL_PORT_T, param: *const $crate::MMAL_PARAMETER_HEADER_T) -> $crate::MMAL_STATUS_T;
            /// `mmal_port_parameter_get(port, &param.hdr)`: `hdr.size` is the
            /// buffer's size going in and the parameter's coming out; `MMAL_ENOSPC`
            /// if the buffer was too small.
            mmal_port_parameter_get => port_parameter_get(port: *mut $crate::MMAL_PORT_T, param: *mut $crate::MMAL_PARAMETER_HEADER_T) -> $crate::MMAL_STATUS_T;
            /// `mmal_port_send_buffer`: hands a header to an enabled port.
            mmal_port_send_buffer => port_send_buffer(port: *mut $crate::MMAL_PORT_T, buffer: *mut $crate::MMAL_BUFFER_HEADER_T) -> $crate::MMAL_STATUS_T;
            /// `mmal_port_pool_create(port, headers, payload_size)` (libmmal_util):
            /// payloads come from the port's allocator (VCSM in zero-copy mode).
            mmal_port_pool_create => port_pool_create(port: *mut $crate::MMAL_PORT_T, headers: ::core::ffi::c_uint, payload_size: u32) -> *mut $crate::MMAL_POOL_T;
            /// `mmal_port_pool_destroy(port, pool)` (libmmal_util).
            mmal_port_pool_destroy => port_pool_destroy(port: *mut $crate::MMAL_PORT_T, pool: *mut $crate::MMAL_POOL_T);
            /// `mmal_queue_get`: the next header, or NULL; never blocks.
            mmal_queue_get => queue_get(queue: *mut $crate::MMAL_QUEUE_T) -> *mut $crate::MMAL_BUFFER_HEADER_T;
            /// `mmal_queue_length`.
            mmal_queue_length => queue_length(queue: *mut $crate::MMAL_QUEUE_T) -> ::core::ffi::c_uint;
            /// `mmal_buffer_header_release`: drops one reference; the last returns
            /// the header to its pool.
            mmal_buffer_header_release => buffer_header_release(header: *mut $crate::MMAL_BUFFER_HEADER_T);
            /// `mmal_event_format_changed_get`: the payload of a FORMAT_CHANGED
            /// event, or NULL for any other buffer.
            mmal_event_format_changed_get => event_format_changed_get(buffer: *mut $crate::MMAL_BUFFER_HEADER_T) -> *mut $crate::MMAL_EVENT_FORMAT_CHANGED_T;
            /// `mmal_connection_create(&connection, out, in, flags)` (libmmal_util).
            mmal_connection_create => connection_create(connection: *mut *mut $crate::MMAL_CONNECTION_T, out: *mut $crate::MMAL_PORT_T, input: *mut $crate::MMAL_PORT_T, flags: u32) -> $crate::MMAL_STATUS_T;
            /// `mmal_connection_enable` (libmmal_util).
            mmal_connection_enable => connection_enable(connection: *mut $crate::MMAL_CONNECTION_T) -> $crate::MMAL_STATUS_T;
            /// `mmal_connection_disable` (libmmal_util).
            mmal_connection_disable => connection_disable(connection: *mut $crate::MMAL_CONNECTION_T) -> $crate::MMAL_STATUS_T;
            /// `mmal_connection_destroy` (libmmal_util): disables, disconnects and
            /// releases.
            mmal_connection_destroy => connection_destroy(connection: *mut $crate::MMAL_CONNECTION_T) -> $crate::MMAL_STATUS_T;
            /// `mmal_connection_event_format_changed(connection, buffer)`
            /// (libmmal_util): applies a FORMAT_CHANGED event from the output of a
            /// connection through the client: forwarded to the input if the
            /// buffers still fit and the input takes such events, else by
            /// disabling the connection, committing the format on both ports and
            /// enabling it again. Never from a callback of either component.
            mmal_connection_event_format_changed => connection_event_format_changed(connection: *mut $crate::MMAL_CONNECTION_T, buffer: *mut $crate::MMAL_BUFFER_HEADER_T) -> $crate::MMAL_STATUS_T;
        }
    };
}

/// Declares [`Api`] and [`API_SYMBOLS`] from the [`for_each_api!`] list.
macro_rules! declare_api {
    ($($(#[$doc:meta])* $symbol:ident => $field:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;)*) => {
        /// One pointer per libmmal function that the `mmal` crate calls, named as in
        /// libmmal without the `mmal_` prefix; generated, with [`API_SYMBOLS`], from
        /// the list in [`for_each_api!`].
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
            $($(#[$doc])* pub $field: unsafe extern "C" fn($($arg: $ty),*) $(-> $ret)?,)*
        }

        /// The C symbol behind each [`Api`] entry, in field order (generated from
        /// the same list as the table; the loader names each symbol the same way).
        pub const API_SYMBOLS: [&str; [$(stringify!($symbol)),*].len()] = [$(stringify!($symbol)),*];
    };
}

for_each_api!(declare_api);

/// A symbol that only the software VideoCore's C libraries export (built by
/// `cargo xtask videocore-libs`): `const char *videocore_emu_identify(void)`
/// returns a NUL-terminated description. The `mmal` loader looks it up to
/// know that the "libmmal" it loaded is the software VideoCore, which works
/// with emulated VCSM memory where real libmmal must not.
pub const SOFTWARE_VIDEOCORE_SYMBOL: &str = "videocore_emu_identify";
