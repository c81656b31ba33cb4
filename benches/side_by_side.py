"""1920x1080 I420 frames from the video port of one software VideoCore,
read through picamerax and through the Rust client in the same run:
frames per second and CPU time per frame for each, and their ratio.

    cargo build --release --example video_rate
    LIB=$(cargo xtask videocore-libs --release)
    LD_LIBRARY_PATH=$LIB target/venv/bin/python benches/side_by_side.py $LIB target/release/examples/video_rate

Both read the same libraries (the Rust client through its loader, with
VIDEOCORE=hardware MMAL_LIB_DIR=...), with the camera unpaced
(VIDEOCORE_EMU_PACING=unlimited): each takes frames as fast as it can
handle them. CPU time is the whole process's, the VideoCore's threads
included. Nothing is asserted; the figures are printed.
"""

import ctypes as ct
import os
import subprocess
import sys
import time

FRAMES = int(os.environ.get("FRAMES", "300"))
WIDTH, HEIGHT = 1920, 1080


def picamerax_rate():
    import picamerax

    ct.CDLL("libmmal.so").videocore_emu_set_pacing(1)

    class Counter:
        """A recording output: picamerax writes each frame here."""

        def __init__(self):
            self.frames = 0
            self.start = None

        def write(self, data):
            self.frames += 1
            if self.frames == 10:
                # The first frames carry the picture's preparation.
                self.start = (time.perf_counter(), time.process_time())
            return len(data)

        def flush(self):
            pass

    with picamerax.PiCamera(resolution=(WIDTH, HEIGHT), framerate=30) as camera:
        out = Counter()
        camera.start_recording(out, format="yuv")
        while out.frames < 10 + FRAMES:
            camera.wait_recording(0.01)
        end = (time.perf_counter(), time.process_time())
        frames = out.frames - 10
        camera.stop_recording()
    wall, cpu = end[0] - out.start[0], end[1] - out.start[1]
    return frames, wall, cpu


def rust_rate(lib, binary):
    env = dict(os.environ, VIDEOCORE="hardware", MMAL_LIB_DIR=lib, VIDEOCORE_EMU_PACING="unlimited")
    out = subprocess.run([binary, str(FRAMES), str(WIDTH), str(HEIGHT)], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{binary} failed: {out.stderr}")
    fields = dict(kv.split("=") for kv in out.stdout.split())
    return int(fields["frames"]), float(fields["seconds"]), float(fields["cpu_seconds"])


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    lib, binary = sys.argv[1], sys.argv[2]
    rows = {"picamerax": picamerax_rate(), "Rust client": rust_rate(lib, binary)}
    print(f"{WIDTH}x{HEIGHT} I420 from the video port, {FRAMES} frames each, one software VideoCore")
    print(f"{'':12} {'frames/s':>10} {'CPU ms/frame':>13}")
    figures = {}
    for name, (frames, wall, cpu) in rows.items():
        figures[name] = (frames / wall, 1000 * cpu / frames)
        print(f"{name:12} {figures[name][0]:10.1f} {figures[name][1]:13.2f}")
    (py_fps, py_cpu), (rs_fps, rs_cpu) = figures["picamerax"], figures["Rust client"]
    print(f"Rust / picamerax: {rs_fps / py_fps:.2f}x the frame rate, {py_cpu / rs_cpu:.2f}x less CPU per frame")


if __name__ == "__main__":
    main()
