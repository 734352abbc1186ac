"""A private redis-server on loopback for the rate-limit tests: its own
port and folder, no persistence, started and stopped by PID. The
system's Redis (if any) is not touched."""

import shutil
import socket
import subprocess
import time
from pathlib import Path

import peers

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


class RedisServer:
    def __init__(self, workdir, port):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.url = f"redis://127.0.0.1:{port}"
        self.proc = None
        self.logf = None

    def start(self):
        self.logf = open(self.dir / "redis.log", "ab")
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.dir),
             "--daemonize", "no", "--protected-mode", "yes"],
            stdin=subprocess.DEVNULL, stdout=self.logf, stderr=self.logf)
        peers.wait_until(lambda: self.proc.poll() is not None or self.ping(),
                         timeout=15, what="redis-server ready")
        if self.proc.poll() is not None:
            raise RuntimeError("redis-server exited:\n" +
                               (self.dir / "redis.log").read_text(errors="replace"))
        return self

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def command(self, *args):
        r = subprocess.run([REDIS_CLI, "-p", str(self.port), *args], capture_output=True,
                           timeout=10, text=True)
        return r.stdout.strip()

    def kill(self):
        """SIGKILL: Redis gone at once, as in a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self):
        if self.proc:
            peers.stop_process(self.proc)
        if self.logf:
            self.logf.close()
