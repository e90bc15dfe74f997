#include "zoo_dnnl.h"

#include "zoo_dnnl_library.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the library, loaded once ---------------------------------------------------------- */

#define ZOO_DEFINE(name) __typeof__(name) *p_##name;
ZOO_DNNL_FUNCTIONS(ZOO_DEFINE)
void (*p_omp_set_num_threads)(int);
void (*p_GOMP_parallel)(void (*)(void *), void *, unsigned, unsigned);
int (*p_omp_get_thread_num)(void);
int (*p_omp_get_num_threads)(void);

pthread_mutex_t zoo_dnnl_lock = PTHREAD_MUTEX_INITIALIZER;
dnnl_engine_t zoo_dnnl_engine;
dnnl_stream_t zoo_dnnl_stream;
static int state; /* 0 not tried, 1 loaded, -1 unavailable */

/* ZOO_DNNL_LAYOUT=plain or =blocked overrides the rule for every shape (an experiment's knob,
   read when the library loads). */
static int layout_override = -1;

int zoo_dnnl_load(void) {
    if (state) return state > 0;
    state = -1;
    const char *choice = getenv("ZOO_CONV");
    if (choice && strcmp(choice, "blas") == 0) return 0;
    if (choice && *choice && strcmp(choice, "auto") != 0)
        fprintf(stderr, "ZOO_CONV=%s is neither 'auto' nor 'blas'; using auto (oneDNN where it is installed).\n", choice);
    const char *layout = getenv("ZOO_DNNL_LAYOUT");
    if (layout && strcmp(layout, "plain") == 0) layout_override = 0;
    if (layout && strcmp(layout, "blocked") == 0) layout_override = 1;
    setenv("OMP_WAIT_POLICY", "passive", 0);
    void *library = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!library) return 0;
#define ZOO_RESOLVE(name) if (!(p_##name = (__typeof__(name) *)dlsym(library, #name))) return 0;
    ZOO_DNNL_FUNCTIONS(ZOO_RESOLVE)
    p_omp_set_num_threads = (void (*)(int))dlsym(library, "omp_set_num_threads");
    p_GOMP_parallel = (void (*)(void (*)(void *), void *, unsigned, unsigned))dlsym(library, "GOMP_parallel");
    p_omp_get_thread_num = (int (*)(void))dlsym(library, "omp_get_thread_num");
    p_omp_get_num_threads = (int (*)(void))dlsym(library, "omp_get_num_threads");
    if (p_dnnl_engine_create(&zoo_dnnl_engine, dnnl_cpu, 0) != dnnl_success) return 0;
    if (p_dnnl_stream_create(&zoo_dnnl_stream, zoo_dnnl_engine, dnnl_stream_default_flags) != dnnl_success) return 0;
    state = 1;
    return 1;
}

int zoo_dnnl_available(void) {
    pthread_mutex_lock(&zoo_dnnl_lock);
    int ok = zoo_dnnl_load();
    pthread_mutex_unlock(&zoo_dnnl_lock);
    return ok;
}

/* ---- primitives, cached by shape --------------------------------------------------------- */

enum { FORWARD = 0, BACKWARD_DATA = 1, BACKWARD_WEIGHTS = 2 };
enum { MAX_ARGS = 4 };

/* One argument of a primitive: the plain layout the caller passes, the layout the primitive
   wants, and the reorder between them when they differ (into it for inputs, out of it for
   outputs). */
typedef struct {
    int id, output;
    dnnl_memory_desc_t plain, used;
    dnnl_primitive_t reorder;
} argument;

typedef struct entry {
    int kind, relu, has_bias, accumulate;
    zoo_conv_shape shape;
    dnnl_primitive_t primitive;
    int count;
    argument args[MAX_ARGS];
    /* With accumulate and a blocked dst: the reorder of the caller's dst into it. */
    dnnl_primitive_t dst_in;
    char implementation[64];
    struct entry *next;
} entry;

static entry *entries;

/* Scratch for the blocked copies, one growing buffer per argument slot. */
static void *scratch[MAX_ARGS];
static size_t scratch_size[MAX_ARGS];

