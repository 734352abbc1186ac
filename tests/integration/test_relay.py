"""Relaying in-line to an SMTP next hop: exact bytes, in-line refusals,
next-hop failures (never a 250 for a message the next hop did not take),
connection reuse, and the open-relay rule."""

import shlex
import smtplib
import subprocess
import time
import uuid

import pytest

import peers
from peers import split_received
from samples import RECEIVED_RE, SAMPLES, is_8bit
import samples


def hop(sink):
    return f"smtp://127.0.0.1:{sink.port}"


def token():
    return uuid.uuid4().hex


def check_one_received(m, msg, rcpt, helo="client.example.net", proto=b"ESMTP"):
    received, rest = split_received(m.data)
    assert len(received) == 1, received
    got = RECEIVED_RE.fullmatch(received[0])
    assert got, received[0]
    assert got["helo"] == helo.encode()
    assert got["ip"] == b"127.0.0.1"
    assert got["proto"] == proto
    assert got["rcpt"] == rcpt.encode()
    assert rest == msg, "message bytes changed on the way"
    return got


# --- exact bytes -------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_smtplib_delivers_exact_bytes(sekishod, exact_sink, name):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink))
    msg = SAMPLES[name](token())
    opts = ["BODY=8BITMIME"] if is_8bit(msg) else []
    with smtplib.SMTP("127.0.0.1", d.port, local_hostname="client.example.net",
                      timeout=10) as c:
        assert c.sendmail("sender@example.net", ["rcpt@example.test"], msg, opts) == {}
    [m] = sink.wait_messages(1)
    assert m.mail_from == "sender@example.net"
    assert m.rcpts == ["rcpt@example.test"]
    assert f"SIZE={len(msg)}" in m.mail_params
    if opts:
        assert "BODY=8BITMIME" in m.mail_params
    got = check_one_received(m, msg, "rcpt@example.test")
    [line] = d.tx_lines("delivered")
    assert "client=127.0.0.1" in line and "from=sender@example.net" in line
    assert f"tx={got['id'].decode()}" in line
    assert f"size={len(msg)}" in line


@pytest.mark.parametrize("name", ["utf8_8bit", "shift_jis", "dots", "long_line"])
def test_swaks_delivers_exact_bytes(sekishod, exact_sink, tmp_path, name):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink))
    msg = SAMPLES[name](token())
    # -ndf: swaks sends the file as it is, so it is stuffed and ended here.
    f = tmp_path / "message.eml"
    f.write_bytes(peers.dot_stuff(msg) + b".\r\n")
    r = subprocess.run([peers.SWAKS, "--server", f"127.0.0.1:{d.port}",
                        "--helo", "swaks.example.net", "--from", "sender@example.net",
                        "--to", "rcpt@example.test", "--data", f"@{f}", "-ndf",
                        "--timeout", "10"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stdout.decode(errors="replace")
    assert b"250 2.0.0 Ok: queued as" in r.stdout
    [m] = sink.wait_messages(1)
    check_one_received(m, msg, "rcpt@example.test", helo="swaks.example.net")


def test_several_recipients_one_copy_no_for_clause(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink))
    msg = samples.dots(token())
    rcpts = ["a@example.test", "B@Example.Test", "c@example.test"]
    with smtplib.SMTP("127.0.0.1", d.port, local_hostname="client.example.net",
                      timeout=10) as c:
        assert c.sendmail("sender@example.net", rcpts, msg) == {}
    [m] = sink.wait_messages(1)
    assert m.rcpts == rcpts
    received, rest = split_received(m.data)
    got = RECEIVED_RE.fullmatch(received[0])
    assert got and got["rcpt"] is None, "a Received header must not list several recipients"
    assert rest == msg


def test_null_sender_and_postmaster(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink))
    with d.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<>").code == 250
        assert c.cmd("RCPT TO:<postmaster>").code == 250
        assert c.data(b"Subject: bounce\r\n\r\nbody\r\n").code == 250
    [m] = sink.wait_messages(1)
    assert m.mail_from == "" and m.rcpts == ["postmaster"]


