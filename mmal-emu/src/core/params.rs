//! Parameters: what the core answers itself (zero copy, change events,
//! supported encodings), what it hands to the component, and the byte
//! helpers both use.

use mmal_sys as sys;

use crate::objects::{lock, PortPtr, Status};

pub(crate) fn u32_at(data: &[u8], offset: usize) -> Result<u32, Status> {
    data.get(offset..offset + 4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]])).ok_or(sys::MMAL_EINVAL)
}

/// An `MMAL_RATIONAL_T` at `offset`, as a number; a zero denominator is
/// EINVAL.
pub(crate) fn rational_at(data: &[u8], offset: usize) -> Result<f32, Status> {
    let num = u32_at(data, offset)? as i32;
    let den = u32_at(data, offset + 4)? as i32;
    if den == 0 {
        return Err(sys::MMAL_EINVAL);
    }
    Ok(num as f32 / den as f32)
}

pub(crate) fn put_u32(out: &mut [u8], offset: usize, v: u32) {
    out[offset..offset + 4].copy_from_slice(&v.to_ne_bytes());
}

/// An `MMAL_RATIONAL_T` in 1/65536ths, as the firmware reports them.
pub(crate) fn put_rational(out: &mut [u8], offset: usize, v: f32) {
    put_u32(out, offset, (v * 65536.0).round() as i32 as u32);
    put_u32(out, offset + 4, 65536);
}

/// `mmal_port_parameter_set`: `data` is the whole parameter, header
/// included.
pub(crate) fn parameter_set(port: PortPtr, id: u32, data: &[u8]) -> Status {
    let shared = port.shared();
    let mut st = lock(&shared.state);
    let p = &st.ports[port.index_all()];
    let (pid, enabled) = (p.id, p.enabled);
    let result = match id {
        sys::MMAL_PARAMETER_ZERO_COPY if !pid.is_control() => {
            if enabled {
                Err(sys::MMAL_EINVAL)
            } else {
                u32_at(data, 8).map(|on| st.ports[pid.all].zero_copy = on != 0)
            }
        }
        sys::MMAL_PARAMETER_CHANGE_EVENT_REQUEST if pid.is_control() => (|| {
            let change_id = u32_at(data, 8)?;
            let enable = u32_at(data, 12)? != 0;
            st.change_events.retain(|&i| i != change_id);
            if enable {
                st.change_events.push(change_id);
            }
            st.component.change_events_changed();
            Ok(())
        })(),
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

/// `mmal_port_parameter_get` into `out` (the payload after the header);
/// returns the payload's full size, which may exceed `out.len()`.
pub(crate) fn parameter_get(port: PortPtr, id: u32, out: &mut [u8]) -> Result<usize, Status> {
    let shared = port.shared();
    let st = lock(&shared.state);
    let p = &st.ports[port.index_all()];
    let mut scratch = [0u8; sys::MMAL_PARAMETER_MAX_SIZE as usize];
    let n = match id {
        sys::MMAL_PARAMETER_ZERO_COPY if !p.id.is_control() => {
            put_u32(&mut scratch, 0, p.zero_copy as u32);
            4
        }
        sys::MMAL_PARAMETER_SUPPORTED_ENCODINGS if !p.id.is_control() => {
            let encodings = st.component.encodings(p.id);
            for (i, e) in encodings.iter().enumerate() {
                put_u32(&mut scratch, 4 * i, *e);
            }
            4 * encodings.len()
        }
        _ => st.component.get_parameter(p.id, id, &mut scratch)?,
    };
    let copy = n.min(out.len());
    out[..copy].copy_from_slice(&scratch[..copy]);
    Ok(n)
}
