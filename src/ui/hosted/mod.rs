//! End-user pages of one app: `/a/{app_id}/...`.

pub mod login;
