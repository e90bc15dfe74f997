#include "zoo_memory.h"

/* Any libc header, so that __GLIBC__ is defined before it is tested below. */
#include <stdlib.h>

#if defined(__GLIBC__)
#include <malloc.h>

void zoo_keep_freed_memory(void) {
    /* Blocks below 1 GiB come from the heap, and up to 1 GiB of free heap top is kept. */
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}
#else
void zoo_keep_freed_memory(void) {}
#endif
