"""next_hop = maildir:ROOT: one copy per recipient in
ROOT/<address lowercased>/new/, LF line endings, on disk (fsync'd) before
the client gets 250."""

import re
import smtplib
from pathlib import Path

import pytest

import samples


def new_files(root, mailbox):
    d = Path(root) / mailbox / "new"
    return sorted(d.iterdir()) if d.is_dir() else []


def tmp_files(root, mailbox):
    d = Path(root) / mailbox / "tmp"
    return sorted(d.iterdir()) if d.is_dir() else []


def lf(msg):
    return msg.replace(b"\r\n", b"\n")


RECEIVED_LF = re.compile(
    rb"Received: from client\.example\.net \(\[127\.0\.0\.1\]\)\n"
    rb"\tby gw\.example\.test \(sekisho\) with ESMTP id [0-9a-f]{12}\.\d+"
    rb"(?:\n\tfor <[^>]+>)?; [^\n]+\n"
    # and the gateway's Authentication-Results, with its folded lines
    rb"Authentication-Results: gw\.example\.test[^\n]*\n(?:\t[^\n]*\n)*")


def test_maildir_delivery_then_kill9(sekishod, tmp_path):
    """After 250 the daemon is killed at once (SIGKILL, no clean-up): the
    copies must already be complete in new/, nothing left in tmp/."""
    root = tmp_path / "store"
    d = sekishod(next_hop=f"maildir:{root}")
    msg = samples.utf8_8bit("maildir1") + samples.dots("maildir1") + b"x" * 300000 + b"\r\n"
    with d.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@example.net> BODY=8BITMIME").code == 250
        assert c.cmd("RCPT TO:<Alice@Example.TEST>").code == 250
        assert c.cmd("RCPT TO:<bob@example.test>").code == 250
        r = c.data(msg)
        assert r.code == 250, r
        d.kill9()
    for mailbox in ("alice@example.test", "bob@example.test"):
        [f] = new_files(root, mailbox)
        assert tmp_files(root, mailbox) == []
        content = f.read_bytes()
        m = RECEIVED_LF.match(content)
        assert m, content[:300]
        assert b"\tfor <" not in m.group(0)          # two recipients: no for clause
        assert content[m.end():] == lf(msg)
        assert b"\r\n" not in content
        # Maildir name: unique part, then ",S=<size on disk>"
        assert re.fullmatch(r"\d+\.M\d+P\d+Q\d+\.[^/]+,S=(\d+)", f.name), f.name
        assert int(f.name.rsplit(",S=", 1)[1]) == len(content)
        assert {p.name for p in (root / mailbox).iterdir()} == {"tmp", "new", "cur"}


def test_maildir_each_message_its_own_file(sekishod, tmp_path):
    root = tmp_path / "store"
    d = sekishod(next_hop=f"maildir:{root}")
    with smtplib.SMTP("127.0.0.1", d.port, local_hostname="client.example.net",
                      timeout=10) as c:
        for i in range(5):
            msg = f"Subject: {i}\r\n\r\nmessage {i}\r\n".encode()
            assert c.sendmail("s@example.net", ["carol@example.test"], msg) == {}
    files = new_files(root, "carol@example.test")
    assert len(files) == 5
    bodies = sorted(RECEIVED_LF.sub(b"", f.read_bytes(), count=1) for f in files)
    assert bodies == [f"Subject: {i}\n\nmessage {i}\n".encode() for i in range(5)]
    first = files[0].read_bytes()
    assert b"\tfor <carol@example.test>;" in first


@pytest.mark.parametrize("rcpt,mailbox", [
    ('"../../escape"@example.test', '%22..%2F..%2Fescape%22@example.test'),
    ('".hidden"@example.test', '%22.hidden%22@example.test'),
    ('"a/b"@example.test', '%22a%2Fb%22@example.test'),
    ('dave@[192.0.2.1]', None),
])
def test_maildir_names_cannot_escape_root(sekishod, tmp_path, rcpt, mailbox):
    root = tmp_path / "store"
    d = sekishod(next_hop=f"maildir:{root}", mynetworks="127.0.0.0/8")
    with d.client() as c:
        c.ehlo("client.example.net")
        assert c.cmd("MAIL FROM:<s@example.net>").code == 250
        assert c.cmd(f"RCPT TO:<{rcpt}>").code == 250
        assert c.data(b"Subject: path\r\n\r\nx\r\n").code == 250
    made = [p for p in tmp_path.rglob("*") if p.is_file() and p.parent.name == "new"]
    assert len(made) == 1
    f = made[0]
    assert root in f.parents, f"written outside the Maildir root: {f}"
    box = f.parent.parent
    assert box.parent == root
    assert not box.name.startswith(".")
    assert "/" not in box.name
    if mailbox:
        assert box.name == mailbox


def test_maildir_failure_is_4xx_and_atomic(sekishod, tmp_path):
    """One recipient's mailbox cannot be made (a plain file is in the way):
    451 4.3.0, and no copy is left for the other recipient either."""
    root = tmp_path / "store"
    root.mkdir()
    (root / "blocked@example.test").write_text("not a folder")
    d = sekishod(next_hop=f"maildir:{root}")
    with d.client() as c:
        c.ehlo("client.example.net")
        c.cmd("MAIL FROM:<s@example.net>")
        assert c.cmd("RCPT TO:<first@example.test>").code == 250
        assert c.cmd("RCPT TO:<blocked@example.test>").code == 250
        r = c.data(b"Subject: fail\r\n\r\nx\r\n")
        assert r.code == 451 and r.text.startswith("4.3.0 "), r
    assert new_files(root, "first@example.test") == []
    assert tmp_files(root, "first@example.test") == []
    d.wait_log(r"maildir delivery failed")
    assert d.tx_lines("tempfail")


def test_maildir_bdat_and_bare_cr_free(sekishod, tmp_path):
    root = tmp_path / "store"
    d = sekishod(next_hop=f"maildir:{root}")
    body = b"Subject: bdat\r\n\r\nline one\r\nline two\r\n"
    with d.client() as c:
        c.ehlo("client.example.net")
        c.cmd("MAIL FROM:<s@example.net>")
        c.cmd("RCPT TO:<erin@example.test>")
        c.send(f"BDAT {len(body)} LAST\r\n".encode() + body)
        assert c.read_reply().code == 250
    [f] = new_files(root, "erin@example.test")
    content = f.read_bytes()
    m = RECEIVED_LF.match(content)
    assert m and content[m.end():] == lf(body)
