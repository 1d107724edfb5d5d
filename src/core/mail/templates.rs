//! What each kind of message says, as plain text and as HTML, in the app's
//! name and colour. A message never carries a secret but its one-time link;
//! the HTML is built from escaped text, so nothing a user or operator typed
//! (an app name, a passkey's name) becomes markup.

use crate::entities::app;
use crate::types::{BrandColor, MailKind};

/// A security notice: something changed on the account, so its owner can
/// act if it was not them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    PasskeyAdded {
        name: String,
    },
    PasskeyRemoved {
        name: String,
    },
    PasswordChanged,
    /// New recovery codes replaced the old ones (a new way in).
    RecoveryCodesReplaced,
    Deactivated,
    /// A refresh token was used twice; its family was revoked
    /// (`token.reuse_detected`).
    TokenReplayed {
        client: String,
    },
    /// A sign-in from a browser the account had not used before.
    NewDevice {
        browser: String,
        address: String,
    },
    /// An upstream account was linked to this one (a new way in).
    UpstreamLinked {
        provider: String,
        upstream_email: Option<String>,
    },
    /// An upstream account was unlinked from this one.
    UpstreamUnlinked {
        provider: String,
    },
}

/// A message's content before rendering.
#[derive(Clone, PartialEq, Eq)]
pub enum Content {
    /// Confirm the address (the link is single use).
    Verification {
        link: String,
    },
    /// Sign in once and set up a new factor. `requested`: the user asked
    /// for it on the recovery page (else an operator sent it).
    Recovery {
        link: String,
        requested: bool,
    },
    /// The user asked for a recovery link, but their account has a passkey
    /// (or a role that demands one): e-mail cannot recover it.
    RecoveryByEmailUnavailable {
        recover: String,
    },
    Invitation {
        link: String,
    },
    /// An invitation into an organization of the app, with a role.
    OrgInvitation {
        link: String,
        org: String,
        inviter: String,
    },
    Enrolment {
        link: String,
    },
    Notice {
        notice: Notice,
        account_link: String,
    },
    Test,
}

impl std::fmt::Debug for Content {
    // The links are live one-time links: never in a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Content({})", self.kind())
    }
}

impl Content {
    pub fn kind(&self) -> MailKind {
        match self {
            Content::Verification { .. } => MailKind::Verification,
            Content::Recovery { .. } | Content::RecoveryByEmailUnavailable { .. } => {
                MailKind::Recovery
            }
            Content::Invitation { .. } | Content::OrgInvitation { .. } => MailKind::Invitation,
            Content::Enrolment { .. } => MailKind::Enrolment,
            Content::Notice { .. } => MailKind::Notice,
            Content::Test => MailKind::Test,
        }
    }
}

/// A message ready for the outbox.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rendered({:?}, ***)", self.subject)
    }
}

/// The words of a message: paragraphs, an optional button (the link) and a
/// closing line, rendered the same way as text and as HTML.
struct Letter {
    subject: String,
    heading: String,
    paragraphs: Vec<String>,
    action: Option<(String, String)>,
    footer: String,
}

const DEFAULT_COLOUR: &str = "#4f46e5";

pub fn render(app: &app::Model, content: &Content) -> Rendered {
    let letter = letter(&app.name, content);
    // The colour was checked when it was saved; checked again because it
    // goes into a style attribute.
    let colour = BrandColor::parse(&app.brand_color)
        .map(|c| c.to_string())
        .unwrap_or_else(|_| DEFAULT_COLOUR.to_owned());
    Rendered {
        subject: letter.subject.clone(),
        text: as_text(&letter),
        html: as_html(&app.name, &colour, &letter),
    }
}

