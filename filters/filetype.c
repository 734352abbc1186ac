/*
 * filetype - the true type of some bytes, with libmagic and a few checks.
 *
 * libmagic, tamed. The cookie is opened with MAGIC_NO_CHECK_COMPRESS
 * (libmagic would otherwise decompress, in a forked child or by running
 * gzip and friends), MAGIC_NO_COMPRESS_FORK in case a later default turns
 * it back on, MAGIC_NO_CHECK_ELF and MAGIC_NO_CHECK_APPTYPE (both want a
 * file descriptor). magic_load reads the database once, in filetype_new,
 * before the sandbox, with tzset() for the dates some descriptions hold;
 * magic_buffer then works on memory alone: strace of filetype_detect over
 * PE, ELF, PDF, OLE2, OOXML, ISO, zip, 7z, gzip, xz, text and scripts
 * shows no open, stat, fork, clone or exec. Only the first
 * FILETYPE_MAX_BYTES are shown to libmagic (MAGIC_PARAM_BYTES_MAX too).
 *
 * Our checks. The flags do not wait on libmagic's wording, which changes
 * between versions (PE files became application/vnd.microsoft.portable-
 * executable in 5.45). By magic number: MZ with a "PE\0\0" signature at
 * e_lfanew (anywhere in the data), ELF, Mach-O (thin and fat) and Java
 * class files, Windows shortcuts, OLE2, PDF ("%PDF-" in the first 1024
 * bytes, where readers look for it), OOXML (a zip holding
 * "[Content_Types].xml"), ISO 9660, UDF, VHD (its footer at the end, or
 * its copy at the start), VHDX, DMG (the "koly" trailer), GPT and an MBR
 * with a plausible partition table. The checks that look at the end of
 * the data (VHD, DMG) read 512 bytes there, whatever the length.
 *
 * Scripts. libmagic knows shell, batch, Python, Perl and a few more by
 * their MIME type, but calls VBScript, JScript and PowerShell plain text
 * and an HTA plain HTML. So text is also a script when (case-insensitive,
 * in the first 256 KiB, UTF-16LE text read as its ASCII projection):
 *   - it starts with "#!" (after a BOM and blanks);
 *   - its first line that is not blank starts with "@echo " or "@echo"
 *     at end of line (a batch file);
 *   - it holds "<hta:application" (an HTA) or both "<job" and "<script"
 *     (a Windows Script File);
 *   - it holds two or more different script-host idioms of the list in
 *     script_idioms (CreateObject(, WScript.Shell, ActiveXObject(,
 *     Invoke-Expression, FromBase64String, DownloadString(...). One alone
 *     is too common in prose and in mail about scripts.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <magic.h>

#include "common/xalloc.h"
#include "filters/filetype.h"

#ifndef MAGIC_NO_COMPRESS_FORK
#define MAGIC_NO_COMPRESS_FORK 0
#endif

#define FILETYPE_MAGIC_FLAGS                                                                       \
	(MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_COMPRESS_FORK | MAGIC_NO_CHECK_ELF |                   \
	 MAGIC_NO_CHECK_APPTYPE)

#define SCRIPT_SCAN ((size_t)256 * 1024)

struct filetype_detector {
	magic_t cookie;
	char *lower; /* SCRIPT_SCAN bytes for the script tests */
};

enum {
	FT_EXEC = 1 << 0,
	FT_SCRIPT = 1 << 1,
	FT_ARCHIVE = 1 << 2,
	FT_OOXML = 1 << 3,
	FT_PDF = 1 << 4,
	FT_DISK = 1 << 5,
};

