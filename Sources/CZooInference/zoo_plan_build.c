#include "zoo_plan_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *act_names[] = {"", " relu", " relu6", " sigmoid"};

int plan_fail(zoo_plan *p, const char *format, ...) {
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
    if (p->finalized) return plan_fail(p, "the plan is already finalized");
    if ((rank != 2 && rank != 4) || n <= 0 || c <= 0 || h <= 0 || w <= 0 || (rank == 2 && (h != 1 || w != 1)))
        return plan_fail(p, "a tensor of rank %d [%d, %d, %d, %d] is not a plan tensor", rank, n, c, h, w);
    if (p->ntensors == p->tensor_capacity) {
        int capacity = p->tensor_capacity ? 2 * p->tensor_capacity : 64;
        tensor *grown = realloc(p->tensors, capacity * sizeof *grown);
        if (!grown) return plan_fail(p, "out of memory");
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

int plan_valid(zoo_plan *p, int id) { return id >= 0 && id < p->ntensors; }

static step *new_step(zoo_plan *p, int kind, int dst, int act) {
    if (p->finalized) { plan_fail(p, "the plan is already finalized"); return NULL; }
    if (!plan_valid(p, dst)) { plan_fail(p, "step %d: no tensor %d", p->nsteps, dst); return NULL; }
    if (act < ZOO_ACT_NONE || act > ZOO_ACT_SIGMOID) { plan_fail(p, "step %d: no activation %d", p->nsteps, act); return NULL; }
    if (p->nsteps == p->step_capacity) {
        int capacity = p->step_capacity ? 2 * p->step_capacity : 64;
        step *grown = realloc(p->steps, capacity * sizeof *grown);
        if (!grown) { plan_fail(p, "out of memory"); return NULL; }
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
    if (!s->srcs) return plan_fail(p, "out of memory");
    for (int i = 0; i < count; i++) {
        if (!plan_valid(p, srcs[i])) return plan_fail(p, "step %d: no tensor %d", p->nsteps - 1, srcs[i]);
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
    if (sum >= 0 && !plan_valid(p, sum)) return plan_fail(p, "conv: no tensor %d to add", sum);
    s->sum = sum;
    s->shape = *shape;
    s->weight_count = (size_t)shape->out_channels * (shape->in_channels / shape->groups) * shape->kernel_h * shape->kernel_w;
    s->weights = copy_floats(weights, s->weight_count);
    s->bias = copy_floats(bias, shape->out_channels);
    if (!s->weights || (bias && !s->bias)) return plan_fail(p, "out of memory");
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
    if (in->rank != 2 || out->rank != 2) return plan_fail(p, "linear: rank-2 tensors expected");
    s->weight_count = (size_t)in->dims[1] * out->dims[1];
    s->weights = copy_floats(weights, s->weight_count);
    s->bias = copy_floats(bias, out->dims[1]);
    if (!s->weights || (bias && !s->bias)) return plan_fail(p, "out of memory");
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
    if (sum >= 0 && !plan_valid(p, sum)) return plan_fail(p, "binary: no tensor %d to add", sum);
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
    if (!s->weights || !s->extra) return plan_fail(p, "out of memory");
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
        return plan_fail(p, "pad: the margins do not turn [%d, %d, %d, %d] into [%d, %d, %d, %d]", in->dims[0], in->dims[1],
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
