/* Kernels the inference plan runs itself, where oneDNN 2.6 has no fast one on AVX2: Winograd
   F(4×4, 3×3) convolutions on the nChw8c layout. See zoo_plan_kernels.h. */
#include "zoo_plan_kernels.h"

#include "zoo_dnnl_library.h"

#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2,fma")))

int zoo_plan_kernels_available(void) {
    static int state = -1;
    if (state < 0) {
        __builtin_cpu_init();
        state = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return state;
}

/* ---- the micro-kernel: a 6×16 block of a · b over `blocks` × 8 of depth ----
   a: six rows, depth in blocks of 8, each block [6][8] and `astride` floats after the one
   before (48 when packed; a tensor's channel-block stride for six pixels of nChw8c);
   b: [blocks·8][16]. Twelve accumulators, two loads and six broadcasts per step of depth. */
AVX2 static inline __attribute__((always_inline)) void multiply_6x16(int blocks, const float *a, size_t astride,
                                                                    const float *b, __m256 acc[6][2]) {
    for (int r = 0; r < 6; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int blk = 0; blk < blocks; blk++, a += astride) {
        for (int v = 0; v < 8; v++, b += 16) {
            __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
            for (int r = 0; r < 6; r++) {
                __m256 x = _mm256_broadcast_ss(a + 8 * r + v);
                acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
            }
        }
    }
}

/* c[6][16] (rows ldc apart) = a · b, a packed. */
AVX2 static void kernel_6x16(int blocks, const float *a, const float *b, float *c, size_t ldc) {
    __m256 acc[6][2];
    multiply_6x16(blocks, a, 48, b, acc);
    for (int r = 0; r < 6; r++, c += ldc) {
        _mm256_storeu_ps(c, acc[r][0]);
        _mm256_storeu_ps(c + 8, acc[r][1]);
    }
}

static float *aligned_floats(size_t count) {
    void *p = NULL;
    if (posix_memalign(&p, 64, (count ? count : 1) * sizeof(float))) return NULL;
    memset(p, 0, (count ? count : 1) * sizeof(float));
    return p;
}

static int round_up(int x, int to) { return (x + to - 1) / to * to; }

/* ---- Winograd F(4×4, 3×3) and F(2×2, 5×5) ----
   Lavin and Gray (2016): Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A over 6×6 input tiles d, each giving an
   m×m output tile (m = 4 for 3×3 kernels, 2 for 5×5). Both use the interpolation points
   0, 1, −1, 2, −2 and ∞, so they share Bᵀ; G's row for point p is f_p·(1, p, p², …) and Aᵀ's
   row i is (pⁱ …, [i = m − 1]) (Tools/winograd_matrices.py checks all three in double). */
static const double points[5] = {0, 1, -1, 2, -2}, scales[5] = {1.0 / 4, -1.0 / 6, -1.0 / 6, 1.0 / 24, 1.0 / 24};

int zoo_winograd_init(zoo_winograd *w, int n, int c, int k, int h, int width, int r, int pad_h, int pad_w,
                      const float *weights, const float *bias, int act, int sum) {
    memset(w, 0, sizeof *w);
    if ((r != 3 && r != 5) || c % 8 || k % 8 || pad_h < 0 || pad_w < 0 || h + 2 * pad_h < r || width + 2 * pad_w < r)
        return -1;
    w->r = r; w->m = 6 - r + 1;
    w->n = n; w->c = c; w->k = k; w->h = h; w->w = width; w->act = act; w->sum = sum;
    w->pad_h = pad_h; w->pad_w = pad_w; w->oh = h + 2 * pad_h - r + 1; w->ow = width + 2 * pad_w - r + 1;
    w->th = (w->oh + w->m - 1) / w->m; w->tw = (w->ow + w->m - 1) / w->m; w->tiles = n * w->th * w->tw;
    w->kp = round_up(k, 16);
    /* Each thread takes chunks of tiles whose transformed inputs and products fit in about
       768 KB (three quarters of this machine's 1 MB L2), but at least 48 tiles, so that each
       panel of weights read serves 48 rows. */
    int chunk = (int)((768u << 10) / (36u * (unsigned)(c + w->kp) * sizeof(float)));
    chunk = round_up(chunk < 48 ? 48 : chunk, 6);
    w->chunk = chunk;
    w->chunk_floats = (size_t)36 * chunk * (c + w->kp);
    w->v = aligned_floats((size_t)36 * w->kp * c);
    w->bias = aligned_floats(w->kp);
    if (!w->v || !w->bias) { zoo_winograd_free(w); return -1; }
    if (bias) memcpy(w->bias, bias, sizeof(float) * k);
    double G[6][5] = {{0}};
    for (int a = 0; a < 5; a++)
        for (int j = 0, power = 1; j < r; j++, power *= (int)points[a]) G[a][j] = scales[a] * power;
    G[5][r - 1] = 1;
    int panels = w->kp / 16;
    for (int o = 0; o < k; o++)
        for (int i = 0; i < c; i++) {
            const float *g = weights + ((size_t)o * c + i) * r * r;
            double t[6][5] = {{0}};
            for (int a = 0; a < 6; a++)
                for (int x = 0; x < r; x++)
                    for (int y = 0; y < r; y++) t[a][x] += G[a][y] * g[y * r + x];
            for (int a = 0; a < 6; a++)
                for (int b = 0; b < 6; b++) {
                    double u = 0;
                    for (int x = 0; x < r; x++) u += t[a][x] * G[b][x];
                    /* [element][panel][input channel][16 outputs] */
                    w->v[(((size_t)(a * 6 + b) * panels + o / 16) * c + i) * 16 + o % 16] = (float)u;
                }
        }
    return 0;
}

size_t zoo_winograd_weight_bytes(const zoo_winograd *w) { return ((size_t)36 * w->c + 1) * w->kp * sizeof(float); }

void zoo_winograd_free(zoo_winograd *w) {
    free(w->v);
    free(w->bias);
    w->v = w->bias = NULL;
}

typedef struct {
    const zoo_winograd *w;
    const float *src;
    float *dst, *u, *m;
    int first, count, groups; /* tiles [first, first + count), in groups of 6 */
} chunk_job;

/* Bᵀ x: six vectors into six (y must not alias x). */
#define INPUT_1D(x0, x1, x2, x3, x4, x5, y0, y1, y2, y3, y4, y5)                                       \
    do {                                                                                              \
        __m256 four = _mm256_set1_ps(4), five = _mm256_set1_ps(5), two = _mm256_set1_ps(2);           \
        __m256 a_ = _mm256_fnmadd_ps(four, x2, x4), b_ = _mm256_fnmadd_ps(four, x1, x3);              \
        __m256 c_ = _mm256_sub_ps(x4, x2), d_ = _mm256_mul_ps(two, _mm256_sub_ps(x3, x1));            \
        y0 = _mm256_fmadd_ps(four, x0, _mm256_fnmadd_ps(five, x2, x4));                               \
        y1 = _mm256_add_ps(a_, b_);                                                                   \
        y2 = _mm256_sub_ps(a_, b_);                                                                   \
        y3 = _mm256_add_ps(c_, d_);                                                                   \
        y4 = _mm256_sub_ps(c_, d_);                                                                   \
        y5 = _mm256_fmadd_ps(four, x1, _mm256_fnmadd_ps(five, x3, x5));                               \
    } while (0)

AVX2 static void input_tile(const void *context, int item, int thread) {
    (void)thread;
    const chunk_job *j = context;
    const zoo_winograd *w = j->w;
    int cblocks = w->c / 8, g = item / cblocks, cb = item % cblocks;
    size_t estride = (size_t)j->groups * cblocks * 48; /* floats between one element's matrices */
    for (int r = 0; r < 6; r++) {
        int t = j->first + g * 6 + r;
        float *u = j->u + ((size_t)g * cblocks + cb) * 48 + r * 8;
        if (g * 6 + r >= j->count) {
            for (int e = 0; e < 36; e++) _mm256_store_ps(u + e * estride, _mm256_setzero_ps());
            continue;
        }
        int img = t / (w->th * w->tw), rest = t % (w->th * w->tw), y0 = rest / w->tw * w->m - w->pad_h, x0 = rest % w->tw * w->m - w->pad_w;
        const float *plane = j->src + ((size_t)img * cblocks + cb) * w->h * w->w * 8;
        __m256 d[6][6];
        int inside = y0 >= 0 && x0 >= 0 && y0 + 6 <= w->h && x0 + 6 <= w->w;
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 6; x++) {
                int yy = y0 + y, xx = x0 + x;
                d[y][x] = inside || (yy >= 0 && yy < w->h && xx >= 0 && xx < w->w)
                              ? _mm256_loadu_ps(plane + ((size_t)yy * w->w + xx) * 8)
                              : _mm256_setzero_ps();
            }
        __m256 t1[6][6];
        for (int x = 0; x < 6; x++)
            INPUT_1D(d[0][x], d[1][x], d[2][x], d[3][x], d[4][x], d[5][x],
                     t1[0][x], t1[1][x], t1[2][x], t1[3][x], t1[4][x], t1[5][x]);
        for (int y = 0; y < 6; y++) {
            __m256 o0, o1, o2, o3, o4, o5;
            INPUT_1D(t1[y][0], t1[y][1], t1[y][2], t1[y][3], t1[y][4], t1[y][5], o0, o1, o2, o3, o4, o5);
            float *q = u + (size_t)(y * 6) * estride;
            _mm256_store_ps(q, o0); _mm256_store_ps(q + estride, o1); _mm256_store_ps(q + 2 * estride, o2);
            _mm256_store_ps(q + 3 * estride, o3); _mm256_store_ps(q + 4 * estride, o4); _mm256_store_ps(q + 5 * estride, o5);
        }
    }
}