/* libmagic MIME types and what they mean for the flags */
static const struct {
	const char *mime;
	unsigned flags;
} mime_flags[] = {
    {"application/x-dosexec", FT_EXEC},
    {"application/x-msdownload", FT_EXEC},
    {"application/vnd.microsoft.portable-executable", FT_EXEC},
    {"application/x-executable", FT_EXEC},
    {"application/x-pie-executable", FT_EXEC},
    {"application/x-sharedlib", FT_EXEC},
    {"application/x-mach-binary", FT_EXEC},
    {"application/x-msi", FT_EXEC},
    {"application/x-ms-installer", FT_EXEC},
    {"application/x-java-applet", FT_EXEC},
    {"application/java-archive", FT_EXEC | FT_ARCHIVE},
    {"application/x-java-archive", FT_EXEC | FT_ARCHIVE},
    {"application/vnd.android.package-archive", FT_EXEC | FT_ARCHIVE},
    {"application/x-ms-shortcut", FT_EXEC},
    {"text/x-shellscript", FT_SCRIPT},
    {"text/x-msdos-batch", FT_SCRIPT},
    {"text/x-python", FT_SCRIPT},
    {"text/x-script.python", FT_SCRIPT},
    {"text/x-perl", FT_SCRIPT},
    {"text/x-php", FT_SCRIPT},
    {"text/x-ruby", FT_SCRIPT},
    {"text/x-tcl", FT_SCRIPT},
    {"text/x-lua", FT_SCRIPT},
    {"text/x-awk", FT_SCRIPT},
    {"text/javascript", FT_SCRIPT},
    {"application/javascript", FT_SCRIPT},
    {"application/x-powershell", FT_SCRIPT},
    {"application/vnd.ms-htmlhelp", FT_SCRIPT},
    {"application/zip", FT_ARCHIVE},
    {"application/x-zip-compressed", FT_ARCHIVE},
    {"application/x-7z-compressed", FT_ARCHIVE},
    {"application/x-rar", FT_ARCHIVE},
    {"application/vnd.rar", FT_ARCHIVE},
    {"application/x-rar-compressed", FT_ARCHIVE},
    {"application/x-tar", FT_ARCHIVE},
    {"application/x-gtar", FT_ARCHIVE},
    {"application/x-cpio", FT_ARCHIVE},
    {"application/gzip", FT_ARCHIVE},
    {"application/x-gzip", FT_ARCHIVE},
    {"application/x-bzip2", FT_ARCHIVE},
    {"application/x-xz", FT_ARCHIVE},
    {"application/x-lzma", FT_ARCHIVE},
    {"application/x-lzip", FT_ARCHIVE},
    {"application/zstd", FT_ARCHIVE},
    {"application/x-zstd", FT_ARCHIVE},
    {"application/x-lz4", FT_ARCHIVE},
    {"application/x-compress", FT_ARCHIVE},
    {"application/vnd.ms-cab-compressed", FT_ARCHIVE},
    {"application/x-lha", FT_ARCHIVE},
    {"application/x-lzh-compressed", FT_ARCHIVE},
    {"application/x-arj", FT_ARCHIVE},
    {"application/x-ace-compressed", FT_ARCHIVE},
    {"application/pdf", FT_PDF},
    {"application/x-iso9660-image", FT_DISK},
    {"application/x-apple-diskimage", FT_DISK},
    {"application/x-raw-disk-image", FT_DISK},
    {"application/x-virtualbox-vhd", FT_DISK},
    {"application/x-virtualbox-vhdx", FT_DISK},
};

/* script-host idioms; two different ones make text a script (file comment) */
static const char *const script_idioms[] = {
    "createobject(",
    "wscript.shell",
    "wscript.createobject",
    "activexobject(",
    "shell.application",
    "scripting.filesystemobject",
    "adodb.stream",
    "msxml2.xmlhttp",
    "winhttp.winhttprequest",
    "invoke-expression",
    "iex(",
    "frombase64string",
    "downloadstring(",
    "downloadfile(",
    "-encodedcommand",
    "net.webclient",
    "start-process",
    "invoke-webrequest",
    "cmd.exe /c",
    "cmd /c",
};

/* ascii_lower - c lowercased, ASCII only, whatever the locale */
static unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* ascii_caseeq - are a and b equal, ignoring ASCII case? */
static bool ascii_caseeq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (ascii_lower((unsigned char)*a) != ascii_lower((unsigned char)*b))
			return false;
	return *a == *b;
}

