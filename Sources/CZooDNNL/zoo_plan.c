#include "zoo_plan.h"
#include "zoo_dnnl_library.h"
#include "zoo_plan_kernels.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { CONV, LINEAR, POOL, ACTIVATION, BINARY, CONCAT, BATCHNORM, FLATTEN, PAD };
static const char *act_names[] = {"", " relu", " relu6", " sigmoid"};

enum { MAX_MEMORIES = 8 };

typedef struct {
    int rank, dims[4];
    dnnl_memory_desc_t md;
    int root;            /* the tensor whose storage this one shares (itself if none) */
    int view_of;         /* the concatenation this one is a channel slice of (-1 if none) */
    int channel_offset;  /* where that slice starts */
    int is_parent;       /* whether slices of this one are views */
    int first, last;     /* the step that writes it, the last step that reads it */
    size_t offset;       /* in the arena (roots only) */
} tensor;

typedef struct {
    int kind, dst, sum, act, alg;
    int in_place; /* a concatenation whose inputs were written into their slices of its output */
    /* A convolution oneDNN has no fast kernel for on the blocked layout (ResNeXt's four channels
       per group; AlexNet's 11×11 stride 4 when the plan's own kernels are off) runs on the
       layouts it picks itself, between reorders. */
    int relayout;
    /* Steps the plan computes with its own kernels (zoo_plan_kernels.h). */
    zoo_own_kernel own;
    dnnl_primitive_t reorder_src, reorder_dst;
    dnnl_exec_arg_t reorder_src_args[2], reorder_dst_args[2];
    int *srcs, count;
    zoo_conv_shape shape;
    int kernel[2], stride[2], pad_begin[2], pad_end[2];
    float *weights, *bias, *extra; /* plain copies until finalize */
    size_t weight_count;
    float eps, value;
    int margins[4];
    double macs;
    dnnl_primitive_t primitive, copy; /* copy: the sum input into dst, when dst cannot take its place */
    dnnl_memory_t memories[MAX_MEMORIES + 64];
    dnnl_exec_arg_t args[MAX_MEMORIES + 64], copy_args[2];
    int nargs, nmemories;
    void *owned[3];
    char description[160];
} step;

struct zoo_plan {
    tensor *tensors;
    int ntensors, tensor_capacity;
    step *steps;
    int nsteps, step_capacity;
    int input, output, threads, finalized;
    int fault; /* a deliberate mistake for tests (zoo_plan_set_fault) */
    dnnl_format_tag_t blocked;
    void *arena, *scratch;
    size_t arena_bytes, scratch_bytes, weight_bytes;
    dnnl_stream_t stream;
    dnnl_memory_t user_in, user_out, arena_in, arena_out;
    dnnl_primitive_t reorder_in, reorder_out;
    char error[320];
};

static int fail(zoo_plan *p, const char *format, ...) {
    va_list list;
    va_start(list, format);
    vsnprintf(p->error, sizeof p->error, format, list);
    va_end(list);
    return -1;
}

const char *zoo_plan_error(const zoo_plan *p) { return p->error; }

void zoo_plan_set_fault(zoo_plan *plan, int fault) { plan->fault = fault; }

zoo_plan *zoo_plan_create(void) {
    pthread_mutex_lock(&zoo_dnnl_lock);
    int ok = zoo_dnnl_load();
    pthread_mutex_unlock(&zoo_dnnl_lock);
    if (!ok) return NULL;
    zoo_plan *p = calloc(1, sizeof *p);
    if (p) p->input = p->output = -1;
    return p;
}

void zoo_plan_destroy(zoo_plan *p) {
    if (!p) return;
    for (int i = 0; i < p->nsteps; i++) {
        step *s = &p->steps[i];
        if (s->primitive) p_dnnl_primitive_destroy(s->primitive);
        if (s->copy) p_dnnl_primitive_destroy(s->copy);
        if (s->reorder_src) p_dnnl_primitive_destroy(s->reorder_src);
        if (s->reorder_dst) p_dnnl_primitive_destroy(s->reorder_dst);
        zoo_own_free(&s->own);
        for (int m = 0; m < s->nmemories; m++) p_dnnl_memory_destroy(s->memories[m]);
        for (int o = 0; o < 3; o++) free(s->owned[o]);
        free(s->weights);
        free(s->bias);
        free(s->extra);
        free(s->srcs);
    }
    dnnl_memory_t memories[] = {p->user_in, p->user_out, p->arena_in, p->arena_out};
    for (int m = 0; m < 4; m++) if (memories[m]) p_dnnl_memory_destroy(memories[m]);
    if (p->reorder_in) p_dnnl_primitive_destroy(p->reorder_in);
    if (p->reorder_out) p_dnnl_primitive_destroy(p->reorder_out);
    if (p->stream) p_dnnl_stream_destroy(p->stream);
    free(p->arena);
    free(p->scratch);
    free(p->tensors);
    free(p->steps);
    free(p);
}

int zoo_plan_tensor(zoo_plan *p, int rank, int n, int c, int h, int w) {
    if (p->finalized) return fail(p, "the plan is already finalized");
    if ((rank != 2 && rank != 4) || n <= 0 || c <= 0 || h <= 0 || w <= 0 || (rank == 2 && (h != 1 || w != 1)))
        return fail(p, "a tensor of rank %d [%d, %d, %d, %d] is not a plan tensor", rank, n, c, h, w);
    if (p->ntensors == p->tensor_capacity) {
        int capacity = p->tensor_capacity ? 2 * p->tensor_capacity : 64;
        tensor *grown = realloc(p->tensors, capacity * sizeof *grown);
        if (!grown) return fail(p, "out of memory");
        p->tensors = grown;
        p->tensor_capacity = capacity;
    }
    tensor *t = &p->tensors[p->ntensors];
    memset(t, 0, sizeof *t);
    t->rank = rank;
    t->dims[0] = n; t->dims[1] = c; t->dims[2] = h; t->dims[3] = w;
    t->root = p->ntensors;
    t->view_of = -1;
    t->first = t->last = -2;
    return p->ntensors++;
}

