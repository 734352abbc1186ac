"""The policy core through the running daemon: rules decide at connect,
MAIL, RCPT and end of data; tag, quarantine and release, discard, tempfail;
reload keeps the running rules when the new ones are broken."""
import json
import socket
import subprocess
import threading
import time

import pytest

import peers
from peers import split_received

RULES = r"""
list blocked_senders = spammer@bad.example

rule REJECT_CLIENT
  when   client.ip in 127.0.0.99/32
  action reject "5.7.1 Your address is blocked"

rule REJECT_SENDER
  when   env.from in @blocked_senders
  action reject "5.7.1 Sender refused"

rule REJECT_RCPT
  when   env.rcpt == closed@example.test
  action reject "5.1.1 Mailbox closed"

rule REJECT_BODY
  when   body.text contains "REJECT-ME-PLEASE"
  action reject "5.7.1 Content refused"

rule JAPANESE_INVOICE
  when   header.subject =~ /請求書/
  action reject "5.7.1 Invoice lure refused"

rule TEMPFAIL_BODY
  when   body.text contains "TEMPFAIL-ME"
  action tempfail "4.7.1 Come back later"

rule DISCARD_BODY
  when   body.text contains "DISCARD-ME"
  action discard

rule QUARANTINE_BODY
  when   body.text contains "QUARANTINE-ME"
  action quarantine "held for review"

rule LURE
  when   header.subject contains "lure"
  score  4
  action tag "lure in the subject"
"""


def message(subject, body, extra=b""):
    return (b"From: Sender <sender@example.net>\r\nTo: rcpt@example.test\r\n"
            b"Subject: " + subject + b"\r\nMessage-ID: <" + str(time.time()).encode() +
            b"@example.net>\r\n" + extra + b"\r\n" + body + b"\r\n")


