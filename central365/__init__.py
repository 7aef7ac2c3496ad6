"""central365: push the active contacts of the Central CRM into one Office 365 contacts folder."""

__version__ = "0.1.0"