static int valid(zoo_plan *p, int id) { return id >= 0 && id < p->ntensors; }

static step *new_step(zoo_plan *p, int kind, int dst, int act) {
    if (p->finalized) { fail(p, "the plan is already finalized"); return NULL; }
    if (!valid(p, dst)) { fail(p, "step %d: no tensor %d", p->nsteps, dst); return NULL; }
    if (act < ZOO_ACT_NONE || act > ZOO_ACT_SIGMOID) { fail(p, "step %d: no activation %d", p->nsteps, act); return NULL; }
    if (p->nsteps == p->step_capacity) {
        int capacity = p->step_capacity ? 2 * p->step_capacity : 64;
        step *grown = realloc(p->steps, capacity * sizeof *grown);
        if (!grown) { fail(p, "out of memory"); return NULL; }
        p->steps = grown;
        p->step_capacity = capacity;
    }
    step *s = &p->steps[p->nsteps++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->dst = dst;
    s->sum = -1;
    s->act = act;
    return s;
}

static int set_sources(zoo_plan *p, step *s, const int *srcs, int count) {
    s->srcs = malloc(count * sizeof *srcs);
    if (!s->srcs) return fail(p, "out of memory");
    for (int i = 0; i < count; i++) {
        if (!valid(p, srcs[i])) return fail(p, "step %d: no tensor %d", p->nsteps - 1, srcs[i]);
        s->srcs[i] = srcs[i];
    }
    s->count = count;
    return 0;
}

static float *copy_floats(const float *from, size_t count) {
    if (!from) return NULL;
    float *to = malloc(count * sizeof *to);
    if (to) memcpy(to, from, count * sizeof *to);
    return to;
}

int zoo_plan_conv(zoo_plan *p, int src, int dst, const zoo_conv_shape *shape, const float *weights,
                  const float *bias, int sum, int act) {
    step *s = new_step(p, CONV, dst, act);
    if (!s || set_sources(p, s, &src, 1)) return -1;
    if (sum >= 0 && !valid(p, sum)) return fail(p, "conv: no tensor %d to add", sum);
    s->sum = sum;
    s->shape = *shape;
    s->weight_count = (size_t)shape->out_channels * (shape->in_channels / shape->groups) * shape->kernel_h * shape->kernel_w;
    s->weights = copy_floats(weights, s->weight_count);
    s->bias = copy_floats(bias, shape->out_channels);
    if (!s->weights || (bias && !s->bias)) return fail(p, "out of memory");
    s->macs = (double)s->weight_count * shape->batch * shape->out_h * shape->out_w;
    snprintf(s->description, sizeof s->description, "conv %dx%d/%d %d->%d%s %dx%d%s%s", shape->kernel_h, shape->kernel_w,
             shape->stride_h, shape->in_channels, shape->out_channels, shape->groups > 1 ? " grouped" : "",
             shape->out_h, shape->out_w, sum >= 0 ? " +sum" : "", act_names[act]);
    return 0;
}

int zoo_plan_linear(zoo_plan *p, int src, int dst, const float *weights, const float *bias, int act) {
    step *s = new_step(p, LINEAR, dst, act);
    if (!s || set_sources(p, s, &src, 1)) return -1;
    const tensor *in = &p->tensors[src], *out = &p->tensors[dst];
    if (in->rank != 2 || out->rank != 2) return fail(p, "linear: rank-2 tensors expected");
    s->weight_count = (size_t)in->dims[1] * out->dims[1];
    s->weights = copy_floats(weights, s->weight_count);
    s->bias = copy_floats(bias, out->dims[1]);
    if (!s->weights || (bias && !s->bias)) return fail(p, "out of memory");
    s->macs = (double)s->weight_count * in->dims[0];
    snprintf(s->description, sizeof s->description, "linear %d->%d%s", in->dims[1], out->dims[1], act_names[act]);
    return 0;
}

int zoo_plan_pool(zoo_plan *p, int src, int dst, int kind, const int kernel[2], const int stride[2],
                  const int pad_begin[2], const int pad_end[2]) {
    step *s = new_step(p, POOL, dst, ZOO_ACT_NONE);
    if (!s || set_sources(p, s, &src, 1)) return -1;
    s->alg = kind;
    for (int i = 0; i < 2; i++) {
        s->kernel[i] = kernel[i]; s->stride[i] = stride[i];
        s->pad_begin[i] = pad_begin[i]; s->pad_end[i] = pad_end[i];
    }
    static const char *names[] = {"max", "avg", "avg (exclude pad)"};
    snprintf(s->description, sizeof s->description, "pool %s %dx%d/%d -> %dx%d", names[kind % 3], kernel[0], kernel[1],
             stride[0], p->tensors[dst].dims[2], p->tensors[dst].dims[3]);
    return 0;
}

int zoo_plan_activation(zoo_plan *p, int src, int dst, int act) {
    step *s = new_step(p, ACTIVATION, dst, act);
    if (!s || set_sources(p, s, &src, 1)) return -1;
    snprintf(s->description, sizeof s->description, "activation%s", act_names[act]);
    return 0;
}

int zoo_plan_binary(zoo_plan *p, int a, int b, int dst, int kind, int sum, int act) {
    step *s = new_step(p, BINARY, dst, act);
    int srcs[2] = {a, b};
    if (!s || set_sources(p, s, srcs, 2)) return -1;
    if (sum >= 0 && !valid(p, sum)) return fail(p, "binary: no tensor %d to add", sum);
    s->alg = kind;
    s->sum = sum;
    snprintf(s->description, sizeof s->description, "%s%s%s", kind == ZOO_BINARY_ADD ? "add" : "mul", sum >= 0 ? " +sum" : "",
             act_names[act]);
    return 0;
}

int zoo_plan_concat(zoo_plan *p, const int *srcs, int count, int dst) {
    step *s = new_step(p, CONCAT, dst, ZOO_ACT_NONE);
    if (!s || set_sources(p, s, srcs, count)) return -1;
    snprintf(s->description, sizeof s->description, "concat of %d -> %d channels", count, p->tensors[dst].dims[1]);
    return 0;
}

int zoo_plan_batchnorm(zoo_plan *p, int src, int dst, const float *mean, const float *var, const float *gamma,
                       const float *beta, float eps, int act) {
    step *s = new_step(p, BATCHNORM, dst, act);
    if (!s || set_sources(p, s, &src, 1)) return -1;
    int c = p->tensors[src].dims[1];
    /* weights: mean then variance; extra: gamma then beta (oneDNN's scale_shift). */
    s->weights = malloc(2 * c * sizeof(float));
    s->extra = malloc(2 * c * sizeof(float));
    if (!s->weights || !s->extra) return fail(p, "out of memory");
    memcpy(s->weights, mean, c * sizeof(float));
    memcpy(s->weights + c, var, c * sizeof(float));
    memcpy(s->extra, gamma, c * sizeof(float));
    memcpy(s->extra + c, beta, c * sizeof(float));
    s->eps = eps;
    snprintf(s->description, sizeof s->description, "batchnorm %d%s", c, act_names[act]);
    return 0;
}

int zoo_plan_pad(zoo_plan *p, int src, int dst, const int margins[4], float value) {
    step *s = new_step(p, PAD, dst, ZOO_ACT_NONE);
    if (!s || set_sources(p, s, &src, 1)) return -1;
    const tensor *in = &p->tensors[src], *out = &p->tensors[dst];
    if (in->rank != 4 || out->rank != 4 || out->dims[0] != in->dims[0] || out->dims[1] != in->dims[1]
        || out->dims[2] != in->dims[2] + margins[0] + margins[2] || out->dims[3] != in->dims[3] + margins[1] + margins[3])
        return fail(p, "pad: the margins do not turn [%d, %d, %d, %d] into [%d, %d, %d, %d]", in->dims[0], in->dims[1],
                    in->dims[2], in->dims[3], out->dims[0], out->dims[1], out->dims[2], out->dims[3]);
    memcpy(s->margins, margins, sizeof s->margins);
    s->value = value;
    snprintf(s->description, sizeof s->description, "pad %d %d %d %d with %g: blocked copy", margins[0], margins[1],
             margins[2], margins[3], value);
    return 0;
}

int zoo_plan_flatten(zoo_plan *p, int src, int dst) {
    step *s = new_step(p, FLATTEN, dst, ZOO_ACT_NONE);
    if (!s || set_sources(p, s, &src, 1)) return -1;
    snprintf(s->description, sizeof s->description, "flatten");
    return 0;
}

/* ---- finalize ---------------------------------------------------------------------------- */

static void describe_tensor(const tensor *t, dnnl_memory_desc_t *md, dnnl_format_tag_t tag) {
    dnnl_dims_t dims = {t->dims[0], t->dims[1], t->dims[2], t->dims[3]};
    p_dnnl_memory_desc_init_by_tag(md, t->rank, dims, dnnl_f32, t->rank == 2 ? dnnl_ab : tag);
}

/* The blocked layout the convolutions want here: asked of oneDNN for a typical 3×3 layer. */
static dnnl_format_tag_t blocked_layout(void) {
    dnnl_memory_desc_t src, weights, dst;
    dnnl_dims_t sd = {1, 64, 28, 28}, wd = {64, 64, 3, 3}, one = {1, 1}, zero = {0, 0};
    p_dnnl_memory_desc_init_by_tag(&src, 4, sd, dnnl_f32, dnnl_format_tag_any);
    p_dnnl_memory_desc_init_by_tag(&dst, 4, sd, dnnl_f32, dnnl_format_tag_any);
    p_dnnl_memory_desc_init_by_tag(&weights, 4, wd, dnnl_f32, dnnl_format_tag_any);
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t pd;
    dnnl_format_tag_t tag = dnnl_aBcd8b;
    if (p_dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &src, &weights,
                                                     NULL, &dst, one, zero, one, one) != dnnl_success) return tag;
    if (p_dnnl_primitive_desc_create(&pd, &cd, NULL, zoo_dnnl_engine, NULL) != dnnl_success) return tag;
    const dnnl_memory_desc_t *chosen = p_dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    if (chosen && chosen->format_kind == dnnl_blocked && chosen->format_desc.blocking.inner_nblks == 1
        && chosen->format_desc.blocking.inner_idxs[0] == 1 && chosen->format_desc.blocking.inner_blks[0] == 16)
        tag = dnnl_aBcd16b;
    p_dnnl_primitive_desc_destroy(pd);
    return tag;
}

