/* A C program written for a Pi, built against the software VideoCore's
 * libraries: a camera -> null sink tunnel, a still frame through a port
 * callback, a libvcsm round trip whose block becomes a lens shading
 * table, and the program's own I420 pictures through vc.ril.video_encode
 * (the H.264 goes to the file named on the command line, for ffmpeg to
 * check). The types come from the project's own header (mmal-sys); the
 * functions are declared here as a Pi program's headers declare them.
 *
 *   cc -Immal-sys/include tests/c/dropin.c -L"$LIB" -lmmal -lvcsm -lbcm_host -lpthread -o target/dropin
 *   LD_LIBRARY_PATH="$LIB" target/dropin target/dropin.h264
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MMAL_ABI_USE_STDINT
#include "mmal_abi.h"

/* libbcm_host */
void bcm_host_init(void);
void bcm_host_deinit(void);
int32_t graphics_get_display_size(uint16_t display, uint32_t *width, uint32_t *height);

/* libmmal */
MMAL_STATUS_T mmal_component_create(const char *name, MMAL_COMPONENT_T **component);
MMAL_STATUS_T mmal_component_destroy(MMAL_COMPONENT_T *component);
MMAL_STATUS_T mmal_component_enable(MMAL_COMPONENT_T *component);
MMAL_STATUS_T mmal_component_disable(MMAL_COMPONENT_T *component);
MMAL_STATUS_T mmal_port_format_commit(MMAL_PORT_T *port);
MMAL_STATUS_T mmal_port_enable(MMAL_PORT_T *port, MMAL_PORT_BH_CB_T cb);
MMAL_STATUS_T mmal_port_disable(MMAL_PORT_T *port);
MMAL_STATUS_T mmal_port_send_buffer(MMAL_PORT_T *port, MMAL_BUFFER_HEADER_T *buffer);
MMAL_STATUS_T mmal_port_parameter_set(MMAL_PORT_T *port, const MMAL_PARAMETER_HEADER_T *param);
MMAL_STATUS_T mmal_port_parameter_set_boolean(MMAL_PORT_T *port, uint32_t id, int32_t value);
MMAL_POOL_T *mmal_port_pool_create(MMAL_PORT_T *port, unsigned int headers, uint32_t payload_size);
void mmal_port_pool_destroy(MMAL_PORT_T *port, MMAL_POOL_T *pool);
MMAL_BUFFER_HEADER_T *mmal_queue_get(MMAL_QUEUE_T *queue);
MMAL_BUFFER_HEADER_T *mmal_queue_timedwait(MMAL_QUEUE_T *queue, unsigned int timeout_ms);
MMAL_QUEUE_T *mmal_queue_create(void);
void mmal_queue_put(MMAL_QUEUE_T *queue, MMAL_BUFFER_HEADER_T *buffer);
void mmal_queue_destroy(MMAL_QUEUE_T *queue);
void mmal_buffer_header_release(MMAL_BUFFER_HEADER_T *header);
MMAL_STATUS_T mmal_port_connect(MMAL_PORT_T *port, MMAL_PORT_T *other_port);
MMAL_STATUS_T mmal_port_disconnect(MMAL_PORT_T *port);
MMAL_STATUS_T mmal_port_event_get(MMAL_PORT_T *port, MMAL_BUFFER_HEADER_T **buffer, uint32_t event);
MMAL_EVENT_FORMAT_CHANGED_T *mmal_event_format_changed_get(MMAL_BUFFER_HEADER_T *buffer);
MMAL_POOL_T *mmal_pool_create(unsigned int headers, uint32_t payload_size);
MMAL_STATUS_T mmal_pool_resize(MMAL_POOL_T *pool, unsigned int headers, uint32_t payload_size);
void mmal_pool_destroy(MMAL_POOL_T *pool);
unsigned int mmal_queue_length(MMAL_QUEUE_T *queue);
MMAL_STATUS_T mmal_buffer_header_replicate(MMAL_BUFFER_HEADER_T *dest, MMAL_BUFFER_HEADER_T *src);
MMAL_STATUS_T mmal_connection_create(MMAL_CONNECTION_T **connection, MMAL_PORT_T *out, MMAL_PORT_T *in, uint32_t flags);
MMAL_STATUS_T mmal_connection_enable(MMAL_CONNECTION_T *connection);
MMAL_STATUS_T mmal_connection_disable(MMAL_CONNECTION_T *connection);
MMAL_STATUS_T mmal_connection_destroy(MMAL_CONNECTION_T *connection);
const char *mmal_status_to_string(MMAL_STATUS_T status);

