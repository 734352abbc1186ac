/*
 * milter_front - the daemon's side of milter mode.
 *
 * With milter_listen set, sekishod runs the milter (milter.h) as a child
 * process of its own, `sekishod -c FILE -M`, its channel socket on
 * descriptor 3, after it has dropped privileges. The daemon keeps the
 * signals and the control socket: a reload it has accepted is passed on
 * to the child (and answered when the child has reloaded too), a stop
 * ends the child gracefully, and a child that dies is started again a
 * second later by a watcher thread.
 */
#ifndef SEKISHO_MILTER_FRONT_H
#define SEKISHO_MILTER_FRONT_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/conf.h"

/* milter_front_check - is spec a socket libmilter can listen on? NULL, or why not */
const char *milter_front_check(const char *spec);

/* milter_front_prepare - as root: a unix socket's folder (0755, owned by uid) */
int milter_front_prepare(const char *spec, uid_t uid, gid_t gid, char **error_r);

/* milter_front_start - start the child and wait until it listens; -1 with *error_r */
int milter_front_start(const char *config_path, char **error_r);

/* milter_front_reload - pass a reload on; *result_r: one line (malloc'd) */
void milter_front_reload(char **result_r);

/* milter_front_metrics - the child's counters, as metrics_summary or
 * metrics_prometheus give them (malloc'd); NULL when it cannot answer */
char *milter_front_metrics(bool prometheus);

/* milter_front_status - "milter: pid N, R restarts" (malloc'd) */
char *milter_front_status(void);

/* milter_front_stop_begin / _wait - ask the child to stop; wait up to grace+10s */
void milter_front_stop_begin(void);
void milter_front_stop_wait(long grace);

bool milter_front_running(void);

#endif
