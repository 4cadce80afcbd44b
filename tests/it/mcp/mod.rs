//! `webex-hitl mcp` end to end: rmcp's client over stdio against the real
//! binary, the daemon and the simulator's specialists. Times are shortened
//! (waits of a fraction of a second, progress every second) so that the whole
//! module takes seconds.

mod session;

use crate::common::{eventually, Harness};
use futures_util::StreamExt;
use rmcp::model::{CallToolResponse, CallToolResult, CancelTaskParams, GetTaskParams, TaskPayload, TaskStatus};
use rmcp::service::ServiceError;
use serde_json::{json, Value};
use session::{body, call, card_of, params, response, tool_error, Session};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use webex_hitl::sim::{SimPerson, SimRoom};

struct World {
    h: Harness,
    ana: SimPerson,
    room: SimRoom,
}

/// A daemon, and a space "VIP Escalations" with the bot and Ana in it.
async fn world() -> World {
    let h = Harness::start().await;
    let ana = h.sim.add_person("ana.specialist@example.com", "Ana Specialist");
    let room = h.sim.create_room("VIP Escalations");
    for person in [&ana.id, &h.sim.bot().id] {
        h.sim.add_member(&room.id, person, Some(&ana.id)).unwrap();
    }
    let room_id = room.id.clone();
    eventually("the daemon sees the space", || {
        let h = &h;
        let room_id = room_id.clone();
        async move {
            let spaces = h.client.get("/v1/spaces").await.map_err(|e| e.to_string())?.body;
            let known =
                spaces["items"].as_array().is_some_and(|items| items.iter().any(|s| s["id"] == room_id.as_str()));
            if known {
                Ok(())
            } else {
                Err(spaces.to_string())
            }
        }
    })
    .await;
    World { h, ana, room }
}

fn question(w: &World, summary: &str, wait_s: f64) -> Value {
    json!({
        "to": w.room.id,
        "summary": summary,
        "question": "Can we release the withdrawal?",
        "player": {"name": "Jane Doe", "tags": ["VIP"]},
        "wait_s": wait_s,
    })
}

/// The cards (not replies) in the world's space.
fn cards(w: &World) -> usize {
    w.h.sim.messages(&w.room.id).iter().filter(|m| m.card.is_some() && m.parent_id.is_none()).count()
}

#[tokio::test]
async fn tools_list_gives_six_tools_with_schemas_written_for_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let session = Session::launch_on(&dir.path().join("no-daemon.sock")).await;
    let info = session.client.peer_info().expect("the server introduced itself");
    let instructions = info.instructions.clone().unwrap_or_default();
    assert!(instructions.contains("get_answer") && instructions.contains("pending"), "{instructions}");
    assert!(info.capabilities.supports_tasks(), "the tasks extension is offered");

    let tools = session.client.list_all_tools().await.unwrap();
    let names: BTreeSet<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    let expected = ["ask_specialist", "cancel_escalation", "find_person", "get_answer", "list_spaces", "send_message"];
    assert_eq!(names, BTreeSet::from(expected));
    let tool = |name: &str| tools.iter().find(|t| t.name == name).unwrap();

    let ask = tool("ask_specialist");
    let description = ask.description.as_deref().unwrap_or_default();
    for needle in ["pending", "get_answer", "bot_not_in_space", "daemon_unreachable", "same arguments"] {
        assert!(description.contains(needle), "ask_specialist's description lacks {needle:?}");
    }
    let schema = Value::Object((*ask.input_schema).clone());
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["required"], json!(["to", "summary"]));
    for property in ["to", "summary", "question", "player", "fields", "timeout_s", "key", "wait_s"] {
        let description = schema["properties"][property]["description"].as_str().unwrap_or_default();
        assert!(description.len() > 20, "{property} is not described: {schema:#}");
    }
    assert_eq!(schema["properties"]["to"]["anyOf"][0]["type"], "string", "`to` may be a plain string");
    assert_eq!(schema["properties"]["wait_s"]["maximum"], 300);

    let get = Value::Object((*tool("get_answer").input_schema).clone());
    assert_eq!(get["required"], json!(["escalation_id"]));
    assert_eq!(tool("list_spaces").annotations.as_ref().and_then(|a| a.read_only_hint), Some(true));
    let send = Value::Object((*tool("send_message").input_schema).clone());
    assert!(send["properties"]["text"].is_object() && send["properties"]["markdown"].is_object());
}

