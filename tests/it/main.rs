//! The integration tests, in one binary (as matrix-rust-sdk does): the daemon,
//! its CLI and the simulator end to end, one module per subject, sharing
//! `common`. One binary links once after a change in `src/`, where one binary
//! per file linked the whole daemon fourteen times.
//!
//! A new file here must be declared below; `tests/*.rs` would be a binary of
//! its own again.

mod common;

mod access;
mod chaos;
mod cli;
mod connection;
mod crash;
mod dm_by_email;
mod doctor;
mod escalations;
mod faults;
mod frames;
mod idempotency;
mod layers;
mod mcp;
mod metrics;
mod openapi;
mod ops;
mod outage;
mod people;
mod policies;
mod proxy;
mod python;
mod reload;
mod secrets;
mod shared_chaos;
mod shared_store;
mod shutdown;
mod sim_fidelity;
mod spaces;
mod sse;
mod systemd;
mod tls_proxy;
mod version;
