//! [`Camera`]: the camera in a few lines, built on the typed components.
//!
//! The pipeline it keeps: the camera's preview output tunnelled to a null
//! sink (so that exposure and white balance run), its still output to an
//! image encoder, and its video output to a splitter, whose four outputs
//! serve frame streams, recordings and video-port stills at once, each
//! independent of the others.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;

use crate::component::Port;
use crate::components::{
    CameraComponent, CameraInfoComponent, ImageEncoder, NullSink, Renderer, Splitter, SplitterOutput,
};
use crate::connection::{Connection, ConnectionFlags};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::flags::BufferFlags;
use crate::format::{Encoding, Format};
use crate::lens_shading::{LensShadingTable, UploadedTable};
use crate::params::{
    self, AwbGains, AwbMode, Brightness, CameraConfig, CameraNum, CameraSettings, Capture, ChangeEventRequest,
    Contrast, Drc, Exif, ExifDisable, ExposureCompensation, ExposureMode, ImageEffect, Iso, JpegQuality, MeteringMode,
    Mirror, RawCapture, Rotation, Saturation, SensorMode, Sharpness, ShutterSpeed, Thumbnail, VideoStabilisation,
};
use crate::stream::{CallbackPort, Frame, FrameStream};

mod frames;
mod modes;
mod recording;

pub use frames::{FrameCallback, Frames};
pub use modes::SensorModeInfo;
pub use recording::{CircularBuffer, Recording, VideoOutput, WithMotion};

/// The camera's video output, and the splitter's outputs unless a frame
/// stream asks for another encoding.
pub(crate) const VIDEO_ENCODING: Encoding = Encoding::I420;

/// How long one buffer of a still may take before [`Error::Timeout`]
/// (a full-resolution still takes about a second on a Pi).
const STILL_WAIT: Duration = Duration::from_secs(20);

/// How the camera's timestamps (microseconds since it was enabled) map to
/// the host's clocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Clock {
    /// `CLOCK_MONOTONIC` when the camera's clock read 0.
    monotonic_at_zero: Duration,
    /// The wall clock at that moment.
    wall_at_zero: SystemTime,
}

impl Clock {
    pub(crate) fn monotonic(&self, timestamp: Duration) -> Duration {
        self.monotonic_at_zero + timestamp
    }

    pub(crate) fn wall(&self, timestamp: Duration) -> SystemTime {
        self.wall_at_zero + timestamp
    }
}

/// How to open a [`Camera`]: the size of its pictures, its frame rate,
/// the sensor mode, and the picture's orientation. The defaults: 1280×720
/// at 30 fps, the firmware's choice of mode, no flip or rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct CameraOptions {
    width: u32,
    height: u32,
    frame_rate: u32,
    sensor_mode: u32,
    hflip: bool,
    vflip: bool,
    rotation: u32,
}

impl Default for CameraOptions {
    fn default() -> CameraOptions {
        CameraOptions {
            width: 1280,
            height: 720,
            frame_rate: 30,
            sensor_mode: 0,
            hflip: false,
            vflip: false,
            rotation: 0,
        }
    }
}

impl CameraOptions {
    /// The defaults (see [`CameraOptions`]).
    pub fn new() -> CameraOptions {
        CameraOptions::default()
    }

    /// The size of stills and of the video the camera makes (frames may be
    /// asked for at any other size).
    pub fn resolution(mut self, width: u32, height: u32) -> Self {
        (self.width, self.height) = (width, height);
        self
    }

    /// Frames per second.
    pub fn frame_rate(mut self, fps: u32) -> Self {
        self.frame_rate = fps;
        self
    }

    /// The sensor mode (1 and up, see [`Camera::sensor_modes`]); 0 lets
    /// the firmware choose from the size and frame rate.
    pub fn sensor_mode(mut self, mode: u32) -> Self {
        self.sensor_mode = mode;
        self
    }

    /// Mirror left to right.
    pub fn hflip(mut self, on: bool) -> Self {
        self.hflip = on;
        self
    }

    /// Mirror top to bottom.
    pub fn vflip(mut self, on: bool) -> Self {
        self.vflip = on;
        self
    }

