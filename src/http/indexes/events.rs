//! `POST /v1/indexes/{index}/events` (the `search` action, as storefronts send them): shoppers' views,
//! clicks, add-to-carts and purchases, stored for analytics before the answer and, when they
//! name a shopper, queued for the interaction log the recommendation models learn from.
//!
//! The shopper is the credential's (`docs/security.md`): a shopper token's events are its
//! shopper's; a `user_id` in an event comes only from a key that may act for users (never from
//! the public search key, whose events are anonymous: session ids).
//!
//! What a storefront says is a claim, so two rules guard the interaction log:
//! - **No events from the future.** A `timestamp` more than [`MAX_CLOCK_SKEW`] ahead of the
//!   server's clock refuses the request with `invalid_event`, naming the event's position, like
//!   any other bad event. Past timestamps are accepted however old (historical imports exist).
//! - **Budgets.** Each row one shopper (and one client address, when the server knows it) adds to
//!   an index's log is charged to hourly budgets ([`crate::interactions::budget`]); rows past them
//!   are kept out of the log. The request still succeeds: `202 {"recorded": n, "capped": m}`,
//!   `recorded` events stored for analytics, `capped` of them kept out of the interaction log. A
//!   storefront's beacon is not asked to retry (a 429 would make it resend the same events), an
//!   honest but very busy shopper loses only training rows, and the request rate itself is the
//!   business of the rate limits in front of the route.
//!
//! Analytics rows are stored before the answer; interaction-log rows are queued and written
//! within about a second ([`crate::interactions`]), and on graceful shutdown.

use std::net::SocketAddr;
use std::num::NonZeroU32;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;
use vitrine_models::{Actor, IndexName, Interaction, InteractionKind, ProductId, SessionId, UserId};

use crate::analytics::Event;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::extract::ApiJson;
use crate::http::state::AppState;

/// How far ahead of the server's clock an event's `timestamp` may be (clients' clocks drift).
pub const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);

/// Most events one request may carry.
pub const MAX_EVENTS_PER_REQUEST: usize = 1_000;

/// One event as a storefront sends it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct EventBody {
    /// `view`, `click`, `add_to_cart` or `purchase`.
    #[serde(rename = "type")]
    kind: InteractionKind,
    product_id: ProductId,
    /// The `query_id` of the search the shopper came from.
    query_id: Option<Uuid>,
    user_id: Option<UserId>,
    session_id: Option<SessionId>,
    /// 1-based position in the results.
    #[schema(value_type = Option<u32>, minimum = 1)]
    position: Option<NonZeroU32>,
    /// RFC 3339; the time of receipt when absent.
    timestamp: Option<DateTime<FixedOffset>>,
}

/// The body of `POST /v1/indexes/{index}/events`: one event, or an array of at most 1,000. (It
/// describes the body; [`read_events`] reads it, to name a bad event's position.)
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[expect(dead_code, reason = "the OpenAPI document's description of the body, which `read_events` reads")]
enum EventsBody {
    /// One event.
    One(EventBody),
    /// Several.
    Many(Vec<EventBody>),
}

/// What `POST /v1/indexes/{index}/events` stored.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventsRecorded {
    /// Events stored for analytics.
    recorded: u64,
    /// Of them, those kept out of the interaction log (past the shopper's hourly budgets).
    capped: u64,
}

impl EventBody {
    fn into_event(self, received: DateTime<Utc>) -> Event {
        Event {
            kind: self.kind,
            product_id: self.product_id,
            query_id: self.query_id,
            user_id: self.user_id,
            session_id: self.session_id,
            position: self.position,
            at: self.timestamp.map_or(received, |timestamp| timestamp.with_timezone(&Utc)),
        }
    }
}

