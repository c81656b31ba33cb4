"""mmal::Camera beside picamerax on one software VideoCore, in one run.

Three cases, each through both clients and through the VideoCore alone:

  rgb   continuous 640x480 RGB frames into arrays: Camera::frames with
        Frame::as_array, against picamerax's capture_continuous(PiRGBArray,
        format='rgb', use_video_port=True)
  i420  the same at 1920x1080 in I420 (PiYUVArray, format='yuv')
  jpeg  1920x1080 JPEG stills: Camera::capture_jpeg against picamerax's
        capture(stream, 'jpeg')

Run it from the workspace's root:

    cargo build --release -p examples --example camera_rate
    LIB=$(cargo xtask videocore-libs --release)
    LD_LIBRARY_PATH=$LIB target/venv/bin/python benches/side_by_side.py $LIB target/release/examples/camera_rate

(target/venv holds picamerax and numpy: `python -m venv target/venv &&
target/venv/bin/pip install picamerax numpy`.) It takes about two
minutes on two cores. Nothing is asserted; the figures are printed.

Both clients load the same C libraries (picamerax through
LD_LIBRARY_PATH, the Rust client through its loader with
VIDEOCORE=hardware MMAL_LIB_DIR=$LIB), so they talk to the same software
VideoCore. For each case it prints frames per second, CPU time per frame
of the whole process, bytes copied and heap allocations per frame by the
client, and the VideoCore alone: `camera_rate --baseline GRAPH` builds
the component graph a client builds, with the final output tunnelled to
vc.null_sink instead of read (for the JPEG, read and dropped: a null sink
does not say when a file is whole). The two clients build different
graphs (mmal::Camera feeds its splitter I420, picamerax OPAQUE; the
splitter then converts to RGB, which costs the software VideoCore very
different amounts; mmal::Camera keeps one image encoder, picamerax makes
one per still and commits the still port's format again first, after
which the software VideoCore prepares its picture again), so each is
measured against its own; the camera's video port straight to a null
sink ("bare") is printed too.

The client's own CPU per frame:
  picamerax: for frames, its process's CPU per frame minus its graph's
    baseline (its Python callback runs on the VideoCore's threads, so the
    threads cannot be told apart). For the JPEG, where that difference is
    inside the VideoCore's own spread (tens of milliseconds a still), its
    code measured directly: the main thread's CPU plus its encoder
    callbacks' (timed with time.thread_time around PiEncoder._callback;
    ctypes' way in and out of the callback is not in it). Both measures
    are printed for every case;
  Rust: the main thread's CPU per frame (the client's whole loop: waiting,
    the array view, giving the buffer back). The crate's buffer callback
    (a queue push and a wake on the VideoCore's thread, a few
    microseconds) is not in it. The process minus its baseline is printed
    too, but the baseline's own run-to-run spread (tens of microseconds at
    1080p, hundreds for the RGB conversion) is larger than the Rust
    client's cost, so that difference is noise around zero.

The camera runs at its frame rate (90 fps for 640x480, 30 for 1080p),
not unpaced: at VIDEOCORE_EMU_PACING=unlimited the camera's preview
output (which both clients keep running into a null sink, for exposure)
produces frames as fast as the null sink returns them, burning more than
a core in proportion to wall time, not to frames; and a second still
from picamerax hangs there (the still port is never served). Paced, every
video frame comes with one preview frame in every graph, and the CPU per
frame is the same whether a client is fast or slow. Frames per second
then say whether a client keeps up with the camera.

Environment: FRAMES_RGB (default 600), FRAMES_I420 (240), STILLS (20).
"""

import ctypes as ct
import io
import os
import subprocess
import sys
import time

FRAMES = {"rgb": int(os.environ.get("FRAMES_RGB", "600")), "i420": int(os.environ.get("FRAMES_I420", "240"))}
STILLS = int(os.environ.get("STILLS", "20"))
FPS = {"rgb": 90, "i420": 30, "jpeg": 30}
SIZE = {"rgb": (640, 480), "i420": (1920, 1080), "jpeg": (1920, 1080)}
WARM_FRAMES, WARM_STILLS = 10, 2


def thread_cpu():
    """This process's CPU seconds per live thread's name, from
    /proc/self/task/*/schedstat (the VideoCore's threads are named after
    their components). A thread that ended is not in it: picamerax's image
    encoder, made for each still, takes its thread (and the Python
    callbacks that ran on it) with it."""
    by_name = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                ns = int(f.read().split()[0])
        except OSError:
            continue
        if tid == str(os.getpid()):
            name = "main thread"
        by_name[name] = by_name.get(name, 0) + ns / 1e9
    return by_name


