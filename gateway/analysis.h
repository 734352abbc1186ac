/*
 * analysis - how the daemon gets the facts of a message's content.
 *
 * The content (content.h) is analysed in the sandboxed analyzer processes
 * (analyzer/pool.h): sekishod starts a supervisor process, by running
 * itself again in its analyzer mode (`sekishod -c FILE -A`, the socket on
 * descriptor 3), so the supervisor starts from a fresh, single-threaded
 * image however many threads the daemon runs. With clamav = clamd:..., the
 * session streams the message to clamd here as well.
 *
 * When the analysis fails (an analyzer crashed or hung, none was free in
 * time, or clamd cannot scan) the fact analysis.error says why; the
 * session answers 451 for such a message rather than deliver it unjudged.
 */
#ifndef SEKISHO_ANALYSIS_H
#define SEKISHO_ANALYSIS_H

#include "common/conf.h"
#include "filters/filter.h"

/* analysis_start - spawn the supervisor; 0, or -1 with *error_r */
int analysis_start(const char *config_path, const struct conf *conf, char **error_r);

/* analysis_reload - a new generation of analyzers from the file's settings */
void analysis_reload(const struct conf *conf);

void analysis_stop(void);

/* analysis_status - "analyzers: generation N, I idle, B busy, ..." (malloc'd) */
char *analysis_status(void);

/* the content source for filter_input (ctx: the snapshot's struct conf) */
bool analysis_analyze(void *ctx, const char *msg, size_t len, struct facts *facts);

#endif
