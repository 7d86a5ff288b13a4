//! The canonical form of a policy document, which decides when two documents mean the same.

use serde_json::{Map, Value};

use super::PolicyError;

/// Rewrites a policy document into its canonical form, so that two documents with the same
/// meaning have equal canonical forms.
///
/// In the canonical form `Statement` is a list of statements sorted by their compact JSON
/// text, without duplicates. `Action`, `NotAction`, `Resource`, `NotResource`, every principal
/// type in `Principal` and `NotPrincipal`, and every condition key hold sorted lists of
/// strings without duplicates. Action names and condition keys are lowercase, `AWS` principals
/// of the form `arn:<partition>:iam::<account id>:root` become the bare account id, and
/// condition values that are JSON booleans or numbers become strings, so `true` equals
/// `"true"`. A `Condition` with no keys is dropped. Object keys are sorted
/// and all other values are kept as given.
///
/// Caveats: a root ARN of any partition becomes the same account id, which is harmless
/// because one policy applies within one partition. Only the structure that canonicalization
/// reads is checked. Other mistakes, such as an `Effect` other than `Allow` or `Deny`, pass
/// here and are left for AWS to reject when the policy is written.
///
/// # Errors
///
/// - [`PolicyError::NotAnObject`] when the document is not a JSON object.
/// - [`PolicyError::MissingStatement`] when it has no `Statement`.
/// - [`PolicyError::InvalidElement`] when a statement element has a value of the wrong type.
/// - [`PolicyError::DuplicateConditionKey`] when one condition block names a condition key
///   twice with different case.
pub fn canonical(document: &Value) -> Result<Value, PolicyError> {
    canonical_form(document, true)
}

/// Returns the canonical form with action names and condition keys in their written case,
/// for showing a document to people. Plans compare with [`canonical`].
///
/// # Errors
///
/// The same as [`canonical`].
pub fn display_form(document: &Value) -> Result<Value, PolicyError> {
    canonical_form(document, false)
}

fn canonical_form(document: &Value, fold_case: bool) -> Result<Value, PolicyError> {
    let Value::Object(fields) = document else {
        return Err(PolicyError::NotAnObject {
            found: describe(document),
        });
    };
    let statement = fields
        .get("Statement")
        .ok_or(PolicyError::MissingStatement)?;

    let statements = canonical_statements(statement, fold_case)?;

    let mut result = fields.clone();
    result.insert("Statement".to_owned(), statements);
    Ok(sort_keys(Value::Object(result)))
}

/// Returns whether two policy documents have the same meaning, that is equal
/// [`canonical`] forms.
///
/// # Errors
///
/// The first error that [`canonical`] returns for either document.
pub fn equivalent(a: &Value, b: &Value) -> Result<bool, PolicyError> {
    Ok(canonical(a)? == canonical(b)?)
}

/// Rebuilds every object in `value` with its keys in sorted order.
///
/// serde_json's `Map` sorts keys unless its `preserve_order` feature is on, so this only
/// matters if a dependency turns that feature on. Statement sorting and the pretty text rely
/// on sorted keys either way.
pub(super) fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(fields) => {
            let mut entries: Vec<(String, Value)> = fields.into_iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.cmp(b));

            let sorted = entries
                .into_iter()
                .map(|(key, value)| (key, sort_keys(value)))
                .collect();
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// Canonicalizes the `Statement` element, which is one statement or a list of them.
fn canonical_statements(statement: &Value, fold_case: bool) -> Result<Value, PolicyError> {
    let mut statements = match statement {
        Value::Object(fields) => vec![canonical_statement(fields, "Statement", fold_case)?],
        Value::Array(items) => {
            let mut statements = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                let path = format!("Statement[{index}]");
                let Value::Object(fields) = item else {
                    return Err(invalid(&path, "an object", item));
                };
                statements.push(canonical_statement(fields, &path, fold_case)?);
            }
            statements
        }
        other => {
            return Err(invalid(
                "Statement",
                "an object or a list of objects",
                other,
            ));
        }
    };

    // Sorting by the compact text orders statements by content. Keys are already sorted, so
    // equal statements have equal text and end up next to each other for `dedup`.
    statements.sort_by_cached_key(Value::to_string);
    statements.dedup();
    Ok(Value::Array(statements))
}

/// Canonicalizes one statement. `path` names it in errors.
fn canonical_statement(
    fields: &Map<String, Value>,
    path: &str,
    fold_case: bool,
) -> Result<Value, PolicyError> {
    let mut result = Map::new();

    for (name, value) in fields {
        let element_path = format!("{path}.{name}");
        let canonical_value = match name.as_str() {
            "Action" | "NotAction" => {
                let actions = string_list(value, &element_path)?;
                string_set(actions.into_iter().map(|action| fold(action, fold_case)))
            }
            "Resource" | "NotResource" => string_set(string_list(value, &element_path)?),
            "Principal" | "NotPrincipal" => canonical_principal(value, &element_path)?,
            "Condition" => {
                let condition = canonical_condition(value, &element_path, fold_case)?;
                if condition.is_empty() {
                    continue;
                }
                Value::Object(condition)
            }
            _ => value.clone(),
        };
        result.insert(name.clone(), canonical_value);
    }

    Ok(sort_keys(Value::Object(result)))
}

