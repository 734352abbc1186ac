"""STARTTLS towards clients (RFC 3207): TLS 1.2 or newer only, the
plaintext pipelined after STARTTLS is thrown away, state is reset."""

import smtplib
import ssl
import subprocess
import warnings

import pytest

import peers
from peers import split_received
from samples import RECEIVED_RE


@pytest.fixture
def tls_daemon(sekishod, exact_sink, tls_cert):
    cert, key = tls_cert
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", tls_cert_file=str(cert),
                 tls_key_file=str(key))
    d.sink = sink
    d.cert = cert
    return d


def client_context(cert):
    ctx = ssl.create_default_context(cafile=str(cert))
    return ctx


def s_client(d, stdin, *extra, timeout=20):
    cmd = [peers.OPENSSL, "s_client", "-starttls", "smtp", "-connect", f"127.0.0.1:{d.port}",
           "-crlf", "-ign_eof", "-nocommands", *extra]
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)


def test_starttls_announced_only_before_tls(tls_daemon):
    d = tls_daemon
    with d.client() as c:
        assert "STARTTLS" in c.ehlo().lines
        assert c.cmd("STARTTLS now").code == 501
        assert c.cmd("STARTTLS").code == 220
        c.starttls(client_context(d.cert), server_hostname="gw.example.test")
        # RFC 3207 4.2: the EHLO state is forgotten
        assert c.cmd("MAIL FROM:<s@example.net>").code == 503
        r = c.ehlo()
        assert "STARTTLS" not in r.lines
        assert c.cmd("STARTTLS").code == 502


def test_openssl_s_client_starttls_delivers(tls_daemon):
    d = tls_daemon
    msg = b"Subject: via s_client\n\nover TLS\n.\n"
    stdin = (b"EHLO sclient.example.net\nMAIL FROM:<s@example.net>\n"
             b"RCPT TO:<r@example.test>\nDATA\n" + msg + b"quit\n")
    r = s_client(d, stdin, "-CAfile", str(d.cert), "-verify_hostname", "gw.example.test",
                 "-verify_return_error")
    out = r.stdout.decode(errors="replace")
    # (s_client's exit status is not checked: it is 1 because sekishod
    # closes without close_notify, see test_close_notify_after_quit.)
    assert "Verify return code: 0 (ok)" in out, out + r.stderr.decode(errors="replace")
    assert "250 2.0.0 Ok: queued as" in out
    assert "221 2.0.0 Bye" in out
    [m] = d.sink.wait_messages(1)
    received, rest = split_received(m.data)
    got = RECEIVED_RE.fullmatch(received[0])
    assert got["proto"] == b"ESMTPS"
    assert got["tlsver"] in (b"TLSv1.2", b"TLSv1.3")
    assert rest == b"Subject: via s_client\r\n\r\nover TLS\r\n"
    d.wait_log(r"session=\w+ client=127\.0\.0\.1 tls=TLSv1\.[23] cipher=")
    assert "tls=TLSv1." in d.tx_lines("delivered")[0]


def test_smtplib_starttls_verified_delivers(tls_daemon):
    d = tls_daemon
    ctx = client_context(d.cert)       # verifies the chain and the IP SAN
    with smtplib.SMTP("127.0.0.1", d.port, local_hostname="client.example.net",
                      timeout=10) as c:
        c.ehlo()
        assert c.has_extn("starttls")
        code, _ = c.starttls(context=ctx)
        assert code == 220
        assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
        assert c.sendmail("s@example.net", ["r@example.test"],
                          "Subject: tls\r\n\r\n日本語\r\n".encode()) == {}
    [m] = d.sink.wait_messages(1)
    received, rest = split_received(m.data)
    got = RECEIVED_RE.fullmatch(received[0])
    assert got["proto"] == b"ESMTPS" and got["cipher"]
    assert rest == "Subject: tls\r\n\r\n日本語\r\n".encode()


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_tls12_and_tls13_accepted(tls_daemon, version):
    d = tls_daemon
    ctx = client_context(d.cert)
    v = getattr(ssl.TLSVersion, version)
    ctx.minimum_version = ctx.maximum_version = v
    with d.client() as c:
        c.ehlo()
        assert c.cmd("STARTTLS").code == 220
        s = c.starttls(ctx, server_hostname="gw.example.test")
        assert s.version() == version.replace("_", ".")
        assert c.ehlo().code == 250


