/*
 * /dev/vchiq and the MMAL messages spoken over it: the ABI that the `vchiq`
 * crate (and the MMAL provider on top of it) speaks.
 *
 * Written for this project from the facts recorded in research/vchiq.md
 * (field order, types, sizes, values).  It is the input of
 * `cargo xtask bindgen`, which turns it into src/bindings/{arm,lp64}.rs;
 * nothing includes it at build time.  Request numbers are computed in Rust
 * (src/ioctl.rs) because bindgen cannot evaluate the kernel's _IOC macros.
 *
 * The ioctl structs carry user-space pointers, so their layout differs
 * between ILP32 (armv7) and LP64 (aarch64, x86_64); the kernel translates
 * the ILP32 forms (compat ioctls).  The MMAL messages are all 32-bit fields
 * (the kernel's all-u32 forms, no pointers) and are the same under both.
 *
 * The header is self-contained so that clang needs no sysroot for any
 * target.
 */
#ifndef VCHIQ_ABI_H
#define VCHIQ_ABI_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef short __s16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;

/* =====================================================================
 * Part 1: /dev/vchiq, ioctl magic 0xC4
 * =================================================================== */

#define VCHIQ_IOC_MAGIC 0xC4

/* Command numbers (the _IOC "nr" field). */
#define VCHIQ_IOC_NR_CONNECT 0
#define VCHIQ_IOC_NR_SHUTDOWN 1
#define VCHIQ_IOC_NR_CREATE_SERVICE 2
#define VCHIQ_IOC_NR_REMOVE_SERVICE 3
#define VCHIQ_IOC_NR_QUEUE_MESSAGE 4
#define VCHIQ_IOC_NR_QUEUE_BULK_TRANSMIT 5
#define VCHIQ_IOC_NR_QUEUE_BULK_RECEIVE 6
#define VCHIQ_IOC_NR_AWAIT_COMPLETION 7
#define VCHIQ_IOC_NR_DEQUEUE_MESSAGE 8
#define VCHIQ_IOC_NR_GET_CLIENT_ID 9
#define VCHIQ_IOC_NR_GET_CONFIG 10
#define VCHIQ_IOC_NR_CLOSE_SERVICE 11
#define VCHIQ_IOC_NR_USE_SERVICE 12
#define VCHIQ_IOC_NR_RELEASE_SERVICE 13
#define VCHIQ_IOC_NR_SET_SERVICE_OPTION 14
#define VCHIQ_IOC_NR_DUMP_PHYS_MEM 15
#define VCHIQ_IOC_NR_LIB_VERSION 16
#define VCHIQ_IOC_NR_CLOSE_DELIVERED 17
#define VCHIQ_IOC_MAX 17

/* Protocol versions: what this client speaks (LIB_VERSION's argument),
 * the oldest driver it accepts, and the versions that added LIB_VERSION /
 * CLOSE_DELIVERED and synchronous services. */
#define VCHIQ_VERSION 8
#define VCHIQ_VERSION_MIN 3
#define VCHIQ_VERSION_LIB_VERSION 7
#define VCHIQ_VERSION_CLOSE_DELIVERED 7
#define VCHIQ_VERSION_SYNCHRONOUS_MODE 8

/* A slot, and the largest message (a slot less its 8-byte header). */
#define VCHIQ_SLOT_SIZE 4096
#define VCHIQ_MAX_MSG_SIZE (VCHIQ_SLOT_SIZE - 8)
/* Bulk transfers a service may have queued per direction, and in all. */
#define VCHIQ_NUM_SERVICE_BULKS 4
#define VCHIQ_NUM_CURRENT_BULKS 32
/* The kernel's per-instance limits (vchiq_dev.c / vchiq_arm.c). */
#define VCHIQ_MAX_COMPLETIONS 128
#define VCHIQ_MAX_SERVICES 64
#define VCHIQ_MAX_ELEMENTS 8
#define VCHIQ_MSG_QUEUE_SIZE 128

/* What a completion reports (vchiq_completion_data.reason). */
enum vchiq_reason {
	VCHIQ_SERVICE_OPENED = 0,
	VCHIQ_SERVICE_CLOSED = 1,
	VCHIQ_MESSAGE_AVAILABLE = 2,
	VCHIQ_BULK_TRANSMIT_DONE = 3,
	VCHIQ_BULK_RECEIVE_DONE = 4,
	VCHIQ_BULK_TRANSMIT_ABORTED = 5,
	VCHIQ_BULK_RECEIVE_ABORTED = 6,
};

