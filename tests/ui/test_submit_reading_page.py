"""Field engineer: submit a reading (search, motor meter, photo, validation, double tap)."""
from decimal import Decimal

from services.models import ReadingFilter
from tests.ui.seeded import png_bytes, seeded_template, seeded_url, signed_in, storage_for  # noqa: F401

PAGE = "ui/submit_reading.py"
B17 = "B17-FF - First Floor - Test Owner - meter 19152159"


def _last_value(url) -> Decimal:
    st = storage_for(url)
    meter = st.get_meter(meter_number="19152159")
    return st.meter_history(meter.id, limit=1)[0].reading_value


def _count(url) -> int:
    st = storage_for(url)
    meter = st.get_meter(meter_number="19152159")
    return st.list_readings(ReadingFilter(status=None, meter_id=meter.id)).total


def _pick(at, label: str = B17):
    box = at.selectbox(key="fe_choice")
    box.select_index(box.options.index(label)).run()
    assert at.selectbox(key="fe_choice").value.label == label
    return at


def _fill(at, value: str, photo: tuple | None = None):
    at.text_input(key="fe_search").input("B17-FF").run()
    _pick(at)
    next(t for t in at.text_input if (t.key or "").startswith("fe_value_")).input(value)
    if photo:
        at.file_uploader[0].set_value(photo)
    return at


def _submit(at):
    next(b for b in at.button if b.label == "Submit reading").click()
    return at.run()


def test_engineer_lands_on_the_form_with_labelled_choices(seeded_url, monkeypatch, tmp_path):
    at = signed_in(seeded_url, monkeypatch, tmp_path, "engineer")
    assert [t.value for t in at.title] == [":material/bolt: Submit a reading"]
    assert at.selectbox(key="fe_choice").options[0].startswith("A1-FF - First Floor - ")
    at.text_input(key="fe_search").input("19152159").run()
    _pick(at)
    captions = " ".join(c.value for c in at.caption)
    assert "Shared water motor MOTOR\\-B2: motor meter **82000002**" in captions and "Last reading:" in captions
    assert str(at.date_input[0].value) == str(at.session_state["fe_date_0"])  # today by default


def test_submit_with_photo_shows_consumption_and_stores_photo(seeded_url, monkeypatch, tmp_path):
    before = _last_value(seeded_url)
    at = _fill(signed_in(seeded_url, monkeypatch, tmp_path, "engineer"), str(before + Decimal("150.5")),
               ("meter.png", png_bytes(), "image/png"))
    at = _submit(at)
    assert not at.exception and not at.error, [e.value for e in at.error]
    ok = at.success[0].value
    assert "Saved reading #" in ok and "**150.50 kWh**" in ok and "Photo saved." in ok
    st = storage_for(seeded_url)
    meter = st.get_meter(meter_number="19152159")
    newest = st.meter_history(meter.id, limit=1)[0]
    assert newest.reading_value == before + Decimal("150.5") and newest.consumption == Decimal("150.50")
    assert newest.photo_ref and (tmp_path / "photos" / newest.photo_ref).is_file()
    assert newest.submitted_by_name == "engineer" and newest.status == "pending"
    # A fresh, empty form after success.
    assert all(not t.value for t in at.text_input if (t.key or "").startswith("fe_value_"))


def test_same_reading_twice_stores_one_row(seeded_url, monkeypatch, tmp_path):
    value = str(_last_value(seeded_url) + Decimal("10"))
    at = _submit(_fill(signed_in(seeded_url, monkeypatch, tmp_path, "engineer"), value))
    n = _count(seeded_url)
    at = _submit(_fill(at, value))  # the same values again, as a second tap would send them
    assert _count(seeded_url) == n
    assert any("it was not sent again" in i.value for i in at.info)
    # Another session (a retry from a second phone): the service finds the stored row.
    other = _submit(_fill(signed_in(seeded_url, monkeypatch, tmp_path, "engineer"), value))
    assert _count(seeded_url) == n
    assert any("is stored" in s.value and "the repeat was not saved again" in s.value for s in other.success)


def test_bad_values_refused_with_the_field_named_and_nothing_stored(seeded_url, monkeypatch, tmp_path):
    n = _count(seeded_url)
    at = signed_in(seeded_url, monkeypatch, tmp_path, "engineer")
    for bad, says in (("abc", "is not a number"), ("-5", "below the minimum"), ("1", "previous reading")):
        at = _submit(_fill(at, bad, ("meter.png", png_bytes(), "image/png")))
        text = " ".join(e.value for e in at.error)
        assert "**Reading value**" in text and says in text, text
    assert _count(seeded_url) == n
    assert not list((tmp_path / "photos").rglob("*.png"))  # the refused readings left no photo behind


def test_photo_not_an_image_or_too_big_refused(seeded_url, monkeypatch, tmp_path):
    n = _count(seeded_url)
    value = str(_last_value(seeded_url) + Decimal("5"))
    at = _submit(_fill(signed_in(seeded_url, monkeypatch, tmp_path, "engineer"), value,
                       ("meter.jpg", b"this is not a picture", "image/jpeg")))
    assert any("**Photo**" in e.value and "not an image" in e.value for e in at.error)
    monkeypatch.setenv("PHOTO_MAX_BYTES", "100")
    at = _submit(_fill(signed_in(seeded_url, monkeypatch, tmp_path, "engineer"), value,
                       ("meter.png", png_bytes(size=(400, 400)), "image/png")))
    assert any("**Photo**" in e.value and "limit" in e.value for e in at.error)
    assert _count(seeded_url) == n