def test_bdat_without_final_crlf(sekishod, exact_sink):
    """CHUNKING: a message in three chunks, the last without CR LF, a chunk
    holding CR LF . CR LF as content. The next hop gets one message, with
    the CR LF . CR LF dot-stuffed (so it is content there too) and a final
    CR LF added."""
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink))
    chunks = [b"Subject: bdat\r\n\r\nfirst\r\n",
              b".\r\nMAIL FROM:<evil@attacker.example>\r\n.leading\r\n",
              "末尾に改行なし".encode()]
    msg = b"".join(chunks)
    with d.client() as c:
        assert "CHUNKING" in c.ehlo().lines
        assert c.cmd("MAIL FROM:<sender@example.net> BODY=8BITMIME").code == 250
        assert c.cmd("RCPT TO:<rcpt@example.test>").code == 250
        for i, ch in enumerate(chunks):
            last = " LAST" if i == len(chunks) - 1 else ""
            c.send(f"BDAT {len(ch)}{last}\r\n".encode() + ch)
            r = c.read_reply()
            if last:
                assert r.code == 250 and "queued as" in r.text, r
            else:
                assert r.code == 250 and r.text == f"2.0.0 {len(ch)} octets received", r
    [m] = sink.wait_messages(1)
    assert len(sink.messages) == 1
    received, rest = split_received(m.data)
    assert len(received) == 1
    assert rest == msg + b"\r\n"
    assert not any("evil" in cmd for cmd in sink.commands)


def test_bdat_empty_last_chunk(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink))
    msg = b"Subject: bdat0\r\n\r\nbody\r\n"
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<sender@example.net>")
        c.cmd("RCPT TO:<rcpt@example.test>")
        c.send(f"BDAT {len(msg)}\r\n".encode() + msg + b"BDAT 0 LAST\r\n")
        assert c.read_reply().code == 250
        assert c.read_reply().code == 250
    [m] = sink.wait_messages(1)
    assert split_received(m.data)[1] == msg


def test_ipv6_next_hop(sekishod, exact_sink):
    if not peers.HAVE_IPV6:
        pytest.skip("no IPv6 loopback")
    sink = exact_sink(host="::1")
    d = sekishod(next_hop=f"smtp://[::1]:{sink.port}")
    msg = samples.whitespace(token())
    with smtplib.SMTP("::1", d.port, local_hostname="client.example.net", timeout=10) as c:
        assert c.sendmail("sender@example.net", ["rcpt@example.test"], msg) == {}
    [m] = sink.wait_messages(1)
    received, rest = split_received(m.data)
    assert b"([IPv6:::1])" in received[0]
    assert rest == msg


# --- through a real Postfix next hop ------------------------------------------

def _postfix_message(tok):
    return samples.headers(b"through postfix", tok, (
        b"MIME-Version: 1.0",
        b"Content-Type: text/plain; charset=UTF-8",
        b"Content-Transfer-Encoding: 8bit")) + samples.crlf(
        b"",
        "日本語 UTF-8 本文".encode(),
        "表示ソフト".encode("shift_jis"),
        "こんにちは".encode("iso2022_jp"),
        b".",
        b".leading dot",
        b"z" * 5000,
        b"end")


