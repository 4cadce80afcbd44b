//! webex-hitl: lets an AI support engine ask human specialists for input in Webex.
//!
//! The crate is one daemon plus the tools around it. Each external system has one
//! module that owns its types and its error enum:
//! - [`webex`]: the Webex REST API, device registration and the Mercury websocket;
//! - [`api`]: the HTTP+JSON API on a Unix socket that the AI engine and the CLI use;
//! - [`sim`]: a faithful Webex simulator for tests, the demo and engine developers;
//! - [`mcp`]: the same API as Model Context Protocol tools, for MCP-capable agents.
//!
//! [`daemon`] wires them together under one shutdown token.

pub mod api;
pub mod backoff;
pub mod bench;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod dispatch;
pub mod doctor;
pub mod escalation;
pub mod leader;
pub mod logging;
pub mod mcp;
pub mod metrics;
pub mod model;
pub mod rotate;
pub mod secret;
pub mod signals;
pub mod sim;
pub mod spaces;
pub mod store;
pub mod systemd;
pub mod webex;
