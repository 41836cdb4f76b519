"""The console provider: prints each text and keeps it in memory."""
from __future__ import annotations

import logging
import re
import threading

from core.domain.phones import mask_phone
from core.models import utcnow
from sms.providers.base import INVALID_NUMBER, OutgoingSms, Provider, ProviderMessage, SendError

log = logging.getLogger(__name__)
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class ConsoleProvider(Provider):
    name = "console"
    two_way = True  # `gridpatrol sms simulate` plays the resident

    def __init__(self, echo: bool = True):
        self.sent: list[ProviderMessage] = []
        self.echo = echo
        self.lock = threading.Lock()

    @classmethod
    def from_config(cls, config: dict) -> "ConsoleProvider":
        return cls(echo=not config.get("TESTING"))

    def send(self, message: OutgoingSms) -> str:
        if not E164.match(message.to or ""):
            raise SendError(f"not an E.164 number: {message.to!r}", kind=INVALID_NUMBER, code="invalid_number")
        with self.lock:
            sid = f"CONSOLE{len(self.sent) + 1:08d}"
            self.sent.append(ProviderMessage(sid=sid, to=message.to, body=message.body, status="sent",
                                             created_at=utcnow(), reference=message.reference))
        if self.echo:
            print(f"[sms → {mask_phone(message.to)}] {message.body}", flush=True)
        log.info("console sms %s to %s", sid, mask_phone(message.to))
        return sid

    def find(self, message: OutgoingSms, since):
        with self.lock:
            for sent in reversed(self.sent):
                if sent.reference == message.reference:
                    return sent
        return None

    def health(self) -> dict:
        return {"configured": True, "sent": len(self.sent)}


