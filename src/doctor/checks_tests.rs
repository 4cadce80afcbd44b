use super::*;
use crate::doctor::facts::*;

fn healthy() -> Facts {
    let now = Utc::now();
    let bot = Bot { id: "b1".into(), name: "HITL Bot".into(), email: Some("hitl@webex.bot".into()) };
    Facts {
        now,
        config: Some(Ok(Setup {
            source: "c.toml".into(),
            socket: "/run/s.sock".into(),
            api_url: "https://webexapis.com/v1".into(),
            proxy: None,
            ca_file: None,
            device_name: "webex-hitl".into(),
        })),
        token: Some(Ok("webex.token_file".into())),
        ca: None,
        me: Some(Ok(bot.clone())),
        me_from_daemon: false,
        daemon: Some(Ok(Daemon {
            socket: "/run/s.sock".into(),
            connected: true,
            since: Some(now - chrono::Duration::seconds(125)),
            last_event_at: Some(now - chrono::Duration::seconds(7)),
            reconnects: 2,
            last_error: None,
            bot: Some(bot),
            token_rejected: None,
            replaced_at: None,
        })),
        spaces: Some(Ok(Counted { count: 3, from: "the daemon's cache" })),
        devices: Some(Ok(1)),
        space: Some(SpaceProbe::Member { id: "R1".into(), title: "VIP".into() }),
    }
}

fn find<'a>(findings: &'a [Finding], check: &str) -> &'a Finding {
    findings.iter().find(|f| f.check == check).unwrap_or_else(|| panic!("no {check} finding: {findings:#?}"))
}

#[test]
fn a_healthy_setup_passes_every_check() {
    let findings = findings(&healthy());
    assert_eq!(findings.len(), 9);
    assert!(findings.iter().all(|f| f.level == Level::Ok), "{findings:#?}");
    assert!(find(&findings, "bot").message.contains("HITL Bot <hitl@webex.bot>"));
    let ws = &find(&findings, "websocket").message;
    assert!(ws.contains("connected for 2m 5s, 2 reconnects; last event 7s ago"), "{ws}");
}

#[test]
fn no_spaces_fails_with_the_documented_fix() {
    let mut facts = healthy();
    facts.spaces = Some(Ok(Counted { count: 0, from: "Webex" }));
    let found = findings(&facts);
    let spaces = find(&found, "spaces");
    assert_eq!(spaces.level, Level::Fail);
    assert_eq!(spaces.fix.as_deref(), Some(FIX_NO_SPACES));
}

#[test]
fn a_rejected_token_fails_with_the_portal_fix() {
    let mut facts = healthy();
    facts.me = Some(Err(WebexFailure::Rejected("401: invalid".into())));
    let found = findings(&facts);
    let bot = find(&found, "bot");
    assert_eq!(bot.level, Level::Fail);
    assert!(bot.fix.as_deref().unwrap().contains("Generate a new token in the Webex Developer Portal"));
}

#[test]
fn a_disconnected_websocket_shows_the_last_error_and_the_firewall_fix() {
    let mut facts = healthy();
    if let Some(Ok(daemon)) = &mut facts.daemon {
        daemon.connected = false;
        daemon.last_error = Some("proxy refused CONNECT".into());
        daemon.last_event_at = None;
    }
    let found = findings(&facts);
    let ws = find(&found, "websocket");
    assert_eq!(ws.level, Level::Fail);
    assert!(ws.message.contains("proxy refused CONNECT") && ws.message.contains("no event received yet"));
    assert!(ws.fix.as_deref().unwrap().contains("*.wbx2.com and webexapis.com"));
    // Not connected: no device registration is expected.
    facts.devices = Some(Ok(0));
    assert_eq!(find(&findings(&facts), "devices").level, Level::Ok);
}

#[test]
fn a_removed_space_and_a_stopped_daemon() {
    let mut facts = healthy();
    facts.space = Some(SpaceProbe::Removed { id: "R1".into(), title: "VIP".into() });
    facts.daemon = Some(Err("cannot reach the daemon".into()));
    let found = findings(&facts);
    assert_eq!(find(&found, "space").fix.as_deref(), Some(FIX_READD));
    assert_eq!(find(&found, "daemon").level, Level::Fail);
    assert_eq!(find(&found, "websocket").level, Level::Skip);
}

#[test]
fn leaked_devices_and_a_bad_ca_file() {
    let mut facts = healthy();
    facts.devices = Some(Ok(3));
    if let Some(Ok(setup)) = &mut facts.config {
        setup.ca_file = Some("/etc/ca.pem".into());
        setup.proxy = Some("http://***@proxy:3128".into());
    }
    facts.ca = Some(Err("no certificates".into()));
    let found = findings(&facts);
    assert_eq!(find(&found, "devices").level, Level::Warn);
    let network = find(&found, "network");
    assert_eq!(network.level, Level::Fail);
    assert!(network.message.contains("http://***@proxy:3128"), "{}", network.message);
}

#[test]
fn ages_read_naturally() {
    let now = Utc::now();
    let ago = |s| age(now, now - chrono::Duration::seconds(s));
    assert_eq!(
        (ago(5), ago(185), ago(7260), ago(90_000)),
        ("5s".into(), "3m 5s".into(), "2h 1m".into(), "1d 1h".into())
    );
    assert_eq!(age(now, now + chrono::Duration::seconds(3)), "0s");
}

#[test]
fn an_unreadable_token_is_no_failure_when_the_daemon_vouches_for_its_own() {
    let mut facts = healthy();
    facts.token = Some(Err("$CREDENTIALS_DIRECTORY is not set".into()));
    facts.me_from_daemon = true;
    let found = findings(&facts);
    let token = find(&found, "token");
    assert_eq!(token.level, Level::Ok, "{token:?}");
    assert!(token.message.contains("the running daemon's token is checked instead"), "{token:?}");
    facts.me_from_daemon = false;
    assert_eq!(find(&findings(&facts), "token").level, Level::Fail);
}

#[test]
fn unreachable_webex_is_not_called_a_bad_token() {
    let mut facts = healthy();
    facts.me = Some(Err(WebexFailure::Unreachable("connection refused".into())));
    let found = findings(&facts);
    let bot = find(&found, "bot");
    assert!(bot.message.starts_with("cannot reach Webex") && !bot.message.contains("rejected"), "{bot:?}");
    assert_eq!(bot.fix.as_deref(), Some(FIX_NETWORK));
}

#[test]
fn a_daemon_on_a_rejected_token_or_a_taken_over_device_says_what_to_do() {
    let mut facts = healthy();
    if let Some(Ok(daemon)) = &mut facts.daemon {
        daemon.token_rejected = Some((facts.now, "401: token expired".into()));
        daemon.connected = false;
        daemon.replaced_at = Some(facts.now - chrono::Duration::seconds(30));
    }
    let found = findings(&facts);
    let daemon = find(&found, "daemon");
    assert_eq!((daemon.level, daemon.fix.as_deref()), (Level::Fail, Some(FIX_TOKEN_REJECTED)));
    assert!(FIX_TOKEN_REJECTED.contains("webex-hitl token rotate"));
    let websocket = find(&found, "websocket");
    assert_eq!((websocket.level, websocket.fix.as_deref()), (Level::Fail, Some(FIX_REPLACED)));
    assert!(websocket.message.contains("took over this bot's device 30s ago"), "{websocket:?}");
}
