"""Content inspection through the running daemon: attachments, archives,
macros, ClamAV in the sandboxed analyzers (and in a real clamd), the
shipped attachment and antivirus rules, and what happens when an analyzer
crashes, hangs or a signature database changes under load."""
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

import peers
from peers import rules_hit

CORPUS = peers.REPO / "test-corpus" / "content"
CLAMAV_DB = peers.REPO / "test-corpus" / "clamav"
RULES = peers.REPO / "rules"

# message, action, deciding rule (every one: see test-corpus/content/MANIFEST)
EXPECTED = [
    ("eicar-plain.eml", "reject", "VIRUS_FOUND"),
    ("eicar-zip.eml", "reject", "VIRUS_FOUND"),
    ("eicar-zip-in-zip.eml", "reject", "VIRUS_FOUND"),
    ("eicar-in-attached-eml.eml", "reject", "VIRUS_FOUND"),
    ("marker-ndb.eml", "reject", "VIRUS_FOUND"),
    ("marker-hdb.eml", "reject", "VIRUS_FOUND"),
    ("renamed-exe.eml", "reject", "EXECUTABLE_CONTENT"),
    ("double-extension.eml", "reject", "DOUBLE_EXTENSION"),
    ("rfc2231-exe.eml", "reject", "BLOCKED_ATTACHMENT"),
    ("rfc2047-scr.eml", "reject", "BLOCKED_ATTACHMENT"),
    ("rtlo-name.eml", "reject", "NAME_TRICK"),
    ("spaces-name.eml", "reject", "NAME_TRICK"),
    ("lnk-shortcut.eml", "reject", "BLOCKED_ATTACHMENT"),
    ("iso-image.eml", "reject", "BLOCKED_ATTACHMENT"),
    ("img-image.eml", "reject", "BLOCKED_ATTACHMENT"),
    ("tar-gz-exe.eml", "reject", "BLOCKED_ATTACHMENT"),
    ("7z-exe.eml", "reject", "BLOCKED_ATTACHMENT"),
    ("malformed-boundary.eml", "reject", "BLOCKED_ATTACHMENT"),
    ("docm-macro.eml", "quarantine", "OFFICE_MACROS"),
    ("xlsx-with-vba.eml", "quarantine", "OFFICE_MACROS"),
    ("ole-doc-macro.eml", "quarantine", "OFFICE_MACROS"),
    ("encrypted-zip.eml", "quarantine", "ENCRYPTED_ARCHIVE"),
    ("zip-bomb.eml", "quarantine", None),
    ("clean-docx.eml", "accept", None),
    ("clean-pdf.eml", "accept", None),
    ("clean-text-attachment.eml", "accept", None),
]


