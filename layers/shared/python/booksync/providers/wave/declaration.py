"""Wave, declared once (``booksync.providers.declaration``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from booksync.providers.declaration import Builders, Capability, Limits, ProviderDeclaration
from booksync.providers.profile import ProviderProfile
from booksync.providers.wave import LABEL, PROVIDER
from booksync.providers.wave.mapping import INCOME_ACCOUNT_NAMES, unsayable
from booksync.providers.wave.oauth import REQUIREMENTS
from booksync.settings import WaveSettings

if TYPE_CHECKING:
    from booksync.providers.port import TokenSource
    from booksync.providers.wave.adapter import WaveProvider
    from booksync.providers.wave.client import WaveClient
    from booksync.providers.wave.directory import WaveDirectory
    from booksync.providers.wave.oauth import WaveOAuth
    from booksync.sync.rate_limits import RequestGate


def _limits(environ: Mapping[str, str]) -> Limits:
    """Wave publishes no limits (providers.md 7.3): it answers 429 with Retry-After from about two
    requests at once, so one at a time per business unless ``WAVE_MAX_CONCURRENT`` says more, and
    a modest pace."""
    settings = WaveSettings.from_env({k: v for k, v in environ.items() if k == "WAVE_MAX_CONCURRENT"})
    return Limits(max_concurrent=settings.max_concurrent, requests_per_minute=120)


def _oauth(settings: WaveSettings) -> WaveOAuth:
    from booksync.providers.wave.oauth import WaveOAuth

    return WaveOAuth.from_settings(settings)


def _client(
    settings: WaveSettings, business_id: str, tokens: TokenSource, gate: RequestGate | None
) -> WaveClient:
    from booksync.providers.wave.client import WaveClient

    return WaveClient(api_url=settings.graphql_url, business_id=business_id, tokens=tokens, gate=gate)


def _adapter(
    settings: WaveSettings, business_id: str, tokens: TokenSource, gate: RequestGate | None
) -> WaveProvider:
    from booksync.providers.wave.adapter import WaveProvider

    return WaveProvider(_client(settings, business_id, tokens, gate))


def _directory(
    settings: WaveSettings, business_id: str, tokens: TokenSource, gate: RequestGate | None
) -> WaveDirectory:
    """The wizard's reads of the customers and products already in the business (``directory.py``)."""
    from booksync.providers.wave.directory import WaveDirectory

    return WaveDirectory(_client(settings, business_id, tokens, gate))


PROFILE = ProviderProfile(
    label=LABEL,
    name_rules=f"{LABEL} keeps names of at most 255 characters and removes control characters",
    account_id_key="business",
    tax_settings=f"the sales taxes of the business in {LABEL} (Settings > Sales Taxes)",
    # Said on the card when Wave's consent screen refuses a business (paid plans, USD or CAD).
    connect_requirements=REQUIREMENTS,
)


DECLARATION = ProviderDeclaration[WaveSettings](
    name=PROVIDER,
    kind="accounting",
    profile=PROFILE,
    # No versions, no batch writes, no webhooks (Wave's public API has none), one payment per
    # invoice (the core splits a payment across invoices), no voids and no refunds: Wave's API has
    # no mutation for either, so the engine says so on the document and in the run's history.
    capabilities=frozenset(
        {
            Capability.PAYMENTS,  # invoicePaymentCreateManual, on an approved invoice
            Capability.ORGANISATION_CHOICE,  # a consent is a user's, who may own several businesses
            Capability.INCOME_ACCOUNT_PER_ITEM,  # a product's incomeAccountId
        }
    ),
    limits=None,  # read_limits({}): one at a time
    read_limits=_limits,  # the environment when asked
    read_settings=WaveSettings.from_env,
    builders=Builders(oauth=_oauth, adapter=_adapter, directory=_directory),
    # The business is chosen after the consent (the user's businesses), not named on the redirect.
    account_on_redirect=None,
    # An invoice in a currency other than USD or CAD is refused at the door (a 422 naming it).
    unsayable=unsayable,
    income_account_names=INCOME_ACCOUNT_NAMES,
    # A payment goes into an account the business names (cash and bank): no default in Wave, so
    # payments wait until an admin chooses it.
    payment_account_required=True,
    # Wave does not say how long a refresh token lasts unused (providers.md 4: unconfirmed), and a
    # lapsed one can only be mended by the user reconnecting: the keep-alive refreshes idle
    # connections daily (one token call a day each), which any idle lapse of a day or more spares.
    refresh_lapses=lambda _settings: True,
    refresh_lapse_when_idle=True,
)
