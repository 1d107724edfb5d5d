//! Known devices (OWASP Authentication Cheat Sheet, "device cookies"): a
//! browser that signed in to an account once carries a signed mark of it,
//! and its failed attempts count on a key of their own. A stranger's
//! failures lock the account for strangers, not for its owner's browser.

use super::secrets;
use super::vault::DerivedKey;
use crate::types::Email;

/// How long a browser stays known.
pub const LIFETIME_DAYS: i64 = 365;

/// The cookie that marks a known device of an app.
pub fn cookie_name(app_id: &str) -> String {
    format!("oneauth_device_{app_id}")
}

fn message(app_id: &str, email: &Email, device_id: &str) -> String {
    format!("device:{app_id}:{email}:{device_id}")
}

/// A new mark for a browser that just signed in to `email`.
pub fn issue(key: &DerivedKey, app_id: &str, email: &Email) -> String {
    let device_id = secrets::random_token(16);
    let signature = key.sign(&message(app_id, email, &device_id));
    format!("{device_id}.{signature}")
}

/// The device id in `cookie`, if it is a mark we issued for this account.
pub fn verify(key: &DerivedKey, app_id: &str, email: &Email, cookie: &str) -> Option<String> {
    let (device_id, signature) = cookie.split_once('.')?;
    if device_id.is_empty() || device_id.len() > 64 {
        return None;
    }
    key.verify(&message(app_id, email, device_id), signature)
        .then(|| device_id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::vault::Vault;

    #[test]
    fn a_mark_is_good_for_its_own_account_only() {
        let key = Vault::random().derive("device-cookie");
        let ada = Email::parse("ada@example.com").unwrap();
        let bob = Email::parse("bob@example.com").unwrap();
        let mark = issue(&key, "demo", &ada);
        assert!(verify(&key, "demo", &ada, &mark).is_some());
        assert!(verify(&key, "demo", &bob, &mark).is_none());
        assert!(verify(&key, "shop", &ada, &mark).is_none());
        assert!(verify(&key, "demo", &ada, "forged.mark").is_none());
    }
}
