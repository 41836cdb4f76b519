"""Background workers: missed-patrol alerts, overdue escalations, the Thursday weekly report."""