static void *scratch_buffer(int slot, size_t bytes) {
    if (scratch_size[slot] < bytes) {
        free(scratch[slot]);
        scratch[slot] = NULL;
        scratch_size[slot] = 0;
        if (posix_memalign(&scratch[slot], 64, bytes) != 0) { scratch[slot] = NULL; return NULL; }
        scratch_size[slot] = bytes;
    }
    return scratch[slot];
}

static int same_key(const entry *e, int kind, const zoo_conv_shape *s, int relu, int has_bias, int accumulate) {
    return e->kind == kind && e->relu == relu && e->has_bias == has_bias && e->accumulate == accumulate
        && memcmp(&e->shape, s, sizeof *s) == 0;
}

/* Weights kept in a kernel's layout, by the caller's tag. */
typedef struct kept {
    unsigned long long tag;
    const entry *owner;
    void *data;
    struct kept *next;
} kept;

static kept *kept_weights;

/* Blocked layouts pay off for spatial kernels; a 1×1 convolution is one matrix product on
   the plain layout, where reordering in and out would cost more than it saves (measured on
   ResNet-50's 1×1 layers at batch 16: 8 ms plain against 23 ms with the reorders). */
static int wants_blocked(const zoo_conv_shape *s) {
    return layout_override >= 0 ? layout_override : s->kernel_h * s->kernel_w > 1;
}

int zoo_dnnl_fuses_sum(const zoo_conv_shape *shape) { return wants_blocked(shape); }

static void describe(const zoo_conv_shape *s, dnnl_memory_desc_t *src, dnnl_memory_desc_t *weights,
                     dnnl_memory_desc_t *bias, dnnl_memory_desc_t *dst, dnnl_format_tag_t activations, int plain_weights) {
    dnnl_dims_t src_dims = {s->batch, s->in_channels, s->height, s->width};
    dnnl_dims_t dst_dims = {s->batch, s->out_channels, s->out_h, s->out_w};
    dnnl_dims_t bias_dims = {s->out_channels};
    p_dnnl_memory_desc_init_by_tag(src, 4, src_dims, dnnl_f32, activations);
    p_dnnl_memory_desc_init_by_tag(dst, 4, dst_dims, dnnl_f32, activations);
    p_dnnl_memory_desc_init_by_tag(bias, 1, bias_dims, dnnl_f32, dnnl_x);
    int g = s->groups;
    dnnl_format_tag_t weights_tag = plain_weights ? (g > 1 ? dnnl_goihw : dnnl_oihw) : dnnl_format_tag_any;
    if (g > 1) {
        dnnl_dims_t dims = {g, s->out_channels / g, s->in_channels / g, s->kernel_h, s->kernel_w};
        p_dnnl_memory_desc_init_by_tag(weights, 5, dims, dnnl_f32, weights_tag);
    } else {
        dnnl_dims_t dims = {s->out_channels, s->in_channels, s->kernel_h, s->kernel_w};
        p_dnnl_memory_desc_init_by_tag(weights, 4, dims, dnnl_f32, weights_tag);
    }
}

static void destroy_entry(entry *e) {
    if (e->primitive) p_dnnl_primitive_destroy(e->primitive);
    if (e->dst_in) p_dnnl_primitive_destroy(e->dst_in);
    for (int i = 0; i < e->count; i++)
        if (e->args[i].reorder) p_dnnl_primitive_destroy(e->args[i].reorder);
    free(e);
}

/* Fills argument `index` of `e` from the primitive's chosen layout for query `what`. */
static int bind(entry *e, const_dnnl_primitive_desc_t pd, int index, int id, int output,
                dnnl_query_t what, const dnnl_memory_desc_t *plain) {
    argument *a = &e->args[index];
    a->id = id;
    a->output = output;
    a->plain = *plain;
    const dnnl_memory_desc_t *used = p_dnnl_primitive_desc_query_md(pd, what, 0);
    if (!used) return 0;
    a->used = *used;
    a->reorder = NULL;
    if (p_dnnl_memory_desc_equal(&a->plain, &a->used)) return 1;
    dnnl_primitive_desc_t rpd;
    const dnnl_memory_desc_t *from = output ? &a->used : &a->plain, *to = output ? &a->plain : &a->used;
    if (p_dnnl_reorder_primitive_desc_create(&rpd, from, zoo_dnnl_engine, to, zoo_dnnl_engine, NULL) != dnnl_success) return 0;
    dnnl_status_t status = p_dnnl_primitive_create(&a->reorder, rpd);
    p_dnnl_primitive_desc_destroy(rpd);
    return status == dnnl_success;
}