/* Attributes: a user scratchpad, and the post-ops (sum, then activation) where the primitive
   takes them; activation and batch-norm steps apply their activation themselves. */
static dnnl_primitive_attr_t make_attr(const step *s, int with_sum) {
    dnnl_primitive_attr_t attr;
    if (p_dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
    p_dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (s->kind == ACTIVATION || s->kind == BATCHNORM) return attr;
    if (with_sum || s->act) {
        dnnl_post_ops_t ops;
        p_dnnl_post_ops_create(&ops);
        if (with_sum) p_dnnl_post_ops_append_sum(ops, 1.0f);
        if (s->act == ZOO_ACT_RELU) p_dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
        if (s->act == ZOO_ACT_RELU6) p_dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_clip, 0.0f, 6.0f);
        if (s->act == ZOO_ACT_SIGMOID) p_dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_logistic, 0.0f, 0.0f);
        p_dnnl_primitive_attr_set_post_ops(attr, ops);
        p_dnnl_post_ops_destroy(ops);
    }
    return attr;
}

static void eltwise_of(int act, dnnl_alg_kind_t *alg, float *alpha, float *beta) {
    *alpha = 0; *beta = 0;
    *alg = act == ZOO_ACT_RELU6 ? dnnl_eltwise_clip : act == ZOO_ACT_SIGMOID ? dnnl_eltwise_logistic : dnnl_eltwise_relu;
    if (act == ZOO_ACT_RELU6) *beta = 6;
}

