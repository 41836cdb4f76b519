"""SMS providers, one folder each, chosen by configuration and loaded by name.

    console   prints texts (embedded default)              sms/providers/console/
    twilio    Twilio, two-way outside China                sms/providers/twilio/
    android   an office Android phone ("SMS Gateway for Android"), two-way in China
    aliyun    Alibaba Cloud SMS with approved templates (alerts at scale in China)

`GRIDPATROL_SMS_BACKEND` is the main provider (replies to texts, manual sends); `GRIDPATROL_SMS_ALERTS_BACKEND`
(default: the main one) sends alerts; `GRIDPATROL_SMS_PROVIDERS` lists more providers alerts may fail over to.
Every configured provider is built at startup (`check_providers`), so a missing key stops the app with the
variable's name instead of failing the first send at 3 a.m.
"""
from __future__ import annotations

import threading
from importlib import import_module

from flask import Flask, current_app

from sms.providers.base import (KINDS, OutgoingSms, Provider, ProviderMessage, SendError,  # noqa: F401
                                StatusUpdate, InboundSms, WebhookEvent, WebhookRejected)
from core.settings import ConfigError

REGISTRY = {
    "console": "sms.providers.console.provider:ConsoleProvider",
    "twilio": "sms.providers.twilio.provider:TwilioProvider",
    "android": "sms.providers.android.provider:AndroidProvider",
    "aliyun": "sms.providers.aliyun.provider:AliyunProvider",
}
SLOT = "gridpatrol.sms_providers"


def provider_class(name: str) -> type[Provider]:
    path = REGISTRY.get((name or "").lower())
    if path is None:
        raise ConfigError(f"unknown SMS provider {name!r}: use one of {', '.join(REGISTRY)}")
    module, _, attr = path.partition(":")
    return getattr(import_module(module), attr)


def _names(raw) -> list[str]:
    if isinstance(raw, str):
        raw = raw.split(",")
    return [n.strip().lower() for n in raw or [] if n and n.strip()]


def main_name(config) -> str:
    return (config.get("SMS_BACKEND") or "console").lower()


def alerts_name(config) -> str:
    return (config.get("SMS_ALERTS_BACKEND") or main_name(config)).lower()


def configured_names(config) -> list[str]:
    """Every provider this installation uses, in failover order: alerts first, then main, then extras."""
    names: list[str] = []
    for name in [alerts_name(config), main_name(config), *_names(config.get("SMS_PROVIDERS"))]:
        if name not in names:
            names.append(name)
    return names


def build_provider(name: str, config) -> Provider:
    return provider_class(name).from_config(config)


class _Slot:
    def __init__(self):
        self.providers: dict[str, Provider] = {}
        self.lock = threading.Lock()


def _slot(app: Flask) -> _Slot:
    return app.extensions.setdefault(SLOT, _Slot())


def get_provider(app: Flask | None = None, name: str | None = None) -> Provider:
    """The provider called `name` (default: the main one), built once per app."""
    app = app or current_app._get_current_object()
    name = (name or main_name(app.config)).lower()
    slot = _slot(app)
    provider = slot.providers.get(name)
    if provider is None:
        with slot.lock:
            provider = slot.providers.get(name)
            if provider is None:
                provider = slot.providers[name] = build_provider(name, app.config)
    return provider


def set_provider(app: Flask, provider, name: str | None = None) -> None:
    """Tests and embedders swap a provider (e.g. a client with a custom transport)."""
    _slot(app).providers[(name or provider.name).lower()] = provider


def check_providers(app: Flask) -> list[str]:
    """Build every configured provider now: a missing or malformed setting raises ConfigError at startup."""
    names = configured_names(app.config)
    for name in names:
        get_provider(app, name)
    return names


# The names the outbox and tests used before providers had folders.
get_backend = get_provider
set_backend = set_provider