/* How a bulk transfer completes (vchiq_queue_bulk_transfer.mode).
 * WAITING is the kernel's re-entry of an interrupted BLOCKING transfer. */
enum vchiq_bulk_mode {
	VCHIQ_BULK_MODE_CALLBACK = 0,
	VCHIQ_BULK_MODE_BLOCKING = 1,
	VCHIQ_BULK_MODE_NOCALLBACK = 2,
	VCHIQ_BULK_MODE_WAITING = 3,
};

/* SET_SERVICE_OPTION's options. */
enum vchiq_service_option {
	VCHIQ_SERVICE_OPTION_AUTOCLOSE = 0,
	VCHIQ_SERVICE_OPTION_SLOT_QUOTA = 1,
	VCHIQ_SERVICE_OPTION_MESSAGE_QUOTA = 2,
	VCHIQ_SERVICE_OPTION_SYNCHRONOUS = 3,
	VCHIQ_SERVICE_OPTION_TRACE = 4,
};

/* A message as AWAIT_COMPLETION copies it into a user message buffer:
 * msgid (type and ports), payload size, payload. */
struct vchiq_header {
	__s32 msgid;
	__u32 size;
	char data[];
};

/* One piece of a message for QUEUE_MESSAGE (at most VCHIQ_MAX_ELEMENTS). */
struct vchiq_element {
	const void *data;
	unsigned int size;
};

/* A service to open: its 4CC (VCHIQ_MAKE_FOURCC, big-endian packing), a
 * callback the kernel replaces with its own for user-space services,
 * userdata returned in every completion of the service, and the versions
 * of the service protocol offered and accepted. */
struct vchiq_service_params {
	int fourcc;
	void *callback;
	void *userdata;
	short version;
	short version_min;
};

/* CREATE_SERVICE: in = params, is_open (1: open a service on the
 * VideoCore; 0: add a server), is_vchi (1: messages are dequeued with
 * DEQUEUE_MESSAGE, 0: they arrive as completions); out = handle. */
struct vchiq_create_service {
	struct vchiq_service_params params;
	int is_open;
	int is_vchi;
	unsigned int handle;
};

/* QUEUE_MESSAGE: the elements are sent as one message. */
struct vchiq_queue_message {
	unsigned int handle;
	unsigned int count;
	const struct vchiq_element *elements;
};

/* QUEUE_BULK_TRANSMIT / QUEUE_BULK_RECEIVE: the user buffer is pinned
 * until the transfer completes; userdata comes back in the completion. */
struct vchiq_queue_bulk_transfer {
	unsigned int handle;
	void *data;
	unsigned int size;
	void *userdata;
	enum vchiq_bulk_mode mode;
};

/* One completion written by AWAIT_COMPLETION. header points into one of
 * the caller's message buffers (MESSAGE_AVAILABLE only). */
struct vchiq_completion_data {
	enum vchiq_reason reason;
	struct vchiq_header *header;
	void *service_userdata;
	void *bulk_userdata;
};

/* AWAIT_COMPLETION: in = room for count completions at buf, msgbufcount
 * message buffers of msgbufsize bytes each at msgbufs (taken from the
 * end); out = the ioctl's return value is the number of completions
 * written, msgbufcount the buffers left. */
struct vchiq_await_completion {
	unsigned int count;
	struct vchiq_completion_data *buf;
	unsigned int msgbufsize;
	unsigned int msgbufcount;
	void **msgbufs;
};

/* DEQUEUE_MESSAGE (services opened with is_vchi = 1 only). */
struct vchiq_dequeue_message {
	unsigned int handle;
	int blocking;
	unsigned int bufsize;
	void *buf;
};

/* What GET_CONFIG fills in. */
struct vchiq_config {
	unsigned int max_msg_size;
	unsigned int bulk_threshold;
	unsigned int max_outstanding_bulks;
	unsigned int max_services;
	short version;
	short version_min;
};

/* GET_CONFIG: config_size = sizeof(struct vchiq_config). */
struct vchiq_get_config {
	unsigned int config_size;
	struct vchiq_config *pconfig;
};

/* SET_SERVICE_OPTION. */
struct vchiq_set_service_option {
	unsigned int handle;
	enum vchiq_service_option option;
	int value;
};

