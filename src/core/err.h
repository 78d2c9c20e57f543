/* err.h: status codes, the last error message, and the interrupt flag.
 * Core and nn functions that can fail on user data return lt_status and leave a
 * message naming the function and the sizes involved; they never print or abort.
 * The bindings turn a failed status into a Lua error with lt_lasterror(). */
#ifndef LT_ERR_H
#define LT_ERR_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

typedef enum { LT_OK = 0, LT_EARG, LT_ESHAPE, LT_ENOMEM, LT_EIO, LT_EINTR, LT_ENAN } lt_status;

/* Formats a message into a thread-local buffer and returns s (so: return lt_seterr(...)). */
lt_status lt_seterr(lt_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The message of the last failure on this thread ("" when none). */
const char *lt_lasterror(void);

/* Set by the SIGINT handler (REPL) and cleared by whoever reports the interrupt.
 * Long C loops poll it between units of work and return LT_EINTR. */
extern volatile sig_atomic_t lt_interrupted;
/* Returns LT_EINTR with the message "interrupted" when a Ctrl-C is pending, else LT_OK.
 * The flag is cleared: exactly one caller reports an interrupt. */
lt_status lt_check_interrupt(void);

/* Internal invariants only (never user input): prints and aborts, like Lua's api_check. */
#define LT_ASSERT(c) do { if (!(c)) { \
    fprintf(stderr, "lunette: internal error: %s (%s:%d)\n", #c, __FILE__, __LINE__); abort(); } \
} while (0)

#endif
