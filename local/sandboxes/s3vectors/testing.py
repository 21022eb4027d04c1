"""For tests and the demo: boto3's own ``s3vectors`` client pointed at the stand-in, and the
stand-in's control API (``/_sandbox/``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from local.sandboxes.kit.client import ControlClient

if TYPE_CHECKING:
    from mypy_boto3_s3vectors import S3VectorsClient

__all__ = ["S3VectorsControl", "s3vectors_client", "signed_post"]


def s3vectors_client(
    endpoint_url: str, *, region: str = "us-east-1", attempts: int = 1, validate: bool = True
) -> S3VectorsClient:
    """boto3's ``s3vectors`` client against the stand-in: test credentials (the stand-in checks the
    signature's scope, not its key), ``attempts`` tries per call (1: no retry, so a fault is seen
    as it is), and botocore's own parameter validation off when ``validate`` is False (to send the
    stand-in what the model refuses)."""
    return boto3.client(
        "s3vectors",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(
            retries={"total_max_attempts": attempts, "mode": "standard"},
            parameter_validation=validate,
            connect_timeout=5,
            read_timeout=10,
        ),
    )


def signed_post(
    endpoint_url: str, operation: str, body: object, *, region: str = "us-east-1"
) -> httpx.Response:
    """``body`` as the JSON of ``POST /<operation>``, signed (SigV4, service ``s3vectors``) as boto3
    signs, but sent as it is: what boto3 will not serialize (a member the model does not have)."""
    content = json.dumps(body).encode("utf-8")
    url = f"{endpoint_url.rstrip('/')}/{operation}"
    request = AWSRequest("POST", url, data=content, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("testing", "testing"), "s3vectors", region).add_auth(request)
    return httpx.post(url, content=content, headers=dict(request.headers.items()), timeout=10.0)


class S3VectorsControl(ControlClient):
    """The control API as typed calls; the request log is filtered by ``?index=`` (or bucket)."""

    ACCOUNT_KEY = "index"

    def state(self) -> dict[str, Any]:
        """Every bucket's indexes (dimension, metric, vectors) and the answers refused as off-model."""
        state: dict[str, Any] = self._call("GET", "/_sandbox/state")
        return state

    def reset_with_bucket(self, bucket: str) -> None:
        """Nothing left but one empty vector bucket, and an empty request log."""
        self.reset()
        s3vectors_client(self.base_url).create_vector_bucket(vectorBucketName=bucket)
        self.clear_requests()