/* A bias (1-D, one layout only) is passed as it is. */
static void bind_plain(entry *e, int index, int id, int output, const dnnl_memory_desc_t *plain) {
    argument *a = &e->args[index];
    a->id = id;
    a->output = output;
    a->plain = a->used = *plain;
    a->reorder = NULL;
}

static entry *build(int kind, const zoo_conv_shape *s, int relu, int has_bias, int accumulate) {
    entry *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->kind = kind;
    e->relu = relu;
    e->has_bias = has_bias;
    e->accumulate = accumulate;
    e->shape = *s;
    dnnl_memory_desc_t src, weights, bias, dst, psrc, pweights, pbias, pdst;
    describe(s, &psrc, &pweights, &pbias, &pdst, dnnl_nchw, 1);
    /* The weights take whatever layout the kernel likes, even on plain activations. */
    describe(s, &src, &weights, &bias, &dst, wants_blocked(s) ? dnnl_format_tag_any : dnnl_nchw, 0);
    dnnl_dims_t strides = {s->stride_h, s->stride_w};
    dnnl_dims_t dilates = {s->dilation_h - 1, s->dilation_w - 1};
    dnnl_dims_t padding = {s->pad_h, s->pad_w};
    int ok = 0;
    dnnl_convolution_desc_t forward, backward;
    dnnl_primitive_desc_t hint = NULL, pd = NULL;
    dnnl_primitive_attr_t attr = NULL;
    if (p_dnnl_dilated_convolution_forward_desc_init(&forward, kind == FORWARD ? dnnl_forward_inference : dnnl_forward_training,
                                                     dnnl_convolution_direct, &src, &weights, has_bias ? &bias : NULL, &dst,
                                                     strides, dilates, padding, padding) != dnnl_success) goto done;
    if (kind == FORWARD) {
        if (relu || accumulate) {
            dnnl_post_ops_t ops;
            if (p_dnnl_post_ops_create(&ops) != dnnl_success) goto done;
            if (accumulate) p_dnnl_post_ops_append_sum(ops, 1.0f);
            if (relu) p_dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
            p_dnnl_primitive_attr_create(&attr);
            p_dnnl_primitive_attr_set_post_ops(attr, ops);
            p_dnnl_post_ops_destroy(ops);
        }
        if (p_dnnl_primitive_desc_create(&pd, &forward, attr, zoo_dnnl_engine, NULL) != dnnl_success) goto done;
        e->count = has_bias ? 4 : 3;
        if (!bind(e, pd, 0, DNNL_ARG_SRC, 0, dnnl_query_src_md, &psrc)) goto done;
        if (!bind(e, pd, 1, DNNL_ARG_WEIGHTS, 0, dnnl_query_weights_md, &pweights)) goto done;
        if (!bind(e, pd, 2, DNNL_ARG_DST, 1, dnnl_query_dst_md, &pdst)) goto done;
        if (has_bias) bind_plain(e, 3, DNNL_ARG_BIAS, 0, &pbias);
        if (accumulate && e->args[2].reorder) {
            dnnl_primitive_desc_t rpd;
            if (p_dnnl_reorder_primitive_desc_create(&rpd, &pdst, zoo_dnnl_engine, &e->args[2].used, zoo_dnnl_engine, NULL) != dnnl_success) goto done;
            dnnl_status_t status = p_dnnl_primitive_create(&e->dst_in, rpd);
            p_dnnl_primitive_desc_destroy(rpd);
            if (status != dnnl_success) goto done;
        }
    } else {
        if (p_dnnl_primitive_desc_create(&hint, &forward, NULL, zoo_dnnl_engine, NULL) != dnnl_success) goto done;
        if (kind == BACKWARD_DATA) {
            if (p_dnnl_dilated_convolution_backward_data_desc_init(&backward, dnnl_convolution_direct, &src, &weights, &dst,
                                                                   strides, dilates, padding, padding) != dnnl_success) goto done;
            if (p_dnnl_primitive_desc_create(&pd, &backward, NULL, zoo_dnnl_engine, hint) != dnnl_success) goto done;
            e->count = 3;
            if (!bind(e, pd, 0, DNNL_ARG_DIFF_DST, 0, dnnl_query_diff_dst_md, &pdst)) goto done;
            if (!bind(e, pd, 1, DNNL_ARG_WEIGHTS, 0, dnnl_query_weights_md, &pweights)) goto done;
            if (!bind(e, pd, 2, DNNL_ARG_DIFF_SRC, 1, dnnl_query_diff_src_md, &psrc)) goto done;
        } else {
            if (p_dnnl_dilated_convolution_backward_weights_desc_init(&backward, dnnl_convolution_direct, &src, &weights,
                                                                      NULL, &dst, strides, dilates,
                                                                      padding, padding) != dnnl_success) goto done;
            if (p_dnnl_primitive_desc_create(&pd, &backward, NULL, zoo_dnnl_engine, hint) != dnnl_success) goto done;
            e->count = 3;
            if (!bind(e, pd, 0, DNNL_ARG_SRC, 0, dnnl_query_src_md, &psrc)) goto done;
            if (!bind(e, pd, 1, DNNL_ARG_DIFF_DST, 0, dnnl_query_diff_dst_md, &pdst)) goto done;
            if (!bind(e, pd, 2, DNNL_ARG_DIFF_WEIGHTS, 1, dnnl_query_diff_weights_md, &pweights)) goto done;
        }
    }
    const char *name = NULL;
    if (p_dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) == dnnl_success && name)
        strncpy(e->implementation, name, sizeof e->implementation - 1);
    ok = p_dnnl_primitive_create(&e->primitive, pd) == dnnl_success;
