//! Deliveries to people: in-app notifications, e-mail over SMTP, SMS through a provider trait.
//! (Being built: issue 11.)

pub mod sms;
