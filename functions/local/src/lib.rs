//! The embedded default: one process serving the rooms API, the signaling
//! WebSocket and the web client from one origin, with rooms in a redb file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::serve::ListenerExt;
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use video_core::clock::{Clock, SystemClock};
use video_core::http::auth::{
    DevTokens, FailedAuthThrottle, ThrottlePolicy, is_valid_practitioner,
};
use video_core::http::ws::{LocalPush, LocalSignaling};
use video_core::http::{AppState, router};
use video_core::link::LinkKey;
use video_core::mail::outbox::OutboxMailer;
use video_core::morning::{Invitations, SendPolicy};
use video_core::privacy::{Hosting, Operator, PrivacyFacts, PrivacyPage};
use video_core::private_files::{PRIVATE_FILE_MODE, create_private_dir, restrict_to_owner};
use video_core::random::{hex_encode, random_bytes};
use video_core::room::Retention;
use video_core::signaling::Signaling;
use video_core::store::embedded::EmbeddedStore;
use video_core::store::memory_participants::MemoryParticipants;
use video_core::turn::TurnServer;

pub mod forwarded;
use forwarded::TrustedProxies;

/// How often rooms past their retention are deleted from the embedded store.
const PURGE_INTERVAL: Duration = Duration::from_secs(3600);
/// How often the server records in the store that it is running. A call that
/// a crash left running is ended at the last record, so its call time comes
/// out at most this much short.
const RUNNING_RECORD_INTERVAL: Duration = Duration::from_secs(60);
const LINK_KEY_FILE: &str = "link-key";
const DATABASE_FILE: &str = "rooms.redb";
const DEV_TOKEN_FILE: &str = "dev-token";
const OUTBOX_DIR: &str = "outbox";

/// Settings of the local server, parsed from the command line.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `TOKEN=PRACTITIONER` pairs; when empty, one token is generated.
    pub dev_tokens: Vec<String>,
    /// Base of join links; defaults to `http://<bound address>`.
    pub public_url: Option<String>,
    /// Tests fix "now" here; `None` uses the system clock.
    pub clock: Option<Arc<dyn Clock>>,
    /// Sender address of the invitation emails written to the outbox.
    pub mail_from: String,
    /// Local time in each room's zone from which its invitations go out.
    pub morning_time: chrono::NaiveTime,
    /// How often the morning run checks for due invitations.
    pub morning_interval: Duration,
    /// Shortest pause between two invitation emails.
    pub mail_interval: Duration,
    /// Practice name shown in the invitation emails.
    pub practice_name: Option<String>,
    /// How long rooms are kept after their day.
    pub retention: Retention,
    /// The TURN server whose credentials browsers get when they join.
    pub turn: Option<TurnServer>,
    /// How long the place of a participant whose socket closed stays
    /// reserved for its return; `video_core::signaling::AWAY_GRACE` except
    /// in tests.
    pub away_grace: Duration,
    /// Age at which a signaling socket is closed with 1001, as API Gateway
    /// closes connections after 2 hours.
    pub max_connection_age: Duration,
    /// Operator of the service, named on the privacy page. `None` makes the
    /// page state that no details were given.
    pub operator: Option<Operator>,
    /// Addresses of reverse proxies whose `X-Forwarded-For` names the client
    /// for the link and token throttles; see [`forwarded`].
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// A bound, not yet serving server.
pub struct Server {
    pub address: SocketAddr,
    pub public_url: String,
    /// The generated token when none was configured, for the start-up banner.
    pub generated_token: Option<GeneratedToken>,
    listener: TcpListener,
    app: axum::Router,
    store: EmbeddedStore,
    push: Arc<LocalPush>,
    morning: Arc<Invitations>,
    morning_interval: Duration,
    outbox: OutboxMailer,
    retention: Retention,
    clock: Arc<dyn Clock>,
}

/// The API token of practitioner "local", generated when no token is
/// configured and kept in the data directory.
#[derive(Debug, Clone)]
pub struct GeneratedToken {
    pub token: String,
    /// Path of the file that stores the token across restarts.
    pub file: PathBuf,
    /// Flag set when this start created the token. Later starts only name the file
    /// in the banner, so that a log of standard output does not repeat the
    /// token at every start.
    pub created: bool,
}

