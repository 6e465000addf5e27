# The registry of trained models: every `make train BACKEND=sagemaker` and `make publish`
# registers a version here, PendingManualApproval; `make approve` approves one after comparing
# it with the current champion. Named <name_prefix> exactly, so the deploy role's policy can
# name this one group and its versions (model-package/<name>/<version>).
resource "aws_sagemaker_model_package_group" "this" {
  model_package_group_name        = var.name
  model_package_group_description = var.description
}
