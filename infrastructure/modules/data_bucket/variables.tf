variable "bucket_name" {
  type        = string
  description = "Name of the bucket (globally unique, 3-63 lowercase letters, digits, dots, hyphens)."
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3-63 lowercase letters, digits, dots or hyphens."
  }
}

variable "prefixes" {
  type        = list(string)
  description = "Key prefixes created as empty folder markers (the storage layout), each ending with '/'."
  validation {
    condition     = alltrue([for prefix in var.prefixes : can(regex("^[a-z0-9_-]+/$", prefix))])
    error_message = "Each prefix is one lowercase folder name ending with '/'."
  }
}

variable "force_destroy" {
  type        = bool
  description = "Let `terraform destroy` delete a bucket that still holds objects (all versions)."
  default     = false
}

variable "noncurrent_version_days" {
  type        = number
  description = "Days after which an overwritten or deleted object's old versions are removed."
  default     = 90
  validation {
    condition     = var.noncurrent_version_days >= 1
    error_message = "noncurrent_version_days must be at least 1."
  }
}