/* libvcsm */
int vcsm_init(void);
void vcsm_exit(void);
unsigned int vcsm_malloc(unsigned int size, const char *name);
void vcsm_free(unsigned int handle);
void *vcsm_lock(unsigned int handle);
int vcsm_unlock_ptr(void *ptr);
unsigned int vcsm_vc_hdl_from_hdl(unsigned int handle);
unsigned int vcsm_vc_hdl_from_ptr(void *ptr);
unsigned int vcsm_usr_handle(void *ptr);

/* The software VideoCore's counters. */
void videocore_emu_usage(uint64_t *out);

#include "check.h"

static MMAL_QUEUE_T *frames;

static void still_callback(MMAL_PORT_T *port, MMAL_BUFFER_HEADER_T *buffer)
{
    (void)port;
    mmal_queue_put(frames, buffer);
}

static MMAL_QUEUE_T *inputs_back;

static void input_callback(MMAL_PORT_T *port, MMAL_BUFFER_HEADER_T *buffer)
{
    (void)port;
    mmal_queue_put(inputs_back, buffer);
}

static void control_callback(MMAL_PORT_T *port, MMAL_BUFFER_HEADER_T *buffer)
{
    (void)port;
    mmal_buffer_header_release(buffer);
}

static MMAL_QUEUE_T *encoded;

static void encoded_callback(MMAL_PORT_T *port, MMAL_BUFFER_HEADER_T *buffer)
{
    (void)port;
    mmal_queue_put(encoded, buffer);
}

#define ENC_W 320
#define ENC_H 240
#define ENC_FRAMES 30
#define ENC_PERIOD_US 40000

/* What the encoder sent, as a Pi program tallies it. */
struct tally {
    FILE *file;
    int buffers, headers, pictures, keyframes, pts_ok, eos;
    uint32_t first_flags, second_flags;
};

/* Writes one encoded buffer out and gives the port another. */
static void take_encoded(struct tally *t, MMAL_BUFFER_HEADER_T *b, MMAL_PORT_T *out, MMAL_POOL_T *pool)
{
    if (t->buffers == 0)
        t->first_flags = b->flags;
    else if (t->buffers == 1)
        t->second_flags = b->flags;
    t->buffers++;
    if (b->flags & MMAL_BUFFER_HEADER_FLAG_EOS) {
        t->eos++; /* after the last picture, empty */
        CHECK(b->length == 0 && t->pictures == ENC_FRAMES);
    } else if (b->flags & MMAL_BUFFER_HEADER_FLAG_CONFIG) {
        t->headers++;
    } else if (b->flags & MMAL_BUFFER_HEADER_FLAG_FRAME_END) {
        /* pts goes through: picture n was sent at n * 40 ms. */
        t->pts_ok += b->pts == (int64_t)t->pictures * ENC_PERIOD_US;
        t->pictures++;
        t->keyframes += (b->flags & MMAL_BUFFER_HEADER_FLAG_KEYFRAME) != 0;
    }
    if (t->file)
        fwrite(b->data + b->offset, 1, b->length, t->file);
    mmal_buffer_header_release(b);
    MMAL_BUFFER_HEADER_T *again = mmal_queue_get(pool->queue);
    if (again)
        mmal_port_send_buffer(out, again);
}

/* The program's own pictures (a gradient moving right) through the video
 * encoder: H.264 with inline headers and an IDR every 10 frames. */
