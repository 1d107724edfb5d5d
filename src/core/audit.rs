//! The audit log: the one way to record a change, and the per-app hash chain
//! that makes edits, deletions and reordering detectable.
//!
//! Each app's events are numbered 1, 2, 3, ... (`seq`); every event stores the
//! hash of the one before (`prev_hash`) and its own hash over all its fields.
//! The chain head (last seq and hash) lives in `audit_chain_head`, so a
//! deleted tail is noticed too. Appending updates the head row first: that
//! row lock serialises appends within one app and nowhere else.
//!
//! The hashes are MACs (HMAC-SHA-256) under a key derived from the master
//! key, so someone who can write to the database but does not hold the
//! master key cannot edit an event and recompute the chain after it. What a
//! MAC cannot show, a tail cut off together with the head row, shows against
//! a head exported earlier (`oneauth audit head`, `audit verify
//! --expect-head`).

use std::io::Write as _;

use crate::core::write::{Actor, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use serde_json::{Value, json};

use super::deployment::Deployment;
use super::vault::DerivedKey;
use crate::entities::{audit_chain_head, audit_event, key_check};
use crate::types::AppId;

/// Hash that starts every chain (the `prev_hash` of event 1).
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Events are read back in pages of this size when verifying or exporting.
const PAGE: u64 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("The app \"{0}\" has no audit chain.")]
    NoChain(String),
    #[error(
        "The master key was rotated: this process still has the old one. Restart it with the new key."
    )]
    KeyRotated,
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    #[error("could not write the export: {0}")]
    Write(#[from] std::io::Error),
    #[error("could not write the CSV export: {0}")]
    Csv(#[from] csv::Error),
}

/// What a change was done to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: &'static str,
    pub id: String,
}

impl Target {
    fn new(kind: &'static str, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
        }
    }

    pub fn app(id: impl Into<String>) -> Self {
        Self::new("app", id)
    }

    pub fn client(id: impl Into<String>) -> Self {
        Self::new("client", id)
    }

    pub fn role(name: impl Into<String>) -> Self {
        Self::new("role", name)
    }

    pub fn provider(slug: impl Into<String>) -> Self {
        Self::new("provider", slug)
    }

    pub fn user(id: impl Into<String>) -> Self {
        Self::new("user", id)
    }

    /// An organization, by id (its slug is in the details).
    pub fn org(id: impl Into<String>) -> Self {
        Self::new("organization", id)
    }

    /// A team, by id.
    pub fn team(id: impl Into<String>) -> Self {
        Self::new("team", id)
    }

    /// An invitation, by id.
    pub fn invitation(id: impl Into<String>) -> Self {
        Self::new("invitation", id)
    }

    /// A message in the e-mail outbox.
    pub fn message(id: impl Into<String>) -> Self {
        Self::new("email_message", id)
    }

    /// An address that names no account (a failed sign-in's typed e-mail).
    pub fn email(address: impl Into<String>) -> Self {
        Self::new("email", address)
    }
}

