//! sealpki: the service and command-line program around the `sealpki-pki` library.
//!
//! `app` is the running authority (storage, keys, loaded CAs, issuance with its records); `http` and
//! `cli` are its two front ends; `store` holds all SQL; `audit` the hash-chained log; `ceremony` the
//! creation of the CA hierarchy.
#![forbid(unsafe_code)]

pub mod access;
pub mod accounts;
pub mod app;
pub mod audit;
pub mod ceremony;
pub mod cli;
pub mod committer;
pub mod config;
pub mod error;
pub mod files;
pub mod http;
pub mod jobs;
pub mod limits;
pub mod metrics;
pub mod notify;
pub mod public;
pub mod rollover;
pub mod signing;
pub mod status;
pub mod store;
pub mod tsaclient;
pub mod web;
pub mod workflow;
