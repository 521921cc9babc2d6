variable "endpoint" {
  description = "URL of the moto server every AWS service is sent to."
  type        = string
  default     = "http://127.0.0.1:5000"

  validation {
    condition     = can(regex("^https?://", var.endpoint))
    error_message = "endpoint must be an http(s) URL, e.g. http://127.0.0.1:5000."
  }
}

variable "access_key" {
  description = "Access key id Terraform signs with. moto accepts any key unless it enforces IAM; then it must be a key of a user allowed to create the stack (the harness makes an administrator first)."
  type        = string
  default     = "testing"
  sensitive   = true
}

variable "secret_key" {
  description = "Secret of access_key."
  type        = string
  default     = "testing"
  sensitive   = true
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "appmon-local"
}

variable "lambda_package_dir" {
  description = "Folder with manifest.json and the zips from `gen package`; null uses dist/lambda in this repository."
  type        = string
  default     = null
}

variable "lambda_s3_code" {
  description = "Functions whose code is an S3 object, as `gen publish` prints them (lambda.auto.tfvars.json); `just e2e` deploys this way, `just local` from lambda_package_dir."
  type = map(object({
    bucket           = string
    key              = string
    version          = optional(string)
    source_code_hash = optional(string)
    architecture     = optional(string)
  }))
  default = {}
}

variable "lambda_architecture" {
  description = "Architecture of the packaged zips; local runs execute the binaries on this machine, hence x86_64."
  type        = string
  default     = "x86_64"
}