static void encode_own_pictures(const char *path)
{
    MMAL_COMPONENT_T *enc = NULL;
    OK(mmal_component_create("vc.ril.video_encode", &enc));
    if (!enc)
        return;
    MMAL_PORT_T *in = enc->input[0], *out = enc->output[0];
    in->format->encoding = MMAL_ENCODING_I420;
    in->format->es->video.width = ENC_W;
    in->format->es->video.height = ENC_H;
    in->format->es->video.crop.width = ENC_W;
    in->format->es->video.crop.height = ENC_H;
    in->format->es->video.frame_rate.num = 25;
    in->format->es->video.frame_rate.den = 1;
    OK(mmal_port_format_commit(in));
    /* The output follows the input's size; the client names the codec. */
    CHECK(out->format->es->video.width == ENC_W && out->format->es->video.crop.height == ENC_H);
    out->format->encoding = MMAL_ENCODING_H264;
    out->format->bitrate = 1000000;
    OK(mmal_port_format_commit(out));
    MMAL_PARAMETER_UINT32_T period = {{MMAL_PARAMETER_INTRAPERIOD, sizeof(period)}, 10};
    OK(mmal_port_parameter_set(out, &period.hdr));
    OK(mmal_port_parameter_set_boolean(out, MMAL_PARAMETER_VIDEO_ENCODE_INLINE_HEADER, 1));
    in->buffer_num = in->buffer_num_recommended;
    in->buffer_size = in->buffer_size_recommended;
    out->buffer_num = 3;
    out->buffer_size = out->buffer_size_recommended;
    CHECK(in->buffer_size >= ENC_W * ENC_H * 3 / 2);
    MMAL_POOL_T *in_pool = mmal_port_pool_create(in, in->buffer_num, in->buffer_size);
    MMAL_POOL_T *out_pool = mmal_port_pool_create(out, out->buffer_num, out->buffer_size);
    inputs_back = mmal_queue_create();
    encoded = mmal_queue_create();
    OK(mmal_port_enable(out, encoded_callback));
    OK(mmal_port_enable(in, input_callback));
    MMAL_BUFFER_HEADER_T *b;
    while ((b = mmal_queue_get(out_pool->queue)) != NULL)
        OK(mmal_port_send_buffer(out, b));

    struct tally t = {0};
    t.file = path ? fopen(path, "wb") : NULL;
    for (int n = 0; n < ENC_FRAMES; n++) {
        while ((b = mmal_queue_get(in_pool->queue)) == NULL) {
            MMAL_BUFFER_HEADER_T *back = mmal_queue_timedwait(inputs_back, 5000);
            CHECK(back != NULL);
            if (!back)
                break;
            mmal_buffer_header_release(back);
        }
        if (!b)
            break;
        for (int y = 0; y < ENC_H; y++)
            for (int x = 0; x < ENC_W; x++)
                b->data[y * ENC_W + x] = (uint8_t)(x + y + 4 * n);
        memset(b->data + ENC_W * ENC_H, 128, ENC_W * ENC_H / 2);
        b->length = ENC_W * ENC_H * 3 / 2;
        b->offset = 0;
        b->pts = b->dts = (int64_t)n * ENC_PERIOD_US;
        /* The last picture ends the stream. */
        b->flags = MMAL_BUFFER_HEADER_FLAG_FRAME_END | (n == ENC_FRAMES - 1 ? MMAL_BUFFER_HEADER_FLAG_EOS : 0);
        OK(mmal_port_send_buffer(in, b));
        MMAL_BUFFER_HEADER_T *e;
        while ((e = mmal_queue_get(encoded)) != NULL)
            take_encoded(&t, e, out, out_pool);
    }
    while (!t.eos) {
        MMAL_BUFFER_HEADER_T *e = mmal_queue_timedwait(encoded, 5000);
        CHECK(e != NULL);
        if (!e)
            break;
        take_encoded(&t, e, out, out_pool);
    }
    if (t.file)
        fclose(t.file);
    /* Headers first, in a buffer of their own; then the first IDR. */
    CHECK(t.first_flags & MMAL_BUFFER_HEADER_FLAG_CONFIG);
    CHECK((t.second_flags & (MMAL_BUFFER_HEADER_FLAG_KEYFRAME | MMAL_BUFFER_HEADER_FLAG_FRAME_END))
          == (MMAL_BUFFER_HEADER_FLAG_KEYFRAME | MMAL_BUFFER_HEADER_FLAG_FRAME_END));
    CHECK(t.pictures == ENC_FRAMES && t.pts_ok == ENC_FRAMES);
    CHECK(t.keyframes == 3 && t.headers == 3); /* 0, 10, 20, each with headers */
    CHECK(t.eos == 1);
    OK(mmal_port_disable(in));
    OK(mmal_port_disable(out));
    while ((b = mmal_queue_get(inputs_back)) != NULL)
        mmal_buffer_header_release(b);
    while ((b = mmal_queue_get(encoded)) != NULL)
        mmal_buffer_header_release(b);
    mmal_port_pool_destroy(in, in_pool);
    mmal_port_pool_destroy(out, out_pool);
    mmal_queue_destroy(inputs_back);
    mmal_queue_destroy(encoded);
    OK(mmal_component_destroy(enc));
}

