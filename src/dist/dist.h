/* dist.h - spreading work over the processes of an MPI job.
 *
 * `mpirun -np N optibench sweep ...` runs N copies of optibench; in a
 * build with MPI (make MPI=1: mpicc, OB_HAVE_MPI) each copy learns its rank
 * here and the sweep gives cell i to rank i % N; every rank's records then
 * go to rank 0, which writes the one results file, MLflow store and
 * report.  In an ordinary build, or a process not started by mpirun, this
 * is a job of one process (rank 0 of 1) and the calls below do the local
 * thing (no messages).
 *
 * Only the CLI calls these (MPI_Init needs argc/argv, and a job must call
 * ob_dist_end before exiting). */
#ifndef OB_DIST_DIST_H
#define OB_DIST_DIST_H

#include <jansson.h>

#include "optibench.h"

typedef struct ob_dist {
    int rank, size;
    int mpi;          /* 1 when MPI was initialised here */
} ob_dist;

/* Starts the job (MPI_Init when built with MPI and launched by mpirun). */
int ob_dist_begin(int *argc, char ***argv, ob_dist *d, ob_err *err);
/* Ends it (MPI_Finalize). */
void ob_dist_end(ob_dist *d);
/* 1 when this build can run under mpirun. */
int ob_dist_available(void);

/* Rank 0 receives every rank's array of JSON values (its own included, in
 * rank order) into *all (a new array, the caller's); the other ranks send
 * theirs and get *all = NULL.  mine is borrowed. */
int ob_dist_gather(ob_dist *d, const json_t *mine, json_t **all, ob_err *err);
/* Rank 0's int to every rank (an error code, so that all stop together). */
int ob_dist_bcast_int(ob_dist *d, int *v);

#endif
