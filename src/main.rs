//! The `webex-hitl` binary: the daemon, the simulator, the demo, and CLI verbs
//! that talk to a running daemon over its socket.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;
use webex_hitl::cli::escalations::EscalateArgs;
use webex_hitl::cli::{self, client::ApiClient};
use webex_hitl::config::{Config, LogConfig, EXIT_CONFIG};
use webex_hitl::model::Destination;
use webex_hitl::{bench, daemon, demo, doctor, logging, mcp, rotate, signals, sim};

#[derive(Parser)]
#[command(
    name = "webex-hitl",
    version = webex_hitl::metrics::build_info::VERSION_LINE,
    about = "Human-in-the-loop escalations from an AI engine to Webex specialists"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon.
    Serve {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Run the Webex simulator (REST, U2C, WDM, Mercury and a control API) on loopback.
    Sim {
        #[arg(long, default_value = "127.0.0.1:8900")]
        listen: SocketAddr,
        /// The only bot token the simulator accepts.
        #[arg(long, default_value = "sim-token")]
        token: String,
        /// Serve HTTPS/WSS with this PEM certificate (chain); needs --tls-key.
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Start the simulator and the daemon together and show them working.
    Demo {
        /// Exit after the walkthrough instead of running until Ctrl-C.
        #[arg(long)]
        once: bool,
    },
    /// Measure: spaces sync and list, escalations accepted and delivered, answer latency (simulator, in-process);
    /// `--scale`: the same at 10k spaces and 100k escalations, with the daemon's memory and threads.
    Bench(bench::BenchOptions),
    /// Show the daemon's health.
    Status {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        json: bool,
    },
    /// Check the setup live (config, token, Webex, daemon, spaces) and print fixes; exit 1 if any check fails.
    Doctor {
        #[command(flatten)]
        target: Target,
        /// A space id the bot must be able to post to.
        #[arg(long)]
        space: Option<String>,
    },
    /// List the spaces the bot can post to.
    Spaces {
        #[command(flatten)]
        target: Target,
        /// Resync from Webex first.
        #[arg(long)]
        refresh: bool,
        #[arg(long)]
        json: bool,
    },
    /// Ask a specialist: post an escalation card to a space or a person.
    Escalate {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        to: ToArgs,
        #[arg(long)]
        summary: String,
        #[arg(long)]
        question: Option<String>,
        #[arg(long)]
        player_name: Option<String>,
        #[arg(long)]
        player_email: Option<String>,
        /// A player tag (repeat for several).
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[arg(long)]
        brand: Option<String>,
        #[arg(long)]
        timeout: Option<u64>,
        /// Idempotency key: the same key returns the same escalation.
        #[arg(long)]
        key: Option<String>,
        /// A policy preset of the daemon's configuration (reminders, deadline outcome).
        #[arg(long)]
        policy: Option<String>,
        /// Wait for the answer and print it; exit codes as for `wait`.
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        json: bool,
    },
    /// List escalations, newest first.
    Escalations {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        space: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Wait until an escalation is answered (or closed otherwise). Exit code: 0
    /// answered, 2 still pending when --timeout ran out, 3 expired, 4 cancelled,
    /// 5 failed (never delivered), 1 the command itself failed.
    Wait {
        #[command(flatten)]
        target: Target,
        id: String,
        /// Give up after this many seconds (exit 2); without it, wait until it closes.
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// Cancel a pending escalation; its card says so.
    Cancel {
        #[command(flatten)]
        target: Target,
        id: String,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Send a one-way notification to a space or a person.
    Notify {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        to: ToArgs,
        #[arg(long, conflicts_with = "markdown")]
        text: Option<String>,
        #[arg(long)]
        markdown: Option<String>,
        /// Idempotency key: sent again with the same key, the message is posted once.
        #[arg(long)]
        key: Option<String>,
    },
    /// Print the event log as NDJSON.
    Events {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// The epoch `--after` came from (every line carries it): a cursor from
        /// another store is answered with a `stream.reset` line.
        #[arg(long)]
        epoch: Option<String>,
        /// Keep printing new events as they happen.
        #[arg(long)]
        follow: bool,
    },
    /// Show who changed what through the socket API (mutating requests, newest first).
    Audit {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Serve the daemon's escalations as MCP tools on stdio (for MCP-capable AI agents).
    Mcp {
        #[command(flatten)]
        target: Target,
        /// Seconds between progress notifications while a tool waits for an answer.
        #[arg(long, default_value_t = 5.0, hide = true)]
        progress_every_s: f64,
    },
    /// Print the socket API's OpenAPI 3.1 document (what `GET /v1/openapi.json` serves):
    /// `webex-hitl openapi > openapi.json` regenerates the committed copy.
    Openapi,
    /// Configuration tools.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The bot token.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate the configuration (file + environment + token) without starting.
    Check {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Also ask Webex whether it accepts the token (GET /people/me), through
        /// the configured proxy and CA.
        #[arg(long)]
        online: bool,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Put a new bot token in use: read from standard input, checked with Webex,
    /// handed to the running daemon (no restart), then saved where the next start
    /// reads it (webex.token_file, else /etc/webex-hitl/token, the unit's
    /// credential). A refused token changes nothing. `sudo webex-hitl token rotate < new-token`
    Rotate {
        #[command(flatten)]
        target: Target,
        /// Save the token here instead (default: where it came from).
        #[arg(long, value_name = "FILE")]
        write: Option<PathBuf>,
    },
}

/// Where a card or message goes: exactly one of these.
#[derive(Args)]
#[group(required = true, multiple = false)]
struct ToArgs {
    /// A space (room) id, as `webex-hitl spaces` lists them.
    #[arg(long)]
    space: Option<String>,
    /// A person's email: a direct message.
    #[arg(long)]
    email: Option<String>,
    /// A person's id: a direct message.
    #[arg(long)]
    person_id: Option<String>,
}

impl ToArgs {
    fn to(self) -> Destination {
        match (self.space, self.email, self.person_id) {
            (Some(space), _, _) => Destination::SpaceId(space),
            (_, Some(email), _) => Destination::PersonEmail(email),
            (_, _, Some(id)) => Destination::PersonId(id),
            // clap's group makes one of them required.
            (None, None, None) => Destination::SpaceId(String::new()),
        }
    }
}

/// Which daemon to talk to: `--socket`, else the configuration's `api.socket`.
#[derive(Args)]
struct Target {
    #[arg(long)]
    socket: Option<PathBuf>,
    #[arg(long, short)]
    config: Option<PathBuf>,
}

impl Target {
    fn client(&self) -> anyhow::Result<ApiClient> {
        let socket = match &self.socket {
            Some(socket) => socket.clone(),
            None => Config::load(self.config.as_deref())?.api.socket,
        };
        Ok(ApiClient::new(socket))
    }
}

fn main() -> ExitCode {
    bound_allocator();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start the async runtime: {error}"), 1),
    };
    runtime.block_on(run(cli.command))
}

/// glibc gives each thread that meets contention an arena of its own (up to
/// 8 per core) and keeps what each held: two arenas bound what the daemon's
/// threads (the runtime's, the store's) leave behind. Before the runtime's
/// threads start, so that none has made one yet. (Measured: README, Performance.)
fn bound_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

async fn run(command: Command) -> ExitCode {
    match command {
        Command::Serve { config } => serve(config).await,
        Command::Openapi => {
            print!("{}", webex_hitl::api::openapi::document_text());
            ExitCode::SUCCESS
        }
        Command::Sim { listen, token, tls_cert, tls_key } => {
            logging::init(&Default::default());
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => match sim::SimTls::from_files(&cert, &key) {
                    Ok(tls) => Some(tls),
                    Err(error) => return fail(&error.to_string(), 1),
                },
                _ => None,
            };
            let shutdown = CancellationToken::new();
            exit_on(signals::run_until_signalled(&shutdown, sim::run(listen, token, tls, shutdown.clone())).await)
        }
        Command::Bench(options) => exit_on(bench::run(options).await),
        Command::Demo { once } => {
            let shutdown = CancellationToken::new();
            exit_on(signals::run_until_signalled(&shutdown, demo::run(once, shutdown.clone())).await)
        }
        Command::Status { target, json } => match async { cli::status(&target.client()?, json).await }.await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(error) => fail(&error.to_string(), 1),
        },
        Command::Doctor { target, space } => {
            let options = doctor::Options { config: target.config, socket: target.socket, space };
            if doctor::run(&options).await {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Command::Spaces { target, refresh, json } => {
            exit_on(async { cli::spaces(&target.client()?, refresh, json).await }.await)
        }
        Command::Config(ConfigCommand::Check { config, online }) => check_config(config, online).await,
        Command::Token(TokenCommand::Rotate { target, write }) => {
            let options = rotate::Options { config: target.config, socket: target.socket, write };
            match rotate::run(&options, std::io::stdin()).await {
                Ok(report) => {
                    println!("{report}");
                    ExitCode::SUCCESS
                }
                Err(error) => fail(&error.to_string(), error.exit_code()),
            }
        }
        Command::Mcp { target, progress_every_s } => serve_mcp(target, progress_every_s).await,
        Command::Audit { target, limit, json } => {
            exit_on(async { cli::audit(&target.client()?, limit, json).await }.await)
        }
        other => match escalation_verb(other).await {
            Ok(code) => ExitCode::from(code),
            Err(error) => fail(&format!("{error:#}"), 1),
        },
    }
}

/// Runs a verb and gives its exit code: 0, or for a wait what [`cli::exit_code`] says.
async fn escalation_verb(command: Command) -> anyhow::Result<u8> {
    let done = |()| 0;
    match command {
        Command::Escalate {
            target,
            to,
            summary,
            question,
            player_name,
            player_email,
            tags,
            brand,
            timeout,
            key,
            policy,
            wait,
            json,
        } => {
            let args = EscalateArgs {
                summary,
                question,
                player_name,
                player_email,
                tags,
                brand,
                timeout_s: timeout,
                key,
                policy,
            };
            Ok(cli::escalate(&target.client()?, to.to(), args, wait, json).await?.map_or(0, cli::exit_code))
        }
        Command::Escalations { target, status, space, limit, json } => {
            cli::escalations(&target.client()?, status, space, limit, json).await.map(done)
        }
        Command::Wait { target, id, timeout, json } => {
            cli::wait(&target.client()?, &id, timeout, json).await.map(cli::exit_code)
        }
        Command::Cancel { target, id, reason, json } => {
            cli::cancel(&target.client()?, &id, reason, json).await.map(done)
        }
        Command::Notify { target, to, text, markdown, key } => {
            cli::notify(&target.client()?, to.to(), text, markdown, key).await.map(done)
        }
        Command::Events { target, after, epoch, follow } => {
            cli::events(&target.client()?, after, epoch.as_deref(), follow).await.map(done)
        }
        _ => anyhow::bail!("not an escalation verb"),
    }
}

async fn serve(file: Option<PathBuf>) -> ExitCode {
    let config = match Config::load(file.as_deref()) {
        Ok(config) => config,
        Err(error) => return fail(&format!("configuration error: {error}"), EXIT_CONFIG),
    };
    logging::init(&config.log);
    let shutdown = CancellationToken::new();
    match signals::run_until_signalled(&shutdown, serve_until_stopped(config, file, &shutdown)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error.to_string(), error.exit_code()),
    }
}

/// The daemon and its SIGHUP reloader, side by side until the daemon stops.
async fn serve_until_stopped(
    config: Config,
    file: Option<PathBuf>,
    shutdown: &CancellationToken,
) -> Result<(), daemon::DaemonError> {
    let running = daemon::start(config, shutdown.clone()).await?;
    let reloader = signals::reload_on_hangup(file, running.token.clone(), shutdown.clone());
    let (outcome, ()) = tokio::join!(
        async {
            let outcome = running.wait().await;
            // Whatever ended the daemon ends the reloader too.
            shutdown.cancel();
            outcome
        },
        reloader
    );
    outcome
}

/// `mcp`: stdout is the protocol, so logs go to stderr (as they always do).
async fn serve_mcp(target: Target, progress_every_s: f64) -> ExitCode {
    // The SDK logs every message at info: only its warnings are worth a line.
    logging::init(&LogConfig { level: "info,rmcp=warn".into(), ..LogConfig::default() });
    let client = match target.client() {
        Ok(client) => client,
        Err(error) => return fail(&format!("configuration error: {error:#}"), EXIT_CONFIG),
    };
    let Ok(progress_every) = std::time::Duration::try_from_secs_f64(progress_every_s.max(0.1)) else {
        return fail("--progress-every-s: a number of seconds", 2);
    };
    let options = mcp::Options { progress_every };
    let shutdown = CancellationToken::new();
    exit_on(
        signals::run_until_signalled(&shutdown, mcp::serve(client, options, shutdown.clone()))
            .await
            .map_err(Into::into),
    )
}

async fn check_config(file: Option<PathBuf>, online: bool) -> ExitCode {
    // Warnings found while checking (a token file readable by others) must show.
    logging::init(&Default::default());
    let checked = Config::load(file.as_deref()).and_then(|config| config.load_token().map(|_| config));
    let config = match checked {
        Ok(config) => config,
        Err(error) => return fail(&format!("configuration error: {error}"), EXIT_CONFIG),
    };
    println!(
        "configuration OK: API socket {}, store {}, Webex API {}",
        config.api.socket.display(),
        config.store.path.display(),
        config.webex.api_url
    );
    if !online {
        return ExitCode::SUCCESS;
    }
    match doctor::check_token_online(&config).await {
        Ok(bot) => {
            println!("token OK: Webex accepts it ({bot})");
            ExitCode::SUCCESS
        }
        Err(failure) => fail(&failure.to_string(), failure.exit_code()),
    }
}

fn exit_on(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&format!("{error:#}"), 1),
    }
}

fn fail(message: &str, code: i32) -> ExitCode {
    eprintln!("webex-hitl: {message}");
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
