output "api_url" {
  description = "Base URL of the metrics API."
  value       = module.monitoring.api_url
}

output "function_names" {
  description = "Function names by function."
  value = {
    "log-processor"    = module.monitoring.log_processor_function_name
    "metrics-api"      = module.monitoring.metrics_api_function_name
    "runbook-executor" = module.monitoring.runbook_executor_function_name
  }
}
