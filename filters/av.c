/*
 * av - antivirus: ClamAV in-process (libclamav) or over clamd's INSTREAM.
 *
 * libclamav. The engine is loaded once (cl_load with CL_DB_STDOPT) and
 * compiled; scans read the input from memory through an fmap. Options:
 * every parser (archives, mail, OLE2, PDF, HTML, PE, ...) and general
 * heuristics with CL_SCAN_HEURISTIC_EXCEEDS_MAX, because without it a
 * file past a limit comes back CLEAN. Not all-match: the first signature
 * ends the scan, and a heuristic alert never hides a signature found
 * later (no HEURISTIC_PRECEDENCE). The policy heuristics (macros,
 * encrypted archives and documents, broken executables, phishing SSL and
 * cloaking, structured data) stay off: the message filters report
 * macros and encryption as facts of their own, where a rule can weigh a
 * spreadsheet with macros against a known virus; as av.virus they would
 * be indistinguishable from malware.
 *
 * What libclamav 1.4 gets wrong for us, handled here:
 *   - a top-level input past max_filesize comes back CL_VIRUS with no
 *     name unless a virus-found callback is set: the name is taken from
 *     that callback;
 *   - a zip member larger than max_filesize is cut to that size and the
 *     rest silently skipped: the archive-metadata callback sees the
 *     member's real size, and the scan becomes a MaxFileSize limit;
 *   - when the temporary directory cannot be made, the scan returns
 *     CLEAN without scanning: a scan that never reached the pre-cache
 *     callback is an error;
 *   - when a temporary file cannot be written (disk full, RLIMIT_FSIZE),
 *     the rest of that part is skipped and the scan may still say CLEAN:
 *     a clean or a limit with such an error logged is an error (errors
 *     about malformed input are not: retrying would not help);
 *   - the clean cache would remember a cut zip as clean, and archives
 *     seen clean before would no longer count towards max_recursion, so
 *     the cache is off (it is per process anyway: forked workers would
 *     not share it).
 * Every scan makes a directory in the engine's temporary directory, and
 * mail parts, archive members and OLE2 streams are written there.
 * libclamav starts no threads.
 *
 * clamd. INSTREAM over a unix or TCP socket: "zINSTREAM\0", then chunks
 * of a 4-byte network-order length and the data, then a zero length.
 * Every wait is a poll against one deadline for the whole exchange, so a
 * hung clamd costs clamd_timeout_ms, never more. While sending we also
 * watch for an early answer: past StreamMaxLength clamd answers "INSTREAM
 * size limit exceeded. ERROR" and closes, and that answer is a limit
 * (Heuristics.Limits.Exceeded.StreamMaxLength, our name: clamd has none),
 * since resending the same message can never pass it. clamd must run with
 * AlertExceedsMax yes, or its limits are silent cleans we cannot see.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <clamav.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "filters/av.h"

#define AV_LIMIT_PREFIX       "Heuristics.Limits.Exceeded."
#define AV_CLAMD_TIMEOUT_MS   30000
#define AV_CLAMD_CHUNK        (64 * 1024)
#define AV_CLAMD_MAX_REPLY    1024
#define AV_CLAMD_STREAM_LIMIT AV_LIMIT_PREFIX "StreamMaxLength"
/* what av_scan_message puts in front; see av.h */
#define AV_MESSAGE_PREFIX "Received: by sekisho for an antivirus scan"

enum av_kind { AV_KIND_LIBCLAMAV, AV_KIND_CLAMD };

struct av_engine {
	enum av_kind kind;
	char *describe;
	/* libclamav */
	struct cl_engine *cl;
	struct cl_stat stat;
	bool have_stat;
	unsigned signatures;
	unsigned long long max_filesize; /* in force, for the zip member check */
	/* clamd */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	unsigned timeout_ms;
};

