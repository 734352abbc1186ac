"""Links through the running daemon: the shipped URL rules on the corpus
(test-corpus/urls), a URI block list served by the private DNS server,
look-alikes of protected domains, and `sekisho scan --explain`."""
import json
import shutil
import subprocess

import pytest

import peers
from peers import SmtpClient, rules_hit

RULES = peers.REPO / "rules"
CORPUS = peers.REPO / "test-corpus" / "urls"

# message: the rules that must be among those hit
EXPECTED = {
    "text-mismatch.eml": {"URL_TEXT_MISMATCH"},
    "userinfo.eml": {"URL_USERINFO"},
    "ip-obfuscated.eml": {"URL_IP_OBFUSCATED", "URL_IP_LITERAL"},
    "mixed-script.eml": {"URL_MIXED_SCRIPT", "URL_PUNYCODE"},
    "script-scheme.eml": {"URL_SCRIPT_SCHEME"},
    "shortener.eml": {"URL_SHORTENER"},
    "clean-newsletter.eml": set(),
}


def send(d, msg):
    with SmtpClient(d.port, timeout=30) as c:
        c.ehlo("client.example.net")
        assert c.cmd("MAIL FROM:<desk@example.net>").code == 250
        assert c.cmd("RCPT TO:<user@example.test>").code == 250
        return c.data(msg)


@pytest.fixture
def gateway(sekishod, exact_sink, tmp_path):
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", rules_dir=str(RULES),
                 quarantine_dir=str(tmp_path / "q"))
    d.sink = sink
    return d


def test_url_rules_on_the_corpus(gateway):
    problems = []
    for n, (name, want) in enumerate(EXPECTED.items(), 1):
        r = send(gateway, (CORPUS / name).read_bytes())
        gateway.wait_log(r" tx=\S+ .*result=", count=n)
        got = set(rules_hit(gateway.tx_lines()[-1]))
        url_rules = {h for h in got if h.startswith("URL_")}
        if url_rules != want or r.code != 250:
            problems.append(f"{name}: {r.code} rules {sorted(got)}, want {sorted(want)}")
    assert not problems, "\n".join(problems)


def test_uribl_listing(sekishod, exact_sink, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "uribl.rules").write_text(
        'rule URIBL_IP\n  when uribl.code == "uribl.example.org=127.0.0.4 192.168.1.1"\n'
        '  action reject "5.7.1 Message refused: it links to a listed address"\n'
        'rule URIBL\n  when uribl.listed == uribl.example.org\n'
        '  action reject "5.7.1 Message refused: it links to a listed site"\n')
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", rules_dir=str(rules),
                 uribl="uribl.example.org")
    r = send(d, (CORPUS / "text-mismatch.eml").read_bytes())
    assert r.code == 550 and "listed site" in r.text, r
    r = send(d, (CORPUS / "ip-obfuscated.eml").read_bytes())
    assert r.code == 550 and "listed address" in r.text, r
    r = send(d, (CORPUS / "clean-newsletter.eml").read_bytes())
    assert r.code == 250, r


def test_uribl_lookup_cap(sekishod, exact_sink, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "cap.rules").write_text('rule CAP\n  when uribl.limit_exceeded\n  action tag "capped"\n')
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", rules_dir=str(rules),
                 uribl="uribl.example.org", uribl_max_lookups="3")
    links = "".join(f"https://www.d{i}.example/ " for i in range(6))
    msg = (f"From: a@example.net\r\nTo: user@example.test\r\nSubject: many-links\r\n\r\n"
           f"{links}\r\n").encode()
    assert send(d, msg).code == 250
    got = sink.wait_messages(1)[-1].data
    assert b"X-Sekisho-Tag: capped" in got


def scan_json(path, *extra):
    r = subprocess.run([peers.SEKISHO, "scan", str(path), "--dir", str(RULES), "--json", *extra],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_scan_lists_every_link(tmp_path):
    doc = scan_json(CORPUS / "clean-newsletter.eml")
    urls = [l["url"] for l in doc["links"]]
    assert any("example.com/news/2026/11" in u for u in urls), urls
    assert any("unsubscribe" in u for u in urls), urls
    assert doc["facts"]["url.count"] == [str(len(urls))]
    r = subprocess.run([peers.SEKISHO, "scan", str(CORPUS / "userinfo.eml"), "--dir", str(RULES),
                        "--explain"], capture_output=True, timeout=60, text=True)
    assert "links:" in r.stdout and "url.userinfo = yes" in r.stdout, r.stdout


def test_lookalike_of_a_protected_domain(tmp_path):
    conf = tmp_path / "sekisho.conf"
    conf.write_text("protect_domains = example.com\n")
    msg = tmp_path / "m.eml"
    msg.write_bytes(b"From: a@example.net\r\nTo: user@example.test\r\nSubject: x\r\n"
                    b"Content-Type: text/html\r\n\r\n"
                    b'<a href="https://examp1e.com/login">sign in</a> '
                    b'<a href="https://login.example.com/">real</a>\r\n')
    r = subprocess.run([peers.SEKISHO, "-c", str(conf), "scan", str(msg), "--dir", str(RULES),
                        "--json"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["facts"]["url.confusable"] == ["lookalike:example.com"], doc["facts"]
    assert "URL_LOOKALIKE" in json.dumps(doc["rules"]), doc["rules"]


def test_allowlisted_link_is_not_scored(sekishod, exact_sink, tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    text = (rules / "65-urls.rules").read_text()
    (rules / "65-urls.rules").write_text(text.replace("list url_allowlist =",
                                                      "list url_allowlist = example.net"))
    sink = exact_sink()
    listed = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", rules_dir=str(RULES),
                      uribl="uribl.example.org", quarantine_dir=str(tmp_path / "q1"))
    allowed = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", rules_dir=str(rules),
                       uribl="uribl.example.org", quarantine_dir=str(tmp_path / "q2"))
    for d in (listed, allowed):
        assert send(d, (CORPUS / "text-mismatch.eml").read_bytes()).code == 250
        d.wait_log(r" tx=\S+ .*result=")
    hit = set(rules_hit(listed.tx_lines()[-1]))
    assert {"URIBL_LISTED", "URL_TEXT_MISMATCH"} <= hit, hit
    hit = set(rules_hit(allowed.tx_lines()[-1]))
    assert not {"URIBL_LISTED", "URL_TEXT_MISMATCH"} & hit, hit