@pytest.mark.postfix
@pytest.mark.parametrize("client", ["smtplib", "swaks"])
def test_through_postfix_exact_bytes(sekishod, postfix_next_hop, tmp_path, client):
    pf = postfix_next_hop
    d = sekishod(next_hop=f"smtp://127.0.0.1:{pf.port}")
    tok = token()
    msg = _postfix_message(tok)
    rcpt = f"{client}-{tok[:8]}@example.test"
    if client == "smtplib":
        with smtplib.SMTP("127.0.0.1", d.port, local_hostname="client.example.net",
                          timeout=15) as c:
            assert c.sendmail("sender@example.net", [rcpt], msg, ["BODY=8BITMIME"]) == {}
    else:
        f = tmp_path / "m.eml"
        f.write_bytes(peers.dot_stuff(msg) + b".\r\n")
        r = subprocess.run([peers.SWAKS, "--server", f"127.0.0.1:{d.port}",
                            "--helo", "client.example.net", "--from", "sender@example.net",
                            "--to", rcpt, "--data", f"@{f}", "-ndf", "--timeout", "15"],
                           capture_output=True, timeout=40)
        assert r.returncode == 0, r.stdout.decode(errors="replace")
    [m] = pf.sink.wait_messages(1, timeout=30, match=lambda m: tok.encode() in m.data)
    assert m.rcpts == [rcpt] and m.mail_from == "sender@example.net"
    received, rest = split_received(m.data)
    assert len(received) == 2, received
    assert b"by nexthop.example.test (Postfix)" in received[0]
    got = RECEIVED_RE.fullmatch(received[1])
    assert got and got["rcpt"] == rcpt.encode()
    assert rest == msg


@pytest.mark.postfix
def test_next_hop_refuses_one_recipient_inline(sekishod, postfix_next_hop):
    """Postfix refuses unknown@example.test at RCPT: the client gets that
    550 5.1.1 in-line, the other recipients are accepted and delivered."""
    pf = postfix_next_hop
    d = sekishod(next_hop=f"smtp://127.0.0.1:{pf.port}")
    tok = token()
    ok1, ok2 = f"ok1-{tok[:8]}@example.test", f"ok2-{tok[:8]}@example.test"
    with d.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<sender@example.net>").code == 250
        assert c.cmd(f"RCPT TO:<{ok1}>").code == 250
        r = c.cmd("RCPT TO:<unknown@example.test>")
        assert r.code == 550, r
        assert r.text.startswith("5.1.1 ") and "User unknown" in r.text, r
        assert c.cmd(f"RCPT TO:<{ok2}>").code == 250
        r = c.data(samples.dots(tok))
        assert r.code == 250, r
        assert c.cmd("QUIT").code == 221
    got = set()
    wait_for = lambda: got.update(r for m in pf.sink.messages if tok.encode() in m.data
                                  for r in m.rcpts) or got == {ok1, ok2}
    peers.wait_until(wait_for, timeout=30, what="both accepted recipients at the sink")
    assert "unknown@example.test" not in got
    [line] = d.tx_lines("delivered")
    assert "nrcpt=2" in line and "refused=1" in line


@pytest.mark.postfix
def test_smtputf8_through_postfix(sekishod, postfix_next_hop):
    pf = postfix_next_hop
    d = sekishod(next_hop=f"smtp://127.0.0.1:{pf.port}")
    tok = token()
    rcpt = f"ユーザー{tok[:6]}@example.test"
    msg = samples.utf8_8bit(tok)
    with d.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<差出人@example.net> SMTPUTF8 BODY=8BITMIME").code == 250
        assert c.cmd(f"RCPT TO:<{rcpt}>").code == 250
        assert c.data(msg).code == 250
    [m] = pf.sink.wait_messages(1, timeout=30, match=lambda m: tok.encode() in m.data)
    assert m.rcpts == [rcpt] and m.mail_from == "差出人@example.net"
    assert "SMTPUTF8" in m.mail_params
    received, rest = split_received(m.data)
    assert RECEIVED_RE.fullmatch(received[1])["proto"] == b"UTF8SMTP"
    assert rest == msg


# --- the next hop fails: 4xx, never 250 ----------------------------------------

def test_next_hop_down_gives_4xx_at_mail(sekishod, free_port):
    port = free_port()      # nothing listens there
    d = sekishod(next_hop=f"smtp://127.0.0.1:{port}")
    with d.client() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<sender@example.net>")
        assert r.code == 451 and r.text.startswith("4.4.2 "), r
        assert c.cmd("RCPT TO:<rcpt@example.test>").code == 503
        assert c.cmd("DATA").code == 503
        # The next hop comes back: the same session can now deliver.
        sink = peers.ExactSink(port=port)
        try:
            assert c.cmd("MAIL FROM:<sender@example.net>").code == 250
            assert c.cmd("RCPT TO:<rcpt@example.test>").code == 250
            assert c.data(b"Subject: back\r\n\r\nbody\r\n").code == 250
            assert len(sink.wait_messages(1)) == 1
        finally:
            c.cmd("QUIT")
            sink.close()
    assert d.tx_lines("refused") and d.tx_lines("delivered")


