"""The HTML pages, one module per area: home, runs, history, settings, sign-in."""
