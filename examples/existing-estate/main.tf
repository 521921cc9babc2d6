# The module embedded in an estate that already has an on-call topic, a platform KMS key,
# an artifact bucket for Lambda code, naming and tagging conventions, and IAM-signed clients.
# The topic's policy must let cloudwatch.amazonaws.com publish; the module only writes a
# topic policy for a topic it creates.

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
  region = var.region

  default_tags {
    tags = var.estate_tags
  }
}

# Resources the estate already has, looked up by name.
data "aws_sns_topic" "oncall" {
  name = var.oncall_topic_name
}

data "aws_kms_alias" "platform" {
  name = var.platform_key_alias
}

module "monitoring" {
  source = "../../terraform"

  name_prefix   = "payments-mon"
  sns_topic_arn = data.aws_sns_topic.oncall.arn
  # The key policy must admit cloudwatch.amazonaws.com and logs.<region>.amazonaws.com
  # (see the module README).
  kms_key_arn = data.aws_kms_alias.platform.target_key_arn
  tags        = var.estate_tags

  # Code published by the estate's pipeline instead of local zips.
  lambda_s3_code = {
    for name in ["log-processor", "metrics-api", "runbook-executor"] : name => {
      bucket = var.artifact_bucket
      key    = "monitoring/${var.release}/arm64/${name}.zip"
    }
  }

  # The topic already has its own subscribers (the estate's paging tool). Handed in as the
  # notification topic too, it gets the runbook executor's messages besides CloudWatch's: one
  # topic for both (docs/design.md, topic layout). Without this line the module would create
  # its own notification topic and these subscribers would get CloudWatch's notifications only.
  notification_sns_topic_arn = data.aws_sns_topic.oncall.arn
  alarm_emails               = []

  # The estate's account already has API Gateway's CloudWatch role set in this region
  # (one setting per account and region): leave it alone.
  manage_api_gateway_account_role = false

  # The estate's clients sign reads too (SigV4) instead of sending an API key; writes are
  # SigV4 by default.
  api_read_auth = "iam"
}

# The estate's own resources can use the module's outputs, e.g. a WAF association.
output "api_stage_arn" {
  description = "Stage to associate with the estate's web ACL."
  value       = module.monitoring.api_stage_arn
}

output "api_url" {
  description = "Base URL of the metrics API."
  value       = module.monitoring.api_url
}

output "api_invoke_resource" {
  description = "Grant execute-api:Invoke on this to the estate's signing clients (api_read_auth and api_write_auth = \"iam\")."
  value       = "${module.monitoring.api_execution_arn}/*"
}
