variable "name_prefix" {
  description = "Prefix of every resource name (2-24 characters: lowercase letter, then lowercase letters, digits or '-')."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-24 characters: a lowercase letter, then lowercase letters, digits or '-', not ending in '-'."
  }
}

variable "tags" {
  description = "Tags added to every resource (merged over the module's own tags)."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for k, v in var.tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "tags keys must be 1-128 characters and not start with \"aws:\"; values at most 256 characters."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer managed KMS key that encrypts the bucket and the table."
  type        = string
  validation {
    condition     = can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "logs_bucket_name" {
  description = "Exact name of the logs bucket; null lets AWS pick a unique name starting with \"<name_prefix>-logs-\"."
  type        = string
  default     = null
  validation {
    condition     = var.logs_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.logs_bucket_name))
    error_message = "logs_bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, '.' and '-')."
  }
}

variable "logs_prefix" {
  description = "Key prefix applications write logs under; new objects below it go to the log processor (its LOGS_PREFIX), whose key names the service: <prefix><service>/... ."
  type        = string
  default     = "logs/"
  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+/$", var.logs_prefix))
    error_message = "logs_prefix must be a key prefix ending in '/', e.g. \"logs/\"."
  }
}

variable "logs_transition_days" {
  description = "Days after which log objects move to STANDARD_IA (a noncurrent version: this many days after it became noncurrent)."
  type        = number
  default     = 30
  validation {
    condition     = var.logs_transition_days >= 30
    error_message = "logs_transition_days must be at least 30 (S3's minimum for STANDARD_IA)."
  }
}

variable "logs_expiration_days" {
  description = "Days after which log objects are deleted (a noncurrent version: this many days after it became noncurrent). Delete markers left with no version are removed."
  type        = number
  default     = 365
  validation {
    condition     = var.logs_expiration_days >= 1
    error_message = "logs_expiration_days must be at least 1."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete a bucket that still holds log objects."
  type        = bool
  default     = false
}

variable "table_deletion_protection" {
  description = "Protect the ApplicationMetrics table from deletion."
  type        = bool
  default     = true
}

variable "log_processor_function_arn" {
  description = "ARN of the function that receives ObjectCreated events for the logs prefix."
  type        = string
  validation {
    condition     = can(regex("^arn:[a-z-]+:lambda:", var.log_processor_function_arn))
    error_message = "log_processor_function_arn must be an ARN of the lambda service."
  }
}
