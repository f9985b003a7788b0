/* sensors.h - what the bench reads besides the clock: RAPL energy
 * (powercap), temperatures (hwmon, thermal zones), GPUs (NVML, loaded at
 * run time) and the process's own resource use.
 *
 * Every reader takes the root of the tree it reads, so that tests can point
 * it at a fake sysfs in a temporary folder.  A value that cannot be read is
 * unavailable: NAN for doubles, -1 for counts and byte sizes, never 0. */
#ifndef OB_BENCH_SENSORS_H
#define OB_BENCH_SENSORS_H
#include <stddef.h>
#include <stdint.h>

#include "bench/bench.h"

#define OB_SENSOR_POWERCAP "/sys/class/powercap"
#define OB_SENSOR_HWMON "/sys/class/hwmon"
#define OB_SENSOR_THERMAL "/sys/class/thermal"
#define OB_SENSOR_NVML "libnvidia-ml.so.1"

/* ------------------------------------------------------------------ RAPL */

enum { OB_RAPL_MAX_ZONES = 16 };

/* The package-level powercap zones under a root ("intel-rapl:N", the
 * top-level zones only: their subzones, core and dram, are parts of the
 * package's energy).  AMD's RAPL also appears under intel-rapl names. */
typedef struct ob_rapl {
    int n;                                   /* readable zones; 0: unavailable */
    char path[OB_RAPL_MAX_ZONES][512];       /* each zone's energy_uj           */
    uint64_t max_uj[OB_RAPL_MAX_ZONES];      /* max_energy_range_uj (0: unknown) */
    uint64_t start[OB_RAPL_MAX_ZONES];       /* the counters at ob_rapl_start   */
} ob_rapl;

/* Finds the zones under root (NULL: OB_SENSOR_POWERCAP; "": none) whose
 * energy_uj can be read.  Returns r->n. */
int ob_rapl_open(const char *root, ob_rapl *r);
/* Records the counters now.  0, or -1 when a zone can no longer be read. */
int ob_rapl_start(ob_rapl *r);
/* Joules since ob_rapl_start, summed over the zones; NAN when there are no
 * zones or one can no longer be read. */
double ob_rapl_joules(const ob_rapl *r);
/* The microjoules between two readings of a counter that wraps to 0 after
 * max_range (max_energy_range_uj): end - start, or, when end < start, the
 * one wrap in between.  A counter that went backwards without a known
 * range gives UINT64_MAX (unusable). */
uint64_t ob_rapl_delta(uint64_t start, uint64_t end, uint64_t max_range);

/* ----------------------------------------------------------- temperature */

/* The hottest reading, in degrees Celsius, over hwmon's temp*_input files
 * (hwmon_root/hwmonN/) and the thermal zones' temp files
 * (thermal_root/thermal_zoneN/), all in millidegrees.  NULL roots: the
 * system's; "": skip that tree.  NAN when nothing is readable; readings
 * outside (-100, 250) C are ignored as bogus. */
double ob_temp_max_c(const char *hwmon_root, const char *thermal_root);

/* ------------------------------------------------------------------ NVML */

/* Loads lib (NULL: OB_SENSOR_NVML; "": none) with dlopen, initialises NVML,
 * and samples device 0's utilisation, memory, power and temperature into
 * g.  When the library or a driver is missing, g->count is -1 and every
 * figure unavailable; a figure NVML refuses is unavailable alone.  Unloads
 * the library before returning. */
void ob_nvml_sample(const char *lib, ob_gpu_info *g);

/* --------------------------------------------------------------- process */

/* The process's peak resident set in bytes: VmHWM from /proc/self/status,
 * else getrusage's ru_maxrss; -1 when neither is readable. */
int64_t ob_proc_peak_rss(void);
/* Resets the peak resident set to the current one (Linux >= 4.0: "5" into
 * /proc/self/clear_refs), so that a later ob_proc_peak_rss covers only
 * what follows.  0, or -1 when the kernel refuses. */
int ob_proc_reset_peak_rss(void);
/* CPU seconds (user + system, every thread) the process has used; NAN if
 * getrusage fails. */
double ob_proc_cpu_seconds(void);
/* Bytes of path on disk: a regular file's size, or the sum over a folder's
 * regular files (not descending); -1 when path is NULL or unreadable. */
int64_t ob_path_bytes(const char *path);
/* The current UTC time as "2026-01-02T03:04:05Z". */
void ob_utc_now(char *buf, size_t size);

#endif
