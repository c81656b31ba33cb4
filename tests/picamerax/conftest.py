"""picamerax, unmodified, on the software VideoCore's C libraries.

Run with the libraries on the loader's path, as `.ci/run` does:

    LD_LIBRARY_PATH=$(cargo xtask videocore-libs) target/venv/bin/python -m pytest tests/picamerax

Every test gets a fresh `PiCamera` through the `camera` fixture, or makes
its own. `emu` reaches the software VideoCore's controls (sensor, scene,
camera faults, live-object counts) in the same library picamerax loaded.
"""

import ctypes as ct
import os
import time

import pytest


class Emulator:
    """The `videocore_emu_*` controls of the library picamerax loaded."""

    def __init__(self):
        # The same file under the name picamerax opens: one VideoCore.
        self.lib = ct.CDLL("libmmal.so")
        self.lib.videocore_emu_identify.restype = ct.c_char_p
        self.lib.videocore_emu_set_sensor.argtypes = [ct.c_char_p]
        self.lib.videocore_emu_set_scene.argtypes = [ct.c_char_p]
        self.lib.videocore_emu_set_camera_fault.argtypes = [ct.c_int]
        self.lib.videocore_emu_set_pacing.argtypes = [ct.c_int]
        self.lib.videocore_emu_usage.argtypes = [ct.POINTER(ct.c_uint64)]
        self.lib.videocore_emu_vcsm_usage.argtypes = [ct.POINTER(ct.c_uint64)]

    def identify(self):
        return self.lib.videocore_emu_identify().decode()

    def set_sensor(self, name):
        assert self.lib.videocore_emu_set_sensor(name.encode() if name else None) == 0

    def set_scene(self, scene):
        assert self.lib.videocore_emu_set_scene(scene.encode() if scene else None) == 0

    def set_camera_fault(self, fault):
        """None: as the environment says; "ok", "disabled" or "missing"."""
        code = {None: -1, "ok": 0, "disabled": 1, "missing": 2}[fault]
        self.lib.videocore_emu_set_camera_fault(code)

    def set_pacing(self, unlimited):
        self.lib.videocore_emu_set_pacing(1 if unlimited else 0)

    def usage(self):
        out = (ct.c_uint64 * 4)()
        self.lib.videocore_emu_usage(out)
        counts = dict(zip(("components", "threads", "pools", "connections"), out))
        vcsm = (ct.c_uint64 * 2)()
        self.lib.videocore_emu_vcsm_usage(vcsm)
        counts["vcsm_blocks"], counts["vcsm_bytes"] = vcsm
        return counts


@pytest.fixture(scope="session")
def emu():
    try:
        e = Emulator()
        e.identify()
    except (OSError, AttributeError) as err:
        pytest.fail(
            "these tests need the software VideoCore's libraries on LD_LIBRARY_PATH "
            f"(LD_LIBRARY_PATH=$(cargo xtask videocore-libs)): {err}"
        )
    return e


@pytest.fixture(autouse=True)
def defaults(emu):
    """Each test starts from the default sensor, scene and no fault."""
    emu.set_sensor(None)
    emu.set_scene(None)
    emu.set_camera_fault(None)
    emu.set_pacing(False)
    yield
    emu.set_camera_fault(None)


@pytest.fixture
def camera(emu):
    import picamerax

    with picamerax.PiCamera() as cam:
        yield cam


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def threads(expected=None):
    """This process's threads, once settled.

    A joined thread can stay listed in /proc/self/task for a moment after
    the join returns (the kernel wakes the joiner before it reaps the
    thread), longer under load. Waits up to 10 s for the count to reach
    `expected`, or without one for the same count twice 20 ms apart; a
    thread that never ends still shows.
    """
    deadline = time.monotonic() + 10
    last = len(os.listdir("/proc/self/task"))
    while time.monotonic() < deadline:
        time.sleep(0.02)
        now = len(os.listdir("/proc/self/task"))
        if now == (last if expected is None else expected):
            return now
        last = now
    return last
