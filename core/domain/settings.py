"""The one way configuration reaches the rules: adapters build `DomainSettings` from the app config
(`DomainSettings.from_config(app.config)`) and pass its values in; domain functions never read config.

API views, SMS commands, sync and the workers all do the same, so a setting (the area time zone default,
the deadline policy, the phone region) cannot mean one thing in one channel and another elsewhere."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from core.domain.defaults import DEFAULT_TIMEZONE


@dataclass(frozen=True)
class DomainSettings:
    timezone: str = DEFAULT_TIMEZONE  # for areas that set none
    deadline_policy: dict = field(default_factory=dict)
    phone_region: str = "CN"

    @classmethod
    def from_config(cls, config: Mapping) -> "DomainSettings":
        return cls(timezone=config.get("GRIDPATROL_TIMEZONE") or DEFAULT_TIMEZONE,
                   deadline_policy=dict(config.get("DEADLINE_POLICY") or {}),
                   phone_region=config.get("GRIDPATROL_PHONE_REGION") or "CN")

    def incident_kwargs(self) -> dict:
        """The keyword arguments incident rules take (create, escalate, update)."""
        return {"policy": self.deadline_policy or None, "default_tz": self.timezone}
