//! A real SMTP server for the tests: Python's aiosmtpd on loopback
//! (`tests/support/smtp_sink.py`, installed by `scripts/setup.sh`), which
//! writes each message it accepts as a JSON file the tests read.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One message the server accepted.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Mail {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    pub text: Option<String>,
    pub html: Option<String>,
}

impl Mail {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(&name.to_lowercase())
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }

    pub fn subject(&self) -> &str {
        self.header("subject")
    }

    pub fn text(&self) -> &str {
        self.text.as_deref().expect("a plain-text part")
    }

    /// The first link of the plain-text part that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        self.text()
            .split_whitespace()
            .find(|word| word.starts_with(prefix))
            .unwrap_or_else(|| panic!("no link starting {prefix} in:\n{}", self.text()))
            .to_owned()
    }
}

/// The interpreter with aiosmtpd: `ONEAUTH_TEST_PYTHON`, else the venv
/// `scripts/setup.sh` makes.
fn python() -> String {
    std::env::var("ONEAUTH_TEST_PYTHON").unwrap_or_else(|_| {
        format!(
            "{}/.cache/oneauth-venv/bin/python",
            std::env::var("HOME").unwrap_or_default()
        )
    })
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl SmtpSink {
    /// A server on a port the system chose for it, accepting.
    pub async fn start() -> Self {
        let mut sink = Self {
            port: 0,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        sink.resume().await;
        sink
    }

    /// A port nothing listens on yet (the mail server is down).
    pub fn stopped() -> Self {
        Self {
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            child: None,
        }
    }

    /// Start (again) on the same port.
    pub async fn resume(&mut self) {
        assert!(self.child.is_none(), "the sink is running already");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_sink.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(self.port.to_string())
            .arg(self.dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|err| {
                panic!(
                    "start the SMTP sink with {} (run scripts/setup.sh): {err}",
                    python()
                )
            });
        // "ready PORT" once it listens (on the port it was given, or the
        // one the system chose for port 0).
        let stdout = child.stdout.take().expect("the sink's stdout is piped");
        self.child = Some(child);
        let ready = tokio::time::timeout(
            Duration::from_secs(10),
            tokio::task::spawn_blocking(move || {
                let mut line = String::new();
                std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
                    .map(|_| line)
            }),
        )
        .await;
        let line = match ready {
            Ok(Ok(Ok(line))) => line,
            _ => panic!("the SMTP sink did not start on port {}", self.port),
        };
        self.port = line
            .trim()
            .strip_prefix("ready ")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("the SMTP sink did not start: {line:?}"));
    }

    /// Take the server down (connections are refused).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `smtp://` URL of this server, without TLS (loopback).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?security=none", self.port)
    }

    /// Every message accepted so far, in order.
    pub fn messages(&self) -> Vec<Mail> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|path| serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap())
            .collect()
    }

    /// Wait (up to 20 s) until at least `count` messages arrived.
    pub async fn wait_for(&self, count: usize) -> Vec<Mail> {
        for _ in 0..400 {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {count} messages, the SMTP server got {}",
            self.messages().len()
        );
    }

    /// The one message to `to`, once it arrived.
    pub async fn wait_for_mail_to(&self, to: &str) -> Mail {
        for _ in 0..400 {
            let mut found: Vec<Mail> = self
                .messages()
                .into_iter()
                .filter(|m| m.rcpt_tos.iter().any(|r| r == to))
                .collect();
            if let Some(mail) = found.pop() {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no message to {to} arrived");
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}
