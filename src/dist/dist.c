/* dist.c - MPI jobs (dist.h).  Without OB_HAVE_MPI: one process. */
#include "dist/dist.h"

#include <stdlib.h>
#include <string.h>

#ifdef OB_HAVE_MPI
#include <mpi.h>
#endif

int ob_dist_available(void) {
#ifdef OB_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

int ob_dist_begin(int *argc, char ***argv, ob_dist *d, ob_err *err) {
    memset(d, 0, sizeof *d);
    d->size = 1;
#ifdef OB_HAVE_MPI
    /* started by mpirun (Open MPI sets OMPI_COMM_WORLD_SIZE; MPICH, PMI_SIZE) */
    if (getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE")) {
        if (MPI_Init(argc, argv) != MPI_SUCCESS) return ob_fail(err, OB_EIO, "MPI_Init failed");
        d->mpi = 1;
        MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
        MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    }
#else
    (void)argc, (void)argv, (void)err;
#endif
    return 0;
}

void ob_dist_end(ob_dist *d) {
#ifdef OB_HAVE_MPI
    if (d->mpi) MPI_Finalize();
#endif
    d->mpi = 0;
}

int ob_dist_bcast_int(ob_dist *d, int *v) {
#ifdef OB_HAVE_MPI
    if (d->mpi) MPI_Bcast(v, 1, MPI_INT, 0, MPI_COMM_WORLD);
#else
    (void)d, (void)v;
#endif
    return 0;
}

/* appends the values of array `part` to `all` */
static int extend(json_t *all, const json_t *part) {
    size_t i;
    json_t *v;
    json_array_foreach(part, i, v) if (json_array_append(all, v)) return -1;
    return 0;
}

int ob_dist_gather(ob_dist *d, const json_t *mine, json_t **all, ob_err *err) {
    *all = NULL;
    if (!json_is_array(mine)) return ob_fail(err, OB_EINVAL, "gather: not a JSON array");
    if (!d->mpi || d->size == 1) {
        *all = json_array();
        if (!*all || extend(*all, mine)) return ob_fail(err, OB_ENOMEM, "gather: out of memory");
        return 0;
    }
#ifdef OB_HAVE_MPI
    char *text = json_dumps(mine, JSON_COMPACT);
    if (!text) return ob_fail(err, OB_ENOMEM, "gather: out of memory");
    long long len = (long long)strlen(text);
    int rc = 0;
    if (d->rank != 0) { /* length, then the text */
        MPI_Send(&len, 1, MPI_LONG_LONG, 0, 1, MPI_COMM_WORLD);
        MPI_Send(text, (int)len, MPI_CHAR, 0, 2, MPI_COMM_WORLD);
        free(text);
        return 0;
    }
    *all = json_array();
    if (!*all || extend(*all, mine)) rc = ob_fail(err, OB_ENOMEM, "gather: out of memory");
    free(text);
    for (int r = 1; r < d->size; r++) { /* receive every rank even after an error: none may block */
        long long n = 0;
        MPI_Recv(&n, 1, MPI_LONG_LONG, r, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        char *buf = malloc((size_t)n + 1);
        if (!buf) {
            MPI_Abort(MPI_COMM_WORLD, 1);
            return ob_fail(err, OB_ENOMEM, "gather: out of memory");
        }
        MPI_Recv(buf, (int)n, MPI_CHAR, r, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        buf[n] = 0;
        json_error_t je;
        json_t *part = json_loads(buf, 0, &je);
        free(buf);
        if (!rc && (!json_is_array(part) || extend(*all, part)))
            rc = ob_fail(err, OB_EFORMAT, "gather: rank %d sent what is not a JSON array of records", r);
        json_decref(part);
    }
    if (rc) {
        json_decref(*all);
        *all = NULL;
    }
    return rc;
#else
    return ob_fail(err, OB_EUNSUP, "gather: this build has no MPI");
#endif
}
