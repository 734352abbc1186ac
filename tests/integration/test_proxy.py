"""PROXY protocol v1/v2 (haproxy's proxy-protocol.txt): accepted only from
proxy_protocol_from, and then required; it sets the client address that
logs, Received: and the relay rules see."""

import ipaddress
import struct

import pytest

from peers import SmtpClient, split_received
from samples import RECEIVED_RE

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(src="203.0.113.7", dst="192.0.2.25", sport=40000, dport=25, proto="TCP4"):
    return f"PROXY {proto} {src} {dst} {sport} {dport}\r\n".encode()


def v2(src="203.0.113.7", dst="192.0.2.25", sport=40000, dport=25, command=0x1, tlvs=b""):
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if s.version == 4:
        fam = 0x11
        addrs = s.packed + d.packed + struct.pack("!HH", sport, dport)
    else:
        fam = 0x21
        addrs = s.packed + d.packed + struct.pack("!HH", sport, dport)
    if command == 0x0:
        fam, addrs = 0x00, b""
    body = addrs + tlvs
    return V2_SIG + bytes([0x20 | command, fam]) + struct.pack("!H", len(body)) + body


def proxied_client(d, header, host="127.0.0.1"):
    c = SmtpClient(d.port, host=host, read_greeting=False)
    c.send(header)
    c.greeting = c.read_reply()
    return c


def deliver(c, rcpt="r@example.test"):
    r = c.ehlo("client.example.net")
    assert c.cmd("MAIL FROM:<s@example.net>").code == 250
    assert c.cmd(f"RCPT TO:<{rcpt}>").code == 250
    assert c.data(b"Subject: proxied\r\n\r\nbody\r\n").code == 250
    return r


@pytest.fixture
def proxy_daemon(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}",
                 proxy_protocol_from="127.0.0.1/32", mynetworks="127.0.0.0/8")
    d.sink = sink
    return d


def test_proxy_v1_sets_client_address(proxy_daemon):
    d = proxy_daemon
    with proxied_client(d, v1()) as c:
        assert c.greeting.code == 220
        r = deliver(c)
        assert r.lines[0] == "gw.example.test Hello [203.0.113.7]"
    [m] = d.sink.wait_messages(1)
    received, _ = split_received(m.data)
    assert RECEIVED_RE.fullmatch(received[0])["ip"] == b"203.0.113.7"
    d.wait_log(r"session=\w+ connect client=203\.0\.113\.7 proxied=yes")
    [line] = d.tx_lines("delivered")
    assert " client=203.0.113.7 proxied=yes " in line


def test_proxy_v2_ipv4_with_tlv_and_pipelined_ehlo(proxy_daemon):
    d = proxy_daemon
    tlv = bytes([0x04]) + struct.pack("!H", 3) + b"abc"        # PP2_TYPE_NOOP
    c = SmtpClient(d.port, read_greeting=False)
    with c:
        # the header and the first command in one segment
        c.send(v2(src="198.51.100.23", tlvs=tlv) + b"EHLO client.example.net\r\n")
        assert c.read_reply().code == 220
        r = c.read_reply()
        assert r.lines[0] == "gw.example.test Hello [198.51.100.23]"
        assert c.cmd("MAIL FROM:<s@example.net>").code == 250
        assert c.cmd("RCPT TO:<r@example.test>").code == 250
        assert c.data(b"Subject: v2\r\n\r\nbody\r\n").code == 250
    [m] = d.sink.wait_messages(1)
    assert b"([198.51.100.23])" in split_received(m.data)[0][0]
    assert " client=198.51.100.23 proxied=yes " in d.tx_lines("delivered")[0]


def test_proxy_v2_ipv6(proxy_daemon):
    d = proxy_daemon
    with proxied_client(d, v2(src="2001:db8::7", dst="2001:db8::25")) as c:
        deliver(c)
    [m] = d.sink.wait_messages(1)
    received, _ = split_received(m.data)
    assert received[0].startswith(b"Received: from client.example.net ([IPv6:2001:db8::7])")
    assert " client=2001:db8::7 proxied=yes " in d.tx_lines("delivered")[0]