/// The log filter, which caps the dependencies that log payloads at INFO.
pub use video_core::logging::log_filter;

/// Checks a public URL, writes its scheme in lower case and strips a
/// trailing slash.
pub fn normalize_public_url(text: &str) -> anyhow::Result<String> {
    let typed = text.trim();
    let trimmed = typed.trim_end_matches('/');
    let Some((scheme, rest)) = trimmed.split_once("://") else {
        bail!("--public-url must start with http:// or https://, got {typed:?}");
    };
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https") {
        bail!("--public-url must start with http:// or https://, got {typed:?}");
    }
    if rest.is_empty() || rest.contains(['?', '#', ' ', '@']) {
        bail!("--public-url must be a base URL without user, query or fragment, got {typed:?}");
    }
    // The pages, the API and the WebSocket are served at the root, so links
    // under a path would all be 404.
    if rest.contains('/') {
        bail!(
            "--public-url must be an origin without a path, such as https://video.example.org, \
             because the service is served at the root of its host, got {typed:?}"
        );
    }
    Ok(format!("{scheme}://{rest}"))
}

/// Returns whether browsers treat a normalized public URL as a secure
/// context. They allow camera and microphone only there: on https, and on
/// http for loopback hosts such as localhost and 127.0.0.1.
pub fn is_secure_origin(public_url: &str) -> bool {
    let Some(rest) = public_url.strip_prefix("http://") else {
        return public_url.starts_with("https://");
    };
    let host = match rest.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => rest.split(':').next().unwrap_or_default(),
    };
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Loads the link key from the data directory, creating it on first start.
/// The key lives beside the database, not in it: a copy of `rooms.redb` alone
/// cannot produce working links.
pub fn load_or_create_link_key(data_dir: &Path) -> anyhow::Result<LinkKey> {
    let path = data_dir.join(LINK_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            restrict_file(&path)?;
            LinkKey::from_hex(&text)
                .with_context(|| format!("{} does not contain a 64-digit hex key", path.display()))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key = LinkKey::generate();
            write_private_file(&path, &key.to_hex())?;
            tracing::info!(path = %path.display(), "created link key");
            Ok(key)
        }
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Loads the generated API token of practitioner "local" from the data
/// directory, creating it on first start, so it stays the same across
/// restarts.
pub fn load_or_create_dev_token(data_dir: &Path) -> anyhow::Result<GeneratedToken> {
    let path = data_dir.join(DEV_TOKEN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            restrict_file(&path)?;
            let token = text.trim().to_owned();
            if token.len() < 16 || !token.bytes().all(|byte| byte.is_ascii_graphic()) {
                bail!(
                    "{} does not contain a token of at least 16 visible characters; delete it to generate a new one",
                    path.display()
                );
            }
            Ok(GeneratedToken {
                token,
                file: path,
                created: false,
            })
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let token = hex_encode(&random_bytes::<16>());
            write_private_file(&path, &token)?;
            tracing::info!(path = %path.display(), "created API token for practitioner \"local\"");
            Ok(GeneratedToken {
                token,
                file: path,
                created: true,
            })
        }
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Restricts an existing file of the data directory to its owner, with a
/// warning, when group or others may read it. The room database contains
/// invitees' names and email addresses, and the other files are secrets.
fn restrict_file(path: &Path) -> anyhow::Result<()> {
    restrict_to_owner(path, PRIVATE_FILE_MODE)
        .with_context(|| format!("cannot restrict permissions of {}", path.display()))
}

fn write_private_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Deletes rooms past their retention once an hour, and the outbox's
/// messages one day later than that after they were written: a message is
/// written on its room's day, so it goes no earlier than its room.
fn spawn_purge(
    store: EmbeddedStore,
    outbox: OutboxMailer,
    retention: Retention,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(PURGE_INTERVAL);
        loop {
            interval.tick().await;
            let now = chrono::Utc::now();
            match store.purge_expired(now).await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "purged rooms past retention"),
                Err(error) => {
                    tracing::error!(error = %error, source = ?std::error::Error::source(&error), "purging expired rooms failed")
                }
            }
            let cutoff = now - chrono::Duration::days(i64::from(retention.as_days()) + 1);
            let outbox = outbox.clone();
            match tokio::task::spawn_blocking(move || outbox.purge_written_before(cutoff)).await {
                Ok(Ok(0)) => {}
                Ok(Ok(count)) => tracing::info!(count, "purged outbox messages past retention"),
                Ok(Err(error)) => {
                    tracing::error!(error = %error, "purging the outbox failed")
                }
                Err(error) => tracing::error!(error = %error, "purging the outbox failed"),
            }
        }
    })
}

