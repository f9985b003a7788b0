/* sweep_cli.h - what `optibench sweep`'s files share: the progress display
 * (sweep_progress.c) that cmd_sweep.c passes to the sweep library. */
#ifndef OB_CLI_SWEEP_CLI_H
#define OB_CLI_SWEEP_CLI_H

#include "sweep/sweep.h"

typedef struct sweep_ui {
    int tty;          /* stderr is a terminal: redraw one line            */
    int drawn;        /* a progress line is on screen                     */
    char stage[32];   /* the stage last shown                             */
    double last;      /* when the line was last drawn                     */
} sweep_ui;

/* The sweep's event callback; user is a sweep_ui. */
void sweep_ui_event(void *user, const ob_sweep_event *ev);

#endif
