//! The operator console's permissions and guardrails, through its server
//! functions: bootstrap, owner/admin/auditor and app-scoped operators, the
//! last owner, self-demotion, grants above one's own access, and the audit
//! log (filters, paging, export, chain check).

mod access;
mod apps;
mod audit;
mod bootstrap;
mod guardrails;
mod lifecycle;
mod providers;
mod roles;