/// Canonicalizes a `Principal` or `NotPrincipal` value.
///
/// `"*"` stays a bare string. It is not folded into `{"AWS": ["*"]}` because the
/// documentation of `StarPrincipal` in the AWS CDK (aws-cdk-lib v2) states that some
/// services behave differently for the two.
fn canonical_principal(value: &Value, path: &str) -> Result<Value, PolicyError> {
    let expected = "\"*\" or an object of principal types";
    let principals = match value {
        Value::String(text) if text == "*" => return Ok(value.clone()),
        Value::Object(principals) => principals,
        other => return Err(invalid(path, expected, other)),
    };

    let mut result = Map::new();
    for (principal_type, ids) in principals {
        let ids = string_list(ids, &format!("{path}.{principal_type}"))?;
        let ids = if principal_type == "AWS" {
            ids.into_iter().map(account_id_of_root).collect()
        } else {
            ids
        };
        result.insert(principal_type.clone(), string_set(ids));
    }
    Ok(Value::Object(result))
}

/// Returns the account id when `principal` is `arn:<partition>:iam::<account id>:root`,
/// and `principal` unchanged otherwise.
fn account_id_of_root(principal: String) -> String {
    let account_id = principal
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once(':'))
        .filter(|(partition, _)| !partition.is_empty())
        .and_then(|(_, rest)| rest.strip_prefix("iam::"))
        .and_then(|rest| rest.strip_suffix(":root"))
        .filter(|id| id.len() == 12 && id.bytes().all(|byte| byte.is_ascii_digit()));

    match account_id {
        Some(id) => id.to_owned(),
        None => principal,
    }
}

/// Canonicalizes a `Condition` value, an object of condition operators, each an object of
/// condition keys and their values. Operators without keys are dropped.
///
/// Condition keys become lowercase because the IAM User Guide page "IAM JSON policy
/// elements: Condition" states that context key names are not case-sensitive
/// (`aws:SourceIP` equals `AWS:SourceIp`).
fn canonical_condition(
    value: &Value,
    path: &str,
    fold_case: bool,
) -> Result<Map<String, Value>, PolicyError> {
    let Value::Object(operators) = value else {
        return Err(invalid(path, "an object of condition operators", value));
    };

    let mut result = Map::new();
    for (operator, block) in operators {
        let operator_path = format!("{path}.{operator}");
        let Value::Object(keys) = block else {
            return Err(invalid(
                &operator_path,
                "an object of condition keys",
                block,
            ));
        };

        let mut canonical_keys = Map::new();
        for (key, values) in keys {
            let values = condition_values(values, &format!("{operator_path}.{key}"))?;
            let folded_key = fold(key.clone(), fold_case);
            if canonical_keys.contains_key(&folded_key) {
                return Err(PolicyError::DuplicateConditionKey {
                    path: operator_path,
                    key: key.clone(),
                });
            }
            canonical_keys.insert(folded_key, string_set(values));
        }

        // NOTE: operator names keep their case, so `StringEquals` and `stringequals` count
        // as different. The IAM User Guide states that context key names are not
        // case-sensitive but does not state whether operator names are. Writing a policy
        // with a lowercase operator to IAM and reading it back would settle it. Keeping the
        // case can only show a change that is not one, never hide a real one.
        if !canonical_keys.is_empty() {
            result.insert(operator.clone(), Value::Object(canonical_keys));
        }
    }
    Ok(result)
}

/// Reads condition values, a scalar or a list of scalars, as strings.
///
/// NOTE: this rests on IAM evaluating condition values as strings, so that `true` and
/// `"true"` match the same requests. The IAM User Guide pages read for this module write
/// condition values as strings but do not state the equivalence outright.
fn condition_values(value: &Value, path: &str) -> Result<Vec<String>, PolicyError> {
    let expected = "a string, number or boolean, or a list of them";
    let as_string = |item: &Value| match item {
        Value::String(text) => Ok(text.clone()),
        Value::Bool(flag) => Ok(flag.to_string()),
        Value::Number(number) => Ok(number.to_string()),
        other => Err(invalid(path, expected, other)),
    };

    match value {
        Value::Array(items) => items.iter().map(as_string).collect(),
        scalar => Ok(vec![as_string(scalar)?]),
    }
}

/// Reads a string or a list of strings.
fn string_list(value: &Value, path: &str) -> Result<Vec<String>, PolicyError> {
    let expected = "a string or a list of strings";
    match value {
        Value::String(text) => Ok(vec![text.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => Ok(text.clone()),
                other => Err(invalid(path, expected, other)),
            })
            .collect(),
        other => Err(invalid(path, expected, other)),
    }
}

/// Builds a JSON list of the strings, sorted and without duplicates.
fn string_set(strings: impl IntoIterator<Item = String>) -> Value {
    let mut strings: Vec<String> = strings.into_iter().collect();
    strings.sort();
    strings.dedup();
    Value::Array(strings.into_iter().map(Value::String).collect())
}

fn invalid(path: &str, expected: &'static str, found: &Value) -> PolicyError {
    PolicyError::InvalidElement {
        path: path.to_owned(),
        expected,
        found: describe(found),
    }
}

/// Describes a JSON value for an error message: its type, and the text of a short string.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(_) => "a boolean".to_owned(),
        Value::Number(_) => "a number".to_owned(),
        Value::String(text) if text.chars().count() <= 60 => format!("the string {text:?}"),
        Value::String(_) => "a string".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// Lowercases `text` when comparing, and keeps it as written when displaying.
fn fold(text: String, fold_case: bool) -> String {
    if fold_case { text.to_lowercase() } else { text }
}
