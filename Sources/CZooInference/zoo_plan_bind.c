#include "zoo_plan_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bind(zoo_plan *p, step *s, int arg, const dnnl_memory_desc_t *md, void *data) {
    if (s->nmemories == (int)(sizeof s->memories / sizeof s->memories[0])) return plan_fail(p, "%s: too many inputs", s->description);
    dnnl_memory_t memory;
    if (p_dnnl_memory_create(&memory, md, zoo_dnnl_engine, data) != dnnl_success)
        return plan_fail(p, "%s: oneDNN could not describe an argument", s->description);
    s->memories[s->nmemories++] = memory;
    s->args[s->nargs].arg = arg;
    s->args[s->nargs++].memory = memory;
    return 0;
}

/* Copies `count` plain floats into `*owned` in the layout `wanted`, described plainly by `plain`. */
static int reorder_constant(zoo_plan *p, const float *data, const dnnl_memory_desc_t *plain,
                            const dnnl_memory_desc_t *wanted, void **owned) {
    size_t bytes = p_dnnl_memory_desc_get_size(wanted);
    if (posix_memalign(owned, 64, bytes ? bytes : 64) != 0) { *owned = NULL; return plan_fail(p, "out of memory"); }
    memset(*owned, 0, bytes);
    p->weight_bytes += bytes;
    dnnl_memory_t from = NULL, to = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t reorder = NULL;
    int ok = p_dnnl_memory_create(&from, plain, zoo_dnnl_engine, (void *)data) == dnnl_success
          && p_dnnl_memory_create(&to, wanted, zoo_dnnl_engine, *owned) == dnnl_success
          && p_dnnl_reorder_primitive_desc_create(&pd, plain, zoo_dnnl_engine, wanted, zoo_dnnl_engine, NULL) == dnnl_success
          && p_dnnl_primitive_create(&reorder, pd) == dnnl_success;
    if (ok) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
        ok = p_dnnl_primitive_execute(reorder, p->stream, 2, args) == dnnl_success && p_dnnl_stream_wait(p->stream) == dnnl_success;
    }
    if (reorder) p_dnnl_primitive_destroy(reorder);
    if (pd) p_dnnl_primitive_desc_destroy(pd);
    if (from) p_dnnl_memory_destroy(from);
    if (to) p_dnnl_memory_destroy(to);
    return ok ? 0 : plan_fail(p, "oneDNN could not reorder weights");
}

/* A reorder between two layouts of one tensor, created once. */
int plan_make_reorder(zoo_plan *p, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to, dnnl_primitive_t *reorder) {
    dnnl_primitive_desc_t pd;
    if (p_dnnl_reorder_primitive_desc_create(&pd, from, zoo_dnnl_engine, to, zoo_dnnl_engine, NULL) != dnnl_success)
        return plan_fail(p, "oneDNN has no reorder between two layouts");
    dnnl_status_t status = p_dnnl_primitive_create(reorder, pd);
    p_dnnl_primitive_desc_destroy(pd);
    return status == dnnl_success ? 0 : plan_fail(p, "oneDNN could not create a reorder");
}

static int plain_bytes_weights(const step *s, dnnl_memory_desc_t *plain, const zoo_plan *p) {
    if (s->kind == LINEAR) {
        dnnl_dims_t dims = {p->tensors[s->dst].dims[1], p->tensors[s->srcs[0]].dims[1]};
        return p_dnnl_memory_desc_init_by_tag(plain, 2, dims, dnnl_f32, dnnl_ab) == dnnl_success;
    }
    const zoo_conv_shape *c = &s->shape;
    if (c->groups > 1) {
        dnnl_dims_t dims = {c->groups, c->out_channels / c->groups, c->in_channels / c->groups, c->kernel_h, c->kernel_w};
        return p_dnnl_memory_desc_init_by_tag(plain, 5, dims, dnnl_f32, dnnl_goihw) == dnnl_success;
    }
    dnnl_dims_t dims = {c->out_channels, c->in_channels, c->kernel_h, c->kernel_w};
    return p_dnnl_memory_desc_init_by_tag(plain, 4, dims, dnnl_f32, dnnl_oihw) == dnnl_success;
}