    /// Rotate by 0, 90, 180 or 270 degrees.
    pub fn rotation(mut self, degrees: u32) -> Self {
        self.rotation = degrees;
        self
    }

    /// The size asked for.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The frame rate asked for.
    pub fn fps(&self) -> u32 {
        self.frame_rate
    }

    fn check(&self, full: (u32, u32), modes: &[SensorModeInfo]) -> Result<()> {
        let bad = |why: String| Err(Error::InvalidParameter(why));
        let (w, h) = (self.width, self.height);
        if w < 16 || h < 16 || w % 2 != 0 || h % 2 != 0 {
            return bad(format!("camera resolution {w}x{h}: give an even width and height of 16 or more"));
        }
        if w > full.0 || h > full.1 {
            return bad(format!("camera resolution {w}x{h}: the sensor's full resolution is {}x{}", full.0, full.1));
        }
        let top = modes.iter().map(|m| m.fps.1).fold(0.0, f64::max);
        if self.frame_rate == 0 || (top > 0.0 && f64::from(self.frame_rate) > top) {
            return bad(format!("frame rate {}: give 1 to {top} frames per second", self.frame_rate));
        }
        if self.sensor_mode as usize > modes.len() {
            return bad(format!(
                "sensor mode {}: this sensor has modes 1 to {} (0 to let it choose)",
                self.sensor_mode,
                modes.len()
            ));
        }
        if let Some(mode) = modes.get((self.sensor_mode as usize).wrapping_sub(1)) {
            let fps = f64::from(self.frame_rate);
            if fps < mode.fps.0.floor() || fps > mode.fps.1 {
                return bad(format!(
                    "frame rate {} in sensor mode {}: that mode runs at {} to {} frames per second",
                    self.frame_rate, self.sensor_mode, mode.fps.0, mode.fps.1
                ));
            }
        }
        if self.rotation % 90 != 0 || self.rotation >= 360 {
            return bad(format!("rotation {}: give 0, 90, 180 or 270", self.rotation));
        }
        Ok(())
    }
}

/// The camera's picture settings, applied together with
/// [`Camera::set_settings`] and read back with [`Camera::settings`]. The
/// defaults are the firmware's (and picamera's).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Settings {
    /// How exposure is chosen.
    pub exposure_mode: ExposureMode,
    /// Exposure time in microseconds; 0 lets exposure choose.
    pub shutter_speed_us: u32,
    /// ISO (100 to 800); 0 is automatic.
    pub iso: u32,
    /// Exposure compensation in steps of 1/6 EV (-25 to 25).
    pub exposure_compensation: i32,
    /// How exposure is measured.
    pub metering: MeteringMode,
    /// How white balance is chosen.
    pub awb_mode: AwbMode,
    /// Red and blue gains, used while `awb_mode` is [`AwbMode::Off`].
    pub awb_gains: Option<(f64, f64)>,
    /// 0 to 100 (50 is neutral).
    pub brightness: i32,
    /// -100 to 100 (0 is neutral).
    pub contrast: i32,
    /// -100 to 100 (0 is neutral).
    pub saturation: i32,
    /// -100 to 100 (0 is neutral).
    pub sharpness: i32,
    /// An effect on the picture.
    pub image_effect: ImageEffect,
    /// Dynamic range compression.
    pub drc: Drc,
    /// Video stabilisation.
    pub video_stabilisation: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            exposure_mode: ExposureMode::Auto,
            shutter_speed_us: 0,
            iso: 0,
            exposure_compensation: 0,
            metering: MeteringMode::Average,
            awb_mode: AwbMode::Auto,
            awb_gains: None,
            brightness: 50,
            contrast: 0,
            saturation: 0,
            sharpness: 0,
            image_effect: ImageEffect::None,
            drc: Drc::Off,
            video_stabilisation: false,
        }
    }
}

