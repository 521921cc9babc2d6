output "logs_bucket_name" {
  description = "Name of the logs bucket."
  value       = aws_s3_bucket.logs.id
}

output "logs_bucket_arn" {
  description = "ARN of the logs bucket."
  value       = aws_s3_bucket.logs.arn
}

output "logs_prefix" {
  description = "Key prefix whose new objects are processed."
  value       = var.logs_prefix
}

output "table_name" {
  description = "Name of the ApplicationMetrics table."
  value       = aws_dynamodb_table.metrics.name
}

output "table_arn" {
  description = "ARN of the ApplicationMetrics table."
  value       = aws_dynamodb_table.metrics.arn
}

output "table_index_arn" {
  description = "ARN of the TimestampIndex global secondary index."
  value       = "${aws_dynamodb_table.metrics.arn}/index/TimestampIndex"
}
