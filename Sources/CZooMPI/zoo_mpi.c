#include "zoo_mpi.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Open MPI's ABI, declared here so that building needs neither mpi.h nor libmpi -------

   Facts from Open MPI 4.1.4's header (Debian libopenmpi-dev,
   /usr/lib/x86_64-linux-gnu/openmpi/include/mpi.h, line numbers of that file):
   - handles are pointers to opaque structs: MPI_Comm is struct ompi_communicator_t *,
     MPI_Datatype struct ompi_datatype_t *, MPI_Op struct ompi_op_t * (419-425),
     MPI_Errhandler struct ompi_errhandler_t * (421);
   - a predefined handle is the address of an exported global (OMPI_PREDEFINED_GLOBAL, 400-405):
     MPI_COMM_WORLD &ompi_mpi_comm_world (1140), MPI_LONG &ompi_mpi_long (1169), MPI_FLOAT
     &ompi_mpi_float (1170), MPI_DOUBLE &ompi_mpi_double (1171), MPI_SUM &ompi_mpi_op_sum (1149),
     MPI_MAX &ompi_mpi_op_max (1147), MPI_ERRORS_RETURN &ompi_mpi_errors_return (1283);
   - MPI_IN_PLACE is (void *)1 (518), MPI_SUCCESS 0 (612), MPI_MAX_ERROR_STRING 256 (503, 85),
     MPI_THREAD_SINGLE, _FUNNELED, _SERIALIZED, _MULTIPLE are 0, 1, 2, 3 (708-713);
   - the prototypes below are those of 1300-1717 (MPI_Abort … MPI_Query_thread).
   MPICH's libmpi.so.12 has another ABI (integer handles) and is not supported. */

typedef struct zoo_ompi_communicator *mpi_comm;
typedef struct zoo_ompi_datatype *mpi_datatype;
typedef struct zoo_ompi_op *mpi_op;
typedef struct zoo_ompi_errhandler *mpi_errhandler;

#define MPI_IN_PLACE ((void *)1)
enum { MPI_THREAD_SERIALIZED = 2, MPI_THREAD_MULTIPLE = 3, MAX_ERROR_STRING = 256 };

static struct {
    int (*Init_thread)(int *argc, char ***argv, int required, int *provided);
    int (*Finalize)(void);
    int (*Comm_rank)(mpi_comm comm, int *rank);
    int (*Comm_size)(mpi_comm comm, int *size);
    int (*Comm_set_errhandler)(mpi_comm comm, mpi_errhandler handler);
    int (*Bcast)(void *buffer, int count, mpi_datatype type, int root, mpi_comm comm);
    int (*Allreduce)(const void *send, void *receive, int count, mpi_datatype type, mpi_op op, mpi_comm comm);
    int (*Barrier)(mpi_comm comm);
    int (*Abort)(mpi_comm comm, int code);
    int (*Error_string)(int code, char *text, int *length);
    mpi_comm world;
    mpi_datatype type_long, type_float, type_double;
    mpi_op op_sum, op_max;
    mpi_errhandler errors_return;
} mpi;

/* ---- state ------------------------------------------------------------------------------ */

enum { IDLE, RUNNING, FAILED, FINISHED };

/* Guards everything below, and every MPI call after init (which makes MPI_THREAD_SERIALIZED
   enough for callers on any thread). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int state = IDLE;
static int rank = -1, size = -1, thread_level = -1;
static char failure[512];
static int library_loaded;

/* One MPI call carries at most this many bytes. Open MPI's int count would allow 2^31 - 1
   elements, but several of its components have computed count × extent in an int (for one,
   Open MPI PR #10094 in libnbc's iallreduce), so calls stay at 1 GiB. */
static const long default_chunk_bytes = 1L << 30;
static long chunk_bytes = 1L << 30;

static void fail(const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(failure, sizeof failure, format, arguments);
    va_end(arguments);
    __atomic_store_n(&state, FAILED, __ATOMIC_RELEASE);
}

static void mpi_error_text(int code, char *text, size_t length) {
    char message[MAX_ERROR_STRING + 1] = "";
    int used = 0;
    if (library_loaded && mpi.Error_string(code, message, &used) == 0 && used >= 0 && used <= MAX_ERROR_STRING)
        message[used] = 0;
    if (message[0]) snprintf(text, length, "%s", message);
    else snprintf(text, length, "MPI error %d", code);
}

