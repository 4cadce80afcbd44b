//! `webex-hitl demo`: the simulator and the daemon in one process, playing one
//! full round trip, so a newcomer sees the whole thing work with one command
//! and no Webex account. Then it keeps running for them to try more.

use crate::api::health::Health;
use crate::api::spaces::SpaceList;
use crate::cli::client::ApiClient;
use crate::cli::expect_ok;
use crate::config::Config;
use crate::daemon;
use crate::escalation::request::EscalationRequest;
use crate::model::{DeliveryState, Destination, EscalationView, Player, Status};
use crate::sim::{SimHandle, SimOptions, SimRoom, Simulator};
use anyhow::Context;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const SPECIALIST: &str = "ana.specialist@example.com";

pub async fn run(once: bool, shutdown: CancellationToken) -> anyhow::Result<()> {
    crate::logging::init(&crate::config::LogConfig { level: "warn".into(), ..Default::default() });
    let simulator = Simulator::start(SimOptions::default()).await.context("starting the simulator")?;
    let sim = simulator.handle();
    let dir = tempfile::Builder::new().prefix("webex-hitl-demo-").tempdir().context("creating a scratch directory")?;
    let config = scratch_config(&simulator, dir.path())?;
    step(&format!("Webex simulator listening on {}", simulator.addr()));

    let daemon_shutdown = shutdown.child_token();
    let running = daemon::start(config.clone(), daemon_shutdown.clone()).await?;
    step(&format!(
        "daemon started; bot token valid for {} <{}>",
        running.bot.name,
        running.bot.email.as_deref().unwrap_or("?")
    ));
    let client = ApiClient::new(&running.socket);
    let daemon_task = tokio::spawn(running.wait());
    let walkthrough = round_trip(&client, &sim).await;
    if let Ok(room) = &walkthrough {
        print_try_it(&config.api.socket.display().to_string(), &simulator, room);
        if !once {
            println!("Running until Ctrl-C.");
            shutdown.cancelled().await;
        }
    }
    daemon_shutdown.cancel();
    daemon_task.await.context("daemon task")??;
    simulator.stop().await;
    walkthrough.map(|_| ())
}

/// One escalation from the engine's request to the card showing the answer.
async fn round_trip(client: &ApiClient, sim: &SimHandle) -> anyhow::Result<SimRoom> {
    let health: Health = poll(client, "/v1/health", |h: &Health| h.webex.connected).await?;
    step(&format!("connected to Mercury through device {}", health.webex.device_url.as_deref().unwrap_or("?")));
    let ana = sim.add_person(SPECIALIST, "Ana Specialist");
    let room = sim.create_room("VIP Escalations");
    sim.add_member(&room.id, &ana.id, None)?;
    sim.add_member(&room.id, &sim.bot().id, Some(&ana.id))?;
    poll(client, "/v1/spaces", |s: &SpaceList| !s.items.is_empty()).await?;
    step(&format!("Ana added the bot to \"{}\"; the daemon's space cache shows it at once", room.title));

    let request = EscalationRequest {
        key: Some("conv-8812/turn-14".into()),
        to: Some(Destination::SpaceId(room.id.clone())),
        player: Player {
            name: Some("Jane Doe".into()),
            email: Some("jane@example.com".into()),
            tags: vec!["VIP".into(), "KYC pending".into()],
            brand: Some("LuckySpin".into()),
        },
        summary: "Player asks why withdrawal #4411 is on hold. Deposit cleared yesterday.".into(),
        question: Some("Can we release the withdrawal?".into()),
        context: json!({"conversation_id": "8812"}),
        ..EscalationRequest::default()
    };
    let created: EscalationView = expect_ok(client.post("/v1/escalations", &serde_json::to_value(&request)?).await?)?;
    let id = created.id.clone();
    step(&format!("the engine asked for input: POST /v1/escalations → {id} ({})", created.status));
    let path = format!("/v1/escalations/{id}");
    let posted: EscalationView =
        poll(client, &path, |e: &EscalationView| e.delivery.state == DeliveryState::Posted).await?;
    let message_id = posted.delivery.message_id.unwrap_or_default();
    step(&format!("the card is in the space (message {message_id}), with a \"Provide Input\" button"));

    let inputs = json!({"response": "Yes, release it: the deposit cleared and KYC is only pending for the next tier."});
    sim.submit_card(&message_id, &ana.id, inputs.as_object().cloned().unwrap_or_default())?;
    step("Ana typed her answer and pressed Provide Input");
    let answered: EscalationView = expect_ok(client.get(&format!("{path}?wait=10")).await?)?;
    let Some(answer) = answered.answer.filter(|_| answered.status == Status::Answered) else {
        anyhow::bail!("the escalation was not answered: it is {}", answered.status);
    };
    let response = answer.inputs.get("response").map(String::as_str).unwrap_or("?");
    step(&format!("the engine received the answer from {}: {response:?}", answer.by.name));
    wait_card_answered(sim, &message_id).await?;
    step("the card was updated in place: \"Answered by Ana Specialist\", inputs and button gone");
    Ok(room)
}

