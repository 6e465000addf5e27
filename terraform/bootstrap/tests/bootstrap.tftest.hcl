# The bootstrap root: a private, versioned, encrypted, TLS-only state bucket and, for a
# GitHub repository, the OIDC provider and a deploy role pinned to repo + environment.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan # every run is a plan: the mocked values must exist then
}

run "state_bucket_alone" {
  command = plan

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.state.block_public_acls,
      aws_s3_bucket_public_access_block.state.block_public_policy,
      aws_s3_bucket_public_access_block.state.ignore_public_acls,
      aws_s3_bucket_public_access_block.state.restrict_public_buckets,
    ])
    error_message = "The state bucket must block every kind of public access."
  }

  assert {
    condition     = one(aws_s3_bucket_versioning.state.versioning_configuration).status == "Enabled"
    error_message = "The state bucket must be versioned (the way back from a bad apply)."
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.state.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
    error_message = "The state bucket must be encrypted with SSE-KMS."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.state_bucket.statement :
      s.effect == "Deny" && contains(s.actions, "s3:*") && anytrue([
        for c in s.condition : c.test == "Bool" && c.variable == "aws:SecureTransport" && contains(c.values, "false")
      ])
    ])
    error_message = "The state bucket policy must deny requests not made over TLS."
  }

  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.state.rule).noncurrent_version_expiration[0].noncurrent_days == 90
    error_message = "Old state versions must be kept 90 days by default, then expire."
  }

  assert {
    condition     = startswith(aws_s3_bucket.state.bucket_prefix, "tfstate-churn-") && !startswith(aws_s3_bucket.state.bucket_prefix, "churn-")
    error_message = "The state bucket must not match <name_prefix>-*, the buckets the deploy role may manage."
  }

  assert {
    condition     = length(aws_iam_role.deploy) == 0 && length(aws_iam_openid_connect_provider.github) == 0 && output.deploy_role_arn == null
    error_message = "Without github_repository there must be no OIDC provider and no role."
  }

  assert {
    condition     = output.state_bucket == "tfstate-churn-20250101000000000000000001" && output.state_key == "churn/terraform.tfstate" && output.region == "us-east-1"
    error_message = "The outputs must give the backend's bucket, key and region."
  }
}

