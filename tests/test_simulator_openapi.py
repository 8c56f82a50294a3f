"""Tests for simulator.openapi against LINE's real messaging-api.yml."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.openapi import (
    MAX_ERRORS,
    SpecValidator,
    default_spec_path,
    default_validator,
)

USER_ID = "U" + "0" * 32
PUSH = ("POST", "/v2/bot/message/push")
REPLY = ("POST", "/v2/bot/message/reply")
MULTICAST = ("POST", "/v2/bot/message/multicast")


@pytest.fixture(scope="module")
def validator() -> SpecValidator:
    """Parse the real spec once for the whole module."""
    return SpecValidator()


def text(value: str = "hi") -> dict:
    """Build a minimal text message."""
    return {"type": "text", "text": value}


def push(*messages: dict, **extra: object) -> dict:
    """Build a push body to a syntactically valid user ID."""
    return {"to": USER_ID, "messages": list(messages), **extra}


def flex(contents: dict) -> dict:
    """Wrap a Flex container in a Flex message."""
    return {"type": "flex", "altText": "alt", "contents": contents}


def bubble_with_body(*components: dict) -> dict:
    """Build a bubble whose body box holds ``components``."""
    return {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "contents": list(components)},
    }


def schema_prop(validator: SpecValidator, schema: str, prop: str) -> dict:
    """Return a property schema of a component schema, to assert what the spec encodes."""
    return validator.spec["components"]["schemas"][schema]["properties"][prop]


# -- operations ----------------------------------------------------------------------------


def test_find_operation_matches_parameterised_template(validator):
    op = validator.find_operation("GET", "/v2/bot/profile/Uabc")
    assert op is not None
    assert op.template == "/v2/bot/profile/{userId}"
    assert op.operation_id == "getProfile"
    assert op.method == "GET"


def test_find_operation_matches_literal_path(validator):
    op = validator.find_operation("get", "/v2/bot/message/quota")
    assert op is not None
    assert op.operation_id == "getMessageQuota"


def test_find_operation_prefers_literal_segments(validator):
    assert validator.find_operation("GET", "/v2/bot/richmenu/list").template == (
        "/v2/bot/richmenu/list"
    )
    assert validator.find_operation("GET", "/v2/bot/user/all/richmenu").template == (
        "/v2/bot/user/all/richmenu"
    )
    assert validator.find_operation("GET", "/v2/bot/user/U1/richmenu").template == (
        "/v2/bot/user/{userId}/richmenu"
    )


def test_find_operation_ignores_query_string(validator):
    op = validator.find_operation("GET", "/v2/bot/followers/ids?limit=10")
    assert op is not None
    assert op.operation_id == "getFollowers"


def test_find_operation_returns_none_for_unknown_path_or_method(validator):
    assert validator.find_operation("GET", "/nope") is None
    assert validator.find_operation("POST", "/v2/bot/message/quota") is None
    assert validator.find_operation("GET", "/v2/bot/profile/U1/extra") is None


def test_unknown_operation_is_reported(validator):
    assert validator.validate_request("POST", "/x", {}) == ["unknown operation POST /x"]


def test_required_body_missing_fails(validator):
    errors = validator.validate_request(*REPLY, None)
    assert errors == ["body: is required"]


def test_optional_or_absent_body_may_be_none(validator):
    # testWebhookEndpoint declares a JSON body without required: true.
    assert validator.validate_request("POST", "/v2/bot/channel/webhook/test", None) == []
    assert validator.validate_request("GET", "/v2/bot/message/quota", None) == []


def test_binary_body_is_not_validated(validator):
    op = validator.find_operation("POST", "/v2/bot/richmenu/R1/content")
    assert op is not None
    assert op.request_schema is None
    assert validator.validate_request("POST", "/v2/bot/richmenu/R1/content", b"\x89PNG") == []


# -- messages ------------------------------------------------------------------------------


def test_valid_push_passes(validator):
    assert validator.validate_request(*PUSH, push(text())) == []


def test_push_missing_to_fails(validator):
    errors = validator.validate_request(*PUSH, {"messages": [text()]})
    assert errors == ["to: is required"]


def test_null_is_rejected_unless_nullable(validator):
    errors = validator.validate_request(*PUSH, push(text(), notificationDisabled=None))
    assert errors == ["notificationDisabled: expected boolean, got null"]


def test_body_must_be_an_object(validator):
    assert validator.validate_request(*PUSH, [text()]) == ["(root): expected object, got array"]


def test_text_message_without_text_fails(validator):
    errors = validator.validate_request(*PUSH, push({"type": "text"}))
    assert errors == ["messages[0].text: is required"]


def test_text_must_be_a_string(validator):
    errors = validator.validate_request(*PUSH, push(text(), {"type": "text", "text": 5}))
    assert errors == ["messages[1].text: expected string, got integer"]


def test_unknown_message_type_fails(validator):
    errors = validator.validate_request(*PUSH, push({"type": "bogus", "text": "x"}))
    assert len(errors) == 1
    assert errors[0].startswith("messages[0].type: unknown value 'bogus' (expected one of text,")
    assert "flex" in errors[0]


def test_message_without_type_fails(validator):
    errors = validator.validate_request(*PUSH, push({"text": "hi"}))
    assert errors == ["messages[0].type: is required"]


def test_message_limit_follows_spec(validator):
    limit = schema_prop(validator, "PushMessageRequest", "messages")["maxItems"]
    assert limit == 5
    assert validator.validate_request(*PUSH, push(*[text()] * limit)) == []
    errors = validator.validate_request(*PUSH, push(*[text()] * (limit + 1)))
    assert errors == ["messages: at most 5 items"]


def test_empty_messages_fails(validator):
    assert validator.validate_request(*PUSH, push()) == ["messages: at least 1 item"]


def test_reply_requires_reply_token(validator):
    errors = validator.validate_request(*REPLY, {"messages": [text()]})
    assert errors == ["replyToken: is required"]


def test_multicast_recipient_limit_follows_spec(validator):
    limit = schema_prop(validator, "MulticastRequest", "to")["maxItems"]
    assert limit == 500
    body = {"to": [USER_ID] * limit, "messages": [text()]}
    assert validator.validate_request(*MULTICAST, body) == []
    body["to"].append(USER_ID)
    assert validator.validate_request(*MULTICAST, body) == ["to: at most 500 items"]


def test_string_pattern_is_enforced(validator):
    body = {"to": [USER_ID], "messages": [text()], "customAggregationUnits": ["bad-name"]}
    errors = validator.validate_request(*MULTICAST, body)
    assert errors == ["customAggregationUnits[0]: does not match pattern '^[a-zA-Z0-9_]{1,30}$'"]


def test_max_length_counts_characters(validator):
    ok = {**text(), "sender": {"name": "あ" * 20}}
    too_long = {**text(), "sender": {"name": "あ" * 21}}
    assert validator.validate_request(*PUSH, push(ok)) == []
    errors = validator.validate_request(*PUSH, push(too_long))
    assert errors == ["messages[0].sender.name: at most 20 characters"]


def test_sticker_image_and_location_messages(validator):
    messages = [
        {"type": "sticker", "packageId": "446", "stickerId": "1988"},
        {
            "type": "image",
            "originalContentUrl": "https://example.com/a.jpg",
            "previewImageUrl": "https://example.com/p.jpg",
        },
        {"type": "location", "title": "t", "address": "a", "latitude": 35, "longitude": 139.7},
    ]
    assert validator.validate_request(*PUSH, push(*messages)) == []
    broken = {"type": "image", "originalContentUrl": "a.jpg", "previewImageUrl": "https://x/p"}
    errors = validator.validate_request(*PUSH, push(broken))
    assert errors == ["messages[0].originalContentUrl: must be an absolute URI"]


def test_text_v2_substitutions_use_additional_properties_schema(validator):
    message = {
        "type": "textV2",
        "text": "{user} {smile}",
        "substitution": {
            "user": {"type": "mention", "mentionee": {"type": "user"}},
            "smile": {"type": "emoji", "productId": "p"},
        },
    }
    errors = validator.validate_request(*PUSH, push(message))
    assert errors == [
        "messages[0].substitution.user.mentionee.userId: is required",
        "messages[0].substitution.smile.emojiId: is required",
    ]


def test_error_list_is_capped(validator):
    body = {"to": list(range(50)), "messages": [text()]}
    errors = validator.validate_request(*MULTICAST, body)
    assert len(errors) == MAX_ERRORS
    assert errors[0] == "to[0]: expected string, got integer"


# -- flex ----------------------------------------------------------------------------------


def test_valid_flex_bubble_passes(validator):
    bubble = {
        "type": "bubble",
        "hero": {"type": "image", "url": "https://example.com/h.png", "size": "full"},
        "body": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {"type": "text", "text": "Hello", "weight": "bold", "wrap": True},
                {"type": "separator"},
                {
                    "type": "button",
                    "style": "primary",
                    "action": {"type": "postback", "label": "Go", "data": "action=go"},
                },
            ],
        },
    }
    assert validator.validate_request(*PUSH, push(flex(bubble))) == []


def test_valid_flex_carousel_passes(validator):
    carousel = {"type": "carousel", "contents": [bubble_with_body(text("a"))] * 2}
    assert validator.validate_request(*PUSH, push(flex(carousel))) == []


def test_deep_flex_errors_carry_full_path(validator):
    inner = {
        "type": "box",
        "layout": "horizontal",
        "contents": [{"type": "text", "text": "ok"}, {"type": "text", "text": 42}],
    }
    body = push(flex(bubble_with_body({"type": "text", "text": "a"}, inner)))
    errors = validator.validate_request(*PUSH, body)
    assert errors == [
        "messages[0].contents.body.contents[1].contents[1].text: expected string, got integer"
    ]


def test_deep_flex_missing_required_property(validator):
    nested = {"type": "box", "contents": [{"type": "button"}]}
    errors = validator.validate_request(*PUSH, push(flex(bubble_with_body(text(), nested))))
    assert errors == [
        "messages[0].contents.body.contents[1].layout: is required",
        "messages[0].contents.body.contents[1].contents[0].action: is required",
    ]


def test_flex_text_without_text_is_allowed_by_spec(validator):
    # Spec quirk: FlexText declares no required properties, so the simulator cannot object.
    flex_text = validator.spec["components"]["schemas"]["FlexText"]
    assert all("required" not in part for part in [flex_text, *flex_text["allOf"]])
    body = push(flex(bubble_with_body({"type": "text"})))
    assert validator.validate_request(*PUSH, body) == []


def test_unknown_flex_component_type(validator):
    errors = validator.validate_request(*PUSH, push(flex(bubble_with_body({"type": "div"}))))
    assert len(errors) == 1
    assert errors[0].startswith("messages[0].contents.body.contents[0].type: unknown value 'div'")


def test_flex_enum_violation(validator):
    box = {"type": "box", "layout": "diagonal", "contents": []}
    errors = validator.validate_request(*PUSH, push(flex({"type": "bubble", "body": box})))
    assert errors == [
        "messages[0].contents.body.layout: must be one of ['horizontal', 'vertical', 'baseline']"
    ]


def test_carousel_items_must_be_bubbles(validator):
    carousel = {"type": "carousel", "contents": [{"type": "box"}, {}]}
    errors = validator.validate_request(*PUSH, push(flex(carousel)))
    assert errors == [
        "messages[0].contents.contents[0].type: expected 'bubble', got 'box'",
        "messages[0].contents.contents[1].type: is required",
    ]


def test_unknown_flex_container_type(validator):
    errors = validator.validate_request(*PUSH, push(flex({"type": "page"})))
    assert errors == [
        "messages[0].contents.type: unknown value 'page' (expected one of bubble, carousel)"
    ]


# -- actions, quick replies, templates, imagemaps ------------------------------------------


def test_quick_reply_with_unknown_action_type_fails(validator):
    quick_reply = {"items": [{"type": "action", "action": {"type": "teleport", "label": "x"}}]}
    errors = validator.validate_request(*PUSH, push({**text(), "quickReply": quick_reply}))
    assert len(errors) == 1
    assert errors[0].startswith(
        "messages[0].quickReply.items[0].action.type: unknown value 'teleport'"
    )
    assert "postback" in errors[0]


def test_quick_reply_item_limit_follows_spec(validator):
    limit = schema_prop(validator, "QuickReply", "items")["maxItems"]
    assert limit == 13
    item = {"type": "action", "action": {"type": "message", "label": "a", "text": "a"}}
    ok = {**text(), "quickReply": {"items": [item] * limit}}
    assert validator.validate_request(*PUSH, push(ok)) == []
    too_many = {**text(), "quickReply": {"items": [item] * (limit + 1)}}
    errors = validator.validate_request(*PUSH, push(too_many))
    assert errors == ["messages[0].quickReply.items: at most 13 items"]


def test_action_constraints(validator):
    actions = [
        {"type": "postback", "label": "p", "data": "x" * 301},
        {"type": "datetimepicker", "label": "d", "data": "d", "mode": "week"},
        {"type": "clipboard", "label": "c"},
        {"label": "no type"},
    ]
    template = {"type": "buttons", "text": "pick", "actions": actions}
    message = {"type": "template", "altText": "alt", "template": template}
    errors = validator.validate_request(*PUSH, push(message))
    prefix = "messages[0].template.actions"
    assert errors == [
        f"{prefix}[0].data: at most 300 characters",
        f"{prefix}[1].mode: must be one of ['date', 'time', 'datetime']",
        f"{prefix}[2].clipboardText: is required",
        f"{prefix}[3].type: is required",
    ]


def test_unknown_template_type(validator):
    message = {"type": "template", "altText": "alt", "template": {"type": "list"}}
    errors = validator.validate_request(*PUSH, push(message))
    allowed = "buttons, confirm, carousel, image_carousel"
    assert errors == [
        f"messages[0].template.type: unknown value 'list' (expected one of {allowed})"
    ]


def test_imagemap_actions_and_integer_sizes(validator):
    area = {"x": 0, "y": 0, "width": 520, "height": 1040}
    message = {
        "type": "imagemap",
        "baseUrl": "https://example.com/map",
        "altText": "map",
        "baseSize": {"width": 1040, "height": 1040.5},
        "actions": [
            {"type": "uri", "linkUri": "https://example.com", "area": area},
            {"type": "message", "area": area},
        ],
    }
    errors = validator.validate_request(*PUSH, push(message))
    assert errors == [
        "messages[0].baseSize.height: expected integer, got number",
        "messages[0].actions[1].text: is required",
    ]


# -- other operations ----------------------------------------------------------------------


def test_narrowcast_recursive_recipients_and_filters(validator):
    body = {
        "messages": [text()],
        "recipient": {
            "type": "operator",
            "and": [
                {"type": "audience", "audienceGroupId": 1},
                {"type": "operator", "not": {"type": "audience", "audienceGroupId": "x"}},
            ],
        },
        "filter": {"demographic": {"type": "appType", "oneOf": ["ios", "windows"]}},
    }
    errors = validator.validate_request("POST", "/v2/bot/message/narrowcast", body)
    assert errors == [
        "recipient.and[1].not.audienceGroupId: expected integer, got string",
        "filter.demographic.oneOf[1]: must be one of ['ios', 'android']",
    ]


def test_integer_and_range_rules(validator):
    def check(seconds: object) -> list[str]:
        body = {"chatId": USER_ID, "loadingSeconds": seconds}
        return validator.validate_request("POST", "/v2/bot/chat/loading/start", body)

    assert check(20) == []
    assert check(20.0) == []
    assert check(20.5) == ["loadingSeconds: expected integer, got number"]
    assert check(True) == ["loadingSeconds: expected integer, got boolean"]
    assert check(61) == ["loadingSeconds: must be <= 60"]
    assert check(4) == ["loadingSeconds: must be >= 5"]


def test_long_enums_are_abbreviated(validator):
    body = {"messages": [text()], "filter": {"demographic": {"type": "area", "oneOf": ["mars"]}}}
    errors = validator.validate_request("POST", "/v2/bot/message/narrowcast", body)
    assert len(errors) == 1
    assert errors[0].startswith("filter.demographic.oneOf[0]: must be one of ['jp_01', ")
    assert errors[0].endswith(", ...]")


# -- validate_schema -----------------------------------------------------------------------


def test_validate_schema_by_name(validator):
    assert validator.validate_schema("Action", {"type": "uri", "uri": "https://x.test"}) == []
    assert validator.validate_schema("TextMessage", {"type": "text"}) == ["text: is required"]


def test_validate_schema_checks_tag_of_concrete_subtype(validator):
    errors = validator.validate_schema("TextMessage", {"type": "image", "text": "x"})
    assert errors == ["type: expected 'text', got 'image'"]


def test_validate_schema_unknown_name_raises(validator):
    with pytest.raises(KeyError):
        validator.validate_schema("NoSuchSchema", {})


# -- loading -------------------------------------------------------------------------------


def test_default_validator_is_cached():
    first = default_validator()
    assert first is default_validator()
    assert first.find_operation(*PUSH) is not None


def test_default_spec_path_points_at_shared_spec(monkeypatch):
    monkeypatch.delenv("LINE_OPENAPI_DIR", raising=False)
    path = default_spec_path()
    assert path.parts[-3:] == ("shared", "line-openapi", "messaging-api.yml")
    assert path.is_file()


def test_spec_dir_can_be_overridden(monkeypatch, tmp_path):
    monkeypatch.setenv("LINE_OPENAPI_DIR", str(tmp_path))
    assert default_spec_path() == tmp_path / "messaging-api.yml"


MINI_SPEC = """
openapi: 3.0.0
paths:
  /things/{id}:
    put:
      operationId: putThing
      requestBody:
        required: true
        content:
          application/json:
            schema:
              $ref: "#/components/schemas/Thing"