def thread_delta(before, after):
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0) > 0}


CALLBACKS = {"calls": 0, "cpu": 0.0}


def time_picamerax_callbacks():
    """Wraps picamerax's encoder callback (its Python code that runs on the
    VideoCore's threads for each buffer) to add up its thread CPU time."""
    import picamerax.encoders

    callback = picamerax.encoders.PiEncoder._callback
    if getattr(callback, "timed", False):
        return

    def timed(self, port, buf):
        started = time.thread_time()
        try:
            return callback(self, port, buf)
        finally:
            CALLBACKS["calls"] += 1
            CALLBACKS["cpu"] += time.thread_time() - started

    timed.timed = True
    picamerax.encoders.PiEncoder._callback = timed


def picamerax_frames(case, count):
    """capture_continuous into PiRGBArray or PiYUVArray: frames, seconds,
    CPU seconds, bytes written into the array output, net new blocks."""
    import picamerax
    import picamerax.array

    base = picamerax.array.PiRGBArray if case == "rgb" else picamerax.array.PiYUVArray

    class Counted(base):
        """The array output, counting the bytes picamerax writes into it."""

        written = 0

        def write(self, b):
            Counted.written += len(b)
            return super().write(b)

    width, height = SIZE[case]
    checksum = 0
    with picamerax.PiCamera(resolution=(width, height), framerate=FPS[case]) as camera:
        out = Counted(camera)
        frames = camera.capture_continuous(out, format="rgb" if case == "rgb" else "yuv", use_video_port=True)
        for i, _ in enumerate(frames):
            # Read the picture as a user would: one pixel in the middle.
            checksum += int(out.array[height // 2, width // 2, 0])
            out.seek(0)
            out.truncate()
            if i + 1 == WARM_FRAMES:
                Counted.written = 0
                blocks = sys.getallocatedblocks()
                threads = thread_cpu()
                CALLBACKS.update(calls=0, cpu=0.0)
                start = (time.perf_counter(), time.process_time())
            elif i + 1 == WARM_FRAMES + count:
                end = (time.perf_counter(), time.process_time())
                callbacks = dict(CALLBACKS)
                threads = thread_delta(threads, thread_cpu())
                blocks = sys.getallocatedblocks() - blocks
                break
        frames.close()
    return {
        "frames": count,
        "seconds": end[0] - start[0],
        "cpu": end[1] - start[1],
        "copied": Counted.written / count,
        "blocks": blocks / count,
        "threads": threads,
        "callbacks": callbacks,
    }


def picamerax_stills(count):
    import picamerax

    width, height = SIZE["jpeg"]
    with picamerax.PiCamera(resolution=(width, height), framerate=FPS["jpeg"]) as camera:
        for _ in range(WARM_STILLS):
            camera.capture(io.BytesIO(), "jpeg")
        written = 0
        blocks = sys.getallocatedblocks()
        threads = thread_cpu()
        CALLBACKS.update(calls=0, cpu=0.0)
        start = (time.perf_counter(), time.process_time())
        for _ in range(count):
            stream = io.BytesIO()
            camera.capture(stream, "jpeg")
            written += stream.tell()
        end = (time.perf_counter(), time.process_time())
        callbacks = dict(CALLBACKS)
        threads = thread_delta(threads, thread_cpu())
        blocks = sys.getallocatedblocks() - blocks
    return {
        "frames": count,
        "seconds": end[0] - start[0],
        "cpu": end[1] - start[1],
        "copied": written / count,
        "blocks": blocks / count,
        "threads": threads,
        "callbacks": callbacks,
    }


def camera_rate(binary, lib, case, count, baseline=None):
    env = dict(os.environ, VIDEOCORE="hardware", MMAL_LIB_DIR=lib, VIDEOCORE_EMU_PACING="frame-rate")
    args = [binary, case, str(count), "--fps", str(FPS[case])]
    if baseline:
        args += ["--baseline", baseline]
    out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        sys.exit(f"{' '.join(args)} failed: {out.stderr}")
    fields = dict(kv.split("=") for kv in out.stdout.split())
    frames = int(fields["frames"])
    return {
        "frames": frames,
        "seconds": float(fields["seconds"]),
        "cpu": float(fields["cpu_seconds"]),
        "main": float(fields["main_thread_cpu_seconds"]),
        "allocations": int(fields["allocations"]) / frames,
        "copied_frames": int(fields["copied_frames"]),
        "bytes": int(fields["bytes_per_frame"]),
        "buffers": int(fields["distinct_buffers"]),
    }


def us(seconds, frames):
    return 1e6 * seconds / frames


def report(case, count, rust, py, baselines):
    width, height = SIZE[case]
    what = {"rgb": "RGB frames into arrays", "i420": "I420 frames into arrays", "jpeg": "JPEG stills"}[case]
    unit = "still" if case == "jpeg" else "frame"
    print(f"\n== {case}: {width}x{height} {what}, {count} {unit}s each, camera at {FPS[case]} fps")
    print(f"{'':34} {unit + 's/s':>9} {'CPU us/' + unit:>13}")
    rows = [("Rust (mmal::Camera)", rust), ("picamerax", py)]
    rows += [(f"VideoCore alone, {name} graph", b) for name, b in baselines.items()]
    for name, r in rows:
        print(f"{name:34} {r['frames'] / r['seconds']:9.1f} {us(r['cpu'], r['frames']):13.1f}")
    vc_rust, vc_py = us(baselines["camera"]["cpu"], baselines["camera"]["frames"]), None
    vc_py = us(baselines["picamerax"]["cpu"], baselines["picamerax"]["frames"])
    rust_total, py_total = us(rust["cpu"], rust["frames"]), us(py["cpu"], py["frames"])
    rust_main = us(rust["main"], rust["frames"])
    py_client = py_total - vc_py
    print(
        f"Rust: main thread {rust_main:.1f} us/{unit}; process minus its graph's baseline "
        f"{rust_total - vc_rust:+.1f} us/{unit} (within the baseline's spread)"
    )
    print(f"picamerax: process minus its graph's baseline {py_client:.1f} us/{unit}")
    split = ", ".join(f"{name} {us(cpu, py['frames']):.0f}" for name, cpu in sorted(py["threads"].items()))
    print(f"picamerax's CPU by thread, us/{unit}: {split}")
    py_main = us(py["threads"].get("main thread", 0.0), py["frames"])
    py_callbacks = us(py["callbacks"]["cpu"], py["frames"])
    py_direct = py_main + py_callbacks
    print(
        f"picamerax's own code, measured directly: main thread {py_main:.0f} + its encoder callbacks "
        f"({py['callbacks']['calls'] / py['frames']:.1f}/{unit}, on the VideoCore's threads) {py_callbacks:.0f} "
        f"= {py_direct:.0f} us/{unit}"
    )
    if case == "jpeg":
        # The VideoCore's own spread per still (tens of ms) hides a client
        # cost of about a millisecond: the direct measure is the figure.
        py_client = py_direct
    if case == "jpeg":
        print(
            f"bytes copied per still: Rust {rust['bytes']} (the encoder's buffers gathered into the returned Vec), "
            f"picamerax {py['copied']:.0f} (written into its stream)"
        )
        print(
            f"heap allocations per still: Rust {rust['allocations']:.1f}; picamerax not counted "
            f"(Python has no allocation counter; net new blocks {py['blocks']:+.1f}/still)"
        )
    else:
        copied = "0" if rust["copied_frames"] == 0 else f"{rust['bytes']} ({rust['copied_frames']} frames not in their buffer)"
        print(
            f"bytes copied per frame: Rust {copied} (each array view inside the port's buffer, "
            f"{rust['buffers']} distinct buffers), picamerax {py['copied']:.0f} written into its array output"
        )
        print(
            f"heap allocations per frame: Rust {rust['allocations']:g}; picamerax not counted "
            f"(Python has no allocation counter; net new blocks {py['blocks']:+.1f}/frame)"
        )
    ratio = py_client / rust_main if rust_main > 0 else float("inf")
    print(f"client CPU per frame, {case}: Rust {rust_main:.0f} us, picamerax {py_client:.0f} us ({ratio:.0f} x less)")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    lib, binary = sys.argv[1], sys.argv[2]
    # picamerax runs in this process, on the libraries LD_LIBRARY_PATH finds.
    ct.CDLL("libmmal.so").videocore_emu_set_pacing(0)
    time_picamerax_callbacks()
    started = time.perf_counter()
    for case in ("rgb", "i420"):
        count = FRAMES[case]
        baselines = {g: camera_rate(binary, lib, case, count, g) for g in ("camera", "picamerax", "bare")}
        rust = camera_rate(binary, lib, case, count)
        py = picamerax_frames(case, count)
        report(case, count, rust, py, baselines)
    baselines = {g: camera_rate(binary, lib, "jpeg", STILLS, g) for g in ("camera", "picamerax")}
    rust = camera_rate(binary, lib, "jpeg", STILLS)
    py = picamerax_stills(STILLS)
    report("jpeg", STILLS, rust, py, baselines)
    print(f"\n(the whole run: {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
