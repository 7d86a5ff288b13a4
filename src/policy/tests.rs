use serde_json::{Value, json};

use super::*;

const QUEUE_ARN: &str = "arn:aws:sqs:eu-west-1:111122223333:orders";

/// Builds a one-statement document that allows `principal` to call `action` on the queue.
fn allow(principal: Value, action: Value) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": principal,
            "Action": action,
            "Resource": QUEUE_ARN,
        }]
    })
}

/// Builds a one-statement document whose statement carries `condition`.
fn with_condition(condition: Value) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": QUEUE_ARN,
            "Condition": condition,
        }
    })
}

#[test]
fn queue_policy_reordered_is_equivalent() {
    let desired = json!({
        "Version": "2012-10-17",
        "Id": "orders-access",
        "Statement": [
            {
                "Sid": "AllowTripsTopic",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": QUEUE_ARN,
                "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:eu-west-1:111122223333:trips"}}
            },
            {
                "Sid": "AllowConsumer",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:role/consumer"},
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                "Resource": QUEUE_ARN
            }
        ]
    });
    let live = parse(
        r#"{
          "Statement": [
            {"Resource": "arn:aws:sqs:eu-west-1:111122223333:orders",
             "Action": ["sqs:DeleteMessage", "sqs:ReceiveMessage"],
             "Effect": "Allow", "Sid": "AllowConsumer",
             "Principal": {"AWS": ["arn:aws:iam::111122223333:role/consumer"]}},
            {"Condition": {"ArnEquals": {"aws:SourceArn": ["arn:aws:sns:eu-west-1:111122223333:trips"]}},
             "Action": ["sqs:SendMessage"], "Resource": ["arn:aws:sqs:eu-west-1:111122223333:orders"],
             "Principal": {"Service": "sns.amazonaws.com"}, "Sid": "AllowTripsTopic", "Effect": "Allow"}
          ],
          "Id": "orders-access",
          "Version": "2012-10-17"
        }"#,
    )
    .unwrap();

    assert_eq!(equivalent(&desired, &live), Ok(true));
    assert_eq!(canonical(&desired), canonical(&live));
}

#[test]
fn statement_object_equals_one_element_list() {
    let as_object = json!({
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": QUEUE_ARN}
    });
    let as_list = allow(json!("*"), json!("sqs:SendMessage"));

    assert_eq!(equivalent(&as_object, &as_list), Ok(true));
}

#[test]
fn duplicate_statements_and_values_ignored() {
    let statement = json!({"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": QUEUE_ARN});
    let doubled = json!({"Version": "2012-10-17", "Statement": [statement.clone(), statement]});
    let repeated_action = allow(json!("*"), json!(["sqs:SendMessage", "sqs:SendMessage"]));
    let single = allow(json!("*"), json!("sqs:SendMessage"));

    assert_eq!(equivalent(&doubled, &single), Ok(true));
    assert_eq!(equivalent(&repeated_action, &single), Ok(true));
}

#[test]
fn account_id_equals_root_arn() {
    let by_id = allow(json!({"AWS": "111122223333"}), json!("sqs:SendMessage"));
    let by_root_arn = allow(
        json!({"AWS": "arn:aws:iam::111122223333:root"}),
        json!("sqs:SendMessage"),
    );
    let by_china_root_arn = allow(
        json!({"AWS": ["arn:aws-cn:iam::111122223333:root"]}),
        json!("sqs:SendMessage"),
    );

    assert_eq!(equivalent(&by_id, &by_root_arn), Ok(true));
    assert_eq!(equivalent(&by_id, &by_china_root_arn), Ok(true));
}

#[test]
fn account_id_differs_from_other_arns() {
    let by_id = allow(json!({"AWS": "111122223333"}), json!("sqs:SendMessage"));
    let by_role = allow(
        json!({"AWS": "arn:aws:iam::111122223333:role/root"}),
        json!("sqs:SendMessage"),
    );
    let short_id_root = allow(
        json!({"AWS": "arn:aws:iam::11112222333:root"}),
        json!("sqs:SendMessage"),
    );
    let service_root = allow(
        json!({"Service": "arn:aws:iam::111122223333:root"}),
        json!("sqs:SendMessage"),
    );

    assert_eq!(equivalent(&by_id, &by_role), Ok(false));
    assert_eq!(
        canonical(&short_id_root).unwrap()["Statement"][0]["Principal"],
        json!({"AWS": ["arn:aws:iam::11112222333:root"]})
    );
    assert_eq!(
        canonical(&service_root).unwrap()["Statement"][0]["Principal"],
        json!({"Service": ["arn:aws:iam::111122223333:root"]})
    );
}

