//! Policy documents as text: parsing what AWS returns, and rendering for AWS and for plans.

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use super::PolicyError;
use super::canonical::{display_form, sort_keys};

/// Lines of unchanged text shown around each change by [`line_diff`].
const DIFF_CONTEXT_LINES: usize = 3;

/// Parses a policy text, as AWS returns it, into a JSON value.
///
/// Text that starts with `%` is URL-decoded first, because the IAM API Reference states that
/// GetPolicyVersion returns documents URL-encoded (RFC 3986), and JSON text cannot start
/// with `%`. This only parses JSON, and [`super::canonical()`] checks the structure of the document.
///
/// # Errors
///
/// [`PolicyError::InvalidJson`] with serde_json's message when the text is not JSON, and
/// [`PolicyError::InvalidUrlEncoding`] when URL-encoded text does not decode.
pub fn parse(text: &str) -> Result<Value, PolicyError> {
    let trimmed = text.trim_start();
    let decoded = if trimmed.starts_with('%') {
        Some(url_decode(trimmed)?)
    } else {
        None
    };
    let json = decoded.as_deref().unwrap_or(text);

    serde_json::from_str(json).map_err(|error| PolicyError::InvalidJson {
        message: error.to_string(),
    })
}

/// Renders a document for plans: canonical, but in its written case, as pretty JSON with
/// a 2-space indent and sorted
/// keys, stable across runs, for line diffs in plans.
///
/// A document that [`super::canonical()`] rejects is rendered as given, with sorted keys, so that a
/// plan can still show it. The text has no trailing newline.
pub fn to_pretty(document: &Value) -> String {
    let rendered = display_form(document).unwrap_or_else(|_| sort_keys(document.clone()));
    format!("{rendered:#}")
}

/// Renders a document as compact JSON, as given, for sending to AWS.
pub fn to_compact(document: &Value) -> String {
    document.to_string()
}

/// Renders a unified line diff from the [`to_pretty`] text of `before` to that of `after`.
///
/// Each hunk starts with a header such as `@@ -3,7 +3,7 @@` and shows 3 lines of context
/// around its changes. Every line ends with a newline and starts with `- ` when removed,
/// `+ ` when added, or two spaces when unchanged. Equivalent documents give an empty string.
pub fn line_diff(before: &Value, after: &Value) -> String {
    // The display form keeps the written case, which IAM ignores in action names and
    // condition keys, so equivalence decides whether there is anything to show.
    if super::equivalent(before, after).unwrap_or(false) {
        return String::new();
    }
    let before_text = to_pretty(before) + "\n";
    let after_text = to_pretty(after) + "\n";
    let diff = TextDiff::from_lines(&before_text, &after_text);

    let mut output = String::new();
    for hunk in diff
        .unified_diff()
        .context_radius(DIFF_CONTEXT_LINES)
        .iter_hunks()
    {
        output.push_str(&hunk.header().to_string());
        output.push('\n');
        for change in hunk.iter_changes() {
            let prefix = match change.tag() {
                ChangeTag::Delete => "- ",
                ChangeTag::Insert => "+ ",
                ChangeTag::Equal => "  ",
            };
            output.push_str(prefix);
            output.push_str(change.value().trim_end_matches('\n'));
            output.push('\n');
        }
    }
    output
}

/// Decodes `%XX` escapes (RFC 3986 percent-encoding). Other bytes pass through unchanged.
fn url_decode(text: &str) -> Result<String, PolicyError> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());

    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] != b'%' {
            decoded.push(bytes[index]);
            index += 1;
            continue;
        }
        // Both digits are checked first because `from_str_radix` also accepts a leading `+`.
        let escape = bytes
            .get(index + 1..index + 3)
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        let Some(byte) = escape else {
            return Err(PolicyError::InvalidUrlEncoding {
                reason: format!("the % at byte {index} is not followed by two hex digits"),
            });
        };
        decoded.push(byte);
        index += 3;
    }

    String::from_utf8(decoded).map_err(|_| PolicyError::InvalidUrlEncoding {
        reason: "the decoded bytes are not UTF-8".to_owned(),
    })
}
