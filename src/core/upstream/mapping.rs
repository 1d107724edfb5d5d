//! What an upstream identity's claims decide here: whether its e-mail
//! domain may have an account created (provisioning), and which roles its
//! claims grant (e.g. `groups` containing `platform-admins` grants `admin`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::Identity;
use super::providers::Kind;

/// One claim-to-role rule: the claim `claim` equals `value`, or is a list
/// that contains it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub claim: String,
    pub value: String,
    pub role: String,
}

impl Rule {
    /// `claim=value:role`, as the CLI and the console write a rule.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let fail = || {
            format!(
                "\"{raw}\" is not a rule: write claim=value:role, e.g. groups=platform-admins:admin."
            )
        };
        let (condition, role) = raw.trim().rsplit_once(':').ok_or_else(fail)?;
        let (claim, value) = condition.split_once('=').ok_or_else(fail)?;
        let (claim, value, role) = (claim.trim(), value.trim(), role.trim());
        if claim.is_empty() || value.is_empty() || role.is_empty() {
            return Err(fail());
        }
        crate::types::RoleName::parse(role).map_err(|e| e.0)?;
        Ok(Self {
            claim: claim.to_owned(),
            value: value.to_owned(),
            role: role.to_owned(),
        })
    }

    fn matches(&self, claims: &serde_json::Map<String, serde_json::Value>) -> bool {
        use serde_json::Value;
        match claims.get(&self.claim) {
            Some(Value::String(s)) => s == &self.value,
            Some(Value::Array(items)) => items
                .iter()
                .any(|item| item.as_str() == Some(self.value.as_str())),
            Some(Value::Bool(b)) => b.to_string() == self.value,
            Some(Value::Number(n)) => n.to_string() == self.value,
            _ => false,
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}:{}", self.claim, self.value, self.role)
    }
}

pub fn encode(rules: &[Rule]) -> String {
    serde_json::to_string(rules).expect("rules serialise")
}

/// The roles `rules` grant to an identity with `claims`.
pub fn granted_roles(
    rules: &[Rule],
    claims: &serde_json::Map<String, serde_json::Value>,
) -> BTreeSet<String> {
    rules
        .iter()
        .filter(|rule| rule.matches(claims))
        .map(|rule| rule.role.clone())
        .collect()
}

/// The domain part of an address, lowercased.
pub fn domain_of(email: &str) -> Option<String> {
    email
        .rsplit_once('@')
        .map(|(_, domain)| domain.to_ascii_lowercase())
}

/// Whether an account may be created for `identity`: a verified address in
/// one of `allowed` domains; for Google, the Workspace domain (`hd`) must be
/// that domain too, since a personal Google account can carry a verified
/// address at any domain.
pub fn may_provision(kind: Kind, allowed: &[String], identity: &Identity) -> bool {
    let Some(domain) = identity.email.as_deref().and_then(domain_of) else {
        return false;
    };
    if !identity.email_verified || !allowed.contains(&domain) {
        return false;
    }
    match kind {
        Kind::Google => identity
            .hosted_domain
            .as_deref()
            .is_some_and(|hd| hd.eq_ignore_ascii_case(&domain)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn identity(email: &str, verified: bool, hd: Option<&str>) -> Identity {
        Identity {
            issuer: "https://accounts.google.com".into(),
            subject: "1".into(),
            email: Some(email.into()),
            email_verified: verified,
            name: None,
            hosted_domain: hd.map(str::to_owned),
            session_id: None,
            amr: vec![],
            acr: None,
            claims: Default::default(),
        }
    }

    #[test]
    fn rules_match_strings_and_lists() {
        let rules = vec![
            Rule::parse("groups=platform-admins:admin").unwrap(),
            Rule::parse("department=ops:auditor").unwrap(),
        ];
        let claims = json!({"groups": ["staff", "platform-admins"], "department": "sales"});
        let granted = granted_roles(&rules, claims.as_object().unwrap());
        assert_eq!(granted.into_iter().collect::<Vec<_>>(), vec!["admin"]);
        assert!(Rule::parse("groups:admin").is_err());
        assert!(Rule::parse("groups=x:Not A Role").is_err());
    }

    #[test]
    fn provisioning_needs_a_verified_address_in_an_allowed_domain() {
        let allowed = vec!["example.com".to_owned()];
        assert!(may_provision(
            Kind::Oidc,
            &allowed,
            &identity("a@Example.com", true, None)
        ));
        assert!(!may_provision(
            Kind::Oidc,
            &allowed,
            &identity("a@example.com", false, None)
        ));
        assert!(!may_provision(
            Kind::Oidc,
            &allowed,
            &identity("a@evil.com", true, None)
        ));
        // A personal Google account with a verified address at the domain.
        assert!(!may_provision(
            Kind::Google,
            &allowed,
            &identity("a@example.com", true, None)
        ));
        assert!(may_provision(
            Kind::Google,
            &allowed,
            &identity("a@example.com", true, Some("example.com"))
        ));
    }
}
