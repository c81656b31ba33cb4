/* The variadic half of libvcos's logging: Rust (stable) cannot define a
 * C-variadic function nor read a va_list, so these format the message and
 * hand the text to the Rust half (vcos/mod.rs). Their exported names
 * (vcos_log_impl, vcos_vlog_impl, vcos_pthreads_logging_assert) are the
 * trampolines of vcos/trampolines.rs, which jump here with every register
 * and the stack untouched; these stay hidden inside the library. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define HIDDEN __attribute__((visibility("hidden")))

/* The Rust half (vcos/mod.rs). */
void videocore_vcos_log_text(const void *category, int level, const char *text);
void videocore_vcos_assert_text(const char *file, const char *func, unsigned int line, const char *text);

/* The message `fmt` and `ap` make, in a new heap string, or NULL for a NULL
 * format, a format the C library refuses, or no memory. `ap` is left
 * unread, for the caller to end. */
static char *format(const char *fmt, va_list ap)
{
    va_list measure;
    va_list write;
    char *text;
    int n;

    if (fmt == NULL)
        return NULL;
    va_copy(measure, ap);
    n = vsnprintf(NULL, 0, fmt, measure);
    va_end(measure);
    if (n < 0)
        return NULL;
    text = malloc((size_t)n + 1);
    if (text == NULL)
        return NULL;
    va_copy(write, ap);
    vsnprintf(text, (size_t)n + 1, fmt, write);
    va_end(write);
    return text;
}

/* vcos_vlog_impl(cat, level, fmt, args) */
HIDDEN void videocore_vcos_vlog_impl(const void *category, int level, const char *fmt, va_list args)
{
    char *text = format(fmt, args);
    videocore_vcos_log_text(category, level, text);
    free(text);
}

/* vcos_log_impl(cat, level, fmt, ...) */
HIDDEN void videocore_vcos_log_impl(const void *category, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    videocore_vcos_vlog_impl(category, level, fmt, ap);
    va_end(ap);
}

/* vcos_pthreads_logging_assert(file, func, line, fmt, ...): does not
 * return. */
HIDDEN void videocore_vcos_logging_assert(const char *file, const char *func, unsigned int line, const char *fmt, ...)
{
    char *text;
    va_list ap;
    va_start(ap, fmt);
    text = format(fmt, ap);
    va_end(ap);
    videocore_vcos_assert_text(file, func, line, text);
    free(text);
}
