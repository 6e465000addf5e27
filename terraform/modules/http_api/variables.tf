variable "name" {
  description = "Name of the HTTP API (also names its access log group)."
  type        = string
}

variable "lambda_function_name" {
  description = "Name of the Lambda function behind the route."
  type        = string
}

variable "lambda_invoke_arn" {
  description = "Invoke ARN of that Lambda function."
  type        = string
}

variable "route_key" {
  description = "Route served by the Lambda function, \"METHOD /path\"."
  type        = string
  default     = "POST /predict"
}

variable "allow_origins" {
  description = "Origins allowed by CORS, for a page served from another origin (https://host, no path, no wildcard). Empty: no CORS configuration (callers on the page's own origin, or not browsers)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    # A wildcard or an http origin would let other pages call the API from their visitors' browsers.
    condition     = alltrue([for o in var.allow_origins : can(regex("^https://[a-z0-9.-]+(:[0-9]+)?$", o))])
    error_message = "allow_origins must list https://host origins (no path, no trailing slash, no wildcard)."
  }
}

variable "throttling_rate_limit" {
  description = "Steady-state request rate limit of the stage, requests per second."
  type        = number
  default     = 5
}

variable "throttling_burst_limit" {
  description = "Burst limit of the stage, requests."
  type        = number
  default     = 10
}

variable "log_retention_days" {
  description = "Retention of the access log group, days."
  type        = number
  default     = 14
}

variable "tags" {
  description = "Tags added to the resources."
  type        = map(string)
  default     = {}
}
