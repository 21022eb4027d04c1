"""Builds the wizard's labelled sets (run: python tests/data/onboarding/generate.py).

customers.json: customers as an accounting system holds them, each labelled with its true type
(Homeowner, Business, Builder). pairs.json: a booksync customer beside a provider customer,
labelled duplicate or not. Seeded, so the output is stable; both files are committed.

The sets are written from how field-service businesses' books look, not from the classifier's
word lists: given names the classifier does not know, people who are businesses' contacts,
homeowners with work e-mail addresses, small businesses on Gmail, builders whose names carry no
trade word (Toll Brothers, Pulte), businesses with a trade-sounding name that are not builders,
condo units, law firms named after people. The hard cases are labelled with what they are, even
where the rules are expected to get them wrong.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
rng = random.Random(20261122)

GIVEN = [
    "James",
    "Maria",
    "Robert",
    "Linda",
    "Michael",
    "Susan",
    "David",
    "Karen",
    "Daniel",
    "Nancy",
    "Kevin",
    "Laura",
    "Brian",
    "Emily",
    "Jason",
    "Megan",
    "Eric",
    "Rachel",
    "Adam",
    "Heather",
    "Nathan",
    "Olivia",
    "Tyler",
    "Grace",
    "Aaron",
    "Hannah",
    "Sean",
    "Natalie",
    "Carlos",
    "Lucia",
    "Miguel",
    "Rosa",
    "Wei",
    "Mei",
    "Raj",
    "Priya",
    "Ahmed",
    "Fatima",
    "Ivan",
    "Olga",
    "Lars",
    "Ingrid",
    "Liam",
    "Chloe",
    "Owen",
    "Zoe",
]
# Given names a short first-name list will not have.
RARE_GIVEN = [
    "Thaddeus",
    "Oluwaseun",
    "Xiomara",
    "Bartholomew",
    "Saoirse",
    "Dashiell",
    "Ingeborg",
    "Tomasz",
    "Kwame",
    "Aigerim",
    "Rosalind",
    "Cornelius",
    "Beatrix",
    "Ezekiel",
    "Marisol",
    "Dagny",
    "Guadalupe",
    "Yusuf",
    "Anjali",
    "Kofi",
    "Bongani",
    "Siobhan",
    "Caspian",
    "Henrietta",
    "Leopold",
    "Wilhelmina",
    "Desmond",
    "Imogen",
    "Rafferty",
    "Ottoline",
    "Fitzgerald",
    "Temperance",
    "Ximena",
    "Zeynep",
]
FAMILY = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Okafor",
    "Kowalski",
    "Lindqvist",
    "Papadopoulos",
    "Oyelaran",
    "Haddad",
    "Nakamura",
    "Castellanos",
    "Fitzpatrick",
    "O'Brien",
    "McAllister",
    "Van_der_Berg",
    "DeLuca",
]
FAMILY = [f.replace("_", " ") for f in FAMILY]
# Surnames that are also trade or business words: hard cases for a homeowner.
TRADE_SURNAMES = [
    "Mason",
    "Carpenter",
    "Builder",
    "Cooper",
    "Porter",
    "Banks",
    "Church",
    "Hall",
    "Marshall",
    "Gardner",
]
STREETS = [
    "Oak",
    "Maple",
    "Cedar",
    "Pine",
    "Elm",
    "Willow",
    "Birch",
    "Chestnut",
    "Walnut",
    "Sycamore",
    "Magnolia",
    "Hickory",
    "Aspen",
    "Juniper",
    "Lakeview",
    "Hillcrest",
    "Ridgeview",
    "Meadow",
    "Brookside",
    "Sunset",
    "Highland",
    "Valley",
    "Fairview",
    "Park",
    "Main",
    "Washington",
    "Lincoln",
    "Jefferson",
    "Franklin",
    "Madison",
    "Jackson",
    "Church",
    "Mill",
    "Spring",
    "River",
]
STREET_TYPES = [("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Drive", "Dr"), ("Lane", "Ln"),
                ("Court", "Ct"), ("Boulevard", "Blvd"), ("Place", "Pl"), ("Way", "Way"), ("Circle", "Cir")]  # fmt: skip
CITIES = [("Austin", "TX", "787"), ("Denver", "CO", "802"), ("Raleigh", "NC", "276"), ("Boise", "ID", "837"),
          ("Columbus", "OH", "432"), ("Tampa", "FL", "336"), ("Portland", "OR", "972"),
          ("Madison", "WI", "537"), ("Charlotte", "NC", "282"), ("Mesa", "AZ", "852")]  # fmt: skip
PERSONAL_DOMAINS = [
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "aol.com",
    "comcast.net",
    "att.net",
]
PLACE_WORDS = [
    "Riverside",
    "Lakeside",
    "Summit",
    "Evergreen",
    "Harbor",
    "Pinecrest",
    "Northgate",
    "Bluebird",
    "Silver",
    "Creek",
    "Granite",
    "Oakmont",
    "Redwood",
    "Sterling",
    "Crescent",
    "Meridian",
    "Heritage",
    "Keystone",
    "Liberty",
    "Prairie",
    "Cascade",
    "Ironwood",
    "Beacon",
]


def street_address(commercial: bool = False, unit: str | None = None) -> dict[str, Any]:
    city, region, prefix = rng.choice(CITIES)
    long_type, short_type = rng.choice(STREET_TYPES)
    direction = rng.choice(["", "", "", "", "N ", "S ", "E ", "W "])
    line1 = f"{rng.randint(10, 9899)} {direction}{rng.choice(STREETS)} {rng.choice([long_type, short_type])}"
    line2 = None
    if commercial:
        line2 = rng.choice([f"Suite {rng.randint(100, 950)}", f"Ste {rng.randint(1, 400)}",
                            f"Floor {rng.randint(2, 20)}", f"Unit {rng.choice('ABCDEF')}{rng.randint(1, 9)}",
                            None, None])  # fmt: skip
    if unit:
        line2 = unit
    return {"line1": line1, "line2": line2, "city": city, "region": region,
            "postal_code": f"{prefix}{rng.randint(10, 99)}", "country": "US"}  # fmt: skip


def slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def phone() -> str:
    return rng.choice(["({a}) {b}-{c}", "{a}-{b}-{c}", "{a}.{b}.{c}", "+1 {a} {b} {c}"]).format(
        a=rng.randint(201, 989), b=rng.randint(200, 999), c=f"{rng.randint(0, 9999):04d}"
    )


def person(rare: float = 0.25) -> tuple[str, str]:
    given = rng.choice(RARE_GIVEN) if rng.random() < rare else rng.choice(GIVEN)
    return given, rng.choice(FAMILY)


def customer(
    label: str, display: str, *, given: str | None = None, family: str | None = None,
    company: str | None = None, email: str | None = None, address: dict[str, Any] | None = None,
    note: str = "",
) -> dict[str, Any]:  # fmt: skip
    return {
        "display_name": display, "given_name": given, "family_name": family, "company_name": company,
        "email": email, "phone": phone() if rng.random() < 0.7 else None, "billing_address": address,
        "label": label, "note": note,
    }  # fmt: skip


def personal_email(given: str, family: str) -> str:
    local = rng.choice([f"{given}.{family}", f"{given[0]}{family}", f"{given}{rng.randint(1, 99)}",
                        f"{family}{given[0]}", f"{given}_{family}{rng.randint(60, 99)}"])  # fmt: skip
    return f"{slug(local) if '.' not in local else local.lower().replace(' ', '')}@{rng.choice(PERSONAL_DOMAINS)}"


def homeowners(n: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        given, family = person()
        shape = rng.random()
        email = personal_email(given, family) if rng.random() < 0.8 else None
        address = street_address(
            unit=f"Apt {rng.randint(1, 40)}{rng.choice('ABC')}" if rng.random() < 0.1 else None
        )
        if shape < 0.45:
            out.append(
                customer(
                    "Homeowner", f"{given} {family}", given=given, family=family, email=email, address=address
                )
            )
        elif shape < 0.6:
            out.append(
                customer(
                    "Homeowner", f"{given} {family}", email=email, address=address, note="no name fields"
                )
            )
        elif shape < 0.7:
            out.append(
                customer(
                    "Homeowner",
                    f"{family}, {given}",
                    given=given,
                    family=family,
                    email=email,
                    address=address,
                )
            )
        elif shape < 0.78:
            spouse, _ = person(0.1)
            out.append(
                customer(
                    "Homeowner", f"{given} & {spouse} {family}", family=family, email=email, address=address
                )
            )
        elif shape < 0.84:
            out.append(customer("Homeowner", rng.choice([f"Mr. & Mrs. {family}", f"Mrs. {given} {family}",
                                                          f"Dr. {given} {family}"]), family=family, email=email,
                                address=address))  # fmt: skip
        elif shape < 0.9:
            out.append(customer("Homeowner", rng.choice([f"{family} Residence", f"The {family} Family",
                                                          f"{family} Household"]), email=email, address=address,
                                note="household"))  # fmt: skip
        elif shape < 0.95:
            # A homeowner who gave a work address: the domain is a company's.
            work = rng.choice(
                ["deloitte.com", "intel.com", "kp.org", "wellsfargo.com", "stjude.org", "ups.com"]
            )
            out.append(customer("Homeowner", f"{given} {family}", given=given, family=family,
                                email=f"{slug(given)[0]}{slug(family)}@{work}", address=address,
                                note="work e-mail"))  # fmt: skip
        else:
            family = rng.choice(TRADE_SURNAMES)
            out.append(customer("Homeowner", f"{given} {family}", given=given, family=family, email=email,
                                address=address, note="trade-word surname"))  # fmt: skip
    return out


BUSINESS_NAMES = [
    "{p} Dental Group",
    "{p} Family Dentistry",
    "{p} Veterinary Hospital",
    "{p} Property Management LLC",
    "{p} Apartments",
    "{p} Senior Living",
    "{p} HOA",
    "{p} Homeowners Association",
    "{p} Cafe",
    "{p} Bistro",
    "{p} Brewing Co.",
    "{p} Montessori School",
    "{p} Baptist Church",
    "{p} Animal Clinic",
    "{p} Self Storage",
    "{p} Auto Repair",
    "{p} Fitness",
    "{p} Hotel",
    "{p} Inn & Suites",
    "{p} Insurance Agency",
    "{p} Realty",
    "{p} Logistics Inc.",
    "{p} Medical Center",
    "{p} Plaza",
    "{p} Car Wash",
    "{p} Laundromat",
    "{p} Pediatrics PLLC",
    "{p} Credit Union",
    "{p} Public Library",
    "{p} Country Club",
    "{p} Tire & Lube",
    "{p} Market",
    "{p} Condominiums",
    "{p} Capital Partners",
]
# Businesses whose names say nothing about being one.
PLAIN_BUSINESSES = [
    "Marriott Downtown",
    "Walgreens #4421",
    "Starbucks Store 11873",
    "Chipotle",
    "Whole Foods",
    "Morgan & Finch",
    "Kessler Wright",
    "Baker McKenzie",
    "Northwind Traders",
    "Blue Apron",
    "Panera Bread",
    "Hertz",
    "Goodwill",
    "Costco Wholesale #112",
    "Sherwin-Williams",
    "Ace Hardware",
    "Jiffy Lube",
    "Great Clips",
    "Orangetheory",
    "Cintas",
    "Waffle House #1290",
]
# Trade-sounding businesses that do not build: labelled Business.
NEAR_TRADE_BUSINESSES = [
    "{p} Granite Countertops",
    "{p} Lumber Supply",
    "{p} Window Cleaning",
    "{p} Pool Service",
    "{p} Pest Control",
    "{p} Tile Showroom",
    "{p} Appliance Repair",
    "{p} Home Inspections",
]


def businesses(n: int) -> list[dict[str, Any]]:
    out = []
    plain = list(PLAIN_BUSINESSES)
    rng.shuffle(plain)
    for i in range(n):
        place = rng.choice(PLACE_WORDS)
        shape = rng.random()
        address = street_address(commercial=rng.random() < 0.6)
        if shape < 0.12 and plain:
            name = plain.pop()
            domain = f"{slug(name.split()[0])}.com"
            out.append(customer("Business", name, email=f"{rng.choice(['ap', 'billing', 'facilities'])}@{domain}",
                                address=address, note="name without business words"))  # fmt: skip
            continue
        if shape < 0.22:
            name = rng.choice(NEAR_TRADE_BUSINESSES).format(p=place)
        else:
            name = rng.choice(BUSINESS_NAMES).format(p=place)
        domain = rng.choice(
            [f"{slug(place)}{rng.choice(['', 'group', 'co', 'llc'])}.com", f"{slug(name)[:18]}.com"]
        )
        if rng.random() < 0.1:
            domain = rng.choice(PERSONAL_DOMAINS)  # a small business on a personal mailbox
        local = rng.choice(["info", "office", "accounts", "ap", "manager", "hello", "frontdesk"])
        if shape > 0.8:
            # QuickBooks shows the contact person as the display name; the company is in its field.
            given, family = person()
            out.append(customer("Business", f"{given} {family}", given=given, family=family, company=name,
                                email=f"{slug(given)}@{domain}" if "." in domain and domain not in PERSONAL_DOMAINS
                                else personal_email(given, family),
                                address=address, note="contact person at a business"))  # fmt: skip
        else:
            out.append(customer("Business", name, company=name if rng.random() < 0.5 else None,
                                email=f"{local}@{domain}" if rng.random() < 0.85 else None, address=address))  # fmt: skip
        _ = i
    return out


BUILDER_NAMES = [
    "{p} Construction",
    "{p} Construction LLC",
    "{p} Builders",
    "{p} Builders Inc.",
    "{p} Custom Homes",
    "{p} Homes",
    "{p} Remodeling",
    "{p} Kitchen & Bath Remodeling",
    "{p} Roofing",
    "{p} Roofing & Exteriors",
    "{p} Development Group",
    "{p} General Contractors",
    "{p} Design Build",
    "{p} Framing Co.",
    "{f} & Sons Construction",
    "{f} Brothers Builders",
    "{f} Contracting",
    "{p} Renovations",
    "{p} Restoration",
    "{p} Concrete",
    "{f} Homebuilders",
    "{p} Construction Services",
]
# Builders whose names carry no trade word.
PLAIN_BUILDERS = ["Toll Brothers", "Pulte Group", "Lennar", "D.R. Horton", "Kiewit", "Meritage",
                  "Taylor Morrison", "Shea", "Ryan Companies"]  # fmt: skip


def builders(n: int) -> list[dict[str, Any]]:
    out = []
    plain = list(PLAIN_BUILDERS)
    rng.shuffle(plain)
    for _ in range(n):
        place, family = rng.choice(PLACE_WORDS), rng.choice(FAMILY)
        shape = rng.random()
        address = street_address(commercial=rng.random() < 0.4)
        if shape < 0.1 and plain:
            name = plain.pop()
            domain = rng.choice([f"{slug(name)}.com", f"{slug(name)}homes.com"])
            out.append(customer("Builder", name, email=f"purchasing@{domain}", address=address,
                                note="builder without a trade word"))  # fmt: skip
            continue
        name = rng.choice(BUILDER_NAMES).format(p=place, f=family)
        domain = f"{slug(name)[:20]}.com"
        if rng.random() < 0.15:
            domain = rng.choice(PERSONAL_DOMAINS)
        if shape > 0.75:
            given, fam = person()
            out.append(customer("Builder", f"{given} {fam}", given=given, family=fam, company=name,
                                email=f"{slug(given)}@{domain}" if domain not in PERSONAL_DOMAINS
                                else personal_email(given, fam),
                                address=address, note="contact person at a builder"))  # fmt: skip
        else:
            out.append(customer("Builder", name, company=name if rng.random() < 0.5 else None,
                                email=f"{rng.choice(['office', 'estimating', 'ap', 'info'])}@{domain}"
                                if rng.random() < 0.85 else None, address=address))  # fmt: skip
    return out


# ---------------------------------------------------------------------------- duplicate pairs

STREET_SWAP = {"Street": "St", "St": "Street", "Avenue": "Ave", "Ave": "Avenue", "Road": "Rd", "Rd": "Road",
               "Drive": "Dr", "Dr": "Drive", "Lane": "Ln", "Ln": "Lane", "Court": "Ct", "Ct": "Court",
               "Boulevard": "Blvd", "Blvd": "Boulevard", "Place": "Pl", "Pl": "Place", "Circle": "Cir",
               "Cir": "Circle"}  # fmt: skip
NICKNAMES = {"Robert": "Bob", "Michael": "Mike", "Daniel": "Dan", "David": "Dave", "James": "Jim",
             "Susan": "Sue", "Nathan": "Nate", "Kevin": "Kev", "Jason": "Jay", "Aaron": "Ron"}  # fmt: skip


def typo(text: str) -> str:
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    i = rng.choice(letters[1:-1] or letters)
    op = rng.random()
    if op < 0.4 and i + 1 < len(text):
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]  # swapped letters
    if op < 0.7:
        return text[:i] + text[i + 1 :]  # a letter dropped
    return text[:i] + text[i] + text[i:]  # a letter doubled


def swap_street(address: dict[str, Any]) -> dict[str, Any]:
    words = address["line1"].split()
    words[-1] = STREET_SWAP.get(words[-1], words[-1])
    return {**address, "line1": " ".join(words)}


def booksync_side(c: dict[str, Any], doc_id: str) -> dict[str, Any]:
    body = {k: c[k] for k in ("display_name", "given_name", "family_name", "company_name", "email", "phone")}
    return {"id": doc_id, **body, "billing_address": c["billing_address"]}


def provider_side(c: dict[str, Any], remote_id: str) -> dict[str, Any]:
    return {"id": remote_id, **{k: c[k] for k in ("display_name", "given_name", "family_name",
                                                  "company_name", "email", "phone", "billing_address")}}  # fmt: skip


def positive(base: dict[str, Any]) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The same customer as the provider shows it, with the differences real books have."""
    v = json.loads(json.dumps(base))
    kinds = []
    for change in rng.sample(["case", "street_abbreviation", "suffix", "typo", "name_order", "email_case",
                              "missing_email", "missing_address", "phone_format", "punctuation",
                              "new_email", "moved", "zip4", "directional", "nickname", "email_typo",
                              "unit_format", "no_email_either"],
                             k=rng.randint(1, 3)):  # fmt: skip
        if change == "case":
            v["display_name"] = v["display_name"].upper() if rng.random() < 0.5 else v["display_name"].lower()
        elif change == "street_abbreviation" and v["billing_address"]:
            v["billing_address"] = swap_street(v["billing_address"])
        elif change == "suffix":
            name = v["display_name"]
            for suffix in (" LLC", " Inc.", " Co.", " Inc"):
                if name.endswith(suffix):
                    v["display_name"] = name[: -len(suffix)]
                    break
            else:
                v["display_name"] = (
                    name + rng.choice([", LLC", " Inc"]) if base["label"] != "Homeowner" else name
                )
        elif change == "typo":
            v["display_name"] = typo(v["display_name"])
        elif change == "name_order" and v["given_name"] and v["family_name"] and base["label"] == "Homeowner":
            v["display_name"] = f"{v['family_name']}, {v['given_name']}"
        elif change == "email_case" and v["email"]:
            v["email"] = v["email"].upper()
        elif change == "missing_email" and v["email"] and v["billing_address"]:
            v["email"] = None
        elif change == "missing_address" and v["billing_address"] and v["email"]:
            v["billing_address"] = None
        elif change == "new_email" and v["email"] and v["billing_address"] and "moved" not in kinds:
            given, family = v["given_name"] or "pat", v["family_name"] or "lee"
            v["email"] = personal_email(given, family)  # the customer changed mailbox since
        elif change == "moved" and v["email"] and "new_email" not in kinds and "missing_email" not in kinds:
            v["billing_address"] = street_address(commercial=base["label"] != "Homeowner")
        elif change == "zip4" and v["billing_address"]:
            v["billing_address"] = {**v["billing_address"],
                                    "postal_code": f"{v['billing_address']['postal_code']}-{rng.randint(1000, 9999)}"}  # fmt: skip
        elif (
            change == "directional"
            and v["billing_address"]
            and v["billing_address"]["line1"].split()[1] in "NSEW"
        ):
            long = {"N": "North", "S": "South", "E": "East", "W": "West"}
            words = v["billing_address"]["line1"].split()
            words[1] = long[words[1]] if rng.random() < 0.5 else words[1] + "."
            v["billing_address"] = {**v["billing_address"], "line1": " ".join(words)}
        elif change == "nickname" and v["given_name"] in NICKNAMES and v["email"]:
            v["display_name"] = v["display_name"].replace(v["given_name"], NICKNAMES[v["given_name"]])
            v["given_name"] = NICKNAMES[v["given_name"]]
        elif change == "email_typo" and v["email"] and v["billing_address"]:
            local, domain = v["email"].split("@")
            v["email"] = f"{typo(local) if len(local) > 3 else local + '1'}@{domain}"
        elif change == "unit_format" and v["billing_address"] and v["billing_address"].get("line2"):
            line2 = v["billing_address"]["line2"]
            number = line2.split()[-1]
            v["billing_address"] = {**v["billing_address"], "line2": rng.choice([f"#{number}", f"Suite {number}",
                                                                                    f"STE {number}"])}  # fmt: skip
        elif change == "no_email_either" and v["email"] and v["billing_address"]:
            v["email"] = None
            base = {**base, "email": None}
            kinds.append("(neither has an e-mail)")
        elif change == "phone_format":
            v["phone"] = phone()
        elif change == "punctuation":
            v["display_name"] = v["display_name"].replace("&", "and").replace(".", "").replace(",", "")
        else:
            continue
        kinds.append(change)
    return v, "+".join(kinds) or "identical", base


