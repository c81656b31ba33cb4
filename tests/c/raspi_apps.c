/* Raspberry Pi's own camera apps, as a C program: the calls raspistill,
 * raspiyuv and raspivid (userland's host_applications/linux/apps/raspicam)
 * make, in their order, against the software VideoCore's libraries, with
 * vcos's logging as the apps use it:
 *
 *   raspistill -n -r -w 320 -h 240 -o DIR/still.jpg   a JPEG with its raw
 *   raspiyuv   -n -w 320 -h 240 -o DIR/still.yuv      an I420 still
 *   raspiyuv   -n -rgb -w 64 -h 48 -o DIR/still.rgb   an RGB still
 *   raspivid   -n -w 320 -h 240 -x DIR/video.imv -o DIR/video.h264
 *                                                     H.264 and its vectors
 *
 * Each app: bcm_host_init, vcos_log_register of libmmal's category under
 * the app's name, the sensor's defaults from vc.camera_info (first the
 * deliberately undersized CAMERA_INFO read, which newer firmware answers
 * ENOSPC, then the full one), the camera (STEREOSCOPIC_MODE on each output,
 * CAMERA_NUM, the sensor mode, the control callback, CAMERA_CONFIG, every
 * control raspicamcontrol_set_all_parameters sets, DRAW_BOX_FACES_AND_FOCUS
 * among them, the port formats), vc.null_sink for the preview (-n), the
 * encoder, the tunnelled connections, and the capture. The outputs go to
 * DIR (the first argument) for independent decoders: ffprobe for the
 * H.264, Pillow for the JPEG (see .ci/run). The program checks the raw
 * block follows the JPEG, the sizes of the YUV and RGB stills and of the
 * motion vectors.
 *
 * Linked as the apps are (userland's CMakeLists: libmmal split in three,
 * libvcos, libbcm_host), with vcos's declarations from the project's own
 * header (videocore-c/include/videocore_vcos.h):
 *
 *   cc -Wall -Wextra -Werror -Immal-sys/include -Ivideocore-c/include tests/c/raspi_apps.c \
 *       -L"$LIB" -lmmal_core -lmmal_util -lmmal_vc_client -lvcos -lbcm_host -lpthread -o target/raspi_apps
 *   mkdir -p target/raspi_apps.out
 *   LD_LIBRARY_PATH="$LIB" target/raspi_apps target/raspi_apps.out
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MMAL_ABI_USE_STDINT
#include "mmal_abi.h"
#include "videocore_vcos.h"

/* libbcm_host */
void bcm_host_init(void);
void bcm_host_deinit(void);

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
MMAL_STATUS_T mmal_port_parameter_get(MMAL_PORT_T *port, MMAL_PARAMETER_HEADER_T *param);
MMAL_STATUS_T mmal_port_parameter_set_boolean(MMAL_PORT_T *port, uint32_t id, MMAL_BOOL_T value);
MMAL_STATUS_T mmal_port_parameter_set_uint32(MMAL_PORT_T *port, uint32_t id, uint32_t value);
MMAL_STATUS_T mmal_port_parameter_set_int32(MMAL_PORT_T *port, uint32_t id, int32_t value);
MMAL_STATUS_T mmal_port_parameter_set_rational(MMAL_PORT_T *port, uint32_t id, MMAL_RATIONAL_T value);
MMAL_POOL_T *mmal_port_pool_create(MMAL_PORT_T *port, unsigned int headers, uint32_t payload_size);
void mmal_port_pool_destroy(MMAL_PORT_T *port, MMAL_POOL_T *pool);
MMAL_BUFFER_HEADER_T *mmal_queue_get(MMAL_QUEUE_T *queue);
unsigned int mmal_queue_length(MMAL_QUEUE_T *queue);
void mmal_buffer_header_release(MMAL_BUFFER_HEADER_T *header);
MMAL_STATUS_T mmal_buffer_header_mem_lock(MMAL_BUFFER_HEADER_T *header);
void mmal_buffer_header_mem_unlock(MMAL_BUFFER_HEADER_T *header);
MMAL_STATUS_T mmal_connection_create(MMAL_CONNECTION_T **connection, MMAL_PORT_T *out, MMAL_PORT_T *in, uint32_t flags);
MMAL_STATUS_T mmal_connection_enable(MMAL_CONNECTION_T *connection);
MMAL_STATUS_T mmal_connection_disable(MMAL_CONNECTION_T *connection);
MMAL_STATUS_T mmal_connection_destroy(MMAL_CONNECTION_T *connection);
void mmal_format_copy(MMAL_ES_FORMAT_T *dst, MMAL_ES_FORMAT_T *src);
MMAL_STATUS_T mmal_format_full_copy(MMAL_ES_FORMAT_T *dst, MMAL_ES_FORMAT_T *src);
const char *mmal_status_to_string(MMAL_STATUS_T status);
int mmal_util_rgb_order_fixed(MMAL_PORT_T *port);

/* Parameters and structs not in mmal_abi.h (userland's
 * mmal_parameters_camera.h). */
#define MMAL_PARAMETER_DRAW_BOX_FACES_AND_FOCUS (MMAL_PARAMETER_GROUP_CAMERA + 0x18)
typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    uint32_t value;
} PARAMETER_ENUM_T; /* metering, flicker, image effect, mirror, DRC */

#define ALIGN_UP(x, n) (((x) + (n)-1) & ~((n)-1))
#define CAMERA_PREVIEW 0
#define CAMERA_VIDEO 1
#define CAMERA_STILL 2

#include "check.h"

/* vcos's inline semaphores (pthreads/vcos_platform.h), as the apps get
 * them from the header; the wait is bounded here so that a lost frame
 * fails the test instead of hanging it. */
static VCOS_STATUS_T vcos_semaphore_create(sem_t *sem, const char *name, unsigned int count)
{
    (void)name;
    if (sem_init(sem, 0, count) != -1)
        return VCOS_SUCCESS;
    return vcos_pthreads_map_errno();
}

