//! Stills: [`StillOptions`], the file formats a path's extension names,
//! and [`Camera`](super::Camera)'s captures, from the still port through the image
//! encoder or from the video port.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::components::ImageEncoder;
use crate::connection::{Connection, ConnectionFlags};
use crate::error::{Error, Result};
use crate::flags::BufferFlags;
use crate::format::{Encoding, Format};
use crate::params::{Capture, Exif, ExifDisable, JpegQuality, RawCapture, Thumbnail};
use crate::stream::{Frame, FrameStream};

use super::{Camera, Stills, STILL_WAIT, VIDEO_ENCODING};

/// How to take a still: from which port, and what goes into the file
/// besides the picture.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct StillOptions {
    pub(super) use_video_port: bool,
    pub(super) quality: u32,
    pub(super) thumbnail: Option<(u32, u32, u32)>,
    pub(super) exif: Vec<(String, String)>,
    pub(super) exif_disabled: bool,
}

impl Default for StillOptions {
    fn default() -> StillOptions {
        StillOptions {
            use_video_port: false,
            quality: 85,
            thumbnail: Some((64, 48, 35)),
            exif: Vec::new(),
            exif_disabled: false,
        }
    }
}

impl StillOptions {
    /// The defaults: from the still port, JPEG quality 85, a 64×48
    /// thumbnail (raspistill's and picamera's choices).
    pub fn new() -> StillOptions {
        StillOptions::default()
    }

    /// Take the picture from the video port: quicker (no mode switch), at
    /// the video's quality, while recordings and frame streams go on.
    pub fn use_video_port(mut self, on: bool) -> Self {
        self.use_video_port = on;
        self
    }

    /// JPEG quality, 1 to 100.
    pub fn quality(mut self, quality: u32) -> Self {
        self.quality = quality;
        self
    }

    /// A thumbnail of `width`×`height` at JPEG `quality` in the EXIF
    /// block; `None` for none.
    pub fn thumbnail(mut self, thumbnail: Option<(u32, u32, u32)>) -> Self {
        self.thumbnail = thumbnail;
        self
    }

    /// An EXIF tag (`IFD0.Artist`, `EXIF.UserComment`…), added to those
    /// the encoder writes.
    pub fn exif(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.exif.push((key.into(), value.into()));
        self
    }

    /// No EXIF block at all.
    pub fn no_exif(mut self) -> Self {
        self.exif_disabled = true;
        self
    }

    pub(super) fn check(&self) -> Result<()> {
        if !(1..=100).contains(&self.quality) {
            return Err(Error::InvalidParameter(format!("JPEG quality {}: give 1 to 100", self.quality)));
        }
        Ok(())
    }
}

/// What a file's extension says to capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    /// Through the image encoder.
    Encoded(Encoding),
    /// A raw frame, its rows packed without padding.
    Raw(Encoding),
}

const EXTENSIONS: &str = "jpg, jpeg, png, gif, bmp, ppm, tga, yuv (I420), rgb, bgr, rgba, bgra";

fn file_kind(path: &Path) -> Result<FileKind> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    Ok(match ext.as_deref() {
        Some("jpg" | "jpeg") => FileKind::Encoded(Encoding::JPEG),
        Some("png") => FileKind::Encoded(Encoding::PNG),
        Some("gif") => FileKind::Encoded(Encoding::GIF),
        Some("bmp") => FileKind::Encoded(Encoding::BMP),
        Some("ppm") => FileKind::Encoded(Encoding::PPM),
        Some("tga") => FileKind::Encoded(Encoding::TGA),
        Some("yuv" | "i420") => FileKind::Raw(Encoding::I420),
        Some("rgb") => FileKind::Raw(Encoding::RGB24),
        Some("bgr") => FileKind::Raw(Encoding::BGR24),
        Some("rgba") => FileKind::Raw(Encoding::RGBA),
        Some("bgra") => FileKind::Raw(Encoding::BGRA),
        other => {
            return Err(Error::InvalidParameter(format!(
                "{}: {} extension; the format follows the extension, one of {EXTENSIONS}",
                path.display(),
                other.map_or_else(|| "no".to_owned(), |e| format!("an unknown `.{e}`"))
            )))
        }
    })
}

