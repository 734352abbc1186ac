"""Configuration checking: `sekishod -n`, `sekisho check-config`, and a
daemon that refuses to start on a bad file."""

import subprocess

import pytest

import peers


def run(*args, timeout=20):
    r = subprocess.run(list(args), capture_output=True, timeout=timeout)
    peers.check_no_sanitizer_report(r.stderr)
    return r


def test_shipped_config_is_valid(tmp_path):
    """The shipped file, with its rules_dir pointed at the shipped rules
    (installed, they are in /etc/sekisho/rules), loads as a whole."""
    text = (peers.REPO / "etc" / "sekisho.conf").read_text()
    assert "\nrules_dir = /etc/sekisho/rules\n" in text
    conf = tmp_path / "sekisho.conf"
    conf.write_text(text.replace("\nrules_dir = /etc/sekisho/rules\n",
                                 f"\nrules_dir = {peers.REPO / 'rules'}\n"))
    r = run(peers.SEKISHOD, "-c", str(conf), "-n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"configuration OK\n"
    r = run(peers.SEKISHO, "-c", str(conf), "check-config")
    assert r.returncode == 0 and r.stdout == b"configuration OK\n", r.stderr


def test_shipped_config_lists_every_key():
    """Every key the daemon knows appears in the shipped file (commented
    default), so the file documents the whole configuration."""
    text = (peers.REPO / "etc" / "sekisho.conf").read_text()
    for key in ("listen", "myhostname", "user", "pid_file", "control_socket", "relay_domains",
                "mynetworks", "proxy_protocol_from", "max_sessions", "max_sessions_per_ip",
                "rules_dir", "quarantine_dir", "quarantine_retention",
                "max_recipients", "max_errors", "max_line_length", "message_size_limit",
                "smtpd_timeout", "smtpd_data_timeout", "shutdown_timeout", "tls_cert_file",
                "tls_key_file", "chunking", "next_hop", "next_hop_tls", "next_hop_tls_ca_file",
                "next_hop_connect_timeout", "next_hop_command_timeout", "next_hop_data_timeout",
                "next_hop_pool_size", "next_hop_pool_idle", "log", "syslog_facility",
                "analyzers", "analyzer_timeout", "analyzer_memory", "analyzer_max_jobs",
                "mime_max_parts", "mime_max_depth", "attachment_max_size",
                "archive_max_depth", "archive_max_members", "archive_max_total", "clamav",
                "clamav_db", "clamav_max_filesize", "clamav_max_scansize", "clamav_max_files",
                "clamav_max_recursion", "clamav_max_scantime", "dns_forward", "dns_timeout",
                "dns_trust_anchor", "authserv_id", "spf", "dkim", "dmarc", "psl_file",
                "dnsbl", "url_max", "protect_domains", "url_shorteners", "uribl",
                "uribl_max_lookups", "greet_pause", "ratelimit_backend", "ratelimit_fail",
                "ratelimit_timeout", "ratelimit_max_keys", "metrics_listen", "milter_listen",
                "milter_quarantine"):
        assert f"#{key} =" in text, key


BAD_LINES = [
    ("bogus_key = 1", 'unknown key "bogus_key"'),
    ("max_recipients = 0", "max_recipients: expected a whole number from 1 to 100000"),
    ("max_errors = abc", "max_errors: expected a whole number"),
    ("message_size_limit = 10X", "message_size_limit: expected a size"),
    ("next_hop = ftp://example", "next_hop: expected smtp://host[:port]"),
    ("clamav = clamd", "clamav: expected off, libclamav or clamd:/path/to/socket"),
    ("mynetworks = 10.0.0.0/33", "mynetworks: \"10.0.0.0/33\""),
    ("next_hop_tls = sometimes", "next_hop_tls: expected none, may or required"),
    ("smtpd_timeout = 5 minutes", "smtpd_timeout: expected a duration"),
    ("max_line_length = 100", "max_line_length: expected a whole number from 512 to 65536"),
    ("chunking = perhaps", "chunking:"),
    ("just some words", 'expected "key = value"'),
]


@pytest.mark.parametrize("line,message", BAD_LINES, ids=[b[0].split()[0] for b in BAD_LINES])
def test_bad_line_reported_with_file_and_line(tmp_path, line, message):
    conf = tmp_path / "s.conf"
    conf.write_text("# a comment\nlisten = 127.0.0.1:2525\n\n" + line + "\n"
                    "relay_domains = example.test\n")
    for cmd in ([peers.SEKISHOD, "-c", str(conf), "-n"],
                [peers.SEKISHO, "-c", str(conf), "check-config"]):
        r = run(*cmd)
        err = r.stderr.decode()
        assert r.returncode == 1, (cmd, err)
        assert r.stdout == b""
        assert err.startswith(f"{conf}:4: "), err
        assert message in err, err
        assert err.count("\n") == 1, err


def test_every_error_reported_at_once(tmp_path):
    conf = tmp_path / "s.conf"
    conf.write_text("\n".join(l for l, _ in BAD_LINES) + "\nmax_recipients = 5\n")
    r = run(peers.SEKISHOD, "-c", str(conf), "-n")
    assert r.returncode == 1
    lines = r.stderr.decode().splitlines()
    for i, (_, message) in enumerate(BAD_LINES, 1):
        assert any(l.startswith(f"{conf}:{i}: ") and message in l for l in lines), (i, lines)
    assert any(l.startswith(f"{conf}:{len(BAD_LINES) + 1}: max_recipients: already set")
               for l in lines), lines


def test_continuation_lines_and_comments(tmp_path):
    conf = tmp_path / "s.conf"
    conf.write_text("relay_domains = example.test,\n"
                    "    example.org\n"
                    "  # an indented comment is still a comment\n"
                    "max_recipients = 5\n")
    r = run(peers.SEKISHOD, "-c", str(conf), "-n")
    assert r.returncode == 0, r.stderr
    # a '#' after text is part of the value, here an invalid host name
    conf.write_text("max_recipients = 5\nmyhostname = gw.example.test # comment?\n")
    r = run(peers.SEKISHOD, "-c", str(conf), "-n")
    assert r.returncode == 1
    assert r.stderr.decode().startswith(f"{conf}:2: myhostname")


def test_missing_file(tmp_path):
    r = run(peers.SEKISHOD, "-c", str(tmp_path / "nope.conf"), "-n")
    assert r.returncode == 1
    assert f"{tmp_path / 'nope.conf'}: cannot open" in r.stderr.decode()


def test_daemon_refuses_to_start_on_bad_config(tmp_path):
    conf = tmp_path / "s.conf"
    conf.write_text("listen = 127.0.0.1:1\nmax_sessions = many\n")
    r = run(peers.SEKISHOD, "-c", str(conf))
    assert r.returncode == 1
    assert f"{conf}:2: max_sessions:" in r.stderr.decode()


def test_daemon_fails_when_port_taken(sekishod):
    first = sekishod()
    second = sekishod(start=False, listen=f"127.0.0.1:{first.port}")
    r = subprocess.run([peers.SEKISHOD, "-c", str(second.conf_path)], capture_output=True,
                       timeout=20)
    assert r.returncode == 1
    assert f"error: listen 127.0.0.1:{first.port}: Address already in use" in r.stderr.decode()
    with first.client() as c:
        assert c.ehlo().code == 250


@pytest.mark.skipif(not peers.SANITIZER_BUILD, reason="leaks show only in an ASan build")
def test_startup_failure_leaks_nothing(sekishod):
    first = sekishod()
    second = sekishod(start=False, listen=f"127.0.0.1:{first.port}")
    r = run(peers.SEKISHOD, "-c", str(second.conf_path))
    assert r.returncode == 1


def test_usage_errors():
    r = run(peers.SEKISHOD, "-x")
    assert r.returncode == 2 and b"usage: sekishod" in r.stderr
    r = run(peers.SEKISHO, "frobnicate")
    assert r.returncode == 2 and b"unknown command" in r.stderr
    r = run(peers.SEKISHOD, "-V")
    assert r.returncode == 0 and r.stdout.startswith(b"sekishod ")
