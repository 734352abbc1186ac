"""LMTP next hop (RFC 2033): lmtp://host:port and lmtp:unix:/path.
Postfix's smtp-sink -L is the plain LMTP server; the ExactSink in LMTP mode
gives per-recipient replies after the end of data."""

import os

import pytest

from peers import split_received


def send(d, rcpts, msg=b"Subject: lmtp\r\n\r\nbody\r\n"):
    with d.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@example.net>").code == 250
        for r in rcpts:
            assert c.cmd(f"RCPT TO:<{r}>").code == 250
        return c.data(msg)


def test_lmtp_tcp_smtp_sink(sekishod, smtp_sink):
    sink = smtp_sink(lmtp=True)
    d = sekishod(next_hop=f"lmtp://127.0.0.1:{sink.port}")
    r = send(d, ["a@example.test", "b@example.test"])
    assert r.code == 250, r
    [dump] = sink.dumps()
    assert dump["X-Client-Proto"] == "LMTP"
    assert dump["X-Helo-Args"] == "gw.example.test"
    assert dump["rcpts"] == ["<a@example.test>", "<b@example.test>"]
    assert dump["message"].endswith(b"Subject: lmtp\r\n\r\nbody\r\n")


def test_lmtp_unix_socket_smtp_sink(sekishod, smtp_sink, sockdir):
    path = os.path.join(sockdir, "lmtp.sock")
    sink = smtp_sink(lmtp=True, unix_path=path)
    d = sekishod(next_hop=f"lmtp:unix:{path}")
    for i in range(2):
        assert send(d, [f"u{i}@example.test"]).code == 250
    dumps = sink.dumps()
    assert len(dumps) == 2
    assert sorted(x["rcpts"][0] for x in dumps) == ["<u0@example.test>", "<u1@example.test>"]


def test_lmtp_exact_bytes(sekishod, exact_sink, sockdir):
    path = os.path.join(sockdir, "exact.sock")
    sink = exact_sink(unix_path=path)
    d = sekishod(next_hop=f"lmtp:unix:{path}")
    msg = "Subject: exact\r\n\r\n.dot\r\n日本語\r\n".encode()
    assert send(d, ["a@example.test"], msg).code == 250
    [m] = sink.wait_messages(1)
    assert m.proto == "LMTP" and m.rcpts == ["a@example.test"]
    received, rest = split_received(m.data)
    assert len(received) == 1 and rest == msg


@pytest.mark.parametrize("replies,expect", [
    ({}, 250),
    ({"b@example.test": "452 4.2.2 Mailbox full"}, 452),
    ({"b@example.test": "550 5.1.1 No such user"}, 550),
    ({"a@example.test": "550 5.1.1 No such user",
      "b@example.test": "451 4.3.0 Try later"}, 451),
    ({"a@example.test": "554 5.7.1 Refused", "b@example.test": "550 5.1.1 No"}, 554),
], ids=["all-ok", "one-temp", "one-perm", "perm-and-temp", "all-perm"])
def test_lmtp_per_recipient_replies(sekishod, exact_sink, replies, expect):
    """LMTP answers each recipient; SMTP gives the client one reply. Any
    temporary failure makes it a 4xx (the sender retries, a duplicate is
    better than a loss); otherwise any failure a 5xx; all good: 250."""
    sink = exact_sink()
    sink.lmtp_replies.update(replies)
    d = sekishod(next_hop=f"lmtp://127.0.0.1:{sink.port}")
    r = send(d, ["a@example.test", "b@example.test"])
    assert r.code == expect, r
    if expect != 250:
        want = [v for v in replies.values() if v.startswith(str(expect))][0]
        assert f"{r.code} {r.text}" == want
    assert [c for c in sink.commands if c.startswith("LHLO")], sink.commands
    result = {2: "delivered", 4: "tempfail", 5: "rejected"}[expect // 100]
    assert d.tx_lines(result)


def test_lmtp_next_hop_down(sekishod, sockdir):
    d = sekishod(next_hop=f"lmtp:unix:{os.path.join(sockdir, 'nobody.sock')}")
    with d.client() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<s@example.net>")
        assert r.code == 451 and r.text.startswith("4.4.2 "), r


def test_lmtp_recipient_refused_at_rcpt(sekishod, exact_sink):
    """A recipient the LMTP server refuses at RCPT is refused in-line; the
    end of data then carries one reply per accepted recipient only."""
    sink = exact_sink()
    sink.rcpt_replies["gone@example.test"] = "550 5.1.1 Gone"
    d = sekishod(next_hop=f"lmtp://127.0.0.1:{sink.port}")
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        assert c.cmd("RCPT TO:<a@example.test>").code == 250
        r = c.cmd("RCPT TO:<gone@example.test>")
        assert r.code == 550 and r.text == "5.1.1 Gone", r
        assert c.cmd("RCPT TO:<b@example.test>").code == 250
        assert c.data(b"Subject: l\r\n\r\nx\r\n").code == 250
        # the connection is in step: another transaction works
        c.cmd("MAIL FROM:<s@example.net>")
        assert c.cmd("RCPT TO:<a@example.test>").code == 250
        assert c.data(b"Subject: 2\r\n\r\ny\r\n").code == 250
    msgs = sink.wait_messages(2)
    assert [m.rcpts for m in msgs] == [["a@example.test", "b@example.test"], ["a@example.test"]]
