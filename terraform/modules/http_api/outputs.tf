output "api_id" {
  description = "ID of the HTTP API."
  value       = aws_apigatewayv2_api.this.id
}

output "api_url" {
  description = "Base URL of the API (no trailing slash); the route is api_url + path."
  value       = trimsuffix(aws_apigatewayv2_api.this.api_endpoint, "/")
}

output "domain_name" {
  description = "Host name of the API's default endpoint (<id>.execute-api.<region>.amazonaws.com), for a CloudFront origin."
  value       = trimsuffix(trimprefix(aws_apigatewayv2_api.this.api_endpoint, "https://"), "/")
}

output "execution_arn" {
  description = "Execution ARN of the API."
  value       = aws_apigatewayv2_api.this.execution_arn
}

output "route_key" {
  description = "Route served by the Lambda function."
  value       = aws_apigatewayv2_route.this.route_key
}

output "lambda_permission_source_arn" {
  description = "source_arn of the permission that lets this API (and only it) invoke the function."
  value       = aws_lambda_permission.this.source_arn
}

output "access_log_group_name" {
  description = "Log group of the access logs."
  value       = aws_cloudwatch_log_group.this.name
}

output "cors_allow_origins" {
  description = "Origins the API's CORS configuration allows (empty: no CORS configuration)."
  value       = toset(flatten(aws_apigatewayv2_api.this.cors_configuration[*].allow_origins))
}
