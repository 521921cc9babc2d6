output "api_url" {
  description = "Base URL of the metrics API."
  value       = module.monitoring.api_url
}

output "api_key_value" {
  description = "API key to send as x-api-key."
  value       = module.monitoring.api_key_value
  sensitive   = true
}

output "logs_bucket_name" {
  description = "Write application logs under logs/<service>/ in this bucket."
  value       = module.monitoring.logs_bucket_name
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the stack."
  value       = module.monitoring.dashboard_name
}

output "topic_arn" {
  description = "Alarm topic."
  value       = module.monitoring.topic_arn
}
