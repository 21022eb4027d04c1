"""A local stand-in for Amazon S3 Vectors whose requests and answers follow botocore's own
``s3vectors`` service model (see README.md)."""
