"""Rate limits, connection controls and monitoring through the running
daemon: limits declared in rule files trip at the configured point with
a 4xx; two daemons share one real redis-server and enforce one combined
limit; a killed Redis gives the configured fail mode; the metrics
endpoint and `sekisho stats` count what was sent."""
import re
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

import peers
from peers import SmtpClient
from redispeer import RedisServer

LIMITS = r"""
limit SENDER_FLOOD
  desc   "Too much mail from one sender"
  key    env.from
  count  messages
  rate   3/1h
  burst  3
  action tempfail "4.7.0 Too much mail from this sender; try again later"

limit RCPT_FLOOD
  key    env.from_domain
  count  recipients
  rate   2/1h
  when   env.from_domain == many.example
  action tempfail "4.7.0 Too many recipients from your domain"

limit CONN_FLOOD
  key    client.ip
  count  connections
  rate   2/1h
  when   client.ip in [127.0.0.50 127.0.0.51]
  action tempfail "4.7.0 Too many connections from your address"

limit NET_FLOOD
  key    client.net
  count  connections
  rate   3/1h
  when   client.ip in [127.0.7.0/24 127.0.8.0/24]
  action tempfail "4.7.0 Too many connections from your network"

limit BURSTY
  key    env.from
  count  messages
  rate   100/1h

rule SECOND_FROM_BURSTY
  desc   "The count is a fact like any other"
  when   rate.bursty.count >= 2 and env.from == counted@example.net
  action tag "second or later from this sender"

rule EARLY
  when   client.early_talker
  action reject "5.5.1 You spoke before the greeting"
"""

MSG = (b"From: <sender@example.net>\r\nTo: <rcpt@example.test>\r\nSubject: rate\r\n"
       b"Message-ID: <rate@example.net>\r\n\r\nbody\r\n")


def rules_dir(tmp_path, text=LIMITS, name="rules"):
    d = tmp_path / name
    d.mkdir(exist_ok=True)
    (d / "10-test.rules").write_text(text)
    return d


def send(d, mail_from, rcpts=("rcpt@example.test",), source=None):
    """One transaction; returns (mail reply, [rcpt replies], data reply or None)."""
    with SmtpClient(d.port, source=source) as c:
        assert c.greeting.code == 220, c.greeting
        c.ehlo()
        mail = c.cmd(f"MAIL FROM:<{mail_from}>")
        if mail.code != 250:
            return mail, [], None
        replies = [c.cmd(f"RCPT TO:<{r}>") for r in rcpts]
        if not any(r.code == 250 for r in replies):
            return mail, replies, None
        return mail, replies, c.data(MSG)


