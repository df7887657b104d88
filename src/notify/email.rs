//! E-mail over SMTP (lettre's blocking client): one connection per message, TLS by rustls.
//!
//! Errors name the kind of failure and the SMTP reply code, never the addresses, the text or the
//! server's reply text (which often quotes the recipient). The password comes from a file or
//! `SEALPKI_SMTP_PASSWORD` and is never logged.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};
use sealpki_pki::Secret;

use crate::config::{SmtpConfig, SmtpTls};

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("no SMTP server configured ([smtp] host and from)")]
    NotConfigured,
    #[error("SMTP configuration: {0}")]
    Config(String),
    #[error("the recipient address is not a valid e-mail address")]
    BadAddress,
    /// May pass: connection refused, timeout, 4xx reply.
    #[error("SMTP delivery failed, will retry: {0}")]
    Transient(String),
    /// Will not pass by retrying: 5xx reply.
    #[error("SMTP server refused the message: {0}")]
    Permanent(String),
}

impl EmailError {
    pub fn is_transient(&self) -> bool {
        matches!(self, EmailError::Transient(_) | EmailError::NotConfigured)
    }
}

/// A configured sender.
pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
}

impl Mailer {
    pub fn from_config(c: &SmtpConfig) -> Result<Mailer, EmailError> {
        let from: Mailbox = c
            .from
            .parse()
            .map_err(|_| EmailError::Config("[smtp] from is not an e-mail address".into()))?;
        let builder = match c.tls {
            SmtpTls::None => SmtpTransport::builder_dangerous(&c.host),
            SmtpTls::Starttls => SmtpTransport::starttls_relay(&c.host)
                .map_err(|e| EmailError::Config(format!("STARTTLS to {}: {e}", c.host)))?,
            SmtpTls::Tls => SmtpTransport::relay(&c.host)
                .map_err(|e| EmailError::Config(format!("TLS to {}: {e}", c.host)))?,
        };
        let port = c.port.unwrap_or(match c.tls {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        });
        let mut builder = builder
            .port(port)
            .timeout(Some(Duration::from_secs(c.timeout_seconds.max(1))));
        if let Some(user) = &c.username {
            let password = match Secret::from_env("SEALPKI_SMTP_PASSWORD") {
                Some(p) => p,
                None => {
                    let f = c.password_file.as_ref().ok_or_else(|| {
                        EmailError::Config(
                            "[smtp] username needs password_file or SEALPKI_SMTP_PASSWORD".into(),
                        )
                    })?;
                    Secret::from_file(f).map_err(|e| {
                        EmailError::Config(format!("password file {}: {}", f.display(), e.kind()))
                    })?
                }
            };
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose().to_string(),
            ));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }

    /// Send one plain-text message. `message_id` (the job id) makes repeats recognisable. Blocking:
    /// run it off the async executor.
    pub fn send(
        &self,
        message_id: &str,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<(), EmailError> {
        let to: Mailbox = to.parse().map_err(|_| EmailError::BadAddress)?;
        let domain = self.from.email.domain().to_string();
        let msg = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<{message_id}@{domain}>")))
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| EmailError::Permanent(format!("building the message: {e}")))?;
        self.transport.send(&msg).map(|_| ()).map_err(classify)
    }
}

/// Our words for lettre's error: the reply code, not the reply text.
fn classify(e: lettre::transport::smtp::Error) -> EmailError {
    let code = e
        .status()
        .map(|c| format!(" (reply {c})"))
        .unwrap_or_default();
    if e.is_permanent() {
        EmailError::Permanent(format!("permanent SMTP error{code}"))
    } else if e.is_transient() {
        EmailError::Transient(format!("transient SMTP error{code}"))
    } else if e.is_timeout() {
        EmailError::Transient("timed out".into())
    } else if e.is_tls() {
        EmailError::Transient("TLS failure".into())
    } else {
        // Connection and protocol errors: lettre's text here is about the connection
        // ("Connection refused"), with no message content in it.
        let why = std::error::Error::source(&e)
            .map(|s| s.to_string())
            .unwrap_or_else(|| e.to_string());
        EmailError::Transient(format!("connection: {why}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_configuration_and_addresses() {
        let mut c = SmtpConfig {
            host: "127.0.0.1".into(),
            port: Some(1),
            from: "not an address".into(),
            tls: SmtpTls::None,
            username: None,
            password_file: None,
            timeout_seconds: 1,
        };
        assert!(matches!(
            Mailer::from_config(&c),
            Err(EmailError::Config(_))
        ));
        c.from = "sealpki <pki@example.com>".into();
        c.username = Some("u".into());
        assert!(matches!(
            Mailer::from_config(&c),
            Err(EmailError::Config(_))
        ));
        c.username = None;
        let m = Mailer::from_config(&c).expect("mailer");
        assert!(matches!(
            m.send("id", "nobody", "s", "b"),
            Err(EmailError::BadAddress)
        ));
        // Port 1 on loopback: refused, which is worth retrying; the error names no address.
        let e = m.send("id", "alice@example.com", "s", "b").unwrap_err();
        assert!(e.is_transient(), "{e}");
        assert!(!e.to_string().contains("alice"), "{e}");
    }
}