/// Sets the encoder's output to `encoding` (re-enabling its stream if that
/// changed) with `options`' quality, thumbnail and EXIF.
fn prepare_encoder<'s>(
    stills: &'s mut Stills,
    encoding: Encoding,
    (w, h): (u32, u32),
    options: &StillOptions,
) -> Result<&'s FrameStream> {
    let out = stills.encoder.output().clone();
    let current = stills.stream.as_ref().map(|s| s.format().encoding);
    if current != Some(encoding) {
        stills.stream = None;
        out.set_format(&Format::video(encoding, w, h))?;
    }
    out.set(&JpegQuality(options.quality))?;
    out.set(&ExifDisable(options.exif_disabled))?;
    for (key, value) in &options.exif {
        out.set(&Exif::new(key.clone(), value.clone()))?;
    }
    let thumbnail = options.thumbnail.map_or(Thumbnail::OFF, |(w, h, q)| Thumbnail::new(w, h, q));
    stills.encoder.control().set(&thumbnail)?;
    if stills.stream.is_none() {
        stills.stream = Some(out.enable_stream(3)?);
    }
    Ok(stills.stream.as_ref().expect("made above"))
}

fn collect_still(stream: &FrameStream) -> Result<Vec<u8>> {
    collect_still_with_pts(stream).map(|(file, _)| file)
}

/// One file from the encoder: its buffers up to the one that ends it, and
/// the picture's timestamp.
fn collect_still_with_pts(stream: &FrameStream) -> Result<(Vec<u8>, Option<i64>)> {
    let mut file = Vec::new();
    let mut pts = None;
    loop {
        let buffer = stream.next_timeout(STILL_WAIT)?;
        file.extend_from_slice(&buffer);
        pts = pts.or(buffer.pts());
        let flags = buffer.flags();
        if flags.contains(BufferFlags::FRAME_END) || flags.contains(BufferFlags::EOS) {
            return Ok((file, pts));
        }
    }
}

/// A raw frame's visible rows, without the padding.
fn packed_bytes(frame: &Frame) -> Result<Vec<u8>> {
    let planes = frame.planes()?;
    let mut out = Vec::new();
    for plane in [Some(planes.y), planes.u, planes.v].into_iter().flatten() {
        for y in 0..plane.height() {
            out.extend_from_slice(plane.row(y));
        }
    }
    Ok(out)
}

impl Camera {
    /// A JPEG from the still port, at the camera's resolution, with
    /// raspistill's EXIF block and thumbnail. The picture is taken after
    /// the call.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] if the camera gives nothing; as [`Port::set`](crate::Port::set).
    pub fn capture_jpeg(&self) -> Result<Vec<u8>> {
        self.capture_as(Encoding::JPEG, &StillOptions::default())
    }

    /// A still in `encoding` (JPEG, PNG, GIF, BMP, PPM or TGA) as `options`
    /// say. The picture is taken after the call: from the still port, the
    /// capture starts when asked; from the video port, frames taken before
    /// the call are skipped.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for another encoding or a bad option;
    /// [`Error::Timeout`] if the camera gives nothing.
    pub fn capture_as(&self, encoding: Encoding, options: &StillOptions) -> Result<Vec<u8>> {
        options.check()?;
        if !matches!(
            encoding,
            Encoding::JPEG | Encoding::PNG | Encoding::GIF | Encoding::BMP | Encoding::PPM | Encoding::TGA
        ) {
            return Err(Error::InvalidParameter(format!(
                "a still in {encoding}: the image encoder writes JPEG, PNG, GIF, BMP, PPM and TGA; for raw pictures \
                 read a frame (Camera::frames) or capture to a .yuv or .rgb file"
            )));
        }
        if options.use_video_port {
            return self.capture_from_video(encoding, options);
        }
        let pipe = self.pipe()?;
        let mut stills = pipe.stills.lock();
        let stream = prepare_encoder(&mut stills, encoding, pipe.shared.size, options)?;
        stream.flush()?;
        pipe.shared.camera.still().set(&Capture(true))?;
        collect_still(stream)
    }

    /// A JPEG with the sensor's raw Bayer data after it (the BRCM block),
    /// and that data parsed.
    ///
    /// # Errors
    ///
    /// As [`capture_jpeg`](Self::capture_jpeg), and
    /// [`raw::RawImage::parse`](crate::raw::RawImage::parse)'s.
    pub fn capture_raw(&self) -> Result<(Vec<u8>, crate::raw::RawImage)> {
        let still = self.shared()?.camera.still();
        still.set(&RawCapture(true))?;
        let jpeg = self.capture_jpeg();
        let off = still.set(&RawCapture(false));
        let jpeg = jpeg?;
        off?;
        let raw = crate::raw::RawImage::parse(&jpeg)?;
        Ok((jpeg, raw))
    }

