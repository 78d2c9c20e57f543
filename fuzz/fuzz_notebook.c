/* fuzz_notebook.c: libFuzzer target for lt_notebook_parse (src/repl/notebook.h): any
 * bytes split into cells without crashing or leaking; every byte a cell claims to hold
 * is read, so ASan catches a length that runs past its buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repl/notebook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lt_notebook nb;
    memset(&nb, 0, sizeof nb);
    volatile unsigned sink = 0;
    if (lt_notebook_parse((const char *)data, size, &nb) == LT_OK) {
        for (size_t i = 0; i < nb.n; i++) {
            const lt_nb_cell *c = &nb.cells[i];
            if (c->line < 1) abort();
            if (c->title) sink += (unsigned)strlen(c->title);
            for (size_t k = 0; c->source && k < c->source_len; k++) sink += (unsigned char)c->source[k];
            for (size_t k = 0; c->expected && k < c->expected_len; k++)
                sink += (unsigned char)c->expected[k];
        }
    } else if (nb.n != 0) {
        abort();                      /* failure leaves the notebook empty */
    }
    lt_notebook_release(&nb);
    (void)sink;
    return 0;
}
