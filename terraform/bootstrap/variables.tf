variable "region" {
  description = "AWS region of the state bucket and of the stack the deploy role may manage."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like us-east-1."
  }
}

variable "name_prefix" {
  description = "The stack's name_prefix (make NAME=): the deploy role may manage resources named with it only."
  type        = string
  default     = "churn"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,14}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-16 characters of a-z, 0-9 and '-', start with a letter and not end with '-'."
  }
}

variable "tags" {
  description = "Extra tags for every resource (added to Project and ManagedBy)."
  type        = map(string)
  default     = {}
}

variable "state_noncurrent_days" {
  description = "Days an overwritten state version is kept (versioning is the way back from a bad apply)."
  type        = number
  default     = 90

  validation {
    condition     = var.state_noncurrent_days >= 1 && floor(var.state_noncurrent_days) == var.state_noncurrent_days
    error_message = "state_noncurrent_days must be a whole number of at least 1."
  }
}

variable "github_repository" {
  description = "GitHub repository (owner/name) whose deploy workflow may assume the deploy role. Null creates no OIDC provider and no role."
  type        = string
  default     = null

  validation {
    condition     = var.github_repository == null || can(regex("^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$", var.github_repository))
    error_message = "github_repository must be owner/name, e.g. octo-org/churn."
  }
}

variable "github_environment" {
  description = "GitHub environment the deploy and destroy jobs run in; the role trusts tokens of that environment only (protect it with required reviewers)."
  type        = string
  default     = "aws"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,255}$", var.github_environment))
    error_message = "github_environment must be an environment name (letters, digits, '.', '_', '-')."
  }
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC identity provider. False when the account already has one (there can be only one per URL): it is then looked up."
  type        = bool
  default     = true
}
