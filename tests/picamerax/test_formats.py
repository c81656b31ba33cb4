"""Captures in every format picamerax offers, each opened by Pillow where it
is an image file; and the image encoder in every format the firmware's
lists (JPEG, GIF, PNG, BMP, PPM, TGA), fed a known picture through
picamerax's own mmalobj, read back by Pillow pixel for pixel."""

import io
import time

import numpy as np
import pytest

import picamerax
from picamerax import mmal
from picamerax import mmalobj as mo

# picamerax's formats: the image encoder's, then the camera's own
# (picamerax's RAW_FORMATS), with Pillow's name or the bytes a pixel takes.
IMAGE_FORMATS = {"jpeg": "JPEG", "png": "PNG", "gif": "GIF", "bmp": "BMP"}
RAW_FORMATS = {"yuv": 1.5, "rgb": 3, "rgba": 4, "bgr": 3, "bgra": 4}

RESOLUTION = (100, 75)


def padded(width, height, bpp):
    """Bytes of a raw capture: rows padded to 32 pixels, height to 16."""
    w, h = (width + 31) // 32 * 32, (height + 15) // 16 * 16
    return int(w * h * bpp)


def test_picamerax_offers_these_formats():
    # If picamerax gains a format, this suite must gain it too.
    assert set(IMAGE_FORMATS) | set(RAW_FORMATS) == {"jpeg", "png", "gif", "bmp"} | picamerax.PiCamera.RAW_FORMATS


@pytest.mark.parametrize("use_video_port", [False, True])
@pytest.mark.parametrize("fmt", sorted(IMAGE_FORMATS) + sorted(RAW_FORMATS))
def test_every_format_captures_at_the_requested_size(camera, fmt, use_video_port):
    from PIL import Image

    camera.resolution = RESOLUTION
    stream = io.BytesIO()
    camera.capture(stream, format=fmt, use_video_port=use_video_port)
    data = stream.getvalue()
    if fmt in RAW_FORMATS:
        assert len(data) == padded(*RESOLUTION, RAW_FORMATS[fmt])
        assert max(data) > min(data), "a picture, not a blank"
        return
    stream.seek(0)
    with Image.open(stream) as im:
        assert im.format == IMAGE_FORMATS[fmt]
        assert im.size == RESOLUTION
        pixels = np.asarray(im.convert("RGB")).astype(int)
    assert pixels.shape == (RESOLUTION[1], RESOLUTION[0], 3)
    assert 20 < pixels.mean() < 235 and pixels.std() > 5, "a picture, not a blank"


