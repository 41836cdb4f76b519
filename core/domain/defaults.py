"""Embedded defaults shared by the configuration and the domain, each written once.

`server.config` reads the environment with these as fallbacks; domain functions take the configured value
as a parameter and fall back to the same constant when called without one (tests, scripts)."""

DEFAULT_TIMEZONE = "Asia/Shanghai"  # areas that set no zone (schedules, deadlines, "end of day")
