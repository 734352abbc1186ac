"""
Real peers for the sekishod integration tests, all on loopback.

- Sekishod: the daemon under test, started from a generated config and
  stopped by PID; its stderr log is kept in a file and scanned for
  sanitizer reports when it stops.
- ExactSink: a tiny SMTP/LMTP server written here with the standard library
  only. Postfix's smtp-sink cannot be used where the exact bytes matter: its
  dump files (-d) are written as text lines ending in LF, so a CR that is not
  part of CR LF disappears and the original line endings cannot be told
  apart. ExactSink records the envelope and the DATA bytes exactly as
  received, after dot-unstuffing, and can be told to misbehave (refuse,
  answer 421, close mid-DATA, give per-recipient LMTP replies).
- SmtpSink: Postfix's smtp-sink(1), used where the exact bytes do not matter:
  counting delivered messages (smuggling tests), LMTP over TCP and unix
  sockets, next-hop failure injection with its -Q/-W options.
- PostfixInstance: a private Postfix (own config, queue and data
  directories) listening on loopback, used as a real next hop that relays
  on to an ExactSink, or as the MTA in front of our milter. The system
  Postfix is not touched.

Everything has a timeout: nothing here may hang a test run.
"""

import grp
import os
import pwd
import re
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEKISHOD = os.environ.get("SEKISHOD", str(REPO / "sekishod"))
SEKISHO = os.environ.get("SEKISHO", str(REPO / "sekisho"))
SMTP_SINK = "/usr/sbin/smtp-sink"
POSTFIX_MASTER = "/usr/lib/postfix/sbin/master"
SWAKS = "/usr/bin/swaks"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"

# Sanitizer reports that make a daemon run fail, whatever the test said.
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "ThreadSanitizer",
                     "MemorySanitizer", "runtime error:")

HOSTNAME = "gw.example.test"


def _is_sanitizer_build(path):
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


# Built with AddressSanitizer: leaks at exit are reported (CI's second run).
SANITIZER_BUILD = _is_sanitizer_build(SEKISHOD)


def ipv6_loopback_available():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


HAVE_IPV6 = ipv6_loopback_available()


def wait_until(predicate, timeout=10.0, interval=0.02, what="condition"):
    """Poll predicate until it returns a true value; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class PortAllocator:
    """Free TCP ports on loopback (IPv4 and, when present, IPv6), never
    the same one twice in a run."""

    def __init__(self):
        self.used = set()
        self.lock = threading.Lock()

    def __call__(self):
        with self.lock:
            for _ in range(200):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                    s.bind(("127.0.0.1", 0))
                    port = s.getsockname()[1]
                if port in self.used:
                    continue
                if HAVE_IPV6:
                    try:
                        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
                            s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                            s6.bind(("::1", port))
                    except OSError:
                        continue
                self.used.add(port)
                return port
        raise RuntimeError("no free port found")


def port_accepts(port, host="127.0.0.1"):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        try:
            s.connect((host, port))
            return True
        except OSError:
            return False


def stop_process(proc, sig=signal.SIGTERM, timeout=10.0):
    """Signal a process we started (by its PID) and reap it; SIGKILL if it
    does not go. Returns its exit status."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    return proc.returncode


# --------------------------------------------------------------------------
# A raw SMTP client: exact bytes out, replies parsed, every read timed out.
# --------------------------------------------------------------------------

class Reply:
    def __init__(self, code, lines, raw):
        self.code = code
        self.lines = lines      # text after "NNN-" / "NNN ", one per line
        self.raw = raw          # the bytes as received

    @property
    def text(self):
        return "\n".join(self.lines)

    def __repr__(self):
        return f"Reply({self.code}, {self.lines!r})"


class ConnectionClosed(Exception):
    pass


