//! The `oneauth` command line: parses arguments, calls one core function per
//! command inside one transaction, prints the result. Errors are one sentence
//! on stderr and a non-zero exit.

mod orgs;

use std::io::{BufRead, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::config::{Settings, SettingsArgs};
use crate::core::audit::{self, ExportFormat};
use crate::core::clients::NewClient;
use crate::core::db::Db;
use crate::core::oidc::keys;
use crate::core::passwords::Password;
use crate::core::roles::{self, GrantOutcome, NewRole, RolePolicy};
use crate::core::upstream::directory::Directory;
use crate::core::upstream::mapping::Rule;
use crate::core::upstream::outbound::Outbound;
use crate::core::upstream::providers::{self, ProviderInput};
use crate::core::write::Actor;
use crate::core::{apps, db, users};
use crate::types::Alg;
use crate::types::{ApiAudience, AppId, ClientType, DisplayName, Email, RedirectUri, RoleName};

#[derive(Parser)]
#[command(
    name = "oneauth",
    version,
    about = "1Auth: every application its own security boundary"
)]
pub struct Cli {
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database, then serve the web app, hosted pages and OAuth endpoints
    Serve,
    /// Bring the database schema up to date
    Migrate,
    /// Manage apps
    #[command(subcommand)]
    App(AppCommand),
    /// Manage users of an app
    #[command(subcommand)]
    User(UserCommand),
    /// Manage roles of an app
    #[command(subcommand)]
    Role(RoleCommand),
    /// Manage an app's organizations, their members, roles and teams
    #[command(subcommand)]
    Org(orgs::OrgCommand),
    /// Manage an app's upstream sign-in providers (OpenID Connect, Google,
    /// Entra ID, GitHub)
    #[command(subcommand)]
    Provider(ProviderCommand),
    /// Export and verify the audit log
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage an app's signing keys
    #[command(subcommand)]
    Key(KeyCommand),
    /// Check the e-mail configuration
    #[command(subcommand)]
    Email(EmailCommand),
    /// Make the first console owner on a new install; prints a one-time
    /// setup link (valid 24 hours) where they enrol a passkey and may set a
    /// password. Until the owner has done so it may run again (a fresh link)
    Bootstrap {
        #[arg(long)]
        email: String,
    },
    /// Copy the embedded (SQLite) database to a new file while it serves
    /// (a consistent snapshot); PostgreSQL: use pg_dump (README, "Backups")
    Backup {
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Rotate the master key
    #[command(subcommand)]
    MasterKey(MasterKeyCommand),
}

#[derive(Subcommand)]
enum MasterKeyCommand {
    /// Seal every secret again with a new master key and re-key the audit
    /// chains, in one transaction; then restart every server with the new
    /// key (until then they refuse to write)
    Rotate {
        /// The new key's file (32 bytes, base64); created with a new random
        /// key (mode 0600) when it does not exist
        #[arg(long)]
        new_key_file: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum AppCommand {
    /// Create an app with its first OAuth client; prints app_id, issuer, client_id (and client_secret, shown once)
    Create {
        /// Lowercase slug, e.g. admin-panel
        app_id: String,
        /// Display name shown on the hosted pages
        #[arg(long)]
        name: String,
        /// Allowed redirect URI of the first client (exact match); repeatable
        #[arg(long = "redirect-uri", required = true, num_args = 1..)]
        redirect_uris: Vec<String>,
        /// Make the first client confidential (it gets a secret)
        #[arg(long)]
        confidential: bool,
        /// Let people create their own accounts on the hosted pages (off by
        /// default: admin apps are invite-only)
        #[arg(long)]
        self_registration: bool,
        /// Where the client may send users after sign-out (exact match); repeatable
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// Signature algorithm of the client's ID tokens
        #[arg(long, value_enum, default_value_t = IdTokenAlg::Es256)]
        id_token_alg: IdTokenAlg,
        /// A resource server (RFC 8707 `resource`) clients may ask access
        /// tokens for, becoming their `aud`; repeatable
        #[arg(long = "api-audience")]
        api_audiences: Vec<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum IdTokenAlg {
    #[value(name = "ES256")]
    Es256,
    #[value(name = "RS256")]
    Rs256,
}

#[derive(Subcommand)]
enum EmailCommand {
    /// Send one message through the configured SMTP server now and print
    /// the server's answer (exits non-zero when it is not accepted)
    Test {
        #[arg(long)]
        to: String,
        /// The app whose name and colour the message carries
        #[arg(long, default_value = "console")]
        app: String,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Make new signing keys active; the old stay published until the
    /// tokens they signed have expired
    Rotate {
        #[arg(long)]
        app: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; with --password-stdin the first line of stdin is the password
    Create {
        #[arg(long)]
        app: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        password_stdin: bool,
        /// Role to grant; repeatable
        #[arg(long = "role")]
        roles: Vec<String>,
    },
}

#[derive(Subcommand)]
enum RoleCommand {
    /// Create a role with its factor policy
    Create {
        #[arg(long)]
        app: String,
        role: String,
        /// Holders must have used a passkey in the session
        #[arg(long)]
        require_passkey: bool,
        /// Holders must have authenticated at most this many seconds ago
        #[arg(long)]
        max_auth_age: Option<i64>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Grant a role to a user
    Grant {
        #[arg(long)]
        app: String,
        #[arg(long)]
        email: String,
        role: String,
    },
}

/// A provider's settings, on `add` and `update` (on update, what is left
/// out stays as it is).
#[derive(clap::Args)]
struct ProviderArgs {
    /// The name on the sign-in button ("Continue with …")
    #[arg(long)]
    name: Option<String>,
    /// oidc, google, entra or github
    #[arg(long)]
    kind: Option<String>,
    /// The issuer URL (OIDC, Entra ID: https://login.microsoftonline.com/{tenant}/v2.0);
    /// for a preset, where it lives if not at its public address
    #[arg(long)]
    issuer: Option<String>,
    /// GitHub's API base, if not https://api.github.com
    #[arg(long)]
    api_url: Option<String>,
    #[arg(long)]
    client_id: Option<String>,
    /// Read the client secret from standard input (never from the command line)
    #[arg(long)]
    client_secret_stdin: bool,
    /// Space-separated scopes (default: the kind's)
    #[arg(long)]
    scopes: Option<String>,
    /// Link to an account with the same address when both sides verified it: on or off
    #[arg(long, value_parser = clap::builder::BoolishValueParser::new())]
    auto_link: Option<bool>,
    /// Create accounts for verified addresses of the allowed domains: on or off
    #[arg(long, value_parser = clap::builder::BoolishValueParser::new())]
    provisioning: Option<bool>,
    /// Domains whose addresses may have accounts created, space- or comma-separated
    #[arg(long)]
    allowed_domains: Option<String>,
    /// A claim-to-role rule, claim=value:role (repeatable; replaces the rules)
    #[arg(long = "map-role")]
    map_roles: Vec<String>,
    /// Remove every claim-to-role rule
    #[arg(long)]
    clear_role_mappings: bool,
    /// Count the upstream's passkey (amr hwk) as a passkey here: on or off
    #[arg(long, value_parser = clap::builder::BoolishValueParser::new())]
    trust_upstream_mfa: Option<bool>,
    /// Turn the provider on or off
    #[arg(long, value_parser = clap::builder::BoolishValueParser::new())]
    enabled: Option<bool>,
    /// Who must sign in through it: none, everyone, or role:NAME (console
    /// owners keep their passkeys as a break-glass path)
    #[arg(long)]
    required_for: Option<String>,
}

#[derive(Subcommand)]
enum ProviderCommand {
    /// Add a provider to an app; prints the callback URL to register upstream
    Add {
        #[arg(long)]
        app: String,
        /// Its name in URLs: /a/{app}/upstream/{provider}/callback
        provider: String,
        #[command(flatten)]
        settings: ProviderArgs,
    },
    /// List an app's providers (secrets are never shown)
    List {
        #[arg(long)]
        app: String,
    },
    /// Change a provider
    Update {
        #[arg(long)]
        app: String,
        provider: String,
        #[command(flatten)]
        settings: ProviderArgs,
    },
    /// Remove a provider, its links and the roles its rules granted
    Remove {
        #[arg(long)]
        app: String,
        provider: String,
    },
    /// Fetch the provider's discovery document and keys; says what is wrong
    Test {
        #[arg(long)]
        app: String,
        provider: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Write an app's audit events to stdout, oldest first
    Export {
        #[arg(long)]
        app: String,
        #[arg(long, value_enum, default_value_t = Format::Jsonl)]
        format: Format,
    },
    /// Check the hash chain of one app, or of every app
    Verify {
        #[arg(long)]
        app: Option<String>,
        /// A file written earlier by `oneauth audit head`: each chain must
        /// still hold the event it named, unchanged (a cut-off tail shows)
        #[arg(long)]
        expect_head: Option<std::path::PathBuf>,
    },
    /// Print where each chain stands now (one JSON line per app), to keep
    /// outside the database and check later with `verify --expect-head`
    Head {
        #[arg(long)]
        app: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Jsonl,
    Csv,
}

/// A failure the user can act on, as one sentence.
#[derive(Debug)]
pub struct CliError(String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(err: E) -> Self {
        CliError(err.to_string())
    }
}

type CliResult = Result<ExitCode, CliError>;

pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    // A format that does not parse is reported with the other settings.
    crate::telemetry::init_logs(
        crate::config::LogFormat::parse(&cli.settings.operations.log_format)
            .unwrap_or(crate::config::LogFormat::Text),
    );
    let args: Vec<String> = std::env::args().collect();
    for flag in crate::config::secrets_on_command_line(&args) {
        tracing::warn!(
            "a secret was given on the command line, where every local user can read it: {flag}"
        );
    }
    match execute(cli).await {
        Ok(code) => code,
        Err(CliError(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(cli: Cli) -> CliResult {
    let settings = Settings::from_args(&cli.settings)?;
    match cli.command {
        Command::Serve => {
            crate::server::serve(settings).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let database = db::connect(&settings.database_url).await?;
            db::migrate(&database).await?;
            println!("The database schema is up to date.");
            Ok(ExitCode::SUCCESS)
        }
        command => {
            // Every other command works on the current schema, and may
            // record (or check) audit events under the deployment's key.
            let db = crate::server::open_database(&settings).await?;
            match command {
                Command::App(command) => app_command(&settings, &db, command).await,
                Command::User(command) => user_command(&db, command).await,
                Command::Role(command) => role_command(&db, command).await,
                Command::Org(command) => orgs::org_command(&settings, &db, command).await,
                Command::Provider(command) => provider_command(&settings, &db, command).await,
                Command::Audit(command) => audit_command(&db, command).await,
                Command::Key(command) => key_command(&db, command).await,
                Command::Bootstrap { email } => bootstrap_command(&settings, &db, &email).await,
                Command::Backup { to } => {
                    let bytes = crate::core::backup::backup(&db, Actor::cli(), &to).await?;
                    println!("Copied the database to {} ({bytes} bytes).", to.display());
                    Ok(ExitCode::SUCCESS)
                }
                Command::Email(command) => email_command(&settings, &db, command).await,
                Command::MasterKey(MasterKeyCommand::Rotate { new_key_file }) => {
                    let new = crate::core::vault::Vault::load(None, &new_key_file)?;
                    let rotated = crate::core::master_key::rotate(&db, new, Actor::cli()).await?;
                    println!(
                        "Rotated the master key: {} signing keys, {} provider secrets and {} outbox bodies sealed again; {} audit chains re-keyed ({} events).",
                        rotated.signing_keys,
                        rotated.provider_secrets,
                        rotated.outbox_bodies,
                        rotated.chains.len(),
                        rotated.chains.iter().map(|c| c.events).sum::<u64>(),
                    );
                    println!(
                        "Restart every server with the new key ({}); until then they refuse to write.",
                        new_key_file.display()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Command::Serve | Command::Migrate => unreachable!("handled above"),
            }
        }
    }
}

fn print_json(value: serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(&value).expect("JSON values serialise")
    );
}

async fn app_command(settings: &Settings, db: &Db, command: AppCommand) -> CliResult {
    match command {
        AppCommand::Create {
            app_id,
            name,
            redirect_uris,
            confidential,
            self_registration,
            post_logout_redirect_uris,
            id_token_alg,
            api_audiences,
        } => {
            let app_id = AppId::parse(&app_id)?;
            let api_audiences = api_audiences
                .iter()
                .map(|uri| ApiAudience::parse(uri))
                .collect::<Result<Vec<_>, _>>()?;
            let post_logout_redirect_uris = post_logout_redirect_uris
                .iter()
                .map(|uri| RedirectUri::parse(uri))
                .collect::<Result<Vec<_>, _>>()?;
            let name = DisplayName::parse(&name)?;
            let redirect_uris = redirect_uris
                .iter()
                .map(|uri| RedirectUri::parse(uri))
                .collect::<Result<Vec<_>, _>>()?;
            let client = NewClient {
                name: name.clone(),
                client_type: if confidential {
                    ClientType::Confidential
                } else {
                    ClientType::Public
                },
                redirect_uris,
                post_logout_redirect_uris,
                id_token_alg: match id_token_alg {
                    IdTokenAlg::Es256 => Alg::Es256,
                    IdTokenAlg::Rs256 => Alg::Rs256,
                },
            };
            let tx = crate::core::write::begin(db, Actor::cli()).await?;
            let created = apps::create(
                &tx,
                apps::NewApp {
                    id: app_id.clone(),
                    name,
                    self_registration,
                    api_audiences,
                    client: Some(client),
                },
            )
            .await?;
            tx.commit().await?;
            let mut out = json!({
                "app_id": created.app.id,
                "issuer": settings.issuer(app_id.as_str()),
                "client_id": created.client.as_ref().map(|c| c.id.clone()),
            });
            if let Some(secret) = &created.client_secret {
                out["client_secret"] = json!(secret.expose());
            }
            print_json(out);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn read_password_line() -> Result<Password, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|err| CliError(format!("Could not read the password from stdin: {err}")))?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err(CliError(
            "--password-stdin was given but stdin held no password.".into(),
        ));
    }
    Ok(Password::new_choice(password)?)
}

async fn user_command(db: &Db, command: UserCommand) -> CliResult {
    match command {
        UserCommand::Create {
            app,
            email,
            password_stdin,
            roles,
        } => {
            let app_id = AppId::parse(&app)?;
            let email = Email::parse(&email)?;
            let roles = roles
                .iter()
                .map(|r| RoleName::parse(r))
                .collect::<Result<Vec<_>, _>>()?;
            let password = match password_stdin {
                true => Some(read_password_line()?.hashed().await?),
                false => None,
            };
            apps::require(db, &app_id).await?;
            let tx = crate::core::write::begin(db, Actor::cli()).await?;
            let user = users::create(
                &tx,
                &app_id,
                users::NewUser {
                    id: None,
                    email,
                    password,
                    roles: roles.clone(),
                },
            )
            .await?;
            tx.commit().await?;
            print_json(json!({
                "app_id": user.app_id,
                "user_id": user.id,
                "email": user.email,
                "roles": roles.iter().map(RoleName::as_str).collect::<Vec<_>>(),
            }));
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn role_command(db: &Db, command: RoleCommand) -> CliResult {
    match command {
        RoleCommand::Create {
            app,
            role,
            require_passkey,
            max_auth_age,
            description,
        } => {
            let app_id = AppId::parse(&app)?;
            let name = RoleName::parse(&role)?;
            apps::require(db, &app_id).await?;
            let tx = crate::core::write::begin(db, Actor::cli()).await?;
            let created = roles::create(
                &tx,
                &app_id,
                NewRole {
                    name,
                    description,
                    policy: RolePolicy {
                        require_passkey,
                        max_auth_age_secs: max_auth_age,
                    },
                },
            )
            .await?;
            tx.commit().await?;
            print_json(json!({
                "app_id": created.app_id,
                "role": created.name,
                "require_passkey": created.require_passkey,
                "max_auth_age_secs": created.max_auth_age_secs,
            }));
            Ok(ExitCode::SUCCESS)
        }
        RoleCommand::Grant { app, email, role } => {
            let app_id = AppId::parse(&app)?;
            let email = Email::parse(&email)?;
            let name = RoleName::parse(&role)?;
            apps::require(db, &app_id).await?;
            let tx = crate::core::write::begin(db, Actor::cli()).await?;
            let user = users::require_by_email(&tx, &app_id, &email).await?;
            let outcome = roles::grant(&tx, &user, &name).await?;
            tx.commit().await?;
            match outcome {
                GrantOutcome::Granted => println!("Granted {name} to {email} in app {app_id}."),
                GrantOutcome::AlreadyHeld => {
                    println!("{email} already holds {name} in app {app_id}.")
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

impl ProviderArgs {
    fn into_input(self) -> Result<ProviderInput, CliError> {
        let client_secret = if self.client_secret_stdin {
            let mut secret = String::new();
            std::io::stdin().read_line(&mut secret)?;
            Some(secrecy::SecretString::from(
                secret.trim_end_matches(['\r', '\n']).to_owned(),
            ))
        } else {
            None
        };
        let role_mappings = if self.clear_role_mappings {
            Some(Vec::new())
        } else if self.map_roles.is_empty() {
            None
        } else {
            Some(
                self.map_roles
                    .iter()
                    .map(|rule| Rule::parse(rule))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(CliError)?,
            )
        };
        Ok(ProviderInput {
            display_name: self.name,
            kind: self.kind,
            issuer_url: self.issuer,
            api_url: self.api_url,
            client_id: self.client_id,
            client_secret,
            scopes: self.scopes,
            auto_link: self.auto_link,
            provisioning: self.provisioning,
            allowed_domains: self.allowed_domains,
            role_mappings,
            trust_upstream_mfa: self.trust_upstream_mfa,
            enabled: self.enabled,
            required_for: self
                .required_for
                .as_deref()
                .map(providers::RequiredFor::parse)
                .transpose()?,
        })
    }
}

fn provider_json(
    settings: &Settings,
    provider: &crate::entities::identity_provider::Model,
) -> serde_json::Value {
    json!({
        "app_id": provider.app_id,
        "provider": provider.slug,
        "kind": provider.kind,
        "name": provider.display_name,
        "issuer": provider.issuer_url,
        "api_url": provider.api_url,
        "client_id": provider.client_id,
        "scopes": provider.scopes,
        "auto_link": provider.auto_link,
        "provisioning": provider.provisioning,
        "allowed_domains": providers::domains_of(provider),
        "role_mappings": providers::rules_of(provider).iter().map(ToString::to_string).collect::<Vec<_>>(),
        "trust_upstream_mfa": provider.trust_upstream_mfa,
        "enabled": provider.enabled_at.is_some(),
        "callback_url": format!("{}/a/{}/upstream/{}/callback", settings.public_url, provider.app_id, provider.slug),
        "backchannel_logout_url": format!("{}/a/{}/upstream/{}/backchannel_logout", settings.public_url, provider.app_id, provider.slug),
    })
}

async fn provider_command(settings: &Settings, db: &Db, command: ProviderCommand) -> CliResult {
    match command {
        ProviderCommand::Add {
            app,
            provider,
            settings: args,
        } => {
            let app_id = AppId::parse(&app)?;
            apps::require(db, &app_id).await?;
            let input = args.into_input()?;
            let tx = crate::core::write::begin(db, Actor::cli()).await?;
            let created = providers::create(&tx, &app_id, &provider, input).await?;
            tx.commit().await?;
            print_json(provider_json(settings, &created));
            Ok(ExitCode::SUCCESS)
        }
        ProviderCommand::List { app } => {
            let app_id = AppId::parse(&app)?;
            apps::require(db, &app_id).await?;
            let list = providers::list(db, &app_id).await?;
            print_json(serde_json::Value::Array(
                list.iter().map(|p| provider_json(settings, p)).collect(),
            ));
            Ok(ExitCode::SUCCESS)
        }
        ProviderCommand::Update {
            app,
            provider,
            settings: args,
        } => {
            let app_id = AppId::parse(&app)?;
            apps::require(db, &app_id).await?;
            let input = args.into_input()?;
            let tx = crate::core::write::begin(db, Actor::cli()).await?;
            let updated = providers::update(&tx, &app_id, &provider, input).await?;
            tx.commit().await?;
            print_json(provider_json(settings, &updated));
            Ok(ExitCode::SUCCESS)
        }
        ProviderCommand::Remove { app, provider } => {
            let app_id = AppId::parse(&app)?;
            apps::require(db, &app_id).await?;
            let tx = crate::core::write::begin(db, Actor::cli()).await?;
            providers::delete(&tx, &app_id, &provider).await?;
            tx.commit().await?;
            println!("Removed the sign-in provider {provider} of app {app_id}.");
            Ok(ExitCode::SUCCESS)
        }
        ProviderCommand::Test { app, provider } => {
            let app_id = AppId::parse(&app)?;
            apps::require(db, &app_id).await?;
            let Some(found) = providers::find(db, &app_id, &provider).await? else {
                return Err(CliError(format!(
                    "There is no sign-in provider \"{provider}\" in app {app_id}."
                )));
            };
            let directory = Directory::new(Outbound::new(settings.allow_private_upstreams));
            match directory.test(&found).await {
                Ok(summary) => {
                    println!("{summary}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(problem) => Err(CliError(format!(
                    "The provider {provider} does not work: {problem}."
                ))),
            }
        }
    }
}

async fn audit_command(db: &Db, command: AuditCommand) -> CliResult {
    match command {
        AuditCommand::Export { app, format } => {
            let app_id = AppId::parse(&app)?;
            apps::require(db, &app_id).await?;
            let format = match format {
                Format::Jsonl => ExportFormat::Jsonl,
                Format::Csv => ExportFormat::Csv,
            };
            let stdout = std::io::stdout();
            audit::export(db, &app_id, format, stdout.lock()).await?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Head { app } => {
            let app_id = app.as_deref().map(AppId::parse).transpose()?;
            if let Some(app_id) = &app_id {
                apps::require(db, app_id).await?;
            }
            let mut out = std::io::stdout().lock();
            for head in audit::heads(db, app_id.as_ref()).await? {
                writeln!(out, "{}", serde_json::to_string(&head)?)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify { app, expect_head } => {
            let expected = match &expect_head {
                Some(path) => read_heads(path)?,
                None => Vec::new(),
            };
            let expected_for = |app_id: &str| expected.iter().find(|h| h.app_id == app_id);
            let app_id = app.as_deref().map(AppId::parse).transpose()?;
            if let Some(app_id) = &app_id {
                apps::require(db, app_id).await?;
            }
            // A read-only snapshot: appends during the walk must not look
            // like a deleted tail.
            let tx = db.begin().await?;
            let mut reports = Vec::new();
            for head in audit::heads(&tx, app_id.as_ref()).await? {
                reports.push(
                    audit::verify_chain(
                        &tx,
                        db.deployment(),
                        &head.app_id,
                        expected_for(&head.app_id),
                    )
                    .await?,
                );
            }
            tx.commit().await?;
            // An app the exported heads name must still have a chain.
            for head in &expected {
                let in_scope = app_id.as_ref().is_none_or(|a| a.as_str() == head.app_id);
                if in_scope && !reports.iter().any(|r| r.app_id == head.app_id) {
                    reports.push(audit::ChainReport {
                        app_id: head.app_id.clone(),
                        events_checked: 0,
                        problem: Some("the chain named by the exported head is gone".into()),
                    });
                }
            }
            let mut out = std::io::stdout().lock();
            let mut intact = true;
            for report in &reports {
                match &report.problem {
                    None => writeln!(
                        out,
                        "{}: intact ({} events)",
                        report.app_id, report.events_checked
                    )?,
                    Some(problem) => {
                        intact = false;
                        writeln!(out, "{}: BROKEN: {problem}", report.app_id)?;
                    }
                }
            }
            if intact {
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("error: the audit log has been tampered with (see above).");
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

/// The heads `oneauth audit head` printed, one JSON object per line.
fn read_heads(path: &std::path::Path) -> Result<Vec<audit::ChainHead>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| CliError(format!("Could not read {}: {err}", path.display())))?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).map_err(|_| {
                CliError(format!(
                    "{} is not the output of `oneauth audit head`.",
                    path.display()
                ))
            })
        })
        .collect()
}

async fn key_command(db: &Db, command: KeyCommand) -> CliResult {
    match command {
        KeyCommand::Rotate { app } => {
            let app_id = AppId::parse(&app)?;
            let app = apps::require(db, &app_id).await?;
            // Keep retired keys published while tokens they signed may still be
            // presented: the token lifetime plus five minutes of clock skew.
            let keep =
                chrono::Duration::seconds(app.access_token_ttl_secs) + chrono::Duration::minutes(5);
            let tx = crate::core::write::begin(db, Actor::cli()).await?;
            let created = keys::rotate(&tx, &app_id, keep).await?;
            tx.commit().await?;
            print_json(json!({ "app_id": app_id.as_str(), "active_keys": created }));
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn email_command(settings: &Settings, db: &Db, command: EmailCommand) -> CliResult {
    use crate::core::mail::{self, sender::Delivery, sender::Sender};
    match command {
        EmailCommand::Test { to, app } => {
            let to = Email::parse(&to)?;
            let app = AppId::parse(&app)?;
            if crate::core::apps::find(db, &app).await?.is_none() {
                return Err(CliError(format!("There is no app \"{app}\".")));
            }
            let Some(smtp) = &settings.smtp else {
                return Err(CliError(
                    "No SMTP server is configured: set ONEAUTH_SMTP_URL (or --smtp-host)."
                        .to_owned(),
                ));
            };
            let sender = Sender::new(db.clone(), smtp, settings.mail_policy)?;
            match mail::send_test(db, &sender, &app, &to, Actor::cli()).await? {
                Delivery::Sent(answer) => {
                    println!(
                        "Sent a test message to {to} through {}:{}: {answer}",
                        smtp.host, smtp.port
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Delivery::Retrying(error) | Delivery::Failed(error) => Err(CliError(format!(
                    "The test message to {to} was not sent through {}:{}: {error}",
                    smtp.host, smtp.port
                ))),
            }
        }
    }
}

async fn bootstrap_command(settings: &Settings, db: &Db, email: &str) -> CliResult {
    let email = Email::parse(email)?;
    let token = crate::core::admin::bootstrap::bootstrap(db, &Actor::cli(), &email).await?;
    let url = crate::core::links::url(
        &settings.public_url,
        AppId::CONSOLE,
        crate::core::links::Purpose::Invite,
        &token,
    );
    println!(
        "{email} is the console's first owner. Open this link within 24 hours to enrol a passkey and, if you like, set a password (it works once):"
    );
    println!("{url}");
    Ok(ExitCode::SUCCESS)
}
