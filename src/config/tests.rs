use super::*;

#[test]
fn defaults_point_at_real_webex() {
    let config = Config::from_toml("").unwrap();
    assert_eq!(config.webex.api_url, "https://webexapis.com/v1");
    assert_eq!(config.webex.u2c_url, "https://u2c.wbx2.com/u2c/api/v1");
    assert!(config.webex.wdm_url.is_none());
    assert_eq!(config.log.format, LogFormat::Text);
}

#[test]
fn the_example_file_is_valid_and_shows_the_defaults() {
    let example = Config::from_toml(include_str!("../../config.toml.example")).unwrap();
    let defaults = Config::from_toml("").unwrap();
    assert_eq!(format!("{:?}", example.webex), format!("{:?}", defaults.webex));
    assert_eq!(example.log.level, defaults.log.level);
}

#[test]
fn errors_name_the_key() {
    let cases = [
        ("[webex]\napi_url = \"not a url\"", "webex.api_url"),
        ("[webex]\nproxy = \"ftp://p:1\"", "webex.proxy"),
        ("[webex]\nping_interval_s = -1", "webex.ping_interval_s"),
        ("[webex]\nping_interval_s = \"soon\"", "webex.ping_interval_s"),
        ("[webex]\napi_ur = \"https://x\"", "api_ur"),
        ("[log]\nformat = \"xml\"", "log.format"),
        ("[log]\nlevel = \"=[\"", "log.level"),
        ("[webex]\nca_file = \"/nonexistent/ca.pem\"", "webex.ca_file"),
        ("[api]\nsocket_mode = \"0868\"", "api.socket_mode"),
        ("[api]\nsocket_mode = 0o660", "api.socket_mode"),
        ("[api]\nsocket_group = \"no-such-group-here\"", "api.socket_group"),
        ("[api]\nallowed_uids = [-1]", "api.allowed_uids"),
        ("[escalations.policies.standard]\nremind_after_s = 0", "escalations.policies.standard.remind_after_s"),
        (
            "[escalations.policies.standard]\nclaim = {claim_timeout_s = 0}",
            "escalations.policies.standard.claim.claim_timeout_s",
        ),
        ("[escalations]\ndefault_policy = \"standard\"", "escalations.default_policy"),
    ];
    for (toml, key) in cases {
        let error = Config::from_toml(toml).expect_err(toml);
        assert!(error.key == key || error.message.contains(key), "{toml:?}: expected key {key}, got {error}");
    }
}

#[test]
fn token_comes_from_a_file_and_is_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, "abc123\n").unwrap();
    let mut config = Config::from_toml("").unwrap();
    config.webex.token_file = Some(path.clone());
    // WEBEX_HITL_TOKEN would win; tests never set it.
    let (token, source) = config.load_token().unwrap();
    assert_eq!(token.expose(), "abc123");
    assert!(source.to_string().starts_with("from webex.token_file "), "{source}");
    std::fs::write(&path, "  \n").unwrap();
    assert_eq!(config.load_token().unwrap_err().key, "webex.token_file");
}

#[test]
fn a_bad_proxy_url_is_named_without_its_password() {
    let error = Config::from_toml("[webex]\nproxy = \"ftp://user:hunter2@proxy:21\"").unwrap_err();
    assert_eq!(error.key, "webex.proxy");
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

#[test]
fn policy_presets_are_read_and_the_default_names_one() {
    let toml = "[escalations]\ndefault_policy = \"standard\"\n\
                [escalations.policies.standard]\nremind_after_s = 600\nmax_reminders = 2\n\
                remind = { mention = [\"ana@example.com\"] }\n";
    let config = Config::from_toml(toml).unwrap();
    let preset = &config.escalations.policies["standard"];
    assert_eq!((preset.remind_after_s, preset.max_reminders), (Some(600), Some(2)));
    assert_eq!(preset.remind.mention, ["ana@example.com"]);
    assert_eq!(config.escalations.default_policy.as_deref(), Some("standard"));
    assert!(!config.escalations.automatic_answers, "automatic answers are the operator's choice, off by default");
}

#[test]
fn a_shared_store_needs_a_usable_url_and_names_each_instance_by_its_host() {
    let cases = [
        ("[store]\nbackend = \"postgres\"", "store.url", "is required"),
        (
            "[store]\nbackend = \"postgres\"\nurl = \"postgres://u:hunter2@db:notaport/x\"",
            "store.url",
            "not a PostgreSQL",
        ),
        ("[store]\nbackend = \"postgres\"\nurl = \"postgres://db/x?sslmode=require\"", "store.url", "without TLS"),
        ("[store]\nbackend = \"postgres\"\nurl = \"postgres://db/x\"\nschema = \"a-b\"", "store.schema", "letters"),
        ("[store]\nbackend = \"mysql\"", "store.backend", ""),
    ];
    for (toml, key, words) in cases {
        let error = Config::from_toml(toml).expect_err(toml);
        assert!(error.key == key || error.message.contains(key), "{toml:?}: expected key {key}, got {error}");
        assert!(error.message.contains(words), "{toml:?}: {error}");
        assert!(!error.to_string().contains("hunter2"), "the password is not repeated: {error}");
    }
    let shared = Config::from_toml("[store]\nbackend = \"postgres\"\nurl = \"postgres://db/x\"").unwrap();
    assert!(shared.webex.device_name.starts_with("webex-hitl@"), "{}", shared.webex.device_name);
    assert!(!format!("{:?}", shared.store).contains("postgres://db"), "the url is a secret: {:?}", shared.store);
    let named = "[store]\nbackend = \"postgres\"\nurl = \"postgres://db/x\"\n[webex]\ndevice_name = \"hitl-1\"";
    assert_eq!(Config::from_toml(named).unwrap().webex.device_name, "hitl-1");
    assert_eq!(Config::from_toml("").unwrap().webex.device_name, "webex-hitl", "SQLite keeps its name");
}
