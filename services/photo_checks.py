"""Reused or stale meter photos: the rules (docs/trust.md). No database, no UI.

Every stored meter photo gets a 64-bit perceptual hash (imagehash's pHash: the low frequencies of a
32x32 greyscale DCT, so a photo re-sent, re-compressed, resized or lightly cropped keeps nearly the
same hash) and its EXIF capture time, when the camera wrote one.

- Reused: a photo within MAX_DISTANCE bits of another meter's photo (any date), or of the same
  meter's photo from an earlier month, is flagged ("this photo looks like the one for B17-FF on
  2026-10-20"). The hash is split into four 16-bit bands stored in indexed columns: two hashes
  at most 3 bits apart differ in at most 3 bands, so they agree exactly on at least one
  (pigeonhole). The lookup reads the rows of four index keys and computes the exact distance there.
- Stale: a photo whose EXIF capture time is more than STALE_DAYS from the reading's date.
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

MAX_DISTANCE = 3  # bits of 64; the band index finds every pair this close (4 bands > 3 bits)
STALE_DAYS = 3
BANDS = 4
EXIF_IFD = 0x8769
DATETIME_ORIGINAL, DATETIME_DIGITIZED, DATETIME = 0x9003, 0x9004, 0x0132


@dataclass(frozen=True)
class PhotoPrint:
    phash: str  # 16 hex digits
    taken_at: dt.datetime | None  # EXIF capture time (camera-local), None when the photo has none

    @property
    def bands(self) -> tuple[int, ...]:
        return bands(self.phash)


@dataclass(frozen=True)
class PhotoFinding:
    kind: str  # "reused" | "stale"
    reason: str
    other_reading_id: int | None = None
    other_photo_ref: str | None = None
    other_account: str | None = None
    other_meter: str | None = None
    other_date: dt.date | None = None
    distance: int | None = None


def bands(phash_hex: str) -> tuple[int, ...]:
    value = int(phash_hex, 16)
    return tuple((value >> (16 * (BANDS - 1 - i))) & 0xFFFF for i in range(BANDS))


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def fingerprint(data: bytes) -> PhotoPrint:
    """The photo's pHash and EXIF capture time (Pillow decodes it once)."""
    import imagehash
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as img:
        taken = exif_taken_at(img)
        upright = ImageOps.exif_transpose(img)  # a phone's rotated photo hashes as it is seen
        upright.draft("L", (256, 256))  # JPEG: decode at a reduced scale; pHash looks at 32x32 anyway
        return PhotoPrint(str(imagehash.phash(upright)), taken)


def exif_taken_at(img) -> dt.datetime | None:
    exif = img.getexif()
    raw = exif.get_ifd(EXIF_IFD).get(DATETIME_ORIGINAL) or exif.get_ifd(EXIF_IFD).get(DATETIME_DIGITIZED) \
        or exif.get(DATETIME)
    if not raw:
        return None
    try:
        return dt.datetime.strptime(str(raw).strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None  # "0000:00:00 00:00:00" and other junk cameras write: no time, no flag


def stale_finding(taken_at: dt.datetime | None, reading_date: dt.date, days: int = STALE_DAYS) -> PhotoFinding | None:
    if taken_at is None:
        return None
    gap = abs((taken_at.date() - reading_date).days)
    if gap <= days:
        return None
    return PhotoFinding("stale", f"the photo was taken on {taken_at.date()} ({gap} days from the reading date "
                                 f"{reading_date}), by its camera's clock")


def is_reuse(mine_meter: int, mine_date: dt.date, other_meter: int, other_date: dt.date) -> bool:
    """Another meter's photo on any date, or this meter's photo from an earlier month."""
    if other_meter != mine_meter:
        return True
    return (other_date.year, other_date.month) < (mine_date.year, mine_date.month)


def reuse_reason(account: str | None, meter: str | None, on: dt.date, dist: int) -> str:
    who = account or f"meter {meter}"
    return f"this photo looks like the one for {who} on {on} ({dist} of 64 bits of their perceptual hashes differ)"


OUTSIDE = "a meter outside your areas"  # what a scoped reader is told of the other side (docs/trust.md)


@dataclass(frozen=True)
class PhotoCandidate:
    """A stored photo sharing a band with the checked one, as the reader may see it: `meter_id`,
    `photo_ref`, `meter_number`, `account_code` and `reading_id` are None when its meter lies outside
    the reader's scope (the storage filters that in the database)."""
    reading_date: dt.date
    phash: str
    meter_id: int | None = None
    reading_id: int | None = None
    photo_ref: str | None = None
    meter_number: str | None = None
    account_code: str | None = None

    @property
    def hidden(self) -> bool:
        return self.meter_id is None


def reuse_findings(mine_meter: int, mine_date: dt.date, mine_phash: str, candidates, *,
                   max_distance: int = MAX_DISTANCE, limit: int = 3) -> list[PhotoFinding]:
    """The reused-photo findings among `candidates` (PhotoCandidate), closest first then oldest.
    A hidden candidate (another area's meter) is always another meter: flagged, without who or which photo."""
    seen, near = set(), []
    for c in candidates:
        key = (c.reading_id, c.reading_date, c.phash) if c.hidden else c.reading_id
        if key in seen:
            continue
        seen.add(key)
        d = distance(mine_phash, c.phash)
        if d <= max_distance and (c.hidden or is_reuse(mine_meter, mine_date, c.meter_id, c.reading_date)):
            near.append((d, c.reading_date, c))
    near.sort(key=lambda x: (x[0], x[1]))
    out = []
    for d, on, c in near[:limit]:
        if c.hidden:
            out.append(PhotoFinding("reused", reuse_reason(OUTSIDE, None, on, d), other_date=on, distance=d))
        else:
            out.append(PhotoFinding("reused", reuse_reason(c.account_code, c.meter_number, on, d), c.reading_id,
                                    c.photo_ref, c.account_code, c.meter_number, on, d))
    return out
