#include "zoo_plan_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The pad step on the blocked layout [N][C/b][H][W][b]: each output pixel's b lanes are the
   input's, or `value` (zero in the lanes past the last channel, which stay zero everywhere). */
static void run_pad(const zoo_plan *p, const step *s) {
    const tensor *in = &p->tensors[s->srcs[0]], *out = &p->tensors[s->dst];
    int b = p->blocked == dnnl_aBcd16b ? 16 : 8;
    int channels = in->dims[1], blocks = (channels + b - 1) / b;
    int ih = in->dims[2], iw = in->dims[3], oh = out->dims[2], ow = out->dims[3];
    const float *x = plan_address(p, s->srcs[0]);
    float *y = plan_address(p, s->dst);
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
    if (!p->finalized) return plan_fail(p, "the plan is not finalized");
    if (p_omp_set_num_threads && p->threads > 0) p_omp_set_num_threads(p->threads);
    p_dnnl_memory_set_data_handle(p->user_in, (void *)input);
    p_dnnl_memory_set_data_handle(p->user_out, output);
    dnnl_exec_arg_t in_args[2] = {{DNNL_ARG_FROM, p->user_in}, {DNNL_ARG_TO, p->arena_in}};
    if (p_dnnl_primitive_execute(p->reorder_in, p->stream, 2, in_args) != dnnl_success) return plan_fail(p, "the input reorder failed");
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
            return plan_fail(p, "step %d (%s): the reorder of its input failed", i, s->description);
        if (s->copy && p_dnnl_primitive_execute(s->copy, p->stream, 2, s->copy_args) != dnnl_success)
            return plan_fail(p, "step %d (%s): the copy of its sum failed", i, s->description);
        if (s->own.kind)
            zoo_own_run(&s->own, plan_address(p, s->srcs[0]), plan_address(p, s->dst), p->scratch, p->threads);
        else if (p_dnnl_primitive_execute(s->primitive, p->stream, s->nargs, s->args) != dnnl_success)
            return plan_fail(p, "step %d (%s) failed", i, s->description);
        if (s->reorder_dst && p_dnnl_primitive_execute(s->reorder_dst, p->stream, 2, s->reorder_dst_args) != dnnl_success)
            return plan_fail(p, "step %d (%s): the reorder of its output failed", i, s->description);
        if (step_ms) { p_dnnl_stream_wait(p->stream); step_ms[i] = now_ms() - start; }
    }
    dnnl_exec_arg_t out_args[2] = {{DNNL_ARG_FROM, p->arena_out}, {DNNL_ARG_TO, p->user_out}};
    if (p_dnnl_primitive_execute(p->reorder_out, p->stream, 2, out_args) != dnnl_success) return plan_fail(p, "the output reorder failed");
    return p_dnnl_stream_wait(p->stream) == dnnl_success ? 0 : plan_fail(p, "oneDNN's stream failed");
}

int zoo_plan_run(zoo_plan *p, const float *input, float *output) { return zoo_plan_run_timed(p, input, output, NULL); }

int zoo_plan_steps(const zoo_plan *p) { return p->nsteps; }

const char *zoo_plan_step_description(const zoo_plan *p, int i) {
    return i >= 0 && i < p->nsteps ? p->steps[i].description : "";
}

double zoo_plan_step_macs(const zoo_plan *p, int i) { return i >= 0 && i < p->nsteps ? p->steps[i].macs : 0; }

size_t zoo_plan_arena_bytes(const zoo_plan *p) { return p->arena_bytes + p->scratch_bytes; }

size_t zoo_plan_weight_bytes(const zoo_plan *p) { return p->weight_bytes; }