def test_next_hop_down_smtplib(sekishod, free_port):
    d = sekishod(next_hop=f"smtp://127.0.0.1:{free_port()}")
    with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as c:
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            c.sendmail("sender@example.net", ["rcpt@example.test"], b"Subject: x\r\n\r\ny\r\n")
        assert e.value.smtp_code == 451


@pytest.mark.parametrize("how", ["421_at_data", "close_mid_data", "close_after_data",
                                 "421_at_end", "452_at_end"])
def test_next_hop_failure_during_data_is_4xx(sekishod, exact_sink, how):
    sink = exact_sink()
    if how == "421_at_data":
        sink.set_once("data_reply", "421 4.3.2 sink shutting down")
    elif how == "close_mid_data":
        sink.close_mid_data = True
    elif how == "close_after_data":
        sink.close_after_data = True
    elif how == "421_at_end":
        sink.set_once("end_reply", "421 4.3.2 sink shutting down")
    else:
        sink.set_once("end_reply", "452 4.3.1 Insufficient system storage")
    d = sekishod(next_hop=hop(sink))
    msg = samples.long_line(token(), 200000)
    with d.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<sender@example.net>").code == 250
        assert c.cmd("RCPT TO:<rcpt@example.test>").code == 250
        r = c.data(msg)
        assert 400 <= r.code < 500, r
        if how == "452_at_end":
            assert r.text.startswith("4.3.1 "), r
    assert sink.no_messages()
    assert d.tx_lines("tempfail") and not d.tx_lines("delivered")


def test_next_hop_rejects_message(sekishod, exact_sink):
    sink = exact_sink()
    sink.set_once("end_reply", "554 5.7.1 Message content rejected")
    d = sekishod(next_hop=hop(sink))
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<sender@example.net>")
        c.cmd("RCPT TO:<rcpt@example.test>")
        r = c.data(b"Subject: spam\r\n\r\nspam\r\n")
        assert r.code == 554 and r.text == "5.7.1 Message content rejected", r
    assert d.tx_lines("rejected")


def test_next_hop_refuses_sender_inline(sekishod, exact_sink):
    sink = exact_sink()
    sink.set_once("mail_reply", "550 5.7.1 Sender blocked")
    d = sekishod(next_hop=hop(sink))
    with d.client() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<spammer@example.net>")
        assert r.code == 550 and r.text == "5.7.1 Sender blocked", r
        assert c.cmd("RCPT TO:<rcpt@example.test>").code == 503
        # the next transaction is fine
        assert c.cmd("MAIL FROM:<sender@example.net>").code == 250
        assert c.cmd("RCPT TO:<rcpt@example.test>").code == 250
        assert c.data(b"Subject: ok\r\n\r\nok\r\n").code == 250
    assert len(sink.wait_messages(1)) == 1


def test_next_hop_greeting_refused(sekishod, exact_sink):
    sink = exact_sink()
    sink.greeting_reply = "554 5.3.2 No service here"
    d = sekishod(next_hop=hop(sink))
    with d.client() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<sender@example.net>")
        assert r.code == 451 and r.text.startswith("4.4.2 "), r


def test_next_hop_slow_rcpt_times_out(sekishod, smtp_sink):
    """smtp-sink waits 4 s before answering RCPT; with a 1 s command
    timeout the client gets a 4xx for that RCPT, not a hang."""
    sink = smtp_sink(args=["-W", "rcpt:4"])
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", next_hop_command_timeout="1s")
    with d.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<sender@example.net>").code == 250
        r = c.cmd("RCPT TO:<rcpt@example.test>", timeout=8)
        assert r.code == 451 and r.text.startswith("4.4.2 "), r
        assert c.cmd("DATA").code == 554      # no valid recipients
    assert not sink.dumps()


