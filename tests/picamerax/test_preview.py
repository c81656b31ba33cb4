"""picamerax's preview and overlays on the software VideoCore: the renderer
(`vc.ril.video_render`) shows on an off-screen display, read back here
through the `display_read` control of the software VideoCore picamerax's
camera is (see `conftest.Emulator`).

The display is made 320x180 (16:9, as a 1080p monitor) for these tests.
The camera looks at a scene whose top-left quadrant is white and the rest
black, so where that quadrant lands on the display says where the preview
went and which way round it is."""

import ctypes as ct
import time

import numpy as np
import pytest

import picamerax
import picamerax.mmal as mmal

from conftest import threads

DISPLAY = (320, 180)

# picamerax's transforms for (rotation, hflip, vflip), as it computes them:
# one flip is a mirror, a vertical flip is a horizontal one turned 180.
TRANSFORMS = {
    (0, False, False): mmal.MMAL_DISPLAY_ROT0,
    (90, False, False): mmal.MMAL_DISPLAY_ROT90,
    (180, False, False): mmal.MMAL_DISPLAY_ROT180,
    (270, False, False): mmal.MMAL_DISPLAY_ROT270,
    (0, True, False): mmal.MMAL_DISPLAY_MIRROR_ROT0,
    (0, False, True): mmal.MMAL_DISPLAY_MIRROR_ROT180,
    (90, True, False): mmal.MMAL_DISPLAY_MIRROR_ROT90,
    (0, True, True): mmal.MMAL_DISPLAY_ROT180,
}


