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
  description = "ARN of the customer managed KMS key for the topics the module creates (its policy must let cloudwatch.amazonaws.com use kms:GenerateDataKey* and kms:Decrypt). Ignored for topics handed in."
  type        = string
  default     = null
  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:[a-z-]+:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "topic_arn" {
  description = "ARN of an existing SNS topic to use instead of creating one."
  type        = string
  default     = null
  validation {
    condition     = var.topic_arn == null || can(regex("^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.topic_arn))
    error_message = "topic_arn must be an SNS topic ARN."
  }
}

variable "alarm_emails" {
  description = "Email addresses subscribed to the notification topic (the runbook executor's message per state change; each must confirm the subscription)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alarm_emails must all be email addresses."
  }
}

variable "notification_topic_arn" {
  description = "ARN of an existing SNS topic for the runbook executor's messages (and its on-failure records), where alarm_emails subscribe, instead of creating <name_prefix>-notifications. In the stack's account; unencrypted or encrypted with the stack's KMS key (the executor's role may use only that one). The alarm topic's ARN here gives one topic for both: its subscribers get CloudWatch's and the executor's message."
  type        = string
  default     = null
  validation {
    condition     = var.notification_topic_arn == null || can(regex("^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.notification_topic_arn))
    error_message = "notification_topic_arn must be an SNS topic ARN."
  }
}

variable "alarm_email_messages" {
  description = "What alarm_emails receive per alarm state change: \"enriched\" (the runbook executor's message, or CloudWatch's own forwarded by it when it could not act) or \"both\" (CloudWatch's notification from the alarm topic as well)."
  type        = string
  default     = "enriched"
  validation {
    condition     = contains(["enriched", "both"], var.alarm_email_messages)
    error_message = "alarm_email_messages must be \"enriched\" or \"both\"."
  }
}