def test_next_transaction_after_next_hop_421(sekishod, exact_sink):
    """The next hop said 421 and closed: the next MAIL of the same session
    must go out on a fresh connection, not fail on the dead one."""
    sink = exact_sink()
    sink.set_once("end_reply", "421 4.3.2 sink shutting down")
    d = sekishod(next_hop=hop(sink))
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<sender@example.net>")
        c.cmd("RCPT TO:<rcpt@example.test>")
        assert c.data(b"Subject: one\r\n\r\none\r\n").code == 451
        r = c.cmd("MAIL FROM:<sender@example.net>")
        assert r.code == 250, r
        assert c.cmd("RCPT TO:<rcpt@example.test>").code == 250
        assert c.data(b"Subject: two\r\n\r\ntwo\r\n").code == 250
    assert len(sink.wait_messages(1)) == 1


# --- next-hop connection reuse ---------------------------------------------------

def test_next_hop_connection_reused_and_stale_one_replaced(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink))
    for i in range(3):
        with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as c:
            assert c.sendmail("s@example.net", ["r@example.test"],
                              f"Subject: {i}\r\n\r\n{i}\r\n".encode()) == {}
    sink.wait_messages(3)
    assert sink.connections == 1, "pooled next-hop connection was not reused"
    # The next hop closes its idle connections: the pooled one is stale now.
    sink.drop_connections()
    peers.wait_until(lambda: not sink.open_socks, what="sink connections closed")
    with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as c:
        assert c.sendmail("s@example.net", ["r@example.test"], b"Subject: 4\r\n\r\n4\r\n") == {}
    sink.wait_messages(4)
    assert sink.connections == 2


def test_pool_disabled(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink), next_hop_pool_size="0")
    for i in range(2):
        with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as c:
            c.sendmail("s@example.net", ["r@example.test"], b"Subject: p\r\n\r\np\r\n")
    sink.wait_messages(2)
    assert sink.connections == 2


# --- never an open relay ----------------------------------------------------------

def test_open_relay_refused(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink), relay_domains="example.test",
                 mynetworks="192.0.2.0/24")
    with d.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<sender@example.net>").code == 250
        for rcpt in ("victim@elsewhere.example", "x@sub.example.test",
                     "x@example.test.evil.example", "x@[192.0.2.1]",
                     "\"x@example.test\"@elsewhere.example"):
            r = c.cmd(f"RCPT TO:<{rcpt}>")
            assert r.code == 554 and r.text.startswith("5.7.1 "), (rcpt, r)
            assert "Relay access denied" in r.text
        r = c.cmd("DATA")
        assert r.code == 554, r
        assert c.cmd("RCPT TO:<ok@Example.TEST>").code == 250
        assert c.data(b"Subject: ok\r\n\r\nok\r\n").code == 250
    [m] = sink.wait_messages(1)
    assert m.rcpts == ["ok@Example.TEST"]
    assert not any("elsewhere" in cmd or "evil" in cmd or "sub.example" in cmd
                   for cmd in sink.commands), sink.commands


def test_open_relay_refused_ipv6_client(sekishod, exact_sink):
    if not peers.HAVE_IPV6:
        pytest.skip("no IPv6 loopback")
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink), mynetworks="127.0.0.0/8")
    with d.client(host="::1") as c:
        c.ehlo()
        c.cmd("MAIL FROM:<sender@example.net>")
        r = c.cmd("RCPT TO:<victim@elsewhere.example>")
        assert r.code == 554 and r.text.startswith("5.7.1 "), r
    with d.client() as c:      # 127.0.0.1 is in mynetworks here
        c.ehlo()
        c.cmd("MAIL FROM:<sender@example.net>")
        assert c.cmd("RCPT TO:<victim@elsewhere.example>").code == 250