#[tokio::test]
async fn an_answer_within_the_wait_is_the_result_of_ask_specialist() {
    let w = world().await;
    let session = Session::launch(&w.h).await;
    let asked = session.call("ask_specialist", question(&w, "Player asks why withdrawal #4411 is on hold.", 20.0));
    let specialist = async {
        let progress = session.next_progress().await;
        let id = escalation_in(progress.message.as_deref().unwrap_or_default());
        let card = card_of(&w.h, &id).await;
        w.h.sim.submit_card(&card, &w.ana.id, response("Release it; the deposit cleared.")).unwrap();
        id
    };
    let (result, id) = tokio::join!(asked, specialist);
    let answered = body(&result);
    assert_eq!(answered["status"], "answered", "{answered:#}");
    assert_eq!(answered["escalation_id"], id.as_str());
    assert_eq!(answered["answer"]["inputs"]["response"], "Release it; the deposit cleared.");
    assert_eq!(answered["answer"]["by"]["email"], "ana.specialist@example.com");
    assert_eq!(cards(&w), 1);
}

/// The escalation id a progress message names ("... answer escalation <id> (...").
fn escalation_in(message: &str) -> String {
    let after = message.split("escalation ").nth(1).unwrap_or_else(|| panic!("no escalation id in {message:?}"));
    after.split_whitespace().next().unwrap_or_default().to_owned()
}

/// The lost-answer scenario, shortened: the call waits 0.3 s (under
/// the client's 3 s limit) and returns `pending`; only then does the
/// specialist answer; `get_answer` must bring that answer back. 50 runs, ten
/// at a time through one MCP session, each with its own question and answer.
#[tokio::test]
async fn answers_given_after_the_wait_are_all_recovered_with_get_answer() {
    const RUNS: usize = 50;
    let w = world().await;
    let session = Session::launch(&w.h).await;
    let started = Instant::now();
    let runs = futures_util::stream::iter(0..RUNS).map(|run| lost_answer_run(&w, &session, run)).buffer_unordered(10);
    let lost: Vec<String> = runs.filter_map(|outcome| async move { outcome.err() }).collect().await;
    eprintln!("lost-answer loop: {} of {RUNS} lost, {:.1} s", lost.len(), started.elapsed().as_secs_f64());
    assert!(lost.is_empty(), "{} of {RUNS} answers lost:\n{}", lost.len(), lost.join("\n"));
    assert_eq!(cards(&w), RUNS, "one card per run");
}

async fn lost_answer_run(w: &World, session: &Session, run: usize) -> Result<(), String> {
    let asked = question(w, &format!("Run {run}: player asks about withdrawal #{run}."), 0.3);
    let pending = session.call_within("ask_specialist", asked, Duration::from_secs(3)).await;
    let pending = body(&pending.map_err(|e| format!("run {run}: ask_specialist: {e}"))?);
    if pending["status"] != "pending" {
        return Err(format!("run {run}: expected pending, got {pending}"));
    }
    let id = pending["escalation_id"].as_str().unwrap_or_default().to_owned();
    let card = card_of(&w.h, &id).await;
    let answer = format!("answer to run {run}");
    w.h.sim.submit_card(&card, &w.ana.id, response(&answer)).map_err(|e| format!("run {run}: submit: {e}"))?;
    let got = body(&session.call("get_answer", json!({"escalation_id": id, "wait_s": 10})).await);
    if got["status"] == "answered" && got["answer"]["inputs"]["response"] == answer.as_str() {
        Ok(())
    } else {
        Err(format!("run {run}: get_answer gave {got}"))
    }
}

#[tokio::test]
async fn a_call_retried_after_the_clients_timeout_returns_the_first_escalation_and_posts_one_card() {
    let w = world().await;
    let session = Session::launch(&w.h).await;
    let asked = question(&w, "Player asks why withdrawal #4411 is on hold.", 30.0);
    let timed_out = session.call_within("ask_specialist", asked.clone(), Duration::from_millis(500)).await;
    assert!(matches!(timed_out, Err(ServiceError::Timeout { .. })), "{timed_out:?}");
    let card = eventually("the first call's card", || async {
        let messages = w.h.sim.messages(&w.room.id);
        messages.iter().find(|m| m.card.is_some()).map(|m| m.id.clone()).ok_or_else(|| format!("{messages:?}"))
    })
    .await;
    w.h.sim.submit_card(&card, &w.ana.id, response("Release it.")).unwrap();

    // The agent retries the same call, without a key: the answer, no new card.
    let retried = body(&session.call("ask_specialist", asked).await);
    assert_eq!(retried["status"], "answered", "{retried:#}");
    assert_eq!(retried["answer"]["inputs"]["response"], "Release it.");
    assert_eq!(cards(&w), 1, "the retry posted no second card");

    // With a key of its own: the same escalation however often it is sent.
    let mut keyed = question(&w, "Second question", 0.0);
    keyed["key"] = json!("conv-8812/turn-14");
    let first = body(&session.call("ask_specialist", keyed.clone()).await);
    let again = body(&session.call("ask_specialist", keyed.clone()).await);
    assert_eq!(first["status"], "pending");
    assert_eq!(first["escalation_id"], again["escalation_id"]);
    assert_eq!(cards(&w), 2);
    keyed["summary"] = json!("Another question under the same key");
    let conflict = tool_error(&session.call("ask_specialist", keyed).await);
    assert_eq!(conflict["code"], "key_conflict", "{conflict:#}");
    assert!(conflict["advice"].as_str().unwrap().contains("new key"));
}

