/*
 * content_ops - what the sandboxed analyzers do: content.h's analysis.
 *
 * A generation is a content engine (libmagic, ClamAV) built from the
 * configuration file, in the supervisor, before the workers fork. With
 * clamav = clamd:... the analyzers run with antivirus off: they have no
 * sockets, and the daemon streams the message to clamd itself.
 */
#ifndef SEKISHO_CONTENT_OPS_H
#define SEKISHO_CONTENT_OPS_H

#include "analyzer/supervisor.h"

extern const struct analyzer_ops content_analyzer_ops;

#endif
