/* sweep_child.c - a sweep cell in a child process: fork, the cell's
 * outcome back through a pipe as JSON, and a crash or a kill turned into a
 * failed outcome (sweep.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sweep/sweep_int.h"

/* In the child: runs the cell, writes its outcome, exits. */
static void child(sweep_run *s, int ci, int fd) {
    json_t *res = sweep_cell_run(s, ci);
    char *txt = res ? json_dumps(res, JSON_COMPACT) : NULL;
    size_t n = txt ? strlen(txt) : 0, at = 0;
    while (at < n) {
        ssize_t w = write(fd, txt + at, n - at);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        at += (size_t)w;
    }
    close(fd);
    int ok = txt && at == n;
    free(txt);
    json_decref(res);
    exit(ok ? 0 : 3);
}

/* Everything the child wrote, NUL-terminated; NULL when out of memory. */
static char *read_all(int fd) {
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) {
            char *nb = realloc(buf, cap = cap ? 2 * cap : 65536);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
    }
    if (buf) buf[len] = '\0';
    return buf;
}

static json_t *failed(const char *why) { return json_pack("{s:s, s:s}", "status", "failed", "error", why); }

json_t *sweep_cell_isolated(sweep_run *s, int ci) {
    int fd[2];
    if (pipe(fd)) return failed("cannot create a pipe for the cell's process");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return failed("cannot start the cell's process (fork)");
    }
    if (pid == 0) {
        close(fd[0]);
        child(s, ci, fd[1]);
    }
    close(fd[1]);
    char *buf = read_all(fd[0]);
    close(fd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    json_t *res = buf && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? json_loads(buf, 0, NULL) : NULL;
    free(buf);
    if (res) return res;
    char why[256];
    if (WIFSIGNALED(status))
        snprintf(why, sizeof why, "the cell's process died of signal %d (%s)%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)), WTERMSIG(status) == SIGKILL ? ", perhaps out of memory" : "");
    else
        snprintf(why, sizeof why, "the cell's process exited with status %d and no result",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return failed(why);
}
