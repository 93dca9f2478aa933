"""S3 access for one configured connection: auth modes, retries, and reads that never return
silently wrong or short data.

- `client`: `S3Client`, the requests (list, head, ETag-guarded get, put, upload, delete);
- `auth`: credentials and the boto3 client (access keys, iam_role with refresh, default chain);
- `errors`: `S3AccessError` and message text with secrets scrubbed;
- `streams`: the object readers (verified stream with prefetch, random access).
"""

from .client import S3Client
from .errors import S3AccessError
from .streams import PREFETCH_BYTES, PREFETCH_PIECE

__all__ = ["PREFETCH_BYTES", "PREFETCH_PIECE", "S3AccessError", "S3Client"]
