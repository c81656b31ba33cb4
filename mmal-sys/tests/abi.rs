//! Pins parameter IDs, status codes, FourCCs, struct sizes and field offsets
//! to the figures in research/mmal.md §1 and §3, for the target under test:
//! the 32-bit ARM column (libmmal's ABI) on ARM, the 64-bit column elsewhere.

use std::mem::{offset_of, size_of};

use mmal_sys::*;

/// Picks the expected figure for the target under test.
const fn abi(arm: usize, lp64: usize) -> usize {
    if cfg!(target_arch = "arm") {
        arm
    } else {
        lp64
    }
}

macro_rules! pin_struct {
    ($ty:ident, size = ($arm:expr, $lp64:expr), { $($field:ident @ ($farm:expr, $flp64:expr)),* $(,)? }) => {{
        assert_eq!(size_of::<$ty>(), abi($arm, $lp64), concat!("size of ", stringify!($ty)));
        $(
            assert_eq!(
                offset_of!($ty, $field),
                abi($farm, $flp64),
                concat!("offset of ", stringify!($ty), "::", stringify!($field))
            );
        )*
    }};
}

#[test]
fn parameter_ids() {
    let ids: &[(u32, u32, &str)] = &[
        (MMAL_PARAMETER_SUPPORTED_ENCODINGS, 1, "SUPPORTED_ENCODINGS"),
        (MMAL_PARAMETER_CHANGE_EVENT_REQUEST, 3, "CHANGE_EVENT_REQUEST"),
        (MMAL_PARAMETER_ZERO_COPY, 4, "ZERO_COPY"),
        (MMAL_PARAMETER_BUFFER_REQUIREMENTS, 5, "BUFFER_REQUIREMENTS"),
        (MMAL_PARAMETER_CORE_STATISTICS, 7, "CORE_STATISTICS"),
        (MMAL_PARAMETER_USE_STC, 0x1001b, "USE_STC"),
        (MMAL_PARAMETER_SYSTEM_TIME, 13, "SYSTEM_TIME"),
        (MMAL_PARAMETER_NO_IMAGE_PADDING, 14, "NO_IMAGE_PADDING"),
        (MMAL_PARAMETER_ROTATION, 0x10002, "ROTATION"),
        (MMAL_PARAMETER_AWB_MODE, 0x10005, "AWB_MODE"),
        (MMAL_PARAMETER_EXPOSURE_COMP, 0x1000d, "EXPOSURE_COMP"),
        (MMAL_PARAMETER_MIRROR, 0x1000f, "MIRROR"),
        (MMAL_PARAMETER_CAMERA_NUM, 0x10010, "CAMERA_NUM"),
        (MMAL_PARAMETER_CAPTURE, 0x10011, "CAPTURE"),
        (MMAL_PARAMETER_EXPOSURE_MODE, 0x10012, "EXPOSURE_MODE"),
        (MMAL_PARAMETER_EXP_METERING_MODE, 0x10013, "EXP_METERING_MODE"),
        (MMAL_PARAMETER_CAMERA_CONFIG, 0x10015, "CAMERA_CONFIG"),
        (MMAL_PARAMETER_JPEG_Q_FACTOR, 0x10019, "JPEG_Q_FACTOR"),
        (MMAL_PARAMETER_THUMBNAIL_CONFIGURATION, 0x10000, "THUMBNAIL_CONFIGURATION"),
        (MMAL_PARAMETER_EXIF_DISABLE, 0x10003, "EXIF_DISABLE"),
        (MMAL_PARAMETER_EXIF, 0x10004, "EXIF"),
        (MMAL_PARAMETER_IMAGE_EFFECT, 0x10006, "IMAGE_EFFECT"),
        (MMAL_PARAMETER_COLOUR_EFFECT, 0x10007, "COLOUR_EFFECT"),
        (MMAL_PARAMETER_FLICKER_AVOID, 0x10008, "FLICKER_AVOID"),
        (MMAL_PARAMETER_FLASH, 0x10009, "FLASH"),
        (MMAL_PARAMETER_IMAGE_EFFECT_PARAMETERS, 0x10032, "IMAGE_EFFECT_PARAMETERS"),
        (MMAL_PARAMETER_CAMERA_BURST_CAPTURE, 0x10033, "CAMERA_BURST_CAPTURE"),
        (MMAL_PARAMETER_VIDEO_STABILISATION, 0x1001d, "VIDEO_STABILISATION"),
        (MMAL_PARAMETER_INPUT_CROP, 0x10025, "INPUT_CROP"),
        (MMAL_PARAMETER_DYNAMIC_RANGE_COMPRESSION, 0x1002a, "DYNAMIC_RANGE_COMPRESSION"),
        (MMAL_PARAMETER_CAPTURE_STATS_PASS, 0x10036, "CAPTURE_STATS_PASS"),
        (MMAL_PARAMETER_ZERO_SHUTTER_LAG, 0x1003d, "ZERO_SHUTTER_LAG"),
        (MMAL_PARAMETER_VIDEO_DENOISE, 0x10047, "VIDEO_DENOISE"),
        (MMAL_PARAMETER_STILLS_DENOISE, 0x10048, "STILLS_DENOISE"),
        (MMAL_PARAMETER_ANNOTATE, 0x10049, "ANNOTATE"),
        (MMAL_PARAMETER_STEREOSCOPIC_MODE, 0x1004a, "STEREOSCOPIC_MODE"),
        (MMAL_PARAMETER_DRAW_BOX_FACES_AND_FOCUS, 0x10018, "DRAW_BOX_FACES_AND_FOCUS"),
        (MMAL_PARAMETER_CAMERA_INFO, 0x1001c, "CAMERA_INFO"),
        (MMAL_PARAMETER_ENABLE_RAW_CAPTURE, 0x1001f, "ENABLE_RAW_CAPTURE"),
        (MMAL_PARAMETER_SHARPNESS, 0x1002c, "SHARPNESS"),
        (MMAL_PARAMETER_CONTRAST, 0x1002d, "CONTRAST"),
        (MMAL_PARAMETER_BRIGHTNESS, 0x1002e, "BRIGHTNESS"),
        (MMAL_PARAMETER_SATURATION, 0x1002f, "SATURATION"),
        (MMAL_PARAMETER_ISO, 0x10030, "ISO"),
        (MMAL_PARAMETER_CAMERA_CUSTOM_SENSOR_CONFIG, 0x10037, "CAMERA_CUSTOM_SENSOR_CONFIG"),
        (MMAL_PARAMETER_FPS_RANGE, 0x1003e, "FPS_RANGE"),
        (MMAL_PARAMETER_FRAME_RATE, 0x1001a, "FRAME_RATE"),
        (MMAL_PARAMETER_SHUTTER_SPEED, 0x10043, "SHUTTER_SPEED"),
        (MMAL_PARAMETER_CUSTOM_AWB_GAINS, 0x10044, "CUSTOM_AWB_GAINS"),
        (MMAL_PARAMETER_CAMERA_SETTINGS, 0x10045, "CAMERA_SETTINGS"),
        (MMAL_PARAMETER_JPEG_RESTART_INTERVAL, 0x10050, "JPEG_RESTART_INTERVAL"),
        (MMAL_PARAMETER_CAMERA_ISP_BLOCK_OVERRIDE, 0x10051, "CAMERA_ISP_BLOCK_OVERRIDE"),
        (MMAL_PARAMETER_LENS_SHADING_OVERRIDE, 0x10052, "LENS_SHADING_OVERRIDE"),
        (MMAL_PARAMETER_BLACK_LEVEL, 0x10053, "BLACK_LEVEL"),
        (MMAL_PARAMETER_ANALOG_GAIN, 0x10059, "ANALOG_GAIN"),
        (MMAL_PARAMETER_DIGITAL_GAIN, 0x1005a, "DIGITAL_GAIN"),
        (MMAL_PARAMETER_JPEG_IJG_SCALING, 0x10061, "JPEG_IJG_SCALING"),
        (MMAL_PARAMETER_DISPLAYREGION, 0x20000, "DISPLAYREGION"),
        (MMAL_PARAMETER_SUPPORTED_PROFILES, 0x20001, "SUPPORTED_PROFILES"),
        (MMAL_PARAMETER_PROFILE, 0x20002, "PROFILE"),
        (MMAL_PARAMETER_INTRAPERIOD, 0x20003, "INTRAPERIOD"),
        (MMAL_PARAMETER_VIDEO_REQUEST_I_FRAME, 0x2000b, "VIDEO_REQUEST_I_FRAME"),
        (MMAL_PARAMETER_VIDEO_INTRA_REFRESH, 0x2000c, "VIDEO_INTRA_REFRESH"),
        (MMAL_PARAMETER_VIDEO_IMMUTABLE_INPUT, 0x2000d, "VIDEO_IMMUTABLE_INPUT"),
        (MMAL_PARAMETER_VIDEO_BIT_RATE, 0x2000e, "VIDEO_BIT_RATE"),
        (MMAL_PARAMETER_VIDEO_ENCODE_MIN_QUANT, 0x20010, "VIDEO_ENCODE_MIN_QUANT"),
        (MMAL_PARAMETER_VIDEO_ENCODE_MAX_QUANT, 0x20011, "VIDEO_ENCODE_MAX_QUANT"),
        (MMAL_PARAMETER_VIDEO_ENCODE_INITIAL_QUANT, 0x20017, "VIDEO_ENCODE_INITIAL_QUANT"),
        (MMAL_PARAMETER_VIDEO_ENCODE_QP_P, 0x20018, "VIDEO_ENCODE_QP_P"),
        (MMAL_PARAMETER_VIDEO_ENCODE_INLINE_HEADER, 0x2002a, "VIDEO_ENCODE_INLINE_HEADER"),
        (MMAL_PARAMETER_VIDEO_ENCODE_SEI_ENABLE, 0x2002b, "VIDEO_ENCODE_SEI_ENABLE"),
        (MMAL_PARAMETER_VIDEO_ENCODE_INLINE_VECTORS, 0x2002c, "VIDEO_ENCODE_INLINE_VECTORS"),
        (MMAL_PARAMETER_VIDEO_ENCODE_SPS_TIMING, 0x20030, "VIDEO_ENCODE_SPS_TIMING"),
    ];
    for &(got, want, name) in ids {
        assert_eq!(got, want, "MMAL_PARAMETER_{name}");
    }
    assert_eq!(MMAL_PARAMETER_LENS_SHADING_OVERRIDE, 65618);
    assert_eq!(MMAL_PARAMETER_GROUP_CAMERA, 1 << 16);
    assert_eq!(MMAL_PARAMETER_GROUP_VIDEO, 2 << 16);
    assert_eq!(MMAL_PARAMETER_MAX_SIZE, 392);
}

