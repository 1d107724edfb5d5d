//! One typed `Settings`, read once from flags and environment (flags win).
//! Every setting has a safe default; the README documents each.

use std::net::SocketAddr;

use clap::Args;

use crate::core::mail::sender::{Policy, Security, SmtpConfig};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/oneauth.db?mode=rwc";
pub const DEFAULT_BIND: &str = "127.0.0.1:3000";
pub const DEFAULT_SITE_ROOT: &str = "target/site";
/// Where earlier versions kept the master key: beside the database, so a
/// copy of `data/` carried both. Still read when it exists and the new
/// default does not (with a warning), so an existing install keeps its key.
pub const LEGACY_MASTER_KEY_FILE: &str = "data/master.key";

/// Where the master key file lives when nothing says: outside the data
/// directory (L18, N11), in the user's configuration directory
/// (`$XDG_CONFIG_HOME/oneauth/master.key`, else
/// `~/.config/oneauth/master.key`; `/etc/oneauth/master.key` without a
/// home).
pub fn default_master_key_file() -> std::path::PathBuf {
    use std::path::PathBuf;
    let set = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    let config = set("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| set("HOME").map(|home| PathBuf::from(home).join(".config")));
    match config {
        Some(dir) => dir.join("oneauth").join("master.key"),
        None => PathBuf::from("/etc/oneauth/master.key"),
    }
}

/// The flags that put a secret on the command line, where every local
/// user sees it (`ps`, `/proc/*/cmdline`): the server warns when they are
/// used (N11).
pub fn secrets_on_command_line(args: &[String]) -> Vec<&'static str> {
    let mut found = Vec::new();
    let mut words = args.iter().peekable();
    while let Some(word) = words.next() {
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (word.as_str(), None),
        };
        let value = inline.or_else(|| words.peek().map(|v| v.to_string()));
        let has_password = value
            .and_then(|url| url::Url::parse(&url).ok())
            .is_some_and(|url| url.password().is_some());
        match flag {
            "--master-key" => found.push("--master-key (use ONEAUTH_MASTER_KEY or a key file)"),
            "--smtp-url" if has_password => found
                .push("a password in --smtp-url (use --smtp-password-file or ONEAUTH_SMTP_URL)"),
            "--database-url" if has_password => {
                found.push("a password in --database-url (use ONEAUTH_DATABASE_URL)")
            }
            _ => {}
        }
    }
    found
}

/// Flags shared by every subcommand.
#[derive(Args, Clone)]
pub struct SettingsArgs {
    /// Database URL: sqlite://PATH?mode=rwc or postgres://USER:PASS@HOST/DB
    #[arg(long, global = true, env = "ONEAUTH_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: String,

    /// Address the server listens on
    #[arg(long, global = true, env = "ONEAUTH_BIND", default_value = DEFAULT_BIND)]
    pub bind: String,

    /// Public base URL (scheme://host[:port]) used in issuers and links;
    /// defaults to http://BIND
    #[arg(long, global = true, env = "ONEAUTH_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Directory of the built front end (WASM, JS, CSS) from cargo-leptos
    #[arg(long, global = true, env = "LEPTOS_SITE_ROOT", default_value = DEFAULT_SITE_ROOT)]
    pub site_root: String,

