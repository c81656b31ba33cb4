/* The checks the C test programs count, each with the file and line of a
 * failure: CHECK(cond), IS(call, status) and OK(call) (a call answering
 * MMAL_SUCCESS). `checks` holds the counts: the file's own, or, with
 * CHECK_SHARED defined, the program's, defined by one of its files
 * (`struct check_counts checks;`). IS and OK need mmal_status_to_string
 * declared first. */
#ifndef VIDEOCORE_TESTS_CHECK_H
#define VIDEOCORE_TESTS_CHECK_H

#include <stdio.h>

struct check_counts {
    int passed, failed;
};

#ifdef CHECK_SHARED
extern struct check_counts checks;
#else
static struct check_counts checks;
#endif

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (cond) {                                                                  \
            checks.passed++;                                                         \
        } else {                                                                     \
            checks.failed++;                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define IS(call, want)                                                                        \
    do {                                                                                      \
        MMAL_STATUS_T status_ = (call);                                                       \
        if (status_ != (want))                                                                \
            fprintf(stderr, "%s:%d: %s: %s, not %s\n", __FILE__, __LINE__, #call,             \
                    mmal_status_to_string(status_), mmal_status_to_string(want));             \
        CHECK(status_ == (want));                                                             \
    } while (0)

#define OK(call) IS(call, MMAL_SUCCESS)

#endif
