# Sourced by scripts/local-aws, scripts/test and scripts/demo (bash).

# Point AWS SDKs at the local emulator at endpoint $1, with dummy credentials.
# Also remove the settings that could send a request to AWS, to an instance
# metadata service or to a container credentials endpoint instead. A profile
# named in AWS_PROFILE that does not exist also breaks moto's own boto3 sessions.
export_local_aws_env() {
    export AWS_ENDPOINT_URL="$1"
    export AWS_ACCESS_KEY_ID=testing
    export AWS_SECRET_ACCESS_KEY=testing
    export AWS_REGION=us-east-1
    export AWS_EC2_METADATA_DISABLED=true
    export AWS_CONFIG_FILE=/dev/null
    export AWS_SHARED_CREDENTIALS_FILE=/dev/null

    unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE
    # AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true makes SDKs skip AWS_ENDPOINT_URL.
    unset AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
    unset AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_CREDENTIALS_RELATIVE_URI

    # Service-specific variables such as AWS_ENDPOINT_URL_SQS take precedence
    # over AWS_ENDPOINT_URL.
    local variable_name
    for variable_name in $(compgen -e); do
        case $variable_name in
        AWS_ENDPOINT_URL_*) unset "$variable_name" ;;
        esac
    done
}
