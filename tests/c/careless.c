/* A careless C program against the software VideoCore's libraries: what is
 * undefined behaviour in libmmal (a double destroy, a call on a destroyed
 * component, port, pool, queue or connection, a FORMAT_CHANGED event whose
 * length is more than its payload) must be a clear error here, never a use
 * of freed memory; and the cases where libmmal's own contract is kept but
 * the emulator used to go wrong: a connection whose destroy fails, the
 * tunnel disabled from the input component's own callback. Run under
 * valgrind (.ci/run) so that any invalid read or write fails it.
 *
 *   cc -Wall -Wextra -Werror -Immal-sys/include tests/c/careless.c -L"$LIB" \
 *       -lmmal -lvcsm -lbcm_host -lpthread -o target/careless
 *   LD_LIBRARY_PATH="$LIB" target/careless [case...]
 *
 * With no argument every case runs; otherwise the cases named. With
 * --vchiq first, the library's VideoCore is the one behind /dev/vchiq (the
 * VCHIQ-backed libmmal, and the preload library's device): the cases that
 * steer the library's own software VideoCore (a port disable made to fail,
 * its memory's limit) are left out, since that VideoCore does not run
 * them, and where the two differ by design (a tunnel disabled from its
 * input's callback) each is checked for what it does.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MMAL_ABI_USE_STDINT
#include "mmal_abi.h"

/* libbcm_host, libmmal_vc_client */
void bcm_host_init(void);
MMAL_STATUS_T mmal_vc_init(void);
void mmal_vc_deinit(void);
int vc_gencmd(char *response, int maxlen, const char *format, ...);
int vc_gencmd_send(const char *format, ...);

/* libmmal */
MMAL_STATUS_T mmal_component_create(const char *name, MMAL_COMPONENT_T **component);
MMAL_STATUS_T mmal_component_destroy(MMAL_COMPONENT_T *component);
MMAL_STATUS_T mmal_component_release(MMAL_COMPONENT_T *component);
void mmal_component_acquire(MMAL_COMPONENT_T *component);
MMAL_STATUS_T mmal_component_enable(MMAL_COMPONENT_T *component);
MMAL_STATUS_T mmal_component_disable(MMAL_COMPONENT_T *component);
MMAL_STATUS_T mmal_port_format_commit(MMAL_PORT_T *port);
MMAL_STATUS_T mmal_port_enable(MMAL_PORT_T *port, MMAL_PORT_BH_CB_T cb);
MMAL_STATUS_T mmal_port_disable(MMAL_PORT_T *port);
MMAL_STATUS_T mmal_port_send_buffer(MMAL_PORT_T *port, MMAL_BUFFER_HEADER_T *buffer);
MMAL_STATUS_T mmal_port_parameter_set(MMAL_PORT_T *port, const MMAL_PARAMETER_HEADER_T *param);
MMAL_STATUS_T mmal_port_parameter_get(MMAL_PORT_T *port, MMAL_PARAMETER_HEADER_T *param);
MMAL_STATUS_T mmal_port_parameter_set_boolean(MMAL_PORT_T *port, uint32_t id, int32_t value);
MMAL_POOL_T *mmal_port_pool_create(MMAL_PORT_T *port, unsigned int headers, uint32_t payload_size);
void mmal_port_pool_destroy(MMAL_PORT_T *port, MMAL_POOL_T *pool);
MMAL_STATUS_T mmal_port_event_get(MMAL_PORT_T *port, MMAL_BUFFER_HEADER_T **buffer, uint32_t event);
MMAL_EVENT_FORMAT_CHANGED_T *mmal_event_format_changed_get(MMAL_BUFFER_HEADER_T *buffer);
MMAL_BUFFER_HEADER_T *mmal_queue_get(MMAL_QUEUE_T *queue);
MMAL_BUFFER_HEADER_T *mmal_queue_timedwait(MMAL_QUEUE_T *queue, unsigned int timeout_ms);
MMAL_QUEUE_T *mmal_queue_create(void);
void mmal_queue_put(MMAL_QUEUE_T *queue, MMAL_BUFFER_HEADER_T *buffer);
void mmal_queue_destroy(MMAL_QUEUE_T *queue);
unsigned int mmal_queue_length(MMAL_QUEUE_T *queue);
void mmal_buffer_header_release(MMAL_BUFFER_HEADER_T *header);
MMAL_POOL_T *mmal_pool_create(unsigned int headers, uint32_t payload_size);
uint8_t *mmal_port_payload_alloc(MMAL_PORT_T *port, uint32_t payload_size);
void mmal_port_payload_free(MMAL_PORT_T *port, uint8_t *payload);
MMAL_STATUS_T mmal_pool_resize(MMAL_POOL_T *pool, unsigned int headers, uint32_t payload_size);
void mmal_pool_destroy(MMAL_POOL_T *pool);
MMAL_STATUS_T mmal_connection_create(MMAL_CONNECTION_T **connection, MMAL_PORT_T *out, MMAL_PORT_T *in, uint32_t flags);
MMAL_STATUS_T mmal_connection_enable(MMAL_CONNECTION_T *connection);
MMAL_STATUS_T mmal_connection_disable(MMAL_CONNECTION_T *connection);
MMAL_STATUS_T mmal_connection_destroy(MMAL_CONNECTION_T *connection);
MMAL_STATUS_T mmal_connection_release(MMAL_CONNECTION_T *connection);
const char *mmal_status_to_string(MMAL_STATUS_T status);

