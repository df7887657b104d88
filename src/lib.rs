//! sealpki: the service and command-line program around the `sealpki-pki` library.
//!
//! `app` wires the running authority; the areas hold what it does: `ca` (hierarchy, issuance,
//! ceremony, rollover, revocation status), `signing`, `accounts` (people, sessions, organisations,
//! the policy), `workflow`, `files`, `jobs` and `notify`; `store` holds all SQL; `audit` the
//! hash-chained log. `cli`, `http` and `web` are the three thin front ends.
#![forbid(unsafe_code)]

pub mod access;
pub mod accounts;
pub mod app;
pub mod apps;
pub mod audit;
pub mod ca;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod failpoint;
pub mod files;
pub mod http;
pub mod jobs;
pub mod limits;
pub mod metrics;
pub mod notify;
pub mod paging;
pub mod payments;
pub mod public;
pub mod seals;
pub mod signing;
pub mod store;
pub mod tsaclient;
pub mod web;
pub mod workflow;
