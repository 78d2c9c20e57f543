/* err.c: the thread-local last-error buffer and the interrupt flag (see err.h). */
#include "core/err.h"

#include <stdarg.h>

static _Thread_local char errbuf[512];
volatile sig_atomic_t lt_interrupted = 0;

lt_status lt_seterr(lt_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    return s;
}

const char *lt_lasterror(void) { return errbuf; }

lt_status lt_check_interrupt(void) {
    if (!lt_interrupted) return LT_OK;
    lt_interrupted = 0;
    return lt_seterr(LT_EINTR, "interrupted");
}
