"""A deterministic demo municipal utility: Suthra Punjab (seed 003), pure (no I/O).

Five cities/tehsils of Punjab, each with union councils (UCs) of three types; consumer units
surveyed in the field with the seed's `survey_units` fields; a roster of ~50 staff. Every unit is
derived from its index alone (`unit_at`), so any chunk of 300,000 units is generated on its own,
and the survey id maps back to the index (`unit_index_of`).

Survey vocabulary (seed 003's unit_specific_type and survey_category): a unit's `account_type`
is one of UNIT_TYPES and its `category` one of CATEGORIES. Houses use the same Small / Medium /
Large, banded by plot size (HOUSE_CATEGORY_MAX_MARLA). Places of worship (EXEMPT_UNIT_TYPES) are
surveyed but not billed: they get no sanitation service. The plan (data/tariffs/municipal.toml)
has words of its own (houses by plot-size band, "Rural residential", "Institutional"); the
seeding's `tariff_class` (services/seeding/municipal.py) maps a unit to them, and
tests/scripts/test_seed_municipal.py checks that every unit this module can emit is priced.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterator
from zoneinfo import ZoneInfo

from services.demo.common import METRES_PER_DEGREE_LAT, DemoArea, DemoContact, PaymentPlan, payment_plan, seeded

UTILITY_NAME = "Suthra Punjab"
CURRENCY = "PKR"
TIMEZONE = "Asia/Karachi"
ZONE = ZoneInfo(TIMEZONE)
AREA_LEVELS = ("City/Tehsil", "Union Council")
SERVICE = "sanitation"
DEFAULT_UNITS = 3_000
DEFAULT_STAFF = 50
SURVEY_MONTHS = 18

UC_TYPES = ("Urban", "Peri-Urban", "Rural")
CATEGORIES = ("Small", "Medium", "Large")
# Houses: Small up to 5 marla, Medium over 5 up to 10, Large over 10 (1 marla = 272.25 sq ft).
HOUSE_CATEGORY_MAX_MARLA = {"Small": Decimal(5), "Medium": Decimal(10)}
HOUSE_TYPES = ("Pakka", "Semi-Pakka", "Kacha")   # construction, as the census and surveys record it
WATER_CONNECTIONS = ("Yes", "Shared", "No")
STAFF_ROLES = ("AGENT", "SUPERVISOR", "MANAGER", "HEAD")
# Mobile network codes of Pakistani operators (Jazz 300-309, 320-325; Zong 310-318; Ufone
# 330-336; Telenor 340-349). Numbers are stored E.164 (+923001234567), as contacts are.
MOBILE_PREFIXES = tuple(range(300, 310)) + tuple(range(310, 319)) + tuple(range(320, 326)) + \
    tuple(range(330, 337)) + tuple(range(340, 350))
MOBILE_PATTERN = r"\+92(" + "|".join(str(p) for p in MOBILE_PREFIXES) + r")\d{7}"

# (code, name, centre lat, centre lon, share of the units, [(UC name, UC type), ...])
TEHSILS = (
    ("LHC", "Lahore Cantt", 31.5125, 74.3880, 30, [
        ("Saddar Bazar", "Urban"), ("R.A. Bazar", "Urban"), ("Walton", "Urban"), ("Dharampura", "Urban"),
        ("Mughalpura", "Urban"), ("Bhatta Chowk", "Urban"), ("Nishat Colony", "Urban"),
        ("Chungi Amar Sidhu", "Urban"), ("Lidhar", "Peri-Urban"), ("Bedian Road", "Peri-Urban"),
        ("Manawan", "Peri-Urban"), ("Barki", "Rural"), ("Hadiara", "Rural")]),
    ("KSR", "Kasur", 31.1187, 74.4463, 22, [
        ("Kot Halim Khan", "Urban"), ("Kot Azam Khan", "Urban"), ("Rohi Nala", "Urban"), ("Steel Bagh", "Urban"),
        ("Kot Murad Khan", "Urban"), ("Pakka Qila", "Urban"), ("Dhoop Sari", "Peri-Urban"),
        ("Kot Rukan Din", "Peri-Urban"), ("Mustafabad", "Peri-Urban"), ("Bhoe Asal", "Rural"), ("Khara", "Rural"),
        ("Ganda Singh Wala", "Rural"), ("Rahim Khan", "Rural")]),
    ("SKP", "Sheikhupura", 31.7131, 73.9783, 22, [
        ("Civil Lines", "Urban"), ("Ghalla Mandi", "Urban"), ("Qila Sheikhupura", "Urban"), ("Faisal Town", "Urban"),
        ("Sharifpura", "Urban"), ("Hiran Minar", "Peri-Urban"), ("Kot Pindi Das", "Peri-Urban"),
        ("Bhikhi", "Peri-Urban"), ("Jandiala Sher Khan", "Rural"), ("Mandiali", "Rural"),
        ("Qila Sattar Shah", "Rural"), ("Khanpur", "Rural")]),
    ("OKR", "Okara", 30.8081, 73.4458, 16, [
        ("Ghalla Mandi", "Urban"), ("Satellite Town", "Urban"), ("Shadman Colony", "Urban"),
        ("Mohallah Islamabad", "Urban"), ("Faisal Colony", "Urban"), ("Chak 1/4-L", "Peri-Urban"),
        ("Akhtarabad", "Peri-Urban"), ("Satghara", "Rural"), ("Chak 47/2-L", "Rural"), ("Bamba", "Rural"),
        ("Gamber", "Rural")]),
    ("PTK", "Pattoki", 31.0207, 73.8500, 10, [
        ("Main Bazar", "Urban"), ("Islampura", "Urban"), ("Jinnah Colony", "Urban"), ("Nursery Road", "Urban"),
        ("Habibabad", "Peri-Urban"), ("Jamber Kalan", "Peri-Urban"), ("Hallah", "Rural"), ("Jaguwala", "Rural"),
        ("Kot Sardar", "Rural")]),
)
# Units per UC grow with density; UC size (radius) and distance from the city centre with type.
_UC_DENSITY = {"Urban": 3.0, "Peri-Urban": 2.0, "Rural": 1.0}
_UC_RADIUS_M = {"Urban": 700.0, "Peri-Urban": 1500.0, "Rural": 2500.0}
_UC_DISTANCE_KM = {"Urban": (0.6, 3.5), "Peri-Urban": (4.5, 8.0), "Rural": (9.0, 18.0)}

# (unit type, billable, weight in Urban / Peri-Urban / Rural UCs, Small / Medium / Large shares,
#  size multiplier for non-houses). Weights are per hundred units; houses dominate, more so in
# rural UCs; shops cluster in urban bazaars.
_UNIT_TABLE = (
    ("House", True, (62.0, 72.0, 82.0), None, 1),
    ("General Store", True, (6.0, 5.0, 4.5), (65, 28, 7), 1),
    ("Cloth Shop", True, (2.5, 1.5, 0.6), (45, 40, 15), 1),
    ("Mobile Shop", True, (2.0, 1.2, 0.4), (70, 25, 5), 1),
    ("Barber", True, (2.0, 1.6, 1.2), (75, 22, 3), 1),
    ("Tailor", True, (2.0, 1.6, 1.0), (75, 22, 3), 1),
    ("Bakery", True, (1.5, 1.0, 0.5), (45, 40, 15), 1),
    ("Milk Shop", True, (1.5, 1.4, 1.0), (70, 25, 5), 1),
    ("Butcher", True, (1.2, 1.0, 0.8), (70, 25, 5), 1),
    ("Fruit & Vegetable Shop", True, (1.8, 1.2, 0.6), (70, 25, 5), 1),
    ("Pharmacy", True, (1.6, 1.0, 0.4), (55, 35, 10), 1),
    ("Restaurant", True, (2.0, 1.2, 0.5), (40, 40, 20), 1.5),
    ("Mechanic Workshop", True, (1.6, 2.0, 1.2), (45, 40, 15), 1.5),
    ("Hardware Store", True, (1.2, 1.0, 0.5), (45, 40, 15), 1),
    ("Clinic", True, (1.0, 0.6, 0.3), (50, 35, 15), 1.5),
    ("Office", True, (1.5, 0.6, 0.1), (50, 35, 15), 1.5),
    ("Marriage Hall", True, (0.3, 0.4, 0.1), (0, 30, 70), 6),
    ("Factory", True, (0.2, 0.8, 0.5), (30, 40, 30), 5),
    ("School", True, (1.0, 1.0, 1.0), (35, 40, 25), 4),
    ("Mosque", False, (1.2, 1.2, 1.6), (40, 40, 20), 2),
    ("Madrasa", False, (0.4, 0.4, 0.5), (50, 35, 15), 2),
    ("Church", False, (0.1, 0.1, 0.1), (60, 30, 10), 2),
)
UNIT_TYPES = tuple(row[0] for row in _UNIT_TABLE)
EXEMPT_UNIT_TYPES = frozenset(row[0] for row in _UNIT_TABLE if not row[1])
BILLABLE_UNIT_TYPES = tuple(t for t in UNIT_TYPES if t not in EXEMPT_UNIT_TYPES)
INSTITUTION_TYPES = frozenset({"School", "Mosque", "Madrasa", "Church", "Marriage Hall"})

_HOUSE_SIZES = (2, 2.5, 3, 3.5, 4, 5, 6, 7, 8, 10, 12, 15, 20, 40)   # marla; 20 = 1 kanal
_HOUSE_SIZE_WEIGHTS = {
    "Urban": (4, 4, 12, 4, 10, 22, 5, 8, 4, 12, 3, 3, 6, 2),
    "Peri-Urban": (3, 3, 9, 3, 9, 20, 6, 10, 6, 15, 4, 4, 8, 2),
    "Rural": (2, 2, 5, 2, 6, 14, 6, 10, 8, 18, 6, 7, 11, 5),
}
_SHOP_MARLA = {"Small": (0.25, 1.0), "Medium": (1.0, 3.0), "Large": (3.0, 8.0)}
_HOUSE_TYPE_WEIGHTS = {"Urban": (85, 12, 3), "Peri-Urban": (70, 22, 8), "Rural": (50, 30, 20)}
_WATER_WEIGHTS = {"Urban": (72, 10, 18), "Peri-Urban": (45, 12, 43), "Rural": (18, 8, 74)}

MALE_NAMES = ("Imran", "Usman", "Bilal", "Tariq", "Asif", "Zahid", "Shahid", "Khalid", "Naveed", "Waqas", "Adnan",
              "Kashif", "Farhan", "Hamza", "Zubair", "Rizwan", "Sajid", "Arshad", "Javed", "Nadeem", "Irfan",
              "Amjad", "Ghulam Rasool", "Abdul Ghafoor", "Allah Ditta", "Mehmood", "Iqbal", "Akram", "Aslam",
              "Ahmad", "Ali", "Umar", "Saleem", "Shafiq", "Rashid", "Faisal", "Yasir", "Sohail", "Pervaiz",
              "Ejaz", "Liaqat", "Nasir", "Abid", "Zafar", "Qaiser", "Munir", "Sarfraz", "Anwar")
FEMALE_NAMES = ("Fatima", "Ayesha", "Zainab", "Sadia", "Nasreen", "Shabana", "Rukhsana", "Kausar", "Samina",
                "Bushra", "Naila", "Sana", "Amna", "Hina", "Farzana", "Parveen", "Shazia", "Tahira", "Razia",
                "Nighat", "Saima", "Asma")
SURNAMES = ("Khan", "Ahmed", "Butt", "Malik", "Chaudhry", "Rana", "Sheikh", "Qureshi", "Ansari", "Awan",
            "Gujjar", "Jutt", "Arain", "Rajput", "Bhatti", "Mughal", "Siddiqui", "Hashmi", "Cheema", "Warraich",
            "Virk", "Sandhu", "Dogar", "Javed", "Iqbal", "Hussain", "Raza", "Shah", "Abbasi", "Kamboh",
            "Ashraf", "Anjum", "Masih", "Gill")
MOHALLAS = ("Islampura", "Rehmanpura", "Gulshan Colony", "Muslim Town", "Faisal Town", "Madina Colony",
            "Ghousia Colony", "Shadman Colony", "Nai Abadi", "Qasimpura", "Model Town", "Iqbal Colony",
            "Jinnah Colony", "Usmanabad", "Bilal Ganj", "Farooq Colony", "Mohalla Sheikhan", "Mohalla Arain",
            "Christian Colony", "Railway Colony", "Sabzi Mandi", "Ghalla Mandi")
BAZAARS = ("Main Bazar", "Railway Road", "GT Road", "Circular Road", "Katchery Road", "Hospital Road",
           "College Road", "Anarkali Bazar", "Chowk Bazar", "Grain Market")
RURAL_PLACES = ("Mohalla Masjid Wala", "Dera", "Basti", "Mohalla Chaudhrian", "Abadi", "Mohalla Kumharan")
_INSTITUTION_NAMES = {
    "School": (("Al-Huda", "Iqra", "Dar-e-Arqam", "Quaid-e-Azam", "Allama Iqbal", "Bright Future", "Crescent",
                "Government Girls", "Government Boys"), ("Public School", "Model School", "Grammar School",
                                                         "High School", "Elementary School")),
    "Mosque": (("Jamia Masjid", "Masjid", "Markazi Jamia Masjid"),
               ("Noor", "Madina", "Bilal", "Usmania", "Ghousia", "Farooqia", "Al-Rehman", "Ahl-e-Hadith")),
    "Madrasa": (("Madrasa", "Jamia"), ("Taleem-ul-Quran", "Ashrafia", "Rizvia", "Faizan-e-Madina", "Qasim-ul-Uloom")),
    "Church": (("St. Mary's", "St. Paul's", "Presbyterian", "Full Gospel", "Salvation Army"), ("Church",)),
    "Marriage Hall": (("Shahi", "Royal", "Al-Noor", "Gulshan", "Shalimar", "Crown", "Taj"),
                      ("Marriage Hall", "Banquet Hall", "Marquee")),
}

# Survey ids: SP-<tehsil>-<7 digits>. The 7 digits are (index * _ID_MULT + _ID_OFFSET) mod 10**7:
# _ID_MULT is coprime with 10**7 (not divisible by 2 or 5), so the map is a bijection on
# 0..10**7-1 and distinct indexes always get distinct numbers (unit_index_of inverts it).
_ID_MOD = 10_000_000
_ID_MULT = 7_368_787
_ID_OFFSET = 1_204_311
MAX_UNITS = _ID_MOD

_SALT_UNIT = 0x4D55
_SALT_STAFF = 0x5354
_SALT_UC = 0x5543
_SALT_SURVEYOR = 0x5356


def _build_areas() -> tuple[list[DemoArea], list[DemoArea]]:
    tops, ucs = [], []
    for t_code, t_name, lat, lon, _share, uc_list in TEHSILS:
        tops.append(DemoArea(1, t_code, t_name, t_code, None, None, lat, lon, 21_000.0))   # holds its UCs
        for k, (uc_name, uc_type) in enumerate(uc_list, start=1):
            rng = seeded(_SALT_UC, len(ucs))
            lo, hi = _UC_DISTANCE_KM[uc_type]
            distance_m = rng.uniform(lo, hi) * 1000
            angle = k * 2.399963 + rng.uniform(-0.3, 0.3)   # golden angle: UCs spread around the city
            c_lat = lat + distance_m * math.sin(angle) / METRES_PER_DEGREE_LAT
            c_lon = lon + distance_m * math.cos(angle) / (METRES_PER_DEGREE_LAT * math.cos(math.radians(lat)))
            code = f"{t_code}-UC{k:02d}"
            ucs.append(DemoArea(2, code, uc_name, f"{t_code}/{code}", t_code, uc_type,
                                round(c_lat, 6), round(c_lon, 6), _UC_RADIUS_M[uc_type]))
    return tops, ucs


_TOPS, _UCS = _build_areas()
_TEHSIL_BY_CODE = {a.code: a for a in _TOPS}
_UC_BY_CODE = {a.code: a for a in _UCS}
_UCS_BY_CITY = {t.code: [uc for uc in _UCS if uc.parent_path == t.code] for t in _TOPS}


def _uc_cumulative_weights() -> list[float]:
    cum, acc = [], 0.0
    for t_code, _name, _lat, _lon, share, _ucs in TEHSILS:
        mine = [uc for uc in _UCS if uc.parent_path == t_code]
        total_density = sum(_UC_DENSITY[uc.kind] for uc in mine)
        for uc in mine:
            acc += share * _UC_DENSITY[uc.kind] / total_density
            cum.append(acc)
    return cum


_UC_CUM = _uc_cumulative_weights()
_UC_POSITIONS = range(len(_UCS))


def _cum(weights) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out


_TYPE_CUM = {t: _cum(row[2][i] for row in _UNIT_TABLE) for i, t in enumerate(UC_TYPES)}
_HOUSE_SIZE_CUM = {t: _cum(w) for t, w in _HOUSE_SIZE_WEIGHTS.items()}
_CATEGORY_CUM = {row[0]: _cum(row[3]) for row in _UNIT_TABLE if row[3]}
_SIZE_MULT = {row[0]: row[4] for row in _UNIT_TABLE}
_HOUSE_TYPE_CUM = {t: _cum(w) for t, w in _HOUSE_TYPE_WEIGHTS.items()}
_WATER_CUM = {t: _cum(w) for t, w in _WATER_WEIGHTS.items()}
_MOBILE_CUM = _cum(3 if p < 310 else 2 if p < 320 else 1.5 if p < 330 else 1.5 if p < 340 else 2
                   for p in MOBILE_PREFIXES)


def areas() -> list[DemoArea]:
    """Every area, parents first: the cities/tehsils (level 1), then their union councils
    (level 2, kind = UC type, with a centre and radius)."""
    return _TOPS + _UCS


def union_councils() -> list[DemoArea]:
    return list(_UCS)


def union_council(code: str) -> DemoArea:
    return _UC_BY_CODE[code]


@dataclass(frozen=True)
class SurveyRecord:
    """The field survey of a unit (DESIGN12 `account_surveys`)."""
    survey_id: str
    surveyor_name: str
    surveyed_at: dt.datetime          # aware, Asia/Karachi
    survey_name: str
    survey_mobile: str | None
    survey_address: str
    house_type: str
    water_connection: str
    size_marla: Decimal
    photo_ref: str                    # a relative path; no file exists
    gps_text: str                     # as the survey app records a geopoint: "lat lon altitude accuracy"


@dataclass(frozen=True)
class MunicipalUnit:
    """A surveyed consumer unit = one account (DESIGN12 `accounts` + its survey and contact)."""
    index: int
    code: str                         # = survey id, unique, upper-case
    name: str                         # billing consumer name
    area_path: str                    # leaf area: "KSR/KSR-UC07"
    city_code: str
    city_name: str
    uc_code: str
    uc_name: str
    uc_type: str
    category: str                     # Small | Medium | Large
    account_type: str                 # unit type: House, Bakery, ...
    is_active: bool
    address: str                      # billing address
    gps_lat: Decimal                  # 6 places, inside the UC
    gps_lon: Decimal
    contacts: tuple[DemoContact, ...]  # the billing consumer (primary)
    survey: SurveyRecord
    billable: bool                    # False for EXEMPT_UNIT_TYPES
    service: str | None               # "sanitation" when billable; no meter (fixed fee)
    payer_profile: str                # prompt | irregular | chronic

    @property
    def billing_mobile(self) -> str | None:
        return self.contacts[0].phone


@dataclass(frozen=True)
class DemoStaff:
    """A staff member (seed 003 `staff`, without a password: the seeding script sets those)."""
    index: int
    username: str
    full_name: str
    role: str                         # AGENT | SUPERVISOR | MANAGER | HEAD
    assigned_city: str | None         # tehsil code; None for HEAD (everything)
    assigned_ucs: tuple[str, ...]     # UC codes; empty for HEAD and MANAGER (the whole city)
    mobile: str
    is_active: bool

    @property
    def scope_paths(self) -> tuple[str, ...]:
        """Area paths this person may work in ('' = everything; none once they have left)."""
        if not self.is_active:
            return ()
        if self.assigned_city is None:
            return ("",)
        if not self.assigned_ucs:
            return (self.assigned_city,)
        return tuple(f"{self.assigned_city}/{uc}" for uc in self.assigned_ucs)


# --- ids ---------------------------------------------------------------------------------------
def _survey_number(index: int) -> int:
    return (index * _ID_MULT + _ID_OFFSET) % _ID_MOD


def _uc_position(rng) -> int:
    """The first draw of a unit's stream: its UC (position in union_councils())."""
    return rng.choices(_UC_POSITIONS, cum_weights=_UC_CUM)[0]


