"""Static vocabularies for the synthetic retailer: names, cities, phones, products, stores.

Everything here is plain data plus tiny pure helpers. No value may contain a double quote,
a backslash or a control character: the JSONL writer relies on that (it still escapes
defensively), and CSV readers are happier without them.
"""

from __future__ import annotations

import unicodedata

# Country mix of the customer base (ISO-2 code -> weight).
COUNTRY_WEIGHTS: dict[str, float] = {
    "GB": 0.35,
    "DE": 0.20,
    "FR": 0.15,
    "NL": 0.12,
    "ES": 0.10,
    "IE": 0.08,
}

CITIES: dict[str, tuple[str, ...]] = {
    "GB": (
        "London",
        "Manchester",
        "Birmingham",
        "Leeds",
        "Glasgow",
        "Bristol",
        "Edinburgh",
        "Liverpool",
    ),
    "DE": (
        "Berlin",
        "Hamburg",
        "München",
        "Köln",
        "Frankfurt am Main",
        "Stuttgart",
        "Düsseldorf",
        "Leipzig",
    ),
    "FR": ("Paris", "Lyon", "Marseille", "Toulouse", "Lille", "Bordeaux", "Nantes"),
    "NL": ("Amsterdam", "Rotterdam", "Utrecht", "Den Haag", "Eindhoven"),
    "ES": ("Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao", "Málaga"),
    "IE": ("Dublin", "Cork", "Galway", "Limerick"),
}

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "GB": (
        "Oliver",
        "Amelia",
        "Harry",
        "Isla",
        "George",
        "Ava",
        "Jack",
        "Emily",
        "Charlie",
        "Sophie",
        "Thomas",
        "Grace",
        "James",
        "Lily",
        "William",
        "Anna",
    ),
    "DE": (
        "Lukas",
        "Mia",
        "Leon",
        "Hannah",
        "Finn",
        "Lea",
        "Jonas",
        "Lena",
        "Paul",
        "Marie",
        "Felix",
        "Jürgen",
        "Katrin",
        "Maximilian",
    ),
    "FR": (
        "Lucas",
        "Léa",
        "Hugo",
        "Chloé",
        "Louis",
        "Manon",
        "Gabriel",
        "Camille",
        "Jules",
        "Inès",
        "Arthur",
        "Zoé",
    ),
    "NL": ("Daan", "Emma", "Sem", "Julia", "Lucas", "Sophie", "Bram", "Fleur", "Thijs", "Sanne"),
    "ES": (
        "Hugo",
        "Lucía",
        "Martín",
        "Sofía",
        "Pablo",
        "María",
        "Álvaro",
        "Paula",
        "Diego",
        "Carmen",
    ),
    "IE": (
        "Seán",
        "Aoife",
        "Conor",
        "Niamh",
        "Cian",
        "Saoirse",
        "Oisín",
        "Ciara",
        "Liam",
        "Róisín",
    ),
}

LAST_NAMES: dict[str, tuple[str, ...]] = {
    "GB": (
        "Smith",
        "Jones",
        "Taylor",
        "Brown",
        "Williams",
        "Wilson",
        "Johnson",
        "Davies",
        "Robinson",
        "Wright",
        "Thompson",
        "Evans",
        "Walker",
        "Hughes",
    ),
    "DE": (
        "Müller",
        "Schmidt",
        "Schneider",
        "Fischer",
        "Weber",
        "Meyer",
        "Wagner",
        "Becker",
        "Schulz",
        "Hoffmann",
        "Koch",
        "Richter",
    ),
    "FR": (
        "Martin",
        "Bernard",
        "Dubois",
        "Thomas",
        "Robert",
        "Richard",
        "Petit",
        "Durand",
        "Leroy",
        "Moreau",
        "Lefèvre",
        "Girard",
    ),
    "NL": (
        "de Jong",
        "Jansen",
        "de Vries",
        "van den Berg",
        "van Dijk",
        "Bakker",
        "Janssen",
        "Visser",
        "Smit",
        "Meijer",
    ),
    "ES": (
        "García",
        "Rodríguez",
        "González",
        "Fernández",
        "López",
        "Martínez",
        "Sánchez",
        "Pérez",
        "Gómez",
        "Martín",
    ),
    "IE": (
        "Murphy",
        "Kelly",
        "O'Sullivan",
        "Walsh",
        "O'Brien",
        "Byrne",
        "Ryan",
        "O'Connor",
        "O'Neill",
        "Doyle",
    ),
}

