output "alarm_arns" {
  description = "ARNs of the alarms by short name."
  value = merge({
    api-5xx-rate             = aws_cloudwatch_metric_alarm.api_5xx_rate.arn
    api-latency-p99          = aws_cloudwatch_metric_alarm.api_latency_p99.arn
    log-processor-errors     = aws_cloudwatch_metric_alarm.log_processor_errors.arn
    metrics-api-errors       = aws_cloudwatch_metric_alarm.metrics_api_errors.arn
    runbook-executor-errors  = aws_cloudwatch_metric_alarm.runbook_executor_errors.arn
    dynamodb-throttles       = aws_cloudwatch_metric_alarm.dynamodb_throttles.arn
    dynamodb-index-throttles = aws_cloudwatch_metric_alarm.dynamodb_index_throttles.arn
  }, { for s, a in aws_cloudwatch_metric_alarm.error_rate : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.arn }, { for s, a in aws_cloudwatch_metric_alarm.latency_p99 : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.arn }, { for s, a in aws_cloudwatch_metric_alarm.traffic_drop : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.arn }, { for s, a in aws_cloudwatch_metric_alarm.availability_page_1h : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.arn }, { for s, a in aws_cloudwatch_metric_alarm.availability_page_5m : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.arn }, { for s, a in aws_cloudwatch_metric_alarm.availability_page_6h : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.arn }, { for s, a in aws_cloudwatch_metric_alarm.availability_page_30m : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.arn }, { for s, a in aws_cloudwatch_composite_alarm.availability : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.arn }, { for s, a in aws_cloudwatch_metric_alarm.availability_ticket_3d : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.arn }, { for s, a in aws_cloudwatch_metric_alarm.availability_ticket_6h : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.arn }, { for s, a in aws_cloudwatch_composite_alarm.availability_ticket : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.arn })
}

output "alarm_names" {
  description = "Full names of the alarms by short name."
  value = merge({
    api-5xx-rate             = aws_cloudwatch_metric_alarm.api_5xx_rate.alarm_name
    api-latency-p99          = aws_cloudwatch_metric_alarm.api_latency_p99.alarm_name
    log-processor-errors     = aws_cloudwatch_metric_alarm.log_processor_errors.alarm_name
    metrics-api-errors       = aws_cloudwatch_metric_alarm.metrics_api_errors.alarm_name
    runbook-executor-errors  = aws_cloudwatch_metric_alarm.runbook_executor_errors.alarm_name
    dynamodb-throttles       = aws_cloudwatch_metric_alarm.dynamodb_throttles.alarm_name
    dynamodb-index-throttles = aws_cloudwatch_metric_alarm.dynamodb_index_throttles.alarm_name
  }, { for s, a in aws_cloudwatch_metric_alarm.error_rate : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.alarm_name }, { for s, a in aws_cloudwatch_metric_alarm.latency_p99 : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.alarm_name }, { for s, a in aws_cloudwatch_metric_alarm.traffic_drop : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.alarm_name }, { for s, a in aws_cloudwatch_metric_alarm.availability_page_1h : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.alarm_name }, { for s, a in aws_cloudwatch_metric_alarm.availability_page_5m : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.alarm_name }, { for s, a in aws_cloudwatch_metric_alarm.availability_page_6h : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.alarm_name }, { for s, a in aws_cloudwatch_metric_alarm.availability_page_30m : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.alarm_name }, { for s, a in aws_cloudwatch_composite_alarm.availability : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.alarm_name }, { for s, a in aws_cloudwatch_metric_alarm.availability_ticket_3d : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.alarm_name }, { for s, a in aws_cloudwatch_metric_alarm.availability_ticket_6h : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.alarm_name }, { for s, a in aws_cloudwatch_composite_alarm.availability_ticket : trimprefix(a.alarm_name, "${var.name_prefix}-") => a.alarm_name })
}