impl Settings {
    /// Each value checked before anything is sent.
    fn check(&self) -> Result<()> {
        params::encoded(&Brightness(self.brightness))?;
        params::encoded(&Contrast(self.contrast))?;
        params::encoded(&Saturation(self.saturation))?;
        params::encoded(&Sharpness(self.sharpness))?;
        if !(-25..=25).contains(&self.exposure_compensation) {
            return Err(Error::InvalidParameter(format!(
                "exposure compensation {}: give -25 to 25 (steps of 1/6 EV)",
                self.exposure_compensation
            )));
        }
        if self.iso != 0 && !(100..=1600).contains(&self.iso) {
            return Err(Error::InvalidParameter(format!("ISO {}: give 100 to 800, or 0 for automatic", self.iso)));
        }
        if let Some((r, b)) = self.awb_gains {
            params::encoded(&AwbGains { red: r, blue: b })?;
        }
        Ok(())
    }

    fn apply(&self, control: &Port) -> Result<()> {
        control.set(&self.exposure_mode)?;
        control.set(&ShutterSpeed(self.shutter_speed_us))?;
        control.set(&Iso(self.iso))?;
        control.set(&ExposureCompensation(self.exposure_compensation))?;
        control.set(&self.metering)?;
        control.set(&self.awb_mode)?;
        if let Some((red, blue)) = self.awb_gains {
            control.set(&AwbGains { red, blue })?;
        }
        control.set(&Brightness(self.brightness))?;
        control.set(&Contrast(self.contrast))?;
        control.set(&Saturation(self.saturation))?;
        control.set(&Sharpness(self.sharpness))?;
        control.set(&self.image_effect)?;
        control.set(&self.drc)?;
        control.set(&VideoStabilisation(self.video_stabilisation))?;
        Ok(())
    }

    fn read(control: &Port) -> Result<Settings> {
        let awb_mode: AwbMode = control.get()?;
        let awb_gains =
            if awb_mode == AwbMode::Off { control.get::<AwbGains>().ok().map(|g| (g.red, g.blue)) } else { None };
        Ok(Settings {
            exposure_mode: control.get()?,
            shutter_speed_us: control.get::<ShutterSpeed>()?.0,
            iso: control.get::<Iso>()?.0,
            exposure_compensation: control.get::<ExposureCompensation>()?.0,
            metering: control.get()?,
            awb_mode,
            awb_gains,
            brightness: control.get::<Brightness>()?.0,
            contrast: control.get::<Contrast>()?.0,
            saturation: control.get::<Saturation>()?.0,
            sharpness: control.get::<Sharpness>()?.0,
            image_effect: control.get()?,
            drc: control.get()?,
            video_stabilisation: control.get::<VideoStabilisation>()?.0,
        })
    }
}