    /// The reverse proxies in front of 1Auth, as addresses or CIDRs
    /// (comma-separated): the client address is the right-most address of
    /// X-Forwarded-For that is not one of them. Empty: the peer address
    #[arg(
        long,
        global = true,
        env = "ONEAUTH_TRUSTED_PROXIES",
        default_value = ""
    )]
    pub trusted_proxies: String,

    /// Replaced by --trusted-proxies (refused when set, so a deployment
    /// that relied on it does not silently trust nothing or everything)
    #[arg(long, global = true, env = "ONEAUTH_TRUST_PROXY", hide = true)]
    pub trust_proxy: Option<String>,

    /// Master key (32 bytes, base64) sealing secrets at rest; without it
    /// the key file is used
    #[arg(
        long,
        global = true,
        env = "ONEAUTH_MASTER_KEY",
        hide_env_values = true
    )]
    pub master_key: Option<String>,

    /// Master key file, created with mode 0600 on first use (default:
    /// ~/.config/oneauth/master.key, outside the data directory)
    #[arg(long, global = true, env = "ONEAUTH_MASTER_KEY_FILE")]
    pub master_key_file: Option<String>,

    /// Password hashes that may wait for a core (one runs per core); a
    /// sign-in beyond them is answered 503 with Retry-After at once
    #[arg(long, global = true, env = "ONEAUTH_PASSWORD_QUEUE", default_value_t = crate::core::passwords::DEFAULT_QUEUE)]
    pub password_queue: usize,

    /// Serve /metrics (to a client on this machine that no proxy
    /// forwarded): on or off (default off, so a proxy on the same host
    /// cannot publish it by accident)
    #[arg(
        long,
        global = true,
        env = "ONEAUTH_METRICS",
        value_parser = clap::builder::BoolishValueParser::new(),
        default_value = "off"
    )]
    pub metrics: bool,

    /// Let upstream identity providers live at private or loopback
    /// addresses (a directory on the internal network; tests). Off by
    /// default, so a console user cannot make the server probe the
    /// internal network through a provider's URLs
    #[arg(
        long,
        global = true,
        env = "ONEAUTH_ALLOW_PRIVATE_UPSTREAMS",
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new(),
        default_value = "off"
    )]
    pub allow_private_upstreams: bool,

    #[command(flatten)]
    pub smtp: SmtpArgs,

    #[command(flatten)]
    pub operations: OperationsArgs,
}

/// Running in production: where metrics are scraped, how logs are written,
/// how long a stopping server waits for requests in flight.
#[derive(Args, Clone, Debug)]
pub struct OperationsArgs {
    /// Serve /metrics on this address of its own (say 10.0.0.5:9464, for
    /// a scraper in another container); default: not at all
    #[arg(long, global = true, env = "ONEAUTH_METRICS_BIND")]
    pub metrics_bind: Option<String>,

    /// Serve /metrics on the main port to whoever sends
    /// "Authorization: Bearer" and the first line of this file
    #[arg(long, global = true, env = "ONEAUTH_METRICS_TOKEN_FILE")]
    pub metrics_token_file: Option<String>,

    /// Log lines as text (default) or json, one object per line, for a
    /// log shipper
    #[arg(
        long,
        global = true,
        env = "ONEAUTH_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: String,

    /// Seconds a stopping server (SIGTERM) gives requests in flight before
    /// it closes their connections
    #[arg(
        long,
        global = true,
        env = "ONEAUTH_SHUTDOWN_GRACE",
        default_value_t = 30
    )]
    pub shutdown_grace: u64,

    /// Seconds a stopping server keeps accepting (answering /readyz 503)
    /// before it closes its port, so a balancer's health check sees it
    /// leave before connections are refused
    #[arg(
        long,
        global = true,
        env = "ONEAUTH_SHUTDOWN_DELAY",
        default_value_t = 0
    )]
    pub shutdown_delay: u64,

    /// The DNS server (address:port) that checks organization domains'
    /// TXT proofs; default: the system's resolvers (/etc/resolv.conf)
    #[arg(long, global = true, env = "ONEAUTH_DNS_SERVER")]
    pub dns_server: Option<String>,
}

impl Default for OperationsArgs {
    /// The defaults of the flags.
    fn default() -> Self {
        Self {
            metrics_bind: None,
            metrics_token_file: None,
            log_format: "text".to_owned(),
            shutdown_grace: 30,
            shutdown_delay: 0,
            dns_server: None,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn parse(raw: &str) -> Result<Self, SettingsError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "" | "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err(SettingsError::LogFormat(raw.to_owned())),
        }
    }
}

