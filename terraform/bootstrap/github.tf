# GitHub Actions deploys without stored keys: the workflow exchanges its OIDC token for
# this role's credentials. Trust: the token's audience is sts.amazonaws.com (what
# aws-actions/configure-aws-credentials requests) and its subject is exactly this
# repository's environment, repo:<owner>/<name>:environment:<env>.
# https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services

locals {
  github      = var.github_repository != null
  oidc_host   = "token.actions.githubusercontent.com"
  oidc_arn    = local.github ? (var.create_github_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn) : null
  github_sub  = "repo:${coalesce(var.github_repository, "-/-")}:environment:${var.github_environment}"
  arn_prefix  = "arn:${local.partition}"
  region_acct = "${var.region}:${local.account_id}"
  p           = var.name_prefix
}

# No thumbprint_list: IAM trusts GitHub's OIDC endpoint through its own library of root
# CAs, and the argument is optional from provider 5.x on.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc_verify-thumbprint.html
resource "aws_iam_openid_connect_provider" "github" {
  count = local.github && var.create_github_oidc_provider ? 1 : 0

  url            = "https://${local.oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_openid_connect_provider" "github" {
  count = local.github && !var.create_github_oidc_provider ? 1 : 0

  url = "https://${local.oidc_host}"
}

data "aws_iam_policy_document" "trust" {
  count = local.github ? 1 : 0

  statement {
    sid     = "GitHubEnvironmentOnly"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    # StringEquals, not StringLike: no wildcard, so no other repository, branch, pull
    # request or environment of this repository matches.
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = [local.github_sub]
    }
  }
}

# Not "<name_prefix>-…": the role may manage "<name_prefix>-*" roles and must not be able
# to rewrite its own policy.
resource "aws_iam_role" "deploy" {
  count = local.github ? 1 : 0

  name                 = "github-deploy-${var.name_prefix}"
  description          = "Assumed by ${var.github_repository}'s ${var.github_environment} environment to deploy and destroy the ${var.name_prefix} stack"
  assume_role_policy   = data.aws_iam_policy_document.trust[0].json
  max_session_duration = 3600 * 2
}

