/*
 * MMAL (Multi-Media Abstraction Layer): the part of libmmal's C ABI that the
 * `mmal` crate uses, and that the `mmal-emu` software VideoCore implements.
 *
 * Written for this project from the facts recorded in research/mmal.md
 * (field order, types, IDs, sizes).  It is the input of `cargo xtask
 * bindgen`, which turns it into `src/bindings/{arm,lp64}.rs`; nothing
 * includes it at build time.  Function signatures are not here: the
 * function table is written in Rust (src/api.rs).
 *
 * The header is self-contained so that clang needs no sysroot for any
 * target.  Pointer-sized fields make the structs differ between 32-bit ARM
 * (the only ABI real libmmal exists for) and 64-bit hosts (where only the
 * emulator runs).
 */
#ifndef MMAL_ABI_H
#define MMAL_ABI_H

/* A C program that includes this header defines MMAL_ABI_USE_STDINT to
 * take the fixed-width types from its C library instead. */
#ifdef MMAL_ABI_USE_STDINT
#include <stdint.h>
#else
typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef int int32_t;
typedef unsigned int uint32_t;
typedef long long int64_t;
typedef unsigned long long uint64_t;
#endif

/* ---------------------------------------------------------------------
 * Basic types (mmal_types.h, mmal_common.h)
 * ------------------------------------------------------------------- */

typedef int32_t MMAL_BOOL_T;
#define MMAL_FALSE 0
#define MMAL_TRUE 1

/* Status codes; the C enum is forced to 32 bits. */
typedef enum {
    MMAL_SUCCESS = 0,
    MMAL_ENOMEM = 1,
    MMAL_ENOSPC = 2,
    MMAL_EINVAL = 3,
    MMAL_ENOSYS = 4,
    MMAL_ENOENT = 5,
    MMAL_ENXIO = 6,
    MMAL_EIO = 7,
    MMAL_ESPIPE = 8,
    MMAL_ECORRUPT = 9,
    MMAL_ENOTREADY = 10,
    MMAL_ECONFIG = 11,
    MMAL_EISCONN = 12,
    MMAL_ENOTCONN = 13,
    MMAL_EAGAIN = 14,
    MMAL_EFAULT = 15,
    MMAL_STATUS_MAX = 0x7FFFFFFF
} MMAL_STATUS_T;

typedef struct {
    int32_t x;
    int32_t y;
    int32_t width;
    int32_t height;
} MMAL_RECT_T;

typedef struct {
    int32_t num;
    int32_t den;
} MMAL_RATIONAL_T;

/* Timestamps are microseconds; this value means "unknown". */
#define MMAL_TIME_UNKNOWN (-9223372036854775807LL - 1)

/* Little-endian ASCII: the first character is the lowest byte. */
#define MMAL_FOURCC(a, b, c, d) \
    ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))

/* ---------------------------------------------------------------------
 * FourCC encodings and colour spaces (mmal_encodings.h)
 * ------------------------------------------------------------------- */

typedef enum {
    MMAL_ENCODING_UNKNOWN = 0,
    MMAL_ENCODING_I420 = MMAL_FOURCC('I', '4', '2', '0'),
    MMAL_ENCODING_YV12 = MMAL_FOURCC('Y', 'V', '1', '2'),
    MMAL_ENCODING_I422 = MMAL_FOURCC('I', '4', '2', '2'),
    MMAL_ENCODING_NV12 = MMAL_FOURCC('N', 'V', '1', '2'),
    MMAL_ENCODING_NV21 = MMAL_FOURCC('N', 'V', '2', '1'),
    MMAL_ENCODING_YUYV = MMAL_FOURCC('Y', 'U', 'Y', 'V'),
    MMAL_ENCODING_RGB24 = MMAL_FOURCC('R', 'G', 'B', '3'),
    MMAL_ENCODING_BGR24 = MMAL_FOURCC('B', 'G', 'R', '3'),
    MMAL_ENCODING_RGBA = MMAL_FOURCC('R', 'G', 'B', 'A'),
    MMAL_ENCODING_BGRA = MMAL_FOURCC('B', 'G', 'R', 'A'),
    MMAL_ENCODING_RGB16 = MMAL_FOURCC('R', 'G', 'B', '2'),
    MMAL_ENCODING_GREY = MMAL_FOURCC('G', 'R', 'E', 'Y'),
    MMAL_ENCODING_OPAQUE = MMAL_FOURCC('O', 'P', 'Q', 'V'),
    MMAL_ENCODING_JPEG = MMAL_FOURCC('J', 'P', 'E', 'G'),
    MMAL_ENCODING_MJPEG = MMAL_FOURCC('M', 'J', 'P', 'G'),
    MMAL_ENCODING_H264 = MMAL_FOURCC('H', '2', '6', '4'),
    MMAL_ENCODING_GIF = MMAL_FOURCC('G', 'I', 'F', ' '),
    MMAL_ENCODING_PNG = MMAL_FOURCC('P', 'N', 'G', ' '),
    MMAL_ENCODING_PPM = MMAL_FOURCC('P', 'P', 'M', ' '),
    MMAL_ENCODING_TGA = MMAL_FOURCC('T', 'G', 'A', ' '),
    MMAL_ENCODING_BMP = MMAL_FOURCC('B', 'M', 'P', ' '),
    MMAL_ENCODING_BAYER_SBGGR8 = MMAL_FOURCC('B', 'A', '8', '1'),
    MMAL_ENCODING_BAYER_SRGGB8 = MMAL_FOURCC('R', 'G', 'G', 'B'),
    MMAL_ENCODING_BAYER_SGBRG8 = MMAL_FOURCC('G', 'B', 'R', 'G'),
    MMAL_ENCODING_BAYER_SGRBG8 = MMAL_FOURCC('G', 'R', 'B', 'G'),
    MMAL_ENCODING_BAYER_SBGGR10P = MMAL_FOURCC('p', 'B', 'A', 'A'),
    MMAL_ENCODING_BAYER_SRGGB10P = MMAL_FOURCC('p', 'R', 'A', 'A'),
    MMAL_ENCODING_BAYER_SGRBG10P = MMAL_FOURCC('p', 'g', 'A', 'A'),
    MMAL_ENCODING_BAYER_SGBRG10P = MMAL_FOURCC('p', 'G', 'A', 'A'),
    MMAL_ENCODING_BAYER_SBGGR12P = MMAL_FOURCC('p', 'B', '1', '2'),
    MMAL_ENCODING_BAYER_SRGGB12P = MMAL_FOURCC('p', 'R', '1', '2'),
    MMAL_ENCODING_BAYER_SBGGR16 = MMAL_FOURCC('B', 'G', '1', '6'),
    MMAL_ENCODING_Y10P = MMAL_FOURCC('Y', '1', '0', 'P'),
    MMAL_ENCODING_YUVUV128 = MMAL_FOURCC('S', 'A', 'N', 'D'),
    MMAL_ENCODING_BRCM_STATS = MMAL_FOURCC('S', 'T', 'A', 'T'),
    MMAL_COLOR_SPACE_UNKNOWN = 0,
    MMAL_COLOR_SPACE_ITUR_BT601 = MMAL_FOURCC('Y', '6', '0', '1'),
    MMAL_COLOR_SPACE_ITUR_BT709 = MMAL_FOURCC('Y', '7', '0', '9'),
    MMAL_COLOR_SPACE_JPEG_JFIF = MMAL_FOURCC('Y', 'J', 'F', 'I'),
    MMAL_MAGIC = MMAL_FOURCC('m', 'm', 'a', 'l')
} MMAL_FOURCC_T;

