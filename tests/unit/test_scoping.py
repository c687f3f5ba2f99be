"""Every method of the storage contract is placed once in services/storage/scoping.py (filtered,
guarded, free or refused), and a method in no list is refused on a scoped view (fail closed)."""
from services.storage import scoping as sc
from services.storage.base import Storage


def test_every_contract_method_is_placed_exactly_once():
    lists = [sc.FILTERED, sc.FREE, set(sc.GUARDED), sc.REFUSED]
    contract = set(Storage.__abstractmethods__)
    for name in contract:
        assert sum(name in x for x in lists) == 1, name
    placed = set().union(*lists)
    assert placed <= contract | {n for n in dir(Storage) if not n.startswith("_")}, sorted(placed - contract)
    assert sc.unclassified() == set()


def test_a_method_in_no_list_is_refused_on_a_scoped_view(tmp_path, monkeypatch):
    import pytest

    from services.accounts.scopes import Scope
    from services.errors import PermissionDeniedError
    from services.storage.sql_backend import SqlStorage

    storage = SqlStorage(f"sqlite:///{tmp_path / 's.db'}")
    monkeypatch.setattr(sc, "FILTERED", sc.FILTERED - {"list_bills"})
    view = storage.scoped(Scope.of(["A"]))
    with pytest.raises(PermissionDeniedError):
        view.list_bills(None)
    storage.dispose()
