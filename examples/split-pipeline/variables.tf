variable "region" {
  description = "AWS region of the stack (and of the artifact bucket: Lambda reads code from a bucket in its own region)."
  type        = string
  default     = "eu-west-1"
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "appmon"
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed to the alarm topic."
  type        = list(string)
  default     = []
}

variable "lambda_s3_code" {
  description = "Written by `gen publish --out lambda.auto.tfvars.json` (Terraform loads *.auto.tfvars.json from the working directory): each function's zip in S3."
  type = map(object({
    bucket           = string
    key              = string
    version          = optional(string)
    source_code_hash = string
    architecture     = string
  }))

  validation {
    condition     = length(setsubtract(["log-processor", "metrics-api", "runbook-executor"], keys(var.lambda_s3_code))) == 0
    error_message = "lambda_s3_code must name log-processor, metrics-api and runbook-executor: run `gen publish --bucket <bucket> --out lambda.auto.tfvars.json` into this folder before planning."
  }
}