@pytest.fixture
def limited(sekishod, exact_sink, tmp_path, free_port):
    sink = exact_sink()
    metrics_port = free_port()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", rules_dir=str(rules_dir(tmp_path)),
                 metrics_listen=f"127.0.0.1:{metrics_port}")
    d.sink = sink
    d.metrics_port = metrics_port
    return d


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def metric(text, name, labels=""):
    m = re.search(r"^" + re.escape(name + labels) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def test_message_burst_gets_4xx_at_mail_after_the_burst(limited):
    for i in range(3):
        mail, _, data = send(limited, "flood@example.net")
        assert mail.code == 250 and data.code == 250, (i, mail, data)
    mail, _, _ = send(limited, "flood@example.net")
    assert mail.code == 451 and mail.text.startswith(
        "4.7.0 Too much mail from this sender; try again later (ref "), mail
    # Keys are case-insensitive; another sender is not affected.
    assert send(limited, "FLOOD@Example.NET")[0].code == 451
    assert send(limited, "calm@example.net")[0].code == 250
    line = limited.wait_log(r"limit=SENDER_FLOOD key=flood@example.net client=127.0.0.1 "
                            r"tripped: over 3 messages per 3600s")[0]
    assert line
    assert len(limited.sink.wait_messages(4)) == 4


def test_recipient_limit_refuses_only_the_recipients_over_it(limited):
    mail, rcpts, data = send(limited, "a@many.example",
                             rcpts=("r1@example.test", "r2@example.test", "r3@example.test"))
    assert [r.code for r in rcpts] == [250, 250, 451], rcpts
    assert "Too many recipients from your domain" in rcpts[2].text
    # The refused recipient does not refuse the message for the others.
    assert data.code == 250, data
    got = limited.sink.wait_messages(1)[0]
    assert got.rcpts == ["r1@example.test", "r2@example.test"]
    # The next transaction of that domain is over too, at its first RCPT.
    _, rcpts, data = send(limited, "b@many.example")
    assert rcpts[0].code == 451 and data is None


def test_connection_rate_refuses_at_connect_per_address(limited):
    for _ in range(2):
        c = SmtpClient(limited.port, source="127.0.0.50")
        assert c.greeting.code == 220
        c.close()
    c = SmtpClient(limited.port, source="127.0.0.50")
    assert c.greeting.code == 421 and "Too many connections from your address" in c.greeting.text
    c.wait_closed()
    c.close()
    # Another address has its own bucket.
    c = SmtpClient(limited.port, source="127.0.0.51")
    assert c.greeting.code == 220
    c.close()


def test_network_limit_counts_the_whole_slash_24(limited):
    codes = []
    for src in ("127.0.7.1", "127.0.7.2", "127.0.7.3", "127.0.7.4", "127.0.8.1"):
        c = SmtpClient(limited.port, source=src)
        codes.append(c.greeting.code)
        c.close()
    assert codes == [220, 220, 220, 421, 220]
    limited.wait_log(r"limit=NET_FLOOD key=127\.0\.7\.0/24 client=127\.0\.7\.4 tripped")


def test_rate_count_is_a_fact_rules_combine(limited):
    send(limited, "counted@example.net")
    send(limited, "counted@example.net")
    first, second = limited.sink.wait_messages(2)
    assert b"X-Sekisho-Tag" not in first.data
    assert b"X-Sekisho-Tag: second or later from this sender" in second.data


def test_early_talker_is_refused(sekishod, tmp_path):
    d = sekishod(rules_dir=str(rules_dir(tmp_path)), greet_pause="1s")
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    s.sendall(b"EHLO impatient.example\r\n")
    reply = s.recv(4096)
    assert reply.startswith(b"554 5.5.1 You spoke before the greeting"), reply
    s.close()
    d.wait_log(r"spoke before the greeting")
    # A client that waits is greeted after the pause.
    start = time.monotonic()
    with SmtpClient(d.port) as c:
        assert c.greeting.code == 220
    assert time.monotonic() - start >= 0.9


def test_reload_keeps_the_counts(limited):
    for _ in range(3):
        assert send(limited, "steady@example.net")[0].code == 250
    limited.sighup()
    limited.wait_log(r"reload: configuration .* loaded")
    assert send(limited, "steady@example.net")[0].code == 451


def test_metrics_endpoint_counts_what_was_sent(limited):
    before = scrape(limited.metrics_port)
    assert "# TYPE sekisho_messages_total counter" in before
    for _ in range(5):
        send(limited, "metered@example.net")
    c = SmtpClient(limited.port, source="127.0.0.50")
    c.close()
    text = scrape(limited.metrics_port)
    assert metric(text, "sekisho_messages_total", '{result="delivered"}') == 3
    assert metric(text, "sekisho_messages_total", '{result="refused"}') == 2
    assert metric(text, "sekisho_actions_total", '{action="none"}') == 3
    assert metric(text, "sekisho_actions_total", '{action="tempfail"}') == 2
    assert metric(text, "sekisho_limit_tripped_total", '{limit="SENDER_FLOOD"}') == 2
    assert metric(text, "sekisho_sessions_total") == 6
    assert metric(text, "sekisho_limit_checks_total") >= 5 * 2
    assert metric(text, "sekisho_filter_seconds_count", '{filter="ratelimit"}') > 0
    assert metric(text, "sekisho_nexthop_errors_total", '{stage="connect"}') == 0
    # The same figures, for a terminal.
    r = subprocess.run([peers.SEKISHO, "-c", str(limited.conf_path), "stats"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert re.search(r"SENDER_FLOOD\s+metered@example.net\s+2", r.stdout), r.stdout
    assert re.search(r"delivered\s+3", r.stdout), r.stdout
    r = subprocess.run([peers.SEKISHO, "-c", str(limited.conf_path), "stats", "--prometheus"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "sekisho_messages_total{result=\"delivered\"} 3" in r.stdout
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"http://127.0.0.1:{limited.metrics_port}/other", timeout=5)
    assert e.value.code == 404


def test_nexthop_errors_are_counted(sekishod, free_port, tmp_path):
    metrics_port = free_port()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{free_port()}", rules_dir=str(rules_dir(tmp_path)),
                 metrics_listen=f"127.0.0.1:{metrics_port}")
    mail, _, _ = send(d, "x@example.net")
    assert mail.code == 451
    assert metric(scrape(metrics_port), "sekisho_nexthop_errors_total",
                  '{stage="connect"}') == 1


# ---- several nodes, one Redis --------------------------------------------

@pytest.fixture
def redis(tmp_path, free_port):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    r = RedisServer(tmp_path / "redis", free_port()).start()
    yield r
    r.stop()


SHARED = r"""
limit SHARED_SENDER
  key    env.from
  count  messages
  rate   4/1h
  action tempfail "4.7.0 Too much mail from this sender (shared)"
"""


def test_two_nodes_share_one_limit_in_redis(sekishod, exact_sink, tmp_path, redis):
    sink = exact_sink()
    nodes = [sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}",
                      rules_dir=str(rules_dir(tmp_path, SHARED, f"rules{i}")),
                      ratelimit_backend=redis.url) for i in range(2)]
    codes = [send(nodes[i % 2], "shared@example.net")[0].code for i in range(6)]
    assert codes == [250, 250, 250, 250, 451, 451], codes
    # The counter is in Redis, under the limit's name and key, expiring.
    assert redis.command("EXISTS", "sekisho:rl:shared_sender|shared@example.net") == "1"
    ttl = int(redis.command("PTTL", "sekisho:rl:shared_sender|shared@example.net"))
    assert 0 < ttl <= 3600 * 1000
    # An event over the limit is not counted: the stored time does not move.
    tat = redis.command("GET", "sekisho:rl:shared_sender|shared@example.net")
    assert send(nodes[0], "shared@example.net")[0].code == 451
    assert redis.command("GET", "sekisho:rl:shared_sender|shared@example.net") == tat
    for n in nodes:
        n.wait_log(r"limit=SHARED_SENDER key=shared@example.net .* tripped")


def test_concurrent_nodes_never_exceed_the_combined_limit(sekishod, exact_sink, tmp_path,
                                                         redis):
    """Atomic per key: 40 transactions at once through two nodes, 4 pass."""
    import concurrent.futures
    sink = exact_sink()
    nodes = [sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}",
                      rules_dir=str(rules_dir(tmp_path, SHARED, f"rules{i}")),
                      ratelimit_backend=redis.url) for i in range(2)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as ex:
        codes = list(ex.map(lambda i: send(nodes[i % 2], "race@example.net")[0].code,
                            range(40)))
    assert codes.count(250) == 4 and codes.count(451) == 36, codes


