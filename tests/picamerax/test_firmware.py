"""The firmware camera's parameters and behaviours picamerax relies on:
burst captures, the flash mode, image effect parameters, the shutter speed
bounded by the frame rate, one PiCamera at a time (in this program or
another), and resolutions the firmware refuses."""

import io
import os
import select
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

import picamerax
import picamerax.array
from picamerax import mmal


@pytest.fixture(autouse=True)
def camera_lock_of_this_run(monkeypatch):
    """Cameras contend only with this test run's (and its children's), not
    with other programs on the machine using the emulator meanwhile."""
    monkeypatch.setenv("VIDEOCORE_EMU_CAMERA_LOCK", f"test-firmware-{os.getpid()}")


def burst(camera):
    return camera._camera.outputs[camera.CAMERA_CAPTURE_PORT].params[mmal.MMAL_PARAMETER_CAMERA_BURST_CAPTURE]


def test_capture_sequence_in_burst_mode(camera):
    camera.resolution = (320, 240)
    outputs = [io.BytesIO() for _ in range(3)]
    camera.capture_sequence(outputs, "jpeg", burst=True)
    for out in outputs:
        out.seek(0)
        image = Image.open(out)
        image.load()
        assert (image.format, image.size) == ("JPEG", (320, 240))
    assert not burst(camera), "picamerax turns burst mode off after the sequence"


def test_capture_continuous_in_burst_mode_keeps_burst_on_between_captures(camera):
    camera.resolution = (320, 240)
    stream = io.BytesIO()
    sizes = []
    for i, _ in enumerate(camera.capture_continuous(stream, "jpeg", burst=True)):
        assert burst(camera)
        sizes.append(Image.open(io.BytesIO(stream.getvalue())).size)
        stream.seek(0)
        stream.truncate()
        if i == 2:
            break
    assert sizes == [(320, 240)] * 3
    assert not burst(camera)


def test_flash_mode_is_kept_and_read_back(camera):
    assert camera.flash_mode == "off"
    for mode in camera.FLASH_MODES:
        camera.flash_mode = mode
        assert camera.flash_mode == mode
    with pytest.raises(picamerax.PiCameraValueError):
        camera.flash_mode = "blinding"


def effect_parameters(camera):
    p = camera._camera.control.params[mmal.MMAL_PARAMETER_IMAGE_EFFECT_PARAMETERS]
    return p.effect, list(p.effect_parameter[: p.num_effect_params])


@pytest.mark.parametrize(
    "effect, params, sent",
    [
        ("solarize", (1, 128, 128, 128, 0), [1, 128, 128, 128, 0]),
        ("solarize", (100, 90, 200, 10), [100, 90, 200, 10]),
        ("solarize", 1, [1]),
        ("colorpoint", 2, [2]),
        ("colorbalance", (1.0, 2.0, 1.0, 0.5, 10, 20), [256, 512, 256, 128, 10, 20]),
        ("colorswap", 1, [1]),
        ("posterise", 8, [8]),
        ("blur", 2, [2]),
        ("film", (10, 128, 128), [10, 128, 128]),
        ("watercolor", (128, 128), [128, 128]),
    ],
)
def test_image_effect_params_are_kept_and_read_back(camera, effect, params, sent):
    camera.image_effect = effect
    camera.image_effect_params = params
    assert camera.image_effect_params == params
    assert effect_parameters(camera) == (camera.IMAGE_EFFECTS[effect], sent)


def rgb_still(camera):
    with picamerax.array.PiRGBArray(camera) as out:
        camera.capture(out, "rgb")
        return out.array.astype(np.float64)