static VCOS_STATUS_T vcos_semaphore_wait_timeout(sem_t *sem, unsigned int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    for (;;) {
        if (sem_timedwait(sem, &ts) == 0)
            return VCOS_SUCCESS;
        if (errno == EINTR)
            continue;
        return errno == ETIMEDOUT ? VCOS_EAGAIN : VCOS_EINVAL;
    }
}

/* ------------------------------------------------------------------------
 * What the apps share (RaspiCamControl.c, RaspiHelpers.c, RaspiPreview.c)
 * --------------------------------------------------------------------- */

/* get_sensor_defaults: the sensor's name and largest size. */
static void sensor_defaults(int camera_num, char *name, int *width, int *height)
{
    MMAL_COMPONENT_T *info = NULL;
    MMAL_STATUS_T status;
    snprintf(name, MMAL_PARAMETER_CAMERA_INFO_MAX_STR_LEN, "OV5647");
    status = mmal_component_create("vc.camera_info", &info);
    CHECK(status == MMAL_SUCCESS);
    if (status == MMAL_SUCCESS) {
        MMAL_PARAMETER_CAMERA_INFO_T param;
        memset(&param, 0, sizeof(param));
        param.hdr.id = MMAL_PARAMETER_CAMERA_INFO;
        /* Deliberately undersized, to tell the firmware's revision. */
        param.hdr.size = sizeof(param) - 4;
        status = mmal_port_parameter_get(info->control, &param.hdr);
        CHECK(status == MMAL_ENOSPC); /* newer firmware */
        if (status != MMAL_SUCCESS) {
            param.hdr.size = sizeof(param);
            status = mmal_port_parameter_get(info->control, &param.hdr);
            CHECK(status == MMAL_SUCCESS && param.num_cameras > (uint32_t)camera_num);
            if (status == MMAL_SUCCESS && param.num_cameras > (uint32_t)camera_num) {
                if (*width == 0)
                    *width = (int)param.cameras[camera_num].max_width;
                if (*height == 0)
                    *height = (int)param.cameras[camera_num].max_height;
                memcpy(name, param.cameras[camera_num].camera_name, MMAL_PARAMETER_CAMERA_INFO_MAX_STR_LEN);
                name[MMAL_PARAMETER_CAMERA_INFO_MAX_STR_LEN - 1] = 0;
            } else {
                vcos_log_error("Cannot read camera info, keeping the defaults for OV5647");
            }
        }
        OK(mmal_component_destroy(info));
    } else {
        vcos_log_error("Failed to create camera_info component");
    }
    if (*width == 0)
        *width = 2592;
    if (*height == 0)
        *height = 1944;
}

/* raspicamcontrol_set_stereo_mode, stereo mode none. */
static MMAL_STATUS_T set_stereo_mode(MMAL_PORT_T *port)
{
    MMAL_PARAMETER_STEREOSCOPIC_MODE_T stereo = {
        {MMAL_PARAMETER_STEREOSCOPIC_MODE, sizeof(stereo)}, MMAL_STEREOSCOPIC_MODE_NONE, MMAL_FALSE, MMAL_FALSE};
    return mmal_port_parameter_set(port, &stereo.hdr);
}

static MMAL_STATUS_T set_enum(MMAL_PORT_T *port, uint32_t id, uint32_t value)
{
    PARAMETER_ENUM_T param = {{id, sizeof(param)}, value};
    return mmal_port_parameter_set(port, &param.hdr);
}

/* raspicamcontrol_set_all_parameters with the apps' defaults; the result
 * is a count of refusals, which the apps ignore (each one is logged). */