/// Outgoing e-mail. Without a host (in `--smtp-url` or `--smtp-host`)
/// nothing is sent: messages wait in the outbox, where the console shows
/// them.
#[derive(Args, Clone)]
pub struct SmtpArgs {
    /// SMTP server as a URL: smtp://[USER@]HOST[:PORT][?security=starttls|tls|none]
    /// (smtps:// means tls); the flags below override its parts
    #[arg(long, global = true, env = "ONEAUTH_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// SMTP server host name
    #[arg(long, global = true, env = "ONEAUTH_SMTP_HOST")]
    pub smtp_host: Option<String>,

    /// SMTP server port (default: 587 for starttls, 465 for tls, 25 for none)
    #[arg(long, global = true, env = "ONEAUTH_SMTP_PORT")]
    pub smtp_port: Option<u16>,

    /// starttls (default), tls, or none (a relay on this host or a test server)
    #[arg(long, global = true, env = "ONEAUTH_SMTP_SECURITY")]
    pub smtp_security: Option<String>,

    /// SMTP user name
    #[arg(long, global = true, env = "ONEAUTH_SMTP_USER")]
    pub smtp_user: Option<String>,

    /// File holding the SMTP password (its first line)
    #[arg(long, global = true, env = "ONEAUTH_SMTP_PASSWORD_FILE")]
    pub smtp_password_file: Option<String>,

    /// The address messages come from; default no-reply@ the public host
    #[arg(long, global = true, env = "ONEAUTH_SMTP_FROM")]
    pub smtp_from: Option<String>,

    /// Attempts before a message is given up on (audited as email.failed)
    #[arg(
        long,
        global = true,
        env = "ONEAUTH_SMTP_MAX_ATTEMPTS",
        default_value_t = 8
    )]
    pub smtp_max_attempts: i32,

    /// Seconds before the second attempt; each later wait doubles (at most 6 hours)
    #[arg(
        long,
        global = true,
        env = "ONEAUTH_SMTP_RETRY_SECS",
        default_value_t = 30
    )]
    pub smtp_retry_secs: i64,

    /// Milliseconds between looks at the outbox
    #[arg(
        long,
        global = true,
        env = "ONEAUTH_SMTP_POLL_MS",
        default_value_t = 2000,
        hide = true
    )]
    pub smtp_poll_ms: u64,
}

#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub bind: SocketAddr,
    /// Without a trailing slash.
    pub public_url: String,
    pub site_root: String,
    /// Proxies whose X-Forwarded-For entries are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub master_key: Option<String>,
    pub master_key_file: std::path::PathBuf,
    /// Password hashes allowed to wait for a core.
    pub password_queue: usize,
    /// Where e-mail goes; `None`: it stays in the outbox.
    pub smtp: Option<SmtpConfig>,
    /// How hard the sender tries.
    pub mail_policy: Policy,
    /// Whether /metrics answers at all.
    pub metrics: bool,
    /// Whether upstream providers may live at private addresses.
    pub allow_private_upstreams: bool,
    /// The address of /metrics' own listener, if any.
    pub metrics_bind: Option<SocketAddr>,
    /// The bearer token that opens /metrics on the main port.
    pub metrics_token: Option<secrecy::SecretString>,
    pub log_format: LogFormat,
    /// How long a stopping server waits for requests in flight.
    pub shutdown_grace: std::time::Duration,
    /// How long a stopping server still accepts (its /readyz says 503).
    pub shutdown_delay: std::time::Duration,
    /// The DNS server for domain proofs; `None`: the system's.
    pub dns_server: Option<SocketAddr>,
}

