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
//! [`Publisher`] sends single events and batches to a queue and counts its requests in a
//! [`requests::RequestCounts`].
//!
//! TODO: publishing to topics, the automatic batcher with a linger, and the consumer loop (long
//! polling, graceful shutdown) that uses `deletes`, `heartbeat` and `fifo` do not exist yet.

pub mod backoff;
pub mod batch;
pub mod deletes;
pub mod envelope;
pub mod fifo;
pub mod heartbeat;
pub mod idempotency;
pub mod publisher;
pub mod requests;

pub use envelope::{Envelope, Event};
pub use publisher::{BatchOutcome, PublishError, Publisher};
