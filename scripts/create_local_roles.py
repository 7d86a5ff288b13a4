"""Create the IAM roles that environments/local.yaml names, in the local AWS emulator.

The emulator starts with no roles, and sqsform attaches each service's policy to a role that
must exist. Real accounts create these roles with the services themselves, so this script is
for the emulator only: it refuses any endpoint that is not on loopback.

Usage: create_local_roles.py ENVIRONMENT_FILE ENDPOINT
"""

import json
import sys
from urllib.parse import urlparse

import boto3
import yaml

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


EMULATOR_ACCOUNT = "123456789012"


def load_environment(environment_file):
    """Return the parsed environment file."""
    with open(environment_file, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def role_names(environment):
    """Return the service roles and the operators role an environment names."""
    roles = list((environment.get("services") or {}).values())
    if environment.get("operators_role"):
        roles.append(environment["operators_role"])
    return roles


def main(arguments):
    if len(arguments) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    environment_file, endpoint = arguments
    if urlparse(endpoint).hostname not in ("127.0.0.1", "localhost", "::1"):
        print(f"create_local_roles: endpoint {endpoint} is not on loopback", file=sys.stderr)
        return 1

    environment = load_environment(environment_file)
    # The emulator serves every request as its default account, so roles for an environment
    # of another account would be created where sqsform never looks for them.
    if not environment.get("emulator_credentials") or str(environment.get("account_id")) != EMULATOR_ACCOUNT:
        print(
            f"create_local_roles: {environment_file} is not an emulator environment "
            f"(emulator_credentials: true and account_id \"{EMULATOR_ACCOUNT}\"); nothing created",
            file=sys.stderr,
        )
        return 1

    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for role in role_names(environment):
        try:
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_POLICY)
            print(f"created role {role}", file=sys.stderr)
        except iam.exceptions.EntityAlreadyExistsException:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
