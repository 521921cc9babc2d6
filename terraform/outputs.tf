output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the stack (created or handed in)."
  value       = local.kms_key_arn
}

output "kms_key_alias_name" {
  description = "Alias of the KMS key the module created (null when kms_key_arn is handed in)."
  value       = one(module.kms[*].alias_name)
}

output "logs_bucket_name" {
  description = "Name of the logs bucket."
  value       = module.storage.logs_bucket_name
}

output "logs_bucket_arn" {
  description = "ARN of the logs bucket."
  value       = module.storage.logs_bucket_arn
}

output "logs_prefix" {
  description = "Key prefix whose new objects are processed."
  value       = module.storage.logs_prefix
}

output "table_name" {
  description = "Name of the ApplicationMetrics table."
  value       = module.storage.table_name
}

output "table_arn" {
  description = "ARN of the ApplicationMetrics table."
  value       = module.storage.table_arn
}

output "table_index_arn" {
  description = "ARN of the TimestampIndex global secondary index."
  value       = module.storage.table_index_arn
}

output "topic_arn" {
  description = "ARN of the alarm topic."
  value       = module.alerting.topic_arn
}

output "topic_name" {
  description = "Name of the alarm topic."
  value       = module.alerting.topic_name
}

output "email_subscription_arns" {
  description = "Email subscription ARNs by address (\"pending confirmation\" until confirmed)."
  value       = module.alerting.email_subscription_arns
}

output "notification_topic_arn" {
  description = "ARN of the notification topic: the runbook executor's messages and its on-failure records; on-call's e-mail subscribes to it."
  value       = module.alerting.notification_topic_arn
}

output "log_processor_function_name" {
  description = "Name of the log-processor function."
  value       = module.functions.log_processor_function_name
}

output "log_processor_function_arn" {
  description = "ARN of the log-processor function."
  value       = module.functions.log_processor_function_arn
}

output "log_processor_role_arn" {
  description = "ARN of the log-processor function's IAM role."
  value       = module.functions.log_processor_role_arn
}

output "log_processor_role_name" {
  description = "Name of the log-processor function's IAM role (attach extra policies to it)."
  value       = module.functions.log_processor_role_name
}

output "log_processor_log_group_name" {
  description = "Log group of the log-processor function."
  value       = module.functions.log_processor_log_group_name
}

output "log_processor_log_group_arn" {
  description = "ARN of the log-processor function's log group."
  value       = module.functions.log_processor_log_group_arn
}

output "log_processor_failure_queue_arn" {
  description = "ARN of the SQS queue receiving log-processor events that failed every retry."
  value       = module.functions.log_processor_failure_queue_arn
}

output "log_processor_failure_queue_url" {
  description = "URL of the log-processor failure queue."
  value       = module.functions.log_processor_failure_queue_url
}

output "metrics_api_function_name" {
  description = "Name of the metrics-api function."
  value       = module.functions.metrics_api_function_name
}

output "metrics_api_function_arn" {
  description = "ARN of the metrics-api function."
  value       = module.functions.metrics_api_function_arn
}

output "metrics_api_role_arn" {
  description = "ARN of the metrics-api function's IAM role."
  value       = module.functions.metrics_api_role_arn
}

output "metrics_api_role_name" {
  description = "Name of the metrics-api function's IAM role (attach extra policies to it)."
  value       = module.functions.metrics_api_role_name
}

output "metrics_api_log_group_name" {
  description = "Log group of the metrics-api function."
  value       = module.functions.metrics_api_log_group_name
}

output "metrics_api_log_group_arn" {
  description = "ARN of the metrics-api function's log group."
  value       = module.functions.metrics_api_log_group_arn
}

output "metrics_api_invoke_arn" {
  description = "Invoke ARN of the metrics-api function (for API Gateway integrations)."
  value       = module.functions.metrics_api_invoke_arn
}

output "runbook_executor_function_name" {
  description = "Name of the runbook-executor function."
  value       = module.functions.runbook_executor_function_name
}

output "runbook_executor_function_arn" {
  description = "ARN of the runbook-executor function."
  value       = module.functions.runbook_executor_function_arn
}

output "runbook_executor_role_arn" {
  description = "ARN of the runbook-executor function's IAM role."
  value       = module.functions.runbook_executor_role_arn
}

output "runbook_executor_role_name" {
  description = "Name of the runbook-executor function's IAM role (attach extra policies to it)."
  value       = module.functions.runbook_executor_role_name
}

output "runbook_executor_log_group_name" {
  description = "Log group of the runbook-executor function."
  value       = module.functions.runbook_executor_log_group_name
}

output "runbook_executor_log_group_arn" {
  description = "ARN of the runbook-executor function's log group."
  value       = module.functions.runbook_executor_log_group_arn
}

output "api_id" {
  description = "ID of the REST API."
  value       = module.api.api_id
}

output "api_name" {
  description = "Name of the REST API."
  value       = module.api.api_name
}

output "api_arn" {
  description = "ARN of the REST API."
  value       = module.api.api_arn
}

output "api_execution_arn" {
  description = "Execution ARN of the REST API (for IAM policies)."
  value       = module.api.api_execution_arn
}

output "api_stage_name" {
  description = "Name of the deployed stage."
  value       = module.api.api_stage_name
}

output "api_stage_arn" {
  description = "ARN of the stage (for a WAF web ACL association)."
  value       = module.api.api_stage_arn
}

output "api_url" {
  description = "Base URL of the metrics API."
  value       = module.api.api_url
}

output "api_access_log_group_name" {
  description = "Log group receiving the stage's access logs."
  value       = module.api.api_access_log_group_name
}

output "api_access_log_group_arn" {
  description = "ARN of the access log group."
  value       = module.api.api_access_log_group_arn
}

output "api_execution_log_group_name" {
  description = "Log group receiving the stage's execution logs (API-Gateway-Execution-Logs_<api id>/<stage>)."
  value       = module.api.api_execution_log_group_name
}

output "api_key_id" {
  description = "ID of the API key (null when neither read_auth nor write_auth is \"api_key\")."
  value       = module.api.api_key_id
}

output "api_key_value" {
  description = "Value of the API key, sent as x-api-key (null when neither read_auth nor write_auth is \"api_key\")."
  value       = module.api.api_key_value
  sensitive   = true
}

output "api_usage_plan_id" {
  description = "ID of the usage plan (null when neither read_auth nor write_auth is \"api_key\")."
  value       = module.api.api_usage_plan_id
}

output "runbook_parameter_prefix" {
  description = "SSM path under which the runbooks live (the executor's RUNBOOK_PARAMETER_PREFIX)."
  value       = module.runbooks.runbook_parameter_prefix
}

output "runbook_parameter_names" {
  description = "SSM parameter names of the runbooks by alarm short name."
  value       = module.runbooks.runbook_parameter_names
}

output "runbook_parameter_arns" {
  description = "SSM parameter ARNs of the runbooks by alarm short name."
  value       = module.runbooks.runbook_parameter_arns
}

output "runbook_subscription_arn" {
  description = "ARN of the runbook executor's topic subscription."
  value       = module.runbooks.runbook_subscription_arn
}

output "alarm_arns" {
  description = "ARNs of the alarms by short name."
  value       = module.alarms.alarm_arns
}

output "alarm_names" {
  description = "Full names of the alarms by short name."
  value       = module.alarms.alarm_names
}

output "dashboard_name" {
  description = "Name of the dashboard."
  value       = module.dashboard.dashboard_name
}

output "dashboard_arn" {
  description = "ARN of the dashboard."
  value       = module.dashboard.dashboard_arn
}