static int set_all_parameters(MMAL_COMPONENT_T *camera)
{
    MMAL_RATIONAL_T zero = {0, 100}, fifty = {50, 100}, unity = {0, 65536};
    MMAL_PARAMETER_EXPOSUREMODE_T exposure = {{MMAL_PARAMETER_EXPOSURE_MODE, sizeof(exposure)}, MMAL_PARAM_EXPOSUREMODE_AUTO};
    MMAL_PARAMETER_AWBMODE_T awb = {{MMAL_PARAMETER_AWB_MODE, sizeof(awb)}, MMAL_PARAM_AWBMODE_AUTO};
    MMAL_PARAMETER_COLOURFX_T colour = {{MMAL_PARAMETER_COLOUR_EFFECT, sizeof(colour)}, 0, 128, 128};
    MMAL_PARAMETER_INPUT_CROP_T crop = {{MMAL_PARAMETER_INPUT_CROP, sizeof(crop)}, {0, 0, 65536, 65536}};
    int refused = 0, i;

#define COUNT(call)                                                             \
    do {                                                                        \
        MMAL_STATUS_T s_ = (call);                                              \
        if (s_ != MMAL_SUCCESS) {                                               \
            refused++;                                                          \
            vcos_log_error("%s refused: %s", #call, mmal_status_to_string(s_)); \
        }                                                                       \
    } while (0)
    COUNT(mmal_port_parameter_set_rational(camera->control, MMAL_PARAMETER_SATURATION, zero));
    COUNT(mmal_port_parameter_set_rational(camera->control, MMAL_PARAMETER_SHARPNESS, zero));
    COUNT(mmal_port_parameter_set_rational(camera->control, MMAL_PARAMETER_CONTRAST, zero));
    COUNT(mmal_port_parameter_set_rational(camera->control, MMAL_PARAMETER_BRIGHTNESS, fifty));
    COUNT(mmal_port_parameter_set_uint32(camera->control, MMAL_PARAMETER_ISO, 0));
    COUNT(mmal_port_parameter_set_boolean(camera->control, MMAL_PARAMETER_VIDEO_STABILISATION, 0));
    COUNT(mmal_port_parameter_set_int32(camera->control, MMAL_PARAMETER_EXPOSURE_COMP, 0));
    COUNT(mmal_port_parameter_set(camera->control, &exposure.hdr));
    COUNT(set_enum(camera->control, MMAL_PARAMETER_FLICKER_AVOID, 0 /* off */));
    COUNT(set_enum(camera->control, MMAL_PARAMETER_EXP_METERING_MODE, 0 /* average */));
    COUNT(mmal_port_parameter_set(camera->control, &awb.hdr));
    COUNT(set_enum(camera->control, MMAL_PARAMETER_IMAGE_EFFECT, 0 /* none */));
    COUNT(mmal_port_parameter_set(camera->control, &colour.hdr));
    for (i = 0; i < 3; i++) {
        COUNT(mmal_port_parameter_set_int32(camera->output[i], MMAL_PARAMETER_ROTATION, 0));
        COUNT(set_enum(camera->output[i], MMAL_PARAMETER_MIRROR, 0 /* none */));
    }
    COUNT(mmal_port_parameter_set(camera->control, &crop.hdr));
    COUNT(mmal_port_parameter_set_uint32(camera->control, MMAL_PARAMETER_SHUTTER_SPEED, 0));
    COUNT(set_enum(camera->control, MMAL_PARAMETER_DYNAMIC_RANGE_COMPRESSION, MMAL_PARAMETER_DRC_STRENGTH_OFF));
    COUNT(mmal_port_parameter_set_boolean(camera->control, MMAL_PARAMETER_CAPTURE_STATS_PASS, 0));
    COUNT(mmal_port_parameter_set_rational(camera->control, MMAL_PARAMETER_ANALOG_GAIN, unity));
    COUNT(mmal_port_parameter_set_rational(camera->control, MMAL_PARAMETER_DIGITAL_GAIN, unity));
    COUNT(mmal_port_parameter_set_boolean(camera->control, MMAL_PARAMETER_DRAW_BOX_FACES_AND_FOCUS, 0));
#undef COUNT
    return refused;
}

/* default_camera_control_callback: settings events and errors. */
static void camera_control_callback(MMAL_PORT_T *port, MMAL_BUFFER_HEADER_T *buffer)
{
    (void)port;
    if (buffer->cmd == MMAL_EVENT_ERROR)
        vcos_log_error("No data received from sensor. Check all connections, including the Sunny one on the camera board");
    else if (buffer->cmd != MMAL_EVENT_PARAMETER_CHANGED)
        vcos_log_error("Received unexpected camera control callback event, 0x%08x", buffer->cmd);
    mmal_buffer_header_release(buffer);
}

/* A camera as the three apps make it: `video` for raspivid's ports (its
 * video port at 30 fps), else the still port in `still_encoding`
 * (OPAQUE for the JPEG encoder, I420 or RGB24 for raspiyuv's own pool). */
static MMAL_COMPONENT_T *create_camera(int width, int height, int video, uint32_t still_encoding)
{
    MMAL_COMPONENT_T *camera = NULL;
    MMAL_ES_FORMAT_T *format;
    MMAL_PORT_T *preview, *video_port, *still;
    MMAL_STATUS_T status;
    int stereo;

    status = mmal_component_create("vc.ril.camera", &camera);
    CHECK(status == MMAL_SUCCESS);
    if (status != MMAL_SUCCESS) {
        vcos_log_error("Failed to create camera component");
        return NULL;
    }
    stereo = set_stereo_mode(camera->output[0]);
    stereo += set_stereo_mode(camera->output[1]);
    stereo += set_stereo_mode(camera->output[2]);
    CHECK(stereo == MMAL_SUCCESS);
    if (stereo != MMAL_SUCCESS) {
        vcos_log_error("Could not set stereo mode : error %d", stereo);
        mmal_component_destroy(camera);
        return NULL;
    }
    {
        MMAL_PARAMETER_INT32_T camera_num = {{MMAL_PARAMETER_CAMERA_NUM, sizeof(camera_num)}, 0};
        OK(mmal_port_parameter_set(camera->control, &camera_num.hdr));
    }
    CHECK(camera->output_num == 3);
    OK(mmal_port_parameter_set_uint32(camera->control, MMAL_PARAMETER_CAMERA_CUSTOM_SENSOR_CONFIG, 0));
    preview = camera->output[CAMERA_PREVIEW];
    video_port = camera->output[CAMERA_VIDEO];
    still = camera->output[CAMERA_STILL];
    OK(mmal_port_enable(camera->control, camera_control_callback));
    {
        MMAL_PARAMETER_CAMERA_CONFIG_T config = {{MMAL_PARAMETER_CAMERA_CONFIG, sizeof(config)},
                                                 .max_stills_w = (uint32_t)width,
                                                 .max_stills_h = (uint32_t)height,
                                                 .stills_yuv422 = 0,
                                                 .one_shot_stills = video ? 0 : 1,
                                                 .max_preview_video_w = (uint32_t)width,
                                                 .max_preview_video_h = (uint32_t)height,
                                                 .num_preview_video_frames = 3,
                                                 .stills_capture_circular_buffer_height = 0,
                                                 .fast_preview_resume = 0,
                                                 .use_stc_timestamp = MMAL_PARAM_TIMESTAMP_MODE_RESET_STC};
        OK(mmal_port_parameter_set(camera->control, &config.hdr));
    }
    /* The apps carry on whatever this answers; the software VideoCore
     * takes every one. */
    CHECK(set_all_parameters(camera) == 0);

    format = preview->format;
    format->encoding = MMAL_ENCODING_OPAQUE;
    format->encoding_variant = MMAL_ENCODING_I420;
    format->es->video.width = ALIGN_UP(width, 32);
    format->es->video.height = ALIGN_UP(height, 16);
    format->es->video.crop.x = 0;
    format->es->video.crop.y = 0;
    format->es->video.crop.width = width;
    format->es->video.crop.height = height;
    format->es->video.frame_rate.num = video ? 30 : 0;
    format->es->video.frame_rate.den = 1;
    status = mmal_port_format_commit(preview);
    CHECK(status == MMAL_SUCCESS);
    if (status != MMAL_SUCCESS)
        vcos_log_error("camera viewfinder format couldn't be set");

    if (video) {
        format = video_port->format;
        format->encoding = MMAL_ENCODING_OPAQUE;
        format->encoding_variant = MMAL_ENCODING_I420;
        format->es->video.width = ALIGN_UP(width, 32);
        format->es->video.height = ALIGN_UP(height, 16);
        format->es->video.crop.x = 0;
        format->es->video.crop.y = 0;
        format->es->video.crop.width = width;
        format->es->video.crop.height = height;
        format->es->video.frame_rate.num = 30;
        format->es->video.frame_rate.den = 1;
    } else {
        /* raspistill and raspiyuv give the video port the preview's. */
        OK(mmal_format_full_copy(video_port->format, format));
    }
    status = mmal_port_format_commit(video_port);
    CHECK(status == MMAL_SUCCESS);
    if (status != MMAL_SUCCESS)
        vcos_log_error("camera video format couldn't be set");
    if (video_port->buffer_num < 3)
        video_port->buffer_num = 3;

    format = still->format;
    format->encoding = still_encoding;
    format->encoding_variant = still_encoding == MMAL_ENCODING_OPAQUE ? 0 : still_encoding;
    format->es->video.width = ALIGN_UP(width, 32);
    format->es->video.height = ALIGN_UP(height, 16);
    format->es->video.crop.x = 0;
    format->es->video.crop.y = 0;
    format->es->video.crop.width = width;
    format->es->video.crop.height = height;
    format->es->video.frame_rate.num = 0;
    format->es->video.frame_rate.den = 1;
    status = mmal_port_format_commit(still);
    CHECK(status == MMAL_SUCCESS);
    if (status != MMAL_SUCCESS)
        vcos_log_error("camera still format couldn't be set");
    if (still->buffer_num < 3)
        still->buffer_num = 3;

    status = mmal_component_enable(camera);
    CHECK(status == MMAL_SUCCESS);
    if (status != MMAL_SUCCESS) {
        vcos_log_error("camera component couldn't be enabled");
        mmal_component_destroy(camera);
        return NULL;
    }
    return camera;
}

/* raspipreview_create with -n: a null sink takes the preview. */
static MMAL_COMPONENT_T *create_null_preview(void)
{
    MMAL_COMPONENT_T *sink = NULL;
    OK(mmal_component_create("vc.null_sink", &sink));
    if (sink)
        OK(mmal_component_enable(sink));
    return sink;
}

/* connect_ports: a tunnel, buffers from the input's side. */
static MMAL_CONNECTION_T *connect_ports(MMAL_PORT_T *out, MMAL_PORT_T *in)
{
    MMAL_CONNECTION_T *connection = NULL;
    MMAL_STATUS_T status = mmal_connection_create(&connection, out, in,
        MMAL_CONNECTION_FLAG_TUNNELLING | MMAL_CONNECTION_FLAG_ALLOCATION_ON_INPUT);
    CHECK(status == MMAL_SUCCESS);
    if (status == MMAL_SUCCESS) {
        status = mmal_connection_enable(connection);
        CHECK(status == MMAL_SUCCESS);
        if (status != MMAL_SUCCESS) {
            mmal_connection_destroy(connection);
            connection = NULL;
        }
    }
    return connection;
}

static void check_disable_port(MMAL_PORT_T *port)
{
    if (port && port->is_enabled)
        OK(mmal_port_disable(port));
}

/* ------------------------------------------------------------------------
 * The output callbacks: a file, a pool to send buffers back from, the end
 * of a still or a count of frames
 * --------------------------------------------------------------------- */

typedef struct {
    FILE *file;
    FILE *vectors;          /* raspivid -x */
    MMAL_POOL_T *pool;
    sem_t complete;
    int frames_wanted;      /* raspivid: frames to take */
    int frames;             /* raspivid: frames written */
    int vector_frames;      /* raspivid -x: frames' vectors written */
    size_t vector_bytes;
    int done;
    pthread_mutex_t lock;
} PORT_USERDATA;

/* encoder_buffer_callback (raspistill, raspivid) and camera_buffer_callback
 * (raspiyuv): write the payload, send the buffer back while the port runs,
 * and signal the end of a still, or enough frames. */
static void output_callback(MMAL_PORT_T *port, MMAL_BUFFER_HEADER_T *buffer)
{
    PORT_USERDATA *data = (PORT_USERDATA *)port->userdata;
    int complete = 0;

    if (data) {
        pthread_mutex_lock(&data->lock);
        if (buffer->length && !data->done) {
            OK(mmal_buffer_header_mem_lock(buffer));
            if (data->vectors && (buffer->flags & MMAL_BUFFER_HEADER_FLAG_CODECSIDEINFO)) {
                CHECK(fwrite(buffer->data + buffer->offset, 1, buffer->length, data->vectors) == buffer->length);
                data->vector_bytes += buffer->length;
            } else {
                CHECK(fwrite(buffer->data + buffer->offset, 1, buffer->length, data->file) == buffer->length);
            }
            mmal_buffer_header_mem_unlock(buffer);
        }
        if (buffer->flags & (MMAL_BUFFER_HEADER_FLAG_FRAME_END | MMAL_BUFFER_HEADER_FLAG_TRANSMISSION_FAILED)) {
            if (data->frames_wanted == 0) {
                complete = !data->done;
            } else if (!data->done) {
                /* A frame, or its vectors (which follow it), ends. */
                if (buffer->flags & MMAL_BUFFER_HEADER_FLAG_CODECSIDEINFO)
                    data->vector_frames++;
                else if (!(buffer->flags & MMAL_BUFFER_HEADER_FLAG_CONFIG))
                    data->frames++;
                complete = data->frames >= data->frames_wanted
                    && (!data->vectors || data->vector_frames >= data->frames_wanted);
            }
        }
        if (complete)
            data->done = 1;
        pthread_mutex_unlock(&data->lock);
    } else {
        vcos_log_error("Received a encoder buffer callback with no state");
    }
    mmal_buffer_header_release(buffer);
    if (port->is_enabled && data) {
        MMAL_BUFFER_HEADER_T *fresh = mmal_queue_get(data->pool->queue);
        if (fresh && mmal_port_send_buffer(port, fresh) != MMAL_SUCCESS)
            vcos_log_error("Unable to return a buffer to the encoder port");
    }
    if (complete)
        sem_post(&data->complete);
}

static void send_all_buffers(MMAL_PORT_T *port, MMAL_POOL_T *pool)
{
    unsigned int n = mmal_queue_length(pool->queue), q;
    for (q = 0; q < n; q++) {
        MMAL_BUFFER_HEADER_T *buffer = mmal_queue_get(pool->queue);
        CHECK(buffer != NULL);
        if (!buffer)
            vcos_log_error("Unable to get a required buffer %u from pool queue", q);
        else if (mmal_port_send_buffer(port, buffer) != MMAL_SUCCESS)
            vcos_log_error("Unable to send a buffer to encoder output port (%u)", q);
    }
}

static void userdata_init(PORT_USERDATA *data, FILE *file, MMAL_POOL_T *pool)
{
    memset(data, 0, sizeof(*data));
    data->file = file;
    data->pool = pool;
    pthread_mutex_init(&data->lock, NULL);
    CHECK(vcos_semaphore_create(&data->complete, "RaspiStill-sem", 0) == VCOS_SUCCESS);
}

static void userdata_deinit(PORT_USERDATA *data)
{
    sem_destroy(&data->complete);
    pthread_mutex_destroy(&data->lock);
}

static FILE *open_output(const char *dir, const char *name)
{
    char path[512];
    FILE *file;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    file = fopen(path, "wb");
    if (!file)
        vcos_log_error("%s: Error opening output file: %s", __func__, path);
    CHECK(file != NULL);
    return file;
}

static long file_size(const char *dir, const char *name)
{
    char path[512];
    FILE *file;
    long size;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    file = fopen(path, "rb");
    if (!file)
        return -1;
    fseek(file, 0, SEEK_END);
    size = ftell(file);
    fclose(file);
    return size;
}

/* ------------------------------------------------------------------------
 * The apps
 * --------------------------------------------------------------------- */

/* raspistill -n -r -w 320 -h 240 -o DIR/still.jpg */
static void raspistill(const char *dir)
{
    const int width = 320, height = 240;
    char sensor[MMAL_PARAMETER_CAMERA_INFO_MAX_STR_LEN];
    int max_w = 0, max_h = 0;
    MMAL_COMPONENT_T *camera, *preview, *encoder = NULL;
    MMAL_CONNECTION_T *preview_connection = NULL, *encoder_connection = NULL;
    MMAL_PORT_T *encoder_input, *encoder_output, *still;
    MMAL_POOL_T *pool;
    PORT_USERDATA data;
    FILE *file;

    bcm_host_init();
    vcos_log_register("RaspiStill", VCOS_LOG_CATEGORY);
    sensor_defaults(0, sensor, &max_w, &max_h);
    CHECK(max_w >= width && max_h >= height);

    camera = create_camera(width, height, 0, MMAL_ENCODING_OPAQUE);
    preview = create_null_preview();
    if (!camera || !preview)
        return;

    /* create_encoder_component */
    OK(mmal_component_create("vc.ril.image_encode", &encoder));
    if (!encoder)
        return;
    CHECK(encoder->input_num && encoder->output_num);
    encoder_input = encoder->input[0];
    encoder_output = encoder->output[0];
    mmal_format_copy(encoder_output->format, encoder_input->format);
    encoder_output->format->encoding = MMAL_ENCODING_JPEG;
    encoder_output->buffer_size = encoder_output->buffer_size_recommended;
    if (encoder_output->buffer_size < encoder_output->buffer_size_min)
        encoder_output->buffer_size = encoder_output->buffer_size_min;
    encoder_output->buffer_num = encoder_output->buffer_num_recommended;
    if (encoder_output->buffer_num < encoder_output->buffer_num_min)
        encoder_output->buffer_num = encoder_output->buffer_num_min;
    OK(mmal_port_format_commit(encoder_output));
    OK(mmal_port_parameter_set_uint32(encoder_output, MMAL_PARAMETER_JPEG_Q_FACTOR, 85));
    OK(mmal_port_parameter_set_uint32(encoder_output, MMAL_PARAMETER_JPEG_RESTART_INTERVAL, 0));
    {
        MMAL_PARAMETER_THUMBNAIL_CONFIG_T thumb = {
            {MMAL_PARAMETER_THUMBNAIL_CONFIGURATION, sizeof(thumb)}, 1, 64, 48, 35};
        OK(mmal_port_parameter_set(encoder->control, &thumb.hdr));
    }
    OK(mmal_component_enable(encoder));
    pool = mmal_port_pool_create(encoder_output, encoder_output->buffer_num, encoder_output->buffer_size);
    CHECK(pool != NULL);
    if (!pool)
        return;

    still = camera->output[CAMERA_STILL];
    preview_connection = connect_ports(camera->output[CAMERA_PREVIEW], preview->input[0]);
    encoder_connection = connect_ports(still, encoder_input);

    file = open_output(dir, "still.jpg");
    userdata_init(&data, file, pool);
    if (file) {
        /* add_exif_tags, then raw, then the shutter speed, each capture */
        const char *tags[] = {"IFD0.Model=RP_ov5647", "IFD0.Make=RaspberryPi",
                              "EXIF.DateTimeDigitized=2026:12:06 09:00:00",
                              "EXIF.DateTimeOriginal=2026:12:06 09:00:00", "IFD0.DateTime=2026:12:06 09:00:00"};
        size_t t;
        for (t = 0; t < sizeof(tags) / sizeof(tags[0]); t++) {
            size_t len = strlen(tags[t]);
            MMAL_PARAMETER_EXIF_T *exif = calloc(1, sizeof(MMAL_PARAMETER_EXIF_T) + 128);
            exif->hdr.id = MMAL_PARAMETER_EXIF;
            memcpy(exif->data, tags[t], len);
            exif->hdr.size = sizeof(MMAL_PARAMETER_EXIF_T) + len;
            OK(mmal_port_parameter_set(encoder_output, &exif->hdr));
            free(exif);
        }
        if (mmal_port_parameter_set_boolean(still, MMAL_PARAMETER_ENABLE_RAW_CAPTURE, 1) != MMAL_SUCCESS) {
            CHECK(!"raw capture");
            vcos_log_error("RAW was requested, but failed to enable");
        }
        OK(mmal_port_parameter_set_uint32(camera->control, MMAL_PARAMETER_SHUTTER_SPEED, 0));
        encoder_output->userdata = (struct MMAL_PORT_USERDATA_T *)&data;
        OK(mmal_port_enable(encoder_output, output_callback));
        send_all_buffers(encoder_output, pool);
        OK(mmal_port_parameter_set_boolean(still, MMAL_PARAMETER_CAPTURE, 1));
        CHECK(vcos_semaphore_wait_timeout(&data.complete, 60000) == VCOS_SUCCESS);
        check_disable_port(encoder_output);
        fclose(file);
    }
    userdata_deinit(&data);

    if (encoder_connection)
        OK(mmal_connection_destroy(encoder_connection));
    if (preview_connection)
        OK(mmal_connection_destroy(preview_connection));
    OK(mmal_component_disable(encoder));
    OK(mmal_component_disable(preview));
    OK(mmal_component_disable(camera));
    mmal_port_pool_destroy(encoder->output[0], pool);
    OK(mmal_component_destroy(encoder));
    OK(mmal_component_destroy(preview));
    OK(mmal_component_destroy(camera));
}

/* The JPEG: SOI, then after its EOI the raw block, BRCM first. */
static void check_jpeg_with_raw(const char *dir)
{
    char path[512];
    FILE *file;
    unsigned char *bytes;
    long size, i, eoi = -1;
    snprintf(path, sizeof(path), "%s/still.jpg", dir);
    file = fopen(path, "rb");
    CHECK(file != NULL);
    if (!file)
        return;
    fseek(file, 0, SEEK_END);
    size = ftell(file);
    fseek(file, 0, SEEK_SET);
    bytes = malloc(size > 0 ? (size_t)size : 1);
    CHECK(fread(bytes, 1, (size_t)size, file) == (size_t)size);
    fclose(file);
    CHECK(size > 4 && bytes[0] == 0xff && bytes[1] == 0xd8);
    /* The raw block starts right after the JPEG's EOI. */
    for (i = 2; i + 5 < size; i++) {
        if (bytes[i] == 0xff && bytes[i + 1] == 0xd9 && memcmp(bytes + i + 2, "BRCM", 4) == 0) {
            eoi = i;
            break;
        }
    }
    CHECK(eoi > 0);
    if (eoi > 0) {
        /* The JPEG alone, for Pillow. */
        FILE *jpeg;
        snprintf(path, sizeof(path), "%s/still-only.jpg", dir);
        jpeg = fopen(path, "wb");
        CHECK(jpeg != NULL);
        if (jpeg) {
            CHECK(fwrite(bytes, 1, (size_t)eoi + 2, jpeg) == (size_t)eoi + 2);
            fclose(jpeg);
        }
        CHECK(size - (eoi + 2) > 32768); /* a raw frame's worth */
    }
    free(bytes);
}

/* raspiyuv -n -w W -h H [-rgb] -o DIR/NAME: the still port's own pool. */
static void raspiyuv(const char *dir, const char *name, int width, int height, int rgb)
{
    char sensor[MMAL_PARAMETER_CAMERA_INFO_MAX_STR_LEN];
    int max_w = 0, max_h = 0;
    MMAL_COMPONENT_T *camera, *preview;
    MMAL_CONNECTION_T *preview_connection;
    MMAL_PORT_T *still;
    MMAL_POOL_T *pool;
    PORT_USERDATA data;
    uint32_t encoding = MMAL_ENCODING_I420;
    FILE *file;
    long expected;

    bcm_host_init();
    vcos_log_register("RaspiStillYUV", VCOS_LOG_CATEGORY);
    sensor_defaults(0, sensor, &max_w, &max_h);

    /* raspiyuv asks the camera which way round RGB is before choosing. */
    CHECK(mmal_util_rgb_order_fixed(NULL) == 0);
    if (rgb) {
        MMAL_COMPONENT_T *probe = NULL;
        OK(mmal_component_create("vc.ril.camera", &probe));
        if (probe) {
            CHECK(mmal_util_rgb_order_fixed(probe->output[CAMERA_STILL]) == 1);
            encoding = mmal_util_rgb_order_fixed(probe->output[CAMERA_STILL]) ? MMAL_ENCODING_RGB24
                                                                             : MMAL_ENCODING_BGR24;
            OK(mmal_component_destroy(probe));
        }
    }
    camera = create_camera(width, height, 0, encoding);
    preview = create_null_preview();
    if (!camera || !preview)
        return;
    still = camera->output[CAMERA_STILL];
    still->buffer_size = still->buffer_size_recommended;
    still->buffer_num = still->buffer_num_recommended;
    pool = mmal_port_pool_create(still, still->buffer_num, still->buffer_size);
    CHECK(pool != NULL);
    if (!pool)
        return;
    preview_connection = connect_ports(camera->output[CAMERA_PREVIEW], preview->input[0]);

    file = open_output(dir, name);
    userdata_init(&data, file, pool);
    if (file) {
        OK(mmal_port_parameter_set_uint32(camera->control, MMAL_PARAMETER_SHUTTER_SPEED, 0));
        still->userdata = (struct MMAL_PORT_USERDATA_T *)&data;
        OK(mmal_port_enable(still, output_callback));
        send_all_buffers(still, pool);
        OK(mmal_port_parameter_set_boolean(still, MMAL_PARAMETER_CAPTURE, 1));
        CHECK(vcos_semaphore_wait_timeout(&data.complete, 60000) == VCOS_SUCCESS);
        check_disable_port(still);
        fclose(file);
    }
    userdata_deinit(&data);

    /* The padded frame: I420 at 32x16 alignment, RGB24 rows of 3 bytes. */
    if (rgb)
        expected = (long)ALIGN_UP(width, 32) * ALIGN_UP(height, 16) * 3;
    else
        expected = (long)ALIGN_UP(width, 32) * ALIGN_UP(height, 16) * 3 / 2;
    CHECK(file_size(dir, name) == expected);

    if (preview_connection)
        OK(mmal_connection_destroy(preview_connection));
    OK(mmal_component_disable(preview));
    OK(mmal_component_disable(camera));
    mmal_port_pool_destroy(still, pool);
    OK(mmal_component_destroy(preview));
    OK(mmal_component_destroy(camera));
}

/* raspivid -n -w 320 -h 240 -x DIR/video.imv -o DIR/video.h264, for
 * FRAMES frames. */
#define VIDEO_FRAMES 10
static void raspivid(const char *dir)
{
    const int width = 320, height = 240;
    char sensor[MMAL_PARAMETER_CAMERA_INFO_MAX_STR_LEN];
    int max_w = 0, max_h = 0;
    MMAL_COMPONENT_T *camera, *preview, *encoder = NULL;
    MMAL_CONNECTION_T *preview_connection, *encoder_connection;
    MMAL_PORT_T *encoder_input, *encoder_output, *video;
    MMAL_POOL_T *pool;
    PORT_USERDATA data;
    FILE *file, *vectors;

    bcm_host_init();
    vcos_log_register("RaspiVid", VCOS_LOG_CATEGORY);
    sensor_defaults(0, sensor, &max_w, &max_h);

    camera = create_camera(width, height, 1, MMAL_ENCODING_OPAQUE);
    preview = create_null_preview();
    if (!camera || !preview)
        return;

    /* create_encoder_component */
    OK(mmal_component_create("vc.ril.video_encode", &encoder));
    if (!encoder)
        return;
    CHECK(encoder->input_num && encoder->output_num);
    encoder_input = encoder->input[0];
    encoder_output = encoder->output[0];
    mmal_format_copy(encoder_output->format, encoder_input->format);
    encoder_output->format->encoding = MMAL_ENCODING_H264;
    encoder_output->format->bitrate = 17000000;
    encoder_output->buffer_size = encoder_output->buffer_size_recommended;
    if (encoder_output->buffer_size < encoder_output->buffer_size_min)
        encoder_output->buffer_size = encoder_output->buffer_size_min;
    encoder_output->buffer_num = encoder_output->buffer_num_recommended;
    if (encoder_output->buffer_num < encoder_output->buffer_num_min)
        encoder_output->buffer_num = encoder_output->buffer_num_min;
    /* Frame rate 0: it follows the input once connected. */
    encoder_output->format->es->video.frame_rate.num = 0;
    encoder_output->format->es->video.frame_rate.den = 1;
    OK(mmal_port_format_commit(encoder_output));
    OK(mmal_port_parameter_set_uint32(encoder_output, MMAL_PARAMETER_INTRAPERIOD, 5));
    {
        MMAL_PARAMETER_VIDEO_PROFILE_T profile;
        profile.hdr.id = MMAL_PARAMETER_PROFILE;
        profile.hdr.size = sizeof(profile);
        profile.profile[0].profile = MMAL_VIDEO_PROFILE_H264_HIGH;
        profile.profile[0].level = MMAL_VIDEO_LEVEL_H264_4;
        OK(mmal_port_parameter_set(encoder_output, &profile.hdr));
    }
    if (mmal_port_parameter_set_boolean(encoder_input, MMAL_PARAMETER_VIDEO_IMMUTABLE_INPUT, 1) != MMAL_SUCCESS) {
        CHECK(!"immutable input");
        vcos_log_error("Unable to set immutable input flag");
    }
    OK(mmal_port_parameter_set_boolean(encoder_output, MMAL_PARAMETER_VIDEO_ENCODE_INLINE_HEADER, 0));
    OK(mmal_port_parameter_set_boolean(encoder_output, MMAL_PARAMETER_VIDEO_ENCODE_SPS_TIMING, 0));
    if (mmal_port_parameter_set_boolean(encoder_output, MMAL_PARAMETER_VIDEO_ENCODE_INLINE_VECTORS, 1) != MMAL_SUCCESS) {
        CHECK(!"inline vectors");
        vcos_log_error("failed to set INLINE VECTORS parameters");
    }
    OK(mmal_component_enable(encoder));
    pool = mmal_port_pool_create(encoder_output, encoder_output->buffer_num, encoder_output->buffer_size);
    CHECK(pool != NULL);
    if (!pool)
        return;

    video = camera->output[CAMERA_VIDEO];
    preview_connection = connect_ports(camera->output[CAMERA_PREVIEW], preview->input[0]);
    encoder_connection = connect_ports(video, encoder_input);

    file = open_output(dir, "video.h264");
    vectors = open_output(dir, "video.imv");
    userdata_init(&data, file, pool);
    data.vectors = vectors;
    data.frames_wanted = VIDEO_FRAMES;
    if (file && vectors) {
        encoder_output->userdata = (struct MMAL_PORT_USERDATA_T *)&data;
        OK(mmal_port_enable(encoder_output, output_callback));
        send_all_buffers(encoder_output, pool);
        OK(mmal_port_parameter_set_boolean(video, MMAL_PARAMETER_CAPTURE, 1));
        CHECK(vcos_semaphore_wait_timeout(&data.complete, 120000) == VCOS_SUCCESS);
        OK(mmal_port_parameter_set_boolean(video, MMAL_PARAMETER_CAPTURE, 0));
        check_disable_port(encoder_output);
    }
    if (file)
        fclose(file);
    if (vectors)
        fclose(vectors);
    /* A vector per macroblock and one more per row, four bytes each, for
     * each frame written. */
    CHECK(data.frames == VIDEO_FRAMES && data.vector_frames == VIDEO_FRAMES);
    CHECK(data.vector_bytes == (size_t)VIDEO_FRAMES * ((width + 15) / 16 + 1) * ((height + 15) / 16) * 4);
    CHECK(file_size(dir, "video.imv") == (long)data.vector_bytes);
    userdata_deinit(&data);

    if (encoder_connection)
        OK(mmal_connection_destroy(encoder_connection));
    if (preview_connection)
        OK(mmal_connection_destroy(preview_connection));
    OK(mmal_component_disable(encoder));
    OK(mmal_component_disable(preview));
    OK(mmal_component_disable(camera));
    mmal_port_pool_destroy(encoder->output[0], pool);
    OK(mmal_component_destroy(encoder));
    OK(mmal_component_destroy(preview));
    OK(mmal_component_destroy(camera));
}

/* ------------------------------------------------------------------------
 * vcos's logging, as the apps see it
 * --------------------------------------------------------------------- */

/* What vcos_log_* writes to standard error while `run` runs. */
static void capture_stderr(void (*run)(void), char *out, size_t size)
{
    FILE *tmp = tmpfile();
    int saved = dup(2);
    size_t n;
    CHECK(tmp != NULL && saved >= 0);
    if (!tmp || saved < 0) {
        out[0] = 0;
        return;
    }
    fflush(stderr);
    dup2(fileno(tmp), 2);
    run();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    n = fread(out, 1, size - 1, tmp);
    out[n] = 0;
    fclose(tmp);
}

static void log_before_registration(void)
{
    vcos_log_error("not shown: the category is not registered yet");
}

static VCOS_LOG_CAT_T app_category;

static void log_as_apps(void)
{
    vcos_log_error("%s: Failed to create camera component", "main");
    vcos_log_trace("trace %d", 1);
#undef VCOS_LOG_CATEGORY
#define VCOS_LOG_CATEGORY (&app_category)
    vcos_log_error("%d %s %.1f %u %lld %c", -3, "mixed", 2.5, 7u, -1234567890123LL, 'x');
    vcos_log_info("not shown at error");
#undef VCOS_LOG_CATEGORY
#define VCOS_LOG_CATEGORY (&mmal_log_category)
}

static void check_logging(void)
{
    char text[1024];
    VCOS_LOG_LEVEL_T level = VCOS_LOG_UNINITIALIZED;

    /* Nothing shows before libmmal or the program registers the category. */
    CHECK(mmal_log_category.level == VCOS_LOG_UNINITIALIZED);
    capture_stderr(log_before_registration, text, sizeof(text));
    CHECK(strcmp(text, "") == 0);

    CHECK(vcos_string_to_log_level("warning", &level) == VCOS_SUCCESS && level == VCOS_LOG_WARN);
    CHECK(vcos_string_to_log_level("loud", &level) == VCOS_EINVAL);
    CHECK(strcmp(vcos_log_level_to_string(VCOS_LOG_TRACE), "trace") == 0);
    CHECK(vcos_pthreads_map_error(ENOSPC) == VCOS_ENOSPC);
    errno = ENOMEM;
    CHECK(vcos_pthreads_map_errno() == VCOS_ENOMEM);
    CHECK(vcos_getmicrosecs64_internal() > 1700000000ull * 1000000ull);
    CHECK(vcos_log_get_default_category() != NULL && vcos_log_get_default_category()->flags.want_prefix == 0);

    /* An app's own category: ERROR by default, VC_LOGLEVEL read at
     * registration (set by main). */
    vcos_log_register("RaspiTest", &app_category);
    CHECK(app_category.level == VCOS_LOG_ERROR);
    CHECK(strcmp(app_category.name, "RaspiTest") == 0 && app_category.flags.want_prefix == 1);
    CHECK(app_category.refcount == 1);

    /* raspistill registers libmmal's category under its own name; libmmal
     * renames it "mmal" at TRACE with its first component (VC_LOGLEVEL has
     * mmal:error). */
    vcos_log_register("RaspiStill", &mmal_log_category);
    CHECK(mmal_log_category.level == VCOS_LOG_ERROR);
    CHECK(strcmp(mmal_log_category.name, "RaspiStill") == 0);
    {
        MMAL_COMPONENT_T *c = NULL;
        OK(mmal_component_create("vc.null_sink", &c));
        if (c)
            OK(mmal_component_destroy(c));
    }
    CHECK(strcmp(mmal_log_category.name, "mmal") == 0);
    CHECK(mmal_log_category.level == VCOS_LOG_ERROR);
    CHECK(mmal_log_category.refcount == 2);

    capture_stderr(log_as_apps, text, sizeof(text));
    CHECK(strcmp(text, "mmal: main: Failed to create camera component\n"
                       "RaspiTest: -3 mixed 2.5 7 -1234567890123 x\n") == 0);
    if (strcmp(text, "mmal: main: Failed to create camera component\n"
                     "RaspiTest: -3 mixed 2.5 7 -1234567890123 x\n") != 0)
        fprintf(stderr, "logged: [%s]\n", text);
    vcos_log_unregister(&app_category);
    CHECK(app_category.refcount == 0);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";

    /* The apps' own categories at their default; libmmal's at error. */
    setenv("VC_LOGLEVEL", "other:info, mmal:error,RaspiTest:error", 1);
    check_logging();

    raspistill(dir);
    check_jpeg_with_raw(dir);
    raspiyuv(dir, "still.yuv", 320, 240, 0);
    raspiyuv(dir, "still.rgb", 64, 48, 1);
    raspivid(dir);
    bcm_host_deinit();

    if (checks.failed) {
        fprintf(stderr, "raspi_apps: %d checks passed, %d failed\n", checks.passed, checks.failed);
        return 1;
    }
    printf("raspi_apps: raspistill, raspiyuv and raspivid ran as on a Pi (%d checks)\n", checks.passed);
    return 0;
}
