"""Tests for the SQS and IAM corrections in moto_launcher.py.

The tests call moto's SQS and IAM backends in this process, with no server and no
network. Each test fails on unpatched moto 5.2.5, except the IAM tests that check
that a policy without conflicts still deletes and a missing one is still not found.

Run: .local-aws/venv/bin/python -m unittest discover -s scripts -p 'test_*.py'
"""

import json
import os
import unittest
from unittest import mock

from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.exceptions import DeleteConflictException, NotFoundException
from moto.iam.models import iam_backends
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

IAM_PARTITION = "aws"
POLICY_NAME = "orders-producer"
SEND_IDENTITY_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": "arn:aws:sqs:us-east-1:123456789012:orders",
            }
        ],
    }
)
RECEIVE_IDENTITY_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sqs:ReceiveMessage",
                "Resource": "arn:aws:sqs:us-east-1:123456789012:orders",
            }
        ],
    }
)
TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


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
    moto_launcher.apply_iam_corrections()


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


class IamDeletePolicyCorrectionTest(unittest.TestCase):
    def setUp(self) -> None:
        self.backend = iam_backends[DEFAULT_ACCOUNT_ID][IAM_PARTITION]
        self.backend.reset()
        self.addCleanup(self.backend.reset)
        self.arn = self.backend.create_policy(
            description="",
            path="/sqsform/",
            policy_document=SEND_IDENTITY_POLICY,
            policy_name=POLICY_NAME,
            tags=[],
        ).arn

    def create_role(self, name: str) -> None:
        self.backend.create_role(
            role_name=name,
            assume_role_policy_document=TRUST_POLICY,
            path="/",
            permissions_boundary=None,
            description="",
            tags=[],
            max_session_duration=None,
        )

    def assert_delete_conflict(self, message: str) -> None:
        with self.assertRaises(DeleteConflictException) as raised:
            self.backend.delete_policy(self.arn)
        self.assertEqual(raised.exception.code, "DeleteConflict")
        self.assertEqual(raised.exception.message, message)
        self.assertEqual(self.backend.get_policy(self.arn).arn, self.arn)

    def test_attached_role_blocks_delete(self) -> None:
        self.create_role("orders-role")
        self.backend.attach_role_policy(self.arn, "orders-role")

        self.assert_delete_conflict(moto_launcher.ATTACHED_POLICY_MESSAGE)

        role = self.backend.get_role("orders-role")
        self.assertIn(self.arn, role.managed_policies)

    def test_attached_user_blocks_delete(self) -> None:
        self.backend.create_user(REGION, "orders-user")
        self.backend.attach_user_policy(self.arn, "orders-user")

        self.assert_delete_conflict(moto_launcher.ATTACHED_POLICY_MESSAGE)

    def test_attached_group_blocks_delete(self) -> None:
        self.backend.create_group("orders-group")
        self.backend.attach_group_policy(self.arn, "orders-group")

        self.assert_delete_conflict(moto_launcher.ATTACHED_POLICY_MESSAGE)

    def test_non_default_version_blocks_delete(self) -> None:
        self.backend.create_policy_version(
            self.arn, RECEIVE_IDENTITY_POLICY, set_as_default=True
        )

        self.assert_delete_conflict(moto_launcher.POLICY_VERSIONS_MESSAGE)

        versions = self.backend.list_policy_versions(self.arn)
        self.assertEqual([version.version_id for version in versions], ["v1", "v2"])

    def test_attachment_reported_before_versions(self) -> None:
        self.create_role("orders-role")
        self.backend.attach_role_policy(self.arn, "orders-role")
        self.backend.create_policy_version(
            self.arn, RECEIVE_IDENTITY_POLICY, set_as_default=True
        )

        self.assert_delete_conflict(moto_launcher.ATTACHED_POLICY_MESSAGE)

    def test_deletes_after_detach_and_version_delete(self) -> None:
        self.create_role("orders-role")
        self.backend.attach_role_policy(self.arn, "orders-role")
        self.backend.create_policy_version(
            self.arn, RECEIVE_IDENTITY_POLICY, set_as_default=True
        )

        self.backend.detach_role_policy(self.arn, "orders-role")
        self.backend.delete_policy_version(self.arn, "v1")
        self.backend.delete_policy(self.arn)

        with self.assertRaises(NotFoundException):
            self.backend.get_policy(self.arn)

    def test_repeated_attach_then_detach_deletes(self) -> None:
        # moto counts the second attach again, so attachment_count stays 1 after the
        # detach although no role has the policy attached.
        self.create_role("orders-role")
        self.backend.attach_role_policy(self.arn, "orders-role")
        self.backend.attach_role_policy(self.arn, "orders-role")
        self.backend.detach_role_policy(self.arn, "orders-role")
        self.assertEqual(self.backend.get_policy(self.arn).attachment_count, 1)

        self.backend.delete_policy(self.arn)

        with self.assertRaises(NotFoundException):
            self.backend.get_policy(self.arn)

    def test_missing_policy_is_not_found(self) -> None:
        missing = self.arn.replace(POLICY_NAME, "never-created")

        with self.assertRaises(NotFoundException) as raised:
            self.backend.delete_policy(missing)

        self.assertEqual(raised.exception.code, "NoSuchEntity")


if __name__ == "__main__":
    unittest.main()