#[test]
fn h264_profiles_levels_and_intra_refresh_modes() {
    let profiles = [
        MMAL_VIDEO_PROFILE_H264_BASELINE,
        MMAL_VIDEO_PROFILE_H264_MAIN,
        MMAL_VIDEO_PROFILE_H264_EXTENDED,
        MMAL_VIDEO_PROFILE_H264_HIGH,
        MMAL_VIDEO_PROFILE_H264_CONSTRAINED_BASELINE,
    ];
    assert_eq!(profiles, [25, 26, 27, 28, 32]);
    // Levels 1, 1b, 1.1 to 1.3, 2 to 2.2, 3 to 3.2, 4 to 4.2, 5 and 5.1.
    let levels = [
        MMAL_VIDEO_LEVEL_H264_1,
        MMAL_VIDEO_LEVEL_H264_1b,
        MMAL_VIDEO_LEVEL_H264_11,
        MMAL_VIDEO_LEVEL_H264_12,
        MMAL_VIDEO_LEVEL_H264_13,
        MMAL_VIDEO_LEVEL_H264_2,
        MMAL_VIDEO_LEVEL_H264_21,
        MMAL_VIDEO_LEVEL_H264_22,
        MMAL_VIDEO_LEVEL_H264_3,
        MMAL_VIDEO_LEVEL_H264_31,
        MMAL_VIDEO_LEVEL_H264_32,
        MMAL_VIDEO_LEVEL_H264_4,
        MMAL_VIDEO_LEVEL_H264_41,
        MMAL_VIDEO_LEVEL_H264_42,
        MMAL_VIDEO_LEVEL_H264_5,
        MMAL_VIDEO_LEVEL_H264_51,
    ];
    assert_eq!(levels, [17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32]);
    let modes = [
        MMAL_VIDEO_INTRA_REFRESH_CYCLIC,
        MMAL_VIDEO_INTRA_REFRESH_ADAPTIVE,
        MMAL_VIDEO_INTRA_REFRESH_BOTH,
        MMAL_VIDEO_INTRA_REFRESH_CYCLIC_MROWS,
        MMAL_VIDEO_INTRA_REFRESH_PSEUDO_RAND,
    ];
    assert_eq!(modes, [0, 1, 2, 0x7F00_0001, 0x7F00_0002]);
}

