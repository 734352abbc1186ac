"""Milter mode through a real Postfix: sekishod's milter behind a private
Postfix on loopback (smtpd_milters), which relays to an exact sink.
Clean mail goes on with our Authentication-Results, EICAR is refused with
our text, quarantine holds the message in our store (or Postfix's hold
queue), tags and forged-field removal are header edits, and reload and
SIGTERM work with the milter on. miltertest checks the replies stage by
stage."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

import peers
from test_policy import RULES as POLICY_RULES

HERE = Path(__file__).resolve().parent
CLAMAV_DB = peers.REPO / "test-corpus" / "clamav"
EICAR = peers.REPO / "test-corpus" / "content" / "eicar-plain.eml"
MILTERTEST = shutil.which("miltertest") or "/usr/bin/miltertest"

# test_policy's rules (refusals at each stage, tempfail, discard,
# quarantine, a tag) and the shipped antivirus rule
RULES = POLICY_RULES + r"""
rule VIRUS_FOUND
  when   av.virus
  action reject "5.7.1 Message refused: it carries a virus"
rule PTR_REFUSED
  when   client.ptr == bad.ptr.example
  action reject "5.7.1 Your host name is refused"

rule AUTH_USER_REFUSED
  when   client.auth_user == mallory
  action reject "5.7.1 This account may not send"
"""

NEW_RULE = r"""
rule NEW_AFTER_RELOAD
  when   body.text contains "NEW-RULE-TOKEN"
  action reject "5.7.1 Refused by the reloaded rules"
