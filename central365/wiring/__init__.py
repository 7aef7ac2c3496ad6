"""The one composition root: a neutral `Connection` description, and what opens it.

- `connection`: the `Connection` value (Central source, sign-in, mailbox, folder, limits);
- `settings`: `config.Settings` → `Connection` (command line), stored `AppSettings` + the
  signed-in person → `Connection` (homepage, and a worker running the homepage's runs);
- `sign_in`: the credential and the `httpx.Auth` of the command line's sign-in modes;
- `checks`: the one validation, problems per field, shown by each front in its own words;
- `open`: `Connection` + `httpx.Auth` → the source, the mailbox, a ready `SyncService`.

Nothing here imports a front end (an import-linter contract keeps it so).  This file imports
nothing, so `config` can use the `connection` vocabulary without loading Graph or msal.

A new setting that changes how a run connects or behaves: a field of `config.Settings` (TOML and
`CENTRAL365_*` come with it) and, if the homepage edits it, of `appdb.AppSettings` + the form;
then one field of `Connection` (with its default), filled in `connection_from_settings` and
`connection_from_app`, and used in `open.open_service`.  A rule both fronts share goes in
`checks` (a `Setting`, its rule function, its neutral sentence) with a sentence in
`config._CLI_WORDS` and a field in `web.settings_form._FORM_FIELDS`.
"""
