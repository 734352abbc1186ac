"""The SMTP dialogue itself (RFC 5321, 2920, 1870, 3030, 6531)."""

import smtplib

import pytest

import peers
from peers import split_received
from samples import RECEIVED_RE


def hop(sink):
    return f"smtp://127.0.0.1:{sink.port}"


def test_greeting_and_ehlo_keywords(sekishod):
    d = sekishod(message_size_limit="10M")
    with d.client() as c:
        assert c.greeting.code == 220
        assert c.greeting.text == "gw.example.test ESMTP sekisho"
        r = c.ehlo("client.example.net")
        assert r.lines[0] == "gw.example.test Hello [127.0.0.1]"
        kw = r.lines[1:]
        for k in ("PIPELINING", f"SIZE {10 * 1024 * 1024}", "8BITMIME", "SMTPUTF8",
                  "ENHANCEDSTATUSCODES", "CHUNKING"):
            assert k in kw, (k, kw)
        assert "STARTTLS" not in kw     # no certificate configured
        assert c.cmd("QUIT").code == 221
        c.wait_closed()


def test_chunking_off(sekishod):
    d = sekishod(chunking="no")
    with d.client() as c:
        assert "CHUNKING" not in c.ehlo().lines
        c.cmd("MAIL FROM:<s@example.net>")
        c.cmd("RCPT TO:<r@example.test>")
        assert c.cmd("BDAT 3 LAST").code == 502


def test_pipelining_mail_rcpt_rcpt_data_in_one_write(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink))
    with d.client() as c:
        assert "PIPELINING" in c.ehlo().lines
        c.send(b"MAIL FROM:<s@example.net>\r\nRCPT TO:<a@example.test>\r\n"
               b"RCPT TO:<b@example.test>\r\nDATA\r\n")
        codes = [r.code for r in c.read_replies(4)]
        assert codes == [250, 250, 250, 354]
        c.send(b"Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        r = c.read_reply()
        assert r.code == 250 and "queued as" in r.text
        assert c.read_reply().code == 221
        c.wait_closed()
    [m] = sink.wait_messages(1)
    assert m.rcpts == ["a@example.test", "b@example.test"]
    assert split_received(m.data)[1] == b"Subject: pipelined\r\n\r\nbody\r\n"


def test_pipelining_whole_session_in_one_write(sekishod, exact_sink):
    """A client that does not wait at all (even for 354): every reply still
    comes, in order, and both messages are delivered once."""
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink))
    with d.client() as c:
        c.send(b"EHLO client.example.net\r\n"
               b"MAIL FROM:<s@example.net>\r\nRCPT TO:<a@example.test>\r\n"
               b"RCPT TO:<victim@elsewhere.example>\r\nDATA\r\n"
               b"Subject: 1\r\n\r\none\r\n.\r\n"
               b"RSET\r\nMAIL FROM:<s@example.net>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n"
               b"Subject: 2\r\n\r\ntwo\r\n.\r\nQUIT\r\n")
        codes = [r.code for r in c.read_replies(12)]
        assert codes == [250, 250, 250, 554, 354, 250, 250, 250, 250, 354, 250, 221]
        c.wait_closed()
    msgs = sink.wait_messages(2)
    assert [m.rcpts for m in msgs] == [["a@example.test"], ["b@example.test"]]


def test_command_sequencing(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink), max_errors="50")
    with d.client() as c:
        assert c.cmd("MAIL FROM:<s@example.net>").code == 503     # before EHLO
        assert c.cmd("RCPT TO:<r@example.test>").code == 503
        assert c.cmd("DATA").code == 503
        c.ehlo()
        assert c.cmd("RCPT TO:<r@example.test>").code == 503     # before MAIL
        assert c.cmd("MAIL FROM:<s@example.net>").code == 250
        assert c.cmd("MAIL FROM:<s@example.net>").code == 503     # nested
        assert c.cmd("DATA").code == 554                          # no recipient yet
        assert c.cmd("RCPT TO:<r@example.test>").code == 250
        assert c.cmd("DATA extra").code == 501
        assert c.cmd("FOO bar").code == 500
        assert c.cmd("NOOP").code == 250
        assert c.cmd("VRFY someone").code == 252
        assert c.cmd("EXPN list").code == 502
        assert c.cmd("HELP").code == 214
        assert c.cmd("RSET").code == 250
        assert c.cmd("RCPT TO:<r@example.test>").code == 503     # RSET ended the tx
        assert c.cmd("EHLO").code == 501
        assert c.cmd("HELO").code == 501
        assert c.cmd("RSET now").code == 501
        assert c.cmd("QUIT").code == 221
        c.wait_closed()
    assert sink.no_messages()