#[test]
fn different_sid_is_not_equivalent() {
    let mut first = allow(json!("*"), json!("sqs:SendMessage"));
    let mut second = first.clone();
    first["Statement"][0]["Sid"] = json!("AllowSend");
    second["Statement"][0]["Sid"] = json!("AllowSending");

    assert_eq!(equivalent(&first, &second), Ok(false));
}

#[test]
fn different_effect_is_not_equivalent() {
    let allowed = allow(json!("*"), json!("sqs:SendMessage"));
    let mut denied = allowed.clone();
    denied["Statement"][0]["Effect"] = json!("Deny");

    assert_eq!(equivalent(&allowed, &denied), Ok(false));
}

#[test]
fn different_version_is_not_equivalent() {
    let current = allow(json!("*"), json!("sqs:SendMessage"));
    let mut old = current.clone();
    old["Version"] = json!("2008-10-17");

    assert_eq!(equivalent(&current, &old), Ok(false));
}

#[test]
fn star_principal_differs_from_aws_star() {
    let star = allow(json!("*"), json!("sqs:SendMessage"));
    let aws_star = allow(json!({"AWS": "*"}), json!("sqs:SendMessage"));
    let aws_star_list = allow(json!({"AWS": ["*"]}), json!("sqs:SendMessage"));

    assert_eq!(equivalent(&star, &aws_star), Ok(false));
    assert_eq!(equivalent(&aws_star, &aws_star_list), Ok(true));
}

#[test]
fn action_names_ignore_case() {
    let mixed = allow(json!("*"), json!("sqs:SendMessage"));
    let lower = allow(json!("*"), json!("sqs:sendmessage"));
    let upper_prefix = allow(json!("*"), json!(["SQS:SENDMESSAGE"]));

    assert_eq!(equivalent(&mixed, &lower), Ok(true));
    assert_eq!(equivalent(&mixed, &upper_prefix), Ok(true));
}

#[test]
fn resource_arns_keep_case() {
    let lower = allow(json!("*"), json!("sqs:SendMessage"));
    let mut upper = lower.clone();
    upper["Statement"][0]["Resource"] = json!("arn:aws:sqs:eu-west-1:111122223333:Orders");

    assert_eq!(equivalent(&lower, &upper), Ok(false));
}

#[test]
fn condition_value_order_and_types_ignored() {
    let desired = with_condition(json!({
        "Bool": {"aws:SecureTransport": true},
        "NumericLessThanEquals": {"aws:MultiFactorAuthAge": 3600},
        "ArnLike": {"aws:SourceArn": [
            "arn:aws:sns:eu-west-1:111122223333:trips",
            "arn:aws:sns:eu-west-1:111122223333:payments"
        ]}
    }));
    let live = with_condition(json!({
        "ArnLike": {"aws:SourceArn": [
            "arn:aws:sns:eu-west-1:111122223333:payments",
            "arn:aws:sns:eu-west-1:111122223333:trips",
            "arn:aws:sns:eu-west-1:111122223333:payments"
        ]},
        "NumericLessThanEquals": {"aws:MultiFactorAuthAge": "3600"},
        "Bool": {"aws:SecureTransport": "true"}
    }));

    assert_eq!(equivalent(&desired, &live), Ok(true));
    assert_eq!(
        canonical(&desired).unwrap()["Statement"][0]["Condition"],
        json!({
            "ArnLike": {"aws:sourcearn": [
                "arn:aws:sns:eu-west-1:111122223333:payments",
                "arn:aws:sns:eu-west-1:111122223333:trips"
            ]},
            "Bool": {"aws:securetransport": ["true"]},
            "NumericLessThanEquals": {"aws:multifactorauthage": ["3600"]}
        })
    );
}

#[test]
fn condition_true_differs_from_false() {
    let secure = with_condition(json!({"Bool": {"aws:SecureTransport": true}}));
    let insecure = with_condition(json!({"Bool": {"aws:SecureTransport": "false"}}));

    assert_eq!(equivalent(&secure, &insecure), Ok(false));
}

#[test]
fn condition_keys_ignore_case() {
    let mixed = with_condition(
        json!({"ArnEquals": {"aws:SourceArn": "arn:aws:sns:eu-west-1:111122223333:trips"}}),
    );
    let upper = with_condition(
        json!({"ArnEquals": {"AWS:SOURCEARN": "arn:aws:sns:eu-west-1:111122223333:trips"}}),
    );

    assert_eq!(equivalent(&mixed, &upper), Ok(true));
}

