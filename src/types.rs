//! Values that are valid by construction ("parse, don't validate"): the
//! constructor is the only place a rule is checked, and core functions take
//! these types rather than strings.

use std::fmt;

/// A value was rejected; the message is a sentence fit for a user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

fn invalid(message: impl Into<String>) -> InvalidValue {
    InvalidValue(message.into())
}

macro_rules! string_value {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// An app's id: the lowercase slug in `/a/{app_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppId(String);
string_value!(AppId);

impl AppId {
    pub const CONSOLE: &'static str = "console";

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let ok_chars = raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let starts_with_letter = raw.starts_with(|c: char| c.is_ascii_lowercase());
        if !(2..=63).contains(&raw.len())
            || !ok_chars
            || !starts_with_letter
            || raw.ends_with('-')
            || raw.contains("--")
        {
            return Err(invalid(format!(
                "\"{raw}\" is not a valid app id: use 2 to 63 lowercase letters, digits and single hyphens, starting with a letter."
            )));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn console() -> Self {
        Self(Self::CONSOLE.to_owned())
    }
}

/// An e-mail address, normalised so that one address is one identity per
/// app whatever its spelling (L9 of the security review): the local part in
/// Unicode NFC and lower case, the domain as IDNA (UTS #46) ASCII, so
/// `bücher.de`, `BÜCHER.de` and `xn--bcher-kva.de` are one domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);
string_value!(Email);

impl Email {
    /// RFC 5321 §4.5.3.1: 254 bytes in all, 64 for the local part.
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        use unicode_normalization::UnicodeNormalization;
        let trimmed = raw.trim();
        // Never echo a megabyte of input back (or into a log).
        let shown: String = trimmed.chars().take(80).collect();
        let error = || invalid(format!("\"{shown}\" is not a valid e-mail address."));
        if trimmed.len() > 4 * Self::MAX_LEN
            || trimmed.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(error());
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or_else(error)?;
        let local: String = local.nfc().collect::<String>().to_lowercase();
        let domain = idna::domain_to_ascii(domain).map_err(|_| error())?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(error());
        }
        let value = format!("{local}@{domain}");
        if value.len() > Self::MAX_LEN {
            return Err(error());
        }
        Ok(Self(value))
    }
}

/// A redirect URI as registered: absolute, no fragment (RFC 6749 §3.1.2),
/// https, or http only on a loopback host, or a private-use scheme of a native
/// app (RFC 8252 §7.1). Kept exactly as given: matching is by exact string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RedirectUri(String);
string_value!(RedirectUri);

impl RedirectUri {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let raw = raw.trim();
        let url = url::Url::parse(raw).map_err(|_| {
            invalid(format!(
                "\"{raw}\" is not a valid redirect URI: it must be an absolute URL."
            ))
        })?;
        if url.fragment().is_some() {
            return Err(invalid(format!(
                "\"{raw}\" is not a valid redirect URI: it must not contain a fragment (#)."
            )));
        }
        let loopback = matches!(
            url.host(),
            Some(url::Host::Domain("localhost"))
                | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
                | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
        );
        let allowed = match url.scheme() {
            "https" => url.host().is_some(),
            "http" => loopback,
            "javascript" | "data" | "file" | "vbscript" | "blob" => false,
            scheme => scheme.contains('.'),
        };
        if !allowed {
            return Err(invalid(format!(
                "\"{raw}\" is not a valid redirect URI: use https, http on localhost only, or a reverse-domain scheme such as com.example.app:/callback."
            )));
        }
        Ok(Self(raw.to_owned()))
    }
}

/// A resource server's identifier (RFC 8707 §2): an absolute URI without a
/// fragment, the `aud` of the access tokens issued for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiAudience(String);
string_value!(ApiAudience);

impl ApiAudience {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let raw = raw.trim();
        let ok = raw.len() <= 512 && url::Url::parse(raw).is_ok_and(|url| url.fragment().is_none());
        if !ok {
            return Err(invalid(format!(
                "\"{raw}\" is not a valid API audience: use an absolute URI without a fragment, such as https://api.example.com."
            )));
        }
        Ok(Self(raw.to_owned()))
    }
}

/// The name of a role, unique within its app.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoleName(String);
string_value!(RoleName);

impl RoleName {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let raw = raw.trim();
        let ok = (1..=64).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && raw.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.' | ':')
            });
        if !ok {
            return Err(invalid(format!(
                "\"{raw}\" is not a valid role name: use up to 64 lowercase letters, digits and - _ . :, starting with a letter."
            )));
        }
        Ok(Self(raw.to_owned()))
    }
}

/// A display name for an app, client or user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DisplayName(String);
string_value!(DisplayName);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let value = raw.trim();
        if value.is_empty() || value.chars().count() > 100 || value.chars().any(char::is_control) {
            return Err(invalid(
                "A name must be 1 to 100 characters, without control characters.",
            ));
        }
        Ok(Self(value.to_owned()))
    }
}

