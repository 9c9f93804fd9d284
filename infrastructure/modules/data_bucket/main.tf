# A private data bucket: no public access, owner-enforced objects, encrypted with KMS (the AWS
# managed key aws/s3 with S3 bucket keys), versioned, TLS only, old versions expired.

resource "aws_s3_bucket" "this" {
  # checkov:skip=CKV_AWS_18:Access logs need a second bucket; CloudTrail data events cover audits when required.
  # checkov:skip=CKV_AWS_144:Cross-region replication doubles storage cost; versioning guards against overwrites.
  # checkov:skip=CKV2_AWS_62:Nothing consumes bucket events: Mage schedules the pipelines.
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "tls_only" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "tls_only" {
  bucket     = aws_s3_bucket.this.id
  policy     = data.aws_iam_policy_document.tls_only.json
  depends_on = [aws_s3_bucket_public_access_block.this]
}

# S3 has no folders; empty keys ending with "/" make the layout visible in the console.
resource "aws_s3_object" "prefix" {
  for_each     = toset(var.prefixes)
  bucket       = aws_s3_bucket.this.id
  key          = each.value
  content      = ""
  content_type = "application/x-directory"
  depends_on   = [aws_s3_bucket_server_side_encryption_configuration.this]
}