/* Opens the library, resolves what the bridge calls and starts MPI. Called under the lock. */
static void start(void) {
    const char *name = getenv("ZOO_MPI_LIBRARY");
    if (!name || !*name) name = "libmpi.so.40";
    /* RTLD_GLOBAL: Open MPI's components (mca_*.so, opened by libmpi itself) resolve
       libmpi's and libopen-pal's symbols from the global scope. */
    void *library = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
    if (!library) {
        fail("mpirun started this process, but Open MPI's library could not be loaded (%s); "
             "install Debian's openmpi-bin (apt-get install openmpi-bin)", dlerror());
        return;
    }
    const char *missing = NULL;
#define ZOO_RESOLVE(field, symbol) \
    if (!missing && !(*(void **)&mpi.field = dlsym(library, symbol))) missing = symbol;
    ZOO_RESOLVE(Init_thread, "MPI_Init_thread")
    ZOO_RESOLVE(Finalize, "MPI_Finalize")
    ZOO_RESOLVE(Comm_rank, "MPI_Comm_rank")
    ZOO_RESOLVE(Comm_size, "MPI_Comm_size")
    ZOO_RESOLVE(Comm_set_errhandler, "MPI_Comm_set_errhandler")
    ZOO_RESOLVE(Bcast, "MPI_Bcast")
    ZOO_RESOLVE(Allreduce, "MPI_Allreduce")
    ZOO_RESOLVE(Barrier, "MPI_Barrier")
    ZOO_RESOLVE(Abort, "MPI_Abort")
    ZOO_RESOLVE(Error_string, "MPI_Error_string")
    ZOO_RESOLVE(world, "ompi_mpi_comm_world")
    ZOO_RESOLVE(type_long, "ompi_mpi_long")
    ZOO_RESOLVE(type_float, "ompi_mpi_float")
    ZOO_RESOLVE(type_double, "ompi_mpi_double")
    ZOO_RESOLVE(op_sum, "ompi_mpi_op_sum")
    ZOO_RESOLVE(op_max, "ompi_mpi_op_max")
    ZOO_RESOLVE(errors_return, "ompi_mpi_errors_return")
#undef ZOO_RESOLVE
    if (missing) {
        fail("%s has no symbol %s: ConvZoo's MPI bridge needs Open MPI 4.x (Debian's openmpi-bin)", name, missing);
        return;
    }
    library_loaded = 1;
    int provided = -1;
    int code = mpi.Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided);
    if (code != 0) {
        char text[MAX_ERROR_STRING + 32];
        mpi_error_text(code, text, sizeof text);
        fail("MPI_Init_thread failed (%s)", text);
        return;
    }
    if (provided < MPI_THREAD_SERIALIZED) {
        mpi.Finalize();
        fail("Open MPI provides thread level %d only; ConvZoo's training calls MPI from a communication thread "
             "and needs MPI_THREAD_SERIALIZED (2) or better", provided);
        return;
    }
    __atomic_store_n(&thread_level, provided, __ATOMIC_RELEASE);
    if ((code = mpi.Comm_set_errhandler(mpi.world, mpi.errors_return)) == 0 &&
        (code = mpi.Comm_rank(mpi.world, &rank)) == 0)
        code = mpi.Comm_size(mpi.world, &size);
    if (code != 0) {
        char text[MAX_ERROR_STRING + 32];
        mpi_error_text(code, text, sizeof text);
        mpi.Finalize();
        fail("MPI started, but asking MPI_COMM_WORLD for this process's rank failed (%s)", text);
        return;
    }
    __atomic_store_n(&state, RUNNING, __ATOMIC_RELEASE);
}

int zoo_mpi_launched(void) {
    const char *world_size = getenv("OMPI_COMM_WORLD_SIZE");
    return world_size && *world_size;
}

int zoo_mpi_init(char *error, size_t length) {
    pthread_mutex_lock(&lock);
    if (state == IDLE) start();
    int result = state == RUNNING ? 0 : -1;
    if (result && error && length) snprintf(error, length, "%s", failure);
    pthread_mutex_unlock(&lock);
    return result;
}

static int read_locked(const int *value) {
    pthread_mutex_lock(&lock);
    int result = state == RUNNING ? *value : -1;
    pthread_mutex_unlock(&lock);
    return result;
}

int zoo_mpi_rank(void) { return read_locked(&rank); }
int zoo_mpi_size(void) { return read_locked(&size); }
int zoo_mpi_thread_level(void) { return read_locked(&thread_level); }

/* ---- collectives ------------------------------------------------------------------------ */

static long chunk_elements(size_t element) {
    long elements = chunk_bytes / (long)element;
    return elements > INT_MAX ? INT_MAX : elements;
}