def test_tls11_refused_python(tls_daemon):
    d = tls_daemon
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("DEFAULT@SECLEVEL=0")
    with d.client() as c:
        c.ehlo()
        assert c.cmd("STARTTLS").code == 220
        with pytest.raises(ssl.SSLError) as e:
            c.starttls(ctx)
        # The server answered our TLS 1.1 hello with a protocol_version alert.
        assert "PROTOCOL_VERSION" in str(e.value).upper().replace(" ", "_"), e.value
    d.wait_log(r"TLS handshake failed")
    # and the daemon is fine afterwards
    with d.client() as c:
        assert c.ehlo().code == 250


def test_tls11_refused_s_client(tls_daemon):
    d = tls_daemon
    r = s_client(d, b"quit\n", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    out = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode != 0
    assert "alert protocol version" in out, out
    assert "Cipher is (NONE)" in out


def test_plaintext_after_starttls_is_discarded(tls_daemon):
    """CVE-2011-0411 style injection: commands sent in the clear in the same
    packet as STARTTLS must not be executed after the handshake."""
    d = tls_daemon
    with d.client() as c:
        c.ehlo()
        c.send(b"STARTTLS\r\nRSET\r\nHELP\r\nMAIL FROM:<evil@attacker.example>\r\n"
               b"RCPT TO:<victim@example.test>\r\n")
        r = c.read_reply()
        assert r.code == 220, r
        assert c.buf == b"", "replies to the injected commands came before TLS"
        c.starttls(client_context(d.cert), server_hostname="gw.example.test")
        r = c.cmd("EHLO client.example.net")
        # The first reply over TLS is the one to our EHLO, not to RSET/HELP/MAIL.
        assert r.code == 250 and r.lines[0].startswith("gw.example.test Hello"), r
        assert c.no_reply_within(0.5), c.buf
        # no transaction was opened by the injected MAIL
        assert c.cmd("RCPT TO:<victim@example.test>").code == 503
        assert c.cmd("MAIL FROM:<s@example.net>").code == 250
    assert d.sink.no_messages()
    assert "evil@attacker.example" not in d.log()
    assert not any("evil" in cmd for cmd in d.sink.commands)


def test_close_notify_after_quit(tls_daemon):
    d = tls_daemon
    ctx = client_context(d.cert)
    if hasattr(ssl, "OP_IGNORE_UNEXPECTED_EOF"):
        ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF
    with d.client() as c:
        c.ehlo()
        assert c.cmd("STARTTLS").code == 220
        c.sock.settimeout(10)
        tls = ctx.wrap_socket(c.sock, server_hostname="gw.example.test",
                              suppress_ragged_eofs=False)
        tls.sendall(b"QUIT\r\n")
        assert tls.recv(1000).startswith(b"221 ")
        # a TLS close (close_notify) reads as b""; a bare TCP close raises
        assert tls.recv(1000) == b""
        tls.close()


def test_starttls_garbage_handshake(tls_daemon):
    d = tls_daemon
    with d.client() as c:
        c.ehlo()
        assert c.cmd("STARTTLS").code == 220
        c.send(b"EHLO this is not a TLS ClientHello\r\n" * 4)
        c.wait_closed(timeout=10)
    d.wait_log(r"TLS handshake failed")
    with d.client() as c:
        assert c.ehlo().code == 250


def test_starttls_not_offered_without_cert(sekishod):
    d = sekishod()
    with d.client() as c:
        assert "STARTTLS" not in c.ehlo().lines
        assert c.cmd("STARTTLS").code == 502


def test_bad_cert_refused_at_start(sekishod, tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot a cert\n-----END CERTIFICATE-----\n")
    d = sekishod(start=False, tls_cert_file=str(bad), tls_key_file=str(bad))
    r = subprocess.run([peers.SEKISHOD, "-c", str(d.conf_path), "-n"], capture_output=True,
                       timeout=10)
    peers.check_no_sanitizer_report(r.stderr)
    assert r.returncode == 1
    assert b"cannot load certificate" in r.stderr


def test_starttls_ends_the_transaction(tls_daemon):
    d = tls_daemon
    with d.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@example.net>").code == 250
        assert c.cmd("RCPT TO:<r@example.test>").code == 250
        assert c.cmd("STARTTLS").code == 220
        c.starttls(client_context(d.cert), server_hostname="gw.example.test")
        c.ehlo()
        assert c.cmd("RCPT TO:<r@example.test>").code == 503
        assert c.cmd("DATA").code == 503
    assert d.sink.no_messages()
    peers.wait_until(lambda: d.sink.rsets == 1, what="next-hop RSET")


# --- TLS towards the next hop (next_hop_tls, next_hop_tls_ca_file) -------------

def tls_sink(exact_sink, cert):
    sink = exact_sink()
    sink.tls_context = peers.tls_server_context(*cert)
    return sink


def relay_one(d):
    with d.client() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<s@example.net>")
        if r.code != 250:
            return r
        assert c.cmd("RCPT TO:<r@example.test>").code == 250
        return c.data(b"Subject: hop tls\r\n\r\nx\r\n")


def test_next_hop_tls_required_and_verified(sekishod, exact_sink, tls_cert):
    sink = tls_sink(exact_sink, tls_cert)
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", next_hop_tls="required",
                 next_hop_tls_ca_file=str(tls_cert[0]))
    assert relay_one(d).code == 250
    [m] = sink.wait_messages(1)
    assert m.tls in ("TLSv1.2", "TLSv1.3")
    # EHLO again after STARTTLS (RFC 3207 4.2)
    assert [c.split()[0] for c in sink.commands[:3]] == ["EHLO", "STARTTLS", "EHLO"]


def test_next_hop_tls_may_uses_tls_when_offered(sekishod, exact_sink, tls_cert):
    sink = tls_sink(exact_sink, tls_cert)
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", next_hop_tls="may")
    assert relay_one(d).code == 250
    assert sink.wait_messages(1)[0].tls


def test_next_hop_tls_may_falls_back_to_plain(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", next_hop_tls="may")
    assert relay_one(d).code == 250
    assert sink.wait_messages(1)[0].tls is None


def test_next_hop_tls_required_but_not_offered(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", next_hop_tls="required")
    r = relay_one(d)
    assert r.code == 451 and r.text.startswith("4.4.2 "), r
    assert not any(c.startswith("MAIL") for c in sink.commands)
    assert sink.no_messages(settle=0)


def test_next_hop_tls_wrong_certificate(sekishod, exact_sink, tls_cert, other_tls_cert):
    """The next hop's certificate is not signed by next_hop_tls_ca_file:
    no mail goes over that connection."""
    sink = tls_sink(exact_sink, other_tls_cert)
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", next_hop_tls="required",
                 next_hop_tls_ca_file=str(tls_cert[0]))
    r = relay_one(d)
    assert r.code == 451 and r.text.startswith("4.4.2 "), r
    assert not any(c.startswith("MAIL") for c in sink.commands)
    assert sink.no_messages(settle=0)


def test_next_hop_tls_name_mismatch(sekishod, exact_sink, tls_cert):
    """Trusted certificate, but for gw.example.test, and the next hop is
    named localhost: the host name check refuses it."""
    sink = tls_sink(exact_sink, tls_cert)
    d = sekishod(next_hop=f"smtp://localhost:{sink.port}", next_hop_tls="required",
                 next_hop_tls_ca_file=str(tls_cert[0]))
    r = relay_one(d)
    assert r.code == 451 and r.text.startswith("4.4.2 "), r
    assert sink.no_messages(settle=0)


def test_large_message_tls_both_ways(sekishod, exact_sink, tls_cert):
    """2 MB over STARTTLS from the client and over STARTTLS to the next hop."""
    cert, key = tls_cert
    sink = tls_sink(exact_sink, tls_cert)
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", next_hop_tls="required",
                 next_hop_tls_ca_file=str(cert), tls_cert_file=str(cert),
                 tls_key_file=str(key))
    msg = b"Subject: big tls\r\n\r\n" + b"".join(
        b"%07d " % i + bytes(range(0x21, 0x7f)) * 2 + b"\r\n" for i in range(10000))
    msg += b"." * 300000 + b"\r\n"
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as c:
        c.starttls(context=client_context(cert))
        assert c.sendmail("s@example.net", ["r@example.test"], msg) == {}
    [m] = sink.wait_messages(1, timeout=30)
    assert m.tls
    received, rest = split_received(m.data)
    assert RECEIVED_RE.fullmatch(received[0])["proto"] == b"ESMTPS"
    assert rest == msg
