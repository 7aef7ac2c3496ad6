"""The pure core: records in, decisions out — validate, match, plan, execute against ports.

Nothing here does I/O or imports anything of central365 outside `central365.core` (an
import-linter contract in `make test` keeps it so); the adapters (`sources`, `graph`, `appdb`)
and the front ends (`cli`, `web`) stand around it.
"""
