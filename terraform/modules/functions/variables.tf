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
  description = "ARN of the customer managed KMS key that encrypts the log groups, environment variables and failure queues."
  type        = string
  validation {
    condition     = can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "architecture" {
  description = "Instruction set of the functions: arm64 or x86_64 (must match the packaged zips)."
  type        = string
  default     = "arm64"
  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "memory_mb" {
  description = "Memory of each function, in MB."
  type        = number
  default     = 256
  validation {
    condition     = var.memory_mb >= 128 && var.memory_mb <= 10240
    error_message = "memory_mb must be between 128 and 10240."
  }
}

variable "timeout_seconds" {
  description = "Timeout of the asynchronously invoked functions (log processor, runbook executor), in seconds; metrics-api has its own."
  type        = number
  default     = 30
  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 900
    error_message = "timeout_seconds must be between 1 and 900."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions by function (\"log-processor\", \"metrics-api\", \"runbook-executor\"); unlisted functions are unreserved."
  type        = map(number)
  default     = {}
  validation {
    condition     = alltrue([for k, v in var.reserved_concurrency : contains(["log-processor", "metrics-api", "runbook-executor"], k) && v >= 0])
    error_message = "reserved_concurrency keys must be among \"log-processor\", \"metrics-api\", \"runbook-executor\"; values >= 0."
  }
}

variable "metrics_api_timeout_seconds" {
  description = "Timeout of the metrics-api function, in seconds: at most 29, API Gateway's integration timeout (a slower answer would reach the client as a 504 while the function still runs)."
  type        = number
  default     = 20
  validation {
    condition     = var.metrics_api_timeout_seconds >= 1 && var.metrics_api_timeout_seconds <= 29
    error_message = "metrics_api_timeout_seconds must be between 1 and 29 (API Gateway's integration timeout)."
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

variable "published_metrics" {
  description = "Custom (EMF or POST /metrics) metric names also published to CloudWatch for the services, as distributions (at most 20)."
  type        = list(string)
  default     = []
  validation {
    condition     = length(var.published_metrics) <= 20 && alltrue([for m in var.published_metrics : can(regex("^[A-Za-z0-9._:/-]{1,255}$", m)) && !contains(["Requests", "Errors", "Latency"], m)])
    error_message = "published_metrics: at most 20 metric names (A-Z a-z 0-9 . _ : / -, up to 255 characters), none of the built-in \"Requests\", \"Errors\", \"Latency\"."
  }
}

variable "log_level" {
  description = "Level of the functions' structured JSON logs (trace, debug, info, warn, error); passed to each function as LOG_LEVEL."
  type        = string
  default     = "info"
  validation {
    condition     = contains(["trace", "debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be one of trace, debug, info, warn, error."
  }
}

variable "log_retention_days" {
  description = "Retention of the module's CloudWatch log groups, in days."
  type        = number
  default     = 30
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' retention periods: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "metric_retention_days" {
  description = "Days the metric table keeps minute items, hourly rollups and daily rollups (DynamoDB TTL); null or unset keeps them for ever. At least 16: a late write inside the 14-day acceptance window recomputes its hour and day from their children."
  type = object({
    minute = optional(number)
    hour   = optional(number)
    day    = optional(number)
  })
  default = {}
  validation {
    condition     = alltrue([for d in values(var.metric_retention_days) : d == null ? true : (d >= 16 && d <= 36500 && floor(d) == d)])
    error_message = "metric_retention_days values must be whole days between 16 and 36500, or null (for ever)."
  }
}

variable "code" {
  description = "Code of each function (\"log-processor\", \"metrics-api\", \"runbook-executor\"): a local zip (filename + source_code_hash) or an S3 object (s3_bucket + s3_key, optional s3_object_version)."
  type = map(object({
    filename          = optional(string)
    source_code_hash  = optional(string)
    s3_bucket         = optional(string)
    s3_key            = optional(string)
    s3_object_version = optional(string)
    architecture      = optional(string)
  }))
  validation {
    condition     = alltrue([for n in ["log-processor", "metrics-api", "runbook-executor"] : contains(keys(var.code), n)])
    error_message = "code must have an entry for each of \"log-processor\", \"metrics-api\", \"runbook-executor\"."
  }
  validation {
    condition     = alltrue([for c in values(var.code) : (c.filename != null) != (c.s3_bucket != null && c.s3_key != null)])
    error_message = "each code entry needs either filename or s3_bucket + s3_key, not both."
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

variable "table_arn" {
  description = "ARN of the ApplicationMetrics table."
  type        = string
  validation {
    condition     = can(regex("^arn:[a-z-]+:dynamodb:", var.table_arn))
    error_message = "table_arn must be an ARN of the dynamodb service."
  }
}

variable "logs_bucket_arn" {
  description = "ARN of the logs bucket the log processor reads."
  type        = string
  validation {
    condition     = can(regex("^arn:[a-z-]+:s3:", var.logs_bucket_arn))
    error_message = "logs_bucket_arn must be an ARN of the s3 service."
  }
}

variable "logs_prefix" {
  description = "Key prefix the log processor may read; passed to it as LOGS_PREFIX (a key <prefix><service>/... names the service of lines without one)."
  type        = string
  default     = "logs/"
  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+/$", var.logs_prefix))
    error_message = "logs_prefix must be a key prefix ending in '/', e.g. \"logs/\"."
  }
}

variable "cors_allowed_origins" {
  description = "Origins the metrics API answers CORS requests and preflights for (\"*\" for any); passed to the function as CORS_ALLOWED_ORIGINS."
  type        = list(string)
  default     = ["*"]
  validation {
    condition     = length(var.cors_allowed_origins) > 0 && alltrue([for o in var.cors_allowed_origins : o == "*" || can(regex("^https?://[^/,]+$", o))])
    error_message = "cors_allowed_origins must be \"*\" or origins like https://app.example.com."
  }
}

variable "max_body_bytes" {
  description = "Largest request body the metrics API accepts (larger gets 413); at most 4194304, so that the body, base64-encoded, plus the API Gateway event fits Lambda's 6 MB invocation payload."
  type        = number
  default     = 262144
  validation {
    condition     = var.max_body_bytes >= 1024 && var.max_body_bytes <= 4194304
    error_message = "max_body_bytes must be between 1024 and 4194304."
  }
}

variable "notification_topic_arn" {
  description = "ARN of the notification topic the runbook executor publishes to (on-call's e-mail subscribes to it); also its on-failure destination."
  type        = string
  validation {
    condition     = can(regex("^arn:[a-z-]+:sns:", var.notification_topic_arn))
    error_message = "notification_topic_arn must be an ARN of the sns service."
  }
}

variable "runbook_dry_run" {
  description = "When true the runbook executor logs its plan and touches nothing."
  type        = bool
  default     = false
}

variable "incident_ttl_days" {
  description = "Days the runbook executor keeps incident records."
  type        = number
  default     = 30
  validation {
    condition     = var.incident_ttl_days >= 1 && var.incident_ttl_days <= 3650
    error_message = "incident_ttl_days must be between 1 and 3650."
  }
}

variable "automation_documents" {
  description = "SSM Automation documents the runbook executor may start."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for d in var.automation_documents : can(regex("^[A-Za-z0-9_.-]{3,128}$", d))])
    error_message = "automation_documents must be SSM document names (3-128 letters, digits, '_', '-' or '.')."
  }
}

variable "automation_assume_role_arns" {
  description = "IAM roles the listed Automation documents run under (their AutomationAssumeRole parameter): the runbook executor may pass exactly these to SSM."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for r in var.automation_assume_role_arns : can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/.+$", r))])
    error_message = "automation_assume_role_arns must be IAM role ARNs."
  }
}
