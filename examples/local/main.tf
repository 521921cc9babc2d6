# The real module against a local moto server (no AWS account):
#
#   python -m moto.server -H 127.0.0.1 -p 5000    # with MOTO_IAM_LOAD_MANAGED_POLICIES=true
#   terraform apply -var endpoint=http://127.0.0.1:5000
#
# Against a moto that enforces IAM (INITIAL_NO_AUTH_ACTION_COUNT, as `just e2e` and `just local`
# run it) hand the administrator's key: TF_VAR_access_key / TF_VAR_secret_key.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = var.access_key
  secret_key                  = var.secret_key
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true
  # moto answers unsupported calls with HTTP 500: fail fast instead of retrying for minutes.
  max_retries = 2

  endpoints {
    apigateway     = var.endpoint
    apigatewayv2   = var.endpoint
    cloudwatch     = var.endpoint
    cloudwatchlogs = var.endpoint
    dynamodb       = var.endpoint
    iam            = var.endpoint
    kms            = var.endpoint
    lambda         = var.endpoint
    s3             = var.endpoint
    sns            = var.endpoint
    sqs            = var.endpoint
    ssm            = var.endpoint
    sts            = var.endpoint
  }

  default_tags {
    tags = {
      Environment = "local"
    }
  }
}

module "monitoring" {
  source = "../../terraform"

  name_prefix         = var.name_prefix
  lambda_package_dir  = var.lambda_package_dir
  lambda_s3_code      = var.lambda_s3_code
  lambda_architecture = var.lambda_architecture
  alarm_emails        = ["oncall@example.com"]

  # The sample service: its metrics are published to the emulator's CloudWatch and it gets
  # every service alarm. moto cannot create composite alarms (PutCompositeAlarm answers 500):
  # locally the SLO alerts' burn-rate children exist, their composite does not (docs/e2e.md).
  services         = { checkout = {} }
  composite_alarms = false

  # A throwaway stack: destroy must be able to remove everything.
  force_destroy             = true
  table_deletion_protection = false
}
