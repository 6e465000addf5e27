terraform {
  required_version = ">= 1.7" # mock_provider in terraform test needs 1.7

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }
}
