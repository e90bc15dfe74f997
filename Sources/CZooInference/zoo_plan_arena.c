#include "zoo_plan_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { int root; size_t bytes; int first, last; } group;

static int by_size(const void *a, const void *b) {
    const group *x = a, *y = b;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : x->root - y->root;
}

/* Places every storage group in the arena: largest first, each at the lowest offset that no
   group alive at the same time occupies. */
size_t plan_place(zoo_plan *p) {
    group *groups = calloc(p->ntensors, sizeof *groups);
    int count = 0;
    if (!groups) return 0;
    for (int t = 0; t < p->ntensors; t++) {
        if (p->tensors[t].first == -2) continue; /* never used */
        int r = plan_storage_of(p, t);
        int g = 0;
        while (g < count && groups[g].root != r) g++;
        size_t bytes = (p_dnnl_memory_desc_get_size(&p->tensors[t].md) + 63) / 64 * 64;
        if (g == count) { groups[count++] = (group){r, bytes, p->tensors[t].first, p->tensors[t].last}; continue; }
        if (bytes > groups[g].bytes) groups[g].bytes = bytes;
        if (p->tensors[t].first < groups[g].first) groups[g].first = p->tensors[t].first;
        if (p->tensors[t].last > groups[g].last) groups[g].last = p->tensors[t].last;
    }
    qsort(groups, count, sizeof *groups, by_size);
    size_t total = 0;
    for (int g = 0; g < count; g++) {
        size_t offset = 0;
        for (int moved = 1; moved;) {
            moved = 0;
            for (int h = 0; h < g; h++) {
                if (groups[h].last < groups[g].first || groups[g].last < groups[h].first) continue;
                size_t start = p->tensors[groups[h].root].offset, end = start + groups[h].bytes;
                if (offset < end && start < offset + groups[g].bytes) { offset = end; moved = 1; }
            }
        }
        p->tensors[groups[g].root].offset = offset;
        if (offset + groups[g].bytes > total) total = offset + groups[g].bytes;
    }
    free(groups);
    return total;
}
