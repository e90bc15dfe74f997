#ifndef ZOO_DNNL_LIBRARY_H
#define ZOO_DNNL_LIBRARY_H

/* The oneDNN library as both bridges use it (CZooDNNL's zoo_dnnl.c: single convolutions;
   CZooInference: compiled inference plans). It is opened with dlopen once, by zoo_dnnl_load();
   each function is called through the pointer p_<name>. For C only: the module map shows Swift
   zoo_dnnl.h alone. */

#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>

#define ZOO_DNNL_FUNCTIONS(X)                                                                  \
    X(dnnl_engine_create) X(dnnl_stream_create) X(dnnl_stream_wait) X(dnnl_stream_destroy)     \
    X(dnnl_memory_desc_init_by_tag) X(dnnl_memory_desc_equal) X(dnnl_memory_desc_get_size)     \
    X(dnnl_dilated_convolution_forward_desc_init)                                              \
    X(dnnl_dilated_convolution_backward_data_desc_init)                                        \
    X(dnnl_dilated_convolution_backward_weights_desc_init)                                     \
    X(dnnl_primitive_desc_create) X(dnnl_primitive_desc_destroy) X(dnnl_primitive_desc_query)  \
    X(dnnl_primitive_desc_query_md) X(dnnl_primitive_create) X(dnnl_primitive_destroy)         \
    X(dnnl_primitive_execute) X(dnnl_memory_create) X(dnnl_memory_destroy)                     \
    X(dnnl_reorder_primitive_desc_create) X(dnnl_primitive_attr_create)                        \
    X(dnnl_primitive_attr_destroy) X(dnnl_primitive_attr_set_post_ops) X(dnnl_post_ops_create) \
    X(dnnl_post_ops_destroy) X(dnnl_post_ops_append_eltwise) X(dnnl_post_ops_append_sum)       \
    X(dnnl_primitive_attr_set_scratchpad_mode) X(dnnl_memory_set_data_handle)                  \
    X(dnnl_pooling_v2_forward_desc_init) X(dnnl_eltwise_forward_desc_init)                     \
    X(dnnl_binary_desc_init) X(dnnl_concat_primitive_desc_create)                              \
    X(dnnl_inner_product_forward_desc_init) X(dnnl_batch_normalization_forward_desc_init)

#define ZOO_DNNL_DECLARE(name) extern __typeof__(name) *p_##name;
ZOO_DNNL_FUNCTIONS(ZOO_DNNL_DECLARE)
#undef ZOO_DNNL_DECLARE
extern void (*p_omp_set_num_threads)(int);
/* libgomp's entry for a parallel region (what `#pragma omp parallel` compiles to), and the
   thread queries: NULL when oneDNN's runtime is not libgomp. */
extern void (*p_GOMP_parallel)(void (*)(void *), void *, unsigned, unsigned);
extern int (*p_omp_get_thread_num)(void);
extern int (*p_omp_get_num_threads)(void);

/* Guards the library's state and the convolution bridge's caches. */
extern pthread_mutex_t zoo_dnnl_lock;
extern dnnl_engine_t zoo_dnnl_engine;
extern dnnl_stream_t zoo_dnnl_stream;

/* task(context, item, thread) for items 0 ..< items on the team of oneDNN's OpenMP runtime
   (libgomp), so that no second pool spins against it: `threads` threads (at most one per item),
   each a contiguous share of the items; serial without libgomp. */
typedef void (*zoo_task)(const void *context, int item, int thread);
void zoo_parallel_for(int items, int threads, zoo_task task, const void *context);

/* 1 when the library is loaded (loading it on the first call); call with zoo_dnnl_lock held. */
int zoo_dnnl_load(void);

#endif
