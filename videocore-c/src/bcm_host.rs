//! The rest of `libbcm_host`: the display manager (`vc_dispmanx_*`), HDMI-CEC
//! (`vc_cec_*`) and general commands (`vc_gencmd_*`), answered as a Raspberry
//! Pi with no display attached answers them.
//!
//! The software VideoCore has a camera but no screen, no HDMI link and no
//! general-command service. A program that binds every `libbcm_host` name
//! when it loads finds them all here; one that asks for a display is told
//! there is none, and can carry on with the camera.
//!
//! Inert (do nothing, or succeed):
//!
//! * `bcm_host_init`, `bcm_host_deinit` (exported with libmmal's functions);
//! * `vc_dispmanx_stop`, `vc_vchi_dispmanx_init`, `vc_vchi_cec_init`,
//!   `vc_vchi_cec_stop`, `vc_cec_register_callback` (the callback is never
//!   called), `vc_gencmd_stop`;
//! * `vc_gencmd_init` returns 0;
//! * `vc_dispmanx_rect_set` fills in the rectangle and returns 0, as it needs
//!   no display.
//!
//! Failing, or finding nothing:
//!
//! * `graphics_get_display_size` returns -1 and leaves the width and height
//!   untouched;
//! * `vc_dispmanx_display_open`, `_open_mode`, `_open_offscreen`,
//!   `vc_dispmanx_update_start`, `vc_dispmanx_element_add` and
//!   `vc_dispmanx_resource_create` return `DISPMANX_NO_HANDLE` (0); the last
//!   also writes 0 as the native image handle;
//! * every other `vc_dispmanx_*` and `vc_cec_*` call returns -1, and writes
//!   nothing;
//! * `vc_cec_device_type` returns `CEC_DeviceType_Invalid` (0xF);
//! * `vc_gencmd_send`, `vc_gencmd_read_response` and `vc_gencmd` return -1;
//!   the last two leave an empty string in the response buffer;
//! * `vc_gencmd_string_property` and `vc_gencmd_number_property` return 0
//!   (property not found) and write nothing;
//! * `vc_gencmd_until` returns 1 (timed out).
//!
//! Pointers are written only when they are not NULL.
//!
//! `vc_gencmd_send` and `vc_gencmd` are variadic in C (a printf-style
//! format and its arguments). Stable Rust cannot define a C-variadic
//! function, and a C file built by a build script would bring a C compiler
//! into every build of the crate for two functions that fail. They are
//! defined here without the variable part, with their fixed parameters
//! only, and never read the format nor anything after it. That is
//! ABI-compatible with a caller that sees the variadic prototype, on every
//! target the library is built for:
//!
//! * x86_64 (System V): a variadic call passes its fixed arguments in the
//!   same registers as a plain call (here `rdi`, `esi`, `rdx`), the rest in
//!   the following registers and on the stack, which the caller pops; it
//!   also sets `al` to the number of vector registers used, which only a
//!   variadic callee's prologue reads and a plain callee ignores;
//! * armv7 (AAPCS, hard-float): a variadic call uses the base standard,
//!   which differs from the hard-float one only for floating-point
//!   arguments (core registers instead of VFP ones); the fixed parameters
//!   here are pointers and integers, in `r0`-`r2` either way, and the
//!   caller owns the stack;
//! * aarch64 (AAPCS64 on Linux): variadic arguments are passed as named
//!   ones; the fixed ones are in `x0`-`x2` either way.
//!
//! The return value is in the usual register in every case.
//! `tests/c/careless.c` calls both with a format and arguments (an integer,
//! a string, a double) against the built library.

use std::ffi::{c_char, c_int, c_void};

/// Status of a call that failed: the service or display is not there.
const FAILED: c_int = -1;

/// `DISPMANX_NO_HANDLE`: what a dispmanx call that creates nothing returns.
const NO_HANDLE: u32 = 0;

/// `CEC_DeviceType_Invalid`.
const CEC_DEVICE_TYPE_INVALID: u32 = 0xF;

/// `vc_gencmd_until`'s answer when the wanted response never came.
const GENCMD_TIMED_OUT: c_int = 1;

