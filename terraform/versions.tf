terraform {
  # use_lockfile (S3-native state locking, `make init` with STATE_BUCKET) needs 1.10; validations that
  # read other variables need 1.9, mock_provider in terraform test 1.7.
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }
}
