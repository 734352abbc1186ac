/*
 * office - macros in Office documents: a small OLE2 directory reader.
 *
 * Why our own reader. libgsf (Debian's libgsf-1) reads OLE2 from memory,
 * but builds the whole directory tree by recursing over it: a 6 MB file
 * whose 50,000 entries form one long chain of siblings overflows an 8 MB
 * stack (seen with 1.14.50-1+deb12u1), and 10,000 such entries already
 * take half a second. We need only the names in the directory, which a
 * bounded loop can read in time linear in the input.
 *
 * What is read (MS-CFB): the header, the DIFAT (109 entries in the header,
 * then a chain of DIFAT sectors) to find the FAT sectors, and the FAT to
 * follow the directory's sector chain. Every chain walk stops after as
 * many steps as the file has sectors, so a cycle costs time linear in the
 * input and nothing more; sector numbers past the data end the chain.
 * Sectors of 512 (version 3) or 4096 bytes (version 4) are accepted, the
 * two sizes Office writes; a partial last sector is read as far as it goes.
 *
 * Every directory entry in the chain counts, reachable from the root or
 * not: a VBA storage cut out of the tree is still a sign of tampering,
 * and walking the tree would only add ways to hide. Names are compared
 * up to their first NUL, not by their length field, ASCII case ignored.
 *
 * Not seen here: PowerPoint 97-2003 keeps its VBA project zlib-compressed
 * inside the "PowerPoint Document" stream; Excel 4.0 (XLM) macro sheets
 * live inside the Workbook stream; a document attached to a .msg as a
 * stream (not as an embedded storage) must be taken out and checked by
 * the caller. Those need stream contents, which this reader never reads.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "filters/office.h"

#define CFB_MAXREGSECT   0xfffffffaU /* larger numbers are markers, not sectors */
#define CFB_ENDOFCHAIN   0xfffffffeU
#define CFB_HEADER_DIFAT 109
#define CFB_ENTRY        128

enum cfb_type { CFB_STORAGE = 1, CFB_STREAM = 2 };

struct cfb {
	const unsigned char *p;
	size_t len;
	size_t ssize;   /* sector size */
	uint32_t nsect; /* sectors after the header, a partial last one included */
	uint32_t *fat;  /* the FAT's sector numbers, in order */
	size_t nfat;
};

/* the entries that mean a VBA project (see office.h) */
static const struct {
	const char *name;
	enum cfb_type type;
} vba_entries[] = {
    {"VBA", CFB_STORAGE},
    {"_VBA_PROJECT", CFB_STREAM},
    {"Macros", CFB_STORAGE},
    {"_VBA_PROJECT_CUR", CFB_STORAGE},
};

/* le16, le32 - little-endian numbers at p */
static uint32_t le16(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
	return le16(p) | le16(p + 2) << 16;
}

/* sector - the start of sector s and *avail bytes of it, or NULL past the data */
static const unsigned char *sector(const struct cfb *c, uint32_t s, size_t *avail)
{
	size_t off;

	if (s >= c->nsect)
		return NULL;
	off = ((size_t)s + 1) * c->ssize;
	*avail = c->len - off < c->ssize ? c->len - off : c->ssize;
	return c->p + off;
}

/* sector_u32 - the i-th 32-bit number in sector s; ok false when out of the data */
static uint32_t sector_u32(const struct cfb *c, uint32_t s, size_t i, bool *ok)
{
	size_t avail;
	const unsigned char *p = sector(c, s, &avail);

	*ok = p && i * 4 + 4 <= avail;
	return *ok ? le32(p + i * 4) : 0;
}

/* fat_next - the sector after s in its chain; a marker (>= MAXREGSECT) ends it */
static uint32_t fat_next(const struct cfb *c, uint32_t s)
{
	size_t per = c->ssize / 4, idx = s / per;
	bool ok;
	uint32_t next;

	if (idx >= c->nfat)
		return CFB_ENDOFCHAIN;
	next = sector_u32(c, c->fat[idx], s % per, &ok);
	return ok ? next : CFB_ENDOFCHAIN;
}

/* fat_add - one more FAT sector from the DIFAT; false when the list ends */
static bool fat_add(struct cfb *c, uint32_t s)
{
	if (s >= CFB_MAXREGSECT || s >= c->nsect || c->nfat >= c->nsect)
		return false;
	c->fat[c->nfat++] = s;
	return true;
}

/*
 * load_difat - the FAT's sectors: the header's 109, then the DIFAT chain
 * (each sector's last number links to the next), in order, until a marker.
 */
