//! The Mercury device websocket: how Webex pushes events to a registered device.
//!
//! Split as twilight-gateway splits a gateway connection:
//! - [`frame`] decodes server frames into [`event::Event`]s and encodes client frames;
//! - [`machine`] is the I/O-free connection state machine (authorize, ready,
//!   heartbeat, close-code classification, backoff);
//! - [`transport`] opens the socket (directly or through an HTTPS proxy);
//! - [`connection`] drives the machine over a real socket, forever, until shutdown.

pub mod backoff;
pub mod connection;
pub mod event;
pub mod frame;
pub mod link;
pub mod machine;
pub mod transport;

pub use event::{ActivityMeta, Event, PersonRef, RoomRef};