/* ---------------------------------------------------------------------
 * Elementary stream formats (mmal_format.h)
 * ------------------------------------------------------------------- */

typedef enum {
    MMAL_ES_TYPE_UNKNOWN = 0,
    MMAL_ES_TYPE_CONTROL = 1,
    MMAL_ES_TYPE_AUDIO = 2,
    MMAL_ES_TYPE_VIDEO = 3,
    MMAL_ES_TYPE_SUBPICTURE = 4
} MMAL_ES_TYPE_T;

#define MMAL_ES_FORMAT_FLAG_FRAMED 0x1
#define MMAL_ES_FORMAT_FLAG_COL_FMTS_WIDTH_IS_COL_STRIDE 0x2

typedef struct {
    uint32_t channels;
    uint32_t sample_rate;
    uint32_t bits_per_sample;
    uint32_t block_align;
} MMAL_AUDIO_FORMAT_T;

typedef struct {
    uint32_t width;          /* buffer width in pixels (aligned) */
    uint32_t height;         /* buffer height in pixels (aligned) */
    MMAL_RECT_T crop;        /* the visible picture */
    MMAL_RATIONAL_T frame_rate;
    MMAL_RATIONAL_T par;     /* pixel aspect ratio */
    uint32_t color_space;    /* a MMAL_COLOR_SPACE_* FourCC */
} MMAL_VIDEO_FORMAT_T;

typedef struct {
    uint32_t x_offset;
    uint32_t y_offset;
} MMAL_SUBPICTURE_FORMAT_T;

typedef union {
    MMAL_AUDIO_FORMAT_T audio;
    MMAL_VIDEO_FORMAT_T video;
    MMAL_SUBPICTURE_FORMAT_T subpicture;
} MMAL_ES_SPECIFIC_FORMAT_T;

typedef struct MMAL_ES_FORMAT_T {
    uint32_t type;                    /* MMAL_ES_TYPE_T */
    uint32_t encoding;                /* FourCC */
    uint32_t encoding_variant;        /* FourCC */
    MMAL_ES_SPECIFIC_FORMAT_T *es;
    uint32_t bitrate;
    uint32_t flags;                   /* MMAL_ES_FORMAT_FLAG_* */
    uint32_t extradata_size;
    uint8_t *extradata;
} MMAL_ES_FORMAT_T;

/* ---------------------------------------------------------------------
 * Buffer headers (mmal_buffer.h)
 * ------------------------------------------------------------------- */

#define MMAL_BUFFER_HEADER_FLAG_EOS (1u << 0)
#define MMAL_BUFFER_HEADER_FLAG_FRAME_START (1u << 1)
#define MMAL_BUFFER_HEADER_FLAG_FRAME_END (1u << 2)
#define MMAL_BUFFER_HEADER_FLAG_FRAME (MMAL_BUFFER_HEADER_FLAG_FRAME_START | MMAL_BUFFER_HEADER_FLAG_FRAME_END)
#define MMAL_BUFFER_HEADER_FLAG_KEYFRAME (1u << 3)
#define MMAL_BUFFER_HEADER_FLAG_DISCONTINUITY (1u << 4)
#define MMAL_BUFFER_HEADER_FLAG_CONFIG (1u << 5)
#define MMAL_BUFFER_HEADER_FLAG_ENCRYPTED (1u << 6)
#define MMAL_BUFFER_HEADER_FLAG_CODECSIDEINFO (1u << 7)
#define MMAL_BUFFER_HEADER_FLAG_SNAPSHOT (1u << 8)
#define MMAL_BUFFER_HEADER_FLAG_CORRUPTED (1u << 9)
#define MMAL_BUFFER_HEADER_FLAG_TRANSMISSION_FAILED (1u << 10)
#define MMAL_BUFFER_HEADER_FLAG_DECODEONLY (1u << 11)
#define MMAL_BUFFER_HEADER_FLAG_NAL_END (1u << 12)

#define MMAL_BUFFER_HEADER_VIDEO_FLAG_INTERLACED (1u << 16)
#define MMAL_BUFFER_HEADER_VIDEO_FLAG_TOP_FIELD_FIRST (1u << 17)

typedef struct {
    uint32_t planes;
    uint32_t offset[4];
    uint32_t pitch[4];
    uint32_t flags;
} MMAL_BUFFER_HEADER_VIDEO_SPECIFIC_T;

typedef union {
    MMAL_BUFFER_HEADER_VIDEO_SPECIFIC_T video;
} MMAL_BUFFER_HEADER_TYPE_SPECIFIC_T;

/* Opaque to clients: libmmal's (or the emulator's) own bookkeeping. */
typedef struct MMAL_BUFFER_HEADER_PRIVATE_T MMAL_BUFFER_HEADER_PRIVATE_T;

typedef struct MMAL_BUFFER_HEADER_T {
    struct MMAL_BUFFER_HEADER_T *next;
    MMAL_BUFFER_HEADER_PRIVATE_T *priv;
    uint32_t cmd;            /* 0 for data, an event FourCC otherwise */
    uint8_t *data;
    uint32_t alloc_size;
    uint32_t length;
    uint32_t offset;
    uint32_t flags;          /* MMAL_BUFFER_HEADER_FLAG_* */
    int64_t pts;             /* microseconds, or MMAL_TIME_UNKNOWN */
    int64_t dts;
    MMAL_BUFFER_HEADER_TYPE_SPECIFIC_T *type;
    void *user_data;
} MMAL_BUFFER_HEADER_T;

/* ---------------------------------------------------------------------
 * Queues and pools (mmal_queue.h, mmal_pool.h)
 * ------------------------------------------------------------------- */

typedef struct MMAL_QUEUE_T MMAL_QUEUE_T;

typedef struct MMAL_POOL_T {
    MMAL_QUEUE_T *queue;              /* the headers not in use */
    uint32_t headers_num;
    MMAL_BUFFER_HEADER_T **header;
} MMAL_POOL_T;

typedef MMAL_BOOL_T (*MMAL_POOL_BH_CB_T)(MMAL_POOL_T *pool, MMAL_BUFFER_HEADER_T *buffer, void *userdata);

/* ---------------------------------------------------------------------
 * Ports and components (mmal_port.h, mmal_component.h)
 * ------------------------------------------------------------------- */

typedef enum {
    MMAL_PORT_TYPE_UNKNOWN = 0,
    MMAL_PORT_TYPE_CONTROL = 1,
    MMAL_PORT_TYPE_INPUT = 2,
    MMAL_PORT_TYPE_OUTPUT = 3,
    MMAL_PORT_TYPE_CLOCK = 4,
    MMAL_PORT_TYPE_INVALID = 0xffffffff
} MMAL_PORT_TYPE_T;

