variable "aws_region" {
  type        = string
  description = "AWS region of the bucket (also AWS_DEFAULT_REGION of the local stack)."
  default     = "us-east-1"
  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like us-east-1."
  }
}

variable "project" {
  type        = string
  description = "Project name: prefix of every resource name and the Project tag."
  default     = "gaming-engagement"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.project))
    error_message = "project must be 3-31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "environment" {
  type        = string
  description = "Environment name (Environment tag, part of the bucket name)."
  default     = "dev"
  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.environment))
    error_message = "environment must be 2-10 lowercase letters or digits."
  }
}

variable "bucket_name" {
  type        = string
  description = "Bucket name; empty = <project>-<environment>-<account id> (bucket names are global)."
  default     = ""
  validation {
    condition     = var.bucket_name == "" || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be empty or 3-63 lowercase letters, digits, dots or hyphens."
  }
}

variable "force_destroy" {
  type        = bool
  description = "Let `terraform destroy` delete the bucket with its data (handy for a throw-away dev bucket)."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Extra tags on every resource."
  default     = {}
}