/* =====================================================================
 * Part 2: MMAL over VCHIQ, the service 'mmal' (VCHIQ 4CC 0x6D6D616C)
 *
 * The kernel's wire forms (bcm2835-mmal-vchiq mmal-msg*.h): little-endian
 * 32-bit fields, handles and contexts as integers, never pointers.
 * =================================================================== */

/* The service's 4CC for CREATE_SERVICE (VCHIQ_MAKE_FOURCC('m','m','a','l')). */
#define VC_MMAL_SERVICE_FOURCC 0x6D6D616C
/* Service protocol versions offered and accepted. */
#define VC_MMAL_VER 15
#define VC_MMAL_MIN_VER 10

/* Every message's header magic (MMAL_FOURCC('m','m','a','l')). */
#define MMAL_MAGIC 0x6C616D6D
/* The largest message, header included, and the header. */
#define MMAL_MSG_MAX_SIZE 512
#define MMAL_MSG_HEADER_SIZE 24
#define MMAL_MSG_MAX_PAYLOAD (MMAL_MSG_MAX_SIZE - MMAL_MSG_HEADER_SIZE)
/* Payload bytes of a parameter value, of an event, of short buffer data,
 * and of a component name. */
#define MMAL_WORKER_PORT_PARAMETER_SPACE 96
#define MMAL_WORKER_PORT_PARAMETER_SPACE_BYTES 384
#define MMAL_WORKER_EVENT_SPACE 256
#define MMAL_VC_SHORT_DATA 128
#define MMAL_FORMAT_EXTRADATA_MAX_SIZE 128
#define MMAL_WORKER_COMPONENT_NAME_SIZE 128
/* Components per service instance (the kernel client's limit). */
#define VCHIQ_MMAL_MAX_COMPONENTS 64
/* Bytes of a BUFFER_TO_HOST as the firmware sends it: header and payload
 * up to short_data's end, without the struct's trailing padding. */
#define MMAL_MSG_BUFFER_TO_HOST_WIRE_SIZE 292

/* mmal_msg_header.type */
enum mmal_msg_type {
	MMAL_MSG_TYPE_QUIT = 1,
	MMAL_MSG_TYPE_SERVICE_CLOSED = 2,
	MMAL_MSG_TYPE_GET_VERSION = 3,
	MMAL_MSG_TYPE_COMPONENT_CREATE = 4,
	MMAL_MSG_TYPE_COMPONENT_DESTROY = 5,
	MMAL_MSG_TYPE_COMPONENT_ENABLE = 6,
	MMAL_MSG_TYPE_COMPONENT_DISABLE = 7,
	MMAL_MSG_TYPE_PORT_INFO_GET = 8,
	MMAL_MSG_TYPE_PORT_INFO_SET = 9,
	MMAL_MSG_TYPE_PORT_ACTION = 10,
	MMAL_MSG_TYPE_BUFFER_FROM_HOST = 11,
	MMAL_MSG_TYPE_BUFFER_TO_HOST = 12,
	MMAL_MSG_TYPE_GET_STATS = 13,
	MMAL_MSG_TYPE_PORT_PARAMETER_SET = 14,
	MMAL_MSG_TYPE_PORT_PARAMETER_GET = 15,
	MMAL_MSG_TYPE_EVENT_TO_HOST = 16,
	MMAL_MSG_TYPE_GET_CORE_STATS_FOR_PORT = 17,
	MMAL_MSG_TYPE_OPAQUE_ALLOCATOR = 18,
	MMAL_MSG_TYPE_CONSUME_MEM = 19,
	MMAL_MSG_TYPE_LMK = 20,
	MMAL_MSG_TYPE_OPAQUE_ALLOCATOR_DESC = 21,
	MMAL_MSG_TYPE_DRM_GET_LHS32 = 22,
	MMAL_MSG_TYPE_DRM_GET_TIME = 23,
	MMAL_MSG_TYPE_BUFFER_FROM_HOST_ZEROLEN = 24,
	MMAL_MSG_TYPE_PORT_FLUSH = 25,
	MMAL_MSG_TYPE_HOST_LOG = 26,
	MMAL_MSG_TYPE_COMPACT = 27,
};

/* mmal_msg_port_action_*.action */
enum mmal_msg_port_action_type {
	MMAL_MSG_PORT_ACTION_TYPE_UNKNOWN = 0,
	MMAL_MSG_PORT_ACTION_TYPE_ENABLE = 1,
	MMAL_MSG_PORT_ACTION_TYPE_DISABLE = 2,
	MMAL_MSG_PORT_ACTION_TYPE_FLUSH = 3,
	MMAL_MSG_PORT_ACTION_TYPE_CONNECT = 4,
	MMAL_MSG_PORT_ACTION_TYPE_DISCONNECT = 5,
	MMAL_MSG_PORT_ACTION_TYPE_SET_REQUIREMENTS = 6,
};