@pytest.mark.parametrize("mode", ["closed", "open"])
def test_redis_killed_mid_test_gives_the_configured_fail_mode(sekishod, exact_sink, tmp_path,
                                                             redis, mode):
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}",
                 rules_dir=str(rules_dir(tmp_path, SHARED)), ratelimit_backend=redis.url,
                 ratelimit_fail=mode, ratelimit_timeout="1s")
    assert send(d, "before@example.net")[0].code == 250
    redis.kill()
    mail, _, data = send(d, "during@example.net")
    if mode == "closed":
        assert mail.code == 451 and "(shared)" in mail.text, mail
    else:
        assert mail.code == 250 and data.code == 250, (mail, data)
    d.wait_log(rf"limit=SHARED_SENDER key=during@example.net backend=redis unavailable "
               rf"\(redis: .*\): failing {mode}")
    # Redis back: after the one-second pause the limit counts again.
    redis.start()
    time.sleep(1.2)
    assert send(d, "after@example.net")[0].code == 250
    assert redis.command("EXISTS", "sekisho:rl:shared_sender|after@example.net") == "1"
    assert d.proc.poll() is None


def test_redis_password_and_database(sekishod, exact_sink, tmp_path, redis):
    redis.command("CONFIG", "SET", "requirepass", "p@ss:word")
    sink = exact_sink()
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}",
                 rules_dir=str(rules_dir(tmp_path, SHARED)),
                 ratelimit_backend=f"redis://:p@ss:word@127.0.0.1:{redis.port}/3")
    assert send(d, "authed@example.net")[0].code == 250
    assert redis.command("-a", "p@ss:word", "--no-auth-warning", "-n", "3", "EXISTS",
                         "sekisho:rl:shared_sender|authed@example.net") == "1"


