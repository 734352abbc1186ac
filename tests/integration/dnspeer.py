"""
A real DNS server for the integration tests: a private unbound on
127.0.0.1, started and stopped by PID, serving the test zones.

Every name the tests use lives under example.org, example.net, example.com,
example.test or the TLD example; the server is authoritative ("static") for those and for
the root, so an unknown name is NXDOMAIN at once and nothing is ever asked
of the outside world. One subtree, slow.example.org, is forwarded to a UDP
port where nobody answers: queries there time out, for the temperror tests.

so-reuseport is off (with it two servers on one port silently split the
queries), and TXT strings longer than 255 bytes are split (RFC 1035 §3.3).
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time

UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"
ZONES = ("example.org.", "example.net.", "example.com.", "example.test.", "example.")
SLOW_ZONE = "slow.example.org."


def txt_rdata(text):
    """A TXT value as unbound's local-data wants it: quoted strings of at
    most 255 bytes each."""
    parts = [text[i:i + 255] for i in range(0, len(text), 255)] or [""]
    return " ".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in parts)


class DnsServer:
    """records: a list of (name, type, value) with name fully qualified or
    not; TXT values are the text itself (split here)."""

    def __init__(self, port, records, blackhole_port, signed_zone=None):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="sk-dns-")
        self.conf = os.path.join(self.dir, "unbound.conf")
        self.log_path = os.path.join(self.dir, "unbound.log")
        with open(self.conf, "w") as f:
            f.write(self._config(records, blackhole_port, signed_zone))
        check = subprocess.run([UNBOUND + "-checkconf", self.conf], capture_output=True,
                               text=True)
        if check.returncode != 0 and os.path.exists(UNBOUND + "-checkconf"):
            raise RuntimeError("unbound.conf: " + check.stdout + check.stderr)
        self.logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=self.logf)
        self._wait_ready()

    def _config(self, records, blackhole_port, signed_zone):
        lines = [
            "server:",
            "  interface: 127.0.0.1",
            f"  port: {self.port}",
            "  so-reuseport: no",
            "  do-daemonize: no",
            "  use-syslog: no",
            f'  logfile: "{self.log_path}"',
            '  username: ""',
            '  chroot: ""',
            f'  directory: "{self.dir}"',
            '  pidfile: ""',
            "  access-control: 127.0.0.0/8 allow",
            "  do-not-query-localhost: no",
            '  module-config: "iterator"',
            "  num-threads: 1",
            "  cache-max-ttl: 1",
            "  cache-max-negative-ttl: 1",
            # nothing beyond our zones: NXDOMAIN, never a query outside
            '  local-zone: "." static',
        ]
        for zone in ZONES:
            lines.append(f'  local-zone: "{zone}" static')
        lines.append(f'  local-zone: "{SLOW_ZONE}" transparent')
        for name, rtype, value in records:
            name = name if name.endswith(".") else name + "."
            if rtype == "TXT":
                value = txt_rdata(value)
            lines.append(f"  local-data: '{name} 1 IN {rtype} {value}'")
        if signed_zone:
            # (name, zone file): served as an authoritative, signed zone
            name, path = signed_zone
            lines.insert(lines.index(f'  local-zone: "{SLOW_ZONE}" transparent'),
                         f'  local-zone: "{name}." transparent')
        lines += ["forward-zone:", f'  name: "{SLOW_ZONE}"',
                  f"  forward-addr: 127.0.0.1@{blackhole_port}"]
        if signed_zone:
            lines += ["auth-zone:", f'  name: "{signed_zone[0]}."',
                      f'  zonefile: "{signed_zone[1]}"', "  for-downstream: yes",
                      "  for-upstream: no"]
        return "\n".join(lines) + "\n"

    def _wait_ready(self, timeout=15.0):
        query = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                 b"\x07example\x03org\x00\x00\x01\x00\x01")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("unbound exited: " + self.log())
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.2)
                try:
                    s.sendto(query, ("127.0.0.1", self.port))
                    if s.recv(512)[:2] == b"\x12\x34":
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("unbound did not answer: " + self.log())

    @property
    def forward(self):
        """The dns_forward value for sekishod."""
        return f"127.0.0.1@{self.port}"

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)