components:
  schemas:
    Thing:
      type: object
      additionalProperties: false
      properties:
        note: {type: string, nullable: true}
        score: {type: number, minimum: 0, exclusiveMinimum: true}
        either: {oneOf: [{type: string}, {type: integer}]}
        any: {anyOf: [{type: string, maxLength: 1}, {type: boolean}]}
        pet: {$ref: "#/components/schemas/Pet"}
    Pet:
      type: object
      required: [kind]
      properties: {kind: {type: string}}
      discriminator: {propertyName: kind}
    Cat:
      allOf:
        - $ref: "#/components/schemas/Pet"
        - {type: object, required: [lives], properties: {lives: {type: integer}}}
"""


@pytest.fixture
def mini(tmp_path: Path) -> SpecValidator:
    """A tiny spec exercising keywords messaging-api.yml does not use."""
    spec = tmp_path / "messaging-api.yml"
    spec.write_text(MINI_SPEC)
    return SpecValidator(spec)


def test_generic_keywords_on_mini_spec(mini):
    def check(body: dict) -> list[str]:
        return mini.validate_request("PUT", "/things/1", body)

    assert check({"note": None, "score": 0.5, "either": 3, "any": True}) == []
    assert check({"extra": 1}) == ["extra: unexpected property"]
    assert check({"score": 0}) == ["score: must be > 0"]
    assert check({"either": 1.5}) == ["either: does not match any allowed schema (oneOf)"]
    assert check({"any": "long"}) == ["any: does not match any allowed schema (anyOf)"]


def test_implicit_discriminator_mapping_on_mini_spec(mini):
    def check(pet: dict) -> list[str]:
        return mini.validate_request("PUT", "/things/1", {"pet": pet})

    assert check({"kind": "Cat", "lives": 9}) == []
    assert check({"kind": "Cat"}) == ["pet.lives: is required"]
    assert check({"kind": "Dog"}) == ["pet.kind: unknown value 'Dog'"]
