"""picamerax, as its users call it, on the software VideoCore."""

import io
import os
import subprocess
import sys

import numpy as np
import pytest

import picamerax
import picamerax.array

from conftest import open_fds, threads

SENSORS = {
    # revision: (MAX_RESOLUTION, number of sensor modes)
    "ov5647": ((2592, 1944), 7),
    "imx219": ((3280, 2464), 7),
    "imx477": ((4056, 3040), 4),
}


def padded(width, height, bpp):
    """Bytes of a capture picamerax writes: rows padded to 32 pixels,
    height to 16 rows."""
    w, h = (width + 31) // 32 * 32, (height + 15) // 16 * 16
    return int(w * h * bpp)


def test_open_and_close_100_times_leaks_nothing(emu):
    with picamerax.PiCamera():
        pass
    before = (open_fds(), threads(), emu.usage())
    for _ in range(100):
        with picamerax.PiCamera() as cam:
            assert cam.revision
    after = (open_fds(), threads(before[1]), emu.usage())
    assert after == before, f"{before} -> {after}"
    usage = emu.usage()
    assert usage["components"] == 0 and usage["connections"] == 0
    assert usage["vcsm_blocks"] == 0


@pytest.mark.parametrize("sensor", sorted(SENSORS))
def test_each_sensor_reports_itself(sensor):
    # MAX_RESOLUTION is fixed by the first camera a process opens, as on a
    # Pi (which has one sensor): one process per sensor.
    code = (
        "import picamerax\n"
        "with picamerax.PiCamera() as c:\n"
        "    print(c.revision, c.MAX_RESOLUTION.width, c.MAX_RESOLUTION.height)\n"
    )
    env = dict(os.environ, VIDEOCORE_EMU_SENSOR=sensor)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    revision, w, h = out.stdout.split()
    assert revision == sensor
    assert (int(w), int(h)) == SENSORS[sensor][0]


def test_sensor_modes_can_be_chosen(camera):
    for mode in range(0, 8):
        camera.sensor_mode = mode
        assert camera.sensor_mode == mode


def test_settings_read_back(camera):
    camera.resolution = (1280, 720)
    camera.framerate = 24
    camera.shutter_speed = 20000
    camera.iso = 400
    camera.exposure_mode = "off"
    camera.awb_mode = "off"
    camera.awb_gains = (1.5, 1.25)
    camera.analog_gain = 2
    camera.digital_gain = 1.5
    assert camera.resolution == (1280, 720)
    assert camera.framerate == 24
    assert camera.shutter_speed == 20000
    assert camera.iso == 400
    assert camera.exposure_mode == "off"
    assert camera.awb_mode == "off"
    assert camera.awb_gains == (1.5, 1.25)
    assert camera.analog_gain == 2
    assert camera.digital_gain == 1.5
    # Reported back by the camera's settings.
    camera.capture(io.BytesIO(), "yuv")
    assert camera.exposure_speed == 20000
    camera.awb_mode = "auto"
    assert camera.awb_mode == "auto"


@pytest.mark.parametrize("use_video_port", [False, True])
@pytest.mark.parametrize("fmt,bpp", [("yuv", 1.5), ("rgb", 3), ("bgr", 3), ("rgba", 4), ("bgra", 4)])
def test_captures_to_files_are_padded_as_on_a_pi(camera, tmp_path, fmt, bpp, use_video_port):
    camera.resolution = (100, 75)
    path = tmp_path / f"frame.{fmt}"
    camera.capture(str(path), fmt, use_video_port=use_video_port)
    data = path.read_bytes()
    assert len(data) == padded(100, 75, bpp)
    assert max(data) > min(data), "a picture, not a blank"


def test_rgb_and_bgr_are_the_same_picture_swapped(camera):
    camera.resolution = (64, 48)
    rgb, bgr = io.BytesIO(), io.BytesIO()
    camera.capture(rgb, "rgb")
    camera.capture(bgr, "bgr")
    a = np.frombuffer(rgb.getvalue(), dtype=np.uint8).reshape(48, 64, 3).astype(int)
    b = np.frombuffer(bgr.getvalue(), dtype=np.uint8).reshape(48, 64, 3).astype(int)
    # Noise differs frame to frame; the picture does not.
    assert np.abs(a.mean(axis=(0, 1)) - b[:, :, ::-1].mean(axis=(0, 1))).max() < 3