def _uc_of(index: int) -> DemoArea:
    return _UCS[_uc_position(seeded(_SALT_UNIT, index))]


def survey_id_for(index: int) -> str:
    """SP-KSR-4829173: the unit's tehsil and a 7-digit number unique to the index."""
    if not 0 <= index < MAX_UNITS:
        raise ValueError(f"unit index {index} is out of range 0..{MAX_UNITS - 1}")
    return f"SP-{_uc_of(index).parent_path}-{_survey_number(index):07d}"


def unit_index_of(survey_id: str) -> int | None:
    """Invert survey_id_for (None if the text is not a demo survey id)."""
    parts = (survey_id or "").strip().upper().split("-")
    if len(parts) != 3 or parts[0] != "SP" or len(parts[2]) != 7 or not parts[2].isdigit():
        return None
    index = ((int(parts[2]) - _ID_OFFSET) * pow(_ID_MULT, -1, _ID_MOD)) % _ID_MOD
    return index if survey_id_for(index) == survey_id.strip().upper() else None


# --- people ------------------------------------------------------------------------------------
def _mobile(rng) -> str:
    prefix = rng.choices(MOBILE_PREFIXES, cum_weights=_MOBILE_CUM)[0]
    return f"+92{prefix}{rng.randrange(10_000_000):07d}"