/* The software VideoCore's hooks. */
void videocore_emu_usage(uint64_t *out);
void videocore_emu_fail_next_port_disable(void);
int videocore_emu_set_scene(const char *value);

#include "check.h"

/* The VideoCore is behind /dev/vchiq (--vchiq). */
static int over_vchiq;

/* Whether a case that steers the library's own VideoCore runs. */
static int local_videocore(const char *name)
{
    if (over_vchiq)
        printf("%s: skipped (the VideoCore is behind /dev/vchiq)\n", name);
    return !over_vchiq;
}

static uint64_t live(int what)
{
    uint64_t usage[4] = {0, 0, 0, 0};
    videocore_emu_usage(usage);
    return usage[what];
}
enum { COMPONENTS, THREADS, POOLS, CONNECTIONS };

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Gives `port` an I420 format of `width` x `height` and commits it. */
static MMAL_STATUS_T i420(MMAL_PORT_T *port, uint32_t width, uint32_t height)
{
    port->format->encoding = MMAL_ENCODING_I420;
    port->format->es->video.width = width;
    port->format->es->video.height = height;
    port->format->es->video.crop.width = (int32_t)width;
    port->format->es->video.crop.height = (int32_t)height;
    return mmal_port_format_commit(port);
}

static void release_cb(MMAL_PORT_T *port, MMAL_BUFFER_HEADER_T *buffer)
{
    (void)port;
    mmal_buffer_header_release(buffer);
}

/* A component destroyed twice, and used after its destroy, through itself
 * and through a port pointer kept from before. */
static void component_after_destroy(void)
{
    MMAL_COMPONENT_T *sink = NULL;
    OK(mmal_component_create("vc.null_sink", &sink));
    if (!sink)
        return;
    MMAL_PORT_T *input = sink->input[0], *control = sink->control;
    uint64_t before = live(COMPONENTS);
    OK(mmal_component_destroy(sink));
    CHECK(live(COMPONENTS) == before - 1);
    IS(mmal_component_destroy(sink), MMAL_EINVAL);
    IS(mmal_component_release(sink), MMAL_EINVAL);
    mmal_component_acquire(sink);
    IS(mmal_component_enable(sink), MMAL_EINVAL);
    IS(mmal_component_disable(sink), MMAL_EINVAL);
    IS(mmal_port_enable(input, release_cb), MMAL_EINVAL);
    IS(mmal_port_disable(input), MMAL_EINVAL);
    IS(mmal_port_format_commit(input), MMAL_EINVAL);
    IS(mmal_port_parameter_set_boolean(input, MMAL_PARAMETER_ZERO_COPY, 1), MMAL_EINVAL);
    CHECK(mmal_port_pool_create(input, 1, 64) == NULL);
    MMAL_BUFFER_HEADER_T *event = NULL;
    IS(mmal_port_event_get(control, &event, MMAL_EVENT_ERROR), MMAL_EINVAL);
    CHECK(event == NULL);
    CHECK(live(COMPONENTS) == before - 1);
}

/* A pool destroyed twice, and used after its destroy, through itself and
 * through its queue. */
static void pool_after_destroy(void)
{
    uint64_t before = live(POOLS);
    MMAL_POOL_T *pool = mmal_pool_create(2, 64);
    CHECK(pool != NULL);
    if (!pool)
        return;
    MMAL_QUEUE_T *queue = pool->queue;
    CHECK(mmal_queue_length(queue) == 2);
    mmal_pool_destroy(pool);
    CHECK(live(POOLS) == before);
    mmal_pool_destroy(pool);
    IS(mmal_pool_resize(pool, 4, 64), MMAL_EINVAL);
    CHECK(mmal_queue_get(queue) == NULL);
    CHECK(mmal_queue_length(queue) == 0);
    CHECK(mmal_queue_timedwait(queue, 1) == NULL);

    /* The same through the port functions. */
    MMAL_COMPONENT_T *sink = NULL;
    OK(mmal_component_create("vc.null_sink", &sink));
    if (!sink)
        return;
    pool = mmal_port_pool_create(sink->input[0], 1, 64);
    CHECK(pool != NULL);
    mmal_port_pool_destroy(sink->input[0], pool);
    mmal_port_pool_destroy(sink->input[0], pool);
    CHECK(live(POOLS) == before + 1); /* the sink's event pool */
    OK(mmal_component_destroy(sink));
    CHECK(live(POOLS) == before);
}