int plan_bind_step(zoo_plan *p, int i, dnnl_primitive_desc_t pd) {
    step *s = &p->steps[i];
    void *dst = plan_address(p, s->dst);
    const dnnl_memory_desc_t *dst_md = &p->tensors[s->dst].md;
    if (s->sum >= 0 && (s->relayout || plan_storage_of(p, s->sum) != plan_storage_of(p, s->dst))) {
        /* The sum's input into the output buffer first (the kernel's private one after a relayout). */
        const dnnl_memory_desc_t *target = s->relayout ? p_dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0) : dst_md;
        if (s->relayout && posix_memalign(&s->owned[2], 64, p_dnnl_memory_desc_get_size(target)) != 0) return plan_fail(p, "out of memory");
        if (plan_make_reorder(p, &p->tensors[s->sum].md, target, &s->copy)) return -1;
        dnnl_memory_t from, to;
        if (p_dnnl_memory_create(&from, &p->tensors[s->sum].md, zoo_dnnl_engine, plan_address(p, s->sum)) != dnnl_success
            || p_dnnl_memory_create(&to, target, zoo_dnnl_engine, s->relayout ? s->owned[2] : dst) != dnnl_success)
            return plan_fail(p, "%s: oneDNN could not describe the sum", s->description);
        s->memories[s->nmemories++] = from;
        s->memories[s->nmemories++] = to;
        s->copy_args[0].arg = DNNL_ARG_FROM; s->copy_args[0].memory = from;
        s->copy_args[1].arg = DNNL_ARG_TO; s->copy_args[1].memory = to;
    }
    if (s->own.kind) {
        p->weight_bytes += zoo_own_weight_bytes(&s->own);
        free(s->weights);
        s->weights = NULL;
        return 0;
    }
    const dnnl_memory_desc_t *scratch = p_dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (scratch && p_dnnl_memory_desc_get_size(scratch) > 0 && bind(p, s, DNNL_ARG_SCRATCHPAD, scratch, p->scratch)) return -1;
    switch (s->kind) {
    case CONV: case LINEAR: {
        const dnnl_memory_desc_t *wanted = p_dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        dnnl_memory_desc_t plain;
        if (!wanted || !plain_bytes_weights(s, &plain, p)) return plan_fail(p, "%s: no weights layout", s->description);
        if (reorder_constant(p, s->weights, &plain, wanted, &s->owned[0])) return -1;
        free(s->weights);
        s->weights = NULL;
        const dnnl_memory_desc_t *src_md = &p->tensors[s->srcs[0]].md;
        void *src = plan_address(p, s->srcs[0]);
        if (s->relayout) {
            /* Private buffers in the layouts the kernel chose, filled and emptied by reorders. */
            const dnnl_memory_desc_t *used_src = p_dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
            const dnnl_memory_desc_t *used_dst = p_dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
            if (posix_memalign(&s->owned[1], 64, p_dnnl_memory_desc_get_size(used_src)) != 0
                || (!s->owned[2] && posix_memalign(&s->owned[2], 64, p_dnnl_memory_desc_get_size(used_dst)) != 0))
                return plan_fail(p, "out of memory");
            if (plan_make_reorder(p, src_md, used_src, &s->reorder_src) || plan_make_reorder(p, used_dst, dst_md, &s->reorder_dst)) return -1;
            dnnl_memory_t m[4];
            if (p_dnnl_memory_create(&m[0], src_md, zoo_dnnl_engine, src) != dnnl_success
                || p_dnnl_memory_create(&m[1], used_src, zoo_dnnl_engine, s->owned[1]) != dnnl_success
                || p_dnnl_memory_create(&m[2], used_dst, zoo_dnnl_engine, s->owned[2]) != dnnl_success
                || p_dnnl_memory_create(&m[3], dst_md, zoo_dnnl_engine, dst) != dnnl_success)
                return plan_fail(p, "%s: oneDNN could not describe its reorders", s->description);
            for (int k = 0; k < 4; k++) s->memories[s->nmemories++] = m[k];
            s->reorder_src_args[0] = (dnnl_exec_arg_t){DNNL_ARG_FROM, m[0]};
            s->reorder_src_args[1] = (dnnl_exec_arg_t){DNNL_ARG_TO, m[1]};
            s->reorder_dst_args[0] = (dnnl_exec_arg_t){DNNL_ARG_FROM, m[2]};
            s->reorder_dst_args[1] = (dnnl_exec_arg_t){DNNL_ARG_TO, m[3]};
            src_md = used_src;
            src = s->owned[1];
            dst_md = used_dst;
            dst = s->owned[2];
        }
        if (bind(p, s, DNNL_ARG_SRC, src_md, src)
            || bind(p, s, DNNL_ARG_WEIGHTS, wanted, s->owned[0]) || bind(p, s, DNNL_ARG_DST, dst_md, dst)) return -1;
        if (s->bias) {
            const dnnl_memory_desc_t *bias = p_dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1);
            p->weight_bytes += p_dnnl_memory_desc_get_size(bias);
            if (bind(p, s, DNNL_ARG_BIAS, bias, s->bias)) return -1;
        }
        return 0;
    }
    case POOL: case ACTIVATION: case FLATTEN: {
        const dnnl_memory_desc_t *out = dst_md;
        dnnl_memory_desc_t plain;
        if (s->kind == FLATTEN) {
            plan_describe_tensor(&p->tensors[s->srcs[0]], &plain, dnnl_nchw);
            out = &plain;
        }
        int from = s->kind == FLATTEN ? DNNL_ARG_FROM : DNNL_ARG_SRC, to = s->kind == FLATTEN ? DNNL_ARG_TO : DNNL_ARG_DST;
        const dnnl_memory_desc_t *in = p_dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
        if (bind(p, s, from, in ? in : &p->tensors[s->srcs[0]].md, plan_address(p, s->srcs[0])) || bind(p, s, to, out, dst)) return -1;
        if (s->kind == POOL) {
            const dnnl_memory_desc_t *workspace = p_dnnl_primitive_desc_query_md(pd, dnnl_query_workspace_md, 0);
            if (workspace && p_dnnl_memory_desc_get_size(workspace) > 0) return plan_fail(p, "%s: wants a workspace", s->description);
        }
        return 0;
    }
    case BINARY:
        return bind(p, s, DNNL_ARG_SRC_0, &p->tensors[s->srcs[0]].md, plan_address(p, s->srcs[0]))
            || bind(p, s, DNNL_ARG_SRC_1, &p->tensors[s->srcs[1]].md, plan_address(p, s->srcs[1]))
            || bind(p, s, DNNL_ARG_DST, dst_md, dst) ? -1 : 0;
    case CONCAT:
        for (int k = 0; k < s->count; k++)
            if (bind(p, s, DNNL_ARG_MULTIPLE_SRC + k, &p->tensors[s->srcs[k]].md, plan_address(p, s->srcs[k]))) return -1;
        return bind(p, s, DNNL_ARG_DST, dst_md, dst);
    case BATCHNORM: {
        int c = p->tensors[s->dst].dims[1];
        dnnl_memory_desc_t vector, pair;
        dnnl_dims_t vd = {c}, pd2 = {2, c};
        p_dnnl_memory_desc_init_by_tag(&vector, 1, vd, dnnl_f32, dnnl_x);
        p_dnnl_memory_desc_init_by_tag(&pair, 2, pd2, dnnl_f32, dnnl_nc);
        p->weight_bytes += 4 * c * sizeof(float);
        return bind(p, s, DNNL_ARG_SRC, &p->tensors[s->srcs[0]].md, plan_address(p, s->srcs[0]))
            || bind(p, s, DNNL_ARG_DST, dst_md, dst) || bind(p, s, DNNL_ARG_MEAN, &vector, s->weights)
            || bind(p, s, DNNL_ARG_VARIANCE, &vector, s->weights + c) || bind(p, s, DNNL_ARG_SCALE_SHIFT, &pair, s->extra) ? -1 : 0;
    }
    }
    return plan_fail(p, "unknown step kind");
}
