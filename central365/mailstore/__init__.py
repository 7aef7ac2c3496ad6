"""Mailboxes as Microsoft Graph models them: folders, contacts, ids, changeKeys and problems.

A dependency-free model (standard library only) of what the sandbox serves and the in-memory
fake (`central365.memory`) holds, so the fake imports nothing of the emulator's web stack and
both answer with the same shapes.  The sandbox (`central365.sandbox`) puts HTTP, faults and
persistence around it; "reference §n" means a section of docs/graph-reference.md.
"""