static void load_difat(struct cfb *c)
{
	size_t per = c->ssize / 4;
	uint32_t s = le32(c->p + 68);

	c->fat = xmalloc(sizeof(*c->fat) * ((size_t)c->nsect + 1));
	for (size_t i = 0; i < CFB_HEADER_DIFAT; i++)
		if (!fat_add(c, le32(c->p + 76 + 4 * i)))
			return;
	for (uint32_t steps = 0; s < CFB_MAXREGSECT && steps < c->nsect; steps++) {
		bool ok;

		for (size_t i = 0; i + 1 < per; i++) {
			uint32_t fat = sector_u32(c, s, i, &ok);

			if (!ok || !fat_add(c, fat))
				return;
		}
		s = sector_u32(c, s, per - 1, &ok);
		if (!ok)
			return;
	}
}

/* ascii_lower - c lowercased, ASCII only, whatever the locale */
static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* ascii_ncaseeq - are a[0..n) and b[0..n) equal, ASCII case ignored? */
static bool ascii_ncaseeq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

/*
 * name_is - does a directory entry's UTF-16LE name, up to its first NUL,
 * equal ascii (shorter than the field's 32 characters), ASCII case ignored?
 */
static bool name_is(const unsigned char *name, const char *ascii)
{
	for (size_t i = 0;; i++) {
		uint32_t ch = le16(name + 2 * i);

		if (ascii[i] == '\0')
			return ch == 0;
		if (ch == 0 || ch >= 0x80 || ascii_lower((char)ch) != ascii_lower(ascii[i]))
			return false;
	}
}

/* entry_is_vba - is this directory entry one of vba_entries? */
static bool entry_is_vba(const unsigned char *e)
{
	for (size_t i = 0; i < sizeof(vba_entries) / sizeof(vba_entries[0]); i++)
		if (e[66] == vba_entries[i].type && name_is(e, vba_entries[i].name))
			return true;
	return false;
}

/* dir_has_vba - walk the directory chain, looking at every entry */
static bool dir_has_vba(const struct cfb *c)
{
	uint32_t s = le32(c->p + 48);

	for (uint32_t steps = 0; s < CFB_MAXREGSECT && steps < c->nsect; steps++) {
		size_t avail;
		const unsigned char *p = sector(c, s, &avail);

		if (!p)
			return false;
		for (size_t off = 0; off + CFB_ENTRY <= avail; off += CFB_ENTRY)
			if (entry_is_vba(p + off))
				return true;
		s = fat_next(c, s);
	}
	return false;
}

/* cfb_open - check the header and size the file; false when it is not OLE2 */
static bool cfb_open(struct cfb *c, const unsigned char *p, size_t len)
{
	unsigned shift;
	size_t n;

	if (len < 512 || memcmp(p, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8) != 0 ||
	    le16(p + 28) != 0xfffe)
		return false;
	shift = le16(p + 30);
	if (shift != 9 && shift != 12)
		return false;
	c->p = p;
	c->len = len;
	c->ssize = (size_t)1 << shift;
	if (len <= c->ssize)
		return false;
	/* the sectors after the header's, a partial last one counted; never a marker */
	n = (len - 1) / c->ssize;
	c->nsect = n < CFB_MAXREGSECT ? (uint32_t)n : CFB_MAXREGSECT;
	return true;
}

bool office_ole_has_vba(const void *data, size_t len)
{
	struct cfb c = {0};
	bool found;

	if (!data || !cfb_open(&c, data, len))
		return false;
	load_difat(&c);
	found = dir_has_vba(&c);
	free(c.fat);
	return found;
}

/* last_segment_is - is the last path segment of name seg, ASCII case ignored? */
static bool last_segment_is(const char *name, const char *seg)
{
	size_t n = strlen(name), m = strlen(seg);

	if (n < m || (n > m && name[n - m - 1] != '/' && name[n - m - 1] != '\\'))
		return false;
	return ascii_ncaseeq(name + n - m, seg, m);
}

/* has_folder - is one of the folders in name's path folder, ASCII case ignored? */
static bool has_folder(const char *name, const char *folder)
{
	size_t m = strlen(folder);
	const char *p = name, *end;

	/* p..end is a folder while a separator follows it */
	while (*(end = p + strcspn(p, "/\\"))) {
		if ((size_t)(end - p) == m && ascii_ncaseeq(p, folder, m))
			return true;
		p = end + 1;
	}
	return false;
}

bool office_ooxml_member_is_vba(const char *member_name)
{
	return member_name && last_segment_is(member_name, "vbaProject.bin");
}

bool office_ooxml_member_is_activex(const char *member_name)
{
	size_t n;

	if (!member_name || !has_folder(member_name, "activeX"))
		return false;
	n = strlen(member_name);
	return n >= 4 && ascii_ncaseeq(member_name + n - 4, ".bin", 4);
}

bool office_ooxml_member_is_xlm(const char *member_name)
{
	return member_name && (has_folder(member_name, "macrosheets") ||
	                       has_folder(member_name, "intlmacrosheets"));
}