/* what one libclamav scan learns through the engine's callbacks */
struct av_scan_ctx {
	unsigned long long max_filesize;
	bool reached;      /* the scan really started */
	bool member_limit; /* an archive member was cut to max_filesize */
	char found[128];   /* the name the virus-found callback saw */
};

/* an input read in two pieces: av_scan_message's line, then the message */
struct av_pieces {
	const char *head;
	size_t head_len;
	const char *body;
	size_t body_len;
};

static const struct cl_scan_options av_scan_options = {
    .general = CL_SCAN_GENERAL_HEURISTICS,
    .parse = CL_SCAN_PARSE_ARCHIVE | CL_SCAN_PARSE_ELF | CL_SCAN_PARSE_PDF | CL_SCAN_PARSE_SWF |
             CL_SCAN_PARSE_HWP3 | CL_SCAN_PARSE_XMLDOCS | CL_SCAN_PARSE_MAIL | CL_SCAN_PARSE_OLE2 |
             CL_SCAN_PARSE_HTML | CL_SCAN_PARSE_PE | CL_SCAN_PARSE_ONENOTE | CL_SCAN_PARSE_IMAGE |
             CL_SCAN_PARSE_IMAGE_FUZZY_HASH,
    .heuristic = CL_SCAN_HEURISTIC_EXCEEDS_MAX,
};

/*
 * libclamav errors that mean the scan lost data for want of a resource
 * (temporary files, memory), as against a malformed input ("cli_scanxz:
 * premature end of compressed stream"), which is no reason to retry.
 */
static const char *const resource_words[] = {
    "temporary",   "tmp",    "can't write", "can't create", "can't open",
    "write error", "memory", "allocate",    "no space",     "mkdir",
};

static pthread_once_t av_once = PTHREAD_ONCE_INIT;
static cl_error_t av_init_status;
/* libclamav's first and last error messages in this thread: why a load or scan failed */
static _Thread_local char av_first_error[256], av_last_error[256];
/* the first resource error of the current scan in this thread */
static _Thread_local char av_resource_error[256];

/* ---- results -------------------------------------------------------------- */

/* copy_printable - dst gets src with anything but printable ASCII as '?' */
static void copy_printable(char *dst, size_t size, const char *src, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < size; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[n] = '\0';
}

static bool is_limit_name(const char *name)
{
	return strncmp(name, AV_LIMIT_PREFIX, strlen(AV_LIMIT_PREFIX)) == 0;
}

static void result_clean(struct av_result *r)
{
	*r = (struct av_result){.status = AV_CLEAN};
}

/* result_found - a virus, or a limit when name says so */
static void result_found(struct av_result *r, const char *name, size_t len)
{
	result_clean(r);
	copy_printable(r->name, sizeof(r->name), name, len);
	r->status = is_limit_name(r->name) ? AV_LIMIT : AV_VIRUS;
}

