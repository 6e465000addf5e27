output "topic_arn" {
  description = "ARN of the SNS topic every alarm notifies (subscribe more endpoints to it)."
  value       = aws_sns_topic.this.arn
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "dashboard_url" {
  description = "Console URL of the dashboard."
  value       = "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards/dashboard/${aws_cloudwatch_dashboard.this.dashboard_name}"
}

output "alarm_names" {
  description = "Names of the alarms, by purpose (flagged_share only when the drift band is known)."
  value = merge(
    {
      api_5xx          = aws_cloudwatch_metric_alarm.api_5xx.alarm_name
      lambda_errors    = aws_cloudwatch_metric_alarm.lambda_errors.alarm_name
      lambda_throttles = aws_cloudwatch_metric_alarm.lambda_throttles.alarm_name
      endpoint_errors  = aws_cloudwatch_metric_alarm.endpoint_errors.alarm_name
    },
    local.drift_alarm ? { flagged_share = aws_cloudwatch_metric_alarm.flagged_share[0].alarm_name } : {},
  )
}

output "rollback_alarm_names" {
  description = "The alarms a guarded endpoint update rolls back on: the endpoint's errors and the API's 5xx rate. Built from name_prefix, not read from the alarms: the endpoint names them in its deployment config while the alarms watch that endpoint, which would be a cycle (terraform/tests/monitoring.tftest.hcl checks they are alarms of this module)."
  value       = tolist([local.alarm_names.endpoint_errors, local.alarm_names.api_5xx])
}

output "metric_namespace" {
  description = "CloudWatch namespace of the invoker's EMF metrics (python -m ml drift reads it)."
  value       = local.emf.namespace
}

output "alarm_dimensions" {
  description = "What the alarms watch, read back from the alarms themselves: the function, endpoint and API."
  value = {
    function_name = aws_cloudwatch_metric_alarm.lambda_errors.dimensions.FunctionName
    endpoint_name = one([for q in aws_cloudwatch_metric_alarm.endpoint_errors.metric_query : q.metric[0].dimensions.EndpointName if length(q.metric) > 0 && q.id == "e5"])
    api_id        = one([for q in aws_cloudwatch_metric_alarm.api_5xx.metric_query : q.metric[0].dimensions.ApiId if length(q.metric) > 0 && q.id == "errors"])
  }
}

output "flagged_share_alarm_queries" {
  description = "Metric queries of the drift alarm (null without a band): its expression holds the band."
  value       = one(aws_cloudwatch_metric_alarm.flagged_share[*].metric_query)
}
