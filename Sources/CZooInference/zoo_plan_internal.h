#ifndef ZOO_PLAN_INTERNAL_H
#define ZOO_PLAN_INTERNAL_H

/* What the files of a plan share (internal to this target): its tensors and steps, and the
   functions one job of the compiler hands the next. The jobs, in the order a plan meets them:
   zoo_plan_build.c (the builder API), zoo_plan_describe.c (oneDNN descriptors),
   zoo_plan_layout.c (in-place concatenation), zoo_plan_choose.c (the own kernels),
   zoo_plan_bind.c (primitives and arguments), zoo_plan_arena.c (placement by lifetime),
   zoo_plan_finalize.c (the order of it all) and zoo_plan_run.c (the timed executor). */

#include "zoo_plan.h"
#include "zoo_dnnl_library.h"
#include "zoo_plan_kernels.h"

#include <stddef.h>

#define ZOO_PLAN_INTERNAL __attribute__((visibility("hidden")))

enum { CONV, LINEAR, POOL, ACTIVATION, BINARY, CONCAT, BATCHNORM, FLATTEN, PAD };

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

/* zoo_plan_build.c: the builder API (tensors and steps, weights copied) and errors */
ZOO_PLAN_INTERNAL int plan_fail(zoo_plan *p, const char *format, ...);
ZOO_PLAN_INTERNAL void zoo_plan_set_fault(zoo_plan *plan, int fault);
ZOO_PLAN_INTERNAL void zoo_plan_destroy(zoo_plan *p);
ZOO_PLAN_INTERNAL int zoo_plan_tensor(zoo_plan *p, int rank, int n, int c, int h, int w);
ZOO_PLAN_INTERNAL int plan_valid(zoo_plan *p, int id);
ZOO_PLAN_INTERNAL int zoo_plan_conv(zoo_plan *p, int src, int dst, const zoo_conv_shape *shape, const float *weights, const float *bias, int sum, int act);
ZOO_PLAN_INTERNAL int zoo_plan_linear(zoo_plan *p, int src, int dst, const float *weights, const float *bias, int act);
ZOO_PLAN_INTERNAL int zoo_plan_pool(zoo_plan *p, int src, int dst, int kind, const int kernel[2], const int stride[2], const int pad_begin[2], const int pad_end[2]);
ZOO_PLAN_INTERNAL int zoo_plan_activation(zoo_plan *p, int src, int dst, int act);
ZOO_PLAN_INTERNAL int zoo_plan_binary(zoo_plan *p, int a, int b, int dst, int kind, int sum, int act);
ZOO_PLAN_INTERNAL int zoo_plan_concat(zoo_plan *p, const int *srcs, int count, int dst);
ZOO_PLAN_INTERNAL int zoo_plan_batchnorm(zoo_plan *p, int src, int dst, const float *mean, const float *var, const float *gamma, const float *beta, float eps, int act);
ZOO_PLAN_INTERNAL int zoo_plan_pad(zoo_plan *p, int src, int dst, const int margins[4], float value);
ZOO_PLAN_INTERNAL int zoo_plan_flatten(zoo_plan *p, int src, int dst);
/* zoo_plan_describe.c: oneDNN memory and primitive descriptors of steps */
ZOO_PLAN_INTERNAL void plan_describe_tensor(const tensor *t, dnnl_memory_desc_t *md, dnnl_format_tag_t tag);
ZOO_PLAN_INTERNAL dnnl_format_tag_t plan_blocked_layout(void);
ZOO_PLAN_INTERNAL dnnl_primitive_desc_t plan_describe_step(zoo_plan *p, int index, int with_sum);
/* zoo_plan_layout.c: in-place concatenation (tensors as channel slices) and where a tensor lives */
ZOO_PLAN_INTERNAL int plan_root_of(const zoo_plan *p, int t);
ZOO_PLAN_INTERNAL int plan_storage_of(const zoo_plan *p, int t);
ZOO_PLAN_INTERNAL void *plan_address(const zoo_plan *p, int t);
ZOO_PLAN_INTERNAL void plan_concatenate_in_place(zoo_plan *p);
ZOO_PLAN_INTERNAL int plan_may_overwrite(const zoo_plan *p, int i, int c);
/* zoo_plan_bind.c: primitives, reorders and arguments bound to each step */
ZOO_PLAN_INTERNAL int plan_make_reorder(zoo_plan *p, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to, dnnl_primitive_t *reorder);
ZOO_PLAN_INTERNAL int plan_bind_step(zoo_plan *p, int i, dnnl_primitive_desc_t pd);
/* zoo_plan_choose.c: which steps run the plan's own kernels */
ZOO_PLAN_INTERNAL int zoo_plan_own_kernels(void);
ZOO_PLAN_INTERNAL int plan_choose_own_kernel(zoo_plan *p, step *s, int no_blocked_kernel);
/* zoo_plan_arena.c: the arena, each tensor placed by its lifetime */
ZOO_PLAN_INTERNAL size_t plan_place(zoo_plan *p);

#endif