#define MMAL_PORT_CAPABILITY_PASSTHROUGH 0x01
#define MMAL_PORT_CAPABILITY_ALLOCATION 0x02
#define MMAL_PORT_CAPABILITY_SUPPORTS_EVENT_FORMAT_CHANGE 0x04

typedef struct MMAL_PORT_PRIVATE_T MMAL_PORT_PRIVATE_T;
typedef struct MMAL_COMPONENT_PRIVATE_T MMAL_COMPONENT_PRIVATE_T;
struct MMAL_COMPONENT_T;

typedef struct MMAL_PORT_T {
    MMAL_PORT_PRIVATE_T *priv;
    const char *name;
    uint32_t type;                    /* MMAL_PORT_TYPE_T */
    uint16_t index;
    uint16_t index_all;
    uint32_t is_enabled;
    MMAL_ES_FORMAT_T *format;         /* edit in place, then commit */
    uint32_t buffer_num_min;
    uint32_t buffer_size_min;
    uint32_t buffer_alignment_min;
    uint32_t buffer_num_recommended;
    uint32_t buffer_size_recommended;
    uint32_t buffer_num;              /* set by the client before enabling */
    uint32_t buffer_size;             /* set by the client before enabling */
    struct MMAL_COMPONENT_T *component;
    void *userdata;                   /* the client's; connections write it */
    uint32_t capabilities;            /* MMAL_PORT_CAPABILITY_* */
} MMAL_PORT_T;

typedef void (*MMAL_PORT_BH_CB_T)(MMAL_PORT_T *port, MMAL_BUFFER_HEADER_T *buffer);

typedef struct MMAL_COMPONENT_T {
    MMAL_COMPONENT_PRIVATE_T *priv;
    void *userdata;
    const char *name;
    uint32_t is_enabled;
    MMAL_PORT_T *control;
    uint32_t input_num;
    MMAL_PORT_T **input;
    uint32_t output_num;
    MMAL_PORT_T **output;
    uint32_t clock_num;
    MMAL_PORT_T **clock;
    uint32_t port_num;
    MMAL_PORT_T **port;
    uint32_t id;
} MMAL_COMPONENT_T;

/* Event buffers a component's control port owns. */
#define MMAL_CONTROL_PORT_BUFFERS_MIN 4

/* ---------------------------------------------------------------------
 * Connections (util/mmal_connection.h)
 * ------------------------------------------------------------------- */

#define MMAL_CONNECTION_FLAG_TUNNELLING 0x1
#define MMAL_CONNECTION_FLAG_ALLOCATION_ON_INPUT 0x2
#define MMAL_CONNECTION_FLAG_ALLOCATION_ON_OUTPUT 0x4
#define MMAL_CONNECTION_FLAG_KEEP_BUFFER_REQUIREMENTS 0x8
#define MMAL_CONNECTION_FLAG_DIRECT 0x10
#define MMAL_CONNECTION_FLAG_KEEP_PORT_FORMATS 0x20

struct MMAL_CONNECTION_T;
typedef void (*MMAL_CONNECTION_CALLBACK_T)(struct MMAL_CONNECTION_T *connection);

typedef struct MMAL_CONNECTION_T {
    void *user_data;
    MMAL_CONNECTION_CALLBACK_T callback;
    uint32_t is_enabled;
    uint32_t flags;                   /* MMAL_CONNECTION_FLAG_* */
    MMAL_PORT_T *in;
    MMAL_PORT_T *out;
    MMAL_POOL_T *pool;
    MMAL_QUEUE_T *queue;
    const char *name;
    int64_t time_setup;
    int64_t time_enable;
    int64_t time_disable;
} MMAL_CONNECTION_T;

/* ---------------------------------------------------------------------
 * Events (mmal_events.h): buffers whose cmd is one of these
 * ------------------------------------------------------------------- */

typedef enum {
    MMAL_EVENT_ERROR = MMAL_FOURCC('E', 'R', 'R', 'O'),
    MMAL_EVENT_EOS = MMAL_FOURCC('E', 'E', 'O', 'S'),
    MMAL_EVENT_FORMAT_CHANGED = MMAL_FOURCC('E', 'F', 'C', 'H'),
    MMAL_EVENT_PARAMETER_CHANGED = MMAL_FOURCC('E', 'P', 'C', 'H')
} MMAL_EVENT_T;

typedef struct {
    uint32_t port_type;               /* MMAL_PORT_TYPE_T */
    uint32_t port_index;
} MMAL_EVENT_END_OF_STREAM_T;

typedef struct {
    uint32_t buffer_size_min;
    uint32_t buffer_num_min;
    uint32_t buffer_size_recommended;
    uint32_t buffer_num_recommended;
    MMAL_ES_FORMAT_T *format;
} MMAL_EVENT_FORMAT_CHANGED_T;

/* ---------------------------------------------------------------------
 * Parameters (mmal_parameters_common.h, mmal_parameters_camera.h)
 * ------------------------------------------------------------------- */

#define MMAL_PARAMETER_GROUP_COMMON (0 << 16)
#define MMAL_PARAMETER_GROUP_CAMERA (1 << 16)
#define MMAL_PARAMETER_GROUP_VIDEO (2 << 16)
#define MMAL_PARAMETER_GROUP_AUDIO (3 << 16)
#define MMAL_PARAMETER_GROUP_CLOCK (4 << 16)
#define MMAL_PARAMETER_GROUP_MIRACAST (5 << 16)

/* The IDs this ABI uses, with their values spelled out (each group is a C
 * enum counting up from its base in libmmal). */
