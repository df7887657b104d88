//! SMS through a provider trait, and the development provider that writes each message to a file.
//!
//! Numbers and texts are personal data (the texts carry one-time codes): they never reach logs or
//! errors. Where a number must be shown, `mask` gives `138****5678`.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// A way to send text messages to mobile numbers in mainland China.
pub trait SmsProvider: Send + Sync {
    /// The provider's name for logs and the audit ("development", …).
    fn name(&self) -> &'static str;
    /// Send `text` to the mobile number `to` (11 digits, already validated). Blocking is fine: callers
    /// run it off the async executor.
    fn send(&self, to: &str, text: &str) -> Result<(), SmsError>;
}

/// Why a message was not sent. Neither variant carries the number or the text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmsError {
    /// Worth retrying later: the provider could not be reached or was busy.
    #[error("SMS provider temporarily unavailable: {0}")]
    Transient(String),
    /// The provider refused this message; sending it again will not help.
    #[error("SMS provider rejected the message: {0}")]
    Rejected(String),
}

impl SmsError {
    /// Whether a retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, SmsError::Transient(_))
    }
}

/// `138****5678` for an 11-digit number; anything else is masked whole.
pub fn mask(number: &str) -> String {
    if number.len() == 11 && number.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}****{}", &number[..3], &number[7..])
    } else {
        "***********".to_string()
    }
}

/// The development provider's file name in the data directory.
pub const DEV_SMS_FILE: &str = "dev-sms.jsonl";

/// Whether `to` is a mainland mobile number as providers take it: 11 digits starting 1[3-9].
pub fn is_mainland_mobile(to: &str) -> bool {
    let b = to.as_bytes();
    b.len() == 11
        && b.iter().all(u8::is_ascii_digit)
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
}

/// One message the development provider sent.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevSmsMessage {
    pub to: String,
    pub text: String,
    /// Unix seconds.
    pub at: i64,
}

// Masked: these carry one-time codes, and a stray `{:?}` must not print them.
impl fmt::Debug for DevSmsMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevSmsMessage")
            .field("to", &mask(&self.to))
            .field(
                "text",
                &format_args!("<{} chars>", self.text.chars().count()),
            )
            .field("at", &self.at)
            .finish()
    }
}

/// Development provider: appends each message as one JSON line `{to, text, at}` to a file (the data
/// directory's `dev-sms.jsonl`), readable by tests and by the console's development banner.
///
/// It fails the way a real provider does: a number that is not a mainland mobile number is
/// rejected, a file that cannot be written is a transient failure, and while a file named like the
/// log with `.down` appended exists (`dev-sms.jsonl.down`) every send is a transient failure, so the
/// retry path can be exercised without a network.
pub struct DevSms {
    path: PathBuf,
    // Appends from this process are serialised so that lines never interleave.
    lock: Mutex<()>,
}

impl DevSms {
    pub fn new(path: PathBuf) -> DevSms {
        DevSms {
            path,
            lock: Mutex::new(()),
        }
    }

    /// The file the messages go to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file whose presence makes the provider "down".
    pub fn down_marker(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".down");
        PathBuf::from(p)
    }

    /// Every message recorded so far, oldest first. Unreadable lines are skipped.
    pub fn messages(&self) -> Vec<DevSmsMessage> {
        read_messages(&self.path)
    }

    /// The messages recorded for `to`, oldest first.
    pub fn messages_to(&self, to: &str) -> Vec<DevSmsMessage> {
        let mut all = self.messages();
        all.retain(|m| m.to == to);
        all
    }
}

/// Reads a development SMS file (for callers that have only the path, such as tests).
pub fn read_messages(path: &Path) -> Vec<DevSmsMessage> {
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str(&line).ok())
        .collect()
}

impl SmsProvider for DevSms {
    fn name(&self) -> &'static str {
        "development"
    }

    fn send(&self, to: &str, text: &str) -> Result<(), SmsError> {
        if !is_mainland_mobile(to) {
            return Err(SmsError::Rejected("not a mainland mobile number".into()));
        }
        if text.is_empty() || text.chars().count() > 500 {
            return Err(SmsError::Rejected(
                "text empty or longer than 500 characters".into(),
            ));
        }
        if self.down_marker().exists() {
            return Err(SmsError::Transient(
                "development provider marked down".into(),
            ));
        }
        let at = crate::app::unix(std::time::SystemTime::now());
        let msg = DevSmsMessage {
            to: to.to_string(),
            text: text.to_string(),
            at,
        };
        let mut line = serde_json::to_string(&msg)
            .map_err(|e| SmsError::Transient(format!("encoding: {e}")))?;
        line.push('\n');
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        // One write of the whole line in append mode keeps lines whole across processes too.
        let mut opts = OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let write = opts
            .open(&self.path)
            .and_then(|mut f| f.write_all(line.as_bytes()).and_then(|()| f.sync_data()));
        // The error names the I/O failure kind only: the path is ours, but keep errors short.
        write.map_err(|e| {
            SmsError::Transient(format!("writing the development SMS file: {}", e.kind()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_numbers() {
        assert_eq!(mask("13812345678"), "138****5678");
        assert_eq!(mask("123"), "***********");
        assert_eq!(mask("1381234567x"), "***********");
    }

    #[test]
    fn records_and_fails_like_a_provider() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sms = DevSms::new(dir.path().join("dev-sms.jsonl"));
        assert_eq!(sms.name(), "development");
        sms.send("13812345678", "验证码 123456").expect("send");
        sms.send("13900000000", "other").expect("send");
        let got = sms.messages_to("13812345678");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].text, "验证码 123456");
        assert!(!format!("{:?}", got[0]).contains("123456"));
        assert!(!format!("{:?}", got[0]).contains("13812345678"));
        assert!(matches!(sms.send("12345", "x"), Err(SmsError::Rejected(_))));
        assert!(matches!(
            sms.send("12812345678", "x"),
            Err(SmsError::Rejected(_))
        ));
        std::fs::write(sms.down_marker(), b"").expect("marker");
        let err = sms.send("13812345678", "again").expect_err("down");
        assert!(err.is_transient());
        assert!(!err.to_string().contains("13812345678"));
        std::fs::remove_file(sms.down_marker()).expect("rm");
        sms.send("13812345678", "again").expect("up again");
        assert_eq!(sms.messages_to("13812345678").len(), 2);
        assert_eq!(sms.messages().len(), 3);
    }
}