static void multiply(const void *context, int item, int thread) {
    (void)thread;
    const chunk_job *j = context;
    const zoo_winograd *w = j->w;
    int panels = w->kp / 16, e = item / panels, panel = item % panels, cblocks = w->c / 8;
    const float *b = w->v + ((size_t)e * panels + panel) * w->c * 16;
    const float *a = j->u + (size_t)e * j->groups * cblocks * 48;
    float *m = j->m + (size_t)e * j->groups * 6 * w->kp + panel * 16;
    for (int g = 0; g < j->groups; g++) kernel_6x16(cblocks, a + (size_t)g * cblocks * 48, b, m + (size_t)g * 6 * w->kp, w->kp);
}

/* Aᵀ x: four vectors out of six (m = 4), or two (m = 2). */
#define OUTPUT_1D(x0, x1, x2, x3, x4, x5, y0, y1, y2, y3)                                             \
    do {                                                                                              \
        __m256 s12 = _mm256_add_ps(x1, x2), d12 = _mm256_sub_ps(x1, x2);                              \
        __m256 s34 = _mm256_add_ps(x3, x4), d34 = _mm256_sub_ps(x3, x4);                              \
        y0 = _mm256_add_ps(_mm256_add_ps(x0, s12), s34);                                              \
        y1 = _mm256_fmadd_ps(_mm256_set1_ps(2), d34, d12);                                            \
        y2 = _mm256_fmadd_ps(_mm256_set1_ps(4), s34, s12);                                            \
        y3 = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8), d34, d12), x5);                         \
    } while (0)
