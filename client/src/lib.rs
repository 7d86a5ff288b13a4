//! sqsform-client: publish and consume events on the queues and topics sqsform provisions.
//!
//! The crate does not depend on the provisioner. Its core is
//! plain logic, tested without AWS:
//!
//! - [`envelope`]: the JSON envelope `{eventType, eventId, timestamp, data}` and the [`Event`]
//!   trait that names an event type and, for FIFO queues, its message group;
//! - [`batch`]: packing messages into SendMessageBatch requests by count and by bytes;
//! - [`backoff`]: the visibility delay before a failed message is received again;
//! - [`idempotency`]: the store that makes a duplicate delivery of a handled event a no-op;
//! - [`deletes`]: pending deletes of handled messages, flushed by count or after a delay;
//! - [`heartbeat`]: visibility extensions for long handlers, cut at the 12-hour limit;
//! - [`fifo`]: one message per FIFO group at a time, in order, with groups in parallel.
//!
//! On top of the core:
//!
//! - [`Publisher`] sends single events and batches to a queue (SendMessage, SendMessageBatch)
//!   or a topic (Publish, PublishBatch);
//! - [`Batcher`] collects single sends into batches, sent when full or after a short linger;
//! - [`Consumer`] long-polls a queue and runs a [`Handler`] on each event with bounded
//!   concurrency, batched deletes, retry backoff, dead-lettering of undecodable messages,
//!   FIFO group order, heartbeats and graceful shutdown.
//!
//! Each counts its requests by operation in a [`requests::RequestCounts`].

pub mod backoff;
pub mod batch;
pub mod batcher;
pub mod consumer;
pub mod deletes;
pub mod envelope;
mod errors;
pub mod fifo;
pub mod heartbeat;
pub mod idempotency;
pub mod publisher;
pub mod requests;

pub use batcher::{Batcher, BatcherError};
pub use consumer::{Consumer, Delivery, Handler, HandlerError};
pub use envelope::{Envelope, Event};
pub use publisher::{BatchOutcome, PreparedMessage, PublishError, Publisher};