def test_subdomain_relay_domains(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink), relay_domains=".example.test other.example")
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<sender@example.net>")
        assert c.cmd("RCPT TO:<a@sub.example.test>").code == 250
        assert c.cmd("RCPT TO:<a@deep.sub.example.test>").code == 250
        assert c.cmd("RCPT TO:<a@other.example>").code == 250
        assert c.cmd("RCPT TO:<a@example.test>").code == 554
        assert c.cmd("RCPT TO:<a@x.other.example>").code == 554
        assert c.data(b"Subject: s\r\n\r\ns\r\n").code == 250
    [m] = sink.wait_messages(1)
    assert m.rcpts == ["a@sub.example.test", "a@deep.sub.example.test", "a@other.example"]


def test_trusted_network_may_relay(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink), mynetworks="127.0.0.0/8 [::1]/128")
    with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as c:
        assert c.sendmail("s@example.net", ["r@elsewhere.example"],
                          b"Subject: r\r\n\r\nr\r\n") == {}
    assert sink.wait_messages(1)[0].rcpts == ["r@elsewhere.example"]


def test_next_hop_421_at_rcpt_never_250(sekishod, exact_sink):
    """The next hop accepts one recipient, then says 421 and closes: the
    message that follows cannot be delivered and must get a 4xx."""
    sink = exact_sink()
    sink.rcpt_replies["b@example.test"] = "421 4.3.2 sink going away"
    d = sekishod(next_hop=hop(sink))
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        assert c.cmd("RCPT TO:<a@example.test>").code == 250
        r = c.cmd("RCPT TO:<b@example.test>")
        assert r.code // 100 == 4, r
        r = c.cmd("RCPT TO:<c@example.test>")
        assert r.code // 100 == 4, r
        r = c.cmd("DATA")
        if r.code == 354:
            c.send(b"Subject: x\r\n\r\nx\r\n.\r\n")
            r = c.read_reply()
        assert r.code // 100 == 4, r
    assert sink.no_messages()
    assert not d.tx_lines("delivered")


def test_client_disconnects_mid_data(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink))
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        c.cmd("RCPT TO:<r@example.test>")
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: cut\r\n\r\nhalf")
    d.wait_log(r"result=aborted reply=\"connection lost in DATA\"")
    peers.wait_until(lambda: sink.rsets == 1, what="next-hop RSET")
    assert sink.no_messages(settle=0)


def test_next_hop_data_timeout(sekishod, smtp_sink):
    """smtp-sink answers the end of data after 4 s; next_hop_data_timeout
    is 1 s: the client gets 451, never 250."""
    sink = smtp_sink(args=["-W", ".:4"])
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", next_hop_data_timeout="1s")
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        c.cmd("RCPT TO:<r@example.test>")
        t0 = time.monotonic()
        r = c.data(b"Subject: slow hop\r\n\r\nx\r\n", timeout=10)
        assert r.code == 451 and r.text.startswith("4.4.2 "), r
        assert time.monotonic() - t0 < 3.5
    assert d.tx_lines("tempfail")


@pytest.mark.parametrize("reply,client_sees", [
    ("550 No such user here", ["550 5.0.0 No such user here"]),
    ("450 Mailbox busy", ["450 4.0.0 Mailbox busy"]),
    ("550-5.1.1 The email account that you tried to reach does not exist.\r\n"
     "550 5.1.1 Please try double-checking.",
     ["550-5.1.1 The email account that you tried to reach does not exist.",
      "550 5.1.1 Please try double-checking."]),
    ("550 5.1.1 ユーザー\x1b[31m不明", ["550 5.1.1 " + "?" * 12 + "?[31m" + "?" * 6]),
], ids=["no-enhanced-5xx", "no-enhanced-4xx", "multiline", "8bit-and-escape"])
def test_next_hop_reply_relayed_cleanly(sekishod, exact_sink, reply, client_sees):
    """The next hop's refusal reaches the client in-line: multi-line kept,
    an enhanced code added when missing, nothing but printable ASCII."""
    sink = exact_sink()
    sink.rcpt_replies["x@example.test"] = reply
    d = sekishod(next_hop=hop(sink))
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        r = c.cmd("RCPT TO:<x@example.test>")
        assert r.raw.decode("ascii").split("\r\n")[:-1] == client_sees
        assert c.cmd("RCPT TO:<ok@example.test>").code == 250