class SmtpClient:
    def __init__(self, port, host="127.0.0.1", timeout=10.0, read_greeting=True,
                 family=None, source=None):
        if family is None:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if source:
            # another loopback address (127.0.0.0/8): the client the checks see
            self.sock.bind((source, 0))
        self.sock.connect((host, port))
        self.timeout = timeout
        self.buf = b""
        self.greeting = self.read_reply() if read_greeting else None

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionClosed(f"connection closed; unread: {self.buf!r}")
        self.buf += chunk

    def read_line(self, timeout=None):
        timeout = self.timeout if timeout is None else timeout
        while b"\n" not in self.buf:
            self._fill(timeout)
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def read_reply(self, timeout=None):
        raw = b""
        lines = []
        while True:
            line = self.read_line(timeout)
            raw += line
            text = line.rstrip(b"\r\n").decode("utf-8", "replace")
            if len(text) < 3 or not text[:3].isdigit():
                raise AssertionError(f"not an SMTP reply line: {line!r}")
            code = int(text[:3])
            lines.append(text[4:])
            if len(text) == 3 or text[3] == " ":
                return Reply(code, lines, raw)

    def read_replies(self, n, timeout=None):
        return [self.read_reply(timeout) for _ in range(n)]

    def cmd(self, line, timeout=None):
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.read_reply(timeout)

    def ehlo(self, name="client.example.net"):
        r = self.cmd(f"EHLO {name}")
        assert r.code == 250, r
        return r

    def data(self, message, timeout=None):
        """DATA, then the message (dot-stuffed here), then the end marker."""
        r = self.cmd("DATA")
        assert r.code == 354, r
        self.send(dot_stuff(message) + b".\r\n")
        return self.read_reply(timeout)

    def no_reply_within(self, seconds):
        """True if nothing at all arrives within seconds (and no close)."""
        if self.buf:
            return False
        self.sock.settimeout(seconds)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return True
        self.buf += chunk
        return False

    def wait_closed(self, timeout=None):
        """Read until the server closes; return everything read meanwhile."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        got = self.buf
        self.buf = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"server did not close the connection; got {got!r}")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return got
            if not chunk:
                return got
            got += chunk

    def starttls(self, context, server_hostname=None):
        assert not self.buf, f"unread bytes before TLS: {self.buf!r}"
        self.sock.settimeout(self.timeout)
        self.sock = context.wrap_socket(self.sock, server_hostname=server_hostname)
        return self.sock

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def dot_stuff(message):
    """What a client sends for message (CR LF lines): leading dots doubled,
    a final CR LF added when missing."""
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    lines = message.split(b"\r\n")
    return b"\r\n".join(b"." + l if l.startswith(b".") else l for l in lines)


def rules_hit(line):
    """The rules of a transaction log line's rules= field: one name, several
    quoted, or none ("")."""
    m = re.search(r' rules=(?:"([^"]*)"|(\S+))', line)
    if not m:
        return []
    return (m.group(1) if m.group(1) is not None else m.group(2)).split()


def split_received(data, auth_results=None):
    """Split a message into its leading Received: headers (each with its
    continuation lines, as bytes) and the rest. The Authentication-Results
    field the gateway adds after its Received: is taken off the rest too
    (and appended to auth_results, when a list is given)."""
    received = []
    rest = data
    while rest[:9].lower() in (b"received:", b"authentic"):
        is_ar = rest[:23].lower() == b"authentication-results:"
        if not is_ar and rest[:9].lower() != b"received:":
            break
        end = 0
        while True:
            nl = rest.find(b"\r\n", end)
            assert nl >= 0, f"unterminated header in {data[:200]!r}"
            end = nl + 2
            if rest[end:end + 1] not in (b" ", b"\t"):
                break
        if is_ar:
            if auth_results is not None:
                auth_results.append(rest[:end])
        else:
            received.append(rest[:end])
        rest = rest[end:]
    return received, rest


# --------------------------------------------------------------------------
# ExactSink: SMTP/LMTP server that records exact bytes and can misbehave.
# --------------------------------------------------------------------------

class SinkMessage:
    def __init__(self, helo, mail_from, mail_params, rcpts, data, conn_id, proto, tls=None):
        self.tls = tls          # TLS version when the message came over TLS
        self.helo = helo
        self.mail_from = mail_from
        self.mail_params = mail_params
        self.rcpts = rcpts
        self.data = data
        self.conn_id = conn_id
        self.proto = proto

    def __repr__(self):
        return (f"SinkMessage(from={self.mail_from!r}, rcpts={self.rcpts!r}, "
                f"size={len(self.data)})")


class _SinkHandler(socketserver.BaseRequestHandler):
    def setup(self):
        self.sink = self.server.sink
        self.request.settimeout(30)
        self.buf = b""
        with self.sink.lock:
            self.sink.connections += 1
            self.conn_id = self.sink.connections
            self.sink.open_socks.add(self.request)

    def finish(self):
        with self.sink.lock:
            self.sink.open_socks.discard(self.request)

    def send(self, text):
        self.request.sendall(text.encode() + b"\r\n")

    def readline(self):
        while b"\n" not in self.buf:
            chunk = self.request.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def read_data(self):
        """Raw bytes up to CR LF . CR LF; returns them unstuffed, or None."""
        while True:
            if self.buf.startswith(b".\r\n"):
                raw, self.buf = b"", self.buf[3:]
                break
            i = self.buf.find(b"\r\n.\r\n")
            if i >= 0:
                raw, self.buf = self.buf[:i + 2], self.buf[i + 5:]
                break
            if self.sink.close_mid_data and len(self.buf) > 0:
                return None
            chunk = self.request.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        lines = raw.split(b"\r\n")
        return b"\r\n".join(l[1:] if l.startswith(b".") else l for l in lines)

    def handle(self):
        sink = self.sink
        self.tls = None
        try:
            self._handle(sink)
        except (OSError, socket.timeout):
            pass
        finally:
            if self.tls:
                try:
                    self.request.close()
                except OSError:
                    pass

    def start_tls(self):
        raw = self.request
        tls = self.sink.tls_context.wrap_socket(raw, server_side=True)
        tls.settimeout(30)
        with self.sink.lock:
            self.sink.open_socks.discard(raw)
            self.sink.open_socks.add(tls)
        self.request = tls
        self.buf = b""
        self.tls = tls.version()

    def _handle(self, sink):
        if sink.greeting_reply:
            self.send(sink.greeting_reply)
            if sink.greeting_reply.startswith("4") or sink.greeting_reply.startswith("5"):
                return
        else:
            self.send(f"220 {sink.hostname} ESMTP ExactSink")
        helo = None
        proto = None
        mail_from = None
        params = ""
        rcpts = []
        while True:
            line = self.readline()
            if line is None:
                return
            text = line.decode("utf-8", "replace")
            verb = text.split(" ", 1)[0].upper()
            with sink.lock:
                sink.commands.append(text)
            if verb in ("EHLO", "LHLO", "HELO"):
                helo = text[5:]
                proto = {"EHLO": "ESMTP", "LHLO": "LMTP", "HELO": "SMTP"}[verb]
                mail_from, rcpts = None, []
                if verb == "HELO":
                    self.send(f"250 {sink.hostname}")
                else:
                    exts = ["PIPELINING", "SIZE 104857600", "8BITMIME", "SMTPUTF8",
                            "ENHANCEDSTATUSCODES"]
                    if sink.tls_context and not self.tls:
                        exts.append("STARTTLS")
                    lines = [sink.hostname] + exts
                    for i, l in enumerate(lines):
                        self.send(("250 " if i == len(lines) - 1 else "250-") + l)
            elif verb == "MAIL":
                reply = sink.take("mail_reply")
                if reply:
                    self.send(reply)
                    if reply.startswith("421"):
                        return
                    continue
                m = re.match(r"MAIL FROM:<([^>]*)>(.*)", text, re.I)
                mail_from, params, rcpts = m.group(1), m.group(2).strip(), []
                self.send("250 2.1.0 Ok")
            elif verb == "RCPT":
                m = re.match(r"RCPT TO:<([^>]*)>", text, re.I)
                addr = m.group(1)
                reply = sink.rcpt_replies.get(addr.lower())
                if reply:
                    self.send(reply)
                    if reply.startswith("421"):
                        return
                else:
                    rcpts.append(addr)
                    self.send("250 2.1.5 Ok")
            elif verb == "DATA":
                reply = sink.take("data_reply")
                if reply:
                    self.send(reply)
                    if reply.startswith("421"):
                        return
                    continue
                self.send("354 End data with <CR><LF>.<CR><LF>")
                data = self.read_data()
                if data is None:
                    with sink.lock:
                        sink.cut_transfers += 1
                    return
                if sink.close_after_data:
                    with sink.lock:
                        sink.cut_transfers += 1
                    return
                end_reply = sink.take("end_reply")
                if proto == "LMTP":
                    accepted = []
                    for r in rcpts:
                        rr = sink.lmtp_replies.get(r.lower(), "250 2.0.0 Ok: delivered")
                        if rr.startswith("2"):
                            accepted.append(r)
                        self.send(rr)
                    if accepted:
                        sink._record(SinkMessage(helo, mail_from, params, accepted, data,
                                                 self.conn_id, proto, self.tls))
                else:
                    if end_reply is None or end_reply.startswith("2"):
                        sink._record(SinkMessage(helo, mail_from, params, list(rcpts), data,
                                                 self.conn_id, proto, self.tls))
                    self.send(end_reply or "250 2.0.0 Ok: queued")
                    if end_reply and end_reply.startswith("421"):
                        return
                mail_from, rcpts = None, []
            elif verb == "STARTTLS" and sink.tls_context and not self.tls:
                self.send("220 2.0.0 Ready to start TLS")
                try:
                    self.start_tls()
                except (ssl.SSLError, OSError) as e:
                    with sink.lock:
                        sink.tls_failures.append(repr(e))
                    return
                helo, mail_from, rcpts = None, None, []
            elif verb == "RSET":
                if mail_from is not None:
                    with sink.lock:
                        sink.rsets += 1
                mail_from, rcpts = None, []
                self.send("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.send("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.send("221 2.0.0 Bye")
                return
            else:
                self.send("502 5.5.2 Error: command not recognized")


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    # socketserver's default backlog is 5: with 20 sessions opening their
    # next-hop connections at once, the kernel completed handshakes it then
    # dropped, and the gateway waited for a greeting that never came
    request_queue_size = 128


class _TCP6Server(_TCPServer):
    address_family = socket.AF_INET6


class _UnixServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128


class ExactSink:
    """In-process SMTP (or LMTP) next hop recording exact message bytes.

    Misbehaviour knobs (set them before the transaction):
      rcpt_replies[addr]  reply for RCPT TO:<addr> ("550 5.1.1 ...")
      lmtp_replies[addr]  LMTP: the end-of-data reply for that recipient
      mail_reply / data_reply / end_reply: one-shot replies for the next
          MAIL / DATA command / end of data (421 also closes)
      close_mid_data      close the connection while the message comes in
      close_after_data    read the message, then close without a reply
      greeting_reply      instead of the 220 greeting
      tls_context         an ssl server context: offer STARTTLS
    """

    def __init__(self, port=None, unix_path=None, hostname="sink.example.test",
                 host="127.0.0.1"):
        self.hostname = hostname
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.messages = []
        self.commands = []
        self.connections = 0
        self.rsets = 0
        self.cut_transfers = 0
        self.open_socks = set()
        self.rcpt_replies = {}
        self.lmtp_replies = {}
        self.oneshot = {}
        self.close_mid_data = False
        self.close_after_data = False
        self.greeting_reply = None
        self.tls_context = None
        self.tls_failures = []
        if unix_path:
            self.server = _UnixServer(unix_path, _SinkHandler)
            self.address = unix_path
        else:
            cls = _TCP6Server if ":" in host else _TCPServer
            self.server = cls((host, port or 0), _SinkHandler)
            self.address = self.server.server_address
        self.port = None if unix_path else self.server.server_address[1]
        self.server.sink = self
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def set_once(self, what, reply):
        with self.lock:
            self.oneshot[what] = reply

    def take(self, what):
        with self.lock:
            return self.oneshot.pop(what, None)

    def _record(self, msg):
        with self.cond:
            self.messages.append(msg)
            self.cond.notify_all()

    def wait_messages(self, n=1, timeout=10.0, match=None):
        """Wait until n messages (those for which match(msg) is true) are in."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [m for m in self.messages if match is None or match(m)]
                if len(found) >= n:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"sink: {len(found)} of {n} messages after {timeout}s; "
                        f"have {self.messages!r}; commands {self.commands[-20:]!r}")
                self.cond.wait(left)

    def no_messages(self, settle=0.3, match=None):
        time.sleep(settle)
        with self.lock:
            return [m for m in self.messages if match is None or match(m)] == []

    def drop_connections(self):
        """Close every open connection from the server side (a next hop
        that times out idle clients)."""
        with self.lock:
            socks = list(self.open_socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.drop_connections()


# --------------------------------------------------------------------------
# Postfix smtp-sink
# --------------------------------------------------------------------------

def _unprivileged_user():
    for name in ("postfix", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    return None


class SmtpSink:
    """Postfix's smtp-sink, dumping each transaction (-d) into a folder.

    smtp-sink creates a dump file at MAIL and removes it when the
    transaction is aborted, so once the sessions are over each file is one
    delivered message. The dump is text with LF line endings (CRs dropped):
    good for counting and for content checks, not for exact bytes."""

    def __init__(self, workdir, port=None, unix_path=None, args=(), lmtp=False):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        # smtp-sink drops to an unprivileged user when started as root: its
        # dump folder must be reachable by that user, which pytest's
        # private tmp_path is not.
        self.dump_parent = tempfile.mkdtemp(prefix="sk-sink-")
        os.chmod(self.dump_parent, 0o755)
        self.dump = Path(self.dump_parent) / "dump"
        self.dump.mkdir()
        self.port = port
        self.unix_path = unix_path
        cmd = [SMTP_SINK, "-d", f"{self.dump}/%H%M%S.", "-h", "sink.example.test"]
        if os.geteuid() == 0:
            user = _unprivileged_user()
            cmd += ["-u", user.pw_name]
            os.chown(self.dump, user.pw_uid, user.pw_gid)
        if lmtp:
            cmd.append("-L")
        cmd += list(args)
        cmd += [f"unix:{unix_path}" if unix_path else f"inet:127.0.0.1:{port}", "64"]
        self.log = open(self.dir / "smtp-sink.log", "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        if unix_path:
            wait_until(lambda: os.path.exists(unix_path) or self.proc.poll() is not None,
                       timeout=10, what="smtp-sink unix socket")
        else:
            wait_until(lambda: self.proc.poll() is not None or port_accepts(port),
                       timeout=10, what="smtp-sink port")
        if self.proc.poll() is not None:
            raise RuntimeError("smtp-sink did not start: " +
                               (self.dir / "smtp-sink.log").read_text(errors="replace"))

    def dumps(self):
        """Parsed dump files: dicts with the X-* headers and 'message'
        (the message as CR LF lines, without smtp-sink's own headers)."""
        out = []
        for f in sorted(self.dump.iterdir()):
            text = f.read_bytes()
            head, sep, rest = text.partition(b"\nReceived: ")
            if not sep:
                continue    # transaction still in progress
            info = {"file": f.name, "rcpts": []}
            for line in head.split(b"\n"):
                k, _, v = line.decode("utf-8", "replace").partition(": ")
                if k == "X-Rcpt-Args":
                    info["rcpts"].append(v)
                elif k.startswith("X-"):
                    info[k] = v
            lines = rest.split(b"\n")
            i = 1
            while i < len(lines) and lines[i].startswith(b"\t"):
                i += 1
            body = b"\n".join(lines[i:])
            if body.endswith(b"\n\n"):
                body = body[:-1]
            info["message"] = body.replace(b"\n", b"\r\n")
            out.append(info)
        return out

    def log_text(self):
        return (self.dir / "smtp-sink.log").read_text(errors="replace")

    def stop(self):
        stop_process(self.proc)
        self.log.close()
        shutil.rmtree(self.dump_parent, ignore_errors=True)


# --------------------------------------------------------------------------
# A private Postfix instance
# --------------------------------------------------------------------------

POSTFIX_QUEUE_DIRS = [
    # name, owner, group, mode (as Debian's postfix-files has them)
    ("active", "postfix", None, 0o700), ("bounce", "postfix", None, 0o700),
    ("corrupt", "postfix", None, 0o700), ("defer", "postfix", None, 0o700),
    ("deferred", "postfix", None, 0o700), ("flush", "postfix", None, 0o700),
    ("hold", "postfix", None, 0o700), ("incoming", "postfix", None, 0o700),
    ("private", "postfix", None, 0o700), ("saved", "postfix", None, 0o700),
    ("trace", "postfix", None, 0o700), ("maildrop", "postfix", "postdrop", 0o730),
    ("public", "postfix", "postdrop", 0o710), ("pid", "root", None, 0o755),
]

POSTFIX_MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command
{port} inet n - n - - smtpd
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

POSTFIX_MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {base}/queue
data_directory = {base}/data
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = {base}
maillog_file = {base}/maillog
myhostname = nexthop.example.test
mydomain = example.test
myorigin = $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
relay_domains = example.test
relay_transport = relay:[127.0.0.1]:{relay_port}
default_transport = error:5.7.1 the test next hop relays only example.test
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions =
    check_recipient_access inline:{{ {{ unknown@example.test = 550 5.1.1 User unknown }} }},
    permit_mynetworks, reject_unauth_destination
local_header_rewrite_clients =
smtp_line_length_limit = 0
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtp_connect_timeout = 5s
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
biff = no
"""


class PostfixInstance:
    """A private Postfix on 127.0.0.1:smtpd_port relaying example.test to
    127.0.0.1:relay_port. Started as master(8) in the foreground, stopped
    by its PID.

    Its config, queue and data directories are all under base. The queue
    subdirectories are made here with the owners and modes of Debian's
    postfix-files rather than with "postfix set-permissions create-missing",
    which would also walk the system's Postfix files. The log goes to
    base/maillog: maillog_file_prefixes names base, so nothing is written
    under /var/log. meta_directory points at the installed package's
    /etc/postfix (postfix-files, dynamicmaps.cf); nothing there is changed,
    and the system instance is neither configured nor started."""

    def __init__(self, base, smtpd_port, relay_port, milter=None, release_port=None):
        """milter: "inet:127.0.0.1:PORT" or "unix:/path" puts that milter in
        front (smtpd_milters), failing closed when it is not there.
        release_port: a second smtpd without milters, where quarantine
        releases go (as the README's milter set-up has it)."""
        self.base = Path(base)
        self.port = smtpd_port
        self.conf_dir = self.base / "etc"
        self.conf_dir.mkdir(parents=True)
        os.chmod(self.base, 0o755)
        main_cf = POSTFIX_MAIN_CF.format(base=self.base, relay_port=relay_port)
        if milter:
            main_cf += (f"smtpd_milters = {milter}\nmilter_default_action = tempfail\n"
                        "milter_protocol = 6\nmilter_connect_timeout = 10s\n")
        (self.conf_dir / "main.cf").write_text(main_cf)
        master_cf = POSTFIX_MASTER_CF.format(port=f"127.0.0.1:{smtpd_port}")
        if release_port:
            master_cf += f"127.0.0.1:{release_port} inet n - n - - smtpd -o smtpd_milters=\n"
        (self.conf_dir / "master.cf").write_text(master_cf)
        pf = pwd.getpwnam("postfix")
        postdrop = grp.getgrnam("postdrop").gr_gid
        queue = self.base / "queue"
        queue.mkdir(mode=0o755)
        for name, owner, group, mode in POSTFIX_QUEUE_DIRS:
            d = queue / name
            d.mkdir()
            uid = pf.pw_uid if owner == "postfix" else 0
            gid = postdrop if group == "postdrop" else (pf.pw_gid if owner == "postfix" else 0)
            os.chown(d, uid, gid)
            os.chmod(d, mode)
        data = self.base / "data"
        data.mkdir(mode=0o700)
        os.chown(data, pf.pw_uid, pf.pw_gid)
        self.stderr = open(self.base / "master.stderr", "wb")
        env = dict(os.environ, MAIL_CONFIG=str(self.conf_dir))
        self.proc = subprocess.Popen([POSTFIX_MASTER, "-c", str(self.conf_dir)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr, env=env)
        try:
            wait_until(lambda: self.proc.poll() is not None or self._greets(),
                       timeout=20, what="private Postfix smtpd")
        except AssertionError:
            self.stop()
            raise RuntimeError("private Postfix did not start:\n" + self.log_text())
        if self.proc.poll() is not None:
            raise RuntimeError("private Postfix exited:\n" + self.log_text())

    def _greets(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.settimeout(5)
                return s.recv(512).startswith(b"220 ")
        except OSError:
            return False

    def log_text(self):
        out = ""
        for name in ("master.stderr", "maillog"):
            p = self.base / name
            if p.exists():
                out += f"--- {name}\n" + p.read_text(errors="replace")
        return out

    def stop(self):
        stop_process(self.proc, timeout=15)
        self.stderr.close()


# --------------------------------------------------------------------------
# sekishod
# --------------------------------------------------------------------------

def render_conf(settings):
    lines = []
    for k, v in settings.items():
        if v is None:
            continue
        lines.append(f"{k} = {v}")
    return "\n".join(lines) + "\n"


class Sekishod:
    """One sekishod process: config in workdir, log in workdir/sekishod.log."""

    def __init__(self, workdir, sockdir, port, overrides):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.conf_path = self.dir / "sekisho.conf"
        self.log_path = self.dir / "sekishod.log"
        self.control_socket = os.path.join(sockdir, "ctl.sock")
        self.maildir = self.dir / "maildir"
        listen = f"127.0.0.1:{port}" + (f" [::1]:{port}" if HAVE_IPV6 else "")
        self.settings = {
            "listen": listen,
            "myhostname": HOSTNAME,
            "relay_domains": "example.test",
            # Loopback clients are NOT trusted unless a test says so.
            "mynetworks": "192.0.2.0/24",
            "next_hop": f"maildir:{self.maildir}",
            "control_socket": self.control_socket,
            "pid_file": str(self.dir / "sekishod.pid"),
            "smtpd_timeout": "20s",
            "smtpd_data_timeout": "20s",
            "shutdown_timeout": "5s",
            "next_hop_tls": "none",
            "next_hop_connect_timeout": "5s",
            "next_hop_command_timeout": "10s",
            "next_hop_data_timeout": "10s",
        }
        self.settings.update(overrides)
        self.write_conf()
        self.proc = None
        self.expect_exit_status = 0
        self.killed = False

    def write_conf(self, extra_text=""):
        # whole or not at all: a reload must never read a half-written file
        # (an empty one is valid, all defaults, and delivers elsewhere)
        tmp = self.conf_path.with_suffix(".tmp")
        tmp.write_text(render_conf(self.settings) + extra_text)
        os.replace(tmp, self.conf_path)

    def start(self, timeout=15):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([SEKISHOD, "-c", str(self.conf_path)],
                                     stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=self.logf)
        wait_until(lambda: self.proc.poll() is not None or " ready" in self.log(),
                   timeout=timeout, what="sekishod ready")
        if self.proc.poll() is not None:
            raise RuntimeError(f"sekishod exited with {self.proc.returncode}:\n{self.log()}")
        return self

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=10.0, count=1):
        """Wait until regex pattern matches count times in the log; return
        the matches."""
        rx = re.compile(pattern)

        def found():
            m = list(rx.finditer(self.log()))
            return m if len(m) >= count else None
        return wait_until(found, timeout=timeout, what=f"log /{pattern}/ x{count}:\n" +
                          "(see sekishod.log)")

    def tx_lines(self, result=None):
        lines = [l for l in self.log().splitlines() if " tx=" in l and " result=" in l]
        if result:
            lines = [l for l in lines if f" result={result} " in l]
        return lines

    def client(self, **kw):
        return SmtpClient(self.port, **kw)

    def sighup(self):
        os.kill(self.proc.pid, signal.SIGHUP)

    def reconfigure(self, **changes):
        self.settings.update(changes)
        self.write_conf()

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.killed = True

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit status."""
        if self.proc is None:
            return None
        status = stop_process(self.proc, signal.SIGTERM, timeout=timeout)
        if not self.logf.closed:
            self.logf.close()
        return status

    def sanitizer_reports(self):
        text = self.log()
        return [m for m in SANITIZER_MARKERS if m in text]


def check_no_sanitizer_report(output):
    """For a sekishod/sekisho run as a plain command: no sanitizer report."""
    if isinstance(output, bytes):
        output = output.decode(errors="replace")
    found = [m for m in SANITIZER_MARKERS if m in output]
    assert not found, f"sanitizer report in output:\n{output}"


def tls_server_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


def make_tls_cert(directory, name=HOSTNAME):
    """A throwaway self-signed certificate for name and 127.0.0.1."""
    d = Path(directory)
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2",
                    "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=DNS:{name},IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key
