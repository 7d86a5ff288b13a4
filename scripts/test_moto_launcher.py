"""Tests for the SQS corrections in moto_launcher.py.

The tests call moto's SQS backend in this process, with no server and no network.
Each test fails on unpatched moto 5.2.5.

Run: .local-aws/venv/bin/python -m unittest discover -s scripts -p 'test_*.py'
"""

import json
import os
import unittest
from unittest import mock

from moto.core import DEFAULT_ACCOUNT_ID
from moto.sqs.exceptions import InvalidAttributeValue
from moto.sqs.models import sqs_backends

import moto_launcher

REGION = "us-east-1"
QUEUE_NAME = "orders"

# json.dumps output with default separators, because moto re-serializes a stored
# Policy with json.dumps and returns that string.
SEND_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "sqs:SendMessage",
                "Resource": "arn:aws:sqs:us-east-1:123456789012:orders",
            }
        ],
    }
)
RECEIVE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "sqs:ReceiveMessage",
                "Resource": "arn:aws:sqs:us-east-1:123456789012:orders",
            }
        ],
    }
)
BY_QUEUE_ALLOW_POLICY = (
    '{"redrivePermission":"byQueue",'
    '"sourceQueueArns":["arn:aws:sqs:us-east-1:123456789012:orders"]}'
)
DENY_ALL_ALLOW_POLICY = '{"redrivePermission":"denyAll"}'


def setUpModule() -> None:
    # moto builds boto3 sessions that read AWS_PROFILE and the AWS config files,
    # so the caller's AWS settings are hidden from these tests.
    environment = mock.patch.dict(os.environ)
    environment.start()
    unittest.addModuleCleanup(environment.stop)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull

    moto_launcher.apply_sqs_corrections()


class BackendTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.backend = sqs_backends[DEFAULT_ACCOUNT_ID][REGION]
        self.backend.reset()
        self.addCleanup(self.backend.reset)

    def get_attribute(self, name: str) -> dict:
        return self.backend.get_queue_attributes(QUEUE_NAME, [name])

    def get_all_attributes(self) -> dict:
        return self.backend.get_queue_attributes(QUEUE_NAME, ["All"])


class PolicyCorrectionTest(BackendTestCase):
    def test_other_attribute_keeps_policy(self) -> None:
        self.backend.create_queue(QUEUE_NAME, Policy=SEND_POLICY)

        self.backend.set_queue_attributes(QUEUE_NAME, {"VisibilityTimeout": "45"})

        self.assertEqual(self.get_attribute("Policy"), {"Policy": SEND_POLICY})
        self.assertEqual(self.get_attribute("VisibilityTimeout"), {"VisibilityTimeout": 45})

    def test_new_queue_policy_set_later_is_kept(self) -> None:
        self.backend.create_queue(QUEUE_NAME)
        self.assertEqual(self.get_attribute("Policy"), {})
        self.assertIsNone(self.get_all_attributes()["Policy"])

        self.backend.set_queue_attributes(QUEUE_NAME, {"Policy": SEND_POLICY})
        self.backend.set_queue_attributes(QUEUE_NAME, {"DelaySeconds": "5"})

        self.assertEqual(self.get_attribute("Policy"), {"Policy": SEND_POLICY})

    def test_policy_replaced_then_kept(self) -> None:
        self.backend.create_queue(QUEUE_NAME, Policy=SEND_POLICY)

        self.backend.set_queue_attributes(QUEUE_NAME, {"Policy": RECEIVE_POLICY})
        self.assertEqual(self.get_attribute("Policy"), {"Policy": RECEIVE_POLICY})

        self.backend.set_queue_attributes(QUEUE_NAME, {"MessageRetentionPeriod": "600"})
        self.assertEqual(self.get_attribute("Policy"), {"Policy": RECEIVE_POLICY})

    def test_empty_policy_removes_kept_policy(self) -> None:
        self.backend.create_queue(QUEUE_NAME, Policy=SEND_POLICY)
        self.backend.set_queue_attributes(QUEUE_NAME, {"VisibilityTimeout": "45"})
        self.assertEqual(self.get_attribute("Policy"), {"Policy": SEND_POLICY})

        self.backend.set_queue_attributes(QUEUE_NAME, {"Policy": ""})
        self.assertEqual(self.get_attribute("Policy"), {})

        self.backend.set_queue_attributes(QUEUE_NAME, {"VisibilityTimeout": "50"})
        self.assertEqual(self.get_attribute("Policy"), {})
        self.assertIsNone(self.get_all_attributes()["Policy"])


