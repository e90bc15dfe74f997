#ifndef ZOO_MPI_H
#define ZOO_MPI_H

#include <stddef.h>

/* Open MPI (Debian: openmpi-bin), loaded at run time for data-parallel training.

   Nothing here needs Open MPI to build or to run a single process: libmpi.so.40 is opened
   with dlopen by zoo_mpi_init, which a process calls only when mpirun started it. The
   bridge talks to MPI_COMM_WORLD only, with MPI_ERRORS_RETURN set on it, so that a failed
   call comes back as a code rather than ending the process.

   Threads: zoo_mpi_init asks for MPI_THREAD_MULTIPLE and refuses anything below
   MPI_THREAD_SERIALIZED. Every call after it takes one lock, so any thread may call, one
   at a time; collectives still have to be issued in the same order on every rank, so a
   training loop keeps all of them on one thread (its communication thread). MPI requires
   zoo_mpi_finalize on the thread that called zoo_mpi_init.

   Calls return 0 on success, an MPI error class (positive) or one of the ZOO_MPI_ codes
   below; zoo_mpi_describe turns either into words. */

enum {
    ZOO_MPI_NOT_STARTED = -1,    /* zoo_mpi_init has not succeeded, or zoo_mpi_finalize ran */
    ZOO_MPI_COUNT_MISMATCH = -2, /* a broadcast whose ranks passed different counts */
    ZOO_MPI_BAD_ARGUMENT = -3,   /* a negative count, a root outside the group */
};

/* 1 when Open MPI's mpirun started this process (it sets OMPI_COMM_WORLD_SIZE), else 0. */
int zoo_mpi_launched(void);

/* Opens libmpi.so.40 (or the file ZOO_MPI_LIBRARY names) and runs MPI_Init_thread, once per
   process; later calls return 0 again, or fail once zoo_mpi_finalize has run. On failure
   writes one sentence saying why into error[size] and returns non-zero. */
int zoo_mpi_init(char *error, size_t size);

/* This process's rank in MPI_COMM_WORLD and the number of processes; -1 before init. */
int zoo_mpi_rank(void);
int zoo_mpi_size(void);

/* The thread level MPI_Init_thread provided (0 single … 3 multiple); -1 before init. */
int zoo_mpi_thread_level(void);

/* data[count] on every rank = data[count] on root. Every rank must pass the same count; the
   ranks first agree on it and all return ZOO_MPI_COUNT_MISMATCH when they differ. */
int zoo_mpi_broadcast(float *data, long count, int root);

/* data[count] = the elementwise sum of data[count] over all ranks, in place. Every rank must
   pass the same count (not checked: this runs once per bucket per step). */
int zoo_mpi_allreduce_sum(float *data, long count);
int zoo_mpi_allreduce_sum_double(double *data, long count);

int zoo_mpi_barrier(void);

/* MPI_Abort(MPI_COMM_WORLD, code): mpirun ends every rank. Returns only before init. */
void zoo_mpi_abort(int code);

/* MPI_Finalize; 0 also when MPI was never started. */
int zoo_mpi_finalize(void);

/* A sentence for a code returned above, into text[size]. */
void zoo_mpi_describe(int code, char *text, size_t size);

/* For tests: the most bytes one MPI call carries (default 1 GiB: 2^28 floats, 2^27 doubles);
   longer buffers go in several calls. A value below one element's size restores the default. */
void zoo_mpi_set_chunk_bytes(long bytes);

#endif