/* A queue destroyed twice, and used after its destroy; a pool's queue is
 * not the client's to destroy. */
static void queue_after_destroy(void)
{
    MMAL_QUEUE_T *queue = mmal_queue_create();
    MMAL_POOL_T *pool = mmal_pool_create(1, 16);
    CHECK(queue != NULL && pool != NULL);
    if (!queue || !pool)
        return;
    MMAL_BUFFER_HEADER_T *b = mmal_queue_get(pool->queue);
    mmal_queue_put(queue, b);
    CHECK(mmal_queue_length(queue) == 1);
    CHECK(mmal_queue_get(queue) == b);
    mmal_queue_destroy(queue);
    mmal_queue_destroy(queue);
    mmal_queue_put(queue, b); /* ignored: the header stays the caller's */
    CHECK(mmal_queue_get(queue) == NULL);
    CHECK(mmal_queue_length(queue) == 0);
    mmal_queue_destroy(pool->queue); /* refused: the pool's own */
    mmal_buffer_header_release(b);
    CHECK(mmal_queue_length(pool->queue) == 1);
    mmal_pool_destroy(pool);
}

/* A camera preview connected to a null sink with `flags`. */
static int connect_preview(MMAL_COMPONENT_T **camera, MMAL_COMPONENT_T **sink, MMAL_CONNECTION_T **connection,
                           uint32_t flags)
{
    *camera = *sink = NULL;
    *connection = NULL;
    OK(mmal_component_create("vc.ril.camera", camera));
    OK(mmal_component_create("vc.null_sink", sink));
    if (!*camera || !*sink)
        return 0;
    MMAL_PORT_T *preview = (*camera)->output[0];
    preview->format->encoding = MMAL_ENCODING_OPAQUE;
    preview->format->es->video.width = 160;
    preview->format->es->video.height = 128;
    preview->format->es->video.crop.width = 160;
    preview->format->es->video.crop.height = 120;
    OK(mmal_port_format_commit(preview));
    OK(mmal_connection_create(connection, preview, (*sink)->input[0], flags));
    return *connection != NULL;
}

/* A camera preview tunnelled to a null sink, as dropin.c makes it. */
static int tunnel(MMAL_COMPONENT_T **camera, MMAL_COMPONENT_T **sink, MMAL_CONNECTION_T **connection)
{
    return connect_preview(camera, sink, connection, MMAL_CONNECTION_FLAG_TUNNELLING);
}

/* A connection whose components are destroyed before it (an enabled
 * tunnel, from either end; one through the client): its memory and its
 * ports' are never read after the components are freed (valgrind). Enable
 * and disable of it are EINVAL; its destroy disables what is left of it
 * on the other component and frees it. */
static void component_destroyed_before_connection(void)
{
    for (int which = 0; which < 3; which++) {
        MMAL_COMPONENT_T *camera, *sink;
        MMAL_CONNECTION_T *connection;
        uint32_t flags = which == 2 ? 0 : MMAL_CONNECTION_FLAG_TUNNELLING;
        if (!connect_preview(&camera, &sink, &connection, flags))
            return;
        OK(mmal_connection_enable(connection));
        MMAL_COMPONENT_T *gone = which == 1 ? sink : camera, *kept = which == 1 ? camera : sink;
        OK(mmal_component_destroy(gone));
        IS(mmal_connection_enable(connection), MMAL_EINVAL);
        IS(mmal_connection_disable(connection), MMAL_EINVAL);
        OK(mmal_connection_destroy(connection));
        CHECK(live(CONNECTIONS) == 0);
        IS(mmal_connection_destroy(connection), MMAL_EINVAL);
        CHECK(!kept->input_num || !kept->input[0]->is_enabled);
        CHECK(!kept->output_num || !kept->output[0]->is_enabled);
        OK(mmal_component_destroy(kept));
        CHECK(live(COMPONENTS) == 0 && live(POOLS) == 0);
    }
}

/* A connection through the client whose disable fails on its input: the
 * answer at once, the output left as it was (as libmmal); a retry
 * finishes the disable, and the destroy succeeds. */
