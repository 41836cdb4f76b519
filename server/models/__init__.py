"""A name the released migrations import. The tables live in core.models; the revisions in
server/migrations/versions are frozen history and import `server.models.base.UTCDateTime` by the name it had
when they were written, so that name stays here instead of the revisions being edited."""