done:
    if (attr) p_dnnl_primitive_attr_destroy(attr);
    if (pd) p_dnnl_primitive_desc_destroy(pd);
    if (hint) p_dnnl_primitive_desc_destroy(hint);
    if (!ok) { destroy_entry(e); return NULL; }
    return e;
}

static entry *find(int kind, const zoo_conv_shape *s, int relu, int has_bias, int accumulate) {
    for (entry *e = entries; e; e = e->next)
        if (same_key(e, kind, s, relu, has_bias, accumulate)) return e->primitive ? e : NULL;
    entry *e = build(kind, s, relu, has_bias, accumulate);
    if (!e) {
        /* Remember the refusal (an entry without a primitive), so that a shape oneDNN cannot
           do costs one attempt, not one per call. */
        if (!(e = calloc(1, sizeof *e))) return NULL;
        e->kind = kind;
        e->relu = relu;
        e->has_bias = has_bias;
        e->accumulate = accumulate;
        e->shape = *s;
    }
    e->next = entries;
    entries = e;
    return e->primitive ? e : NULL;
}

static int run_reorder(dnnl_primitive_t reorder, dnnl_memory_t from, dnnl_memory_t to) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    return p_dnnl_primitive_execute(reorder, zoo_dnnl_stream, 2, args) == dnnl_success;
}

/* The kept weights for (tag, e), reordered from `plain` on first use; NULL if out of memory. */
static void *kept_copy(unsigned long long tag, const entry *e, const argument *a, dnnl_memory_t plain) {
    for (kept *k = kept_weights; k; k = k->next)
        if (k->tag == tag && k->owner == e) return k->data;
    kept *k = calloc(1, sizeof *k);
    size_t bytes = p_dnnl_memory_desc_get_size(&a->used);
    if (!k || posix_memalign(&k->data, 64, bytes) != 0) { free(k); return NULL; }
    dnnl_memory_t copy;
    int ok = p_dnnl_memory_create(&copy, &a->used, zoo_dnnl_engine, k->data) == dnnl_success;
    if (ok) {
        ok = run_reorder(a->reorder, plain, copy);
        p_dnnl_memory_destroy(copy);
    }
    if (!ok) { free(k->data); free(k); return NULL; }
    k->tag = tag;
    k->owner = e;
    k->next = kept_weights;
    kept_weights = k;
    return k->data;
}

void zoo_dnnl_forget(unsigned long long tag) {
    pthread_mutex_lock(&zoo_dnnl_lock);
    for (kept **link = &kept_weights; *link;) {
        kept *k = *link;
        if (k->tag == tag) { *link = k->next; free(k->data); free(k); }
        else link = &k->next;
    }
    pthread_mutex_unlock(&zoo_dnnl_lock);
}

