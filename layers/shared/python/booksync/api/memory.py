"""The billing memory's routes (README "Billing memory"): search, prices, ask, and the tools.

Every route reads the caller's company from the JWT (``CallerDep``) and nothing else: no body or
query names a company, so no company ever reads another's records. The request models are the
memory's own (``booksync/memory/queries.py``, ``prices.py``, ``ask.py``), the ones the tool
definitions are generated from (``booksync/memory/tools.py``); what answers them is built on the
first request that needs it (numpy and the stores load then, not at cold start).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query

from booksync.api.app import ERRORS, ApiServices, CallerDep, Svc
from booksync.api.routes import LeanRoute
from booksync.errors import NotFoundError
from booksync.memory.ask import Answer, AskRequest
from booksync.memory.prices import PriceFacts, PriceQuery
from booksync.memory.queries import SearchRequest, SearchResults

if TYPE_CHECKING:
    from booksync.memory.ask import MemoryAnswers

router = APIRouter(tags=["billing memory"], route_class=LeanRoute)


def _memory(svc: ApiServices) -> MemoryAnswers:
    if svc.memory is None:
        raise NotFoundError(
            "The billing memory is off or not configured on this deployment.",
            fix="Deploy with RagBillingEmbedEnabled=true (RAG_BILLING_EMBED_ENABLED; the API also needs "
            "MEMORY_TABLE, as template.yaml sets it): off, nothing is embedded and nothing is answered.",
        )
    return svc.memory()


@router.post("/memory/search", responses=ERRORS)
def search_memory(body: SearchRequest, who: CallerDep, svc: Svc) -> SearchResults:
    """The company's records closest to the query (vector similarity and keywords, fused by
    reciprocal rank), each with its number, kind, customer, date, total, a snippet and how it
    matched; filters narrow what may be found."""
    return _memory(svc).search(who.company_id, body)


@router.get("/memory/prices", responses=ERRORS)
def item_prices(query: Annotated[PriceQuery, Query()], who: CallerDep, svc: Svc) -> PriceFacts:
    """What the company charged for an item, counted from its invoice lines: times charged,
    median, lowest and highest unit price, typical markup over cost, last charge and the trend
    over the last 12 months; one entry per currency, never a figure across two."""
    return _memory(svc).prices(who.company_id, query)


@router.post("/memory/ask", responses=ERRORS)
def ask_memory(body: AskRequest, who: CallerDep, svc: Svc) -> Answer:
    """A question answered from the company's records and price facts, citing the records it
    rests on."""
    return _memory(svc).ask(who.company_id, body)


@router.get("/memory/tools", responses=ERRORS)
def memory_tools(_who: CallerDep) -> list[dict[str, Any]]:
    """Search, prices and ask as tool definitions (function calling, JSON Schema) to give an
    assistant as they are; the same as docs/memory-tools.json."""
    from booksync.memory.tools import TOOLS

    return TOOLS