impl std::fmt::Debug for Settings {
    // The database URL may carry a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &"***")
            .field("bind", &self.bind)
            .field("public_url", &self.public_url)
            .field("site_root", &self.site_root)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("master_key", &self.master_key.as_ref().map(|_| "***"))
            .field("master_key_file", &self.master_key_file)
            .field("password_queue", &self.password_queue)
            .field("smtp", &self.smtp)
            .field("mail_policy", &self.mail_policy)
            .field("metrics", &self.metrics)
            .field("allow_private_upstreams", &self.allow_private_upstreams)
            .field("metrics_bind", &self.metrics_bind)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("log_format", &self.log_format)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("shutdown_delay", &self.shutdown_delay)
            .field("dns_server", &self.dns_server)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("ONEAUTH_BIND must be an address and port such as 127.0.0.1:3000, not \"{0}\".")]
    Bind(String),
    #[error(
        "ONEAUTH_PUBLIC_URL must be an http or https URL without a path, such as https://auth.example.com, not \"{0}\"."
    )]
    PublicUrl(String),
    #[error(
        "ONEAUTH_TRUSTED_PROXIES must list addresses or CIDRs such as 10.0.0.0/8, 192.0.2.7, not \"{0}\"."
    )]
    TrustedProxies(String),
    #[error("{0}")]
    Smtp(String),
    #[error("ONEAUTH_LOG_FORMAT must be text or json, not \"{0}\".")]
    LogFormat(String),
    #[error("ONEAUTH_DNS_SERVER must be an address and port such as 10.0.0.2:53, not \"{0}\".")]
    DnsServer(String),
    #[error("ONEAUTH_METRICS_BIND must be an address and port such as 10.0.0.5:9464, not \"{0}\".")]
    MetricsBind(String),
    #[error("ONEAUTH_METRICS_TOKEN_FILE: {0}")]
    MetricsToken(String),
    #[error("ONEAUTH_SHUTDOWN_GRACE must be 0 to 3600 seconds, not {0}.")]
    ShutdownGrace(u64),
    #[error("ONEAUTH_SHUTDOWN_DELAY must be 0 to 300 seconds, not {0}.")]
    ShutdownDelay(u64),
    #[error(
        "ONEAUTH_TRUST_PROXY was replaced by ONEAUTH_TRUSTED_PROXIES: set it to your proxies' addresses (CIDRs), so a client cannot choose its own address."
    )]
    TrustProxyReplaced,
}

impl Settings {
    pub fn from_args(args: &SettingsArgs) -> Result<Self, SettingsError> {
        let bind: SocketAddr = args
            .bind
            .parse()
            .map_err(|_| SettingsError::Bind(args.bind.clone()))?;
        let public_url = match &args.public_url {
            Some(raw) => parse_public_url(raw)?,
            // Browsers treat localhost as a secure context and accept it as
            // a WebAuthn relying party; 127.0.0.1 is neither.
            None if bind.ip().is_loopback() => format!("http://localhost:{}", bind.port()),
            None => format!("http://{bind}"),
        };
        if args.trust_proxy.is_some() {
            return Err(SettingsError::TrustProxyReplaced);
        }
        let smtp = smtp_config(&args.smtp, &public_url)?;
        if !(1..=100).contains(&args.smtp.smtp_max_attempts)
            || !(1..=21_600).contains(&args.smtp.smtp_retry_secs)
        {
            return Err(SettingsError::Smtp(
                "ONEAUTH_SMTP_MAX_ATTEMPTS must be 1 to 100, and ONEAUTH_SMTP_RETRY_SECS 1 to 21600 (6 hours)."
                    .to_owned(),
            ));
        }
        let mail_policy = Policy {
            max_attempts: args.smtp.smtp_max_attempts,
            first_retry: chrono::Duration::seconds(args.smtp.smtp_retry_secs),
            poll: std::time::Duration::from_millis(args.smtp.smtp_poll_ms.max(10)),
            ..Policy::default()
        };
        Ok(Self {
            smtp,
            mail_policy,
            database_url: args.database_url.clone(),
            bind,
            public_url,
            site_root: args.site_root.clone(),
            trusted_proxies: parse_trusted_proxies(&args.trusted_proxies)?,
            master_key: args.master_key.clone(),
            master_key_file: match &args.master_key_file {
                Some(file) => file.into(),
                None => {
                    let default = default_master_key_file();
                    let legacy = std::path::Path::new(LEGACY_MASTER_KEY_FILE);
                    if !default.exists() && legacy.exists() {
                        tracing::warn!(
                            "using the master key in {LEGACY_MASTER_KEY_FILE}, beside the database: move it to {} (or set ONEAUTH_MASTER_KEY_FILE) so a copy of data/ does not carry it",
                            default.display()
                        );
                        legacy.to_path_buf()
                    } else {
                        default
                    }
                }
            },
            password_queue: args.password_queue,
            metrics: args.metrics,
            allow_private_upstreams: args.allow_private_upstreams,
            metrics_bind: match args.operations.metrics_bind.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(raw) => Some(
                    raw.parse()
                        .map_err(|_| SettingsError::MetricsBind(raw.to_owned()))?,
                ),
            },
            metrics_token: match &args.operations.metrics_token_file {
                None => None,
                Some(file) => Some(read_metrics_token(file)?),
            },
            log_format: LogFormat::parse(&args.operations.log_format)?,
            shutdown_grace: match args.operations.shutdown_grace {
                secs @ 0..=3600 => std::time::Duration::from_secs(secs),
                secs => return Err(SettingsError::ShutdownGrace(secs)),
            },
            shutdown_delay: match args.operations.shutdown_delay {
                secs @ 0..=300 => std::time::Duration::from_secs(secs),
                secs => return Err(SettingsError::ShutdownDelay(secs)),
            },
            dns_server: match args.operations.dns_server.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(raw) => Some(
                    raw.parse()
                        .map_err(|_| SettingsError::DnsServer(raw.to_owned()))?,
                ),
            },
        })
    }

    /// The OIDC issuer of an app: `{public_url}/a/{app_id}`.
    pub fn issuer(&self, app_id: &str) -> String {
        format!("{}/a/{app_id}", self.public_url)
    }

    /// `host[:port]` of the public URL, as browsers send it in `Host`.
    pub fn public_authority(&self) -> String {
        self.public_url
            .split_once("://")
            .map(|(_, rest)| rest.to_owned())
            .unwrap_or_default()
    }

    /// The vault sealing secrets at rest, from the key or the key file.
    pub fn vault(&self) -> Result<crate::core::vault::Vault, crate::core::vault::VaultError> {
        crate::core::vault::Vault::load(self.master_key.as_deref(), &self.master_key_file)
    }

    /// Cookies get `Secure` when the public URL is https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// The public URL as an origin: scheme, lower-case host and a port only
