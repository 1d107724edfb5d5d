//! What every handler and server function reaches: the database (with its
//! deployment: public URL, vault and keys), the settings and the shared
//! batching queues. It sits below `http/`
//! and `api/` (both import it) and above `core/`, so the edges never import
//! `server.rs`, which only assembles and serves.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::config::Settings;
use crate::core::db::Db;
use crate::core::oidc::grant_tally::GrantTally;
use crate::core::oidc::refresh_reads::RefreshReads;
use crate::core::oidc::rotation::Rotations;
use crate::core::passkeys::RelyingParty;
use crate::core::upstream::directory::Directory;
use crate::core::upstream::outbound::Outbound;

/// The browser session cookie. It only points at server-side records; every
/// app's sign-in has its own record with the app's own lifetimes.
pub const SESSION_COOKIE: &str = "oneauth_session";

/// What every handler and server function can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub leptos_options: LeptosOptions,
    /// The WebAuthn relying party; `None` when the public URL is an IP
    /// address (browsers refuse passkeys there).
    pub relying_party: Option<RelyingParty>,
    /// Machine tokens issued and not yet summarised in the audit log.
    pub grant_tally: Arc<GrantTally>,
    /// Refresh-token reads, batched across the requests in flight.
    pub refresh_reads: RefreshReads,
    /// Refresh-token rotations, committed in groups.
    pub rotations: Rotations,
    /// Upstream identity providers' documents, fetched through the one
    /// guarded outbound client.
    pub upstream: Arc<Directory>,
    /// Whether this process is stopping, and how its background tasks are.
    pub health: Arc<Health>,
}

/// What readiness reports beside the database: a stopping server (it
/// answers what is in flight, a balancer should send nothing new) and the
/// supervised background tasks (`server/tasks.rs`).
#[derive(Default)]
pub struct Health {
    draining: std::sync::atomic::AtomicBool,
    /// Set by the database probe (PostgreSQL) while it gets no answer.
    database_away: tokio::sync::watch::Sender<bool>,
    /// Set when the deployment's master key is no longer this process's.
    key_rotated: std::sync::atomic::AtomicBool,
    tasks: std::sync::Mutex<std::collections::BTreeMap<&'static str, bool>>,
}

impl Health {
    /// From now on `/readyz` answers 503.
    pub fn start_draining(&self) {
        self.draining
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn draining(&self) -> bool {
        self.draining.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// What the database probe found: requests are answered 503 at once
    /// while the database is away, instead of each waiting for a
    /// connection that cannot come.
    pub fn set_database_away(&self, away: bool) {
        self.database_away.send_replace(away);
    }

    pub fn database_away(&self) -> bool {
        *self.database_away.borrow()
    }

    /// Wait until the database is found away.
    pub async fn database_gone(&self) {
        let mut away = self.database_away.subscribe();
        let _ = away.wait_for(|away| *away).await;
    }

    /// The master key was rotated: this process can only fail, so it
    /// answers 503 and is not ready until restarted with the new key.
    pub fn set_key_rotated(&self) {
        self.key_rotated
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn key_rotated(&self) -> bool {
        self.key_rotated.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Record whether the task `name` runs.
    pub fn set_task(&self, name: &'static str, up: bool) {
        self.tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(name, up);
    }

    /// Each supervised task and whether it runs.
    pub fn tasks(&self) -> Vec<(&'static str, bool)> {
        self.tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .map(|(name, up)| (*name, *up))
            .collect()
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

fn leptos_options(settings: &Settings) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("oneauth")
        .site_root(settings.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(settings.bind)
        .hash_files(has_hash_file())
        .build()
}

/// cargo-leptos (`hash-files` in Cargo.toml) names the front end's files
/// after their content and lists the names in `hash.txt` beside the server
/// binary; without that file (a binary built by plain cargo, the tests) the
/// plain names are used.
fn has_hash_file() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt")))
        .is_some_and(|file| file.is_file())
}

impl AppState {
    pub fn new(db: Db, settings: Settings) -> Self {
        let leptos_options = leptos_options(&settings);
        // One hashing pool per process (it is sized to the machine's cores).
        crate::core::passwords::set_queue_limit(settings.password_queue);
        let relying_party = match RelyingParty::new(&settings.public_url) {
            Ok(rp) => Some(rp),
            Err(err) => {
                tracing::warn!("passkeys are unavailable: {err}");
                None
            }
        };
        let upstream = Arc::new(Directory::new(Outbound::new(
            settings.allow_private_upstreams,
        )));
        Self {
            upstream,
            refresh_reads: RefreshReads::start(db.clone()),
            rotations: Rotations::start(db.clone()),
            db,
            settings: Arc::new(settings),
            leptos_options,
            relying_party,
            grant_tally: Arc::default(),
            health: Arc::default(),
        }
    }
}