class Display:
    """The off-screen display of the VideoCore picamerax's camera is."""

    def __init__(self, emu):
        self.emu = emu

    def set_size(self, w, h):
        assert self.emu.fn("set_display_size")(w, h) == 0

    def read(self):
        """The display now, as a (height, width, 3) array."""
        w, h = ct.c_uint32(), ct.c_uint32()
        read = self.emu.fn("display_read")
        assert read(None, 0, ct.byref(w), ct.byref(h)) == -1
        out = np.zeros((h.value, w.value, 3), dtype=np.uint8)
        assert read(out.ctypes.data, out.nbytes, ct.byref(w), ct.byref(h)) == 0
        return out

    def dump(self, path):
        """Writes the display to `path` as a PNG; whether it did."""
        return self.emu.fn("display_dump")(str(path).encode()) == 0

    def wait(self, check, what, timeout=20):
        """The display once `check(display)` holds; fails after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            d = self.read()
            if check(d):
                return d
            if time.monotonic() > deadline:
                pytest.fail(f"the display never showed {what}")
            time.sleep(0.02)


@pytest.fixture
def display(emu, tmp_path):
    d = Display(emu)
    d.set_size(*DISPLAY)
    # The top-left quadrant white, the rest black.
    w, h = 64, 48
    pixels = np.zeros((h, w, 3), dtype=np.uint8)
    pixels[: h // 2, : w // 2] = 255
    scene = tmp_path / "quadrant.ppm"
    scene.write_bytes(b"P6 %d %d 255\n" % (w, h) + pixels.tobytes())
    emu.set_scene(str(scene))
    yield d
    emu.set_scene(None)
    d.set_size(0, 0)


@pytest.fixture(autouse=True)
def callback_errors(monkeypatch):
    """What picamerax's port callbacks raise (ctypes cannot pass it on).

    Its callback sends a buffer of the pool back to the port each time the
    renderer returns one, an input's too; when an overlay is updated the
    pool is empty then, and it raises MMAL_EAGAIN "no buffers available",
    as it does on a Pi (picamera#448, #566, #691). Anything else fails the
    test."""
    import sys

    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(u.exc_value))
    yield seen
    for exc in seen:
        assert isinstance(exc, picamerax.PiCameraMMALError) and exc.status == mmal.MMAL_EAGAIN, repr(exc)


def black(d):
    return not d.any()


def lit(d):
    """Mask of the pixels the white quadrant lights."""
    return d.mean(axis=2) > 128


def bright_box(d):
    """(x0, y0, x1, y1) of the lit pixels, or None."""
    ys, xs = np.nonzero(lit(d))
    if len(xs) < 50:
        return None
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def near(box, expected, slack=6):
    return box is not None and all(abs(int(a) - b) <= slack for a, b in zip(box, expected))


def region(camera):
    return camera.preview.renderer.inputs[0].params[mmal.MMAL_PARAMETER_DISPLAYREGION]


@pytest.fixture
def small_camera(display):
    with picamerax.PiCamera(resolution=(320, 240), framerate=30) as cam:
        yield cam


def test_preview_on_and_off_in_each_sensor_mode(emu, display):
    with picamerax.PiCamera() as cam:
        modes = range(1, 8)
        for mode in modes:
            cam.sensor_mode = mode
            cam.resolution = (320, 240)
            before = emu.usage()
            assert black(display.read()), f"mode {mode}: something shows before the preview"
            cam.start_preview()
            # Full screen, letterboxed: 4:3 on 16:9 is 240 pixels wide in
            # the middle, nothing in the bars.
            d = display.wait(lambda d: not black(d), f"the preview in mode {mode}")
            assert not d[:, :38].any() and not d[:, 282:].any(), f"mode {mode}: no bars"
            # A frame rate change reconnects the renderer.
            cam.framerate = 15
            display.wait(lambda d: not black(d), f"the preview in mode {mode} at 15 fps")
            cam.framerate = 30
            cam.stop_preview()
            assert black(display.read()), f"mode {mode}: the preview outlived stop_preview"
            assert emu.usage() == before, f"mode {mode}"


def test_preview_options_read_back_exactly(small_camera):
    cam = small_camera
    cam.start_preview(alpha=77, layer=5, fullscreen=False, window=(10, 20, 160, 120), rotation=90, hflip=True)
    p = cam.preview
    assert (p.alpha, p.layer, p.fullscreen, p.window) == (77, 5, False, (10, 20, 160, 120))
    assert (p.rotation, p.hflip, p.vflip) == (90, True, False)
    r = region(cam)
    assert (r.alpha, r.layer, r.fullscreen.value, r.transform) == (77, 5, mmal.MMAL_FALSE, mmal.MMAL_DISPLAY_MIRROR_ROT90)
    assert (r.dest_rect.x, r.dest_rect.y, r.dest_rect.width, r.dest_rect.height) == (10, 20, 160, 120)
    # Every alpha and layer picamera's own tests try.
    for value in range(256):
        p.alpha = value
        p.layer = value
        assert (p.alpha, p.layer) == (value, value)
    for window in [(0, 0, 320, 240), (960, 480, 320, 240), (0, 0, 640, 360), (0, 0, 1920, 1080)]:
        p.window = window
        assert p.window == window
    p.crop = (16, 8, 160, 120)
    assert p.crop == (16, 8, 160, 120)
    p.anamorphic = True
    assert p.anamorphic
    p.fullscreen = True
    assert p.fullscreen
    for (rotation, hflip, vflip), transform in TRANSFORMS.items():
        p.rotation, p.hflip, p.vflip = rotation, hflip, vflip
        assert region(cam).transform == transform, (rotation, hflip, vflip)
    # Fields not set keep their values through all of this.
    r = region(cam)
    assert (r.layer, r.alpha, r.noaspect.value) == (255, 255, mmal.MMAL_TRUE)
    assert (r.src_rect.x, r.src_rect.y, r.src_rect.width, r.src_rect.height) == (16, 8, 160, 120)


def test_a_window_lands_where_asked(small_camera, display):
    cam = small_camera
    cam.start_preview(fullscreen=False, window=(10, 20, 160, 120))
    d = display.wait(lambda d: not black(d), "the preview in its window")
    # 4:3 in 160x120: the whole window; nothing outside it.
    outside = d.copy()
    outside[20:140, 10:170] = 0
    assert not outside.any(), "the preview spills out of its window"
    # The white quadrant: the window's top-left quarter.
    assert near(bright_box(d), (10, 20, 90, 80)), bright_box(d)


def test_alpha_zero_shows_nothing_and_half_alpha_half_the_light(small_camera, display):
    cam = small_camera
    cam.start_preview()
    d = display.wait(lambda d: bright_box(d) is not None, "the preview")
    full = d[10:80, 60:150].mean()
    cam.preview.alpha = 0
    time.sleep(0.2)
    assert black(display.read())
    cam.preview.alpha = 128
    half = display.wait(lambda d: not black(d), "the half-transparent preview")[10:80, 60:150].mean()
    assert full * 0.35 < half < full * 0.65, (full, half)


@pytest.mark.parametrize(
    "options, box",
    [
        # Letterboxed full screen: x from 40 to 280, 180 high.
        ({}, (40, 0, 160, 90)),
        ({"hflip": True}, (160, 0, 280, 90)),
        ({"vflip": True}, (40, 90, 160, 180)),
        ({"rotation": 180}, (160, 90, 280, 180)),
        # A quarter turn clockwise: 3:4, 135 wide from x 92; the top-left
        # quadrant goes to the top right.
        ({"rotation": 90}, (160, 0, 227, 90)),
        ({"rotation": 270}, (92, 90, 160, 180)),
    ],
)
def test_a_mirrored_or_turned_preview_is_mirrored_or_turned(small_camera, display, options, box):
    small_camera.start_preview(**options)
    d = display.wait(lambda d: near(bright_box(d), box), f"the white quadrant at {box}", timeout=20)
    assert near(bright_box(d), box)


def test_a_higher_layer_covers_a_lower_one(small_camera, display):
    cam = small_camera
    cam.start_preview()  # layer 2
    display.wait(lambda d: bright_box(d) is not None, "the preview")
    # A green overlay below the preview: hidden.
    # 320x176: rows a multiple of 16, as picamerax wants them; stretched
    # to the whole display.
    green = np.zeros((176, 320, 3), dtype=np.uint8)
    green[..., 1] = 255
    overlay = cam.add_overlay(green.tobytes(), size=(320, 176), format="rgb", layer=1, anamorphic=True)
    # It shows only in the letterbox's bars.
    d = display.wait(lambda d: (d[:, :40] == [0, 255, 0]).all(), "the overlay in the bars")
    assert not (d[:, 40:280, 1] == 255).all(), "a lower layer shows over the preview"
    assert bright_box(d) is not None
    # Moved above it: all green.
    overlay.layer = 3
    assert (display.read() == [0, 255, 0]).all()
    cam.remove_overlay(overlay)


def test_an_overlay_shows_the_arrays_pixels_over_the_preview(small_camera, display):
    cam = small_camera
    cam.start_preview()
    display.wait(lambda d: bright_box(d) is not None, "the preview")
    # A 64x32 picture (a multiple of 32x16: no padding) of known pixels, in
    # a window at (100, 50) of its own size, above the preview.
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, size=(32, 64, 3), dtype=np.uint8)
    overlay = cam.add_overlay(
        pixels.tobytes(), size=(64, 32), format="rgb", layer=3, fullscreen=False, window=(100, 50, 64, 32)
    )
    d = display.wait(lambda d: (d[50:82, 100:164] == pixels).all(), "the overlay's pixels")
    # The preview around it.
    assert bright_box(d) is not None
    # A new picture replaces the old one.
    overlay.update(pixels[::-1].tobytes())
    display.wait(lambda d: (d[50:82, 100:164] == pixels[::-1]).all(), "the overlay's new pixels")
    cam.remove_overlay(overlay)
    d = display.read()
    assert not (d[50:82, 100:164] == pixels[::-1]).all()


def test_an_overlay_updated_faster_than_the_display_waits_for_its_buffers(small_camera, display):
    cam = small_camera
    pixels = np.zeros((32, 64, 3), dtype=np.uint8)
    overlay = cam.add_overlay(pixels.tobytes(), size=(64, 32), format="rgb")
    # Each update after the first waits for a display refresh (60 Hz) of
    # its own before its buffer comes back: 13 updates take at least 12
    # refreshes (a lower bound the renderer guarantees).
    start = time.monotonic()
    for i in range(13):
        pixels[:] = i * 10
        overlay.update(pixels.tobytes())
    # The last buffer back: every update shown.
    display.wait(lambda d: (d[90, 160] == 120).all(), "the last update")
    # The pool is picamerax's: it blocks for a buffer, so at least the
    # refreshes the pool cannot cover passed.
    assert time.monotonic() - start >= (13 - 1 - overlay.renderer.inputs[0].buffer_count) / 60
    cam.remove_overlay(overlay)


def test_renderers_come_and_go_without_leaks(emu, small_camera, display):
    cam = small_camera
    before = (threads(), emu.usage())
    for _ in range(10):
        cam.start_preview()
        o = cam.add_overlay(np.zeros((32, 64, 3), dtype=np.uint8).tobytes(), size=(64, 32), layer=3)
        cam.remove_overlay(o)
        cam.stop_preview()
    assert (threads(before[0]), emu.usage()) == before
    assert black(display.read())


def test_the_display_is_written_as_a_png_on_request(small_camera, display, tmp_path):
    from PIL import Image

    small_camera.start_preview()
    display.wait(lambda d: bright_box(d) is not None, "the preview")
    path = tmp_path / "display.png"
    assert display.dump(path)
    with Image.open(path) as png:
        assert png.size == DISPLAY and png.mode == "RGB"
        shown = np.asarray(png)
    assert near(bright_box(shown), (40, 0, 160, 90))