static void connection_disable_fails_through_client(void)
{
    MMAL_COMPONENT_T *camera, *sink;
    MMAL_CONNECTION_T *connection;
    if (!local_videocore("connection_disable_fails_through_client"))
        return;
    if (!connect_preview(&camera, &sink, &connection, 0))
        return;
    OK(mmal_connection_enable(connection));
    videocore_emu_fail_next_port_disable();
    IS(mmal_connection_disable(connection), MMAL_EIO);
    CHECK(connection->is_enabled);
    CHECK(sink->input[0]->is_enabled && camera->output[0]->is_enabled);
    OK(mmal_connection_disable(connection));
    CHECK(!connection->is_enabled);
    CHECK(!sink->input[0]->is_enabled && !camera->output[0]->is_enabled);
    OK(mmal_connection_destroy(connection));
    CHECK(live(CONNECTIONS) == 0);
    OK(mmal_component_destroy(sink));
    OK(mmal_component_destroy(camera));
    CHECK(live(COMPONENTS) == 0);
}

/* A destroy of a connection's last reference under way: another destroy
 * and an enable are EINVAL (they came in while it disables the ports),
 * the destroy itself succeeds. The connection's callback, on the camera's
 * thread, waits until the destroy has disabled the input (the output's
 * disable then waits for this callback), and tries both from there. */
static MMAL_CONNECTION_T *racing;
static pthread_t racing_main;
static volatile int racing_started, racing_done;
static MMAL_STATUS_T racing_enable, racing_destroy;

static void racing_cb(MMAL_CONNECTION_T *connection)
{
    if (pthread_equal(pthread_self(), racing_main) || racing_started)
        return;
    racing_started = 1;
    /* Bounded: 20 s at most. */
    for (int i = 0; i < 2000 && connection->in->is_enabled; i++)
        sleep_ms(10);
    racing_enable = mmal_connection_enable(connection);
    racing_destroy = mmal_connection_destroy(connection);
    racing_done = 1;
}

static void connection_destroy_races(void)
{
    MMAL_COMPONENT_T *camera, *sink;
    if (!connect_preview(&camera, &sink, &racing, 0))
        return;
    racing_main = pthread_self();
    racing_started = racing_done = 0;
    racing->callback = racing_cb;
    OK(mmal_connection_enable(racing));
    OK(mmal_component_enable(camera));
    MMAL_BUFFER_HEADER_T *b;
    while ((b = mmal_queue_get(racing->pool->queue)) != NULL)
        OK(mmal_port_send_buffer(racing->out, b));
    for (int i = 0; i < 2000 && !racing_started; i++)
        sleep_ms(10);
    CHECK(racing_started);
    OK(mmal_connection_destroy(racing));
    CHECK(racing_done);
    IS(racing_enable, MMAL_EINVAL);
    IS(racing_destroy, MMAL_EINVAL);
    CHECK(live(CONNECTIONS) == 0);
    OK(mmal_component_destroy(sink));
    OK(mmal_component_destroy(camera));
    CHECK(live(COMPONENTS) == 0);
}

/* Heap payloads all together stay within the VideoCore's memory: of two
 * pools each of 60% of it, the second is NULL while the first lives, and
 * made once it is gone; the same for mmal_port_payload_alloc. */
static void payloads_share_the_memory(void)
{
    /* The emulated memory: 256 MiB unless VIDEOCORE_EMU_CMA says else. */
    if (getenv("VIDEOCORE_EMU_CMA")) {
        printf("payloads_share_the_memory: skipped (VIDEOCORE_EMU_CMA is set)\n");
        return;
    }
    /* Over VCHIQ the pools are the ARM's memory, as libmmal's are. */
    if (!local_videocore("payloads_share_the_memory"))
        return;
    uint32_t size = (uint32_t)((256u << 20) / 10 * 6);
    MMAL_POOL_T *first = mmal_pool_create(1, size);
    CHECK(first != NULL);
    if (!first)
        return;
    CHECK(mmal_pool_create(1, size) == NULL);
    MMAL_COMPONENT_T *sink = NULL;
    OK(mmal_component_create("vc.null_sink", &sink));
    if (sink)
        CHECK(mmal_port_payload_alloc(sink->input[0], size) == NULL);
    mmal_pool_destroy(first);
    MMAL_POOL_T *second = mmal_pool_create(1, size);
    CHECK(second != NULL);
    if (second)
        mmal_pool_destroy(second);
    if (sink) {
        uint8_t *payload = mmal_port_payload_alloc(sink->input[0], size);
        CHECK(payload != NULL);
        CHECK(mmal_pool_create(1, size) == NULL);
        mmal_port_payload_free(sink->input[0], payload);
        OK(mmal_component_destroy(sink));
    }
}