static void result_error(struct av_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void result_error(struct av_result *r, const char *fmt, ...)
{
	char text[sizeof(r->error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	result_clean(r);
	r->status = AV_ERROR;
	copy_printable(r->error, sizeof(r->error), text, strlen(text));
}

/* ---- libclamav: process-wide setup and callbacks ------------------------- */

static bool is_resource_error(const char *text)
{
	for (size_t i = 0; i < sizeof(resource_words) / sizeof(resource_words[0]); i++)
		if (strcasestr(text, resource_words[i]))
			return true;
	return false;
}

/*
 * clamav_message - libclamav's log lines. Errors are kept for the load
 * or scan that caused them; none is logged above debug, since a hostile
 * file can make libclamav complain once per embedded object.
 */
static void clamav_message(enum cl_msg severity, const char *fullmsg, const char *msg,
                           void *context)
{
	size_t len;

	(void)fullmsg;
	(void)context;
	if (!msg)
		return;
	len = strcspn(msg, "\r\n");
	if (severity == CL_MSG_ERROR) {
		copy_printable(av_last_error, sizeof(av_last_error), msg, len);
		if (!av_first_error[0])
			memcpy(av_first_error, av_last_error, sizeof(av_first_error));
		if (!av_resource_error[0] && is_resource_error(av_last_error))
			memcpy(av_resource_error, av_last_error, sizeof(av_resource_error));
	}
	log_debug("libclamav: %.*s", (int)len, msg);
}

static void av_setup(void)
{
	cl_set_clcb_msg(clamav_message);
	av_init_status = cl_init(CL_INIT_DEFAULT);
}

/* on_pre_cache - called for every file libclamav really looks at, the input first */
static cl_error_t on_pre_cache(int fd, const char *type, void *context)
{
	struct av_scan_ctx *ctx = context;

	(void)fd;
	(void)type;
	if (ctx)
		ctx->reached = true;
	return CL_CLEAN;
}

/* on_virus_found - keep the first name, but let a signature replace a limit */
static void on_virus_found(int fd, const char *virname, void *context)
{
	struct av_scan_ctx *ctx = context;

	(void)fd;
	if (!ctx || !virname)
		return;
	if (!ctx->found[0] || (is_limit_name(ctx->found) && !is_limit_name(virname)))
		snprintf(ctx->found, sizeof(ctx->found), "%s", virname);
}

/* on_meta - an archive member libclamav will cut to max_filesize is a limit */
static cl_error_t on_meta(const char *container_type, unsigned long fsize_container,
                          const char *filename, unsigned long fsize_real, int is_encrypted,
                          unsigned int filepos_container, void *context)
{
	struct av_scan_ctx *ctx = context;

	(void)container_type;
	(void)fsize_container;
	(void)filename;
	(void)is_encrypted;
	(void)filepos_container;
	if (ctx && ctx->max_filesize && fsize_real > ctx->max_filesize)
		ctx->member_limit = true;
	return CL_CLEAN;
}

/* ---- engines -------------------------------------------------------------- */

bool av_enabled(const struct av_settings *s)
{
	return s->clamav && s->clamav[0] && strcmp(s->clamav, "off") != 0;
}

/* libclamav_limits - the settings' limits (0: libclamav's default) and no cache */
static cl_error_t libclamav_limits(struct cl_engine *cl, const struct av_settings *s)
{
	const struct {
		enum cl_engine_field field;
		unsigned long long value;
	} limits[] = {
	    {CL_ENGINE_MAX_FILESIZE, s->max_filesize},
	    {CL_ENGINE_MAX_SCANSIZE, s->max_scansize},
	    {CL_ENGINE_MAX_FILES, s->max_files},
	    {CL_ENGINE_MAX_RECURSION, s->max_recursion},
	    {CL_ENGINE_MAX_SCANTIME, s->max_scantime_ms},
	};
	cl_error_t rc = cl_engine_set_num(cl, CL_ENGINE_DISABLE_CACHE, 1);

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]) && rc == CL_SUCCESS; i++)
		if (limits[i].value)
			rc = cl_engine_set_num(
			    cl, limits[i].field,
			    limits[i].value > LLONG_MAX ? LLONG_MAX : (long long)limits[i].value);
	return rc;
}

