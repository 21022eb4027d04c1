"""Square, declared once (``booksync.providers.declaration``): a payments connection, never the
company's books (no adapter, catalog or directory)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from booksync.providers.declaration import Builders, Capability, ProviderDeclaration
from booksync.providers.profile import ProviderProfile
from booksync.providers.square.client import LABEL, PROVIDER
from booksync.settings import SquareSettings

if TYPE_CHECKING:
    from booksync.providers.square.oauth import SquareOAuth


def _oauth(settings: SquareSettings) -> SquareOAuth:
    from booksync.providers.square.oauth import SquareOAuth

    application_id, application_secret = settings.credentials()
    return SquareOAuth(
        application_id=application_id,
        application_secret=application_secret,
        base_url=settings.api_base_url,
        square_version=settings.square_version,
        uses_pkce=settings.uses_pkce,
    )


DECLARATION = ProviderDeclaration[SquareSettings](
    name=PROVIDER,
    kind="payments",
    profile=ProviderProfile(
        label=LABEL,
        name_rules=f"{LABEL} limits the length and characters of names",
        account_id_key="merchant",
    ),
    capabilities=frozenset({Capability.WEBHOOKS}),
    # Square publishes no fixed rate limits: its 429s are honoured through Retry-After.
    limits=None,
    read_settings=SquareSettings.from_env,
    builders=Builders(oauth=_oauth),
    # Its merchant_id comes with the tokens. Code-flow refresh tokens never lapse; PKCE-flow ones
    # end 90 days after they are issued.
    refresh_lapses=lambda settings: settings.uses_pkce,
)
