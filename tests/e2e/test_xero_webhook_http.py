"""Xero's webhook as Xero meets it through the local runtime (template.yaml, XeroWebhookFunction in
a worker process under its own IAM role, moto server, the Xero sandbox's app webhook posting to the
stack's own POST /webhooks/xero with the key local/stack.yaml puts in SSM): Intent to Receive
passes, and a delivery signed with another key is refused with no body and queues nothing."""

from __future__ import annotations

import pytest

from local.sandboxes.xero.testing import XeroControl
from local.stack import LocalStack

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("stack")]

COMPANY = "xero-webhooks-http"


def test_intent_to_receive_passes_against_the_stacks_own_endpoint(stack: LocalStack) -> None:
    run = stack.sandboxes["xero"]
    assert run.notification_url == f"{stack.api_url}/webhooks/xero"
    with XeroControl(run.url) as xero:
        check = xero.call("POST", "/webhooks/intent", {"rounds": 2})
    assert check["passed"] is True, check
    answers = [(d["signed_correctly"], d["status"], d["body"]) for d in check["deliveries"]]
    assert answers == [(True, 200, ""), (False, 401, "")] * 2
    queued = stack.boto3_client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_url("XeroEventsQueue"), AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert int(queued) == 2  # the two signed right, raw; the others never reached the queue
