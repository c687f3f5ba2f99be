"""bulk_insert(return_ids=True): the new rows' ids in the order given, so rows without a unique key
of their own (contacts whose phone is missing or shared) can be linked (the demo seeding does)."""
from services.accounts.roles import Actor

ADMIN = Actor(None, "contract", "admin")


def test_return_ids_follow_the_rows_order(storage):
    area = storage.ensure_areas([{"path": "LHC/UC-1", "name": "Union Council 1"}], ADMIN)["LHC/UC-1"]
    codes = [f"SP-LHC-{i:07d}" for i in range(7)]
    storage.bulk_insert("accounts", [{"code": c, "name": c, "area_id": area} for c in codes])
    account_ids = storage.lookup_ids("accounts", "code", codes)
    # Same names and phones, some missing: nothing but the order tells these contacts apart.
    contacts = [{"name": f"Imran Khan {i % 2}", "phone": None if i % 3 == 0 else "+923001234567"} for i in range(7)]
    ids = storage.bulk_insert("contacts", contacts, return_ids=True)
    assert len(ids) == len(set(ids)) == 7
    storage.bulk_insert("account_contacts", [{"account_id": account_ids[c], "contact_id": cid, "is_primary": True}
                                             for c, cid in zip(codes, ids)])
    for i, c in enumerate(codes):
        account = storage.get_account(code=c)
        assert (account.contact_name, account.contact_phone) == (contacts[i]["name"], contacts[i]["phone"])
        assert account.contact_id == ids[i]
    assert storage.bulk_insert("contacts", [], return_ids=True) == []
    assert storage.bulk_insert("contacts", [{"name": "No id asked"}]) is None
