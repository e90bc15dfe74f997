#include "zoo_plan_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int zoo_plan_finalize(zoo_plan *p, int input, int output, int threads) {
    if (p->finalized) return plan_fail(p, "the plan is already finalized");
    if (!plan_valid(p, input) || !plan_valid(p, output)) return plan_fail(p, "no input or output tensor");
    p->input = input;
    p->output = output;
    p->threads = threads;
    p->blocked = plan_blocked_layout();
    if (p_dnnl_stream_create(&p->stream, zoo_dnnl_engine, dnnl_stream_default_flags) != dnnl_success)
        return plan_fail(p, "oneDNN could not create a stream");
    for (int t = 0; t < p->ntensors; t++) plan_describe_tensor(&p->tensors[t], &p->tensors[t].md, p->blocked);
    /* The image itself stays plain when only first-layer convolutions (few channels) read it. */
    tensor *in = &p->tensors[input];
    int plain_input = in->rank == 4 && in->dims[1] < 8;
    for (int i = 0; i < p->nsteps; i++)
        for (int k = 0; k < p->steps[i].count; k++)
            if (p->steps[i].srcs[k] == input && (p->steps[i].kind != CONV || p->steps[i].shape.groups != 1)) plain_input = 0;
    if (plain_input) {
        /* ... and when oneDNN has a real kernel for them on plain input (it has none for
           AlexNet's 11×11 stride-4 convolution, whose reference kernel takes seconds). */
        plan_describe_tensor(in, &in->md, dnnl_nchw);
        for (int i = 0; i < p->nsteps && plain_input; i++) {
            if (p->steps[i].srcs[0] != input) continue;
            dnnl_primitive_desc_t pd = plan_describe_step(p, i, 0);
            const char *name = NULL;
            if (!pd || p_dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) != dnnl_success || !name
                || strncmp(name, "ref", 3) == 0) plain_input = 0;
            if (pd) p_dnnl_primitive_desc_destroy(pd);
        }
        if (!plain_input) plan_describe_tensor(in, &in->md, p->blocked);
    }

    /* Lifetimes, in steps; the input is written before step 0, the output read after the last. */
    in->first = -1;
    for (int i = 0; i < p->nsteps; i++) {
        step *s = &p->steps[i];
        for (int k = 0; k <= s->count; k++) {
            int t = k < s->count ? s->srcs[k] : s->sum;
            if (t < 0) continue;
            if (p->tensors[t].first == -2) return plan_fail(p, "step %d (%s) reads tensor %d before any step writes it", i, s->description, t);
            p->tensors[t].last = i;
        }
        if (p->tensors[s->dst].first != -2) return plan_fail(p, "step %d (%s) writes tensor %d a second time", i, s->description, s->dst);
        p->tensors[s->dst].first = i;
    }
    if (p->tensors[output].first == -2) return plan_fail(p, "no step writes the output");
    p->tensors[output].last = p->nsteps;

    if (p->fault == 1)
        for (int i = 0; i < p->nsteps; i++) p->steps[i].sum = -1;

    plan_concatenate_in_place(p);

    /* In place: a step writes over the input that dies with it. */
    for (int i = 0; i < p->nsteps; i++) {
        step *s = &p->steps[i];
        int candidate = s->sum >= 0 || s->kind == CONV ? s->sum
                      : (s->kind == ACTIVATION || s->kind == BINARY || s->kind == BATCHNORM) ? s->srcs[0] : -1;
        if (candidate >= 0 && plan_may_overwrite(p, i, candidate)) p->tensors[s->dst].root = plan_root_of(p, candidate);
    }

    dnnl_primitive_desc_t *pds = calloc(p->nsteps, sizeof *pds);
    if (!pds) return plan_fail(p, "out of memory");
    int status = 0;
    for (int i = 0; i < p->nsteps && !status; i++) {
        step *s = &p->steps[i];
        if (s->in_place) {
            strncat(s->description, ": in place", sizeof s->description - strlen(s->description) - 1);
            continue;
        }
        if (s->kind == PAD) {
            if (p->tensors[s->srcs[0]].md.format_kind != dnnl_blocked || p->tensors[s->srcs[0]].rank != 4
                || s->srcs[0] == p->input) { status = plan_fail(p, "pad: the input must be a blocked activation"); break; }
            continue;
        }
        if (plan_choose_own_kernel(p, s, 0)) {
            if (!s->own.kind) { status = plan_fail(p, "out of memory for step %d", i); break; }
            continue;
        }
        if (!(pds[i] = plan_describe_step(p, i, s->sum >= 0))) { status = -1; break; }
        const char *chosen = NULL;
        if (s->kind == CONV && p_dnnl_primitive_desc_query(pds[i], dnnl_query_impl_info_str, 0, &chosen) == dnnl_success
            && chosen && strncmp(chosen, "ref", 3) == 0) {
            if (plan_choose_own_kernel(p, s, 1)) {
                p_dnnl_primitive_desc_destroy(pds[i]);
                pds[i] = NULL;
                if (!s->own.kind) { status = plan_fail(p, "out of memory for step %d", i); break; }
                continue;
            }
            s->relayout = 1;
            dnnl_primitive_desc_t other = plan_describe_step(p, i, s->sum >= 0);
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
            status = plan_fail(p, "oneDNN could not create step %d (%s)", i, s->description);
    }
    if (!status) {
        p->arena_bytes = plan_place(p);
        if (posix_memalign(&p->arena, 64, p->arena_bytes ? p->arena_bytes : 64) != 0
            || posix_memalign(&p->scratch, 64, p->scratch_bytes ? p->scratch_bytes : 64) != 0)
            status = plan_fail(p, "out of memory for a %zu-byte arena", p->arena_bytes);
    }
    for (int i = 0; i < p->nsteps && !status; i++)
        if (!p->steps[i].in_place && p->steps[i].kind != PAD) status = plan_bind_step(p, i, pds[i]);
    for (int i = 0; i < p->nsteps; i++) if (pds[i]) p_dnnl_primitive_desc_destroy(pds[i]);
    free(pds);
    if (status) return status;

    /* The caller's plain input and output. */
    tensor *out = &p->tensors[output];
    dnnl_memory_desc_t user_in, user_out;
    plan_describe_tensor(in, &user_in, dnnl_nchw);
    plan_describe_tensor(out, &user_out, dnnl_nchw);
    if (plan_make_reorder(p, &user_in, &in->md, &p->reorder_in) || plan_make_reorder(p, &out->md, &user_out, &p->reorder_out)) return -1;
    if (p_dnnl_memory_create(&p->user_in, &user_in, zoo_dnnl_engine, DNNL_MEMORY_NONE) != dnnl_success
        || p_dnnl_memory_create(&p->user_out, &user_out, zoo_dnnl_engine, DNNL_MEMORY_NONE) != dnnl_success
        || p_dnnl_memory_create(&p->arena_in, &in->md, zoo_dnnl_engine, plan_address(p, input)) != dnnl_success
        || p_dnnl_memory_create(&p->arena_out, &out->md, zoo_dnnl_engine, plan_address(p, output)) != dnnl_success)
        return plan_fail(p, "oneDNN could not describe the input or output");
    p->finalized = 1;
    return 0;
}
