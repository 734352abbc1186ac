"""The daemon around the sessions: reload (SIGHUP and `sekisho reload`),
status, pid file, and a graceful stop on SIGTERM."""

import os
import signal
import smtplib
import socket
import subprocess
import threading
import time

import pytest

import peers
from peers import split_received


def hop(sink):
    return f"smtp://127.0.0.1:{sink.port}"


def cli(d, *args, conf=None, timeout=20):
    r = subprocess.run([peers.SEKISHO, "-c", str(conf or d.conf_path), *args],
                       capture_output=True, timeout=timeout)
    peers.check_no_sanitizer_report(r.stderr)
    return r


def rcpt_until_refused(c, n):
    """RCPT n recipients; return how many got 250."""
    ok = 0
    for i in range(n):
        r = c.cmd(f"RCPT TO:<r{i}@example.test>")
        if r.code == 250:
            ok += 1
        else:
            assert r.code == 452, r
    return ok


def test_pid_file(sekishod):
    d = sekishod()
    assert (d.dir / "sekishod.pid").read_text() == f"{d.pid}\n"


def test_sighup_reload_new_sessions_only(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink), max_recipients="5")
    old = d.client()
    try:
        old.ehlo()
        assert old.cmd("MAIL FROM:<old@example.net>").code == 250
        assert rcpt_until_refused(old, 2) == 2
        d.reconfigure(max_recipients="2")
        d.sighup()
        d.wait_log(r"reload: configuration .* loaded \(generation 2\)")
        # a new session has the new limit
        with d.client() as new:
            new.ehlo()
            new.cmd("MAIL FROM:<new@example.net>")
            assert rcpt_until_refused(new, 4) == 2
            assert new.data(b"Subject: new\r\n\r\nnew\r\n").code == 250
        # the session in flight keeps the configuration it started with
        for i in range(2, 5):
            assert old.cmd(f"RCPT TO:<r{i}@example.test>").code == 250
        assert old.cmd("RCPT TO:<r5@example.test>").code == 452
        assert old.data(b"Subject: old\r\n\r\nold\r\n").code == 250
        assert old.cmd("QUIT").code == 221
    finally:
        old.close()
    msgs = sink.wait_messages(2)
    by_sender = {m.mail_from: len(m.rcpts) for m in msgs}
    assert by_sender == {"new@example.net": 2, "old@example.net": 5}


def test_sighup_broken_config_refused_old_one_kept(sekishod):
    d = sekishod(max_recipients="3")
    d.write_conf(extra_text="max_recipients_typo = 7\n")
    n_lines = d.conf_path.read_text().count("\n")
    d.sighup()
    d.wait_log(r"reload refused, the running configuration stays")
    assert f"{d.conf_path}:{n_lines}: unknown key \"max_recipients_typo\"" in d.log()
    assert d.proc.poll() is None
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        assert rcpt_until_refused(c, 4) == 3
    # fixing the file and reloading again works
    d.reconfigure(max_recipients="1")
    d.sighup()
    d.wait_log(r"reload: configuration .* loaded \(generation 2\)")
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        assert rcpt_until_refused(c, 2) == 1


def test_cli_reload_and_status(sekishod, tmp_path):
    d = sekishod(max_recipients="3")
    r = cli(d, "status")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().startswith(f"ok: pid {d.pid}, 0 sessions, configuration generation 1")
    with d.client() as c:
        r = cli(d, "status")
        assert ", 1 sessions," in r.stdout.decode()
        d.reconfigure(max_recipients="1")
        r = cli(d, "reload")
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"ok: configuration reloaded (generation 2)\n"
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        assert rcpt_until_refused(c, 4) == 3         # the old session: old limit

    # The daemon's file becomes broken. The CLI, given a valid file that names
    # the same control socket, gets the daemon's refusal ("error: ...").
    good = tmp_path / "cli.conf"
    good.write_text(d.conf_path.read_text())
    d.write_conf(extra_text="max_errors = lots\n")
    r = cli(d, "reload", conf=good)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert err.startswith("error: reload refused, the running configuration stays"), err
    assert f"{d.conf_path}:" in err and "max_errors" in err
    # The CLI on the broken file itself says so and does not reach the daemon.
    r = cli(d, "reload")
    assert r.returncode == 1 and f"{d.conf_path}:" in r.stderr.decode()
    r = cli(d, "status", conf=good)
    assert "configuration generation 2" in r.stdout.decode()
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        assert rcpt_until_refused(c, 2) == 1


