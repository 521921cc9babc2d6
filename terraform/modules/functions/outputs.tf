output "log_processor_function_name" {
  description = "Name of the log-processor function."
  value       = aws_lambda_function.log_processor.function_name
}

output "log_processor_function_arn" {
  description = "ARN of the log-processor function."
  value       = aws_lambda_function.log_processor.arn
}

output "log_processor_role_arn" {
  description = "ARN of the log-processor function's IAM role."
  value       = aws_iam_role.log_processor.arn
}

output "log_processor_role_name" {
  description = "Name of the log-processor function's IAM role (attach extra policies to it)."
  value       = aws_iam_role.log_processor.name
}

output "log_processor_log_group_name" {
  description = "Log group of the log-processor function."
  value       = aws_cloudwatch_log_group.log_processor.name
}

output "log_processor_log_group_arn" {
  description = "ARN of the log-processor function's log group."
  value       = aws_cloudwatch_log_group.log_processor.arn
}

output "log_processor_failure_queue_arn" {
  description = "ARN of the SQS queue receiving log-processor events that failed every retry."
  value       = aws_sqs_queue.log_processor_failures.arn
}

output "log_processor_failure_queue_url" {
  description = "URL of the log-processor failure queue."
  value       = aws_sqs_queue.log_processor_failures.url
}

output "metrics_api_function_name" {
  description = "Name of the metrics-api function."
  value       = aws_lambda_function.metrics_api.function_name
}

output "metrics_api_function_arn" {
  description = "ARN of the metrics-api function."
  value       = aws_lambda_function.metrics_api.arn
}

output "metrics_api_role_arn" {
  description = "ARN of the metrics-api function's IAM role."
  value       = aws_iam_role.metrics_api.arn
}

output "metrics_api_role_name" {
  description = "Name of the metrics-api function's IAM role (attach extra policies to it)."
  value       = aws_iam_role.metrics_api.name
}

output "metrics_api_log_group_name" {
  description = "Log group of the metrics-api function."
  value       = aws_cloudwatch_log_group.metrics_api.name
}

output "metrics_api_log_group_arn" {
  description = "ARN of the metrics-api function's log group."
  value       = aws_cloudwatch_log_group.metrics_api.arn
}

output "metrics_api_invoke_arn" {
  description = "Invoke ARN of the metrics-api function (for API Gateway integrations)."
  value       = aws_lambda_function.metrics_api.invoke_arn
}

output "runbook_executor_function_name" {
  description = "Name of the runbook-executor function."
  value       = aws_lambda_function.runbook_executor.function_name
}

output "runbook_executor_function_arn" {
  description = "ARN of the runbook-executor function."
  value       = aws_lambda_function.runbook_executor.arn
}

output "runbook_executor_role_arn" {
  description = "ARN of the runbook-executor function's IAM role."
  value       = aws_iam_role.runbook_executor.arn
}

output "runbook_executor_role_name" {
  description = "Name of the runbook-executor function's IAM role (attach extra policies to it)."
  value       = aws_iam_role.runbook_executor.name
}

output "runbook_executor_log_group_name" {
  description = "Log group of the runbook-executor function."
  value       = aws_cloudwatch_log_group.runbook_executor.name
}

output "runbook_executor_log_group_arn" {
  description = "ARN of the runbook-executor function's log group."
  value       = aws_cloudwatch_log_group.runbook_executor.arn
}
