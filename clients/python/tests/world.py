"""The real simulator and daemon (the binary cargo built), for the client's tests.

``WEBEX_HITL_BIN`` names the binary (tests/it/python.rs sets it); the
simulator listens on a free port, the daemon's socket and store are in a
scratch directory, and the simulator's control API scripts people and answers.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import httpx

from webex_hitl import Client

BIN = os.environ.get("WEBEX_HITL_BIN", "webex-hitl")
WAIT_S = 15.0


def eventually(what: str, probe: Callable[[], Any], within: float = WAIT_S) -> Any:
    """Polls ``probe`` until it returns something truthy; fails naming ``what``."""
    deadline = time.monotonic() + within
    while True:
        seen = probe()
        if seen:
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within} s (last seen {seen!r})")
        time.sleep(0.05)


class World:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="webex-hitl-py-"))
        self.sim = subprocess.Popen([BIN, "sim", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
        self.base, self.urls = self._sim_lines()
        self.control = httpx.Client(base_url=f"{self.base}/_sim", timeout=10)
        self.socket = str(self.dir / "api.sock")
        (self.dir / "token").write_text("sim-token")
        (self.dir / "token").chmod(0o600)
        (self.dir / "config.toml").write_text(self._config())
        self.daemon: Optional[subprocess.Popen] = None
        self.start_daemon()
        self.client = Client(socket=self.socket)
        self.bot = self.control.get("/state").json()["bot"]

    def _sim_lines(self) -> "tuple[str, str]":
        """Where the simulator listens, and the `[webex]` URL lines it prints for the daemon."""
        assert self.sim.stdout is not None
        base, urls = None, []
        for line in self.sim.stdout:
            found = re.search(r"listening on (\S+)", line)
            if found:
                base = found.group(1).rstrip("/")
            if line.startswith(("api_url", "u2c_url")):
                urls.append(line.strip())
            if base and len(urls) == 2:
                return base, "\n".join(urls)
        raise AssertionError("the simulator did not say where it listens")

    def _config(self) -> str:
        return (
            f"[webex]\n{self.urls}\n"
            f'token_file = "{self.dir / "token"}"\nbackoff_base_s = 0.05\nbackoff_cap_s = 0.4\n'
            f'[api]\nsocket = "{self.socket}"\n[store]\npath = "{self.dir / "store.db"}"\n'
            '[escalations]\nmin_timeout_s = 1\n[log]\nlevel = "warn"\n'
        )

    def start_daemon(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "WEBEX_HITL_TOKEN"}
        self.daemon = subprocess.Popen([BIN, "serve", "--config", str(self.dir / "config.toml")], env=env)
        probe = Client(socket=self.socket)

        def connected() -> bool:
            try:
                return bool(probe._call("GET", "/v1/health")["webex"]["connected"])
            except Exception:
                return False

        eventually("the daemon is connected to the simulator", connected)
        probe.close()

    def stop_daemon(self) -> None:
        assert self.daemon is not None
        self.daemon.send_signal(signal.SIGTERM)
        self.daemon.wait(timeout=WAIT_S)

    def post(self, path: str, body: Dict[str, Any]) -> Any:
        answer = self.control.post(path, json=body)
        assert answer.is_success, f"{path}: {answer.status_code} {answer.text}"
        return answer.json()

    def room_with(self, title: str, *emails: str) -> Dict[str, Any]:
        room = self.post("/rooms", {"title": title})
        for email in emails:
            self.post("/people", {"email": email, "displayName": email.split("@")[0].title()})
            self.post(f"/rooms/{room['id']}/members", {"personEmail": email})
        self.post(f"/rooms/{room['id']}/members", {"personId": self.bot["id"]})
        eventually("the daemon sees the room", lambda: any(s.id == room["id"] for s in self.client.spaces()))
        return room

    def answer(self, escalation_id: str, email: str, text: str) -> None:
        esc = eventually("the card is posted", lambda: self.client.get(escalation_id).delivery.message_id)
        self.post("/cards/submit", {"messageId": esc, "personEmail": email, "inputs": {"response": text}})

    def cards_in(self, room_id: str) -> int:
        messages = self.control.get(f"/rooms/{room_id}/messages").json()
        return sum(1 for m in messages if m.get("person_id") == self.bot["id"])

    def close(self) -> None:
        self.client.close()
        for process in (self.daemon, self.sim):
            if process and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=WAIT_S)
                except subprocess.TimeoutExpired:
                    process.kill()
        if self.sim.stdout:
            self.sim.stdout.close()
        self.control.close()