/* A connection destroyed twice, and used after its destroy. */
static void connection_after_destroy(void)
{
    MMAL_COMPONENT_T *camera, *sink;
    MMAL_CONNECTION_T *connection;
    if (!tunnel(&camera, &sink, &connection))
        return;
    OK(mmal_connection_enable(connection));
    OK(mmal_connection_destroy(connection));
    CHECK(live(CONNECTIONS) == 0);
    IS(mmal_connection_destroy(connection), MMAL_EINVAL);
    IS(mmal_connection_release(connection), MMAL_EINVAL);
    IS(mmal_connection_enable(connection), MMAL_EINVAL);
    IS(mmal_connection_disable(connection), MMAL_EINVAL);
    OK(mmal_component_destroy(sink));
    OK(mmal_component_destroy(camera));
}

/* A connection whose destroy fails (its disable does) stays whole: enabled,
 * connected and destroyable; libmmal's destroy is the same. */
static void connection_destroy_fails(void)
{
    MMAL_COMPONENT_T *camera, *sink;
    MMAL_CONNECTION_T *connection;
    if (!local_videocore("connection_destroy_fails"))
        return;
    if (!tunnel(&camera, &sink, &connection))
        return;
    OK(mmal_connection_enable(connection));
    videocore_emu_fail_next_port_disable();
    IS(mmal_connection_destroy(connection), MMAL_EIO);
    CHECK(live(CONNECTIONS) == 1);
    CHECK(connection->is_enabled);
    OK(mmal_connection_destroy(connection));
    CHECK(live(CONNECTIONS) == 0);
    /* The ports are free again: a new connection connects them. */
    MMAL_CONNECTION_T *again = NULL;
    OK(mmal_connection_create(&again, camera->output[0], sink->input[0], MMAL_CONNECTION_FLAG_TUNNELLING));
    if (again)
        OK(mmal_connection_destroy(again));
    OK(mmal_component_destroy(sink));
    OK(mmal_component_destroy(camera));
    CHECK(live(CONNECTIONS) == 0 && live(COMPONENTS) == 0);
}

static MMAL_QUEUE_T *returned;

static void to_returned(MMAL_PORT_T *port, MMAL_BUFFER_HEADER_T *buffer)
{
    (void)port;
    mmal_queue_put(returned, buffer);
}

/* FORMAT_CHANGED events: libmmal's layout and pointers for a good one;
 * NULL for one whose length is more than its payload (or that has none);
 * such an event sent to an input port is read within its payload. */
static void format_changed(void)
{
    MMAL_COMPONENT_T *sink = NULL;
    OK(mmal_component_create("vc.null_sink", &sink));
    if (!sink)
        return;
    MMAL_BUFFER_HEADER_T *ev = NULL;
    OK(mmal_port_event_get(sink->control, &ev, MMAL_EVENT_FORMAT_CHANGED));
    if (ev) {
        MMAL_EVENT_FORMAT_CHANGED_T *e = mmal_event_format_changed_get(ev);
        CHECK(e != NULL && (void *)e == (void *)ev->data);
        if (e) {
            CHECK((uint8_t *)e->format == ev->data + sizeof(*e));
            CHECK((void *)e->format->es == (void *)(e->format + 1));
            CHECK(e->format->extradata_size ==
                  ev->length - sizeof(*e) - sizeof(MMAL_ES_FORMAT_T) - sizeof(MMAL_ES_SPECIFIC_FORMAT_T));
        }
        mmal_buffer_header_release(ev);
    }

    MMAL_POOL_T *small = mmal_pool_create(1, 8), *empty = mmal_pool_create(1, 0);
    returned = mmal_queue_create();
    if (!small || !empty || !returned)
        return;
    MMAL_BUFFER_HEADER_T *b = mmal_queue_get(empty->queue);
    b->cmd = MMAL_EVENT_FORMAT_CHANGED;
    b->length = 256;
    CHECK(mmal_event_format_changed_get(b) == NULL);
    mmal_buffer_header_release(b);

    b = mmal_queue_get(small->queue);
    b->cmd = MMAL_EVENT_FORMAT_CHANGED;
    b->length = 4096;
    CHECK(mmal_event_format_changed_get(b) == NULL);
    MMAL_PORT_T *input = sink->input[0];
    OK(mmal_port_enable(input, to_returned));
    /* An event sent to an input comes back at once, empty, through the
     * port's callback (as libmmal's VideoCore client hands it back). */
    OK(mmal_port_send_buffer(input, b));
    CHECK(mmal_queue_length(returned) == 1);
    MMAL_BUFFER_HEADER_T *back = mmal_queue_get(returned);
    CHECK(back == b && back->cmd == MMAL_EVENT_FORMAT_CHANGED && back->length == 0);
    if (back)
        mmal_buffer_header_release(back);
    OK(mmal_port_disable(input));
    CHECK(mmal_queue_length(returned) == 0);
    CHECK(mmal_queue_length(small->queue) == 1);
    mmal_pool_destroy(small);
    mmal_pool_destroy(empty);
    mmal_queue_destroy(returned);
    OK(mmal_component_destroy(sink));
}

