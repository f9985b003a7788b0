/* rss.h - this process's resident memory (Linux /proc), for the peak
 * memory of a sweep cell. */
#ifndef OB_SWEEP_RSS_H
#define OB_SWEEP_RSS_H

#include <stdint.h>

/* Resets the peak ("VmHWM") to the current resident size by writing 5 to
 * /proc/self/clear_refs.  0 on success, -1 where the kernel does not
 * allow it. */
int ob_rss_reset_peak(void);

/* The peak / current resident size in bytes (VmHWM / VmRSS of
 * /proc/self/status), or -1 when unknown. */
int64_t ob_rss_peak(void);
int64_t ob_rss_now(void);

#endif