#define OUTPUT_1D_2(x0, x1, x2, x3, x4, x5, y0, y1)                                                   \
    do {                                                                                              \
        __m256 s12 = _mm256_add_ps(x1, x2), d12 = _mm256_sub_ps(x1, x2);                              \
        __m256 s34 = _mm256_add_ps(x3, x4), d34 = _mm256_sub_ps(x3, x4);                              \
        y0 = _mm256_add_ps(_mm256_add_ps(x0, s12), s34);                                              \
        y1 = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(2), d34, d12), x5);                         \
    } while (0)

AVX2 static void output_tile(const void *context, int item, int thread) {
    (void)thread;
    const chunk_job *j = context;
    const zoo_winograd *w = j->w;
    int kblocks = w->k / 8, g = item / kblocks, kb = item % kblocks;
    size_t estride = (size_t)j->groups * 6 * w->kp;
    __m256 bias = _mm256_load_ps(w->bias + kb * 8), zero = _mm256_setzero_ps(), six = _mm256_set1_ps(6);
    for (int r = 0; r < 6 && g * 6 + r < j->count; r++) {
        int t = j->first + g * 6 + r;
        int side = w->m, img = t / (w->th * w->tw), rest = t % (w->th * w->tw);
        int y0 = rest / w->tw * side, x0 = rest % w->tw * side;
        const float *m = j->m + (size_t)(g * 6 + r) * w->kp + kb * 8;
        __m256 t1[4][6];
        for (int x = 0; x < 6; x++) {
            __m256 v0 = _mm256_loadu_ps(m + (size_t)(0 * 6 + x) * estride), v1 = _mm256_loadu_ps(m + (size_t)(1 * 6 + x) * estride);
            __m256 v2 = _mm256_loadu_ps(m + (size_t)(2 * 6 + x) * estride), v3 = _mm256_loadu_ps(m + (size_t)(3 * 6 + x) * estride);
            __m256 v4 = _mm256_loadu_ps(m + (size_t)(4 * 6 + x) * estride), v5 = _mm256_loadu_ps(m + (size_t)(5 * 6 + x) * estride);
            if (side == 4) OUTPUT_1D(v0, v1, v2, v3, v4, v5, t1[0][x], t1[1][x], t1[2][x], t1[3][x]);
            else OUTPUT_1D_2(v0, v1, v2, v3, v4, v5, t1[0][x], t1[1][x]);
        }
        float *plane = j->dst + ((size_t)img * kblocks + kb) * w->oh * w->ow * 8;
        for (int y = 0; y < side; y++) {
            __m256 o[4];
            if (side == 4) OUTPUT_1D(t1[y][0], t1[y][1], t1[y][2], t1[y][3], t1[y][4], t1[y][5], o[0], o[1], o[2], o[3]);
            else OUTPUT_1D_2(t1[y][0], t1[y][1], t1[y][2], t1[y][3], t1[y][4], t1[y][5], o[0], o[1]);
            if (y0 + y >= w->oh) break;
            for (int x = 0; x < side && x0 + x < w->ow; x++) {
                float *q = plane + ((size_t)(y0 + y) * w->ow + x0 + x) * 8;
                __m256 value = _mm256_add_ps(o[x], bias);
                if (w->sum) value = _mm256_add_ps(value, _mm256_loadu_ps(q));
                if (w->act == ZOO_ACT_RELU) value = _mm256_max_ps(value, zero);
                if (w->act == ZOO_ACT_RELU6) value = _mm256_min_ps(_mm256_max_ps(value, zero), six);
                _mm256_storeu_ps(q, value);
            }
        }
    }
}

