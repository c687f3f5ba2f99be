"""Reused or stale meter photos (docs/trust.md): the band split finds every pair within 3 bits
(pigeonhole), a re-compressed/resized photo of another meter or of the same meter last month is
flagged with who and when, a fresh photo is not, and an EXIF time far from the reading date is."""
import datetime as dt
import io
import random

import pytest
from hypothesis import given, strategies as st_
from PIL import Image, ImageDraw

from services import photo_checks as pc
from services.photos import PhotoStore
from services.storage import sql_photo_hashes
from services.storage.sql_backend import SqlStorage
from tests.factories import engineer_user, make_service, make_society


def meter_photo(seed: int, size=(640, 480), taken: str | None = None, quality=90) -> bytes:
    """A synthetic 'meter photo': random shapes (distinct per seed), JPEG, optional EXIF time."""
    rnd = random.Random(seed)
    img = Image.new("RGB", size, (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    d = ImageDraw.Draw(img)
    for _ in range(12):
        x, y = rnd.randrange(size[0]), rnd.randrange(size[1])
        d.ellipse((x, y, x + rnd.randrange(40, 300), y + rnd.randrange(40, 300)),
                  fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    out = io.BytesIO()
    exif = Image.Exif()
    if taken:
        exif.get_ifd(pc.EXIF_IFD)[pc.DATETIME_ORIGINAL] = taken
    img.save(out, format="JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()


def resent(data: bytes) -> bytes:
    """The same photo forwarded through a chat app: scaled down and re-compressed."""
    with Image.open(io.BytesIO(data)) as img:
        small = img.resize((img.width * 3 // 4, img.height * 3 // 4))
        out = io.BytesIO()
        small.save(out, format="JPEG", quality=70)
        return out.getvalue()


@given(st_.integers(0, 2**64 - 1), st_.lists(st_.integers(0, 63), max_size=3, unique=True))
def test_two_hashes_within_3_bits_always_share_a_band(value, flips):
    other = value
    for bit in flips:
        other ^= 1 << bit
    a, b = f"{value:016x}", f"{other:016x}"
    assert pc.distance(a, b) == len(flips)
    assert any(x == y for x, y in zip(pc.bands(a), pc.bands(b)))


def test_a_resent_photo_keeps_nearly_its_hash_and_different_photos_do_not():
    a = pc.fingerprint(meter_photo(1)).phash
    assert pc.distance(a, pc.fingerprint(resent(meter_photo(1))).phash) <= pc.MAX_DISTANCE
    assert min(pc.distance(a, pc.fingerprint(meter_photo(s)).phash) for s in range(2, 12)) > 8


def test_exif_capture_time_is_read_and_a_far_one_is_stale():
    pr = pc.fingerprint(meter_photo(3, taken="2026:09:02 10:15:00"))
    assert pr.taken_at == dt.datetime(2026, 9, 2, 10, 15)
    finding = pc.stale_finding(pr.taken_at, dt.date(2026, 11, 20))
    assert finding.kind == "stale" and "2026-09-02 (79 days from the reading date 2026-11-20)" in finding.reason
    assert pc.stale_finding(pr.taken_at, dt.date(2026, 9, 4)) is None
    assert pc.fingerprint(meter_photo(3)).taken_at is None  # no EXIF time: no flag, no guess


@pytest.fixture(params=["sqlite", "postgresql"])
def setup(request, tmp_path, today):
    url = f"sqlite:///{tmp_path / 'p.db'}" if request.param == "sqlite" else \
        request.getfixturevalue("pg_server").fresh_url()
    storage = SqlStorage(url)
    ids = make_society(storage, with_motor=False)
    db = make_service(storage, today)
    yield db, ids, PhotoStore(tmp_path / "photos"), engineer_user(storage)
    storage.dispose()


def submit(db, store, actor, meter_number, value, date, data):
    stored = store.save(data, "meter.jpg", meter_number=meter_number, today=date)
    meter = db.storage.get_meter(meter_number=meter_number)
    out = db.insert_meter_reading(meter_id=meter.id, reading_value=value, reading_date=date, photo_ref=stored.ref,
                                  actor=actor)
    assert db.record_photo_print(out.reading, stored)
    return out.reading


def test_another_meters_photo_and_last_months_photo_are_flagged_side_by_side(setup):
    db, ids, store, eng = setup
    first = submit(db, store, eng, "19152159", 1000, dt.date(2026, 10, 20), meter_photo(7))  # B17-FF
    fresh = submit(db, store, eng, "19150001", 500, dt.date(2026, 10, 21), meter_photo(8))  # A1-GF, its own photo
    assert db.photo_findings(first.id) == [] and db.photo_findings(fresh.id) == []
    copied = submit(db, store, eng, "19150001", 620, dt.date(2026, 11, 20), resent(meter_photo(7)))  # A1-GF
    [f] = db.photo_findings(copied.id)
    assert f.kind == "reused" and f.other_reading_id == first.id and f.other_account == "B17-FF"
    assert f.reason.startswith("this photo looks like the one for B17-FF on 2026-10-20")
    assert store.path_for(f.other_photo_ref) is not None  # shown beside it on the review page
    again = submit(db, store, eng, "19152159", 1100, dt.date(2026, 11, 19), meter_photo(7))  # B17-FF's October photo
    found = db.photo_findings(again.id)
    assert {x.other_reading_id for x in found} == {first.id, copied.id}  # the original and the resent copy
    assert all(x.kind == "reused" for x in found) and found[0].distance <= found[1].distance


def test_the_same_meters_photo_in_the_same_month_is_not_reuse_but_an_old_exif_time_is_stale(setup):
    db, ids, store, eng = setup
    submit(db, store, eng, "19152159", 1000, dt.date(2026, 11, 2), meter_photo(9))
    later = submit(db, store, eng, "19152159", 1010, dt.date(2026, 11, 3), resent(meter_photo(9)))
    assert db.photo_findings(later.id) == []  # a retake the same month: not a reused photo
    old = submit(db, store, eng, "19150002", 40, dt.date(2026, 11, 18), meter_photo(10, taken="2026:08:01 09:00:00"))
    [f] = db.photo_findings(old.id)
    assert f.kind == "stale" and "2026-08-01" in f.reason


def test_the_lookup_probes_the_four_band_indexes_never_the_table(setup):
    db, *_ = setup
    engine = db.storage.engine
    sql = str(sql_photo_hashes.candidates_query(engine.dialect.name, "c3a5e1f00f1e5a3c", 7)
              .compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = " ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
            assert "SCAN photo_hashes" not in plan, plan
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")  # an empty table: the planner would scan it anyway
            plan = " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql))
            assert "Seq Scan" not in plan, plan
    for band in range(4):
        assert f"ix_photo_hashes_band{band}" in plan, plan