def test_log_line_quotes_hostile_values(sekishod, exact_sink):
    """Envelope values with spaces, quotes and '=' cannot forge log fields."""
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink))
    sender = '"a result=delivered x=\\"y\\""@example.net'
    with d.client() as c:
        c.cmd("EHLO evil.example")
        assert c.cmd(f"MAIL FROM:<{sender}>").code == 250, sender
        assert c.cmd("RCPT TO:<r@example.test>").code == 250
        c.cmd("RSET")
    [line] = d.tx_lines()
    fields = line.split(": ", 1)[1]
    kv = dict(tok.split("=", 1) for tok in shlex.split(fields))
    assert kv["result"] == "aborted"
    assert kv["from"] == sender


def test_pooled_connection_expires_and_quits(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink), next_hop_pool_idle="1s")
    with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as c:
        c.sendmail("s@example.net", ["r@example.test"], b"Subject: 1\r\n\r\n1\r\n")
    time.sleep(1.5)
    with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as c:
        c.sendmail("s@example.net", ["r@example.test"], b"Subject: 2\r\n\r\n2\r\n")
    sink.wait_messages(2)
    assert sink.connections == 2
    peers.wait_until(lambda: "QUIT" in sink.commands, what="QUIT on the expired connection")


def test_pool_drained_with_quit_on_stop(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink))
    with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as c:
        c.sendmail("s@example.net", ["r@example.test"], b"Subject: 1\r\n\r\n1\r\n")
    sink.wait_messages(1)
    assert "QUIT" not in sink.commands
    assert d.stop() == 0
    peers.wait_until(lambda: sink.commands[-1:] == ["QUIT"], what="QUIT at shutdown")


@pytest.mark.parametrize("stage", ["MAIL", "RCPT", "DATA", "end-of-data"])
def test_next_hop_421_is_not_relayed_as_421(sekishod, exact_sink, stage):
    sink = exact_sink()
    if stage == "MAIL":
        sink.set_once("mail_reply", "421 4.3.2 sink going away")
    elif stage == "RCPT":
        sink.rcpt_replies["r@example.test"] = "421 4.3.2 sink going away"
    elif stage == "DATA":
        sink.set_once("data_reply", "421 4.3.2 sink going away")
    else:
        sink.set_once("end_reply", "421 4.3.2 sink going away")
    d = sekishod(next_hop=hop(sink))
    with d.client() as c:
        c.ehlo()
        replies = [c.cmd("MAIL FROM:<s@example.net>")]
        if replies[-1].code == 250:
            replies.append(c.cmd("RCPT TO:<r@example.test>"))
        if replies[-1].code == 250:
            replies.append(c.data(b"Subject: x\r\n\r\nx\r\n"))
        last = replies[-1]
        assert last.code // 100 == 4, replies
        if last.code == 421:
            # a 421 must be followed by the close it announces
            assert c.wait_closed(timeout=1) == b""
        else:
            assert c.cmd("NOOP").code == 250


def test_large_message_exact(sekishod, exact_sink):
    """4 MB with a 1 MB line and many dot lines: buffers grow, stuffing and
    unstuffing stay exact."""
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink), message_size_limit="8M")
    lines = [b"Subject: big", b""]
    for i in range(20000):
        lines.append(b"." * (i % 5) + b"line %d " % i + b"=" * (i % 150))
    lines.append(b"L" * (1024 * 1024))
    lines.append(b".")
    msg = b"\r\n".join(lines) + b"\r\n"
    msg += b"x" * 70 + b"\r\n"
    msg = msg + (b"y" * 98 + b"\r\n") * ((4 * 1024 * 1024 - len(msg)) // 100)
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as c:
        assert c.sendmail("s@example.net", ["r@example.test"], msg) == {}
    [m] = sink.wait_messages(1, timeout=30)
    assert split_received(m.data)[1] == msg
