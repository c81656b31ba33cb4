//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use mmal::{params, Component, Encoding, Format, FrameStream};

/// Tests run against the software VideoCore unless told otherwise.
pub(crate) fn emulated() {
    if std::env::var_os("VIDEOCORE").is_none() {
        std::env::set_var("VIDEOCORE", "emulated");
    }
}

static SERIAL: Mutex<()> = Mutex::new(());

/// Serialises tests that change the emulator's process-wide settings.
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    emulated();
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) const WAIT: Duration = Duration::from_secs(5);

/// A camera streaming `format` from its video port.
pub(crate) fn video_stream(format: &Format, buffers: u32) -> (Component, FrameStream) {
    let camera = Component::new("vc.ril.camera").expect("camera");
    let video = camera.output(1).unwrap();
    video.set_format(format).expect("format");
    let stream = video.enable_stream(buffers).expect("stream");
    camera.enable().expect("enable");
    video.set(&params::Capture(true)).expect("capture");
    (camera, stream)
}

/// Mean of a `size`×`size` window of the Y plane (or one channel of a
/// packed RGB image) centred on (`x`, `y`).
pub(crate) fn window_mean(
    data: &[u8],
    stride: usize,
    bpp: usize,
    channel: usize,
    x: usize,
    y: usize,
    size: usize,
) -> f64 {
    let mut sum = 0.0;
    for yy in y - size / 2..y + size / 2 {
        for xx in x - size / 2..x + size / 2 {
            sum += f64::from(data[yy * stride + xx * bpp + channel]);
        }
    }
    sum / (size * size) as f64
}

/// Corner-to-centre level of one channel: the mean of the four corner
/// windows over the centre window.
pub(crate) fn corner_ratio(data: &[u8], format: &Format, bpp: usize, channel: usize) -> f64 {
    let (w, h) = format.visible();
    let (w, h) = (w as usize, h as usize);
    let stride = format.stride();
    let s = (w / 40).max(4);
    let centre = window_mean(data, stride, bpp, channel, w / 2, h / 2, s);
    let m = s;
    let corners = [(m, m), (w - m, m), (m, h - m), (w - m, h - m)];
    let corner: f64 = corners.iter().map(|&(x, y)| window_mean(data, stride, bpp, channel, x, y, s)).sum::<f64>() / 4.0;
    corner / centre
}

pub(crate) fn rgb(width: u32, height: u32) -> Format {
    Format::video(Encoding::RGB24, width, height).with_frame_rate(30)
}