/* libclamav_load - limits, callbacks, signatures, compile; -1 with *error_r */
static int libclamav_load(struct av_engine *e, const struct av_settings *s, const char *dir,
                          char **error_r)
{
	cl_error_t rc;
	int err = 0;

	av_first_error[0] = av_last_error[0] = '\0';
	cl_engine_set_clcb_pre_cache(e->cl, on_pre_cache);
	cl_engine_set_clcb_virus_found(e->cl, on_virus_found);
	cl_engine_set_clcb_meta(e->cl, on_meta);
	if ((rc = libclamav_limits(e->cl, s)) != CL_SUCCESS ||
	    (rc = cl_load(dir, e->cl, &e->signatures, CL_DB_STDOPT)) != CL_SUCCESS ||
	    (rc = cl_engine_compile(e->cl)) != CL_SUCCESS) {
		/* the first says what ("... at line 3"), the last where */
		if (!av_first_error[0])
			*error_r = xasprintf("signature database %s: %s", dir, cl_strerror(rc));
		else if (strcmp(av_first_error, av_last_error) == 0)
			*error_r = xasprintf("signature database %s: %s", dir, av_first_error);
		else
			*error_r = xasprintf("signature database %s: %s (%s)", dir, av_first_error,
			                     av_last_error);
		return -1;
	}
	/* An engine with nothing to look for would call everything clean. */
	if (e->signatures == 0) {
		*error_r = xasprintf("signature database %s: no signatures", dir);
		return -1;
	}
	e->max_filesize =
	    (unsigned long long)cl_engine_get_num(e->cl, CL_ENGINE_MAX_FILESIZE, &err);
	if (cl_statinidir(dir, &e->stat) != CL_SUCCESS) {
		*error_r = xasprintf("signature database %s: cannot watch it for changes", dir);
		return -1;
	}
	e->have_stat = true;
	return 0;
}

static struct av_engine *libclamav_new(const struct av_settings *s, char **error_r)
{
	const char *dir = s->db_dir ? s->db_dir : "";
	struct av_engine *e;

	pthread_once(&av_once, av_setup);
	if (av_init_status != CL_SUCCESS) {
		*error_r = xasprintf("libclamav: cl_init: %s", cl_strerror(av_init_status));
		return NULL;
	}
	if (!dir[0]) {
		*error_r = xstrdup("signature database: no directory given");
		return NULL;
	}
	e = xcalloc(1, sizeof(*e));
	e->kind = AV_KIND_LIBCLAMAV;
	if (!(e->cl = cl_engine_new())) {
		*error_r = xstrdup("libclamav: cl_engine_new failed");
		av_engine_free(e);
		return NULL;
	}
	if (libclamav_load(e, s, dir, error_r) != 0) {
		av_engine_free(e);
		return NULL;
	}
	e->describe = xasprintf("libclamav %s, %u signature%s from %s", cl_retver(), e->signatures,
	                        e->signatures == 1 ? "" : "s", dir);
	return e;
}

/* clamd_tcp_address - "HOST:PORT" or "[V6]:PORT", numeric only; 0 or -1 */
static int clamd_tcp_address(struct av_engine *e, const char *spec)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	const char *colon = strrchr(spec, ':');
	char *host;
	int rc;

	if (!colon || colon == spec || !colon[1])
		return -1;
	if (spec[0] == '[' && colon[-1] == ']')
		host = xstrndup(spec + 1, (size_t)(colon - spec) - 2);
	else
		host = xstrndup(spec, (size_t)(colon - spec));
	rc = getaddrinfo(host, colon + 1, &hints, &ai);
	free(host);
	if (rc != 0 || !ai || ai->ai_addrlen > sizeof(e->addr)) {
		if (ai)
			freeaddrinfo(ai);
		return -1;
	}
	memcpy(&e->addr, ai->ai_addr, ai->ai_addrlen);
	e->addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* clamd_unix_address - an absolute socket path that fits sun_path; 0 or -1 */
static int clamd_unix_address(struct av_engine *e, const char *path)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&e->addr;

	if (path[0] != '/' || strlen(path) >= sizeof(un->sun_path))
		return -1;
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, path, strlen(path) + 1);
	e->addrlen = sizeof(*un);
	return 0;
}

static struct av_engine *clamd_new(const struct av_settings *s, const char *target, char **error_r)
{
	struct av_engine *e = xcalloc(1, sizeof(*e));
	bool tcp = strncmp(target, "tcp:", 4) == 0;
	int rc = tcp ? clamd_tcp_address(e, target + 4) : clamd_unix_address(e, target);

