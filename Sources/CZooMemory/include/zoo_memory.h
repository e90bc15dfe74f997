#ifndef ZOO_MEMORY_H
#define ZOO_MEMORY_H

/* Keeps large freed blocks in the allocator's heap instead of returning them to the system
   (glibc: mallopt M_MMAP_THRESHOLD and M_TRIM_THRESHOLD), so a network's activations, which
   are freed and allocated again at the same sizes on every batch, are not page-faulted in and
   zeroed by the kernel each time. Does nothing where glibc's mallopt is absent. */
void zoo_keep_freed_memory(void);

#endif