run "github_deploy_role" {
  command = plan

  variables {
    github_repository  = "octo-org/churn"
    github_environment = "aws"
  }

  assert {
    condition = (
      aws_iam_openid_connect_provider.github[0].url == "https://token.actions.githubusercontent.com" &&
      aws_iam_openid_connect_provider.github[0].client_id_list == toset(["sts.amazonaws.com"])
    )
    error_message = "The OIDC provider must be GitHub's, for the audience sts.amazonaws.com."
  }

  assert {
    condition = (
      length(data.aws_iam_policy_document.trust[0].statement) == 1 &&
      one(data.aws_iam_policy_document.trust[0].statement).actions == toset(["sts:AssumeRoleWithWebIdentity"]) &&
      [for p in one(data.aws_iam_policy_document.trust[0].statement).principals : [p.type, p.identifiers]] ==
      [["Federated", toset(["arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"])]]
    )
    error_message = "The role must trust only web identities of the GitHub OIDC provider."
  }

  assert {
    condition = (
      { for c in one(data.aws_iam_policy_document.trust[0].statement).condition : c.variable => [c.test, c.values] } ==
      {
        "token.actions.githubusercontent.com:aud" = ["StringEquals", tolist(["sts.amazonaws.com"])]
        "token.actions.githubusercontent.com:sub" = ["StringEquals", tolist(["repo:octo-org/churn:environment:aws"])]
      }
    )
    error_message = "The trust must be pinned (StringEquals, no wildcard) to aud sts.amazonaws.com and sub repo:octo-org/churn:environment:aws."
  }

  assert {
    condition     = output.github_subject == "repo:octo-org/churn:environment:aws" && output.deploy_role_arn == "arn:aws:iam::123456789012:role/github-deploy-churn"
    error_message = "The outputs must give the trusted subject and the role ARN."
  }

  assert {
    condition     = !startswith(aws_iam_role.deploy[0].name, "churn-") && aws_iam_role_policy.deploy[0].role == aws_iam_role.deploy[0].id
    error_message = "The deploy role must not match <name_prefix>-* (the roles it may change), so it cannot rewrite its own policy."
  }

  assert {
    condition = alltrue(flatten([
      for s in data.aws_iam_policy_document.deploy[0].statement : [
        for a in s.actions : a != "*" && a != "iam:*" && a != "s3:*" || s.sid == "StackBuckets"
      ]
    ]))
    error_message = "No statement may grant every action, or every IAM action; s3:* only on the stack's buckets."
  }

  assert {
    condition = alltrue(flatten([
      for s in data.aws_iam_policy_document.deploy[0].statement : [
        for r in s.resources : strcontains(r, "churn") || strcontains(r, "/aws/sagemaker/") || contains(["LogGroupListing", "HttpApiAccessLogDelivery", "HttpApis", "CloudFrontSite", "RealtimeEndpointAutoscaling", "AutoscalingServiceLinkedRole", "ModelPackageListing"], s.sid)
      ]
    ]))
    error_message = "Every statement must name the stack's resources (name_prefix or the state bucket), except the listed ones whose ids AWS chooses."
  }

  assert {
    condition = (
      [for s in data.aws_iam_policy_document.deploy[0].statement : s.resources if s.sid == "StackBuckets"] ==
      [toset(["arn:aws:s3:::churn-*", "arn:aws:s3:::churn-*/*"])]
    )
    error_message = "S3 rights must be limited to the stack's <name_prefix>-* buckets."
  }

  assert {
    condition = (
      [for s in data.aws_iam_policy_document.deploy[0].statement : s.resources if s.sid == "StateObjectsAndLockFile"] ==
      [toset(["arn:aws:s3:::tfstate-churn-20250101000000000000000001/churn/*"])]
    )
    error_message = "The role may read and write only this stack's state (and its lock file) in the state bucket."
  }

  assert {
    condition = (
      { for s in data.aws_iam_policy_document.deploy[0].statement : s.sid => [s.actions, s.resources] if startswith(s.sid, "StackModelPackage") || s.sid == "ModelPackageListing" } ==
      {
        StackModelPackageGroup = [
          toset(["sagemaker:CreateModelPackageGroup", "sagemaker:DescribeModelPackageGroup", "sagemaker:DeleteModelPackageGroup", "sagemaker:AddTags", "sagemaker:ListTags", "sagemaker:DeleteTags"]),
          toset(["arn:aws:sagemaker:us-east-1:123456789012:model-package-group/churn"]),
        ]
        StackModelPackages = [
          toset(["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage", "sagemaker:DeleteModelPackage"]),
          toset(["arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/*"]),
        ]
        ModelPackageListing = [toset(["sagemaker:ListModelPackages"]), toset(["*"])]
      }
    )
    error_message = "The registry rights must be the group named name_prefix (create, read, delete, tags), registering and deleting its versions and listing them; no approval, no other group."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.deploy[0].statement :
      anytrue([for c in s.condition : c.variable == "iam:PassedToService" && toset(c.values) == toset(["sagemaker.amazonaws.com", "lambda.amazonaws.com"])])
      if contains(s.actions, "iam:PassRole")
    ])
    error_message = "iam:PassRole must be limited to SageMaker and Lambda."
  }
}

run "existing_oidc_provider_is_looked_up" {
  command = plan

  variables {
    github_repository           = "octo-org/churn"
    create_github_oidc_provider = false
  }

  assert {
    condition     = length(aws_iam_openid_connect_provider.github) == 0 && output.oidc_provider_arn == data.aws_iam_openid_connect_provider.github[0].arn
    error_message = "With create_github_oidc_provider = false the account's provider must be looked up, not created."
  }

  assert {
    condition     = output.github_subject == "repo:octo-org/churn:environment:aws"
    error_message = "The default environment must be aws."
  }
}

run "rejects_a_repository_pattern" {
  command = plan

  variables {
    github_repository = "octo-org/*"
  }

  expect_failures = [var.github_repository]
}

run "rejects_an_environment_wildcard" {
  command = plan

  variables {
    github_repository  = "octo-org/churn"
    github_environment = "*"
  }

  expect_failures = [var.github_environment]
}
