"""Test messages: CR LF lines, as a client hands them to SMTP."""

import re


def crlf(*lines):
    return b"".join(l + b"\r\n" for l in lines)


def headers(subject, token, extra=()):
    return crlf(b"From: Sender <sender@example.net>",
                b"To: Rcpt <rcpt@example.test>",
                b"Subject: " + subject,
                b"Date: Mon, 02 Nov 2026 10:00:00 +0900",
                b"Message-ID: <" + token.encode() + b"@example.net>",
                *extra)


def utf8_8bit(token):
    return headers(b"=?UTF-8?B?5pel5pys6Kqe44Gu44Oh44O844Or?=", token,
                   (b"MIME-Version: 1.0",
                    b"Content-Type: text/plain; charset=UTF-8",
                    b"Content-Transfer-Encoding: 8bit")) + crlf(
        b"",
        "日本語の本文です。「関所」を通ります。".encode(),
        "Ünïcödé — ✓ 🐟".encode(),
        b"")


def iso2022jp(token):
    return headers(b"=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=", token,
                   (b"MIME-Version: 1.0",
                    b"Content-Type: text/plain; charset=ISO-2022-JP",
                    b"Content-Transfer-Encoding: 7bit")) + crlf(
        b"",
        "こんにちは、世界。".encode("iso2022_jp"),
        "全角カナの文。".encode("iso2022_jp"))


def shift_jis(token):
    # "表" and "ソ" have 0x5C (backslash) as their second byte.
    return headers(b"sjis", token,
                   (b"MIME-Version: 1.0",
                    b"Content-Type: text/plain; charset=Shift_JIS",
                    b"Content-Transfer-Encoding: 8bit")) + crlf(
        b"",
        "表示ソフトの予定表".encode("shift_jis"),
        "ｱｲｳｴｵ 半角カナ".encode("shift_jis"))


def dots(token):
    return headers(b"dots", token) + crlf(
        b"",
        b".",
        b"..",
        b".leading dot",
        b"..two leading dots",
        b". space after dot",
        b"",
        b".",
        b"last line")


def long_line(token, n=10000):
    return headers(b"long line", token) + crlf(
        b"",
        b"x" * n,
        b"y" * 999,
        b"short")


def whitespace(token):
    return headers(b"whitespace", token, (b"X-Folded: first part",
                                          b"\tsecond part",
                                          b"  third part",
                                          b"X-Trailing: value   ")) + crlf(
        b"",
        b"trailing spaces   ",
        b"\ttab first",
        b"",
        b"",
        b"two empty lines above, one below",
        b"")


def all_bytes(token):
    # Every byte value but CR, LF and NUL, in one line.
    body = bytes(b for b in range(1, 256) if b not in (10, 13))
    return headers(b"all bytes", token) + crlf(b"", body, b"end")


def empty_body(token):
    return headers(b"no body", token)


SAMPLES = {
    "utf8_8bit": utf8_8bit,
    "iso2022jp": iso2022jp,
    "shift_jis": shift_jis,
    "dots": dots,
    "long_line": long_line,
    "whitespace": whitespace,
    "all_bytes": all_bytes,
    "empty_body": empty_body,
}

# Our Received: header, as sekishod writes it (one recipient: "for <...>").
RECEIVED_RE = re.compile(
    rb"Received: from (?P<helo>\S+) \(\[(?P<ip>[^\]]+)\]\)\r\n"
    rb"\tby gw\.example\.test \(sekisho\) with (?P<proto>[A-Z0-9]+) "
    rb"id (?P<id>[0-9a-f]{12}\.\d+)"
    rb"(?:\r\n\t\(using (?P<tlsver>\S+) with cipher (?P<cipher>\S+)\))?"
    rb"(?:\r\n\tfor <(?P<rcpt>[^>]+)>)?"
    rb"; (?P<date>[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4})\r\n")


def is_8bit(msg):
    return any(b >= 0x80 for b in msg)
