output "api_id" {
  description = "ID of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "api_name" {
  description = "Name of the REST API."
  value       = aws_api_gateway_rest_api.this.name
}

output "api_arn" {
  description = "ARN of the REST API."
  value       = aws_api_gateway_rest_api.this.arn
}

output "api_execution_arn" {
  description = "Execution ARN of the REST API (for IAM policies)."
  value       = aws_api_gateway_rest_api.this.execution_arn
}

output "api_stage_name" {
  description = "Name of the deployed stage."
  value       = aws_api_gateway_stage.this.stage_name
}

output "api_stage_arn" {
  description = "ARN of the stage (for a WAF web ACL association)."
  value       = aws_api_gateway_stage.this.arn
}

output "api_url" {
  description = "Base URL of the metrics API."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "api_access_log_group_name" {
  description = "Log group receiving the stage's access logs."
  value       = aws_cloudwatch_log_group.access.name
}

output "api_access_log_group_arn" {
  description = "ARN of the access log group."
  value       = aws_cloudwatch_log_group.access.arn
}

output "api_execution_log_group_name" {
  description = "Log group receiving the stage's execution logs (API-Gateway-Execution-Logs_<api id>/<stage>)."
  value       = aws_cloudwatch_log_group.execution.name
}

output "api_key_id" {
  description = "ID of the API key (null when neither read_auth nor write_auth is \"api_key\")."
  value       = one(aws_api_gateway_api_key.this[*].id)
}

output "api_key_value" {
  description = "Value of the API key, sent as x-api-key (null when neither read_auth nor write_auth is \"api_key\")."
  value       = one(aws_api_gateway_api_key.this[*].value)
  sensitive   = true
}

output "api_usage_plan_id" {
  description = "ID of the usage plan (null when neither read_auth nor write_auth is \"api_key\")."
  value       = one(aws_api_gateway_usage_plan.this[*].id)
}
