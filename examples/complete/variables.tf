variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "alarm_emails" {
  description = "On-call addresses subscribed to the alarm topic."
  type        = list(string)
  default     = ["oncall@example.com"]
}

variable "lambda_package_dir" {
  description = "Folder with manifest.json and the zips from `gen package`; null uses dist/lambda in this repository."
  type        = string
  default     = null
}
