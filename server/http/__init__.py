"""What every HTTP adapter shares (the JSON API, the webhooks and the web pages): the bearer token behind a
request, the permission table's gate over the HTTP paths, the one JSON error shape and the OpenAPI document."""
