/*
 * facts - what the filters learnt about a transaction, for the rules.
 *
 * A fact is a name ("client.ip", "header.subject", "body.text") with zero
 * or more text values (UTF-8, NUL-free: a NUL from the message becomes
 * U+FFFD). Numbers are stored as decimal text and read as numbers by the
 * rules that compare them. Filters compute facts; they never decide.
 * The facts belong to the transaction and are cleared with it.
 */
#ifndef SEKISHO_FACTS_H
#define SEKISHO_FACTS_H

#include <stddef.h>

struct fact {
	char *name;		/* lowercase */
	char **values;
	size_t count;
};

/*
 * A message's facts also keep one set per file (attachment or archive
 * member) in files[], the values of attachment.*, archive.* and office.*
 * that one file gave, and one set per link in links[], its url.* values,
 * so a rule can ask several things of the same file or link
 * (rule_eval.c). The same values are in items[] too, merged.
 */
struct facts {
	struct fact *items;
	size_t count;
	struct facts *files;
	size_t nfiles;
	struct facts *links;
	size_t nlinks;
};

/* Names of per-file and per-link facts when flattened for the wire:
 * "file.00003.attachment.ext", "link.00012.url.host" */
#define FACTS_FILE_PREFIX "file."
#define FACTS_LINK_PREFIX "link."

void facts_init(struct facts *f);
void facts_clear(struct facts *f);

/* facts_add - one more value for name (name is lowercased) */
void facts_add(struct facts *f, const char *name, const char *value, size_t len);
void facts_add_str(struct facts *f, const char *name, const char *value);
void facts_add_num(struct facts *f, const char *name, double value);

/* facts_set - name has exactly this one value from now on */
void facts_set(struct facts *f, const char *name, const char *value);

/* facts_remove - forget name and its values */
void facts_remove(struct facts *f, const char *name);

/* facts_merge - every value of src added to dst, and a copy of every file set */
void facts_merge(struct facts *dst, const struct facts *src);

/* facts_add_file, facts_add_link - a new, empty per-file or per-link set of f (owned by f) */
struct facts *facts_add_file(struct facts *f);
struct facts *facts_add_link(struct facts *f);

/*
 * facts_unflatten_files - undo the wire's flattening, in place: every
 * fact named "file.<id>.<name>" moves to a per-file set of its own id
 * (each distinct id one set, in name order), named <name> there; so do
 * "link.<id>.<name>" facts, to per-link sets.
 */
void facts_unflatten_files(struct facts *f);

/* facts_find - NULL when nothing is known of name */
const struct fact *facts_find(const struct facts *f, const char *name);

#endif