def _person(rng) -> str:
    if rng.random() < 0.14:
        return f"{rng.choice(FEMALE_NAMES)} {rng.choice(SURNAMES)}"
    first = rng.choice(MALE_NAMES)
    if rng.random() < 0.35:
        first = "Muhammad " + first
    return f"{first} {rng.choice(SURNAMES)}"


def _spelling_variant(name: str, rng) -> str:
    """How the same person is written on another document."""
    if name.startswith("Muhammad "):
        return rng.choice(("M. ", "Mohammad ", "Muhammed ")) + name[len("Muhammad "):]
    return f"{name} S/O {rng.choice(MALE_NAMES)}"


def _institution(unit_type: str, rng) -> str:
    heads, tails = _INSTITUTION_NAMES[unit_type]
    return f"{rng.choice(heads)} {rng.choice(tails)}"


def _address(rng, unit_type: str, uc: DemoArea, city_name: str) -> str:
    if uc.kind == "Rural":
        place = rng.choice(RURAL_PLACES)
        if place in ("Dera", "Basti"):
            place = f"{place} {rng.choice(SURNAMES)}"
        head = f"House {rng.randint(1, 250)}, {place}" if unit_type == "House" else place
        return f"{head}, {uc.name}, {city_name}"
    mohalla = rng.choice(MOHALLAS)
    if unit_type == "House":
        return f"House {rng.randint(1, 600)}, Street {rng.randint(1, 40)}, {mohalla}, {uc.name}, {city_name}"
    head = "Plot" if unit_type in INSTITUTION_TYPES or unit_type == "Factory" else "Shop"
    return f"{head} {rng.randint(1, 120)}, {rng.choice(BAZAARS)}, {mohalla}, {uc.name}, {city_name}"


