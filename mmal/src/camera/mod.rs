//! [`Camera`]: the camera in a few lines, built on the typed components.
//!
//! The pipeline it keeps: the camera's preview output tunnelled to a null
//! sink (so that exposure and white balance run), its still output to an
//! image encoder, and its video output to a splitter, whose four outputs
//! serve frame streams, recordings and video-port stills at once, each
//! independent of the others.
//!
//! | file | what it holds |
//! | --- | --- |
//! | `mod.rs` | [`Camera`]: opening and reconfiguring, the pipeline and what its users share, settings, preview, lens shading |
//! | `options.rs` | [`CameraOptions`], checked against the sensor |
//! | `settings.rs` | [`Settings`], checked, applied together, read back |
//! | `modes.rs` | [`SensorModeInfo`], the sensors' modes |
//! | `stills.rs` | [`StillOptions`] and the captures (still port or video port, files by extension, raw) |
//! | `frames.rs` | [`Frames`] and [`FrameCallback`]: continuous frames through the splitter |
//! | `recording.rs` | [`Recording`], [`CircularBuffer`], [`VideoOutput`], [`WithMotion`] |

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;

use crate::clock::Clock;
use crate::component::Port;
use crate::components::{
    CameraComponent, CameraInfoComponent, ImageEncoder, NullSink, Renderer, Splitter, SplitterOutput,
};
use crate::connection::{Connection, ConnectionFlags};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::format::{Encoding, Format};
use crate::lens_shading::{LensShadingTable, UploadedTable};
use crate::params::{
    self, CameraConfig, CameraNum, CameraSettings, Capture, ChangeEventRequest, Mirror, Rotation, SensorMode,
};
use crate::stream::{CallbackPort, Frame, FrameStream};

mod frames;
mod modes;
mod options;
mod recording;
mod settings;
mod stills;

pub use frames::{FrameCallback, Frames};
pub use modes::SensorModeInfo;
pub use options::CameraOptions;
pub use recording::{CircularBuffer, Recording, VideoOutput, WithMotion};
pub use settings::Settings;
pub use stills::StillOptions;

/// The camera's video output, and the splitter's outputs unless a frame
/// stream asks for another encoding.
pub(crate) const VIDEO_ENCODING: Encoding = Encoding::I420;

/// How long one buffer of a still may take before [`Error::Timeout`]
/// (a full-resolution still takes about a second on a Pi).
const STILL_WAIT: Duration = Duration::from_secs(20);

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
        let clock = Clock::new(monotonic_at_zero, wall_at_zero);
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