/* The primitive descriptor of step `index` (NULL with p->error set when oneDNN refuses). */
static dnnl_primitive_desc_t describe_step(zoo_plan *p, int index, int with_sum) {
    step *s = &p->steps[index];
    const dnnl_memory_desc_t *src = &p->tensors[s->srcs[0]].md, *dst = &p->tensors[s->dst].md;
    dnnl_memory_desc_t wrong, any_src, any_dst;
    if (s->relayout) {
        dnnl_dims_t sd = {s->shape.batch, s->shape.in_channels, s->shape.height, s->shape.width};
        dnnl_dims_t dd = {s->shape.batch, s->shape.out_channels, s->shape.out_h, s->shape.out_w};
        p_dnnl_memory_desc_init_by_tag(&any_src, 4, sd, dnnl_f32, dnnl_format_tag_any);
        p_dnnl_memory_desc_init_by_tag(&any_dst, 4, dd, dnnl_f32, dnnl_format_tag_any);
        src = &any_src;
        dst = &any_dst;
    }
    if (p->fault == 2 && s->kind == POOL) {
        describe_tensor(&p->tensors[s->srcs[0]], &wrong, dnnl_nchw);
        src = &wrong;
    }
    dnnl_primitive_attr_t attr = make_attr(s, with_sum);
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t status = dnnl_unimplemented;
    switch (s->kind) {
    case CONV: {
        const zoo_conv_shape *c = &s->shape;
        dnnl_memory_desc_t weights, bias;
        dnnl_dims_t bias_dims = {c->out_channels};
        p_dnnl_memory_desc_init_by_tag(&bias, 1, bias_dims, dnnl_f32, dnnl_x);
        if (c->groups > 1) {
            dnnl_dims_t dims = {c->groups, c->out_channels / c->groups, c->in_channels / c->groups, c->kernel_h, c->kernel_w};
            p_dnnl_memory_desc_init_by_tag(&weights, 5, dims, dnnl_f32, dnnl_format_tag_any);
        } else {
            dnnl_dims_t dims = {c->out_channels, c->in_channels, c->kernel_h, c->kernel_w};
            p_dnnl_memory_desc_init_by_tag(&weights, 4, dims, dnnl_f32, dnnl_format_tag_any);
        }
        dnnl_dims_t strides = {c->stride_h, c->stride_w}, dilates = {c->dilation_h - 1, c->dilation_w - 1};
        dnnl_dims_t padding = {c->pad_h, c->pad_w};
        dnnl_convolution_desc_t desc;
        status = p_dnnl_dilated_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct, src,
                                                              &weights, s->bias ? &bias : NULL, dst, strides, dilates,
                                                              padding, padding);
        if (status == dnnl_success) status = p_dnnl_primitive_desc_create(&pd, &desc, attr, zoo_dnnl_engine, NULL);
        break;
    }
    case LINEAR: {
        dnnl_memory_desc_t weights, bias;
        dnnl_dims_t wd = {p->tensors[s->dst].dims[1], p->tensors[s->srcs[0]].dims[1]}, bd = {p->tensors[s->dst].dims[1]};
        p_dnnl_memory_desc_init_by_tag(&weights, 2, wd, dnnl_f32, dnnl_format_tag_any);
        p_dnnl_memory_desc_init_by_tag(&bias, 1, bd, dnnl_f32, dnnl_x);
        dnnl_inner_product_desc_t desc;
        status = p_dnnl_inner_product_forward_desc_init(&desc, dnnl_forward_inference, src, &weights, s->bias ? &bias : NULL, dst);
        if (status == dnnl_success) status = p_dnnl_primitive_desc_create(&pd, &desc, attr, zoo_dnnl_engine, NULL);
        break;
    }
    case POOL: {
        static const dnnl_alg_kind_t algs[] = {dnnl_pooling_max, dnnl_pooling_avg_include_padding, dnnl_pooling_avg_exclude_padding};
        dnnl_dims_t strides = {s->stride[0], s->stride[1]}, kernel = {s->kernel[0], s->kernel[1]}, dilation = {0, 0};
        dnnl_dims_t begin = {s->pad_begin[0], s->pad_begin[1]}, end = {s->pad_end[0], s->pad_end[1]};
        dnnl_pooling_v2_desc_t desc;
        status = p_dnnl_pooling_v2_forward_desc_init(&desc, dnnl_forward_inference, algs[s->alg], src, dst, strides, kernel,
                                                     dilation, begin, end);
        if (status == dnnl_success) status = p_dnnl_primitive_desc_create(&pd, &desc, attr, zoo_dnnl_engine, NULL);
        break;
    }
    case ACTIVATION: {
        dnnl_alg_kind_t alg;
        float alpha, beta;
        eltwise_of(s->act, &alg, &alpha, &beta);
        dnnl_eltwise_desc_t desc;
        status = p_dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_inference, alg, src, alpha, beta);
        if (status == dnnl_success) status = p_dnnl_primitive_desc_create(&pd, &desc, attr, zoo_dnnl_engine, NULL);
        break;
    }
    case BINARY: {
        dnnl_binary_desc_t desc;
        status = p_dnnl_binary_desc_init(&desc, s->alg == ZOO_BINARY_ADD ? dnnl_binary_add : dnnl_binary_mul, src,
                                         &p->tensors[s->srcs[1]].md, dst);
        if (status == dnnl_success) status = p_dnnl_primitive_desc_create(&pd, &desc, attr, zoo_dnnl_engine, NULL);
        break;
    }
    case CONCAT: {
        dnnl_memory_desc_t *mds = malloc(s->count * sizeof *mds);
        if (!mds) break;
        for (int i = 0; i < s->count; i++) mds[i] = p->tensors[s->srcs[i]].md;
        status = p_dnnl_concat_primitive_desc_create(&pd, dst, s->count, 1, mds, attr, zoo_dnnl_engine);
        free(mds);
        break;
    }
    case BATCHNORM: {
        unsigned flags = dnnl_use_global_stats | dnnl_use_scaleshift | (s->act == ZOO_ACT_RELU ? dnnl_fuse_norm_relu : 0);
        if (s->act != ZOO_ACT_NONE && s->act != ZOO_ACT_RELU) break;
        dnnl_batch_normalization_desc_t desc;
        status = p_dnnl_batch_normalization_forward_desc_init(&desc, dnnl_forward_inference, src, s->eps, flags);
        if (status == dnnl_success) status = p_dnnl_primitive_desc_create(&pd, &desc, attr, zoo_dnnl_engine, NULL);
        break;
    }
    case FLATTEN: {
        const tensor *in = &p->tensors[s->srcs[0]];
        dnnl_memory_desc_t plain;
        describe_tensor(in, &plain, dnnl_nchw);
        status = p_dnnl_reorder_primitive_desc_create(&pd, src, zoo_dnnl_engine, &plain, zoo_dnnl_engine, attr);
        break;
    }
    }
    if (attr) p_dnnl_primitive_attr_destroy(attr);
    if (status != dnnl_success) {
        fail(p, "oneDNN has no kernel for step %d (%s): status %d", index, s->description, (int)status);
        return NULL;
    }
    return pd;
}