#[test]
fn status_codes() {
    let codes = [
        MMAL_SUCCESS,
        MMAL_ENOMEM,
        MMAL_ENOSPC,
        MMAL_EINVAL,
        MMAL_ENOSYS,
        MMAL_ENOENT,
        MMAL_ENXIO,
        MMAL_EIO,
        MMAL_ESPIPE,
        MMAL_ECORRUPT,
        MMAL_ENOTREADY,
        MMAL_ECONFIG,
        MMAL_EISCONN,
        MMAL_ENOTCONN,
        MMAL_EAGAIN,
        MMAL_EFAULT,
    ];
    for (value, code) in codes.into_iter().enumerate() {
        assert_eq!(code as usize, value);
    }
    assert_eq!(MMAL_STATUS_MAX, 0x7FFF_FFFF);
    assert_eq!(size_of::<MMAL_STATUS_T>(), 4);
}

#[test]
fn fourccs() {
    let table: &[(u32, u32, &[u8; 4])] = &[
        (MMAL_ENCODING_I420, 0x30323449, b"I420"),
        (MMAL_ENCODING_RGB24, 0x33424752, b"RGB3"),
        (MMAL_ENCODING_BGR24, 0x33524742, b"BGR3"),
        (MMAL_ENCODING_RGBA, 0x41424752, b"RGBA"),
        (MMAL_ENCODING_BGRA, 0x41524742, b"BGRA"),
        (MMAL_ENCODING_JPEG, 0x4745504a, b"JPEG"),
        (MMAL_ENCODING_GIF, 0x20464947, b"GIF "),
        (MMAL_ENCODING_PNG, 0x20474e50, b"PNG "),
        (MMAL_ENCODING_PPM, 0x204d5050, b"PPM "),
        (MMAL_ENCODING_TGA, 0x20414754, b"TGA "),
        (MMAL_ENCODING_BMP, 0x20504d42, b"BMP "),
        (MMAL_ENCODING_MJPEG, 0x47504a4d, b"MJPG"),
        (MMAL_ENCODING_H264, 0x34363248, b"H264"),
        (MMAL_ENCODING_OPAQUE, 0x5651504f, b"OPQV"),
        (MMAL_ENCODING_YUYV, 0x56595559, b"YUYV"),
        (MMAL_ENCODING_NV12, 0x3231564e, b"NV12"),
        (MMAL_ENCODING_BAYER_SBGGR8, 0x31384142, b"BA81"),
        (MMAL_ENCODING_BAYER_SRGGB8, 0x42474752, b"RGGB"),
        (MMAL_ENCODING_BAYER_SGBRG8, 0x47524247, b"GBRG"),
        (MMAL_ENCODING_BAYER_SGRBG8, 0x47425247, b"GRBG"),
        (MMAL_ENCODING_BAYER_SBGGR10P, 0x41414270, b"pBAA"),
        (MMAL_ENCODING_BAYER_SRGGB10P, 0x41415270, b"pRAA"),
        (MMAL_ENCODING_BAYER_SGRBG10P, 0x41416770, b"pgAA"),
        (MMAL_ENCODING_BAYER_SGBRG10P, 0x41414770, b"pGAA"),
        (MMAL_ENCODING_BAYER_SBGGR12P, 0x32314270, b"pB12"),
        (MMAL_ENCODING_BAYER_SRGGB12P, 0x32315270, b"pR12"),
        (MMAL_ENCODING_BAYER_SBGGR16, 0x36314742, b"BG16"),
        (MMAL_ENCODING_GREY, 0x59455247, b"GREY"),
        (MMAL_ENCODING_Y10P, 0x50303159, b"Y10P"),
        (MMAL_ENCODING_YUVUV128, 0x444e4153, b"SAND"),
        (MMAL_ENCODING_BRCM_STATS, 0x54415453, b"STAT"),
        (MMAL_COLOR_SPACE_ITUR_BT601, 0x31303659, b"Y601"),
        (MMAL_COLOR_SPACE_JPEG_JFIF, 0x49464a59, b"YJFI"),
        (MMAL_MAGIC, 0x6c616d6d, b"mmal"),
        (MMAL_EVENT_ERROR, 0x4f525245, b"ERRO"),
        (MMAL_EVENT_EOS, 0x534f4545, b"EEOS"),
        (MMAL_EVENT_FORMAT_CHANGED, 0x48434645, b"EFCH"),
        (MMAL_EVENT_PARAMETER_CHANGED, 0x48435045, b"EPCH"),
    ];
    for &(got, want, code) in table {
        assert_eq!(got, want, "{}", std::str::from_utf8(code).unwrap());
        assert_eq!(fourcc(code), want, "fourcc({:?})", std::str::from_utf8(code).unwrap());
    }
}