# --- units -------------------------------------------------------------------------------------
def _survey_time(rng, uc_position: int, today: dt.date) -> dt.datetime:
    """Inside the UC's survey campaign (45 days somewhere in the last 18 months), Monday to
    Saturday, 09:00-17:00 Karachi time, never in Friday's prayer break (12:30-14:30)."""
    window = 548                       # ~18 months
    campaign = 45
    start = today - dt.timedelta(days=window - 1 - (uc_position * 97) % (window - campaign - 3))
    day = start + dt.timedelta(days=rng.randrange(campaign))
    if day.weekday() == 6:             # Sunday: the team worked Saturday
        day -= dt.timedelta(days=1)
    minute = rng.randrange(9 * 60, 17 * 60)
    if day.weekday() == 4 and 12 * 60 + 30 <= minute < 14 * 60 + 30:
        minute += 150                  # 14:30-16:59
    return dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60, rng.randrange(60), tzinfo=ZONE)


def _surveyor(city_code: str, uc_position: int, rng) -> str:
    """Each tehsil had a survey team of eight; two of them covered each UC."""
    return _SURVEYORS[city_code][(uc_position * 2 + rng.randrange(2)) % 8]


_SURVEYORS = {t[0]: [_person(seeded(_SALT_SURVEYOR, ti * 8 + m)) for m in range(8)] for ti, t in enumerate(TEHSILS)}


