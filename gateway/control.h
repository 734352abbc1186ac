/*
 * control - the daemon's unix control socket, for the sekisho CLI.
 *
 * One request line per connection ("reload", "status", "stats" for a
 * terminal, "metrics" in the Prometheus format), one reply text,
 * then close. The socket is mode 0600: only root and the daemon's user may
 * reload the gateway.
 */
#ifndef SEKISHO_CONTROL_H
#define SEKISHO_CONTROL_H

#include <stdbool.h>
#include <sys/types.h>

/* control_open - create and listen on path; -1 with *error_r (malloc'd) */
int control_open(const char *path, uid_t owner, gid_t group, char **error_r);

/* control_serve - accept one request and answer it; stats renders the
 * counters for a terminal or (prometheus) in the exposition format */
void control_serve(int lfd, void (*reload)(char **result_r), void (*status)(char **result_r),
		   char *(*stats)(bool prometheus));

/*
 * control_request - the CLI side: send request, read the reply into
 * *reply_r (malloc'd). Returns 0, or -1 with *error_r (static text).
 */
int control_request(const char *path, const char *request, char **reply_r,
		    const char **error_r);

#endif