typedef enum {
    MMAL_PARAMETER_SUPPORTED_ENCODINGS = MMAL_PARAMETER_GROUP_COMMON + 1,
    MMAL_PARAMETER_URI = MMAL_PARAMETER_GROUP_COMMON + 2,
    MMAL_PARAMETER_CHANGE_EVENT_REQUEST = MMAL_PARAMETER_GROUP_COMMON + 3,
    MMAL_PARAMETER_ZERO_COPY = MMAL_PARAMETER_GROUP_COMMON + 4,
    MMAL_PARAMETER_BUFFER_REQUIREMENTS = MMAL_PARAMETER_GROUP_COMMON + 5,
    MMAL_PARAMETER_CORE_STATISTICS = MMAL_PARAMETER_GROUP_COMMON + 7,
    MMAL_PARAMETER_SYSTEM_TIME = MMAL_PARAMETER_GROUP_COMMON + 13,
    MMAL_PARAMETER_NO_IMAGE_PADDING = MMAL_PARAMETER_GROUP_COMMON + 14,
    MMAL_PARAMETER_THUMBNAIL_CONFIGURATION = MMAL_PARAMETER_GROUP_CAMERA + 0x00,
    MMAL_PARAMETER_ROTATION = MMAL_PARAMETER_GROUP_CAMERA + 0x02,
    MMAL_PARAMETER_EXIF_DISABLE = MMAL_PARAMETER_GROUP_CAMERA + 0x03,
    MMAL_PARAMETER_EXIF = MMAL_PARAMETER_GROUP_CAMERA + 0x04,
    MMAL_PARAMETER_AWB_MODE = MMAL_PARAMETER_GROUP_CAMERA + 0x05,
    MMAL_PARAMETER_IMAGE_EFFECT = MMAL_PARAMETER_GROUP_CAMERA + 0x06,
    MMAL_PARAMETER_COLOUR_EFFECT = MMAL_PARAMETER_GROUP_CAMERA + 0x07,
    MMAL_PARAMETER_FLICKER_AVOID = MMAL_PARAMETER_GROUP_CAMERA + 0x08,
    MMAL_PARAMETER_FLASH = MMAL_PARAMETER_GROUP_CAMERA + 0x09,
    MMAL_PARAMETER_EXPOSURE_COMP = MMAL_PARAMETER_GROUP_CAMERA + 0x0d,
    MMAL_PARAMETER_MIRROR = MMAL_PARAMETER_GROUP_CAMERA + 0x0f,
    MMAL_PARAMETER_CAMERA_NUM = MMAL_PARAMETER_GROUP_CAMERA + 0x10,
    MMAL_PARAMETER_CAPTURE = MMAL_PARAMETER_GROUP_CAMERA + 0x11,
    MMAL_PARAMETER_EXPOSURE_MODE = MMAL_PARAMETER_GROUP_CAMERA + 0x12,
    MMAL_PARAMETER_EXP_METERING_MODE = MMAL_PARAMETER_GROUP_CAMERA + 0x13,
    MMAL_PARAMETER_CAMERA_CONFIG = MMAL_PARAMETER_GROUP_CAMERA + 0x15,
    MMAL_PARAMETER_DRAW_BOX_FACES_AND_FOCUS = MMAL_PARAMETER_GROUP_CAMERA + 0x18,
    MMAL_PARAMETER_JPEG_Q_FACTOR = MMAL_PARAMETER_GROUP_CAMERA + 0x19,
    MMAL_PARAMETER_FRAME_RATE = MMAL_PARAMETER_GROUP_CAMERA + 0x1a,
    MMAL_PARAMETER_USE_STC = MMAL_PARAMETER_GROUP_CAMERA + 0x1b,
    MMAL_PARAMETER_CAMERA_INFO = MMAL_PARAMETER_GROUP_CAMERA + 0x1c,
    MMAL_PARAMETER_VIDEO_STABILISATION = MMAL_PARAMETER_GROUP_CAMERA + 0x1d,
    MMAL_PARAMETER_ENABLE_RAW_CAPTURE = MMAL_PARAMETER_GROUP_CAMERA + 0x1f,
    MMAL_PARAMETER_INPUT_CROP = MMAL_PARAMETER_GROUP_CAMERA + 0x25,
    MMAL_PARAMETER_DYNAMIC_RANGE_COMPRESSION = MMAL_PARAMETER_GROUP_CAMERA + 0x2a,
    MMAL_PARAMETER_SHARPNESS = MMAL_PARAMETER_GROUP_CAMERA + 0x2c,
    MMAL_PARAMETER_CONTRAST = MMAL_PARAMETER_GROUP_CAMERA + 0x2d,
    MMAL_PARAMETER_BRIGHTNESS = MMAL_PARAMETER_GROUP_CAMERA + 0x2e,
    MMAL_PARAMETER_SATURATION = MMAL_PARAMETER_GROUP_CAMERA + 0x2f,
    MMAL_PARAMETER_ISO = MMAL_PARAMETER_GROUP_CAMERA + 0x30,
    MMAL_PARAMETER_IMAGE_EFFECT_PARAMETERS = MMAL_PARAMETER_GROUP_CAMERA + 0x32,
    MMAL_PARAMETER_CAMERA_BURST_CAPTURE = MMAL_PARAMETER_GROUP_CAMERA + 0x33,
    MMAL_PARAMETER_CAPTURE_STATS_PASS = MMAL_PARAMETER_GROUP_CAMERA + 0x36,
    MMAL_PARAMETER_CAMERA_CUSTOM_SENSOR_CONFIG = MMAL_PARAMETER_GROUP_CAMERA + 0x37,
    MMAL_PARAMETER_ZERO_SHUTTER_LAG = MMAL_PARAMETER_GROUP_CAMERA + 0x3d,
    MMAL_PARAMETER_FPS_RANGE = MMAL_PARAMETER_GROUP_CAMERA + 0x3e,
    MMAL_PARAMETER_SHUTTER_SPEED = MMAL_PARAMETER_GROUP_CAMERA + 0x43,
    MMAL_PARAMETER_CUSTOM_AWB_GAINS = MMAL_PARAMETER_GROUP_CAMERA + 0x44,
    MMAL_PARAMETER_CAMERA_SETTINGS = MMAL_PARAMETER_GROUP_CAMERA + 0x45,
    MMAL_PARAMETER_VIDEO_DENOISE = MMAL_PARAMETER_GROUP_CAMERA + 0x47,
    MMAL_PARAMETER_STILLS_DENOISE = MMAL_PARAMETER_GROUP_CAMERA + 0x48,
    MMAL_PARAMETER_ANNOTATE = MMAL_PARAMETER_GROUP_CAMERA + 0x49,
    MMAL_PARAMETER_STEREOSCOPIC_MODE = MMAL_PARAMETER_GROUP_CAMERA + 0x4a,
    MMAL_PARAMETER_JPEG_RESTART_INTERVAL = MMAL_PARAMETER_GROUP_CAMERA + 0x50,
    MMAL_PARAMETER_CAMERA_ISP_BLOCK_OVERRIDE = MMAL_PARAMETER_GROUP_CAMERA + 0x51,
    MMAL_PARAMETER_LENS_SHADING_OVERRIDE = MMAL_PARAMETER_GROUP_CAMERA + 0x52,
    MMAL_PARAMETER_BLACK_LEVEL = MMAL_PARAMETER_GROUP_CAMERA + 0x53,
    MMAL_PARAMETER_ANALOG_GAIN = MMAL_PARAMETER_GROUP_CAMERA + 0x59,
    MMAL_PARAMETER_DIGITAL_GAIN = MMAL_PARAMETER_GROUP_CAMERA + 0x5a,
    MMAL_PARAMETER_JPEG_IJG_SCALING = MMAL_PARAMETER_GROUP_CAMERA + 0x61,
    MMAL_PARAMETER_DISPLAYREGION = MMAL_PARAMETER_GROUP_VIDEO + 0x00,
    MMAL_PARAMETER_SUPPORTED_PROFILES = MMAL_PARAMETER_GROUP_VIDEO + 0x01,
    MMAL_PARAMETER_PROFILE = MMAL_PARAMETER_GROUP_VIDEO + 0x02,
    MMAL_PARAMETER_INTRAPERIOD = MMAL_PARAMETER_GROUP_VIDEO + 0x03,
    MMAL_PARAMETER_VIDEO_REQUEST_I_FRAME = MMAL_PARAMETER_GROUP_VIDEO + 0x0b,
    MMAL_PARAMETER_VIDEO_INTRA_REFRESH = MMAL_PARAMETER_GROUP_VIDEO + 0x0c,
    MMAL_PARAMETER_VIDEO_IMMUTABLE_INPUT = MMAL_PARAMETER_GROUP_VIDEO + 0x0d,
    MMAL_PARAMETER_VIDEO_BIT_RATE = MMAL_PARAMETER_GROUP_VIDEO + 0x0e,
    MMAL_PARAMETER_VIDEO_ENCODE_MIN_QUANT = MMAL_PARAMETER_GROUP_VIDEO + 0x10,
    MMAL_PARAMETER_VIDEO_ENCODE_MAX_QUANT = MMAL_PARAMETER_GROUP_VIDEO + 0x11,
    MMAL_PARAMETER_VIDEO_ENCODE_INITIAL_QUANT = MMAL_PARAMETER_GROUP_VIDEO + 0x17,
    MMAL_PARAMETER_VIDEO_ENCODE_QP_P = MMAL_PARAMETER_GROUP_VIDEO + 0x18,
    MMAL_PARAMETER_VIDEO_ENCODE_INLINE_HEADER = MMAL_PARAMETER_GROUP_VIDEO + 0x2a,
    MMAL_PARAMETER_VIDEO_ENCODE_SEI_ENABLE = MMAL_PARAMETER_GROUP_VIDEO + 0x2b,
    MMAL_PARAMETER_VIDEO_ENCODE_INLINE_VECTORS = MMAL_PARAMETER_GROUP_VIDEO + 0x2c,
    MMAL_PARAMETER_VIDEO_ENCODE_SPS_TIMING = MMAL_PARAMETER_GROUP_VIDEO + 0x30
} MMAL_PARAMETER_ID_T;