	if (rc != 0) {
		*error_r = xasprintf(tcp ? "clamd: \"%s\" is not a numeric HOST:PORT"
		                         : "clamd: \"%s\" is not an absolute socket path (at most "
		                           "107 bytes)",
		                     tcp ? target + 4 : target);
		free(e);
		return NULL;
	}
	e->kind = AV_KIND_CLAMD;
	e->timeout_ms = s->clamd_timeout_ms ? s->clamd_timeout_ms : AV_CLAMD_TIMEOUT_MS;
	e->describe = xasprintf("clamd at %s", target);
	return e;
}

struct av_engine *av_engine_new(const struct av_settings *s, char **error_r)
{
	*error_r = NULL;
	if (!av_enabled(s))
		return NULL;
	if (strcmp(s->clamav, "libclamav") == 0)
		return libclamav_new(s, error_r);
	if (strncmp(s->clamav, "clamd:", 6) == 0)
		return clamd_new(s, s->clamav + 6, error_r);
	*error_r = xasprintf("clamav: unknown value \"%s\" (want off, libclamav, clamd:PATH or "
	                     "clamd:tcp:HOST:PORT)",
	                     s->clamav);
	return NULL;
}

void av_engine_free(struct av_engine *e)
{
	if (!e)
		return;
	if (e->cl)
		cl_engine_free(e->cl);
	if (e->have_stat)
		cl_statfree(&e->stat);
	free(e->describe);
	free(e);
}

bool av_engine_stale(struct av_engine *e)
{
	struct cl_stat now;
	bool stale;

	if (e->kind != AV_KIND_LIBCLAMAV || !e->have_stat)
		return false;
	/* 1: a file added or changed; an error: the folder cannot be read */
	if (cl_statchkdir(&e->stat) != 0)
		return true;
	/* cl_statchkdir misses a file removed: count the signature files */
	if (cl_statinidir(e->stat.dir, &now) != CL_SUCCESS)
		return true; /* it has freed now */
	stale = now.entries != e->stat.entries;
	cl_statfree(&now);
	return stale;
}

void av_engine_set_tmpdir(struct av_engine *e, const char *dir)
{
	cl_error_t rc;

	if (e->kind != AV_KIND_LIBCLAMAV)
		return;
	/* Read at every scan (checked with 1.4.6), so setting it after compile works. */
	if ((rc = cl_engine_set_str(e->cl, CL_ENGINE_TMPDIR, dir)) != CL_SUCCESS)
		log_warn("antivirus: cannot set temporary directory %s: %s", dir, cl_strerror(rc));
}

unsigned av_engine_signatures(const struct av_engine *e)
{
	return e->signatures;
}

const char *av_engine_describe(const struct av_engine *e)
{
	return e->describe;
}

bool av_engine_is_clamd(const struct av_engine *e)
{
	return e->kind == AV_KIND_CLAMD;
}

/* ---- libclamav scans ------------------------------------------------------ */

/* pieces_pread - read from the two pieces as if they were one input */
static off_t pieces_pread(void *handle, void *buf, size_t count, off_t offset)
{
	const struct av_pieces *p = handle;
	size_t off = (size_t)offset, done = 0;

	if (offset < 0)
		return -1;
	while (done < count && off < p->head_len + p->body_len) {
		const char *src = off < p->head_len ? p->head + off : p->body + (off - p->head_len);
		size_t avail =
		    off < p->head_len ? p->head_len - off : p->head_len + p->body_len - off;
		size_t n = count - done < avail ? count - done : avail;

		memcpy((char *)buf + done, src, n);
		done += n;
		off += n;
	}
	return (off_t)done;
}

/* libclamav_verdict - rc, name and what the callbacks saw, as a result */
static void libclamav_verdict(cl_error_t rc, const char *name, const struct av_scan_ctx *ctx,
                              struct av_result *r)
{
	const char *limit = NULL;