/* Port types on the wire (mmal_port.type, port_type fields). */
enum mmal_msg_port_type {
	MMAL_MSG_PORT_TYPE_UNKNOWN = 0,
	MMAL_MSG_PORT_TYPE_CONTROL = 1,
	MMAL_MSG_PORT_TYPE_INPUT = 2,
	MMAL_MSG_PORT_TYPE_OUTPUT = 3,
	MMAL_MSG_PORT_TYPE_CLOCK = 4,
};

/* Reply status (MMAL_STATUS_T on the wire). */
enum mmal_msg_status {
	MMAL_MSG_STATUS_SUCCESS = 0,
	MMAL_MSG_STATUS_ENOMEM = 1,
	MMAL_MSG_STATUS_ENOSPC = 2,
	MMAL_MSG_STATUS_EINVAL = 3,
	MMAL_MSG_STATUS_ENOSYS = 4,
	MMAL_MSG_STATUS_ENOENT = 5,
	MMAL_MSG_STATUS_ENXIO = 6,
	MMAL_MSG_STATUS_EIO = 7,
	MMAL_MSG_STATUS_ESPIPE = 8,
	MMAL_MSG_STATUS_ECORRUPT = 9,
	MMAL_MSG_STATUS_ENOTREADY = 10,
	MMAL_MSG_STATUS_ECONFIG = 11,
	MMAL_MSG_STATUS_EISCONN = 12,
	MMAL_MSG_STATUS_ENOTCONN = 13,
	MMAL_MSG_STATUS_EAGAIN = 14,
	MMAL_MSG_STATUS_EFAULT = 15,
};

/* Event commands (mmal_buffer_header.cmd, event_to_host.cmd):
 * MMAL_FOURCC('E','R','R','O'), ('E','E','O','S'), ('E','F','C','H'),
 * ('E','P','C','H'), little-endian packing. */
#define MMAL_MSG_EVENT_ERROR 0x4F525245
#define MMAL_MSG_EVENT_EOS 0x534F4545
#define MMAL_MSG_EVENT_FORMAT_CHANGED 0x48434645
#define MMAL_MSG_EVENT_PARAMETER_CHANGED 0x48435045

/* mmal_buffer_header.flags */
#define MMAL_MSG_BUFFER_FLAG_EOS (1 << 0)
#define MMAL_MSG_BUFFER_FLAG_FRAME_START (1 << 1)
#define MMAL_MSG_BUFFER_FLAG_FRAME_END (1 << 2)
#define MMAL_MSG_BUFFER_FLAG_KEYFRAME (1 << 3)
#define MMAL_MSG_BUFFER_FLAG_DISCONTINUITY (1 << 4)
#define MMAL_MSG_BUFFER_FLAG_CONFIG (1 << 5)
#define MMAL_MSG_BUFFER_FLAG_ENCRYPTED (1 << 6)
#define MMAL_MSG_BUFFER_FLAG_CODECSIDEINFO (1 << 7)
#define MMAL_MSG_BUFFER_FLAG_SNAPSHOT (1 << 8)
#define MMAL_MSG_BUFFER_FLAG_CORRUPTED (1 << 9)
#define MMAL_MSG_BUFFER_FLAG_TRANSMISSION_FAILED (1 << 10)

/* A timestamp the source does not know (pts, dts). */
#define MMAL_MSG_TIME_UNKNOWN 0x8000000000000000ULL

/* Every message starts with this. context is the host's: echoed in the
 * reply to a request, which is how the host matches them. */
struct mmal_msg_header {
	__u32 magic;
	__u32 type;
	__u32 control_service;
	__u32 context;
	__u32 status;
	__u32 padding;
};

/* Get the firmware's MMAL version. */
struct mmal_msg_version {
	__u32 flags;
	__u32 major;
	__u32 minor;
	__u32 minimum;
};

/* COMPONENT_CREATE: client_component is the host's cookie, echoed in
 * EVENT_TO_HOST; the name without the "vc." prefix. */
struct mmal_msg_component_create {
	__u32 client_component;
	char name[MMAL_WORKER_COMPONENT_NAME_SIZE];
	__u32 pid;
};

