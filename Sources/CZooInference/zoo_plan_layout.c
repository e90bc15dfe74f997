#include "zoo_plan_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int plan_root_of(const zoo_plan *p, int t) {
    while (p->tensors[t].root != t) t = p->tensors[t].root;
    return t;
}

/* The tensor that owns the arena storage `t` lives in. */
int plan_storage_of(const zoo_plan *p, int t) {
    return plan_root_of(p, p->tensors[t].view_of >= 0 ? p->tensors[t].view_of : t);
}

void *plan_address(const zoo_plan *p, int t) {
    const tensor *v = &p->tensors[t];
    size_t slice = v->view_of >= 0 ? (size_t)v->channel_offset * v->dims[2] * v->dims[3] * sizeof(float) : 0;
    return (char *)p->arena + p->tensors[plan_storage_of(p, t)].offset + slice;
}

/* Concatenation in place. With one image, a channel slice of a blocked tensor that starts at a
   block boundary is itself a dense blocked tensor, so each input of a concatenation can be
   written straight into its slice of the output, and the concatenation costs nothing. Walking
   the concatenations from the last, an input that is already a slice of a later one (DenseNet's
   block input, in every concatenation of the block) makes this output a slice of that one too. */
void plan_concatenate_in_place(zoo_plan *p) {
    int block = p->blocked == dnnl_aBcd16b ? 16 : 8;
    for (int i = p->nsteps - 1; i >= 0; i--) {
        step *s = &p->steps[i];
        tensor *d = &p->tensors[s->dst];
        if (s->kind != CONCAT || d->rank != 4 || d->dims[0] != 1 || s->dst == p->output) continue;
        /* Where the output goes: its own storage, or a slice of a later concatenation. */
        int parent = d->view_of >= 0 ? d->view_of : s->dst, base = d->view_of >= 0 ? d->channel_offset : 0;
        int ok = 1, moved = 0, offset = 0;
        for (int k = 0; k < s->count && ok; k++) {
            tensor *t = &p->tensors[s->srcs[k]];
            for (int j = 0; j < k; j++) if (s->srcs[j] == s->srcs[k]) ok = 0;
            if (s->srcs[k] == p->input || s->srcs[k] == p->output || t->is_parent || offset % block
                || (t->dims[1] % block && k < s->count - 1)) ok = 0;
            if (ok && t->view_of >= 0 && !(t->view_of == parent && t->channel_offset == base + offset)) {
                /* Already a slice elsewhere: this output can follow it when it is not placed yet. */
                int shifted = t->channel_offset - offset;
                if (d->view_of >= 0 || moved || shifted < 0 || shifted % block) ok = 0;
                else { parent = t->view_of; base = shifted; moved = 1; k = -1; offset = 0; continue; }
            }
            offset += t->dims[1];
        }
        if (!ok) continue;
        offset = 0;
        for (int k = 0; k < s->count; k++) {
            tensor *t = &p->tensors[s->srcs[k]];
            t->view_of = parent;
            t->channel_offset = base + offset;
            offset += t->dims[1];
        }
        if (parent != s->dst) { d->view_of = parent; d->channel_offset = base; }
        p->tensors[parent].is_parent = 1;
        s->in_place = 1;
    }
}

/* Whether step `i` may write its output over tensor `c` (nothing reads `c` after it). */
int plan_may_overwrite(const zoo_plan *p, int i, int c) {
    const step *s = &p->steps[i];
    const tensor *t = &p->tensors[c], *d = &p->tensors[s->dst];
    if (c == p->input || t->last != i || !p_dnnl_memory_desc_equal(&t->md, &d->md)) return 0;
    if (t->view_of >= 0 || t->is_parent || d->view_of >= 0 || d->is_parent) return 0;
    /* An elementwise step may write over its first input; nothing may write over an input it
       still reads while the output already holds a sum. */
    for (int k = 0; k < s->count; k++)
        if (s->srcs[k] == c && !(k == 0 && s->kind != CONV && s->sum < 0)) return 0;
    return 1;
}
