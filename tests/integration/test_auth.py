"""Sender authentication through the running daemon, against the private
DNS server (dnspeer.py, zones in authzone.py): SPF cross-checked with
pyspf, DKIM with dkimpy, DMARC with the shipped rules, Authentication-
Results on what is delivered, DNS block lists at connect, and DNS
timeouts as temperror."""
import re
import shutil
import subprocess
import time

import dkim
import dns.resolver
import pytest
import spf

import peers
from peers import SmtpClient, split_received

RULES = peers.REPO / "rules"

# pyspf still calls dnspython's old query(); not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# RFC 8601 §2.2, enough to parse what we write: authserv-id, then
# "; method=result prop=value ..." resinfo (or "; none")
AR_RE = re.compile(rb"^Authentication-Results: ([A-Za-z0-9.-]+)((?:;\s*[a-z]+=[a-z]+"
                   rb"(?:\s+[a-z]+\.[a-z-]+=(?:[^\s;\"]+|\"[^\"]*\"))*)+|; none)\r\n$", re.S)


@pytest.fixture
def pyspf_dns(dns_server):
    """pyspf and dkimpy asking the same private server."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = dns_server.port
    old = dns.resolver.default_resolver
    dns.resolver.default_resolver = resolver
    yield resolver
    dns.resolver.default_resolver = old


def dkim_dnsfunc(resolver):
    def get_txt(name, timeout=5):
        try:
            answer = resolver.resolve(name.decode().rstrip("."), "TXT", lifetime=timeout)
        except Exception:  # noqa: BLE001 - dkimpy wants None for any failure
            return None
        return b"".join(b"".join(r.strings) for r in answer)
    return get_txt


def message(frm="Alice <alice@example.org>", subject="hello", body=b"Hello.\r\n",
            extra=b""):
    return (f"From: {frm}\r\nTo: user@example.test\r\nSubject: {subject}\r\n"
            f"Date: Wed, 02 Dec 2026 10:00:00 +0000\r\nMessage-ID: <t{time.monotonic_ns()}"
            f"@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n").encode() \
        + extra + b"\r\n" + body


def sign(msg, keys, domain, selector="rsa", key="rsa", **kw):
    return dkim.sign(msg, selector.encode(), domain.encode(), keys[key][0],
                     include_headers=[b"from", b"to", b"subject", b"date"], **kw) + msg


def send(d, msg, mail_from="sender@example.net", source="127.0.0.1", helo="client.example.net"):
    """(MAIL reply, end-of-data reply or None)."""
    with SmtpClient(d.port, source=source, timeout=30) as c:
        c.ehlo(helo)
        r = c.cmd(f"MAIL FROM:<{mail_from}>")
        if r.code != 250:
            return r, None
        assert c.cmd("RCPT TO:<user@example.test>").code == 250
        return r, c.data(msg)


def delivered_ar(sink, token):
    """The Authentication-Results field of the delivered message holding token."""
    msgs = sink.wait_messages(1, match=lambda m: token in m.data)
    ars = []
    split_received(msgs[-1].data, ars)
    assert len(ars) == 1, msgs[-1].data[:800]
    return ars[0]


def ar_results(ar):
    """{method: [result, ...]} of one Authentication-Results field."""
    out = {}
    for method, result in re.findall(rb";\s*([a-z]+)=([a-z]+)", ar):
        out.setdefault(method.decode(), []).append(result.decode())
    return out


@pytest.fixture
def gateway(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}")
    d.sink = sink
    return d


# ---- SPF ----------------------------------------------------------------

SPF_CASES = [
    # (client, MAIL FROM, HELO)
    ("127.0.0.1", "a@spf-pass.example.org", "client.example.net"),
    ("127.0.0.1", "a@spf-fail.example.org", "client.example.net"),
    ("127.0.0.1", "a@spf-softfail.example.org", "client.example.net"),
    ("127.0.0.1", "a@spf-neutral.example.org", "client.example.net"),
    ("127.0.0.2", "a@spf-include.example.org", "client.example.net"),
    ("127.0.0.1", "a@spf-include.example.org", "client.example.net"),
    ("127.0.0.4", "a@spf-mx.example.org", "client.example.net"),
    ("127.0.0.1", "a@spf-mx.example.org", "client.example.net"),
    ("127.0.0.3", "a@spf-a.example.org", "client.example.net"),
    ("127.0.0.2", "a@spf-redirect.example.org", "client.example.net"),
    ("127.0.0.9", "a@spf-redirect.example.org", "client.example.net"),
    ("127.0.0.5", "a@spf-exists.example.org", "client.example.net"),
    ("127.0.0.6", "a@spf-exists.example.org", "client.example.net"),
    ("127.0.0.1", "a@spf-void.example.org", "client.example.net"),
    ("127.0.0.1", "a@spf-noinclude.example.org", "client.example.net"),
    ("127.0.0.1", "a@spf-toomany.example.org", "client.example.net"),
    ("127.0.0.1", "a@no-record.example.org", "client.example.net"),
    ("127.0.0.1", "a@nxdomain-host.example.net", "client.example.net"),
    ("127.0.0.3", "", "spf-helo.example.org"),
    ("127.0.0.1", "", "spf-helo.example.org"),
]


@pytest.mark.parametrize("client,mail_from,helo", SPF_CASES)
def test_spf_agrees_with_pyspf(gateway, pyspf_dns, client, mail_from, helo):
    want, _ = spf.check2(i=client, s=mail_from, h=helo)
    token = f"spf-{client}-{mail_from}-{helo}"
    mail_r, data_r = send(gateway, message(subject=token), mail_from=mail_from, source=client,
                          helo=helo)
    assert mail_r.code == 250 and data_r.code == 250, (mail_r, data_r)
    got = ar_results(delivered_ar(gateway.sink, token.encode()))
    assert got["spf"] == [want], (client, mail_from, helo)


def test_spf_loopback_client_gets_the_records_answer(gateway, pyspf_dns):
    # libspf2 would pass any 127/8 client without reading the record
    _, r = send(gateway, message(subject="loopback-fail"), mail_from="a@spf-fail.example.org",
                source="127.0.0.8")
    assert r.code == 250
    assert ar_results(delivered_ar(gateway.sink, b"loopback-fail"))["spf"] == ["fail"]


@pytest.mark.parametrize("domain", ["spf-badmacro.example.org", "spf-badmacro2.example.org"])
def test_spf_malformed_macro_is_permerror(gateway, domain):
    _, r = send(gateway, message(subject=domain), mail_from=f"a@{domain}")
    assert r.code == 250
    assert ar_results(delivered_ar(gateway.sink, domain.encode()))["spf"] == ["permerror"]
    assert gateway.proc.poll() is None


def test_spf_dns_timeout_is_temperror(gateway):
    start = time.monotonic()
    _, r = send(gateway, message(subject="spf-slow"), mail_from="a@x.slow.example.org")
    assert r.code == 250
    assert ar_results(delivered_ar(gateway.sink, b"spf-slow"))["spf"] == ["temperror"]
    assert time.monotonic() - start < 20


def test_spf_fail_refused_at_mail_by_a_rule(sekishod, exact_sink, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "spf.rules").write_text(
        'rule SPF_FAIL\n  when spf.result == fail\n'
        '  action reject "5.7.23 SPF says this client may not send for the domain"\n')
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", rules_dir=str(rules))
    mail_r, _ = send(d, message(), mail_from="a@spf-fail.example.org")
    assert mail_r.code == 550 and "5.7.23 SPF" in mail_r.text
    mail_r, data_r = send(d, message(), mail_from="a@spf-pass.example.org")
    assert mail_r.code == 250 and data_r.code == 250


def test_dnssec_validation_refuses_a_forged_answer(sekishod, exact_sink, dns_server):
    sink = exact_sink()
    plain = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}")
    checked = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}",
                       dns_trust_anchor=dns_server.trust_anchor)
    for d, tag in ((plain, "plain"), (checked, "checked")):
        for name in ("good", "forged"):
            _, r = send(d, message(subject=f"dnssec-{tag}-{name}"),
                        mail_from=f"a@{name}.signed.example")
            assert r.code == 250, r
    result = lambda token: ar_results(delivered_ar(sink, token))["spf"]  # noqa: E731
    assert result(b"dnssec-plain-good") == ["pass"]
    assert result(b"dnssec-checked-good") == ["pass"]
    # without validation the forged record is believed; with it, it is not
    assert result(b"dnssec-plain-forged") == ["pass"]
    assert result(b"dnssec-checked-forged") == ["temperror"]


def test_missing_trust_anchor_file_is_refused(sekishod, tmp_path):
    d = sekishod(start=False, dns_trust_anchor=str(tmp_path / "nosuch.key"))
    r = subprocess.run([peers.SEKISHOD, "-n", "-c", str(d.conf_path)], capture_output=True,
                       timeout=30)
    assert r.returncode != 0 and b"dns_trust_anchor" in r.stdout + r.stderr


# ---- DKIM ---------------------------------------------------------------

def dkim_cases(keys):
    good = sign(message(subject="dkim-rsa"), keys, "example.org")
    relaxed = sign(message(subject="dkim-relaxed"), keys, "example.org",
                   canonicalize=(b"relaxed", b"relaxed"))
    ed = sign(message(subject="dkim-ed"), keys, "example.org", selector="ed", key="ed",
              signature_algorithm=b"ed25519-sha256")
    body = sign(message(subject="dkim-body"), keys, "example.org").replace(
        b"Hello.\r\n", b"Hellp.\r\n")
    header = sign(message(subject="dkim-header"), keys, "example.org").replace(
        b"Date: Wed, 02 Dec 2026 10:00:00", b"Date: Wed, 02 Dec 2026 10:00:01")
    weak = sign(message(subject="dkim-weak"), keys, "example.org", selector="weak", key="weak")
    nokey = sign(message(subject="dkim-nokey"), keys, "example.org", selector="nosuch")
    length = sign(message(subject="dkim-length"), keys, "example.org", length=True) \
        + b"Appended after signing: click here\r\n"
    return {"dkim-rsa": good, "dkim-relaxed": relaxed, "dkim-ed": ed, "dkim-body": body,
            "dkim-header": header, "dkim-weak": weak, "dkim-nokey": nokey,
            "dkim-length": length}


def dkimpy_says(msg, resolver):
    return "pass" if dkim.verify(msg, dnsfunc=dkim_dnsfunc(resolver)) else "fail"


def test_dkim_agrees_with_dkimpy(gateway, dkim_keys, pyspf_dns):
    cases = dkim_cases(dkim_keys)
    for token, msg in cases.items():
        _, r = send(gateway, msg)
        assert r.code == 250, (token, r)
        got = ar_results(delivered_ar(gateway.sink, token.encode()))["dkim"]
        want = dkimpy_says(msg, pyspf_dns)
        # RFC 8601: a missing key is permerror; dkimpy only says "not verified"
        assert got == [want] or (want == "fail" and got == ["permerror"]), (token, got, want)
    # the ones dkimpy passes are exactly these
    assert {t for t, m in cases.items() if dkimpy_says(m, pyspf_dns) == "pass"} == \
        {"dkim-rsa", "dkim-relaxed", "dkim-ed", "dkim-length"}


def test_dkim_every_signature_and_the_unsigned_tail(sekishod, exact_sink, dkim_keys, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "dkim.rules").write_text(
        'rule DKIM_PARTIAL\n  when dkim.partial > 0\n  action tag "unsigned tail"\n')
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", rules_dir=str(rules))
    two = sign(sign(message(subject="dkim-two"), dkim_keys, "example.com", selector="ed",
                    key="ed", signature_algorithm=b"ed25519-sha256"),
               dkim_keys, "example.net", selector="weak", key="weak")
    assert send(d, two)[1].code == 250
    ar = delivered_ar(sink, b"dkim-two")
    assert sorted(ar_results(ar)["dkim"]) == ["fail", "pass"], ar
    assert b"header.d=example.com" in ar and b"header.d=example.net" in ar
    length = dkim_cases(dkim_keys)["dkim-length"]
    assert send(d, length)[1].code == 250
    got = sink.wait_messages(1, match=lambda m: b"dkim-length" in m.data)[-1].data
    assert b"X-Sekisho-Tag: unsigned tail" in got


# ---- DMARC (shipped rules) ----------------------------------------------

@pytest.fixture
def policy_gateway(sekishod, exact_sink, tmp_path):
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", rules_dir=str(RULES),
                 quarantine_dir=str(tmp_path / "quarantine"))
    d.sink = sink
    return d


def test_dmarc_aligned_dkim_passes_with_failing_spf(policy_gateway, dkim_keys):
    msg = sign(message(frm="a@reject.example", subject="dmarc-dkim"), dkim_keys,
               "reject.example")
    mail_r, r = send(policy_gateway, msg, mail_from="bounce@reject.example", source="127.0.0.1")
    assert r.code == 250, r
    got = ar_results(delivered_ar(policy_gateway.sink, b"dmarc-dkim"))
    assert got["spf"] == ["fail"] and got["dkim"] == ["pass"] and got["dmarc"] == ["pass"]


def test_dmarc_aligned_spf_passes(policy_gateway):
    _, r = send(policy_gateway, message(frm="a@reject.example", subject="dmarc-spf"),
                mail_from="bounce@bounce.reject.example", source="127.0.0.2")
    assert r.code == 250, r
    assert ar_results(delivered_ar(policy_gateway.sink, b"dmarc-spf"))["dmarc"] == ["pass"]


def test_dmarc_unaligned_p_reject_is_rejected(policy_gateway, dkim_keys):
    # signed, but by another domain; SPF passes, for another domain
    msg = sign(message(frm="a@reject.example", subject="dmarc-unaligned"), dkim_keys,
               "example.org")
    _, r = send(policy_gateway, msg, mail_from="a@spf-pass.example.org")
    assert r.code == 550 and "DMARC" in r.text and "(ref " in r.text, r
    policy_gateway.sink.no_messages()


def test_dmarc_strict_alignment(policy_gateway, dkim_keys):
    msg = sign(message(frm="a@strict.example", subject="dmarc-strict"), dkim_keys,
               "sub.strict.example")
    _, r = send(policy_gateway, msg, mail_from="b@bounce.strict.example", source="127.0.0.2")
    assert r.code == 550, r
    msg = sign(message(frm="a@strict.example", subject="dmarc-strict-ok"), dkim_keys,
               "strict.example")
    _, r = send(policy_gateway, msg, mail_from="b@bounce.strict.example", source="127.0.0.2")
    assert r.code == 250, r


def test_dmarc_subdomain_policy(policy_gateway):
    _, r = send(policy_gateway, message(frm="a@mail.spdomain.example", subject="dmarc-sp"))
    assert r.code == 550, r
    _, r = send(policy_gateway, message(frm="a@spdomain.example", subject="dmarc-p-none"))
    assert r.code == 250, r
    assert ar_results(delivered_ar(policy_gateway.sink, b"dmarc-p-none"))["dmarc"] == ["fail"]


def test_dmarc_quarantine_and_pct(policy_gateway):
    for domain in ("quarantine.example", "zeropct.example"):
        token = f"dmarc-q-{domain}"
        _, r = send(policy_gateway, message(frm=f"a@{domain}", subject=token))
        assert r.code == 250, r
        line = policy_gateway.wait_log(r"result=quarantined.*DMARC_QUARANTINE",
                                       count=1 + (domain == "zeropct.example"))
        assert line
    policy_gateway.sink.no_messages()
    assert len(policy_gateway.tx_lines()) == 2
    assert all("result=quarantined" in l for l in policy_gateway.tx_lines())


def test_dmarc_two_from_headers_never_pass(policy_gateway, dkim_keys):
    # aligned for reject.example by DKIM and SPF: the second From is the trick
    msg = sign(message(frm="a@reject.example", subject="dmarc-two-from",
                       extra=b"From: b@example.org\r\n"), dkim_keys, "reject.example")
    _, r = send(policy_gateway, msg, mail_from="bounce@reject.example", source="127.0.0.2")
    assert r.code == 550 and "more than one From" in r.text, r
    # several addresses: fail, with the strictest policy among the domains
    # that fail (example.org has none), scored by the shipped rules
    msg = sign(message(frm="a@reject.example, b@example.org", subject="dmarc-two-addr"),
               dkim_keys, "reject.example")
    _, r = send(policy_gateway, msg, mail_from="bounce@reject.example", source="127.0.0.2")
    assert r.code == 250, r
    assert ar_results(delivered_ar(policy_gateway.sink, b"dmarc-two-addr"))["dmarc"] == ["fail"]
    # several addresses, one of them a p=reject domain that fails: refused
    msg = message(frm="a@example.org, b@reject.example", subject="dmarc-two-addr-reject")
    _, r = send(policy_gateway, msg, mail_from="x@spf-pass.example.org")
    assert r.code == 550 and "DMARC" in r.text, r


def test_message_without_from_fails_dmarc_but_is_not_refused_as_a_policy(policy_gateway):
    # no owner asked for anything: scored (FROM_NOT_ONE_AUTHOR), not a DMARC reject
    msg = (b"To: user@example.test\r\nSubject: no-from\r\n"
           b"Date: Wed, 02 Dec 2026 10:00:00 +0000\r\n\r\nHello.\r\n")
    _, r = send(policy_gateway, msg, mail_from="a@spf-pass.example.org")
    assert r.code == 250, r
    line = policy_gateway.tx_lines()[-1]
    assert "FROM_NOT_ONE_AUTHOR" in line and "DMARC_REJECT" not in line, line
    assert 'dmarc=fail' in line, line


def test_dmarc_dns_timeout_tempfails(policy_gateway):
    start = time.monotonic()
    _, r = send(policy_gateway, message(frm="a@x.slow.example.org", subject="dmarc-slow"))
    assert r.code == 451, r
    assert time.monotonic() - start < 30


def test_dmarc_trusted_forwarder_is_exempt(sekishod, exact_sink, tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    text = (rules / "00-allow.rules").read_text()
    assert "list dmarc_trusted_forwarders" in text
    (rules / "00-allow.rules").write_text(re.sub(r"list dmarc_trusted_forwarders =.*",
                                                 "list dmarc_trusted_forwarders = 127.0.0.9/32",
                                                 text))
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", rules_dir=str(rules))
    _, r = send(d, message(frm="a@reject.example", subject="fwd"), source="127.0.0.9")
    assert r.code == 250, r
    _, r = send(d, message(frm="a@reject.example", subject="not-fwd"), source="127.0.0.10")
    assert r.code == 550, r


# ---- Authentication-Results ----------------------------------------------

def test_authentication_results_present_parseable_and_forgery_stripped(gateway, dkim_keys):
    forged = (b"Authentication-Results: gw.example.test; dkim=pass header.d=bank.example\r\n"
              b"Authentication-Results: GW.EXAMPLE.TEST (comment);\r\n\tspf=pass\r\n"
              b"Authentication-Results: mx.elsewhere.example; spf=pass\r\n")
    msg = sign(message(subject="ar-forged", extra=forged), dkim_keys, "example.org")
    _, r = send(gateway, msg, mail_from="a@spf-pass.example.org")
    assert r.code == 250
    got = gateway.sink.wait_messages(1, match=lambda m: b"ar-forged" in m.data)[-1].data
    ars = []
    received, rest = split_received(got, ars)
    assert len(ars) == 1 and AR_RE.match(ars[0]), ars
    assert ars[0].startswith(b"Authentication-Results: gw.example.test;")
    assert b"bank.example" not in rest and b"GW.EXAMPLE.TEST" not in rest
    assert b"Authentication-Results: mx.elsewhere.example; spf=pass" in rest
    assert gateway.wait_log("removed 2 Authentication-Results fields")
    results = ar_results(ars[0])
    # our own DKIM check ran before the forged fields were removed, and
    # the forged fields do not change it (the signature still passes,
    # since they were not signed)
    assert results["spf"] == ["pass"] and results["dkim"] == ["pass"], ars[0]


def test_authentication_results_without_checks_say_none(sekishod, exact_sink):
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", spf="no", dkim="no", dmarc="no",
                 authserv_id="mx.example.test")
    _, r = send(d, message(subject="ar-none"))
    assert r.code == 250
    ars = []
    split_received(sink.wait_messages(1)[-1].data, ars)
    assert ars == [b"Authentication-Results: mx.example.test; none\r\n"]


# ---- DNS block lists -----------------------------------------------------

def test_dnsbl_listing_refuses_at_connect(sekishod, exact_sink, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "dnsbl.rules").write_text(
        'rule LISTED_TWICE\n  when dnsbl.code == "bl.example.org=127.0.0.4"\n'
        '  action reject "5.7.1 Your address is on a block list"\n'
        'rule LISTED\n  when dnsbl.listed == bl.example.org\n  action tag "listed"\n')
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", rules_dir=str(rules),
                 dnsbl="bl.example.org")
    c = SmtpClient(d.port, source="127.0.0.6")
    assert c.greeting.code == 554 and "block list" in c.greeting.text
    c.close()
    _, r = send(d, message(subject="listed-once"), source="127.0.0.7")
    assert r.code == 250
    got = sink.wait_messages(1, match=lambda m: b"listed-once" in m.data)[-1].data
    assert b"X-Sekisho-Tag: listed" in got
    _, r = send(d, message(subject="not-listed"), source="127.0.0.8")
    got = sink.wait_messages(1, match=lambda m: b"not-listed" in m.data)[-1].data
    assert b"X-Sekisho-Tag" not in got
