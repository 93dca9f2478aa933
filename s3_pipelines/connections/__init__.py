"""Clients for the places data is read from (S3)."""

from .s3 import S3AccessError, S3Client

__all__ = ["S3AccessError", "S3Client"]
