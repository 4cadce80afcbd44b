//! A scratch PostgreSQL schema for one test, on the server tests are given
//! (`WEBEX_HITL_TEST_POSTGRES`, by default 127.0.0.1:5432, trust auth,
//! database `test`, which CI's machine runs). Without a server the test says
//! SKIPPED on the terminal (past the harness's capture) and passes having run
//! nothing, unless `WEBEX_HITL_REQUIRE_POSTGRES=1` (`.ci/run`), which fails it.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

#[path = "../../../src/store/tests/pg_env.rs"]
mod pg_env;
pub use pg_env::{drop_schema, skipped, url};

/// A schema of its own, dropped with it.
pub struct Scratch {
    pub url: String,
    pub schema: String,
}

impl Scratch {
    pub async fn new(test: &str) -> Option<Scratch> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let mut schema = format!("it{}_{}_{test}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        schema.truncate(63);
        let (url, name) = (url(), schema.clone());
        let created = tokio::task::spawn_blocking(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
            client.batch_execute(&format!("CREATE SCHEMA \"{name}\""))
        })
        .await
        .expect("probe");
        match created {
            Ok(()) => Some(Scratch { url: self::url(), schema }),
            Err(error) => {
                skipped(test, &error.to_string());
                None
            }
        }
    }

    /// Runs one statement in the scratch schema (as an operator would) and
    /// answers its rows, each value as text (NULL as "").
    pub async fn rows(&self, statement: &str) -> Vec<Vec<String>> {
        let (url, schema, statement) = (self.url.clone(), self.schema.clone(), statement.to_owned());
        tokio::task::spawn_blocking(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
            client.batch_execute(&format!("SET search_path TO \"{schema}\"")).expect("schema");
            let messages = client.simple_query(&statement).expect("sql runs");
            messages
                .into_iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(row) => {
                        Some((0..row.len()).map(|i| row.get(i).unwrap_or("").to_owned()).collect())
                    }
                    _ => None,
                })
                .collect()
        })
        .await
        .expect("sql")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        drop_schema(&self.schema);
    }
}

/// A PgBouncer in front of the tests' server, in `pool_mode` (`session` or
/// `transaction`), on a port of its own; stopped when dropped. `None` (and a
/// loud line) without the pgbouncer binary (Debian's package; `.ci/run`
/// installs it).
pub struct Bouncer {
    pub url: String,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Bouncer {
    pub async fn start(test: &str, pool_mode: &str) -> Option<Bouncer> {
        let Some(binary) = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].into_iter().find(|p| Path::new(p).exists())
        else {
            let _ = writeln!(
                std::io::stderr(),
                "!!! SKIPPED {test}: pgbouncer is not installed (apt-get install pgbouncer)"
            );
            return None;
        };
        let server: postgres::Config = url().parse().expect("the tests' PostgreSQL URL");
        let host = match server.get_hosts().first() {
            Some(postgres::config::Host::Tcp(host)) => host.clone(),
            _ => "127.0.0.1".to_owned(),
        };
        let port = server.get_ports().first().copied().unwrap_or(5432);
        let user = server.get_user().unwrap_or("postgres").to_owned();
        let dbname = server.get_dbname().unwrap_or("test").to_owned();
        let dir = tempfile::tempdir().expect("a scratch dir");
        // PgBouncer will not run as root: it runs as `postgres`, which must reach its files.
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        let listen = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let d = dir.path().display();
        std::fs::write(dir.path().join("users.txt"), format!("\"{user}\" \"\"\n")).unwrap();
        let ini = format!(
            "[databases]\n{dbname} = host={host} port={port} dbname={dbname} user={user}\n\
             [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {listen}\nauth_type = trust\n\
             auth_file = {d}/users.txt\npool_mode = {pool_mode}\nunix_socket_dir =\n\
             logfile = {d}/pgbouncer.log\npidfile = {d}/pgbouncer.pid\n\
             ignore_startup_parameters = extra_float_digits,options\n"
        );
        std::fs::write(dir.path().join("pgbouncer.ini"), ini).unwrap();
        let mut command = std::process::Command::new(binary);
        command
            .arg(dir.path().join("pgbouncer.ini"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if nix::unistd::geteuid().is_root() {
            command.args(["-u", "postgres"]);
        }
        let child = command.spawn().expect("pgbouncer starts");
        let bouncer = Bouncer { url: format!("postgres://{user}@127.0.0.1:{listen}/{dbname}"), child, _dir: dir };
        let address = format!("127.0.0.1:{listen}");
        crate::common::eventually("pgbouncer listens", || async {
            tokio::net::TcpStream::connect(&address).await.map(drop).map_err(|e| e.to_string())
        })
        .await;
        Some(bouncer)
    }
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
