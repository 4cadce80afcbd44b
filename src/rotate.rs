//! `webex-hitl token rotate`: one command to put a new bot token in use, with
//! or without a restart, that systemd's credentials cannot get wrong.
//!
//! systemd copies `LoadCredential=` files at start only, so writing the token
//! file and `systemctl reload` leaves the daemon on the old (maybe revoked)
//! token. This command reads the new token on standard input (never argv: `ps`
//! shows arguments), hands it to the running daemon (`POST /v1/token`, which
//! checks it with Webex first), and only once it is in use (or, with no daemon
//! running, once Webex accepted it) writes it atomically, `0600`, where the next
//! start reads it. A refused token changes nothing anywhere.

use crate::cli::client::{ApiClient, ClientError};
use crate::config::{Config, TokenSource, EXIT_CONFIG, SYSTEM_TOKEN_FILE};
use crate::secret::Secret;
use crate::webex::rest::RestError;
use serde_json::json;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A token is ~150 characters; anything near this is not one.
const MAX_TOKEN_BYTES: u64 = 16 * 1024;
/// Webex's answer to `GET /people/me`, retries included, for a human waiting.
const CHECK_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub config: Option<PathBuf>,
    pub socket: Option<PathBuf>,
    /// Where the token is kept for the next start; defaults to where it came from.
    pub write: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("{0}")]
    Input(String),
    /// Webex refused the token, or it is another bot's.
    #[error("{0}; nothing was changed")]
    Rejected(String),
    /// It could not be checked or handed over.
    #[error("{0}; nothing was changed")]
    Refused(String),
    #[error("the daemon uses the new token, but it could not be saved to {path}: {source}; save it there by hand or the next start uses the old one")]
    Save { path: PathBuf, source: std::io::Error },
}

impl RotateError {
    /// `EX_CONFIG` for a token Webex refuses (as `serve` exits), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            RotateError::Rejected(_) => EXIT_CONFIG,
            _ => 1,
        }
    }
}

/// Reads the token from `input`, puts it in use, saves it; returns what to tell the operator.
pub async fn run(options: &Options, input: impl Read) -> Result<String, RotateError> {
    let token = read_token(input)?;
    let file = Config::operator_file(options.config.as_deref());
    let config = Config::load(file.as_deref()).map_err(|e| RotateError::Input(format!("configuration: {e}")))?;
    let target = options.write.clone().or_else(|| saved_at(&config));
    let socket = options.socket.clone().unwrap_or_else(|| config.api.socket.clone());
    let in_use = match hand_to_daemon(&socket, &token).await? {
        Some(bot) => format!("the daemon on {} now uses the token of {bot}", socket.display()),
        None => format!("no daemon answers on {}; Webex accepted the token of {}", socket.display(), {
            check_with_webex(&config, &token).await?
        }),
    };
    let Some(target) = target else {
        return Ok(format!(
            "{in_use}. WEBEX_HITL_TOKEN is set: change it where it is set, or the next start uses the old token"
        ));
    };
    save(&target, &token).map_err(|source| RotateError::Save { path: target.clone(), source })?;
    Ok(format!("{in_use}; saved to {} (0600), which the next start reads", target.display()))
}

fn read_token(input: impl Read) -> Result<Secret, RotateError> {
    let mut text = String::new();
    input
        .take(MAX_TOKEN_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| RotateError::Input(format!("cannot read the token from standard input: {e}")))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(RotateError::Input("no token on standard input (webex-hitl token rotate < FILE)".into()));
    }
    if token.chars().any(char::is_whitespace) {
        return Err(RotateError::Input("standard input holds more than one word; give the token alone".into()));
    }
    Ok(Secret::new(token))
}

/// Where the token the daemon starts with lives: `webex.token_file`, or the
/// credential's source file; `None` when the environment variable provides it.
fn saved_at(config: &Config) -> Option<PathBuf> {
    match config.load_token() {
        Ok((_, TokenSource::Environment)) => None,
        Ok((_, TokenSource::File(path))) => Some(path),
        // Not readable here, or the systemd credential: the unit's LoadCredential source.
        Ok((_, TokenSource::Credential(_))) | Err(_) => {
            Some(config.webex.token_file.clone().unwrap_or_else(|| PathBuf::from(SYSTEM_TOKEN_FILE)))
        }
    }
}

/// The bot's name once the daemon uses the token; `None` when no daemon answers.
async fn hand_to_daemon(socket: &Path, token: &Secret) -> Result<Option<String>, RotateError> {
    let client = ApiClient::new(socket);
    let answer = match client.post("/v1/token", &json!({"token": token.expose()})).await {
        Ok(answer) => answer,
        Err(ClientError::Connect { source, .. })
            if matches!(source.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) =>
        {
            return Ok(None)
        }
        Err(error) => return Err(RotateError::Refused(format!("{error} (as root: sudo webex-hitl token rotate)"))),
    };
    if !answer.status.is_success() {
        let rejected = matches!(answer.body["error"]["code"].as_str(), Some("token_rejected" | "token_other_bot"));
        let message = answer.body["error"]["message"].as_str().map_or_else(|| answer.body.to_string(), str::to_owned);
        let message = format!("the daemon refused the token ({}): {message}", answer.status);
        return Err(if rejected { RotateError::Rejected(message) } else { RotateError::Refused(message) });
    }
    let rotated: crate::api::token::Rotated = serde_json::from_value(answer.body)
        .map_err(|e| RotateError::Refused(format!("the daemon's answer is not understood: {e}")))?;
    let bot = rotated.bot;
    Ok(Some(bot.email.map_or(bot.name.clone(), |email| format!("{} <{email}>", bot.name))))
}

async fn check_with_webex(config: &Config, token: &Secret) -> Result<String, RotateError> {
    let rest = crate::daemon::rest_with_token(config, token.clone())
        .map_err(|e| RotateError::Input(format!("configuration: {e}")))?;
    match tokio::time::timeout(CHECK_WAIT, rest.me()).await {
        Ok(Ok(me)) => Ok(me.primary_email().map_or(me.display_name.clone(), |e| format!("{} <{e}>", me.display_name))),
        Ok(Err(RestError::Unauthorized { message, .. })) => {
            Err(RotateError::Rejected(format!("Webex rejected the new token (401: {message})")))
        }
        Ok(Err(error)) => Err(RotateError::Refused(format!("cannot check the new token with Webex: {error}"))),
        Err(_) => {
            Err(RotateError::Refused(format!("cannot check the new token: Webex did not answer within {CHECK_WAIT:?}")))
        }
    }
}

/// Replaces `path` with the token in one step: a reader sees the old file or
/// the new one, never half of it, and never a moment of wider permissions.
fn save(path: &Path, token: &Secret) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.new-{}", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp)?;
        file.write_all(token.expose().as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_token_is_one_trimmed_word() {
        assert_eq!(read_token("  abc.def-1 \n".as_bytes()).unwrap().expose(), "abc.def-1");
        assert!(matches!(read_token("\n".as_bytes()), Err(RotateError::Input(_))));
        assert!(matches!(read_token("two words".as_bytes()), Err(RotateError::Input(_))));
    }

    #[test]
    fn saving_replaces_the_file_whole_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        save(&path, &Secret::new("new-token")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new-token\n");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
    }

    #[test]
    fn a_refused_token_exits_as_serve_does() {
        assert_eq!(RotateError::Rejected("Webex rejected the new token (401: x)".into()).exit_code(), EXIT_CONFIG);
        assert_eq!(RotateError::Refused("cannot check the new token with Webex: timeout".into()).exit_code(), 1);
    }
}
