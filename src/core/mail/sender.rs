//! Delivering the outbox over SMTP (lettre). Every `oneauth serve` process
//! with SMTP configured runs one sender: it claims due messages with a
//! lease, sends each, and marks it sent, retried later (exponential
//! back-off) or, after the last attempt or a permanent refusal, failed
//! (`email.failed`).

use std::time::Duration as StdDuration;

use chrono::Duration;
use lettre::message::header::{self, ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use super::MailError;
use super::outbox;
use crate::core::db::Db;
use crate::entities::email_outbox;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain connection, upgraded with STARTTLS (required, never skipped).
    StartTls,
    /// TLS from the first byte (SMTPS).
    Tls,
    /// No encryption: only for a relay on the same host or a test server.
    None,
}

impl Security {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "starttls" => Some(Security::StartTls),
            "tls" => Some(Security::Tls),
            "none" => Some(Security::None),
            _ => None,
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Security::StartTls => 587,
            Security::Tls => 465,
            Security::None => 25,
        }
    }
}

/// Where and how to send.
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: Option<String>,
    pub password: Option<SecretString>,
    /// The address messages come from (the app's name is its display name).
    pub from: Address,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .finish()
    }
}

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Attempts before a message is given up on.
    pub max_attempts: i32,
    /// The wait after the first failed attempt; it doubles with each.
    pub first_retry: Duration,
    /// How long a claimed message is held; longer than any one attempt.
    pub lease: Duration,
    /// How often the outbox is looked at.
    pub poll: StdDuration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            first_retry: Duration::seconds(30),
            lease: Duration::seconds(120),
            poll: StdDuration::from_secs(2),
        }
    }
}

/// One SMTP command may take this long...
const COMMAND_TIMEOUT: StdDuration = StdDuration::from_secs(20);
/// ...and one whole attempt this long, well within the lease.
const SEND_TIMEOUT: StdDuration = StdDuration::from_secs(60);
/// Messages claimed at a time.
const BATCH: u64 = 20;

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted, with the server's answer.
    Sent(String),
    /// Failed; another attempt is due later.
    Retrying(String),
    /// Failed for good.
    Failed(String),
}

#[derive(Clone)]
pub struct Sender {
    db: Db,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Address,
    policy: Policy,
}

