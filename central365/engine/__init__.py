"""The application layer: the sync use case over the ports, the run manager, and plan JSON.

`service.SyncService` is what every front end drives; `runs.RunManager` runs it in the
background for the homepage (run lock, History); `serialize` writes plans and reports as JSON.
"""