/* A parameter whose header says more than the caller's struct: get writes
 * no more than the answer (valgrind sees the rest of the struct untouched),
 * set refuses a size past the largest parameter without reading it. */
static void parameter_sizes(void)
{
    MMAL_COMPONENT_T *sink = NULL;
    OK(mmal_component_create("vc.null_sink", &sink));
    if (!sink)
        return;
    /* Exactly the struct, on the heap, so a write past it is seen. */
    MMAL_PARAMETER_BOOLEAN_T *flag = malloc(sizeof(*flag));
    if (!flag)
        return;
    flag->hdr.id = MMAL_PARAMETER_ZERO_COPY;
    flag->hdr.size = MMAL_PARAMETER_MAX_SIZE;
    flag->enable = 7;
    OK(mmal_port_parameter_get(sink->input[0], &flag->hdr));
    CHECK(flag->hdr.size == sizeof(*flag) && flag->enable == 0);
    flag->hdr.size = 1u << 30;
    IS(mmal_port_parameter_set(sink->input[0], &flag->hdr), MMAL_ENOSPC);
    free(flag);
    OK(mmal_component_destroy(sink));
}

/* Finding 2: the tunnel's output disabled from the input component's own
 * callback. The input cannot be disabled on its own thread, so the disable
 * must fail and leave the tunnel as it was (its pool, which the input's
 * headers belong to, alive). Over VCHIQ the callback runs on the client's
 * delivery thread, not the component's (which is the VideoCore's): there
 * the tunnel comes apart from it, its output with it. */
static MMAL_CONNECTION_T *cb_connection;
static MMAL_PORT_T *cb_camera_out;
static volatile int cb_done;
static MMAL_STATUS_T cb_connection_status, cb_port_status;

static void splitter_cb(MMAL_PORT_T *port, MMAL_BUFFER_HEADER_T *buffer)
{
    (void)port;
    if (!__atomic_load_n(&cb_done, __ATOMIC_ACQUIRE)) {
        cb_connection_status = mmal_connection_disable(cb_connection);
        cb_port_status = mmal_port_disable(cb_camera_out);
        __atomic_store_n(&cb_done, 1, __ATOMIC_RELEASE);
    }
    mmal_buffer_header_release(buffer);
}

static void disable_tunnel_from_input_callback(void)
{
    MMAL_COMPONENT_T *camera = NULL, *splitter = NULL;
    OK(mmal_component_create("vc.ril.camera", &camera));
    OK(mmal_component_create("vc.ril.video_splitter", &splitter));
    if (!camera || !splitter)
        return;
    MMAL_PORT_T *video = camera->output[1];
    OK(i420(video, 96, 64));
    MMAL_CONNECTION_T *connection = NULL;
    OK(mmal_connection_create(&connection, video, splitter->input[0], MMAL_CONNECTION_FLAG_TUNNELLING));
    if (!connection)
        return;
    MMAL_PORT_T *out = splitter->output[0];
    OK(i420(out, 96, 64));
    out->buffer_num = 2;
    MMAL_POOL_T *pool = mmal_port_pool_create(out, out->buffer_num, out->buffer_size);
    CHECK(pool != NULL);
    if (!pool)
        return;
    cb_connection = connection;
    cb_camera_out = video;
    OK(mmal_port_enable(out, splitter_cb));
    MMAL_BUFFER_HEADER_T *b;
    while ((b = mmal_queue_get(pool->queue)) != NULL)
        OK(mmal_port_send_buffer(out, b));
    OK(mmal_connection_enable(connection));
    OK(mmal_component_enable(splitter));
    OK(mmal_component_enable(camera));
    OK(mmal_port_parameter_set_boolean(video, MMAL_PARAMETER_CAPTURE, 1));
    for (int i = 0; i < 3000 && !__atomic_load_n(&cb_done, __ATOMIC_ACQUIRE); i++)
        sleep_ms(10);
    CHECK(__atomic_load_n(&cb_done, __ATOMIC_ACQUIRE));
    if (over_vchiq) {
        IS(cb_connection_status, MMAL_SUCCESS);
        CHECK(!connection->is_enabled && !video->is_enabled && !splitter->input[0]->is_enabled);
        /* Disabled with the tunnel already. */
        IS(cb_port_status, MMAL_EINVAL);
    } else {
        if (cb_connection_status == MMAL_SUCCESS)
            fprintf(stderr, "mmal_connection_disable from the input's callback: %s\n",
                    mmal_status_to_string(cb_connection_status));
        CHECK(cb_connection_status != MMAL_SUCCESS);
        CHECK(cb_port_status != MMAL_SUCCESS);
    }
    /* From this thread, everything comes apart as usual. */
    mmal_port_parameter_set_boolean(video, MMAL_PARAMETER_CAPTURE, 0);
    OK(mmal_port_disable(out));
    mmal_connection_disable(connection);
    OK(mmal_connection_destroy(connection));
    mmal_port_pool_destroy(out, pool);
    OK(mmal_component_destroy(splitter));
    OK(mmal_component_destroy(camera));
    CHECK(live(CONNECTIONS) == 0 && live(COMPONENTS) == 0);
}