/// What happened, as the log writes it (`noun.verb`): every action 1Auth
/// records, each with its string here and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    AppCreated,
    AppDisabled,
    AppEnabled,
    AppUpdated,
    ClientCreated,
    ClientDisabled,
    ClientEnabled,
    ClientSecretRotated,
    ClientUpdated,
    ConsoleBootstrapped,
    ConsoleRefused,
    DatabaseBackedUp,
    MasterKeyRotated,
    EmailDisowned,
    EmailFailed,
    EmailOpened,
    EmailResent,
    EmailTested,
    EmailVerificationSent,
    EmailVerified,
    EnrolmentLinkIssued,
    EnrolmentLinkUsed,
    InvitationAccepted,
    InvitationIssued,
    KeyRotated,
    PasskeyAdded,
    PasskeyRemoved,
    PasskeyRenamed,
    PasswordChangeFailed,
    PasswordChanged,
    ProviderCreated,
    ProviderDeleted,
    ProviderUpdated,
    RecoveryCodeUsed,
    RecoveryCodesGenerated,
    RecoveryCodesRegenerated,
    RecoveryLinkIssued,
    RecoveryLinkUsed,
    RoleCreated,
    RoleDeleted,
    RoleGranted,
    RoleRevoked,
    RoleUpdated,
    SessionRevoked,
    SigninFailed,
    SigninLocked,
    SigninReauthenticated,
    SigninSignedOut,
    SigninSucceeded,
    SignupLocked,
    TokenCodeReuseDetected,
    TokenGranted,
    TokenReuseDetected,
    TokenRevoked,
    UpstreamLinked,
    UpstreamLoggedOut,
    UpstreamUnlinked,
    UserCreated,
    UserDeactivated,
    UserDeleted,
    UserReactivated,
    UserRegistered,
    InvitationRevoked,
    InvitationSent,
    MembershipAdded,
    MembershipRemoved,
    MembershipRoleChanged,
    OrgCreated,
    OrgDeleted,
    OrgDomainAdded,
    OrgDomainPolicyChanged,
    OrgDomainRemoved,
    OrgDomainVerified,
    OrgProviderRequired,
    OrgRenamed,
    OrgRoleCreated,
    OrgRoleDeleted,
    OrgRoleUpdated,
    TeamCreated,
    TeamDeleted,
    TeamMemberAdded,
    TeamMemberRemoved,
    TeamRenamed,
    UserSignedOutEverywhere,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::AppCreated => "app.created",
            Action::AppDisabled => "app.disabled",
            Action::AppEnabled => "app.enabled",
            Action::AppUpdated => "app.updated",
            Action::ClientCreated => "client.created",
            Action::ClientDisabled => "client.disabled",
            Action::ClientEnabled => "client.enabled",
            Action::ClientSecretRotated => "client.secret_rotated",
            Action::ClientUpdated => "client.updated",
            Action::ConsoleBootstrapped => "console.bootstrapped",
            Action::ConsoleRefused => "console.refused",
            Action::DatabaseBackedUp => "database.backed_up",
            Action::MasterKeyRotated => "master_key.rotated",
            Action::EmailDisowned => "email.disowned",
            Action::EmailFailed => "email.failed",
            Action::EmailOpened => "email.opened",
            Action::EmailResent => "email.resent",
            Action::EmailTested => "email.tested",
            Action::EmailVerificationSent => "email.verification_sent",
            Action::EmailVerified => "email.verified",
            Action::EnrolmentLinkIssued => "enrolment_link.issued",
            Action::EnrolmentLinkUsed => "enrolment_link.used",
            Action::InvitationAccepted => "invitation.accepted",
            Action::InvitationIssued => "invitation.issued",
            Action::KeyRotated => "key.rotated",
            Action::PasskeyAdded => "passkey.added",
            Action::PasskeyRemoved => "passkey.removed",
            Action::PasskeyRenamed => "passkey.renamed",
            Action::PasswordChangeFailed => "password.change_failed",
            Action::PasswordChanged => "password.changed",
            Action::ProviderCreated => "provider.created",
            Action::ProviderDeleted => "provider.deleted",
            Action::ProviderUpdated => "provider.updated",
            Action::RecoveryCodeUsed => "recovery_code.used",
            Action::RecoveryCodesGenerated => "recovery_codes.generated",
            Action::RecoveryCodesRegenerated => "recovery_codes.regenerated",
            Action::RecoveryLinkIssued => "recovery_link.issued",
            Action::RecoveryLinkUsed => "recovery_link.used",
            Action::RoleCreated => "role.created",
            Action::RoleDeleted => "role.deleted",
            Action::RoleGranted => "role.granted",
            Action::RoleRevoked => "role.revoked",
            Action::RoleUpdated => "role.updated",
            Action::SessionRevoked => "session.revoked",
            Action::SigninFailed => "signin.failed",
            Action::SigninLocked => "signin.locked",
            Action::SigninReauthenticated => "signin.reauthenticated",
            Action::SigninSignedOut => "signin.signed_out",
            Action::SigninSucceeded => "signin.succeeded",
            Action::SignupLocked => "signup.locked",
            Action::TokenCodeReuseDetected => "token.code_reuse_detected",
            Action::TokenGranted => "token.granted",
            Action::TokenReuseDetected => "token.reuse_detected",
            Action::TokenRevoked => "token.revoked",
            Action::UpstreamLinked => "upstream.linked",
            Action::UpstreamLoggedOut => "upstream.logged_out",
            Action::UpstreamUnlinked => "upstream.unlinked",
            Action::UserCreated => "user.created",
            Action::UserDeactivated => "user.deactivated",
            Action::UserDeleted => "user.deleted",
            Action::UserReactivated => "user.reactivated",
            Action::UserRegistered => "user.registered",
            Action::UserSignedOutEverywhere => "user.signed_out_everywhere",
            Action::InvitationRevoked => "invitation.revoked",
            Action::InvitationSent => "invitation.sent",
            Action::MembershipAdded => "membership.added",
            Action::MembershipRemoved => "membership.removed",
            Action::MembershipRoleChanged => "membership.role_changed",
            Action::OrgCreated => "org.created",
            Action::OrgDeleted => "org.deleted",
            Action::OrgDomainAdded => "org_domain.added",
            Action::OrgDomainPolicyChanged => "org.domain_policy_changed",
            Action::OrgDomainRemoved => "org_domain.removed",
            Action::OrgDomainVerified => "org_domain.verified",
            Action::OrgProviderRequired => "org.provider_required",
            Action::OrgRenamed => "org.renamed",
            Action::OrgRoleCreated => "org_role.created",
            Action::OrgRoleDeleted => "org_role.deleted",
            Action::OrgRoleUpdated => "org_role.updated",
            Action::TeamCreated => "team.created",
            Action::TeamDeleted => "team.deleted",
            Action::TeamMemberAdded => "team.member_added",
            Action::TeamMemberRemoved => "team.member_removed",
            Action::TeamRenamed => "team.renamed",
        }
    }
}

