//! The audit log in the console: filtered pages, one event, the chain check.
//! The streamed download of the same filters is `export`.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use self::ssr::*;
use crate::api::ApiError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    pub app_id: String,
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub actor_type: String,
    pub action: String,
    pub target: Option<String>,
    pub summary: String,
    /// A refused attempt (`console.refused`), shown as such.
    pub refusal: bool,
}

/// The audit log's filters, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub app_id: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    /// `YYYY-MM-DD` or RFC 3339.
    pub from: Option<String>,
    pub to: Option<String>,
}

impl AuditQuery {
    /// The same filters as a query string (for links and the export).
    pub fn to_query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("app", &self.app_id),
            ("actor", &self.actor),
            ("action", &self.action),
            ("target", &self.target),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                query.append_pair(name, value);
            }
        }
        query.finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditRow>,
    /// Pass as `before` for the next (older) page.
    pub next: Option<i64>,
}

#[server]
pub async fn console_audit(
    query: Option<AuditQuery>,
    before: Option<i64>,
) -> Result<AuditPage, ApiError> {
    use crate::core::admin::audit_log::{self, PAGE};
    let operator = require_operator().await?;
    let filter = audit_filter(&query.unwrap_or_default())?;
    let events = audit_log::page(&state().db, &operator, &filter, before).await?;
    let next = (events.len() as u64 == PAGE)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    Ok(AuditPage {
        events: events.into_iter().map(audit_row).collect(),
        next,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEventView {
    pub row: AuditRow,
    pub actor_id: Option<String>,
    pub actor_address: Option<String>,
    pub target_type: Option<String>,
    /// Pretty-printed.
    pub details: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub hash: String,
    pub prev_hash: String,
}

#[server]
pub async fn console_audit_event(id: i64) -> Result<AuditEventView, ApiError> {
    let operator = require_operator().await?;
    let event = crate::core::admin::audit_log::event(&state().db, &operator, id).await?;
    let details: serde_json::Value = serde_json::from_str(&event.details).unwrap_or_default();
    let pretty = |v: Option<&serde_json::Value>| {
        v.map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
    };
    Ok(AuditEventView {
        actor_id: event.actor_id.clone(),
        actor_address: event.actor_address.clone(),
        target_type: event.target_type.clone(),
        details: serde_json::to_string_pretty(&details).unwrap_or_default(),
        before: pretty(details.get("before")),
        after: pretty(details.get("after")),
        hash: event.hash.clone(),
        prev_hash: event.prev_hash.clone(),
        row: audit_row(event),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainView {
    pub app_id: String,
    pub events: u64,
    pub problem: Option<String>,
}

#[server]
pub async fn console_verify_chain(app_id: String) -> Result<ChainView, ApiError> {
    let operator = require_operator().await?;
    let app_id = app_id_of(&app_id)?;
    let report = crate::core::admin::audit_log::verify(&state().db, &operator, &app_id).await?;
    Ok(ChainView {
        app_id: report.app_id,
        events: report.events_checked,
        problem: report.problem,
    })
}

/// Server-only helpers of these server functions.
#[cfg(feature = "ssr")]
pub mod ssr {
    use super::{AuditQuery, AuditRow};
    use crate::api::ApiError;
    pub use crate::api::context::*;

    pub fn audit_row(event: crate::entities::audit_event::Model) -> AuditRow {
        let details: serde_json::Value = serde_json::from_str(&event.details).unwrap_or_default();
        let summary = [
            "email",
            "role",
            "method",
            "reason",
            "name",
            "client_id",
            "grant_type",
        ]
        .iter()
        .filter_map(|key| {
            // Creations and updates keep their fields under "after".
            details
                .get(*key)
                .or_else(|| details.get("after").and_then(|after| after.get(*key)))
                .and_then(|v| v.as_str())
                .map(|v| format!("{key}: {v}"))
        })
        .collect::<Vec<_>>()
        .join(" · ");
        AuditRow {
            id: event.id,
            app_id: event.app_id.to_string(),
            seq: event.seq,
            at: when(event.occurred_at),
            actor: event.actor_label,
            actor_type: event.actor_type,
            refusal: event.action == crate::core::audit::Action::ConsoleRefused.as_str(),
            action: event.action,
            target: event.target_id,
            summary,
        }
    }

    pub fn parse_time(
        field: &'static str,
        raw: Option<&str>,
        end_of_day: bool,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
        let Some(raw) = raw.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        if let Ok(at) = chrono::DateTime::parse_from_rfc3339(raw) {
            return Ok(Some(at.with_timezone(&chrono::Utc)));
        }
        let date = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map_err(|_| ApiError::invalid(field, "Use a date such as 2026-11-25."))?;
        let date = if end_of_day {
            date.succ_opt().unwrap_or(date)
        } else {
            date
        };
        Ok(Some(
            date.and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc(),
        ))
    }

    pub fn audit_filter(
        query: &AuditQuery,
    ) -> Result<crate::core::admin::audit_log::Filter, ApiError> {
        let clean = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Ok(crate::core::admin::audit_log::Filter {
            app_id: clean(&query.app_id)
                .map(|app_id| app_id_of(&app_id))
                .transpose()?,
            actor: clean(&query.actor),
            action: clean(&query.action),
            target: clean(&query.target),
            from: parse_time("from", query.from.as_deref(), false)?,
            to: parse_time("to", query.to.as_deref(), true)?,
        })
    }
}