/// How to take a still: from which port, and what goes into the file
/// besides the picture.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct StillOptions {
    use_video_port: bool,
    quality: u32,
    thumbnail: Option<(u32, u32, u32)>,
    exif: Vec<(String, String)>,
    exif_disabled: bool,
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

    fn check(&self) -> Result<()> {
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

/// What frame streams, recordings and video-port stills share: the camera
/// and its splitter, which of the splitter's outputs are in use, the
/// clock, and the last settings the camera reported.
pub(crate) struct Shared {
    camera: CameraComponent,
    splitter: Splitter,
    /// Which splitter outputs are taken.
    taken: Mutex<[bool; 4]>,
    /// The control port, its `CAMERA_SETTINGS` reports going to `reports`.
    _control: CallbackPort,
    reports: Arc<Mutex<Reports>>,
    clock: Clock,
    size: (u32, u32),
    frame_rate: u32,
}

impl Shared {
    /// The settings the camera last reported before `arrived` (a frame's
    /// arrival on `CLOCK_MONOTONIC`).
    pub(crate) fn settings_before(&self, arrived: Duration) -> Option<CameraSettings> {
        self.reports.lock().before(arrived)
    }

    /// The settings the camera last reported.
    fn latest_settings(&self) -> Option<CameraSettings> {
        self.reports.lock().before(Duration::MAX)
    }

    pub(crate) fn clock(&self) -> Clock {
        self.clock
    }

    /// Takes a free splitter output; the camera's video output captures
    /// while any is taken.
    fn claim(self: &Arc<Shared>) -> Result<Claim> {
        let mut taken = self.taken.lock();
        let Some(index) = taken.iter().position(|t| !t) else {
            return Err(Error::State(
                "the camera's four video outputs (frame streams, recordings, video-port stills) are all in use: \
                 drop one first"
                    .into(),
            ));
        };
        if taken.iter().all(|t| !t) {
            self.camera.video().set(&Capture(true))?;
        }
        taken[index] = true;
        Ok(Claim { shared: self.clone(), output: SplitterOutput::ALL[index] })
    }
}

/// The camera's `CAMERA_SETTINGS` reports, with when each arrived: the
/// last few, and the one before them.
#[derive(Debug, Default)]
pub(crate) struct Reports {
    recent: std::collections::VecDeque<(Duration, CameraSettings)>,
    older: Option<CameraSettings>,
}

/// Reports kept with their arrival: more than a stream's queue holds.
const REPORTS_KEPT: usize = 16;

impl Reports {
    fn push(&mut self, arrived: Duration, settings: CameraSettings) {
        if self.recent.len() == REPORTS_KEPT {
            self.older = self.recent.pop_front().map(|(_, s)| s);
        }
        self.recent.push_back((arrived, settings));
    }

    fn before(&self, arrived: Duration) -> Option<CameraSettings> {
        self.recent.iter().rev().find(|(at, _)| *at <= arrived).map(|(_, s)| *s).or(self.older)
    }
}

/// One splitter output in use; dropping it frees it.
pub(crate) struct Claim {
    shared: Arc<Shared>,
    output: SplitterOutput,
}

impl Claim {
    pub(crate) fn port(&self) -> &Port {
        self.shared.splitter.output(self.output)
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut taken = self.shared.taken.lock();
        taken[self.output.index()] = false;
        if taken.iter().all(|t| !t) {
            if let Err(e) = self.shared.camera.video().set(&Capture(false)) {
                log::warn!("camera: stopping the video output: {e}");
            }
        }
    }
}

/// The still path: the encoder's output stream in the encoding of the
/// last still.
struct Stills {
    // Dropped in this order: the stream, the tunnel, the encoder.
    stream: Option<FrameStream>,
    /// `None` only while a raw still is taken from the port itself.
    link: Option<Connection>,
    encoder: ImageEncoder,
}

/// The camera, opened and running: stills, frames, recordings, settings.
///
/// ```
/// use mmal::{Camera, CameraOptions};
/// let camera = Camera::open(0, &CameraOptions::default())?;
/// let jpeg = camera.capture_jpeg()?;
/// # assert_eq!(&jpeg[..2], &[0xff, 0xd8]);
/// # Ok::<(), mmal::Error>(())
/// ```
///
/// ```
/// # use mmal::{Camera, CameraOptions, Encoding};
/// let camera = Camera::open(0, &CameraOptions::default())?;
/// for frame in camera.frames(Encoding::RGB24, 640, 480)?.take(3) {
///     println!("{:?} taken at {:?}", frame?.as_array()?.dim(), std::time::Instant::now());
/// }
/// # Ok::<(), mmal::Error>(())
/// ```
///
/// ```
/// # use std::time::Duration;
/// # use mmal::{Camera, CameraOptions};
/// # mmal::emulator::set_pacing(mmal::emulator::Pacing::Unlimited);
/// # let dir = std::env::temp_dir().join(format!("mmal-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # std::env::set_current_dir(&dir).unwrap();
/// let camera = Camera::open(0, &CameraOptions::new().resolution(640, 480))?;
/// camera.record("video.h264", Duration::from_secs(10))?;
/// # assert!(std::fs::metadata("video.h264").unwrap().len() > 1000);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), mmal::Error>(())
/// ```
///
/// `Camera` is `Send` and `Sync` (its parts are handles to libmmal
/// objects, which any thread may use, and state behind mutexes): frames
/// can be read on one thread while another takes stills.
///
/// Frames and recordings borrow the camera, so it cannot be reconfigured
/// ([`reconfigure`](Self::reconfigure) takes `&mut self`) or dropped while
/// they run. Up to four run at once (the splitter's outputs), each
/// independent: record H.264 while reading frames and taking video-port
/// stills.
pub struct Camera {
    /// `None` only if a [`reconfigure`](Self::reconfigure) failed and the
    /// old pipeline could not be started again.
    pipe: Option<Pipeline>,
    number: u32,
    options: CameraOptions,
    sensor: String,
    full: (u32, u32),
    modes: Vec<SensorModeInfo>,
    lens: Option<(LensShadingTable, UploadedTable)>,
}

/// The components and connections of an open camera.
struct Pipeline {
    // Dropped in this order: the still path, the links, then what they join.
    stills: Mutex<Stills>,
    _video_link: Connection,
    preview: Mutex<Preview>,
    shared: Arc<Shared>,
}

/// Where the camera's preview output goes: a null sink (exposure and white
/// balance need it running), or a renderer.
struct Preview {
    // Dropped in this order: the tunnel, then what it joins.
    link: Option<Connection>,
    renderer: Option<Renderer>,
    null: NullSink,
}

impl std::fmt::Debug for Camera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Camera")
            .field("number", &self.number)
            .field("sensor", &self.sensor)
            .field("options", &self.options)
            .finish()
    }
}