/// One thing that happened, about to be recorded.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub app_id: &'a AppId,
    pub actor: &'a Actor,
    pub action: Action,
    pub target: Option<Target>,
    /// Before/after and whatever else explains the change; never a secret.
    pub details: Value,
}

/// Append an event to its app's chain, inside the caller's transaction, so
/// the change and its record commit or roll back together.
pub async fn record(tx: &Write, event: Event<'_>) -> Result<(), AuditError> {
    let key = &tx.deployment().chain_key;
    let app_id = event.app_id.as_str();
    // Claim the next sequence number and read the head in one statement: on
    // PostgreSQL it takes the head row's lock (held to the commit, so each
    // round trip saved here is one less that other sign-ins wait through),
    // on SQLite the transaction already holds the write lock.
    let head = audit_chain_head::Entity::update_many()
        .col_expr(
            audit_chain_head::Column::LastSeq,
            Expr::col(audit_chain_head::Column::LastSeq).add(1),
        )
        .filter(audit_chain_head::Column::AppId.eq(app_id))
        .exec_with_returning(tx)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| AuditError::NoChain(app_id.to_owned()))?;
    // After a master-key rotation, a process with the old key must not
    // append (nor commit what it sealed beside the event).
    if let Some(check) = &head.key_check
        && !super::secrets::constant_time_eq(check, &tx.deployment().chain_key_check)
    {
        tracing::error!("the master key was rotated; restart this server with the new key");
        return Err(AuditError::KeyRotated);
    }
    // Timestamped once the position is ours: events that wait for the head
    // row's lock still get times in chain order, which time filters rely on.
    let occurred_at = tx.clock().now();

    let mut row = audit_event::Model {
        id: 0,
        app_id: event.app_id.clone(),
        seq: head.last_seq,
        occurred_at,
        actor_type: event.actor.kind.as_str().to_owned(),
        actor_id: event.actor.id.clone(),
        actor_label: event.actor.label.clone(),
        actor_address: event.actor.address.clone(),
        action: event.action.as_str().to_owned(),
        target_type: event.target.as_ref().map(|t| t.kind.to_owned()),
        target_id: event.target.as_ref().map(|t| t.id.clone()),
        // serde_json's maps are sorted, so this text is canonical.
        details: event.details.to_string(),
        prev_hash: head.last_hash.clone(),
        hash: String::new(),
    };
    row.hash = event_hash(key, &row);
    let action = event.action.as_str();
    let method = event.details["method"].as_str().map(str::to_owned);
    tx.on_commit(move || super::measure::committed(action, method.as_deref()));

    match tx.get_database_backend() {
        DatabaseBackend::Postgres => {
            // One round trip instead of two, while the head's row lock is
            // held (every sign-in of the app waits on it).
            let values: Vec<sea_orm::Value> = vec![
                row.app_id.into(),
                row.seq.into(),
                row.occurred_at.into(),
                row.actor_type.into(),
                row.actor_id.into(),
                row.actor_label.into(),
                row.actor_address.into(),
                row.action.into(),
                row.target_type.into(),
                row.target_id.into(),
                row.details.into(),
                row.prev_hash.into(),
                row.hash.into(),
            ];
            tx.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                APPEND_AND_MOVE_HEAD,
                values,
            ))
            .await?;
        }
        _ => {
            audit_event::ActiveModel {
                app_id: Set(row.app_id),
                seq: Set(row.seq),
                occurred_at: Set(row.occurred_at),
                actor_type: Set(row.actor_type),
                actor_id: Set(row.actor_id),
                actor_label: Set(row.actor_label),
                actor_address: Set(row.actor_address),
                action: Set(row.action),
                target_type: Set(row.target_type),
                target_id: Set(row.target_id),
                details: Set(row.details),
                prev_hash: Set(row.prev_hash),
                hash: Set(row.hash.clone()),
                ..Default::default()
            }
            .insert(tx)
            .await?;
            audit_chain_head::ActiveModel {
                app_id: Set(event.app_id.clone()),
                last_hash: Set(row.hash),
                updated_at: Set(occurred_at),
                ..Default::default()
            }
            .update(tx)
            .await?;
        }
    }
    Ok(())
}

