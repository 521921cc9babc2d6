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

variable "services" {
  description = "The applications whose metrics are published to CloudWatch (namespace <name_prefix>/Services) and watched by the service alarms, keyed by service name; per service, `alarms` may disable an alarm or override its threshold (for slo: the availability target; for anomaly-band alarms: the band width). At most 100."
  type        = map(object({ alarms = optional(map(object({ enabled = optional(bool, true), threshold = optional(number) })), {}) }))
  default     = {}
  validation {
    condition     = alltrue([for s in keys(var.services) : can(regex("^[A-Za-z0-9._-]{1,128}$", s))])
    error_message = "services keys must be service names: 1-128 characters of A-Z a-z 0-9 . _ -."
  }
  validation {
    condition     = length(var.services) <= 100
    error_message = "services may list at most 100 services (each costs custom metrics and alarms)."
  }
  validation {
    condition     = alltrue(flatten([for s, c in var.services : [for k, v in c.alarms : contains(["error-rate", "latency-p99", "traffic-drop", "availability"], k) && coalesce(v.threshold, 0) >= 0]]))
    error_message = "services[*].alarms keys must be among the service alarms (\"error-rate\", \"latency-p99\", \"traffic-drop\", \"availability\"); thresholds >= 0."
  }
  validation {
    condition     = alltrue([for s, c in var.services : coalesce(try(c.alarms["error-rate"].threshold, null), 5) <= 100 && coalesce(try(c.alarms["traffic-drop"].threshold, null), 3) > 0 && (coalesce(try(c.alarms["availability"].threshold, null), 99.9) > 0 && coalesce(try(c.alarms["availability"].threshold, null), 99.9) < 100)])
    error_message = "services[*].alarms thresholds must be error-rate: a percentage at most 100; traffic-drop: a band width above 0; availability: an SLO target strictly between 0 and 100."
  }
}

variable "alarm_thresholds" {
  description = "Threshold of each alarm by short name (5xx rate in percent, latency in ms, errors and throttles as counts per period)."
  type        = map(number)
  default = {
    api-5xx-rate             = 5
    api-latency-p99          = 2000
    log-processor-errors     = 1
    metrics-api-errors       = 1
    runbook-executor-errors  = 1
    dynamodb-throttles       = 1
    dynamodb-index-throttles = 1
    error-rate               = 5
    latency-p99              = 1000
    traffic-drop             = 3
    availability             = 99.9
  }
  validation {
    condition     = alltrue([for k, v in var.alarm_thresholds : contains(["api-5xx-rate", "api-latency-p99", "log-processor-errors", "metrics-api-errors", "runbook-executor-errors", "dynamodb-throttles", "dynamodb-index-throttles", "error-rate", "latency-p99", "traffic-drop", "availability"], k) && v >= 0])
    error_message = "alarm_thresholds keys must be among \"api-5xx-rate\", \"api-latency-p99\", \"log-processor-errors\", \"metrics-api-errors\", \"runbook-executor-errors\", \"dynamodb-throttles\", \"dynamodb-index-throttles\", \"error-rate\", \"latency-p99\", \"traffic-drop\", \"availability\"; values >= 0."
  }
}
