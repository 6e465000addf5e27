variable "bucket_prefix" {
  description = "Prefix of the bucket name; S3 appends a unique suffix."
  type        = string
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket even when it still holds objects (training data, model artifacts)."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which a replaced (noncurrent) object version is deleted."
  type        = number
  default     = 30
}

variable "abort_incomplete_multipart_days" {
  description = "Days after which an unfinished multipart upload is aborted."
  type        = number
  default     = 7
}

variable "tags" {
  description = "Tags added to the bucket."
  type        = map(string)
  default     = {}
}
