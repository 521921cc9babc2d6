variable "name_prefix" {
  description = "Prefix of every resource name (2-24 characters: lowercase letter, then lowercase letters, digits or '-')."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-24 characters: a lowercase letter, then lowercase letters, digits or '-', not ending in '-'."
  }
}

variable "api_name" {
  description = "Name of the REST API."
  type        = string
  validation {
    condition     = length(var.api_name) >= 1 && length(var.api_name) <= 1024
    error_message = "api_name must be 1-1024 characters."
  }
}

variable "api_stage_name" {
  description = "Stage of the REST API."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.api_stage_name))
    error_message = "api_stage_name must be 1-64 letters, digits, '-' or '_'."
  }
}

variable "function_names" {
  description = "Function names by function (log-processor, metrics-api, runbook-executor)."
  type        = map(string)
  validation {
    condition     = alltrue([for f in ["log-processor", "metrics-api", "runbook-executor"] : contains(keys(var.function_names), f)]) && alltrue([for n in values(var.function_names) : can(regex("^[A-Za-z0-9_-]{1,64}$", n))])
    error_message = "function_names must name each of \"log-processor\", \"metrics-api\", \"runbook-executor\" with a Lambda function name (1-64 letters, digits, '-' or '_')."
  }
}

variable "table_name" {
  description = "Name of the ApplicationMetrics table."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be a DynamoDB table name: 3-255 letters, digits, '_', '-' or '.'."
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

variable "alarm_arns" {
  description = "ARNs of the alarms shown at the top."
  type        = list(string)
  validation {
    condition     = alltrue([for a in var.alarm_arns : can(regex("^arn:[a-z-]+:cloudwatch:[a-z0-9-]+:[0-9]{12}:alarm:.+$", a))])
    error_message = "alarm_arns must be CloudWatch alarm ARNs."
  }
}
