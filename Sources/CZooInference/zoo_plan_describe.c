#include "zoo_plan_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void plan_describe_tensor(const tensor *t, dnnl_memory_desc_t *md, dnnl_format_tag_t tag) {
    dnnl_dims_t dims = {t->dims[0], t->dims[1], t->dims[2], t->dims[3]};
    p_dnnl_memory_desc_init_by_tag(md, t->rank, dims, dnnl_f32, t->rank == 2 ? dnnl_ab : tag);
}

/* The blocked layout the convolutions want here: asked of oneDNN for a typical 3×3 layer. */
dnnl_format_tag_t plan_blocked_layout(void) {
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
dnnl_primitive_desc_t plan_describe_step(zoo_plan *p, int index, int with_sum) {
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
        plan_describe_tensor(&p->tensors[s->srcs[0]], &wrong, dnnl_nchw);
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
        plan_describe_tensor(in, &plain, dnnl_nchw);
        status = p_dnnl_reorder_primitive_desc_create(&pd, src, zoo_dnnl_engine, &plain, zoo_dnnl_engine, attr);
        break;
    }
    }
    if (attr) p_dnnl_primitive_attr_destroy(attr);
    if (status != dnnl_success) {
        plan_fail(p, "oneDNN has no kernel for step %d (%s): status %d", index, s->description, (int)status);
        return NULL;
    }
    return pd;
}
