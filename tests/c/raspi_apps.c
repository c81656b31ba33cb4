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
 *   cc -Wall -Wextra -Werror -Immal-sys/include -Ivideocore-c/include tests/c/raspi_apps.c tests/c/raspi_common.c \
 *       -L"$LIB" -lmmal_core -lmmal_util -lmmal_vc_client -lvcos -lbcm_host -lpthread -o target/raspi_apps
 *   mkdir -p target/raspi_apps.out
 *   LD_LIBRARY_PATH="$LIB" target/raspi_apps target/raspi_apps.out
 */
#define _GNU_SOURCE
#include "raspi_apps.h"

struct check_counts checks;

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
