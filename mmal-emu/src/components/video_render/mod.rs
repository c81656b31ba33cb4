//! `vc.ril.video_render`: one input whose pictures go on the off-screen
//! display (`display`), as picamera's preview (OPAQUE from the camera's
//! preview port, tunnelled) and overlays (I420, RGB24, BGR24, RGBA or BGRA
//! from the client) use it.
//!
//! `MMAL_PARAMETER_DISPLAYREGION` is kept on the input and read back as a
//! whole struct; a set changes only the fields its `set` mask names. A
//! client's picture waits for the display's next refresh (60 Hz) if the
//! renderer already showed one on the current refresh, and its buffer goes
//! back once it is shown: a client sending faster than the display
//! refreshes runs out of buffers, as picamera warns of overlays. The
//! camera's pictures are shown as they come (at the camera's rate). The
//! renderer keeps showing its last picture until it goes.

pub(crate) mod display;

use std::sync::Arc;

use mmal_sys as sys;

use super::{Component, Encode, Encoded, PortId, Processor, Requirements};
use crate::core::{params, Io, PendingEvent};
use crate::format::VideoFormat;
use crate::objects::{BufPtr, Status};
use display::{Pixels, Plane};

/// The region a renderer starts with, as the firmware's reads back before
/// anything is set: full screen on display 0, layer 0, opaque, letterboxed.
fn default_region() -> sys::MMAL_DISPLAYREGION_T {
    sys::MMAL_DISPLAYREGION_T {
        hdr: sys::MMAL_PARAMETER_HEADER_T {
            id: sys::MMAL_PARAMETER_DISPLAYREGION,
            size: std::mem::size_of::<sys::MMAL_DISPLAYREGION_T>() as u32,
        },
        set: sys::MMAL_DISPLAY_SET_NONE,
        display_num: 0,
        fullscreen: 1,
        transform: sys::MMAL_DISPLAY_ROT0,
        dest_rect: Default::default(),
        src_rect: Default::default(),
        noaspect: 0,
        mode: sys::MMAL_DISPLAY_MODE_LETTERBOX,
        pixel_x: 0,
        pixel_y: 0,
        layer: 0,
        copyprotect_required: 0,
        alpha: 255,
    }
}

/// `current` with the fields `update.set` names taken from `update`; the
/// `set` read back is every field ever set. EINVAL for a transform or a
/// mode the firmware does not have.
fn merge(
    current: &sys::MMAL_DISPLAYREGION_T,
    update: &sys::MMAL_DISPLAYREGION_T,
) -> Result<sys::MMAL_DISPLAYREGION_T, Status> {
    let set = update.set;
    let mut r = *current;
    if set & sys::MMAL_DISPLAY_SET_TRANSFORM != 0 {
        if update.transform > sys::MMAL_DISPLAY_MIRROR_ROT270 {
            log::error!("vc.ril.video_render: transform {} is not one of MMAL_DISPLAYTRANSFORM_T's", update.transform);
            return Err(sys::MMAL_EINVAL);
        }
        r.transform = update.transform;
    }
    if set & sys::MMAL_DISPLAY_SET_MODE != 0 {
        if update.mode > sys::MMAL_DISPLAY_MODE_STEREO_TOP_TO_LEFT {
            log::error!("vc.ril.video_render: mode {} is not one of MMAL_DISPLAYMODE_T's", update.mode);
            return Err(sys::MMAL_EINVAL);
        }
        r.mode = update.mode;
    }
    if set & sys::MMAL_DISPLAY_SET_NUM != 0 {
        r.display_num = update.display_num;
    }
    if set & sys::MMAL_DISPLAY_SET_FULLSCREEN != 0 {
        r.fullscreen = update.fullscreen;
    }
    if set & sys::MMAL_DISPLAY_SET_DEST_RECT != 0 {
        r.dest_rect = update.dest_rect;
    }
    if set & sys::MMAL_DISPLAY_SET_SRC_RECT != 0 {
        r.src_rect = update.src_rect;
    }
    if set & sys::MMAL_DISPLAY_SET_PIXEL != 0 {
        r.pixel_x = update.pixel_x;
        r.pixel_y = update.pixel_y;
    }
    if set & sys::MMAL_DISPLAY_SET_NOASPECT != 0 {
        r.noaspect = update.noaspect;
    }
    if set & sys::MMAL_DISPLAY_SET_LAYER != 0 {
        r.layer = update.layer;
    }
    if set & sys::MMAL_DISPLAY_SET_COPYPROTECT != 0 {
        r.copyprotect_required = update.copyprotect_required;
    }
    if set & sys::MMAL_DISPLAY_SET_ALPHA != 0 {
        r.alpha = update.alpha;
    }
    r.set |= set & 0x7ff;
    Ok(r)
}