@pytest.mark.parametrize("use_video_port", [False, True])
def test_arrays_have_the_shapes_picamerax_documents(camera, use_video_port):
    camera.resolution = (100, 75)
    with picamerax.array.PiRGBArray(camera) as out:
        camera.capture(out, "rgb", use_video_port=use_video_port)
        assert out.array.shape == (75, 100, 3)
        assert out.array.dtype == np.uint8
    with picamerax.array.PiYUVArray(camera) as out:
        camera.capture(out, "yuv", use_video_port=use_video_port)
        assert out.array.shape == (75, 100, 3)
        assert out.rgb_array.shape == (75, 100, 3)


@pytest.mark.parametrize("use_video_port", [False, True])
@pytest.mark.parametrize("fmt", ["yuv", "rgb", "bgra"])
def test_capture_continuous(camera, fmt, use_video_port):
    camera.resolution = (64, 48)
    bpp = {"yuv": 1.5, "rgb": 3, "bgra": 4}[fmt]
    sizes = []
    stream = io.BytesIO()
    for _ in camera.capture_continuous(stream, fmt, use_video_port=use_video_port):
        sizes.append(stream.tell())
        stream.seek(0)
        stream.truncate()
        if len(sizes) == 5:
            break
    assert sizes == [padded(64, 48, bpp)] * 5


@pytest.mark.parametrize("use_video_port", [False, True])
def test_capture_sequence(camera, use_video_port):
    camera.resolution = (64, 48)
    streams = [io.BytesIO() for _ in range(4)]
    camera.capture_sequence(streams, "rgb", use_video_port=use_video_port)
    assert [len(s.getvalue()) for s in streams] == [padded(64, 48, 3)] * 4


