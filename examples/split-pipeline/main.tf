# Plan on one runner, apply on another: the functions' code comes from the S3 objects that
# `gen publish` uploaded, never from dist/ (README.md here; github-actions.yml is the pipeline).
#
#   gen package --out dist/lambda
#   gen publish --bucket <artifact bucket> --out examples/split-pipeline/lambda.auto.tfvars.json
#   terraform init -backend-config=...   && terraform plan -out=tfplan       # runner 1
#   terraform init -backend-config=...   && terraform apply tfplan           # runner 2

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
  # Both runners must see one state: a remote backend, configured at `terraform init`
  # (-backend-config=bucket=... key=... region=...; see github-actions.yml).
  backend "s3" {}
}

provider "aws" {
  region = var.region
}

module "monitoring" {
  source = "../../terraform"

  name_prefix  = var.name_prefix
  alarm_emails = var.alarm_emails

  # Every function from its published zip: bucket, content-addressed key, object version,
  # source_code_hash and architecture as manifest.json states them. With all three here the
  # module reads no manifest.json and no zip, so neither runner needs dist/.
  lambda_s3_code      = var.lambda_s3_code
  lambda_architecture = one(distinct([for c in values(var.lambda_s3_code) : c.architecture]))
}