def test_bad_backend_is_refused_at_startup(sekishod, tmp_path):
    d = sekishod(start=False, rules_dir=str(rules_dir(tmp_path, SHARED)),
                 ratelimit_backend="memcached://127.0.0.1")
    r = subprocess.run([peers.SEKISHOD, "-c", str(d.conf_path), "-n"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and "ratelimit_backend" in r.stderr, r.stderr
    d.reconfigure(ratelimit_backend="memory", metrics_listen="localhost:http")
    r = subprocess.run([peers.SEKISHOD, "-c", str(d.conf_path), "-n"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and 'metrics_listen "localhost:http"' in r.stderr, r.stderr


# ---- the shipped rules ------------------------------------------------------

def shipped_rules(tmp_path, edit=None):
    d = tmp_path / "shipped"
    shutil.copytree(peers.REPO / "rules", d)
    if edit:
        f = d / "10-limits.rules"
        f.write_text(edit(f.read_text()))
    return d


def test_shipped_limits_exempt_loopback_and_refuse_listed_clients(sekishod, exact_sink,
                                                                   tmp_path):
    sink = exact_sink()
    rules = shipped_rules(tmp_path, lambda t: t.replace("list dnsbl_refuse =",
                                                        "list dnsbl_refuse = bl.example.org"))
    d = sekishod(next_hop=f"smtp://127.0.0.1:{sink.port}", rules_dir=str(rules),
                 dnsbl="bl.example.org")
    # 127.0.0.6 is listed in the test zone: refused at connect by the shipped rule.
    c = SmtpClient(d.port, source="127.0.0.6")
    assert c.greeting.code == 554 and "block list we use" in c.greeting.text, c.greeting
    c.close()
    # Loopback is exempt from the connection rate (60/1m, burst 30): over
    # the limit as a fact, but neither refused nor logged as a trip.
    for _ in range(40):
        c = SmtpClient(d.port)
        assert c.greeting.code == 220
        c.close()
    time.sleep(0.3)
    assert "tripped" not in d.log()


def test_shipped_connection_rate_trips_for_others(sekishod, tmp_path):
    rules = shipped_rules(tmp_path, lambda t: t.replace(
        "list limit_exempt = 127.0.0.0/8 ::1", "list limit_exempt = 127.0.0.1"))
    d = sekishod(rules_dir=str(rules))
    codes = []
    for _ in range(32):
        c = SmtpClient(d.port, source="127.0.0.77")
        codes.append(c.greeting.code)
        c.close()
    assert codes[:30] == [220] * 30 and 421 in codes[30:], codes
    d.wait_log(r"limit=CONNECTION_RATE key=127\.0\.0\.77 client=127\.0\.0\.77 tripped")