def corner_to_centre(rgb):
    h, w, _ = rgb.shape
    s = max(w // 20, 4)
    centre = rgb[h // 2 - s : h // 2 + s, w // 2 - s : w // 2 + s].mean()
    corners = [rgb[:s, :s], rgb[:s, -s:], rgb[-s:, :s], rgb[-s:, -s:]]
    return np.mean([c.mean() for c in corners]) / centre


def test_lens_shading_table_set_read_back_and_cleared(emu):
    emu.set_scene("flat")
    with picamerax.PiCamera() as camera:
        camera.resolution = (320, 240)
        camera.awb_mode = "off"
        camera.awb_gains = (1, 1)

        def capture():
            with picamerax.array.PiRGBArray(camera) as out:
                camera.capture(out, "rgb")
                return out.array.astype(float)

        before = corner_to_centre(capture())
        assert before < 0.9, f"the emulated lens vignettes: {before}"
        # The sensor's grid: 64-pixel cells over its full resolution.
        w, h = camera.MAX_RESOLUTION
        shape = (4, (h + 63) // 64, (w + 63) // 64)
        table = np.full(shape, 32, dtype=np.uint8)
        ys, xs = np.mgrid[0 : shape[1], 0 : shape[2]]
        r = np.hypot((xs - shape[2] / 2) / (shape[2] / 2), (ys - shape[1] / 2) / (shape[1] / 2))
        table[:] = np.clip(32 * (1 + 0.9 * r**2), 32, 255).astype(np.uint8)
        camera.lens_shading_table = table
        assert np.array_equal(camera.lens_shading_table, table)
        after = corner_to_centre(capture())
        assert after > before + 0.1, f"the table lifts the corners: {before} -> {after}"
        # A unity table (32 everywhere) takes every correction off, the
        # firmware's built-in table (made for the stock lens) included.
        camera.lens_shading_table = np.full(shape, 32, dtype=np.uint8)
        unity = corner_to_centre(capture())
        assert unity < before - 0.05, f"unity: {before} -> {unity}"
        # None: picamerax forgets the table and sends nothing. The override
        # set last stays with the camera (parameters persist across the
        # camera's reconfiguration, as its other settings do).
        camera.lens_shading_table = None
        assert camera.lens_shading_table is None
        cleared = corner_to_centre(capture())
        assert abs(cleared - unity) < 0.05, f"after None: {unity} -> {cleared}"
    usage = emu.usage()
    assert usage["vcsm_blocks"] == 0, "the table's VCSM block was freed"


def test_camera_disabled_raises_what_a_pi_raises(emu):
    emu.set_camera_fault("disabled")
    with pytest.raises(picamerax.PiCameraError, match="Camera is not enabled. Try running 'sudo raspi-config'"):
        picamerax.PiCamera()
    assert emu.usage()["components"] == 0


def test_camera_missing_raises_what_a_pi_raises(emu):
    emu.set_camera_fault("missing")
    with pytest.raises(picamerax.PiCameraError, match="No data received from sensor"):
        picamerax.PiCamera()
    assert emu.usage()["components"] == 0


@pytest.mark.parametrize("use_video_port", [False, True])
def test_jpeg_captures_decode_with_pillow_at_the_requested_size(camera, tmp_path, use_video_port):
    from PIL import Image

    camera.resolution = (640, 480)
    path = tmp_path / "x.jpg"
    camera.capture(str(path), use_video_port=use_video_port)
    with Image.open(path) as im:
        assert im.format == "JPEG"
        assert im.size == (640, 480)
        im.load()
        exif = im.getexif()
        assert exif[0x0110] == "RP_imx219"  # IFD0 Model
        assert exif[0x010F] == "RaspberryPi"  # IFD0 Make
        assert np.asarray(im).mean() > 20


def test_jpeg_quality_and_exif_tags_are_honoured(camera):
    from PIL import Image

    camera.resolution = (640, 480)
    sizes = {}
    for quality in (10, 95):
        out = io.BytesIO()
        camera.capture(out, "jpeg", quality=quality)
        sizes[quality] = len(out.getvalue())
    assert sizes[95] > 2 * sizes[10], sizes
    camera.exif_tags["IFD0.Artist"] = "the suite"
    out = io.BytesIO()
    camera.capture(out, "jpeg")
    out.seek(0)
    with Image.open(out) as im:
        assert im.getexif()[0x013B] == "the suite"  # IFD0 Artist


def test_picture_controls_change_the_picture_as_named(camera):
    camera.resolution = (320, 240)

    def rgb():
        with picamerax.array.PiRGBArray(camera) as out:
            camera.capture(out, "rgb")
            return out.array.astype(float)

    def spread(a):
        """How far apart the channels are: 0 for grey."""
        return np.abs(a - a.mean(axis=2, keepdims=True)).mean()

    base = rgb()
    camera.brightness = 75
    assert rgb().mean() > base.mean() + 30
    camera.brightness = 50
    camera.contrast = -100
    assert rgb().std() < 3, "contrast -100: flat grey"
    camera.contrast = 0
    camera.saturation = -100
    assert spread(rgb()) < 1.5 < spread(base)
    camera.saturation = 0
    camera.image_effect = "negative"
    assert abs(rgb().mean() - (255 - base.mean())) < 3
    camera.image_effect = "none"
    camera.color_effects = (128, 128)
    assert spread(rgb()) < 1.5
    camera.color_effects = None
    camera.exposure_compensation = 12  # two stops
    assert rgb().mean() > base.mean() + 20
    camera.exposure_compensation = 0
    camera.hflip = True
    mirrored = rgb()
    assert np.abs(mirrored[:, ::-1] - base).mean() < 3 < np.abs(mirrored - base).mean()
    camera.hflip = False
    camera.rotation = 180
    turned = rgb()
    assert np.abs(turned[::-1, ::-1] - base).mean() < 3
    camera.rotation = 0
    assert np.abs(rgb() - base).mean() < 3, "back to the start"


def test_jpeg_thumbnails_are_what_picamerax_asks_for(camera):
    from PIL import ExifTags, Image

    camera.resolution = (640, 480)

    def thumbnail(**kw):
        out = io.BytesIO()
        camera.capture(out, "jpeg", **kw)
        out.seek(0)
        with Image.open(out) as im:
            ifd1 = im.getexif().get_ifd(ExifTags.IFD.IFD1)
            if not ifd1:
                return None
            tiff = im.info["exif"][6:]  # after "Exif\0\0"
            offset, length = ifd1[0x0201], ifd1[0x0202]  # JPEGInterchangeFormat(Length)
            assert ifd1[0x0103] == 6  # Compression: JPEG
            thumb = Image.open(io.BytesIO(tiff[offset : offset + length]))
            thumb.load()
            return thumb

    # picamerax's default: 64x48 at quality 35.
    assert thumbnail().size == (64, 48)
    assert thumbnail(thumbnail=(128, 96, 70)).size == (128, 96)
    assert thumbnail(thumbnail=None) is None


def test_bayer_capture_parses_with_picamerax(camera):
    with picamerax.array.PiBayerArray(camera) as out:
        camera.capture(out, "jpeg", bayer=True)
        assert out.array.shape == (2464, 3280, 3)
        # 10-bit values, above the black level at the centre.
        assert out.array.max() < 1024
        centre = out.array[1200:1260, 1600:1680].sum(axis=2)
        assert centre.mean() > 64


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def calibrate_raw(*args):
    """Runs the `calibrate_raw` example (mmal::raw and the Rust client's
    calibration) on a file picamerax wrote."""
    done = subprocess.run(
        ["cargo", "run", "-q", "-p", "examples", "--example", "calibrate_raw", "--", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("sensor", ["ov5647", "imx219", "imx477"])
def test_bayer_array_equals_what_mmal_raw_unpacks(emu, tmp_path, sensor):
    emu.set_sensor(sensor)
    with picamerax.PiCamera() as camera:
        camera.resolution = (640, 480)
        stream = io.BytesIO()
        camera.capture(stream, "jpeg", bayer=True)
        path = tmp_path / "still.jpg"
        path.write_bytes(stream.getvalue())
        # picamerax's own parser on the same bytes.
        bayer = picamerax.array.PiBayerArray(camera)
        bayer.write(stream.getvalue())
        bayer.flush()
    calibrate_raw(path, tmp_path / "table.npy", "--bayer", tmp_path / "bayer.npy", "--planes", tmp_path / "planes.npy")
    ours = np.load(tmp_path / "bayer.npy")
    planes = np.load(tmp_path / "planes.npy")
    theirs = bayer.array
    assert theirs.shape[:2] == ours.shape
    # The same pixel values, RAW10 and RAW12 alike: each lands in one channel.
    assert np.array_equal(theirs.sum(axis=2), ours)
    # The same colours: mmal::raw's R and B planes are picamerax's red and
    # blue sites, by the header's Bayer order.
    sites = [(dy, dx) for dy in (0, 1) for dx in (0, 1)]
    r = [s for s in sites if np.array_equal(theirs[s[0] :: 2, s[1] :: 2, 0], planes[0]) and planes[0].any()]
    b = [s for s in sites if np.array_equal(theirs[s[0] :: 2, s[1] :: 2, 2], planes[3]) and planes[3].any()]
    assert len(r) == 1 and len(b) == 1 and r != b, (r, b)


def cell_ratios(rgb, cols=16, rows=12):
    """Each cell's mean per channel over the centre cell's."""
    h, w, _ = rgb.shape
    cells = np.array(
        [
            [rgb[y * h // rows : (y + 1) * h // rows, x * w // cols : (x + 1) * w // cols].mean(axis=(0, 1)) for x in range(cols)]
            for y in range(rows)
        ]
    )
    return cells / cells[rows // 2, cols // 2]


CALIBRATE_THROUGH_PICAMERAX = """
import subprocess, sys
import numpy as np
import picamerax

folder, flip, command = sys.argv[1], sys.argv[2] == "flip", sys.argv[3:]
with picamerax.PiCamera() as camera:
    camera.resolution = (648, 486)
    camera.hflip = camera.vflip = flip
    camera.capture(folder + "/before.jpg", bayer=True)
    done = subprocess.run(command + [folder + "/before.jpg", folder + "/table.npy"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    print(done.stdout)
    print(done.stderr, file=sys.stderr)
    table = np.load(folder + "/table.npy")
    camera.lens_shading_table = table
    assert np.array_equal(camera.lens_shading_table, table)
    camera.capture(folder + "/after.jpg")
"""


@pytest.mark.parametrize("sensor", ["ov5647", "imx219"])
def test_a_table_from_mmal_calibration_set_through_picamerax_flattens_the_jpeg(tmp_path, sensor):
    from PIL import Image

    # picamerax sends ref_transform 0 for the OV5647 and 3 (both flips) for
    # the IMX219: the flat field is taken in that orientation (calibrate_raw
    # warns otherwise). A process of its own: picamerax fixes MAX_RESOLUTION,
    # and so the table's shape, by the first camera a process opens.
    flip = "flip" if sensor == "imx219" else "none"
    env = dict(os.environ, VIDEOCORE_EMU_SENSOR=sensor, VIDEOCORE_EMU_SCENE="flat")
    command = ["cargo", "run", "-q", "-p", "examples", "--example", "calibrate_raw", "--"]
    done = subprocess.run(
        [sys.executable, "-c", CALIBRATE_THROUGH_PICAMERAX, str(tmp_path), flip, *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    order = {"ov5647": "Gbrg", "imx219": "Bggr"}[sensor]  # as read out, flips included
    assert order in done.stdout, done.stdout
    assert "note:" not in done.stderr, done.stderr

    def decoded(name):
        with Image.open(tmp_path / name) as im:
            assert im.size == (648, 486)
            return np.asarray(im.convert("RGB"), dtype=float)

    worst = lambda ratios: np.abs(ratios - 1).max()
    assert worst(cell_ratios(decoded("before.jpg"))) > 0.15, "uncorrected, the corners are dark"
    after = cell_ratios(decoded("after.jpg"))
    assert worst(after) <= 0.05, after.round(3)