#[test]
fn condition_operators_and_values_keep_case() {
    let original = with_condition(json!({"StringEquals": {"aws:username": "johndoe"}}));
    let lower_operator = with_condition(json!({"stringequals": {"aws:username": "johndoe"}}));
    let upper_value = with_condition(json!({"StringEquals": {"aws:username": "JohnDoe"}}));

    assert_eq!(equivalent(&original, &lower_operator), Ok(false));
    assert_eq!(equivalent(&original, &upper_value), Ok(false));
}

#[test]
fn empty_condition_equals_absent() {
    let without = allow(json!("*"), json!("sqs:SendMessage"));
    let mut empty = without.clone();
    empty["Statement"][0]["Condition"] = json!({"StringEquals": {}});

    assert_eq!(equivalent(&without, &empty), Ok(true));
}

#[test]
fn condition_key_case_duplicate_rejected() {
    let document =
        with_condition(json!({"StringEquals": {"aws:username": "a", "AWS:UserName": "b"}}));

    let error = canonical(&document).unwrap_err();

    assert_eq!(
        error,
        PolicyError::DuplicateConditionKey {
            path: "Statement.Condition.StringEquals".to_owned(),
            key: "aws:username".to_owned(),
        }
    );
    assert_eq!(
        error.to_string(),
        "duplicate condition key \"aws:username\" in Statement.Condition.StringEquals: \
         condition keys are not case-sensitive, so merge the two entries into one"
    );
}