typedef struct { const zoo_winograd *w; const float *src; float *dst, *scratch; } whole_job;

static void whole_chunk(const void *context, int item, int thread) {
    const whole_job *x = context;
    const zoo_winograd *w = x->w;
    int first = item * w->chunk, count = w->tiles - first < w->chunk ? w->tiles - first : w->chunk, groups = (count + 5) / 6;
    float *u = x->scratch + (size_t)thread * w->chunk_floats;
    chunk_job j = {w, x->src, x->dst, u, u + (size_t)36 * groups * 6 * w->c, first, count, groups};
    for (int i = 0; i < groups * (w->c / 8); i++) input_tile(&j, i, thread);
    for (int i = 0; i < 36 * (w->kp / 16); i++) multiply(&j, i, thread);
    for (int i = 0; i < groups * (w->k / 8); i++) output_tile(&j, i, thread);
}

/* Whether each thread takes whole chunks (enough tiles for two per thread), or all threads share
   each stage of a single chunk of every tile. */
static int chunks_per_thread(const zoo_winograd *w, int threads) {
    return (w->tiles + w->chunk - 1) / w->chunk >= 2 * (threads > 0 ? threads : 1);
}

size_t zoo_winograd_scratch_floats(const zoo_winograd *w, int threads) {
    return chunks_per_thread(w, threads) ? w->chunk_floats * (threads > 0 ? threads : 1)
                                         : (size_t)36 * round_up(w->tiles, 6) * (w->c + w->kp);
}

void zoo_winograd_run(const zoo_winograd *w, const float *src, float *dst, float *scratch, int threads) {
    int chunks = (w->tiles + w->chunk - 1) / w->chunk;
    if (chunks_per_thread(w, threads)) {
        whole_job x = {w, src, dst, scratch};
        zoo_parallel_for(chunks, threads, whole_chunk, &x);
        return;
    }
    /* Few tiles: one chunk, each stage shared among the threads. */
    int groups = (w->tiles + 5) / 6;
    chunk_job j = {w, src, dst, scratch, scratch + (size_t)36 * groups * 6 * w->c, 0, w->tiles, groups};
    zoo_parallel_for(groups * (w->c / 8), threads, input_tile, &j);
    zoo_parallel_for(36 * (w->kp / 16), threads, multiply, &j);
    zoo_parallel_for(groups * (w->k / 8), threads, output_tile, &j);
}