"""


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def message(token, subject=b"hello", body=b"", extra=b""):
    return (b"From: Sender <sender@example.net>\r\nTo: rcpt@example.test\r\n"
            b"Subject: " + subject + b"\r\nMessage-ID: <" + token.encode() +
            b"@example.net>\r\n" + extra + b"\r\n" + body + b"\r\n" +
            token.encode() + b"\r\n")


def header_section(data):
    return data.split(b"\r\n\r\n", 1)[0]


def fields(data, name):
    """Values of every field called name in the header section (unfolded)."""
    out = []
    for field in header_section(data).replace(b"\r\n\t", b" ").replace(
            b"\r\n ", b" ").split(b"\r\n"):
        if field.lower().startswith(name.lower() + b":"):
            out.append(field.split(b":", 1)[1].strip())
    return out


@pytest.fixture(scope="module")
def mta(tmp_path_factory, port_allocator):
    """A private Postfix whose smtpd asks the milter on milter_port (which
    each test's sekishod then serves) and relays example.test to a sink;
    release_port is a second smtpd without milters, for releases."""
    if os.geteuid() != 0:
        pytest.skip("the private Postfix instance needs root")
    for path in (peers.POSTFIX_MASTER, "/etc/postfix/postfix-files"):
        if not os.path.exists(path):
            pytest.skip(f"Postfix is not installed ({path} missing)")
    milter_port = port_allocator()
    release_port = port_allocator()
    sink = peers.ExactSink(port=port_allocator())
    base = tempfile.mkdtemp(prefix="sk-milter-")
    try:
        pf = peers.PostfixInstance(base, port_allocator(), sink.port,
                                   milter=f"inet:127.0.0.1:{milter_port}",
                                   release_port=release_port)
    except Exception:
        sink.close()
        shutil.rmtree(base, ignore_errors=True)
        raise
    pf.sink = sink
    pf.milter_port = milter_port
    pf.release_port = release_port
    yield pf
    pf.stop()
    sink.close()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def gateway(sekishod, mta, tmp_path):
    """gateway(**settings) -> a sekishod serving only the milter (listen
    empty) with the rules above and ClamAV's test signatures."""
    def start(**settings):
        rules = tmp_path / "rules"
        if not rules.exists():
            rules.mkdir()
            (rules / "50-test.rules").write_text(RULES)
            shutil.copytree(CLAMAV_DB, tmp_path / "clamav")
        conf = {"listen": "", "milter_listen": f"inet:{mta.milter_port}@127.0.0.1",
                "rules_dir": str(rules), "quarantine_dir": str(tmp_path / "quarantine"),
                "clamav": "libclamav", "clamav_db": str(tmp_path / "clamav"),
                "analyzers": "2",
                "next_hop": f"smtp://127.0.0.1:{mta.release_port}", **settings}
        d = sekishod(**conf)
        # the fixture's " ready" can be the analyzers' line, before the milter listens
        d.wait_log(r"sekishod \S+ ready, ")
        d.rules = rules
        d.mta = mta
        return d
    return start


def send(mta, msg, rcpts=("rcpt@example.test",), mail_from="sender@example.net"):
    """Through Postfix: the RCPT replies and the end-of-data reply."""
    with peers.SmtpClient(mta.port, timeout=60) as c:
        c.ehlo()
        assert c.cmd(f"MAIL FROM:<{mail_from}>").code == 250
        rcpt_replies = [c.cmd(f"RCPT TO:<{r}>") for r in rcpts]
        if not any(r.code == 250 for r in rcpt_replies):
            return rcpt_replies, None
        return rcpt_replies, c.data(msg, timeout=60)


def delivered(mta, token, timeout=20):
    return mta.sink.wait_messages(1, timeout=timeout,
                                  match=lambda m: token.encode() in m.data)[0]


def not_delivered(mta, token):
    return mta.sink.no_messages(settle=1.0, match=lambda m: token.encode() in m.data)


def cli(d, *args):
    return subprocess.run([peers.SEKISHO, "-c", str(d.conf_path), *args],
                          capture_output=True, timeout=120)


def milter_pid(d):
    status = cli(d, "status").stdout.decode()
    assert "milter: pid " in status, status
    return int(status.split("milter: pid ", 1)[1].split(",", 1)[0])


def test_clean_mail_goes_on_with_our_authentication_results(gateway, mta):
    d = gateway()
    token = uuid.uuid4().hex
    _, r = send(mta, message(token))
    assert r.code == 250, r
    got = delivered(mta, token)
    results = fields(got.data, b"Authentication-Results")
    assert len(results) == 1 and results[0].startswith(b"gw.example.test;"), got.data
    # ours is the topmost field, above Postfix's own Received
    assert header_section(got.data).split(b"\r\n", 1)[0].startswith(b"Authentication-Results:")
    assert not fields(got.data, b"X-Sekisho-Verdict")
    line = d.wait_log(r"milter=\S+ tx=\S+ .*result=delivered ")[0].group(0)
    assert "client=127.0.0.1" in line


def test_eicar_rejected_by_postfix_with_our_text(gateway, mta):
    gateway()
    token = uuid.uuid4().hex
    _, r = send(mta, crlf(EICAR.read_bytes()) + token.encode() + b"\r\n")
    assert r.code == 550, r
    assert "5.7.1 Message refused: it carries a virus (ref " in r.text, r
    assert not_delivered(mta, token)


def test_quarantine_holds_the_message_in_our_store_and_release_delivers(gateway, mta):
    d = gateway()
    token = uuid.uuid4().hex
    _, r = send(mta, message(token, body=b"QUARANTINE-ME"))
    # Postfix answers for the discarded message; it never leaves
    assert r.code == 250, r
    assert not_delivered(mta, token)
    d.wait_log(r"result=quarantined ")
    listing = cli(d, "quarantine", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    entries = json.loads(listing.stdout)
    assert len(entries) == 1 and entries[0]["reason"] == "held for review", entries
    assert "QUARANTINE_BODY" in entries[0]["rules"]
    stored = cli(d, "quarantine", "show", entries[0]["id"])
    assert token.encode() in stored.stdout
    # the release goes to Postfix's smtpd without milters, so it is not held again
    rel = cli(d, "quarantine", "release", entries[0]["id"])
    assert rel.returncode == 0, rel.stdout + rel.stderr
    got = delivered(mta, token)
    assert fields(got.data, b"Authentication-Results")[0].startswith(b"gw.example.test;")


def test_quarantine_into_the_mta_hold_queue(gateway, mta):
    d = gateway(milter_quarantine="hold")
    token = uuid.uuid4().hex
    hold = Path(mta.base) / "queue" / "hold"
    before = set(os.listdir(hold))
    _, r = send(mta, message(token, body=b"QUARANTINE-ME"))
    assert r.code == 250, r
    d.wait_log(r"result=held ")
    peers.wait_until(lambda: set(os.listdir(hold)) - before, timeout=10,
                     what="a message in Postfix's hold queue")
    assert not_delivered(mta, token)
    listing = cli(d, "quarantine", "list", "--json")
    assert json.loads(listing.stdout or b"[]") == []


def test_tag_adds_the_x_sekisho_fields(gateway, mta):
    gateway()
    token = uuid.uuid4().hex
    _, r = send(mta, message(token, subject=b"a lure for you"))
    assert r.code == 250, r
    got = delivered(mta, token)
    assert fields(got.data, b"X-Sekisho-Verdict") == [b"tag"]
    assert fields(got.data, b"X-Sekisho-Tag") == [b"lure in the subject"]
    assert fields(got.data, b"X-Sekisho-Rules") == [b"LURE"]


def test_refusals_at_mail_and_rcpt(gateway, mta):
    d = gateway()
    token = uuid.uuid4().hex
    with peers.SmtpClient(mta.port, timeout=60) as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<spammer@bad.example>")
        # Postfix may take MAIL and refuse at RCPT (smtpd_delay_reject)
        if r.code == 250:
            r = c.cmd("RCPT TO:<rcpt@example.test>")
        assert r.code == 550 and "5.7.1 Sender refused (ref " in r.text, r
    # the transaction ends as refused, not aborted by the MTA afterwards
    d.wait_log(r"milter=\S+ tx=\S+ .*from=spammer@bad.example .*result=refused ")
    assert not [l for l in d.log().splitlines()
                if "from=spammer@bad.example" in l and "result=aborted" in l]
    rcpts, r = send(mta, message(token), rcpts=("closed@example.test", "rcpt@example.test"))
    assert rcpts[0].code == 550 and "5.1.1 Mailbox closed (ref " in rcpts[0].text, rcpts[0]
    assert rcpts[1].code == 250 and r.code == 250, (rcpts, r)
    assert delivered(mta, token).rcpts == ["rcpt@example.test"]


def test_tempfail_and_reject_at_end_of_data(gateway, mta):
    gateway()
    token = uuid.uuid4().hex
    _, r = send(mta, message(token, body=b"TEMPFAIL-ME"))
    assert r.code == 451 and "4.7.1 Come back later (ref " in r.text, r
    _, r = send(mta, message(token, body=b"REJECT-ME-PLEASE"))
    assert r.code == 550 and "5.7.1 Content refused (ref " in r.text, r
    assert not_delivered(mta, token)


def test_forged_fields_are_removed(gateway, mta):
    gateway()
    token = uuid.uuid4().hex
    forged = (b"X-Sekisho-Verdict: accept\r\nX-Sekisho-Score: -100\r\n"
              b"Authentication-Results: other.example; spf=pass\r\n"
              b"Authentication-Results: gw.example.test;\r\n\tdkim=pass header.d=bank.example\r\n")
    _, r = send(mta, message(token, extra=forged))
    assert r.code == 250, r
    got = delivered(mta, token)
    assert not fields(got.data, b"X-Sekisho-Verdict") and not fields(got.data, b"X-Sekisho-Score")
    results = fields(got.data, b"Authentication-Results")
    assert b"other.example; spf=pass" in results
    ours = [v for v in results if v.startswith(b"gw.example.test")]
    assert len(ours) == 1 and b"bank.example" not in ours[0], results


def test_reload_by_sighup_and_cli_changes_the_milter_rules(gateway, mta):
    d = gateway()
    token = uuid.uuid4().hex
    _, r = send(mta, message(token, body=b"NEW-RULE-TOKEN"))
    assert r.code == 250, r
    (d.rules / "60-new.rules").write_text(NEW_RULE)
    d.sighup()
    d.wait_log(r"milter: reload: configuration .* loaded \(generation 2\)")
    _, r = send(mta, message(token, body=b"NEW-RULE-TOKEN"))
    assert r.code == 550 and "Refused by the reloaded rules" in r.text, r
    (d.rules / "60-new.rules").unlink()
    out = cli(d, "reload")
    assert out.returncode == 0, out.stderr
    assert b"ok: configuration reloaded" in out.stdout
    assert b"ok: milter reloaded (generation 3)" in out.stdout, out.stdout
    _, r = send(mta, message(token, body=b"NEW-RULE-TOKEN"))
    assert r.code == 250, r


def test_broken_rules_on_reload_keep_the_milter_running(gateway, mta):
    d = gateway()
    (d.rules / "60-broken.rules").write_text("rule BROKEN\n  when nonsense ==\n")
    out = cli(d, "reload")
    assert out.returncode != 0 and b"reload refused" in out.stdout + out.stderr
    token = uuid.uuid4().hex
    _, r = send(mta, message(token, body=b"REJECT-ME-PLEASE"))
    assert r.code == 550, r


def test_sigterm_stops_daemon_and_milter(gateway, mta):
    d = gateway()
    child = milter_pid(d)
    assert d.stop() == 0
    assert not os.path.exists(f"/proc/{child}"), "the milter process outlived the daemon"
    assert not peers.port_accepts(mta.milter_port)
    assert "milter: stopped" in d.log()
    # with the milter gone, Postfix fails closed (milter_default_action = tempfail)
    with peers.SmtpClient(mta.port, timeout=60) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<sender@example.net>").code == 451


def test_a_dead_milter_process_is_started_again(gateway, mta):
    d = gateway()
    child = milter_pid(d)
    os.kill(child, signal.SIGKILL)
    d.wait_log(r"milter: process \d+ started again", timeout=30)
    assert milter_pid(d) != child
    token = uuid.uuid4().hex
    _, r = send(mta, message(token))
    assert r.code == 250, r
    delivered(mta, token)


def test_a_late_answer_of_the_milter_process_is_not_taken_for_the_next(gateway, mta):
    """A request the milter process answers after its timeout (here: it was
    stopped meanwhile) must not shift the answers of the next requests."""
    d = gateway()
    child = milter_pid(d)
    os.kill(child, signal.SIGSTOP)
    try:
        stats = cli(d, "stats")
        assert stats.returncode == 0
        assert b"milter front end" not in stats.stdout
    finally:
        os.kill(child, signal.SIGCONT)
    time.sleep(0.5)
    r = cli(d, "reload")
    out = r.stdout.decode()
    assert r.returncode == 0 and "ok: milter reloaded" in out, out
    assert "sessions:" not in out, out


def test_a_signal_sent_to_the_milter_process_is_said_in_the_log(gateway, mta):
    d = gateway()
    child = milter_pid(d)
    os.kill(child, signal.SIGHUP)
    d.wait_log(r"milter: stopped by a signal sent to the milter process itself", timeout=30)
    d.wait_log(r"milter: process \d+ started again", timeout=30)
    token = uuid.uuid4().hex
    _, r = send(mta, message(token))
    assert r.code == 250, r


def test_milter_and_smtp_listener_together(gateway, mta, tmp_path):
    d = gateway(listen=f"127.0.0.1:{peers.PortAllocator()()}",
                next_hop=f"maildir:{tmp_path / 'maildir'}")
    token = uuid.uuid4().hex
    _, r = send(mta, message(token, subject=b"a lure"))
    assert r.code == 250, r
    assert fields(delivered(mta, token).data, b"X-Sekisho-Verdict") == [b"tag"]
    port = int(d.settings["listen"].rsplit(":", 1)[1])
    with peers.SmtpClient(port, timeout=60) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<sender@example.net>").code == 250
        assert c.cmd("RCPT TO:<rcpt@example.test>").code == 250
        r = c.data(message(token, body=b"REJECT-ME-PLEASE"))
        assert r.code == 550 and "5.7.1 Content refused" in r.text, r
    d.wait_log(r"session=\S+ tx=\S+ .*result=rejected ")


def test_milter_on_a_unix_socket_as_an_unprivileged_user(free_port, dns_server):
    """The socket is opened after the drop to user =, in a folder the
    daemon makes for it (0755, so the MTA's user can reach the socket).
    The daemon's folder is readable by all: after the drop the milter
    process reads the configuration as that user."""
    user = peers._unprivileged_user()
    if user is None or os.geteuid() != 0:
        pytest.skip("needs root and an unprivileged user")
    base = tempfile.mkdtemp(prefix="skm")
    os.chmod(base, 0o755)
    path = os.path.join(base, "milter", "m.sock")
    d = peers.Sekishod(Path(base) / "d", base, free_port(),
                       {"listen": "", "milter_listen": f"unix:{path}", "user": user.pw_name,
                        "dns_forward": dns_server.forward})
    os.chmod(d.dir, 0o755)
    try:
        d.start()
        d.wait_log(r"sekishod \S+ ready, ")
        assert os.stat(path).st_uid == user.pw_uid
        assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o755
        r = subprocess.run([MILTERTEST, "-s", str(HERE / "milter" / "connect_only.lua")],
                           env=dict(os.environ, MILTER_SOCKET=f"unix:{path}"),
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert d.stop() == 0
        assert not d.sanitizer_reports(), d.log()
    finally:
        if d.proc and d.proc.poll() is None:
            d.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("script", ["stages.lua", "refused_client.lua", "macros.lua",
                                    "forged_flood.lua"])
def test_miltertest_stage_by_stage(sekishod, tmp_path, free_port, script):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "50-test.rules").write_text(RULES)
    port = free_port()
    d = sekishod(listen="", milter_listen=f"inet:{port}@127.0.0.1", rules_dir=str(rules),
                 quarantine_dir=str(tmp_path / "quarantine"))
    d.wait_log(r"sekishod \S+ ready, ")
    r = subprocess.run([MILTERTEST, "-s", str(HERE / "milter" / script)],
                       env=dict(os.environ, MILTER_SOCKET=f"inet:{port}@127.0.0.1"),
                       capture_output=True, timeout=60)
    assert r.returncode == 0, (r.stdout + r.stderr).decode(errors="replace")
    assert f"{script.split('.')[0]}: ok".encode() in r.stdout


def test_milter_connections_are_bounded_by_max_sessions(sekishod, free_port):
    port = free_port()
    d = sekishod(listen="", milter_listen=f"inet:{port}@127.0.0.1", max_sessions="1")
    d.wait_log(r"sekishod \S+ ready, ")
    r = subprocess.run([MILTERTEST, "-s", str(HERE / "milter" / "max_sessions.lua")],
                       env=dict(os.environ, MILTER_SOCKET=f"inet:{port}@127.0.0.1"),
                       capture_output=True, timeout=60)
    assert r.returncode == 0, (r.stdout + r.stderr).decode(errors="replace")
    d.wait_log(r"milter=\S+ refused: 2 connections open \(max_sessions 1\)")


def test_nothing_to_serve_is_refused(sekishod):
    d = sekishod(start=False, listen="")
    r = subprocess.run([peers.SEKISHOD, "-c", str(d.conf_path), "-n"], capture_output=True,
                       timeout=20)
    assert r.returncode == 1
    assert b"listen is empty and milter_listen is not set" in r.stderr
    d.reconfigure(milter_listen="tcp:8891")
    r = subprocess.run([peers.SEKISHOD, "-c", str(d.conf_path), "-n"], capture_output=True,
                       timeout=20)
    assert r.returncode == 1 and b"milter_listen \"tcp:8891\": expected inet:" in r.stderr


MILTER_LIMIT = r"""
limit MILTER_SENDER
  key    env.from
  count  messages
  rate   2/1h
  action tempfail "4.7.0 Too much mail from this sender (milter)"
"""


def test_rate_limits_and_metrics_through_the_milter(gateway, mta, tmp_path, free_port):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "10-limit.rules").write_text(MILTER_LIMIT)
    (rules / "50-test.rules").write_text(RULES)
    shutil.copytree(CLAMAV_DB, tmp_path / "clamav")
    metrics_port = free_port()
    d = gateway(metrics_listen=f"127.0.0.1:{metrics_port}")
    codes = []
    for _ in range(3):
        with peers.SmtpClient(mta.port, timeout=60) as c:
            c.ehlo()
            mail = c.cmd("MAIL FROM:<limited@example.net>")
            codes.append(mail.code)
            if mail.code == 250:
                assert c.cmd("RCPT TO:<rcpt@example.test>").code == 250
                assert c.data(message(uuid.uuid4().hex)).code == 250
    assert codes == [250, 250, 451], codes
    d.wait_log(r"milter=\S+ tx=\S+ limit=MILTER_SENDER key=limited@example.net .*tripped")
    # The milter process's counters reach the daemon's endpoint and sekisho stats.
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as r:
        text = r.read().decode()
    assert "# TYPE sekisho_milter_messages_total counter" in text
    assert 'sekisho_milter_messages_total{result="delivered"} 2' in text
    assert 'sekisho_milter_limit_tripped_total{limit="MILTER_SENDER"} 1' in text
    stats = cli(d, "stats").stdout.decode()
    assert "milter front end (its own process):" in stats
    assert "limited@example.net" in stats.split("milter front end")[1], stats
