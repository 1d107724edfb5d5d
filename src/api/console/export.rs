//! GET /console/audit/export: the filtered audit log as a JSONL or CSV
//! download, streamed a page at a time (an export of a million events never
//! sits in memory). The console's one plain axum route, beside the server
//! functions whose filters it shares; `server.rs` mounts it.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use super::audit::AuditQuery;
use super::audit::ssr::audit_filter;
use crate::core::admin::audit_log;
use crate::core::apps;
use crate::core::audit::{ExportFormat, ExportWriter};
use crate::core::console::Operator;
use crate::http::{client, signins};
use crate::state::AppState;
use crate::types::AppId;

const EXPORT_PAGE: u64 = 1000;

pub async fn export(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    extensions: Extensions,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let console = match apps::find(&state.db, &AppId::console()).await {
        Ok(Some(app)) => app,
        _ => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    let signin = match signins::current(&state.db, &session, &console).await {
        Ok(Some(signin)) => signin,
        Ok(None) => {
            return (StatusCode::UNAUTHORIZED, "Sign in to the console first.").into_response();
        }
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    let client = client::client_info(&headers, &extensions, &state.settings.trusted_proxies);
    let operator = match Operator::from_signin(&state.db, signin, client).await {
        Ok(Ok(operator)) => operator,
        Ok(Err(err)) => return (StatusCode::FORBIDDEN, err.to_string()).into_response(),
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    let query = AuditQuery {
        app_id: params.get("app").cloned(),
        actor: params.get("actor").cloned(),
        action: params.get("action").cloned(),
        target: params.get("target").cloned(),
        from: params.get("from").cloned(),
        to: params.get("to").cloned(),
    };
    let filter = match audit_filter(&query) {
        Ok(filter) => filter,
        Err(err) => return (StatusCode::BAD_REQUEST, err.to_string()).into_response(),
    };
    let (format, extension, content_type) = match params.get("format").map(String::as_str) {
        Some("csv") => (ExportFormat::Csv, "csv", "text/csv; charset=utf-8"),
        _ => (ExportFormat::Jsonl, "jsonl", "application/x-ndjson"),
    };
    // The first page answers permission questions (and errors) before any
    // byte is sent.
    let first = match audit_log::page_sized(&state.db, &operator, &filter, None, EXPORT_PAGE).await
    {
        Ok(rows) => rows,
        Err(err) => return (StatusCode::FORBIDDEN, err.to_string()).into_response(),
    };

    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let db = state.db.clone();
    tokio::spawn(async move {
        let mut rows = first;
        let mut header = true;
        loop {
            let mut buffer = Vec::new();
            {
                let writer = if header {
                    ExportWriter::new(format, &mut buffer)
                } else {
                    Ok(ExportWriter::continuing(format, &mut buffer))
                };
                let Ok(mut writer) = writer else { return };
                for row in &rows {
                    if writer.write(row).is_err() {
                        return;
                    }
                }
                if writer.finish().is_err() {
                    return;
                }
            }
            header = false;
            if sender.send(Ok(Bytes::from(buffer))).await.is_err() {
                return; // the download was abandoned
            }
            let Some(last) = rows.last().filter(|_| rows.len() as u64 == EXPORT_PAGE) else {
                return;
            };
            match audit_log::page_sized(&db, &operator, &filter, Some(last.id), EXPORT_PAGE).await {
                Ok(next) => rows = next,
                Err(err) => {
                    let _ = sender
                        .send(Err(std::io::Error::other(err.to_string())))
                        .await;
                    return;
                }
            }
        }
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(receiver);
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"1auth-audit.{extension}\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
