# This root keeps its own state locally (terraform/bootstrap/terraform.tfstate): it creates
# the bucket every other state lives in, so it cannot live there itself. It is applied once
# per account by someone with administrator rights; keep the state file (or re-import).
provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Project = var.name_prefix, ManagedBy = "terraform-bootstrap" }, var.tags)
  }
}