/// PostgreSQL: insert the event ($1..$13) and move the chain's head to its
/// hash, in one statement.
const APPEND_AND_MOVE_HEAD: &str = r#"
WITH appended AS (
    INSERT INTO "audit_event" ("app_id", "seq", "occurred_at", "actor_type", "actor_id",
        "actor_label", "actor_address", "action", "target_type", "target_id", "details",
        "prev_hash", "hash")
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
)
UPDATE "audit_chain_head" SET "last_hash" = $13, "updated_at" = $3 WHERE "app_id" = $1"#;

/// Refuse (`KeyRotated`) when the master key was rotated since this
/// process started. On PostgreSQL the key's check row is read FOR SHARE: a
/// rotation locks it FOR UPDATE before it reads anything, so a write that
/// seals with the old key either commits before the rotation (which then
/// seals its secret again) or sees the new check value here. Called by the
/// writes that seal something without appending an event (which checks the
/// chain's head instead), and when a chain starts.
pub async fn ensure_key_current(tx: &Write) -> Result<(), AuditError> {
    let current = key_check::Entity::find_by_id(super::db::CHAIN_KEY_PURPOSE)
        .lock(sea_orm::sea_query::LockType::Share)
        .one(tx)
        .await?;
    match current {
        Some(row)
            if super::secrets::constant_time_eq(
                &row.check_value,
                &tx.deployment().chain_key_check,
            ) =>
        {
            Ok(())
        }
        _ => {
            tracing::error!("the master key was rotated; restart this server with the new key");
            Err(AuditError::KeyRotated)
        }
    }
}

/// Start an empty chain for a new app (in the transaction that creates it),
/// under the deployment's current key.
pub async fn start_chain(tx: &Write, app_id: &AppId) -> Result<(), AuditError> {
    ensure_key_current(tx).await?;
    audit_chain_head::ActiveModel {
        app_id: Set(app_id.clone()),
        last_seq: Set(0),
        last_hash: Set(GENESIS_HASH.to_owned()),
        updated_at: Set(tx.now),
        key_check: Set(Some(tx.deployment().chain_key_check.clone())),
    }
    .insert(tx)
    .await?;
    Ok(())
}

/// Canonical form of a timestamp inside the hash.
fn hash_time(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// HMAC-SHA-256 under the chain key over every field but the row id, as a
/// JSON array (unambiguous field boundaries, stable across databases).
pub(crate) fn event_hash(key: &DerivedKey, event: &audit_event::Model) -> String {
    let fields = json!([
        "1auth-audit-v2",
        event.app_id,
        event.seq,
        hash_time(&event.occurred_at),
        event.actor_type,
        event.actor_id,
        event.actor_label,
        event.actor_address,
        event.action,
        event.target_type,
        event.target_id,
        event.details,
        event.prev_hash,
    ]);
    hex::encode(key.mac(fields.to_string().as_bytes()))
}

/// The outcome of checking one app's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub app_id: String,
    /// Events read before the verdict.
    pub events_checked: u64,
    /// `None` when the chain verifies; otherwise the first problem found.
    pub problem: Option<String>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }
}