/* A buffer sent while the port still holds it (again, or as another header
 * naming its payload, to an output or an input): libmmal's contract forbids
 * it. Over VCHIQ an output's frame is received straight into its payload,
 * so such a send is refused with EINVAL and the payload is neither read nor
 * written for it; the first send comes back once, with its frame. */
static MMAL_QUEUE_T *twice_back;

static void to_twice_back(MMAL_PORT_T *port, MMAL_BUFFER_HEADER_T *buffer)
{
    (void)port;
    mmal_queue_put(twice_back, buffer);
}

static void sent_twice(void)
{
    if (!over_vchiq) {
        printf("sent_twice: skipped (checked over VCHIQ, where the VideoCore writes the payload)\n");
        return;
    }
    const uint32_t frame = 96 * 64 * 3 / 2;
    MMAL_COMPONENT_T *camera = NULL, *sink = NULL;
    MMAL_POOL_T *pool = NULL;
    MMAL_PORT_T *video = NULL, *input = NULL;
    OK(mmal_component_create("vc.ril.camera", &camera));
    OK(mmal_component_create("vc.null_sink", &sink));
    twice_back = mmal_queue_create();
    CHECK(camera && sink && twice_back);
    if (!camera || !sink || !twice_back)
        goto out;
    video = camera->output[1];
    input = sink->input[0];
    OK(i420(video, 96, 64));
    video->buffer_num = 2;
    video->buffer_size = video->buffer_size_recommended > frame ? video->buffer_size_recommended : frame;
    pool = mmal_port_pool_create(video, 3, video->buffer_size);
    CHECK(pool != NULL);
    if (!pool)
        goto out;
    OK(mmal_port_enable(video, to_twice_back));
    OK(mmal_port_enable(input, to_twice_back));
    MMAL_BUFFER_HEADER_T *a = mmal_queue_get(pool->queue), *b = mmal_queue_get(pool->queue);
    MMAL_BUFFER_HEADER_T *c = mmal_queue_get(pool->queue);
    CHECK(a && b && c);
    if (!a || !b || !c) {
        MMAL_BUFFER_HEADER_T *got[] = {a, b, c};
        for (int i = 0; i < 3; i++)
            if (got[i])
                mmal_buffer_header_release(got[i]);
        goto out;
    }
    /* Without capture the camera holds what it is sent. */
    OK(mmal_port_send_buffer(video, a));
    IS(mmal_port_send_buffer(video, a), MMAL_EINVAL);
    uint8_t *own = b->data;
    b->data = a->data;
    IS(mmal_port_send_buffer(video, b), MMAL_EINVAL);
    b->length = 16;
    IS(mmal_port_send_buffer(input, b), MMAL_EINVAL);
    b->data = own;
    b->length = 0;
    /* The refusals were the busy payload's: headers of their own go. */
    c->length = 16;
    OK(mmal_port_send_buffer(input, c));
    OK(mmal_port_send_buffer(video, b));
    OK(mmal_component_enable(camera));
    OK(mmal_port_parameter_set_boolean(video, MMAL_PARAMETER_CAPTURE, 1));
    /* a and b with frames, c consumed, in any order. */
    int frames = 0, consumed = 0;
    for (int i = 0; i < 3; i++) {
        MMAL_BUFFER_HEADER_T *back = mmal_queue_timedwait(twice_back, 30000);
        CHECK(back != NULL);
        if (!back)
            break;
        if (back == c) {
            consumed++;
        } else {
            CHECK(back == a || back == b);
            CHECK(back->length == frame);
            int lit = 0;
            for (uint32_t k = 0; k < back->length; k++)
                lit |= back->data[back->offset + k];
            CHECK(lit != 0);
            frames++;
        }
        mmal_buffer_header_release(back);
    }
    CHECK(frames == 2 && consumed == 1);
    mmal_port_parameter_set_boolean(video, MMAL_PARAMETER_CAPTURE, 0);
out:
    if (video && video->is_enabled)
        OK(mmal_port_disable(video));
    if (input && input->is_enabled)
        OK(mmal_port_disable(input));
    if (twice_back) {
        /* Each came back once: nothing more. */
        CHECK(mmal_queue_length(twice_back) == 0);
        MMAL_BUFFER_HEADER_T *left;
        while ((left = mmal_queue_get(twice_back)) != NULL)
            mmal_buffer_header_release(left);
        mmal_queue_destroy(twice_back);
        twice_back = NULL;
    }
    if (pool) {
        CHECK(mmal_queue_length(pool->queue) == 3);
        mmal_port_pool_destroy(video, pool);
    }
    if (sink)
        OK(mmal_component_destroy(sink));
    if (camera)
        OK(mmal_component_destroy(camera));
}

