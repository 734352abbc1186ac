/*
 * url_scan - the links of a message as facts (see url_scan.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "common/xalloc.h"
#include "filters/content.h"
#include "filters/url_extract.h"
#include "filters/url_normalize.h"
#include "filters/url_scan.h"

struct url_scanner {
	struct url_normalizer *norm;
	size_t max;
	struct strlist shorteners;	/* a copy */
};

struct url_scan {
	struct url_scanner *u;
	struct content_report *report;
	GHashTable *seen;		/* "url\ntext" of every link recorded */
	GHashTable *values;		/* "name\nvalue" of every merged fact value */
	struct facts facts;		/* every link's, merged, and one set per link */
	size_t count;
	bool exceeded;
};

struct url_scanner *url_scanner_new(const struct url_scan_settings *s, char **error_r)
{
	struct url_scanner *u = xcalloc(1, sizeof(*u));
	const struct strlist *p = s->protect;

	u->norm = url_normalizer_new(s->psl_file, p ? (const char *const *)p->items : NULL,
				     p ? p->count : 0, error_r);
	if (!u->norm) {
		free(u);
		return NULL;
	}
	u->max = s->max;
	if (s->shorteners)
		strlist_copy(&u->shorteners, s->shorteners);
	return u;
}

void url_scanner_free(struct url_scanner *u)
{
	if (!u)
		return;
	url_normalizer_free(u->norm);
	strlist_free(&u->shorteners);
	free(u);
}

struct url_scan *url_scan_begin(struct url_scanner *u, struct content_report *report)
{
	struct url_scan *s = xcalloc(1, sizeof(*s));

	s->u = u;
	s->report = report;
	s->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	s->values = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	facts_init(&s->facts);
	return s;
}

/* merge_unique - a link's facts into the message's, each value once per fact */
static void merge_unique(struct url_scan *s, const struct facts *src)
{
	for (size_t i = 0; i < src->count; i++) {
		const struct fact *from = &src->items[i];

		for (size_t j = 0; j < from->count; j++) {
			char *key = g_strdup_printf("%s\n%s", from->name, from->values[j]);

			if (g_hash_table_add(s->values, key))
				facts_add_str(&s->facts, from->name, from->values[j]);
		}
	}
}

static void yes(struct facts *f, const char *name, bool on)
{
	if (on)
		facts_set(f, name, "yes");
}

static bool is_shortener(const struct url_scanner *u, const char *domain)
{
	for (size_t i = 0; domain && i < u->shorteners.count; i++)
		if (strcmp(u->shorteners.items[i], domain) == 0)
			return true;
	return false;
}

/* text_facts - what the visible text of a link shows */
static void text_facts(struct url_scan *s, const char *text, const struct url_info *target,
		       struct facts *f)
{
	struct url_info shown;

	if (!text || !text[0])
		return;
	if (url_normalize(s->u->norm, text, NULL, &shown) == 0) {
		if (shown.host)
			facts_add_str(f, "url.text_host", shown.host);
		url_info_free(&shown);
	}
	if (url_text_mismatch(s->u->norm, text, target))
		facts_add_str(f, "url.text_mismatch",
			      target->domain ? target->domain : target->host ? target->host : "");
}

/* link_facts - the facts of one normalised link */
static void link_facts(struct url_scan *s, const struct url_info *i, const char *text,
		       struct facts *f)
{
	if (i->scheme)
		facts_add_str(f, "url.scheme", i->scheme);
	if (i->host)
		facts_add_str(f, i->ip_literal ? "url.ip" : "url.host", i->host);
	if (i->host && i->ip_literal)
		facts_add_str(f, "url.host", i->host);
	if (i->domain)
		facts_add_str(f, "url.domain", i->domain);
	yes(f, "url.ip_literal", i->ip_literal);
	yes(f, "url.ip_obfuscated", i->ip_obfuscated);
	yes(f, "url.host_escaped", i->host_escaped);
	yes(f, "url.punycode", i->punycode);
	yes(f, "url.userinfo", i->userinfo);
	yes(f, "url.protocol_relative", i->protocol_relative);
	if (i->confusable)
		facts_add_str(f, "url.confusable", i->confusable);
	if (is_shortener(s->u, i->domain))
		facts_add_str(f, "url.shortener", i->domain);
	text_facts(s, text, i, f);
}

/* add_link - one link found; recorded once per (link, visible text) */
static void add_link(struct url_scan *s, const struct url_ref *ref)
{
	struct url_info info;
	struct facts f;
	char *key;

	if (url_normalize(s->u->norm, ref->url, ref->base, &info) != 0)
		return;
	key = g_strdup_printf("%s\n%s", info.url ? info.url : "", ref->text ? ref->text : "");
	if (g_hash_table_contains(s->seen, key)) {
		g_free(key);
		url_info_free(&info);
		return;
	}
	if (s->count >= s->u->max) {
		s->exceeded = true;
		g_free(key);
		url_info_free(&info);
		return;
	}
	g_hash_table_add(s->seen, key);
	s->count++;
	facts_init(&f);
	link_facts(s, &info, ref->text, &f);
	merge_unique(s, &f);
	facts_merge(facts_add_link(&s->facts), &f);
	if (s->report)
		content_report_add_link(s->report, info.url ? info.url : ref->url, &f);
	facts_clear(&f);
	url_info_free(&info);
}

static void add_list(struct url_scan *s, struct url_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		add_link(s, &l->items[i]);
	s->exceeded |= l->truncated;
	url_list_free(l);
}

void url_scan_html(struct url_scan *s, const char *html, size_t len)
{
	struct url_list l;

	url_extract_html(html, len, s->u->max, &l);
	add_list(s, &l);
}

void url_scan_text(struct url_scan *s, const char *text, size_t len)
{
	struct url_list l;

	url_extract_text(text, len, s->u->max, &l);
	add_list(s, &l);
}

void url_scan_end(struct url_scan *s, struct facts *facts)
{
	facts_merge(facts, &s->facts);	/* the links' sets come along */
	facts_add_num(facts, "url.count", (double)s->count);
	if (s->exceeded)
		facts_set(facts, "url.limit_exceeded", "yes");
	facts_clear(&s->facts);
	g_hash_table_destroy(s->seen);
	g_hash_table_destroy(s->values);
	free(s);
}