#[tokio::test]
async fn progress_notifications_arrive_while_ask_specialist_waits() {
    let w = world().await;
    let session = Session::launch(&w.h).await;
    let asked = session.call("ask_specialist", question(&w, "Refund?", 20.0));
    let watcher = async {
        let first = session.next_progress().await;
        let second = session.next_progress().await;
        let id = escalation_in(second.message.as_deref().unwrap_or_default());
        let card = card_of(&w.h, &id).await;
        w.h.sim.submit_card(&card, &w.ana.id, response("Yes")).unwrap();
        (first, second, id)
    };
    let (result, (first, second, id)) = tokio::join!(asked, watcher);
    assert_eq!(body(&result)["status"], "answered");
    assert_eq!(first.total, Some(20.0));
    assert!(second.progress > first.progress, "progress increases: {first:?} then {second:?}");
    assert!(second.progress >= 0.9, "about a second apart: {second:?}");
    assert_eq!(body(&result)["escalation_id"], id.as_str());
}

#[tokio::test]
async fn an_mcp_server_killed_mid_wait_and_relaunched_still_gets_the_answer() {
    let w = world().await;
    let asked = question(&w, "Player asks why withdrawal #4411 is on hold.", 30.0);
    let first = Session::launch(&w.h).await;
    let peer = first.peer();
    let mut waiting = Box::pin(call(&peer, "ask_specialist", asked.clone()));
    let progress = tokio::select! {
        ended = &mut waiting => panic!("the call ended before any answer: {ended:?}"),
        progress = first.next_progress() => progress,
    };
    let id = escalation_in(progress.message.as_deref().unwrap_or_default());
    first.kill().await;
    let died = tokio::time::timeout(crate::common::WAIT, waiting).await.expect("the call ends with its server");
    assert!(died.is_err(), "a killed server answers nothing: {died:?}");

    // The agent's client relaunches the server and repeats the call; the answer
    // comes while the new process waits.
    let second = Session::launch(&w.h).await;
    let asked_again = second.call("ask_specialist", asked);
    let specialist = async {
        second.next_progress().await;
        let card = card_of(&w.h, &id).await;
        w.h.sim.submit_card(&card, &w.ana.id, response("Release it.")).unwrap();
    };
    let (result, ()) = tokio::join!(asked_again, specialist);
    let answered = body(&result);
    assert_eq!(answered["status"], "answered", "{answered:#}");
    assert_eq!(answered["escalation_id"], id.as_str());
    assert_eq!(cards(&w), 1);
}

#[tokio::test]
async fn with_the_daemon_down_the_tools_say_so_and_recover_when_it_is_back() {
    let mut w = world().await;
    let session = Session::launch(&w.h).await;
    assert_eq!(body(&session.call("list_spaces", json!({})).await)["count"], 1);

    w.h.stop_daemon().await;
    let socket = w.h.config.api.socket.display().to_string();
    for (tool, arguments) in [("list_spaces", json!({})), ("ask_specialist", question(&w, "Refund?", 1.0))] {
        let error = tool_error(&session.call(tool, arguments).await);
        assert_eq!(error["code"], "daemon_unreachable", "{tool}: {error:#}");
        assert!(error["message"].as_str().unwrap().contains(&socket), "{error:#}");
        assert!(error["advice"].as_str().unwrap().contains("webex-hitl serve"), "{error:#}");
    }
    assert_eq!(cards(&w), 0);

    w.h.start_daemon().await;
    w.h.wait_health(|h| h["webex"]["connected"] == true).await;
    assert_eq!(body(&session.call("list_spaces", json!({})).await)["count"], 1, "the same MCP process works again");
}