/* Requests far past the VideoCore's memory are NULL at once. */
static void oversized_pools(void)
{
    CHECK(mmal_pool_create(4, 0x80000000u) == NULL);
    MMAL_COMPONENT_T *sink = NULL;
    OK(mmal_component_create("vc.null_sink", &sink));
    if (!sink)
        return;
    CHECK(mmal_port_pool_create(sink->input[0], 2, 0xF0000000u) == NULL);
    OK(mmal_component_destroy(sink));
}

/* The emulator's hooks answer an error, never abort the program: a scene
 * whose header overflows the parser's arithmetic. */
static void hooks_do_not_abort(void)
{
    char path[] = "/tmp/careless-sceneXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return;
    const char text[] = "P6\n6148914691236517205 1\n255\n";
    CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
    close(fd);
    CHECK(videocore_emu_set_scene(path) == -1);
    unlink(path);
    CHECK(videocore_emu_set_scene(NULL) == 0);
}

/* vc_gencmd is variadic in C: called with a format and arguments, it
 * answers -1 (no general-command service) and an empty response. */
static void gencmd_is_variadic(void)
{
    char response[32];
    memset(response, 'x', sizeof response);
    CHECK(vc_gencmd(response, (int)sizeof response, "measure_%s %d %f", "temp", 42, 1.5) == -1);
    CHECK(response[0] == '\0');
    CHECK(vc_gencmd_send("get_camera %s", "now") == -1);
}

/* mmal_vc_init after a failed one: nothing is left half done, and the next
 * call tries again (as userland's does). */
static void init_after_failed_init(void)
{
    setenv("VIDEOCORE_EMU_VCHIQ", "missing", 1);
    IS(mmal_vc_init(), MMAL_EIO);
    unsetenv("VIDEOCORE_EMU_VCHIQ");
    OK(mmal_vc_init());
    mmal_vc_deinit();
    bcm_host_init();
    MMAL_COMPONENT_T *sink = NULL;
    OK(mmal_component_create("vc.null_sink", &sink));
    if (sink)
        OK(mmal_component_destroy(sink));
}

static const struct {
    const char *name;
    void (*run)(void);
} cases[] = {
    {"component", component_after_destroy},
    {"pool", pool_after_destroy},
    {"queue", queue_after_destroy},
    {"connection", connection_after_destroy},
    {"connection_destroy_fails", connection_destroy_fails},
    {"component_destroyed_before_connection", component_destroyed_before_connection},
    {"connection_disable_fails_through_client", connection_disable_fails_through_client},
    {"connection_destroy_races", connection_destroy_races},
    {"payloads_share_the_memory", payloads_share_the_memory},
    {"format_changed", format_changed},
    {"parameter", parameter_sizes},
    {"disable_from_callback", disable_tunnel_from_input_callback},
    {"sent_twice", sent_twice},
    {"oversized", oversized_pools},
    {"hooks", hooks_do_not_abort},
    {"gencmd", gencmd_is_variadic},
    {"init", init_after_failed_init},
};

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "--vchiq") == 0) {
        over_vchiq = 1;
        argv++;
        argc--;
    }
    bcm_host_init();
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++) {
        int wanted = argc < 2;
        for (int a = 1; a < argc; a++)
            wanted |= strcmp(argv[a], cases[i].name) == 0;
        if (!wanted)
            continue;
        int before = checks.failed;
        cases[i].run();
        printf("%s: %s\n", cases[i].name, checks.failed == before ? "ok" : "FAILED");
    }
    printf("careless: %d checks passed, %d failed\n", checks.passed, checks.failed);
    return checks.failed != 0;
}