@pytest.mark.parametrize("header", [v2(command=0x0), b"PROXY UNKNOWN\r\n",
                                    b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"],
                         ids=["v2-LOCAL", "v1-UNKNOWN", "v1-UNKNOWN-addresses"])
def test_proxy_local_keeps_socket_address(proxy_daemon, header):
    d = proxy_daemon
    with proxied_client(d, header) as c:
        r = deliver(c)
        assert r.lines[0] == "gw.example.test Hello [127.0.0.1]"
    line = d.tx_lines("delivered")[0]
    assert " client=127.0.0.1 " in line and "proxied" not in line


def test_proxied_client_is_not_trusted_for_relay(proxy_daemon):
    """The TCP peer (127.0.0.1) is in mynetworks, the real client is not:
    the real client is what counts."""
    d = proxy_daemon
    with proxied_client(d, v1(src="203.0.113.9")) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@example.net>").code == 250
        r = c.cmd("RCPT TO:<victim@elsewhere.example>")
        assert r.code == 554 and r.text.startswith("5.7.1 "), r
    with proxied_client(d, v1(src="127.0.0.5")) as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        assert c.cmd("RCPT TO:<ok@elsewhere.example>").code == 250


@pytest.mark.parametrize("header", [
    b"EHLO client.example.net\r\n",
    b"PROXY TCP4 203.0.113.7 192.0.2.25 40000\r\n",
    b"PROXY TCP4 203.0.113.999 192.0.2.25 40000 25\r\n",
    b"PROXY TCP6 203.0.113.7 192.0.2.25 40000 25\r\n",
    b"PROXY TCP4 203.0.113.7 192.0.2.25 40000 25\n",
    V2_SIG + b"\x21\x11\x00\x05abcde",
    V2_SIG + b"\x31\x11\x00\x0c" + b"\x00" * 12,
], ids=["no-header", "v1-short", "v1-bad-ip", "v1-family", "v1-bare-lf", "v2-short",
        "v2-version"])
def test_trusted_source_without_valid_header_is_closed(proxy_daemon, header):
    d = proxy_daemon
    c = SmtpClient(d.port, read_greeting=False)
    with c:
        c.send(header)
        got = c.wait_closed(timeout=10)
        assert not got.startswith(b"220"), "greeted without a valid PROXY header"
    d.wait_log(r"bad PROXY header")
    assert d.sink.no_messages(settle=0)


def test_proxy_header_timeout(sekishod):
    d = sekishod(proxy_protocol_from="127.0.0.1/32", smtpd_timeout="1s")
    c = SmtpClient(d.port, read_greeting=False)
    with c:
        c.send(b"PROXY TCP4 203.0.113.7 ")       # and then nothing
        assert c.wait_closed(timeout=6) == b""
    d.wait_log(r"bad PROXY header: no header before timeout")


@pytest.mark.parametrize("header", [v1(), v2()], ids=["v1", "v2"])
def test_proxy_header_from_untrusted_source_refused(sekishod, exact_sink, header):
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", proxy_protocol_from="192.0.2.0/24")
    with d.client() as c:             # greeted: it is an ordinary client here
        assert c.greeting.code == 220
        c.send(header + b"EHLO client.example.net\r\n")
        r = c.read_reply()
        if header.startswith(b"PROXY"):
            assert r.code == 554 and r.text.startswith("5.7.0 "), r
            assert r.text.endswith("closing connection"), r
            assert c.wait_closed() == b""
        else:
            # the v2 signature is CR LF CR LF NUL CR LF "QUIT" LF: empty and
            # unknown commands, then a bare LF that ends the session
            rest = c.wait_closed()
            assert r.code == 500, r
            assert rest.endswith(b"500 5.5.2 Bare CR or LF in command; closing connection\r\n")
            assert b"220" not in rest and b"250" not in rest
    assert "203.0.113.7" not in d.log().replace("PROXY TCP4 203.0.113.7", "")
    assert not any(" client=203.0.113.7" in l for l in d.log().splitlines())


def test_per_ip_limit_applies_to_real_client_behind_proxy(sekishod):
    """Behind a balancer, max_sessions_per_ip counts each real client (from
    its PROXY header), not the balancer's own address."""
    d = sekishod(proxy_protocol_from="127.0.0.1/32", max_sessions_per_ip="2",
                 max_sessions="50")
    clients = []
    try:
        for i in range(4):      # four real clients: all admitted
            c = proxied_client(d, v1(src=f"203.0.113.{10 + i}"))
            clients.append(c)
            assert c.greeting.code == 220, (i, c.greeting)
        clients.append(proxied_client(d, v1(src="203.0.113.10", sport=40001)))
        assert clients[-1].greeting.code == 220
        # a third session of the same real client is one too many
        c = SmtpClient(d.port, read_greeting=False)
        clients.append(c)
        c.send(v1(src="203.0.113.10", sport=40002))
        got = c.wait_closed(timeout=10)
        assert got.startswith(b"421 4.7.0 "), got
    finally:
        for c in clients:
            c.close()
    d.wait_log(r"client=203\.0\.113\.10 refused: too many connections")
