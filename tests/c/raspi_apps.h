/* What tests/c/raspi_apps.c and tests/c/raspi_common.c share: the
 * declarations the apps take from userland's headers (libmmal's functions,
 * vcos's from videocore-c/include/videocore_vcos.h), the output callbacks'
 * userdata, and the helpers the three apps share (RaspiCamControl.c,
 * RaspiHelpers.c, RaspiPreview.c), defined in raspi_common.c. */
#ifndef RASPI_APPS_H
#define RASPI_APPS_H

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

/* A struct not in mmal_abi.h (userland's
 * mmal_parameters_camera.h). */
typedef struct {
    MMAL_PARAMETER_HEADER_T hdr;
    uint32_t value;
} PARAMETER_ENUM_T; /* metering, flicker, image effect, mirror, DRC */

#define ALIGN_UP(x, n) (((x) + (n)-1) & ~((n)-1))
#define CAMERA_PREVIEW 0
#define CAMERA_VIDEO 1
#define CAMERA_STILL 2

/* One count of checks for the program's two files (defined in
 * raspi_apps.c). */
#define CHECK_SHARED
#include "check.h"

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

VCOS_STATUS_T vcos_semaphore_create(sem_t *sem, const char *name, unsigned int count);
VCOS_STATUS_T vcos_semaphore_wait_timeout(sem_t *sem, unsigned int ms);
void sensor_defaults(int camera_num, char *name, int *width, int *height);
MMAL_STATUS_T set_stereo_mode(MMAL_PORT_T *port);
MMAL_STATUS_T set_enum(MMAL_PORT_T *port, uint32_t id, uint32_t value);
int set_all_parameters(MMAL_COMPONENT_T *camera);
void camera_control_callback(MMAL_PORT_T *port, MMAL_BUFFER_HEADER_T *buffer);
MMAL_COMPONENT_T *create_camera(int width, int height, int video, uint32_t still_encoding);
MMAL_COMPONENT_T *create_null_preview(void);
MMAL_CONNECTION_T *connect_ports(MMAL_PORT_T *out, MMAL_PORT_T *in);
void check_disable_port(MMAL_PORT_T *port);
void output_callback(MMAL_PORT_T *port, MMAL_BUFFER_HEADER_T *buffer);
void send_all_buffers(MMAL_PORT_T *port, MMAL_POOL_T *pool);
void userdata_init(PORT_USERDATA *data, FILE *file, MMAL_POOL_T *pool);
void userdata_deinit(PORT_USERDATA *data);
FILE *open_output(const char *dir, const char *name);
long file_size(const char *dir, const char *name);

#endif
