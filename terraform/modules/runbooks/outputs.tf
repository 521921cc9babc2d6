output "runbook_parameter_prefix" {
  description = "SSM path under which the runbooks live (the executor's RUNBOOK_PARAMETER_PREFIX)."
  value       = local.prefix
}

output "runbook_parameter_names" {
  description = "SSM parameter names of the runbooks by alarm short name."
  value = merge({
    api-5xx-rate             = aws_ssm_parameter.api_5xx_rate.name
    api-latency-p99          = aws_ssm_parameter.api_latency_p99.name
    log-processor-errors     = aws_ssm_parameter.log_processor_errors.name
    metrics-api-errors       = aws_ssm_parameter.metrics_api_errors.name
    runbook-executor-errors  = aws_ssm_parameter.runbook_executor_errors.name
    dynamodb-throttles       = aws_ssm_parameter.dynamodb_throttles.name
    dynamodb-index-throttles = aws_ssm_parameter.dynamodb_index_throttles.name
  }, { for s, p in aws_ssm_parameter.error_rate : "error-rate-${s}" => p.name }, { for s, p in aws_ssm_parameter.latency_p99 : "latency-p99-${s}" => p.name }, { for s, p in aws_ssm_parameter.traffic_drop : "traffic-drop-${s}" => p.name }, { for s, p in aws_ssm_parameter.availability : "availability-${s}" => p.name }, { for s, p in aws_ssm_parameter.availability_ticket : "availability-${s}-ticket" => p.name })
}

output "runbook_parameter_arns" {
  description = "SSM parameter ARNs of the runbooks by alarm short name."
  value = merge({
    api-5xx-rate             = aws_ssm_parameter.api_5xx_rate.arn
    api-latency-p99          = aws_ssm_parameter.api_latency_p99.arn
    log-processor-errors     = aws_ssm_parameter.log_processor_errors.arn
    metrics-api-errors       = aws_ssm_parameter.metrics_api_errors.arn
    runbook-executor-errors  = aws_ssm_parameter.runbook_executor_errors.arn
    dynamodb-throttles       = aws_ssm_parameter.dynamodb_throttles.arn
    dynamodb-index-throttles = aws_ssm_parameter.dynamodb_index_throttles.arn
  }, { for s, p in aws_ssm_parameter.error_rate : "error-rate-${s}" => p.arn }, { for s, p in aws_ssm_parameter.latency_p99 : "latency-p99-${s}" => p.arn }, { for s, p in aws_ssm_parameter.traffic_drop : "traffic-drop-${s}" => p.arn }, { for s, p in aws_ssm_parameter.availability : "availability-${s}" => p.arn }, { for s, p in aws_ssm_parameter.availability_ticket : "availability-${s}-ticket" => p.arn })
}

output "runbook_subscription_arn" {
  description = "ARN of the runbook executor's topic subscription."
  value       = aws_sns_topic_subscription.runbook_executor.arn
}