/* ---- fully connected layers over weights packed once ----
   oneDNN's inner product on AVX2 packs the weights again on every call, which at batch 16
   triples the memory traffic of a classifier like AlexNet's (151 MB of weights in its first
   layer). Here they are packed at plan time into panels of 16 outputs, [panels][depth][16], and
   the depth is walked in slices whose panel part stays in L2 while every row group uses it. */

enum { LINEAR_SLICE = 2048 }; /* depth per slice: 128 KB of a panel */

int zoo_linear_init(zoo_linear *l, int n, int in, int out, const float *weights, const float *bias, int act) {
    memset(l, 0, sizeof *l);
    l->n = n; l->in = in; l->out = out; l->act = act;
    l->depth = round_up(in, 8);
    l->outp = round_up(out, 16);
    l->groups = (n + 5) / 6;
    l->w = aligned_floats((size_t)l->outp * l->depth);
    l->bias = aligned_floats(l->outp);
    if (!l->w || !l->bias) { zoo_linear_free(l); return -1; }
    if (bias) memcpy(l->bias, bias, sizeof(float) * out);
    for (int o = 0; o < out; o++)
        for (int i = 0; i < in; i++)
            l->w[((size_t)(o / 16) * l->depth + i) * 16 + o % 16] = weights[(size_t)o * in + i];
    return 0;
}

void zoo_linear_free(zoo_linear *l) {
    free(l->w);
    free(l->bias);
    l->w = l->bias = NULL;
}

size_t zoo_linear_weight_bytes(const zoo_linear *l) { return ((size_t)l->depth + 1) * l->outp * sizeof(float); }

size_t zoo_linear_scratch_floats(const zoo_linear *l) { return (size_t)l->groups * 6 * l->depth; }

typedef struct { const zoo_linear *l; const float *src; float *dst, *packed; } linear_job;

/* The input's rows in groups of six, [groups][depth/8][6][8], zero past the last row and column. */
static void pack_rows(const void *context, int g, int thread) {
    (void)thread;
    const linear_job *j = context;
    const zoo_linear *l = j->l;
    float *a = j->packed + (size_t)g * 6 * l->depth;
    for (int r = 0; r < 6; r++) {
        int row = g * 6 + r;
        for (int i = 0; i < l->depth; i++)
            a[(size_t)(i / 8) * 48 + r * 8 + i % 8] = row < l->n && i < l->in ? j->src[(size_t)row * l->in + i] : 0;
    }
}

static float activate(float x, int act) {
    if (act == ZOO_ACT_RELU) return x > 0 ? x : 0;
    if (act == ZOO_ACT_RELU6) return x < 0 ? 0 : x > 6 ? 6 : x;
    if (act == ZOO_ACT_SIGMOID) return 1 / (1 + expf(-x));
    return x;
}

static void linear_panel(const void *context, int panel, int thread) {
    (void)thread;
    const linear_job *j = context;
    const zoo_linear *l = j->l;
    enum { MAX_GROUPS = 32 };
    float sums[MAX_GROUPS][6][16], part[6][16];
    const float *b = l->w + (size_t)panel * l->depth * 16;
    for (int first = 0; first < l->groups; first += MAX_GROUPS) {
        int groups = l->groups - first < MAX_GROUPS ? l->groups - first : MAX_GROUPS;
        memset(sums, 0, sizeof sums);
        for (int d = 0; d < l->depth; d += LINEAR_SLICE) {
            int depth = l->depth - d < LINEAR_SLICE ? l->depth - d : LINEAR_SLICE;
            for (int g = 0; g < groups; g++) {
                const float *a = j->packed + (size_t)(first + g) * 6 * l->depth + (size_t)(d / 8) * 48;
                kernel_6x16(depth / 8, a, b + (size_t)d * 16, &part[0][0], 16);
                for (int r = 0; r < 6; r++)
                    for (int c = 0; c < 16; c++) sums[g][r][c] += part[r][c];
            }
        }
        for (int g = 0; g < groups; g++)
            for (int r = 0; r < 6; r++) {
                int row = (first + g) * 6 + r;
                if (row >= l->n) break;
                for (int c = 0; c < 16 && panel * 16 + c < l->out; c++)
                    j->dst[(size_t)row * l->out + panel * 16 + c] = activate(sums[g][r][c] + l->bias[panel * 16 + c], l->act);
            }
    }
}

