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
        }
    }
}
