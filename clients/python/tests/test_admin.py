"""Settings and their history, error mapping, API keys, shopper tokens, models and
recommendations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from vitrine import Client, VitrineError

from .catalog import PRODUCTS
from .conftest import Server


@pytest.fixture
def scratch(admin: Client) -> Iterator[str]:
    """An index of its own for a test that changes settings."""
    index = "scratch"
    admin.import_products(index, PRODUCTS)
    yield index
    admin.delete_index(index)


def error_of(call: Callable[[], Any]) -> VitrineError:
    with pytest.raises(VitrineError) as raised:
        call()
    return raised.value


def test_a_settings_part_is_put_read_and_rolled_back(admin: Client, scratch: str) -> None:
    assert admin.search(scratch, "lamp")["total"] == 0
    synonyms = [{"type": "multi_way", "terms": ["lantern", "lamp"]}]
    assert admin.put_settings_part(scratch, "synonyms", synonyms) == synonyms
    assert admin.get_settings_part(scratch, "synonyms") == synonyms
    assert admin.get_settings(scratch)["synonyms"] == synonyms
    assert admin.search(scratch, "lamp")["hits"][0]["id"] == "71053"

    history = admin.settings_history(scratch)
    latest, before = history[0], history[1]
    assert latest["actor"] == "pytest" and latest["changed"] == ["synonyms"]
    assert latest["version"] > before["version"]
    restored = admin.restore_settings(scratch, before["version"])
    assert restored["synonyms"] == []
    assert admin.settings_history(scratch)[0]["restored_from"] == before["version"]
    assert admin.search(scratch, "lamp")["total"] == 0

    admin.put_settings_part(scratch, "synonyms", synonyms)
    assert admin.reset_settings_part(scratch, "synonyms") == []
    assert admin.reset_settings(scratch)["synonyms"] == []

    preview = admin.preview_settings(scratch, "lamp", {"synonyms": synonyms})
    assert preview["live"]["total"] == 0 and preview["draft"]["hits"][0]["id"] == "71053"

    refused = error_of(lambda: admin.put_settings_part(scratch, "ranking", {"titel": 2}))
    assert (refused.status, refused.code) == (400, "invalid_settings")
    unknown = error_of(lambda: admin.get_settings_part(scratch, "colours"))
    assert (unknown.status, unknown.code) == (404, "route_not_found")


def test_errors_carry_the_status_code_and_type_of_the_api(
    admin: Client, search_client: Client, server: Server, shop: str
) -> None:
    missing = error_of(lambda: admin.search("no_such_index", "mug"))
    assert (missing.status, missing.code, missing.type) == (404, "index_not_found", "invalid_request")
    assert "no_such_index" in missing.message
    assert str(missing).startswith("404 index_not_found: ")

    for admin_call in (
        lambda: search_client.analytics(shop),
        lambda: search_client.get_settings(shop),
        lambda: search_client.upsert_documents(shop, [{"id": "x", "title": "Nope"}]),
        lambda: search_client.delete_index(shop),
        lambda: search_client.list_keys(),
    ):
        forbidden = error_of(admin_call)
        assert (forbidden.status, forbidden.code, forbidden.type) == (403, "forbidden_for_key", "auth")

    with Client(server.url) as anonymous:
        unsigned = error_of(lambda: anonymous.search(shop, "mug"))
    assert (unsigned.status, unsigned.code) == (401, "missing_authorization_header")
    assert error_of(lambda: admin.search(shop, filter={"flavour": ["mint"]})).code == "unknown_field"
    assert error_of(lambda: admin.search(shop, sort="cheapest_first")).code == "invalid_sort"
    assert error_of(lambda: admin.search(shop, per_page=100, page=11)).code == "invalid_pagination"
    assert error_of(lambda: admin.get_index("not a name!")).code == "invalid_index_name"
    assert error_of(lambda: admin.analytics(shop, days=0)).code == "invalid_parameter"


def test_a_scoped_key_reaches_its_indexes_only_until_it_is_revoked(admin: Client, server: Server, shop: str) -> None:
    created = admin.create_key("notebook", ["search"], [shop])
    assert created["key"] and created["actions"] == ["search"] and created["indexes"] == [shop]
    assert created["id"] in {key["id"] for key in admin.list_keys()}
    assert admin.get_key(created["id"])["name"] == "notebook"
    with Client(server.url, api_key=created["key"]) as scoped:
        assert scoped.current_key()["actions"] == ["search"]
        assert scoped.search(shop, "lantern")["hits"][0]["id"] == "71053"
        assert error_of(lambda: scoped.search("elsewhere", "lantern")).code == "forbidden_for_key"
        assert error_of(lambda: scoped.get_settings(shop)).code == "forbidden_for_key"
        admin.delete_key(created["id"])
        revoked = error_of(lambda: scoped.search(shop, "lantern"))
        assert (revoked.status, revoked.code) == (401, "api_key_revoked")
    assert error_of(lambda: admin.get_key(created["id"])).code == "api_key_not_found"


def test_a_shopper_token_acts_as_its_shopper_within_its_filter(
    admin: Client, search_client: Client, server: Server, shop: str
) -> None:
    minted = admin.create_shopper_token("alice", expires_in_seconds=600, filter={"brand": ["Kitchen Co"]})
    assert minted["user_id"] == "alice" and minted["token"].startswith("eyJ") and minted["expires_at"]

    with Client(server.url, api_key=server.search_key, shopper_token=minted["token"]) as alice:
        assert alice.current_key()["user_id"] == "alice"
        browse = alice.search(shop, per_page=50)
        assert browse["total"] == 3
        assert {hit["document"]["brand"] for hit in browse["hits"]} == {"Kitchen Co"}
        assert alice.record_events(shop, {"type": "view", "product_id": "22138"})["recorded"] == 1
        mismatch = error_of(
            lambda: alice.record_events(shop, {"type": "view", "product_id": "22138", "user_id": "bob"})
        )
        assert (mismatch.status, mismatch.code) == (403, "user_mismatch")
        # Admin calls of this client go with its key (the search key), not the token.
        assert error_of(lambda: alice.analytics(shop)).code == "forbidden_for_key"

    cannot_mint = error_of(lambda: search_client.create_shopper_token("mallory"))
    assert (cannot_mint.status, cannot_mint.code) == (403, "forbidden_for_key")
    with admin.as_shopper(minted["token"]) as shopper:
        assert shopper.search(shop, "retrospot")["total"] == 2
        assert "total_searches" in shopper.analytics(shop), "admin calls keep the admin key"


def test_recommendations_before_training_answer_model_not_trained(admin: Client, shop: str) -> None:
    kinds: list[tuple[str, dict[str, Any]]] = [
        ("trending", {}),
        ("similar", {"product_id": "85123A"}),
        ("bought_together", {"product_id": "85123A", "k": 5}),
        ("cart", {"product_ids": ["85123A", "71053"]}),
        ("for_user", {"user_id": "alice"}),
    ]
    for kind, params in kinds:
        with pytest.raises(VitrineError) as untrained:
            admin.recommendations(shop, kind, **params)
        assert (untrained.value.status, untrained.value.code, untrained.value.type) == (
            409,
            "model_not_trained",
            "invalid_request",
        ), kind
    assert error_of(lambda: admin.recommendations(shop, "trending", k=0)).code == "invalid_parameter"
    assert admin.list_models(shop) == {"current": None, "versions": []}
    unknown = error_of(lambda: admin.activate_model(shop, "../../elsewhere"))
    assert (unknown.status, unknown.code) == (404, "model_version_not_found")


def test_a_call_after_a_refusal_answered_unread_goes_through(search_client: Client, shop: str) -> None:
    # The server refuses the search key before reading the body, then closes the kept-alive
    # connection (without `Connection: close`): the next call must not fail on it.
    documents = [{"id": str(number), "title": "Not allowed"} for number in range(200)]
    for _ in range(40):
        assert error_of(lambda: search_client.upsert_documents(shop, documents)).code == "forbidden_for_key"
        assert search_client.get_index(shop)["name"] == shop


def test_an_experiment_assigns_sessions_counts_their_clicks_and_is_promoted(
    admin: Client, search_client: Client, scratch: str
) -> None:
    synonyms = {"synonyms": [{"type": "multi_way", "terms": ["lantern", "lamp"]}]}
    created = admin.create_experiment(
        scratch, "lamp synonyms", [{"name": "live"}, {"name": "lanterns", "settings": synonyms}]
    )
    experiment_id = created["id"]
    assert created["status"] == "running"
    assert admin.list_experiments(scratch)[0]["id"] == experiment_id
    conflict = error_of(lambda: admin.create_experiment(scratch, "again", [{"name": "a"}, {"name": "b"}]))
    assert (conflict.status, conflict.code) == (409, "experiment_already_running")

    clicked: dict[str, int] = {"live": 0, "lanterns": 0}
    for session in range(40):
        answer = search_client.search(scratch, "lamp", session_id=f"py-{session}")
        variant = answer["experiment"]["variant"]
        assert (answer["total"] > 0) == (variant == "lanterns")
        if answer["hits"]:
            search_client.record_events(
                scratch,
                {
                    "type": "click",
                    "product_id": answer["hits"][0]["id"],
                    "query_id": answer["query_id"],
                    "session_id": f"py-{session}",
                },
            )
            clicked[variant] += 1
    results = admin.get_experiment(scratch, experiment_id)["results"]
    assert {row["name"]: row["clicked_searches"] for row in results["variants"]} == clicked
    assert {row["name"]: row["searches"] for row in results["variants"]}["lanterns"] == clicked["lanterns"]

    promoted = admin.promote_experiment(scratch, experiment_id, "lanterns")
    assert promoted["experiment"]["promoted"] == "lanterns"
    assert admin.get_settings(scratch)["synonyms"] == synonyms["synonyms"]
    again = error_of(lambda: admin.stop_experiment(scratch, experiment_id))
    assert again.code == "invalid_experiment_state"


def test_an_alias_follows_a_switch_and_a_snapshot_lists_its_indexes(admin: Client, scratch: str) -> None:
    assert admin.put_alias("live", scratch) == {"alias": "live", "index": scratch, "previous": None}
    assert admin.search("live", "")["total"] == admin.search(scratch, "")["total"]
    assert {"alias": "live", "index": scratch} in admin.list_aliases()
    assert error_of(lambda: admin.put_alias(scratch, scratch)).code == "alias_conflict"
    assert error_of(lambda: admin.delete_index(scratch)).code == "alias_conflict"

    snapshot = admin.create_snapshot()
    names = [index["name"] for index in snapshot["manifest"]["indexes"]]
    assert scratch in names
    assert snapshot["archive"].endswith(".tar.zst") and snapshot["archive_bytes"] > 0
    assert any(listed["name"] == snapshot["manifest"]["name"] for listed in admin.list_snapshots())

    admin.delete_alias("live")
    assert error_of(lambda: admin.get_alias("live")).code == "alias_not_found"
