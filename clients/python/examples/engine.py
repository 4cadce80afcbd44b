"""An engine: each conversation that needs a human gets one escalation (its key is
conversation + turn, so a restart finds it again instead of asking twice); it goes
on when the answer event arrives. The cursor persists, so a restart resumes.
Usage: engine.py SOCKET SPACE_ID STATE_FILE CONVERSATION:TURN:QUESTION..."""
import json
import os
import sys
from pathlib import Path

from webex_hitl import Client


def main(socket, space, state_file, conversations):
    client, path = Client(socket=socket), Path(state_file)
    state = json.loads(path.read_text()) if path.exists() else {"after": 0, "epoch": None, "done": {}}

    def save():  # atomically: a crash mid-write must not cost the cursor
        path.with_suffix(".tmp").write_text(json.dumps(state))
        os.replace(path.with_suffix(".tmp"), path)

    waiting = {}

    def settle(esc):  # the answer (or why there is none) lets the conversation go on
        key = waiting.pop(esc.id)
        state["done"][key] = esc.answer.inputs if esc.answer else esc.status
        print(f"continue {key}: {json.dumps(state['done'][key])}", flush=True)

    for conversation, turn, question in (c.split(":", 2) for c in conversations):
        key = f"{conversation}/turn-{turn}"
        if key not in state["done"]:
            esc = client.escalate(space, question, key=key, context={"conversation": conversation})
            waiting[esc.id] = key
            print(f"asked {key} as {esc.id}", flush=True)
            if not esc.pending:  # closed while we were down: its event may be behind our cursor
                settle(esc)
    save()
    for event in client.events(after=state["after"], epoch=state["epoch"]) if waiting else ():
        if event.escalation and event.escalation.id in waiting and not event.escalation.pending:
            settle(event.escalation)
        state["after"] = event.raw.get("from", event.seq if event.seq is not None else state["after"])
        state["epoch"] = event.epoch or state["epoch"]
        save()
        if not waiting:
            return


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
