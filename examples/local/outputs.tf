# Everything the end-to-end test and `just local` need to drive the stack.

output "api_url" {
  description = "Base URL of the metrics API (moto's URL shape)."
  value       = module.monitoring.api_url
}

output "api_id" {
  description = "ID of the REST API."
  value       = module.monitoring.api_id
}

output "api_stage_name" {
  description = "Stage of the REST API."
  value       = module.monitoring.api_stage_name
}

output "api_key_value" {
  description = "API key to send as x-api-key."
  value       = module.monitoring.api_key_value
  sensitive   = true
}

output "logs_bucket_name" {
  description = "Logs bucket."
  value       = module.monitoring.logs_bucket_name
}

output "table_name" {
  description = "ApplicationMetrics table."
  value       = module.monitoring.table_name
}

output "topic_arn" {
  description = "Alarm topic."
  value       = module.monitoring.topic_arn
}

output "function_names" {
  description = "Function names by function."
  value = {
    "log-processor"    = module.monitoring.log_processor_function_name
    "metrics-api"      = module.monitoring.metrics_api_function_name
    "runbook-executor" = module.monitoring.runbook_executor_function_name
  }
}

output "failure_queue_url" {
  description = "On-failure SQS queue of the log processor (the runbook executor's failures go to the notification topic)."
  value       = module.monitoring.log_processor_failure_queue_url
}

output "notification_topic_arn" {
  description = "Topic of the runbook executor's messages, where alarm_emails subscribe."
  value       = module.monitoring.notification_topic_arn
}

output "alarm_names" {
  description = "Full alarm names by short name."
  value       = module.monitoring.alarm_names
}

output "runbook_parameter_names" {
  description = "SSM runbook parameters by alarm short name."
  value       = module.monitoring.runbook_parameter_names
}

output "kms_key_arn" {
  description = "KMS key of the stack."
  value       = module.monitoring.kms_key_arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard."
  value       = module.monitoring.dashboard_name
}