async fn wait_card_answered(sim: &SimHandle, message_id: &str) -> anyhow::Result<()> {
    until("the card shows the answer", || async {
        let card = sim.message(message_id).and_then(|m| m.card);
        Ok(card.filter(|c| c.to_string().contains("Answered by")).map(|_| ()))
    })
    .await
}

/// A configuration for a daemon in `dir` talking to `simulator`, with its token
/// file written there (0600). The demo and the benchmark use it.
pub(crate) fn scratch_config(simulator: &Simulator, dir: &std::path::Path) -> anyhow::Result<Config> {
    let token_file = dir.join("token");
    std::fs::write(&token_file, "sim-token")?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600))?;
    }
    let toml = format!(
        "[webex]\ntoken_file = {:?}\napi_url = {:?}\nu2c_url = {:?}\n[api]\nsocket = {:?}\n[store]\npath = {:?}\n",
        token_file,
        simulator.api_url(),
        simulator.u2c_url(),
        dir.join("webex-hitl.sock"),
        dir.join("webex-hitl.db"),
    );
    Ok(Config::from_toml(&toml)?)
}

fn step(text: &str) {
    println!("==> {text}");
}

/// Asks `path` until its answer satisfies `ready`.
pub(crate) async fn poll<T: DeserializeOwned>(
    client: &ApiClient,
    path: &str,
    ready: impl Fn(&T) -> bool,
) -> anyhow::Result<T> {
    until(path, || async {
        let body: T = expect_ok(client.get(path).await?)?;
        Ok(ready(&body).then_some(body))
    })
    .await
}

/// Runs `probe` every 100 ms until it yields a value (10 s at most); `what`
/// names the wait in the error.
async fn until<T, Fut>(what: &str, mut probe: impl FnMut() -> Fut) -> anyhow::Result<T>
where
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    for _ in 0..100 {
        if let Some(value) = probe().await? {
            return Ok(value);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("{what}: not within 10 s")
}

fn print_try_it(socket: &str, simulator: &Simulator, room: &SimRoom) {
    let base = format!("http://{}", simulator.addr());
    let sock = format!("curl -s --unix-socket {socket}");
    println!();
    println!("Try it (in another terminal):");
    println!("  {sock} http://localhost/v1/health");
    println!("  {sock} http://localhost/v1/spaces");
    println!("  # ask for input (prints the escalation; note its id):");
    println!("  {sock} -X POST http://localhost/v1/escalations -H 'content-type: application/json' \\");
    println!("      -d '{{\"to\": {{\"space_id\": \"{}\"}}, \"summary\": \"Player wants a bonus refund\"}}'", room.id);
    println!("  # find the card's message id, then answer it as the specialist Ana:");
    println!("  {sock} http://localhost/v1/escalations/ESC_ID | grep -o '\"message_id\":\"[^\"]*\"'");
    println!("  curl -s -X POST {base}/_sim/cards/submit -H 'content-type: application/json' \\");
    println!("      -d '{{\"messageId\": \"MESSAGE_ID\", \"personEmail\": \"{SPECIALIST}\", \"inputs\": {{\"response\": \"Approved\"}}}}'");
    println!("  {sock} 'http://localhost/v1/escalations/ESC_ID?wait=30'");
    println!("  {sock} 'http://localhost/v1/events?after=0&follow=true'    # the engine's event stream");
    println!("  curl -s -X POST {base}/_sim/faults/drop                      # drop the websocket; watch reconnects");
    println!("  cargo run --release -- status --socket {socket}");
    println!();
}
