"""``python -m local.sandboxes.s3vectors`` serves the same stand-in, for boto3's own client."""

from __future__ import annotations

import re

import pytest

from local.sandboxes.s3vectors.__main__ import main
from local.sandboxes.s3vectors.testing import s3vectors_client
from tests.sandbox.starting import standalone


def test_standalone_run_serves_the_standin_in_its_region() -> None:
    with standalone("local.sandboxes.s3vectors", "S3 Vectors stand-in", "--region", "eu-west-1") as url:
        client = s3vectors_client(url, region="eu-west-1")
        client.create_vector_bucket(vectorBucketName="cli-bucket")
        bucket = client.get_vector_bucket(vectorBucketName="cli-bucket")["vectorBucket"]
        assert bucket["vectorBucketArn"].startswith("arn:aws:s3vectors:eu-west-1:")


def test_the_flags_are_the_kits_without_an_oauth_app_or_a_clock(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    flags = set(re.findall(r"--[a-z-]+", capsys.readouterr().out))
    assert {"--host", "--port", "--region"} <= flags
    assert not {"--client-id", "--client-secret", "--redirect-uri", "--clock-scale"} & flags
