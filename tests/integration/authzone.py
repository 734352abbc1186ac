"""
The test zones for sender authentication: SPF records, DKIM keys, DMARC
records and a DNS block list, served by the private unbound (dnspeer.py)
to every sekishod the suite starts.

Keys are made fresh for each test session: RSA-2048 and ed25519 with
dkimpy's dknewkey, a 512-bit RSA key with openssl (too weak: RFC 8301).
"""

import base64
import os
import subprocess

DKNEWKEY = "/usr/bin/dknewkey"
OPENSSL = "/usr/bin/openssl"
LDNS_KEYGEN = "/usr/bin/ldns-keygen"
LDNS_SIGNZONE = "/usr/bin/ldns-signzone"
SIGNED_ZONE = "signed.example"

# (name, SPF record) pairs; client addresses in the tests are 127.0.0.0/8
SPF = {
    "spf-pass.example.org": "v=spf1 ip4:127.0.0.0/8 -all",
    "spf-fail.example.org": "v=spf1 ip4:192.0.2.0/24 -all",
    "spf-softfail.example.org": "v=spf1 ip4:192.0.2.0/24 ~all",
    "spf-neutral.example.org": "v=spf1 ?all",
    "spf-only2.example.org": "v=spf1 ip4:127.0.0.2 -all",
    "spf-include.example.org": "v=spf1 include:spf-only2.example.org -all",
    "spf-mx.example.org": "v=spf1 mx -all",
    "spf-a.example.org": "v=spf1 a:host3.example.org -all",
    "spf-redirect.example.org": "v=spf1 redirect=spf-only2.example.org",
    "spf-exists.example.org": "v=spf1 exists:%{i}.allow.example.org -all",
    "spf-badmacro.example.org": "v=spf1 exists:%{i99999999999r}.x.example.org -all",
    "spf-badmacro2.example.org": "v=spf1 a:%{z}.example.org -all",
    "spf-void.example.org": "v=spf1 a:nx1.example.org a:nx2.example.org a:nx3.example.org -all",
    "spf-noinclude.example.org": "v=spf1 include:nothing.example.org -all",
    "spf-toomany.example.org": "v=spf1 " + " ".join(f"a:h{i}.example.org" for i in range(11))
                               + " -all",
    "spf-helo.example.org": "v=spf1 ip4:127.0.0.3 -all",
    # the DMARC scenarios' envelope domains: only 127.0.0.2 may send
    "reject.example": "v=spf1 ip4:127.0.0.2 -all",
    "bounce.reject.example": "v=spf1 ip4:127.0.0.2 -all",
    "strict.example": "v=spf1 ip4:127.0.0.2 -all",
    "bounce.strict.example": "v=spf1 ip4:127.0.0.2 -all",
}

# DMARC lives on domains of their own (the TLD .example is not in the
# public suffix list, so each is its own organizational domain): the
# rest of the suite sends From example.org/.net/.com and must not meet a
# DMARC policy by chance.
DMARC = {
    "_dmarc.reject.example": "v=DMARC1; p=reject",
    "_dmarc.spdomain.example": "v=DMARC1; p=none; sp=reject",
    "_dmarc.quarantine.example": "v=DMARC1; p=quarantine",
    "_dmarc.strict.example": "v=DMARC1; p=reject; adkim=s; aspf=s",
    "_dmarc.zeropct.example": "v=DMARC1; p=reject; pct=0",
}
DKIM_DOMAINS = ("example.org", "example.net", "example.com", "reject.example",
                "strict.example", "sub.strict.example", "quarantine.example")


