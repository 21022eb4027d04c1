"""moto in server mode on loopback, and boto3 clients that talk to it."""

from __future__ import annotations

import logging
import threading
import urllib.request
from typing import Any

import boto3
from botocore.config import Config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from local.runtime.atomic_dynamodb import serialise_dynamodb_writes
from local.runtime.web import LOOPBACK

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
# moto accepts any credentials; fixed dummy ones keep a developer's real profile out of the picture.
DUMMY_ACCESS_KEY_ID = "testing"
DUMMY_SECRET_ACCESS_KEY = "testing"


class MotoServer:
    """moto's ThreadedMotoServer, quiet, with its listening socket closed on stop."""

    def __init__(self, port: int) -> None:
        self._server = ThreadedMotoServer(LOOPBACK, port, verbose=False)
        self._url: str | None = None

    def start(self) -> None:
        # werkzeug logs every request at INFO on stderr; the runtime prints what matters itself.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        serialise_dynamodb_writes()
        self._server.start()
        host, port = self._server.get_host_and_port()
        self._url = f"http://{host}:{port}"
        # moto's state is global to the process: start each stack from an empty account.
        self.reset()

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("moto is not started")
        return self._url

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")  # noqa: S310 (loopback)
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 (loopback)
            pass

    def stop(self) -> None:
        if self._url is None:
            return
        self._server.stop()
        # ThreadedMotoServer.stop() shuts the loop down but leaves the socket bound until GC.
        inner = getattr(self._server, "_server", None)
        if inner is not None:
            inner.server_close()
        self._url = None


# One session for the process: a new one re-reads botocore's endpoint and model files (~0.1 s per
# client). Making clients from a session is not thread-safe, hence the lock; the clients are.
_session_lock = threading.Lock()
_sessions: list[boto3.session.Session] = []


def aws_client(endpoint_url: str, service: str, region: str = REGION) -> Any:
    """A boto3 client for moto, with dummy credentials."""
    with _session_lock:
        if not _sessions:
            _sessions.append(boto3.session.Session())
        return _sessions[0].client(
            service,  # type: ignore[call-overload]
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=DUMMY_ACCESS_KEY_ID,
            aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
            config=Config(retries={"max_attempts": 2, "mode": "standard"}),
        )


def function_aws_environment(endpoint_url: str, region: str = REGION) -> dict[str, str]:
    """What a function needs to reach moto with no code change: endpoint, region, credentials."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_ACCESS_KEY,
        "AWS_SESSION_TOKEN": "testing",
        # A developer's ~/.aws files must not redirect a function to a real account or profile.
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