struct mmal_msg_component_create_reply {
	__u32 status;
	__u32 component_handle;
	__u32 input_num;
	__u32 output_num;
	__u32 clock_num;
};

/* COMPONENT_DESTROY, _ENABLE and _DISABLE: a component handle; the reply
 * a status. */
struct mmal_msg_component_destroy {
	__u32 component_handle;
};

struct mmal_msg_component_destroy_reply {
	__u32 status;
};

struct mmal_msg_component_enable {
	__u32 component_handle;
};

struct mmal_msg_component_enable_reply {
	__u32 status;
};

struct mmal_msg_component_disable {
	__u32 component_handle;
};

struct mmal_msg_component_disable_reply {
	__u32 status;
};

/* A rectangle and a fraction inside a video format. */
struct mmal_msg_rect {
	__s32 x;
	__s32 y;
	__s32 width;
	__s32 height;
};

struct mmal_msg_rational {
	__s32 num;
	__s32 den;
};

struct mmal_msg_audio_format {
	__u32 channels;
	__u32 sample_rate;
	__u32 bits_per_sample;
	__u32 block_align;
};

struct mmal_msg_video_format {
	__u32 width;
	__u32 height;
	struct mmal_msg_rect crop;
	struct mmal_msg_rational frame_rate;
	struct mmal_msg_rational par;
	__u32 color_space;
};

struct mmal_msg_subpicture_format {
	__u32 x_offset;
	__u32 y_offset;
};

/* The elementary-stream-specific part of a format. */
union mmal_msg_es_specific_format {
	struct mmal_msg_audio_format audio;
	struct mmal_msg_video_format video;
	struct mmal_msg_subpicture_format subpicture;
};

/* A format: es and extradata are host-side pointers, meaningless on the
 * wire (the specific format and extradata travel beside it). */
struct mmal_msg_es_format {
	__u32 type;
	__u32 encoding;
	__u32 encoding_variant;
	__u32 es;
	__u32 bitrate;
	__u32 flags;
	__u32 extradata_size;
	__u32 extradata;
};

/* A port as the firmware describes it. Only buffer_num, buffer_size and
 * userdata are taken from the host. */
struct mmal_msg_port {
	__u32 priv;
	__u32 name;
	__u32 type;
	__u16 index;
	__u16 index_all;
	__u32 is_enabled;
	__u32 format;
	__u32 buffer_num_min;
	__u32 buffer_size_min;
	__u32 buffer_alignment_min;
	__u32 buffer_num_recommended;
	__u32 buffer_size_recommended;
	__u32 buffer_num;
	__u32 buffer_size;
	__u32 component;
	__u32 userdata;
	__u32 capabilities;
};

/* PORT_INFO_GET and its reply (also PORT_INFO_SET's reply). */
struct mmal_msg_port_info_get {
	__u32 component_handle;
	__u32 port_type;
	__u32 index;
};

struct mmal_msg_port_info_get_reply {
	__u32 status;
	__u32 component_handle;
	__u32 port_type;
	__u32 port_index;
	__s32 found;
	__u32 port_handle;
	struct mmal_msg_port port;
	struct mmal_msg_es_format format;
	union mmal_msg_es_specific_format es;
	__u8 extradata[MMAL_FORMAT_EXTRADATA_MAX_SIZE];
};

struct mmal_msg_port_info_set {
	__u32 component_handle;
	__u32 port_type;
	__u32 port_index;
	struct mmal_msg_port port;
	struct mmal_msg_es_format format;
	union mmal_msg_es_specific_format es;
	__u8 extradata[MMAL_FORMAT_EXTRADATA_MAX_SIZE];
};

/* PORT_ACTION on one port (ENABLE, DISABLE, FLUSH, SET_REQUIREMENTS)... */
struct mmal_msg_port_action_port {
	__u32 component_handle;
	__u32 port_handle;
	__u32 action;
	struct mmal_msg_port port;
};

/* ...or naming a second port (CONNECT, DISCONNECT). */
struct mmal_msg_port_action_handle {
	__u32 component_handle;
	__u32 port_handle;
	__u32 action;
	__u32 connect_component_handle;
	__u32 connect_port_handle;
};

struct mmal_msg_port_action_reply {
	__u32 status;
};

/* PORT_PARAMETER_SET: size = 8 + value bytes (the parameter header). */
struct mmal_msg_port_parameter_set {
	__u32 component_handle;
	__u32 port_handle;
	__u32 id;
	__u32 size;
	__u32 value[MMAL_WORKER_PORT_PARAMETER_SPACE];
};