impl Camera {
    /// Opens camera `number` (0 unless a Compute Module has two) as
    /// `options` says, and starts it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for a camera that is not there, or a
    /// size, frame rate, sensor mode or rotation the sensor cannot give,
    /// saying what it can; what creating and connecting the components
    /// returns (on a Pi: [`Error::CameraNotEnabled`],
    /// [`Error::CameraNotDetected`], the camera in use).
    pub fn open(number: u32, options: &CameraOptions) -> Result<Camera> {
        let info = CameraInfoComponent::new()?.info()?;
        let entry = info.cameras.get(number as usize).ok_or_else(|| {
            Error::InvalidParameter(format!(
                "camera {number}: {} camera(s) attached{}",
                info.cameras.len(),
                if info.cameras.is_empty() { String::new() } else { format!(" (0 to {})", info.cameras.len() - 1) }
            ))
        })?;
        let (full, modes) = modes::modes_of(&entry.name).unwrap_or(((entry.max_width, entry.max_height), Vec::new()));
        options.check(full, &modes)?;
        Camera::start(number, *options, entry.name.clone(), full, modes).map_err(|e| in_use(e, number))
    }

    fn start(
        number: u32,
        options: CameraOptions,
        sensor: String,
        full: (u32, u32),
        modes: Vec<SensorModeInfo>,
    ) -> Result<Camera> {
        let (w, h) = options.size();
        let camera = CameraComponent::new()?;
        let control = camera.control();
        control.set(&CameraNum(number as i32))?;
        if options.sensor_mode != 0 {
            control.set(&SensorMode(options.sensor_mode))?;
        }
        control.set(&CameraConfig::for_size(w, h))?;
        let mirror = match (options.hflip, options.vflip) {
            (false, false) => Mirror::None,
            (true, false) => Mirror::Horizontal,
            (false, true) => Mirror::Vertical,
            (true, true) => Mirror::Both,
        };
        for port in [camera.preview(), camera.video(), camera.still()] {
            port.set(&mirror)?;
            port.set(&Rotation(options.rotation as i32))?;
        }
        let video = Format::video(Encoding::OPAQUE, w, h).with_frame_rate(options.frame_rate);
        camera.preview().set_format(&video)?;
        // The video output in I420: the splitter copies it to frame streams
        // and encoders as it is, or converts it, with no image to render.
        camera.video().set_format(&video.with_encoding(VIDEO_ENCODING))?;
        camera.still().set_format(&Format::video(Encoding::OPAQUE, w, h))?;

        let null = NullSink::new()?;
        let preview_link = Connection::new(camera.preview(), null.input(), ConnectionFlags::default())?;
        let splitter = Splitter::new()?;
        let video_link = Connection::new(camera.video(), splitter.input(), ConnectionFlags::default())?;
        let encoder = ImageEncoder::new()?;
        let still_link = Connection::new(camera.still(), encoder.input(), ConnectionFlags::default())?;

        let reports = Arc::new(Mutex::new(Reports {
            recent: std::collections::VecDeque::with_capacity(REPORTS_KEPT),
            older: None,
        }));
        let sink = reports.clone();
        let report_id = <CameraSettings as params::Parameter>::ID;
        let control_port = control.enable_callback(move |buffer| {
            if let Some(Event::ParameterChanged { id, payload }) = buffer.event() {
                if *id == report_id {
                    match params::from_payload::<CameraSettings>(payload) {
                        Ok(s) => sink.lock().push(crate::ffi::monotonic_now(), s),
                        Err(e) => log::warn!("camera settings report: {e}"),
                    }
                }
            }
        })?;
        control.set(&ChangeEventRequest::of::<CameraSettings>())?;
        // The camera's clock starts inside `enable`: taking the moment
        // before it as its zero maps each frame to a time no later than it
        // was taken (never in the future), early by at most the call's
        // duration.
        let monotonic_at_zero = crate::ffi::monotonic_now();
        let wall_at_zero = SystemTime::now();
        camera.enable()?;
        let clock = Clock { monotonic_at_zero, wall_at_zero };
        let shared = Arc::new(Shared {
            camera,
            splitter,
            taken: Mutex::new([false; 4]),
            _control: control_port,
            reports,
            clock,
            size: (w, h),
            frame_rate: options.frame_rate,
        });
        let pipe = Pipeline {
            stills: Mutex::new(Stills { stream: None, link: Some(still_link), encoder }),
            _video_link: video_link,
            preview: Mutex::new(Preview { link: Some(preview_link), renderer: None, null }),
            shared,
        };
        Ok(Camera { pipe: Some(pipe), number, options, sensor, full, modes, lens: None })
    }

