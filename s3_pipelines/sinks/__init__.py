"""Where loaded records go: `s3` (S3 destinations, Pipedream / Polytomic style)."""