/* MMAL_VIDEO_PROFILE_T and MMAL_VIDEO_LEVEL_T: the H.264 entries (the
 * enums count up from the H.263 and MPEG-4 ones before them). */
#define MMAL_VIDEO_PROFILE_H264_BASELINE 25
#define MMAL_VIDEO_PROFILE_H264_MAIN 26
#define MMAL_VIDEO_PROFILE_H264_EXTENDED 27
#define MMAL_VIDEO_PROFILE_H264_HIGH 28
#define MMAL_VIDEO_PROFILE_H264_CONSTRAINED_BASELINE 32
#define MMAL_VIDEO_LEVEL_H264_1 17
#define MMAL_VIDEO_LEVEL_H264_1b 18
#define MMAL_VIDEO_LEVEL_H264_11 19
#define MMAL_VIDEO_LEVEL_H264_12 20
#define MMAL_VIDEO_LEVEL_H264_13 21
#define MMAL_VIDEO_LEVEL_H264_2 22
#define MMAL_VIDEO_LEVEL_H264_21 23
#define MMAL_VIDEO_LEVEL_H264_22 24
#define MMAL_VIDEO_LEVEL_H264_3 25
#define MMAL_VIDEO_LEVEL_H264_31 26
#define MMAL_VIDEO_LEVEL_H264_32 27
#define MMAL_VIDEO_LEVEL_H264_4 28
#define MMAL_VIDEO_LEVEL_H264_41 29
#define MMAL_VIDEO_LEVEL_H264_42 30
#define MMAL_VIDEO_LEVEL_H264_5 31
#define MMAL_VIDEO_LEVEL_H264_51 32

/* Largest parameter, header included, that crosses to the VideoCore. */
#define MMAL_PARAMETER_MAX_SIZE 392

typedef struct {
    uint32_t id;
    uint32_t size;                    /* of the whole parameter, header included */
} MMAL_PARAMETER_HEADER_T;

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    MMAL_BOOL_T enable;
} MMAL_PARAMETER_BOOLEAN_T;

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    uint32_t value;
} MMAL_PARAMETER_UINT32_T;

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    int32_t value;
} MMAL_PARAMETER_INT32_T;

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    uint64_t value;
} MMAL_PARAMETER_UINT64_T;

/* A signed 64-bit value: 8-byte aligned after the header on 32-bit ARM
 * (EABI) as on 64-bit targets, so 16 bytes on both. */
typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    int64_t value;
} MMAL_PARAMETER_INT64_T;

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    MMAL_RATIONAL_T value;
} MMAL_PARAMETER_RATIONAL_T;

/* SUPPORTED_ENCODINGS: as many FourCCs as `hdr.size` allows. */
typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    uint32_t encoding[1];
} MMAL_PARAMETER_ENCODING_T;

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    uint32_t change_id;               /* the parameter to report */
    MMAL_BOOL_T enable;
} MMAL_PARAMETER_CHANGE_EVENT_REQUEST_T;

typedef enum {
    MMAL_PARAM_AWBMODE_OFF = 0,
    MMAL_PARAM_AWBMODE_AUTO = 1,
    MMAL_PARAM_AWBMODE_SUNLIGHT = 2,
    MMAL_PARAM_AWBMODE_CLOUDY = 3,
    MMAL_PARAM_AWBMODE_SHADE = 4,
    MMAL_PARAM_AWBMODE_TUNGSTEN = 5,
    MMAL_PARAM_AWBMODE_FLUORESCENT = 6,
    MMAL_PARAM_AWBMODE_INCANDESCENT = 7,
    MMAL_PARAM_AWBMODE_FLASH = 8,
    MMAL_PARAM_AWBMODE_HORIZON = 9,
    MMAL_PARAM_AWBMODE_GREYWORLD = 10,
    MMAL_PARAM_AWBMODE_MAX = 0x7fffffff
} MMAL_PARAM_AWBMODE_T;

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    uint32_t value;                   /* MMAL_PARAM_AWBMODE_T */
} MMAL_PARAMETER_AWBMODE_T;

typedef enum {
    MMAL_PARAM_EXPOSUREMODE_OFF = 0,
    MMAL_PARAM_EXPOSUREMODE_AUTO = 1,
    MMAL_PARAM_EXPOSUREMODE_NIGHT = 2,
    MMAL_PARAM_EXPOSUREMODE_NIGHTPREVIEW = 3,
    MMAL_PARAM_EXPOSUREMODE_BACKLIGHT = 4,
    MMAL_PARAM_EXPOSUREMODE_SPOTLIGHT = 5,
    MMAL_PARAM_EXPOSUREMODE_SPORTS = 6,
    MMAL_PARAM_EXPOSUREMODE_SNOW = 7,
    MMAL_PARAM_EXPOSUREMODE_BEACH = 8,
    MMAL_PARAM_EXPOSUREMODE_VERYLONG = 9,
    MMAL_PARAM_EXPOSUREMODE_FIXEDFPS = 10,
    MMAL_PARAM_EXPOSUREMODE_ANTISHAKE = 11,
    MMAL_PARAM_EXPOSUREMODE_FIREWORKS = 12,
    MMAL_PARAM_EXPOSUREMODE_MAX = 0x7fffffff
} MMAL_PARAM_EXPOSUREMODE_T;

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    uint32_t value;                   /* MMAL_PARAM_EXPOSUREMODE_T */
} MMAL_PARAMETER_EXPOSUREMODE_T;

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    MMAL_RATIONAL_T r_gain;
    MMAL_RATIONAL_T b_gain;
} MMAL_PARAMETER_AWB_GAINS_T;

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    MMAL_RATIONAL_T fps_low;
    MMAL_RATIONAL_T fps_high;
} MMAL_PARAMETER_FPS_RANGE_T;

