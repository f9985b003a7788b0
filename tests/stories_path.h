/* stories_path.h - where `optibench pull stories15M` put a file of the
 * embedded model: $XDG_CACHE_HOME/optibench/stories15M/NAME, or
 * ~/.cache/optibench/stories15M/NAME. */
#ifndef OB_TESTS_STORIES_PATH_H
#define OB_TESTS_STORIES_PATH_H
#include <stdio.h>
#include <stdlib.h>

static inline void stories_path(char *buf, size_t size, const char *name) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) snprintf(buf, size, "%s/optibench/stories15M/%s", xdg, name);
    else snprintf(buf, size, "%s/.cache/optibench/stories15M/%s", home ? home : ".", name);
}

#endif
