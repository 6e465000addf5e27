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
  from_package = var.model_package_arn != null
  model_spec = {
    execution_role_arn       = local.role_arn
    enable_network_isolation = !local.serverless
    # From a registry version, the package's own container (image, model data, environment) is
    # the model's: CreateModel takes ModelPackageName instead of them.
    primary_container = {
      image              = local.from_package ? null : local.image
      model_data_url     = local.from_package ? null : var.model_data_url
      model_package_name = var.model_package_arn
      mode               = "SingleModel"
      environment        = local.from_package || length(var.container_environment) == 0 ? null : var.container_environment
    }
  }
  model_name = local.create ? "${var.name_prefix}-model-${substr(sha1(jsonencode(local.model_spec)), 0, 8)}" : null

  # Deployment guardrails: a model change is a blue/green UpdateEndpoint that SageMaker rolls back
  # when a rollback alarm fires. Realtime only: guardrails apply to real-time and asynchronous
  # endpoints (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails.html, Note),
  # so a serverless update stays SageMaker's default (blue/green, all at once, no baking). No
  # alarms, no guardrails: the alarms are what a baking period watches
  # (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html).
  guarded         = !local.serverless && length(var.rollback_alarm_names) > 0
  rollback_alarms = local.create && local.guarded ? var.rollback_alarm_names : []

  # The canary may be at most half the variant's instances (TrafficRoutingConfig.CanarySize); a
  # configuration change brings the variant back to instance_count. Below two canaries' worth,
  # the traffic shifts all at once, watched by the same alarms for the same baking period.
  canary = var.instance_count >= 2 * var.rollout_canary_instances

  # The provider waits 60 minutes for an updated endpoint to be InService (waitEndpointInService,
  # terraform-provider-aws v5.100.0 internal/service/sagemaker/endpoint.go) and then fails the
  # apply. SageMaker gives up on the deployment at MaximumExecutionTimeoutInSeconds (longer than
  # the waits it holds, API_BlueGreenUpdatePolicy) and rolls back: both must fit in that hour.
  provider_update_wait_s  = 3600
  green_fleet_allowance_s = 1200 # the new fleet's instances start and load the model (minutes)
  rollback_allowance_s    = 600  # traffic back to the still-running old fleet, the new one torn down
  rollout_timeout_s       = var.rollout_wait_interval_s + var.rollout_termination_wait_s + local.green_fleet_allowance_s

  # The endpoint's name carries what SageMaker (or the provider) cannot change in place:
  # serverless <-> realtime (UpdateEndpoint rejects the switch), while autoscaling is registered
  # the instance type, and whether rollback alarms guard it (the provider replaces an endpoint
  # whose auto_rollback_configuration changes, and a replacement under the same name fails).
  # A change gives a new endpoint, created before the old one is destroyed; the invoker's
  # ENDPOINT_NAME and policy follow it.
  endpoint_kind = local.serverless ? "serverless" : "rt-${replace(trimprefix(var.instance_type, "ml."), ".", "-")}${local.guarded ? "" : "-unguarded"}"
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

  # SageMaker reads the rollback alarms with this role during a guarded update
  # (deployment-guardrails-configuration.html, Note): these alarms, nothing else.
  dynamic "statement" {
    for_each = length(local.rollback_alarms) > 0 ? [1] : []

    content {
      sid       = "ReadRollbackAlarms"
      actions   = ["cloudwatch:DescribeAlarms"]
      resources = [for name in local.rollback_alarms : "arn:${data.aws_partition.this.partition}:cloudwatch:${data.aws_region.this.name}:${local.account_id}:alarm:${name}"]
    }
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
    image              = local.model_spec.primary_container.image
    model_data_url     = local.model_spec.primary_container.model_data_url
    model_package_name = local.model_spec.primary_container.model_package_name
    mode               = local.model_spec.primary_container.mode
    environment        = local.model_spec.primary_container.environment
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

  # A new model is a new configuration and an in-place UpdateEndpoint: SageMaker brings up the new
  # (green) fleet beside the old (blue) one, shifts traffic (a canary first when the fleet allows),
  # bakes, and rolls everything back to blue if a rollback alarm fires on the way.
  dynamic "deployment_config" {
    for_each = local.guarded ? [1] : []

    content {
      blue_green_update_policy {
        traffic_routing_configuration {
          type                     = local.canary ? "CANARY" : "ALL_AT_ONCE"
          wait_interval_in_seconds = var.rollout_wait_interval_s

          # Whole instances, not a share: the 50 % limit is checked exactly, and a share of a
          # small fleet has no documented rounding.
          dynamic "canary_size" {
            for_each = local.canary ? [1] : []

            content {
              type  = "INSTANCE_COUNT"
              value = var.rollout_canary_instances
            }
          }
        }

        termination_wait_in_seconds          = var.rollout_termination_wait_s
        maximum_execution_timeout_in_seconds = local.rollout_timeout_s
      }

      auto_rollback_configuration {
        dynamic "alarms" {
          for_each = toset(var.rollback_alarm_names)

          content {
            alarm_name = alarms.value
          }
        }
      }
    }
  }

  lifecycle {
    # A new name (mode, instance type or guardrails changed) is a new endpoint: up before the old one goes.
    create_before_destroy = true

    precondition {
      condition     = !local.guarded || local.rollout_timeout_s + local.rollback_allowance_s <= local.provider_update_wait_s
      error_message = "A guarded update may take rollout_wait_interval_s + rollout_termination_wait_s + ${local.green_fleet_allowance_s} s for the new fleet (${local.rollout_timeout_s} s), plus ${local.rollback_allowance_s} s to roll back: over the provider's ${local.provider_update_wait_s} s wait for UpdateEndpoint. Shorten the waits."
    }

    # SageMaker rolls a guarded update back by itself and the endpoint is InService again, on the
    # old configuration; the provider reads that back after UpdateEndpoint but reports success
    # (terraform-provider-aws#48997). Failing here stops the apply before create_before_destroy
    # deletes the old configuration and model the endpoint still runs: they stay in the state
    # (deposed) until an apply whose update succeeds. `make apply` then says what happened.
    postcondition {
      condition     = self.endpoint_config_name == aws_sagemaker_endpoint_configuration.this[0].name
      error_message = "SageMaker rolled endpoint ${self.name} back to configuration ${self.endpoint_config_name} (Terraform applied ${aws_sagemaker_endpoint_configuration.this[0].name}): a rollback alarm fired, or the new fleet did not come up. The old configuration and model are kept. Runbook: docs/operations.md, Guarded rollouts."
    }
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