/// when it is not the scheme's default, which is exactly what browsers send
/// in `Origin` (and, without the scheme, in `Host`).
fn parse_public_url(raw: &str) -> Result<String, SettingsError> {
    let error = || SettingsError::PublicUrl(raw.to_owned());
    let url = url::Url::parse(raw.trim()).map_err(|_| error())?;
    let path_ok = url.path() == "/" || url.path().is_empty();
    if !matches!(url.scheme(), "http" | "https")
        || url.host().is_none()
        || !path_ok
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(error());
    }
    Ok(url.origin().ascii_serialization())
}

/// The SMTP server from the URL and the flags (which win), or `None` when
/// no host is given.
fn smtp_config(args: &SmtpArgs, public_url: &str) -> Result<Option<SmtpConfig>, SettingsError> {
    let error = |message: String| SettingsError::Smtp(message);
    let mut host = None;
    let mut port = None;
    let mut security = None;
    let mut user = None;
    let mut password = None;
    if let Some(raw) = args
        .smtp_url
        .as_deref()
        .filter(|raw| !raw.trim().is_empty())
    {
        let bad = || {
            error(
                "ONEAUTH_SMTP_URL must look like smtp://user@mail.example.com:587?security=starttls (or smtps://...)."
                    .to_owned(),
            )
        };
        let url = url::Url::parse(raw.trim()).map_err(|_| bad())?;
        security = match url.scheme() {
            "smtp" => None,
            "smtps" => Some(Security::Tls),
            _ => return Err(bad()),
        };
        host = Some(url.host_str().ok_or_else(bad)?.to_owned());
        port = url.port();
        if !url.username().is_empty() {
            user = Some(percent_decode(url.username()));
        }
        password = url.password().map(percent_decode);
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "security" => {
                    security = Some(Security::parse(&value).ok_or_else(|| {
                        error(format!(
                            "\"{value}\" is not an SMTP security: use starttls, tls or none."
                        ))
                    })?)
                }
                _ => return Err(bad()),
            }
        }
    }
    if let Some(flag) = args.smtp_host.as_deref().filter(|h| !h.trim().is_empty()) {
        host = Some(flag.trim().to_owned());
    }
    let Some(host) = host else {
        return Ok(None);
    };
    if let Some(raw) = args.smtp_security.as_deref() {
        security = Some(Security::parse(raw).ok_or_else(|| {
            error(format!(
                "ONEAUTH_SMTP_SECURITY must be starttls, tls or none, not \"{raw}\"."
            ))
        })?);
    }
    let security = security.unwrap_or(Security::StartTls);
    let port = args.smtp_port.or(port).unwrap_or(security.default_port());
    if let Some(flag) = args.smtp_user.as_deref().filter(|u| !u.is_empty()) {
        user = Some(flag.to_owned());
    }
    if let Some(file) = args.smtp_password_file.as_deref() {
        let text = std::fs::read_to_string(file).map_err(|err| {
            error(format!(
                "Could not read the SMTP password file {file}: {err}."
            ))
        })?;
        password = Some(text.lines().next().unwrap_or_default().to_owned());
    }
    // Credentials in the clear only to this machine (a local relay).
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if security == Security::None && user.is_some() && !loopback {
        return Err(error(format!(
            "The SMTP password would cross the network in the clear to {host}: use security=starttls or tls (none is for a relay on this machine)."
        )));
    }
    let from = match args.smtp_from.as_deref() {
        Some(raw) => raw.trim().parse::<lettre::Address>().map_err(|_| {
            error(format!(
                "ONEAUTH_SMTP_FROM must be an e-mail address such as no-reply@example.com, not \"{raw}\"."
            ))
        })?,
        None => {
            let domain = url::Url::parse(public_url)
                .ok()
                .and_then(|url| url.host_str().map(str::to_owned))
                .unwrap_or_else(|| "localhost".to_owned());
            lettre::Address::new("no-reply", &domain).map_err(|_| {
                error(format!(
                    "Set ONEAUTH_SMTP_FROM: no-reply@{domain} is not an address."
                ))
            })?
        }
    };
    Ok(Some(SmtpConfig {
        host,
        port,
        security,
        user,
        password: password.map(secrecy::SecretString::from),
        from,
    }))
}