#[test]
fn parse_invalid_json_gives_serde_message() {
    let error = parse(r#"{"Version": }"#).unwrap_err();

    assert_eq!(
        error,
        PolicyError::InvalidJson {
            message: "expected value at line 1 column 13".to_owned()
        }
    );
    assert_eq!(
        error.to_string(),
        "invalid policy JSON: expected value at line 1 column 13"
    );
}

#[test]
fn parse_decodes_url_encoded_text() {
    let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";

    assert_eq!(
        parse(encoded),
        Ok(json!({"Version": "2012-10-17", "Statement": []}))
    );
}

#[test]
fn parse_rejects_bad_url_encoding() {
    assert_eq!(
        parse("%7B%2G%7D"),
        Err(PolicyError::InvalidUrlEncoding {
            reason: "the % at byte 3 is not followed by two hex digits".to_owned()
        })
    );
    assert_eq!(
        parse("%7B%+1%7D"),
        Err(PolicyError::InvalidUrlEncoding {
            reason: "the % at byte 3 is not followed by two hex digits".to_owned()
        })
    );
    assert_eq!(
        parse("%FF"),
        Err(PolicyError::InvalidUrlEncoding {
            reason: "the decoded bytes are not UTF-8".to_owned()
        })
    );
}

#[test]
fn missing_statement_is_rejected() {
    let document = json!({"Version": "2012-10-17"});

    let error = canonical(&document).unwrap_err();

    assert_eq!(error, PolicyError::MissingStatement);
    assert_eq!(
        error.to_string(),
        "invalid policy document: the Statement element is missing"
    );
    assert_eq!(
        equivalent(&document, &document),
        Err(PolicyError::MissingStatement)
    );
}

#[test]
fn non_object_document_is_rejected() {
    let error = canonical(&json!(["Statement"])).unwrap_err();

    assert_eq!(
        error,
        PolicyError::NotAnObject {
            found: "a list".to_owned()
        }
    );
    assert_eq!(
        error.to_string(),
        "invalid policy document: expected a JSON object, found a list"
    );
}

#[test]
fn wrongly_typed_elements_are_rejected() {
    let cases = [
        (
            json!({"Statement": "allow all"}),
            "invalid Statement: expected an object or a list of objects, found the string \"allow all\"",
        ),
        (
            json!({"Statement": [{"Action": "sqs:SendMessage"}, 7]}),
            "invalid Statement[1]: expected an object, found a number",
        ),
        (
            json!({"Statement": [{"Action": "sqs:SendMessage"}, {"Action": 7}]}),
            "invalid Statement[1].Action: expected a string or a list of strings, found a number",
        ),
        (
            json!({"Statement": {"Resource": [QUEUE_ARN, null]}}),
            "invalid Statement.Resource: expected a string or a list of strings, found null",
        ),
        (
            json!({"Statement": {"Principal": "arn:aws:iam::111122223333:root"}}),
            "invalid Statement.Principal: expected \"*\" or an object of principal types, \
             found the string \"arn:aws:iam::111122223333:root\"",
        ),
        (
            json!({"Statement": {"Principal": {"AWS": {"id": "111122223333"}}}}),
            "invalid Statement.Principal.AWS: expected a string or a list of strings, found an object",
        ),
        (
            json!({"Statement": {"Condition": ["aws:SecureTransport"]}}),
            "invalid Statement.Condition: expected an object of condition operators, found a list",
        ),
        (
            json!({"Statement": {"Condition": {"Bool": "true"}}}),
            "invalid Statement.Condition.Bool: expected an object of condition keys, \
             found the string \"true\"",
        ),
        (
            json!({"Statement": {"Condition": {"Bool": {"aws:SecureTransport": [null]}}}}),
            "invalid Statement.Condition.Bool.aws:SecureTransport: expected a string, number or \
             boolean, or a list of them, found null",
        ),
    ];

    for (document, expected) in cases {
        let error = canonical(&document).unwrap_err();
        assert_eq!(error.to_string(), expected, "document: {document}");
    }
}

#[test]
fn canonical_of_small_document() {
    let document = json!({
        "Version": "2012-10-17",
        "Statement": {
            "Sid": "AllowOrders",
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::111122223333:root", "444455556666"]},
            "Action": ["SQS:SendMessage", "sqs:GetQueueAttributes"],
            "Resource": QUEUE_ARN,
            "Condition": {"Bool": {"aws:SecureTransport": true}}
        }
    });

    assert_eq!(
        canonical(&document),
        Ok(json!({
            "Statement": [{
                "Action": ["sqs:getqueueattributes", "sqs:sendmessage"],
                "Condition": {"Bool": {"aws:securetransport": ["true"]}},
                "Effect": "Allow",
                "Principal": {"AWS": ["111122223333", "444455556666"]},
                "Resource": ["arn:aws:sqs:eu-west-1:111122223333:orders"],
                "Sid": "AllowOrders"
            }],
            "Version": "2012-10-17"
        }))
    );
}

#[test]
fn pretty_text_of_small_document() {
    let document = allow(json!({"AWS": "111122223333"}), json!("sqs:SendMessage"));

    let expected = concat!(
        "{\n",
        "  \"Statement\": [\n",
        "    {\n",
        "      \"Action\": [\n",
        "        \"sqs:SendMessage\"\n",
        "      ],\n",
        "      \"Effect\": \"Allow\",\n",
        "      \"Principal\": {\n",
        "        \"AWS\": [\n",
        "          \"111122223333\"\n",
        "        ]\n",
        "      },\n",
        "      \"Resource\": [\n",
        "        \"arn:aws:sqs:eu-west-1:111122223333:orders\"\n",
        "      ]\n",
        "    }\n",
        "  ],\n",
        "  \"Version\": \"2012-10-17\"\n",
        "}",
    );
    assert_eq!(to_pretty(&document), expected);
}

#[test]
fn pretty_text_of_invalid_document_sorts_keys() {
    let document = json!({"Version": "2012-10-17", "Id": "orders"});

    assert_eq!(
        to_pretty(&document),
        "{\n  \"Id\": \"orders\",\n  \"Version\": \"2012-10-17\"\n}"
    );
}

#[test]
fn compact_text_keeps_document() {
    let document = json!({"Statement": [{"Action": "SQS:SendMessage"}], "Version": "2012-10-17"});

    assert_eq!(
        to_compact(&document),
        r#"{"Statement":[{"Action":"SQS:SendMessage"}],"Version":"2012-10-17"}"#
    );
}

#[test]
fn line_diff_of_one_changed_action() {
    let before = allow(
        json!({"AWS": "111122223333"}),
        json!(["sqs:SendMessage", "sqs:GetQueueAttributes"]),
    );
    let after = allow(
        json!({"AWS": "111122223333"}),
        json!(["sqs:ReceiveMessage", "sqs:GetQueueAttributes"]),
    );

    let expected = concat!(
        "@@ -3,7 +3,7 @@\n",
        "      {\n",
        "        \"Action\": [\n",
        "          \"sqs:GetQueueAttributes\",\n",
        "-         \"sqs:SendMessage\"\n",
        "+         \"sqs:ReceiveMessage\"\n",
        "        ],\n",
        "        \"Effect\": \"Allow\",\n",
        "        \"Principal\": {\n",
    );
    assert_eq!(line_diff(&before, &after), expected);
}

#[test]
fn line_diff_of_equivalent_documents_is_empty() {
    let before = allow(json!({"AWS": "111122223333"}), json!("sqs:SendMessage"));
    let after = allow(
        json!({"AWS": ["arn:aws:iam::111122223333:root"]}),
        json!(["sqs:sendmessage"]),
    );

    assert_eq!(line_diff(&before, &after), "");
}

/// Encodes text as IAM returns a policy document from GetPolicyVersion: RFC 3986 percent
/// encoding, with only the unreserved characters left as they are.
fn iam_url_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// Builds an identity policy with one statement from its parts.
fn identity(effect: &str, action: Value, resource: Value) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "Send", "Effect": effect, "Action": action, "Resource": resource}],
    })
}