def _size_and_category(rng, unit_type: str, uc_type: str) -> tuple[Decimal, str]:
    if unit_type == "House":
        size = Decimal(str(rng.choices(_HOUSE_SIZES, cum_weights=_HOUSE_SIZE_CUM[uc_type])[0]))
        return size, house_category(size)
    category = rng.choices(CATEGORIES, cum_weights=_CATEGORY_CUM[unit_type])[0]
    lo, hi = _SHOP_MARLA[category]
    quarters = max(1, round(rng.uniform(lo, hi) * _SIZE_MULT[unit_type] * 4))
    return Decimal(quarters) / 4, category


def house_category(size_marla: Decimal) -> str:
    """Small up to 5 marla, Medium up to 10, Large above (HOUSE_CATEGORY_MAX_MARLA)."""
    for category, top in HOUSE_CATEGORY_MAX_MARLA.items():
        if size_marla <= top:
            return category
    return "Large"


def _gps(rng, uc: DemoArea) -> tuple[float, float]:
    # Uniform in the disc, kept 2% inside the edge so rounding to 6 places stays inside.
    r = uc.radius_m * 0.98 * math.sqrt(rng.random())
    a = rng.random() * 2 * math.pi
    lat = uc.centre_lat + r * math.sin(a) / METRES_PER_DEGREE_LAT
    lon = uc.centre_lon + r * math.cos(a) / (METRES_PER_DEGREE_LAT * math.cos(math.radians(uc.centre_lat)))
    return lat, lon