	switch (rc) {
	case CL_VIRUS:
		name = name ? name : ctx->found[0] ? ctx->found : "Unnamed.Detection";
		result_found(r, name, strlen(name));
		/* a lost temporary file may have hidden a virus: only a virus stands */
		if (r->status == AV_LIMIT && av_resource_error[0])
			result_error(r, "libclamav could not finish: %s", av_resource_error);
		return;
	case CL_CLEAN:
		if (!ctx->reached)
			result_error(r, "libclamav did not scan: %s",
			             av_last_error[0] ? av_last_error : "no reason given");
		else if (av_resource_error[0])
			result_error(r, "libclamav could not finish: %s", av_resource_error);
		else if (ctx->member_limit)
			limit = AV_LIMIT_PREFIX "MaxFileSize";
		else
			result_clean(r);
		break;
	/* Not expected with EXCEEDS_MAX on, but a limit whatever the path. */
	case CL_ETIMEOUT:
		limit = AV_LIMIT_PREFIX "MaxScanTime";
		break;
	case CL_EMAXREC:
		limit = AV_LIMIT_PREFIX "MaxRecursion";
		break;
	case CL_EMAXSIZE:
		limit = AV_LIMIT_PREFIX "MaxScanSize";
		break;
	case CL_EMAXFILES:
		limit = AV_LIMIT_PREFIX "MaxFiles";
		break;
	default:
		result_error(r, "libclamav: %s%s%s", cl_strerror(rc), av_last_error[0] ? ": " : "",
		             av_last_error);
		break;
	}
	if (limit)
		result_found(r, limit, strlen(limit));
}

static void libclamav_scan(struct av_engine *e, const struct av_pieces *p, struct av_result *r)
{
	struct av_scan_ctx ctx = {.max_filesize = e->max_filesize};
	struct cl_scan_options opts = av_scan_options;
	const char *name = NULL;
	unsigned long scanned = 0;
	cl_fmap_t *map;
	cl_error_t rc;

	if (p->head_len)
		map = cl_fmap_open_handle((void *)p, 0, p->head_len + p->body_len, pieces_pread, 0);
	else
		map = cl_fmap_open_memory(p->body, p->body_len);
	if (!map) {
		result_error(r, "libclamav: cannot map %zu bytes", p->head_len + p->body_len);
		return;
	}
	av_last_error[0] = '\0';
	av_resource_error[0] = '\0';
	rc = cl_scanmap_callback(map, NULL, &name, &scanned, e->cl, &opts, &ctx);
	libclamav_verdict(rc, name, &ctx, r);
	cl_fmap_close(map);
}

/* ---- clamd scans ---------------------------------------------------------- */