/// An app's brand colour, `#rrggbb`: it goes into a style attribute, so
/// nothing else may pass.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BrandColor(String);
string_value!(BrandColor);

impl BrandColor {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let value = raw.trim().to_lowercase();
        let ok = value.len() == 7
            && value.starts_with('#')
            && value[1..].chars().all(|c| c.is_ascii_hexdigit());
        if !ok {
            return Err(invalid(format!(
                "\"{raw}\" is not a colour: use the form #4f46e5."
            )));
        }
        Ok(Self(value))
    }
}

/// The closed sets below are stored as their strings (`as_str`, the one
/// place each string is written) and read back as the enum by sea-orm, so
/// no rule compares a column with a string literal. A stored string that
/// is none of them is a database error, not a panic.
macro_rules! closed_set {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }, $what:literal) => {
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        /// As its stored string (audit details, JSON answers).
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
        impl std::str::FromStr for $name {
            type Err = sea_orm::sea_query::ValueTypeErr;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                match raw {
                    $($text => Ok($name::$variant),)+
                    _ => Err(sea_orm::sea_query::ValueTypeErr),
                }
            }
        }
        impl $name {
            /// The value a person typed (a form, a flag).
            pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
                raw.trim().parse().map_err(|_| {
                    invalid(format!(
                        concat!("\"{}\" is not ", $what, ": use {}."),
                        raw.trim(),
                        [$($text),+].join(" or ")
                    ))
                })
            }
        }
    };
}

/// Whether a client can keep a secret (RFC 6749 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sea_orm::DeriveValueType)]
#[sea_orm(value_type = "String")]
pub enum ClientType {
    Public,
    Confidential,
}
closed_set!(ClientType { Public => "public", Confidential => "confidential" }, "a client type");

/// A JWS algorithm 1Auth signs with (a client's ID tokens, an app's keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sea_orm::DeriveValueType)]
#[sea_orm(value_type = "String")]
pub enum Alg {
    Es256,
    Rs256,
}
closed_set!(Alg { Es256 => "ES256", Rs256 => "RS256" }, "a signing algorithm");

impl Alg {
    pub const ALL: [Alg; 2] = [Alg::Es256, Alg::Rs256];
}

/// A user's standing in their app (`app_user.status`): a deactivated user
/// keeps their data but cannot sign in or use tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sea_orm::DeriveValueType)]
#[sea_orm(value_type = "String")]
pub enum UserStatus {
    Active,
    Deactivated,
}
closed_set!(UserStatus { Active => "active", Deactivated => "deactivated" }, "a user status");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_ids_are_lowercase_slugs() {
        assert!(AppId::parse("demo").is_ok());
        assert!(AppId::parse("admin-panel-2").is_ok());
        for bad in [
            "", "a", "Demo", "1demo", "demo-", "de--mo", "de_mo", "de mo", "démo",
        ] {
            assert!(AppId::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@exa..mple.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn l9_look_alike_spellings_are_one_identity() {
        let punycode = Email::parse("ada@xn--bcher-kva.de").unwrap();
        assert_eq!(Email::parse("ada@bücher.de").unwrap(), punycode);
        assert_eq!(Email::parse("Ada@BÜCHER.DE").unwrap(), punycode);
        // "é" precomposed (U+00E9) and decomposed (e + U+0301).
        assert_eq!(
            Email::parse("jos\u{e9}@example.com").unwrap(),
            Email::parse("jose\u{301}@example.com").unwrap()
        );
        // Fullwidth letters in the domain map to ASCII (UTS #46).
        assert_eq!(
            Email::parse("ada@ｅｘａｍｐｌｅ.com").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn m2_e_mails_are_bounded() {
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(64))).is_ok());
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
        let long_domain = format!("ada@{}.com", "a".repeat(250));
        assert!(Email::parse(&long_domain).is_err());
        let huge = "a".repeat(1_000_000);
        let err = Email::parse(&huge).unwrap_err();
        assert!(err.0.len() < 200);
    }

    #[test]
    fn redirect_uris_follow_the_oauth_rules() {
        for good in [
            "https://app.example.com/cb",
            "http://localhost:5173/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "com.example.app:/oauth",
        ] {
            assert!(
                RedirectUri::parse(good).is_ok(),
                "{good} should be accepted"
            );
        }
        for bad in [
            "/cb",
            "http://example.com/cb",
            "https://example.com/cb#frag",
            "javascript:alert(1)",
            "myapp:/cb",
            "not a url",
        ] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad} should be rejected");
        }
        // Kept exactly as given (no normalisation), for exact matching.
        assert_eq!(
            RedirectUri::parse("https://x.example").unwrap().as_str(),
            "https://x.example"
        );
    }

    #[test]
    fn role_names_and_colours() {
        assert!(RoleName::parse("billing:admin").is_ok());
        assert!(RoleName::parse("Admin").is_err());
        assert_eq!(BrandColor::parse("#4F46E5").unwrap().as_str(), "#4f46e5");
        assert!(BrandColor::parse("red;background:url(x)").is_err());
    }
}
