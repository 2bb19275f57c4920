"""A typed Python client for the Vitrine API: search, recommendations, documents, events,
settings, analytics, models, keys and shopper tokens, with DataFrame imports and reports.

    from vitrine import Client

    with Client("http://127.0.0.1:8080", api_key="…") as vitrine:
        vitrine.import_products("shop", products_frame, currency="GBP")
        hits = vitrine.search("shop", "hart holdr", facets=["brand"])["hits"]
"""

from .client import Client, ImportSummary, InteractionImportSummary, RowError
from .errors import VitrineError
from .frames import analytics_frames, load_eval_report

__version__ = "0.1.0"

__all__ = [
    "Client",
    "ImportSummary",
    "InteractionImportSummary",
    "RowError",
    "VitrineError",
    "analytics_frames",
    "load_eval_report",
]
