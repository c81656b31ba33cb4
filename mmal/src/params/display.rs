//! Where and how a renderer (`vc.ril.video_render`) shows its picture.

use super::prelude::*;
use crate::format::Rect;

/// How a renderer turns and mirrors the picture (`MMAL_DISPLAYTRANSFORM_T`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisplayTransform {
    /// As it is.
    Rot0,
    /// Mirrored left to right.
    MirrorRot0,
    /// Mirrored top to bottom.
    MirrorRot180,
    /// Turned half round.
    Rot180,
    /// Mirrored, then turned a quarter clockwise.
    MirrorRot90,
    /// Turned three quarters clockwise.
    Rot270,
    /// Turned a quarter clockwise.
    Rot90,
    /// Mirrored, then turned three quarters clockwise.
    MirrorRot270,
    /// A value this crate does not name.
    Other(u32),
}

impl DisplayTransform {
    /// The raw value.
    pub fn to_raw(self) -> u32 {
        match self {
            DisplayTransform::Rot0 => sys::MMAL_DISPLAY_ROT0,
            DisplayTransform::MirrorRot0 => sys::MMAL_DISPLAY_MIRROR_ROT0,
            DisplayTransform::MirrorRot180 => sys::MMAL_DISPLAY_MIRROR_ROT180,
            DisplayTransform::Rot180 => sys::MMAL_DISPLAY_ROT180,
            DisplayTransform::MirrorRot90 => sys::MMAL_DISPLAY_MIRROR_ROT90,
            DisplayTransform::Rot270 => sys::MMAL_DISPLAY_ROT270,
            DisplayTransform::Rot90 => sys::MMAL_DISPLAY_ROT90,
            DisplayTransform::MirrorRot270 => sys::MMAL_DISPLAY_MIRROR_ROT270,
            DisplayTransform::Other(v) => v,
        }
    }

    /// The transform for a raw value.
    pub fn from_raw(v: u32) -> DisplayTransform {
        [
            DisplayTransform::Rot0,
            DisplayTransform::MirrorRot0,
            DisplayTransform::MirrorRot180,
            DisplayTransform::Rot180,
            DisplayTransform::MirrorRot90,
            DisplayTransform::Rot270,
            DisplayTransform::Rot90,
            DisplayTransform::MirrorRot270,
        ]
        .into_iter()
        .find(|t| t.to_raw() == v)
        .unwrap_or(DisplayTransform::Other(v))
    }
}

/// `MMAL_PARAMETER_DISPLAYREGION` on a renderer's input: the fields set
/// (`Some`) are changed, the others left as they are; read back, every
/// field is `Some`.
///
/// ```
/// use mmal::params::DisplayRegion;
/// use mmal::Rect;
/// let region = DisplayRegion {
///     fullscreen: Some(false),
///     dest_rect: Some(Rect { x: 0, y: 0, width: 640, height: 480 }),
///     layer: Some(2),
///     alpha: Some(255),
///     ..Default::default()
/// };
/// # let _ = region;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DisplayRegion {
    /// Which display (0 is the main one).
    pub display: Option<u32>,
    /// The whole screen, or `dest_rect`.
    pub fullscreen: Option<bool>,
    /// Turned and mirrored.
    pub transform: Option<DisplayTransform>,
    /// Where on the screen, when not full screen.
    pub dest_rect: Option<Rect>,
    /// Which part of the picture.
    pub src_rect: Option<Rect>,
    /// Stretched to fill, ignoring its aspect ratio.
    pub noaspect: Option<bool>,
    /// Fill (0) or letterbox (1), or a stereo mode.
    pub mode: Option<u32>,
    /// Layer: higher layers are drawn over lower ones.
    pub layer: Option<i32>,
    /// Opacity, 0 (clear) to 255 (opaque).
    pub alpha: Option<u8>,
}

impl Parameter for DisplayRegion {
    const ID: u32 = sys::MMAL_PARAMETER_DISPLAYREGION;
    const NAME: &'static str = "DISPLAYREGION";
}

