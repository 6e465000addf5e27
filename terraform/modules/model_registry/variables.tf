variable "name" {
  description = "Name of the model package group (the stack's name_prefix); its versions' ARNs are model-package/<name>/<version>."
  type        = string

  validation {
    # SageMaker's own pattern for ModelPackageGroupName, at most 63 characters.
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", var.name))
    error_message = "name must be 1-63 letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "description" {
  description = "Description of the model package group."
  type        = string
  default     = "Churn models: each training run registers a version, pending manual approval."
}