def test_image_effect_params_change_the_picture(camera):
    camera.resolution = (160, 128)
    camera.image_effect = "posterise"
    four = rgb_still(camera)
    camera.image_effect_params = 2
    two = rgb_still(camera)

    def between(img):
        return np.mean((img >= 12) & (img <= 243))

    assert between(four) > 0.2
    assert between(two) < 0.01, "2 steps: near black or white, the noise aside"

    camera.image_effect = "colorswap"
    camera.image_effect_params = 0
    bgr = rgb_still(camera).mean(axis=(0, 1))
    camera.image_effect_params = 1
    brg = rgb_still(camera).mean(axis=(0, 1))
    # Direction 0 swaps RGB to BGR, 1 to BRG.
    assert abs(brg[0] - bgr[0]) < 2 and abs(brg[1] - bgr[2]) < 2 and abs(brg[2] - bgr[1]) < 2

    camera.image_effect = "solarize"
    assert rgb_still(camera).max() < 150, "by default the upper half folds down"
    camera.image_effect_params = (255, 255, 255, 255)
    assert rgb_still(camera).max() > 200, "a straight curve"


def test_shutter_speed_is_bounded_by_the_frame_rate(camera):
    # As picamera's own test_shutter_speed.
    camera.framerate = 1
    for value in (0, 50, 20000, 100000, 199950):
        camera.shutter_speed = value
        assert value - 50 <= camera.shutter_speed <= value
    camera.framerate = 30
    assert 33000 <= camera.shutter_speed <= 33333
    assert camera.exposure_speed <= 33334
    # The speed set is kept: at a slower rate it comes back.
    camera.framerate = 1
    assert camera.shutter_speed == 199950


def test_timestamp_counts_microseconds(camera):
    first = camera.timestamp
    time.sleep(0.02)
    second = camera.timestamp
    assert isinstance(first, int)
    assert first + 20_000 <= second < first + 20_000_000


def test_a_second_picamera_is_refused_while_the_first_is_open():
    with picamerax.PiCamera() as first:
        with pytest.raises(picamerax.PiCameraError, match="Out of resources"):
            picamerax.PiCamera()
        # The first is unharmed.
        first.resolution = (320, 240)
        with picamerax.array.PiRGBArray(first) as out:
            first.capture(out, "rgb")
            assert out.array.shape == (240, 320, 3)
    # Accepted once the first is closed. (picamerax leaves the refused
    # camera's preview connection, and the null sink and camera it holds,
    # undestroyed, as on a Pi; they hold no sensor.)
    with picamerax.PiCamera() as second:
        assert second.revision


OPEN_IN_CHILD = """
import sys
import picamerax
try:
    camera = picamerax.PiCamera()
except picamerax.PiCameraError as e:
    print("refused:", e, flush=True)
    sys.exit(0)
print("open", flush=True)
sys.stdin.readline()
camera.close()
"""


def child():
    return subprocess.Popen(
        [sys.executable, "-c", OPEN_IN_CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def first_line(p, timeout=60):
    """The child's first line, waiting at most `timeout` seconds."""
    ready, _, _ = select.select([p.stdout], [], [], timeout)
    if not ready:
        p.kill()
        p.wait()
        pytest.fail("the child said nothing")
    return p.stdout.readline().strip()


def test_a_picamera_in_another_process_is_refused_while_this_one_is_open():
    with picamerax.PiCamera():
        p = child()
        out, _ = p.communicate(timeout=60)
        assert out.startswith("refused:") and "Out of resources" in out, out
    p = child()
    assert first_line(p) == "open"
    p.communicate("\n", timeout=60)
    assert p.returncode == 0


def test_a_picamera_held_by_a_process_that_dies_is_released():
    p = child()
    try:
        assert first_line(p) == "open"
        with pytest.raises(picamerax.PiCameraError, match="Out of resources"):
            picamerax.PiCamera()
    finally:
        p.kill()
        p.wait(timeout=60)
    with picamerax.PiCamera() as camera:
        assert camera.revision


@pytest.mark.parametrize("resolution", [(0, 0), (15, 15), (640, 15), (15, 480)])
def test_resolutions_the_firmware_refuses_are_refused(camera, resolution):
    with pytest.raises(picamerax.PiCameraError):
        camera.resolution = resolution
    # picamerax puts the camera back as it was; a good resolution works.
    camera.resolution = (16, 16)
    assert camera.resolution == (16, 16)
    camera.resolution = (64, 48)
    with picamerax.array.PiRGBArray(camera) as out:
        camera.capture(out, "rgb")
        assert out.array.shape == (48, 64, 3)