def test_cloud_copy_and_ai_advice_added_after_the_reading_is_stored(seeded_url, monkeypatch, tmp_path):
    from ui.common import services

    at = signed_in(seeded_url, monkeypatch, tmp_path, "engineer")
    svc = services()  # the app's cached Services for this database (the app has run, so the env names it)
    uploads, asked = [], []

    class Cloud:
        name = "fake-cloud"

        def upload(self, path, public_id):
            uploads.append((path.is_file(), public_id))
            return f"https://cdn.example.test/{public_id}"

    class Advisor:
        name = "fake-ai"

        def advise(self, reading, history, flags):
            asked.append((reading.id, len(history)))
            return {"verdict": "suspicious", "confidence": 0.7, "reason": "much higher than usual"}

    monkeypatch.setattr(svc, "remote_photos", Cloud())
    monkeypatch.setattr(svc, "advisor", Advisor())
    value = _last_value(seeded_url) + Decimal("400")
    at = _submit(_fill(at, str(value), ("meter.png", png_bytes(), "image/png")))
    assert not at.error
    st = storage_for(seeded_url)
    newest = st.meter_history(st.get_meter(meter_number="19152159").id, limit=1)[0]
    assert uploads == [(True, newest.photo_ref)] and newest.photo_url == f"https://cdn.example.test/{newest.photo_ref}"
    assert asked and asked[0][0] == newest.id and newest.ai_opinion["verdict"] == "suspicious"
    # The reviewer sees the advice beside the flags.
    admin = signed_in(seeded_url, monkeypatch, tmp_path, "admin", "ui/review_readings.py")
    admin.text_input(key="rv_code").input("B17-FF").run()
    assert any("AI advice: suspicious (0\\.7): much higher than usual" in c.value for c in admin.caption)


def test_photo_over_the_pixel_limit_is_refused_and_the_help_says_the_limit(seeded_url, monkeypatch, tmp_path):
    monkeypatch.setenv("PHOTO_MAX_PIXELS", "100000")
    n = _count(seeded_url)
    at = signed_in(seeded_url, monkeypatch, tmp_path, "engineer")
    _pick(at.text_input(key="fe_search").input("B17-FF").run())
    assert "0.1 megapixels" in at.file_uploader[0].help and "10 MB" in at.file_uploader[0].help
    value = str(_last_value(seeded_url) + Decimal("5"))
    at = _submit(_fill(at, value, ("meter.png", png_bytes(size=(400, 300)), "image/png")))
    assert any("**Photo**" in e.value and "is 400x300 pixels" in e.value and "0.1 megapixels" in e.value
               for e in at.error)
    assert _count(seeded_url) == n


# ---- issue 18 defects ------------------------------------------------------------------------
def test_nothing_is_chosen_until_the_engineer_picks(seeded_url, monkeypatch, tmp_path):
    at = signed_in(seeded_url, monkeypatch, tmp_path, "engineer")
    assert at.selectbox(key="fe_choice").value is None  # no first flat pre-selected
    assert not any(b.label == "Submit reading" for b in at.button)  # no form to send until a flat is picked
    assert any("pick the flat and meter" in i.value for i in at.info)
    at.text_input(key="fe_search").input("B17-FF").run()
    assert at.selectbox(key="fe_choice").value is None  # a search alone picks nothing either
    _pick(at)
    assert any(b.label == "Submit reading" for b in at.button)


def test_a_future_reading_date_is_refused_not_replaced_by_today(seeded_url, monkeypatch, tmp_path):
    import datetime as dt

    n = _count(seeded_url)
    at = _fill(signed_in(seeded_url, monkeypatch, tmp_path, "engineer"), str(_last_value(seeded_url) + Decimal("7")))
    today = at.date_input[0].value
    assert at.date_input[0].max > today  # no browser-side clamp that would send today instead
    at.date_input[0].set_value(today + dt.timedelta(days=3))
    at = _submit(at)
    text = " ".join(e.value for e in at.error)
    assert "**Reading date**" in text and "is in the future" in text, text
    assert _count(seeded_url) == n  # nothing stored, not stored as today


def test_the_uploader_offers_only_what_it_can_decode(seeded_url, monkeypatch, tmp_path):
    from PIL import Image

    at = _fill(signed_in(seeded_url, monkeypatch, tmp_path, "engineer"), "1")
    up = at.file_uploader[0]
    heif = "HEIF" in set(Image.registered_extensions().values())
    assert (".heic" in up.proto.type) == heif
    assert up.proto.max_upload_size_mb == 10  # the browser says (and enforces) the real limit, not 25 MB
    assert "10 MB" in up.help


def test_a_missing_reading_value_is_a_sentence_that_says_what_to_do(seeded_url, monkeypatch, tmp_path):
    at = _submit(_fill(signed_in(seeded_url, monkeypatch, tmp_path, "engineer"), ""))
    assert [e.value for e in at.error] == ["Enter the reading value."]