/// Records in the store every [`RUNNING_RECORD_INTERVAL`] that the server is
/// running, starting at once.
fn spawn_running_record(
    store: EmbeddedStore,
    clock: Arc<dyn Clock>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(RUNNING_RECORD_INTERVAL);
        loop {
            interval.tick().await;
            if let Err(error) = store.record_running_at(clock.now()).await {
                tracing::error!(error = %error, source = ?std::error::Error::source(&error), "recording the time at which the server runs failed");
            }
        }
    })
}

/// Ends the stretches of call time that the previous run left running,
/// because it stopped without ending them (a crash, SIGKILL, power loss).
///
/// They end at the last time that run recorded that it was running, at most
/// [`RUNNING_RECORD_INTERVAL`] before it stopped. The browsers may have kept
/// the call going peer to peer, but the server has no record of how long.
/// Counting the downtime would show a practitioner hours of call for a call
/// that may have ended with the crash. Browsers still in the call rejoin
/// after the start, and their rejoining starts a new stretch. A database
/// without such a record, written by a version before these records, ends
/// them at `now`.
async fn end_calls_left_running(store: &EmbeddedStore, now: DateTime<Utc>) -> anyhow::Result<()> {
    let last_running = store
        .last_running_at()
        .await
        .context("cannot read when the server last ran")?;
    let end = last_running.map_or(now, |last| last.min(now));
    let ended = store
        .end_running_calls(end)
        .await
        .context("cannot end the calls the last run left running")?;
    if ended > 0 {
        tracing::warn!(
            rooms = ended,
            "ended the call time of calls that the last run left running, at {} (the last time it recorded)",
            end.to_rfc3339()
        );
    }
    Ok(())
}

/// Writes due invitations to the outbox every `every`.
fn spawn_morning_run(morning: Arc<Invitations>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        loop {
            interval.tick().await;
            if let Err(error) = morning.run().await {
                tracing::error!(error = %error, source = ?std::error::Error::source(&error), "morning run failed; retrying at the next check");
            }
        }
    })
}

/// Ends the running calls' time at `now`, when the server stops, and records
/// `now` as the last time it ran, so that the next start ends a call that a
/// join started during the shutdown. Failures are only logged, because the
/// next start ends what is left at the last record.
async fn end_calls_at_shutdown(store: &EmbeddedStore, now: DateTime<Utc>) {
    match store.end_running_calls(now).await {
        Ok(0) => {}
        Ok(ended) => tracing::info!(
            rooms = ended,
            "ended the call time of running calls at shutdown"
        ),
        Err(error) => {
            tracing::error!(error = %error, source = ?std::error::Error::source(&error), "ending running calls at shutdown failed")
        }
    }
    if let Err(error) = store.record_running_at(now).await {
        tracing::error!(error = %error, source = ?std::error::Error::source(&error), "recording the shutdown time failed");
    }
}

