"""Start moto's server on 127.0.0.1 with its SQS and IAM models corrected to match AWS.

moto 5.2.5 differs from Amazon SQS in three ways that make a correct provisioner
look wrong, because a plan made right after an apply would still show changes.
apply_sqs_corrections() patches moto.sqs.models.Queue in this process before the
server starts. moto 5.2.5 also deletes IAM policies that IAM refuses to delete,
which would hide a delete made in the wrong order, and apply_iam_corrections()
patches moto.iam.models.IAMBackend for that. moto's files on disk stay
unchanged, and every other moto behaviour is kept.

Usage: python moto_launcher.py --port 4566
"""

import argparse
import json
import logging
import sys
from typing import Any

import moto
import moto.server
from moto.iam import models as iam_models
from moto.iam.exceptions import DeleteConflictException
from moto.sqs import models as sqs_models
from moto.sqs.exceptions import InvalidAttributeValue

# The corrections wrap moto internals (Queue._set_attributes, Queue._policy_json
# and IAMBackend.delete_policy), so they are checked against this release only.
SUPPORTED_MOTO_VERSION = "5.2.5"
HOST = "127.0.0.1"

# The texts of IAM's DeleteConflict errors from DeletePolicy, as AWS SDK and CLI
# users quote them in bug reports.
ATTACHED_POLICY_MESSAGE = "Cannot delete a policy attached to entities."
POLICY_VERSIONS_MESSAGE = (
    "This policy has more than one version. Before you delete a policy, you must "
    "delete the policy's versions. The default version is deleted with the policy."
)

logger = logging.getLogger("moto_launcher")


def _require_supported_moto(corrections: str) -> None:
    if moto.__version__ != SUPPORTED_MOTO_VERSION:
        raise RuntimeError(
            f"moto {moto.__version__} is installed, but the {corrections} corrections are "
            f"written for moto {SUPPORTED_MOTO_VERSION}. "
            f"Install moto[server]=={SUPPORTED_MOTO_VERSION}."
        )


def apply_sqs_corrections() -> None:
    """Patch moto's SQS Queue model. Calling it again has no effect."""
    _require_supported_moto("SQS")

    queue_class = sqs_models.Queue
    if getattr(queue_class, "_sqsform_corrections_applied", False):
        return

    original_init = queue_class.__init__
    original_set_attributes = queue_class._set_attributes

    # Amazon SQS stores RedriveAllowPolicy and returns it from GetQueueAttributes,
    # both for "All" and by name, once it is set. moto 5.2.5 rejects the name in
    # GetQueueAttributes and never returns the value. Listing it here makes moto
    # accept the name and return the stored value. The class default None means
    # "not set", and moto leaves None out of its responses.
    queue_class.BASE_ATTRIBUTES = [*queue_class.BASE_ATTRIBUTES, "RedriveAllowPolicy"]
    queue_class.redrive_allow_policy = None

    def corrected_init(
        self: Any, name: str, region: str, account_id: str, **kwargs: Any
    ) -> None:
        # Amazon SQS creates a queue with a KmsMasterKeyId as SSE-KMS, so its
        # SqsManagedSseEnabled is false. moto's default of true applies otherwise.
        if _sets_kms_key_without_sse_flag(kwargs):
            kwargs["SqsManagedSseEnabled"] = False
        original_init(self, name, region, account_id, **kwargs)

    def corrected_set_attributes(
        self: Any, attributes: dict[str, Any], now: float | None = None
    ) -> None:
        attributes = dict(attributes)
        _normalize_redrive_allow_policy(attributes)

        # Amazon SQS changes only the attributes named in SetQueueAttributes.
        # moto 5.2.5 ends _set_attributes with `self.policy = attributes.get("Policy")`,
        # which erases the policy whenever the call leaves Policy out. Keep the
        # previous policy in that case. Policy "" still removes it, as in AWS.
        # _policy_json does not exist yet while Queue.__init__ applies the defaults,
        # and those defaults set no policy.
        previous_policy = getattr(self, "_policy_json", None)
        original_set_attributes(self, attributes, now)
        if "Policy" not in attributes and previous_policy is not None:
            self._policy_json = previous_policy

        # Amazon SQS removes the RedriveAllowPolicy when it is set to "".
        if attributes.get("RedriveAllowPolicy") == "":
            self.redrive_allow_policy = None

        # Amazon SQS uses either SSE-SQS or SSE-KMS. Setting a KmsMasterKeyId
        # switches the queue to SSE-KMS, so SqsManagedSseEnabled becomes false.
        # moto 5.2.5 leaves it true. An explicit SqsManagedSseEnabled in the
        # same call is left to moto.
        if _sets_kms_key_without_sse_flag(attributes):
            self.sqs_managed_sse_enabled = False

    queue_class.__init__ = corrected_init
    queue_class._set_attributes = corrected_set_attributes
    queue_class._sqsform_corrections_applied = True


