/*
 * filetype - the true type of some bytes, whatever their name says.
 *
 * libmagic names the type (its MIME type; one call, as each costs ~0.3 ms); a few checks of
 * our own, by magic number and by cheap content tests, set the flags
 * where libmagic is silent or varies between versions. Detection reads
 * memory only: no file is opened, nothing is forked or run (see
 * filetype.c). A detector is made once, before the sandbox, and used by
 * one thread at a time.
 */
#ifndef SEKISHO_FILETYPE_H
#define SEKISHO_FILETYPE_H

#include <stdbool.h>
#include <stddef.h>

/* the bytes libmagic and the content checks look at, from the start */
#define FILETYPE_MAX_BYTES ((size_t)1 << 20)

struct filetype_detector;

struct filetype {
	char mime[96];         /* libmagic's; application/octet-stream if unknown */
	bool executable;       /* PE/MZ, ELF, Mach-O, MSI, Java, APK, Windows shortcut */
	bool script;           /* shell, batch, VBS, JScript, PowerShell, HTA, WSF, CHM */
	bool archive;          /* zip, rar, 7z, tar, cpio, cab, compressed...; not OOXML */
	bool ole2;             /* an OLE2 compound file (.doc .xls .ppt .msg .msi) */
	bool ooxml;            /* an Office Open XML package (.docx .docm .xlsx ...) */
	bool pdf;
	bool disk_image; /* ISO 9660, UDF, VHD(X), DMG, raw disk with MBR or GPT */
};

/*
 * filetype_new - magic_open and magic_load of the default database.
 * NULL on failure, with *error_r set to a message the caller frees.
 */
struct filetype_detector *filetype_new(char **error_r);
void filetype_free(struct filetype_detector *d);

/* filetype_detect - the type of data[0..len), into out (data may be NULL when len is 0) */
void filetype_detect(struct filetype_detector *d, const void *data, size_t len,
                     struct filetype *out);

/*
 * filetype_ext_mismatch - is executable or script content hiding behind
 * an extension that promises something harmless? ext is the part of the
 * name after its last dot, with or without that dot, any case. The exact
 * rule and the list of harmless extensions are in filetype.c.
 */
bool filetype_ext_mismatch(const char *ext, const struct filetype *t);

#endif
