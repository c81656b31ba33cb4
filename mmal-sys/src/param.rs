//! Parameters as bytes: the one codec the `mmal` client and the software
//! VideoCore share. A parameter is one of the `#[repr(C)]` structs above
//! (their layouts pinned per ABI), read from and written to the bytes that
//! `mmal_port_parameter_get`/`_set` carry.

use core::mem::size_of;

use crate::*;

/// A parameter struct: `#[repr(C)]`, starting with its
/// [`MMAL_PARAMETER_HEADER_T`], made of integers (and arrays and structs of
/// them) with no padding, so that every byte of it is a field and every bit
/// pattern is a valid value.
///
/// # Safety
///
/// Implement it only for types that are all of the above: [`as_bytes`]
/// reads every byte of a value, [`from_bytes`] writes any bytes into one,
/// and [`ParameterStruct::header_mut`] treats its start as the header.
pub unsafe trait ParameterStruct: Copy + Default + 'static {
    /// The header at the start of the struct.
    fn header_mut(&mut self) -> &mut MMAL_PARAMETER_HEADER_T {
        // SAFETY: the trait's contract: the struct is `#[repr(C)]` and starts
        // with its header, so the cast points at the header field.
        unsafe { &mut *(self as *mut Self).cast::<MMAL_PARAMETER_HEADER_T>() }
    }

    /// A value with its header set: `id`, and the struct's size.
    fn with_id(id: u32) -> Self {
        let mut value = Self::default();
        *value.header_mut() = MMAL_PARAMETER_HEADER_T { id, size: size_of::<Self>() as u32 };
        value
    }
}

/// Every byte of `value`, header included.
pub fn as_bytes<T: ParameterStruct>(value: &T) -> &[u8] {
    // SAFETY: `T` has no padding (the trait's contract), so all
    // `size_of::<T>()` bytes behind the reference are initialised.
    unsafe { core::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }
}

/// A `T` from the start of `bytes` (header included); bytes past the end of
/// a short slice are zero.
pub fn from_bytes<T: ParameterStruct>(bytes: &[u8]) -> T {
    let mut value = T::default();
    let n = bytes.len().min(size_of::<T>());
    // SAFETY: any bytes are a valid `T` (the trait's contract); at most
    // `size_of::<T>()` bytes are written into it, from a distinct slice.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), (&mut value as *mut T).cast::<u8>(), n) };
    value
}

/// The largest parameter (`MMAL_PARAMETER_MAX_SIZE` bytes), for replies of
/// variable length such as `MMAL_PARAMETER_SUPPORTED_ENCODINGS`. Not a C
/// type: a buffer this crate defines.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MaxParameter {
    /// The header.
    pub hdr: MMAL_PARAMETER_HEADER_T,
    /// The rest, as 32-bit words.
    pub words: [u32; MAX_WORDS],
}

/// Words after the header in [`MaxParameter`].
const MAX_WORDS: usize = (MMAL_PARAMETER_MAX_SIZE as usize - size_of::<MMAL_PARAMETER_HEADER_T>()) / 4;

impl Default for MaxParameter {
    fn default() -> MaxParameter {
        MaxParameter { hdr: MMAL_PARAMETER_HEADER_T::default(), words: [0; MAX_WORDS] }
    }
}

macro_rules! parameter_structs {
    ($($t:ty),* $(,)?) => {$(
        // SAFETY: a `#[repr(C)]` struct generated from the project's header
        // whose first field is `hdr`, made of 32-bit (and, for UINT64 and
        // INT64, one 64-bit) integers, and for ANNOTATE bytes in groups of four, in an
        // order that leaves no padding; bindgen's layout assertions and
        // tests/abi.rs pin its size and offsets.
        unsafe impl ParameterStruct for $t {}
    )*};
}

parameter_structs!(
    MMAL_PARAMETER_HEADER_T,
    MMAL_PARAMETER_UINT32_T,
    MMAL_PARAMETER_INT32_T,
    MMAL_PARAMETER_UINT64_T,
    MMAL_PARAMETER_INT64_T,
    MMAL_PARAMETER_BOOLEAN_T,
    MMAL_PARAMETER_RATIONAL_T,
    MMAL_PARAMETER_AWBMODE_T,
    MMAL_PARAMETER_EXPOSUREMODE_T,
    MMAL_PARAMETER_AWB_GAINS_T,
    MMAL_PARAMETER_FPS_RANGE_T,
    MMAL_PARAMETER_FRAME_RATE_T,
    MMAL_PARAMETER_CAMERA_CONFIG_T,
    MMAL_PARAMETER_CAMERA_INFO_T,
    MMAL_PARAMETER_CAMERA_SETTINGS_T,
    MMAL_PARAMETER_CHANGE_EVENT_REQUEST_T,
    MMAL_PARAMETER_LENS_SHADING_T,
    MMAL_PARAMETER_COLOURFX_T,
    MMAL_PARAMETER_VIDEO_PROFILE_T,
    MMAL_PARAMETER_VIDEO_INTRA_REFRESH_T,
    MMAL_PARAMETER_THUMBNAIL_CONFIG_T,
    MMAL_PARAMETER_CAMERA_ANNOTATE_V3_T,
    MMAL_PARAMETER_CAMERA_ANNOTATE_V4_T,
    MMAL_PARAMETER_INPUT_CROP_T,
    MMAL_PARAMETER_ZEROSHUTTERLAG_T,
    MMAL_PARAMETER_STEREOSCOPIC_MODE_T,
    MMAL_PARAMETER_CAMERA_ANNOTATE_T,
    MMAL_DISPLAYREGION_T,
    MMAL_PARAMETER_CORE_STATISTICS_T,
    MMAL_PARAMETER_IMAGEFX_PARAMETERS_T,
    MMAL_PARAMETER_FLASH_T,
    MaxParameter,
);
