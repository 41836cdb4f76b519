"""The foundation every feature stands on: the database extension (`core.db`), the tables (`core.models`),
the settings the rules read (`core.settings`), the job runners (`core.jobs`) and the domain rules
(`core.domain`). It imports no feature and no Flask request machinery; docs/architecture.md draws the layers."""
