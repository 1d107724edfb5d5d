//! OAuth scopes (RFC 6749 §3.3) that 1Auth understands.

use super::{ErrorCode, OAuthError};

/// OIDC Core §5.4 scopes, plus offline_access (§11); `organizations` (every
/// membership, at userinfo) and `teams` (the selected organization's teams
/// in the tokens) are ours.
pub const SUPPORTED: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "organizations",
    "teams",
];

/// A set of supported scopes, in the order first given, without repeats.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope(Vec<String>);

impl Scope {
    /// Parse a space-separated scope; unknown values are `invalid_scope`.
    pub fn parse(raw: &str) -> Result<Self, OAuthError> {
        let mut values: Vec<String> = Vec::new();
        for value in raw.split(' ').filter(|v| !v.is_empty()) {
            if !SUPPORTED.contains(&value) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    format!("The scope \"{value}\" is not supported."),
                ));
            }
            if !values.iter().any(|v| v == value) {
                values.push(value.to_owned());
            }
        }
        Ok(Self(values))
    }

    pub fn has(&self, value: &str) -> bool {
        self.0.iter().any(|v| v == value)
    }

    pub fn is_openid(&self) -> bool {
        self.has("openid")
    }

    /// Whether every value of `self` was granted in `granted` (a refresh may
    /// narrow the scope, never widen it: RFC 6749 §6).
    pub fn is_within(&self, granted: &Scope) -> bool {
        self.0.iter().all(|v| granted.has(v))
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_dedupe_and_refuse_unknown_values() {
        let scope = Scope::parse("openid  email openid").unwrap();
        assert_eq!(scope.to_string(), "openid email");
        assert!(scope.is_openid());
        assert_eq!(
            Scope::parse("openid admin").unwrap_err().error,
            ErrorCode::InvalidScope
        );
        assert!(Scope::parse("email").unwrap().is_within(&scope));
        assert!(!Scope::parse("profile").unwrap().is_within(&scope));
    }
}