def _payer_profile(rng, uc_type: str, house_type: str, absentee_owner: bool, billable: bool) -> str:
    """Chronic non-payers are likelier in rural UCs, kacha houses and with absentee owners."""
    if not billable:
        return "prompt"
    chronic = 0.07 + (0.06 if uc_type == "Rural" else 0.02 if uc_type == "Peri-Urban" else 0.0) \
        + (0.05 if house_type == "Kacha" else 0.0) + (0.05 if absentee_owner else 0.0)
    irregular = 0.24 + (0.06 if uc_type != "Urban" else 0.0)
    roll = rng.random()
    return "chronic" if roll < chronic else "irregular" if roll < chronic + irregular else "prompt"


def unit_at(index: int, *, today: dt.date) -> MunicipalUnit:
    """The index-th consumer unit (deterministic; `today` anchors the survey dates)."""
    if not 0 <= index < MAX_UNITS:
        raise ValueError(f"unit index {index} is out of range 0..{MAX_UNITS - 1}")
    rng = seeded(_SALT_UNIT, index)
    uc_position = _uc_position(rng)
    uc = _UCS[uc_position]
    code = f"SP-{uc.parent_path}-{_survey_number(index):07d}"   # = survey_id_for(index)
    city = _TEHSIL_BY_CODE[uc.parent_path]
    unit_type = rng.choices(UNIT_TYPES, cum_weights=_TYPE_CUM[uc.kind])[0]
    size, category = _size_and_category(rng, unit_type, uc.kind)
    house_type = rng.choices(HOUSE_TYPES, cum_weights=_HOUSE_TYPE_CUM[uc.kind if unit_type == "House" else "Urban"])[0]
    water = rng.choices(WATER_CONNECTIONS, cum_weights=_WATER_CUM[uc.kind])[0]
    survey_address = _address(rng, unit_type, uc, city.name)
    survey_mobile = _mobile(rng) if rng.random() >= 0.07 else None
    billing_mobile = survey_mobile
    billing_address = survey_address
    absentee_owner = False
    if unit_type in INSTITUTION_TYPES:
        survey_name = billing_name = _institution(unit_type, rng)
    else:
        survey_name = billing_name = _person(rng)
        roll = rng.random()
        if roll < 0.09:              # the occupant (tenant, shopkeeper) was surveyed; the owner is billed
            billing_name = _person(rng)
            billing_mobile = _mobile(rng) if rng.random() >= 0.2 else None
            absentee_owner = rng.random() < 0.4
            if absentee_owner:       # the owner lives elsewhere in the city
                home = rng.choice(_UCS_BY_CITY[city.code])
                billing_address = _address(rng, "House", home, city.name)
        elif roll < 0.14:            # the same person, written differently on the billing record
            billing_name = _spelling_variant(survey_name, rng)
    lat, lon = _gps(rng, uc)
    surveyed_at = _survey_time(rng, uc_position, today)
    gps_text = f"{lat:.6f} {lon:.6f} {rng.uniform(180, 215):.1f} {rng.choice((3.0, 4.0, 4.5, 5.0, 6.0, 8.0, 12.0)):.1f}"
    is_active = rng.random() >= 0.03
    billable = unit_type not in EXEMPT_UNIT_TYPES
    profile = _payer_profile(rng, uc.kind, house_type, absentee_owner, billable)
    survey = SurveyRecord(code, _surveyor(city.code, uc_position, rng), surveyed_at, survey_name, survey_mobile,
                          survey_address, house_type, water, size, f"survey_photos/{uc.path}/{code}.jpg", gps_text)
    contact = DemoContact(billing_name, billing_mobile, None, billing_address, "owner", True)
    return MunicipalUnit(index, code, billing_name, uc.path, city.code, city.name, uc.code, uc.name, uc.kind,
                         category, unit_type, is_active, billing_address, Decimal(f"{lat:.6f}"),
                         Decimal(f"{lon:.6f}"), (contact,), survey, billable, SERVICE if billable else None, profile)


