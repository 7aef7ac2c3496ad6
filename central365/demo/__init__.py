"""`central365 demo`: the sandbox, demo Central data and the homepage, in one command."""