def apply_iam_corrections() -> None:
    """Patch moto's IAM backend. Calling it again has no effect."""
    _require_supported_moto("IAM")

    backend_class = iam_models.IAMBackend
    if getattr(backend_class, "_sqsform_corrections_applied", False):
        return

    original_delete_policy = backend_class.delete_policy

    def corrected_delete_policy(self: Any, policy_arn: str) -> None:
        # IAM rejects DeletePolicy with DeleteConflict while the policy is attached
        # to a user, group or role, or while it has versions besides the default
        # one, so a caller must detach it and delete those versions first. moto
        # 5.2.5 deletes the policy anyway and leaves its attachments behind.
        # get_policy raises moto's NoSuchEntity for a missing policy, as IAM does.
        # NOTE: which of the two messages IAM returns when both conflicts apply is
        # not confirmed; the attachment check runs first here.
        policy = self.get_policy(policy_arn)
        if _is_attached(self, policy.arn):
            raise DeleteConflictException(ATTACHED_POLICY_MESSAGE)
        if len(policy.versions) > 1:
            raise DeleteConflictException(POLICY_VERSIONS_MESSAGE)
        original_delete_policy(self, policy_arn)

    backend_class.delete_policy = corrected_delete_policy
    backend_class._sqsform_corrections_applied = True


def _is_attached(backend: Any, policy_arn: str) -> bool:
    """Check whether any role, group or user of the backend has the policy attached.

    The entities are searched instead of reading ManagedPolicy.attachment_count,
    because moto 5.2.5 counts a repeated AttachRolePolicy twice.
    """
    entities = [
        *backend.roles.values(),
        *backend.groups.values(),
        *backend.users.values(),
    ]
    return any(policy_arn in entity.managed_policies for entity in entities)


def _sets_kms_key_without_sse_flag(attributes: dict[str, Any]) -> bool:
    return bool(attributes.get("KmsMasterKeyId")) and (
        "SqsManagedSseEnabled" not in attributes
    )


def _normalize_redrive_allow_policy(attributes: dict[str, Any]) -> None:
    """Store a RedriveAllowPolicy as a JSON object string, or raise InvalidAttributeValue.

    moto stores the value under Queue.redrive_allow_policy through its generic
    setattr loop. CloudFormation templates pass the policy as an object, which is
    serialized here so GetQueueAttributes returns a string as it does in AWS.
    """
    value = attributes.get("RedriveAllowPolicy")
    if value is None or value == "":
        return
    if isinstance(value, dict):
        attributes["RedriveAllowPolicy"] = json.dumps(value)
        return

    # NOTE: AWS also checks redrivePermission and sourceQueueArns. Only the JSON
    # shape is checked here, because the exact AWS rules for those fields are not
    # confirmed.
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        raise InvalidAttributeValue("RedriveAllowPolicy") from None
    if not isinstance(parsed, dict):
        raise InvalidAttributeValue("RedriveAllowPolicy")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=f"Start moto's server on {HOST} with corrected SQS and IAM behaviour."
    )
    parser.add_argument(
        "--port", type=int, required=True, help="TCP port to listen on"
    )
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    apply_sqs_corrections()
    apply_iam_corrections()
    logger.info(
        "Applied SQS and IAM corrections to moto %s. Starting the server on http://%s:%d",
        moto.__version__,
        HOST,
        args.port,
    )
    moto.server.main(["-H", HOST, "-p", str(args.port)])


if __name__ == "__main__":
    main(sys.argv[1:])