static int allreduce_sum(void *data, long count, size_t element, mpi_datatype *type) {
    if (count < 0) return ZOO_MPI_BAD_ARGUMENT;
    pthread_mutex_lock(&lock);
    int code = state == RUNNING ? 0 : ZOO_MPI_NOT_STARTED;
    long step = chunk_elements(element);
    for (long done = 0; code == 0 && done < count; done += step) {
        long part = count - done < step ? count - done : step;
        code = mpi.Allreduce(MPI_IN_PLACE, (char *)data + done * (long)element, (int)part, *type, mpi.op_sum, mpi.world);
    }
    pthread_mutex_unlock(&lock);
    return code;
}

int zoo_mpi_allreduce_sum(float *data, long count) { return allreduce_sum(data, count, sizeof *data, &mpi.type_float); }

int zoo_mpi_allreduce_sum_double(double *data, long count) {
    return allreduce_sum(data, count, sizeof *data, &mpi.type_double);
}

int zoo_mpi_broadcast(float *data, long count, int root) {
    pthread_mutex_lock(&lock);
    int code = state == RUNNING ? 0 : ZOO_MPI_NOT_STARTED;
    /* The ranks agree on count and root first (one small allreduce: the maxima of x and -x
       are every rank's largest and smallest), so that a mismatch fails on all of them alike
       instead of hanging or overrunning a buffer. */
    long agreed[4] = {count, -count, root, -(long)root};
    if (code == 0) code = mpi.Allreduce(MPI_IN_PLACE, agreed, 4, mpi.type_long, mpi.op_max, mpi.world);
    if (code == 0 && (agreed[0] != -agreed[1] || agreed[2] != -agreed[3])) code = ZOO_MPI_COUNT_MISMATCH;
    if (code == 0 && (count < 0 || root < 0 || root >= size)) code = ZOO_MPI_BAD_ARGUMENT;
    long step = chunk_elements(sizeof *data);
    for (long done = 0; code == 0 && done < count; done += step) {
        long part = count - done < step ? count - done : step;
        code = mpi.Bcast(data + done, (int)part, mpi.type_float, root, mpi.world);
    }
    pthread_mutex_unlock(&lock);
    return code;
}

int zoo_mpi_barrier(void) {
    pthread_mutex_lock(&lock);
    int code = state == RUNNING ? mpi.Barrier(mpi.world) : ZOO_MPI_NOT_STARTED;
    pthread_mutex_unlock(&lock);
    return code;
}

void zoo_mpi_abort(int code) {
    /* Under MPI_THREAD_MULTIPLE the abort need not wait for a collective another thread is
       blocked in (which may never return when a peer died); below it, it must. */
    int multiple = __atomic_load_n(&thread_level, __ATOMIC_ACQUIRE) == MPI_THREAD_MULTIPLE;
    if (!multiple) pthread_mutex_lock(&lock);
    if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) == RUNNING) mpi.Abort(mpi.world, code);
    if (!multiple) pthread_mutex_unlock(&lock);
}

int zoo_mpi_finalize(void) {
    pthread_mutex_lock(&lock);
    int code = 0;
    if (state == RUNNING) {
        code = mpi.Finalize();
        rank = size = -1;
        __atomic_store_n(&thread_level, -1, __ATOMIC_RELEASE);
        __atomic_store_n(&state, FINISHED, __ATOMIC_RELEASE);
        snprintf(failure, sizeof failure, "MPI was already finalized in this process, and MPI cannot start twice");
    }
    pthread_mutex_unlock(&lock);
    return code;
}

void zoo_mpi_describe(int code, char *text, size_t length) {
    if (!text || !length) return;
    switch (code) {
    case 0: snprintf(text, length, "no error"); break;
    case ZOO_MPI_NOT_STARTED: snprintf(text, length, "MPI is not running in this process (not initialised, or finalized)"); break;
    case ZOO_MPI_COUNT_MISMATCH:
        snprintf(text, length, "the ranks passed buffers of different lengths, or different roots, to one broadcast");
        break;
    case ZOO_MPI_BAD_ARGUMENT: snprintf(text, length, "a negative length, or a root outside the group"); break;
    default:
        pthread_mutex_lock(&lock);
        mpi_error_text(code, text, length);
        pthread_mutex_unlock(&lock);
    }
}

void zoo_mpi_set_chunk_bytes(long bytes) {
    pthread_mutex_lock(&lock);
    chunk_bytes = bytes >= (long)sizeof(double) ? bytes : default_chunk_bytes;
    pthread_mutex_unlock(&lock);
}