fn letter(app: &str, content: &Content) -> Letter {
    let ignore = "If you did not ask for this, you can ignore this message.".to_owned();
    match content {
        Content::Verification { link } => Letter {
            subject: format!("Confirm your e-mail address for {app}"),
            heading: "Confirm your e-mail address".to_owned(),
            paragraphs: vec![format!(
                "Open the link below to confirm that this address is yours. It works once and for 24 hours."
            )],
            action: Some(("Confirm my address".to_owned(), link.clone())),
            footer: ignore,
        },
        Content::Recovery { link, requested } => Letter {
            subject: format!("Recover your {app} account"),
            heading: "Recover your account".to_owned(),
            paragraphs: vec![
                if *requested {
                    "Someone (we hope you) asked to recover this account.".to_owned()
                } else {
                    "An administrator sent you a recovery link.".to_owned()
                },
                "The link signs you in once, within one hour. You will then add a new passkey or set a new password, and every other session of the account will be signed out.".to_owned(),
            ],
            action: Some(("Recover my account".to_owned(), link.clone())),
            footer: if *requested {
                ignore
            } else {
                "If you did not expect this, tell your administrator.".to_owned()
            },
        },
        Content::RecoveryByEmailUnavailable { recover } => Letter {
            subject: format!("Recovering your {app} account"),
            heading: "Your account cannot be recovered by e-mail".to_owned(),
            paragraphs: vec![
                "Someone (we hope you) asked to recover this account by e-mail. It is protected by a passkey, so a message like this one cannot open it: that would make the passkey pointless.".to_owned(),
                "Sign in with your passkey or password if you still have one; else use one of your recovery codes, or ask your administrator for a recovery link.".to_owned(),
            ],
            action: Some(("Use a recovery code".to_owned(), recover.clone())),
            footer: ignore,
        },
        Content::Invitation { link } => Letter {
            subject: format!("You are invited to {app}"),
            heading: format!("Set up your {app} account"),
            paragraphs: vec![
                "An administrator created an account for you. Open the link to choose how you will sign in. It works once, within 7 days.".to_owned(),
            ],
            action: Some(("Set up my account".to_owned(), link.clone())),
            footer: "If you did not expect this, you can ignore this message.".to_owned(),
        },
        Content::OrgInvitation { link, org, inviter } => Letter {
            subject: format!("You are invited to join {} on {app}", untrusted(org, 60)),
            heading: format!("Join {} on {app}", untrusted(org, 60)),
            paragraphs: vec![
                format!(
                    "{} invited you to the organization {} in {app}. Open the link to accept: you sign in, or set up an account for this address if you have none. It works once, within 7 days.",
                    untrusted(inviter, 80),
                    untrusted(org, 60)
                ),
            ],
            action: Some(("Accept the invitation".to_owned(), link.clone())),
            footer: "If you did not expect this, you can ignore this message.".to_owned(),
        },
        Content::Enrolment { link } => Letter {
            subject: format!("Add a passkey to your {app} account"),
            heading: "Add a passkey".to_owned(),
            paragraphs: vec![
                "Your account needs a passkey. Sign in with your password, then open this link to create one. It works once, within 24 hours.".to_owned(),
            ],
            action: Some(("Add a passkey".to_owned(), link.clone())),
            footer: "If you did not expect this, tell your administrator.".to_owned(),
        },
        Content::Notice {
            notice,
            account_link,
        } => {
            let (subject, what) = match notice {
                // N10: what a user (or an attacker) typed is quoted as
                // data, cut short, after our own sentence, never as words
                // of ours.
                Notice::PasskeyAdded { name } => (
                    "A passkey was added to your account".to_owned(),
                    format!(
                        "A passkey was added to your {app} account. Name given to it when it was added: {}",
                        untrusted(name, 40)
                    ),
                ),
                Notice::PasskeyRemoved { name } => (
                    "A passkey was removed from your account".to_owned(),
                    format!(
                        "A passkey was removed from your {app} account. Its name: {}",
                        untrusted(name, 40)
                    ),
                ),
                Notice::PasswordChanged => (
                    "Your password was changed".to_owned(),
                    format!("The password of your {app} account was changed."),
                ),
                Notice::RecoveryCodesReplaced => (
                    "New recovery codes were created".to_owned(),
                    format!("New recovery codes were created for your {app} account; the old ones no longer work."),
                ),
                Notice::Deactivated => (
                    "Your account was deactivated".to_owned(),
                    format!("Your {app} account was deactivated: it can no longer sign in. Its sessions and tokens have ended."),
                ),
                Notice::TokenReplayed { client } => (
                    "We signed an application out of your account".to_owned(),
                    format!("A sign-in token of {client} was used twice, which can mean it was copied. As a precaution, that application was signed out of your {app} account."),
                ),
                Notice::UpstreamLinked {
                    provider,
                    upstream_email,
                } => (
                    format!("Your account can now sign in through {}", untrusted(provider, 40)),
                    format!(
                        "An account at {} was linked to your {app} account: it can now sign in with it. The upstream account's address: {}",
                        untrusted(provider, 40),
                        untrusted(upstream_email.as_deref().unwrap_or("none given"), 80)
                    ),
                ),
                Notice::UpstreamUnlinked { provider } => (
                    format!("{} was unlinked from your account", untrusted(provider, 40)),
                    format!(
                        "Your {app} account can no longer sign in through {}.",
                        untrusted(provider, 40)
                    ),
                ),
                Notice::NewDevice { browser, address } => (
                    "New sign-in to your account".to_owned(),
                    format!(
                        "Your {app} account was signed in to from a browser it had not used before, from the address {}. The browser described itself (unverified) as: {}",
                        untrusted(address, 45),
                        untrusted(browser, 80)
                    ),
                ),
            };
            Letter {
                subject: format!("{app}: {subject}"),
                heading: subject,
                paragraphs: vec![
                    what,
                    "If this was you, there is nothing to do. If it was not, review your account now, and recover it if you cannot sign in.".to_owned(),
                ],
                action: Some(("Review my account".to_owned(), account_link.clone())),
                footer: "You receive this message because something changed on your account.".to_owned(),
            }
        }
        Content::Test => Letter {
            subject: format!("{app}: test message"),
            heading: "It works".to_owned(),
            paragraphs: vec!["1Auth can send e-mail with this configuration.".to_owned()],
            action: None,
            footer: "Sent by `oneauth email test`.".to_owned(),
        },
    }
}