    /// Changes the size, frame rate, sensor mode or orientation: the camera
    /// stops, and starts again as `options` says, with its settings and
    /// lens shading table kept.
    ///
    /// # Errors
    ///
    /// As for [`open`](Self::open); on an error the camera runs as before.
    pub fn reconfigure(&mut self, options: &CameraOptions) -> Result<()> {
        options.check(self.full, &self.modes)?;
        let settings = self.settings()?;
        let lens = self.lens.take();
        let old_options = self.options;
        // The old pipeline goes first: a camera is opened once at a time.
        self.pipe = None;
        let (number, sensor, full, modes) = (self.number, self.sensor.clone(), self.full, self.modes.clone());
        match Camera::start(number, *options, sensor.clone(), full, modes.clone()).map_err(|e| in_use(e, number)) {
            Ok(fresh) => {
                *self = fresh;
                self.restore(settings, lens)
            }
            Err(e) => {
                // Back as it was.
                *self = Camera::start(number, old_options, sensor, full, modes)?;
                self.restore(settings, lens)?;
                Err(e)
            }
        }
    }

    fn pipe(&self) -> Result<&Pipeline> {
        self.pipe.as_ref().ok_or_else(|| {
            Error::State("the camera could not be started again after a failed reconfigure: open it again".into())
        })
    }

    pub(crate) fn shared(&self) -> Result<&Arc<Shared>> {
        Ok(&self.pipe()?.shared)
    }

    fn restore(&mut self, settings: Settings, lens: Option<(LensShadingTable, UploadedTable)>) -> Result<()> {
        settings.apply(&self.shared()?.camera.control())?;
        if let Some((table, _)) = lens {
            self.set_lens_shading(&table)?;
        }
        Ok(())
    }

    /// The options it runs with.
    pub fn options(&self) -> &CameraOptions {
        &self.options
    }

    /// The sensor's name (`ov5647`, `imx219`, `imx477`).
    pub fn sensor(&self) -> &str {
        &self.sensor
    }

    /// The sensor's full resolution.
    pub fn full_resolution(&self) -> (u32, u32) {
        self.full
    }

