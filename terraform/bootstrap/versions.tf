terraform {
  # use_lockfile (S3-native state locking) in the backend this root prepares needs 1.10.
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.81.0 made aws_iam_openid_connect_provider's thumbprint_list optional (#37255); github.tf
      # sets none, which older releases reject as a missing required argument.
      version = ">= 5.81, < 6.0"
    }
  }
}
