"""Limits: recipients, errors, line length, sessions, timeouts, SIZE."""

import smtplib
import time

import pytest

import peers
from peers import SmtpClient, split_received


def hop(sink):
    return f"smtp://127.0.0.1:{sink.port}"


def test_max_recipients(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink), max_recipients="3")
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        for i in range(3):
            assert c.cmd(f"RCPT TO:<r{i}@example.test>").code == 250
        r = c.cmd("RCPT TO:<r3@example.test>")
        assert r.code == 452 and r.text.startswith("4.5.3 "), r
        assert c.data(b"Subject: many\r\n\r\nx\r\n").code == 250
    [m] = sink.wait_messages(1)
    assert m.rcpts == ["r0@example.test", "r1@example.test", "r2@example.test"]
    assert not any("r3@" in cmd for cmd in sink.commands)


def test_max_errors(sekishod):
    d = sekishod(max_errors="3")
    with d.client() as c:
        c.ehlo()
        assert c.cmd("BOGUS1").code == 500
        assert c.cmd("BOGUS2").code == 500
        c.send(b"BOGUS3\r\n")
        assert c.read_reply().code == 500
        r = c.read_reply()
        assert r.code == 421 and r.text.startswith("4.7.0 ") and "too many errors" in r.text, r
        assert c.wait_closed() == b""


def test_max_errors_counts_refused_recipients(sekishod):
    d = sekishod(max_errors="2", mynetworks="192.0.2.0/24")
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        assert c.cmd("RCPT TO:<a@elsewhere.example>").code == 554
        c.send(b"RCPT TO:<b@elsewhere.example>\r\n")
        assert c.read_reply().code == 554
        assert c.read_reply().code == 421
        c.wait_closed()


def test_max_line_length(sekishod):
    d = sekishod(max_line_length="512")
    with d.client() as c:
        c.ehlo()
        exact = b"NOOP " + b"x" * (512 - 7) + b"\r\n"
        assert len(exact) == 512
        c.send(exact)
        assert c.read_reply().code == 250
        c.send(b"NOOP " + b"x" * 2000 + b"\r\n")
        r = c.read_reply()
        assert r.code == 500 and r.text.startswith("5.5.2 ") and "too long" in r.text, r
        # the rest of the long line was skipped, the session goes on
        assert c.cmd("NOOP").code == 250
        assert c.no_reply_within(0.2)
        # an overlong RCPT is refused, not truncated into something valid
        c.cmd("MAIL FROM:<s@example.net>")
        c.send(b"RCPT TO:<" + b"a" * 600 + b"@example.test>\r\n")
        assert c.read_reply().code == 500
        assert c.cmd("QUIT").code == 221


def test_max_sessions_per_ip(sekishod):
    d = sekishod(max_sessions_per_ip="2")
    a, b = d.client(), d.client()
    try:
        c = SmtpClient(d.port, read_greeting=False)
        got = c.wait_closed(timeout=10)
        assert got.startswith(b"421 4.7.0 ") and b"Too many connections from your address" in got
        c.close()
        if peers.HAVE_IPV6:
            with d.client(host="::1") as v6:    # another address: its own count
                assert v6.greeting.code == 220
        a.cmd("QUIT")
        a.wait_closed()
        a.close()

        def admitted():
            with SmtpClient(d.port, read_greeting=False) as c:
                return c.read_line().startswith(b"220")
        peers.wait_until(admitted, timeout=5, what="a free session slot")
    finally:
        a.close()
        b.close()
    d.wait_log(r"client=127\.0\.0\.1 refused: 421 4\.7\.0")


def test_max_sessions(sekishod):
    if not peers.HAVE_IPV6:
        pytest.skip("needs a second loopback address family")
    d = sekishod(max_sessions="2", max_sessions_per_ip="10")
    a = d.client()
    b = d.client(host="::1")
    try:
        c = SmtpClient(d.port, read_greeting=False)
        got = c.wait_closed(timeout=10)
        assert got.startswith(b"421 4.3.2 "), got
        c.close()
    finally:
        a.close()
        b.close()