    /// The sensor's modes: size, frame-rate range, binning, field of view.
    ///
    /// ```
    /// # use mmal::{Camera, CameraOptions};
    /// let camera = Camera::open(0, &CameraOptions::default())?;
    /// for m in camera.sensor_modes() {
    ///     println!("mode {}: {:?} at {:?} fps, binning {:?}", m.mode, m.size, m.fps, m.binning);
    /// }
    /// # assert!(!camera.sensor_modes().is_empty());
    /// # Ok::<(), mmal::Error>(())
    /// ```
    pub fn sensor_modes(&self) -> &[SensorModeInfo] {
        &self.modes
    }

    /// The camera component, for what this type does not cover.
    ///
    /// # Errors
    ///
    /// [`Error::State`] after a failed [`reconfigure`](Self::reconfigure)
    /// that left the camera closed.
    pub fn component(&self) -> Result<&CameraComponent> {
        Ok(&self.shared()?.camera)
    }

    /// Applies `settings` together. If one is refused, those applied before
    /// it are put back, and the error says which.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for a value out of range (nothing is
    /// sent); [`Error::Mmal`] if the camera refuses one.
    pub fn set_settings(&self, settings: &Settings) -> Result<()> {
        settings.check()?;
        let control = self.shared()?.camera.control();
        let before = Settings::read(&control)?;
        if let Err(e) = settings.apply(&control) {
            if let Err(back) = before.apply(&control) {
                log::error!("camera: putting the settings back after a refusal failed: {back}");
            }
            return Err(e);
        }
        Ok(())
    }

    /// The settings as the camera has them.
    ///
    /// # Errors
    ///
    /// [`Error::Mmal`] if the camera does not answer one.
    pub fn settings(&self) -> Result<Settings> {
        Settings::read(&self.shared()?.camera.control())
    }

    /// What the camera last reported it used (exposure time, gains, white
    /// balance): from its `CAMERA_SETTINGS` reports, else read now.
    ///
    /// # Errors
    ///
    /// As [`Port::get`].
    pub fn used_settings(&self) -> Result<CameraSettings> {
        match self.shared()?.latest_settings() {
            Some(s) => Ok(s),
            None => self.shared()?.camera.control().get(),
        }
    }

    /// Shows the preview on the display (`vc.ril.video_render`), placed as
    /// `region` says; [`stop_preview`](Self::stop_preview) goes back to no
    /// preview. Called again, it moves the preview.
    ///
    /// # Errors
    ///
    /// What making the renderer, setting its region or connecting it
    /// returns; the preview then goes on as before.
    pub fn start_preview(&self, region: &params::DisplayRegion) -> Result<()> {
        let pipe = self.pipe()?;
        let mut preview = pipe.preview.lock();
        if let Some(renderer) = &preview.renderer {
            return renderer.input().set(region);
        }
        let renderer = Renderer::new()?;
        renderer.input().set(region)?;
        preview.link = None;
        match Connection::new(pipe.shared.camera.preview(), renderer.input(), ConnectionFlags::default()) {
            Ok(link) => {
                preview.link = Some(link);
                preview.renderer = Some(renderer);
                Ok(())
            }
            Err(e) => {
                let back =
                    Connection::new(pipe.shared.camera.preview(), preview.null.input(), ConnectionFlags::default())?;
                preview.link = Some(back);
                Err(e)
            }
        }
    }

    /// Where the preview is shown, read back from the renderer; `None`
    /// when there is no preview.
    ///
    /// # Errors
    ///
    /// As [`Port::get`].
    pub fn preview_region(&self) -> Result<Option<params::DisplayRegion>> {
        let preview = self.pipe()?.preview.lock();
        preview.renderer.as_ref().map(|r| r.input().get()).transpose()
    }

    /// Stops showing the preview (the camera's preview output goes back to
    /// a null sink).
    ///
    /// # Errors
    ///
    /// What connecting the null sink returns.
    pub fn stop_preview(&self) -> Result<()> {
        let pipe = self.pipe()?;
        let mut preview = pipe.preview.lock();
        if preview.renderer.is_none() {
            return Ok(());
        }
        preview.link = None;
        preview.renderer = None;
        preview.link =
            Some(Connection::new(pipe.shared.camera.preview(), preview.null.input(), ConnectionFlags::default())?);
        Ok(())
    }