struct mmal_msg_port_parameter_set_reply {
	__u32 status;
	__u32 id;
	__u32 size;
	__u32 value[MMAL_WORKER_PORT_PARAMETER_SPACE];
};

struct mmal_msg_port_parameter_get {
	__u32 component_handle;
	__u32 port_handle;
	__u32 id;
	__u32 size;
};

struct mmal_msg_port_parameter_get_reply {
	__u32 status;
	__u32 id;
	__u32 size;
	__u32 value[MMAL_WORKER_PORT_PARAMETER_SPACE];
};

/* EVENT_TO_HOST: an event of up to MMAL_WORKER_EVENT_SPACE bytes for the
 * port (port_type, port_num) of the component the host called
 * client_component. */
struct mmal_msg_event_to_host {
	__u32 client_component;
	__u32 port_type;
	__u32 port_num;
	__u32 cmd;
	__u32 length;
	__u8 data[MMAL_WORKER_EVENT_SPACE];
	__u32 delayed_buffer;
};

/* Identifies a buffer: client_context is the host's cookie, echoed back. */
struct mmal_msg_driver_buffer {
	__u32 magic;
	__u32 component_handle;
	__u32 port_handle;
	__u32 client_context;
};

/* MMAL_BUFFER_HEADER_T's fields with 32-bit data (an address, a
 * VideoCore handle with zero copy). */
struct mmal_msg_buffer_header {
	__u32 next;
	__u32 priv;
	__u32 cmd;
	__u32 data;
	__u32 alloc_size;
	__u32 length;
	__u32 offset;
	__u32 flags;
	__s64 pts;
	__s64 dts;
	__u32 type;
	__u32 user_data;
};

struct mmal_msg_buffer_header_video {
	__u32 planes;
	__u32 offset[4];
	__u32 pitch[4];
	__u32 flags;
};

union mmal_msg_buffer_header_type_specific {
	struct mmal_msg_buffer_header_video video;
};

/* BUFFER_FROM_HOST and BUFFER_TO_HOST. Data travels inline (at most
 * MMAL_VC_SHORT_DATA bytes, payload_in_message), by a bulk transfer, or
 * not at all with zero copy (buffer_header.data is a VideoCore handle). */
struct mmal_msg_buffer_from_host {
	struct mmal_msg_driver_buffer drvbuf;
	struct mmal_msg_driver_buffer drvbuf_ref;
	struct mmal_msg_buffer_header buffer_header;
	union mmal_msg_buffer_header_type_specific buffer_header_type_specific;
	__s32 is_zero_copy;
	__s32 has_reference;
	__u32 payload_in_message;
	__u8 short_data[MMAL_VC_SHORT_DATA];
};

/* Any message: the header and a payload of at most MMAL_MSG_MAX_PAYLOAD. */
union mmal_msg_payload {
	struct mmal_msg_version version;
	struct mmal_msg_component_create component_create;
	struct mmal_msg_component_create_reply component_create_reply;
	struct mmal_msg_component_destroy component_destroy;
	struct mmal_msg_component_destroy_reply component_destroy_reply;
	struct mmal_msg_component_enable component_enable;
	struct mmal_msg_component_enable_reply component_enable_reply;
	struct mmal_msg_component_disable component_disable;
	struct mmal_msg_component_disable_reply component_disable_reply;
	struct mmal_msg_port_info_get port_info_get;
	struct mmal_msg_port_info_get_reply port_info_get_reply;
	struct mmal_msg_port_info_set port_info_set;
	struct mmal_msg_port_info_get_reply port_info_set_reply;
	struct mmal_msg_port_action_port port_action_port;
	struct mmal_msg_port_action_handle port_action_handle;
	struct mmal_msg_port_action_reply port_action_reply;
	struct mmal_msg_buffer_from_host buffer_from_host;
	struct mmal_msg_port_parameter_set port_parameter_set;
	struct mmal_msg_port_parameter_set_reply port_parameter_set_reply;
	struct mmal_msg_port_parameter_get port_parameter_get;
	struct mmal_msg_port_parameter_get_reply port_parameter_get_reply;
	struct mmal_msg_event_to_host event_to_host;
	__u8 payload[MMAL_MSG_MAX_PAYLOAD];
};

struct mmal_msg {
	struct mmal_msg_header h;
	union mmal_msg_payload u;
};

#endif /* VCHIQ_ABI_H */
