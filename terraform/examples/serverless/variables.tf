variable "region" {
  description = "AWS region of every resource."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "churn-sls"
}

# The model handoff: `make train package` writes these to build/model.auto.tfvars.json
# (pass it with -var-file).
variable "model_data_url" {
  description = "S3 URL of the trained model.tar.gz (uploaded to the data bucket by `make publish`)."
  type        = string
}

variable "decision_cutoff" {
  description = "Churn probability at or above which the API answers will_churn = true."
  type        = number
}

variable "lambda_zip_path" {
  description = "Path of the invoker's zip (`make package` builds build/invoker.zip)."
  type        = string
}

variable "lambda_zip_sha256" {
  description = "Base64-encoded SHA-256 of the zip."
  type        = string
}

variable "allowed_origin" {
  description = "The one browser origin the API admits through CORS (https://host), for a page served elsewhere; null: no CORS."
  type        = string
  default     = null
}