# What the stack's apply, SageMaker training, smoke test and destroy call, limited to the
# resources named with name_prefix wherever the service lets an ARN say so. Where it does
# not (ids chosen by AWS: HTTP APIs, CloudFront distributions and policies, autoscaling
# targets), the statement names the service's resource type in this account and region:
# docs/team.md's "Where least privilege stops" explains each.
data "aws_iam_policy_document" "deploy" {
  count = local.github ? 1 : 0


  # The S3 backend also lists "<workspace_key_prefix>/" (env:/) on every init, plan and apply
  # to find the workspaces; denied, init fails. The rehearsal's permission check found it.
  statement {
    sid       = "StateBucketList"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.state_key_prefix}*", "env:/"]
    }
  }

  statement {
    sid       = "StateObjectsAndLockFile"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.state.arn}/${local.state_key_prefix}*"]
  }

  statement {
    sid       = "StackBuckets"
    actions   = ["s3:*"]
    resources = ["${local.arn_prefix}:s3:::${local.p}-*", "${local.arn_prefix}:s3:::${local.p}-*/*"]
  }

  statement {
    sid = "StackRoles"
    actions = [
      "iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy",
      "iam:TagRole", "iam:UntagRole", "iam:ListRoleTags",
      "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy", "iam:ListRolePolicies",
      "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole",
    ]
    resources = ["${local.arn_prefix}:iam::${local.account_id}:role/${local.p}-*"]
  }

  statement {
    sid       = "PassStackRolesToTheirServices"
    actions   = ["iam:PassRole"]
    resources = ["${local.arn_prefix}:iam::${local.account_id}:role/${local.p}-*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["sagemaker.amazonaws.com", "lambda.amazonaws.com"]
    }
  }

  statement {
    sid       = "AutoscalingServiceLinkedRole"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["${local.arn_prefix}:iam::${local.account_id}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/*"]

    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values   = ["sagemaker.application-autoscaling.amazonaws.com"]
    }
  }

  statement {
    sid     = "StackSageMaker"
    actions = ["sagemaker:*"]
    resources = [
      for kind in ["model", "endpoint-config", "endpoint", "training-job", "hyper-parameter-tuning-job", "transform-job"] :
      "${local.arn_prefix}:sagemaker:${local.region_acct}:${kind}/${local.p}-*"
    ]
  }

  # The model registry: Terraform manages the group named <name_prefix> (not <name_prefix>-*,
  # so no sagemaker:* here), and training registers versions in it (model-package/<group>/<n>).
  # Approving a version is a person's decision (make approve), not the deploy's: no
  # UpdateModelPackage.
  statement {
    sid = "StackModelPackageGroup"
    actions = [
      "sagemaker:CreateModelPackageGroup", "sagemaker:DescribeModelPackageGroup", "sagemaker:DeleteModelPackageGroup",
      "sagemaker:AddTags", "sagemaker:ListTags", "sagemaker:DeleteTags",
    ]
    resources = ["${local.arn_prefix}:sagemaker:${local.region_acct}:model-package-group/${local.p}"]
  }

  # DeleteModelPackage: make destroy deletes the versions first (SageMaker refuses to delete a
  # group that has any).
  statement {
    sid       = "StackModelPackages"
    actions   = ["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage", "sagemaker:DeleteModelPackage"]
    resources = ["${local.arn_prefix}:sagemaker:${local.region_acct}:model-package/${local.p}/*"]
  }

  # ListModelPackages takes no resource (Service Authorization Reference): it lists names only.
  statement {
    sid       = "ModelPackageListing"
    actions   = ["sagemaker:ListModelPackages"]
    resources = ["*"]
  }

  statement {
    sid       = "StackLambda"
    actions   = ["lambda:*"]
    resources = ["${local.arn_prefix}:lambda:${local.region_acct}:function:${local.p}-*"]
  }

  statement {
    sid     = "StackLogGroups"
    actions = ["logs:*"]
    resources = flatten([
      for group in ["/aws/lambda/${local.p}-*", "/aws/apigateway/${local.p}-*", "/aws/sagemaker/*"] : [
        "${local.arn_prefix}:logs:${local.region_acct}:log-group:${group}",
        "${local.arn_prefix}:logs:${local.region_acct}:log-group:${group}:*",
      ]
    ])
  }

  # An HTTP API stage with access logs: API Gateway sets up the log delivery with the caller's
  # rights, and these actions take no resource ("Configuring logging for an HTTP API", API
  # Gateway developer guide). Without them CreateStage fails: "Insufficient permissions to
  # enable logging".
  statement {
    sid = "HttpApiAccessLogDelivery"
    actions = [
      "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "LogGroupListing"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["*"]
  }

  statement {
    sid       = "StackAlarmsAndDashboards"
    actions   = ["cloudwatch:*"]
    resources = ["${local.arn_prefix}:cloudwatch:${local.region_acct}:alarm:${local.p}-*", "${local.arn_prefix}:cloudwatch::${local.account_id}:dashboard/${local.p}-*"]
  }

  # Realtime mode: a target tracking policy's alarms are created and deleted by Application
  # Auto Scaling with the caller's rights, named TargetTracking-<resource id>-AlarmHigh/Low-…
  # (Application Auto Scaling user guide, identity-based policy examples).
  statement {
    sid       = "AutoscalingTargetTrackingAlarms"
    actions   = ["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"]
    resources = ["${local.arn_prefix}:cloudwatch:${local.region_acct}:alarm:TargetTracking-endpoint/${local.p}-*"]
  }

  statement {
    sid       = "StackTopics"
    actions   = ["sns:*"]
    resources = ["${local.arn_prefix}:sns:${local.region_acct}:${local.p}-*"]
  }

  # HTTP API ids are chosen by AWS: the region's APIs, not a name.
  statement {
    sid       = "HttpApis"
    actions   = ["apigateway:GET", "apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE", "apigateway:TagResource", "apigateway:UntagResource"]
    resources = ["${local.arn_prefix}:apigateway:${var.region}::/apis", "${local.arn_prefix}:apigateway:${var.region}::/apis/*", "${local.arn_prefix}:apigateway:${var.region}::/tags/*"]
  }

  # CloudFront is global and its ids are chosen by AWS: the account's distributions,
  # origin access controls and response headers policies.
  statement {
    sid = "CloudFrontSite"
    actions = [
      "cloudfront:CreateDistribution", "cloudfront:CreateDistributionWithTags", "cloudfront:GetDistribution", "cloudfront:GetDistributionConfig",
      "cloudfront:UpdateDistribution", "cloudfront:DeleteDistribution", "cloudfront:TagResource", "cloudfront:UntagResource", "cloudfront:ListTagsForResource",
      "cloudfront:CreateOriginAccessControl", "cloudfront:GetOriginAccessControl", "cloudfront:UpdateOriginAccessControl", "cloudfront:DeleteOriginAccessControl",
      "cloudfront:CreateResponseHeadersPolicy", "cloudfront:GetResponseHeadersPolicy", "cloudfront:UpdateResponseHeadersPolicy", "cloudfront:DeleteResponseHeadersPolicy",
      "cloudfront:ListDistributions", "cloudfront:ListOriginAccessControls", "cloudfront:ListResponseHeadersPolicies", "cloudfront:GetCachePolicy",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "RealtimeEndpointAutoscaling"
    actions   = ["application-autoscaling:*"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "deploy" {
  count = local.github ? 1 : 0

  name   = "deploy-${var.name_prefix}"
  role   = aws_iam_role.deploy[0].id
  policy = data.aws_iam_policy_document.deploy[0].json
}
