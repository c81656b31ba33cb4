"""`mmal_util_get_core_port_stats` through picamerax's own bindings.

libmmal's core answers `MMAL_PARAMETER_CORE_STATISTICS` on every port: each
buffer `mmal_port_send_buffer` takes is counted as received, with its time
in microseconds; what a port gives back is counted only in builds with
`MMAL_COLLECT_PORT_STATS` (Raspberry Pi's are not), so it reads zero; a
read with `reset` starts the counts again.
"""

import ctypes as ct
import time

from picamerax import mmal


def test_buffers_sent_to_a_port_are_counted_and_reset(emu):
    component = ct.POINTER(mmal.MMAL_COMPONENT_T)()
    assert mmal.mmal_component_create(b"vc.null_sink", component) == mmal.MMAL_SUCCESS
    port = component[0].input[0]
    stats = mmal.MMAL_CORE_STATISTICS_T()
    assert mmal.mmal_util_get_core_port_stats(port, mmal.MMAL_CORE_STATS_RX, False, stats) == mmal.MMAL_SUCCESS
    assert stats.buffer_count == 0

    port[0].buffer_num = 2
    port[0].buffer_size = max(port[0].buffer_size_min, 64)
    pool = mmal.mmal_port_pool_create(port, 2, port[0].buffer_size)
    assert pool
    callback = mmal.MMAL_PORT_BH_CB_T(lambda p, b: None)  # the test keeps the buffers
    assert mmal.mmal_port_enable(port, callback) == mmal.MMAL_SUCCESS
    for i in range(2):
        if i:
            time.sleep(0.02)
        buf = mmal.mmal_queue_get(pool[0].queue)
        assert buf
        assert mmal.mmal_port_send_buffer(port, buf) == mmal.MMAL_SUCCESS

    assert mmal.mmal_util_get_core_port_stats(port, mmal.MMAL_CORE_STATS_RX, True, stats) == mmal.MMAL_SUCCESS
    assert stats.buffer_count == 2
    assert stats.first_buffer_time != 0
    assert stats.last_buffer_time - stats.first_buffer_time >= 20000
    assert stats.max_delay >= 20000
    # Reset by the read above.
    assert mmal.mmal_util_get_core_port_stats(port, mmal.MMAL_CORE_STATS_RX, False, stats) == mmal.MMAL_SUCCESS
    assert stats.buffer_count == 0
    assert mmal.mmal_util_get_core_port_stats(port, mmal.MMAL_CORE_STATS_TX, False, stats) == mmal.MMAL_SUCCESS
    assert stats.buffer_count == 0

    assert mmal.mmal_port_disable(port) == mmal.MMAL_SUCCESS
    mmal.mmal_port_pool_destroy(port, pool)
    assert mmal.mmal_component_release(component) == mmal.MMAL_SUCCESS
