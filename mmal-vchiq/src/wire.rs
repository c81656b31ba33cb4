//! MMAL messages to and from bytes, at the offsets of `vchiq-sys`'s pinned
//! structs (`offset_of!`, never hand-typed), little-endian. Every read is
//! bounds-checked by the caller's length checks first; nothing from the
//! VideoCore is trusted before it is checked.

use std::mem::{offset_of, size_of};

use vchiq_sys::*;

use crate::error::{Error, Result, Status};
use crate::types::{Format, PortInfo, PortRef, PortType, Rational, Rect, VideoFormat, VideoPlanes};

/// Bytes of the message header.
pub(crate) const H: usize = size_of::<mmal_msg_header>();
const MAGIC: usize = offset_of!(mmal_msg_header, magic);
const TYPE: usize = offset_of!(mmal_msg_header, type_);
const CONTEXT: usize = offset_of!(mmal_msg_header, context);
const HSTATUS: usize = offset_of!(mmal_msg_header, status);

pub(crate) fn put(m: &mut [u8], off: usize, v: u32) {
    m[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(m: &mut [u8], off: usize, v: i64) {
    m[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// The word at `off`; 0 past the end (callers check lengths first).
pub(crate) fn get(m: &[u8], off: usize) -> u32 {
    m.get(off..off + 4).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn get64(m: &[u8], off: usize) -> i64 {
    match m.get(off..off + 8) {
        Some(b) => i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        None => 0,
    }
}

/// The name of a message type, for errors and logs.
pub(crate) fn type_name(ty: u32) -> &'static str {
    match ty {
        MMAL_MSG_TYPE_GET_VERSION => "GET_VERSION",
        MMAL_MSG_TYPE_COMPONENT_CREATE => "COMPONENT_CREATE",
        MMAL_MSG_TYPE_COMPONENT_DESTROY => "COMPONENT_DESTROY",
        MMAL_MSG_TYPE_COMPONENT_ENABLE => "COMPONENT_ENABLE",
        MMAL_MSG_TYPE_COMPONENT_DISABLE => "COMPONENT_DISABLE",
        MMAL_MSG_TYPE_PORT_INFO_GET => "PORT_INFO_GET",
        MMAL_MSG_TYPE_PORT_INFO_SET => "PORT_INFO_SET",
        MMAL_MSG_TYPE_PORT_ACTION => "PORT_ACTION",
        MMAL_MSG_TYPE_BUFFER_FROM_HOST => "BUFFER_FROM_HOST",
        MMAL_MSG_TYPE_BUFFER_FROM_HOST_ZEROLEN => "BUFFER_FROM_HOST_ZEROLEN",
        MMAL_MSG_TYPE_PORT_FLUSH => "PORT_FLUSH",
        MMAL_MSG_TYPE_BUFFER_TO_HOST => "BUFFER_TO_HOST",
        MMAL_MSG_TYPE_PORT_PARAMETER_SET => "PORT_PARAMETER_SET",
        MMAL_MSG_TYPE_PORT_PARAMETER_GET => "PORT_PARAMETER_GET",
        MMAL_MSG_TYPE_EVENT_TO_HOST => "EVENT_TO_HOST",
        MMAL_MSG_TYPE_SERVICE_CLOSED => "SERVICE_CLOSED",
        _ => "an MMAL message",
    }
}

/// The type of a message from the VideoCore, if it has a valid header.
pub(crate) fn message_type(m: &[u8]) -> Option<u32> {
    (m.len() >= H && get(m, MAGIC) == MMAL_MAGIC).then(|| get(m, TYPE))
}

/// The context of a reply to a request: any message with a valid header
/// but a buffer, an event or the service's close.
pub(crate) fn reply_context(m: &[u8]) -> Option<u32> {
    match message_type(m)? {
        MMAL_MSG_TYPE_BUFFER_TO_HOST | MMAL_MSG_TYPE_EVENT_TO_HOST | MMAL_MSG_TYPE_SERVICE_CLOSED => None,
        _ => Some(get(m, CONTEXT)),
    }
}

/// A message of type `ty` with `payload` bytes of zeros after the header.
pub(crate) fn message(ty: u32, context: u32, payload: usize) -> Vec<u8> {
    let mut m = vec![0u8; H + payload];
    put(&mut m, MAGIC, MMAL_MAGIC);
    put(&mut m, TYPE, ty);
    put(&mut m, CONTEXT, context);
    m
}

fn malformed(ty: u32, what: String) -> Error {
    Error::Malformed { call: type_name(ty), what }
}

/// Checks a reply's header (magic, type) and that it holds at least
/// `min_payload` bytes once its status says success; returns the status
/// (the payload's first word when `status_word`, else the header's).
pub(crate) fn check_reply(m: &[u8], ty: u32, min_payload: usize, status_word: bool) -> Result<()> {
    if m.len() < H {
        return Err(malformed(ty, format!("{} bytes, shorter than the header", m.len())));
    }
    if get(m, MAGIC) != MMAL_MAGIC {
        return Err(malformed(ty, format!("magic {:#x}", get(m, MAGIC))));
    }
    if get(m, TYPE) != ty {
        return Err(malformed(ty, format!("a reply of type {} ({})", get(m, TYPE), type_name(get(m, TYPE)))));
    }
    let status = if status_word {
        if m.len() < H + 4 {
            return Err(malformed(ty, format!("{} bytes, no status", m.len())));
        }
        get(m, H)
    } else {
        get(m, HSTATUS)
    };
    let status = Status::from_u32(status);
    if !status.is_success() {
        return Err(Error::Mmal { call: type_name(ty), status });
    }
    if m.len() < H + min_payload {
        return Err(malformed(ty, format!("{} bytes, {} expected", m.len(), H + min_payload)));
    }
    Ok(())
}

// ---- requests ----

pub(crate) fn component_create(context: u32, client_component: u32, name: &[u8]) -> Vec<u8> {
    let mut m = message(MMAL_MSG_TYPE_COMPONENT_CREATE, context, size_of::<mmal_msg_component_create>());
    put(&mut m, H + offset_of!(mmal_msg_component_create, client_component), client_component);
    let at = H + offset_of!(mmal_msg_component_create, name);
    m[at..at + name.len()].copy_from_slice(name);
    put(&mut m, H + offset_of!(mmal_msg_component_create, pid), std::process::id());
    m
}

/// COMPONENT_DESTROY, _ENABLE, _DISABLE.
pub(crate) fn component_op(ty: u32, context: u32, handle: u32) -> Vec<u8> {
    let mut m = message(ty, context, size_of::<mmal_msg_component_destroy>());
    put(&mut m, H + offset_of!(mmal_msg_component_destroy, component_handle), handle);
    m
}

pub(crate) fn port_info_get(context: u32, component: u32, kind: PortType, index: u32) -> Vec<u8> {
    let mut m = message(MMAL_MSG_TYPE_PORT_INFO_GET, context, size_of::<mmal_msg_port_info_get>());
    put(&mut m, H + offset_of!(mmal_msg_port_info_get, component_handle), component);
    put(&mut m, H + offset_of!(mmal_msg_port_info_get, port_type), kind.to_u32());
    put(&mut m, H + offset_of!(mmal_msg_port_info_get, index), index);
    m
}

/// Writes `info`'s port struct at `at`.
fn write_port(m: &mut [u8], at: usize, info: &PortInfo) {
    let f = |field| at + field;
    put(m, f(offset_of!(mmal_msg_port, type_)), info.port.kind.to_u32());
    let index = f(offset_of!(mmal_msg_port, index));
    m[index..index + 2].copy_from_slice(&(info.port.index as u16).to_le_bytes());
    let index_all = f(offset_of!(mmal_msg_port, index_all));
    m[index_all..index_all + 2].copy_from_slice(&info.index_all.to_le_bytes());
    put(m, f(offset_of!(mmal_msg_port, is_enabled)), info.is_enabled as u32);
    put(m, f(offset_of!(mmal_msg_port, buffer_num_min)), info.buffer_num_min);
    put(m, f(offset_of!(mmal_msg_port, buffer_size_min)), info.buffer_size_min);
    put(m, f(offset_of!(mmal_msg_port, buffer_alignment_min)), info.buffer_alignment_min);
    put(m, f(offset_of!(mmal_msg_port, buffer_num_recommended)), info.buffer_num_recommended);
    put(m, f(offset_of!(mmal_msg_port, buffer_size_recommended)), info.buffer_size_recommended);
    put(m, f(offset_of!(mmal_msg_port, buffer_num)), info.buffer_num);
    put(m, f(offset_of!(mmal_msg_port, buffer_size)), info.buffer_size);
    put(m, f(offset_of!(mmal_msg_port, component)), info.port.component);
    put(m, f(offset_of!(mmal_msg_port, userdata)), info.userdata);
    put(m, f(offset_of!(mmal_msg_port, capabilities)), info.capabilities);
}

pub(crate) fn port_info_set(context: u32, info: &PortInfo) -> Result<Vec<u8>> {
    let extradata = &info.format.extradata;
    if extradata.len() > MMAL_FORMAT_EXTRADATA_MAX_SIZE as usize {
        return Err(Error::InvalidArgument("a format's extradata is at most 128 bytes"));
    }
    let mut m = message(MMAL_MSG_TYPE_PORT_INFO_SET, context, size_of::<mmal_msg_port_info_set>());
    put(&mut m, H + offset_of!(mmal_msg_port_info_set, component_handle), info.port.component);
    put(&mut m, H + offset_of!(mmal_msg_port_info_set, port_type), info.port.kind.to_u32());
    put(&mut m, H + offset_of!(mmal_msg_port_info_set, port_index), info.port.index);
    write_port(&mut m, H + offset_of!(mmal_msg_port_info_set, port), info);
    write_format(
        &mut m,
        H + offset_of!(mmal_msg_port_info_set, format),
        H + offset_of!(mmal_msg_port_info_set, es),
        H + offset_of!(mmal_msg_port_info_set, extradata),
        &info.format,
    );
    Ok(m)
}

fn write_format(m: &mut [u8], fmt: usize, es: usize, extradata: usize, f: &Format) {
    put(m, fmt + offset_of!(mmal_msg_es_format, type_), f.es_type);
    put(m, fmt + offset_of!(mmal_msg_es_format, encoding), f.encoding);
    put(m, fmt + offset_of!(mmal_msg_es_format, encoding_variant), f.encoding_variant);
    put(m, fmt + offset_of!(mmal_msg_es_format, bitrate), f.bitrate);
    put(m, fmt + offset_of!(mmal_msg_es_format, flags), f.flags);
    put(m, fmt + offset_of!(mmal_msg_es_format, extradata_size), f.extradata.len() as u32);
    let v = &f.video;
    put(m, es + offset_of!(mmal_msg_video_format, width), v.width);
    put(m, es + offset_of!(mmal_msg_video_format, height), v.height);
    let crop = es + offset_of!(mmal_msg_video_format, crop);
    put(m, crop + offset_of!(mmal_msg_rect, x), v.crop.x as u32);
    put(m, crop + offset_of!(mmal_msg_rect, y), v.crop.y as u32);
    put(m, crop + offset_of!(mmal_msg_rect, width), v.crop.width as u32);
    put(m, crop + offset_of!(mmal_msg_rect, height), v.crop.height as u32);
    for (at, r) in
        [(offset_of!(mmal_msg_video_format, frame_rate), v.frame_rate), (offset_of!(mmal_msg_video_format, par), v.par)]
    {
        put(m, es + at + offset_of!(mmal_msg_rational, num), r.num as u32);
        put(m, es + at + offset_of!(mmal_msg_rational, den), r.den as u32);
    }
    put(m, es + offset_of!(mmal_msg_video_format, color_space), v.color_space);
    m[extradata..extradata + f.extradata.len()].copy_from_slice(&f.extradata);
}

/// PORT_ACTION on one port (ENABLE with its buffer counts, DISABLE, FLUSH).
pub(crate) fn port_action_port(context: u32, port: &PortRef, action: u32, num: u32, size: u32) -> Vec<u8> {
    let mut m = message(MMAL_MSG_TYPE_PORT_ACTION, context, size_of::<mmal_msg_port_action_port>());
    put(&mut m, H + offset_of!(mmal_msg_port_action_port, component_handle), port.component);
    put(&mut m, H + offset_of!(mmal_msg_port_action_port, port_handle), port.handle);
    put(&mut m, H + offset_of!(mmal_msg_port_action_port, action), action);
    let p = H + offset_of!(mmal_msg_port_action_port, port);
    put(&mut m, p + offset_of!(mmal_msg_port, type_), port.kind.to_u32());
    put(&mut m, p + offset_of!(mmal_msg_port, component), port.component);
    put(&mut m, p + offset_of!(mmal_msg_port, buffer_num), num);
    put(&mut m, p + offset_of!(mmal_msg_port, buffer_size), size);
    m
}

/// PORT_ACTION naming a second port (CONNECT, DISCONNECT).
pub(crate) fn port_action_handle(context: u32, port: &PortRef, action: u32, other: Option<&PortRef>) -> Vec<u8> {
    let mut m = message(MMAL_MSG_TYPE_PORT_ACTION, context, size_of::<mmal_msg_port_action_handle>());
    put(&mut m, H + offset_of!(mmal_msg_port_action_handle, component_handle), port.component);
    put(&mut m, H + offset_of!(mmal_msg_port_action_handle, port_handle), port.handle);
    put(&mut m, H + offset_of!(mmal_msg_port_action_handle, action), action);
    if let Some(o) = other {
        put(&mut m, H + offset_of!(mmal_msg_port_action_handle, connect_component_handle), o.component);
        put(&mut m, H + offset_of!(mmal_msg_port_action_handle, connect_port_handle), o.handle);
    }
    m
}

/// Bytes of a parameter's value at most.
pub(crate) const PARAM_SPACE: usize = MMAL_WORKER_PORT_PARAMETER_SPACE_BYTES as usize;
/// The parameter header (id, size).
pub(crate) const PARAM_HEADER: usize = 8;
const PSET_VALUE: usize = H + offset_of!(mmal_msg_port_parameter_set, value);
const PGET_REPLY_VALUE: usize = H + offset_of!(mmal_msg_port_parameter_get_reply, value);

/// PORT_PARAMETER_SET of a parameter (`id`, `size` and value as MMAL lays
/// a parameter out).
pub(crate) fn parameter_set(context: u32, port: &PortRef, id: u32, value: &[u8]) -> Vec<u8> {
    let mut m = message(MMAL_MSG_TYPE_PORT_PARAMETER_SET, context, PSET_VALUE - H + value.len());
    put(&mut m, H + offset_of!(mmal_msg_port_parameter_set, component_handle), port.component);
    put(&mut m, H + offset_of!(mmal_msg_port_parameter_set, port_handle), port.handle);
    put(&mut m, H + offset_of!(mmal_msg_port_parameter_set, id), id);
    put(&mut m, H + offset_of!(mmal_msg_port_parameter_set, size), (PARAM_HEADER + value.len()) as u32);
    m[PSET_VALUE..].copy_from_slice(value);
    m
}

/// PORT_PARAMETER_GET with room for `space` value bytes, `input` (the
/// value's first bytes, for parameters that take some) after the request.
pub(crate) fn parameter_get(context: u32, port: &PortRef, id: u32, space: usize, input: &[u8]) -> Vec<u8> {
    let base = size_of::<mmal_msg_port_parameter_get>();
    let mut m = message(MMAL_MSG_TYPE_PORT_PARAMETER_GET, context, base + input.len());
    put(&mut m, H + offset_of!(mmal_msg_port_parameter_get, component_handle), port.component);
    put(&mut m, H + offset_of!(mmal_msg_port_parameter_get, port_handle), port.handle);
    put(&mut m, H + offset_of!(mmal_msg_port_parameter_get, id), id);
    put(&mut m, H + offset_of!(mmal_msg_port_parameter_get, size), (PARAM_HEADER + space) as u32);
    m[H + base..].copy_from_slice(input);
    m
}

// ---- replies ----

pub(crate) struct Version {
    pub(crate) major: u32,
    pub(crate) minor: u32,
    pub(crate) minimum: u32,
}

pub(crate) fn version_reply(m: &[u8]) -> Result<Version> {
    check_reply(m, MMAL_MSG_TYPE_GET_VERSION, size_of::<mmal_msg_version>(), false)?;
    Ok(Version {
        major: get(m, H + offset_of!(mmal_msg_version, major)),
        minor: get(m, H + offset_of!(mmal_msg_version, minor)),
        minimum: get(m, H + offset_of!(mmal_msg_version, minimum)),
    })
}

pub(crate) fn component_create_reply(m: &[u8]) -> Result<crate::types::Component> {
    check_reply(m, MMAL_MSG_TYPE_COMPONENT_CREATE, size_of::<mmal_msg_component_create_reply>(), true)?;
    let f = |off| get(m, H + off);
    let c = crate::types::Component {
        handle: f(offset_of!(mmal_msg_component_create_reply, component_handle)),
        inputs: f(offset_of!(mmal_msg_component_create_reply, input_num)),
        outputs: f(offset_of!(mmal_msg_component_create_reply, output_num)),
        clocks: f(offset_of!(mmal_msg_component_create_reply, clock_num)),
    };
    // A component has at most a few dozen ports; anything else is noise.
    if c.handle == 0 || c.inputs > 64 || c.outputs > 64 || c.clocks > 64 {
        return Err(malformed(MMAL_MSG_TYPE_COMPONENT_CREATE, format!("{c:?}")));
    }
    Ok(c)
}

/// A PORT_INFO_GET or _SET reply: the port as the VideoCore describes it.
pub(crate) fn port_info_reply(m: &[u8], ty: u32) -> Result<PortInfo> {
    check_reply(m, ty, size_of::<mmal_msg_port_info_get_reply>(), true)?;
    let r = |off| get(m, H + off);
    let kind_raw = r(offset_of!(mmal_msg_port_info_get_reply, port_type));
    let kind = PortType::from_u32(kind_raw).ok_or_else(|| malformed(ty, format!("port type {kind_raw}")))?;
    let port = H + offset_of!(mmal_msg_port_info_get_reply, port);
    let p = |off| get(m, port + off);
    let index_all_at = port + offset_of!(mmal_msg_port, index_all);
    let fmt = H + offset_of!(mmal_msg_port_info_get_reply, format);
    let extradata_size = get(m, fmt + offset_of!(mmal_msg_es_format, extradata_size)) as usize;
    if extradata_size > MMAL_FORMAT_EXTRADATA_MAX_SIZE as usize {
        return Err(malformed(ty, format!("extradata of {extradata_size} bytes")));
    }
    let es = H + offset_of!(mmal_msg_port_info_get_reply, es);
    let extradata = H + offset_of!(mmal_msg_port_info_get_reply, extradata);
    Ok(PortInfo {
        port: PortRef {
            component: r(offset_of!(mmal_msg_port_info_get_reply, component_handle)),
            handle: r(offset_of!(mmal_msg_port_info_get_reply, port_handle)),
            kind,
            index: r(offset_of!(mmal_msg_port_info_get_reply, port_index)),
        },
        index_all: u16::from_le_bytes([m[index_all_at], m[index_all_at + 1]]),
        is_enabled: p(offset_of!(mmal_msg_port, is_enabled)) != 0,
        buffer_num_min: p(offset_of!(mmal_msg_port, buffer_num_min)),
        buffer_size_min: p(offset_of!(mmal_msg_port, buffer_size_min)),
        buffer_alignment_min: p(offset_of!(mmal_msg_port, buffer_alignment_min)),
        buffer_num_recommended: p(offset_of!(mmal_msg_port, buffer_num_recommended)),
        buffer_size_recommended: p(offset_of!(mmal_msg_port, buffer_size_recommended)),
        buffer_num: p(offset_of!(mmal_msg_port, buffer_num)),
        buffer_size: p(offset_of!(mmal_msg_port, buffer_size)),
        capabilities: p(offset_of!(mmal_msg_port, capabilities)),
        userdata: p(offset_of!(mmal_msg_port, userdata)),
        format: Format {
            es_type: get(m, fmt + offset_of!(mmal_msg_es_format, type_)),
            encoding: get(m, fmt + offset_of!(mmal_msg_es_format, encoding)),
            encoding_variant: get(m, fmt + offset_of!(mmal_msg_es_format, encoding_variant)),
            bitrate: get(m, fmt + offset_of!(mmal_msg_es_format, bitrate)),
            flags: get(m, fmt + offset_of!(mmal_msg_es_format, flags)),
            video: read_video(m, es),
            extradata: m[extradata..extradata + extradata_size].to_vec(),
        },
    })
}

fn read_video(m: &[u8], es: usize) -> VideoFormat {
    let v = |off| get(m, es + off);
    let crop = offset_of!(mmal_msg_video_format, crop);
    let rational = |at: usize| Rational {
        num: v(at + offset_of!(mmal_msg_rational, num)) as i32,
        den: v(at + offset_of!(mmal_msg_rational, den)) as i32,
    };
    VideoFormat {
        width: v(offset_of!(mmal_msg_video_format, width)),
        height: v(offset_of!(mmal_msg_video_format, height)),
        crop: Rect {
            x: v(crop + offset_of!(mmal_msg_rect, x)) as i32,
            y: v(crop + offset_of!(mmal_msg_rect, y)) as i32,
            width: v(crop + offset_of!(mmal_msg_rect, width)) as i32,
            height: v(crop + offset_of!(mmal_msg_rect, height)) as i32,
        },
        frame_rate: rational(offset_of!(mmal_msg_video_format, frame_rate)),
        par: rational(offset_of!(mmal_msg_video_format, par)),
        color_space: v(offset_of!(mmal_msg_video_format, color_space)),
    }
}

/// A PORT_PARAMETER_GET reply: the parameter (header and at most `space`
/// value bytes) as MMAL lays it out.
pub(crate) fn parameter_get_reply(m: &[u8], id: u32, space: usize) -> Result<Vec<u8>> {
    let ty = MMAL_MSG_TYPE_PORT_PARAMETER_GET;
    let base = PGET_REPLY_VALUE - H;
    match check_reply(m, ty, base, true) {
        Err(Error::Mmal { status: Status::Enospc, .. }) if m.len() >= PGET_REPLY_VALUE => {
            let needed = get(m, H + offset_of!(mmal_msg_port_parameter_get_reply, size));
            return Err(Error::ParameterTooSmall { id, needed });
        }
        other => other?,
    }
    let got_id = get(m, H + offset_of!(mmal_msg_port_parameter_get_reply, id));
    let size = get(m, H + offset_of!(mmal_msg_port_parameter_get_reply, size)) as usize;
    if got_id != id || !(PARAM_HEADER..=PARAM_HEADER + PARAM_SPACE).contains(&size) {
        return Err(malformed(ty, format!("parameter {got_id:#x} of {size} bytes for {id:#x}")));
    }
    if size > PARAM_HEADER + space {
        return Err(Error::ParameterTooSmall { id, needed: size as u32 });
    }
    let n = size - PARAM_HEADER;
    if m.len() < PGET_REPLY_VALUE + n {
        return Err(malformed(ty, format!("{} bytes for a value of {n}", m.len())));
    }
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&(size as u32).to_le_bytes());
    out.extend_from_slice(&m[PGET_REPLY_VALUE..PGET_REPLY_VALUE + n]);
    Ok(out)
}

// ---- buffers ----

const B: usize = H + offset_of!(mmal_msg_buffer_from_host, buffer_header);
const DRV: usize = H + offset_of!(mmal_msg_buffer_from_host, drvbuf);
const VIDEO: usize = H + offset_of!(mmal_msg_buffer_from_host, buffer_header_type_specific);
const IS_ZERO_COPY: usize = H + offset_of!(mmal_msg_buffer_from_host, is_zero_copy);
const PAYLOAD_IN_MESSAGE: usize = H + offset_of!(mmal_msg_buffer_from_host, payload_in_message);
const SHORT_DATA: usize = H + offset_of!(mmal_msg_buffer_from_host, short_data);
/// Bytes of inline payload at most.
pub(crate) const SHORT_DATA_MAX: usize = MMAL_VC_SHORT_DATA as usize;
/// BUFFER_FROM_HOST as sent: up to `short_data`'s end, no trailing padding.
const BUFFER_MSG: usize = MMAL_MSG_BUFFER_TO_HOST_WIRE_SIZE as usize;

/// What a BUFFER_FROM_HOST says.
pub(crate) struct BufferOut<'a> {
    pub(crate) port: &'a PortRef,
    pub(crate) cookie: u32,
    pub(crate) data: u32,
    pub(crate) alloc_size: u32,
    pub(crate) length: u32,
    /// Where a zero-copy input's data starts in its block.
    pub(crate) offset: u32,
    pub(crate) flags: u32,
    pub(crate) pts: i64,
    pub(crate) dts: i64,
    pub(crate) zero_copy: bool,
    pub(crate) inline: Option<&'a [u8]>,
    pub(crate) video: &'a VideoPlanes,
    /// BUFFER_FROM_HOST_ZEROLEN: an empty EOS buffer, followed by an
    /// 8-byte dummy bulk.
    pub(crate) zerolen: bool,
}

/// Bytes of the dummy bulk that follows BUFFER_FROM_HOST_ZEROLEN and
/// PORT_FLUSH.
pub(crate) const DUMMY_BULK: usize = 8;

/// The BUFFER_FROM_HOST message for `b`, on the stack: a buffer is sent
/// per frame, with no allocation.
pub(crate) fn buffer_from_host(b: &BufferOut<'_>) -> [u8; BUFFER_MSG] {
    let mut m = [0u8; BUFFER_MSG];
    put(&mut m, MAGIC, MMAL_MAGIC);
    let ty = if b.zerolen { MMAL_MSG_TYPE_BUFFER_FROM_HOST_ZEROLEN } else { MMAL_MSG_TYPE_BUFFER_FROM_HOST };
    put(&mut m, TYPE, ty);
    put(&mut m, DRV + offset_of!(mmal_msg_driver_buffer, magic), MMAL_MAGIC);
    put(&mut m, DRV + offset_of!(mmal_msg_driver_buffer, component_handle), b.port.component);
    put(&mut m, DRV + offset_of!(mmal_msg_driver_buffer, port_handle), b.port.handle);
    put(&mut m, DRV + offset_of!(mmal_msg_driver_buffer, client_context), b.cookie);
    put(&mut m, B + offset_of!(mmal_msg_buffer_header, data), b.data);
    put(&mut m, B + offset_of!(mmal_msg_buffer_header, alloc_size), b.alloc_size);
    put(&mut m, B + offset_of!(mmal_msg_buffer_header, length), b.length);
    put(&mut m, B + offset_of!(mmal_msg_buffer_header, offset), b.offset);
    put(&mut m, B + offset_of!(mmal_msg_buffer_header, flags), b.flags);
    put64(&mut m, B + offset_of!(mmal_msg_buffer_header, pts), b.pts);
    put64(&mut m, B + offset_of!(mmal_msg_buffer_header, dts), b.dts);
    let v = b.video;
    put(&mut m, VIDEO + offset_of!(mmal_msg_buffer_header_video, planes), v.planes);
    for (i, (&offset, &pitch)) in v.offset.iter().zip(&v.pitch).enumerate() {
        put(&mut m, VIDEO + offset_of!(mmal_msg_buffer_header_video, offset) + 4 * i, offset);
        put(&mut m, VIDEO + offset_of!(mmal_msg_buffer_header_video, pitch) + 4 * i, pitch);
    }
    put(&mut m, VIDEO + offset_of!(mmal_msg_buffer_header_video, flags), v.flags);
    put(&mut m, IS_ZERO_COPY, b.zero_copy as u32);
    if let Some(d) = b.inline {
        put(&mut m, PAYLOAD_IN_MESSAGE, d.len() as u32);
        m[SHORT_DATA..SHORT_DATA + d.len()].copy_from_slice(d);
    }
    m
}

/// PORT_FLUSH (libmmal's flush of a port that has sent data by bulk): a
/// buffer message naming the port in its driver buffer, nothing else.
pub(crate) fn port_flush(context: u32, port: &PortRef) -> Vec<u8> {
    let mut m = message(MMAL_MSG_TYPE_PORT_FLUSH, context, BUFFER_MSG - H);
    put(&mut m, DRV + offset_of!(mmal_msg_driver_buffer, magic), MMAL_MAGIC);
    put(&mut m, DRV + offset_of!(mmal_msg_driver_buffer, component_handle), port.component);
    put(&mut m, DRV + offset_of!(mmal_msg_driver_buffer, port_handle), port.handle);
    m
}

/// What a BUFFER_TO_HOST says, checked for shape (not yet for its cookie).
#[derive(Debug)]
pub(crate) struct BufferIn {
    pub(crate) status: Status,
    pub(crate) cookie: u32,
    pub(crate) component: u32,
    pub(crate) port: u32,
    pub(crate) cmd: u32,
    pub(crate) length: u32,
    pub(crate) offset: u32,
    pub(crate) flags: u32,
    pub(crate) pts: i64,
    pub(crate) dts: i64,
    pub(crate) video: VideoPlanes,
    pub(crate) zero_copy: bool,
    pub(crate) inline: Option<Vec<u8>>,
}

/// Parses a BUFFER_TO_HOST: the firmware sends it without the struct's
/// trailing padding, so it is checked up to the last field read.
pub(crate) fn buffer_to_host(m: &[u8]) -> Result<BufferIn> {
    let ty = MMAL_MSG_TYPE_BUFFER_TO_HOST;
    if m.len() < SHORT_DATA {
        return Err(malformed(ty, format!("{} bytes, {SHORT_DATA} at least", m.len())));
    }
    if get(m, DRV + offset_of!(mmal_msg_driver_buffer, magic)) != MMAL_MAGIC {
        return Err(malformed(ty, "a driver buffer without the MMAL magic".into()));
    }
    let payload_in_message = get(m, PAYLOAD_IN_MESSAGE) as usize;
    let inline = match payload_in_message {
        0 => None,
        n if n <= SHORT_DATA_MAX && m.len() >= SHORT_DATA + n => Some(m[SHORT_DATA..SHORT_DATA + n].to_vec()),
        n => return Err(malformed(ty, format!("{n} bytes inline in a message of {}", m.len()))),
    };
    let bh = |off| get(m, B + off);
    let v = |off| get(m, VIDEO + off);
    let words = |at: usize| [v(at), v(at + 4), v(at + 8), v(at + 12)];
    Ok(BufferIn {
        status: Status::from_u32(get(m, HSTATUS)),
        cookie: get(m, DRV + offset_of!(mmal_msg_driver_buffer, client_context)),
        component: get(m, DRV + offset_of!(mmal_msg_driver_buffer, component_handle)),
        port: get(m, DRV + offset_of!(mmal_msg_driver_buffer, port_handle)),
        cmd: bh(offset_of!(mmal_msg_buffer_header, cmd)),
        length: bh(offset_of!(mmal_msg_buffer_header, length)),
        offset: bh(offset_of!(mmal_msg_buffer_header, offset)),
        flags: bh(offset_of!(mmal_msg_buffer_header, flags)),
        pts: get64(m, B + offset_of!(mmal_msg_buffer_header, pts)),
        dts: get64(m, B + offset_of!(mmal_msg_buffer_header, dts)),
        video: VideoPlanes {
            planes: v(offset_of!(mmal_msg_buffer_header_video, planes)),
            offset: words(offset_of!(mmal_msg_buffer_header_video, offset)),
            pitch: words(offset_of!(mmal_msg_buffer_header_video, pitch)),
            flags: v(offset_of!(mmal_msg_buffer_header_video, flags)),
        },
        zero_copy: get(m, IS_ZERO_COPY) != 0,
        inline,
    })
}

/// What an EVENT_TO_HOST says.
pub(crate) struct EventIn {
    pub(crate) client_component: u32,
    pub(crate) port_type: u32,
    pub(crate) port_num: u32,
    pub(crate) cmd: u32,
    pub(crate) length: u32,
    /// The data, when it is in the message (at most 256 bytes); longer
    /// events send theirs by bulk.
    pub(crate) data: Option<Vec<u8>>,
}

const EV_DATA: usize = H + offset_of!(mmal_msg_event_to_host, data);
const EVENT_SPACE: usize = MMAL_WORKER_EVENT_SPACE as usize;

/// The host's component cookie an EVENT_TO_HOST is for, if the message
/// is one and reaches that far (read as [`event_to_host`] reads it).
pub(crate) fn event_cookie(m: &[u8]) -> Option<u32> {
    let at = H + offset_of!(mmal_msg_event_to_host, client_component);
    (message_type(m) == Some(MMAL_MSG_TYPE_EVENT_TO_HOST) && m.len() >= at + 4).then(|| get(m, at))
}

pub(crate) fn event_to_host(m: &[u8]) -> Result<EventIn> {
    let ty = MMAL_MSG_TYPE_EVENT_TO_HOST;
    if m.len() < EV_DATA {
        return Err(malformed(ty, format!("{} bytes, {EV_DATA} at least", m.len())));
    }
    let e = |off| get(m, H + off);
    let length = e(offset_of!(mmal_msg_event_to_host, length));
    let n = length as usize;
    let data = if n <= EVENT_SPACE {
        if m.len() < EV_DATA + n {
            return Err(malformed(ty, format!("{} bytes for an event of {n}", m.len())));
        }
        Some(m[EV_DATA..EV_DATA + n].to_vec())
    } else {
        None
    };
    Ok(EventIn {
        client_component: e(offset_of!(mmal_msg_event_to_host, client_component)),
        port_type: e(offset_of!(mmal_msg_event_to_host, port_type)),
        port_num: e(offset_of!(mmal_msg_event_to_host, port_num)),
        cmd: e(offset_of!(mmal_msg_event_to_host, cmd)),
        length,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_the_pinned_ones() {
        assert_eq!(H, 24);
        assert_eq!(BUFFER_MSG, 292);
        assert_eq!(SHORT_DATA, H + 140);
        assert_eq!(size_of::<mmal_msg_port_info_get_reply>(), 292);
        assert_eq!(size_of::<mmal_msg_port_info_set>(), 280);
    }

    #[test]
    fn a_buffer_round_trips_through_its_message() {
        let port = PortRef { component: 5, handle: 6, kind: PortType::Input, index: 0 };
        let data = [7u8; 100];
        let video = VideoPlanes { planes: 3, offset: [0, 1000, 1250, 0], pitch: [40, 20, 20, 0], flags: 8 };
        let mut m = buffer_from_host(&BufferOut {
            port: &port,
            cookie: 0x0010_0001,
            data: 0,
            alloc_size: 4096,
            length: 100,
            offset: 24,
            flags: 4,
            pts: -5,
            dts: 1 << 40,
            zero_copy: false,
            inline: Some(&data),
            video: &video,
            zerolen: false,
        });
        assert_eq!(m.len(), 292);
        put(&mut m, TYPE, MMAL_MSG_TYPE_BUFFER_TO_HOST);
        let b = buffer_to_host(&m).unwrap();
        assert_eq!((b.cookie, b.component, b.port, b.length, b.flags), (0x0010_0001, 5, 6, 100, 4));
        assert_eq!(b.offset, 24);
        assert_eq!((b.pts, b.dts), (-5, 1 << 40));
        assert_eq!(b.inline.as_deref(), Some(&data[..]));
        assert_eq!(b.video, video);
        // Where the firmware's struct has them (research/vchiq.md: the
        // type-specific part at 88 after the header).
        assert_eq!(get(&m, H + 88), 3, "planes");
        assert_eq!((get(&m, H + 96), get(&m, H + 108)), (1000, 40), "offset[1], pitch[0]");
        assert_eq!(get(&m, H + 124), 8, "flags");
        assert!(message_type(&m) == Some(MMAL_MSG_TYPE_BUFFER_TO_HOST) && reply_context(&m).is_none());
    }

    #[test]
    fn malformed_buffers_and_replies_are_refused() {
        let port = PortRef { component: 5, handle: 6, kind: PortType::Output, index: 0 };
        let out = BufferOut {
            port: &port,
            cookie: 1,
            data: 0,
            alloc_size: 1,
            length: 0,
            offset: 0,
            flags: 0,
            pts: 0,
            dts: 0,
            zero_copy: false,
            inline: None,
            video: &VideoPlanes::default(),
            zerolen: false,
        };
        let m = buffer_from_host(&out);
        assert!(buffer_to_host(&m[..SHORT_DATA - 1]).is_err(), "short");
        let mut bad = m;
        put(&mut bad, DRV, 0);
        assert!(buffer_to_host(&bad).is_err(), "driver magic");
        let mut bad = m;
        put(&mut bad, PAYLOAD_IN_MESSAGE, 129);
        assert!(buffer_to_host(&bad).is_err(), "inline too long");
        let mut bad = m[..SHORT_DATA + 10].to_vec();
        put(&mut bad, PAYLOAD_IN_MESSAGE, 20);
        assert!(buffer_to_host(&bad).is_err(), "inline past the end");

        let mut r = message(MMAL_MSG_TYPE_COMPONENT_CREATE, 1, 20);
        assert!(matches!(component_create_reply(&r[..H + 4]), Err(Error::Malformed { .. })), "short");
        put(&mut r, H, MMAL_MSG_STATUS_ENOMEM);
        assert!(matches!(component_create_reply(&r), Err(Error::Mmal { status: Status::Enomem, .. })));
        put(&mut r, TYPE, MMAL_MSG_TYPE_PORT_ACTION);
        assert!(matches!(component_create_reply(&r), Err(Error::Malformed { .. })), "type");
        put(&mut r, MAGIC, 0);
        assert!(matches!(component_create_reply(&r), Err(Error::Malformed { .. })), "magic");
    }
}
