"""Builds the wizard's unseen labelled sets (run: python tests/data/onboarding/unseen/generate.py).

Written separately from the rules and from tests/data/onboarding/generate.py, from public name
sources (see README.md beside this file): real US home builders' names as published in trade
rankings and on their own sites (company names are facts, nothing copied beyond the name), given
names and surnames from the US Census Bureau's and Social Security Administration's public-domain
frequency lists, business kinds from the Census Bureau's NAICS titles (public domain). Each row's
part, ``tuning`` or ``holdout``, follows from its id alone (``part_of`` in bench/figures/onboarding.py):
rules are written looking at the tuning part only.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
rng = random.Random(90412)


# SSA public-domain lists (frequent and less frequent names, several decades).
GIVEN = [
    "Aaliyah",
    "Abel",
    "Adriana",
    "Agnes",
    "Alma",
    "Alvin",
    "Amos",
    "Angelica",
    "Arlene",
    "Armando",
    "Arturo",
    "Beatrice",
    "Bianca",
    "Blanca",
    "Bonnie",
    "Boyd",
    "Bradley",
    "Brenda",
    "Brooke",
    "Bryce",
    "Camila",
    "Candace",
    "Cecilia",
    "Cedric",
    "Clara",
    "Clifford",
    "Clyde",
    "Colin",
    "Conrad",
    "Darlene",
    "Darnell",
    "Delia",
    "Desmond",
    "Dolores",
    "Dominga",
    "Donovan",
    "Dwayne",
    "Edgar",
    "Edith",
    "Elaine",
    "Eleanor",
    "Elias",
    "Elisa",
    "Eloise",
    "Elvira",
    "Emmett",
    "Enrique",
    "Esther",
    "Everett",
    "Faye",
    "Felix",
    "Fiona",
    "Floyd",
    "Gail",
    "Garrett",
    "Geneva",
    "Gilbert",
    "Gwen",
    "Harvey",
    "Hector",
    "Hilda",
    "Hugo",
    "Imani",
    "Imelda",
    "Irene",
    "Isaiah",
    "Jaime",
    "Jamal",
    "Janelle",
    "Jasmine",
    "Jerome",
    "Joanna",
    "Joel",
    "Josefina",
    "Kendra",
    "Kurt",
    "Lamar",
    "Leon",
    "Lillian",
    "Lorena",
    "Lowell",
    "Lucille",
    "Luz",
    "Mabel",
    "Malik",
    "Marcia",
    "Marisol",
    "Marlon",
    "Mattie",
    "Maxine",
    "Mercedes",
    "Milton",
    "Miriam",
    "Myrna",
    "Nadia",
    "Nelson",
    "Noemi",
    "Norma",
    "Octavio",
    "Opal",
    "Orlando",
    "Pearl",
    "Perry",
    "Priscilla",
    "Quentin",
    "Ramona",
    "Reggie",
    "Rhonda",
    "Rocio",
    "Rodney",
    "Rosalind",
    "Roxanne",
    "Ruben",
    "Salvador",
    "Selena",
    "Sheldon",
    "Sonia",
    "Stuart",
    "Tamara",
    "Terrence",
    "Thelma",
    "Tobias",
    "Trent",
    "Ursula",
    "Vera",
    "Vernon",
    "Viola",
    "Wade",
    "Warren",
    "Wilma",
    "Yvette",
    "Zelda",
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "Karen",
    "Daniel",
    "Nancy",
]
# Census 2010 surnames (public domain), common and less common, several origins.
SURNAMES = [
    "Abernathy",
    "Acosta",
    "Alvarado",
    "Ambrose",
    "Ashworth",
    "Atkins",
    "Babcock",
    "Barrera",
    "Beasley",
    "Benavides",
    "Bishop",
    "Blackwell",
    "Bolton",
    "Bowers",
    "Brennan",
    "Buchanan",
    "Calloway",
    "Cardenas",
    "Castillo",
    "Chandler",
    "Cisneros",
    "Compton",
    "Crenshaw",
    "Dalton",
    "Delgado",
    "Donnelly",
    "Dunbar",
    "Eckert",
    "Espinoza",
    "Farrell",
    "Fitzgerald",
    "Fontaine",
    "Galloway",
    "Gallegos",
    "Goodwin",
    "Greer",
    "Hammond",
    "Haskins",
    "Hendrix",
    "Hinojosa",
    "Holloway",
    "Huerta",
    "Ingram",
    "Jarvis",
    "Kavanagh",
    "Keller",
    "Kimura",
    "Kowalski",
    "Lachance",
    "Landry",
    "Lindqvist",
    "Lozano",
    "Maddox",
    "Magnusson",
    "Mahoney",
    "Mccormick",
    "Medina",
    "Mercado",
    "Nakamura",
    "Navarro",
    "Novak",
    "Okafor",
    "Oyelaran",
    "Pacheco",
    "Pendleton",
    "Quintero",
    "Ramsey",
    "Renner",
    "Rios",
    "Rutledge",
    "Salazar",
    "Sandoval",
    "Schaefer",
    "Serrano",
    "Sheffield",
    "Sorensen",
    "Stroud",
    "Sutton",
    "Takahashi",
    "Thibodeaux",
    "Trujillo",
    "Underwood",
    "Valenzuela",
    "Vasquez",
    "Whitaker",
    "Wojcik",
    "Yazzie",
    "Zamora",
    "Zimmerman",
    "Nguyen",
    "Tran",
    "Patel",
    "Shah",
    "Kaur",
    "Kim",
    "Park",
    "Choi",
    "Huang",
    "Wang",
    "Liu",
    "Ahmed",
    "Haddad",
]
# Surnames (Census) that are also trade or business words.
TRADE_SURNAMES = [
    "Mason",
    "Carpenter",
    "Plummer",
    "Glazier",
    "Painter",
    "Roofer",
    "Builder",
    "Bricker",
    "Stone",
    "Steel",
    "Frame",
    "Sawyer",
    "Cooper",
    "Baker",
    "Banks",
    "Church",
    "Law",
    "Lodge",
    "Kitchen",
    "Hall",
    "Marshall",
    "Farmer",
    "Chandler",
    "Brothers",
    "Holmes",
    "Homes",
    "Hardware",
    "Ranch",
    "Shop",
    "Lawn",
    "Wood",
    "Mill",
    "Miller",
    "Smith",
    "Gardner",
    "Fisher",
    "Service",
    "Spa",
    "Inn",
]
TRADE_NICKNAMES = [
    "Sparky",
    "Chip",
    "Rocky",
    "Buck",
    "Brick",
    "Rusty",
    "Skip",
    "Sandy",
    "Hammer",
    "Duke",
    "Butch",
    "Buddy",
]
CITIES = [
    ("Boise", "ID", "837"), ("Spokane", "WA", "992"), ("Tulsa", "OK", "741"), ("Omaha", "NE", "681"),
    ("Knoxville", "TN", "379"), ("Greenville", "SC", "296"), ("Fresno", "CA", "937"),
    ("Albuquerque", "NM", "871"), ("Des Moines", "IA", "503"), ("Chattanooga", "TN", "374"),
    ("Savannah", "GA", "314"), ("Reno", "NV", "895"), ("Lexington", "KY", "405"),
    ("Wichita", "KS", "672"), ("Fort Collins", "CO", "805"), ("Lafayette", "LA", "705"),
]  # fmt: skip
STREETS = [
    "Juniper",
    "Willow",
    "Aspen",
    "Sycamore",
    "Hawthorne",
    "Magnolia",
    "Chestnut",
    "Laurel",
    "Poplar",
    "Briar",
    "Meadow",
    "Ridge",
    "Quail",
    "Heron",
    "Sparrow",
    "Cardinal",
    "Orchard",
    "Harvest",
    "Prairie",
    "Canyon",
    "Mesa",
    "Summit",
    "Valley",
    "Creekside",
]
STREET_TYPES = [("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Drive", "Dr"), ("Lane", "Ln"),
                ("Court", "Ct"), ("Boulevard", "Blvd"), ("Place", "Pl"), ("Way", "Way")]  # fmt: skip
PERSONAL = ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com", "comcast.net",
            "att.net", "ymail.com", "live.com", "protonmail.com", "msn.com"]  # fmt: skip
EMPLOYERS = ["boeing.com", "kroger.com", "hcahealthcare.com", "fedex.com", "deere.com", "intel.com",
             "tysonfoods.com", "ups.com", "lowes.com", "mayo.edu", "state.nm.us", "usps.gov", "cat.com"]  # fmt: skip

# US home builders, national and regional, as named in public builder rankings and on their sites.
BUILDERS = [
    ("Lennar", "lennar.com"), ("D.R. Horton", "drhorton.com"), ("Toll Brothers", "tollbrothers.com"),
    ("KB Home", "kbhome.com"), ("Taylor Morrison", "taylormorrison.com"), ("Meritage Homes", "meritagehomes.com"),
    ("Ryan Homes", "ryanhomes.com"), ("Century Communities", "centurycommunities.com"),
    ("LGI Homes", "lgihomes.com"), ("Dream Finders Homes", "dreamfindershomes.com"),
    ("M/I Homes", "mihomes.com"), ("Tri Pointe Homes", "tripointehomes.com"),
    ("Ashton Woods", "ashtonwoods.com"), ("David Weekley Homes", "dwhomes.com"),
    ("Shea Homes", "sheahomes.com"), ("Beazer Homes", "beazer.com"), ("Brookfield Residential", "brookfieldrp.com"),
    ("Mattamy Homes", "mattamyhomes.com"), ("Highland Homes", "highlandhomes.com"), ("Perry Homes", "perryhomes.com"),
    ("Drees Homes", "dreeshomes.com"), ("Fischer Homes", "fischerhomes.com"), ("Stanley Martin", "stanleymartin.com"),
    ("Del Webb", "delwebb.com"), ("Richmond American Homes", "richmondamerican.com"),
    ("Woodside Homes", "woodsidehomes.com"), ("Landsea Homes", "landseahomes.com"),
    ("K. Hovnanian Homes", "khov.com"), ("Smith Douglas Homes", "smithdouglas.com"),
    ("Schell Brothers", "schellbrothers.com"), ("Eastwood Homes", "eastwoodhomes.com"),
    ("Chesmar Homes", "chesmar.com"), ("Trophy Signature Homes", "trophysignaturehomes.com"),
    ("Maronda Homes", "maronda.com"), ("Adams Homes", "adamshomes.com"), ("DSLD Homes", "dsldhomes.com"),
    ("Rausch Coleman Homes", "rauschcoleman.com"), ("Pulte Homes", "pulte.com"), ("Centex", "centex.com"),
    ("NVR", "nvrinc.com"), ("Hubble Homes", "hubblehomes.com"), ("Toll Brothers", "tollbrothers.com"),
    ("Harris Doyle Homes", "harrisdoyle.com"), ("Ivory Homes", "ivoryhomes.com"), ("Oakwood Homes", "oakwoodhomesco.com"),
    ("Pacesetter Homes", "pacesetterhomes.com"), ("Caruso Homes", "carusohomes.com"), ("Mungo Homes", "mungo.com"),
    ("Great Southern Homes", "greatsouthernhomes.com"), ("Olthof Homes", "olthofhomes.com"),
    ("Brohn Homes", "brohnhomes.com"), ("Sekisui House", "sekisuihouse.com"), ("Evans Bros", "evansbros.com"),
    ("Lombardo Homes", "lombardohomes.com"), ("Holiday Builders", "holidaybuilders.com"),
]  # fmt: skip
DIVISION_FORMS = ["{b}", "{b} - {city} Division", "{b} {city}", "{b} of {state}", "{b} ({city})",
                  "{b} {region} Region", "{b} - Purchasing"]  # fmt: skip
REGIONS = ["Southeast", "Mountain", "Central Texas", "Gulf Coast", "Mid-Atlantic", "Pacific Northwest"]
LOCAL_TRADES = ["Construction", "Custom Homes", "Builders", "Remodeling", "Contracting", "Framing",
                "Concrete", "Roofing", "Renovations", "Homes", "Masonry", "Design Build", "Development",
                "Excavating", "Drywall", "Siding & Windows", "Restoration"]  # fmt: skip
# NAICS-titled kinds of small businesses (Census Bureau, public domain), with names people give them.
SHOP_NAMES = ["Sunnyside", "Bluebird", "Corner", "Hometown", "Maple Leaf", "Golden Gate", "Riverbend",
              "Lucky Star", "Happy Tails", "Pampered Paws", "Bright Smiles", "Sparkle", "Northside",
              "Old Mill", "Silver Spoon", "Green Thumb", "Top Notch", "Evergreen", "Lakeside", "Four Seasons",
              "Sweet Pea", "Red Barn", "Cozy Corner", "Blue Sky", "Harbor Light", "Prairie Wind"]  # fmt: skip
SHOP_KINDS = ["Laundromat", "Grooming", "Dog Grooming", "Pet Sitting", "Nail Spa", "Barbershop",
              "Florist", "Photography", "Catering", "Tutoring", "Dry Cleaners", "Coffee House",
              "Boutique", "Tailoring", "Daycare", "Preschool", "Kennels", "Car Wash", "Tattoo",
              "Yoga", "Dance Studio", "Pizzeria", "Taqueria", "Bakeshop", "Thrift Store", "Pawn",
              "Print Shop", "Cleaners", "Pool Care", "Pest Control", "Locksmith", "Alterations",
              "Hair Design", "Creamery", "Deli", "Tavern", "Veterinary Hospital", "Chiropractic",
              "Optometry", "Physical Therapy", "Montessori", "Bookkeeping", "Tax Service"]  # fmt: skip
CLINIC_FORMS = ["{place} Family Dentistry", "{place} Family Medicine", "Family Eye Care of {city}",
                "{surname} Family Chiropractic", "{place} Family Practice", "Family Health Center of {city}",
                "{surname} Family Dental", "{place} Family Pediatrics", "Family Foot & Ankle of {city}",
                "{place} Family Counseling", "Family Vision Center", "{surname} Family Medical Clinic"]  # fmt: skip
PROFESSIONS = [("CPA", "cpa"), ("DDS", "dds"), ("Esq", "law"), ("MD", "md"), ("DVM", "vet"), ("PE", "engineering"),
               ("", "law"), ("", "cpa"), ("", "designs"), ("", "consulting"), ("", "tax"), ("", "pt"),
               ("", "photo"), ("", "realty"), ("", "insurance"), ("", "")]  # fmt: skip
COMPANY_BASES = ["Cascade Valve", "Keystone Logistics", "Pinnacle Dental Lab", "Redwood Analytics", "Atlas Signs",
                 "Summit Outdoor Media", "Blue Heron Printing", "Granite State Freight", "Copper Kettle Foods",
                 "Northstar Staffing", "Silverline Optics", "Bluewater Marine", "Ironhorse Trucking",
                 "Trailhead Outfitters", "Westgate Insurance", "Harborview Apartments", "Oak Ridge HOA",
                 "Meadowbrook Property Management", "Lakeshore Veterinary", "Pioneer Seed"]  # fmt: skip
LEGAL = ["LLC", "Inc.", "Inc", "Co.", "Corp.", "L.L.C.", "Company", "Corporation", "Ltd", "PLLC", "LP"]
NICKNAMES = [("Jessica", "Jessie"), ("William", "Bill"), ("Robert", "Bob"), ("Elizabeth", "Liz"),
             ("Katherine", "Kate"), ("Michael", "Mike"), ("Anthony", "Tony"), ("James", "Jim"),
             ("Margaret", "Peggy"), ("Richard", "Dick"), ("Charles", "Chuck"), ("Sandra", "Sandy"),
             ("Stephen", "Steve"), ("Rebecca", "Becky"), ("Patricia", "Patty"), ("Theodore", "Ted"),
             ("Edward", "Ned"), ("Jennifer", "Jenny"), ("Susan", "Sue"), ("Alexander", "Alex"),
             ("Deborah", "Debbie"), ("Catherine", "Cathy"), ("Frederick", "Fred"), ("Henry", "Hank"),
             ("John", "Jack"), ("Joseph", "Joe"), ("Christopher", "Chris"), ("Thomas", "Tom"),
             ("Daniel", "Danny"), ("Abigail", "Abby"), ("Samantha", "Sam"), ("Nicholas", "Nick"),
             ("Victoria", "Vicky"), ("Gregory", "Greg"), ("Kenneth", "Ken"), ("Lawrence", "Larry"),
             ("Dorothy", "Dot"), ("Harold", "Harry"), ("Francis", "Frank"), ("Eleanor", "Nell")]  # fmt: skip
SPLIT_SURNAMES = [("McAllister", "Mc Allister"), ("MacDonald", "Mac Donald"), ("VanDerBerg", "Van Der Berg"),
                  ("DeLaCruz", "De La Cruz"), ("Delacruz", "De La Cruz"), ("O'Brien", "O Brien"),
                  ("DiMarco", "Di Marco"), ("LaRue", "La Rue"), ("St. Clair", "Saint Clair"),
                  ("Vanhorn", "Van Horn"), ("DeSantis", "De Santis"), ("Garcia-Lopez", "Garcia Lopez"),
                  ("Lefevre", "Le Fevre"), ("McKenzie", "Mc Kenzie"), ("Vanburen", "Van Buren"),
                  ("Dupont", "Du Pont"), ("O'Neal", "ONeal"), ("Smith-Jones", "Smith Jones")]  # fmt: skip
UNIT_SUFFIXES = [" - Building {x}", " Bldg {x}", " (Unit {n})", " - Unit {n}", " #{n}", " Apt {n}",
                 " - Bldg. {x}", " Tower {x}", " Phase {n}", " - Suite {n}"]  # fmt: skip


def address(city: tuple[str, str, str] | None = None, unit: str | None = None) -> dict[str, Any]:
    name, state, zip3 = city or rng.choice(CITIES)
    street, kind = rng.choice(STREETS), rng.choice(STREET_TYPES)
    return {"line1": f"{rng.randint(10, 9899)} {street} {kind[rng.random() < 0.5]}", "line2": unit,
            "city": name, "region": state, "postal_code": f"{zip3}{rng.randint(10, 99)}", "country": "US"}  # fmt: skip


def slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def customer(name: str, label: str, kind: str, **fields: Any) -> dict[str, Any]:
    row = {"display_name": name, "given_name": None, "family_name": None, "company_name": None, "email": None,
           "phone": None, "billing_address": address()}  # fmt: skip
    row.update(fields)
    return {**row, "label": label, "note": kind}


def person(given: str, family: str, label: str, kind: str, **fields: Any) -> dict[str, Any]:
    base = {"given_name": given, "family_name": family}
    base.update(fields)
    return customer(f"{given} {family}", label, kind, **base)


def customers() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    # Builders: national and regional ones, their divisions, no trade word in many names.
    for builder, domain in BUILDERS:
        for _ in range(2):
            city, state, zip3 = rng.choice(CITIES)
            form = rng.choice(DIVISION_FORMS)
            name = form.format(b=builder, city=city, state=state, region=rng.choice(REGIONS))
            email = rng.choice([f"ap@{domain}", f"purchasing@{domain}", f"{slug(city)}.land@{domain}", None])
            rows.append(customer(name, "Builder", "national or regional builder", company_name=name, email=email,
                                 billing_address=address((city, state, zip3), rng.choice([None, "Suite 300", None]))))  # fmt: skip
    for _ in range(3):  # a builder's purchasing contact, the builder in the company field
        builder, domain = rng.choice(BUILDERS)
        given, family = rng.choice(GIVEN), rng.choice(SURNAMES)
        rows.append(person(given, family, "Builder", "builder's contact", company_name=builder,
                           email=f"{given[0].lower()}{slug(family)}@{domain}"))  # fmt: skip
    for _ in range(24):  # local builders and remodelers
        family = rng.choice(SURNAMES + TRADE_SURNAMES)
        name = f"{family} {rng.choice(LOCAL_TRADES)}" + rng.choice(["", "", f" {rng.choice(LEGAL)}"])
        email = rng.choice(
            [f"office@{slug(name)[:18]}.com", f"{slug(family)}builds@{rng.choice(PERSONAL)}", None]
        )
        rows.append(customer(name, "Builder", "local builder", company_name=name, email=email))
    # Businesses on personal mailboxes, named like places or pets.
    for _ in range(40):
        name = f"{rng.choice(SHOP_NAMES)} {rng.choice(SHOP_KINDS)}"
        email = f"{slug(name)[:14]}{rng.randint(1, 99)}@{rng.choice(PERSONAL)}"
        rows.append(customer(name, "Business", "business on a personal mailbox", email=email,
                             company_name=rng.choice([None, name])))  # fmt: skip
    # Businesses named after the owner ("Rosa's Kitchen").
    for _ in range(14):
        given = rng.choice(GIVEN)
        name = f"{given}'s {rng.choice(SHOP_KINDS)}"
        rows.append(customer(name, "Business", "owner-named business", email=f"{slug(given)}{rng.randint(1, 999)}@{rng.choice(PERSONAL)}"))  # fmt: skip
    # Professionals on their own firm's domain.
    for _ in range(30):
        given, family = rng.choice(GIVEN), rng.choice(SURNAMES)
        title, word = rng.choice(PROFESSIONS)
        name = f"{given} {family}" + (f", {title}" if title else "")
        domain = f"{slug(family)}{word}.com" if rng.random() < 0.7 else f"{slug(given)}{slug(family)}.com"
        fields = {"email": f"{slug(given)}@{domain}", "given_name": given, "family_name": family}
        if rng.random() < 0.3:
            fields["billing_address"] = address(unit=f"Suite {rng.randint(100, 450)}")
        rows.append(customer(name, "Business", "professional on own company domain", **fields))
    # Clinics named "family ...".
    for _ in range(24):
        city = rng.choice(CITIES)
        name = rng.choice(CLINIC_FORMS).format(place=rng.choice(SHOP_NAMES + STREETS), city=city[0],
                                               surname=rng.choice(SURNAMES))  # fmt: skip
        email = rng.choice(
            [f"frontdesk@{slug(name)[:16]}.com", f"{slug(name)[:12]}@{rng.choice(PERSONAL)}", None]
        )
        rows.append(customer(name, "Business", "family clinic", email=email, billing_address=address(city)))
    # Ordinary businesses with a legal suffix or on a company domain.
    for _ in range(24):
        base = rng.choice(COMPANY_BASES)
        name = base + rng.choice(["", f" {rng.choice(LEGAL)}", f", {rng.choice(LEGAL)}"])
        rows.append(customer(name, "Business", "company", company_name=name, email=f"billing@{slug(base)}.com",
                             billing_address=address(unit=rng.choice([None, "Suite 120", "Floor 3"]))))  # fmt: skip
    # Homeowners: ordinary people, on personal and work mailboxes, with and without e-mail.
    for _ in range(60):
        given, family = rng.choice(GIVEN), rng.choice(SURNAMES)
        domain = rng.choice(PERSONAL + PERSONAL + EMPLOYERS)
        email = rng.choice([f"{slug(given)}.{slug(family)}@{domain}", f"{slug(given)[0]}{slug(family)}{rng.randint(1, 99)}@{domain}", None])  # fmt: skip
        unit = rng.choice([None, None, None, f"Apt {rng.randint(1, 40)}", f"Unit {rng.randint(1, 12)}B"])
        name = rng.choice([f"{given} {family}", f"{family}, {given}", f"{given} {family}"])
        rows.append(customer(name, "Homeowner", "homeowner", given_name=given, family_name=family, email=email,
                             billing_address=address(unit=unit)))  # fmt: skip
    # Homeowners whose surname or nickname is a trade or business word.
    for _ in range(36):
        family = rng.choice(TRADE_SURNAMES)
        given = rng.choice(GIVEN + TRADE_NICKNAMES)
        name = rng.choice([f"{given} {family}", f"{given} {family}", f"{family}, {given}", f"{given} & {rng.choice(GIVEN)} {family}"])  # fmt: skip
        email = rng.choice([f"{slug(given)}{slug(family)}@{rng.choice(PERSONAL)}", None, f"{slug(given)[0]}{slug(family)}@{rng.choice(EMPLOYERS)}"])  # fmt: skip
        record = rng.random() < 0.6
        rows.append(customer(name, "Homeowner", "homeowner with a trade-word name", email=email,
                             given_name=given if record else None, family_name=family if record else None))  # fmt: skip
    # Homes held by a family trust, an estate, a household.
    trust_forms = ["The {f} Family Trust", "{f} Family Trust", "{g} and {g2} {f} Revocable Trust", "{f} Living Trust",
                   "{g} {f} Trust", "{f} Irrevocable Trust", "{f} Family Trust dtd 3/14/2016", "{g} {f}, Trustee",
                   "Estate of {g} {f}", "{f} Family Revocable Living Trust", "The {f} Household", "{f} Residence"]  # fmt: skip
    for _ in range(36):
        family = rng.choice(SURNAMES + TRADE_SURNAMES)
        name = rng.choice(trust_forms).format(f=family, g=rng.choice(GIVEN), g2=rng.choice(GIVEN))
        email = rng.choice([f"{slug(family)}family@{rng.choice(PERSONAL)}", None, f"{slug(family)}{rng.randint(1, 99)}@{rng.choice(PERSONAL)}"])  # fmt: skip
        rows.append(customer(name, "Homeowner", "home held by a trust or household", email=email))
    for index, row in enumerate(rows, 1):
        row["id"] = f"u{index:04d}"
    return [{"id": r.pop("id"), **r} for r in rows]


def _moved(side: dict[str, Any]) -> dict[str, Any]:
    return {**side, "billing_address": address()}


def pairs() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(existing: dict[str, Any], provider: dict[str, Any], duplicate: bool, kind: str) -> None:
        out.append({"existing": existing, "provider": provider, "duplicate": duplicate, "kind": kind})

    def side(name: str, **fields: Any) -> dict[str, Any]:
        row = {"display_name": name, "given_name": None, "family_name": None, "company_name": None,
               "email": None, "phone": None, "billing_address": address()}  # fmt: skip
        row.update(fields)
        return row

    # Split surnames: one person, the name joined on one side.
    for joined, split in SPLIT_SURNAMES * 2:
        given = rng.choice(GIVEN)
        home = address()
        email = rng.choice([None, f"{slug(given)}{rng.randint(1, 99)}@{rng.choice(PERSONAL)}"])
        other = rng.choice([None, email, f"{slug(given)[0]}{slug(joined)}@{rng.choice(PERSONAL)}"])
        add(side(f"{given} {joined}", email=email, billing_address=home),
            side(f"{given} {split}", email=other, billing_address=home), True, "split surname")  # fmt: skip
        # and a different person with the same split name elsewhere
        add(side(f"{given} {joined}", email=email, billing_address=home),
            side(f"{rng.choice(GIVEN)} {split}", email=f"x{rng.randint(100, 999)}@{rng.choice(PERSONAL)}"),
            False, "same surname, another person")  # fmt: skip
    # Nicknames at the same address.
    for full, short in NICKNAMES:
        family = rng.choice(SURNAMES)
        home = address()
        add(side(f"{full} {family}", email=f"{slug(full)}.{slug(family)}@{rng.choice(PERSONAL)}", billing_address=home),
            side(f"{short} {family}", email=rng.choice([None, f"{slug(short)}{rng.randint(1, 99)}@{rng.choice(PERSONAL)}"]),
                 billing_address=home), True, "nickname at the same address")  # fmt: skip
        # a household member at the same address: another given name
        other = rng.choice([g for g in GIVEN if g[0] != full[0] and g[0] != short[0]])
        add(side(f"{full} {family}", billing_address=home, email=f"{slug(full)}@{rng.choice(PERSONAL)}"),
            side(f"{other} {family}", billing_address=home, email=f"{slug(other)}@{rng.choice(PERSONAL)}"),
            False, "household member")  # fmt: skip
    # The same company with and without its legal suffix, on its own domain.
    for base in COMPANY_BASES * 2:
        domain = slug(base) + ".com"
        suffix = rng.choice(LEGAL)
        home = address(unit=rng.choice([None, "Suite 200"]))
        there = rng.choice([home, address(), None])
        add(side(base, email=f"{rng.choice(['ap', 'billing', 'office'])}@{domain}", billing_address=home),
            side(f"{base}{rng.choice([' ', ', '])}{suffix}", email=f"{rng.choice(['accounts', 'info', 'jane'])}@{domain}",
                 billing_address=there), True, "legal suffix, same company domain")  # fmt: skip
        # another branch of a franchise: another city in the name, another domain and address
        city = rng.choice(CITIES)[0]
        add(side(f"{base} {city}", email=f"ap@{slug(base)}{slug(city)}.com", billing_address=home),
            side(f"{base} {rng.choice([c[0] for c in CITIES if c[0] != city])} {suffix}",
                 email=f"ap@{slug(base)}{rng.randint(2, 9)}.com"), False, "another branch")  # fmt: skip
    # A building or unit suffix on the name, the same e-mail.
    for base in COMPANY_BASES + [
        f"{g} {s}" for g, s in zip(rng.sample(GIVEN, 14), rng.sample(SURNAMES, 14), strict=True)
    ]:
        email = f"{slug(base)[:12]}@{rng.choice([*PERSONAL, 'mgmt.com'])}"
        home = address()
        suffix = rng.choice(UNIT_SUFFIXES).format(x=rng.choice("ABCDE"), n=rng.randint(1, 40))
        moved = rng.choice([home, {**home, "line2": suffix.strip(" -()")}, address()])
        add(side(base, email=email, billing_address=home), side(base + suffix, email=email, billing_address=moved),
            True, "unit or building suffix, same e-mail")  # fmt: skip
        # a neighbour in the same building: another name, another e-mail
        add(side(base, email=email, billing_address=home),
            side(f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)}{suffix}", email=f"n{rng.randint(1, 999)}@{rng.choice(PERSONAL)}",
                 billing_address={**home, "line2": suffix.strip(" -()")}), False, "neighbour in the same building")  # fmt: skip
    # Namesakes: the same name, another address and e-mail; Jr and Sr at one address.
    for _ in range(20):
        given, family = rng.choice(GIVEN), rng.choice(SURNAMES)
        add(side(f"{given} {family}", email=f"{slug(given)}{slug(family)}@{rng.choice(PERSONAL)}"),
            side(f"{given} {family}", email=f"{slug(given)[0]}{slug(family)}{rng.randint(1, 99)}@{rng.choice(PERSONAL)}"),
            False, "namesake")  # fmt: skip
    for _ in range(10):
        given, family = rng.choice(GIVEN), rng.choice(SURNAMES)
        home = address()
        add(side(f"{given} {family} Sr", email=f"{slug(given)}{slug(family)}@{rng.choice(PERSONAL)}", billing_address=home),
            side(f"{given} {family} Jr", email=f"{slug(given)}{slug(family)}jr@{rng.choice(PERSONAL)}", billing_address=home),
            False, "father and son at one address")  # fmt: skip
    # Ordinary duplicates: a new e-mail at the same address, Street/St, a moved customer with the same e-mail.
    for _ in range(20):
        given, family = rng.choice(GIVEN), rng.choice(SURNAMES)
        home = address()
        short = {
            **home,
            "line1": home["line1"].replace("Street", "St").replace("Avenue", "Ave").replace("Drive", "Dr"),
        }
        email = f"{slug(given)}.{slug(family)}@{rng.choice(PERSONAL)}"
        add(side(f"{given} {family}", email=email, billing_address=home),
            rng.choice([side(f"{family}, {given}", email=None, billing_address=short),
                        side(f"{given} {family}", email=email, billing_address=address())]), True, "ordinary")  # fmt: skip
    for index, pair in enumerate(out, 1):
        pair["existing"] = {"id": f"ue-{index:04d}", **pair["existing"]}
        pair["provider"] = {"id": f"up-{index:04d}", **pair["provider"]}
        pair["id"] = f"p{index:04d}"
    return [{"id": p.pop("id"), **p} for p in out]


def main() -> None:
    (HERE / "customers.json").write_text(json.dumps(customers(), indent=1) + "\n")
    (HERE / "pairs.json").write_text(json.dumps(pairs(), indent=1) + "\n")


if __name__ == "__main__":
    main()
