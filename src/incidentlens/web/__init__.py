"""The web edge: REST API, webhooks, background investigations and the console (needs the `web` extra).

A thin layer over `workflow/`, `store/` and `pipeline`, like the CLI: no incident logic lives here.
"""