def crlf(data):
    """The corpus as it goes over SMTP: CR LF line ends."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def corpus(name):
    return crlf((CORPUS / name).read_bytes())


@pytest.fixture
def gateway(sekishod, exact_sink, tmp_path):
    """The shipped rules, ClamAV with the test signatures in the analyzers."""
    sink = exact_sink()
    db = tmp_path / "clamav"
    shutil.copytree(CLAMAV_DB, db)
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", rules_dir=str(RULES),
                 quarantine_dir=str(tmp_path / "quarantine"), clamav="libclamav",
                 clamav_db=str(db), analyzers="2")
    d.sink = sink
    d.db = db
    return d


def send(d, msg, rcpt="rcpt@example.test"):
    with d.client(timeout=60) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<sender@example.net>").code == 250
        assert c.cmd(f"RCPT TO:<{rcpt}>").code == 250
        return c.data(msg)


def cli(d, *args):
    return subprocess.run([peers.SEKISHO, "-c", str(d.conf_path), *args],
                          capture_output=True, timeout=120)


def tx_line(d, reply):
    ref = reply.text.rsplit("ref ", 1)[-1].rstrip(")") if "ref " in reply.text else None
    lines = d.tx_lines()
    if ref:
        lines = [l for l in lines if f"tx={ref}" in l]
    return lines[-1] if lines else ""


def analyzer_pids(d, want=None):
    """The analyzer workers: grandchildren of the daemon. With want, wait
    until that many are up (the supervisor forks them after the start)."""
    if want is not None:
        return peers.wait_until(lambda: (lambda p: p if len(p) == want else None)(
            analyzer_pids(d)), what=f"{want} analyzer workers")
    def children(pid):
        # children are listed per thread: the one that forked them
        found = []
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except FileNotFoundError:
            return found
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    found.extend(int(p) for p in f.read().split())
            except FileNotFoundError:
                pass
        return found
    pids = []
    for supervisor in children(d.pid):
        pids.extend(children(supervisor))
    return pids


def test_corpus_verdicts_through_the_daemon(gateway):
    failures = []
    for n, (name, action, rule) in enumerate(EXPECTED, 1):
        r = send(gateway, corpus(name))
        if action == "reject":
            ok = r.code == 550
        elif action == "quarantine":
            ok = r.code == 250 and "queued as" in r.text
        else:
            ok = r.code == 250
        gateway.wait_log(r" tx=\S+ .*result=", count=n)
        line = gateway.tx_lines()[-1]
        if ok and rule and rule not in rules_hit(line):
            ok = False
        if ok and action == "quarantine" and "result=quarantined" not in line:
            ok = False
        if not ok:
            failures.append(f"{name}: wanted {action} by {rule}, got {r.code} {r.text}\n  {line}")
    assert not failures, "\n".join(failures)
    # Exactly the clean ones reached the next hop.
    clean = [e for e in EXPECTED if e[1] == "accept"]
    got = gateway.sink.wait_messages(len(clean))
    assert len(got) == len(clean)
    listing = json.loads(cli(gateway, "quarantine", "list", "--json").stdout)
    assert len(listing) == len([e for e in EXPECTED if e[1] == "quarantine"])


def test_virus_reply_text_and_log(gateway):
    r = send(gateway, corpus("eicar-zip-in-zip.eml"))
    assert r.code == 550 and r.text.startswith("5.7.1 Message refused: it carries a virus"), r
    assert gateway.sink.no_messages()


def test_analyzers_run_under_seccomp(gateway):
    pids = analyzer_pids(gateway, want=2)
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        fields = dict(l.split(":\t", 1) for l in status.splitlines() if ":\t" in l)
        assert fields["Seccomp"].strip() == "2", status
        assert fields["NoNewPrivs"].strip() == "1", status


def busy_workers(pids):
    """Workers that are running (state R): scanning a message."""
    busy = []
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            continue
        if stat.rsplit(")", 1)[1].split()[0] == "R":
            busy.append(pid)
    return busy


def test_killed_analyzer_costs_one_message_a_4xx(gateway):
    # A nested zip bomb keeps ClamAV busy for seconds: kill the worker
    # while it is scanning (it has taken the message, so this is a crash
    # on that message, not a worker that went away idle).
    send(gateway, corpus("clean-pdf.eml"))
    pids = analyzer_pids(gateway, want=2)
    result = {}

    def sender():
        result["reply"] = send(gateway, corpus("zip-bomb-nested.eml"))
    t = threading.Thread(target=sender)
    t.start()
    busy = peers.wait_until(lambda: busy_workers(pids), what="a worker scanning")
    time.sleep(0.3)
    for pid in busy:
        os.kill(pid, signal.SIGKILL)
    t.join(timeout=60)
    r = result["reply"]
    assert r.code == 451 and "could not be" in r.text, r
    assert gateway.wait_log(r"worker \d+ died on a message")
    # The next message is scanned normally, by the other worker or a fresh one.
    r = send(gateway, corpus("eicar-zip.eml"))
    assert r.code == 550, r
    r = send(gateway, corpus("clean-pdf.eml"))
    assert r.code == 250, r
    assert gateway.proc.poll() is None
    assert len(gateway.sink.wait_messages(2)) == 2
    new = analyzer_pids(gateway, want=2)
    assert set(new) - set(busy) == set(new)


def test_stopped_idle_analyzer_is_replaced_without_a_4xx(gateway):
    # A worker killed before it took the message has not seen it: the
    # message goes to another worker and is judged normally.
    send(gateway, corpus("clean-pdf.eml"))
    pids = analyzer_pids(gateway, want=2)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    result = {}

    def sender():
        result["reply"] = send(gateway, corpus("clean-pdf.eml"))
    t = threading.Thread(target=sender)
    t.start()
    time.sleep(1.0)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    t.join(timeout=30)
    assert result["reply"].code == 250, result["reply"]
    assert len(gateway.sink.wait_messages(2)) == 2


def test_hung_analyzer_times_out_with_4xx(sekishod, exact_sink, tmp_path):
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", rules_dir=str(RULES),
                 analyzers="1", analyzer_timeout="2s")
    pids = analyzer_pids(d, want=1)
    os.kill(pids[0], signal.SIGSTOP)
    start = time.monotonic()
    r = send(d, corpus("clean-pdf.eml"))
    assert r.code == 451, r
    assert 1.5 < time.monotonic() - start < 15
    r = send(d, corpus("clean-pdf.eml"))
    assert r.code == 250, r
    assert d.wait_log(r"worker \d+ took more than 2000 ms over a message")


def test_signature_reload_under_load_drops_nothing(gateway):
    marker = b"SEKISHO-RELOAD-MARKER-51c2"
    body = (b"From: a@example.net\r\nTo: rcpt@example.test\r\nSubject: reload\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
            b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
            b"--b\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\n\r\n"
            + marker + b"\r\n--b--\r\n")
    assert send(gateway, body).code == 250
    stop = threading.Event()
    replies = []
    errors = []

    def load():
        while not stop.is_set():
            try:
                replies.append(send(gateway, corpus("clean-pdf.eml")).code)
            except Exception as e:  # noqa: BLE001 - any failure is a finding
                errors.append(repr(e))
    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        (gateway.db / "reload.ndb").write_text(
            "Sekisho.Test.ReloadMarker:0:*:" + marker.hex() + "\n")
        r = cli(gateway, "reload")
        assert r.returncode == 0, r.stderr
        gateway.wait_log(r"generation 2", timeout=30)
        time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert not errors, errors
    assert replies and set(replies) == {250}, replies
    r = send(gateway, body)
    assert r.code == 550 and "virus" in r.text, r


def test_changed_database_is_picked_up_without_reload(gateway):
    marker = b"SEKISHO-AUTO-RELOAD-9e01"
    msg = (b"From: a@example.net\r\nTo: rcpt@example.test\r\nSubject: auto\r\n\r\n"
           + marker + b"\r\n")
    assert send(gateway, msg).code == 250
    (gateway.db / "auto.ndb").write_text("Sekisho.Test.AutoMarker:0:*:" + marker.hex() + "\n")

    def rejected():
        return send(gateway, msg).code == 550
    peers.wait_until(rejected, timeout=60, interval=1.0, what="new signature in use")


def test_scan_explain_shows_the_mime_tree():
    r = subprocess.run([peers.SEKISHO, "scan", "--dir", str(RULES), "--clamav-db",
                        str(CLAMAV_DB), "--explain", str(CORPUS / "eicar-zip-in-zip.eml")],
                       capture_output=True, timeout=60)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr
    assert "MIME tree:" in out
    assert "attachment.archive_depth = 2" in out, out
    assert "av.virus = Sekisho.Test.Eicar" in out, out
    assert "action: reject" in out and "VIRUS_FOUND" in out
    r = subprocess.run([peers.SEKISHO, "scan", "--dir", str(RULES), "--json",
                        str(CORPUS / "double-extension.eml")], capture_output=True, timeout=60)
    doc = json.loads(r.stdout)
    names = [v for p in doc["parts"] for v in p["facts"].get("attachment.name", [])]
    assert "invoice.pdf.exe" in names, doc["parts"]
    assert doc["facts"]["attachment.exts"] == ["pdf", "exe"]


@pytest.fixture
def clamd(tmp_path):
    """A real clamd with the test signatures, on a unix socket."""
    binary = shutil.which("clamd") or "/usr/sbin/clamd"
    if not os.path.exists(binary):
        pytest.skip("clamd is not installed")
    db = tmp_path / "clamd-db"
    shutil.copytree(CLAMAV_DB, db)
    sock = tmp_path / "clamd.sock"
    conf = tmp_path / "clamd.conf"
    conf.write_text(f"LocalSocket {sock}\nDatabaseDirectory {db}\nForeground yes\n"
                    f"DisableCache yes\nLogFile {tmp_path}/clamd.log\nPidFile {tmp_path}/clamd.pid\n"
                    f"TemporaryDirectory {tmp_path}\n")
    if os.geteuid() == 0:
        conf.write_text(conf.read_text() + "User root\n")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    peers.wait_until(lambda: sock.exists() or proc.poll() is not None, timeout=60,
                     what="clamd socket")
    assert proc.poll() is None, (tmp_path / "clamd.log").read_text()
    proc.sock = sock
    yield proc
    peers.stop_process(proc)


def test_clamd_mode(sekishod, exact_sink, clamd, tmp_path):
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", rules_dir=str(RULES),
                 clamav=f"clamd:{clamd.sock}", analyzers="1")
    r = send(d, corpus("eicar-zip.eml"))
    assert r.code == 550 and "virus" in r.text, r
    assert send(d, corpus("clean-pdf.eml")).code == 250
    # clamd gone: fail closed with a temporary failure, never a silent accept.
    peers.stop_process(clamd)
    r = send(d, corpus("clean-pdf.eml"))
    assert r.code == 451, r
    time.sleep(0.3)
    assert len(sink.wait_messages(1)) == 1
