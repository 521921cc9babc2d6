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
  description = "ARN of the customer managed KMS key that encrypts the access and execution log groups."
  type        = string
  validation {
    condition     = can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
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

variable "read_auth" {
  description = "How callers of GET /metrics and GET /health authenticate: \"api_key\" (x-api-key header, API key + usage plan) or \"iam\" (SigV4-signed requests; grant execute-api:Invoke on the API's execution ARN)."
  type        = string
  default     = "api_key"
  validation {
    condition     = contains(["api_key", "iam"], var.read_auth)
    error_message = "read_auth must be \"api_key\" or \"iam\"."
  }
}

variable "write_auth" {
  description = "How callers of POST /metrics authenticate: \"api_key\" (x-api-key header, API key + usage plan) or \"iam\" (SigV4-signed requests; grant execute-api:Invoke on the API's execution ARN)."
  type        = string
  default     = "iam"
  validation {
    condition     = contains(["api_key", "iam"], var.write_auth)
    error_message = "write_auth must be \"api_key\" or \"iam\"."
  }
}

variable "function_name" {
  description = "Name of the metrics-api function."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be a Lambda function name (1-64 letters, digits, '-' or '_')."
  }
}

variable "function_invoke_arn" {
  description = "Invoke ARN of the metrics-api function."
  type        = string
  validation {
    condition     = can(regex("^arn:[a-z-]+:apigateway:", var.function_invoke_arn))
    error_message = "function_invoke_arn must be an ARN of the apigateway service."
  }
}

variable "stage_name" {
  description = "Name of the API stage (the first path segment of the URL)."
  type        = string
  default     = "v1"
  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.stage_name))
    error_message = "stage_name must be 1-64 letters, digits, '-' or '_'."
  }
}

variable "throttle_rate_limit" {
  description = "Steady-state requests per second (stage and usage plan)."
  type        = number
  default     = 50
  validation {
    condition     = var.throttle_rate_limit > 0
    error_message = "throttle_rate_limit must be positive."
  }
}

variable "throttle_burst_limit" {
  description = "Burst of requests allowed above the rate (stage and usage plan)."
  type        = number
  default     = 100
  validation {
    condition     = var.throttle_burst_limit >= 1 && floor(var.throttle_burst_limit) == var.throttle_burst_limit
    error_message = "throttle_burst_limit must be a positive whole number."
  }
}

variable "execution_logging_level" {
  description = "Execution logging of the stage: OFF, ERROR or INFO (needs the account's API Gateway CloudWatch role)."
  type        = string
  default     = "ERROR"
  validation {
    condition     = contains(["OFF", "ERROR", "INFO"], var.execution_logging_level)
    error_message = "execution_logging_level must be OFF, ERROR or INFO."
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

variable "manage_account_logging_role" {
  description = "Manage API Gateway's CloudWatch Logs role setting (aws_api_gateway_account). It is one setting per AWS account and region, shared by every REST API there; the stage's access and execution logs need it, so the default sets it to a role this module creates (or to account_logging_role_arn). Set false when the account already has one in this region: true overwrites it. On terraform destroy, AWS provider 5.x leaves the account setting as it is, still naming the role this module created and destroyed (every REST API in the region then fails to log until someone sets another role); provider 6.x resets it to no role (the same for APIs that relied on it)."
  type        = bool
  default     = true
}

variable "account_logging_role_arn" {
  description = "ARN of an existing IAM role API Gateway may assume to write CloudWatch Logs (e.g. with AmazonAPIGatewayPushToCloudWatchLogs); with manage_account_logging_role = true the account setting is set to it and the module creates no role. null: the module creates the role."
  type        = string
  default     = null
  validation {
    condition     = var.account_logging_role_arn == null || can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/.+$", var.account_logging_role_arn))
    error_message = "account_logging_role_arn must be an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)."
  }
}
