"""Catalog sync at Xero's limits, on the local stack.

xero.catalog_sync: 3,629 items pushed by the real catalog engine (wiring.sync_catalog, the
writer its declaration builds: ``providers/xero/bulk.py``) against the Xero sandbox under Xero's
limits per organisation (5 in flight, 60 requests a minute, through the shared limiter and the
walk's own), 50 items an array. The best the limits allow is 60 arrays x 50 items a minute =
50 items/s; ``ratio_to_limit`` is the achieved rate over that (goal >= 0.9), as
``catalog_sync.ratio_to_limit`` is for QuickBooks. The sandbox's clock and the engine's limiter
run ``BOOKSYNC_BENCH_XERO_CLOCK_SCALE`` times as fast (default 0.5: half speed), times are in
sandbox seconds. DynamoDB (moto server, writes serialised) does not follow the clock, and at
Xero's 50 items/s the local store's real time per item (~17 ms, more on a loaded machine) would
otherwise cap the run below the limits, which DynamoDB in AWS does not.
"""

from __future__ import annotations

import dataclasses
import os
from types import SimpleNamespace
from typing import Any

from bench.figure import Figure

ARRAY = 50
MINUTE_LIMIT = 60
BEST_ITEMS_PER_SECOND = MINUTE_LIMIT * ARRAY / 60.0


def _scale() -> float:
    return float(os.environ.get("BOOKSYNC_BENCH_XERO_CLOCK_SCALE", "0.5"))


def _catalog(env: dict[str, str], scale: float, control: Any, tenant: str, company: str) -> list[Figure]:
    from booksync.settings import CatalogWorkerSettings
    from booksync.store.connections import ConnectionRepository
    from booksync.store.runs import RunRepository
    from booksync.sync.catalog_jobs import CatalogJob, CatalogRequests
    from booksync.wiring import sync_catalog

    from bench.figures.catalog_sync import ITEMS, _load_items, rate_figures, run_steps

    _load_items(ITEMS)  # as the business's app put them, under the bench's company
    engine, _ = sync_catalog(CatalogWorkerSettings.from_env(env), window_scale=scale)
    queued: list[CatalogJob] = []
    engine.parts = dataclasses.replace(engine.parts, requeue=queued.append)
    requests = CatalogRequests(
        runs=RunRepository(), connections=ConnectionRepository(), queue=SimpleNamespace(enqueue=queued.append)
    )
    run_id = requests.request(company, "xero", ["items"])
    control.clear_requests()
    wall, steps = run_steps(engine, queued, run_id)
    log = control.requests(tenant)
    arrays = sum(1 for e in log if e["method"] == "PUT")
    reads = sum(1 for e in log if e["method"] == "GET")
    throttled = sum(1 for e in log if e["status"] == 429)
    note = (
        f"{arrays} arrays and {reads} reads, {throttled} answered 429, clock x{scale:g}, {steps} step(s); "
        "a rolling minute admits its first 60 requests at once"
    )
    return rate_figures(
        "xero.catalog_sync",
        wall * scale,
        BEST_ITEMS_PER_SECOND,
        note=note,
        best_note=f"{BEST_ITEMS_PER_SECOND:g} items/s ({MINUTE_LIMIT} arrays of {ARRAY} a minute)",
    )


def measure() -> list[Figure]:
    from bench.figures.catalog_sync import COMPANY, _aws, _environment
    from local.sandboxes.kit.oauth import ClientApp
    from local.sandboxes.xero.config import XeroConfig
    from local.sandboxes.xero.server import XeroSandbox
    from local.sandboxes.xero.testing import XeroControl
    from tests.xero_connection import CLIENT_ID, CLIENT_SECRET, REDIRECT, connect_xero

    scale = _scale()
    config = XeroConfig(
        clients={CLIENT_ID: ClientApp(secret=CLIENT_SECRET, redirect_uris=[REDIRECT])},
        clock_scale=scale,
        access_token_lifetime_s=10**7,
    )
    saved = dict(os.environ)
    try:
        with _aws(), XeroSandbox(config=config, organisations=("Bench Ltd",)) as sandbox:
            control = XeroControl(sandbox.url)
            env = _environment("http://127.0.0.1:9") | {
                "XERO_API_BASE_URL": f"{sandbox.url}/api.xro/2.0",
                "XERO_CLIENT_ID": CLIENT_ID,
                "XERO_CLIENT_SECRET": CLIENT_SECRET,
                "XERO_TOKEN_URL": f"{sandbox.url}/connect/token",
            }
            os.environ.update(env)
            tenant = connect_xero(control, COMPANY, env["TOKEN_KEY_ID"]).tenant
            return _catalog(env, scale, control, tenant, COMPANY)
    finally:
        os.environ.clear()
        os.environ.update(saved)
