"""The example engine (examples/engine.py) against the real daemon: it asks once
per conversation turn, goes on when the answer comes, and a restart in the
middle of its wait neither asks twice nor loses the answer."""

import subprocess
import sys
import unittest
from pathlib import Path

from world import World, eventually

ENGINE = Path(__file__).resolve().parent.parent / "examples" / "engine.py"


class EngineTest(unittest.TestCase):
    def setUp(self):
        self.w = World()
        self.room = self.w.room_with("Support", "ben@example.com")
        self.state = self.w.dir / "engine-state.json"
        self.out = self.w.dir / "engine.out"
        self.engines = []

    def tearDown(self):
        for engine in self.engines:
            if engine.poll() is None:
                engine.kill()
            engine.wait()
        self.w.close()

    def engine(self):
        args = [sys.executable, str(ENGINE), self.w.socket, self.room["id"], str(self.state), "c42:3:Refund the deposit?"]
        with open(self.out, "a") as out:  # the child keeps its own copy of the descriptor
            self.engines.append(subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, text=True))
        return self.engines[-1]

    def output(self):
        return self.out.read_text() if self.out.exists() else ""

    def test_a_restart_in_the_middle_of_the_wait_does_not_ask_twice(self):
        first = self.engine()
        eventually("the engine asked", lambda: "asked c42/turn-3" in self.output())
        first.kill()  # no goodbye: as a crash
        first.wait()
        second = self.engine()
        eventually("the restarted engine found its escalation", lambda: self.output().count("asked c42/turn-3") == 2)
        ids = {line.split(" as ")[1] for line in self.output().splitlines() if line.startswith("asked")}
        self.assertEqual(len(ids), 1, f"one escalation for one turn: {self.output()}")
        self.w.answer(ids.pop(), "ben@example.com", "Yes, refund it")
        self.assertEqual(second.wait(timeout=20), 0, self.output())
        self.assertIn('continue c42/turn-3: {"response": "Yes, refund it"}', self.output())
        escalations = self.w.client._call("GET", "/v1/escalations", params={"key": "c42/turn-3"})["items"]
        self.assertEqual(len(escalations), 1)
        eventually("the card was posted once", lambda: self.w.cards_in(self.room["id"]) >= 1)
        self.assertEqual(self.w.cards_in(self.room["id"]), 1, "one card in the space")
        # A third start: the turn is done, the engine asks nothing and ends.
        third = self.engine()
        self.assertEqual(third.wait(timeout=20), 0, self.output())
        self.assertEqual(self.output().count("asked c42/turn-3"), 2, self.output())


if __name__ == "__main__":
    unittest.main()
