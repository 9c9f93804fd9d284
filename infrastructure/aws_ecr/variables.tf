variable "aws_region" {
  type        = string
  description = "AWS region of the registry (the same as aws_prod's)."
  default     = "us-east-1"
  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like us-east-1."
  }
}

variable "project" {
  type        = string
  description = "Project name: repositories are named <project>/<image>; aws_prod finds them by it."
  default     = "gaming-engagement"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.project))
    error_message = "project must be 3-31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "keep_images" {
  type        = number
  description = "How many images each repository keeps (older ones expire)."
  default     = 20
  validation {
    condition     = var.keep_images >= 1 && var.keep_images <= 1000
    error_message = "keep_images must be between 1 and 1000."
  }
}

variable "untagged_image_days" {
  type        = number
  description = "Days after which untagged images expire."
  default     = 7
  validation {
    condition     = var.untagged_image_days >= 1
    error_message = "untagged_image_days must be at least 1."
  }
}

variable "force_delete" {
  type        = bool
  description = "Let `terraform destroy` delete repositories that still hold images."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Extra tags on every resource."
  default     = {}
}
