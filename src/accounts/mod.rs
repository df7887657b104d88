//! People, staff, sessions, organisations and roles. The identifier and password rules are pure
//! functions over shipped tables; the services (`session`, `register`, `orgs`) work through `App`
//! and `store` (no SQL here, no HTTP).
//!
//! - `ids` — `ResidentId` (GB 11643 resident ID number), `CreditCode` (GB 32100 unified social
//!   credit code), `Mobile` (mainland mobile number); each made only by parsing, with a typed error
//!   naming the rule that failed. Personal numbers show masked in `Debug` and `Display`.
//! - `region` — the GB/T 2260 region table (`data/regions.tsv`) behind both identifiers.
//! - `password` — NIST SP 800-63B §5.1.1 rules (length, common passwords in
//!   `data/common-passwords.txt`, not the account's own identifiers). Hashing lives elsewhere.
//! - `totp` — RFC 6238 one-time codes (the staff second factor): secrets, verification with one step
//!   of drift and no replay, `otpauth://` URIs.
//! - `session` — login (password, throttle, the staff second factor), sessions for programs and
//!   browsers, logout, listing and ending sessions, TOTP enrolment.
//! - `register` — SMS codes, registration of people, password reset and change.
//! - `home` — each role's work queue for its home page.
//! - `staff` — administrators creating, disabling and enabling staff accounts.
//! - `policy` — `may(principal, action, resource)`: the decision for everything scoped to an
//!   organisation (platform permissions stay in `access`).
//! - `orgs` — organisations (kinds, the tree, look-up) and memberships (roles per organisation).

pub mod home;
pub mod ids;
pub mod orgs;
pub mod password;
pub mod policy;
pub mod region;
pub mod register;
pub mod session;
pub mod staff;
pub mod totp;

pub use ids::{
    CreditCode, CreditCodeError, Date, Mobile, MobileError, ResidentId, ResidentIdError, Sex,
};
pub use password::{PasswordContext, PasswordError};
pub use region::Region;

#[cfg(test)]
pub(crate) mod tests {
    /// A small deterministic generator (xorshift64*) for the property-style loops.
    pub(crate) struct Rng(u64);

    impl Rng {
        pub(crate) fn new(seed: u64) -> Rng {
            Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }

        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        pub(crate) fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        /// Up to `max` random bytes, read lossily as UTF-8 (so replacement characters appear too).
        pub(crate) fn bytes_string(&mut self, max: usize) -> String {
            let n = self.below(max as u64 + 1) as usize;
            let b: Vec<u8> = (0..n).map(|_| self.next() as u8).collect();
            String::from_utf8_lossy(&b).into_owned()
        }

        /// A string of up to `max` characters drawn mostly from the characters the parsers care
        /// about (digits, the credit-code letters, separators, '+'), with some arbitrary ones.
        pub(crate) fn string(&mut self, max: usize) -> String {
            const NEAR: &[char] = &[
                '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'X', 'x', 'A', 'H', 'I', 'O',
                'Y', 'Z', ' ', '-', '+', '\t', '１', '٣', 'ß', '中', '\u{0}', '\u{301}',
            ];
            let n = self.below(max as u64 + 1) as usize;
            (0..n)
                .map(|_| {
                    if self.below(8) == 0 {
                        char::from_u32(self.below(0x11_0000) as u32).unwrap_or('\u{FFFD}')
                    } else {
                        NEAR[self.below(NEAR.len() as u64) as usize]
                    }
                })
                .collect()
        }
    }
}
