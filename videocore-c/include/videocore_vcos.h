/*
 * The part of vcos (userland's interface/vcos) that the software
 * VideoCore's libvcos exports, for C programs built against it: the log
 * category struct and levels, the logging and assertion functions, errno
 * mapping, and libmmal's log category. Written for this project from
 * vcos_logging.h, vcos_types.h and pthreads/vcos_platform.h (their field
 * order, values and behaviour; see videocore-c/src/vcos/mod.rs).
 *
 * The logging macros are vcos's: a message is formatted only when the
 * category's level shows it. As on a Pi, a file defines VCOS_LOG_CATEGORY
 * before including this header, or takes libmmal's (&mmal_log_category).
 */
#ifndef VIDEOCORE_VCOS_H
#define VIDEOCORE_VCOS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* VCOS_STATUS_T (vcos_types.h). */
typedef enum {
    VCOS_SUCCESS,
    VCOS_EAGAIN,
    VCOS_ENOENT,
    VCOS_ENOSPC,
    VCOS_EINVAL,
    VCOS_EACCESS,
    VCOS_ENOMEM,
    VCOS_ENOSYS,
    VCOS_EEXIST,
    VCOS_ENXIO,
    VCOS_EINTR,
    VCOS_ETIMEDOUT
} VCOS_STATUS_T;

/* Log levels (vcos_logging.h): a message shows when its category's level
 * is at least the message's. */
typedef enum VCOS_LOG_LEVEL_T {
    VCOS_LOG_UNINITIALIZED = 0,
    VCOS_LOG_NEVER,
    VCOS_LOG_ERROR,
    VCOS_LOG_WARN,
    VCOS_LOG_INFO,
    VCOS_LOG_TRACE
} VCOS_LOG_LEVEL_T;

/* A log category: 24 bytes on 32-bit ARM, 40 on 64-bit hosts. */
typedef struct VCOS_LOG_CAT_T {
    VCOS_LOG_LEVEL_T level;
    const char *name;
    struct VCOS_LOG_CAT_T *next;
    struct {
        unsigned int want_prefix : 1;
    } flags;
    unsigned int refcount;
    void *platform_data;
} VCOS_LOG_CAT_T;

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define VIDEOCORE_VCOS_LAYOUT(cond) _Static_assert(cond, #cond)
VIDEOCORE_VCOS_LAYOUT(offsetof(VCOS_LOG_CAT_T, level) == 0);
VIDEOCORE_VCOS_LAYOUT(offsetof(VCOS_LOG_CAT_T, name) == sizeof(void *));
VIDEOCORE_VCOS_LAYOUT(offsetof(VCOS_LOG_CAT_T, next) == 2 * sizeof(void *));
VIDEOCORE_VCOS_LAYOUT(offsetof(VCOS_LOG_CAT_T, flags) == 3 * sizeof(void *));
VIDEOCORE_VCOS_LAYOUT(offsetof(VCOS_LOG_CAT_T, refcount) == 3 * sizeof(void *) + 4);
VIDEOCORE_VCOS_LAYOUT(offsetof(VCOS_LOG_CAT_T, platform_data) == 3 * sizeof(void *) + 8);
VIDEOCORE_VCOS_LAYOUT(sizeof(VCOS_LOG_CAT_T) == (sizeof(void *) == 4 ? 24 : 40));
#undef VIDEOCORE_VCOS_LAYOUT
#endif

/* Logging (libvcos). */
void vcos_log_register(const char *name, VCOS_LOG_CAT_T *category);
void vcos_log_unregister(VCOS_LOG_CAT_T *category);
const VCOS_LOG_CAT_T *vcos_log_get_default_category(void);
const char *vcos_log_level_to_string(VCOS_LOG_LEVEL_T level);
VCOS_STATUS_T vcos_string_to_log_level(const char *str, VCOS_LOG_LEVEL_T *level);
void vcos_log_impl(const VCOS_LOG_CAT_T *cat, VCOS_LOG_LEVEL_T level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void vcos_vlog_impl(const VCOS_LOG_CAT_T *cat, VCOS_LOG_LEVEL_T level, const char *fmt, va_list args)
    __attribute__((format(printf, 3, 0)));

/* Assertions and errno (pthreads/vcos_platform.h). */
void vcos_pthreads_logging_assert(const char *file, const char *func, unsigned int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));
VCOS_STATUS_T vcos_pthreads_map_error(int error);
VCOS_STATUS_T vcos_pthreads_map_errno(void);
uint64_t vcos_getmicrosecs64_internal(void);

/* libmmal's category (mmal_logging.h). */
extern VCOS_LOG_CAT_T mmal_log_category;

#ifndef VCOS_LOG_CATEGORY
#define VCOS_LOG_CATEGORY (&mmal_log_category)
#endif

#define vcos_is_log_enabled(cat, lvl) ((cat)->level >= (lvl))
#define VIDEOCORE_VCOS_LOG(cat, lvl, ...)                                     \
    do {                                                                      \
        if (vcos_is_log_enabled(cat, lvl) && (cat) != NULL)                   \
            vcos_log_impl(cat, lvl, __VA_ARGS__);                             \
    } while (0)
#define vcos_log_error(...) VIDEOCORE_VCOS_LOG(VCOS_LOG_CATEGORY, VCOS_LOG_ERROR, __VA_ARGS__)
#define vcos_log_warn(...) VIDEOCORE_VCOS_LOG(VCOS_LOG_CATEGORY, VCOS_LOG_WARN, __VA_ARGS__)
#define vcos_log_info(...) VIDEOCORE_VCOS_LOG(VCOS_LOG_CATEGORY, VCOS_LOG_INFO, __VA_ARGS__)
#define vcos_log_trace(...) VIDEOCORE_VCOS_LOG(VCOS_LOG_CATEGORY, VCOS_LOG_TRACE, __VA_ARGS__)
#define vcos_demand(cond)                                                               \
    do {                                                                                \
        if (!(cond))                                                                    \
            vcos_pthreads_logging_assert(__FILE__, __func__, __LINE__, "%s", #cond);    \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif /* VIDEOCORE_VCOS_H */
