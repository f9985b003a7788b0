/* mapfile.h - a whole file in memory, mapped read-only or read into a buffer.
 * The mapping owns its memory; ob_mapfile_close releases it. */
#ifndef OB_CORE_MAPFILE_H
#define OB_CORE_MAPFILE_H
#include <stddef.h>

#include "optibench.h"

typedef struct ob_mapfile {
    const unsigned char *data; /* size bytes; NULL for an empty file */
    size_t size;
    int mapped;                /* 1: mmap, 0: malloc'd copy          */
} ob_mapfile;

/* Opens path and maps it (use_mmap) or reads it whole.  Errors name path. */
int ob_mapfile_open(const char *path, int use_mmap, ob_mapfile *out, ob_err *err);
void ob_mapfile_close(ob_mapfile *mf);

/* Reads a whole (small) file into a NUL-terminated malloc'd string. */
int ob_read_text(const char *path, char **out, size_t *len, ob_err *err);

/* 1 if path exists and is a directory / a regular file. */
int ob_is_dir(const char *path);
int ob_is_file(const char *path);

#endif