# Phone number stems per country; the generator appends random digits.  UK numbers use
# Ofcom's reserved drama ranges so no real subscriber is ever generated.
PHONE_FORMATS: dict[str, tuple[str, ...]] = {
    "GB": ("+44 20 7946 0###", "+44 161 496 0###", "+44 121 496 0###", "+44 113 496 0###"),
    "DE": ("+49 30 #######", "+49 40 #######", "+49 89 #######"),
    "FR": ("+33 1 ## ## ## ##", "+33 4 ## ## ## ##"),
    "NL": ("+31 20 ### ####", "+31 10 ### ####"),
    "ES": ("+34 91 ### ## ##", "+34 93 ### ## ##"),
    "IE": ("+353 1 ### ####", "+353 21 ### ####"),
}

# Only reserved example domains: nothing generated can be a real mailbox.
EMAIL_DOMAINS: dict[str, tuple[str, ...]] = {
    "GB": ("example.co.uk", "example.com", "example.org"),
    "DE": ("example.de", "example.com", "example.net"),
    "FR": ("example.fr", "example.com", "example.net"),
    "NL": ("example.nl", "example.com", "example.org"),
    "ES": ("example.es", "example.com", "example.net"),
    "IE": ("example.ie", "example.com", "example.org"),
}

LOYALTY_TIERS: tuple[str, ...] = ("bronze", "silver", "gold", "platinum")
LOYALTY_WEIGHTS: tuple[float, ...] = (0.55, 0.27, 0.13, 0.05)

ORDER_STATUSES: tuple[str, ...] = ("placed", "shipped", "delivered", "cancelled", "returned")

BRANDS: tuple[str, ...] = (
    "Northwind",
    "Harbor & Co",
    "Lindqvist",
    "Maison Verte",
    "Oakridge",
    "Bluefjord",
    "Casa Sol",
    "Greenleaf",
)

# category -> (items, variants, (min price cents, max price cents))
PRODUCT_CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[int, int]]] = {
    "Grocery": (
        (
            "Arabica Coffee Beans",
            "Earl Grey Tea",
            "Dark Chocolate",
            "Olive Oil",
            "Basmati Rice",
            "Granola",
            "Wildflower Honey",
            "Fusilli Pasta",
        ),
        ("250g", "500g", "1kg"),
        (199, 2499),
    ),
    "Household": (
        (
            "Dish Soap",
            "Laundry Detergent",
            "Kitchen Towels",
            "Bin Bags",
            "Glass Cleaner",
            "Sponges",
        ),
        ("Small", "Family Size", "Refill", "Value Pack"),
        (149, 1999),
    ),
    "Personal Care": (
        ("Shampoo", "Toothpaste", "Hand Soap", "Body Lotion", "Deodorant", "Sunscreen SPF30"),
        ("75ml", "250ml", "400ml"),
        (149, 2499),
    ),
    "Electronics": (
        (
            "USB-C Cable",
            "Wireless Earbuds",
            "Power Bank",
            "Bluetooth Speaker",
            "Smart Plug",
            "HDMI Cable",
        ),
        ("Black", "White", "Pro", "Mini"),
        (799, 12999),
    ),
    "Home & Kitchen": (
        (
            "Chef's Knife",
            "Frying Pan",
            "Stoneware Mug",
            "Cutting Board",
            "Storage Jar",
            "Tea Towel",
        ),
        ("Small", "Medium", "Large", "Set of 2"),
        (399, 7999),
    ),
    "Clothing": (
        ("Cotton T-Shirt", "Wool Socks", "Rain Jacket", "Hoodie", "Beanie", "Scarf"),
        ("S", "M", "L", "XL"),
        (499, 8999),
    ),
    "Toys & Games": (
        ("Jigsaw Puzzle", "Card Game", "Building Blocks", "Plush Bear", "Board Game"),
        ("Junior", "Classic", "Deluxe"),
        (599, 5999),
    ),
}

RETAILER = "Northwind Market"

# (city, country) for physical stores, in opening order; cycled with a numbered suffix if a
# caller asks for more stores than listed.
STORE_LOCATIONS: tuple[tuple[str, str], ...] = (
    ("London", "GB"),
    ("Manchester", "GB"),
    ("Berlin", "DE"),
    ("Paris", "FR"),
    ("Amsterdam", "NL"),
    ("Dublin", "IE"),
    ("Madrid", "ES"),
    ("Birmingham", "GB"),
    ("Hamburg", "DE"),
    ("Lyon", "FR"),
    ("Rotterdam", "NL"),
    ("Barcelona", "ES"),
    ("Glasgow", "GB"),
    ("München", "DE"),
    ("Cork", "IE"),
    ("Leeds", "GB"),
)

# (store name, city, country) for web stores.
WEB_STORES: tuple[tuple[str, str, str], ...] = (
    ("Northwind Online UK", "London", "GB"),
    ("Northwind Online EU", "Amsterdam", "NL"),
)


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters/digits of ``text`` (accents folded, other characters dropped).

    Used to build e-mail local parts such as ``sean.obrien`` from ``Seán O'Brien``.
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded.lower() if ch.isalnum())
