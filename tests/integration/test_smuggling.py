"""SMTP smuggling: an end-of-data that the next hop might read differently
from sekishod must never let a second message through. sekishod refuses
any bare CR or LF, in DATA and in commands, and closes the connection.

The next hop here is Postfix's smtp-sink (counting delivered messages is
all that matters) or the ExactSink (to see every command it received)."""

import time
import uuid

import pytest

from peers import split_received

FAKE_ENDS = [b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\r", b"\n.\r",
             b"\r.\r", b"\r\n.\r\r\n", b"\r\r\n.\r\r\n", b"\r\n\r.\r\n"]
IDS = [e.decode().replace("\r", "CR").replace("\n", "LF") for e in FAKE_ENDS]

SMUGGLED = (b"MAIL FROM:<evil@attacker.example>\r\n"
            b"RCPT TO:<victim@example.test>\r\n"
            b"DATA\r\n"
            b"Subject: smuggled\r\n\r\nevil\r\n")


def smuggling_payload(fake_end):
    return (b"Subject: first\r\n\r\nhello" + fake_end + SMUGGLED +
            b".\r\n" +            # the real end, had the fake one been taken
            b"QUIT\r\n")


def open_transaction(c, sender="s@example.net"):
    c.ehlo()
    assert c.cmd(f"MAIL FROM:<{sender}>").code == 250
    assert c.cmd("RCPT TO:<r@example.test>").code == 250
    assert c.cmd("DATA").code == 354


@pytest.mark.parametrize("fake_end", FAKE_ENDS, ids=IDS)
def test_data_smuggling_refused_smtp_sink(sekishod, smtp_sink, fake_end):
    sink = smtp_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}")
    with d.client() as c:
        open_transaction(c)
        c.send(smuggling_payload(fake_end))
        r = c.read_reply()
        assert r.code == 554 and r.text.startswith("5.5.2 Bare CR or LF"), r
        rest = c.wait_closed()
        assert rest == b"", f"replies after the refusal: {rest!r}"
    time.sleep(0.2)
    assert sink.dumps() == [], "a message reached the next hop"
    assert d.tx_lines("rejected")
    assert not d.tx_lines("delivered")


@pytest.mark.parametrize("fake_end", FAKE_ENDS[:4], ids=IDS[:4])
def test_data_smuggling_refused_byte_by_byte(sekishod, exact_sink, fake_end):
    """The same, with the stream arriving one byte per segment: the
    end-of-data recogniser keeps its state across reads."""
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}")
    with d.client() as c:
        open_transaction(c)
        payload = smuggling_payload(fake_end)
        try:
            for i in range(len(payload)):
                c.send(payload[i:i + 1])
                if i % 8 == 0:
                    time.sleep(0.001)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = c.read_reply()
        assert r.code == 554, r
        c.wait_closed()
    assert sink.no_messages()
    assert not any("evil" in cmd or "victim" in cmd for cmd in sink.commands), sink.commands
    assert sink.rsets == 1, "the next-hop transaction was not aborted"


def test_real_end_split_across_reads(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}")
    with d.client() as c:
        open_transaction(c)
        for part in (b"Subject: split\r\n\r\nbody\r", b"\n", b".", b"x\r\n", b"\r", b"\n.",
                     b"\r", b"\n"):
            c.send(part)
            time.sleep(0.02)
        r = c.read_reply()
        assert r.code == 250, r
    [m] = sink.wait_messages(1)
    assert split_received(m.data)[1] == b"Subject: split\r\n\r\nbody\r\nx\r\n\r\n"


@pytest.mark.postfix
@pytest.mark.parametrize("fake_end", [b"\n.\n", b"\r\n.\n"], ids=["LF.LF", "CRLF.LF"])
def test_data_smuggling_refused_postfix(sekishod, postfix_next_hop, fake_end):
    pf = postfix_next_hop
    d = sekishod(next_hop=f"smtp://127.0.0.1:{pf.port}")
    tok = uuid.uuid4().hex
    with d.client() as c:
        open_transaction(c, sender=f"{tok}@example.net")
        c.send(smuggling_payload(fake_end))
        assert c.read_reply().code == 554
        c.wait_closed()
    # Give Postfix the time it needs to relay what it might have taken.
    with d.client() as c:
        c.ehlo()
        c.cmd(f"MAIL FROM:<{tok}-ok@example.net>")
        c.cmd("RCPT TO:<after@example.test>")
        assert c.data(b"Subject: after\r\n\r\nafter\r\n").code == 250
    pf.sink.wait_messages(1, timeout=30, match=lambda m: m.mail_from == f"{tok}-ok@example.net")
    assert not [m for m in pf.sink.messages
                if m.mail_from in (f"{tok}@example.net", "evil@attacker.example")]


@pytest.mark.parametrize("line", [
    b"MAIL FROM:<s@example.net>\n",
    b"MAIL FROM:<s@example.net>\r\r\n",
    b"NOOP\rMAIL FROM:<s@example.net>\r\n",
    b"MAIL FROM:<s@example.net>\nRCPT TO:<r@example.test>\r\n",
    b"EHLO client.example.net\n",
], ids=["LF", "CRCRLF", "CR-inside", "LF-then-pipelined", "EHLO-LF"])
def test_bare_eol_in_command_closes(sekishod, exact_sink, line):
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}")
    with d.client() as c:
        if not line.startswith(b"EHLO"):
            c.ehlo()
        c.send(line + b"NOOP\r\n")
        r = c.read_reply()
        assert r.code == 500 and r.text == "5.5.2 Bare CR or LF in command; closing connection", r
        assert c.wait_closed() == b""
    assert not any(cmd.startswith("MAIL") for cmd in sink.commands)


def test_bdat_bare_lf_refused(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}")
    body = b"Subject: b\r\n\r\nline\n.\nMAIL FROM:<evil@attacker.example>\r\n"
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        c.cmd("RCPT TO:<r@example.test>")
        c.send(f"BDAT {len(body)} LAST\r\n".encode() + body)
        r = c.read_reply()
        assert r.code == 550 and r.text.startswith("5.6.0 "), r
        # the session goes on, cleanly
        assert c.cmd("RCPT TO:<r@example.test>").code == 503
        assert c.cmd("NOOP").code == 250
    assert sink.no_messages()
    assert sink.rsets == 1


def test_bdat_crlf_split_between_chunks(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}")
    chunks = [b"Subject: c\r\n\r\nabc\r", b"\ndef\r\n"]
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        c.cmd("RCPT TO:<r@example.test>")
        c.send(f"BDAT {len(chunks[0])}\r\n".encode() + chunks[0])
        assert c.read_reply().code == 250
        c.send(f"BDAT {len(chunks[1])} LAST\r\n".encode() + chunks[1])
        assert c.read_reply().code == 250
    [m] = sink.wait_messages(1)
    assert split_received(m.data)[1] == b"".join(chunks)


def test_bdat_trailing_bare_cr_refused(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}")
    body = b"Subject: c\r\n\r\nends with CR\r"
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        c.cmd("RCPT TO:<r@example.test>")
        c.send(f"BDAT {len(body)} LAST\r\n".encode() + body)
        assert c.read_reply().code == 550
    assert sink.no_messages()
