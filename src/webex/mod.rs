//! Everything that speaks to Webex: REST, device registration (WDM) and the
//! Mercury websocket. Nothing outside this module sees Webex's JSON.

pub mod ids;
pub mod mercury;
pub mod proxy;
pub mod rest;
pub mod tls;
pub mod token;
pub mod wdm;
