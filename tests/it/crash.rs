//! `kill -9` between accepting an escalation and posting its card: after a
//! restart the card is posted, exactly once, and a second crash after the post
//! does not post it again.

use crate::common::{eventually, serve_command, write_config, Harness};
use serde_json::json;
use std::process::Stdio;

/// `webex-hitl serve` as a child process, so that it can be killed with SIGKILL.
pub struct Daemon(tokio::process::Child);

impl Daemon {
    pub async fn start(config: &std::path::Path, h: &Harness) -> Self {
        let child =
            serve_command(config).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("the daemon starts");
        h.wait_until_serving().await;
        h.wait_health(|health| health["webex"]["connected"] == true).await;
        Daemon(child)
    }

    /// SIGKILL: no shutdown path runs.
    pub async fn kill_9(mut self) {
        self.0.start_kill().unwrap();
        self.0.wait().await.unwrap();
    }
}

fn cards(h: &Harness, room: &str) -> usize {
    h.sim.messages(room).iter().filter(|m| m.card.is_some() && !m.deleted).count()
}

#[tokio::test]
async fn kill_9_between_accept_and_post_still_posts_exactly_one_card() {
    let h = Harness::without_daemon().await;
    let config = write_config(h.dir.path(), h.simulator(), "sim-token", &[]);
    let room = h.sim.create_room("VIP Escalations");
    h.sim.add_member(&room.id, &h.sim.bot().id, None).unwrap();

    let daemon = Daemon::start(&config, &h).await;
    h.wait_health(|_| true).await;
    eventually("the room reaches the cache", || async {
        let spaces = h.client.get("/v1/spaces").await.unwrap().body;
        if spaces["items"].as_array().unwrap().is_empty() {
            Err(format!("{spaces:#}"))
        } else {
            Ok(())
        }
    })
    .await;
    // Webex answers nothing but 503 from now on: the card cannot be posted.
    h.sim.fail_next_rest(100_000, 503, None);
    let body = json!({"to": {"space_id": room.id}, "summary": "Crash test", "key": "crash-1"});
    let created = h.client.post("/v1/escalations", &body).await.unwrap();
    assert_eq!(created.status, 201, "{:#}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    // Kill it once it has tried to post and been refused: the card is owed, not lost.
    eventually("a card post refused with 503", || async {
        let calls = h.sim.rest_calls();
        let posts: Vec<_> = calls.iter().filter(|c| c.method == "POST" && c.path == "/v1/messages").collect();
        if posts.iter().any(|c| c.status == 503) {
            Ok(())
        } else {
            Err(format!("card posts: {posts:?}"))
        }
    })
    .await;
    assert_eq!(h.metric("webex_hitl_outbox_jobs").await, Some(1.0), "the card is still owed");
    daemon.kill_9().await;
    assert_eq!(cards(&h, &room.id), 0, "nothing was posted before the crash");

    h.sim.fail_next_rest(0, 503, None);
    let daemon = Daemon::start(&config, &h).await;
    eventually("the card is posted after the restart", || async {
        let escalation = h.client.get(&format!("/v1/escalations/{id}")).await.unwrap().body;
        if escalation["delivery"]["state"] == "posted" {
            Ok(())
        } else {
            Err(format!("{escalation:#}"))
        }
    })
    .await;
    assert_eq!(cards(&h, &room.id), 1);

    daemon.kill_9().await;
    let _daemon = Daemon::start(&config, &h).await;
    // The post and the removal of its job are one transaction. Had the job
    // survived, this daemon would post the card again before the outbox empties.
    h.wait_outbox_empty().await;
    assert_eq!(cards(&h, &room.id), 1, "a restart after the post does not post again");
    let again = h.client.post("/v1/escalations", &body).await.unwrap();
    assert_eq!((again.status.as_u16(), again.body["id"].as_str()), (200, Some(id.as_str())), "the key still finds it");
}
