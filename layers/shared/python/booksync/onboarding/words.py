"""Word lists the rules classifier and the duplicate finder read (lower case)."""

from __future__ import annotations

# Legal forms: a name ending in one of these is a company.
LEGAL_SUFFIXES = frozenset(
    {
        "llc", "l.l.c", "inc", "incorporated", "ltd", "limited", "corp", "corporation", "co",
        "company", "llp", "lp", "pllc", "pc", "pa", "plc", "gmbh", "lc",
    }
)  # fmt: skip

# Construction trades: a company in one of these is a Builder (seeds: "construction companies
# are classified as Builder").
TRADE_WORDS = frozenset(
    {
        "construction", "constructions", "constructors", "builders", "builder", "building",
        "buildings", "homes", "homebuilders", "communities", "contracting", "contractors", "contractor",
        "remodeling", "remodelling", "remodelers", "renovations", "renovation", "roofing",
        "development", "developments", "developers", "framing", "concrete", "excavating",
        "excavation", "masonry", "carpentry", "drywall", "builds", "restoration", "paving",
        "sitework", "foundations", "structures", "millwork", "cabinetry", "siding",
    }
)  # fmt: skip
TRADE_PHRASES = ("design build", "design-build", "general contractor", "custom homes", "home improvement")
# Seen inside an e-mail domain such as ruizbuilders.com.
TRADE_STEMS = ("construct", "builder", "build", "homes", "contract", "remodel", "roofing", "develop")

# Words that make a name an organisation's (not a construction one).
BUSINESS_WORDS = frozenset(
    {
        "services", "service", "solutions", "group", "associates", "partners", "enterprises",
        "holdings", "industries", "management", "realty", "properties", "property", "apartments",
        "restaurant", "cafe", "bakery", "grill", "bar", "pub", "hotel", "inn", "motel", "church",
        "school", "academy", "clinic", "dental", "medical", "hospital", "pharmacy", "salon", "spa",
        "store", "shop", "market", "foods", "bank", "credit", "union", "hoa", "association",
        "condominium", "condominiums", "condos", "trust", "foundation", "office", "center", "centre",
        "studio", "studios", "agency", "insurance", "law", "legal", "firm", "cpa", "accounting",
        "consulting", "logistics", "motors", "auto", "automotive", "supply", "supplies", "farm",
        "farms", "ranch", "plumbing", "electric", "electrical", "hvac", "heating", "cooling",
        "landscaping", "lawn", "cleaning", "janitorial", "storage", "brewing", "brewery", "winery",
        "fitness", "gym", "daycare", "ministries", "county", "city", "district", "university",
        "college", "library", "museum", "club", "lodge", "llc", "inc", "sons", "brothers",
        "bros", "international", "global", "systems", "technologies", "tech", "labs", "media",
        "marketing", "capital", "investments", "ventures", "wholesale", "retail", "distributors",
        "manufacturing", "warehouse", "plaza", "mall", "towers", "village", "senior", "living",
        "community", "dealership", "veterinary", "animal", "hospitality", "partnership",
        "dentistry", "orthodontics", "pediatrics", "repair", "bistro", "wash", "kitchen", "diner",
        # Kinds of small business after the Census Bureau's NAICS titles (shops, personal care,
        # food, health, professional services), and a head office.
        "laundromat", "laundry", "cleaners", "grooming", "kennel", "kennels", "boarding", "barbershop",
        "barber", "nails", "boutique", "florist", "florals", "flowers", "photography", "catering",
        "tutoring", "tailoring", "alterations", "preschool", "montessori", "childcare", "tattoo",
        "yoga", "pilates", "dance", "pizzeria", "pizza", "taqueria", "bakeshop", "creamery", "deli",
        "tavern", "coffee", "thrift", "pawn", "printing", "print", "signs", "locksmith", "pest",
        "pools", "bookkeeping", "tax", "payroll", "chiropractic", "optometry", "optical", "vision",
        "eye", "therapy", "counseling", "medicine", "practice", "physicians", "health", "wellness",
        "care", "orthopedics", "podiatry", "pediatric", "massage", "hair", "ankle", "jewelers", "jewelry",
        "gallery", "upholstery", "towing", "tires", "collision", "transmission",
        "movers", "moving", "hauling", "courier", "rentals", "rental", "travel", "tours", "events",
        "outfitters", "nursery", "greenhouse", "garden", "hardware", "bikes", "cycles", "music",
        "books", "designs", "realtors", "staffing", "freight", "trucking",
        "headquarters",
    }
)  # fmt: skip
# Credentials written after a professional's name ("Jane Roe, CPA"): the customer is the practice.
CREDENTIALS = frozenset(
    {"cpa", "dds", "dmd", "md", "esq", "dvm", "pe", "od", "lcsw", "lmft", "cfp", "ea", "aia"}
)
# A trust or estate that holds a family's home ("Smith Family Trust", "Estate of John Smith").
TRUST_WORDS = frozenset({"family", "living", "revocable", "irrevocable", "dtd", "trustee", "trustees"})

