variable "region" {
  description = "AWS region of the estate."
  type        = string
  default     = "eu-west-1"
}

variable "oncall_topic_name" {
  description = "Name of the estate's existing on-call SNS topic."
  type        = string
  default     = "oncall-alerts"
}

variable "platform_key_alias" {
  description = "Alias of the estate's customer managed KMS key."
  type        = string
  default     = "alias/platform"
}

variable "artifact_bucket" {
  description = "Bucket where the estate's pipeline publishes Lambda zips."
  type        = string
  default     = "payments-artifacts"
}

variable "release" {
  description = "Release folder of the Lambda zips in the artifact bucket."
  type        = string
  default     = "v0.1.0"
}

variable "estate_tags" {
  description = "Tags every resource of the estate carries."
  type        = map(string)
  default = {
    Team        = "payments"
    Environment = "staging"
    CostCenter  = "cc-1234"
  }
}