class RedriveAllowPolicyCorrectionTest(BackendTestCase):
    def test_unset_value_not_returned(self) -> None:
        self.backend.create_queue(QUEUE_NAME)

        self.assertEqual(self.get_attribute("RedriveAllowPolicy"), {})
        self.assertIsNone(self.get_all_attributes()["RedriveAllowPolicy"])

    def test_create_queue_round_trip(self) -> None:
        self.backend.create_queue(QUEUE_NAME, RedriveAllowPolicy=BY_QUEUE_ALLOW_POLICY)

        self.assertEqual(
            self.get_attribute("RedriveAllowPolicy"),
            {"RedriveAllowPolicy": BY_QUEUE_ALLOW_POLICY},
        )
        self.assertEqual(
            self.get_all_attributes()["RedriveAllowPolicy"], BY_QUEUE_ALLOW_POLICY
        )

    def test_set_queue_attributes_round_trip(self) -> None:
        self.backend.create_queue(QUEUE_NAME)

        self.backend.set_queue_attributes(
            QUEUE_NAME, {"RedriveAllowPolicy": BY_QUEUE_ALLOW_POLICY}
        )
        self.assertEqual(
            self.get_attribute("RedriveAllowPolicy"),
            {"RedriveAllowPolicy": BY_QUEUE_ALLOW_POLICY},
        )

        self.backend.set_queue_attributes(
            QUEUE_NAME, {"RedriveAllowPolicy": DENY_ALL_ALLOW_POLICY}
        )
        self.assertEqual(
            self.get_attribute("RedriveAllowPolicy"),
            {"RedriveAllowPolicy": DENY_ALL_ALLOW_POLICY},
        )

    def test_other_attribute_keeps_value(self) -> None:
        self.backend.create_queue(QUEUE_NAME, RedriveAllowPolicy=BY_QUEUE_ALLOW_POLICY)

        self.backend.set_queue_attributes(QUEUE_NAME, {"VisibilityTimeout": "45"})

        self.assertEqual(
            self.get_attribute("RedriveAllowPolicy"),
            {"RedriveAllowPolicy": BY_QUEUE_ALLOW_POLICY},
        )

    def test_empty_string_removes_value(self) -> None:
        self.backend.create_queue(QUEUE_NAME, RedriveAllowPolicy=BY_QUEUE_ALLOW_POLICY)

        self.backend.set_queue_attributes(QUEUE_NAME, {"RedriveAllowPolicy": ""})

        self.assertEqual(self.get_attribute("RedriveAllowPolicy"), {})
        self.assertIsNone(self.get_all_attributes()["RedriveAllowPolicy"])

    def test_create_queue_is_idempotent(self) -> None:
        first = self.backend.create_queue(
            QUEUE_NAME, RedriveAllowPolicy=BY_QUEUE_ALLOW_POLICY
        )
        second = self.backend.create_queue(
            QUEUE_NAME, RedriveAllowPolicy=BY_QUEUE_ALLOW_POLICY
        )

        self.assertIs(first, second)
        self.assertEqual(
            self.get_attribute("RedriveAllowPolicy"),
            {"RedriveAllowPolicy": BY_QUEUE_ALLOW_POLICY},
        )

    def test_invalid_json_is_rejected(self) -> None:
        self.backend.create_queue(QUEUE_NAME, RedriveAllowPolicy=DENY_ALL_ALLOW_POLICY)

        for value in ("not json", '["denyAll"]'):
            with self.subTest(value=value):
                with self.assertRaises(InvalidAttributeValue):
                    self.backend.set_queue_attributes(
                        QUEUE_NAME, {"RedriveAllowPolicy": value}
                    )
                self.assertEqual(
                    self.get_attribute("RedriveAllowPolicy"),
                    {"RedriveAllowPolicy": DENY_ALL_ALLOW_POLICY},
                )


class KmsCorrectionTest(BackendTestCase):
    def test_set_kms_key_turns_off_sse_sqs(self) -> None:
        self.backend.create_queue(QUEUE_NAME)
        self.assertEqual(
            self.get_attribute("SqsManagedSseEnabled"), {"SqsManagedSseEnabled": "true"}
        )

        self.backend.set_queue_attributes(
            QUEUE_NAME, {"KmsMasterKeyId": "alias/orders-key"}
        )

        self.assertEqual(
            self.get_attribute("SqsManagedSseEnabled"), {"SqsManagedSseEnabled": "false"}
        )
        self.assertEqual(
            self.get_attribute("KmsMasterKeyId"), {"KmsMasterKeyId": "alias/orders-key"}
        )

    def test_create_with_kms_key_turns_off_sse_sqs(self) -> None:
        self.backend.create_queue(QUEUE_NAME, KmsMasterKeyId="alias/orders-key")

        attributes = self.get_all_attributes()
        self.assertEqual(attributes["SqsManagedSseEnabled"], "false")
        self.assertEqual(attributes["KmsMasterKeyId"], "alias/orders-key")
        self.assertEqual(attributes["KmsDataKeyReusePeriodSeconds"], 300)

    def test_switch_back_to_sse_sqs(self) -> None:
        self.backend.create_queue(QUEUE_NAME, KmsMasterKeyId="alias/orders-key")
        self.assertEqual(
            self.get_attribute("SqsManagedSseEnabled"), {"SqsManagedSseEnabled": "false"}
        )

        self.backend.set_queue_attributes(
            QUEUE_NAME, {"KmsMasterKeyId": "", "SqsManagedSseEnabled": "true"}
        )

        self.assertEqual(
            self.get_attribute("SqsManagedSseEnabled"), {"SqsManagedSseEnabled": "true"}
        )
        self.assertEqual(self.get_attribute("KmsMasterKeyId"), {})


if __name__ == "__main__":
    unittest.main()
