# Everything the module offers, with the provider configured for a real account.
#
#   just build                     # writes dist/lambda/{manifest.json, <arch>/*.zip}
#   terraform init && terraform apply

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Environment = "production"
      Owner       = "platform-team"
    }
  }
}

module "monitoring" {
  source = "../../terraform"

  name_prefix  = "appmon"
  alarm_emails = var.alarm_emails
  tags = {
    CostCenter = "observability"
  }

  lambda_package_dir  = var.lambda_package_dir
  lambda_architecture = "arm64"
  lambda_reserved_concurrency = {
    "log-processor"    = 50
    "metrics-api"      = 20
    "runbook-executor" = 5
  }

  log_retention_days   = 90
  logs_prefix          = "app-logs/"
  logs_transition_days = 30
  logs_expiration_days = 365

  cors_allowed_origins            = ["https://dashboard.example.com"]
  api_throttle_rate_limit         = 100
  api_throttle_burst_limit        = 200
  manage_api_gateway_account_role = true

  alarm_thresholds = {
    "api-5xx-rate"    = 2
    "api-latency-p99" = 1500
  }

  # The applications' own health. Each service here is published to CloudWatch
  # (<name_prefix>/Services, dimension ServiceName) and gets every service alarm of
  # monitoring.toml: error rate, p99 latency, a traffic-drop anomaly band and the 99.9 %
  # availability SLO (paging burn-rate alerts + a ticket). Per service, an alarm can be
  # switched off or given its own threshold (for the SLO: the target).
  services = {
    checkout = {
      alarms = {
        "error-rate"   = { threshold = 2 }
        "availability" = { threshold = 99.95 }
      }
    }
    search = {
      alarms = {
        "traffic-drop" = { enabled = false }
      }
    }
  }
}
