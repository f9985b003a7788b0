/* fileio.h - whole-file writes that never leave half a file behind.
 *
 * Every writer in report/ goes through ob_write_atomic: the bytes go to a
 * temporary file beside the target (".<name>.tmp.XXXXXX" in the same
 * folder, so the rename stays on one file system), which is flushed to disk
 * (fsync), renamed over the target, and the folder is synced.  A crash or a
 * full disk at any point leaves either the old file or the new one, never a
 * mix, and a failed write removes its temporary file. */
#ifndef OB_REPORT_FILEIO_H
#define OB_REPORT_FILEIO_H
#include <stddef.h>

#include "optibench.h"

/* Replaces path with data[0..len).  The file gets mode 0644.  Errors
 * (OB_EIO) name path and the system's reason ("No space left on device"). */
int ob_write_atomic(const char *path, const void *data, size_t len, ob_err *err);

/* Copies the regular file src to dst the same way (src is read whole). */
int ob_copy_atomic(const char *src, const char *dst, ob_err *err);

#endif
