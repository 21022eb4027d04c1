"""The Docker-free runtime behind ``python -m local.stack``.

It reads ``template.yaml`` and runs what it declares on loopback: resources in moto, functions in
worker subprocesses, the HTTP API gateway with its JWT authorizer, SQS pollers, schedules and a
control API. ``local/README.md`` maps each template feature to what runs locally.
"""