fn as_text(letter: &Letter) -> String {
    let mut text = format!("{}\n\n", letter.heading);
    for paragraph in &letter.paragraphs {
        text.push_str(paragraph);
        text.push_str("\n\n");
    }
    if let Some((label, link)) = &letter.action {
        text.push_str(&format!("{label}:\n{link}\n\n"));
    }
    text.push_str(&letter.footer);
    text.push('\n');
    text
}

fn as_html(app: &str, colour: &str, letter: &Letter) -> String {
    let mut body = String::new();
    for paragraph in &letter.paragraphs {
        body.push_str(&format!(
            r#"<p style="margin:0 0 16px;font-size:15px;line-height:22px;color:#334155">{}</p>"#,
            escape(paragraph)
        ));
    }
    if let Some((label, link)) = &letter.action {
        let link = escape(link);
        body.push_str(&format!(
            r#"<p style="margin:24px 0"><a href="{link}" style="display:inline-block;padding:10px 18px;border-radius:6px;background:{colour};color:#ffffff;font-weight:600;font-size:15px;text-decoration:none">{label}</a></p><p style="margin:0 0 16px;font-size:13px;line-height:20px;color:#64748b">Or paste this link into your browser:<br><a href="{link}" style="color:{colour};word-break:break-all">{link}</a></p>"#,
            label = escape(label),
        ));
    }
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{subject}</title></head><body style="margin:0;padding:0;background:#f1f5f9;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"><table role="presentation" width="100%" cellspacing="0" cellpadding="0" style="padding:32px 12px"><tr><td align="center"><table role="presentation" width="100%" cellspacing="0" cellpadding="0" style="max-width:520px;background:#ffffff;border-radius:10px;border-top:4px solid {colour}"><tr><td style="padding:28px 32px"><p style="margin:0 0 20px;font-size:13px;font-weight:600;letter-spacing:.02em;color:{colour}">{app}</p><h1 style="margin:0 0 16px;font-size:20px;line-height:28px;color:#0f172a">{heading}</h1>{body}<p style="margin:24px 0 0;font-size:12px;line-height:18px;color:#94a3b8">{footer}</p></td></tr></table></td></tr></table></body></html>"#,
        subject = escape(&letter.subject),
        app = escape(app),
        heading = escape(&letter.heading),
        footer = escape(&letter.footer),
    )
}