void zoo_linear_run(const zoo_linear *l, const float *src, float *dst, float *scratch, int threads) {
    linear_job j = {l, src, dst, scratch};
    zoo_parallel_for(l->groups, threads, pack_rows, &j);
    zoo_parallel_for(l->outp / 16, threads, linear_panel, &j);
}

/* ---- a convolution as one matrix product over gathered windows ----
   For convolutions oneDNN has no fast kernel for on the blocked layout (AlexNet's 11×11 stride
   4 over three channels ran on its reference kernel, or between reorders at 40 GFLOP/s). Each
   group of six output pixels gathers its windows straight from the nChw8c input into the
   micro-kernel's layout (through a table of offsets; zeros in the padding) and multiplies them
   by weights packed once, [panels][depth][16], the depth ordered (channel, row, column). */

int zoo_gemm_conv_init(zoo_gemm_conv *g, const zoo_conv_shape *shape, const float *weights, const float *bias, int act) {
    memset(g, 0, sizeof *g);
    g->shape = *shape;
    g->act = act;
    int taps = shape->kernel_h * shape->kernel_w, in = shape->in_channels * taps;
    g->depth = round_up(in, 8);
    g->kp = round_up(shape->out_channels, 16);
    g->w = aligned_floats((size_t)g->kp * g->depth);
    g->bias = aligned_floats(g->kp);
    g->offsets = malloc(sizeof(long) * (size_t)in);
    g->taps = malloc(sizeof(int) * 3 * (size_t)in);
    if (!g->w || !g->bias || !g->offsets || !g->taps) { zoo_gemm_conv_free(g); return -1; }
    if (bias) memcpy(g->bias, bias, sizeof(float) * shape->out_channels);
    for (int o = 0; o < shape->out_channels; o++)
        for (int i = 0; i < in; i++)
            g->w[((size_t)(o / 16) * g->depth + i) * 16 + o % 16] = weights[(size_t)o * in + i];
    long plane = (long)shape->height * shape->width;
    for (int i = 0; i < in; i++) {
        int c = i / taps, ky = i % taps / shape->kernel_w, kx = i % shape->kernel_w;
        g->offsets[i] = ((c / 8) * plane + (long)ky * shape->dilation_h * shape->width + (long)kx * shape->dilation_w) * 8 + c % 8;
        g->taps[3 * i] = c;
        g->taps[3 * i + 1] = ky * shape->dilation_h;
        g->taps[3 * i + 2] = kx * shape->dilation_w;
    }
    return 0;
}

void zoo_gemm_conv_free(zoo_gemm_conv *g) {
    free(g->w);
    free(g->bias);
    free(g->offsets);
    free(g->taps);
    g->w = g->bias = NULL;
    g->offsets = NULL;
    g->taps = NULL;
}

size_t zoo_gemm_conv_weight_bytes(const zoo_gemm_conv *g) { return ((size_t)g->depth + 1) * g->kp * sizeof(float); }

size_t zoo_gemm_conv_scratch_floats(const zoo_gemm_conv *g, int threads) {
    return (size_t)6 * g->depth * (threads > 0 ? threads : 1);
}

typedef struct { const zoo_gemm_conv *g; const float *src; float *dst, *scratch; } gemm_conv_job;

