//! What the emulated camera looks at.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::yuv;

/// A deterministic scene, in linear light (0.0 black, 1.0 white), spread
/// over the sensor's full field of view.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum Scene {
    /// A test chart: grey steps, colour patches, a fine grid and a white
    /// border, for checking geometry, colour and exposure.
    Chart,
    /// A uniform grey field of this level (0.0–1.0): a flat field, as seen
    /// through a diffuser or an empty microscope slide. `Scene::flat()` is
    /// 0.8.
    Flat(f32),
    /// An RGB image, stretched over the field of view.
    Image(Image),
}

/// An RGB image in linear light: `width * height` pixels of 3 `f32`s.
#[derive(Clone, PartialEq)]
pub struct Image {
    width: usize,
    height: usize,
    pixels: Arc<Vec<[f32; 3]>>,
}

impl fmt::Debug for Scene {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scene::Chart => f.write_str("Chart"),
            Scene::Flat(level) => write!(f, "Flat({level})"),
            Scene::Image(image) => write!(f, "Image({}x{})", image.width, image.height),
        }
    }
}

/// Why a scene image could not be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum SceneError {
    /// The file could not be read.
    Io(std::io::Error),
    /// The file is not a binary PPM (`P6`) or PGM (`P5`) with 8-bit samples.
    Format(String),
}

impl fmt::Display for SceneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SceneError::Io(e) => write!(f, "cannot read the scene image: {e}"),
            SceneError::Format(why) => write!(
                f,
                "the scene image is not usable ({why}); give a binary PPM (P6) or PGM (P5) with 8-bit samples, \
                 for example from `convert photo.jpg scene.ppm`"
            ),
        }
    }
}

impl std::error::Error for SceneError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SceneError::Io(e) => Some(e),
            SceneError::Format(_) => None,
        }
    }
}

impl Scene {
    /// The default flat field: level 0.8.
    pub fn flat() -> Scene {
        Scene::Flat(0.8)
    }

    /// An image scene from 8-bit sRGB-ish samples (taken as linear):
    /// `rgb.len()` must be `width * height * 3`.
    ///
    /// # Errors
    ///
    /// [`SceneError::Format`] if the sizes disagree or are zero.
    pub fn from_rgb8(width: usize, height: usize, rgb: &[u8]) -> Result<Scene, SceneError> {
        if width == 0 || height == 0 || width.checked_mul(height).and_then(|n| n.checked_mul(3)) != Some(rgb.len()) {
            return Err(SceneError::Format(format!("{} bytes for {width}x{height} RGB pixels", rgb.len())));
        }
        let pixels = rgb.chunks_exact(3).map(|p| [p[0], p[1], p[2]].map(|v| f32::from(v) / 255.0)).collect();
        Ok(Scene::Image(Image { width, height, pixels: Arc::new(pixels) }))
    }

    /// Loads a binary PPM (`P6`) or PGM (`P5`) image with 8-bit samples.
    ///
    /// # Errors
    ///
    /// [`SceneError`] if the file cannot be read or parsed.
    pub fn load(path: &Path) -> Result<Scene, SceneError> {
        let bytes = std::fs::read(path).map_err(SceneError::Io)?;
        parse_pnm(&bytes)
    }

    /// `chart`, `flat` or a path, as in `VIDEOCORE_EMU_SCENE`.
    pub fn from_env_value(value: &str) -> Result<Scene, SceneError> {
        match value {
            "" | "chart" => Ok(Scene::Chart),
            "flat" => Ok(Scene::flat()),
            path => Scene::load(Path::new(path)),
        }
    }

    /// The light at normalised position (`u`, `v`), both 0.0–1.0 from the
    /// top left of the full field of view.
    pub(crate) fn sample(&self, u: f32, v: f32) -> [f32; 3] {
        match self {
            Scene::Flat(level) => [*level; 3],
            Scene::Chart => chart(u, v),
            Scene::Image(image) => {
                let x = ((u * image.width as f32) as usize).min(image.width - 1);
                let y = ((v * image.height as f32) as usize).min(image.height - 1);
                image.pixels[y * image.width + x]
            }
        }
    }

    /// Mean luminance over the field, which automatic exposure aims at.
    pub(crate) fn mean_luma(&self) -> f32 {
        // The variant is matched once, outside the loop: with the loop
        // around `sample`, the optimiser reads an image's size before it
        // knows the scene is an image (harmless, but memcheck reports the
        // branch on those bytes, unset in the other variants).
        match self {
            Scene::Flat(level) => mean_luma_of(|_, _| [*level; 3]),
            Scene::Chart => mean_luma_of(chart),
            Scene::Image(_) => mean_luma_of(|u, v| self.sample(u, v)),
        }
    }
}

/// Mean luminance of `sample` over a 32x32 grid of the field.
fn mean_luma_of(sample: impl Fn(f32, f32) -> [f32; 3]) -> f32 {
    let mut sum = 0.0;
    let n = 32;
    for j in 0..n {
        for i in 0..n {
            sum += yuv::luma(sample((i as f32 + 0.5) / n as f32, (j as f32 + 0.5) / n as f32));
        }
    }
    (sum / (n * n) as f32).max(0.01)
}

const PATCHES: [[f32; 3]; 6] =
    [[0.7, 0.15, 0.1], [0.15, 0.6, 0.15], [0.1, 0.2, 0.7], [0.75, 0.7, 0.1], [0.1, 0.6, 0.65], [0.65, 0.15, 0.6]];