int main(int argc, char **argv)
{
    uint32_t width = 0, height = 0;
    bcm_host_init();
    CHECK(graphics_get_display_size(0, &width, &height) < 0); /* no display attached */

    /* Camera -> null sink, tunnelled, as a preview is. */
    MMAL_COMPONENT_T *camera = NULL, *sink = NULL;
    OK(mmal_component_create("vc.ril.camera", &camera));
    OK(mmal_component_create("vc.null_sink", &sink));
    if (!camera || !sink)
        return 1;
    CHECK(camera->output_num == 3 && sink->input_num == 1);
    OK(mmal_port_enable(camera->control, control_callback));
    MMAL_PORT_T *preview = camera->output[0];
    preview->format->encoding = MMAL_ENCODING_OPAQUE;
    preview->format->es->video.width = 320;
    preview->format->es->video.height = 240;
    preview->format->es->video.crop.width = 320;
    preview->format->es->video.crop.height = 240;
    OK(mmal_port_format_commit(preview));
    MMAL_CONNECTION_T *connection = NULL;
    OK(mmal_connection_create(&connection, preview, sink->input[0],
                              MMAL_CONNECTION_FLAG_TUNNELLING | MMAL_CONNECTION_FLAG_ALLOCATION_ON_INPUT));
    CHECK(sink->input[0]->format->encoding == MMAL_ENCODING_OPAQUE);
    OK(mmal_connection_enable(connection));
    CHECK(preview->is_enabled && sink->input[0]->is_enabled);

    /* A still through a port callback, while the preview runs. */
    MMAL_PORT_T *still = camera->output[2];
    still->format->encoding = MMAL_ENCODING_I420;
    still->format->es->video.width = 320;
    still->format->es->video.height = 240;
    still->format->es->video.crop.width = 320;
    still->format->es->video.crop.height = 240;
    OK(mmal_port_format_commit(still));
    CHECK(still->buffer_size_min == 320 * 240 * 3 / 2);
    still->buffer_num = 1;
    still->buffer_size = still->buffer_size_min;
    MMAL_POOL_T *pool = mmal_port_pool_create(still, 1, still->buffer_size);
    CHECK(pool != NULL);
    frames = mmal_queue_create();
    OK(mmal_port_enable(still, still_callback));
    OK(mmal_port_send_buffer(still, mmal_queue_get(pool->queue)));
    OK(mmal_component_enable(camera));
    OK(mmal_port_parameter_set_boolean(still, MMAL_PARAMETER_CAPTURE, 1));
    MMAL_BUFFER_HEADER_T *frame = mmal_queue_timedwait(frames, 5000);
    CHECK(frame != NULL);
    if (frame) {
        CHECK(frame->length == 320 * 240 * 3 / 2);
        CHECK(frame->flags & MMAL_BUFFER_HEADER_FLAG_FRAME_END);
        mmal_buffer_header_release(frame);
    }

    /* libvcsm: allocate, lock, write, unlock, read back, and hand the
     * block to the camera as a lens shading table (unity gains). */
    CHECK(vcsm_init() == 0);
    unsigned int grid_w = (3280 + 63) / 64, grid_h = (2464 + 63) / 64; /* the default imx219 */
    unsigned int size = grid_w * grid_h * 4;
    unsigned int handle = vcsm_malloc(size, "ls_grid");
    CHECK(handle != 0);
    uint8_t *table = vcsm_lock(handle);
    CHECK(table != NULL);
    if (table) {
        memset(table, 32, size);
        unsigned int vc_handle = vcsm_vc_hdl_from_hdl(handle);
        CHECK(vc_handle != 0 && vcsm_vc_hdl_from_ptr(table) == vc_handle);
        CHECK(vcsm_usr_handle(table) == handle);
        CHECK(vcsm_unlock_ptr(table) == 0);
        uint8_t *again = vcsm_lock(handle);
        CHECK(again == table && again[0] == 32 && again[size - 1] == 32);
        CHECK(vcsm_unlock_ptr(again) == 0);
        MMAL_PARAMETER_LENS_SHADING_T ls = {
            {MMAL_PARAMETER_LENS_SHADING_OVERRIDE, sizeof(MMAL_PARAMETER_LENS_SHADING_T)},
            1, 64, grid_w, grid_w, grid_h, vc_handle, 0,
        };
        OK(mmal_component_disable(camera));
        OK(mmal_port_parameter_set(camera->control, &ls.hdr));
        OK(mmal_component_enable(camera));
    }
    vcsm_free(handle);
    vcsm_exit();

    /* An input buffer comes back through the input port's callback. */
    MMAL_COMPONENT_T *sink2 = NULL;
    OK(mmal_component_create("vc.null_sink", &sink2));
    if (sink2) {
        MMAL_PORT_T *in = sink2->input[0];
        MMAL_POOL_T *in_pool = mmal_port_pool_create(in, in->buffer_num, in->buffer_size);
        inputs_back = mmal_queue_create();
        OK(mmal_port_enable(in, input_callback));
        MMAL_BUFFER_HEADER_T *b = mmal_queue_get(in_pool->queue);
        b->length = 0;
        OK(mmal_port_send_buffer(in, b));
        MMAL_BUFFER_HEADER_T *back = mmal_queue_timedwait(inputs_back, 5000);
        CHECK(back == b);
        if (back)
            mmal_buffer_header_release(back);
        OK(mmal_port_disable(in));
        mmal_port_pool_destroy(in, in_pool);
        mmal_queue_destroy(inputs_back);

        /* mmal_port_connect takes the ports in either order; disconnecting
         * an unconnected port is ENOTCONN. */
        MMAL_COMPONENT_T *splitter = NULL;
        OK(mmal_component_create("vc.ril.video_splitter", &splitter));
        if (splitter) {
            OK(mmal_port_connect(sink2->input[0], splitter->output[0]));
            CHECK(mmal_port_connect(splitter->output[0], sink2->input[0]) == MMAL_EISCONN);
            OK(mmal_port_disconnect(splitter->output[0]));
            CHECK(mmal_port_disconnect(splitter->output[0]) == MMAL_ENOTCONN);
            OK(mmal_component_destroy(splitter));
        }
        OK(mmal_component_destroy(sink2));
    }

    /* A FORMAT_CHANGED event a client makes has its payload laid out. */
    MMAL_BUFFER_HEADER_T *event = NULL;
    OK(mmal_port_event_get(camera->control, &event, MMAL_EVENT_FORMAT_CHANGED));
    if (event) {
        MMAL_EVENT_FORMAT_CHANGED_T *fc = mmal_event_format_changed_get(event);
        CHECK(fc != NULL && fc->format != NULL);
        mmal_buffer_header_release(event);
    }

    /* Pools: resize needs every header home; a replicated header borrows
     * its source's payload until released, then has its own again. */
    MMAL_POOL_T *payloads = mmal_pool_create(1, 64), *headers = mmal_pool_create(1, 0);
    CHECK(payloads && headers);
    if (payloads && headers) {
        CHECK(mmal_pool_resize(payloads, 0, 64) == MMAL_EINVAL);
        MMAL_BUFFER_HEADER_T *first = payloads->header[0];
        OK(mmal_pool_resize(payloads, 1, 64));
        CHECK(payloads->header[0] == first); /* nothing to do: untouched */
        MMAL_BUFFER_HEADER_T *src = mmal_queue_get(payloads->queue);
        CHECK(mmal_pool_resize(payloads, 2, 128) == MMAL_EINVAL); /* one is out */
        MMAL_BUFFER_HEADER_T *dest = mmal_queue_get(headers->queue);
        src->data[0] = 42;
        src->length = 1;
        OK(mmal_buffer_header_replicate(dest, src));
        CHECK(dest->data == src->data && dest->length == 1 && dest->data[0] == 42);
        mmal_buffer_header_release(src); /* dest still holds it */
        CHECK(mmal_queue_length(payloads->queue) == 0);
        mmal_buffer_header_release(dest);
        CHECK(mmal_queue_length(payloads->queue) == 1 && mmal_queue_length(headers->queue) == 1);
        CHECK(headers->header[0]->data == NULL && headers->header[0]->alloc_size == 0);
        OK(mmal_pool_resize(payloads, 2, 128));
        CHECK(payloads->headers_num == 2 && payloads->header[1]->alloc_size == 128);
        mmal_pool_destroy(payloads);
        mmal_pool_destroy(headers);
    }

    encode_own_pictures(argc > 1 ? argv[1] : NULL);

    /* Tear down in raspistill's order; nothing is left behind. */
    OK(mmal_port_disable(still));
    mmal_port_pool_destroy(still, pool);
    mmal_queue_destroy(frames);
    OK(mmal_connection_destroy(connection));
    OK(mmal_component_disable(camera));
    OK(mmal_port_disable(camera->control));
    OK(mmal_component_destroy(sink));
    OK(mmal_component_destroy(camera));
    uint64_t usage[4];
    videocore_emu_usage(usage);
    CHECK(usage[0] == 0 && usage[1] == 0 && usage[2] == 0 && usage[3] == 0);
    bcm_host_deinit();

    printf("%d passed, %d failed\n", checks.passed, checks.failed);
    return checks.failed ? 1 : 0;
}
