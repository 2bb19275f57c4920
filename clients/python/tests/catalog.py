"""A small gift shop (titles after the demo shop's Online Retail II products) as rows, the way a
data scientist has them: flat columns, a `colour` column that is an attribute, one product out
of stock."""

from __future__ import annotations

from typing import Any

COLUMNS = ("id", "title", "brand", "category", "price", "currency", "stock", "colour", "popularity")
# fmt: off
ROWS = [
    ("85123A", "White hanging heart T-light holder", "Vitrine Gifts", "home/candles", 2.55, "GBP", 12, "white", 90.0),
    ("71053", "White metal lantern", "Vitrine Gifts", "home/lighting", 3.39, "GBP", 5, "white", 40.0),
    ("84406B", "Cream cupid hearts coat hanger", "Heartfelt", "home/storage", 2.75, "GBP", 8, "cream", 30.0),
    ("22752", "Set of 7 babushka nesting boxes", "Heartfelt", "toys", 7.65, "GBP", 3, "red", 20.0),
    ("21730", "Glass star frosted T-light holder", "Lumen", "home/candles", 4.25, "GBP", 9, "clear", 25.0),
    ("22633", "Hand warmer union jack", "Warmth Co", "accessories/winter", 1.85, "GBP", 40, "red", 35.0),
    ("84879", "Assorted colour bird ornament", "Vitrine Gifts", "home/decor", 1.69, "GBP", 100, "blue", 80.0),
    ("22745", "Poppy's playhouse bedroom", "Playtime", "toys", 2.10, "GBP", 6, "pink", 10.0),
    ("22960", "Jam making set with jars", "Kitchen Co", "home/kitchen", 4.25, "GBP", 15, "red", 50.0),
    ("21754", "Home building block word", "Vitrine Gifts", "home/decor", 5.95, "GBP", 7, "white", 45.0),
    ("22138", "Baking set 9 piece retrospot", "Kitchen Co", "home/kitchen", 4.95, "GBP", 11, "red", 60.0),
    ("47566", "Party bunting", "Playtime", "party", 4.95, "GBP", 0, "pink", 70.0),
    ("20725", "Lunch bag red retrospot", "Kitchen Co", "home/kitchen", 1.65, "GBP", 25, "red", 55.0),
]
# fmt: on
PRODUCTS: list[dict[str, Any]] = [dict(zip(COLUMNS, row, strict=True)) for row in ROWS]
