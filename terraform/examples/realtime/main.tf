# A realtime endpoint on its own: always-on instances with target-tracking autoscaling and
# data capture to the data bucket. Callers use the SageMaker runtime API
# (InvokeEndpoint) directly; the serverless example shows the Lambda and HTTP API in front.

provider "aws" {
  region = var.region
}

module "data_bucket" {
  source = "../../modules/data_bucket"

  bucket_prefix = "${var.name_prefix}-data-"
}

module "endpoint" {
  source = "../../modules/endpoint"

  name_prefix      = var.name_prefix
  data_bucket_arn  = module.data_bucket.bucket_arn
  data_bucket_name = module.data_bucket.bucket_name
  model_data_url   = var.model_data_url

  mode                           = "realtime"
  instance_type                  = var.instance_type
  instance_count                 = 1
  autoscaling_max_instances      = 3
  autoscaling_target_invocations = 200

  enable_data_capture              = true
  data_capture_sampling_percentage = 20
}
