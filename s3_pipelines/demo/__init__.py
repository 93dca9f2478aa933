"""`s3-pipelines demo`: a local S3 server, Airbyte-shaped sample data, everything materialized."""