static void gemm_conv_rows(const void *context, int group, int thread) {
    const gemm_conv_job *j = context;
    const zoo_gemm_conv *g = j->g;
    const zoo_conv_shape *s = &g->shape;
    int taps = s->kernel_h * s->kernel_w, in = s->in_channels * taps;
    int pixels = s->out_h * s->out_w, rows = s->batch * pixels;
    long in_image = (long)((s->in_channels + 7) / 8) * s->height * s->width * 8;
    long out_image = (long)((s->out_channels + 7) / 8) * pixels * 8;
    float *a = j->scratch + (size_t)thread * 6 * g->depth;
    for (int r = 0; r < 6; r++) {
        int row = group * 6 + r;
        float *to = a + r * 8;
        if (row >= rows) {
            for (int i = 0; i < g->depth; i++) to[(size_t)(i / 8) * 48 + i % 8] = 0;
            continue;
        }
        int n = row / pixels, oy = row % pixels / s->out_w, ox = row % s->out_w;
        int y0 = oy * s->stride_h - s->pad_h, x0 = ox * s->stride_w - s->pad_w;
        int y1 = y0 + (s->kernel_h - 1) * s->dilation_h, x1 = x0 + (s->kernel_w - 1) * s->dilation_w;
        const float *image = j->src + n * in_image;
        if (y0 >= 0 && x0 >= 0 && y1 < s->height && x1 < s->width) {
            const float *origin = image + ((long)y0 * s->width + x0) * 8;
            for (int i = 0; i < in; i++) to[(size_t)(i / 8) * 48 + i % 8] = origin[g->offsets[i]];
        } else {
            for (int i = 0; i < in; i++) {
                int c = g->taps[3 * i], y = y0 + g->taps[3 * i + 1], x = x0 + g->taps[3 * i + 2];
                to[(size_t)(i / 8) * 48 + i % 8] = y >= 0 && y < s->height && x >= 0 && x < s->width
                    ? image[((c / 8) * (long)s->height * s->width + (long)y * s->width + x) * 8 + c % 8] : 0;
            }
        }
        for (int i = in; i < g->depth; i++) to[(size_t)(i / 8) * 48 + i % 8] = 0;
    }
    float part[6][16];
    for (int panel = 0; panel < g->kp / 16; panel++) {
        kernel_6x16(g->depth / 8, a, g->w + (size_t)panel * g->depth * 16, &part[0][0], 16);
        for (int r = 0; r < 6; r++) {
            int row = group * 6 + r;
            if (row >= rows) break;
            int n = row / pixels, pixel = row % pixels;
            for (int c = 0; c < 16 && panel * 16 + c < s->out_channels; c++) {
                int k = panel * 16 + c;
                j->dst[n * out_image + ((long)(k / 8) * pixels + pixel) * 8 + k % 8] = activate(part[r][c] + g->bias[k], g->act);
            }
        }
    }
}

void zoo_gemm_conv_run(const zoo_gemm_conv *g, const float *src, float *dst, float *scratch, int threads) {
    gemm_conv_job j = {g, src, dst, scratch};
    int rows = g->shape.batch * g->shape.out_h * g->shape.out_w;
    zoo_parallel_for((rows + 5) / 6, threads, gemm_conv_rows, &j);
}

/* ---- one of them, as a plan's step holds it ---- */

void zoo_own_free(zoo_own_kernel *o) {
    switch (o->kind) {
    case ZOO_OWN_WINOGRAD: zoo_winograd_free(&o->winograd); break;
    case ZOO_OWN_GATHERED: zoo_gemm_conv_free(&o->gathered); break;
    case ZOO_OWN_LINEAR: zoo_linear_free(&o->linear); break;
    }
    o->kind = ZOO_OWN_NONE;
}

void zoo_own_run(const zoo_own_kernel *o, const float *src, float *dst, float *scratch, int threads) {
    switch (o->kind) {
    case ZOO_OWN_WINOGRAD: zoo_winograd_run(&o->winograd, src, dst, scratch, threads); break;
    case ZOO_OWN_GATHERED: zoo_gemm_conv_run(&o->gathered, src, dst, scratch, threads); break;
    case ZOO_OWN_LINEAR: zoo_linear_run(&o->linear, src, dst, scratch, threads); break;
    }
}

size_t zoo_own_scratch_bytes(const zoo_own_kernel *o, int threads) {
    switch (o->kind) {
    case ZOO_OWN_WINOGRAD: return zoo_winograd_scratch_floats(&o->winograd, threads) * sizeof(float);
    case ZOO_OWN_GATHERED: return zoo_gemm_conv_scratch_floats(&o->gathered, threads) * sizeof(float);
    case ZOO_OWN_LINEAR: return zoo_linear_scratch_floats(&o->linear) * sizeof(float);
    }
    return 0;
}

size_t zoo_own_weight_bytes(const zoo_own_kernel *o) {
    switch (o->kind) {
    case ZOO_OWN_WINOGRAD: return zoo_winograd_weight_bytes(&o->winograd);
    case ZOO_OWN_GATHERED: return zoo_gemm_conv_weight_bytes(&o->gathered);
    case ZOO_OWN_LINEAR: return zoo_linear_weight_bytes(&o->linear);
    }
    return 0;
}

const char *zoo_own_name(const zoo_own_kernel *o) {
    switch (o->kind) {
    case ZOO_OWN_WINOGRAD: return o->winograd.r == 3 ? "winograd F(4x4,3x3)" : "winograd F(2x2,5x5)";
    case ZOO_OWN_GATHERED: return "gathered windows, packed weights";
    case ZOO_OWN_LINEAR: return "packed weights";
    }
    return "";
}
