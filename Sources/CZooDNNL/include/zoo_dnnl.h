#ifndef ZOO_DNNL_H
#define ZOO_DNNL_H

/* Convolutions through oneDNN (Debian: libdnnl-dev), loaded at run time.

   The library is opened with dlopen on first use, after OMP_WAIT_POLICY=passive is set
   (unless the user set it), so that oneDNN's OpenMP workers sleep between convolutions
   instead of spinning against ConvZoo's own threads. Every call returns 0 when oneDNN did
   the work and non-zero when it could not (library missing, shape not supported), in
   which case the caller computes the convolution itself. Tensors are plain NCHW and
   weights plain [O, I/groups, kH, kW] (PyTorch's layout); each call reorders into and out
   of the blocked layouts oneDNN's kernels prefer when the primitive asks for them.

   `piece` > 0 runs the batch in pieces of that many images (the last piece may have fewer),
   each piece by a primitive made for one thread, the pieces spread over `threads` threads:
   each image's result then depends neither on the number of threads nor on the rest of the
   batch beyond its piece (oneDNN's kernels divide their work, and on some ISAs their sums,
   by the threads they are made for). `piece` 0 runs the whole batch as one call made for
   `threads` threads. */

typedef struct {
    int batch, in_channels, height, width;
    int out_channels, kernel_h, kernel_w;
    int stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
    int groups, out_h, out_w;
} zoo_conv_shape;

/* 1 when libdnnl.so.2 could be loaded and ZOO_CONV is not "blas" (unset or "auto": use it). */
int zoo_dnnl_available(void);

/* dst = conv(src, weights) + bias (bias may be NULL) [+ dst when accumulate != 0], then
   max(dst, 0) when relu != 0. A non-zero weights_tag promises that these weights never change
   under that tag: their copy in the kernel's layout is kept until zoo_dnnl_forget(tag). */
int zoo_dnnl_conv_forward(const zoo_conv_shape *shape, const float *src, const float *weights,
                          const float *bias, float *dst, int accumulate, int relu,
                          unsigned long long weights_tag, int threads, int piece);

/* 1 when zoo_dnnl_conv_forward adds an accumulate input well for this shape: on blocked
   layouts (spatial kernels). oneDNN's GEMM convolution (1×1, plain layout) applies a sum
   post-op in a slow separate pass (ResNet-50's 64→256 1×1 at batch 16: 90 ms, against 24). */
int zoo_dnnl_fuses_sum(const zoo_conv_shape *shape);

/* Drops the kept copies of the weights under this tag. */
void zoo_dnnl_forget(unsigned long long weights_tag);

/* diff_src = the input gradient of the convolution for diff_dst. */
int zoo_dnnl_conv_backward_data(const zoo_conv_shape *shape, const float *diff_dst,
                                const float *weights, float *diff_src, int threads, int piece);

/* diff_weights = the weight gradient (overwritten), one weight tensor per piece, one after
   another: ⌈batch / piece⌉ of them (one with piece 0). */
int zoo_dnnl_conv_backward_weights(const zoo_conv_shape *shape, const float *src,
                                   const float *diff_dst, float *diff_weights, int threads, int piece);

/* The name of the oneDNN implementation the last call on this geometry (any batch) used ("" if none). */
const char *zoo_dnnl_implementation(const zoo_conv_shape *shape, int kind);

#endif