def test_smtpd_timeout_idle_client(sekishod):
    d = sekishod(smtpd_timeout="2s")
    with d.client() as c:
        c.ehlo()
        t0 = time.monotonic()
        r = c.read_reply(timeout=10)
        elapsed = time.monotonic() - t0
        assert r.code == 421 and r.text.startswith("4.4.2 ") and "timeout" in r.text, r
        assert 1.5 <= elapsed <= 6, elapsed
        assert c.wait_closed() == b""


def test_smtpd_data_timeout(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink), smtpd_data_timeout="1s")
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        c.cmd("RCPT TO:<r@example.test>")
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: slow\r\n\r\nhalf a mess")
        r = c.read_reply(timeout=10)
        assert r.code == 421 and r.text.startswith("4.4.2 "), r
        c.wait_closed()
    assert sink.no_messages()
    peers.wait_until(lambda: sink.rsets == 1 or len(sink.open_socks) == 0,
                     what="next-hop transaction aborted")
    d.wait_log(r"result=aborted reply=\"timeout in DATA\"")


# --- SIZE --------------------------------------------------------------------------

LIMIT = 10240       # message_size_limit = 10K


def test_size_announced_and_declared_size_refused(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink), message_size_limit="10K")
    with d.client() as c:
        assert f"SIZE {LIMIT}" in c.ehlo().lines
        r = c.cmd(f"MAIL FROM:<s@example.net> SIZE={LIMIT + 1}")
        assert r.code == 552 and r.text.startswith("5.3.4 "), r
        assert c.cmd(f"MAIL FROM:<s@example.net> SIZE={LIMIT}").code == 250
        c.cmd("RSET")
        r = c.cmd("MAIL FROM:<s@example.net> SIZE=99999999999999999999999")
        assert r.code // 100 == 5, r
    assert [cmd for cmd in sink.commands if cmd.startswith("MAIL")] == [
        f"MAIL FROM:<s@example.net> SIZE={LIMIT}"]


@pytest.mark.parametrize("mode", ["DATA", "BDAT"])
def test_size_boundary(sekishod, exact_sink, mode):
    """A message of exactly message_size_limit bytes passes, one byte more
    gets 552 5.3.4 and nothing is delivered; the session goes on."""
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink), message_size_limit="10K")
    head = b"Subject: size\r\n\r\n"

    def message(size):
        body = b"".join(b"y" * 78 + b"\r\n" for _ in range(size // 80 + 1))
        m = head + body
        m = m[:size - 2] + b"\r\n"
        assert len(m) == size
        return m

    def send(c, msg):
        c.cmd("MAIL FROM:<s@example.net>")
        c.cmd("RCPT TO:<r@example.test>")
        if mode == "DATA":
            return c.data(msg)
        half = len(msg) // 2
        c.send(f"BDAT {half}\r\n".encode() + msg[:half])
        first = c.read_reply()
        c.send(f"BDAT {len(msg) - half} LAST\r\n".encode() + msg[half:])
        last = c.read_reply()
        return last if first.code == 250 else first

    with d.client() as c:
        c.ehlo()
        exact = message(LIMIT)
        assert send(c, exact).code == 250
        r = send(c, message(LIMIT + 1))
        assert r.code == 552 and r.text.startswith("5.3.4 "), r
        if mode == "BDAT":
            # the refused message is over only after its LAST chunk
            c.cmd("RSET")
        assert c.cmd("NOOP").code == 250
    [m] = sink.wait_messages(1)
    assert split_received(m.data)[1] == exact
    assert sink.no_messages(match=lambda m: len(split_received(m.data)[1]) > LIMIT)
    assert d.tx_lines("rejected")


def test_size_over_limit_smtplib(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink), message_size_limit="10K")
    big = b"Subject: big\r\n\r\n" + (b"z" * 998 + b"\r\n") * 20
    with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as c:
        # smtplib declares SIZE=: refused at MAIL
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            c.sendmail("s@example.net", ["r@example.test"], big)
        assert e.value.smtp_code == 552
    with d.client() as c:
        # not declared: refused after the data, and nothing goes on
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        c.cmd("RCPT TO:<r@example.test>")
        r = c.data(big)
        assert r.code == 552 and r.text.startswith("5.3.4 "), r
    assert sink.no_messages()
    assert sink.rsets == 1