@pytest.mark.parametrize("line,reply", [
    ("MAIL FROM:s@example.net", "501 5.5.4 "),
    ("MAIL FROM:<s@example.net", "501 5.5.4 "),
    ("MAIL TO:<s@example.net>", "501 5.5.4 "),
    ("MAIL FROM:<s@example.net> FOO=bar", "555 5.5.4 "),
    ("MAIL FROM:<s@example.net> SIZE=12 SIZE=12", "555 5.5.4 "),
    ("MAIL FROM:<s@example.net> SIZE=abc", "501 5.5.4 "),
    ("MAIL FROM:<s@example.net> BODY=9BIT", "501 5.5.4 "),
    ("MAIL FROM:<sé@example.net>", "553 5.6.7 "),
    ("MAIL FROM:<s@@example.net>", "501 5.1.7 "),
    ("MAIL FROM:<" + "a" * 65 + "@example.net>", "501 5.1.7 "),
])
def test_bad_mail_from(sekishod, line, reply):
    d = sekishod()
    with d.client() as c:
        c.ehlo()
        r = c.cmd(line)
        assert f"{r.code} {r.text}".startswith(reply), r
        assert c.cmd("MAIL FROM:<s@example.net>").code == 250


@pytest.mark.parametrize("line,reply", [
    ("RCPT TO:r@example.test", "501 5.5.4 "),
    ("RCPT TO:<r@example.test> NOTIFY=NEVER", "555 5.5.4 "),
    ("RCPT TO:<>", "501 5.1.3 "),
    ("RCPT TO:<r@example..test>", "501 5.1.3 "),
])
def test_bad_rcpt_to(sekishod, line, reply):
    d = sekishod()
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        r = c.cmd(line)
        assert f"{r.code} {r.text}".startswith(reply), r
        assert c.cmd("RCPT TO:<r@example.test>").code == 250


def test_rset_aborts_the_next_hop_transaction(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink))
    with d.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<first@example.net>").code == 250
        assert c.cmd("RCPT TO:<first@example.test>").code == 250
        assert c.cmd("RSET").code == 250
        assert c.cmd("MAIL FROM:<second@example.net>").code == 250
        assert c.cmd("RCPT TO:<second@example.test>").code == 250
        assert c.data(b"Subject: second\r\n\r\nx\r\n").code == 250
    [m] = sink.wait_messages(1)
    assert m.mail_from == "second@example.net" and m.rcpts == ["second@example.test"]
    assert sink.rsets >= 1


def test_helo_gives_smtp_protocol(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink))
    with d.client() as c:
        assert c.cmd("HELO old.example.net").code == 250
        # SMTPUTF8 is an ESMTP extension: not after HELO
        assert c.cmd("MAIL FROM:<s@example.net> SMTPUTF8").code // 100 == 5
        assert c.cmd("MAIL FROM:<s@example.net>").code == 250
        assert c.cmd("RCPT TO:<r@example.test>").code == 250
        assert c.data(b"Subject: helo\r\n\r\nx\r\n").code == 250
    [m] = sink.wait_messages(1)
    received, _ = split_received(m.data)
    got = RECEIVED_RE.fullmatch(received[0])
    assert got["proto"] == b"SMTP" and got["helo"] == b"old.example.net"


def test_received_header_sanitises_helo(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink))
    with d.client() as c:
        assert c.cmd("EHLO (evil)\\name").code == 250
        c.cmd("MAIL FROM:<s@example.net>")
        c.cmd("RCPT TO:<r@example.test>")
        assert c.data(b"Subject: h\r\n\r\nx\r\n").code == 250
    [m] = sink.wait_messages(1)
    received, _ = split_received(m.data)
    assert received[0].startswith(b"Received: from ?evil??name ([127.0.0.1])\r\n")