    /// Captures to `path`, in the format its extension names: `jpg`/`jpeg`,
    /// `png`, `gif`, `bmp`, `ppm`, `tga` (through the image encoder), or a
    /// raw picture at the camera's resolution, its rows packed without
    /// padding: `yuv` (I420), `rgb`, `bgr`, `rgba`, `bgra`. From the still
    /// port (see [`capture_with`](Self::capture_with) for the video port).
    ///
    /// ```
    /// # use mmal::{Camera, CameraOptions};
    /// # let dir = std::env::temp_dir().join(format!("mmal-doc-png-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # let path = dir.join("picture.png");
    /// let camera = Camera::open(0, &CameraOptions::new().resolution(320, 240))?;
    /// camera.capture(&path)?;
    /// # assert_eq!(&std::fs::read(&path).unwrap()[1..4], b"PNG");
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), mmal::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for an extension it does not know (the
    /// message lists them; nothing is written); [`Error::Io`] if the file
    /// cannot be written; as [`capture_as`](Self::capture_as).
    pub fn capture(&self, path: impl AsRef<Path>) -> Result<()> {
        self.capture_with(path, &StillOptions::default())
    }

    /// [`capture`](Self::capture) with options.
    ///
    /// # Errors
    ///
    /// As for [`capture`](Self::capture).
    pub fn capture_with(&self, path: impl AsRef<Path>, options: &StillOptions) -> Result<()> {
        let path = path.as_ref();
        let kind = file_kind(path)?;
        // The file first: a path that cannot be written fails before the
        // camera works, and a capture that fails leaves no file.
        let mut file = File::create(path).map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
        let bytes = match kind {
            FileKind::Encoded(encoding) => self.capture_as(encoding, options),
            FileKind::Raw(encoding) if options.use_video_port => self.shared().and_then(|shared| {
                let (w, h) = shared.size;
                let frames = self.frames(encoding, w, h)?;
                let frame = frames.next_after_now(STILL_WAIT)?;
                packed_bytes(&frame)
            }),
            FileKind::Raw(encoding) => self.capture_raw_still(encoding),
        };
        let written = bytes.and_then(|bytes| {
            file.write_all(&bytes).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
        });
        if written.is_err() {
            drop(file);
            let _ = std::fs::remove_file(path);
        }
        written
    }

    /// A raw still in `encoding` from the still port itself: its tunnel
    /// to the encoder is taken down meanwhile and made again after.
    fn capture_raw_still(&self, encoding: Encoding) -> Result<Vec<u8>> {
        let pipe = self.pipe()?;
        let still = pipe.shared.camera.still();
        let (w, h) = pipe.shared.size;
        let mut stills = pipe.stills.lock();
        stills.stream = None;
        stills.link = None;
        let taken = (|| {
            still.set_format(&Format::video(encoding, w, h))?;
            let stream = still.enable_stream(1)?;
            still.set(&Capture(true))?;
            let frame = stream.next_timeout(STILL_WAIT)?;
            packed_bytes(&frame)
        })();
        let restored = still
            .set_format(&Format::video(Encoding::OPAQUE, w, h))
            .and_then(|()| Connection::new(still, stills.encoder.input(), ConnectionFlags::default()));
        match restored {
            Ok(link) => stills.link = Some(link),
            Err(e) => {
                log::error!("camera: the still port's tunnel to the encoder could not be made again: {e}");
                return Err(taken.err().unwrap_or(e));
            }
        }
        taken
    }

    fn capture_from_video(&self, encoding: Encoding, options: &StillOptions) -> Result<Vec<u8>> {
        let called = crate::ffi::monotonic_now();
        let shared = self.shared()?;
        let claim = shared.claim()?;
        let out = claim.port();
        let (w, h) = shared.size;
        out.set_format(&Format::video(VIDEO_ENCODING, w, h).with_frame_rate(shared.frame_rate))?;
        let encoder = ImageEncoder::new()?;
        let link = Connection::new(out, encoder.input(), ConnectionFlags::default())?;
        let mut stills = Stills { stream: None, link: Some(link), encoder };
        let stream = prepare_encoder(&mut stills, encoding, (w, h), options)?;
        loop {
            let (file, pts) = collect_still_with_pts(stream)?;
            let taken = pts.map(|us| shared.clock.monotonic(Duration::from_micros(us.max(0) as u64)));
            if taken.is_none_or(|t| t >= called) {
                drop(stills);
                drop(claim);
                return Ok(file);
            }
        }
    }
}