def make_keys(folder):
    """{name: (private key bytes, DNS TXT value)} for rsa, ed25519, weak."""
    keys = {}
    for name, ktype in (("rsa", "rsa"), ("ed", "ed25519")):
        subprocess.run([DKNEWKEY, "--ktype", ktype, os.path.join(folder, name)], check=True,
                       capture_output=True)
        with open(os.path.join(folder, name + ".key"), "rb") as f:
            private = f.read()
        with open(os.path.join(folder, name + ".dns")) as f:
            txt = f.read().strip()
        keys[name] = (private, txt)
    pem = os.path.join(folder, "weak.pem")
    subprocess.run([OPENSSL, "genrsa", "-out", pem, "512"], check=True, capture_output=True)
    der = subprocess.run([OPENSSL, "rsa", "-in", pem, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    with open(pem, "rb") as f:
        keys["weak"] = (f.read(), "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode())
    return keys


def records(keys):
    """Every record of the test zones, as (name, type, value)."""
    out = [(name, "TXT", value) for name, value in SPF.items()]
    out += [(name, "TXT", value) for name, value in DMARC.items()]
    out += [
        ("spf-mx.example.org", "MX", "10 mx.spf-mx.example.org."),
        ("mx.spf-mx.example.org", "A", "127.0.0.4"),
        ("host3.example.org", "A", "127.0.0.3"),
        ("127.0.0.5.allow.example.org", "A", "127.0.0.2"),
        # the DNS block list: 127.0.0.6 is listed twice over, 127.0.0.7 once
        ("6.0.0.127.bl.example.org", "A", "127.0.0.2"),
        ("6.0.0.127.bl.example.org", "A", "127.0.0.4"),
        ("7.0.0.127.bl.example.org", "A", "127.0.0.10"),
        ("bl.example.org", "TXT", "test block list"),
        # the URI block list (keyed by registered domain): example.net, and
        # 192.168.1.1 reversed
        ("example.net.uribl.example.org", "A", "127.0.0.2"),
        ("1.1.168.192.uribl.example.org", "A", "127.0.0.4"),
    ]
    for i in range(11):
        out.append((f"h{i}.example.org", "A", "192.0.2.1"))
    for domain in DKIM_DOMAINS:
        out.append((f"rsa._domainkey.{domain}", "TXT", keys["rsa"][1]))
        out.append((f"ed._domainkey.{domain}", "TXT", keys["ed"][1]))
        out.append((f"weak._domainkey.{domain}", "TXT", keys["weak"][1]))
    return out


def make_signed_zone(folder):
    """A DNSSEC-signed zone signed.example (ECDSA P-256, NSEC3; valid to
    2037, as unbound reads RRSIG times as 32-bit signed) for the
    server's auth-zone, and the DS record to trust it by: (zone file, DS
    file). good.signed.example keeps its signed SPF record ("-all");
    forged.signed.example is changed after signing ("+all"), as an
    attacker on the path would, so its signature no longer holds."""
    zone = os.path.join(folder, SIGNED_ZONE + ".zone")
    with open(zone, "w") as f:
        f.write(f"$ORIGIN {SIGNED_ZONE}.\n$TTL 60\n"
                f"@ IN SOA ns.{SIGNED_ZONE}. admin.{SIGNED_ZONE}. 1 3600 600 86400 60\n"
                f"@ IN NS ns.{SIGNED_ZONE}.\nns IN A 127.0.0.1\n"
                'good IN TXT "v=spf1 ip4:127.0.0.0/8 -all"\n'
                'forged IN TXT "v=spf1 -all"\n')
    key = subprocess.run([LDNS_KEYGEN, "-a", "ECDSAP256SHA256", "-k", SIGNED_ZONE], cwd=folder,
                         check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([LDNS_SIGNZONE, "-n", "-e", "20370101000000", zone, key], cwd=folder,
                   check=True, capture_output=True)
    with open(zone + ".signed") as f:
        text = f.read()
    forged = text.replace('"v=spf1 -all"', '"v=spf1 +all"')
    assert forged != text
    with open(zone + ".signed", "w") as f:
        f.write(forged)
    return zone + ".signed", os.path.join(folder, key + ".ds")
