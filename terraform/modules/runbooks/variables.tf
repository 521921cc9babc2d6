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
  description = "ARN of the customer managed KMS key that encrypts the runbook parameters."
  type        = string
  validation {
    condition     = can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "topic_arn" {
  description = "ARN of the alarm topic the executor subscribes to."
  type        = string
  validation {
    condition     = can(regex("^arn:[a-z-]+:sns:", var.topic_arn))
    error_message = "topic_arn must be an ARN of the sns service."
  }
}

variable "runbook_executor_function_arn" {
  description = "ARN of the runbook executor function."
  type        = string
  validation {
    condition     = can(regex("^arn:[a-z-]+:lambda:", var.runbook_executor_function_arn))
    error_message = "runbook_executor_function_arn must be an ARN of the lambda service."
  }
}
