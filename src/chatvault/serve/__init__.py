"""`chatvault serve`: the HTTP API, the OTLP/HTTP receiver and the Prometheus metrics."""
