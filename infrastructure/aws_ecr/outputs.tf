output "repository_urls" {
  description = "Repository URL of each image (docker push <url>:<tag>)."
  value       = { for name, repository in aws_ecr_repository.image : name => repository.repository_url }
}

output "registry" {
  description = "The registry host, for `docker login` (aws ecr get-login-password | docker login ...)."
  value       = split("/", aws_ecr_repository.image["mage"].repository_url)[0]
}