#[test]
fn parameter_structs() {
    pin_struct!(MMAL_PARAMETER_HEADER_T, size = (8, 8), { id @ (0, 0), size @ (4, 4) });
    pin_struct!(MMAL_PARAMETER_LENS_SHADING_T, size = (36, 36), {
        hdr @ (0, 0), enabled @ (8, 8), grid_cell_size @ (12, 12), grid_width @ (16, 16),
        grid_stride @ (20, 20), grid_height @ (24, 24), mem_handle_table @ (28, 28), ref_transform @ (32, 32),
    });
    pin_struct!(MMAL_PARAMETER_CAMERA_CONFIG_T, size = (48, 48), {
        max_stills_w @ (8, 8), max_stills_h @ (12, 12), stills_yuv422 @ (16, 16), one_shot_stills @ (20, 20),
        max_preview_video_w @ (24, 24), max_preview_video_h @ (28, 28), num_preview_video_frames @ (32, 32),
        stills_capture_circular_buffer_height @ (36, 36), fast_preview_resume @ (40, 40),
        use_stc_timestamp @ (44, 44),
    });
    pin_struct!(MMAL_PARAMETER_AWB_GAINS_T, size = (24, 24), { r_gain @ (8, 8), b_gain @ (16, 16) });
    pin_struct!(MMAL_PARAMETER_FPS_RANGE_T, size = (24, 24), { fps_low @ (8, 8), fps_high @ (16, 16) });
    pin_struct!(MMAL_PARAMETER_FRAME_RATE_T, size = (16, 16), { frame_rate @ (8, 8) });
    pin_struct!(MMAL_PARAMETER_CAMERA_INFO_T, size = (152, 152), {
        num_cameras @ (8, 8), num_flashes @ (12, 12), cameras @ (16, 16), flashes @ (144, 144),
    });
    pin_struct!(MMAL_PARAMETER_CAMERA_INFO_CAMERA_T, size = (32, 32), {
        port_id @ (0, 0), max_width @ (4, 4), max_height @ (8, 8), lens_present @ (12, 12), camera_name @ (16, 16),
    });
    pin_struct!(MMAL_PARAMETER_CAMERA_SETTINGS_T, size = (48, 48), {
        exposure @ (8, 8), analog_gain @ (12, 12), digital_gain @ (20, 20), awb_red_gain @ (28, 28),
        awb_blue_gain @ (36, 36), focus_position @ (44, 44),
    });
    pin_struct!(MMAL_PARAMETER_CHANGE_EVENT_REQUEST_T, size = (16, 16), { change_id @ (8, 8), enable @ (12, 12) });
    pin_struct!(MMAL_PARAMETER_BOOLEAN_T, size = (12, 12), { enable @ (8, 8) });
    pin_struct!(MMAL_PARAMETER_UINT32_T, size = (12, 12), { value @ (8, 8) });
    pin_struct!(MMAL_PARAMETER_INT32_T, size = (12, 12), { value @ (8, 8) });
    pin_struct!(MMAL_PARAMETER_UINT64_T, size = (16, 16), { value @ (8, 8) });
    pin_struct!(MMAL_PARAMETER_INT64_T, size = (16, 16), { value @ (8, 8) });
    pin_struct!(MMAL_PARAMETER_RATIONAL_T, size = (16, 16), { value @ (8, 8) });
    // A variable-length tail: the text starts at 20.
    pin_struct!(MMAL_PARAMETER_EXIF_T, size = (24, 24), {
        keylen @ (8, 8), value_offset @ (12, 12), valuelen @ (16, 16), data @ (20, 20),
    });
    pin_struct!(MMAL_DISPLAYREGION_T, size = (84, 84), {
        set @ (8, 8), display_num @ (12, 12), fullscreen @ (16, 16), transform @ (20, 20), dest_rect @ (24, 24),
        src_rect @ (40, 40), noaspect @ (56, 56), mode @ (60, 60), pixel_x @ (64, 64), pixel_y @ (68, 68),
        layer @ (72, 72), copyprotect_required @ (76, 76), alpha @ (80, 80),
    });
    pin_struct!(MMAL_CORE_STATISTICS_T, size = (16, 16), {
        buffer_count @ (0, 0), first_buffer_time @ (4, 4), last_buffer_time @ (8, 8), max_delay @ (12, 12),
    });
    pin_struct!(MMAL_PARAMETER_CORE_STATISTICS_T, size = (32, 32), { dir @ (8, 8), reset @ (12, 12), stats @ (16, 16) });
    pin_struct!(MMAL_PARAMETER_AWBMODE_T, size = (12, 12), { value @ (8, 8) });
    pin_struct!(MMAL_PARAMETER_EXPOSUREMODE_T, size = (12, 12), { value @ (8, 8) });
    pin_struct!(MMAL_PARAMETER_ENCODING_T, size = (12, 12), { encoding @ (8, 8) });
    pin_struct!(MMAL_PARAMETER_VIDEO_PROFILE_T, size = (16, 16), { profile @ (8, 8) });
    pin_struct!(MMAL_PARAMETER_VIDEO_INTRA_REFRESH_T, size = (28, 28), { refresh_mode @ (8, 8), pir_mbs @ (24, 24) });
    pin_struct!(MMAL_PARAMETER_VIDEO_PROFILE_ENTRY_T, size = (8, 8), { profile @ (0, 0), level @ (4, 4) });
    pin_struct!(MMAL_PARAMETER_COLOURFX_T, size = (20, 20), { enable @ (8, 8), u @ (12, 12), v @ (16, 16) });
    pin_struct!(MMAL_PARAMETER_THUMBNAIL_CONFIG_T, size = (24, 24), {
        enable @ (8, 8), width @ (12, 12), height @ (16, 16), quality @ (20, 20),
    });
    pin_struct!(MMAL_PARAMETER_INPUT_CROP_T, size = (24, 24), { rect @ (8, 8) });
    pin_struct!(MMAL_PARAMETER_ZEROSHUTTERLAG_T, size = (16, 16), {
        zero_shutter_lag_mode @ (8, 8), concurrent_capture @ (12, 12),
    });
    pin_struct!(MMAL_PARAMETER_STEREOSCOPIC_MODE_T, size = (20, 20), {
        mode @ (8, 8), decimate @ (12, 12), swap_eyes @ (16, 16),
    });
    pin_struct!(MMAL_PARAMETER_IMAGEFX_PARAMETERS_T, size = (40, 40), {
        effect @ (8, 8), num_effect_params @ (12, 12), effect_parameter @ (16, 16),
    });
    pin_struct!(MMAL_PARAMETER_FLASH_T, size = (12, 12), { value @ (8, 8) });
    // 56 bytes of payload (V1), 304 (V3), 316 (V4): the sizes the camera takes.
    pin_struct!(MMAL_PARAMETER_CAMERA_ANNOTATE_T, size = (64, 64), {
        enable @ (8, 8), text @ (12, 12), show_shutter @ (44, 44), show_motion @ (60, 60),
    });
    pin_struct!(MMAL_PARAMETER_CAMERA_ANNOTATE_V3_T, size = (312, 312), {
        enable @ (8, 8), show_shutter @ (12, 12), show_frame_num @ (32, 32), enable_text_background @ (36, 36),
        custom_background_colour @ (40, 40), custom_background_Y @ (44, 44), custom_background_V @ (46, 46),
        custom_text_colour @ (48, 48), custom_text_Y @ (52, 52), text_size @ (55, 55), text @ (56, 56),
    });
    pin_struct!(MMAL_PARAMETER_CAMERA_ANNOTATE_V4_T, size = (324, 324), {
        text @ (56, 56), justify @ (312, 312), x_offset @ (316, 316), y_offset @ (320, 320),
    });
}

