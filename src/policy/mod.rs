//! IAM policy documents: canonical form and semantic equivalence.
//!
//! Queue access policies and IAM policies reach this module as `serde_json::Value`s, either
//! from the spec or parsed with [`parse`] from the text that AWS returns. [`canonical`] rewrites
//! a document so that two documents with the same meaning become equal values, and
//! [`equivalent`] compares two documents that way. [`to_pretty`] and [`line_diff`] render the
//! canonical form for plans, and [`to_compact`] renders a document for sending to AWS.
//!
//! The canonical form ignores:
//! - the order of statements and of the values in `Action`, `NotAction`, `Resource`,
//!   `NotResource`, principal and condition value lists, and duplicates in those lists;
//! - a string versus a one-element list in those places, and `Statement` as one object versus
//!   a one-element list;
//! - the case of action names and condition keys, which IAM compares without regard to case;
//! - a bare 12-digit account id versus `arn:<partition>:iam::<id>:root` as an `AWS` principal;
//! - a condition value written as a JSON boolean or number versus its string form.
//!
//! Everything else counts, including `Version`, `Id`, `Sid`, `Effect`, resource ARNs (compared
//! with case), condition operator names and condition values.
//!
//! ```
//! use serde_json::json;
//! use sqsform::policy;
//!
//! let desired = json!({
//!     "Version": "2012-10-17",
//!     "Statement": {"Effect": "Allow", "Principal": {"AWS": "111122223333"},
//!                   "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:eu-west-1:111122223333:orders"}
//! });
//! let live = policy::parse(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
//!     "Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":["sqs:sendmessage"],
//!     "Resource":"arn:aws:sqs:eu-west-1:111122223333:orders"}]}"#)?;
//! assert!(policy::equivalent(&desired, &live)?);
//! # Ok::<(), policy::PolicyError>(())
//! ```

mod canonical;
pub mod generate;
mod text;

#[cfg(test)]
mod tests;

pub use canonical::{canonical, display_form, equivalent};
pub use text::{line_diff, parse, to_compact, to_pretty};

/// Errors from parsing a policy text or reading the structure of a policy document.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PolicyError {
    /// The policy text is not valid JSON. The message is serde_json's, with line and column.
    #[error("invalid policy JSON: {message}")]
    InvalidJson { message: String },

    /// The policy text starts with `%`, so it is taken as URL-encoded, but it does not decode
    /// to UTF-8 text.
    #[error("invalid URL-encoded policy text: {reason}")]
    InvalidUrlEncoding { reason: String },

    /// The document is a JSON value other than an object.
    #[error("invalid policy document: expected a JSON object, found {found}")]
    NotAnObject { found: String },

    /// The document has no `Statement` element.
    #[error("invalid policy document: the Statement element is missing")]
    MissingStatement,

    /// An element has a value of a type that the policy grammar does not allow there.
    /// `path` names the element, for example `Statement[1].Action`.
    #[error("invalid {path}: expected {expected}, found {found}")]
    InvalidElement {
        path: String,
        expected: &'static str,
        found: String,
    },

    /// One condition block names the same condition key twice, spelled with different case.
    /// IAM compares condition keys without regard to case, so both entries constrain one key
    /// and cannot be merged into one value list without changing the meaning.
    #[error(
        "duplicate condition key {key:?} in {path}: condition keys are not case-sensitive, \
         so merge the two entries into one"
    )]
    DuplicateConditionKey { path: String, key: String },
}