def negative(base: dict[str, Any], pool: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """A different customer that looks like ``base``."""
    v = json.loads(json.dumps(base))
    kind = rng.choice(["same_surname_other_address", "branch", "branch", "same_name_other_person", "neighbour",
                       "household_member", "similar_company", "different"])  # fmt: skip
    if kind == "same_surname_other_address" and base["family_name"]:
        given, _ = person()
        v.update(display_name=f"{given} {base['family_name']}", given_name=given,
                 email=personal_email(given, base["family_name"]), billing_address=street_address())  # fmt: skip
    elif kind == "branch" and base["label"] != "Homeowner":
        area = rng.choice(["North", "Downtown", "Westside", "East Campus", "#2", "- Tampa", "(Boise office)"])
        v.update(
            display_name=f"{base['display_name']} {area}", billing_address=street_address(commercial=True)
        )
        if v["email"] and rng.random() < 0.5:
            kind = "branch_sharing_the_accounts_email"  # one accounts mailbox for every branch
        elif v["email"]:
            domain = v["email"].split("@")[1]
            v["email"] = f"{rng.choice(['north', 'branch2', 'westside', 'office2'])}@{domain}"
    elif kind == "same_name_other_person":
        v.update(email=personal_email(base["given_name"] or "j", base["family_name"] or "doe")
                 if base["email"] else None, billing_address=street_address())  # fmt: skip
        if not base["email"]:
            v["email"] = None
    elif kind == "neighbour" and base["billing_address"]:
        other = rng.choice([c for c in pool if c is not base])
        number = int(base["billing_address"]["line1"].split()[0]) + rng.choice([2, 4, -2, 10])
        street = " ".join(base["billing_address"]["line1"].split()[1:])
        v.update(display_name=other["display_name"], given_name=other["given_name"],
                 family_name=other["family_name"], company_name=other["company_name"], email=other["email"],
                 billing_address={**base["billing_address"], "line1": f"{number} {street}"})  # fmt: skip
    elif kind == "household_member" and base["label"] == "Homeowner" and base["family_name"]:
        given, _ = person()
        v.update(display_name=f"{given} {base['family_name']}", given_name=given,
                 email=personal_email(given, base["family_name"]) if rng.random() < 0.7 else None)  # fmt: skip
    elif kind == "similar_company" and base["label"] != "Homeowner":
        words = base["display_name"].split()
        words[0] = rng.choice([w for w in PLACE_WORDS if w != words[0]])
        v.update(display_name=" ".join(words), email=None if rng.random() < 0.5 else
                 f"info@{slug(words[0])}.com", billing_address=street_address(commercial=True))  # fmt: skip
    else:
        other = rng.choice([c for c in pool if c is not base])
        v = json.loads(json.dumps(other))
        kind = "different"
    return v, kind


def main() -> None:
    people = homeowners(105) + businesses(85) + builders(50)
    rng.shuffle(people)
    customers = [{"id": str(i + 1), **c} for i, c in enumerate(people)]
    (HERE / "customers.json").write_text(json.dumps(customers, indent=1) + "\n")

    pool = homeowners(60) + businesses(40) + builders(25)
    pairs = []
    for i, base in enumerate(pool):
        first = positive(base)
        second = (*negative(base, pool), base)
        for j, (variant, kind, existing) in enumerate([first, second]):
            duplicate = j == 0
            if not duplicate and kind == "different" and rng.random() < 0.5:
                continue
            pairs.append({
                "existing": booksync_side(existing, f"cust-{i}"),
                "provider": provider_side(variant, str(1000 + len(pairs))),
                "duplicate": duplicate,
                "kind": kind,
            })  # fmt: skip
    (HERE / "pairs.json").write_text(json.dumps(pairs, indent=1) + "\n")
    print(f"{len(customers)} customers, {len(pairs)} pairs ({sum(p['duplicate'] for p in pairs)} duplicates)")


if __name__ == "__main__":
    main()
