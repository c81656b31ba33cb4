//! Pins every request number, struct size and field offset to the figures
//! in research/vchiq.md §1.2 and §1.3, for the target under test: the ILP32
//! column on 32-bit ARM, the LP64 column elsewhere. The MMAL messages are
//! the same under both.

use std::mem::{align_of, offset_of, size_of};

use vchiq_sys::*;

/// Picks the expected figure for the target under test.
const fn abi(ilp32: usize, lp64: usize) -> usize {
    if cfg!(target_arch = "arm") {
        ilp32
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

/// A wire struct: the same size and offsets under both ABIs.
macro_rules! pin_wire {
    ($ty:ident, size = $size:expr, { $($field:ident @ $off:expr),* $(,)? }) => {
        pin_struct!($ty, size = ($size, $size), { $($field @ ($off, $off)),* })
    };
}

#[test]
fn vchiq_structs() {
    pin_struct!(vchiq_header, size = (8, 8), { msgid @ (0, 0), size @ (4, 4), data @ (8, 8) });
    pin_struct!(vchiq_element, size = (8, 16), { data @ (0, 0), size @ (4, 8) });
    pin_struct!(vchiq_service_params, size = (16, 32), {
        fourcc @ (0, 0), callback @ (4, 8), userdata @ (8, 16), version @ (12, 24), version_min @ (14, 26),
    });
    pin_struct!(vchiq_create_service, size = (28, 48), {
        params @ (0, 0), is_open @ (16, 32), is_vchi @ (20, 36), handle @ (24, 40),
    });
    pin_struct!(vchiq_queue_message, size = (12, 16), { handle @ (0, 0), count @ (4, 4), elements @ (8, 8) });
    pin_struct!(vchiq_queue_bulk_transfer, size = (20, 40), {
        handle @ (0, 0), data @ (4, 8), size @ (8, 16), userdata @ (12, 24), mode @ (16, 32),
    });
    pin_struct!(vchiq_completion_data, size = (16, 32), {
        reason @ (0, 0), header @ (4, 8), service_userdata @ (8, 16), bulk_userdata @ (12, 24),
    });
    pin_struct!(vchiq_await_completion, size = (20, 32), {
        count @ (0, 0), buf @ (4, 8), msgbufsize @ (8, 16), msgbufcount @ (12, 20), msgbufs @ (16, 24),
    });
    pin_struct!(vchiq_dequeue_message, size = (16, 24), {
        handle @ (0, 0), blocking @ (4, 4), bufsize @ (8, 8), buf @ (12, 16),
    });
    pin_struct!(vchiq_config, size = (20, 20), {
        max_msg_size @ (0, 0), bulk_threshold @ (4, 4), max_outstanding_bulks @ (8, 8),
        max_services @ (12, 12), version @ (16, 16), version_min @ (18, 18),
    });
    pin_struct!(vchiq_get_config, size = (8, 16), { config_size @ (0, 0), pconfig @ (4, 8) });
    pin_struct!(vchiq_set_service_option, size = (12, 12), { handle @ (0, 0), option @ (4, 4), value @ (8, 8) });
    // C enums and ints are 4 bytes under both ABIs (cecvol's `#[repr(u8)]`
    // mistake would show here).
    assert_eq!(size_of::<vchiq_reason>(), 4);
    assert_eq!(size_of::<vchiq_bulk_mode>(), 4);
    assert_eq!(size_of::<vchiq_service_option>(), 4);
    assert_eq!(align_of::<vchiq_completion_data>(), abi(4, 8));
}

#[test]
fn request_numbers() {
    let table: &[(&str, u32, usize)] = &[
        ("CONNECT", VCHIQ_IOC_CONNECT, abi(0xC400, 0xC400)),
        ("SHUTDOWN", VCHIQ_IOC_SHUTDOWN, abi(0xC401, 0xC401)),
        ("CREATE_SERVICE", VCHIQ_IOC_CREATE_SERVICE, abi(0xC01C_C402, 0xC030_C402)),
        ("REMOVE_SERVICE", VCHIQ_IOC_REMOVE_SERVICE, abi(0xC403, 0xC403)),
        ("QUEUE_MESSAGE", VCHIQ_IOC_QUEUE_MESSAGE, abi(0x400C_C404, 0x4010_C404)),
        ("QUEUE_BULK_TRANSMIT", VCHIQ_IOC_QUEUE_BULK_TRANSMIT, abi(0xC014_C405, 0xC028_C405)),
        ("QUEUE_BULK_RECEIVE", VCHIQ_IOC_QUEUE_BULK_RECEIVE, abi(0xC014_C406, 0xC028_C406)),
        ("AWAIT_COMPLETION", VCHIQ_IOC_AWAIT_COMPLETION, abi(0xC014_C407, 0xC020_C407)),
        ("DEQUEUE_MESSAGE", VCHIQ_IOC_DEQUEUE_MESSAGE, abi(0xC010_C408, 0xC018_C408)),
        ("GET_CLIENT_ID", VCHIQ_IOC_GET_CLIENT_ID, abi(0xC409, 0xC409)),
        ("GET_CONFIG", VCHIQ_IOC_GET_CONFIG, abi(0xC008_C40A, 0xC010_C40A)),
        ("CLOSE_SERVICE", VCHIQ_IOC_CLOSE_SERVICE, abi(0xC40B, 0xC40B)),
        ("USE_SERVICE", VCHIQ_IOC_USE_SERVICE, abi(0xC40C, 0xC40C)),
        ("RELEASE_SERVICE", VCHIQ_IOC_RELEASE_SERVICE, abi(0xC40D, 0xC40D)),
        ("SET_SERVICE_OPTION", VCHIQ_IOC_SET_SERVICE_OPTION, abi(0x400C_C40E, 0x400C_C40E)),
        ("DUMP_PHYS_MEM", VCHIQ_IOC_DUMP_PHYS_MEM, abi(0xC40F, 0xC40F)),
        ("LIB_VERSION", VCHIQ_IOC_LIB_VERSION, abi(0xC410, 0xC410)),
        ("CLOSE_DELIVERED", VCHIQ_IOC_CLOSE_DELIVERED, abi(0xC411, 0xC411)),
    ];
    for &(name, actual, expected) in table {
        assert_eq!(actual as usize, expected, "{name}: {actual:#010X} != {expected:#010X}");
    }
}

#[test]
fn vchiq_constants() {
    assert_eq!(VCHIQ_IOC_MAGIC, 0xC4);
    assert_eq!((VCHIQ_VERSION, VCHIQ_VERSION_MIN), (8, 3));
    assert_eq!((VCHIQ_VERSION_LIB_VERSION, VCHIQ_VERSION_CLOSE_DELIVERED, VCHIQ_VERSION_SYNCHRONOUS_MODE), (7, 7, 8));
    assert_eq!((VCHIQ_SLOT_SIZE, VCHIQ_MAX_MSG_SIZE), (4096, 4088));
    assert_eq!((VCHIQ_NUM_SERVICE_BULKS, VCHIQ_NUM_CURRENT_BULKS), (4, 32));
    assert_eq!(
        (VCHIQ_MAX_COMPLETIONS, VCHIQ_MAX_SERVICES, VCHIQ_MAX_ELEMENTS, VCHIQ_MSG_QUEUE_SIZE),
        (128, 64, 8, 128)
    );
    let reasons = [
        VCHIQ_SERVICE_OPENED,
        VCHIQ_SERVICE_CLOSED,
        VCHIQ_MESSAGE_AVAILABLE,
        VCHIQ_BULK_TRANSMIT_DONE,
        VCHIQ_BULK_RECEIVE_DONE,
        VCHIQ_BULK_TRANSMIT_ABORTED,
        VCHIQ_BULK_RECEIVE_ABORTED,
    ];
    assert_eq!(reasons, [0, 1, 2, 3, 4, 5, 6]);
    let modes =
        [VCHIQ_BULK_MODE_CALLBACK, VCHIQ_BULK_MODE_BLOCKING, VCHIQ_BULK_MODE_NOCALLBACK, VCHIQ_BULK_MODE_WAITING];
    assert_eq!(modes, [0, 1, 2, 3]);
    let options = [
        VCHIQ_SERVICE_OPTION_AUTOCLOSE,
        VCHIQ_SERVICE_OPTION_SLOT_QUOTA,
        VCHIQ_SERVICE_OPTION_MESSAGE_QUOTA,
        VCHIQ_SERVICE_OPTION_SYNCHRONOUS,
        VCHIQ_SERVICE_OPTION_TRACE,
    ];
    assert_eq!(options, [0, 1, 2, 3, 4]);
}

#[test]
fn mmal_message_structs() {
    pin_wire!(mmal_msg_header, size = 24, {
        magic @ 0, type_ @ 4, control_service @ 8, context @ 12, status @ 16, padding @ 20,
    });
    pin_wire!(mmal_msg_version, size = 16, { flags @ 0, major @ 4, minor @ 8, minimum @ 12 });
    pin_wire!(mmal_msg_port, size = 64, {
        priv_ @ 0, name @ 4, type_ @ 8, index @ 12, index_all @ 14, is_enabled @ 16, format @ 20,
        buffer_num_min @ 24, buffer_size_min @ 28, buffer_alignment_min @ 32, buffer_num_recommended @ 36,
        buffer_size_recommended @ 40, buffer_num @ 44, buffer_size @ 48, component @ 52, userdata @ 56,
        capabilities @ 60,
    });
    pin_wire!(mmal_msg_es_format, size = 32, {
        type_ @ 0, encoding @ 4, encoding_variant @ 8, es @ 12, bitrate @ 16, flags @ 20,
        extradata_size @ 24, extradata @ 28,
    });
    pin_wire!(mmal_msg_rect, size = 16, { x @ 0, y @ 4, width @ 8, height @ 12 });
    pin_wire!(mmal_msg_rational, size = 8, { num @ 0, den @ 4 });
    pin_wire!(mmal_msg_audio_format, size = 16, { channels @ 0, sample_rate @ 4, bits_per_sample @ 8, block_align @ 12 });
    pin_wire!(mmal_msg_video_format, size = 44, {
        width @ 0, height @ 4, crop @ 8, frame_rate @ 24, par @ 32, color_space @ 40,
    });
    pin_wire!(mmal_msg_subpicture_format, size = 8, { x_offset @ 0, y_offset @ 4 });
    assert_eq!(size_of::<mmal_msg_es_specific_format>(), 44);

    pin_wire!(mmal_msg_component_create, size = 136, { client_component @ 0, name @ 4, pid @ 132 });
    pin_wire!(mmal_msg_component_create_reply, size = 20, {
        status @ 0, component_handle @ 4, input_num @ 8, output_num @ 12, clock_num @ 16,
    });
    pin_wire!(mmal_msg_component_destroy, size = 4, { component_handle @ 0 });
    pin_wire!(mmal_msg_component_destroy_reply, size = 4, { status @ 0 });
    pin_wire!(mmal_msg_component_enable, size = 4, { component_handle @ 0 });
    pin_wire!(mmal_msg_component_enable_reply, size = 4, { status @ 0 });
    pin_wire!(mmal_msg_component_disable, size = 4, { component_handle @ 0 });
    pin_wire!(mmal_msg_component_disable_reply, size = 4, { status @ 0 });

    pin_wire!(mmal_msg_port_info_get, size = 12, { component_handle @ 0, port_type @ 4, index @ 8 });
    pin_wire!(mmal_msg_port_info_get_reply, size = 292, {
        status @ 0, component_handle @ 4, port_type @ 8, port_index @ 12, found @ 16, port_handle @ 20,
        port @ 24, format @ 88, es @ 120, extradata @ 164,
    });
    pin_wire!(mmal_msg_port_info_set, size = 280, {
        component_handle @ 0, port_type @ 4, port_index @ 8, port @ 12, format @ 76, es @ 108, extradata @ 152,
    });
    pin_wire!(mmal_msg_port_action_port, size = 76, { component_handle @ 0, port_handle @ 4, action @ 8, port @ 12 });
    pin_wire!(mmal_msg_port_action_handle, size = 20, {
        component_handle @ 0, port_handle @ 4, action @ 8, connect_component_handle @ 12, connect_port_handle @ 16,
    });
    pin_wire!(mmal_msg_port_action_reply, size = 4, { status @ 0 });

    pin_wire!(mmal_msg_port_parameter_set, size = 400, {
        component_handle @ 0, port_handle @ 4, id @ 8, size @ 12, value @ 16,
    });
    pin_wire!(mmal_msg_port_parameter_set_reply, size = 396, { status @ 0, id @ 4, size @ 8, value @ 12 });
    pin_wire!(mmal_msg_port_parameter_get, size = 16, { component_handle @ 0, port_handle @ 4, id @ 8, size @ 12 });
    pin_wire!(mmal_msg_port_parameter_get_reply, size = 396, { status @ 0, id @ 4, size @ 8, value @ 12 });

    pin_wire!(mmal_msg_event_to_host, size = 280, {
        client_component @ 0, port_type @ 4, port_num @ 8, cmd @ 12, length @ 16, data @ 20, delayed_buffer @ 276,
    });
}

#[test]
fn mmal_buffer_message() {
    pin_wire!(mmal_msg_driver_buffer, size = 16, { magic @ 0, component_handle @ 4, port_handle @ 8, client_context @ 12 });
    pin_wire!(mmal_msg_buffer_header, size = 56, {
        next @ 0, priv_ @ 4, cmd @ 8, data @ 12, alloc_size @ 16, length @ 20, offset @ 24, flags @ 28,
        pts @ 32, dts @ 40, type_ @ 48, user_data @ 52,
    });
    pin_wire!(mmal_msg_buffer_header_video, size = 40, { planes @ 0, offset @ 4, pitch @ 20, flags @ 36 });
    assert_eq!(size_of::<mmal_msg_buffer_header_type_specific>(), 40);
    // 268 bytes of fields, padded to 272 by the 8-byte pts/dts.
    pin_wire!(mmal_msg_buffer_from_host, size = 272, {
        drvbuf @ 0, drvbuf_ref @ 16, buffer_header @ 32, buffer_header_type_specific @ 88,
        is_zero_copy @ 128, has_reference @ 132, payload_in_message @ 136, short_data @ 140,
    });
    assert_eq!(align_of::<mmal_msg_buffer_from_host>(), 8, "pts and dts are 8-aligned on armhf too");
    // The firmware sends header + fields up to short_data's end.
    let wire = MMAL_MSG_HEADER_SIZE as usize + offset_of!(mmal_msg_buffer_from_host, short_data) + 128;
    assert_eq!(wire, MMAL_MSG_BUFFER_TO_HOST_WIRE_SIZE as usize);
    assert_eq!(wire, 292);
    // The whole message, with the struct's padding: 296.
    assert_eq!(MMAL_MSG_HEADER_SIZE as usize + size_of::<mmal_msg_buffer_from_host>(), 296);
}

#[test]
fn mmal_message_union() {
    pin_wire!(mmal_msg, size = 512, { h @ 0, u @ 24 });
    assert_eq!(size_of::<mmal_msg_payload>(), 488);
    assert_eq!(size_of::<mmal_msg>(), MMAL_MSG_MAX_SIZE as usize);
    assert_eq!(MMAL_MSG_MAX_PAYLOAD, 488);
    // Every payload fits (the union is exactly the byte array).
    assert!(size_of::<mmal_msg_port_parameter_set>() <= MMAL_MSG_MAX_PAYLOAD as usize);
    assert!(size_of::<mmal_msg_buffer_from_host>() <= MMAL_MSG_MAX_PAYLOAD as usize);
}

#[test]
fn mmal_constants() {
    assert_eq!(VC_MMAL_SERVICE_FOURCC, 0x6D6D_616C);
    assert_eq!(make_fourcc(*b"mmal"), VC_MMAL_SERVICE_FOURCC);
    assert_eq!((VC_MMAL_VER, VC_MMAL_MIN_VER), (15, 10));
    assert_eq!(MMAL_MAGIC, 0x6C61_6D6D);
    assert_eq!(mmal_fourcc(*b"mmal"), MMAL_MAGIC);
    assert_eq!((MMAL_MSG_MAX_SIZE, MMAL_MSG_HEADER_SIZE), (512, 24));
    assert_eq!((MMAL_WORKER_PORT_PARAMETER_SPACE, MMAL_WORKER_PORT_PARAMETER_SPACE_BYTES), (96, 384));
    assert_eq!((MMAL_WORKER_EVENT_SPACE, MMAL_VC_SHORT_DATA, MMAL_FORMAT_EXTRADATA_MAX_SIZE), (256, 128, 128));
    assert_eq!((MMAL_WORKER_COMPONENT_NAME_SIZE, VCHIQ_MMAL_MAX_COMPONENTS), (128, 64));
    assert_eq!(MMAL_MSG_EVENT_ERROR, mmal_fourcc(*b"ERRO"));
    assert_eq!(MMAL_MSG_EVENT_EOS, mmal_fourcc(*b"EEOS"));
    assert_eq!(MMAL_MSG_EVENT_FORMAT_CHANGED, mmal_fourcc(*b"EFCH"));
    assert_eq!(MMAL_MSG_EVENT_PARAMETER_CHANGED, mmal_fourcc(*b"EPCH"));
    assert_eq!(MMAL_MSG_TIME_UNKNOWN, i64::MIN);
    let types = [
        MMAL_MSG_TYPE_QUIT,
        MMAL_MSG_TYPE_SERVICE_CLOSED,
        MMAL_MSG_TYPE_GET_VERSION,
        MMAL_MSG_TYPE_COMPONENT_CREATE,
        MMAL_MSG_TYPE_COMPONENT_DESTROY,
        MMAL_MSG_TYPE_COMPONENT_ENABLE,
        MMAL_MSG_TYPE_COMPONENT_DISABLE,
        MMAL_MSG_TYPE_PORT_INFO_GET,
        MMAL_MSG_TYPE_PORT_INFO_SET,
        MMAL_MSG_TYPE_PORT_ACTION,
        MMAL_MSG_TYPE_BUFFER_FROM_HOST,
        MMAL_MSG_TYPE_BUFFER_TO_HOST,
        MMAL_MSG_TYPE_GET_STATS,
        MMAL_MSG_TYPE_PORT_PARAMETER_SET,
        MMAL_MSG_TYPE_PORT_PARAMETER_GET,
        MMAL_MSG_TYPE_EVENT_TO_HOST,
        MMAL_MSG_TYPE_GET_CORE_STATS_FOR_PORT,
        MMAL_MSG_TYPE_OPAQUE_ALLOCATOR,
        MMAL_MSG_TYPE_CONSUME_MEM,
        MMAL_MSG_TYPE_LMK,
        MMAL_MSG_TYPE_OPAQUE_ALLOCATOR_DESC,
        MMAL_MSG_TYPE_DRM_GET_LHS32,
        MMAL_MSG_TYPE_DRM_GET_TIME,
        MMAL_MSG_TYPE_BUFFER_FROM_HOST_ZEROLEN,
        MMAL_MSG_TYPE_PORT_FLUSH,
        MMAL_MSG_TYPE_HOST_LOG,
        MMAL_MSG_TYPE_COMPACT,
    ];
    assert_eq!(types.to_vec(), (1..=27).collect::<Vec<u32>>());
    let actions = [
        MMAL_MSG_PORT_ACTION_TYPE_UNKNOWN,
        MMAL_MSG_PORT_ACTION_TYPE_ENABLE,
        MMAL_MSG_PORT_ACTION_TYPE_DISABLE,
        MMAL_MSG_PORT_ACTION_TYPE_FLUSH,
        MMAL_MSG_PORT_ACTION_TYPE_CONNECT,
        MMAL_MSG_PORT_ACTION_TYPE_DISCONNECT,
        MMAL_MSG_PORT_ACTION_TYPE_SET_REQUIREMENTS,
    ];
    assert_eq!(actions, [0, 1, 2, 3, 4, 5, 6]);
    let ports = [
        MMAL_MSG_PORT_TYPE_UNKNOWN,
        MMAL_MSG_PORT_TYPE_CONTROL,
        MMAL_MSG_PORT_TYPE_INPUT,
        MMAL_MSG_PORT_TYPE_OUTPUT,
        MMAL_MSG_PORT_TYPE_CLOCK,
    ];
    assert_eq!(ports, [0, 1, 2, 3, 4]);
    let statuses = [
        MMAL_MSG_STATUS_SUCCESS,
        MMAL_MSG_STATUS_ENOMEM,
        MMAL_MSG_STATUS_ENOSPC,
        MMAL_MSG_STATUS_EINVAL,
        MMAL_MSG_STATUS_ENOSYS,
        MMAL_MSG_STATUS_ENOENT,
        MMAL_MSG_STATUS_ENXIO,
        MMAL_MSG_STATUS_EIO,
        MMAL_MSG_STATUS_ESPIPE,
        MMAL_MSG_STATUS_ECORRUPT,
        MMAL_MSG_STATUS_ENOTREADY,
        MMAL_MSG_STATUS_ECONFIG,
        MMAL_MSG_STATUS_EISCONN,
        MMAL_MSG_STATUS_ENOTCONN,
        MMAL_MSG_STATUS_EAGAIN,
        MMAL_MSG_STATUS_EFAULT,
    ];
    assert_eq!(statuses.to_vec(), (0..=15).collect::<Vec<u32>>());
    let flags = [
        MMAL_MSG_BUFFER_FLAG_EOS,
        MMAL_MSG_BUFFER_FLAG_FRAME_START,
        MMAL_MSG_BUFFER_FLAG_FRAME_END,
        MMAL_MSG_BUFFER_FLAG_KEYFRAME,
        MMAL_MSG_BUFFER_FLAG_DISCONTINUITY,
        MMAL_MSG_BUFFER_FLAG_CONFIG,
        MMAL_MSG_BUFFER_FLAG_ENCRYPTED,
        MMAL_MSG_BUFFER_FLAG_CODECSIDEINFO,
        MMAL_MSG_BUFFER_FLAG_SNAPSHOT,
        MMAL_MSG_BUFFER_FLAG_CORRUPTED,
        MMAL_MSG_BUFFER_FLAG_TRANSMISSION_FAILED,
    ];
    assert_eq!(flags.to_vec(), (0..=10).map(|b| 1u32 << b).collect::<Vec<u32>>());
}

#[test]
fn ioc_encoding() {
    // _IOC(dir, type, nr, size) = dir << 30 | size << 16 | type << 8 | nr
    assert_eq!(ioc(IOC_READ | IOC_WRITE, 0x78, 0x12, 0x34), 0xC034_7812);
    assert_eq!(io(0xC4, 0x11), 0xC411);
    assert_eq!(iow::<[u8; 12]>(0xC4, 14), 0x400C_C40E);
    assert_eq!(iowr::<[u8; 16383]>(0xC4, 0xFF), 0xFFFF_C4FF);
}