/// A user name or password from the URL, percent-decoded (a `+` stays a
/// `+`: this is not a form).
fn percent_decode(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

impl std::fmt::Debug for SmtpArgs {
    // The URL may carry the password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpArgs")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "***"))
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("smtp_security", &self.smtp_security)
            .field("smtp_user", &self.smtp_user)
            .field("smtp_password_file", &self.smtp_password_file)
            .field("smtp_from", &self.smtp_from)
            .finish_non_exhaustive()
    }
}

impl Default for SmtpArgs {
    /// No SMTP server; the defaults of the flags.
    fn default() -> Self {
        Self {
            smtp_url: None,
            smtp_host: None,
            smtp_port: None,
            smtp_security: None,
            smtp_user: None,
            smtp_password_file: None,
            smtp_from: None,
            smtp_max_attempts: 8,
            smtp_retry_secs: 30,
            smtp_poll_ms: 2000,
        }
    }
}

/// The bearer token of /metrics: the file's first line, at least 16
/// characters (a scraper's credential, not a password to remember).
fn read_metrics_token(file: &str) -> Result<secrecy::SecretString, SettingsError> {
    let text = std::fs::read_to_string(file)
        .map_err(|err| SettingsError::MetricsToken(format!("could not read {file}: {err}")))?;
    let token = text.lines().next().unwrap_or_default().trim();
    if token.len() < 16 {
        return Err(SettingsError::MetricsToken(format!(
            "the first line of {file} must be a token of at least 16 characters"
        )));
    }
    Ok(token.to_owned().into())
}