impl Server {
    /// Opens the store, binds the listener and builds the router.
    pub async fn bind(config: Config) -> anyhow::Result<Self> {
        // The URL, the tokens and the port come first, so that a mistake in
        // any of them leaves no new files behind.
        let public_url = config
            .public_url
            .as_deref()
            .map(normalize_public_url)
            .transpose()?;
        let mut tokens = DevTokens::default();
        for pair in &config.dev_tokens {
            // The message names the practitioner, never the token, and only
            // a valid practitioner id, which cannot hold part of a token.
            tokens
                .insert_pair(pair)
                .with_context(|| match pair.rsplit_once('=') {
                    Some((_, practitioner)) if is_valid_practitioner(practitioner) => {
                        format!("invalid --dev-token for practitioner {practitioner:?}")
                    }
                    _ => "invalid --dev-token".to_owned(),
                })?;
        }
        let listener = TcpListener::bind(config.listen).await.map_err(|error| {
            let hint = if error.kind() == std::io::ErrorKind::AddrInUse {
                " (another program uses this port; choose another with --listen)"
            } else {
                ""
            };
            anyhow::Error::new(error).context(format!("cannot listen on {}{hint}", config.listen))
        })?;
        let address = listener.local_addr()?;
        let public_url = public_url.unwrap_or_else(|| format!("http://{address}"));
        if !is_secure_origin(&public_url) {
            // The URL is not logged: it may be an IP address.
            tracing::warn!(
                "--public-url starts with http:// and names a host other than this machine: \
                 browsers allow camera and microphone only over https, so patients opening \
                 the emailed links cannot take part; use an https URL"
            );
        }

        create_private_dir(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {} or restrict it to its owner",
                config.data_dir.display()
            )
        })?;
        let database = config.data_dir.join(DATABASE_FILE);
        // redb initializes an empty file, so a new database is owner-only
        // from its first byte.
        if !database.exists() {
            write_private_file(&database, "")?;
        }
        let store = EmbeddedStore::open(&database).map_err(|error| {
            let hint = if EmbeddedStore::is_in_use(&error) {
                " (another video-local is using this --data-dir; stop it or choose another \
                 directory)"
            } else if EmbeddedStore::is_damaged(&error) {
                " (the file is damaged or not a database of video-local; restore it from a \
                 backup, or move it away to start with no rooms)"
            } else {
                ""
            };
            anyhow::Error::new(error)
                .context(format!("cannot open database {}{hint}", database.display()))
        })?;
        restrict_file(&database)?;
        // Read or created only once the database opened, so that a failed
        // start leaves no new token or key behind. The token comes first,
        // because an unreadable token file is the more likely failure.
        let generated_token = if tokens.is_empty() {
            let generated = load_or_create_dev_token(&config.data_dir)?;
            tokens.insert(&generated.token, "local")?;
            Some(generated)
        } else {
            None
        };
        let links = load_or_create_link_key(&config.data_dir)?;
        let clock: Arc<dyn Clock> = config
            .clock
            .clone()
            .unwrap_or_else(|| Arc::new(SystemClock));
        end_calls_left_running(&store, clock.now()).await?;

        let rooms = Arc::new(store.clone());
        let push = Arc::new(LocalPush::default());
        let signaling = Signaling {
            rooms: rooms.clone(),
            participants: Arc::new(MemoryParticipants::default()),
            push: push.clone(),
            links: links.clone(),
            clock: clock.clone(),
            ice_servers: Vec::new(),
            turn: config.turn.clone(),
            away_grace: config.away_grace,
        };
        let outbox = config.data_dir.join(OUTBOX_DIR);
        let mailer = OutboxMailer::new(
            &outbox,
            video_core::mail::sender(&config.mail_from, config.practice_name.as_deref()),
        )
        .with_context(|| format!("cannot create the outbox {}", outbox.display()))?;
        let morning = Arc::new(Invitations::new(
            rooms.clone(),
            Arc::new(mailer.clone()),
            links.clone(),
            public_url.clone(),
            config.practice_name.clone(),
            clock.clone(),
            SendPolicy {
                send_after: config.morning_time,
                interval: config.mail_interval,
                ..SendPolicy::default()
            },
        ));
        if config.operator.is_none() {
            tracing::warn!(
                "no operator details configured; the privacy page at /privacy says so \
                 (set --operator-name with --operator-address or --operator-email)"
            );
        }
        if !config.trusted_proxies.is_empty() {
            tracing::info!(
                proxies = config.trusted_proxies.len(),
                "the throttles take client addresses from X-Forwarded-For of the trusted proxies"
            );
        }
        let privacy = PrivacyPage::new(&PrivacyFacts {
            operator: config.operator.clone(),
            hosting: Hosting::Local {
                relay: config.turn.is_some(),
            },
            retention: config.retention,
        });
        let state = AppState {
            rooms,
            preferences: Arc::new(store.clone()),
            invitations: morning.clone(),
            retention: config.retention,
            auth: Arc::new(tokens),
            links,
            clock: clock.clone(),
            public_url: public_url.clone(),
            local_signaling: Some(Arc::new(LocalSignaling {
                signaling: Arc::new(signaling),
                push: push.clone(),
                max_connection_age: config.max_connection_age,
                link_throttle: FailedAuthThrottle::new(ThrottlePolicy::default(), clock.clone()),
            })),
            signaling_url: None,
            privacy: Some(Arc::new(privacy)),
        };
        Ok(Self {
            address,
            public_url,
            generated_token,
            listener,
            app: router(state).layer(axum::middleware::from_fn_with_state(
                Arc::new(TrustedProxies::new(&config.trusted_proxies)),
                forwarded::resolve_client_address,
            )),
            store,
            push,
            morning,
            morning_interval: config.morning_interval,
            outbox: mailer,
            retention: config.retention,
            clock,
        })
    }

    /// Serves until `shutdown` completes, purging expired rooms hourly and
    /// writing due invitations to the outbox. On shutdown, the time of
    /// running calls ends. The browsers rejoin when the server is back, which
    /// starts a new stretch.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let purge = spawn_purge(self.store.clone(), self.outbox.clone(), self.retention);
        let morning_task = spawn_morning_run(Arc::clone(&self.morning), self.morning_interval);
        let running_record = spawn_running_record(self.store.clone(), Arc::clone(&self.clock));

        let push = self.push.clone();
        let shutdown = async move {
            shutdown.await;
            // Sockets are not part of axum's graceful shutdown, so tell the
            // browsers the server is going away and they reconnect.
            push.close_all(1001);
        };
        // Signaling messages are small and must go out at once: without
        // TCP_NODELAY, a second message within the peer's delayed-ACK time
        // waited up to 40 ms. The client address lets the API throttle
        // repeated wrong tokens per client.
        let listener = self.listener.tap_io(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(error = %error, "setting TCP_NODELAY failed");
            }
        });
        let result = axum::serve(
            listener,
            self.app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .context("server failed");
        // Stop the timers and wait until they have dropped their store
        // handles, so the database file is unlocked when this returns.
        purge.abort();
        morning_task.abort();
        running_record.abort();
        let _ = purge.await;
        let _ = morning_task.await;
        let _ = running_record.await;
        drop(self.morning);
        end_calls_at_shutdown(&self.store, self.clock.now()).await;

        // axum finishes a connection's task just after `serve` returns, and
        // that task still owns a router clone with a store handle. Wait
        // briefly for it, so a restart in the same process (as in the tests)
        // can open the database.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while self.store.handle_count() > 1 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::{is_secure_origin, normalize_public_url};

    #[test]
    fn public_url_scheme_is_lower_cased() {
        assert_eq!(
            normalize_public_url(" HTTPS://video.example.org/ ").unwrap(),
            "https://video.example.org"
        );
    }

    #[test]
    fn public_url_error_quotes_the_value_given() {
        let error = normalize_public_url("https://video.example.org/praxis/").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("\"https://video.example.org/praxis/\""),
            "{error}"
        );
    }

    #[test]
    fn secure_origins_are_https_and_loopback() {
        for url in [
            "https://video.example.org",
            "http://localhost:8080",
            "http://praxis.localhost",
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:8080",
        ] {
            assert!(is_secure_origin(url), "{url}");
        }
        for url in [
            "http://video.example.org",
            "http://video.example.org:8080",
            "http://[2001:db8::1]:8080",
            "http://localhost.example.org",
        ] {
            assert!(!is_secure_origin(url), "{url}");
        }
    }

    #[test]
    fn public_url_needs_http_or_https() {
        assert!(normalize_public_url("ftp://video.example.org").is_err());
        assert!(normalize_public_url("video.example.org").is_err());
        assert!(normalize_public_url("https://").is_err());
        assert!(normalize_public_url("https://user@video.example.org").is_err());
    }
}