fn chart(u: f32, v: f32) -> [f32; 3] {
    // White border, then a fine grid, grey steps on top, colour patches
    // below, and a mid-grey background.
    if !(0.02..0.98).contains(&u) || !(0.02..0.98).contains(&v) {
        return [0.9; 3];
    }
    // The grid's lines: within 0.002 after a multiple of 1/24 (the
    // remainder taken by hand: `%` on f32 is a slow library call).
    let line = |w: f32| (w * 24.0 - (w * 24.0).floor()) / 24.0 < 0.002;
    if line(u) || line(v) {
        return [0.05; 3];
    }
    if (0.1..0.3).contains(&v) {
        let step = ((u - 0.02) / 0.96 * 8.0).floor().clamp(0.0, 7.0);
        return [0.05 + step * 0.12; 3];
    }
    if (0.6..0.85).contains(&v) {
        let i = ((u - 0.02) / 0.96 * 6.0).floor().clamp(0.0, 5.0) as usize;
        return PATCHES[i];
    }
    [0.45; 3]
}

fn parse_pnm(bytes: &[u8]) -> Result<Scene, SceneError> {
    let bad = |why: &str| SceneError::Format(why.to_owned());
    let mut fields = Vec::with_capacity(4);
    let mut pos = 0;
    while fields.len() < 4 {
        while pos < bytes.len() && (bytes[pos].is_ascii_whitespace() || bytes[pos] == b'#') {
            if bytes[pos] == b'#' {
                while pos < bytes.len() && bytes[pos] != b'\n' {
                    pos += 1;
                }
            } else {
                pos += 1;
            }
        }
        let start = pos;
        while pos < bytes.len() && !bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if start == pos {
            return Err(bad("truncated header"));
        }
        fields.push(std::str::from_utf8(&bytes[start..pos]).map_err(|_| bad("header is not text"))?.to_owned());
    }
    pos += 1; // the single whitespace byte before the samples
    let channels = match fields[0].as_str() {
        "P6" => 3,
        "P5" => 1,
        other => return Err(SceneError::Format(format!("magic {other:?}, expected P6 or P5"))),
    };
    let number = |s: &str| s.parse::<usize>().map_err(|_| SceneError::Format(format!("{s:?} is not a number")));
    let (width, height, max) = (number(&fields[1])?, number(&fields[2])?, number(&fields[3])?);
    if max != 255 {
        return Err(SceneError::Format(format!("maximum sample {max}, expected 255")));
    }
    let len = width.checked_mul(height).and_then(|n| n.checked_mul(channels)).ok_or_else(|| bad("too large"))?;
    let data = pos
        .checked_add(len)
        .and_then(|end| bytes.get(pos..end))
        .ok_or_else(|| bad("fewer samples than the header says"))?;
    if channels == 3 {
        Scene::from_rgb8(width, height, data)
    } else {
        let rgb: Vec<u8> = data.iter().flat_map(|&v| [v, v, v]).collect();
        Scene::from_rgb8(width, height, &rgb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pnm_images() {
        let ppm = b"P6\n# a comment\n2 1\n255\n\xff\x00\x00\x00\x00\xff";
        let scene = parse_pnm(ppm).unwrap();
        assert_eq!(scene.sample(0.1, 0.5), [1.0, 0.0, 0.0]);
        assert_eq!(scene.sample(0.9, 0.5), [0.0, 0.0, 1.0]);
        let pgm = b"P5 1 1 255 \x80";
        assert_eq!(parse_pnm(pgm).unwrap().sample(0.5, 0.5), [128.0 / 255.0; 3]);
        assert!(matches!(parse_pnm(b"P3 1 1 255 0 0 0"), Err(SceneError::Format(_))));
        assert!(matches!(parse_pnm(b"P6 2 2 255 \x00"), Err(SceneError::Format(_))));
        assert!(matches!(parse_pnm(b"P6 2 2 65535 \x00"), Err(SceneError::Format(_))));
    }

    #[test]
    fn sizes_too_large_for_memory_are_errors_not_panics() {
        let max = usize::MAX;
        for header in [
            // The sample count overflows.
            format!("P6 {max} {max} 255 "),
            format!("P6 {} 3 255 ", max / 2),
            // The sample count fits, the end of the samples does not.
            format!("P5 {max} 1 255 "),
            format!("P5 {} 1 255 ", max - 3),
            format!("P6 1 {} 255 ", max / 3),
            // Not a number a usize holds.
            "P6 99999999999999999999999 1 255 ".to_owned(),
        ] {
            let mut bytes = header.into_bytes();
            bytes.extend_from_slice(&[0; 12]);
            assert!(matches!(parse_pnm(&bytes), Err(SceneError::Format(_))), "{}", String::from_utf8_lossy(&bytes));
        }
        // From the environment variable's path, too.
        let path = std::env::temp_dir().join(format!("mmal-emu-huge-{}.pgm", std::process::id()));
        std::fs::write(&path, format!("P5 {max} 1 255 \n\0")).unwrap();
        let loaded = Scene::from_env_value(path.to_str().unwrap());
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(loaded, Err(SceneError::Format(_))));
    }

    #[test]
    fn flat_and_chart() {
        assert_eq!(Scene::flat().sample(0.0, 1.0), [0.8; 3]);
        assert!((Scene::flat().mean_luma() - 0.8).abs() < 1e-4);
        // The chart has dark grid lines and bright borders.
        assert_eq!(chart(0.01, 0.5), [0.9; 3]);
        assert!(Scene::Chart.mean_luma() > 0.2);
    }
}