PERSONAL_EMAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "hotmail.com", "outlook.com",
        "live.com", "msn.com", "icloud.com", "me.com", "mac.com", "aol.com", "comcast.net",
        "att.net", "sbcglobal.net", "verizon.net", "bellsouth.net", "cox.net", "charter.net",
        "earthlink.net", "protonmail.com", "proton.me", "gmx.com", "mail.com", "zoho.com",
        "yahoo.co.uk", "hotmail.co.uk", "btinternet.com", "shaw.ca", "rogers.com", "sympatico.ca",
    }
)  # fmt: skip

# Honorifics and household words that mark a person or a home.
PERSON_MARKERS = frozenset({"mr", "mrs", "ms", "miss", "dr", "jr", "sr", "ii", "iii", "iv"})
HOUSEHOLD_WORDS = frozenset({"residence", "household", "family", "home"})

# An address line naming one of these is (usually) commercial space.
COMMERCIAL_UNITS = ("suite", "ste", "floor", "fl", "bldg", "building", "unit", "dept", "pmb")
# Street words and their short forms, for comparing addresses.
STREET_ABBREVIATIONS = {
    "street": "st", "avenue": "ave", "av": "ave", "road": "rd", "drive": "dr", "boulevard": "blvd",
    "lane": "ln", "court": "ct", "place": "pl", "terrace": "ter", "parkway": "pkwy",
    "highway": "hwy", "circle": "cir", "square": "sq", "trail": "trl", "way": "way",
    "north": "n", "south": "s", "east": "e", "west": "w", "northeast": "ne", "northwest": "nw",
    "southeast": "se", "southwest": "sw", "suite": "ste", "apartment": "apt", "number": "#",
    "mount": "mt", "fort": "ft", "saint": "st", "route": "rte", "expressway": "expy",
    "freeway": "fwy", "crossing": "xing", "point": "pt", "heights": "hts", "junction": "jct",
}  # fmt: skip

# Common given names (US census and SSA lists, most frequent first); a name starting with one
# of these reads as a person's. Unknown first names still count through the name's shape.
_FIRST_NAMES_TEXT = """
    james mary robert patricia john jennifer michael linda david elizabeth william barbara richard
    susan joseph jessica thomas sarah charles karen christopher lisa daniel nancy matthew betty
    anthony margaret mark sandra donald ashley steven kimberly paul emily andrew donna joshua
    michelle kenneth carol kevin amanda brian dorothy george melissa timothy deborah ronald
    stephanie edward rebecca jason sharon jeffrey laura ryan cynthia jacob kathleen gary amy
    nicholas angela eric shirley jonathan anna stephen brenda larry pamela justin emma scott nicole
    brandon helen benjamin samantha samuel katherine gregory christine alexander debra frank rachel
    patrick carolyn raymond janet jack catherine dennis maria jerry heather tyler diane aaron ruth
    jose julie adam olivia nathan joyce henry virginia douglas victoria zachary kelly peter lauren
    kyle christina ethan joan walter evelyn noah judith jeremy megan christian andrea keith cheryl
    roger hannah terry jacqueline gerald martha harold gloria sean teresa austin ann carl sara
    arthur madison lawrence frances dylan kathryn jesse janice jordan jean bryan abigail billy alice
    joe julia bruce judy gabriel sophia logan grace albert denise willie amber alan doris juan
    marilyn wayne danielle elijah beverly randy isabella roy theresa vincent diana ralph natalie
    eugene brittany russell charlotte bobby marie mason kayla philip alexis louis lori mike bob bill
    jim tom dave steve chris matt dan tony rick jeff ken greg ron don joe sam ben nick pat kate liz
    beth jen jenny sue kathy cathy debbie carlos luis jorge miguel pedro manuel antonio francisco
    javier alejandro ricardo rosa carmen ana lucia sofia wei li ming mei hiroshi yuki kenji raj
    priya amit anil sanjay deepak sunita ahmed mohammed fatima ali omar hassan leila minh linh ivan
    olga sergei natasha dmitri anders lars erik ingrid sven connor liam aiden caleb owen luke hunter
    isaac jayden levi lucas ella chloe avery lily zoe mia aria layla nora riley scarlett stella
    hazel violet aurora savannah audrey brooklyn bella claire skylar lucy paisley everly caroline
    nova genesis emilia kennedy maya willow kinsley naomi aaliyah elena sadie ariana allison
    gabriella alice madelyn cora ruby eva serenity autumn adeline hailey gianna valentina isla
    eliana quinn nevaeh ivy piper lydia alexa josephine emery julian grayson leo jaxon lincoln
    josiah hudson carter wyatt jayce ezra colton cooper easton jaxson xavier dominic brayden landon
    parker jace ian adrian miles maverick greyson roman evan weston santiago sawyer declan silas
    bennett kai tristan emmanuel marcus travis derek shawn cody chad brett todd troy jared derrick
    cory marc glenn earl jimmy victor martin ernest phillip craig alan shane leonard dale curtis
    norman allen marvin glen jay howard fred stanley neil barry francis lee bernard herbert leroy
    clarence wendy tammy crystal tiffany melanie erin colleen holly dawn april tina kristen kristin
    monica erica tracy tara leah vanessa jill joanne rhonda renee yolanda
"""
FIRST_NAMES = frozenset(_FIRST_NAMES_TEXT.split())