/* FRAME_RATE on a camera output: the rate it runs at, changeable live. */
typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    MMAL_RATIONAL_T frame_rate;
} MMAL_PARAMETER_FRAME_RATE_T;

typedef enum {
    MMAL_PARAM_TIMESTAMP_MODE_ZERO = 0,
    MMAL_PARAM_TIMESTAMP_MODE_RAW_STC = 1,
    MMAL_PARAM_TIMESTAMP_MODE_RESET_STC = 2,
    MMAL_PARAM_TIMESTAMP_MODE_MAX = 0x7fffffff
} MMAL_CAMERA_STC_MODE_T;

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    uint32_t max_stills_w;
    uint32_t max_stills_h;
    uint32_t stills_yuv422;
    uint32_t one_shot_stills;
    uint32_t max_preview_video_w;
    uint32_t max_preview_video_h;
    uint32_t num_preview_video_frames;
    uint32_t stills_capture_circular_buffer_height;
    uint32_t fast_preview_resume;
    uint32_t use_stc_timestamp;       /* MMAL_CAMERA_STC_MODE_T */
} MMAL_PARAMETER_CAMERA_CONFIG_T;

#define MMAL_PARAMETER_CAMERA_INFO_MAX_CAMERAS 4
#define MMAL_PARAMETER_CAMERA_INFO_MAX_FLASHES 2
#define MMAL_PARAMETER_CAMERA_INFO_MAX_STR_LEN 16

typedef struct {
    uint32_t port_id;
    uint32_t max_width;
    uint32_t max_height;
    MMAL_BOOL_T lens_present;
    char camera_name[MMAL_PARAMETER_CAMERA_INFO_MAX_STR_LEN];
} MMAL_PARAMETER_CAMERA_INFO_CAMERA_T;

typedef struct {
    uint32_t flash_type;
} MMAL_PARAMETER_CAMERA_INFO_FLASH_T;

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    uint32_t num_cameras;
    uint32_t num_flashes;
    MMAL_PARAMETER_CAMERA_INFO_CAMERA_T cameras[MMAL_PARAMETER_CAMERA_INFO_MAX_CAMERAS];
    MMAL_PARAMETER_CAMERA_INFO_FLASH_T flashes[MMAL_PARAMETER_CAMERA_INFO_MAX_FLASHES];
} MMAL_PARAMETER_CAMERA_INFO_T;

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    uint32_t exposure;                /* microseconds */
    MMAL_RATIONAL_T analog_gain;
    MMAL_RATIONAL_T digital_gain;
    MMAL_RATIONAL_T awb_red_gain;
    MMAL_RATIONAL_T awb_blue_gain;
    uint32_t focus_position;
} MMAL_PARAMETER_CAMERA_SETTINGS_T;

/* The override table: `mem_handle_table` is the VideoCore handle of a VCSM
 * block holding grid_stride * grid_height * 4 gains (u3.5, planes R, Gr,
 * Gb, B). */
typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    MMAL_BOOL_T enabled;
    uint32_t grid_cell_size;
    uint32_t grid_width;
    uint32_t grid_stride;
    uint32_t grid_height;
    uint32_t mem_handle_table;
    uint32_t ref_transform;
} MMAL_PARAMETER_LENS_SHADING_T;

/* An encoder's profile and level (one pair; SUPPORTED_PROFILES answers
 * with as many pairs as the reply holds). */
typedef struct {
    uint32_t profile;                 /* MMAL_VIDEO_PROFILE_T */
    uint32_t level;                   /* MMAL_VIDEO_LEVEL_T */
} MMAL_PARAMETER_VIDEO_PROFILE_ENTRY_T;

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    MMAL_PARAMETER_VIDEO_PROFILE_ENTRY_T profile[1];
} MMAL_PARAMETER_VIDEO_PROFILE_T;

/* MMAL_VIDEO_INTRA_REFRESH_T: how an encoder refreshes the picture without
 * whole IDR frames. */
#define MMAL_VIDEO_INTRA_REFRESH_CYCLIC 0
#define MMAL_VIDEO_INTRA_REFRESH_ADAPTIVE 1
#define MMAL_VIDEO_INTRA_REFRESH_BOTH 2
#define MMAL_VIDEO_INTRA_REFRESH_CYCLIC_MROWS 0x7F000001
#define MMAL_VIDEO_INTRA_REFRESH_PSEUDO_RAND 0x7F000002

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    uint32_t refresh_mode;            /* MMAL_VIDEO_INTRA_REFRESH_T */
    uint32_t air_mbs;
    uint32_t air_ref;
    uint32_t cir_mbs;
    uint32_t pir_mbs;
} MMAL_PARAMETER_VIDEO_INTRA_REFRESH_T;

/* A fixed colour for every pixel (U and V, 0 to 255), luma kept. */
typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    MMAL_BOOL_T enable;
    uint32_t u;
    uint32_t v;
} MMAL_PARAMETER_COLOURFX_T;

/* The image encoder's EXIF thumbnail (its control port). */
typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    uint32_t enable;
    uint32_t width;
    uint32_t height;
    uint32_t quality;
} MMAL_PARAMETER_THUMBNAIL_CONFIG_T;

/* INPUT_CROP: the part of the sensor used, in fractions of 65536. */
typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    MMAL_RECT_T rect;
} MMAL_PARAMETER_INPUT_CROP_T;

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    MMAL_BOOL_T zero_shutter_lag_mode;
    MMAL_BOOL_T concurrent_capture;
} MMAL_PARAMETER_ZEROSHUTTERLAG_T;

#define MMAL_STEREOSCOPIC_MODE_NONE 0
#define MMAL_STEREOSCOPIC_MODE_SIDE_BY_SIDE 1
#define MMAL_STEREOSCOPIC_MODE_TOP_BOTTOM 2

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    uint32_t mode;                    /* MMAL_STEREOSCOPIC_MODE_* */
    MMAL_BOOL_T decimate;
    MMAL_BOOL_T swap_eyes;
} MMAL_PARAMETER_STEREOSCOPIC_MODE_T;

#define MMAL_CAMERA_ANNOTATE_MAX_TEXT_LEN 32

/* Text over the frames, first revision (payload 56 bytes). */
typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    MMAL_BOOL_T enable;
    char text[MMAL_CAMERA_ANNOTATE_MAX_TEXT_LEN];
    MMAL_BOOL_T show_shutter;
    MMAL_BOOL_T show_analog_gain;
    MMAL_BOOL_T show_lens;
    MMAL_BOOL_T show_caf;
    MMAL_BOOL_T show_motion;
} MMAL_PARAMETER_CAMERA_ANNOTATE_T;

#define MMAL_CAMERA_ANNOTATE_MAX_TEXT_LEN_V3 256

/* Text and figures the camera writes over its frames, third revision
 * (payload 304 bytes). The colours are Y, U, V bytes. */
typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    MMAL_BOOL_T enable;
    MMAL_BOOL_T show_shutter;
    MMAL_BOOL_T show_analog_gain;
    MMAL_BOOL_T show_lens;
    MMAL_BOOL_T show_caf;
    MMAL_BOOL_T show_motion;
    MMAL_BOOL_T show_frame_num;
    MMAL_BOOL_T enable_text_background;
    MMAL_BOOL_T custom_background_colour;
    uint8_t custom_background_Y;
    uint8_t custom_background_U;
    uint8_t custom_background_V;
    uint8_t dummy1;
    MMAL_BOOL_T custom_text_colour;
    uint8_t custom_text_Y;
    uint8_t custom_text_U;
    uint8_t custom_text_V;
    uint8_t text_size;
    char text[MMAL_CAMERA_ANNOTATE_MAX_TEXT_LEN_V3];
} MMAL_PARAMETER_CAMERA_ANNOTATE_V3_T;

/* The fourth revision: the third's fields, then where the text goes
 * (justify: 0 centre, 1 left, 2 right; offsets in pixels). */
typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    MMAL_BOOL_T enable;
    MMAL_BOOL_T show_shutter;
    MMAL_BOOL_T show_analog_gain;
    MMAL_BOOL_T show_lens;
    MMAL_BOOL_T show_caf;
    MMAL_BOOL_T show_motion;
    MMAL_BOOL_T show_frame_num;
    MMAL_BOOL_T enable_text_background;
    MMAL_BOOL_T custom_background_colour;
    uint8_t custom_background_Y;
    uint8_t custom_background_U;
    uint8_t custom_background_V;
    uint8_t dummy1;
    MMAL_BOOL_T custom_text_colour;
    uint8_t custom_text_Y;
    uint8_t custom_text_U;
    uint8_t custom_text_V;
    uint8_t text_size;
    char text[MMAL_CAMERA_ANNOTATE_MAX_TEXT_LEN_V3];
    uint32_t justify;
    uint32_t x_offset;
    uint32_t y_offset;
} MMAL_PARAMETER_CAMERA_ANNOTATE_V4_T;

/* ---------------------------------------------------------------------
 * Camera picture controls (mmal_parameters_camera.h): the values of the
 * UINT32 parameters IMAGE_EFFECT, MIRROR, EXP_METERING_MODE,
 * FLICKER_AVOID and DYNAMIC_RANGE_COMPRESSION.
 * ------------------------------------------------------------------- */

typedef enum {
    MMAL_PARAM_IMAGEFX_NONE = 0,
    MMAL_PARAM_IMAGEFX_NEGATIVE = 1,
    MMAL_PARAM_IMAGEFX_SOLARIZE = 2,
    MMAL_PARAM_IMAGEFX_POSTERIZE = 3,
    MMAL_PARAM_IMAGEFX_WHITEBOARD = 4,
    MMAL_PARAM_IMAGEFX_BLACKBOARD = 5,
    MMAL_PARAM_IMAGEFX_SKETCH = 6,
    MMAL_PARAM_IMAGEFX_DENOISE = 7,
    MMAL_PARAM_IMAGEFX_EMBOSS = 8,
    MMAL_PARAM_IMAGEFX_OILPAINT = 9,
    MMAL_PARAM_IMAGEFX_HATCH = 10,
    MMAL_PARAM_IMAGEFX_GPEN = 11,
    MMAL_PARAM_IMAGEFX_PASTEL = 12,
    MMAL_PARAM_IMAGEFX_WATERCOLOUR = 13,
    MMAL_PARAM_IMAGEFX_FILM = 14,
    MMAL_PARAM_IMAGEFX_BLUR = 15,
    MMAL_PARAM_IMAGEFX_SATURATION = 16,
    MMAL_PARAM_IMAGEFX_COLOURSWAP = 17,
    MMAL_PARAM_IMAGEFX_WASHEDOUT = 18,
    MMAL_PARAM_IMAGEFX_POSTERISE = 19,
    MMAL_PARAM_IMAGEFX_COLOURPOINT = 20,
    MMAL_PARAM_IMAGEFX_COLOURBALANCE = 21,
    MMAL_PARAM_IMAGEFX_CARTOON = 22,      /* the last the camera takes */
    MMAL_PARAM_IMAGEFX_DEINTERLACE_DOUBLE = 23,
    MMAL_PARAM_IMAGEFX_DEINTERLACE_ADV = 24,
    MMAL_PARAM_IMAGEFX_DEINTERLACE_FAST = 25,
    MMAL_PARAM_IMAGEFX_MAX = 0x7fffffff
} MMAL_PARAM_IMAGEFX_T;

typedef enum {
    MMAL_PARAM_MIRROR_NONE = 0,
    MMAL_PARAM_MIRROR_VERTICAL = 1,
    MMAL_PARAM_MIRROR_HORIZONTAL = 2,
    MMAL_PARAM_MIRROR_BOTH = 3
} MMAL_PARAM_MIRROR_T;

typedef enum {
    MMAL_PARAM_EXPOSUREMETERINGMODE_AVERAGE = 0,
    MMAL_PARAM_EXPOSUREMETERINGMODE_SPOT = 1,
    MMAL_PARAM_EXPOSUREMETERINGMODE_BACKLIT = 2,
    MMAL_PARAM_EXPOSUREMETERINGMODE_MATRIX = 3,
    MMAL_PARAM_EXPOSUREMETERINGMODE_MAX = 0x7fffffff
} MMAL_PARAM_EXPOSUREMETERINGMODE_T;

typedef enum {
    MMAL_PARAM_FLICKERAVOID_OFF = 0,
    MMAL_PARAM_FLICKERAVOID_AUTO = 1,
    MMAL_PARAM_FLICKERAVOID_50HZ = 2,
    MMAL_PARAM_FLICKERAVOID_60HZ = 3,
    MMAL_PARAM_FLICKERAVOID_MAX = 0x7fffffff
} MMAL_PARAM_FLICKERAVOID_T;

typedef enum {
    MMAL_PARAMETER_DRC_STRENGTH_OFF = 0,
    MMAL_PARAMETER_DRC_STRENGTH_LOW = 1,
    MMAL_PARAMETER_DRC_STRENGTH_MEDIUM = 2,
    MMAL_PARAMETER_DRC_STRENGTH_HIGH = 3,
    MMAL_PARAMETER_DRC_STRENGTH_MAX = 0x7fffffff
} MMAL_PARAMETER_DRC_STRENGTH_T;

/* IMAGE_EFFECT_PARAMETERS: an effect's parameters (picamera's
 * image_effect_params), `num_effect_params` of the six used. */
#define MMAL_MAX_IMAGEFX_PARAMETERS 6

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    MMAL_PARAM_IMAGEFX_T effect;
    uint32_t num_effect_params;
    uint32_t effect_parameter[MMAL_MAX_IMAGEFX_PARAMETERS];
} MMAL_PARAMETER_IMAGEFX_PARAMETERS_T;

