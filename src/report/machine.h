/* machine.h - the description of this computer that reports carry. */
#ifndef OB_REPORT_MACHINE_H
#define OB_REPORT_MACHINE_H
#include <stddef.h>

#include <jansson.h>

#include "optibench.h"

/* A new object (the caller's, json_decref) describing this machine:
 *   cpu            string  the CPU model
 *   features       string  SIMD features found ("avx2 fma f16c ...")
 *   kernels        string  the SIMD level the kernels use
 *   cores          int     online logical CPUs
 *   memory_bytes   int     physical memory
 *   os             string  kernel name, release and architecture
 *   bandwidth_gbs  real    measured read bandwidth, GB/s (median), only
 *                          when pool is not NULL and bw_bytes > 0
 * bw_bytes is the size of the buffer read (far above the caches; 256 MiB
 * is typical); the measurement takes about bw_bytes * 6 / bandwidth. */
int ob_machine_describe(ob_pool *pool, size_t bw_bytes, json_t **out, ob_err *err);

#endif