#[test]
fn equivalence_table() {
    let send = identity("Allow", json!(["sqs:SendMessage"]), json!([QUEUE_ARN]));
    let partner = |principal: Value| allow(principal, json!("sqs:SendMessage"));
    let from_topic = |key: &str, value: Value| with_condition(json!({"ArnEquals": {key: value}}));
    let topic = "arn:aws:sns:eu-west-1:111122223333:trips";

    // The document as IAM stores it: pretty-printed by the caller, with a non-ASCII condition
    // value, then URL-encoded by GetPolicyVersion.
    let stored = with_condition(json!({"StringEquals": {"aws:PrincipalTag/team": "équipe"}}));
    let encoded = iam_url_encode(&to_pretty(&stored));
    assert!(
        encoded.starts_with("%7B%0A%20%20%22Statement%22"),
        "{encoded}"
    );
    let decoded = parse(&encoded).expect("URL-encoded document parses");
    let other_value = with_condition(json!({"StringEquals": {"aws:PrincipalTag/team": "equipe"}}));

    let rows: Vec<(&str, Value, Value, bool)> = vec![
        ("same document", send.clone(), send.clone(), true),
        (
            "action as a string",
            send.clone(),
            identity("Allow", json!("sqs:SendMessage"), json!([QUEUE_ARN])),
            true,
        ),
        (
            "resource as a string",
            send.clone(),
            identity("Allow", json!(["sqs:SendMessage"]), json!(QUEUE_ARN)),
            true,
        ),
        (
            "action case",
            send.clone(),
            identity("Allow", json!(["SQS:sendmessage"]), json!([QUEUE_ARN])),
            true,
        ),
        (
            "action order and duplicates",
            identity(
                "Allow",
                json!(["sqs:SendMessage", "sqs:GetQueueUrl"]),
                json!([QUEUE_ARN]),
            ),
            identity(
                "Allow",
                json!(["sqs:GetQueueUrl", "sqs:SendMessage", "sqs:GetQueueUrl"]),
                json!([QUEUE_ARN]),
            ),
            true,
        ),
        (
            "account id and root ARN",
            partner(json!({"AWS": "444455556666"})),
            partner(json!({"AWS": ["arn:aws:iam::444455556666:root"]})),
            true,
        ),
        (
            "condition key case",
            from_topic("aws:SourceArn", json!(topic)),
            from_topic("AWS:SOURCEARN", json!([topic])),
            true,
        ),
        (
            "URL-encoded document from IAM",
            stored.clone(),
            decoded.clone(),
            true,
        ),
        (
            "other action",
            send.clone(),
            identity("Allow", json!(["sqs:ReceiveMessage"]), json!([QUEUE_ARN])),
            false,
        ),
        (
            "extra action",
            send.clone(),
            identity(
                "Allow",
                json!(["sqs:SendMessage", "sqs:DeleteQueue"]),
                json!([QUEUE_ARN]),
            ),
            false,
        ),
        (
            "other effect",
            send.clone(),
            identity("Deny", json!(["sqs:SendMessage"]), json!([QUEUE_ARN])),
            false,
        ),
        (
            "resource case",
            send.clone(),
            identity(
                "Allow",
                json!(["sqs:SendMessage"]),
                json!([QUEUE_ARN.to_uppercase()]),
            ),
            false,
        ),
        (
            "other account",
            partner(json!({"AWS": "444455556666"})),
            partner(json!({"AWS": "444455556667"})),
            false,
        ),
        (
            "condition operator",
            from_topic("aws:SourceArn", json!(topic)),
            with_condition(json!({"ArnLike": {"aws:SourceArn": topic}})),
            false,
        ),
        (
            "URL-encoded document with another value",
            other_value,
            decoded,
            false,
        ),
    ];
    assert!(rows.len() >= 12);

    for (label, left, right, expected) in rows {
        assert_eq!(equivalent(&left, &right), Ok(expected), "{label}");
        assert_eq!(equivalent(&right, &left), Ok(expected), "{label}, reversed");
    }
}