/// The events of a body: one event object, or an array of them. A bad event (malformed, or dated
/// more than [`MAX_CLOCK_SKEW`] after `received`) refuses the whole request, naming its position
/// in the array.
fn read_events(body: Value, received: DateTime<Utc>) -> Result<Vec<Event>, ApiError> {
    let invalid = |message: String| ApiError::new(ErrorCode::InvalidEvent, message);
    let parse = |event: Value| {
        let event = serde_json::from_value::<EventBody>(event).map_err(|error| error.to_string())?.into_event(received);
        if event.at > received + MAX_CLOCK_SKEW {
            return Err(format!(
                "`timestamp` {} is in the future (more than {} minutes ahead of the server's clock, {})",
                event.at.to_rfc3339(),
                MAX_CLOCK_SKEW.num_minutes(),
                received.to_rfc3339()
            ));
        }
        Ok(event)
    };
    match body {
        Value::Object(_) => Ok(vec![parse(body).map_err(|error| invalid(format!("event: {error}")))?]),
        Value::Array(events) => {
            if events.len() > MAX_EVENTS_PER_REQUEST {
                return Err(ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("{} events in one request; the limit is {MAX_EVENTS_PER_REQUEST}", events.len()),
                ));
            }
            events
                .into_iter()
                .enumerate()
                .map(|(position, event)| parse(event).map_err(|error| invalid(format!("event {position}: {error}"))))
                .collect()
        }
        _ => Err(invalid("the body must be an event object or an array of event objects".to_owned())),
    }
}

/// `POST /v1/indexes/{index}/events`: records shoppers' views, clicks, add-to-carts and
/// purchases, one object or an array of at most [`MAX_EVENTS_PER_REQUEST`]. All are stored for
/// analytics before the answer, `202 {"recorded": n, "capped": m}`, or none is; those naming a
/// shopper are queued for the interaction log, but for the `m` past the shopper's budgets.
#[utoipa::path(post, path = "/v1/indexes/{index}/events", operation_id = "recordEvents", tag = "events", params(("index" = IndexName, Path)),
    request_body = EventsBody,
    responses((status = ACCEPTED, body = EventsRecorded),
        (status = FORBIDDEN, description = "`forbidden_for_key`, `user_mismatch`: a `user_id` the credential may not name.")))]
pub async fn record(
    State(state): State<AppState>,
    caller: Caller,
    Path(index): Path<String>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<EventsRecorded>), ApiError> {
    let name = IndexName::new(index)?;
    state.require_index(&name).await?;
    let mut events = read_events(body, Utc::now())?;
    // The shopper is the credential's: a shopper token's events are its shopper's; a `user_id`
    // in an event comes only from a key that may act for users.
    for event in &mut events {
        let claimed = event.user_id.as_ref().map(|user| user.as_str().to_owned());
        if let Some(user) = caller.acting_user(claimed.as_deref())? {
            event.user_id = Some(UserId::new(user)?);
        }
    }
    let recorded = state.analytics.record_events(&name, &events).await?;
    // Events that name a shopper (user or session) also feed the next training run, within budget.
    let client = client.map(|Extension(ConnectInfo(address))| address.ip());
    let (admitted, capped) = state.interactions.admit(&name, client, events.iter().filter_map(interaction_of));
    state.interactions.append(&name, admitted).await.map_err(ApiError::internal)?;
    Ok((StatusCode::ACCEPTED, Json(EventsRecorded { recorded, capped })))
}