/* le16, le32, be32 - little- and big-endian numbers at p */
static uint32_t le16(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
	return le16(p) | le16(p + 2) << 16;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* at - does p[0..len) hold magic (n bytes) at off? */
static bool at(const unsigned char *p, size_t len, size_t off, const void *magic, size_t n)
{
	return len >= n && off <= len - n && memcmp(p + off, magic, n) == 0;
}

struct filetype_detector *filetype_new(char **error_r)
{
	struct filetype_detector *d = xcalloc(1, sizeof(*d));
	size_t bytes_max = FILETYPE_MAX_BYTES;

	d->cookie = magic_open(FILETYPE_MAGIC_FLAGS);
	if (!d->cookie) {
		*error_r = xstrdup("libmagic: magic_open failed");
		free(d);
		return NULL;
	}
	if (magic_load(d->cookie, NULL) != 0) {
		const char *why = magic_error(d->cookie);

		*error_r = xasprintf("libmagic: cannot load the database: %s", why ? why : "?");
		magic_close(d->cookie);
		free(d);
		return NULL;
	}
	magic_setparam(d->cookie, MAGIC_PARAM_BYTES_MAX, &bytes_max);
	d->lower = xmalloc(SCRIPT_SCAN);
	/* libmagic prints some dates with localtime_r: read the zone now, not in the sandbox */
	tzset();
	return d;
}

void filetype_free(struct filetype_detector *d)
{
	if (!d)
		return;
	magic_close(d->cookie);
	free(d->lower);
	free(d);
}

/* copy_text - src into dst[size], printable ASCII only, cut to fit */
static void copy_text(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	for (; src && src[i] && i + 1 < size; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

/* ask_magic - libmagic's answer with flags, or fallback */
static void ask_magic(struct filetype_detector *d, int flags, const void *data, size_t len,
                      char *dst, size_t size, const char *fallback)
{
	const char *s;

	magic_setflags(d->cookie, FILETYPE_MAGIC_FLAGS | flags);
	s = magic_buffer(d->cookie, data, len);
	copy_text(dst, size, s ? s : fallback);
}

/* mime_lookup - the flags the MIME type carries */
static unsigned mime_lookup(const char *mime)
{
	for (size_t i = 0; i < sizeof(mime_flags) / sizeof(mime_flags[0]); i++)
		if (ascii_caseeq(mime, mime_flags[i].mime))
			return mime_flags[i].flags;
	return 0;
}

/* is_pe - MZ, and "PE\0\0" where e_lfanew points */
static bool is_pe(const unsigned char *p, size_t len)
{
	return at(p, len, 0, "MZ", 2) && len >= 0x40 && at(p, len, le32(p + 0x3c), "PE\0\0", 4);
}

/* is_macho - thin Mach-O either way round, or fat (CAFEBABE with few archs) */
static bool is_macho(const unsigned char *p, size_t len)
{
	static const unsigned char thin[][4] = {
	    {0xfe, 0xed, 0xfa, 0xce},
	    {0xfe, 0xed, 0xfa, 0xcf},
	    {0xce, 0xfa, 0xed, 0xfe},
	    {0xcf, 0xfa, 0xed, 0xfe},
	};

	for (size_t i = 0; i < sizeof(thin) / sizeof(thin[0]); i++)
		if (at(p, len, 0, thin[i], 4))
			return true;
	return at(p, len, 0, "\xca\xfe\xba\xbe", 4) && len >= 8 && be32(p + 4) >= 1 &&
	       be32(p + 4) < 40;
}

/* is_java_class - CAFEBABE followed by a class file version (major >= 45) */
static bool is_java_class(const unsigned char *p, size_t len)
{
	return at(p, len, 0, "\xca\xfe\xba\xbe", 4) && len >= 8 && (p[6] << 8 | p[7]) >= 45;
}

/* is_lnk - a Windows shell link: header size 0x4C and the ShellLink CLSID */
static bool is_lnk(const unsigned char *p, size_t len)
{
	return at(p, len, 0, "\x4c\0\0\0\x01\x14\x02\0\0\0\0\0\xc0\0\0\0\0\0\0\x46", 20);
}

/* executable_magic - our own test for native and bytecode executables */
static bool executable_magic(const unsigned char *p, size_t len)
{
	bool elf = at(p, len, 0, "\177ELF", 4);

	return elf || is_pe(p, len) || is_macho(p, len) || is_java_class(p, len) || is_lnk(p, len);
}

/* is_pdf - "%PDF-" in the first 1024 bytes */
static bool is_pdf(const unsigned char *p, size_t len)
{
	return memmem(p, len < 1024 ? len : 1024, "%PDF-", 5) != NULL;
}

/* is_ooxml - a zip that holds [Content_Types].xml (in the bytes looked at) */
static bool is_ooxml(const unsigned char *p, size_t len)
{
	return at(p, len, 0, "PK\x03\x04", 4) && memmem(p, len, "[Content_Types].xml", 19);
}

/* is_mbr - the 55AA signature and four entries that look like partitions */
static bool is_mbr(const unsigned char *p, size_t len)
{
	bool any = false;

	if (!at(p, len, 510, "\x55\xaa", 2))
		return false;
	for (int i = 0; i < 4; i++) {
		const unsigned char *e = p + 446 + 16 * i;

		if (e[0] != 0x00 && e[0] != 0x80)
			return false;
		if (e[4] != 0 && le32(e + 12) != 0)
			any = true;
	}
	return any;
}

/* is_udf - an NSR descriptor in the volume recognition area (ECMA-167 2/8.3) */
static bool is_udf(const unsigned char *p, size_t len)
{
	for (size_t off = 0x8001; off < 0x10000; off += 2048)
		if (at(p, len, off, "NSR02", 5) || at(p, len, off, "NSR03", 5))
			return true;
	return false;
}

/* disk_magic - the disk image formats in the file comment; all is the whole data */
static bool disk_magic(const unsigned char *p, size_t len, const unsigned char *all, size_t all_len)
{
	const unsigned char *tail = all_len >= 512 ? all + all_len - 512 : NULL;

	return at(p, len, 0x8001, "CD001", 5) || at(p, len, 0x8801, "CD001", 5) ||
	       at(p, len, 0x9001, "CD001", 5) || is_udf(p, len) || at(p, len, 0, "conectix", 8) ||
	       at(p, len, 0, "vhdxfile", 8) || at(p, len, 512, "EFI PART", 8) ||
	       at(p, len, 4096, "EFI PART", 8) || is_mbr(p, len) ||
	       (tail && (at(tail, 512, 0, "conectix", 8) || at(tail, 512, 0, "koly", 4)));
}

/* ascii_view - the first SCRIPT_SCAN bytes lowercased; UTF-16LE as its low bytes */
static size_t ascii_view(struct filetype_detector *d, const unsigned char *p, size_t len)
{
	size_t n = 0;

	if (at(p, len, 0, "\xff\xfe", 2)) {
		for (size_t i = 2; i + 1 < len && n < SCRIPT_SCAN; i += 2)
			d->lower[n++] = (char)(p[i + 1] ? 0x7f : ascii_lower(p[i]));
		return n;
	}
	for (; n < len && n < SCRIPT_SCAN; n++)
		d->lower[n] = (char)ascii_lower(p[n]);
	return n;
}

/* has - does s[0..n) contain word? */
static bool has(const char *s, size_t n, const char *word)
{
	return memmem(s, n, word, strlen(word)) != NULL;
}

/* first_line - the first line of s[0..n) that is not blank, BOM skipped; *len_r */
static const char *first_line(const char *s, size_t n, size_t *len_r)
{
	size_t i = 0, end;

	if (n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	for (end = i; end < n && s[end] != '\r' && s[end] != '\n'; end++)
		;
	*len_r = end - i;
	return s + i;
}

/* script_text - is this text a script, by the tests of the file comment? */
static bool script_text(struct filetype_detector *d, const unsigned char *p, size_t len)
{
	size_t n = ascii_view(d, p, len), line_len, idioms = 0;
	const char *s = d->lower, *line = first_line(s, n, &line_len);

	if (line_len >= 2 && memcmp(line, "#!", 2) == 0)
		return true;
	if ((line_len >= 6 && memcmp(line, "@echo ", 6) == 0) ||
	    (line_len == 5 && memcmp(line, "@echo", 5) == 0))
		return true;
	if (has(s, n, "<hta:application") || (has(s, n, "<job") && has(s, n, "<script")))
		return true;
	for (size_t i = 0; i < sizeof(script_idioms) / sizeof(script_idioms[0]); i++)
		if (has(s, n, script_idioms[i]) && ++idioms == 2)
			return true;
	return false;
}

void filetype_detect(struct filetype_detector *d, const void *data, size_t len,
                     struct filetype *out)
{
	const unsigned char *all = data ? data : (const unsigned char *)"";
	size_t n = len < FILETYPE_MAX_BYTES ? len : FILETYPE_MAX_BYTES;
	unsigned flags;

	if (!data)
		len = n = 0;
	memset(out, 0, sizeof(*out));
	ask_magic(d, MAGIC_MIME_TYPE, all, n, out->mime, sizeof(out->mime),
	          "application/octet-stream");
	flags = mime_lookup(out->mime);
	out->executable = (flags & FT_EXEC) || executable_magic(all, len);
	out->script =
	    (flags & FT_SCRIPT) || (strncmp(out->mime, "text/", 5) == 0 && script_text(d, all, n));
	out->archive = (flags & FT_ARCHIVE) != 0;
	out->ole2 = at(all, n, 0, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8);
	out->ooxml =
	    strncmp(out->mime, "application/vnd.openxmlformats-officedocument.", 46) == 0 ||
	    is_ooxml(all, n);
	out->pdf = (flags & FT_PDF) || is_pdf(all, n);
	out->disk_image = (flags & FT_DISK) || disk_magic(all, n, all, len);
	if (out->ooxml)
		out->archive = false;
}

/*
 * Extensions that promise a document, a picture, a sound, a film or an
 * archive: opening one is expected to show something, not to run it.
 * Script-bearing document formats (html, svg) are left out on purpose.
 */
static const char *const harmless_exts[] = {
    "txt",  "text", "log", "csv",  "tsv",  "rtf",  "md",   "pdf",  "doc",  "docx", "docm",
    "dot",  "dotx", "xls", "xlsx", "xlsm", "xlsb", "xlt",  "xltx", "ppt",  "pptx", "pptm",
    "pps",  "ppsx", "odt", "ods",  "odp",  "xps",  "oxps", "eml",  "msg",  "ics",  "vcf",
    "jpg",  "jpeg", "jpe", "png",  "gif",  "bmp",  "tif",  "tiff", "webp", "heic", "ico",
    "mp3",  "wav",  "m4a", "ogg",  "flac", "mp4",  "m4v",  "mov",  "avi",  "wmv",  "mkv",
    "webm", "zip",  "rar", "7z",   "gz",   "tgz",  "bz2",  "xz",   "tar",  "lzh",  "cab",
};

/*
 * The rule: true exactly when the content is executable or a script (as
 * flagged by filetype_detect) and ext, less a leading dot, is one of
 * harmless_exts, compared without regard to ASCII case. An empty or
 * missing extension, or any other one (exe, js, html, dat...), is never a
 * mismatch: it promises nothing harmless.
 */
bool filetype_ext_mismatch(const char *ext, const struct filetype *t)
{
	if (!ext || !t || !(t->executable || t->script))
		return false;
	if (*ext == '.')
		ext++;
	for (size_t i = 0; i < sizeof(harmless_exts) / sizeof(harmless_exts[0]); i++)
		if (ascii_caseeq(ext, harmless_exts[i]))
			return true;
	return false;
}
