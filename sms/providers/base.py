"""The one interface every SMS provider implements, and the one error it raises.

A provider turns an outbox row into a provider call (`send`, `send_batch`), answers "do you already have
this?" after a crash (`find`) and says how it is (`health`); a provider that calls us verifies and reads
its webhooks into provider-neutral values (`WebhookEvent`, `InboundSms`, `StatusUpdate`) in its folder's
webhook.py. It never touches the database: the outbox, the inbound layer and the router do, so the rules
about retries, exactly-once and failover are written once.

Every provider is one folder, alike: `__init__.py` (what it is), `provider.py` (the Provider subclass),
`webhook.py` when it calls us, `standin.py` when it has an API to stand in for (a local HTTP server the
contract suite drives through the provider's real client library), and nothing else but what only that
provider needs (Aliyun's approved `templates.py`).

`SendError.kind` is the only thing the outbox branches on. Each provider maps its own error codes to a
kind in its own folder; nothing outside that folder knows what 21610 or isv.BUSINESS_LIMIT_CONTROL mean.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

TRANSIENT = "transient"
RATE_LIMITED = "rate_limited"
OPTED_OUT = "opted_out"
INVALID_NUMBER = "invalid_number"
REJECTED_CONTENT = "rejected_content"
PROVIDER_DOWN = "provider_down"
KINDS = (TRANSIENT, RATE_LIMITED, OPTED_OUT, INVALID_NUMBER, REJECTED_CONTENT, PROVIDER_DOWN)
RETRYABLE_KINDS = frozenset({TRANSIENT, RATE_LIMITED, PROVIDER_DOWN})


class SendError(Exception):
    """A provider refused or could not take a message.

    kind        what the outbox does next (retry with backoff, opt the number out, give up, fail over).
    code        the provider's own code, kept for the log and for whoever triages it.
    maybe_sent  the request may have reached the provider before the error (a connection dropped after
                sending): the outbox must ask `find` before sending again.
    retry_after seconds the provider asked us to wait (rate limits), if it said.
    """

    def __init__(self, message: str, *, kind: str = TRANSIENT, code: str | None = None, status: int | None = None,
                 maybe_sent: bool = False, retry_after: float | None = None, transient: bool | None = None):
        super().__init__(message)
        if transient is not None and kind == TRANSIENT and not transient:
            kind = REJECTED_CONTENT  # the pre-provider signature: SendError(..., transient=False)
        if kind not in KINDS:
            raise ValueError(f"unknown SendError kind {kind!r}")
        self.kind = kind
        self.code = code or kind
        self.status = status
        self.maybe_sent = maybe_sent
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Could trying again (later, or elsewhere) help?"""
        return self.kind in RETRYABLE_KINDS

    def __repr__(self) -> str:
        return f"SendError({str(self)!r}, kind={self.kind!r}, code={self.code!r})"


@dataclass
class OutgoingSms:
    """What the outbox hands a provider. `purpose` and `params` let template providers (Aliyun) pick an
    approved template and fill its named variables; free-text providers send `body`."""

    to: str
    body: str
    reference: str
    purpose: str = "alert"
    params: dict | None = None


@dataclass
class ProviderMessage:
    sid: str
    to: str
    body: str
    status: str
    created_at: datetime | None = None
    reference: str | None = None


@dataclass
class InboundSms:
    """A text a resident or patroller sent, as any provider's webhook describes it.

    `message_sid` is unique per text: the provider's own id where it is unique (Twilio's MessageSid), else a
    digest of what identifies the text (Android: sender, text and receivedAt), so a retried webhook files
    nothing twice."""

    provider: str
    message_sid: str
    sender: str
    body: str
    to: str = ""
    received_at: datetime | None = None


@dataclass
class StatusUpdate:
    """A delivery report: `status` is one of sent, delivered, undelivered, failed (or a provider word the
    outbox maps); `reference` is our outbox reference when the provider echoes it, `sid` the provider id."""

    provider: str
    status: str
    sid: str | None = None
    reference: str | None = None
    error_code: str | None = None
    error_kind: str | None = None  # a SendError kind for failures, mapped by the provider
    at: datetime | None = None


@dataclass
class WebhookEvent:
    """One verified webhook delivery, whatever it carries."""

    provider: str
    event_id: str | None
    kind: str  # "inbound", "status", "heartbeat"
    inbound: InboundSms | None = None
    status: StatusUpdate | None = None
    data: dict = field(default_factory=dict)


class WebhookRejected(Exception):
    """A webhook the provider module refuses: `status` 403 (forged, replayed) or 400/413/422 (malformed).
    The view turns it into the JSON error shape; nothing has been stored."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or {}


class Provider:
    """Base class. Subclasses set `name`, implement `from_config` and `send`; the rest has defaults."""

    name = "abstract"
    two_way = False          # can residents text us through it (and get replies back the same way)?
    max_batch = 1            # how many messages `send_batch` takes in one provider call
    has_heartbeat = False    # does the provider report its own liveness (the Android phone's ping)?

    @classmethod
    def from_config(cls, config: dict) -> "Provider":
        """Build from the Flask config; raise server.config.ConfigError naming the missing variable."""
        raise NotImplementedError

    def send(self, message: OutgoingSms) -> str:
        """Hand one message over; return the provider's id. Raise SendError."""
        raise NotImplementedError

    def send_batch(self, messages: list[OutgoingSms]) -> list[str | SendError]:
        """Hand several messages over; one result per message, in order. A provider that cannot batch
        sends them one by one."""
        results: list[str | SendError] = []
        for message in messages:
            try:
                results.append(self.send(message))
            except SendError as exc:
                results.append(exc)
        return results

    def batch_key(self, message: OutgoingSms):
        """Messages with equal keys may share one `send_batch` call (Aliyun: the same template)."""
        return None

    def find(self, message: OutgoingSms, since: datetime) -> ProviderMessage | None:
        """Did the provider already take this message (a crash between its answer and our commit)?
        Providers that cannot tell return None, and the outbox sends again."""
        return None

    def query_status(self, sids: list[str], to: str, sent_on: datetime) -> list[StatusUpdate]:
        """Delivery results the provider only answers when asked (Aliyun's QuerySendDetails)."""
        return []

    def warm_up(self) -> None:
        """Load the client library now, connecting nowhere (a worker does this before its first job, so no
        job pays for the import). Providers whose client is built with them have nothing to do."""

    def health(self) -> dict:
        """What the provider itself can say without the database (configuration, endpoint)."""
        return {"configured": True}

    def validate(self, message: OutgoingSms) -> None:
        """Refuse at queue time what the provider would refuse anyway (Aliyun's variable limits): raise
        SendError(kind=rejected_content). Free-text providers accept everything."""