/* clamd_wait - poll fd until the deadline: revents, 0 on timeout, -1 on error */
static int clamd_wait(int fd, short events, long long deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};

	for (;;) {
		long long left = deadline - clock_ms();
		int rc;

		if (left <= 0)
			return 0;
		rc = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (rc > 0)
			return pfd.revents;
		if (rc == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* clamd_connect - a connected non-blocking socket, or -1 with r set */
static int clamd_connect(const struct av_engine *e, long long deadline, struct av_result *r)
{
	int fd = socket(e->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1, err = 0;
	socklen_t errlen = sizeof(err);

	if (fd < 0) {
		result_error(r, "%s: socket: %s", e->describe, strerror(errno));
		return -1;
	}
	/* Small writes (the last chunk) must not wait for a delayed ACK. */
	if (e->addr.ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while (connect(fd, (const struct sockaddr *)&e->addr, e->addrlen) != 0) {
		/* A unix socket answers EAGAIN while clamd's backlog is full. */
		if (errno == EAGAIN && clock_ms() < deadline) {
			poll(NULL, 0, 10);
			continue;
		}
		if (errno == EINPROGRESS || errno == EINTR) {
			int ev = clamd_wait(fd, POLLOUT, deadline);
			if (ev > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) == 0 &&
			    !err)
				return fd;
			errno = ev == 0 ? ETIMEDOUT : err ? err : errno;
		}
		result_error(r, "%s: cannot connect: %s", e->describe,
		             errno == EAGAIN ? "connection queue full" : strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * clamd_write - send all of data, watching for an answer at the same time.
 * 0: sent; 1: clamd has answered or closed early (read its answer now);
 * -1: r is set.
 */
static int clamd_write(const struct av_engine *e, int fd, const void *data, size_t len,
                       long long deadline, struct av_result *r)
{
	const char *p = data;

	while (len > 0) {
		int ev = clamd_wait(fd, POLLOUT | POLLIN, deadline);
		ssize_t n;

		if (ev == 0) {
			result_error(r, "%s: timed out sending (%u ms)", e->describe,
			             e->timeout_ms);
			return -1;
		}
		if (ev < 0 || (ev & (POLLIN | POLLHUP | POLLERR)))
			return 1;
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return errno == EPIPE || errno == ECONNRESET ? 1 : -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* clamd_chunks - data as INSTREAM chunks; as clamd_write */
static int clamd_chunks(const struct av_engine *e, int fd, const char *data, size_t len,
                        long long deadline, struct av_result *r)
{
	while (len > 0) {
		size_t n = len < AV_CLAMD_CHUNK ? len : AV_CLAMD_CHUNK;
		uint32_t size = htonl((uint32_t)n);
		int rc;

		if ((rc = clamd_write(e, fd, &size, sizeof(size), deadline, r)) != 0 ||
		    (rc = clamd_write(e, fd, data, n, deadline, r)) != 0)
			return rc;
		data += n;
		len -= n;
	}
	return 0;
}

/* clamd_send - the whole request; 0 (answer to read, early or not) or -1 with r */
static int clamd_send(const struct av_engine *e, int fd, const struct av_pieces *p,
                      long long deadline, struct av_result *r)
{
	static const char command[] = "zINSTREAM";
	uint32_t end = 0;
	int rc;

	if ((rc = clamd_write(e, fd, command, sizeof(command), deadline, r)) == 0 &&
	    (rc = clamd_chunks(e, fd, p->head, p->head_len, deadline, r)) == 0 &&
	    (rc = clamd_chunks(e, fd, p->body, p->body_len, deadline, r)) == 0)
		rc = clamd_write(e, fd, &end, sizeof(end), deadline, r);
	if (rc < 0 && r->status != AV_ERROR)
		result_error(r, "%s: cannot send: %s", e->describe, strerror(errno));
	return rc < 0 ? -1 : 0;
}

/* clamd_read - the answer up to its NUL (or EOF); 0, or -1 with r set */
static int clamd_read(const struct av_engine *e, int fd, char *reply, size_t size,
                      long long deadline, struct av_result *r)
{
	size_t len = 0;

	while (len + 1 < size) {
		int ev = clamd_wait(fd, POLLIN, deadline);
		ssize_t n;

		if (ev == 0) {
			result_error(r, "%s: no answer within %u ms", e->describe, e->timeout_ms);
			return -1;
		}
		n = recv(fd, reply + len, size - 1 - len, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break; /* EOF, or a reset after clamd's answer */
		len += (size_t)n;
		if (memchr(reply + len - (size_t)n, '\0', (size_t)n))
			break;
	}
	reply[len] = '\0';
	if (len == 0) {
		result_error(r, "%s: closed the connection without an answer", e->describe);
		return -1;
	}
	return 0;
}

/* ends_with - s (n bytes) ends with suffix */
static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t sl = strlen(suffix);

	return n >= sl && memcmp(s + n - sl, suffix, sl) == 0;
}

/* clamd_verdict - "stream: OK", "stream: NAME FOUND", "... ERROR" */
static void clamd_verdict(const struct av_engine *e, const char *reply, struct av_result *r)
{
	static const char stream[] = "stream: ";
	size_t len = strcspn(reply, "\r\n"), skip = strlen(stream);
	const char *name = reply + skip;

	if (ends_with(reply, len, " ERROR") && strstr(reply, "size limit exceeded"))
		result_found(r, AV_CLAMD_STREAM_LIMIT, strlen(AV_CLAMD_STREAM_LIMIT));
	else if (ends_with(reply, len, " ERROR"))
		result_error(r, "%s: %.*s", e->describe, (int)len, reply);
	else if (strncmp(reply, stream, strlen(stream)) != 0)
		result_error(r, "%s: unexpected answer \"%.*s\"", e->describe, (int)len, reply);
	else if (len == skip + 2 && memcmp(name, "OK", 2) == 0)
		result_clean(r);
	else if (ends_with(reply, len, " FOUND") && len > skip + strlen(" FOUND"))
		result_found(r, name, len - skip - strlen(" FOUND"));
	else
		result_error(r, "%s: unexpected answer \"%.*s\"", e->describe, (int)len, reply);
}

static void clamd_scan(const struct av_engine *e, const struct av_pieces *p, struct av_result *r)
{
	long long deadline = clock_ms() + e->timeout_ms;
	char reply[AV_CLAMD_MAX_REPLY];
	int fd;

	result_clean(r);
	if ((fd = clamd_connect(e, deadline, r)) < 0)
		return;
	if (clamd_send(e, fd, p, deadline, r) == 0 &&
	    clamd_read(e, fd, reply, sizeof(reply), deadline, r) == 0)
		clamd_verdict(e, reply, r);
	close(fd);
}

/* ---- scans ---------------------------------------------------------------- */

static void scan_pieces(struct av_engine *e, const struct av_pieces *p, struct av_result *r)
{
	result_clean(r);
	if (p->head_len + p->body_len == 0)
		return;
	if (e->kind == AV_KIND_CLAMD)
		clamd_scan(e, p, r);
	else
		libclamav_scan(e, p, r);
}

void av_scan(struct av_engine *e, const void *data, size_t len, struct av_result *r)
{
	struct av_pieces p = {.body = data, .body_len = len};

	scan_pieces(e, &p, r);
}

void av_scan_message(struct av_engine *e, const char *msg, size_t len, struct av_result *r)
{
	static const char crlf[] = AV_MESSAGE_PREFIX "\r\n", lf[] = AV_MESSAGE_PREFIX "\n";
	const char *nl = memchr(msg, '\n', len);
	/* The line ends as the message's first line does, so parsers see one style. */
	bool bare_lf = nl && (nl == msg || nl[-1] != '\r');
	struct av_pieces p = {
	    .head = bare_lf ? lf : crlf,
	    .head_len = bare_lf ? sizeof(lf) - 1 : sizeof(crlf) - 1,
	    .body = msg,
	    .body_len = len,
	};

	scan_pieces(e, &p, r);
}

/* ---- facts ---------------------------------------------------------------- */

/* add_once - value for name unless name already has it */
static void add_once(struct facts *facts, const char *name, const char *value)
{
	const struct fact *f = facts_find(facts, name);

	for (size_t i = 0; f && i < f->count; i++)
		if (strcmp(f->values[i], value) == 0)
			return;
	facts_add_str(facts, name, value);
}

void av_record_facts(const struct av_result *r, struct facts *facts)
{
	switch (r->status) {
	case AV_CLEAN:
		add_once(facts, "av.scanned", "yes");
		break;
	case AV_VIRUS:
		add_once(facts, "av.scanned", "yes");
		add_once(facts, "av.virus", r->name);
		break;
	case AV_LIMIT:
		add_once(facts, "av.scanned", "yes");
		add_once(facts, "av.limit_exceeded", r->name);
		break;
	case AV_ERROR:
		add_once(facts, "av.error", r->error);
		break;
	}
}
