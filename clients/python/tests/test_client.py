"""The client against the real daemon and simulator: typed answers, keys,
errors with their codes, waits, and an event stream that survives a restart."""

import asyncio
import threading
import unittest
from datetime import datetime

from webex_hitl import ApiError, AsyncClient, Escalation, Person, Space

from world import World, eventually


class ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = World()
        cls.room = cls.w.room_with("VIP Escalations", "ana@example.com")

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def test_escalate_wait_and_the_answer_typed(self):
        c = self.w.client
        esc = c.escalate(self.room["id"], "Release withdrawal #4411?", key="py-conv-1/turn-1", context={"c": 1})
        self.assertIsInstance(esc, Escalation)
        self.assertEqual((esc.status, esc.key, esc.context), ("pending", "py-conv-1/turn-1", {"c": 1}))
        self.assertIsInstance(esc.created_at, datetime)
        again = c.escalate(self.room["id"], "Release withdrawal #4411?", key="py-conv-1/turn-1", context={"c": 1})
        self.assertEqual(again.id, esc.id, "the same key is the same escalation")
        self.assertEqual(c.wait(esc.id, timeout=1).status, "pending", "the wait ends at its timeout")
        self.w.answer(esc.id, "ana@example.com", "Yes, release it")
        done = c.wait(esc.id, timeout=15)
        self.assertEqual(done.status, "answered")
        self.assertEqual((done.answer.inputs, done.answer.by.email), ({"response": "Yes, release it"}, "ana@example.com"))

    def test_errors_carry_the_code(self):
        c = self.w.client
        esc = c.escalate(self.room["id"], "First body", key="py-conflict")
        with self.assertRaises(ApiError) as raised:
            c.escalate(self.room["id"], "Another body", key="py-conflict")
        self.assertEqual((raised.exception.status, raised.exception.code), (422, "key_conflict"))
        with self.assertRaises(ApiError) as raised:
            c.person("nobody@example.com")
        self.assertEqual(raised.exception.code, "unknown_person")
        with self.assertRaises(ApiError) as raised:
            c.escalate(self.room["id"], "")
        self.assertEqual(raised.exception.code, "invalid")
        self.assertIn("summary", raised.exception.message)
        cancelled = c.cancel(esc.id, reason="resolved in chat")
        self.assertEqual((cancelled.status, cancelled.close_reason), ("cancelled", "resolved in chat"))
        with self.assertRaises(ApiError) as raised:
            c.cancel(esc.id)
        self.assertEqual((raised.exception.status, raised.exception.code), (409, "not_pending"))

    def test_notify_spaces_and_person(self):
        c = self.w.client
        sent = c.notify(self.room["id"], "Heads up", key="py-note-1")
        self.assertEqual(c.notify(self.room["id"], "Heads up", key="py-note-1"), sent)
        self.assertIn(self.room["id"], [s.id for s in c.spaces(type="group")])
        self.assertEqual(c.person("ana@example.com").email, "ana@example.com")
        self.assertEqual([p.email for p in c.people("an")], ["ana@example.com"], "the person picker")
        ana = c.people("an")[0]
        self.assertEqual((ana.has_direct_space, ana.direct_space_id), (False, None), "a group room is no DM")
        group = next(s for s in c.spaces() if s.id == self.room["id"])
        self.assertEqual((group.counterpart_id, group.counterpart_email), (None, None))

    def test_the_direct_space_fields_are_typed(self):
        space = Space.from_json({"id": "R", "title": "Ana Lopez", "space_type": "direct", "visible": True,
                                 "counterpart_id": "P", "counterpart_email": "ana@example.com",
                                 "counterpart_name": "Ana Lopez"})
        self.assertEqual((space.counterpart_id, space.counterpart_email), ("P", "ana@example.com"))
        person = Person.from_json({"id": "P", "display_name": "Ana Lopez", "has_direct_space": True,
                                   "direct_space_id": "R"})
        self.assertEqual((person.has_direct_space, person.direct_space_id), (True, "R"))

    def test_events_follow_through_a_daemon_restart_without_repeats(self):
        c, seen, stop = self.w.client, [], threading.Event()

        def follow():
            for event in c.events(after=0):
                seen.append(event)
                if stop.is_set() and event.type == "escalation.created" and event.escalation.key == "py-after-restart":
                    return

        reader = threading.Thread(target=follow, daemon=True)
        reader.start()
        eventually("events arrive", lambda: len(seen) > 0)
        self.w.stop_daemon()
        self.w.start_daemon()
        stop.set()
        c.escalate(self.room["id"], "After the restart", key="py-after-restart")
        reader.join(timeout=20)
        self.assertFalse(reader.is_alive(), f"the follower did not get the new event; saw {[e.type for e in seen]}")
        seqs = [e.seq for e in seen if e.seq is not None]
        self.assertEqual(seqs, sorted(set(seqs)), "every event once, in order")

    def test_a_cursor_beyond_the_head_surfaces_stream_reset_and_resumes_at_the_head(self):
        c = self.w.client
        events = c.events(after=10**9)
        reset = next(events)
        self.assertEqual(reset.type, "stream.reset", reset.raw)
        head = reset.raw["head"]
        c.escalate(self.room["id"], "After the reset", key="py-after-reset")
        following = next(e for e in events if e.seq is not None)
        self.assertGreater(following.seq, head, "the follower went on after the log's head")
        events.close()

    def test_the_async_client(self):
        async def scenario():
            async with AsyncClient(socket=self.w.socket) as c:
                esc = await c.escalate(self.room["id"], "Async question", key="py-async-1")
                async for event in c.events(after=0):
                    if event.escalation and event.escalation.id == esc.id:
                        return esc, event, await c.cancel(esc.id)

        esc, event, cancelled = asyncio.run(asyncio.wait_for(scenario(), 20))
        self.assertEqual(event.type, "escalation.created")
        self.assertEqual((cancelled.id, cancelled.status), (esc.id, "cancelled"))


if __name__ == "__main__":
    unittest.main()
