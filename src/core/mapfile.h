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
    char *path;                /* mapped: the file's path (owned), for
                                * ob_mapfile_populate; NULL otherwise  */
} ob_mapfile;

/* The x86-64 huge page.  Decode streams every weight once per token, and
 * on 4 KiB pages that is a TLB miss every 4 KiB: on the 2-core EPYC a
 * 61 MB file read at 68-70 GB/s on 4 KiB pages and 77-81 GB/s on 2 MiB
 * pages, minute for minute. */
#define OB_HUGE_PAGE ((size_t)2 << 20)

/* Opens path and maps it (use_mmap) or reads it whole.  Errors name path.
 * A mapping of at least OB_HUGE_PAGE bytes is placed at a 2 MiB-aligned
 * address and marked MADV_HUGEPAGE, so that the kernel may map the
 * file's page cache with 2 MiB pages where it holds 2 MiB folios. */
int ob_mapfile_open(const char *path, int use_mmap, ob_mapfile *out, ob_err *err);
void ob_mapfile_close(ob_mapfile *mf);

/* Reads every page of a mapping in now (MADV_POPULATE_READ).  The kernel
 * keeps a file's pages in the folios they were first read into: after a
 * plain read() or a 4 KiB mapping they are small, and the mapping gets
 * 4 KiB pages whatever it asks for.  With reload set, a mapping of which
 * less than 90% of the 2 MiB-aligned part came in on 2 MiB pages drops
 * its pages, asks the kernel to forget the file's cached pages
 * (POSIX_FADV_DONTNEED: only those no other process maps), and reads them
 * again, which the kernel then does into 2 MiB folios.  That costs one
 * read of the file from disk.  Returns the bytes on 2 MiB pages after it
 * (ob_huge_bytes); a file read into memory, or a kernel without these
 * calls, is left as it is.  reload 2 drops and re-reads whatever the
 * pages (for the tests). */
size_t ob_mapfile_populate(ob_mapfile *mf, int reload);

/* Bytes of [p, p + size) that the kernel maps with 2 MiB pages, as
 * /proc/self/smaps reports them (FilePmdMapped + AnonHugePages of each
 * mapping that overlaps the range, at most the overlap); 0 when unknown. */
size_t ob_huge_bytes(const void *p, size_t size);

/* A 64-byte-aligned block of size bytes for weights or anything else
 * streamed whole (the bandwidth probe), freed with free().
 * From 2 * OB_HUGE_PAGE bytes on it starts on a 2 MiB boundary and its
 * whole 2 MiB pages are marked MADV_HUGEPAGE (the tail stays on small
 * pages, so the resident size grows by nothing).  NULL when out of memory. */
void *ob_alloc_huge(size_t size);

/* Gives back the whole 4 KiB pages inside [p, p + size) of a mapping or
 * buffer the process will not read again (MADV_DONTNEED): file pages leave
 * the resident set, anonymous ones are freed (they would read as zero). */
void ob_release_pages(const void *p, size_t size);

/* Reads a whole (small) file into a NUL-terminated malloc'd string. */
int ob_read_text(const char *path, char **out, size_t *len, ob_err *err);

/* 1 if path exists and is a directory / a regular file. */
int ob_is_dir(const char *path);
int ob_is_file(const char *path);

#endif
