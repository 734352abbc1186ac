#!/bin/sh
# make-fixtures - rebuild the small binary inputs of the archive, file type
# and Office unit tests, and the fuzz seeds made from them.
#
# Writes next to itself (tests/unit/data/) and into tests/fuzz/corpus/.
# Needs zip, 7z (p7zip-full), genisoimage, gzip, bzip2, xz-utils, zstd,
# cpio, tar and
# /usr/bin/python3 (python3-olefile, when installed, checks the OLE2
# files). Times are fixed, so a rebuild changes little, but genisoimage
# and 7z stamp some times of their own. Nothing here is malware; the
# "bombs" are zeros.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
corpus=$here/../../fuzz/corpus
py=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
export TZ=UTC LC_ALL=C.UTF-8
stamp=202401010000

# the tree most archives hold
mkdir -p "$work/tree/docs" "$work/inner"
printf 'hello, world\n' >"$work/tree/hello.txt"
printf '# readme\n' >"$work/tree/docs/readme.md"
printf 'inner\n' >"$work/inner/inner.txt"
printf 'seikyusho\n' >"$work/tree/請求書.txt"
printf 'top secret\n' >"$work/secret.txt"
printf 'after the secret\n' >"$work/after.txt"
find "$work" -exec touch -t $stamp {} +
(cd "$work/inner" && zip -X -q ../tree/inner.zip inner.txt)
touch -t $stamp "$work/tree/inner.zip"

cd "$work/tree"
rm -f "$here"/arch-* "$here"/ole-* "$here"/ooxml-*
zip -X -q -r "$here/arch-plain.zip" hello.txt docs 請求書.txt inner.zip
tar --sort=name --mtime=@1704067200 --owner=0 --group=0 --numeric-owner \
	-cf - hello.txt docs | gzip -n -9 >"$here/arch-plain.tar.gz"
tar --sort=name --mtime=@1704067200 --owner=0 --group=0 --numeric-owner \
	-cf - hello.txt docs | zstd -q -19 >"$here/arch-plain.tar.zst"
printf 'hello.txt\ndocs\ndocs/readme.md\n' | cpio --quiet -o -H newc --reproducible \
	>"$here/arch-plain.cpio"
gzip -9 -c hello.txt >"$here/arch-lone.txt.gz"
bzip2 -9 -c hello.txt >"$here/arch-lone.txt.bz2"
xz -9 -c hello.txt >"$here/arch-lone.txt.xz"
7z a -bd -bso0 -mtm=off -mtc=off -mta=off "$here/arch-plain.7z" hello.txt docs 請求書.txt inner.zip
genisoimage -quiet -R -J -input-charset utf-8 -V SEKISHO -o "$work/disk.iso" hello.txt docs 請求書.txt
gzip -n -9 -c "$work/disk.iso" >"$here/arch-disk.iso.gz"

# encrypted members between plain ones, so listing must go on past them
cd "$work"
zip -X -q "$here/arch-zipcrypto.zip" tree/hello.txt
zip -X -q -P secret "$here/arch-zipcrypto.zip" secret.txt
zip -X -q "$here/arch-zipcrypto.zip" after.txt
7z a -bd -bso0 -tzip "$here/arch-aes.zip" tree/hello.txt
7z a -bd -bso0 -tzip -mem=AES256 -psecret "$here/arch-aes.zip" secret.txt
7z a -bd -bso0 -tzip "$here/arch-aes.zip" after.txt
7z a -bd -bso0 -psecret "$here/arch-enc.7z" secret.txt after.txt
7z a -bd -bso0 -psecret -mhe=on "$here/arch-enchdr.7z" secret.txt

# RAR 2.9 (RAR4) archives, stored: no free tool writes RAR, so by hand
# (RARLAB's technote.txt): marker, main header, file headers, end. The
# "encrypted" member has the password flag and a salt; its bytes are
# random, as nobody decrypts them.
"$py" - "$here" <<'EOF'
import struct, sys, zlib
here = sys.argv[1]

def block(kind, flags, body):
    head = struct.pack("<BHH", kind, flags, 7 + len(body)) + body
    return struct.pack("<H", zlib.crc32(head) & 0xFFFF) + head

def member(name, data, encrypted=False):
    name = name.encode()
    flags = 0x8000 | (0x0004 | 0x0400 if encrypted else 0)
    body = struct.pack("<IIBIIBBHI", len(data), len(data), 3, zlib.crc32(data),
                       0x58210000, 29, 0x30, len(name), 0o100644) + name
    if encrypted:
        body += b"SALTsalt"
    return block(0x74, flags, body) + data