# Generational suffixes: a John Smith Sr and a John Smith Jr at one address are two people.
GENERATIONS = frozenset({"jr", "sr", "ii", "iii", "iv"})

# Common English short forms of given names (formal name: its short forms). A short form may
# stand for several formal names (Sam: Samuel, Samantha); two given names are one person's when
# one is the other's short form or both are short forms of one formal name.
_NICKNAMES_TEXT = """
    abigail: abby abbie gail | albert: al bert bertie | alexander: alex al sandy xander |
    alexandra: alex sandra sandy lexi | alfred: al alf fred | andrew: andy drew |
    anthony: tony | arthur: art artie | barbara: barb barbie babs | benjamin: ben benny benji |
    bernard: bernie | beverly: bev | bradley: brad | catherine: cathy kate katie cat |
    cathleen: cathy kate | charles: charlie chuck chas chaz | charlotte: charlie lottie |
    christina: chris tina christy | christine: chris tina christy | christopher: chris kit topher |
    clifford: cliff | cynthia: cindy | daniel: dan danny | david: dave davey | deborah: deb debbie debby |
    donald: don donnie | dorothy: dot dottie dolly | douglas: doug | edward: ed eddie ned ted |
    eleanor: ellie nell nora | elizabeth: liz lizzie beth betsy betty eliza libby | emily: em emmy |
    eugene: gene | florence: flo | frances: fran frannie | francis: frank fran | frederick: fred freddie |
    gabriel: gabe | gerald: jerry gerry | gregory: greg | harold: harry hal | henry: hank harry |
    herbert: herb | isabella: bella izzy | jacob: jake | james: jim jimmy jamie | jeffrey: jeff |
    jennifer: jen jenny jenn | jessica: jess jessie | jonathan: jon jonny | john: jack johnny |
    joseph: joe joey | joshua: josh | judith: judy | katherine: kate kathy katie kat kay |
    kathleen: kathy kate | kenneth: ken kenny | kimberly: kim | lawrence: larry | leonard: len lenny leo |
    louis: lou | margaret: maggie meg peggy marge margie | matthew: matt | michael: mike mikey mick |
    nathan: nate | nathaniel: nate nat | nicholas: nick nicky | pamela: pam |
    patricia: pat patty tricia trish |
    patrick: pat paddy | peter: pete | philip: phil | phillip: phil | raymond: ray | rebecca: becky becca |
    richard: rick ricky dick rich richie | robert: rob bob bobby robbie bert | ronald: ron ronnie |
    samantha: sam sammy | samuel: sam sammy | sandra: sandy | stephen: steve stevie | steven: steve stevie |
    susan: sue susie suzy | theodore: ted teddy theo | thomas: tom tommy | timothy: tim timmy |
    victoria: vicky vickie tori | vincent: vince vinny | walter: walt wally |
    william: will bill billy willy liam |
    zachary: zach zack | terrence: terry | teresa: terry tess | theresa: terry tess | ronda: ronnie |
    leslie: les | lillian: lily lil | maxine: max | maximilian: max | mildred: millie | virginia: ginny |
    josephine: jo josie | joanna: jo | louise: lou | roberta: bobbie | rosalind: roz | gwendolyn: gwen
"""
NICKNAMES: dict[str, frozenset[str]] = {
    formal.strip(): frozenset(short.split())
    for formal, short in (entry.split(":") for entry in _NICKNAMES_TEXT.replace("\n", " ").split("|"))
}
