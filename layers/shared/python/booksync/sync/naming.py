"""Under which name the provider holds a customer or an item, and telling the user when it is
not the document's own (cut to the provider's limit, cleaned, or made unique by booksync)."""

from __future__ import annotations

from booksync.documents import Customer, Item
from booksync.providers.port import RemoteObject
from booksync.providers.profile import profile
from booksync.providers.text import same_name
from booksync.store.models import LinkMap


def own_name(document: Customer | Item) -> str:
    return document.display_name if isinstance(document, Customer) else document.name


def namesake_item(found: RemoteObject, document: Customer | Item) -> bool:
    """``found``, which another document holds, is an item under ``document``'s very name (not one
    found by its SKU or code under another name). Books that keep two records under one name
    (FreshBooks, Wave) would take ours under it too, and the lookup after a lost answer could then
    find only theirs and create ours again: ours needs a name of its own."""
    return isinstance(document, Item) and found.name is not None and same_name(found.name, document.name)


def name_link(
    link: LinkMap,
    remote: RemoteObject,
    *,
    kind: str,
    doc_id: str,
    own: str,
    distinct: bool,
    provider: str,
    was_distinct: bool,
) -> dict[str, str | None] | None:
    """Record on ``link`` the name the provider stores when it is not ``own``, and why.

    Returns the note for the run's history when booksync has just had to make the name unique
    (a collision the user should hear of once); None otherwise.
    """
    stored = remote.name if remote.name is not None and remote.name != own else None
    if stored is None:
        return None
    declared = profile(provider)
    label = declared.label
    why = (
        f"another record in {label} already has the name it would get there, so booksync added "
        "a suffix of its own"
        if distinct
        else declared.name_rules
    )
    link.remote_name = stored
    link.distinct_name = distinct or None
    link.note = f"{kind.capitalize()} {doc_id} is named {stored!r} in {label}, not {own!r}: {why}."
    if not distinct or was_distinct:
        return None
    return {"document": f"{kind} {doc_id}", "code": "renamed", "message": link.note, "fix": None}
