# One ECR repository per image in docker/ (mage, mlflow, evidently, prediction): immutable tags,
# scanned on push, encrypted with KMS, and a lifecycle policy that bounds storage.

locals {
  tags = merge(
    {
      Project     = var.project
      Environment = "shared"
      ManagedBy   = "terraform"
      Stack       = "aws_ecr"
    },
    var.tags,
  )
  # One per Dockerfile: docker/<image>/Dockerfile.
  images = ["mage", "mlflow", "evidently", "prediction"]
  lifecycle_policy = {
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = var.untagged_image_days
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the most recent images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.keep_images
        }
        action = { type = "expire" }
      },
    ]
  }
}

resource "aws_ecr_repository" "image" {
  for_each             = toset(local.images)
  name                 = "${var.project}/${each.key}"
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
  }
}

resource "aws_ecr_lifecycle_policy" "image" {
  for_each   = aws_ecr_repository.image
  repository = each.value.name
  policy     = jsonencode(local.lifecycle_policy)
}