/// Where a chain stood when its head was exported (`oneauth audit head`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChainHead {
    pub app_id: String,
    pub seq: i64,
    pub hash: String,
}

/// The current head of every chain (or of one app's).
pub async fn heads<C: ConnectionTrait>(
    db: &C,
    app_id: Option<&AppId>,
) -> Result<Vec<ChainHead>, AuditError> {
    let mut query = audit_chain_head::Entity::find().order_by_asc(audit_chain_head::Column::AppId);
    if let Some(app_id) = app_id {
        query = query.filter(audit_chain_head::Column::AppId.eq(app_id.as_str()));
    }
    Ok(query
        .all(db)
        .await?
        .into_iter()
        .map(|head| ChainHead {
            app_id: head.app_id.to_string(),
            seq: head.last_seq,
            hash: head.last_hash,
        })
        .collect())
}

/// Walk one app's chain from event 1 and report the first break. With an
/// `expected` head exported earlier, the chain must still hold that event
/// unchanged: a tail cut off together with the head row shows here.
pub async fn verify_chain<C: ConnectionTrait>(
    db: &C,
    deployment: &Deployment,
    app_id: &str,
    expected: Option<&ChainHead>,
) -> Result<ChainReport, AuditError> {
    let key = &deployment.chain_key;
    let head = audit_chain_head::Entity::find()
        .filter(audit_chain_head::Column::AppId.eq(app_id))
        .one(db)
        .await?
        .ok_or_else(|| AuditError::NoChain(app_id.to_owned()))?;
    let report = |checked: u64, problem: Option<String>| ChainReport {
        app_id: app_id.to_owned(),
        events_checked: checked,
        problem,
    };

    let mut expected_seq: i64 = 1;
    let mut prev_hash = GENESIS_HASH.to_owned();
    loop {
        let page = audit_event::Entity::find()
            .filter(audit_event::Column::AppId.eq(app_id))
            .filter(audit_event::Column::Seq.gte(expected_seq))
            .order_by_asc(audit_event::Column::Seq)
            .limit(PAGE)
            .all(db)
            .await?;
        let page_len = page.len() as u64;
        for event in page {
            let checked = (expected_seq - 1) as u64;
            if event.seq != expected_seq {
                return Ok(report(
                    checked,
                    Some(format!("event {expected_seq} is missing (deleted)")),
                ));
            }
            if event.prev_hash != prev_hash {
                return Ok(report(
                    checked,
                    Some(format!(
                        "event {} does not follow event {} (an event was replaced or reordered)",
                        event.seq,
                        event.seq - 1
                    )),
                ));
            }
            if !super::secrets::constant_time_eq(&event_hash(key, &event), &event.hash) {
                return Ok(report(
                    checked,
                    Some(format!(
                        "event {} was altered after it was recorded",
                        event.seq
                    )),
                ));
            }
            if let Some(expected) = expected
                && expected.seq == event.seq
                && expected.hash != event.hash
            {
                return Ok(report(
                    checked,
                    Some(format!(
                        "event {} is not the one the exported head names (the chain was rewritten from there)",
                        event.seq
                    )),
                ));
            }
            prev_hash = event.hash;
            expected_seq += 1;
        }
        if page_len < PAGE {
            break;
        }
    }
    let last_seq = expected_seq - 1;
    let checked = last_seq as u64;
    if let Some(expected) = expected
        && expected.seq > last_seq
    {
        return Ok(report(
            checked,
            Some(format!(
                "the chain ends at event {last_seq} but the exported head names event {} (events were deleted)",
                expected.seq
            )),
        ));
    }
    if head.last_seq != last_seq || head.last_hash != prev_hash {
        return Ok(report(
            checked,
            Some(format!(
                "the chain ends at event {last_seq} but {} events were recorded (events were deleted)",
                head.last_seq
            )),
        ));
    }
    Ok(report(checked, None))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

/// The exported shape of an event: every stored field, details as JSON.
fn export_record(event: &audit_event::Model) -> Value {
    json!({
        "app_id": event.app_id,
        "seq": event.seq,
        "occurred_at": hash_time(&event.occurred_at),
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "actor_address": event.actor_address,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "details": serde_json::from_str::<Value>(&event.details).unwrap_or(Value::String(event.details.clone())),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    })
}

const CSV_HEADER: [&str; 13] = [
    "app_id",
    "seq",
    "occurred_at",
    "actor_type",
    "actor_id",
    "actor_label",
    "actor_address",
    "action",
    "target_type",
    "target_id",
    "details",
    "prev_hash",
    "hash",
];

/// A CSV cell a spreadsheet will not run: text that starts like a formula
/// (`= + - @`, tab, carriage return) gets a leading `'` (OWASP CSV
/// injection). Failed sign-ins put attacker-chosen text in the log.
fn inert_csv_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// Writes events one by one as JSON lines or CSV (with a header row).
pub struct ExportWriter<W: std::io::Write> {
    csv: Option<csv::Writer<W>>,
    jsonl: Option<std::io::BufWriter<W>>,
    written: u64,
}

impl<W: std::io::Write> ExportWriter<W> {
    pub fn new(format: ExportFormat, out: W) -> Result<Self, AuditError> {
        let mut writer = Self::continuing(format, out);
        if let Some(csv) = writer.csv.as_mut() {
            csv.write_record(CSV_HEADER)?;
        }
        Ok(writer)
    }

    /// A writer that goes on an export already begun (no CSV header): a
    /// long export is written, and sent, one page at a time.
    pub fn continuing(format: ExportFormat, out: W) -> Self {
        match format {
            ExportFormat::Csv => Self {
                csv: Some(csv::Writer::from_writer(out)),
                jsonl: None,
                written: 0,
            },
            ExportFormat::Jsonl => Self {
                csv: None,
                jsonl: Some(std::io::BufWriter::new(out)),
                written: 0,
            },
        }
    }

    pub fn write(&mut self, event: &audit_event::Model) -> Result<(), AuditError> {
        if let Some(writer) = self.jsonl.as_mut() {
            serde_json::to_writer(&mut *writer, &export_record(event))
                .map_err(std::io::Error::from)?;
            writer.write_all(b"\n")?;
        }
        if let Some(writer) = self.csv.as_mut() {
            let seq = event.seq.to_string();
            let at = hash_time(&event.occurred_at);
            let cells = [
                event.app_id.as_str(),
                &seq,
                &at,
                &event.actor_type,
                event.actor_id.as_deref().unwrap_or(""),
                &event.actor_label,
                event.actor_address.as_deref().unwrap_or(""),
                &event.action,
                event.target_type.as_deref().unwrap_or(""),
                event.target_id.as_deref().unwrap_or(""),
                &event.details,
                &event.prev_hash,
                &event.hash,
            ];
            writer.write_record(cells.map(|cell| inert_csv_cell(cell).into_owned()))?;
        }
        self.written += 1;
        Ok(())
    }

    /// Flush; how many events were written.
    pub fn finish(self) -> Result<u64, AuditError> {
        if let Some(mut writer) = self.jsonl {
            writer.flush()?;
        }
        if let Some(mut writer) = self.csv {
            writer.flush()?;
        }
        Ok(self.written)
    }
}

/// Write an app's events, oldest first, as JSON lines or CSV.
pub async fn export<C: ConnectionTrait, W: std::io::Write>(
    db: &C,
    app_id: &AppId,
    format: ExportFormat,
    out: W,
) -> Result<u64, AuditError> {
    let mut writer = ExportWriter::new(format, out)?;
    let mut after_seq = 0i64;
    loop {
        let page = audit_event::Entity::find()
            .filter(audit_event::Column::AppId.eq(app_id.as_str()))
            .filter(audit_event::Column::Seq.gt(after_seq))
            .order_by_asc(audit_event::Column::Seq)
            .limit(PAGE)
            .all(db)
            .await?;
        let page_len = page.len() as u64;
        for event in &page {
            writer.write(event)?;
            after_seq = event.seq;
        }
        if page_len < PAGE {
            break;
        }
    }
    writer.finish()
}
