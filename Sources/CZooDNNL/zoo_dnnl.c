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

/* ---- threads: oneDNN's OpenMP team (libgomp), each thread a contiguous share of the items --- */

typedef struct { zoo_task task; const void *context; int items; } team_job;

static void run_share(void *data) {
    const team_job *j = data;
    int threads = p_omp_get_num_threads(), me = p_omp_get_thread_num();
    int begin = (int)((long)j->items * me / threads), end = (int)((long)j->items * (me + 1) / threads);
    for (int i = begin; i < end; i++) j->task(j->context, i, me);
}

void zoo_parallel_for(int items, int threads, zoo_task task, const void *context) {
    team_job j = {task, context, items};
    if (p_GOMP_parallel && p_omp_get_thread_num && p_omp_get_num_threads && threads > 1 && items > 1)
        p_GOMP_parallel(run_share, &j, (unsigned)(threads < items ? threads : items), 0);
    else
        for (int i = 0; i < items; i++) task(context, i, 0);
}

/* ---- primitives, cached by shape --------------------------------------------------------- */

enum { FORWARD = 0, BACKWARD_DATA = 1, BACKWARD_WEIGHTS = 2 };
enum { MAX_ARGS = 4, MAX_WORKERS = 256 };

/* How a call's pieces share an argument's buffer: each piece its slice of images, all pieces
   one buffer (weights, bias), or each piece a buffer of its own (weight gradients). */
enum { PER_IMAGES, SHARED, PER_PIECE };

/* One argument of a primitive: the plain layout the caller passes, the layout the primitive
   wants, and the reorder between them when they differ (into it for inputs, out of it for
   outputs). */
typedef struct {
    int id, output, spread;
    dnnl_memory_desc_t plain, used;
    dnnl_primitive_t reorder;
} argument;

/* A primitive for one shape (whose batch is a piece's images) made for `threads` threads. */
typedef struct entry {
    int kind, relu, has_bias, accumulate, threads;
    zoo_conv_shape shape;
    dnnl_primitive_t primitive;
    int count;
    argument args[MAX_ARGS];
    /* With accumulate and a blocked dst: the reorder of the caller's dst into it. */
    dnnl_primitive_t dst_in;
    /* The largest scratchpad the primitive and its reorders ask for (all take a user scratchpad). */
    size_t scratchpad;
    char implementation[64];
    struct entry *next;
} entry;

static entry *entries;

/* A growing, 64-byte aligned buffer. */
typedef struct { void *data; size_t size; } buffer;

static void *grow(buffer *b, size_t bytes) {
    if (b->size < bytes) {
        free(b->data);
        b->data = NULL;
        b->size = 0;
        if (posix_memalign(&b->data, 64, bytes) != 0) { b->data = NULL; return NULL; }
        b->size = bytes;
    }
    return b->data;
}

/* What each thread of a call's team owns: its blocked copies, its scratchpad and its stream. */
typedef struct {
    buffer copies[MAX_ARGS], scratchpad;
    dnnl_stream_t stream;
} worker;

static worker workers[MAX_WORKERS];
/* The shared arguments (weights) in the full pieces' and the last piece's layouts. */
static buffer shared_copies[2];

