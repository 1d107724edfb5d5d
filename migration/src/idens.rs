//! Identifiers of tables and columns, shared by all migrations.
use sea_orm_migration::prelude::*;

/// Columns that recur across tables.
#[derive(DeriveIden, Clone, Copy)]
pub enum Col {
    Id,
    AppId,
    UserId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum App {
    Table,
    Id,
    Name,
    BrandColor,
    Builtin,
    SelfRegistration,
    PasswordEnabled,
    PasskeyEnabled,
    DisabledAt,
    SessionIdleSecs,
    SessionAbsoluteSecs,
    AccessTokenTtlSecs,
    RefreshIdleSecs,
    RefreshAbsoluteSecs,
    RefreshGraceSecs,
    RequirePkce,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum OauthClient {
    Table,
    Name,
    ClientType,
    SecretHash,
    RedirectUris,
    PostLogoutRedirectUris,
    IdTokenAlg,
    SecretRotatedAt,
    DisabledAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum AppUser {
    Table,
    Email,
    EmailVerified,
    DisplayName,
    Status,
    DeactivatedAt,
    LastSignInAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum PasswordCredential {
    Table,
    Phc,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Passkey {
    Table,
    CredentialId,
    Name,
    PasskeyJson,
    UserVerified,
    LastUsedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum TotpSecret {
    Table,
    SecretEncrypted,
    ConfirmedAt,
    LastUsedStep,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum RecoveryCode {
    Table,
    CodeHash,
    UsedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum ActionToken {
    Table,
    Purpose,
    TokenHash,
    ExpiresAt,
    UsedAt,
    CreatedBy,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Role {
    Table,
    Name,
    Description,
    RequirePasskey,
    MaxAuthAgeSecs,
    Builtin,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum RoleAssignment {
    Table,
    RoleId,
    GrantedBy,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Organization {
    Table,
    Slug,
    Name,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Membership {
    Table,
    OrganizationId,
    OrgRoles,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Invitation {
    Table,
    OrganizationId,
    Email,
    TokenHash,
    Roles,
    InvitedBy,
    ExpiresAt,
    AcceptedAt,
    RevokedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Team {
    Table,
    OrganizationId,
    Name,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum TeamMember {
    Table,
    TeamId,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum IdentityProvider {
    Table,
    Slug,
    Kind,
    DisplayName,
    IssuerUrl,
    ClientId,
    ClientSecretEncrypted,
    Scopes,
    EnabledAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum ExternalIdentity {
    Table,
    ProviderId,
    Subject,
    Email,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum BrowserSession {
    Table,
    Data,
    ExpiresAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum SigninSession {
    Table,
    Amr,
    Acr,
    AuthTime,
    LastSeenAt,
    IdleExpiresAt,
    AbsoluteExpiresAt,
    RequiresEnrolment,
    EndedAt,
    EndReason,
    ClientAddress,
    UserAgent,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum AuthorizationCode {
    Table,
    CodeHash,
    ClientId,
    SigninSessionId,
    RedirectUri,
    Scope,
    Nonce,
    CodeChallenge,
    CodeChallengeMethod,
    AuthTime,
    Amr,
    Acr,
    Roles,
    ExpiresAt,
    UsedAt,
    TokenFamilyId,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum TokenFamily {
    Table,
    ClientId,
    SigninSessionId,
    Scope,
    AbsoluteExpiresAt,
    RevokedAt,
    RevokedReason,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum RefreshToken {
    Table,
    FamilyId,
    TokenHash,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum SigningKey {
    Table,
    Alg,
    PrivateKeyEncrypted,
    PublicJwk,
    RetiredAt,
    PublishUntil,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum AuditEvent {
    Table,
    Seq,
    OccurredAt,
    ActorType,
    ActorId,
    ActorLabel,
    ActorAddress,
    Action,
    TargetType,
    TargetId,
    Details,
    PrevHash,
    Hash,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum AuditChainHead {
    Table,
    LastSeq,
    LastHash,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum EmailOutbox {
    Table,
    ToAddress,
    Subject,
    BodyText,
    Status,
    Attempts,
    NextAttemptAt,
    LastError,
    SentAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum AuthThrottle {
    Table,
    Key,
    Failures,
    WindowStartedAt,
    LockedUntil,
}