/// `DISPMANX_CALLBACK_FUNC_T`: called with an update handle and the caller's
/// argument.
type DispmanxCallback = Option<unsafe extern "C" fn(u32, *mut c_void)>;

/// `CECSERVICE_CALLBACK_T`: called with the caller's data, a reason and four
/// parameters.
type CecCallback = Option<unsafe extern "C" fn(*mut c_void, u32, u32, u32, u32, u32)>;

/// `VC_RECT_T`: a rectangle, in pixels.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VcRect {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width.
    pub width: i32,
    /// Height.
    pub height: i32,
}

/// Exports C functions that use none of their arguments and return a fixed
/// value (or nothing): `fn name(args) -> type = value;` or `fn name(args);`.
macro_rules! stubs {
    ($($(#[$attr:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty = $value:expr)?;)*) => {$(
        $(#[$attr])*
        #[no_mangle]
        pub extern "C" fn $name($($arg: $ty),*) $(-> $ret)? {
            $($value)?
        }
    )*};
}

/// Writes an empty string into a response buffer that has room for one.
///
/// # Safety
///
/// `buf` is NULL or points at `len` writable bytes.
unsafe fn clear_response(buf: *mut c_char, len: c_int) {
    if !buf.is_null() && len > 0 {
        // SAFETY: `buf` is non-null and, by the caller's contract, has `len`
        // (at least one) writable bytes.
        unsafe { buf.write(0) };
    }
}

// The display.

stubs! {
    /// `graphics_get_display_size`: there is no display, so -1, sizes untouched.
    fn graphics_get_display_size(_display: u16, _width: *mut u32, _height: *mut u32) -> i32 = FAILED;
}

// Dispmanx.

/// `vc_dispmanx_rect_set`: fills in `rect` and returns 0; returns -1 if
/// `rect` is NULL.
///
/// # Safety
///
/// `rect` is NULL or points at a writable `VC_RECT_T`.
#[no_mangle]
pub unsafe extern "C" fn vc_dispmanx_rect_set(
    rect: *mut VcRect,
    x_offset: u32,
    y_offset: u32,
    width: u32,
    height: u32,
) -> c_int {
    if rect.is_null() {
        return FAILED;
    }
    // C stores the unsigned arguments into the signed fields as they are.
    let value = VcRect { x: x_offset as i32, y: y_offset as i32, width: width as i32, height: height as i32 };
    // SAFETY: `rect` is non-null and, by the caller's contract, points at a
    // writable `VC_RECT_T`, which `VcRect` lays out the same way.
    unsafe { rect.write(value) };
    0
}

/// `vc_dispmanx_resource_create`: no resource; writes 0 to
/// `native_image_handle` if it is not NULL and returns `DISPMANX_NO_HANDLE`.
///
/// # Safety
///
/// `native_image_handle` is NULL or points at a writable `u32`.
#[no_mangle]
pub unsafe extern "C" fn vc_dispmanx_resource_create(
    _image_type: u32,
    _width: u32,
    _height: u32,
    native_image_handle: *mut u32,
) -> u32 {
    if !native_image_handle.is_null() {
        // SAFETY: non-null, and by the caller's contract a writable `u32`.
        unsafe { native_image_handle.write(0) };
    }
    NO_HANDLE
}

stubs! {
    /// `vc_dispmanx_stop`: nothing was started.
    fn vc_dispmanx_stop();
    /// `vc_vchi_dispmanx_init`: there is no service to connect to.
    fn vc_vchi_dispmanx_init(_instance: *mut c_void, _connections: *mut *mut c_void, _num_connections: u32);
    /// `vc_dispmanx_resource_write_data`: there is no resource; -1.
    fn vc_dispmanx_resource_write_data(
        _resource: u32,
        _src_type: u32,
        _src_pitch: c_int,
        _src_address: *mut c_void,
        _rect: *const VcRect,
    ) -> c_int = FAILED;
    /// `vc_dispmanx_resource_read_data`: there is no resource; -1.
    fn vc_dispmanx_resource_read_data(
        _resource: u32,
        _rect: *const VcRect,
        _dst_address: *mut c_void,
        _dst_pitch: u32,
    ) -> c_int = FAILED;
    /// `vc_dispmanx_resource_delete`: there is no resource; -1.
    fn vc_dispmanx_resource_delete(_resource: u32) -> c_int = FAILED;
    /// `vc_dispmanx_resource_set_palette`: there is no resource; -1.
    fn vc_dispmanx_resource_set_palette(_resource: u32, _src: *mut c_void, _offset: c_int, _size: c_int) -> c_int =
        FAILED;
    /// `vc_dispmanx_display_open`: there is no display; `DISPMANX_NO_HANDLE`.
    fn vc_dispmanx_display_open(_device: u32) -> u32 = NO_HANDLE;
    /// `vc_dispmanx_display_open_mode`: there is no display; `DISPMANX_NO_HANDLE`.
    fn vc_dispmanx_display_open_mode(_device: u32, _mode: u32) -> u32 = NO_HANDLE;
    /// `vc_dispmanx_display_open_offscreen`: no display service; `DISPMANX_NO_HANDLE`.
    fn vc_dispmanx_display_open_offscreen(_destination: u32, _orientation: u32) -> u32 = NO_HANDLE;
    /// `vc_dispmanx_display_reconfigure`: there is no display; -1.
    fn vc_dispmanx_display_reconfigure(_display: u32, _mode: u32) -> c_int = FAILED;
    /// `vc_dispmanx_display_set_destination`: there is no display; -1.
    fn vc_dispmanx_display_set_destination(_display: u32, _destination: u32) -> c_int = FAILED;
    /// `vc_dispmanx_display_set_background`: there is no display; -1.
    fn vc_dispmanx_display_set_background(_update: u32, _display: u32, _red: u8, _green: u8, _blue: u8) -> c_int =
        FAILED;
    /// `vc_dispmanx_display_get_info`: there is no display; -1, `pinfo` untouched.
    fn vc_dispmanx_display_get_info(_display: u32, _pinfo: *mut c_void) -> c_int = FAILED;
    /// `vc_dispmanx_display_close`: there is no display; -1.
    fn vc_dispmanx_display_close(_display: u32) -> c_int = FAILED;
    /// `vc_dispmanx_snapshot`: there is no display; -1.
    fn vc_dispmanx_snapshot(_display: u32, _resource: u32, _transform: u32) -> c_int = FAILED;
    /// `vc_dispmanx_vsync_callback`: there is no display; -1, the callback is never called.
    fn vc_dispmanx_vsync_callback(_display: u32, _callback: DispmanxCallback, _arg: *mut c_void) -> c_int = FAILED;
    /// `vc_dispmanx_update_start`: no display service; `DISPMANX_NO_HANDLE`.
    fn vc_dispmanx_update_start(_priority: i32) -> u32 = NO_HANDLE;
    /// `vc_dispmanx_update_submit`: there is no update; -1, the callback is never called.
    fn vc_dispmanx_update_submit(_update: u32, _callback: DispmanxCallback, _arg: *mut c_void) -> c_int = FAILED;
    /// `vc_dispmanx_update_submit_sync`: there is no update; -1.
    fn vc_dispmanx_update_submit_sync(_update: u32) -> c_int = FAILED;
    /// `vc_dispmanx_element_add`: there is no display; `DISPMANX_NO_HANDLE`.
    fn vc_dispmanx_element_add(
        _update: u32,
        _display: u32,
        _layer: i32,
        _dest_rect: *const VcRect,
        _src: u32,
        _src_rect: *const VcRect,
        _protection: u32,
        _alpha: *mut c_void,
        _clamp: *mut c_void,
        _transform: u32,
    ) -> u32 = NO_HANDLE;
    /// `vc_dispmanx_element_change_source`: there is no element; -1.
    fn vc_dispmanx_element_change_source(_update: u32, _element: u32, _src: u32) -> c_int = FAILED;
    /// `vc_dispmanx_element_change_layer`: there is no element; -1.
    fn vc_dispmanx_element_change_layer(_update: u32, _element: u32, _layer: i32) -> c_int = FAILED;
    /// `vc_dispmanx_element_modified`: there is no element; -1.
    fn vc_dispmanx_element_modified(_update: u32, _element: u32, _rect: *const VcRect) -> c_int = FAILED;
    /// `vc_dispmanx_element_remove`: there is no element; -1.
    fn vc_dispmanx_element_remove(_update: u32, _element: u32) -> c_int = FAILED;
    /// `vc_dispmanx_element_change_attributes`: there is no element; -1.
    fn vc_dispmanx_element_change_attributes(
        _update: u32,
        _element: u32,
        _change_flags: u32,
        _layer: i32,
        _opacity: u8,
        _dest_rect: *const VcRect,
        _src_rect: *const VcRect,
        _mask: u32,
        _transform: u32,
    ) -> c_int = FAILED;
    /// `vc_dispmanx_query_image_formats`: no display service; -1, nothing written.
    fn vc_dispmanx_query_image_formats(_supported_formats: *mut u32) -> c_int = FAILED;
}

// HDMI-CEC.

stubs! {
    /// `vc_vchi_cec_init`: there is no service to connect to.
    fn vc_vchi_cec_init(_instance: *mut c_void, _connections: *mut *mut c_void, _num_connections: u32);
    /// `vc_vchi_cec_stop`: nothing was started.
    fn vc_vchi_cec_stop();
    /// `vc_cec_register_callback`: accepted, and never called.
    fn vc_cec_register_callback(_callback: CecCallback, _callback_data: *mut c_void);
    /// `vc_cec_register_command`: no CEC; -1.
    fn vc_cec_register_command(_opcode: u32) -> c_int = FAILED;
    /// `vc_cec_register_all`: no CEC; -1.
    fn vc_cec_register_all() -> c_int = FAILED;
    /// `vc_cec_deregister_command`: no CEC; -1.
    fn vc_cec_deregister_command(_opcode: u32) -> c_int = FAILED;
    /// `vc_cec_deregister_all`: no CEC; -1.
    fn vc_cec_deregister_all() -> c_int = FAILED;
    /// `vc_cec_send_message`: no CEC; -1.
    fn vc_cec_send_message(_follower: u32, _payload: *const u8, _length: u32, _is_reply: c_int) -> c_int = FAILED;
    /// `vc_cec_send_message2`: no CEC; -1.
    fn vc_cec_send_message2(_message: *const c_void) -> c_int = FAILED;
    /// `vc_cec_param2message`: no CEC; -1, `message` untouched.
    fn vc_cec_param2message(
        _reason: u32,
        _param1: u32,
        _param2: u32,
        _param3: u32,
        _param4: u32,
        _message: *mut c_void,
    ) -> c_int = FAILED;
    /// `vc_cec_get_logical_address`: no CEC; -1, the address untouched.
    fn vc_cec_get_logical_address(_logical_address: *mut u32) -> c_int = FAILED;
    /// `vc_cec_alloc_logical_address`: no CEC; -1.
    fn vc_cec_alloc_logical_address() -> c_int = FAILED;
    /// `vc_cec_release_logical_address`: no CEC; -1.
    fn vc_cec_release_logical_address() -> c_int = FAILED;
    /// `vc_cec_set_logical_address`: no CEC; -1.
    fn vc_cec_set_logical_address(_logical_address: u32, _device_type: u32, _vendor_id: u32) -> c_int = FAILED;
    /// `vc_cec_poll_address`: no CEC; -1.
    fn vc_cec_poll_address(_logical_address: u32) -> c_int = FAILED;
    /// `vc_cec_get_topology`: no CEC; -1, the topology untouched.
    fn vc_cec_get_topology(_topology: *mut c_void) -> c_int = FAILED;
    /// `vc_cec_add_device`: no CEC; -1.
    fn vc_cec_add_device(
        _logical_address: u32,
        _physical_address: u16,
        _device_type: u32,
        _last_device: c_int,
    ) -> c_int = FAILED;
    /// `vc_cec_set_passive`: no CEC; -1.
    fn vc_cec_set_passive(_enabled: c_int) -> c_int = FAILED;
    /// `vc_cec_set_vendor_id`: no CEC; -1.
    fn vc_cec_set_vendor_id(_id: u32) -> c_int = FAILED;
    /// `vc_cec_get_vendor_id`: no CEC; -1, the id untouched.
    fn vc_cec_get_vendor_id(_logical_address: u32, _vendor_id: *mut u32) -> c_int = FAILED;
    /// `vc_cec_set_osd_name`: no CEC; -1.
    fn vc_cec_set_osd_name(_name: *const c_char) -> c_int = FAILED;
    /// `vc_cec_get_physical_address`: no CEC; -1, the address untouched.
    fn vc_cec_get_physical_address(_physical_address: *mut u16) -> c_int = FAILED;
    /// `vc_cec_device_type`: no CEC; `CEC_DeviceType_Invalid`.
    fn vc_cec_device_type(_logical_address: u32) -> u32 = CEC_DEVICE_TYPE_INVALID;
    /// `vc_cec_send_FeatureAbort`: no CEC; -1.
    fn vc_cec_send_FeatureAbort(_follower: u32, _opcode: u32, _reason: u32) -> c_int = FAILED;
    /// `vc_cec_send_ActiveSource`: no CEC; -1.
    fn vc_cec_send_ActiveSource(_physical_address: u16, _is_reply: c_int) -> c_int = FAILED;
    /// `vc_cec_send_ImageViewOn`: no CEC; -1.
    fn vc_cec_send_ImageViewOn(_follower: u32, _is_reply: c_int) -> c_int = FAILED;
    /// `vc_cec_send_SetOSDString`: no CEC; -1.
    fn vc_cec_send_SetOSDString(
        _follower: u32,
        _display_control: u32,
        _string: *const c_char,
        _is_reply: c_int,
    ) -> c_int = FAILED;
    /// `vc_cec_send_Standby`: no CEC; -1.
    fn vc_cec_send_Standby(_follower: u32, _is_reply: c_int) -> c_int = FAILED;
    /// `vc_cec_send_MenuStatus`: no CEC; -1.
    fn vc_cec_send_MenuStatus(_follower: u32, _menu_state: u32, _is_reply: c_int) -> c_int = FAILED;
    /// `vc_cec_send_ReportPhysicalAddress`: no CEC; -1.
    fn vc_cec_send_ReportPhysicalAddress(_physical_address: u16, _device_type: u32, _is_reply: c_int) -> c_int = FAILED;
}

// General commands.

stubs! {
    /// `vc_gencmd_init`: succeeds; the commands themselves fail.
    fn vc_gencmd_init() -> c_int = 0;
    /// `vc_gencmd_stop`: nothing to stop.
    fn vc_gencmd_stop();
    /// `vc_gencmd_send`: no general-command service; -1. Variadic in C;
    /// defined with its fixed parameter only (see the module's notes).
    fn vc_gencmd_send(_format: *const c_char) -> c_int = FAILED;
    /// `vc_gencmd_string_property`: 0 (not found); `value` and `length` untouched.
    fn vc_gencmd_string_property(
        _text: *mut c_char,
        _property: *const c_char,
        _value: *mut *mut c_char,
        _length: *mut c_int,
    ) -> c_int = 0;
    /// `vc_gencmd_number_property`: 0 (not found); `number` untouched.
    fn vc_gencmd_number_property(_text: *mut c_char, _property: *const c_char, _number: *mut c_int) -> c_int = 0;
    /// `vc_gencmd_until`: the response never comes; 1 (timed out), at once.
    fn vc_gencmd_until(
        _cmd: *mut c_char,
        _property: *const c_char,
        _value: *mut c_char,
        _error_string: *const c_char,
        _timeout: c_int,
    ) -> c_int = GENCMD_TIMED_OUT;
}

/// `vc_gencmd_read_response`: no general-command service; -1, with an empty
/// string in `response` when it has room for one.
///
/// # Safety
///
/// `response` is NULL or points at `maxlen` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vc_gencmd_read_response(response: *mut c_char, maxlen: c_int) -> c_int {
    // SAFETY: the caller's contract is `clear_response`'s.
    unsafe { clear_response(response, maxlen) };
    FAILED
}

/// `vc_gencmd`: no general-command service; -1, with an empty string in
/// `response` when it has room for one. Variadic in C; defined with its
/// fixed parameters only, and the format is not read (see the module's
/// notes on why that is ABI-compatible).
///
/// # Safety
///
/// `response` is NULL or points at `maxlen` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vc_gencmd(response: *mut c_char, maxlen: c_int, _format: *const c_char) -> c_int {
    // SAFETY: the caller's contract is `clear_response`'s.
    unsafe { clear_response(response, maxlen) };
    FAILED
}
