#ifndef ZOO_PLAN_KERNELS_H
#define ZOO_PLAN_KERNELS_H

/* The inference plan's own kernels (internal to this target), for layers where oneDNN 2.6 has
   no fast kernel on AVX2. They use AVX2 and FMA (compiled for them whatever the target flags;
   call only when zoo_plan_kernels_available()) and the threads of oneDNN's OpenMP runtime.

   Winograd F(4×4, 3×3) and F(2×2, 5×5) (Lavin and Gray, 2016): a 3×3 or 5×5 convolution with
   stride 1 (any zero padding) computed over 6×6 input tiles as 36 matrix products, with 4× and
   2.8× fewer multiplications than direct.
   Activations are in the nChw8c layout; input and output channels are multiples of 8. Each
   output is act(conv + bias [+ the value already in dst]).

   Fully connected layers, dst [n, out] = act(src [n, in] · Wᵀ + bias), over weights packed once
   (oneDNN's inner product packs them again on every call).

   A convolution as one matrix product over windows gathered from the nChw8c input, for the
   ones oneDNN has no fast blocked kernel for (AlexNet's 11×11 stride 4): groups 1, no sum. */

#include <stddef.h>
#include "zoo_plan.h"

int zoo_plan_kernels_available(void);

typedef struct {
    int n, c, k, h, w;      /* input [n, c, h, w] */
    int pad_h, pad_w, oh, ow; /* output [n, k, oh, ow] */
    int r, m;               /* kernel side (3 or 5), output tile side (4 or 2) */
    int th, tw, tiles;      /* output tiles per column and row, and in all */
    int kp;                 /* k rounded up to 16 (the micro-kernel's width) */
    int chunk;              /* tiles a thread transforms and multiplies at a time */
    int act, sum;
    float *v, *bias;        /* transformed weights [36][kp/16][c][16], bias [kp] */
    size_t chunk_floats;    /* one chunk's transformed input and products */
} zoo_winograd;

/* weights plain [k, c, r, r] (r = 3 or 5); bias may be NULL; act is a ZOO_ACT_ value other than
   sigmoid. Returns 0, or -1 (another r, channels not multiples of 8, out of memory). */
int zoo_winograd_init(zoo_winograd *w, int n, int c, int k, int h, int width, int r, int pad_h, int pad_w,
                      const float *weights, const float *bias, int act, int sum);
void zoo_winograd_free(zoo_winograd *w);
/* The scratch zoo_winograd_run needs with this many threads, in floats. */
size_t zoo_winograd_scratch_floats(const zoo_winograd *w, int threads);
/* src and dst must not overlap; scratch 64-byte aligned. */
void zoo_winograd_run(const zoo_winograd *w, const float *src, float *dst, float *scratch, int threads);
/* Bytes of the transformed weights and bias. */
size_t zoo_winograd_weight_bytes(const zoo_winograd *w);

typedef struct {
    int n, in, out, act;
    int depth, outp, groups; /* in rounded up to 8, out to 16, rows in groups of 6 */
    float *w, *bias;         /* packed weights [outp/16][depth][16], bias [outp] */
} zoo_linear;

/* weights plain [out, in]; bias may be NULL. Returns 0, or -1 when out of memory. */
int zoo_linear_init(zoo_linear *l, int n, int in, int out, const float *weights, const float *bias, int act);
void zoo_linear_free(zoo_linear *l);
size_t zoo_linear_scratch_floats(const zoo_linear *l);
size_t zoo_linear_weight_bytes(const zoo_linear *l);
/* src and dst plain and not overlapping; scratch 64-byte aligned. */
void zoo_linear_run(const zoo_linear *l, const float *src, float *dst, float *scratch, int threads);

typedef struct {
    zoo_conv_shape shape;
    int act, depth, kp; /* depth: in_channels·kh·kw rounded up to 8; kp: out_channels to 16 */
    float *w, *bias;    /* packed weights [kp/16][depth][16], bias [kp] */
    long *offsets;      /* each depth index's offset in the input from the window's corner */
    int *taps;          /* and its channel, row and column there (for windows in the padding) */
} zoo_gemm_conv;

/* weights plain [out, in, kh, kw]; bias may be NULL. Returns 0, or -1 when out of memory. */
int zoo_gemm_conv_init(zoo_gemm_conv *g, const zoo_conv_shape *shape, const float *weights, const float *bias, int act);
void zoo_gemm_conv_free(zoo_gemm_conv *g);
size_t zoo_gemm_conv_scratch_floats(const zoo_gemm_conv *g, int threads);
size_t zoo_gemm_conv_weight_bytes(const zoo_gemm_conv *g);
void zoo_gemm_conv_run(const zoo_gemm_conv *g, const float *src, float *dst, float *scratch, int threads);

/* One of them, as a step of a plan holds it. */
enum { ZOO_OWN_NONE = 0, ZOO_OWN_WINOGRAD, ZOO_OWN_GATHERED, ZOO_OWN_LINEAR };
typedef struct {
    int kind;
    union {
        zoo_winograd winograd;
        zoo_gemm_conv gathered;
        zoo_linear linear;
    };
} zoo_own_kernel;

void zoo_own_free(zoo_own_kernel *kernel);
void zoo_own_run(const zoo_own_kernel *kernel, const float *src, float *dst, float *scratch, int threads);
size_t zoo_own_scratch_bytes(const zoo_own_kernel *kernel, int threads);
size_t zoo_own_weight_bytes(const zoo_own_kernel *kernel);
/* "winograd F(4x4,3x3)" and the like, for the step's description. */
const char *zoo_own_name(const zoo_own_kernel *kernel);

#endif