static int same_key(const entry *e, int kind, const zoo_conv_shape *s, int relu, int has_bias, int accumulate, int threads) {
    return e->kind == kind && e->relu == relu && e->has_bias == has_bias && e->accumulate == accumulate
        && e->threads == threads && memcmp(&e->shape, s, sizeof *s) == 0;
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

/* An attribute with a user scratchpad (so that the threads of a team each pass their own). */
static dnnl_primitive_attr_t scratchpad_attr(void) {
    dnnl_primitive_attr_t attr = NULL;
    if (p_dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
    p_dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    return attr;
}

/* Notes the scratchpad a primitive descriptor asks for in e->scratchpad. */
static void note_scratchpad(entry *e, const_dnnl_primitive_desc_t pd) {
    const dnnl_memory_desc_t *md = p_dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t bytes = md ? p_dnnl_memory_desc_get_size(md) : 0;
    if (bytes > e->scratchpad) e->scratchpad = bytes;
}

/* A reorder between two layouts, with a user scratchpad. */
static dnnl_primitive_t make_reorder(entry *e, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to) {
    dnnl_primitive_attr_t attr = scratchpad_attr();
    dnnl_primitive_desc_t rpd;
    dnnl_primitive_t reorder = NULL;
    dnnl_status_t status = p_dnnl_reorder_primitive_desc_create(&rpd, from, zoo_dnnl_engine, to, zoo_dnnl_engine, attr);
    if (attr) p_dnnl_primitive_attr_destroy(attr);
    if (status != dnnl_success) return NULL;
    note_scratchpad(e, rpd);
    if (p_dnnl_primitive_create(&reorder, rpd) != dnnl_success) reorder = NULL;
    p_dnnl_primitive_desc_destroy(rpd);
    return reorder;
}

/* Fills argument `index` of `e` from the primitive's chosen layout for query `what`. */
static int bind(entry *e, const_dnnl_primitive_desc_t pd, int index, int id, int output, int spread,
                dnnl_query_t what, const dnnl_memory_desc_t *plain) {
    argument *a = &e->args[index];
    a->id = id;
    a->output = output;
    a->spread = spread;
    a->plain = *plain;
    const dnnl_memory_desc_t *used = p_dnnl_primitive_desc_query_md(pd, what, 0);
    if (!used) return 0;
    a->used = *used;
    a->reorder = NULL;
    if (p_dnnl_memory_desc_equal(&a->plain, &a->used)) return 1;
    a->reorder = output ? make_reorder(e, &a->used, &a->plain) : make_reorder(e, &a->plain, &a->used);
    return a->reorder != NULL;
}

/* A bias (1-D, one layout only) is passed as it is. */
static void bind_plain(entry *e, int index, int id, const dnnl_memory_desc_t *plain) {
    argument *a = &e->args[index];
    a->id = id;
    a->output = 0;
    a->spread = SHARED;
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
    dnnl_primitive_attr_t attr = scratchpad_attr();
    if (!attr) goto done;
    if (p_dnnl_dilated_convolution_forward_desc_init(&forward, kind == FORWARD ? dnnl_forward_inference : dnnl_forward_training,
                                                     dnnl_convolution_direct, &src, &weights, has_bias ? &bias : NULL, &dst,
                                                     strides, dilates, padding, padding) != dnnl_success) goto done;
    if (kind == FORWARD) {
        if (relu || accumulate) {
            dnnl_post_ops_t ops;
            if (p_dnnl_post_ops_create(&ops) != dnnl_success) goto done;
            if (accumulate) p_dnnl_post_ops_append_sum(ops, 1.0f);
            if (relu) p_dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
            p_dnnl_primitive_attr_set_post_ops(attr, ops);
            p_dnnl_post_ops_destroy(ops);
        }
        if (p_dnnl_primitive_desc_create(&pd, &forward, attr, zoo_dnnl_engine, NULL) != dnnl_success) goto done;
        e->count = has_bias ? 4 : 3;
        if (!bind(e, pd, 0, DNNL_ARG_SRC, 0, PER_IMAGES, dnnl_query_src_md, &psrc)) goto done;
        if (!bind(e, pd, 1, DNNL_ARG_WEIGHTS, 0, SHARED, dnnl_query_weights_md, &pweights)) goto done;
        if (!bind(e, pd, 2, DNNL_ARG_DST, 1, PER_IMAGES, dnnl_query_dst_md, &pdst)) goto done;
        if (has_bias) bind_plain(e, 3, DNNL_ARG_BIAS, &pbias);
        if (accumulate && e->args[2].reorder && !(e->dst_in = make_reorder(e, &pdst, &e->args[2].used))) goto done;
    } else {
        if (p_dnnl_primitive_desc_create(&hint, &forward, NULL, zoo_dnnl_engine, NULL) != dnnl_success) goto done;
        if (kind == BACKWARD_DATA) {
            if (p_dnnl_dilated_convolution_backward_data_desc_init(&backward, dnnl_convolution_direct, &src, &weights, &dst,
                                                                   strides, dilates, padding, padding) != dnnl_success) goto done;
            if (p_dnnl_primitive_desc_create(&pd, &backward, attr, zoo_dnnl_engine, hint) != dnnl_success) goto done;
            e->count = 3;
            if (!bind(e, pd, 0, DNNL_ARG_DIFF_DST, 0, PER_IMAGES, dnnl_query_diff_dst_md, &pdst)) goto done;
            if (!bind(e, pd, 1, DNNL_ARG_WEIGHTS, 0, SHARED, dnnl_query_weights_md, &pweights)) goto done;
            if (!bind(e, pd, 2, DNNL_ARG_DIFF_SRC, 1, PER_IMAGES, dnnl_query_diff_src_md, &psrc)) goto done;
        } else {
            if (p_dnnl_dilated_convolution_backward_weights_desc_init(&backward, dnnl_convolution_direct, &src, &weights,
                                                                      NULL, &dst, strides, dilates,
                                                                      padding, padding) != dnnl_success) goto done;
            if (p_dnnl_primitive_desc_create(&pd, &backward, attr, zoo_dnnl_engine, hint) != dnnl_success) goto done;
            e->count = 3;
            if (!bind(e, pd, 0, DNNL_ARG_SRC, 0, PER_IMAGES, dnnl_query_src_md, &psrc)) goto done;
            if (!bind(e, pd, 1, DNNL_ARG_DIFF_DST, 0, PER_IMAGES, dnnl_query_diff_dst_md, &pdst)) goto done;
            if (!bind(e, pd, 2, DNNL_ARG_DIFF_WEIGHTS, 1, PER_PIECE, dnnl_query_diff_weights_md, &pweights)) goto done;
        }
    }
    note_scratchpad(e, pd);
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

/* The cached primitive for the key, made on first use with OpenMP set to `threads` threads
   (oneDNN divides a primitive's work among the threads it is made for). */
static entry *find(int kind, const zoo_conv_shape *s, int relu, int has_bias, int accumulate, int threads) {
    for (entry *e = entries; e; e = e->next)
        if (same_key(e, kind, s, relu, has_bias, accumulate, threads)) return e->primitive ? e : NULL;
    if (p_omp_set_num_threads) p_omp_set_num_threads(threads);
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
    e->threads = threads;
    e->next = entries;
    entries = e;
    return e->primitive ? e : NULL;
}

/* A memory object over the worker's scratchpad, grown to `bytes`; *pad stays NULL when no
   scratchpad is asked for. Returns 0 when out of memory. */
static int scratchpad_memory(worker *w, size_t bytes, dnnl_memory_t *pad) {
    *pad = NULL;
    if (!bytes) return 1;
    void *data = grow(&w->scratchpad, bytes);
    dnnl_memory_desc_t md;
    dnnl_dims_t dims = {(dnnl_dim_t)bytes};
    return data && p_dnnl_memory_desc_init_by_tag(&md, 1, dims, dnnl_u8, dnnl_x) == dnnl_success
        && p_dnnl_memory_create(pad, &md, zoo_dnnl_engine, data) == dnnl_success;
}

static int run_reorder(dnnl_primitive_t reorder, dnnl_memory_t from, dnnl_memory_t to, dnnl_memory_t pad, worker *w) {
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}, {DNNL_ARG_SCRATCHPAD, pad}};
    return p_dnnl_primitive_execute(reorder, w->stream, pad ? 3 : 2, args) == dnnl_success;
}

/* A call: the caller's buffers in pieces of `piece` images (the last piece may have fewer). */
typedef struct {
    const entry *full, *tail;   /* the primitives of a whole piece and of a shorter last piece */
    int piece, pieces;
    void *const *buffers;
    void *shared[2][MAX_ARGS];  /* shared arguments in the layouts of `full` [0] and `tail` [1] */
    int failed;
} call;

/* A shared input (weights) of `e` reordered into its layout: into the kept copy under `tag`
   (made on first use), or into the call's buffer. NULL when out of memory or on failure. */
static void *shared_copy(const entry *e, const argument *a, void *data, int which, unsigned long long tag) {
    int keep = tag != 0 && e->kind == FORWARD;
    if (keep)
        for (kept *k = kept_weights; k; k = k->next)
            if (k->tag == tag && k->owner == e) return k->data;
    size_t bytes = p_dnnl_memory_desc_get_size(&a->used);
    kept *k = NULL;
    void *target = NULL;
    if (keep) {
        if ((k = calloc(1, sizeof *k)) && posix_memalign(&k->data, 64, bytes) == 0) target = k->data;
    } else {
        target = grow(&shared_copies[which], bytes);
    }
    worker *w = &workers[0];
    dnnl_memory_t plain = NULL, copy = NULL, pad = NULL;
    int ok = target && scratchpad_memory(w, e->scratchpad, &pad)
          && p_dnnl_memory_create(&plain, &a->plain, zoo_dnnl_engine, data) == dnnl_success
          && p_dnnl_memory_create(&copy, &a->used, zoo_dnnl_engine, target) == dnnl_success
          && run_reorder(a->reorder, plain, copy, pad, w) && p_dnnl_stream_wait(w->stream) == dnnl_success;
    if (plain) p_dnnl_memory_destroy(plain);
    if (copy) p_dnnl_memory_destroy(copy);
    if (pad) p_dnnl_memory_destroy(pad);
    if (keep) {
        if (!ok) {
            if (k) free(k->data);
            free(k);
            return NULL;
        }
        k->tag = tag;
        k->owner = e;
        k->next = kept_weights;
        kept_weights = k;
    }
    return ok ? target : NULL;
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

/* One piece of a call on thread `me` of the team: its slices of the caller's buffers, reordered
   into and out of the primitive's layouts in the thread's own copies. */
static void run_piece(const void *context, int index, int me) {
    call *c = (call *)context;
    const entry *e = c->tail && index == c->pieces - 1 ? c->tail : c->full;
    int which = e == c->full ? 0 : 1;
    worker *w = &workers[me];
    dnnl_memory_t plain[MAX_ARGS] = {0}, used[MAX_ARGS] = {0}, pad = NULL;
    dnnl_exec_arg_t args[MAX_ARGS + 1];
    int ok = scratchpad_memory(w, e->scratchpad, &pad);
    for (int i = 0; ok && i < e->count; i++) {
        const argument *a = &e->args[i];
        args[i].arg = a->id;
        if (a->spread == SHARED && a->reorder) {
            ok = p_dnnl_memory_create(&used[i], &a->used, zoo_dnnl_engine, c->shared[which][i]) == dnnl_success;
            args[i].memory = used[i];
            continue;
        }
        char *base = c->buffers[i];
        size_t bytes = p_dnnl_memory_desc_get_size(&a->plain);
        if (a->spread == PER_IMAGES) base += (size_t)index * c->piece * (bytes / e->shape.batch);
        if (a->spread == PER_PIECE) base += (size_t)index * bytes;
        ok = p_dnnl_memory_create(&plain[i], &a->plain, zoo_dnnl_engine, base) == dnnl_success;
        args[i].memory = plain[i];
        if (!ok || !a->reorder) continue;
        void *copy = grow(&w->copies[i], p_dnnl_memory_desc_get_size(&a->used));
        ok = copy && p_dnnl_memory_create(&used[i], &a->used, zoo_dnnl_engine, copy) == dnnl_success;
        if (ok && !a->output) ok = run_reorder(a->reorder, plain[i], used[i], pad, w);
        if (ok && a->output && e->accumulate) ok = run_reorder(e->dst_in, plain[i], used[i], pad, w);
        args[i].memory = used[i];
    }
    int count = e->count;
    if (pad) {
        args[count].arg = DNNL_ARG_SCRATCHPAD;
        args[count++].memory = pad;
    }
    ok = ok && p_dnnl_primitive_execute(e->primitive, w->stream, count, args) == dnnl_success;
    for (int i = 0; ok && i < e->count; i++)
        if (e->args[i].reorder && e->args[i].output) ok = run_reorder(e->args[i].reorder, used[i], plain[i], pad, w);
    ok = ok && p_dnnl_stream_wait(w->stream) == dnnl_success;
    for (int i = 0; i < MAX_ARGS; i++) {
        if (plain[i]) p_dnnl_memory_destroy(plain[i]);
        if (used[i]) p_dnnl_memory_destroy(used[i]);
    }
    if (pad) p_dnnl_memory_destroy(pad);
    if (!ok) __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED);
}

/* Runs the convolution on the caller's plain buffers: in pieces of `piece` images, each piece
   by a primitive made for one thread and the pieces spread over `threads` threads, or with
   piece 0 the whole batch by one primitive made for `threads` threads. */
static int run(int kind, const zoo_conv_shape *s, int relu, int accumulate, void *buffers[MAX_ARGS], int has_bias,
               unsigned long long weights_tag, int threads, int piece) {
    pthread_mutex_lock(&zoo_dnnl_lock);
    int ok = 0;
    if (!zoo_dnnl_load() || s->batch < 1) goto done;
    if (threads < 1) threads = 1;
    if (threads > MAX_WORKERS) threads = MAX_WORKERS;
    int primitive_threads = piece > 0 ? 1 : threads;
    if (piece <= 0 || piece > s->batch) piece = s->batch;
    call c = {.piece = piece, .pieces = (s->batch + piece - 1) / piece, .buffers = buffers};
    zoo_conv_shape part = *s;
    part.batch = piece;
    if (!(c.full = find(kind, &part, relu, has_bias, accumulate, primitive_threads))) goto done;
    if (s->batch % piece) {
        part.batch = s->batch % piece;
        if (!(c.tail = find(kind, &part, relu, has_bias, accumulate, primitive_threads))) goto done;
    }
    if (p_omp_set_num_threads) p_omp_set_num_threads(threads);
    int team = primitive_threads > 1 ? 1 : (threads < c.pieces ? threads : c.pieces);
    for (int t = 0; t < team; t++)
        if (!workers[t].stream && p_dnnl_stream_create(&workers[t].stream, zoo_dnnl_engine, dnnl_stream_default_flags) != dnnl_success)
            goto done;
    for (int which = 0; which < 2; which++) {
        const entry *e = which ? c.tail : c.full;
        for (int i = 0; e && i < e->count; i++)
            if (e->args[i].spread == SHARED && e->args[i].reorder
                && !(c.shared[which][i] = shared_copy(e, &e->args[i], buffers[i], which, weights_tag))) goto done;
    }
    zoo_parallel_for(c.pieces, team, run_piece, &c);
    ok = !c.failed;
done:
    pthread_mutex_unlock(&zoo_dnnl_lock);
    return ok ? 0 : -1;
}

int zoo_dnnl_conv_forward(const zoo_conv_shape *shape, const float *src, const float *weights,
                          const float *bias, float *dst, int accumulate, int relu,
                          unsigned long long weights_tag, int threads, int piece) {
    void *buffers[MAX_ARGS] = {(void *)src, (void *)weights, dst, (void *)bias};
    return run(FORWARD, shape, relu != 0, accumulate != 0, buffers, bias != NULL, weights_tag, threads, piece);
}

int zoo_dnnl_conv_backward_data(const zoo_conv_shape *shape, const float *diff_dst,
                                const float *weights, float *diff_src, int threads, int piece) {
    void *buffers[MAX_ARGS] = {(void *)diff_dst, (void *)weights, diff_src, NULL};
    return run(BACKWARD_DATA, shape, 0, 0, buffers, 0, 0, threads, piece);
}

int zoo_dnnl_conv_backward_weights(const zoo_conv_shape *shape, const float *src,
                                   const float *diff_dst, float *diff_weights, int threads, int piece) {
    void *buffers[MAX_ARGS] = {(void *)src, (void *)diff_dst, diff_weights, NULL};
    return run(BACKWARD_WEIGHTS, shape, 0, 0, buffers, 0, 0, threads, piece);
}

const char *zoo_dnnl_implementation(const zoo_conv_shape *shape, int kind) {
    const char *name = "";
    pthread_mutex_lock(&zoo_dnnl_lock);
    for (entry *e = entries; e; e = e->next) {
        zoo_conv_shape geometry = *shape;
        geometry.batch = e->shape.batch;
        if (e->primitive && e->kind == kind && memcmp(&e->shape, &geometry, sizeof geometry) == 0) { name = e->implementation; break; }
    }
    pthread_mutex_unlock(&zoo_dnnl_lock);
    return name;
}