pub(crate) struct VideoRender {
    region: sys::MMAL_DISPLAYREGION_T,
    plane: Arc<Plane>,
    show: Arc<Show>,
}

impl VideoRender {
    pub(crate) fn new() -> VideoRender {
        let region = default_region();
        let plane = display::add(region);
        let show = Arc::new(Show { format: VideoFormat::default(), plane: plane.clone() });
        VideoRender { region, plane, show }
    }
}

impl Drop for VideoRender {
    fn drop(&mut self) {
        display::remove(&self.plane);
    }
}

impl Component for VideoRender {
    fn ports(&self) -> (usize, usize) {
        (1, 0)
    }

    fn commit(&mut self, _port: PortId, format: &VideoFormat) -> Result<Requirements, Status> {
        self.show = Arc::new(Show { format: *format, plane: self.plane.clone() });
        let size = format.frame_size() as u32;
        Ok([1, size, 2, size])
    }

    fn set_parameter(&mut self, port: PortId, id: u32, data: &[u8], _enabled: bool) -> Result<(), Status> {
        match id {
            sys::MMAL_PARAMETER_DISPLAYREGION if !port.is_control() => {
                let update = params::read::<sys::MMAL_DISPLAYREGION_T>(data)?;
                self.region = merge(&self.region, &update)?;
                self.plane.set_region(self.region);
                Ok(())
            }
            _ => Err(sys::MMAL_ENOSYS),
        }
    }

    fn get_parameter(&self, port: PortId, id: u32, out: &mut [u8]) -> Result<usize, Status> {
        match id {
            sys::MMAL_PARAMETER_DISPLAYREGION if !port.is_control() => Ok(params::reply(out, &self.region)),
            _ => Err(sys::MMAL_ENOSYS),
        }
    }

    fn processor(&self) -> Option<Processor> {
        Some(Processor::Encoder(self.show.clone()))
    }

    fn consumed(&mut self, port: PortId, flags: u32, io: &mut Io<'_>) {
        if flags & sys::MMAL_BUFFER_HEADER_FLAG_EOS != 0 {
            io.post(PendingEvent::Eos { port_type: port.kind, port_index: port.index as u32 });
        }
    }
}

/// Shows each input buffer's picture on the renderer's plane (a sink: the
/// "encoder" makes no bytes; it holds the buffer until the picture is on
/// the display).
struct Show {
    format: VideoFormat,
    plane: Arc<Plane>,
}

impl Encode for Show {
    fn encode(&self, input: BufPtr) -> Option<Encoded> {
        let opaque = self.format.encoding == sys::MMAL_ENCODING_OPAQUE;
        if input.length() == 0 {
            // An empty buffer: nothing to show. (picamerax's overlays send
            // one back for each buffer the renderer returns; on a Pi they
            // cycle as fast as they come back, keeping a core busy,
            // picamera#487: here a client's empty buffer too goes back on
            // the next refresh.)
            if !opaque {
                self.plane.wait_for_refresh();
            }
            return None;
        }
        let pixels = if opaque {
            input.with_data(crate::opaque::read).map(Pixels::Opaque)
        } else {
            let size = self.format.frame_size();
            input.with_data(|d| (d.len() >= size).then(|| Pixels::Bytes(Arc::from(&d[..size]))))
        };
        let Some(pixels) = pixels else {
            log::error!(
                "vc.ril.video_render: a buffer of {} bytes does not hold a {}x{} picture; not shown",
                input.length(),
                self.format.width,
                self.format.height
            );
            return None;
        };
        if !opaque {
            self.plane.wait_for_refresh();
        }
        self.plane.show(self.format, pixels);
        None
    }
}