fn rect(r: sys::MMAL_RECT_T) -> Rect {
    Rect { x: r.x, y: r.y, width: r.width, height: r.height }
}

fn c_rect(r: Rect) -> sys::MMAL_RECT_T {
    sys::MMAL_RECT_T { x: r.x, y: r.y, width: r.width, height: r.height }
}

impl GetParameter for DisplayRegion {
    type C = sys::MMAL_DISPLAYREGION_T;
    fn from_c(c: &Self::C, _size: usize) -> Result<Self> {
        Ok(DisplayRegion {
            display: Some(c.display_num),
            fullscreen: Some(c.fullscreen != 0),
            transform: Some(DisplayTransform::from_raw(c.transform)),
            dest_rect: Some(rect(c.dest_rect)),
            src_rect: Some(rect(c.src_rect)),
            noaspect: Some(c.noaspect != 0),
            mode: Some(c.mode),
            layer: Some(c.layer),
            alpha: Some((c.alpha & 0xff) as u8),
        })
    }
}

impl SetParameter for DisplayRegion {
    type C = sys::MMAL_DISPLAYREGION_T;
    fn to_c(&self) -> Result<Self::C> {
        let mut c = Self::C::with_id(Self::ID);
        let mut set = 0;
        if let Some(v) = self.display {
            (c.display_num, set) = (v, set | sys::MMAL_DISPLAY_SET_NUM);
        }
        if let Some(v) = self.fullscreen {
            (c.fullscreen, set) = (v as i32, set | sys::MMAL_DISPLAY_SET_FULLSCREEN);
        }
        if let Some(v) = self.transform {
            (c.transform, set) = (v.to_raw(), set | sys::MMAL_DISPLAY_SET_TRANSFORM);
        }
        if let Some(v) = self.dest_rect {
            (c.dest_rect, set) = (c_rect(v), set | sys::MMAL_DISPLAY_SET_DEST_RECT);
        }
        if let Some(v) = self.src_rect {
            (c.src_rect, set) = (c_rect(v), set | sys::MMAL_DISPLAY_SET_SRC_RECT);
        }
        if let Some(v) = self.noaspect {
            (c.noaspect, set) = (v as i32, set | sys::MMAL_DISPLAY_SET_NOASPECT);
        }
        if let Some(v) = self.mode {
            (c.mode, set) = (v, set | sys::MMAL_DISPLAY_SET_MODE);
        }
        if let Some(v) = self.layer {
            (c.layer, set) = (v, set | sys::MMAL_DISPLAY_SET_LAYER);
        }
        if let Some(v) = self.alpha {
            (c.alpha, set) = (u32::from(v), set | sys::MMAL_DISPLAY_SET_ALPHA);
        }
        c.set = set;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the fields given are marked set; every field reads back.
    #[test]
    fn regions_set_only_their_fields_and_read_back_whole() {
        let some = DisplayRegion { layer: Some(-2), alpha: Some(128), ..Default::default() };
        let c = some.to_c().unwrap();
        assert_eq!(c.set, sys::MMAL_DISPLAY_SET_LAYER | sys::MMAL_DISPLAY_SET_ALPHA);
        assert_eq!((c.layer, c.alpha), (-2, 128));
        let all = DisplayRegion {
            display: Some(1),
            fullscreen: Some(true),
            transform: Some(DisplayTransform::MirrorRot90),
            dest_rect: Some(Rect { x: 1, y: 2, width: 3, height: 4 }),
            src_rect: Some(Rect { x: 5, y: 6, width: 7, height: 8 }),
            noaspect: Some(true),
            mode: Some(1),
            layer: Some(7),
            alpha: Some(9),
        };
        let c = all.to_c().unwrap();
        assert_eq!(c.set, 0x1ff & !sys::MMAL_DISPLAY_SET_PIXEL | sys::MMAL_DISPLAY_SET_ALPHA);
        assert_eq!(DisplayRegion::from_c(&c, size_of::<sys::MMAL_DISPLAYREGION_T>()).unwrap(), all);
        assert_eq!(DisplayTransform::from_raw(42), DisplayTransform::Other(42));
    }
}