impl Sender {
    pub fn new(db: Db, config: &SmtpConfig, policy: Policy) -> Result<Self, MailError> {
        let tls = |host: &str| {
            TlsParameters::new(host.to_owned()).map_err(|err| MailError::Config(err.to_string()))
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .timeout(Some(COMMAND_TIMEOUT))
            .tls(match config.security {
                Security::StartTls => Tls::Required(tls(&config.host)?),
                Security::Tls => Tls::Wrapper(tls(&config.host)?),
                Security::None => Tls::None,
            });
        if let Some(user) = &config.user {
            let password = config
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Self {
            db,
            transport: builder.build(),
            from: config.from.clone(),
            policy,
        })
    }

    /// Send the due messages, each claimed just before its attempt (so a
    /// slow server cannot outlast the leases of messages still waiting);
    /// how many were attempted. One message's trouble does not stop the rest.
    pub async fn deliver_due(&self) -> Result<usize, MailError> {
        self.deliver_due_unless(&|| false).await
    }

    /// The same, claiming no further message once `stopping` says so (the
    /// one being sent is finished and recorded).
    async fn deliver_due_unless(
        &self,
        stopping: &(dyn Fn() -> bool + Sync),
    ) -> Result<usize, MailError> {
        let mut attempted = 0;
        for id in outbox::due(&self.db, BATCH).await? {
            if stopping() {
                break;
            }
            match outbox::claim(&self.db, &id, self.policy.lease, self.policy.first_retry).await {
                Ok(Some(claimed)) => {
                    attempted += 1;
                    if let Err(err) = self.deliver(&claimed).await {
                        tracing::warn!(id = %id, %err, "recording an e-mail attempt failed");
                    }
                }
                // Another sender took it.
                Ok(None) => {}
                Err(err) => tracing::warn!(id = %id, %err, "claiming an e-mail failed"),
            }
        }
        Ok(attempted)
    }

    /// Claim message `id` now (due or not) and send it.
    pub async fn deliver_now(&self, id: &str) -> Result<Option<Delivery>, MailError> {
        match outbox::claim(&self.db, id, self.policy.lease, self.policy.first_retry).await? {
            Some(claimed) => Ok(Some(self.deliver(&claimed).await?)),
            None => Ok(None),
        }
    }

    /// The lease and first back-off a claim takes under this policy.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Send a claimed message and record how it went (a failure is retried
    /// later, until the last attempt).
    pub async fn deliver(&self, claimed: &outbox::Claimed) -> Result<Delivery, MailError> {
        self.attempt(claimed, true).await
    }

    /// Send a claimed message once: a failure gives it up at once (the
    /// person running `oneauth email test` wants this attempt's answer, and
    /// one attempt is recorded as one).
    pub async fn deliver_once(&self, claimed: &outbox::Claimed) -> Result<Delivery, MailError> {
        self.attempt(claimed, false).await
    }

    async fn attempt(&self, claimed: &outbox::Claimed, retry: bool) -> Result<Delivery, MailError> {
        let row = &claimed.row;
        if row.expires_at.is_some_and(|at| at <= self.db.now()) {
            let reason = "Not sent: the link it carries expired before it could be delivered.";
            outbox::give_up(&self.db, claimed, reason, None).await?;
            return Ok(Delivery::Failed(reason.to_owned()));
        }
        if row.attempts > self.policy.max_attempts {
            // Its earlier attempts never finished (the sender died each time).
            let reason = format!("Given up after {} attempts.", self.policy.max_attempts);
            outbox::give_up(&self.db, claimed, &reason, None).await?;
            return Ok(Delivery::Failed(reason));
        }
        let outcome = match self.message(row) {
            Ok(message) => {
                match tokio::time::timeout(SEND_TIMEOUT, self.transport.send(message)).await {
                    Ok(sent) => sent.map_err(Failure::from),
                    Err(_) => Err(Failure {
                        text: format!(
                            "The SMTP server did not finish within {} s.",
                            SEND_TIMEOUT.as_secs()
                        ),
                        response: None,
                        permanent: false,
                    }),
                }
            }
            Err(err) => Err(Failure {
                text: err.to_string(),
                response: None,
                permanent: true,
            }),
        };
        match outcome {
            Ok(response) => {
                let answer = answer(&response);
                if !outbox::mark_sent(&self.db, claimed, &answer).await? {
                    tracing::warn!(id = %row.id, "e-mail sent after its lease ran out");
                }
                tracing::info!(id = %row.id, kind = %row.kind, "e-mail sent");
                crate::core::measure::mail_send("sent");
                Ok(Delivery::Sent(answer))
            }
            Err(failure)
                if !retry || failure.permanent || row.attempts >= self.policy.max_attempts =>
            {
                tracing::warn!(id = %row.id, error = %failure.text, "e-mail given up on");
                crate::core::measure::mail_send("failed");
                outbox::give_up(
                    &self.db,
                    claimed,
                    &failure.text,
                    failure.response.as_deref(),
                )
                .await?;
                Ok(Delivery::Failed(failure.text))
            }
            Err(failure) => {
                let next = self.db.now() + outbox::back_off(self.policy.first_retry, row.attempts);
                tracing::info!(id = %row.id, error = %failure.text, %next, "e-mail will be retried");
                crate::core::measure::mail_send("retry");
                outbox::retry_later(
                    &self.db,
                    claimed,
                    &failure.text,
                    failure.response.as_deref(),
                    next,
                )
                .await?;
                Ok(Delivery::Retrying(failure.text))
            }
        }
    }

    fn message(&self, row: &email_outbox::Model) -> Result<Message, MailError> {
        let bodies = outbox::open(self.db.deployment(), row)?;
        let to: Mailbox = row
            .to_address
            .parse()
            .map_err(|_| MailError::Address(row.to_address.clone()))?;
        let from = Mailbox::new(row.sender_name.clone(), self.from.clone());
        let mut builder = Message::builder()
            .from(from)
            .to(to)
            .subject(row.subject.clone())
            // The outbox id, so a message retried after a lost answer can
            // be recognised as the same one.
            .message_id(Some(format!("<{}@{}>", row.id, self.from.domain())))
            .date_now()
            .header(header::MIME_VERSION_1_0)
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".to_owned(),
            ));
        if let Some(reply_to) = row.reply_to.as_deref()
            && let Ok(reply_to) = reply_to.parse::<Mailbox>()
        {
            builder = builder.reply_to(reply_to);
        }
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(bodies.text);
        let message = match bodies.html {
            Some(html) => builder.multipart(
                MultiPart::alternative().singlepart(text).singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html),
                ),
            ),
            None => builder.singlepart(text),
        };
        message.map_err(|err| MailError::Build(err.to_string()))
    }

    /// Deliver due messages until the process ends.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        let (keep, stop) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let _never_stopped = keep;
            self.run(stop).await;
        })
    }

    /// Deliver the outbox until `stop` turns true: the message in hand is
    /// sent and recorded, no other is claimed, and the loop ends (a stopping
    /// server's mail waits in the outbox for the next sender).
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let stopping = {
            let stop = stop.clone();
            move || *stop.borrow()
        };
        while !stopping() {
            match self.deliver_due_unless(&stopping).await {
                // A full batch: more may be waiting.
                Ok(count) if count as u64 >= BATCH => continue,
                Ok(_) => {}
                Err(err) => tracing::warn!(%err, "delivering e-mail failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(self.policy.poll) => {}
                changed = stop.changed() => if changed.is_err() {
                    // Nobody can stop it any more: poll on.
                    tokio::time::sleep(self.policy.poll).await;
                },
            }
        }
        tracing::info!("the e-mail sender stopped");
    }
}

/// Why an attempt failed.
struct Failure {
    text: String,
    response: Option<String>,
    /// The server refused for good (5xx): trying again cannot help.
    permanent: bool,
}

impl From<lettre::transport::smtp::Error> for Failure {
    fn from(err: lettre::transport::smtp::Error) -> Self {
        let response = err.status().map(|code| code.to_string());
        Failure {
            permanent: err.is_permanent(),
            text: err.to_string(),
            response,
        }
    }
}

/// The server's answer as one line: "250 2.0.0 Ok: queued as ...".
fn answer(response: &lettre::transport::smtp::response::Response) -> String {
    let lines: Vec<&str> = response.message().collect();
    format!("{} {}", response.code(), lines.join(" "))
        .trim()
        .to_owned()
}
