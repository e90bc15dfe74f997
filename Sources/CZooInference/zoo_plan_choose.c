#include "zoo_plan_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether the plan's own kernels run here: on AVX2 with FMA, unless ZOO_PLAN_OWN_KERNELS=0 (to
   compare with oneDNN's alone). */
static int own_kernels(void) {
    const char *choice = getenv("ZOO_PLAN_OWN_KERNELS");
    return zoo_plan_kernels_available() && !(choice && strcmp(choice, "0") == 0);
}

int zoo_plan_own_kernels(void) { return own_kernels(); }

/* Whether a tensor is in the nChw8c layout the own kernels read and write. */
static int in_blocks_of_8(const dnnl_memory_desc_t *md) {
    return md->format_kind == dnnl_blocked && md->ndims == 4 && md->format_desc.blocking.inner_nblks == 1
        && md->format_desc.blocking.inner_idxs[0] == 1 && md->format_desc.blocking.inner_blks[0] == 8;
}

/* Whether the plan computes convolution step s itself, by Winograd F(4×4, 3×3) or F(2×2, 5×5)
   (oneDNN 2.6 has Winograd only for AVX-512): a 3×3 or 5×5 convolution with stride 1 and at most
   "same" padding over whole 8-channel blocks, with at least 12 output tiles. With fewer (a 7×7
   image at batch 1) the transformed weights, 4× the direct ones for 3×3, cost more to read than
   the multiplications save. */
static int by_winograd(const zoo_plan *p, const step *s) {
    const zoo_conv_shape *c = &s->shape;
    if (s->kind != CONV || !own_kernels() || !in_blocks_of_8(&p->tensors[s->srcs[0]].md)
        || !in_blocks_of_8(&p->tensors[s->dst].md)) return 0;
    int r = c->kernel_h, m = r == 3 ? 4 : 2;
    if (c->groups != 1 || (r != 3 && r != 5) || c->kernel_w != r || c->stride_h != 1 || c->stride_w != 1
        || c->pad_h > r / 2 || c->pad_w > r / 2 || c->dilation_h != 1 || c->dilation_w != 1 || c->in_channels % 8
        || c->out_channels % 8 || s->act == ZOO_ACT_SIGMOID) return 0;
    return (long)c->batch * ((c->out_h + m - 1) / m) * ((c->out_w + m - 1) / m) >= 12;
}

/* Gives step s one of the plan's own kernels where one applies (no_blocked_kernel: oneDNN offered
   only its reference kernel on the blocked layout). Returns 1 when one applies; s->own.kind
   stays 0 then only when it could not be built (out of memory). */
int plan_choose_own_kernel(zoo_plan *p, step *s, int no_blocked_kernel) {
    const zoo_conv_shape *c = &s->shape;
    int status = 0;
    if (!no_blocked_kernel && by_winograd(p, s)) {
        status = zoo_winograd_init(&s->own.winograd, c->batch, c->in_channels, c->out_channels, c->height, c->width,
                                   c->kernel_h, c->pad_h, c->pad_w, s->weights, s->bias, s->act, s->sum >= 0);
        s->own.kind = ZOO_OWN_WINOGRAD;
    } else if (!no_blocked_kernel && s->kind == LINEAR && own_kernels() && p->tensors[s->dst].dims[0] >= 6) {
        status = zoo_linear_init(&s->own.linear, p->tensors[s->dst].dims[0], p->tensors[s->srcs[0]].dims[1],
                                 p->tensors[s->dst].dims[1], s->weights, s->bias, s->act);
        s->own.kind = ZOO_OWN_LINEAR;
    } else if (no_blocked_kernel && s->kind == CONV && c->groups == 1 && s->sum < 0 && own_kernels()
               && in_blocks_of_8(&p->tensors[s->srcs[0]].md) && in_blocks_of_8(&p->tensors[s->dst].md)) {
        status = zoo_gemm_conv_init(&s->own.gathered, c, s->weights, s->bias, s->act);
        s->own.kind = ZOO_OWN_GATHERED;
    } else {
        return 0;
    }
    if (status) {
        s->own.kind = ZOO_OWN_NONE;
        return 1;
    }
    size_t bytes = zoo_own_scratch_bytes(&s->own, p->threads);
    if (bytes > p->scratch_bytes) p->scratch_bytes = bytes;
    size_t used = strlen(s->description);
    snprintf(s->description + used, sizeof s->description - used, ": %s", zoo_own_name(&s->own));
    return 1;
}
