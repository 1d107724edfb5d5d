//! Signing in through an app's upstream identity providers (generic OpenID
//! Connect by discovery, and the Google, Microsoft Entra ID and GitHub
//! presets).
//!
//! Everything an upstream answers crosses a trust boundary. Core decides;
//! the edge (`http/upstream.rs`) only carries the outbound HTTP and hands
//! the answers in:
//!
//! * `providers`: an app's providers, their sealed client secrets, presets;
//! * `flow`: the authorization request (state, nonce, PKCE) and the checks
//!   of the answer (state, `iss`, the ID token against the JWKS), pure, with
//!   the time handed in;
//! * `mapping`: allowed domains and claim-to-role rules;
//! * `accounts`: who the verified identity is here (linked, linked now,
//!   provisioned, or asked to sign in first), through `signin::succeed`;
//! * `logout`: the back-channel logout receiver's checks and effect.

pub mod accounts;
pub mod directory;
pub mod flow;
pub mod logout;
pub mod mapping;
pub mod outbound;
pub mod providers;

use serde::{Deserialize, Serialize};

/// An identity an upstream provider vouched for, after every check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The issuer that signed it (one per tenant for multi-tenant Entra ID).
    pub issuer: String,
    /// The upstream's stable id of the account (Entra ID: `tid:oid`).
    pub subject: String,
    pub email: Option<String>,
    /// `email_verified` as the upstream asserted it; absent counts as false.
    pub email_verified: bool,
    pub name: Option<String>,
    /// Google's Workspace domain (`hd`).
    pub hosted_domain: Option<String>,
    /// The upstream's session id (`sid`), for back-channel logout.
    pub session_id: Option<String>,
    /// The upstream's `amr` and `acr`, recorded (and trusted only when the
    /// provider is set to).
    pub amr: Vec<String>,
    pub acr: Option<String>,
    /// All claims, for the claim-to-role rules.
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// Why an upstream sign-in ended without a session: the sentence the page
/// shows, and the reason code the audit event records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamFailure {
    #[error("The sign-in was cancelled or refused at {provider}.")]
    Denied { provider: String },
    #[error("This sign-in request is unknown, expired or was already used. Start again.")]
    BadState,
    #[error("The answer came from another provider than the one this sign-in started with.")]
    WrongProvider,
    #[error("The provider's answer names another issuer than the one configured.")]
    WrongIssuer,
    #[error("The provider refused the sign-in code (expired or already used). Start again.")]
    CodeRejected,
    #[error("The provider could not be reached. Try again in a moment.")]
    Unreachable,
    #[error("The provider's answer could not be verified.")]
    BadToken,
    #[error("The provider's answer was not signed with one of its keys.")]
    BadSignature,
    #[error("The provider's answer belongs to another sign-in request.")]
    NonceMismatch,
    #[error("The provider has not verified this account's e-mail address.")]
    UnverifiedEmail,
    #[error("Accounts of this e-mail domain cannot sign in here.")]
    DomainNotAllowed,
    #[error("This sign-in provider is turned off.")]
    ProviderDisabled,
    #[error("This account cannot sign in here.")]
    Deactivated,
    #[error("There is no account here for this identity, and none can be created.")]
    NoAccount,
    #[error("That account is already linked to another account here.")]
    LinkedElsewhere,
    #[error("The provider's e-mail address cannot be used for an account here.")]
    UnusableEmail,
    #[error("Too many failed sign-ins from this address. Try again later.")]
    Throttled,
    #[error("Sign in to this app through {provider}.")]
    ProviderRequired { provider: String },
    #[error(
        "This invitation is invalid, was already used, was revoked or has expired. Ask for a new one."
    )]
    InvitationInvalid,
    #[error(
        "This invitation is for {invited}, but {provider} did not vouch for that address. Sign in at {provider} as {invited} to accept it."
    )]
    InvitedElsewhere { invited: String, provider: String },
}

impl UpstreamFailure {
    /// The reason code of the `signin.failed` event.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Denied { .. } => "upstream_denied",
            Self::BadState => "bad_state",
            Self::WrongProvider => "wrong_provider",
            Self::WrongIssuer => "wrong_issuer",
            Self::CodeRejected => "code_rejected",
            Self::Unreachable => "upstream_unreachable",
            Self::BadToken => "bad_token",
            Self::BadSignature => "bad_signature",
            Self::NonceMismatch => "nonce_mismatch",
            Self::UnverifiedEmail => "unverified_email",
            Self::DomainNotAllowed => "domain_not_allowed",
            Self::ProviderDisabled => "provider_disabled",
            Self::Deactivated => "deactivated",
            Self::NoAccount => "no_account",
            Self::LinkedElsewhere => "linked_elsewhere",
            Self::UnusableEmail => "unusable_email",
            Self::Throttled => "throttled",
            Self::ProviderRequired { .. } => "provider_required",
            Self::InvitationInvalid => "invitation_invalid",
            Self::InvitedElsewhere { .. } => "invitation_for_another_address",
        }
    }
}