    /// Sets a lens shading table, kept across [`reconfigure`](Self::reconfigure).
    ///
    /// # Errors
    ///
    /// As [`LensShadingTable::upload`] and [`Port::set`].
    pub fn set_lens_shading(&mut self, table: &LensShadingTable) -> Result<()> {
        let uploaded = table.upload()?;
        self.shared()?.camera.control().set(&uploaded.parameter())?;
        self.lens = Some((table.clone(), uploaded));
        Ok(())
    }

    /// The lens shading table set, if any.
    pub fn lens_shading(&self) -> Option<&LensShadingTable> {
        self.lens.as_ref().map(|(t, _)| t)
    }

    /// A JPEG from the still port, at the camera's resolution, with
    /// raspistill's EXIF block and thumbnail. The picture is taken after
    /// the call.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] if the camera gives nothing; as [`Port::set`].
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

    /// Frames from the video port in `encoding` (I420, RGB24, BGR24, RGBA
    /// or BGRA) at `width`×`height`, scaled on the VideoCore if that is
    /// not the camera's resolution. See [`Frames`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for another encoding or a size no
    /// resizer takes; [`Error::State`] when the four video outputs are in
    /// use.
    pub fn frames(&self, encoding: Encoding, width: u32, height: u32) -> Result<Frames<'_>> {
        Frames::new(self, encoding, width, height)
    }

    /// Frames as [`frames`](Self::frames) gives them, handed to `callback`
    /// on a thread of their own until the returned handle is dropped.
    ///
    /// # Errors
    ///
    /// As for [`frames`](Self::frames).
    pub fn on_frames<F>(&self, encoding: Encoding, width: u32, height: u32, callback: F) -> Result<FrameCallback<'_>>
    where
        F: FnMut(Frame) + Send + 'static,
    {
        FrameCallback::new(self.frames(encoding, width, height)?, callback)
    }

    /// Starts recording H.264 (or MJPEG) as `config` says into `output`: a
    /// file, a socket, any [`Write`], or a [`CircularBuffer`]. At another
    /// size than the camera's, the video is scaled on the VideoCore. Call
    /// [`Recording::wait`] to let it record (buffers are written as they
    /// are read), and [`Recording::stop`] to end it.
    ///
    /// # Errors
    ///
    /// As [`Recorder::new`](crate::Recorder::new); [`Error::State`] when
    /// the four video outputs are in use.
    pub fn start_recording<O: VideoOutput>(
        &self,
        output: O,
        config: &crate::RecorderConfig,
    ) -> Result<Recording<'_, O>> {
        Recording::new(self, output, config)
    }

    /// Records `duration` of H.264 at the camera's resolution and frame
    /// rate into the file at `path` (the duration by the camera's clock).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be created or written; as
    /// [`start_recording`](Self::start_recording).
    pub fn record(&self, path: impl AsRef<Path>, duration: Duration) -> Result<()> {
        let path = path.as_ref();
        let file = File::create(path).map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
        let (w, h) = self.shared()?.size;
        let config = crate::RecorderConfig::h264(w, h).frame_rate(self.shared()?.frame_rate);
        let mut recording = self.start_recording(std::io::BufWriter::new(file), &config)?;
        recording.wait(duration)?;
        let mut file = recording.stop()?;
        file.flush().map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
    }
}

/// ENOSPC from the camera while it starts: its sensor is taken.
fn in_use(e: Error, number: u32) -> Error {
    match e {
        Error::Mmal { status: crate::Status::NoSpace, ref object, .. } if object.starts_with(CameraComponent::NAME) => {
            Error::CameraInUse { number }
        }
        other => other,
    }
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

impl Frames<'_> {
    /// The first frame taken after this call, waiting up to `timeout`.
    fn next_after_now(&self, timeout: Duration) -> Result<Frame> {
        let called = crate::ffi::monotonic_now();
        let deadline = Instant::now() + timeout;
        loop {
            let frame = self.next_timeout(deadline.saturating_duration_since(Instant::now()))?;
            if frame.monotonic_time().is_none_or(|t| t >= called) {
                return Ok(frame);
            }
        }
    }
}