def block_means(rgb, block=5):
    """Means over blocks of `block` x `block` pixels: the picture without
    the noise each frame has afresh."""
    h, w, c = rgb.shape
    h, w = h // block * block, w // block * block
    return rgb[:h, :w].reshape(h // block, block, w // block, block, c).mean(axis=(1, 3))


@pytest.mark.parametrize("use_video_port", [False, True])
def test_each_file_holds_the_picture_the_rgb_capture_holds(camera, use_video_port):
    from PIL import Image

    camera.resolution = RESOLUTION
    w, h = RESOLUTION
    stream = io.BytesIO()
    camera.capture(stream, format="rgb", use_video_port=use_video_port)
    stride = (w + 31) // 32 * 32
    raw = np.frombuffer(stream.getvalue(), dtype=np.uint8).reshape(-1, stride, 3)[:h, :w]
    reference = block_means(raw.astype(float))
    # Frames differ by their noise only: averaged over blocks, a lossless
    # file is the RGB capture within a few levels, a GIF within its
    # palette's steps more.
    for fmt, tolerance in [("png", 4), ("bmp", 4), ("jpeg", 5), ("gif", 8)]:
        stream = io.BytesIO()
        camera.capture(stream, format=fmt, use_video_port=use_video_port)
        stream.seek(0)
        with Image.open(stream) as im:
            pixels = np.asarray(im.convert("RGB")).astype(float)
        error = np.abs(block_means(pixels) - reference).mean()
        assert error < tolerance, f"{fmt}: {error:.2f} from the RGB capture"


def picture(width, height):
    """A picture of many colours: two ramps and a pattern."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 5 % 256, y * 7 % 256, (y * width + x) * 37 % 256], axis=-1).astype(np.uint8)


def encode(rgb, encoding):
    """The image encoder's file of the RGB24 array `rgb`, sent from the
    client through picamerax's mmalobj."""
    h, w, _ = rgb.shape
    encoder = mo.MMALImageEncoder()
    try:
        port = encoder.inputs[0]
        port.format = mmal.MMAL_ENCODING_RGB24
        port.framesize = (w, h)
        port.commit()
        out = encoder.outputs[0]
        out.copy_from(port)
        out.format = encoding
        out.commit()
        chunks = []

        def gather(port, buf):
            chunks.append(buf.data)
            return bool(buf.flags & mmal.MMAL_BUFFER_HEADER_FLAG_FRAME_END)

        out.enable(gather)
        port.enable(lambda port, buf: True)
        encoder.enable()
        stride, rows = (w + 31) // 32 * 32, (h + 15) // 16 * 16
        frame = np.zeros((rows, stride, 3), dtype=np.uint8)
        frame[:h, :w] = rgb
        buf = port.get_buffer()
        buf.data = frame.tobytes()
        buf.flags = mmal.MMAL_BUFFER_HEADER_FLAG_FRAME_END
        port.send_buffer(buf)
        deadline = time.monotonic() + 30
        while not out._stopped:
            assert time.monotonic() < deadline, "no FRAME_END within 30 s"
            time.sleep(0.01)
        encoder.disable()
        port.disable()
        out.disable()
        return b"".join(chunks)
    finally:
        encoder.close()


def test_the_output_port_lists_the_firmwares_formats():
    encoder = mo.MMALImageEncoder()
    try:
        # The list picamerax keeps for this port (from querying firmware;
        # newer firmware answers the query with a garbled list, which
        # picamerax replaces with this one).
        assert encoder.outputs[0].supported_formats == [
            mmal.MMAL_ENCODING_JPEG,
            mmal.MMAL_ENCODING_GIF,
            mmal.MMAL_ENCODING_PNG,
            mmal.MMAL_ENCODING_BMP,
            mmal.MMAL_ENCODING_PPM,
            mmal.MMAL_ENCODING_TGA,
        ]
    finally:
        encoder.close()


@pytest.mark.parametrize(
    "encoding,name",
    [
        (mmal.MMAL_ENCODING_PNG, "PNG"),
        (mmal.MMAL_ENCODING_BMP, "BMP"),
        (mmal.MMAL_ENCODING_PPM, "PPM"),
        (mmal.MMAL_ENCODING_TGA, "TGA"),
    ],
)
def test_lossless_files_are_the_picture_sent(encoding, name):
    from PIL import Image

    rgb = picture(50, 37)
    with Image.open(io.BytesIO(encode(rgb, encoding))) as im:
        assert im.format == name
        assert im.size == (50, 37)
        assert im.mode == "RGB"
        assert np.array_equal(np.asarray(im), rgb)


def test_a_gif_is_the_picture_sent_within_its_palette():
    from PIL import Image

    # At most 256 colours: exact.
    few = (picture(50, 37) // 64 * 64).astype(np.uint8)
    with Image.open(io.BytesIO(encode(few, mmal.MMAL_ENCODING_GIF))) as im:
        assert im.format == "GIF" and im.size == (50, 37)
        assert np.array_equal(np.asarray(im.convert("RGB")), few)
    # More: each pixel near its colour.
    rgb = picture(50, 37)
    with Image.open(io.BytesIO(encode(rgb, mmal.MMAL_ENCODING_GIF))) as im:
        error = np.abs(np.asarray(im.convert("RGB")).astype(int) - rgb.astype(int))
    assert error.mean() < 12, f"{error.mean():.2f} a sample from the picture"


def test_a_jpeg_is_the_picture_sent_within_its_loss():
    from PIL import Image

    y, x = np.mgrid[0:48, 0:64]
    smooth = np.stack([x * 4, y * 5, 255 - x * 2], axis=-1).astype(np.uint8)
    with Image.open(io.BytesIO(encode(smooth, mmal.MMAL_ENCODING_JPEG))) as im:
        assert im.format == "JPEG" and im.size == (64, 48)
        error = np.abs(np.asarray(im.convert("RGB")).astype(int) - smooth.astype(int))
    assert error.mean() < 3, f"{error.mean():.2f} a sample from the picture"
