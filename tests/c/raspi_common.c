/* The helpers raspistill, raspiyuv and raspivid share (userland's
 * RaspiCamControl.c, RaspiHelpers.c and RaspiPreview.c), as this test
 * program makes them: see raspi_apps.c. */
#include "raspi_apps.h"

/* vcos's inline semaphores (pthreads/vcos_platform.h), as the apps get
 * them from the header; the wait is bounded here so that a lost frame
 * fails the test instead of hanging it. */
VCOS_STATUS_T vcos_semaphore_create(sem_t *sem, const char *name, unsigned int count)
{
    (void)name;
    if (sem_init(sem, 0, count) != -1)
        return VCOS_SUCCESS;
    return vcos_pthreads_map_errno();
}

VCOS_STATUS_T vcos_semaphore_wait_timeout(sem_t *sem, unsigned int ms)
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
void sensor_defaults(int camera_num, char *name, int *width, int *height)
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
MMAL_STATUS_T set_stereo_mode(MMAL_PORT_T *port)
{
    MMAL_PARAMETER_STEREOSCOPIC_MODE_T stereo = {
        {MMAL_PARAMETER_STEREOSCOPIC_MODE, sizeof(stereo)}, MMAL_STEREOSCOPIC_MODE_NONE, MMAL_FALSE, MMAL_FALSE};
    return mmal_port_parameter_set(port, &stereo.hdr);
}

MMAL_STATUS_T set_enum(MMAL_PORT_T *port, uint32_t id, uint32_t value)
{
    PARAMETER_ENUM_T param = {{id, sizeof(param)}, value};
    return mmal_port_parameter_set(port, &param.hdr);
}

/* raspicamcontrol_set_all_parameters with the apps' defaults; the result
 * is a count of refusals, which the apps ignore (each one is logged). */
int set_all_parameters(MMAL_COMPONENT_T *camera)
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
void camera_control_callback(MMAL_PORT_T *port, MMAL_BUFFER_HEADER_T *buffer)
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
MMAL_COMPONENT_T *create_camera(int width, int height, int video, uint32_t still_encoding)
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
MMAL_COMPONENT_T *create_null_preview(void)
{
    MMAL_COMPONENT_T *sink = NULL;
    OK(mmal_component_create("vc.null_sink", &sink));
    if (sink)
        OK(mmal_component_enable(sink));
    return sink;
}

/* connect_ports: a tunnel, buffers from the input's side. */
MMAL_CONNECTION_T *connect_ports(MMAL_PORT_T *out, MMAL_PORT_T *in)
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

void check_disable_port(MMAL_PORT_T *port)
{
    if (port && port->is_enabled)
        OK(mmal_port_disable(port));
}

/* ------------------------------------------------------------------------
 * The output callbacks: a file, a pool to send buffers back from, the end
 * of a still or a count of frames
 * --------------------------------------------------------------------- */


/* encoder_buffer_callback (raspistill, raspivid) and camera_buffer_callback
 * (raspiyuv): write the payload, send the buffer back while the port runs,
 * and signal the end of a still, or enough frames. */
void output_callback(MMAL_PORT_T *port, MMAL_BUFFER_HEADER_T *buffer)
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

void send_all_buffers(MMAL_PORT_T *port, MMAL_POOL_T *pool)
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

void userdata_init(PORT_USERDATA *data, FILE *file, MMAL_POOL_T *pool)
{
    memset(data, 0, sizeof(*data));
    data->file = file;
    data->pool = pool;
    pthread_mutex_init(&data->lock, NULL);
    CHECK(vcos_semaphore_create(&data->complete, "RaspiStill-sem", 0) == VCOS_SUCCESS);
}

void userdata_deinit(PORT_USERDATA *data)
{
    sem_destroy(&data->complete);
    pthread_mutex_destroy(&data->lock);
}

FILE *open_output(const char *dir, const char *name)
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

long file_size(const char *dir, const char *name)
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
