locals {
  create      = var.model_data_url != null
  serverless  = var.mode == "serverless"
  capture     = local.create && !local.serverless && var.enable_data_capture
  variant     = "AllTraffic"
  image       = var.image_uri != null ? var.image_uri : data.aws_sagemaker_prebuilt_ecr_image.this[0].registry_path
  account_id  = data.aws_caller_identity.this.account_id
  bucket_objs = "${var.data_bucket_arn}/"

  # <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]
  image_parts = regex("^([0-9]{12})\\.dkr\\.ecr\\.([a-z0-9-]+)\\.amazonaws\\.com(?:\\.cn)?/([^:@]+)", local.image)
  image_repository_arn = format(
    "arn:%s:ecr:%s:%s:repository/%s",
    data.aws_partition.this.partition, local.image_parts[1], local.image_parts[0], local.image_parts[2],
  )

  # s3://bucket/key/model.tar.gz -> arn:aws:s3:::bucket/key/model.tar.gz
  model_object_arn = local.create ? format("arn:%s:s3:::%s", data.aws_partition.this.partition, trimprefix(var.model_data_url, "s3://")) : null

  # The role's ARN, known at plan time (account + path + name), so the model name below is too.
  role_arn = format("arn:%s:iam::%s:role%s%s", data.aws_partition.this.partition, local.account_id, aws_iam_role.this.path, aws_iam_role.this.name)

  # Every argument of aws_sagemaker_model forces a replacement (SageMaker has no UpdateModel;
  # the provider marks them all ForceNew), and the replacement is created before the old model
  # is destroyed. So the name hashes the whole request: any change of any input gives a new
  # name, never "Cannot create already existing model". Network isolation only where AWS
  # supports it: realtime endpoints (and batch transform); serverless endpoints reject it.
  model_spec = {
    execution_role_arn       = local.role_arn
    enable_network_isolation = !local.serverless
    primary_container = {
      image          = local.image
      model_data_url = var.model_data_url
      mode           = "SingleModel"
      environment    = length(var.container_environment) > 0 ? var.container_environment : null
    }
  }
  model_name = local.create ? "${var.name_prefix}-model-${substr(sha1(jsonencode(local.model_spec)), 0, 8)}" : null

  # The endpoint's name carries what SageMaker cannot change in place: serverless <-> realtime
  # (UpdateEndpoint rejects the switch) and, while autoscaling is registered, the instance type.
  # A change gives a new endpoint, created before the old one is destroyed; the invoker's
  # ENDPOINT_NAME and policy follow it.
  endpoint_kind = local.serverless ? "serverless" : "rt-${replace(trimprefix(var.instance_type, "ml."), ".", "-")}"
  endpoint_name = "${var.name_prefix}-${local.endpoint_kind}"
}

data "aws_partition" "this" {}

data "aws_region" "this" {}

data "aws_caller_identity" "this" {}

data "aws_sagemaker_prebuilt_ecr_image" "this" {
  count = var.image_uri == null ? 1 : 0

  repository_name = var.image_repository
  image_tag       = var.image_tag
}

################################################################################
# Execution role (also usable by training jobs: reads data/, writes models/)
################################################################################

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }

    # Confused-deputy guard: SageMaker may assume the role only on behalf of this account
    # (training and tuning jobs, models, transform jobs: hence the account, not one ARN).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name_prefix}-sagemaker"
  path               = "/"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "ListOwnPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [var.data_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.training_data_prefix}*", "${var.artifact_prefix}*"]
    }
  }

  statement {
    sid     = "ReadTrainingDataAndModel"
    actions = ["s3:GetObject"]
    resources = compact([
      "${local.bucket_objs}${var.training_data_prefix}*",
      "${local.bucket_objs}${var.artifact_prefix}*",
      local.model_object_arn,
    ])
  }

  statement {
    sid       = "WriteModelArtifacts"
    actions   = ["s3:PutObject"]
    resources = ["${local.bucket_objs}${var.artifact_prefix}*"]
  }

  dynamic "statement" {
    for_each = local.capture ? [1] : []

    content {
      sid       = "WriteCapturedData"
      actions   = ["s3:PutObject"]
      resources = ["${local.bucket_objs}${var.capture_prefix}*"]
    }
  }

  statement {
    sid       = "EcrAuth"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "EcrPullImage"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    resources = [local.image_repository_arn]
  }

  statement {
    sid = "Logs"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:DescribeLogStreams",
      "logs:PutLogEvents",
    ]
    resources = [
      "arn:${data.aws_partition.this.partition}:logs:${data.aws_region.this.name}:*:log-group:/aws/sagemaker/*",
      "arn:${data.aws_partition.this.partition}:logs:${data.aws_region.this.name}:*:log-group:/aws/sagemaker/*:log-stream:*",
    ]
  }

  statement {
    sid       = "Metrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringLike"
      variable = "cloudwatch:namespace"
      values   = ["/aws/sagemaker/*", "aws/sagemaker/*"]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name_prefix}-sagemaker"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