/// Text someone else chose (a passkey's name, a browser's user agent), as
/// it may appear in a message from us (N10): in quotes, on one line, at
/// most `max` characters, with nothing a mail reader would turn into a
/// link or a line of its own.
fn untrusted(text: &str, max: usize) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(['\u{201c}', '\u{201d}', '"'], "'")
        // "://" and "www." are what mail readers turn into links.
        .replace("://", ":/\u{2060}/")
        .replace("www.", "www\u{2060}.");
    let shown: String = cleaned.chars().take(max).collect();
    let cut = if cleaned.chars().count() > max {
        "\u{2026}"
    } else {
        ""
    };
    format!("\u{201c}{shown}{cut}\u{201d}")
}

/// HTML text and attribute escaping.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(name: &str, colour: &str) -> app::Model {
        let now = chrono::Utc::now();
        app::Model {
            id: crate::types::AppId::parse("demo").unwrap(),
            name: name.to_owned(),
            brand_color: colour.to_owned(),
            builtin: false,
            self_registration: false,
            password_enabled: true,
            passkey_enabled: true,
            disabled_at: None,
            session_idle_secs: 0,
            session_absolute_secs: 0,
            access_token_ttl_secs: 0,
            refresh_idle_secs: 0,
            refresh_absolute_secs: 0,
            refresh_grace_secs: 0,
            require_pkce: true,
            api_audiences: "[]".to_owned(),
            email_sender_name: None,
            email_reply_to: None,
            require_verified_email: false,
            required_provider_id: None,
            notify_new_device: false,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn names_typed_by_people_are_escaped_in_html() {
        let rendered = render(
            &app("<script>alert(1)</script> & Co", "#0f766e"),
            &Content::Notice {
                notice: Notice::PasskeyAdded {
                    name: "\"><img src=x>".to_owned(),
                },
                account_link: "https://auth.example.com/a/demo/account".to_owned(),
            },
        );
        assert!(!rendered.html.contains("<script>"));
        assert!(!rendered.html.contains("<img"));
        assert!(rendered.html.contains("&lt;script&gt;"));
        assert!(rendered.html.contains("#0f766e"));
        assert!(
            rendered.text.contains("\u{201c}'><img src=x>\u{201d}"),
            "plain text is plain, the name quoted as data: {}",
            rendered.text
        );
    }

    #[test]
    fn n10_text_someone_else_chose_is_quoted_cut_short_and_not_a_link() {
        let shown = untrusted(
            "Key\n\nCall +1 555 0100 now or visit https://evil.example and www.evil.example too",
            40,
        );
        assert!(
            shown.starts_with('\u{201c}') && shown.ends_with("\u{2026}\u{201d}"),
            "{shown}"
        );
        assert!(!shown.contains('\n'), "{shown}");
        assert!(!shown.contains("https://"), "{shown}");
        assert_eq!(shown.chars().count(), 40 + 3, "{shown}");
        assert_eq!(
            untrusted("Chrome \"137\"", 80),
            "\u{201c}Chrome '137'\u{201d}"
        );
    }

    #[test]
    fn a_colour_that_is_not_one_falls_back() {
        let rendered = render(&app("Demo", "red;background:url(x)"), &Content::Test);
        assert!(!rendered.html.contains("url(x)"));
        assert!(rendered.html.contains(DEFAULT_COLOUR));
    }

    #[test]
    fn the_link_is_in_both_parts() {
        let link = "https://auth.example.com/a/demo/recover?token=abc";
        let rendered = render(
            &app("Demo", "#4f46e5"),
            &Content::Recovery {
                link: link.to_owned(),
                requested: true,
            },
        );
        assert!(rendered.text.contains(link));
        assert!(rendered.html.contains(link));
        assert_eq!(rendered.subject, "Recover your Demo account");
    }
}