#[test]
fn object_structs() {
    pin_struct!(MMAL_PORT_T, size = (64, 96), {
        priv_ @ (0, 0), name @ (4, 8), type_ @ (8, 16), index @ (12, 20), index_all @ (14, 22),
        is_enabled @ (16, 24), format @ (20, 32), buffer_num_min @ (24, 40), buffer_size_min @ (28, 44),
        buffer_alignment_min @ (32, 48), buffer_num_recommended @ (36, 52), buffer_size_recommended @ (40, 56),
        buffer_num @ (44, 60), buffer_size @ (48, 64), component @ (52, 72), userdata @ (56, 80),
        capabilities @ (60, 88),
    });
    pin_struct!(MMAL_BUFFER_HEADER_T, size = (56, 80), {
        next @ (0, 0), priv_ @ (4, 8), cmd @ (8, 16), data @ (12, 24), alloc_size @ (16, 32), length @ (20, 36),
        offset @ (24, 40), flags @ (28, 44), pts @ (32, 48), dts @ (40, 56), type_ @ (48, 64), user_data @ (52, 72),
    });
    pin_struct!(MMAL_COMPONENT_T, size = (56, 112), {
        priv_ @ (0, 0), userdata @ (4, 8), name @ (8, 16), is_enabled @ (12, 24), control @ (16, 32),
        input_num @ (20, 40), input @ (24, 48), output_num @ (28, 56), output @ (32, 64), clock_num @ (36, 72),
        clock @ (40, 80), port_num @ (44, 88), port @ (48, 96), id @ (52, 104),
    });
    pin_struct!(MMAL_ES_FORMAT_T, size = (32, 48), {
        type_ @ (0, 0), encoding @ (4, 4), encoding_variant @ (8, 8), es @ (12, 16), bitrate @ (16, 24),
        flags @ (20, 28), extradata_size @ (24, 32), extradata @ (28, 40),
    });
    pin_struct!(MMAL_VIDEO_FORMAT_T, size = (44, 44), {
        width @ (0, 0), height @ (4, 4), crop @ (8, 8), frame_rate @ (24, 24), par @ (32, 32),
        color_space @ (40, 40),
    });
    assert_eq!(size_of::<MMAL_ES_SPECIFIC_FORMAT_T>(), 44);
    pin_struct!(MMAL_BUFFER_HEADER_VIDEO_SPECIFIC_T, size = (40, 40), {
        planes @ (0, 0), offset @ (4, 4), pitch @ (20, 20), flags @ (36, 36),
    });
    pin_struct!(MMAL_POOL_T, size = (12, 24), { queue @ (0, 0), headers_num @ (4, 8), header @ (8, 16) });
    pin_struct!(MMAL_CONNECTION_T, size = (64, 88), {
        user_data @ (0, 0), callback @ (4, 8), is_enabled @ (8, 16), flags @ (12, 20), in_ @ (16, 24),
        out @ (20, 32), pool @ (24, 40), queue @ (28, 48), name @ (32, 56), time_setup @ (40, 64),
        time_enable @ (48, 72), time_disable @ (56, 80),
    });
    pin_struct!(MMAL_EVENT_FORMAT_CHANGED_T, size = (20, 24), {
        buffer_size_min @ (0, 0), buffer_num_min @ (4, 4), buffer_size_recommended @ (8, 8),
        buffer_num_recommended @ (12, 12), format @ (16, 16),
    });
    pin_struct!(MMAL_EVENT_END_OF_STREAM_T, size = (8, 8), { port_type @ (0, 0), port_index @ (4, 4) });
}