def rar(members):
    return (b"Rar!\x1a\x07\x00" + block(0x73, 0, b"\0" * 6) + b"".join(members)
            + block(0x7B, 0x4000, b""))

with open(here + "/arch-plain.rar", "wb") as f:
    f.write(rar([member("hello.txt", b"hello, world\n"), member("docs/readme.md", b"# readme\n")]))
with open(here + "/arch-enc.rar", "wb") as f:
    f.write(rar([member("hello.txt", b"hello, world\n"),
                 member("secret.txt", bytes(range(16)), encrypted=True),
                 member("after.txt", b"after the secret\n")]))
EOF

# a gigabyte of zeros in about a kilobyte: zip with bzip2, and tar.bz2
"$py" - "$here" <<'EOF'
import io, sys, tarfile, zipfile
here = sys.argv[1]
GIB, MIB = 1 << 30, bytes(1 << 20)

class Zeros(io.RawIOBase):
    def __init__(self, n): self.left = n
    def readable(self): return True
    def readinto(self, b):
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n

with zipfile.ZipFile(here + "/arch-bomb-bzip2.zip", "w", zipfile.ZIP_BZIP2, compresslevel=9) as z:
    info = zipfile.ZipInfo("zeros.bin", (2024, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_BZIP2
    with z.open(info, "w", force_zip64=True) as f:
        for _ in range(1024):
            f.write(MIB)
    z.writestr(zipfile.ZipInfo("after.txt", (2024, 1, 1, 0, 0, 0)), "after\n")
with tarfile.open(here + "/arch-bomb.tar.bz2", "w:bz2", compresslevel=9) as t:
    info = tarfile.TarInfo("zeros.bin")
    info.size, info.mtime = GIB, 1704067200
    t.addfile(info, Zeros(GIB))
EOF

# OLE2 files, and OOXML documents with and without a VBA project
for kind in vba vba-excel macros-only novba vbaproject; do
	"$py" "$here/make-ole2.py" "$here/ole-$kind.bin" $kind
done
"$py" - "$here" <<'EOF'
import sys, zipfile
here = sys.argv[1]
ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
      '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
      '<Default Extension="xml" ContentType="application/xml"/>'
      '<Override PartName="/word/document.xml" ContentType="application/vnd.%s"/>%s</Types>')
rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="word/document.xml"/></Relationships>')
doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
       '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
       '<w:body><w:p><w:r><w:t>hello</w:t></w:r></w:p></w:body></w:document>')
vba = open(here + "/ole-vbaproject.bin", "rb").read()
for name, main, extra, parts in [
        ("docx", "openxmlformats-officedocument.wordprocessingml.document.main+xml", "", {}),
        ("docm", "ms-word.document.macroEnabled.main+xml",
         '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>',
         {"word/vbaProject.bin": vba})]:
    with zipfile.ZipFile("%s/ooxml-hello.%s" % (here, name), "w", zipfile.ZIP_DEFLATED) as z:
        def add(n, data):
            z.writestr(zipfile.ZipInfo(n, (2024, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
        add("[Content_Types].xml", ct % (main, extra))
        add("_rels/.rels", rels)
        add("word/document.xml", doc)
        for n, data in parts.items():
            add(n, data)
EOF

# fuzz seeds: the small fixtures, and a few cut short
mkdir -p "$corpus/fuzz_archive_walk" "$corpus/fuzz_office"
for f in arch-plain.zip arch-plain.tar.gz arch-lone.txt.gz arch-lone.txt.xz arch-plain.7z \
	arch-zipcrypto.zip arch-aes.zip arch-enc.7z arch-enchdr.7z arch-disk.iso.gz \
	arch-plain.rar arch-enc.rar arch-plain.cpio arch-plain.tar.zst; do
	cp "$here/$f" "$corpus/fuzz_archive_walk/${f#arch-}"
done
head -c 300 "$here/arch-plain.zip" >"$corpus/fuzz_archive_walk/cut.zip"
head -c 200 "$here/arch-plain.7z" >"$corpus/fuzz_archive_walk/cut.7z"
for f in ole-vba.bin ole-vba-excel.bin ole-novba.bin ole-vbaproject.bin; do
	cp "$here/$f" "$corpus/fuzz_office/${f#ole-}"
done
head -c 1536 "$here/ole-vba.bin" >"$corpus/fuzz_office/cut.bin"
