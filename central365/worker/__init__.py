"""Celery for unattended runs: the app's configuration and producer (`celery_app`), and the
tasks a `central365 worker` process runs (`tasks`).  Loaded only when a broker is set."""