def test_control_socket_raw_requests(sekishod):
    d = sekishod()
    for req, expect in ((b"status\n", b"ok: pid "), (b"hello\n", b"error: unknown request")):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(d.control_socket)
            s.sendall(req)
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        assert data.startswith(expect), data
    # only its owner may talk to the daemon
    assert os.stat(d.control_socket).st_mode & 0o077 == 0


def test_cli_without_daemon(sekishod):
    d = sekishod(start=False)
    r = cli(d, "status")
    assert r.returncode == 1
    assert b"cannot reach sekishod" in r.stderr


def test_sigterm_lets_busy_session_finish_idle_gets_421(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink), shutdown_timeout="10s")
    busy, idle = d.client(), d.client()
    try:
        idle.ehlo()
        busy.ehlo()
        assert busy.cmd("MAIL FROM:<busy@example.net>").code == 250
        assert busy.cmd("RCPT TO:<r@example.test>").code == 250
        assert busy.cmd("DATA").code == 354
        busy.send(b"Subject: in flight\r\n\r\nfirst half\r\n")
        os.kill(d.pid, signal.SIGTERM)
        d.wait_log(r"received SIGTERM")
        # the idle session is told at once
        r = idle.read_reply(timeout=5)
        assert r.code == 421 and r.text.startswith("4.3.2 ") and "shutting down" in r.text, r
        assert idle.wait_closed() == b""
        # no new sessions
        peers.wait_until(lambda: not peers.port_accepts(d.port), timeout=5,
                         what="listener closed")
        # the busy one finishes its message
        time.sleep(0.3)
        busy.send(b"second half\r\n.\r\n")
        r = busy.read_reply(timeout=10)
        assert r.code == 250, r
        # and is then let go
        rest = busy.wait_closed(timeout=10)
        assert rest == b"" or rest.startswith(b"421 4.3.2 "), rest
    finally:
        busy.close()
        idle.close()
    assert d.proc.wait(timeout=15) == 0
    [m] = sink.wait_messages(1)
    assert split_received(m.data)[1] == b"Subject: in flight\r\n\r\nfirst half\r\nsecond half\r\n"
    assert "sekishod stopped" in d.log()


def test_shutdown_timeout_cuts_stuck_session(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink), shutdown_timeout="1s")
    c = d.client()
    try:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        c.cmd("RCPT TO:<r@example.test>")
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: stuck\r\n\r\nnever ends")
        t0 = time.monotonic()
        os.kill(d.pid, signal.SIGTERM)
        c.wait_closed(timeout=10)
        assert d.proc.wait(timeout=10) == 0
        assert time.monotonic() - t0 < 5
    finally:
        c.close()
    d.wait_log(r"sessions still busy after 1s, closing them")
    assert sink.no_messages()


def test_sigterm_with_no_sessions_is_quick(sekishod):
    d = sekishod()
    t0 = time.monotonic()
    assert d.stop() == 0
    assert time.monotonic() - t0 < 3
    assert "sekishod stopped" in d.log()


def test_reload_changes_next_hop(sekishod, exact_sink):
    a, b = exact_sink(), exact_sink()
    d = sekishod(next_hop=hop(a))
    msg = b"Subject: hop\r\n\r\nx\r\n"
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        c.cmd("RCPT TO:<r@example.test>")
        assert c.data(msg).code == 250
    d.reconfigure(next_hop=hop(b))
    d.sighup()
    d.wait_log(r"generation 2")
    with d.client() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        c.cmd("RCPT TO:<r@example.test>")
        assert c.data(msg).code == 250
    assert len(a.wait_messages(1)) == 1 and len(b.wait_messages(1)) == 1
    assert len(a.messages) == 1