def units(n: int = DEFAULT_UNITS, start: int = 0, stop: int | None = None, *,
          today: dt.date) -> Iterator[MunicipalUnit]:
    """Units start..stop-1 of a utility of n units (one at a time: nothing is held)."""
    for i in range(start, min(stop if stop is not None else n, n)):
        yield unit_at(i, today=today)


def payment_plan_for(unit: MunicipalUnit, month_index: int) -> PaymentPlan:
    """What the unit does with its bill of month `month_index` (0 = first billed month)."""
    return payment_plan(unit.payer_profile, unit.index, month_index)


def payment_behaviour(unit: MunicipalUnit, month_index: int) -> str:
    """'full', 'late', 'partial' or 'unpaid' (as demo_society.payment_behaviour, plus 'late')."""
    return payment_plan_for(unit, month_index).behaviour


# --- staff -------------------------------------------------------------------------------------
def staff_roster(n: int = DEFAULT_STAFF) -> list[DemoStaff]:
    """One HEAD, a MANAGER and two SUPERVISORs (each half of the UCs) per city, and AGENTs for
    the rest, shared out by the number of UCs so that every UC has at least one active agent.
    The last agent of each of the two biggest cities has left: inactive, with no UCs."""
    cities = [t[0] for t in TEHSILS]
    ucs = {c: [uc.code for uc in _UCS if uc.parent_path == c] for c in cities}
    by_size = sorted(cities, key=lambda c: (-len(ucs[c]), cities.index(c)))
    leavers = set(by_size[:2])
    fixed = 1 + 3 * len(cities)
    least = fixed + len(cities) + len(leavers)
    if n < least:
        raise ValueError(f"a roster needs at least {least} staff (an active agent per city)")
    n_agents = n - fixed
    total_ucs = sum(len(v) for v in ucs.values())
    agents = {c: max(1 + (c in leavers), n_agents * len(ucs[c]) // total_ucs) for c in cities}
    for c in by_size * n:                                  # hand out the remainder, biggest first
        if sum(agents.values()) >= n_agents:
            break
        agents[c] += 1
    rows: list[tuple[str, str | None, tuple[str, ...], bool]] = [("HEAD", None, (), True)]
    for c in cities:
        half = (len(ucs[c]) + 1) // 2
        rows += [("MANAGER", c, (), True), ("SUPERVISOR", c, tuple(ucs[c][:half]), True),
                 ("SUPERVISOR", c, tuple(ucs[c][half:]), True)]
    for c in cities:
        k = agents[c] - (c in leavers)                     # active agents of the city
        for j in range(k):
            mine = tuple(uc for p, uc in enumerate(ucs[c]) if p % k == j) or (ucs[c][j % len(ucs[c])],)
            rows.append(("AGENT", c, mine, True))
        if c in leavers:
            rows.append(("AGENT", c, (), False))
    out, seen, names = [], set(), set()
    for i, (role, city, assigned, active) in enumerate(rows):
        rng = seeded(_SALT_STAFF, i)
        name = _person(rng)
        while name in names:               # two staff of the same name would confuse everyone
            name = _person(rng)
        names.add(name)
        words = [w for w in name.lower().split() if w != "muhammad"]
        base = f"{words[0]}.{words[-1]}"
        username, k = base, 1
        while username in seen:
            k += 1
            username = f"{base}{k}"
        seen.add(username)
        out.append(DemoStaff(i, username, name, role, city, assigned, _mobile(rng), active))
    return out