#[test]
fn flags_and_enums() {
    assert_eq!(MMAL_BUFFER_HEADER_FLAG_EOS, 1);
    assert_eq!(MMAL_BUFFER_HEADER_FLAG_FRAME_END, 4);
    assert_eq!(MMAL_BUFFER_HEADER_FLAG_FRAME, 6);
    assert_eq!(MMAL_BUFFER_HEADER_FLAG_NAL_END, 1 << 12);
    assert_eq!(MMAL_CONNECTION_FLAG_TUNNELLING, 1);
    assert_eq!(MMAL_CONNECTION_FLAG_ALLOCATION_ON_INPUT, 2);
    assert_eq!(MMAL_CONNECTION_FLAG_KEEP_PORT_FORMATS, 0x20);
    assert_eq!(MMAL_PORT_TYPE_OUTPUT, 3);
    assert_eq!(MMAL_ES_TYPE_VIDEO, 3);
    assert_eq!(MMAL_PARAM_AWBMODE_GREYWORLD, 10);
    assert_eq!(MMAL_PARAM_EXPOSUREMODE_FIREWORKS, 12);
    assert_eq!(MMAL_PARAM_TIMESTAMP_MODE_RESET_STC, 2);
    assert_eq!(MMAL_STEREOSCOPIC_MODE_TOP_BOTTOM, 2);
    assert_eq!(
        [MMAL_PARAM_IMAGEFX_NONE, MMAL_PARAM_IMAGEFX_POSTERIZE, MMAL_PARAM_IMAGEFX_BLUR, MMAL_PARAM_IMAGEFX_POSTERISE],
        [0, 3, 15, 19]
    );
    assert_eq!((MMAL_PARAM_IMAGEFX_CARTOON, MMAL_PARAM_IMAGEFX_DEINTERLACE_FAST), (22, 25));
    assert_eq!(MMAL_MAX_IMAGEFX_PARAMETERS, 6);
    assert_eq!((MMAL_PARAM_FLASH_OFF, MMAL_PARAM_FLASH_REDEYE, MMAL_PARAM_FLASH_TORCH), (0, 3, 5));
    assert_eq!((MMAL_PARAM_MIRROR_NONE, MMAL_PARAM_MIRROR_VERTICAL, MMAL_PARAM_MIRROR_HORIZONTAL), (0, 1, 2));
    assert_eq!(MMAL_PARAM_MIRROR_BOTH, 3);
    assert_eq!((MMAL_PARAM_EXPOSUREMETERINGMODE_AVERAGE, MMAL_PARAM_EXPOSUREMETERINGMODE_MATRIX), (0, 3));
    assert_eq!((MMAL_PARAM_FLICKERAVOID_OFF, MMAL_PARAM_FLICKERAVOID_50HZ, MMAL_PARAM_FLICKERAVOID_60HZ), (0, 2, 3));
    assert_eq!((MMAL_PARAMETER_DRC_STRENGTH_OFF, MMAL_PARAMETER_DRC_STRENGTH_HIGH), (0, 3));
    assert_eq!((MMAL_DISPLAY_ROT0, MMAL_DISPLAY_ROT180, MMAL_DISPLAY_ROT90, MMAL_DISPLAY_MIRROR_ROT270), (0, 3, 6, 7));
    assert_eq!((MMAL_DISPLAY_MODE_FILL, MMAL_DISPLAY_MODE_LETTERBOX, MMAL_DISPLAY_MODE_STEREO_TOP_TO_LEFT), (0, 1, 5));
    assert_eq!((MMAL_DISPLAY_SET_NUM, MMAL_DISPLAY_SET_DEST_RECT, MMAL_DISPLAY_SET_LAYER), (1, 8, 0x100));
    assert_eq!(MMAL_DISPLAY_SET_ALPHA, 0x400);
    assert_eq!(MMAL_DISPLAY_ALPHA_FLAGS_MIX, 1 << 31);
    assert_eq!((MMAL_CORE_STATS_RX, MMAL_CORE_STATS_TX), (0, 1));
    assert_eq!((MMAL_ES_FORMAT_COMPARE_FLAG_TYPE, MMAL_ES_FORMAT_COMPARE_FLAG_VIDEO_RESOLUTION), (1, 0x100));
    assert_eq!(MMAL_ES_FORMAT_COMPARE_FLAG_VIDEO_COLOR_SPACE, 0x1000);
    assert_eq!(MMAL_ES_FORMAT_COMPARE_FLAG_ES_OTHER, 0x1000_0000);
    assert_eq!(MMAL_CONTROL_PORT_BUFFERS_MIN, 4);
    assert_eq!(MMAL_TIME_UNKNOWN, i64::MIN);
    assert_eq!(API_SYMBOLS.len() * size_of::<usize>(), size_of::<Api>());
}
