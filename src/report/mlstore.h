/* mlstore.h - writes runs in MLflow's file store layout, so that
 * `mlflow ui --backend-store-uri ROOT` (or any FileStore reader) lists them.
 *
 * Layout under ROOT (the "mlruns" folder):
 *   ROOT/.trash/                      deleted experiments (created empty)
 *   ROOT/0/meta.yaml                  the "Default" experiment
 *   ROOT/<exp>/meta.yaml              artifact_location ("file://ROOT/<exp>"),
 *                                     creation_time, experiment_id ('<exp>',
 *                                     a string), last_update_time,
 *                                     lifecycle_stage (active), name
 *   ROOT/<exp>/<run>/meta.yaml        artifact_uri, end_time (ms or null),
 *                                     entry_point_name (''), experiment_id,
 *                                     lifecycle_stage, run_id, run_name,
 *                                     run_uuid (= run_id), source_name (''),
 *                                     source_type (4, LOCAL), source_version
 *                                     (''), start_time (ms), status (int, see
 *                                     below), tags ([]), user_id
 *   ROOT/<exp>/<run>/params/<key>     the value, no newline
 *   ROOT/<exp>/<run>/metrics/<key>    one line per value: "<ms> <value> <step>"
 *   ROOT/<exp>/<run>/tags/<key>       the value, no newline; always
 *                                     mlflow.runName, mlflow.user,
 *                                     mlflow.source.name, mlflow.source.type
 *   ROOT/<exp>/<run>/artifacts/       copies of logged files
 * Experiment ids are decimal ("0" is Default; a new experiment takes the
 * largest numeric id + 1); a run id is 32 lowercase hex digits (a random
 * UUID4).  Times are milliseconds since the Unix epoch.  Keys are cleaned as
 * MLflow requires: characters other than letters, digits, '_', '-', '.',
 * ' ' and '/' become '_'; '/' makes subfolders, so empty, "." and ".."
 * segments and leading or trailing slashes are cleaned too; at most 250
 * bytes.  Every file is written whole through ob_write_atomic (a metric's
 * new line rewrites its file), so a crash leaves no half-written file.
 *
 * Handles: ob_mlstore owns its root path; ob_mlrun owns its paths and ids
 * and must be released with ob_mlrun_free after (or instead of) ob_mlrun_end.
 * Not for concurrent writers of the same run. */
#ifndef OB_REPORT_MLSTORE_H
#define OB_REPORT_MLSTORE_H
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "optibench.h"

/* RunStatus as MLflow stores it in a run's meta.yaml. */
enum { OB_RUN_RUNNING = 1, OB_RUN_SCHEDULED = 2, OB_RUN_FINISHED = 3, OB_RUN_FAILED = 4, OB_RUN_KILLED = 5 };

enum { OB_MLFLOW_ID_MAX = 72 }; /* room for an experiment or run id + NUL */

typedef struct ob_mlstore ob_mlstore;
typedef struct ob_mlrun ob_mlrun;

/* Opens (creating if needed) the store at root: the folder, .trash and the
 * Default experiment "0" when they are missing.  Errors name root. */
int ob_mlstore_open(const char *root, ob_mlstore **out, ob_err *err);
void ob_mlstore_close(ob_mlstore *s);
/* The store's absolute root path (owned by s). */
const char *ob_mlstore_root(const ob_mlstore *s);

/* The id of the active experiment called name, creating it when there is
 * none.  id receives it (at most OB_MLFLOW_ID_MAX bytes with the NUL). */
int ob_mlstore_experiment(ob_mlstore *s, const char *name, char *id, ob_err *err);

/* Starts a run in experiment experiment_id: writes meta.yaml (status
 * RUNNING), the params (an object of scalars; NULL for none) and the tags
 * (an object of scalars; NULL for none) plus MLflow's standard tags.
 * run_name NULL or "" gives the run id as its name. */
int ob_mlrun_start(ob_mlstore *s, const char *experiment_id, const char *run_name, const json_t *params,
                   const json_t *tags, ob_mlrun **out, ob_err *err);
int ob_mlrun_log_param(ob_mlrun *r, const char *key, const char *value, ob_err *err);
int ob_mlrun_set_tag(ob_mlrun *r, const char *key, const char *value, ob_err *err);
/* Appends "<now ms> <value> <step>" to metrics/<key>. */
int ob_mlrun_log_metric(ob_mlrun *r, const char *key, double value, int64_t step, ob_err *err);
/* Copies the file src to artifacts/<dest>; dest NULL: src's base name.
 * dest may contain '/' for subfolders but no ".." segment. */
int ob_mlrun_log_artifact(ob_mlrun *r, const char *src, const char *dest, ob_err *err);
/* Rewrites meta.yaml with status (an OB_RUN_* value) and end_time now. */
int ob_mlrun_end(ob_mlrun *r, int status, ob_err *err);
void ob_mlrun_free(ob_mlrun *r);
const char *ob_mlrun_id(const ob_mlrun *r);
/* The run's folder, ROOT/<exp>/<run>. */
const char *ob_mlrun_dir(const ob_mlrun *r);

/* Logs one sweep cell (the record of results.h) as a finished run: name =
 * the cell's "run_name" when it has one (a sweep of several models names
 * runs "model / recipe"), else the recipe; params = the cell's params plus model and recipe; metrics =
 * the cell's metrics at step 0; tags = model, recipe, status and error;
 * status FINISHED when "status" is "ok" (or absent), else FAILED.  run_id (may be NULL)
 * receives the new run's id. */
int ob_mlstore_log_cell(ob_mlstore *s, const char *experiment_id, const json_t *cell, char *run_id, ob_err *err);

/* Cleans key as described above into out (at most size bytes with NUL). */
void ob_mlflow_key(const char *key, char *out, size_t size);

#endif
