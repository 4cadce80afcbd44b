//! The Mercury device websocket: how Webex pushes events to a registered device.
//!
//! Split as twilight-gateway splits a gateway connection:
//! - [`frame`] decodes server frames into [`event::Event`]s and encodes client frames;
//! - [`machine`] is the I/O-free connection state machine (authorize, ready,
//!   heartbeat, close-code classification);
//! - [`transport`] opens the socket (directly or through an HTTPS proxy);
//! - [`connection`] drives the machine over a real socket, forever, until shutdown,
//!   registering the device and pacing reconnects with the daemon's one
//!   [`Backoff`](crate::backoff::Backoff);
//! - [`link`] is what the rest of the daemon sees: events with their ack, the
//!   link's state, and the heartbeat the systemd watchdog follows;
//! - [`unfamiliar`] says once per type that one is acked and skipped.

pub mod connection;
pub mod event;
pub mod frame;
pub mod link;
pub mod machine;
pub mod transport;
pub mod unfamiliar;

pub use event::{ActivityMeta, Event, PersonRef, RoomRef};
