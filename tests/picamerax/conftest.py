"""picamerax, unmodified, on the software VideoCore's C libraries.

Run with the libraries on the loader's path, as `.ci/run` does:

    LD_LIBRARY_PATH=$(cargo xtask videocore-libs) target/venv/bin/python -m pytest tests/picamerax

Every test gets a fresh `PiCamera` through the `camera` fixture, or makes
its own. `emu` reaches the software VideoCore's controls (sensor, scene,
camera faults, live-object counts, display) in the same library picamerax
loaded, or over VCHIQ in the preload library, whose /dev/vchiq it is:

    VIDEOCORE=vchiq LD_PRELOAD=$PWD/target/debug/libvchiq_preload.so \
        LD_LIBRARY_PATH=$(cargo xtask videocore-libs) target/venv/bin/python -m pytest tests/picamerax
"""

import ctypes as ct
import os
import time

import pytest


class Emulator:
    """The controls of the software VideoCore picamerax's camera is.

    On the C libraries that is the library picamerax loaded as libmmal
    (`videocore_emu_*`). Over VCHIQ (the preload library in `LD_PRELOAD`,
    and `VIDEOCORE` other than `emulated`, so libmmal takes its
    /dev/vchiq) it is the one behind the preload library's /dev/vchiq
    (`vchiq_preload_emu_*`). libmmal then holds the client's side (its
    remote components, pools, connections): the live-object counts add
    both up, so that a leak on either side shows.
    """

    def __init__(self):
        # The same file under the name picamerax opens: one VideoCore.
        self.mmal = ct.CDLL("libmmal.so")
        # The preload library's symbols, in the process's global scope.
        preload = ct.CDLL(None)
        self.over_vchiq = os.environ.get("VIDEOCORE") != "emulated" and hasattr(preload, "vchiq_preload_emu_usage")
        if self.over_vchiq:
            self.lib, self.prefix = preload, "vchiq_preload_emu_"
        else:
            self.lib, self.prefix = self.mmal, "videocore_emu_"
        for lib, prefix in {(self.lib, self.prefix), (self.mmal, "videocore_emu_")}:
            getattr(lib, prefix + "usage").argtypes = [ct.POINTER(ct.c_uint64)]
            getattr(lib, prefix + "vcsm_usage").argtypes = [ct.POINTER(ct.c_uint64)]
        self.fn("set_sensor").argtypes = [ct.c_char_p]
        self.fn("set_scene").argtypes = [ct.c_char_p]
        self.fn("set_camera_fault").argtypes = [ct.c_int]
        self.fn("set_pacing").argtypes = [ct.c_int]
        self.fn("display_read").argtypes = [
            ct.c_void_p,
            ct.c_size_t,
            ct.POINTER(ct.c_uint32),
            ct.POINTER(ct.c_uint32),
        ]
        self.fn("display_dump").argtypes = [ct.c_char_p]
        self.fn("set_display_size").argtypes = [ct.c_uint32, ct.c_uint32]

    def fn(self, name):
        """The control `name` (`usage`, `set_sensor`, `display_read`...)."""
        return getattr(self.lib, self.prefix + name)

    def identify(self):
        """The libmmal picamerax loaded says it is the software VideoCore."""
        self.mmal.videocore_emu_identify.restype = ct.c_char_p
        return self.mmal.videocore_emu_identify().decode()

    def set_sensor(self, name):
        assert self.fn("set_sensor")(name.encode() if name else None) == 0

    def set_scene(self, scene):
        assert self.fn("set_scene")(scene.encode() if scene else None) == 0

    def set_camera_fault(self, fault):
        """None: as the environment says; "ok", "disabled" or "missing"."""
        code = {None: -1, "ok": 0, "disabled": 1, "missing": 2}[fault]
        self.fn("set_camera_fault")(code)

    def set_pacing(self, unlimited):
        self.fn("set_pacing")(1 if unlimited else 0)

    def usage(self):
        """Live objects: the VideoCore's, and over VCHIQ libmmal's too."""
        sides = [(self.lib, self.prefix)]
        if self.over_vchiq:
            sides.append((self.mmal, "videocore_emu_"))
        counts = dict.fromkeys(("components", "threads", "pools", "connections", "vcsm_blocks", "vcsm_bytes"), 0)
        for lib, prefix in sides:
            out = (ct.c_uint64 * 4)()
            getattr(lib, prefix + "usage")(out)
            vcsm = (ct.c_uint64 * 2)()
            getattr(lib, prefix + "vcsm_usage")(vcsm)
            for key, value in zip(counts, list(out) + list(vcsm)):
                counts[key] += value
        return counts


@pytest.fixture(scope="session")
def emu():
    try:
        e = Emulator()
        e.identify()
    except (OSError, AttributeError) as err:
        pytest.fail(
            "these tests need the software VideoCore's libraries on LD_LIBRARY_PATH "
            f"(LD_LIBRARY_PATH=$(cargo xtask videocore-libs)), and over VCHIQ the preload "
            f"library in LD_PRELOAD: {err}"
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