/* Runs the cached primitive for the key on the caller's plain buffers. */
static int run(int kind, const zoo_conv_shape *s, int relu, int accumulate, void *buffers[MAX_ARGS], int has_bias,
               unsigned long long weights_tag, int threads) {
    pthread_mutex_lock(&zoo_dnnl_lock);
    int ok = 0;
    dnnl_memory_t plain[MAX_ARGS] = {0}, used[MAX_ARGS] = {0};
    entry *e = NULL;
    if (!zoo_dnnl_load()) goto done;
    e = find(kind, s, relu, has_bias, accumulate);
    if (!e) goto done;
    if (p_omp_set_num_threads && threads > 0) p_omp_set_num_threads(threads);
    dnnl_exec_arg_t args[MAX_ARGS];
    for (int i = 0; i < e->count; i++) {
        argument *a = &e->args[i];
        if (p_dnnl_memory_create(&plain[i], &a->plain, zoo_dnnl_engine, buffers[i]) != dnnl_success) goto done;
        if (a->reorder) {
            void *copy = NULL;
            int keep = weights_tag != 0 && kind == FORWARD && a->id == DNNL_ARG_WEIGHTS;
            if (keep) copy = kept_copy(weights_tag, e, a, plain[i]);
            else copy = scratch_buffer(i, p_dnnl_memory_desc_get_size(&a->used));
            if (!copy || p_dnnl_memory_create(&used[i], &a->used, zoo_dnnl_engine, copy) != dnnl_success) goto done;
            if (!a->output && !keep && !run_reorder(a->reorder, plain[i], used[i])) goto done;
            if (a->output && accumulate && !run_reorder(e->dst_in, plain[i], used[i])) goto done;
        }
        args[i].arg = a->id;
        args[i].memory = a->reorder ? used[i] : plain[i];
    }
    if (p_dnnl_primitive_execute(e->primitive, zoo_dnnl_stream, e->count, args) != dnnl_success) goto done;
    for (int i = 0; i < e->count; i++)
        if (e->args[i].reorder && e->args[i].output && !run_reorder(e->args[i].reorder, used[i], plain[i])) goto done;
    ok = p_dnnl_stream_wait(zoo_dnnl_stream) == dnnl_success;
done:
    for (int i = 0; i < MAX_ARGS; i++) {
        if (plain[i]) p_dnnl_memory_destroy(plain[i]);
        if (used[i]) p_dnnl_memory_destroy(used[i]);
    }
    pthread_mutex_unlock(&zoo_dnnl_lock);
    return ok ? 0 : -1;
}

int zoo_dnnl_conv_forward(const zoo_conv_shape *shape, const float *src, const float *weights,
                          const float *bias, float *dst, int accumulate, int relu,
                          unsigned long long weights_tag, int threads) {
    void *buffers[MAX_ARGS] = {(void *)src, (void *)weights, dst, (void *)bias};
    return run(FORWARD, shape, relu != 0, accumulate != 0, buffers, bias != NULL, weights_tag, threads);
}

int zoo_dnnl_conv_backward_data(const zoo_conv_shape *shape, const float *diff_dst,
                                const float *weights, float *diff_src, int threads) {
    void *buffers[MAX_ARGS] = {(void *)diff_dst, (void *)weights, diff_src, NULL};
    return run(BACKWARD_DATA, shape, 0, 0, buffers, 0, 0, threads);
}

int zoo_dnnl_conv_backward_weights(const zoo_conv_shape *shape, const float *src,
                                   const float *diff_dst, float *diff_weights, int threads) {
    void *buffers[MAX_ARGS] = {(void *)src, (void *)diff_dst, diff_weights, NULL};
    return run(BACKWARD_WEIGHTS, shape, 0, 0, buffers, 0, 0, threads);
}

const char *zoo_dnnl_implementation(const zoo_conv_shape *shape, int kind) {
    const char *name = "";
    pthread_mutex_lock(&zoo_dnnl_lock);
    for (entry *e = entries; e; e = e->next)
        if (e->primitive && e->kind == kind && memcmp(&e->shape, shape, sizeof *shape) == 0) { name = e->implementation; break; }
    pthread_mutex_unlock(&zoo_dnnl_lock);
    return name;
}
