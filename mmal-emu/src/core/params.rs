//! Parameters: what the core answers itself (zero copy, change events,
//! supported encodings), what it hands to the component, and the codec
//! both use: `mmal-sys`'s parameter structs, as the client uses them.

use std::mem::size_of;

use mmal_sys as sys;
use sys::param::{as_bytes, from_bytes, ParameterStruct};

use super::state::SharedOf;
use crate::objects::{PortPtr, Status};

/// The parameter struct `T` (one of `mmal-sys`'s, the layouts the client
/// uses too) from a parameter's bytes, header included; EINVAL if there are
/// fewer bytes than the struct.
pub(crate) fn read<T: ParameterStruct>(data: &[u8]) -> Result<T, Status> {
    if data.len() < size_of::<T>() {
        return Err(sys::MMAL_EINVAL);
    }
    Ok(from_bytes(data))
}

/// Writes `value`, less its header, into `out` (a reply's payload) as far
/// as it fits; returns the payload's whole length.
pub(crate) fn reply<T: ParameterStruct>(out: &mut [u8], value: &T) -> usize {
    let payload = &as_bytes(value)[size_of::<sys::MMAL_PARAMETER_HEADER_T>()..];
    let n = payload.len().min(out.len());
    out[..n].copy_from_slice(&payload[..n]);
    payload.len()
}

/// The value of an `MMAL_PARAMETER_UINT32_T`.
pub(crate) fn read_u32(data: &[u8]) -> Result<u32, Status> {
    read::<sys::MMAL_PARAMETER_UINT32_T>(data).map(|p| p.value)
}

/// The value of an `MMAL_PARAMETER_BOOLEAN_T`.
pub(crate) fn read_bool(data: &[u8]) -> Result<bool, Status> {
    read::<sys::MMAL_PARAMETER_BOOLEAN_T>(data).map(|p| p.enable != 0)
}

/// Answers parameter `id` with an `MMAL_PARAMETER_UINT32_T` of `value`.
pub(crate) fn reply_u32(out: &mut [u8], id: u32, value: u32) -> usize {
    let mut p = sys::MMAL_PARAMETER_UINT32_T::with_id(id);
    p.value = value;
    reply(out, &p)
}

/// Answers parameter `id` with an `MMAL_PARAMETER_BOOLEAN_T` of `value`.
pub(crate) fn reply_bool(out: &mut [u8], id: u32, value: bool) -> usize {
    let mut p = sys::MMAL_PARAMETER_BOOLEAN_T::with_id(id);
    p.enable = i32::from(value);
    reply(out, &p)
}

/// A rational as a number; a zero denominator is EINVAL.
pub(crate) fn ratio(r: sys::MMAL_RATIONAL_T) -> Result<f32, Status> {
    if r.den == 0 {
        return Err(sys::MMAL_EINVAL);
    }
    Ok(r.num as f32 / r.den as f32)
}

/// A number as a rational in 1/65536ths, as the firmware reports them.
pub(crate) fn rational(v: f32) -> sys::MMAL_RATIONAL_T {
    sys::MMAL_RATIONAL_T { num: (v * 65536.0).round() as i32, den: 65536 }
}

/// `mmal_port_parameter_set`: `data` is the whole parameter, header
/// included.
pub(crate) fn parameter_set(port: PortPtr, id: u32, data: &[u8]) -> Status {
    let shared = port.shared();
    let mut st = shared.state.lock();
    let p = &st.ports[port.index_all()];
    let (pid, enabled) = (p.id, p.enabled);
    let result = match id {
        sys::MMAL_PARAMETER_ZERO_COPY if !pid.is_control() => {
            if enabled {
                Err(sys::MMAL_EINVAL)
            } else {
                read_bool(data).map(|on| st.ports[pid.all].zero_copy = on)
            }
        }
        sys::MMAL_PARAMETER_CHANGE_EVENT_REQUEST if pid.is_control() => {
            read::<sys::MMAL_PARAMETER_CHANGE_EVENT_REQUEST_T>(data).map(|request| {
                st.change_events.retain(|&i| i != request.change_id);
                if request.enable != 0 {
                    st.change_events.push(request.change_id);
                }
                st.component.change_events_changed();
            })
        }
        _ => {
            let component_enabled = st.enabled;
            st.component.set_parameter(pid, id, data, component_enabled)
        }
    };
    drop(st);
    shared.wake.notify_all();
    match result {
        Ok(()) => sys::MMAL_SUCCESS,
        Err(status) => {
            if status == sys::MMAL_ENOSYS {
                log::debug!("mmal_port_parameter_set: {}: parameter {id:#x} not supported", port.name());
            }
            status
        }
    }
}

/// `MMAL_PARAMETER_CORE_STATISTICS`: the direction and reset flag come in
/// `request` (the caller's payload), the statistics go out in `reply`;
/// the counts of that direction start again if asked.
fn core_statistics(
    stats: &mut [sys::MMAL_CORE_STATISTICS_T; 2],
    request: &[u8],
    reply_to: &mut [u8],
) -> Result<usize, Status> {
    type Param = sys::MMAL_PARAMETER_CORE_STATISTICS_T;
    let head = size_of::<sys::MMAL_PARAMETER_HEADER_T>();
    let mut whole = [0u8; size_of::<Param>()];
    let given = request.len().min(whole.len() - head);
    whole[head..head + given].copy_from_slice(&request[..given]);
    let mut param: Param = from_bytes(&whole);
    // libmmal: RX is RX, anything else TX.
    let dir = if param.dir == sys::MMAL_CORE_STATS_RX { 0 } else { 1 };
    param.stats = stats[dir];
    if param.reset != 0 {
        stats[dir] = Default::default();
    }
    Ok(reply(reply_to, &param))
}

/// `mmal_port_parameter_get` into `out` (the payload after the header, which
/// holds the caller's payload on entry: a few parameters carry a request);
/// returns the payload's full size, which may exceed `out.len()`.
pub(crate) fn parameter_get(port: PortPtr, id: u32, out: &mut [u8]) -> Result<usize, Status> {
    let shared = port.shared();
    let mut st = shared.state.lock();
    let mut scratch = [0u8; sys::MMAL_PARAMETER_MAX_SIZE as usize];
    if id == sys::MMAL_PARAMETER_CORE_STATISTICS {
        // libmmal's core answers it on every port (its components do not).
        let n = core_statistics(&mut st.ports[port.index_all()].stats, out, &mut scratch)?;
        let copy = n.min(out.len());
        out[..copy].copy_from_slice(&scratch[..copy]);
        return Ok(n);
    }
    let p = &st.ports[port.index_all()];
    let n = match id {
        sys::MMAL_PARAMETER_ZERO_COPY if !p.id.is_control() => reply_bool(&mut scratch, id, p.zero_copy),
        sys::MMAL_PARAMETER_SUPPORTED_ENCODINGS if !p.id.is_control() => {
            let encodings = st.component.encodings(p.id);
            let mut value = sys::param::MaxParameter::with_id(id);
            value.words[..encodings.len()].copy_from_slice(encodings);
            reply(&mut scratch, &value);
            4 * encodings.len()
        }
        // The component sees the size asked for: a parameter with several
        // revisions (ANNOTATE) answers the one the caller's size names.
        _ => st.component.get_parameter(
            p.id,
            id,
            &mut scratch[..out.len().min(sys::MMAL_PARAMETER_MAX_SIZE as usize)],
        )?,
    };
    let copy = n.min(out.len());
    out[..copy].copy_from_slice(&scratch[..copy]);
    Ok(n)
}
