variable "aws_region" {
  type        = string
  description = "AWS region of the whole stack (the ECR repositories of aws_ecr must be in it)."
  default     = "us-east-1"
  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like us-east-1."
  }
}

variable "project" {
  type        = string
  description = "Project name: prefix of resource names, Project tag, and the ECR repositories' <project>/<image>."
  default     = "gaming-engagement"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.project))
    error_message = "project must be 3-31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "environment" {
  type        = string
  description = "Environment name (Environment tag, part of resource names)."
  default     = "prod"
  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.environment))
    error_message = "environment must be 2-10 lowercase letters or digits."
  }
}

variable "image_tag" {
  type        = string
  description = "Tag of the four images in ECR to deploy (repositories are immutable: never 'latest')."
  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", var.image_tag)) && var.image_tag != "latest"
    error_message = "image_tag must be a valid Docker tag other than 'latest' (e.g. a git commit)."
  }
}

variable "allowed_cidr_blocks" {
  type        = list(string)
  description = "Networks allowed to reach the load balancer (your office or VPN), e.g. [\"203.0.113.0/24\"]."
  validation {
    condition     = length(var.allowed_cidr_blocks) > 0 && alltrue([for cidr in var.allowed_cidr_blocks : can(cidrhost(cidr, 0))])
    error_message = "allowed_cidr_blocks must be a non-empty list of IPv4 CIDR blocks."
  }
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate for the load balancer: given = HTTPS listeners, empty = HTTP (trials only)."
  default     = ""
  validation {
    condition     = var.certificate_arn == "" || can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$", var.certificate_arn))
    error_message = "certificate_arn must be empty or an ACM certificate ARN."
  }
}

variable "vpc_cidr" {
  type        = string
  description = "CIDR block of the VPC (a /16 to /20; subnets are carved from it)."
  default     = "10.20.0.0/16"
  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be an IPv4 CIDR block of size /20 or larger."
  }
}

variable "one_nat_gateway_per_az" {
  type        = bool
  description = "One NAT gateway per availability zone (resilient, twice the cost) instead of one shared."
  default     = false
}

variable "mage_owner_email" {
  type        = string
  description = "Email of Mage's owner account (its password is generated into Secrets Manager)."
  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.mage_owner_email))
    error_message = "mage_owner_email must be an email address."
  }
}

variable "model_name" {
  type        = string
  description = "Registered model name in MLflow (MODEL_NAME and MLFLOW_EXPERIMENT_NAME)."
  default     = "gaming-engagement"
  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", var.model_name))
    error_message = "model_name must be 1-64 letters, digits, dots, hyphens or underscores."
  }
}

variable "prediction_desired_count" {
  type        = number
  description = "Number of prediction service tasks behind the load balancer."
  default     = 1
  validation {
    condition     = var.prediction_desired_count >= 1 && var.prediction_desired_count <= 10
    error_message = "prediction_desired_count must be between 1 and 10."
  }
}

variable "db_instance_class" {
  type        = string
  description = "RDS instance class of Mage's (and MLflow's) Postgres database."
  default     = "db.t4g.micro"
  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.db_instance_class))
    error_message = "db_instance_class must look like db.t4g.micro."
  }
}

variable "db_engine_version" {
  type        = string
  description = "Postgres major (or major.minor) version; minor upgrades are automatic."
  default     = "16"
  validation {
    condition     = can(regex("^1[4-9](\\.[0-9]+)?$", var.db_engine_version))
    error_message = "db_engine_version must be Postgres 14 or newer, e.g. 16 or 16.4."
  }
}

variable "db_allocated_storage" {
  type        = number
  description = "Initial database storage in GiB (grows automatically up to 5 times this)."
  default     = 20
  validation {
    condition     = var.db_allocated_storage >= 20 && var.db_allocated_storage <= 1000
    error_message = "db_allocated_storage must be between 20 and 1000 GiB."
  }
}

variable "db_multi_az" {
  type        = bool
  description = "Standby database in a second availability zone (resilient, twice the database cost)."
  default     = false
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the database and the load balancer from deletion (`make destroy-prod` lifts it first)."
  default     = true
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps the containers' and flow logs (a year by default)."
  default     = 365
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "bucket_force_destroy" {
  type        = bool
  description = "Let `terraform destroy` delete the data bucket with its data."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Extra tags on every resource."
  default     = {}
}

variable "mlflow_allowed_hosts" {
  type        = list(string)
  description = "More Host names the MLflow server answers to (your own DNS names for the load balancer: mlflow.example.com:5000, *.example.com); the load balancer's name, mlflow.<project>.internal and loopback are always allowed."
  default     = []
  validation {
    condition     = alltrue([for host in var.mlflow_allowed_hosts : can(regex("^(\\*\\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$", host))])
    error_message = "mlflow_allowed_hosts entries must be host, host:port or *.domain[:port], in lower case."
  }
}

variable "mlflow_cors_allowed_origins" {
  type        = list(string)
  description = "Browser origins (scheme://host[:port]) allowed to call the MLflow API cross-origin; empty = none (the MLflow UI itself is same-origin and needs none)."
  default     = []
  validation {
    condition     = alltrue([for origin in var.mlflow_cors_allowed_origins : can(regex("^https?://(\\*\\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$", origin))])
    error_message = "mlflow_cors_allowed_origins entries must be origins such as https://ui.example.com, in lower case."
  }
}
