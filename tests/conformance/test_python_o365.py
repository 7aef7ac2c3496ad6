"""Conformance tier: python-o365 (a third-party Graph client) drives the sandbox unchanged.

The client runs as its users run it, through its public API (`Account`, `address_book`,
`ContactFolder`, `Contact`), against a TLS sandbox on a real port, with app-only sign-in at the
sandbox's identity platform.  What had to change is the base URL and, because python-o365 has
no option for a sign-in authority other than login.microsoftonline.com, the msal client it
uses (built the way python-o365 builds it, with the sandbox's authority and CA).  Where the
client itself is wrong, the test says so and names the bug.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import msal
import pytest
import requests
from O365 import Account
from O365.address_book import Contact, ContactFolder
from O365.connection import MSGraphProtocol

from central365.sandbox.identity import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID
from central365.sandbox.server import SandboxServer

pytestmark = [pytest.mark.conformance, pytest.mark.e2e]

MAILBOX = "demo@contoso.test"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    tls_dir = tmp_path_factory.mktemp("tls")
    with SandboxServer(tls=True, tls_dir=tls_dir, default_mailbox=MAILBOX) as server:
        yield server


@pytest.fixture
def account(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Account:
    # requests lets REQUESTS_CA_BUNDLE override a session's `verify`: trusting the sandbox's
    # CA through it is how a python-o365 user trusts a private CA.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sandbox.ca_path))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)

    class SandboxProtocol(MSGraphProtocol):
        _protocol_url = sandbox.root_url + "/"  # the base URL: the one change

    account = Account(
        (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        auth_flow_type="credentials",
        tenant_id=DEFAULT_TENANT_ID,
        protocol=SandboxProtocol(),
        main_resource=MAILBOX,
        verify_ssl=str(sandbox.ca_path),
    )
    # python-o365 hard-codes login.microsoftonline.com as msal's authority: give it the same
    # confidential client pointed at the sandbox's identity platform.
    account.con._msal_client = msal.ConfidentialClientApplication(
        DEFAULT_CLIENT_ID,
        client_credential=DEFAULT_CLIENT_SECRET,
        authority=sandbox.authority(DEFAULT_TENANT_ID),
        token_cache=account.con.token_backend,
        verify=str(sandbox.ca_path),
        instance_discovery=False,
    )
    assert account.authenticate()
    return account


def _root(account: Account) -> ContactFolder:
    book = account.address_book()
    assert isinstance(book, ContactFolder)
    return book


def _folder(made: ContactFolder | None) -> ContactFolder:
    """A plain `ContactFolder` for a folder the address book made (see
    `test_address_book_children_think_they_are_the_root`)."""
    assert made is not None
    data = {"id": made.folder_id, "displayName": made.name, "parentFolderId": made.parent_id}
    return ContactFolder(
        con=made.con,
        protocol=made.protocol,
        main_resource=made.main_resource,
        **{made._cloud_data_key: data},
    )


def _by_email(folder: ContactFolder, email: str) -> Contact | None:
    """The contact with this address, through python-o365's query builder.

    (`ContactFolder.get_contact_by_email` is broken in python-o365 2.1.10: it calls
    `QueryBuilder.any()` with the old keyword arguments and raises TypeError.)
    """
    q = folder.new_query()
    query = q.any(collection="email_addresses", filter_instance=q.equals("address", email))
    found = list(folder.get_contacts(limit=1, query=query))
    return found[0] if found else None


def _new_contact_in(folder: ContactFolder) -> Contact:
    """A contact that saves into `folder` (see the bug in `test_new_contact_folder_bug`)."""
    data = {"parentFolderId": folder.folder_id}
    return Contact(parent=folder, **{folder._cloud_data_key: data})


def test_folders_create_find_rename_delete(account: Account) -> None:
    root = _root(account)
    crm = _folder(root.create_child_folder("CRM o365"))
    assert crm.name == "CRM o365"
    child = crm.create_child_folder("Nested")
    assert child is not None
    assert [f.name for f in crm.get_folders()] == ["Nested"]
    found = root.get_folder(folder_name="CRM o365")
    assert found is not None and found.folder_id == crm.folder_id
    assert crm.update_folder_name("CRM renamed")
    renamed = root.get_folder(folder_id=crm.folder_id)
    assert renamed is not None and renamed.name == "CRM renamed"
    assert crm.delete()
    assert root.get_folder(folder_name="CRM renamed") is None


def test_contacts_create_update_list_filter_order_delete(account: Account) -> None:
    root = _root(account)
    folder = _folder(root.create_child_folder("People o365"))
    for given, surname, email in [
        ("Zoe", "Adams", "zoe@example.com"),
        ("Al", "Brown", "al@example.com"),
        ("Mia", "Clark", "mia@example.com"),
    ]:
        contact = _new_contact_in(folder)
        contact.name, contact.surname = given, surname
        contact.emails.add(email)
        contact.business_phones = ["+44 20 7946 0000"]
        assert contact.save()
        assert contact.object_id and contact.created is not None
    listed = list(folder.get_contacts(limit=None))
    assert sorted(c.surname for c in listed) == ["Adams", "Brown", "Clark"]
    assert all(c.folder_id == folder.folder_id for c in listed)

    found = _by_email(folder, "al@example.com")
    assert found is not None and found.full_name == "Al Brown"
    assert _by_email(folder, "nobody@example.com") is None

    found.job_title = "CEO"
    found.surname = "Black"
    assert found.save()
    again = _by_email(folder, "al@example.com")
    assert again is not None and again.job_title == "CEO"
    assert again.display_name == "Al Black"  # Exchange regenerates it (reference §1.1)

    by_given = [c.name for c in folder.get_contacts(order_by="givenName desc")]
    assert by_given == ["Zoe", "Mia", "Al"]
    by_surname = [c.surname for c in folder.get_contacts(order_by="surname")]
    assert by_surname == ["Adams", "Black", "Clark"]

    assert again.delete()
    assert _by_email(folder, "al@example.com") is None
    assert len(list(folder.get_contacts())) == 2
    assert folder.delete()


def test_new_contact_folder_bug(account: Account) -> None:
    """python-o365 2.1's own bug: `ContactFolder.new_contact()` sets `contact.__folder_id`
    inside ContactFolder, which Python name-mangles to `_ContactFolder__folder_id`, so
    `Contact.save()` never sees the folder and creates the contact in the default Contacts
    folder.  Graph (and the sandbox) do what the request says."""
    root = _root(account)
    folder = _folder(root.create_child_folder("Bug o365"))
    contact = folder.new_contact()
    contact.name = "Lost"
    assert contact.save()
    assert list(folder.get_contacts()) == []
    assert [c.name for c in root.get_contacts() if c.object_id == contact.object_id] == ["Lost"]
    assert contact.delete() and folder.delete()


def test_address_book_children_think_they_are_the_root(account: Account) -> None:
    """python-o365 2.1's own bug: `AddressBook.__init__` forces `root=True`, and its
    `create_child_folder` / `get_folder` build children with `self.__class__`, so every folder
    reached from the address book is an `AddressBook`: it lists the top-level folders instead
    of its children, and refuses to be renamed or deleted (both return False, nothing sent)."""
    root = _root(account)
    made = root.create_child_folder("Rooted o365")
    assert made is not None and made.root
    assert made.update_folder_name("Never") is False and made.delete() is False
    assert "Rooted o365" in [f.name for f in made.get_folders()]  # the root's list
    assert _folder(made).delete()


def test_get_contact_by_email_is_broken_in_the_client(account: Account) -> None:
    """python-o365 2.1.10's own bug, named so it is noticed when it is fixed."""
    with pytest.raises(TypeError, match="unexpected keyword argument 'attribute'"):
        _root(account).get_contact_by_email("a@example.com")


def test_unknown_mailbox_is_refused(account: Account) -> None:
    other = account.address_book(resource="ghost@contoso.test")
    with pytest.raises(
        requests.HTTPError, match=re.escape("The requested user 'ghost@contoso.test'")
    ):
        other.get_folders()