@pytest.fixture
def policy(sekishod, exact_sink, tmp_path):
    """A daemon with the rules above, relaying to an exact sink."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "50-test.rules").write_text(RULES)
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", rules_dir=str(rules),
                 quarantine_dir=str(tmp_path / "quarantine"))
    d.rules = rules
    d.sink = sink
    return d


def send(d, msg, rcpts=("rcpt@example.test",), mail_from="sender@example.net"):
    with d.client() as c:
        c.ehlo()
        assert c.cmd(f"MAIL FROM:<{mail_from}>").code == 250
        for r in rcpts:
            assert c.cmd(f"RCPT TO:<{r}>").code == 250
        return c.data(msg)


def cli(d, *args):
    return subprocess.run([peers.SEKISHO, "-c", str(d.conf_path), *args],
                          capture_output=True, timeout=60)


def test_clean_message_is_forwarded_byte_for_byte(policy):
    msg = message(b"hello", b"plain words")
    assert send(policy, msg).code == 250
    got = policy.sink.wait_messages(1)[0]
    received, rest = split_received(got.data)
    assert len(received) == 1 and rest == msg


def test_reject_at_end_of_data_names_the_rule_text_and_ref(policy):
    r = send(policy, message(b"x", b"REJECT-ME-PLEASE"))
    assert r.code == 550 and r.text.startswith("5.7.1 Content refused (ref "), r
    assert policy.sink.no_messages()
    line = policy.wait_log(r"result=rejected .*action=reject .*rules=REJECT_BODY")[0]
    assert line


def test_japanese_subject_matches_in_any_charset(policy):
    for subject in (b"=?ISO-2022-JP?B?GyRCQEE1YT1xGyhC?=", b"=?Shift_JIS?B?kL+LgY+R?=",
                    b"=?UTF-8?B?6KuL5rGC5pu4?="):
        r = send(policy, message(subject, b"see attached"))
        assert r.code == 550 and "Invoice lure refused" in r.text, (subject, r)
    assert policy.sink.no_messages()


def test_reject_at_connect(policy):
    # 127.0.0.99 is loopback too: connect from it.
    s = socket.socket()
    s.bind(("127.0.0.99", 0))
    s.connect(("127.0.0.1", policy.port))
    s.settimeout(5)
    data = s.recv(4096)
    s.close()
    assert data.startswith(b"554 5.7.1 Your address is blocked (ref "), data


def test_reject_at_mail_and_rcpt_in_line(policy):
    with policy.client() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<spammer@bad.example>")
        assert r.code == 550 and "Sender refused" in r.text, r
        assert c.cmd("MAIL FROM:<sender@example.net>").code == 250
        r = c.cmd("RCPT TO:<closed@example.test>")
        assert r.code == 550 and "5.1.1 Mailbox closed" in r.text, r
        assert c.cmd("RCPT TO:<open@example.test>").code == 250
        assert c.data(message(b"hi", b"for the open one")).code == 250
    got = policy.sink.wait_messages(1)[0]
    assert got.rcpts == ["open@example.test"]


def test_tag_adds_sekisho_headers(policy):
    msg = message(b"a lure for you", b"text")
    assert send(policy, msg).code == 250
    got = policy.sink.wait_messages(1)[0]
    received, rest = split_received(got.data)
    assert rest.startswith(b"X-Sekisho-Verdict: tag\r\nX-Sekisho-Score: 4.00\r\n"
                           b"X-Sekisho-Rules: LURE\r\nX-Sekisho-Tag: lure in the subject\r\n")
    assert rest.endswith(msg)


def test_tempfail_and_discard(policy):
    r = send(policy, message(b"x", b"TEMPFAIL-ME"))
    assert r.code == 451 and "4.7.1 Come back later" in r.text, r
    r = send(policy, message(b"x", b"DISCARD-ME"))
    assert r.code == 250, r
    assert policy.sink.no_messages()
    policy.wait_log(r"result=discarded ")


def test_quarantine_list_release_and_release_twice(policy):
    msg = message(b"held", b"QUARANTINE-ME")
    r = send(policy, msg, rcpts=("a@example.test", "b@example.test"))
    assert r.code == 250, r
    assert policy.sink.no_messages()
    policy.wait_log(r"result=quarantined ")
    listing = cli(policy, "quarantine", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    entries = json.loads(listing.stdout)
    assert len(entries) == 1 and entries[0]["reason"] == "held for review"
    qid = entries[0]["id"]
    assert "QUARANTINE_BODY" in entries[0]["rules"]
    rel = cli(policy, "quarantine", "release", qid)
    assert rel.returncode == 0, rel.stdout + rel.stderr
    got = policy.sink.wait_messages(1)[0]
    assert sorted(got.rcpts) == ["a@example.test", "b@example.test"]
    received, rest = split_received(got.data)
    assert rest == msg and len(received) == 1
    again = cli(policy, "quarantine", "release", qid)
    assert again.returncode == 1 and b"already released" in again.stdout + again.stderr
    assert len(policy.sink.messages) == 1


def test_quarantine_without_store_fails_closed(sekishod, exact_sink, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "q.rules").write_text(RULES)
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", rules_dir=str(rules))
    r = send(d, message(b"held", b"QUARANTINE-ME"))
    assert r.code == 451, r
    assert sink.no_messages()


def test_broken_rules_on_reload_keep_the_running_set_under_load(policy):
    results = []
    stop = threading.Event()

    def sender():
        while not stop.is_set():
            results.append(send(policy, message(b"load", b"REJECT-ME-PLEASE")).code)

    t = threading.Thread(target=sender)
    t.start()
    try:
        time.sleep(0.3)
        (policy.rules / "60-broken.rules").write_text(
            "rule BROKEN\n  when header.subject =~ /(unclosed/\n  score 1\n")
        r = cli(policy, "reload")
        assert r.returncode == 1
        assert b"60-broken.rules:2:" in r.stderr and b"missing closing parenthesis" in r.stderr
        policy.sighup()
        policy.wait_log(r"reload refused, the running configuration stays")
        time.sleep(0.3)
        (policy.rules / "60-broken.rules").unlink()
        (policy.rules / "50-test.rules").write_text(RULES.replace("REJECT-ME-PLEASE", "NOTHING"))
        assert cli(policy, "reload").returncode == 0
        time.sleep(0.5)
    finally:
        stop.set()
        t.join(timeout=30)
    # Every message got an answer from the rules: rejected before the good
    # reload, delivered after it; none was dropped or deferred.
    assert results and set(results) <= {550, 250}, results
    assert results[0] == 550 and results[-1] == 250


def test_rules_test_passes_on_the_shipped_rules():
    # The antivirus rules' tests need the test signatures.
    r = subprocess.run([peers.SEKISHO, "rules", "test", "--dir", str(peers.REPO / "rules"),
                        "--clamav-db", str(peers.REPO / "test-corpus" / "clamav")],
                       capture_output=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    last = r.stdout.decode().strip().splitlines()[-1]
    assert last.endswith(" passed, 0 failed") and not last.startswith("0 ")


def test_rules_check_reports_file_line_column(tmp_path):
    (tmp_path / "bad.rules").write_text("rule X\n  when nosuch == 1\n  score 1\n")
    r = subprocess.run([peers.SEKISHO, "rules", "check", "--dir", str(tmp_path)],
                       capture_output=True, timeout=60)
    assert r.returncode == 1
    assert f"{tmp_path}/bad.rules:2:8: unknown field".encode() in r.stderr


def test_scan_json_explains_the_decision():
    msg = peers.REPO / "test-corpus" / "phish" / "no-from-no-date.eml"
    r = subprocess.run([peers.SEKISHO, "scan", "--dir", str(peers.REPO / "rules"), str(msg),
                        "--json"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["action"] == "quarantine" and out["decided_by"] == "SCORE_QUARANTINE"
    assert out["facts"]["header.subject"] == ["PAYMENT OVERDUE INVOICE ATTACHED"]


def test_forged_sekisho_headers_are_removed(policy):
    msg = message(b"hello", b"text", extra=b"X-Sekisho-Verdict: accept\r\nx-sekisho-score:\r\n -50\r\n")
    assert send(policy, msg).code == 250
    got = policy.sink.wait_messages(1)[0]
    received, rest = split_received(got.data)
    assert b"sekisho-" not in rest.lower()
    assert rest == msg.replace(b"X-Sekisho-Verdict: accept\r\nx-sekisho-score:\r\n -50\r\n", b"")
    policy.wait_log(r"removed 2 X-Sekisho-\* header fields")
