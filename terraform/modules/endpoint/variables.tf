variable "name_prefix" {
  description = "Prefix of every resource name (role, model, endpoint configuration, endpoint)."
  type        = string
}

variable "data_bucket_arn" {
  description = "ARN of the data bucket (training data, model artifacts, captured data)."
  type        = string
}

variable "data_bucket_name" {
  description = "Name of the data bucket."
  type        = string
}

variable "training_data_prefix" {
  description = "Key prefix of the training data in the data bucket; the role may read it (for training jobs)."
  type        = string
  default     = "data/"
}

variable "artifact_prefix" {
  description = "Key prefix of model artifacts in the data bucket; the role may read and write it (training jobs write here)."
  type        = string
  default     = "models/"
}

variable "capture_prefix" {
  description = "Key prefix of captured requests and responses (realtime mode with data capture)."
  type        = string
  default     = "capture/"
}

variable "model_data_url" {
  description = "S3 URL of model.tar.gz. Null creates the execution role only (no model, no endpoint)."
  type        = string
  default     = null
}

variable "model_package_arn" {
  description = "Model package version to create the model from (its container names the image, model data and environment; model_data_url and image_uri still scope the role's policy). Null: image_uri and model_data_url directly."
  type        = string
  default     = null
}

variable "image_uri" {
  description = "Inference image. Null uses the prebuilt SageMaker XGBoost image (image_repository:image_tag) of the region."
  type        = string
  default     = null
}

variable "image_repository" {
  description = "Repository of the prebuilt SageMaker image used when image_uri is null."
  type        = string
  default     = "sagemaker-xgboost"
}

variable "image_tag" {
  description = "Tag of the prebuilt SageMaker image used when image_uri is null (pinned to the local xgboost version)."
  type        = string
  default     = "3.0-5"
}

variable "mode" {
  description = "\"serverless\" (pay per request) or \"realtime\" (instances, autoscaling). The endpoint's name carries the mode (and, in realtime, the instance type): a switch creates a new endpoint before the old one is destroyed."
  type        = string
  default     = "serverless"

  validation {
    condition     = contains(["serverless", "realtime"], var.mode)
    error_message = "mode must be \"serverless\" or \"realtime\"."
  }
}

variable "serverless_memory_mb" {
  description = "Memory of the serverless endpoint, MB (1024 to 6144, step 1024)."
  type        = number
  default     = 2048
}

variable "serverless_max_concurrency" {
  description = "Maximum concurrent invocations of the serverless endpoint."
  type        = number
  default     = 5
}

variable "instance_type" {
  description = "Instance type of the realtime endpoint. It is part of the endpoint's name: a change creates a new endpoint (with its own autoscaling target) instead of an in-place update, which SageMaker rejects while autoscaling is registered."
  type        = string
  default     = "ml.m5.large"
}

variable "instance_count" {
  description = "Initial (and minimum) instance count of the realtime endpoint."
  type        = number
  default     = 1
}

variable "autoscaling_max_instances" {
  description = "Maximum instance count of the realtime endpoint under autoscaling."
  type        = number
  default     = 2
}

variable "autoscaling_target_invocations" {
  description = "Target of SageMakerVariantInvocationsPerInstance (invocations per instance per minute)."
  type        = number
  default     = 100
}

variable "rollback_alarm_names" {
  description = "CloudWatch alarms that roll a guarded update back (1-10; realtime mode). Keep their names fixed: a change replaces the endpoint. Empty: no deployment guardrails, and the realtime endpoint's name ends in -unguarded."
  type        = list(string)
  default     = []
}

variable "rollout_wait_interval_s" {
  description = "Baking period after each traffic shift of a guarded update (after the canary, or after the one shift when the fleet is too small for a canary), seconds: the rollback alarms watch the new fleet meanwhile. WaitIntervalInSeconds."
  type        = number
  default     = 600
}

variable "rollout_canary_instances" {
  description = "Instances of the new fleet that take traffic first (the canary). A canary is at most half the fleet: with instance_count below twice this, the traffic shifts all at once."
  type        = number
  default     = 1
}

variable "rollout_termination_wait_s" {
  description = "Final baking period: how long the old fleet stays up after all traffic has shifted, seconds. TerminationWaitInSeconds."
  type        = number
  default     = 600
}

variable "container_environment" {
  description = "Environment of the model container (a change gives a new model name, like every other model input)."
  type        = map(string)
  default     = {}
}

variable "enable_data_capture" {
  description = "Capture requests and responses to the data bucket (realtime mode only)."
  type        = bool
  default     = false
}

variable "data_capture_sampling_percentage" {
  description = "Percentage of requests captured when data capture is on."
  type        = number
  default     = 100
}

variable "tags" {
  description = "Tags added to the resources."
  type        = map(string)
  default     = {}
}