#[tokio::test]
async fn the_other_tools_and_the_daemons_errors_reach_the_model() {
    let w = world().await;
    let session = Session::launch(&w.h).await;
    let spaces = body(&session.call("list_spaces", json!({"query": "vip"})).await);
    assert_eq!(spaces["spaces"][0]["space_id"], w.room.id.as_str());
    assert_eq!(spaces["spaces"][0]["title"], "VIP Escalations");
    let ana = body(&session.call("find_person", json!({"email": "ana.specialist@example.com"})).await);
    assert_eq!(ana["person_id"], w.ana.id.as_str());
    let nobody = tool_error(&session.call("find_person", json!({"email": "nobody@example.com"})).await);
    assert_eq!(nobody["code"], "unknown_person");

    let sent =
        body(&session.call("send_message", json!({"to": {"space_id": w.room.id}, "markdown": "**Heads up**"})).await);
    assert_eq!(sent["status"], "sent");
    assert!(w.h.sim.messages(&w.room.id).iter().any(|m| m.markdown.as_deref() == Some("**Heads up**")));

    let pending = body(&session.call("ask_specialist", question(&w, "Cancel me", 0.0)).await);
    let id = pending["escalation_id"].as_str().unwrap();
    let cancelled = body(&session.call("cancel_escalation", json!({"escalation_id": id, "reason": "solved"})).await);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["reason"], "solved");
    let again = tool_error(&session.call("cancel_escalation", json!({"escalation_id": id})).await);
    assert_eq!(again["code"], "not_pending");
    let got = body(&session.call("get_answer", json!({"escalation_id": id, "wait_s": 5})).await);
    assert_eq!(got["status"], "cancelled", "a closed escalation comes back at once");
    let unknown = tool_error(&session.call("get_answer", json!({"escalation_id": "esc_nope", "wait_s": 0})).await);
    assert_eq!(unknown["code"], "not_found");

    let outside = w.h.sim.create_room("Not the bot's");
    let refused = tool_error(&session.call("ask_specialist", json!({"to": outside.id, "summary": "s"})).await);
    assert_eq!(refused["code"], "bot_not_in_space", "{refused:#}");
    assert!(refused["advice"].as_str().unwrap().contains("add the bot"));
    let bad = tool_error(&session.call("ask_specialist", json!({"to": "VIP Escalations", "summary": "s"})).await);
    assert_eq!(bad["code"], "invalid");
    assert!(bad["message"].as_str().unwrap().starts_with("to:"), "{bad:#}");
}

/// A client that declared the tasks extension gets `ask_specialist` as a task
/// at once; the task is the escalation, so it outlives the server process.
#[tokio::test]
async fn a_client_with_tasks_gets_a_task_that_outlives_the_server_process() {
    let w = world().await;
    let first = Session::launch_with_tasks(&w.h).await;
    let id = task_of(&first, question(&w, "Player asks why withdrawal #4411 is on hold.", 30.0)).await;
    first.kill().await;

    let second = Session::launch_with_tasks(&w.h).await;
    let card = card_of(&w.h, &id).await;
    w.h.sim.submit_card(&card, &w.ana.id, response("Release it.")).unwrap();
    let result = eventually("the task completes", || async {
        let got = second.client.get_task(GetTaskParams::new(id.clone())).await.map_err(|e| e.to_string())?;
        match got.task.payload {
            TaskPayload::Completed { result } => Ok(result),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let result: CallToolResult = serde_json::from_value(Value::Object(result)).unwrap();
    assert_eq!(body(&result)["answer"]["inputs"]["response"], "Release it.");

    let other = task_of(&second, question(&w, "Never mind", 30.0)).await;
    second.client.cancel_task(CancelTaskParams::new(other.clone())).await.unwrap();
    let got = second.client.get_task(GetTaskParams::new(other)).await.unwrap();
    assert_eq!(got.task.status(), TaskStatus::Cancelled);
    assert_eq!(cards(&w), 2);
}

/// Calls ask_specialist expecting a working task; returns its id.
async fn task_of(session: &Session, arguments: Value) -> String {
    match Box::pin(session.client.call_tool_once(params("ask_specialist", arguments))).await.unwrap() {
        CallToolResponse::Task(created) => {
            assert_eq!(created.task.status, TaskStatus::Working);
            assert!(created.task.task_id.starts_with("esc_"), "the task is the escalation: {created:?}");
            created.task.task_id
        }
        other => panic!("not a task: {other:?}"),
    }
}