static int root_of(const zoo_plan *p, int t) {
    while (p->tensors[t].root != t) t = p->tensors[t].root;
    return t;
}

/* The tensor that owns the arena storage `t` lives in. */
static int storage_of(const zoo_plan *p, int t) {
    return root_of(p, p->tensors[t].view_of >= 0 ? p->tensors[t].view_of : t);
}

static void *address(const zoo_plan *p, int t) {
    const tensor *v = &p->tensors[t];
    size_t slice = v->view_of >= 0 ? (size_t)v->channel_offset * v->dims[2] * v->dims[3] * sizeof(float) : 0;
    return (char *)p->arena + p->tensors[storage_of(p, t)].offset + slice;
}

/* Concatenation in place. With one image, a channel slice of a blocked tensor that starts at a
   block boundary is itself a dense blocked tensor, so each input of a concatenation can be
   written straight into its slice of the output, and the concatenation costs nothing. Walking
   the concatenations from the last, an input that is already a slice of a later one (DenseNet's
   block input, in every concatenation of the block) makes this output a slice of that one too. */
static void concatenate_in_place(zoo_plan *p) {
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

static int bind(zoo_plan *p, step *s, int arg, const dnnl_memory_desc_t *md, void *data) {
    if (s->nmemories == (int)(sizeof s->memories / sizeof s->memories[0])) return fail(p, "%s: too many inputs", s->description);
    dnnl_memory_t memory;
    if (p_dnnl_memory_create(&memory, md, zoo_dnnl_engine, data) != dnnl_success)
        return fail(p, "%s: oneDNN could not describe an argument", s->description);
    s->memories[s->nmemories++] = memory;
    s->args[s->nargs].arg = arg;
    s->args[s->nargs++].memory = memory;
    return 0;
}

/* Copies `count` plain floats into `*owned` in the layout `wanted`, described plainly by `plain`. */
static int reorder_constant(zoo_plan *p, const float *data, const dnnl_memory_desc_t *plain,
                            const dnnl_memory_desc_t *wanted, void **owned) {
    size_t bytes = p_dnnl_memory_desc_get_size(wanted);
    if (posix_memalign(owned, 64, bytes ? bytes : 64) != 0) { *owned = NULL; return fail(p, "out of memory"); }
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
    return ok ? 0 : fail(p, "oneDNN could not reorder weights");
}

/* A reorder between two layouts of one tensor, created once. */
static int make_reorder(zoo_plan *p, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to, dnnl_primitive_t *reorder) {
    dnnl_primitive_desc_t pd;
    if (p_dnnl_reorder_primitive_desc_create(&pd, from, zoo_dnnl_engine, to, zoo_dnnl_engine, NULL) != dnnl_success)
        return fail(p, "oneDNN has no reorder between two layouts");
    dnnl_status_t status = p_dnnl_primitive_create(reorder, pd);
    p_dnnl_primitive_desc_destroy(pd);
    return status == dnnl_success ? 0 : fail(p, "oneDNN could not create a reorder");
}

/* Whether step `i` may write its output over tensor `c` (nothing reads `c` after it). */
static int may_overwrite(const zoo_plan *p, int i, int c) {
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
static int choose_own_kernel(zoo_plan *p, step *s, int no_blocked_kernel) {
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

static int bind_step(zoo_plan *p, int i, dnnl_primitive_desc_t pd) {
    step *s = &p->steps[i];
    void *dst = address(p, s->dst);
    const dnnl_memory_desc_t *dst_md = &p->tensors[s->dst].md;
    if (s->sum >= 0 && (s->relayout || storage_of(p, s->sum) != storage_of(p, s->dst))) {
        /* The sum's input into the output buffer first (the kernel's private one after a relayout). */
        const dnnl_memory_desc_t *target = s->relayout ? p_dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0) : dst_md;
        if (s->relayout && posix_memalign(&s->owned[2], 64, p_dnnl_memory_desc_get_size(target)) != 0) return fail(p, "out of memory");
        if (make_reorder(p, &p->tensors[s->sum].md, target, &s->copy)) return -1;
        dnnl_memory_t from, to;
        if (p_dnnl_memory_create(&from, &p->tensors[s->sum].md, zoo_dnnl_engine, address(p, s->sum)) != dnnl_success
            || p_dnnl_memory_create(&to, target, zoo_dnnl_engine, s->relayout ? s->owned[2] : dst) != dnnl_success)
            return fail(p, "%s: oneDNN could not describe the sum", s->description);
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
        if (!wanted || !plain_bytes_weights(s, &plain, p)) return fail(p, "%s: no weights layout", s->description);
        if (reorder_constant(p, s->weights, &plain, wanted, &s->owned[0])) return -1;
        free(s->weights);
        s->weights = NULL;
        const dnnl_memory_desc_t *src_md = &p->tensors[s->srcs[0]].md;
        void *src = address(p, s->srcs[0]);
        if (s->relayout) {
            /* Private buffers in the layouts the kernel chose, filled and emptied by reorders. */
            const dnnl_memory_desc_t *used_src = p_dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
            const dnnl_memory_desc_t *used_dst = p_dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
            if (posix_memalign(&s->owned[1], 64, p_dnnl_memory_desc_get_size(used_src)) != 0
                || (!s->owned[2] && posix_memalign(&s->owned[2], 64, p_dnnl_memory_desc_get_size(used_dst)) != 0))
                return fail(p, "out of memory");
            if (make_reorder(p, src_md, used_src, &s->reorder_src) || make_reorder(p, used_dst, dst_md, &s->reorder_dst)) return -1;
            dnnl_memory_t m[4];
            if (p_dnnl_memory_create(&m[0], src_md, zoo_dnnl_engine, src) != dnnl_success
                || p_dnnl_memory_create(&m[1], used_src, zoo_dnnl_engine, s->owned[1]) != dnnl_success
                || p_dnnl_memory_create(&m[2], used_dst, zoo_dnnl_engine, s->owned[2]) != dnnl_success
                || p_dnnl_memory_create(&m[3], dst_md, zoo_dnnl_engine, dst) != dnnl_success)
                return fail(p, "%s: oneDNN could not describe its reorders", s->description);
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
            describe_tensor(&p->tensors[s->srcs[0]], &plain, dnnl_nchw);
            out = &plain;
        }
        int from = s->kind == FLATTEN ? DNNL_ARG_FROM : DNNL_ARG_SRC, to = s->kind == FLATTEN ? DNNL_ARG_TO : DNNL_ARG_DST;
        const dnnl_memory_desc_t *in = p_dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
        if (bind(p, s, from, in ? in : &p->tensors[s->srcs[0]].md, address(p, s->srcs[0])) || bind(p, s, to, out, dst)) return -1;
        if (s->kind == POOL) {
            const dnnl_memory_desc_t *workspace = p_dnnl_primitive_desc_query_md(pd, dnnl_query_workspace_md, 0);
            if (workspace && p_dnnl_memory_desc_get_size(workspace) > 0) return fail(p, "%s: wants a workspace", s->description);
        }
        return 0;
    }
    case BINARY:
        return bind(p, s, DNNL_ARG_SRC_0, &p->tensors[s->srcs[0]].md, address(p, s->srcs[0]))
            || bind(p, s, DNNL_ARG_SRC_1, &p->tensors[s->srcs[1]].md, address(p, s->srcs[1]))
            || bind(p, s, DNNL_ARG_DST, dst_md, dst) ? -1 : 0;
    case CONCAT:
        for (int k = 0; k < s->count; k++)
            if (bind(p, s, DNNL_ARG_MULTIPLE_SRC + k, &p->tensors[s->srcs[k]].md, address(p, s->srcs[k]))) return -1;
        return bind(p, s, DNNL_ARG_DST, dst_md, dst);
    case BATCHNORM: {
        int c = p->tensors[s->dst].dims[1];
        dnnl_memory_desc_t vector, pair;
        dnnl_dims_t vd = {c}, pd2 = {2, c};
        p_dnnl_memory_desc_init_by_tag(&vector, 1, vd, dnnl_f32, dnnl_x);
        p_dnnl_memory_desc_init_by_tag(&pair, 2, pd2, dnnl_f32, dnnl_nc);
        p->weight_bytes += 4 * c * sizeof(float);
        return bind(p, s, DNNL_ARG_SRC, &p->tensors[s->srcs[0]].md, address(p, s->srcs[0]))
            || bind(p, s, DNNL_ARG_DST, dst_md, dst) || bind(p, s, DNNL_ARG_MEAN, &vector, s->weights)
            || bind(p, s, DNNL_ARG_VARIANCE, &vector, s->weights + c) || bind(p, s, DNNL_ARG_SCALE_SHIFT, &pair, s->extra) ? -1 : 0;
    }
    }
    return fail(p, "unknown step kind");
}

typedef struct { int root; size_t bytes; int first, last; } group;

static int by_size(const void *a, const void *b) {
    const group *x = a, *y = b;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : x->root - y->root;
}

/* Places every storage group in the arena: largest first, each at the lowest offset that no
   group alive at the same time occupies. */
static size_t place(zoo_plan *p) {
    group *groups = calloc(p->ntensors, sizeof *groups);
    int count = 0;
    if (!groups) return 0;
    for (int t = 0; t < p->ntensors; t++) {
        if (p->tensors[t].first == -2) continue; /* never used */
        int r = storage_of(p, t);
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

int zoo_plan_finalize(zoo_plan *p, int input, int output, int threads) {
    if (p->finalized) return fail(p, "the plan is already finalized");
    if (!valid(p, input) || !valid(p, output)) return fail(p, "no input or output tensor");
    p->input = input;
    p->output = output;
    p->threads = threads;
    p->blocked = blocked_layout();
    if (p_dnnl_stream_create(&p->stream, zoo_dnnl_engine, dnnl_stream_default_flags) != dnnl_success)
        return fail(p, "oneDNN could not create a stream");
    for (int t = 0; t < p->ntensors; t++) describe_tensor(&p->tensors[t], &p->tensors[t].md, p->blocked);
    /* The image itself stays plain when only first-layer convolutions (few channels) read it. */
    tensor *in = &p->tensors[input];
    int plain_input = in->rank == 4 && in->dims[1] < 8;
    for (int i = 0; i < p->nsteps; i++)
        for (int k = 0; k < p->steps[i].count; k++)
            if (p->steps[i].srcs[k] == input && (p->steps[i].kind != CONV || p->steps[i].shape.groups != 1)) plain_input = 0;
    if (plain_input) {
        /* ... and when oneDNN has a real kernel for them on plain input (it has none for
           AlexNet's 11×11 stride-4 convolution, whose reference kernel takes seconds). */
        describe_tensor(in, &in->md, dnnl_nchw);
        for (int i = 0; i < p->nsteps && plain_input; i++) {
            if (p->steps[i].srcs[0] != input) continue;
            dnnl_primitive_desc_t pd = describe_step(p, i, 0);
            const char *name = NULL;
            if (!pd || p_dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) != dnnl_success || !name
                || strncmp(name, "ref", 3) == 0) plain_input = 0;
            if (pd) p_dnnl_primitive_desc_destroy(pd);
        }
        if (!plain_input) describe_tensor(in, &in->md, p->blocked);
    }

    /* Lifetimes, in steps; the input is written before step 0, the output read after the last. */
    in->first = -1;
    for (int i = 0; i < p->nsteps; i++) {
        step *s = &p->steps[i];
        for (int k = 0; k <= s->count; k++) {
            int t = k < s->count ? s->srcs[k] : s->sum;
            if (t < 0) continue;
            if (p->tensors[t].first == -2) return fail(p, "step %d (%s) reads tensor %d before any step writes it", i, s->description, t);
            p->tensors[t].last = i;
        }
        if (p->tensors[s->dst].first != -2) return fail(p, "step %d (%s) writes tensor %d a second time", i, s->description, s->dst);
        p->tensors[s->dst].first = i;
    }
    if (p->tensors[output].first == -2) return fail(p, "no step writes the output");
    p->tensors[output].last = p->nsteps;

    if (p->fault == 1)
        for (int i = 0; i < p->nsteps; i++) p->steps[i].sum = -1;

    concatenate_in_place(p);

    /* In place: a step writes over the input that dies with it. */
    for (int i = 0; i < p->nsteps; i++) {
        step *s = &p->steps[i];
        int candidate = s->sum >= 0 || s->kind == CONV ? s->sum
                      : (s->kind == ACTIVATION || s->kind == BINARY || s->kind == BATCHNORM) ? s->srcs[0] : -1;
        if (candidate >= 0 && may_overwrite(p, i, candidate)) p->tensors[s->dst].root = root_of(p, candidate);
    }

    dnnl_primitive_desc_t *pds = calloc(p->nsteps, sizeof *pds);
    if (!pds) return fail(p, "out of memory");
    int status = 0;
    for (int i = 0; i < p->nsteps && !status; i++) {
        step *s = &p->steps[i];
        if (s->in_place) {
            strncat(s->description, ": in place", sizeof s->description - strlen(s->description) - 1);
            continue;
        }
        if (s->kind == PAD) {
            if (p->tensors[s->srcs[0]].md.format_kind != dnnl_blocked || p->tensors[s->srcs[0]].rank != 4
                || s->srcs[0] == p->input) { status = fail(p, "pad: the input must be a blocked activation"); break; }
            continue;
        }
        if (choose_own_kernel(p, s, 0)) {
            if (!s->own.kind) { status = fail(p, "out of memory for step %d", i); break; }
            continue;
        }
        if (!(pds[i] = describe_step(p, i, s->sum >= 0))) { status = -1; break; }
        const char *chosen = NULL;
        if (s->kind == CONV && p_dnnl_primitive_desc_query(pds[i], dnnl_query_impl_info_str, 0, &chosen) == dnnl_success
            && chosen && strncmp(chosen, "ref", 3) == 0) {
            if (choose_own_kernel(p, s, 1)) {
                p_dnnl_primitive_desc_destroy(pds[i]);
                pds[i] = NULL;
                if (!s->own.kind) { status = fail(p, "out of memory for step %d", i); break; }
                continue;
            }
            s->relayout = 1;
            dnnl_primitive_desc_t other = describe_step(p, i, s->sum >= 0);
            if (other) { p_dnnl_primitive_desc_destroy(pds[i]); pds[i] = other; } else s->relayout = 0;
        }
        const dnnl_memory_desc_t *scratch = p_dnnl_primitive_desc_query_md(pds[i], dnnl_query_scratchpad_md, 0);
        size_t bytes = scratch ? p_dnnl_memory_desc_get_size(scratch) : 0;
        if (bytes > p->scratch_bytes) p->scratch_bytes = bytes;
        const char *name = NULL;
        if (p_dnnl_primitive_desc_query(pds[i], dnnl_query_impl_info_str, 0, &name) == dnnl_success && name) {
            size_t used = strlen(s->description);
            snprintf(s->description + used, sizeof s->description - used, ": %s%s", name, s->relayout ? " between reorders" : "");
        }
        if (p_dnnl_primitive_create(&s->primitive, pds[i]) != dnnl_success)
            status = fail(p, "oneDNN could not create step %d (%s)", i, s->description);
    }
    if (!status) {
        p->arena_bytes = place(p);
        if (posix_memalign(&p->arena, 64, p->arena_bytes ? p->arena_bytes : 64) != 0
            || posix_memalign(&p->scratch, 64, p->scratch_bytes ? p->scratch_bytes : 64) != 0)
            status = fail(p, "out of memory for a %zu-byte arena", p->arena_bytes);
    }
    for (int i = 0; i < p->nsteps && !status; i++)
        if (!p->steps[i].in_place && p->steps[i].kind != PAD) status = bind_step(p, i, pds[i]);
    for (int i = 0; i < p->nsteps; i++) if (pds[i]) p_dnnl_primitive_desc_destroy(pds[i]);
    free(pds);
    if (status) return status;

    /* The caller's plain input and output. */
    tensor *out = &p->tensors[output];
    dnnl_memory_desc_t user_in, user_out;
    describe_tensor(in, &user_in, dnnl_nchw);
    describe_tensor(out, &user_out, dnnl_nchw);
    if (make_reorder(p, &user_in, &in->md, &p->reorder_in) || make_reorder(p, &out->md, &user_out, &p->reorder_out)) return -1;
    if (p_dnnl_memory_create(&p->user_in, &user_in, zoo_dnnl_engine, DNNL_MEMORY_NONE) != dnnl_success
        || p_dnnl_memory_create(&p->user_out, &user_out, zoo_dnnl_engine, DNNL_MEMORY_NONE) != dnnl_success
        || p_dnnl_memory_create(&p->arena_in, &in->md, zoo_dnnl_engine, address(p, input)) != dnnl_success
        || p_dnnl_memory_create(&p->arena_out, &out->md, zoo_dnnl_engine, address(p, output)) != dnnl_success)
        return fail(p, "oneDNN could not describe the input or output");
    p->finalized = 1;
    return 0;
}

/* The pad step on the blocked layout [N][C/b][H][W][b]: each output pixel's b lanes are the
   input's, or `value` (zero in the lanes past the last channel, which stay zero everywhere). */
static void run_pad(const zoo_plan *p, const step *s) {
    const tensor *in = &p->tensors[s->srcs[0]], *out = &p->tensors[s->dst];
    int b = p->blocked == dnnl_aBcd16b ? 16 : 8;
    int channels = in->dims[1], blocks = (channels + b - 1) / b;
    int ih = in->dims[2], iw = in->dims[3], oh = out->dims[2], ow = out->dims[3];
    const float *x = address(p, s->srcs[0]);
    float *y = address(p, s->dst);
    float fill[16];
    for (long n = 0; n < in->dims[0]; n++)
        for (int cb = 0; cb < blocks; cb++) {
            for (int lane = 0; lane < b; lane++) fill[lane] = cb * b + lane < channels ? s->value : 0;
            const float *plane = x + ((n * blocks + cb) * (long)ih * iw) * b;
            float *target = y + ((n * blocks + cb) * (long)oh * ow) * b;
            for (int r = 0; r < oh; r++) {
                int sr = r - s->margins[0];
                for (int c = 0; c < ow; c++) {
                    int sc = c - s->margins[1];
                    const float *from = sr >= 0 && sr < ih && sc >= 0 && sc < iw ? plane + ((long)sr * iw + sc) * b : fill;
                    memcpy(target + ((long)r * ow + c) * b, from, b * sizeof(float));
                }
            }
        }
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int zoo_plan_run_timed(zoo_plan *p, const float *input, float *output, double *step_ms) {
    if (!p->finalized) return fail(p, "the plan is not finalized");
    if (p_omp_set_num_threads && p->threads > 0) p_omp_set_num_threads(p->threads);
    p_dnnl_memory_set_data_handle(p->user_in, (void *)input);
    p_dnnl_memory_set_data_handle(p->user_out, output);
    dnnl_exec_arg_t in_args[2] = {{DNNL_ARG_FROM, p->user_in}, {DNNL_ARG_TO, p->arena_in}};
    if (p_dnnl_primitive_execute(p->reorder_in, p->stream, 2, in_args) != dnnl_success) return fail(p, "the input reorder failed");
    for (int i = 0; i < p->nsteps; i++) {
        step *s = &p->steps[i];
        if (s->in_place) { if (step_ms) step_ms[i] = 0; continue; }
        double start = step_ms ? now_ms() : 0;
        if (s->kind == PAD) {
            run_pad(p, s);
            if (step_ms) step_ms[i] = now_ms() - start;
            continue;
        }
        if (s->reorder_src && p_dnnl_primitive_execute(s->reorder_src, p->stream, 2, s->reorder_src_args) != dnnl_success)
            return fail(p, "step %d (%s): the reorder of its input failed", i, s->description);
        if (s->copy && p_dnnl_primitive_execute(s->copy, p->stream, 2, s->copy_args) != dnnl_success)
            return fail(p, "step %d (%s): the copy of its sum failed", i, s->description);
        if (s->own.kind)
            zoo_own_run(&s->own, address(p, s->srcs[0]), address(p, s->dst), p->scratch, p->threads);
        else if (p_dnnl_primitive_execute(s->primitive, p->stream, s->nargs, s->args) != dnnl_success)
            return fail(p, "step %d (%s) failed", i, s->description);
        if (s->reorder_dst && p_dnnl_primitive_execute(s->reorder_dst, p->stream, 2, s->reorder_dst_args) != dnnl_success)
            return fail(p, "step %d (%s): the reorder of its output failed", i, s->description);
        if (step_ms) { p_dnnl_stream_wait(p->stream); step_ms[i] = now_ms() - start; }
    }
    dnnl_exec_arg_t out_args[2] = {{DNNL_ARG_FROM, p->arena_out}, {DNNL_ARG_TO, p->user_out}};
    if (p_dnnl_primitive_execute(p->reorder_out, p->stream, 2, out_args) != dnnl_success) return fail(p, "the output reorder failed");
    return p_dnnl_stream_wait(p->stream) == dnnl_success ? 0 : fail(p, "oneDNN's stream failed");
}

int zoo_plan_run(zoo_plan *p, const float *input, float *output) { return zoo_plan_run_timed(p, input, output, NULL); }

int zoo_plan_steps(const zoo_plan *p) { return p->nsteps; }

const char *zoo_plan_step_description(const zoo_plan *p, int i) {
    return i >= 0 && i < p->nsteps ? p->steps[i].description : "";
}

double zoo_plan_step_macs(const zoo_plan *p, int i) { return i >= 0 && i < p->nsteps ? p->steps[i].macs : 0; }

size_t zoo_plan_arena_bytes(const zoo_plan *p) { return p->arena_bytes + p->scratch_bytes; }

size_t zoo_plan_weight_bytes(const zoo_plan *p) { return p->weight_bytes; }
