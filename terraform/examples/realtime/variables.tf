variable "region" {
  description = "AWS region of every resource."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "churn-rt"
}

variable "model_data_url" {
  description = "S3 URL of the trained model.tar.gz (uploaded to the data bucket by `make publish`)."
  type        = string
}

variable "instance_type" {
  description = "Instance type of the endpoint; a change creates a new endpoint before the old one goes."
  type        = string
  default     = "ml.m5.large"
}
