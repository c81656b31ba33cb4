//! Text and figures the camera writes over its frames (`MMAL_PARAMETER_ANNOTATE`, third and fourth revisions).

use super::prelude::*;

/// The longest annotation text, in bytes (the firmware's buffer holds 256
/// with the terminating NUL).
pub const ANNOTATE_MAX_TEXT: usize = 255;

/// `MMAL_PARAMETER_ANNOTATE`, its third revision (the one picamera sends;
/// raspistill sends the fourth, [`AnnotateV4`], which adds where the text
/// goes): text and figures the camera writes over its frames.
///
/// ```
/// use mmal::params::Annotate;
/// let note = Annotate { show_frame_num: true, ..Annotate::text("bench 3") };
/// assert!(note.enable);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Annotate {
    /// Whether anything is written.
    pub enable: bool,
    /// The text, at most [`ANNOTATE_MAX_TEXT`] bytes, no NUL.
    pub text: String,
    /// The shutter speed.
    pub show_shutter: bool,
    /// The analogue gain.
    pub show_analog_gain: bool,
    /// The lens position.
    pub show_lens: bool,
    /// The autofocus state.
    pub show_caf: bool,
    /// Motion figures.
    pub show_motion: bool,
    /// The frame number.
    pub show_frame_num: bool,
    /// A background behind the text (black unless `background` is set).
    pub text_background: bool,
    /// The background's colour as Y, U, V.
    pub background: Option<[u8; 3]>,
    /// The text's colour as Y, U, V (white by default).
    pub text_colour: Option<[u8; 3]>,
    /// Text height in pixels, 6 to 160; 0 leaves the firmware's default.
    pub text_size: u8,
}

impl Annotate {
    /// `text`, enabled, the rest as the firmware defaults them.
    pub fn text(text: impl Into<String>) -> Annotate {
        Annotate { enable: true, text: text.into(), ..Annotate::default() }
    }
}

impl Parameter for Annotate {
    const ID: u32 = sys::MMAL_PARAMETER_ANNOTATE;
    const NAME: &'static str = "ANNOTATE";
}

impl GetParameter for Annotate {
    type C = sys::MMAL_PARAMETER_CAMERA_ANNOTATE_V3_T;
    fn from_c(c: &Self::C, _size: usize) -> Result<Self> {
        let text: Vec<u8> = c.text.iter().map(|&b| b as u8).take_while(|&b| b != 0).collect();
        let colour = |on: i32, yuv: [u8; 3]| (on != 0).then_some(yuv);
        Ok(Annotate {
            enable: c.enable != 0,
            text: String::from_utf8_lossy(&text).into_owned(),
            show_shutter: c.show_shutter != 0,
            show_analog_gain: c.show_analog_gain != 0,
            show_lens: c.show_lens != 0,
            show_caf: c.show_caf != 0,
            show_motion: c.show_motion != 0,
            show_frame_num: c.show_frame_num != 0,
            text_background: c.enable_text_background != 0,
            background: colour(
                c.custom_background_colour,
                [c.custom_background_Y, c.custom_background_U, c.custom_background_V],
            ),
            text_colour: colour(c.custom_text_colour, [c.custom_text_Y, c.custom_text_U, c.custom_text_V]),
            text_size: c.text_size,
        })
    }
}

impl SetParameter for Annotate {
    type C = sys::MMAL_PARAMETER_CAMERA_ANNOTATE_V3_T;
    fn to_c(&self) -> Result<Self::C> {
        if self.text.len() > ANNOTATE_MAX_TEXT || self.text.contains('\0') {
            return Err(Error::InvalidParameter(format!(
                "annotation text of {} bytes: at most {ANNOTATE_MAX_TEXT}, with no NUL",
                self.text.len()
            )));
        }
        if self.text_size != 0 && !(6..=160).contains(&self.text_size) {
            return Err(Error::InvalidParameter(format!(
                "annotation text size {}: 6 to 160 pixels, or 0 for the default",
                self.text_size
            )));
        }
        let mut c = Self::C::with_id(Self::ID);
        for (dst, &b) in c.text.iter_mut().zip(self.text.as_bytes()) {
            *dst = b as core::ffi::c_char;
        }
        let flag = |b: bool| i32::from(b);
        c.enable = flag(self.enable);
        c.show_shutter = flag(self.show_shutter);
        c.show_analog_gain = flag(self.show_analog_gain);
        c.show_lens = flag(self.show_lens);
        c.show_caf = flag(self.show_caf);
        c.show_motion = flag(self.show_motion);
        c.show_frame_num = flag(self.show_frame_num);
        c.enable_text_background = flag(self.text_background);
        if let Some([y, u, v]) = self.background {
            c.custom_background_colour = 1;
            (c.custom_background_Y, c.custom_background_U, c.custom_background_V) = (y, u, v);
        }
        if let Some([y, u, v]) = self.text_colour {
            c.custom_text_colour = 1;
            (c.custom_text_Y, c.custom_text_U, c.custom_text_V) = (y, u, v);
        }
        c.text_size = self.text_size;
        Ok(c)
    }
}

/// Where [`AnnotateV4`] puts the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Justify {
    /// Centred (the default).
    #[default]
    Centre,
    /// From the left edge.
    Left,
    /// From the right edge.
    Right,
}

/// `MMAL_PARAMETER_ANNOTATE`, fourth revision: [`Annotate`] and where the
/// text goes. Older firmware takes only the third revision.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AnnotateV4 {
    /// What is written.
    pub annotate: Annotate,
    /// Which edge the text is placed from.
    pub justify: Justify,
    /// Pixels from that edge.
    pub x_offset: u32,
    /// Pixels from the top.
    pub y_offset: u32,
}

impl Parameter for AnnotateV4 {
    const ID: u32 = sys::MMAL_PARAMETER_ANNOTATE;
    const NAME: &'static str = "ANNOTATE";
}

impl GetParameter for AnnotateV4 {
    type C = sys::MMAL_PARAMETER_CAMERA_ANNOTATE_V4_T;
    /// A component holding the third revision answers with it: the
    /// placement is then the default.
    const MIN_SIZE: usize = size_of::<sys::MMAL_PARAMETER_CAMERA_ANNOTATE_V3_T>();
    fn from_c(c: &Self::C, size: usize) -> Result<Self> {
        // The fourth revision starts with the third's fields.
        let v3 = from_bytes::<sys::MMAL_PARAMETER_CAMERA_ANNOTATE_V3_T>(as_bytes(c));
        let justify = match c.justify {
            1 => Justify::Left,
            2 => Justify::Right,
            _ => Justify::Centre,
        };
        Ok(AnnotateV4 {
            annotate: Annotate::from_c(&v3, size.min(size_of::<sys::MMAL_PARAMETER_CAMERA_ANNOTATE_V3_T>()))?,
            justify,
            x_offset: c.x_offset,
            y_offset: c.y_offset,
        })
    }
}

impl SetParameter for AnnotateV4 {
    type C = sys::MMAL_PARAMETER_CAMERA_ANNOTATE_V4_T;
    fn to_c(&self) -> Result<Self::C> {
        let v3 = self.annotate.to_c()?;
        let mut c = from_bytes::<Self::C>(as_bytes(&v3));
        c.hdr = sys::MMAL_PARAMETER_HEADER_T { id: Self::ID, size: size_of::<Self::C>() as u32 };
        c.justify = match self.justify {
            Justify::Centre => 0,
            Justify::Left => 1,
            Justify::Right => 2,
        };
        (c.x_offset, c.y_offset) = (self.x_offset, self.y_offset);
        Ok(c)
    }
}
