//! The certification authority: the loaded hierarchy (`hierarchy`), issuance (`issue`: prepare →
//! record the intent → sign → record the result), the key ceremony (`ceremony`), CA key rollover
//! (`rollover`), revocation and its publication — CRLs, OCSP, the TSA — (`status`), and the group
//! commit of issuance records (`committer`). Workflows and the signing service call into it, never
//! the reverse.

pub mod ceremony;
pub mod committer;
pub mod hierarchy;
pub mod issue;
pub mod rollover;
pub mod status;
