output "topic_arn" {
  description = "ARN of the alarm topic."
  value       = local.topic_arn
}

output "topic_name" {
  description = "Name of the alarm topic."
  value       = element(split(":", local.topic_arn), 5)
}

output "email_subscription_arns" {
  description = "Email subscription ARNs by address (\"pending confirmation\" until confirmed)."
  value       = { for e, s in aws_sns_topic_subscription.email : e => s.arn }
}

output "notification_topic_arn" {
  description = "ARN of the notification topic: the runbook executor's messages and its on-failure records; on-call's e-mail subscribes to it."
  value       = local.notification_topic_arn
}