/* FLASH: the flash mode. */
typedef enum {
    MMAL_PARAM_FLASH_OFF = 0,
    MMAL_PARAM_FLASH_AUTO = 1,
    MMAL_PARAM_FLASH_ON = 2,
    MMAL_PARAM_FLASH_REDEYE = 3,
    MMAL_PARAM_FLASH_FILLIN = 4,
    MMAL_PARAM_FLASH_TORCH = 5,
    MMAL_PARAM_FLASH_MAX = 0x7fffffff
} MMAL_PARAM_FLASH_T;

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    MMAL_PARAM_FLASH_T value;
} MMAL_PARAMETER_FLASH_T;

/* EXIF on an image encoder's output: one tag. With keylen, value_offset
 * and valuelen 0, `data` is "key=value" and its NUL, and the parameter is
 * as long as the text needs (`data` is a variable-length tail). */
typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    uint32_t keylen;
    uint32_t value_offset;
    uint32_t valuelen;
    uint8_t data[1];
} MMAL_PARAMETER_EXIF_T;

/* ---------------------------------------------------------------------
 * Renderer region (mmal_parameters_video.h): MMAL_PARAMETER_DISPLAYREGION
 * ------------------------------------------------------------------- */

/* MMAL_DISPLAYTRANSFORM_T: combinations of 1 (reflect in a vertical
 * axis), 2 (rotate 180 degrees) and 4 (reflect in the leading diagonal). */
typedef enum {
    MMAL_DISPLAY_ROT0 = 0,
    MMAL_DISPLAY_MIRROR_ROT0 = 1,
    MMAL_DISPLAY_MIRROR_ROT180 = 2,
    MMAL_DISPLAY_ROT180 = 3,
    MMAL_DISPLAY_MIRROR_ROT90 = 4,
    MMAL_DISPLAY_ROT270 = 5,
    MMAL_DISPLAY_ROT90 = 6,
    MMAL_DISPLAY_MIRROR_ROT270 = 7,
    MMAL_DISPLAY_DUMMY = 0x7fffffff
} MMAL_DISPLAYTRANSFORM_T;

typedef enum {
    MMAL_DISPLAY_MODE_FILL = 0,
    MMAL_DISPLAY_MODE_LETTERBOX = 1,
    MMAL_DISPLAY_MODE_STEREO_LEFT_TO_LEFT = 2,
    MMAL_DISPLAY_MODE_STEREO_TOP_TO_TOP = 3,
    MMAL_DISPLAY_MODE_STEREO_LEFT_TO_TOP = 4,
    MMAL_DISPLAY_MODE_STEREO_TOP_TO_LEFT = 5,
    MMAL_DISPLAY_MODE_DUMMY = 0x7fffffff
} MMAL_DISPLAYMODE_T;

/* MMAL_DISPLAYSET_T: the bits of `set`, the fields to apply. */
typedef enum {
    MMAL_DISPLAY_SET_NONE = 0,
    MMAL_DISPLAY_SET_NUM = 0x1,
    MMAL_DISPLAY_SET_FULLSCREEN = 0x2,
    MMAL_DISPLAY_SET_TRANSFORM = 0x4,
    MMAL_DISPLAY_SET_DEST_RECT = 0x8,
    MMAL_DISPLAY_SET_SRC_RECT = 0x10,
    MMAL_DISPLAY_SET_MODE = 0x20,
    MMAL_DISPLAY_SET_PIXEL = 0x40,
    MMAL_DISPLAY_SET_NOASPECT = 0x80,
    MMAL_DISPLAY_SET_LAYER = 0x100,
    MMAL_DISPLAY_SET_COPYPROTECT = 0x200,
    MMAL_DISPLAY_SET_ALPHA = 0x400,
    MMAL_DISPLAY_SET_DUMMY = 0x7fffffff
} MMAL_DISPLAYSET_T;

/* MMAL_DISPLAYALPHAFLAGS_T: bits 31-8 of `alpha`. */
#define MMAL_DISPLAY_ALPHA_FLAGS_NONE 0
#define MMAL_DISPLAY_ALPHA_FLAGS_DISCARD_LOWER_LAYERS (1u << 29)
#define MMAL_DISPLAY_ALPHA_FLAGS_PREMULT (1u << 30)
#define MMAL_DISPLAY_ALPHA_FLAGS_MIX (1u << 31)

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    uint32_t set;                     /* MMAL_DISPLAY_SET_* bits */
    uint32_t display_num;
    MMAL_BOOL_T fullscreen;
    uint32_t transform;               /* MMAL_DISPLAYTRANSFORM_T */
    MMAL_RECT_T dest_rect;
    MMAL_RECT_T src_rect;
    MMAL_BOOL_T noaspect;
    uint32_t mode;                    /* MMAL_DISPLAYMODE_T */
    uint32_t pixel_x;
    uint32_t pixel_y;
    int32_t layer;
    MMAL_BOOL_T copyprotect_required;
    uint32_t alpha;                   /* opacity in bits 7-0, MMAL_DISPLAY_ALPHA_FLAGS_* above */
} MMAL_DISPLAYREGION_T;

/* ---------------------------------------------------------------------
 * Core statistics (mmal_types.h, mmal_parameters_common.h)
 * ------------------------------------------------------------------- */

/* MMAL_CORE_STATS_DIR: which direction of a port. */
#define MMAL_CORE_STATS_RX 0
#define MMAL_CORE_STATS_TX 1

typedef struct {
    uint32_t buffer_count;
    uint32_t first_buffer_time;
    uint32_t last_buffer_time;
    uint32_t max_delay;
} MMAL_CORE_STATISTICS_T;

typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    uint32_t dir;                     /* MMAL_CORE_STATS_DIR */
    MMAL_BOOL_T reset;                /* reset the counts after reading them */
    MMAL_CORE_STATISTICS_T stats;
} MMAL_PARAMETER_CORE_STATISTICS_T;

/* ---------------------------------------------------------------------
 * mmal_format_compare's answer (mmal_format.h)
 * ------------------------------------------------------------------- */

#define MMAL_ES_FORMAT_COMPARE_FLAG_TYPE 0x01
#define MMAL_ES_FORMAT_COMPARE_FLAG_ENCODING 0x02
#define MMAL_ES_FORMAT_COMPARE_FLAG_BITRATE 0x04
#define MMAL_ES_FORMAT_COMPARE_FLAG_FLAGS 0x08
#define MMAL_ES_FORMAT_COMPARE_FLAG_EXTRADATA 0x10
#define MMAL_ES_FORMAT_COMPARE_FLAG_VIDEO_RESOLUTION 0x0100
#define MMAL_ES_FORMAT_COMPARE_FLAG_VIDEO_CROPPING 0x0200
#define MMAL_ES_FORMAT_COMPARE_FLAG_VIDEO_FRAME_RATE 0x0400
#define MMAL_ES_FORMAT_COMPARE_FLAG_VIDEO_ASPECT_RATIO 0x0800
#define MMAL_ES_FORMAT_COMPARE_FLAG_VIDEO_COLOR_SPACE 0x1000
#define MMAL_ES_FORMAT_COMPARE_FLAG_ES_OTHER 0x10000000

#endif /* MMAL_ABI_H */