def test_ipv6_listener(sekishod, exact_sink):
    if not peers.HAVE_IPV6:
        pytest.skip("no IPv6 loopback")
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink))
    with d.client(host="::1") as c:
        assert c.ehlo().lines[0] == "gw.example.test Hello [::1]"
        c.cmd("MAIL FROM:<s@example.net>")
        c.cmd("RCPT TO:<r@example.test>")
        assert c.data(b"Subject: v6\r\n\r\nx\r\n").code == 250
    [m] = sink.wait_messages(1)
    assert split_received(m.data)[0][0].startswith(
        b"Received: from client.example.net ([IPv6:::1])")
    assert " client=::1 " in d.tx_lines("delivered")[0]


def test_many_concurrent_sessions(sekishod, exact_sink):
    """20 clients at once, each with its own message: all delivered once,
    each with its own envelope (no mix-up between session threads)."""
    sink = exact_sink()
    d = sekishod(next_hop=hop(sink), max_sessions_per_ip="50")
    errors = []

    def one(i):
        try:
            with d.client() as c:
                c.ehlo(f"c{i}.example.net")
                assert c.cmd(f"MAIL FROM:<s{i}@example.net>").code == 250
                assert c.cmd(f"RCPT TO:<r{i}@example.test>").code == 250
                assert c.data(f"Subject: {i}\r\n\r\nbody {i}\r\n".encode()).code == 250
                assert c.cmd("QUIT").code == 221
        except Exception as e:      # reported below
            errors.append((i, e))
    threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    msgs = sink.wait_messages(20)
    for m in msgs:
        i = m.mail_from[1:].split("@")[0]
        assert m.rcpts == [f"r{i}@example.test"]
        assert split_received(m.data)[1] == f"Subject: {i}\r\n\r\nbody {i}\r\n".encode()
        assert f"from c{i}.example.net ".encode() in m.data


def test_reloads_under_load(sekishod, exact_sink):
    """Reload 30 times while clients deliver, alternating between two next
    hops: every message is delivered exactly once, to one of them, and the
    daemon (under ASan in CI) reports nothing at exit."""
    a, b = exact_sink(), exact_sink()
    d = sekishod(next_hop=hop(a), max_sessions_per_ip="50")
    errors = []

    def client(n):
        try:
            for i in range(6):
                with smtplib.SMTP("127.0.0.1", d.port, timeout=15) as c:
                    c.sendmail(f"s{n}@example.net", [f"r{n}-{i}@example.test"],
                               f"Subject: {n}-{i}\r\n\r\nx\r\n".encode())
        except Exception as e:
            errors.append(e)
    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for gen in range(30):
        d.reconfigure(next_hop=hop(b if gen % 2 == 0 else a),
                      max_recipients=str(5 + gen % 3))
        d.sighup()
        time.sleep(0.02)
    for t in threads:
        t.join(60)
    assert not errors, errors
    got = sorted(r for s in (a, b) for m in s.messages for r in m.rcpts)
    assert got == sorted(f"r{n}-{i}@example.test" for n in range(4) for i in range(6))
    # (signals may coalesce: count the reloads, then make one more and wait)
    loaded = r"reload: configuration .* loaded \(generation \d+\)"
    n = len(d.wait_log(loaded))
    d.reconfigure(next_hop=hop(b))
    d.sighup()
    d.wait_log(loaded, count=n + 1)
    # a reload that read the file before it changed may be the one that
    # logged last: wait until the reloads settle (ours comes after it)
    seen = 0
    while seen != len(d.wait_log(loaded, count=n + 1)):
        seen = len(d.wait_log(loaded, count=n + 1))
        time.sleep(1.0)
    before = len(b.messages)
    with smtplib.SMTP("127.0.0.1", d.port, timeout=15) as c:
        c.sendmail("s@example.net", ["last@example.test"], b"Subject: last\r\n\r\nx\r\n")
    assert b.wait_messages(before + 1)[-1].rcpts == ["last@example.test"]


def test_reload_listen_change_needs_restart(sekishod, free_port):
    d = sekishod()
    other = free_port()
    d.reconfigure(listen=f"127.0.0.1:{other}", max_recipients="1")
    d.sighup()
    d.wait_log(r"reload: listen changed; it takes effect on restart")
    d.wait_log(r"generation 2")
    assert not peers.port_accepts(other)
    with d.client() as c:           # still on the old address, new limits
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.net>")
        assert rcpt_until_refused(c, 2) == 1