fn parse_trusted_proxies(raw: &str) -> Result<Vec<ipnet::IpNet>, SettingsError> {
    raw.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| SettingsError::TrustedProxies(entry.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {

    #[test]
    fn n11_secrets_given_as_flags_are_named() {
        let args = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        assert_eq!(
            secrets_on_command_line(&args(&["oneauth", "--master-key", "abc", "serve"])).len(),
            1
        );
        assert_eq!(
            secrets_on_command_line(&args(&[
                "oneauth",
                "--smtp-url=smtp://u:p@mail.example.com",
                "serve"
            ]))
            .len(),
            1
        );
        assert_eq!(
            secrets_on_command_line(&args(&[
                "oneauth",
                "--database-url",
                "postgres://u:secret@db/x"
            ]))
            .len(),
            1
        );
        // A URL without a password, and a key file, are no secrets.
        assert!(
            secrets_on_command_line(&args(&[
                "oneauth",
                "--smtp-url",
                "smtp://mailer@mail.example.com",
                "--master-key-file",
                "/etc/oneauth/master.key",
            ]))
            .is_empty()
        );
    }

    use super::*;

    fn args(public_url: Option<&str>) -> SettingsArgs {
        SettingsArgs {
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            bind: DEFAULT_BIND.to_owned(),
            public_url: public_url.map(str::to_owned),
            site_root: DEFAULT_SITE_ROOT.to_owned(),
            trusted_proxies: String::new(),
            trust_proxy: None,
            master_key: None,
            master_key_file: None,
            metrics: false,
            allow_private_upstreams: false,
            password_queue: crate::core::passwords::DEFAULT_QUEUE,
            smtp: SmtpArgs::default(),
            operations: OperationsArgs::default(),
        }
    }

    #[test]
    fn smtp_is_off_without_a_host_and_read_from_the_url_and_flags() {
        assert!(Settings::from_args(&args(None)).unwrap().smtp.is_none());
        let mut with_url = args(Some("https://auth.example.com"));
        with_url.smtp.smtp_url = Some("smtp://mailer%40x@mail.example.com".to_owned());
        let smtp = Settings::from_args(&with_url).unwrap().smtp.unwrap();
        assert_eq!((smtp.host.as_str(), smtp.port), ("mail.example.com", 587));
        assert_eq!(smtp.security, Security::StartTls);
        assert_eq!(smtp.user.as_deref(), Some("mailer@x"));
        assert_eq!(smtp.from.to_string(), "no-reply@auth.example.com");
        with_url.smtp.smtp_url = Some("smtps://mail.example.com".to_owned());
        let smtp = Settings::from_args(&with_url).unwrap().smtp.unwrap();
        assert_eq!((smtp.security, smtp.port), (Security::Tls, 465));
        with_url.smtp.smtp_security = Some("none".to_owned());
        with_url.smtp.smtp_port = Some(2525);
        let smtp = Settings::from_args(&with_url).unwrap().smtp.unwrap();
        assert_eq!((smtp.security, smtp.port), (Security::None, 2525));
        // A password in the clear to another machine is refused.
        with_url.smtp.smtp_security = None;
        with_url.smtp.smtp_port = None;
        with_url.smtp.smtp_url = Some("smtps://mailer:p%2Bw+@mail.example.com".to_owned());
        let smtp = Settings::from_args(&with_url).unwrap().smtp.unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(smtp.password.unwrap().expose_secret(), "p+w+");
        with_url.smtp.smtp_security = Some("none".to_owned());
        assert!(Settings::from_args(&with_url).is_err());
        with_url.smtp.smtp_host = Some("127.0.0.1".to_owned());
        assert!(Settings::from_args(&with_url).is_ok());
        with_url.smtp.smtp_host = None;
        with_url.smtp.smtp_url = Some("smtps://mail.example.com".to_owned());
        with_url.smtp.smtp_retry_secs = 1 << 40;
        assert!(Settings::from_args(&with_url).is_err());
        with_url.smtp.smtp_retry_secs = 30;
        with_url.smtp.smtp_security = Some("plain".to_owned());
        assert!(Settings::from_args(&with_url).is_err());
        with_url.smtp.smtp_security = None;
        with_url.smtp.smtp_url = Some("http://mail.example.com".to_owned());
        assert!(Settings::from_args(&with_url).is_err());
    }

    #[test]
    fn the_smtp_password_comes_from_a_file_and_is_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("smtp-password");
        std::fs::write(&file, "s3cret-pass\n").unwrap();
        let mut a = args(None);
        a.smtp.smtp_host = Some("mail.example.com".to_owned());
        a.smtp.smtp_user = Some("mailer".to_owned());
        a.smtp.smtp_password_file = Some(file.display().to_string());
        let settings = Settings::from_args(&a).unwrap();
        let smtp = settings.smtp.as_ref().unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(
            smtp.password.as_ref().unwrap().expose_secret(),
            "s3cret-pass"
        );
        assert!(!format!("{settings:?}").contains("s3cret"));
        a.smtp.smtp_password_file = Some(dir.path().join("missing").display().to_string());
        assert!(Settings::from_args(&a).is_err());
    }

    #[test]
    fn public_url_defaults_to_localhost_on_a_loopback_bind() {
        let settings = Settings::from_args(&args(None)).unwrap();
        assert_eq!(settings.public_url, "http://localhost:3000");
        assert_eq!(settings.issuer("demo"), "http://localhost:3000/a/demo");
        assert_eq!(settings.public_authority(), "localhost:3000");
        assert!(!settings.secure_cookies());
        let mut wide = args(None);
        wide.bind = "0.0.0.0:8080".to_owned();
        assert_eq!(
            Settings::from_args(&wide).unwrap().public_url,
            "http://0.0.0.0:8080"
        );
    }

    #[test]
    fn public_url_is_checked_and_trimmed() {
        let settings = Settings::from_args(&args(Some("https://auth.example.com/"))).unwrap();
        assert_eq!(settings.public_url, "https://auth.example.com");
        assert!(settings.secure_cookies());
        for bad in ["ftp://x.example", "https://x.example/path", "nope"] {
            assert!(Settings::from_args(&args(Some(bad))).is_err(), "{bad}");
        }
    }

    #[test]
    fn l12_the_public_url_is_normalised_to_its_origin() {
        for (raw, origin) in [
            ("https://auth.example.com:443", "https://auth.example.com"),
            ("https://Auth.Example.COM/", "https://auth.example.com"),
            ("http://localhost:80", "http://localhost"),
            ("http://localhost:3000", "http://localhost:3000"),
        ] {
            let settings = Settings::from_args(&args(Some(raw))).unwrap();
            assert_eq!(settings.public_url, origin, "{raw}");
        }
        assert_eq!(
            Settings::from_args(&args(Some("https://auth.example.com:443")))
                .unwrap()
                .public_authority(),
            "auth.example.com"
        );
        assert!(Settings::from_args(&args(Some("https://user:pw@auth.example.com"))).is_err());
    }

    #[test]
    fn m1_trusted_proxies_are_cidrs_and_the_old_switch_is_refused() {
        let mut with_proxies = args(None);
        with_proxies.trusted_proxies = "10.0.0.0/8, 192.0.2.7,2001:db8::/32".to_owned();
        let settings = Settings::from_args(&with_proxies).unwrap();
        assert_eq!(settings.trusted_proxies.len(), 3);
        with_proxies.trusted_proxies = "not-an-address".to_owned();
        assert!(Settings::from_args(&with_proxies).is_err());
        let mut old = args(None);
        old.trust_proxy = Some("true".to_owned());
        assert!(matches!(
            Settings::from_args(&old),
            Err(SettingsError::TrustProxyReplaced)
        ));
    }

    #[test]
    fn debug_hides_the_database_url() {
        let mut a = args(None);
        a.database_url = "postgres://u:hunter2@db/x".to_owned();
        let shown = format!("{:?}", Settings::from_args(&a).unwrap());
        assert!(!shown.contains("hunter2"));
    }
}
