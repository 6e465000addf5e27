variable "name_prefix" {
  description = "Prefix of the topic, dashboard and alarm names."
  type        = string
}

variable "function_name" {
  description = "Name of the invoker Lambda: its AWS/Lambda metrics and the FunctionName dimension of its EMF metrics."
  type        = string
}

variable "api_id" {
  description = "ID of the HTTP API (the ApiId dimension of its AWS/ApiGateway metrics)."
  type        = string
}

variable "endpoint_name" {
  description = "Name of the SageMaker endpoint (AWS/SageMaker metrics and the EndpointName dimension of the EMF metrics)."
  type        = string
}

variable "variant_name" {
  description = "Production variant of the endpoint (the VariantName dimension of its AWS/SageMaker metrics)."
  type        = string
  default     = "AllTraffic"
}

variable "alarm_email" {
  description = "Email address subscribed to the alarm topic (AWS sends a confirmation mail first). Null: no subscription."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null ? true : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an email address such as ops@example.com."
  }
}

variable "period_s" {
  description = "Period of the service alarms (5xx rate, Lambda errors and throttles, endpoint errors), seconds."
  type        = number
  default     = 300

  validation {
    condition     = var.period_s >= 60 && var.period_s % 60 == 0
    error_message = "period_s must be a multiple of 60 seconds."
  }
}

variable "api_5xx_rate_percent" {
  description = "The 5xx alarm fires when this share of the API's requests in one period, percent, answered 5xx."
  type        = number
  default     = 5

  validation {
    condition     = var.api_5xx_rate_percent > 0 && var.api_5xx_rate_percent <= 100
    error_message = "api_5xx_rate_percent must be above 0 and at most 100."
  }
}

variable "lambda_errors_threshold" {
  description = "Lambda errors (unhandled exceptions, timeouts) in one period that fire the alarm; the handler itself never raises."
  type        = number
  default     = 1
}

variable "lambda_throttles_threshold" {
  description = "Lambda throttles in one period that fire the alarm."
  type        = number
  default     = 1
}

variable "endpoint_errors_threshold" {
  description = "Endpoint invocation errors (4xx + 5xx as SageMaker counts them) in one period that fire the alarm."
  type        = number
  default     = 1
}

variable "expected_flagged_share" {
  description = "Share of records the model flagged at the cutoff on its held-out reference scores (metrics.json, through the tfvars handoff). Null: no drift alarm."
  type        = number
  default     = null

  validation {
    condition     = var.expected_flagged_share == null ? true : (var.expected_flagged_share >= 0 && var.expected_flagged_share <= 1)
    error_message = "expected_flagged_share must be between 0 and 1."
  }
}

variable "flagged_share_band" {
  description = "[low, high]: the drift alarm fires when the flagged share of a period leaves this band (metrics.json, through the tfvars handoff). Null: no drift alarm."
  type        = list(number)
  default     = null

  validation {
    condition     = var.flagged_share_band == null ? true : try(length(var.flagged_share_band) == 2 && var.flagged_share_band[0] >= 0 && var.flagged_share_band[0] < var.flagged_share_band[1] && var.flagged_share_band[1] <= 1, false)
    error_message = "flagged_share_band must be [low, high] with 0 <= low < high <= 1."
  }
}

variable "flagged_share_period_s" {
  description = "Period over which the flagged share is computed for the drift alarm, seconds (long: a share needs many records)."
  type        = number
  default     = 3600

  validation {
    condition     = var.flagged_share_period_s >= 60 && var.flagged_share_period_s % 60 == 0
    error_message = "flagged_share_period_s must be a multiple of 60 seconds."
  }
}

variable "flagged_share_min_records" {
  description = "Records a period needs before its flagged share is judged (fewer: the share is noise, the alarm stays OK)."
  type        = number
  default     = 100

  validation {
    condition     = var.flagged_share_min_records >= 1
    error_message = "flagged_share_min_records must be at least 1."
  }
}

variable "tags" {
  description = "Tags added to the resources."
  type        = map(string)
  default     = {}
}
