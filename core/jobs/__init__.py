"""Background jobs, at the bottom of the house: the runner interface (rq's verbs enqueue, enqueue_in,
enqueue_at, plus enqueue_after_commit), its in-process and RQ backends (`runner`), and the app/session a
job runs in (`context`). Features (sms, workers, sync) enqueue through here and never import each other
to do it."""
