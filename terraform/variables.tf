variable "name_prefix" {
  description = "Prefix of every resource name (2-24 characters: lowercase letter, then lowercase letters, digits or '-')."
  type        = string
  default     = "appmon"
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
  description = "ARN of an existing customer managed KMS key to encrypt everything with; null creates one. Its policy must admit cloudwatch.amazonaws.com (kms:GenerateDataKey*, kms:Decrypt) and logs.<region>.amazonaws.com, and let the account's IAM policies grant its use (AWS's default key policy statement): the functions' roles, and Lambda delivering the runbook executor's on-failure records to the encrypted notification topic with its role, rely on that."
  type        = string
  default     = null
  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "sns_topic_arn" {
  description = "ARN of an existing SNS topic for alarm notifications; null creates one. Its policy must let cloudwatch.amazonaws.com publish (sns:Publish) and its KMS key, if any, admit CloudWatch."
  type        = string
  default     = null
  validation {
    condition     = var.sns_topic_arn == null || can(regex("^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.sns_topic_arn))
    error_message = "sns_topic_arn must be an SNS topic ARN."
  }
}

variable "alarm_emails" {
  description = "Email addresses of on-call: subscribed to the notification topic (one message per alarm state change, see alarm_email_messages); each must confirm the subscription."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alarm_emails must all be email addresses."
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

variable "lambda_architecture" {
  description = "Instruction set of the functions: arm64 or x86_64 (must match the packaged zips)."
  type        = string
  default     = "arm64"
  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be arm64 or x86_64."
  }
}

variable "lambda_memory_mb" {
  description = "Memory of each function, in MB."
  type        = number
  default     = 256
  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240
    error_message = "lambda_memory_mb must be between 128 and 10240."
  }
}

variable "lambda_timeout_seconds" {
  description = "Timeout of the asynchronously invoked functions (log processor, runbook executor), in seconds; metrics-api has its own."
  type        = number
  default     = 30
  validation {
    condition     = var.lambda_timeout_seconds >= 1 && var.lambda_timeout_seconds <= 900
    error_message = "lambda_timeout_seconds must be between 1 and 900."
  }
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrent executions by function (\"log-processor\", \"metrics-api\", \"runbook-executor\"); unlisted functions are unreserved."
  type        = map(number)
  default     = {}
  validation {
    condition     = alltrue([for k, v in var.lambda_reserved_concurrency : contains(["log-processor", "metrics-api", "runbook-executor"], k) && v >= 0])
    error_message = "lambda_reserved_concurrency keys must be among \"log-processor\", \"metrics-api\", \"runbook-executor\"; values >= 0."
  }
}

variable "lambda_metrics_api_timeout_seconds" {
  description = "Timeout of the metrics-api function, in seconds: at most 29, API Gateway's integration timeout (a slower answer would reach the client as a 504 while the function still runs)."
  type        = number
  default     = 20
  validation {
    condition     = var.lambda_metrics_api_timeout_seconds >= 1 && var.lambda_metrics_api_timeout_seconds <= 29
    error_message = "lambda_metrics_api_timeout_seconds must be between 1 and 29 (API Gateway's integration timeout)."
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

variable "lambda_log_level" {
  description = "Level of the functions' structured JSON logs (trace, debug, info, warn, error); passed to each function as LOG_LEVEL."
  type        = string
  default     = "info"
  validation {
    condition     = contains(["trace", "debug", "info", "warn", "error"], var.lambda_log_level)
    error_message = "lambda_log_level must be one of trace, debug, info, warn, error."
  }
}

variable "lambda_package_dir" {
  description = "Folder holding manifest.json and the zips written by `gen package`; null means dist/lambda beside the module."
  type        = string
  default     = null
}

variable "lambda_s3_code" {
  description = "Functions (\"log-processor\", \"metrics-api\", \"runbook-executor\") whose code comes from an S3 object instead of the packaged zips. `gen publish` uploads the zips and prints these entries: source_code_hash (base64 SHA-256 of the zip, so an unchanged zip plans no change) and architecture (checked against lambda_architecture) from manifest.json."
  type = map(object({
    bucket           = string
    key              = string
    version          = optional(string)
    source_code_hash = optional(string)
    architecture     = optional(string)
  }))
  default = {}
  validation {
    condition     = alltrue([for k in keys(var.lambda_s3_code) : contains(["log-processor", "metrics-api", "runbook-executor"], k)])
    error_message = "lambda_s3_code keys must be among \"log-processor\", \"metrics-api\", \"runbook-executor\"."
  }
  validation {
    condition     = alltrue([for c in values(var.lambda_s3_code) : c.source_code_hash == null || can(regex("^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$", c.source_code_hash))])
    error_message = "lambda_s3_code source_code_hash must be the base64 SHA-256 of the zip (44 characters, as `gen publish` and filebase64sha256() give it)."
  }
  validation {
    condition     = alltrue([for c in values(var.lambda_s3_code) : c.architecture == null ? true : contains(["arm64", "x86_64"], c.architecture)])
    error_message = "lambda_s3_code architecture must be arm64 or x86_64."
  }
}

variable "api_read_auth" {
  description = "How callers of GET /metrics and GET /health authenticate: \"api_key\" (x-api-key header, API key + usage plan) or \"iam\" (SigV4-signed requests; grant execute-api:Invoke on the API's execution ARN)."
  type        = string
  default     = "api_key"
  validation {
    condition     = contains(["api_key", "iam"], var.api_read_auth)
    error_message = "api_read_auth must be \"api_key\" or \"iam\"."
  }
}

variable "api_write_auth" {
  description = "How callers of POST /metrics authenticate: \"api_key\" (x-api-key header, API key + usage plan) or \"iam\" (SigV4-signed requests; grant execute-api:Invoke on the API's execution ARN)."
  type        = string
  default     = "iam"
  validation {
    condition     = contains(["api_key", "iam"], var.api_write_auth)
    error_message = "api_write_auth must be \"api_key\" or \"iam\"."
  }
}

variable "api_stage_name" {
  description = "Name of the API stage (the first path segment of the URL)."
  type        = string
  default     = "v1"
  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.api_stage_name))
    error_message = "api_stage_name must be 1-64 letters, digits, '-' or '_'."
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

variable "api_throttle_rate_limit" {
  description = "Steady-state requests per second (stage and usage plan)."
  type        = number
  default     = 50
  validation {
    condition     = var.api_throttle_rate_limit > 0
    error_message = "api_throttle_rate_limit must be positive."
  }
}

variable "api_throttle_burst_limit" {
  description = "Burst of requests allowed above the rate (stage and usage plan)."
  type        = number
  default     = 100
  validation {
    condition     = var.api_throttle_burst_limit >= 1 && floor(var.api_throttle_burst_limit) == var.api_throttle_burst_limit
    error_message = "api_throttle_burst_limit must be a positive whole number."
  }
}

variable "api_max_body_bytes" {
  description = "Largest request body the metrics API accepts (larger gets 413); at most 4194304, so that the body, base64-encoded, plus the API Gateway event fits Lambda's 6 MB invocation payload."
  type        = number
  default     = 262144
  validation {
    condition     = var.api_max_body_bytes >= 1024 && var.api_max_body_bytes <= 4194304
    error_message = "api_max_body_bytes must be between 1024 and 4194304."
  }
}

variable "api_execution_logging_level" {
  description = "Execution logging of the stage: OFF, ERROR or INFO (needs the account's API Gateway CloudWatch role)."
  type        = string
  default     = "ERROR"
  validation {
    condition     = contains(["OFF", "ERROR", "INFO"], var.api_execution_logging_level)
    error_message = "api_execution_logging_level must be OFF, ERROR or INFO."
  }
}

variable "manage_api_gateway_account_role" {
  description = "Manage API Gateway's CloudWatch Logs role setting (aws_api_gateway_account). It is one setting per AWS account and region, shared by every REST API there; the stage's access and execution logs need it, so the default sets it to a role this module creates (or to api_gateway_cloudwatch_role_arn). Set false when the account already has one in this region: true overwrites it. On terraform destroy, AWS provider 5.x leaves the account setting as it is, still naming the role this module created and destroyed (every REST API in the region then fails to log until someone sets another role); provider 6.x resets it to no role (the same for APIs that relied on it)."
  type        = bool
  default     = true
}

variable "api_gateway_cloudwatch_role_arn" {
  description = "ARN of an existing IAM role API Gateway may assume to write CloudWatch Logs (e.g. with AmazonAPIGatewayPushToCloudWatchLogs); with manage_api_gateway_account_role = true the account setting is set to it and the module creates no role. null: the module creates the role."
  type        = string
  default     = null
  validation {
    condition     = var.api_gateway_cloudwatch_role_arn == null || can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/.+$", var.api_gateway_cloudwatch_role_arn))
    error_message = "api_gateway_cloudwatch_role_arn must be an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)."
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

variable "notification_sns_topic_arn" {
  description = "ARN of an existing SNS topic for the runbook executor's messages (and its on-failure records), where alarm_emails subscribe, instead of creating <name_prefix>-notifications. In the stack's account; unencrypted or encrypted with the stack's KMS key (the executor's role may use only that one). The alarm topic's ARN here gives one topic for both: its subscribers get CloudWatch's and the executor's message."
  type        = string
  default     = null
  validation {
    condition     = var.notification_sns_topic_arn == null || can(regex("^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.notification_sns_topic_arn))
    error_message = "notification_sns_topic_arn must be an SNS topic ARN."
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

variable "composite_alarms" {
  description = "Create the composite alarms of the SLO alerts (the only SLO alarms that notify). Only for emulators that cannot create composite alarms: false leaves SLO alerts silent."
  type        = bool
  default     = true
}