/// The interaction-log row of an event, when it names a shopper.
fn interaction_of(event: &Event) -> Option<Interaction> {
    let actor = match (&event.user_id, &event.session_id) {
        (Some(user), _) => Actor::User(user.clone()),
        (None, Some(session)) => Actor::Session(session.clone()),
        (None, None) => return None,
    };
    Interaction::new(actor, event.product_id.clone(), event.kind, 1, event.at).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(body: Value) -> Result<Vec<Event>, String> {
        read_events(body, Utc::now()).map_err(|error| format!("{:?}: {}", error.code, error.message))
    }

    #[test]
    fn events_are_one_object_or_an_array_and_errors_name_the_position() {
        let events = read(json!({"type": "click", "product_id": "p1", "position": 3})).expect("one event");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, InteractionKind::Click);
        assert_eq!(events[0].position, NonZeroU32::new(3));

        let at = "2025-03-01T10:00:00+01:00";
        let events = read(json!([
            {"type": "view", "product_id": "p1", "session_id": "s-1"},
            {"type": "purchase", "product_id": "p2", "query_id": "0195f3c2-1c3a-7b6e-9f00-000000000001", "timestamp": at},
        ]))
        .expect("two events");
        assert_eq!(events[1].at, DateTime::parse_from_rfc3339(at).expect("rfc 3339").with_timezone(&Utc));
        assert!(events[1].query_id.is_some());

        for (body, expected) in [
            (
                json!([{"type": "click", "product_id": "p1"}, {"type": "clik", "product_id": "p1"}]),
                "event 1: unknown variant",
            ),
            (json!({"type": "click", "product_id": "  "}), "event: "),
            (json!({"type": "click", "product_id": "p1", "colour": "red"}), "unknown field `colour`"),
            (json!({"type": "click", "product_id": "p1", "query_id": "nope"}), "event: "),
            (json!({"type": "click", "product_id": "p1", "position": 0}), "event: "),
            (json!({"type": "click", "product_id": "p1", "timestamp": "yesterday"}), "event: "),
            (json!("click"), "an event object or an array"),
        ] {
            let error = read(body.clone()).expect_err("refused");
            assert!(error.starts_with("InvalidEvent: "), "{body}: {error}");
            assert!(error.contains(expected), "{body}: {error}");
        }
        let too_many = Value::Array(vec![json!({"type": "view", "product_id": "p"}); MAX_EVENTS_PER_REQUEST + 1]);
        assert!(read(too_many).expect_err("too many").starts_with("PayloadTooLarge"));
    }

    #[test]
    fn events_from_the_future_are_refused_past_the_clock_skew_and_old_ones_are_kept() {
        let now = DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z").expect("rfc 3339").with_timezone(&Utc);
        let at = |timestamp: &str| json!({"type": "purchase", "product_id": "p1", "timestamp": timestamp});
        let read_at =
            |body: Value| read_events(body, now).map_err(|error| format!("{:?}: {}", error.code, error.message));
        // Within the skew (a client clock 4 minutes fast, in another time zone), and long past.
        let events = read_at(json!([at("2026-06-01T14:04:00+02:00"), at("2009-12-01T07:45:00Z")])).expect("accepted");
        assert_eq!(events.len(), 2);
        // Past the skew: refused, naming the event's position.
        let error = read_at(json!([at("2026-06-01T12:00:00Z"), at("2099-01-01T00:00:00Z")])).expect_err("the future");
        assert!(error.starts_with("InvalidEvent: event 1: `timestamp` 2099-01-01"), "{error}");
        let error = read_at(at("2026-06-01T12:05:01Z")).expect_err("just past the skew");
        assert!(error.starts_with("InvalidEvent: event: `timestamp`"), "{error}");
        assert!(read_at(at("2026-06-01T12:05:00Z")).is_ok(), "the skew itself is allowed");
    }

    /// Any JSON value: nested objects and arrays of strings, numbers, booleans and nulls.
    fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|n| json!(n)),
            ".{0,40}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::btree_map(".{0,12}", inner, 0..8)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    /// A valid event with one field replaced by any JSON value (or left out, or one added).
    fn mutated_event() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let fields = ["type", "product_id", "query_id", "user_id", "session_id", "position", "timestamp", "extra"];
        (proptest::sample::select(fields.to_vec()), proptest::option::of(any_json())).prop_map(|(field, value)| {
            let mut event = json!({
                "type": "click", "product_id": "p1", "query_id": "0195f3c2-1c3a-7b6e-9f00-000000000001",
                "session_id": "s-1", "position": 2, "timestamp": "2025-03-01T10:00:00+01:00",
            });
            match value {
                Some(value) => event[field] = value,
                None => {
                    event.as_object_mut().expect("object").remove(field);
                }
            }
            event
        })
    }

    /// Any JSON, one mutated event, or an array of them.
    fn any_body() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        prop_oneof![
            any_json(),
            mutated_event(),
            proptest::collection::vec(mutated_event(), 0..20).prop_map(Value::Array)
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(2_048))]

        /// Random and mutated bodies: a typed refusal or events, never a panic.
        #[test]
        fn any_body_is_events_or_a_typed_refusal(body in any_body()) {
            match read_events(body, Utc::now()) {
                Ok(events) => proptest::prop_assert!(events.len() <= MAX_EVENTS_PER_REQUEST),
                Err(error) => proptest::prop_assert!(
                    matches!(error.code, ErrorCode::InvalidEvent | ErrorCode::PayloadTooLarge),
                    "{:?}: {}", error.code, error.message
                ),
            }
        }
    }
}
