//! PAdES baseline levels (ETSI EN 319 142-1): what each adds after the signature itself.

use clap::ValueEnum;

use crate::error::AppError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
pub enum Level {
    /// The signature alone.
    #[value(name = "b-b")]
    #[serde(rename = "b-b")]
    BB,
    /// Plus a signature timestamp.
    #[value(name = "b-t")]
    #[serde(rename = "b-t")]
    BT,
    /// B-T plus a DSS with the certificates and OCSP answers or CRLs of the signer's and the TSA's
    /// chains.
    #[value(name = "b-lt")]
    #[serde(rename = "b-lt")]
    BLt,
    /// B-LT plus a document timestamp over everything.
    #[value(name = "b-lta")]
    #[serde(rename = "b-lta")]
    BLta,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::BB => "b-b",
            Level::BT => "b-t",
            Level::BLt => "b-lt",
            Level::BLta => "b-lta",
        }
    }

    /// Levels past B-B need a time-stamping authority.
    pub fn needs_tsa(self) -> bool {
        self != Level::BB
    }

    /// B-LT and B-LTA append validation data (a DSS).
    pub fn has_dss(self) -> bool {
        matches!(self, Level::BLt | Level::BLta)
    }

    /// `b-b`, `b-t`, `b-lt` or `b-lta` (as HTTP bodies name them).
    pub fn parse(s: &str) -> Result<Level, AppError> {
        <Level as ValueEnum>::from_str(s, false)
            .map_err(|_| AppError::BadRequest(format!("level {s:?}: use b-b, b-t, b-lt or b-lta")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_by_their_names_only() {
        for l in [Level::BB, Level::BT, Level::BLt, Level::BLta] {
            assert_eq!(Level::parse(l.name()).unwrap(), l);
        }
        assert!(Level::parse("B-T").is_err());
        assert!(Level::parse("b-c").is_err());
        assert!(!Level::BB.needs_tsa() && Level::BT.needs_tsa() && !Level::BT.has_dss());
        assert!(Level::BLt.has_dss() && Level::BLta.has_dss());
    }
}
