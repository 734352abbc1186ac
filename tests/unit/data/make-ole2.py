#!/usr/bin/python3
"""
make-ole2 - write small OLE2 compound files (MS-CFB version 3) for the tests.

olefile reads compound files but cannot create them, so this is a minimal
writer: 512-byte sectors, one FAT sector, no mini stream (every stream is
empty or at least 4096 bytes long, so none belongs in the mini stream).
Each storage's children form a binary search tree in MS-CFB order (length
first, then upper-cased name), all nodes black. The result is read back
with olefile when it is installed, as an independent check of the writer.

usage: make-ole2.py OUT KIND    KIND: vba | vba-excel | vbaproject | macros-only | novba
"""
import struct
import sys

SECTOR = 512
FREESECT, ENDOFCHAIN, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
STORAGE, STREAM, ROOT = 1, 2, 5


class Node:
    def __init__(self, name, kind, data=b"", children=()):
        self.name, self.kind, self.data = name, kind, data
        self.children = list(children)
        self.sid = None
        self.left = self.right = self.child = NOSTREAM
        self.start = ENDOFCHAIN


def cfb_key(node):
    return (len(node.name), node.name.upper())


def number(node, order):
    node.sid = len(order)
    order.append(node)
    for c in node.children:
        number(c, order)


def tree(nodes):
    """the root sid of a search tree over nodes (sorted), linking left/right"""
    if not nodes:
        return NOSTREAM
    mid = len(nodes) // 2
    nodes[mid].left = tree(nodes[:mid])
    nodes[mid].right = tree(nodes[mid + 1:])
    return nodes[mid].sid


def link(node):
    node.child = tree(sorted(node.children, key=cfb_key))
    for c in node.children:
        link(c)


def entry(node):
    name = node.name.encode("utf-16-le") + b"\0\0"
    assert len(name) <= 64
    return struct.pack("<64sHBBIII16sIQQIQ", name, len(name), node.kind, 1,
                       node.left, node.right, node.child, b"\0" * 16, 0, 0, 0,
                       node.start, len(node.data))


def build(root):
    order = []
    number(root, order)
    link(root)
    dir_bytes_len = -(-len(order) * 128 // SECTOR) * SECTOR
    dir_sectors = dir_bytes_len // SECTOR
    fat = [FATSECT] + [i + 1 if i < dir_sectors else ENDOFCHAIN
                       for i in range(1, dir_sectors + 1)]
    body = b""
    for n in order:
        if n.kind == STREAM and n.data:
            assert len(n.data) >= 4096, "streams under 4096 bytes would need a mini stream"
            n.start = len(fat)
            count = -(-len(n.data) // SECTOR)
            fat += [n.start + i + 1 for i in range(count - 1)] + [ENDOFCHAIN]
            body += n.data.ljust(count * SECTOR, b"\0")
    assert len(fat) <= SECTOR // 4
    fat += [FREESECT] * (SECTOR // 4 - len(fat))
    directory = b"".join(entry(n) for n in order)
    directory = directory.ljust(dir_bytes_len, b"\0")
    difat = [0] + [FREESECT] * 108
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
                         b"\0" * 16, 0x3E, 3, 0xFFFE, 9, 6, b"\0" * 6, 0, 1, 1, 0,
                         4096, ENDOFCHAIN, 0, ENDOFCHAIN, 0)
    header += struct.pack("<109I", *difat)
    return header + struct.pack("<128I", *fat) + directory + body


def word(extra):
    return Node("Root Entry", ROOT, children=[
        Node("WordDocument", STREAM, b"\x00" * 4096),
        Node("1Table", STREAM),
        Node("\x05SummaryInformation", STREAM),
    ] + extra)


KINDS = {
    # Word 97-2003 keeps its VBA project in Macros/VBA
    "vba": lambda: word([Node("Macros", STORAGE, children=[
        Node("VBA", STORAGE, children=[Node("_VBA_PROJECT", STREAM),
                                       Node("dir", STREAM),
                                       Node("ThisDocument", STREAM)]),
        Node("PROJECT", STREAM), Node("PROJECTwm", STREAM)])]),
    # Excel 97-2003: _VBA_PROJECT_CUR/VBA
    "vba-excel": lambda: Node("Root Entry", ROOT, children=[
        Node("Workbook", STREAM, b"\x09\x08" + b"\x00" * 4094),
        Node("_VBA_PROJECT_CUR", STORAGE, children=[
            Node("VBA", STORAGE, children=[Node("_VBA_PROJECT", STREAM),
                                           Node("dir", STREAM)]),
            Node("PROJECT", STREAM)])]),
    # the vbaProject.bin part of a macro-enabled OOXML document
    "vbaproject": lambda: Node("Root Entry", ROOT, children=[
        Node("VBA", STORAGE, children=[Node("_VBA_PROJECT", STREAM), Node("dir", STREAM),
                                       Node("ThisDocument", STREAM, b"\x01" * 4096)]),
        Node("PROJECT", STREAM), Node("PROJECTwm", STREAM)]),
    "macros-only": lambda: word([Node("Macros", STORAGE)]),
    "novba": lambda: word([Node("ObjectPool", STORAGE)]),
}


def check(path, kind):
    try:
        import olefile
    except ImportError:
        return
    ole = olefile.OleFileIO(path)
    names = ["/".join(p) for p in ole.listdir(streams=True, storages=True)]
    has_vba = any(n.upper().split("/")[-1] in ("VBA", "_VBA_PROJECT", "MACROS") for n in names)
    assert has_vba == (kind != "novba"), (kind, names)
    ole.close()


def main():
    out, kind = sys.argv[1], sys.argv[2]
    with open(out, "wb") as f:
        f.write(build(KINDS[kind]()))
    check(out, kind)


if __name__ == "__main__":
    main()
