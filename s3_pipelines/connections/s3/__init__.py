"""S3 access for one configured connection (see `client.S3Client`)."""

from .client import PREFETCH_PIECE, S3AccessError, S3Client

__all__ = ["PREFETCH_PIECE", "S3AccessError", "S3Client"]