################################################################################
# Model, endpoint configuration, endpoint
################################################################################

resource "aws_sagemaker_model" "this" {
  #checkov:skip=CKV_AWS_370: serverless endpoints do not support network isolation (CreateEndpoint fails); realtime models are isolated
  count = local.create ? 1 : 0

  name                     = local.model_name
  execution_role_arn       = local.model_spec.execution_role_arn
  enable_network_isolation = local.model_spec.enable_network_isolation

  primary_container {
    image          = local.model_spec.primary_container.image
    model_data_url = local.model_spec.primary_container.model_data_url
    mode           = local.model_spec.primary_container.mode
    environment    = local.model_spec.primary_container.environment
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [aws_iam_role_policy.this]
}

resource "aws_sagemaker_endpoint_configuration" "this" {
  #checkov:skip=CKV_AWS_98: serverless variants do not accept a KMS key (KmsKeyId); SageMaker encrypts the storage with its own key
  count = local.create ? 1 : 0

  name_prefix = "${var.name_prefix}-"

  production_variants {
    variant_name           = local.variant
    model_name             = aws_sagemaker_model.this[0].name
    initial_instance_count = local.serverless ? null : var.instance_count
    instance_type          = local.serverless ? null : var.instance_type
    initial_variant_weight = 1

    dynamic "serverless_config" {
      for_each = local.serverless ? [1] : []

      content {
        memory_size_in_mb = var.serverless_memory_mb
        max_concurrency   = var.serverless_max_concurrency
      }
    }
  }

  dynamic "data_capture_config" {
    for_each = local.capture ? [1] : []

    content {
      enable_capture              = true
      initial_sampling_percentage = var.data_capture_sampling_percentage
      destination_s3_uri          = "s3://${var.data_bucket_name}/${var.capture_prefix}"

      capture_options {
        capture_mode = "Input"
      }

      capture_options {
        capture_mode = "Output"
      }

      capture_content_type_header {
        csv_content_types  = ["text/csv"]
        json_content_types = ["application/json"]
      }
    }
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = !(local.serverless && var.enable_data_capture)
      error_message = "Data capture is only available in realtime mode; set enable_data_capture = false or mode = \"realtime\"."
    }
  }
}

resource "aws_sagemaker_endpoint" "this" {
  count = local.create ? 1 : 0

  name                 = local.endpoint_name
  endpoint_config_name = aws_sagemaker_endpoint_configuration.this[0].name
  tags                 = var.tags

  lifecycle {
    # A new name (mode or instance type changed) is a new endpoint: up before the old one goes.
    create_before_destroy = true
  }
}

################################################################################
# Autoscaling (realtime mode)
################################################################################

resource "aws_appautoscaling_target" "this" {
  count = local.create && !local.serverless ? 1 : 0

  service_namespace  = "sagemaker"
  resource_id        = "endpoint/${aws_sagemaker_endpoint.this[0].name}/variant/${local.variant}"
  scalable_dimension = "sagemaker:variant:DesiredInstanceCount"
  min_capacity       = var.instance_count
  max_capacity       = max(var.instance_count, var.autoscaling_max_instances)
}

resource "aws_appautoscaling_policy" "this" {
  count = local.create && !local.serverless ? 1 : 0

  name               = "${var.name_prefix}-invocations-per-instance"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  resource_id        = aws_appautoscaling_target.this[0].resource_id
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling_target_invocations
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "SageMakerVariantInvocationsPerInstance"
    }
  }
}
