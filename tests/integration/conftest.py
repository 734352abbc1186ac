"""
Fixtures for the sekishod integration tests.

Run with Debian's interpreter and pytest:
    /usr/bin/python3 -m pytest tests/integration
SEKISHOD / SEKISHO select the binaries (default: ./sekishod, ./sekisho in the
repository), so the same suite runs against a sanitizer build. Every peer is
on loopback and is started and stopped (by PID) by the test that uses it.
"""

import os
import signal
import tempfile
import shutil

import socket

import pytest

import authzone
import dnspeer
import peers


def pytest_configure(config):
    config.addinivalue_line("markers", "postfix: needs the private Postfix instance (root)")


@pytest.fixture(autouse=True)
def _test_deadline():
    """No test may hang: SIGALRM fails it after SEKISHO_TEST_TIMEOUT seconds."""
    limit = int(os.environ.get("SEKISHO_TEST_TIMEOUT", "90"))

    def expired(signum, frame):
        raise TimeoutError(f"test did not finish within {limit}s")
    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(limit)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="session")
def port_allocator():
    return peers.PortAllocator()


@pytest.fixture
def free_port(port_allocator):
    """free_port() -> a TCP port free on 127.0.0.1 (and ::1)."""
    return port_allocator


@pytest.fixture
def sockdir():
    """A short folder for unix sockets (sun_path is limited to 108 bytes)."""
    d = tempfile.mkdtemp(prefix="sk")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory):
    """(cert.pem, key.pem) for CN/SAN gw.example.test and IP 127.0.0.1."""
    return peers.make_tls_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def other_tls_cert(tmp_path_factory):
    """A second, unrelated self-signed certificate (another "CA")."""
    return peers.make_tls_cert(tmp_path_factory.mktemp("tls-other"), name="other.example.test")


@pytest.fixture
def exact_sink(free_port):
    """exact_sink(**kw) -> a started ExactSink (SMTP, or LMTP with lmtp
    greeting handled by the client's LHLO); closed at teardown."""
    sinks = []

    def factory(unix_path=None, **kw):
        s = peers.ExactSink(port=None if unix_path else free_port(), unix_path=unix_path, **kw)
        sinks.append(s)
        return s
    yield factory
    for s in sinks:
        s.close()


@pytest.fixture
def smtp_sink(tmp_path, free_port):
    """smtp_sink(args=(), lmtp=False, unix_path=None) -> a started Postfix
    smtp-sink dumping to a folder; stopped by PID at teardown."""
    sinks = []

    def factory(args=(), lmtp=False, unix_path=None):
        d = tmp_path / f"smtp-sink{len(sinks)}"
        s = peers.SmtpSink(d, port=None if unix_path else free_port(), unix_path=unix_path,
                           args=args, lmtp=lmtp)
        sinks.append(s)
        return s
    yield factory
    for s in sinks:
        s.stop()


@pytest.fixture(scope="session")
def dkim_keys(tmp_path_factory):
    """{"rsa"|"ed"|"weak": (private key, TXT value)}, made for this session."""
    return authzone.make_keys(str(tmp_path_factory.mktemp("dkim-keys")))


@pytest.fixture(scope="session")
def dns_server(port_allocator, dkim_keys, tmp_path_factory):
    """The private unbound with the test zones (authzone.py), for the whole
    session; every sekishod asks it (dns_forward)."""
    # a UDP socket that never answers: the slow zone's "server"
    blackhole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blackhole.bind(("127.0.0.1", 0))
    folder = str(tmp_path_factory.mktemp("dnssec"))
    zone, ds = authzone.make_signed_zone(folder)
    server = dnspeer.DnsServer(port_allocator(), authzone.records(dkim_keys),
                               blackhole.getsockname()[1],
                               signed_zone=(authzone.SIGNED_ZONE, zone))
    server.trust_anchor = ds
    yield server
    server.stop()
    blackhole.close()


@pytest.fixture
def sekishod(tmp_path, free_port, sockdir, dns_server):
    """sekishod(start=True, **settings) -> a running Sekishod.

    settings override the test defaults (see peers.Sekishod, and the DNS
    server of dns_server); a value of None removes the key. At teardown
    each daemon gets SIGTERM and must exit with status 0, and its log must
    hold no sanitizer report."""
    daemons = []

    def factory(start=True, **overrides):
        overrides = {"dns_forward": dns_server.forward, "dns_timeout": "2s", **overrides}
        n = len(daemons)
        sub = os.path.join(sockdir, str(n)) if n else sockdir
        os.makedirs(sub, exist_ok=True)
        d = peers.Sekishod(tmp_path / f"sekishod{n}", sub, free_port(), overrides)
        daemons.append(d)
        if start:
            d.start()
        return d
    yield factory
    problems = []
    for d in daemons:
        if d.proc is None:
            continue
        status = d.stop()
        reports = d.sanitizer_reports()
        if reports:
            problems.append(f"sanitizer report ({', '.join(reports)}) in {d.log_path}:\n"
                            + d.log()[-6000:])
        elif not d.killed and status != d.expect_exit_status:
            problems.append(f"sekishod exited with status {status} after SIGTERM:\n"
                            + d.log()[-3000:])
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def postfix_next_hop(tmp_path_factory, port_allocator):
    """A private Postfix on loopback that relays example.test to an
    ExactSink; refuses unknown@example.test with 550 5.1.1. Shared by the
    session: tests find their messages by a unique token."""
    if os.geteuid() != 0:
        pytest.skip("the private Postfix instance needs root")
    for path in (peers.POSTFIX_MASTER, "/etc/postfix/postfix-files"):
        if not os.path.exists(path):
            pytest.skip(f"Postfix is not installed ({path} missing)")
    sink = peers.ExactSink(port=port_allocator())
    base = tempfile.mkdtemp(prefix="sk-postfix-")
    try:
        pf = peers.PostfixInstance(base, port_allocator(), sink.port)
    except Exception:
        sink.close()
        shutil.rmtree(base, ignore_errors=True)
        raise
    pf.sink = sink
    yield pf
    pf.stop()
    sink.close()
    shutil.rmtree(base, ignore_errors=True)
