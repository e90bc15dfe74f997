#ifndef ZOO_PLAN_H
#define ZOO_PLAN_H

#include <stddef.h>
#include "zoo_dnnl.h"

/* A compiled inference plan: a fixed list of oneDNN primitives (and a few kernels of its own,
   see zoo_plan_own_kernels) over tensors whose layouts,
   storage and weights are decided once, by zoo_plan_finalize, and then run many times.

   The caller declares tensors (4-D activations [N, C, H, W] or 2-D features [N, F]) and the
   steps between them in an order in which every step's inputs come before it. Finalize then
   - gives every 4-D tensor the blocked layout oneDNN's convolutions want on this CPU
     (nChw8c with AVX2, nChw16c with AVX-512), so that no step reorders between steps;
   - creates each primitive with its post-ops (a convolution's residual sum and activation),
     and copies the weights into the layout its kernel wants;
   - lets a step write over an input that nothing reads afterwards (a convolution's sum, an
     activation, an addition), and places every tensor in one arena by its lifetime, so that
     the arena is as large as the largest set of tensors alive together, not their sum;
   - sizes one scratchpad for all primitives.
   Running a plan allocates nothing: the input is reordered into the arena, the steps run,
   the output is reordered out. A plan is not thread-safe (one arena); it is owned by its
   caller and freed by zoo_plan_destroy. Every function returns a negative value on error,
   with the reason in zoo_plan_error. */

typedef struct zoo_plan zoo_plan;

enum { ZOO_ACT_NONE = 0, ZOO_ACT_RELU = 1, ZOO_ACT_RELU6 = 2, ZOO_ACT_SIGMOID = 3 };
enum { ZOO_POOL_MAX = 0, ZOO_POOL_AVG_INCLUDE_PAD = 1, ZOO_POOL_AVG_EXCLUDE_PAD = 2 };
enum { ZOO_BINARY_ADD = 0, ZOO_BINARY_MUL = 1 };

/* NULL when oneDNN is not available. */
zoo_plan *zoo_plan_create(void);
void zoo_plan_destroy(zoo_plan *plan);
const char *zoo_plan_error(const zoo_plan *plan);

/* A tensor of rank 4 ([n, c, h, w]) or rank 2 ([n, c]; h = w = 1); returns its id. */
int zoo_plan_tensor(zoo_plan *plan, int rank, int n, int c, int h, int w);

/* dst = act(conv(src) + bias [+ sum]). Weights plain [O, I/groups, kH, kW], copied. */
int zoo_plan_conv(zoo_plan *plan, int src, int dst, const zoo_conv_shape *shape, const float *weights,
                  const float *bias, int sum, int act);
/* dst = act(src · Wᵀ + bias), src rank 2, weights plain [out, in], copied. */
int zoo_plan_linear(zoo_plan *plan, int src, int dst, const float *weights, const float *bias, int act);
/* Pooling with explicit margins (right/bottom margins may exceed left/top: ceil mode). */
int zoo_plan_pool(zoo_plan *plan, int src, int dst, int kind, const int kernel[2], const int stride[2],
                  const int pad_begin[2], const int pad_end[2]);
int zoo_plan_activation(zoo_plan *plan, int src, int dst, int act);
/* dst = act(a ∘ b [+ sum]); b has a's shape or [N, C, 1, 1] (an SE block's scale, whose
   residual sum and ReLU then come in the same pass). */
int zoo_plan_binary(zoo_plan *plan, int a, int b, int dst, int kind, int sum, int act);
int zoo_plan_concat(zoo_plan *plan, const int *srcs, int count, int dst);
/* dst = act((src − mean)/√(var + eps) · gamma + beta) per channel; arrays copied. */
int zoo_plan_batchnorm(zoo_plan *plan, int src, int dst, const float *mean, const float *var, const float *gamma,
                       const float *beta, float eps, int act);
/* dst = src with `value` added around each plane: margins top, left, bottom, right (negative
   margins crop), as PyTorch's F.pad with a constant. */
int zoo_plan_pad(zoo_plan *plan, int src, int dst, const int margins[4], float value);
/* dst (rank 2, [N, C·H·W]) = src (rank 4) in PyTorch's flatten order. */
int zoo_plan_flatten(zoo_plan *plan, int src, int dst);

/* 1 when plans run their own kernels where oneDNN 2.6 has no fast one: Winograd F(4×4, 3×3) for
   3×3 stride-1 convolutions, fully connected layers over weights packed once (batch ≥ 6), and
   windows gathered into a matrix product for a convolution oneDNN has no blocked kernel for.
   They need AVX2 and FMA; ZOO_PLAN_OWN_KERNELS=0 turns them off (to compare). */
int zoo_plan_own_kernels(void);

int zoo_plan_finalize(zoo_plan *plan, int input, int output, int threads);
/* input plain NCHW, output plain NCHW or [N, F]. */
int zoo_plan_run(zoo_plan *plan, const float *input, float *output);
/* As zoo_plan_run, and each step's time in milliseconds into step_ms[zoo_plan_steps(plan)]. */
int zoo_plan_run_timed(zoo_plan *plan, const float *input, float *output, double *step_ms);

int zoo_plan_steps(const zoo_plan *plan);
/* "conv 3x3 64->64 56x56 +sum relu: jit:avx2" and the like. */
const char *zoo_plan_step_description(const zoo_plan *plan, int step);
/* Multiply-accumulates of a step (convolutions and linear layers; 0 for the rest). */
double zoo_plan_step_macs(const zoo_plan *plan, int step);
size_t zoo_plan_arena_bytes(const zoo_plan *plan);
size_t zoo_plan_weight_bytes(const zoo_plan *plan);

/* For tests: a plan given a fault before it is finalized carries a deliberate mistake, to show
   that the checks catch one: 1 drops every convolution's residual sum, 2 describes every pooling
   input as plain NCHW although it is blocked. 0 (the default) is none. */
void zoo_plan_set_fault(zoo_plan *plan, int fault);

#endif
