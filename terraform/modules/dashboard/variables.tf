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
}

variable "api_stage_name" {
  description = "Stage of the REST API."
  type        = string
}

variable "function_names" {
  description = "Function names by function (log-processor, metrics-api, runbook-executor)."
  type        = map(string)
}

variable "table_name" {
  description = "Name of the ApplicationMetrics table."
  type        = string
}

variable "alarm_arns" {
  description = "ARNs of the alarms shown at the top."
  type        = list(string)
}