def test_smtputf8_delivered_with_utf8smtp(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink))
    msg = "Subject: テスト\r\n\r\n本文\r\n".encode()
    with d.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<送信者@example.net> SMTPUTF8").code == 250
        assert c.cmd("RCPT TO:<受信者@example.test>").code == 250
        assert c.data(msg).code == 250
        # Without SMTPUTF8 on MAIL, a UTF-8 address is refused.
        assert c.cmd("MAIL FROM:<s@example.net>").code == 250
        assert c.cmd("RCPT TO:<受信者@example.test>").code // 100 == 5
    [m] = sink.wait_messages(1)
    assert m.mail_from == "送信者@example.net" and m.rcpts == ["受信者@example.test"]
    assert "SMTPUTF8" in m.mail_params
    received, rest = split_received(m.data)
    assert RECEIVED_RE.fullmatch(received[0])["proto"] == b"UTF8SMTP"
    assert rest == msg


def test_smtputf8_refused_when_next_hop_lacks_it(sekishod, smtp_sink):
    """smtp-sink does not announce SMTPUTF8: the client must be told at MAIL
    (553 5.6.7), not get a 250 for mail that cannot go on."""
    sink = smtp_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}")
    with d.client() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<送信者@example.net> SMTPUTF8")
        assert r.code == 553 and r.text.startswith("5.6.7 "), r
        assert c.cmd("MAIL FROM:<s@example.net>").code == 250
        assert c.cmd("RCPT TO:<r@example.test>").code == 250
        assert c.data(b"Subject: x\r\n\r\ny\r\n").code == 250
    peers_dumps = sink.dumps()
    assert len(peers_dumps) == 1 and peers_dumps[0]["X-Mail-Args"] == "<s@example.net>"


def test_bdat_protocol_errors(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink), max_errors="50")
    with d.client() as c:
        c.ehlo()
        # BDAT without a transaction: the chunk is read and refused.
        c.send(b"BDAT 5 LAST\r\nhello")
        assert c.read_reply().code == 503
        c.cmd("MAIL FROM:<s@example.net>")
        c.cmd("RCPT TO:<r@example.test>")
        c.send(b"BDAT 7\r\nabc\r\n\r\n")
        assert c.read_reply().code == 250
        assert c.cmd("DATA").code == 503        # DATA after BDAT
        c.send(b"BDAT 3 LAST\r\nxyz")
        assert c.read_reply().code == 250
        assert c.cmd("BDAT x").code == 501      # chunk size unknown: closing
        c.wait_closed()
    [m] = sink.wait_messages(1)
    assert split_received(m.data)[1] == b"abc\r\n\r\nxyz\r\n"


def test_smtplib_send_message_and_quit(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink))
    with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as c:
        c.ehlo("client.example.net")
        assert c.has_extn("pipelining") and c.has_extn("size")
        for i in range(3):
            assert c.sendmail("s@example.net", [f"r{i}@example.test"],
                              f"Subject: {i}\r\n\r\n{i}\r\n".encode()) == {}
    assert [m.rcpts for m in sink.wait_messages(3)] == [[f"r{i}@example.test"]
                                                         for i in range(3)]
    assert len(d.tx_lines("delivered")) == 3


@pytest.mark.parametrize("mode", ["DATA", "BDAT"])
def test_empty_message(sekishod, exact_sink, mode):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink))
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        c.cmd("RCPT TO:<r@example.test>")
        if mode == "DATA":
            assert c.cmd("DATA").code == 354
            c.send(b".\r\n")
        else:
            c.send(b"BDAT 0 LAST\r\n")
        assert c.read_reply().code == 250
    [m] = sink.wait_messages(1)
    received, rest = split_received(m.data)
    assert len(received) == 1 and rest == b""


def test_ehlo_mid_transaction_resets_it(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink))
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        assert c.cmd("RCPT TO:<r@example.test>").code == 250
        c.ehlo("again.example.net")
        assert c.cmd("DATA").code == 503
        assert c.cmd("MAIL FROM:<s2@example.net>").code == 250
    peers.wait_until(lambda: sink.rsets >= 1, what="next-hop RSET")
    assert sink.no_messages(settle=0)
