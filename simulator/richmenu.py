"""Rich menus as LINE keeps them: menus, images, aliases, the default and per-user links.

The OpenAPI file only types the rich menu object; LINE enforces more (DESIGN §7):
every property is required, the menu is 800–2500 px wide, at least 250 px high and
at least 1.45 times as wide as high, has at most 20 areas that lie inside it, the
image is a JPEG or PNG of at most 1 MB with exactly the menu's size and can be
uploaded once, a menu is shown only once it has an image, and bulk calls take at
most 500 users. Those rules live here; the platform validates the JSON first.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass, field

from PIL import Image, UnidentifiedImageError

from simulator import limits

MIN_WIDTH, MAX_WIDTH, MIN_HEIGHT = 800, 2500, 250
MIN_ASPECT = 1.45
MAX_AREAS = 20
MAX_IMAGE_BYTES = 1024 * 1024
MAX_MENUS = 1000
MAX_ALIASES = 1000
MAX_BULK_USERS = 500
MAX_ACTION_LABEL = 20
MAX_MESSAGE_TEXT = 300
MAX_URI = 1000
IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG"}
REQUIRED = ("size", "selected", "name", "chatBarText", "areas")
NOT_FOUND = {"message": "Not found"}

# Endpoint names (used for faults, latency, the request log) -> what they do.
ENDPOINTS = (
    "richmenu_create",
    "richmenu_validate",
    "richmenu_get",
    "richmenu_delete",
    "richmenu_list",
    "richmenu_image_upload",
    "richmenu_image_download",
    "richmenu_default_set",
    "richmenu_default_get",
    "richmenu_default_cancel",
    "richmenu_alias_create",
    "richmenu_alias_get",
    "richmenu_alias_update",
    "richmenu_alias_delete",
    "richmenu_alias_list",
    "richmenu_user_get",
    "richmenu_user_link",
    "richmenu_user_unlink",
    "richmenu_bulk_link",
    "richmenu_bulk_unlink",
)
# POSTs that carry no JSON body (path parameters only) or raw image bytes.
NO_JSON_BODY = ("richmenu_user_link", "richmenu_default_set", "richmenu_image_upload")


@dataclass
class Answer:
    """Status, JSON body (or raw bytes with their content type)."""

    status: int
    body: dict = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str | None = None


@dataclass
class MenuImage:
    data: bytes
    content_type: str


class RichMenus:
    """One channel's rich menus; callers hold the platform's lock."""

    def __init__(self):
        self.menus: dict[str, dict] = {}
        self.images: dict[str, MenuImage] = {}
        self.aliases: dict[str, str] = {}
        self.default: str | None = None
        self.links: dict[str, str] = {}
        # What a user's LINE app shows after a richmenuswitch tap (client side: the
        # link the bot set is unchanged, but the next link or unlink replaces it).
        self.switched: dict[str, str] = {}

    # -- what a user sees ----------------------------------------------------------------

    def shown_to(self, user_id: str) -> dict | None:
        """The menu a user's chat shows: switched-to, else linked, else the default."""
        for menu_id in (self.switched.get(user_id), self.links.get(user_id), self.default):
            if menu_id and menu_id in self.menus and menu_id in self.images:
                return self.menus[menu_id]
        return None

    def switch(self, user_id: str, alias_id: str) -> str | None:
        """A richmenuswitch tap: show the aliased menu; None when the alias is unknown."""
        menu_id = self.aliases.get(alias_id)
        if menu_id is None or menu_id not in self.images:
            return None
        self.switched[user_id] = menu_id
        return menu_id

    # -- the API -----------------------------------------------------------------------

    def handle(self, endpoint: str, path: str, headers: dict, body) -> Answer:
        """Run one rich menu endpoint; `body` is JSON, or raw bytes for an image upload."""
        action = getattr(self, f"_{endpoint.removeprefix('richmenu_')}")
        return action(_segments(path), headers, body)

    def _create(self, parts, headers, body) -> Answer:
        errors = check_menu(body)
        if errors:
            return invalid(errors)
        if len(self.menus) >= MAX_MENUS:
            return Answer(400, {"message": f"A channel can have at most {MAX_MENUS} rich menus"})
        menu_id = "richmenu-" + secrets.token_hex(16)
        self.menus[menu_id] = {"richMenuId": menu_id, **{key: body[key] for key in REQUIRED}}
        return Answer(200, {"richMenuId": menu_id})

    def _validate(self, parts, headers, body) -> Answer:
        errors = check_menu(body)
        return invalid(errors) if errors else Answer(200)

    def _get(self, parts, headers, body) -> Answer:
        menu = self.menus.get(parts[3])
        return Answer(200, menu) if menu else Answer(404, NOT_FOUND)

    def _delete(self, parts, headers, body) -> Answer:
        menu_id = parts[3]
        if self.menus.pop(menu_id, None) is None:
            return Answer(404, NOT_FOUND)
        self.images.pop(menu_id, None)
        if self.default == menu_id:
            self.default = None
        for mapping in (self.links, self.switched, self.aliases):
            for key in [k for k, v in mapping.items() if v == menu_id]:
                del mapping[key]
        return Answer(200)

    def _list(self, parts, headers, body) -> Answer:
        return Answer(200, {"richmenus": list(self.menus.values())})

    def _image_upload(self, parts, headers, body) -> Answer:
        menu_id = parts[3]
        menu = self.menus.get(menu_id)
        if menu is None:
            return Answer(404, NOT_FOUND)
        content_type = (_header(headers, "content-type") or "").split(";")[0].strip().lower()
        if content_type not in IMAGE_TYPES:
            return Answer(415, {"message": "Unsupported Media Type: use image/jpeg or image/png"})
        if len(body) > MAX_IMAGE_BYTES:
            return Answer(413, {"message": f"The image is larger than {MAX_IMAGE_BYTES} bytes"})
        if menu_id in self.images:
            return Answer(400, {"message": "An image has already been uploaded to the richmenu"})
        errors = check_image(body, content_type, menu["size"])
        if errors:
            return invalid(errors, "The image does not fit the rich menu")
        self.images[menu_id] = MenuImage(bytes(body), content_type)
        return Answer(200)

    def _image_download(self, parts, headers, body) -> Answer:
        image = self.images.get(parts[3])
        if image is None:
            return Answer(404, NOT_FOUND)
        return Answer(200, raw=image.data, content_type=image.content_type)

    def _default_set(self, parts, headers, body) -> Answer:
        menu_id = parts[5]
        problem = self._unusable(menu_id)
        if problem:
            return problem
        self.default = menu_id
        return Answer(200)

    def _default_get(self, parts, headers, body) -> Answer:
        if self.default is None:
            return Answer(404, {"message": "no default richmenu"})
        return Answer(200, {"richMenuId": self.default})

    def _default_cancel(self, parts, headers, body) -> Answer:
        self.default = None
        return Answer(200)

    def _alias_create(self, parts, headers, body) -> Answer:
        alias_id, menu_id = body.get("richMenuAliasId"), body.get("richMenuId")
        if alias_id in self.aliases:
            return Answer(400, {"message": "conflict richmenu alias id"})
        if len(self.aliases) >= MAX_ALIASES:
            return Answer(400, {"message": f"A channel can have at most {MAX_ALIASES} aliases"})
        problem = self._unusable(menu_id, status=400, target="alias")
        if problem:
            return problem
        self.aliases[alias_id] = menu_id
        return Answer(200)

    def _alias_get(self, parts, headers, body) -> Answer:
        menu_id = self.aliases.get(parts[4])
        if menu_id is None:
            return Answer(404, NOT_FOUND)
        return Answer(200, {"richMenuAliasId": parts[4], "richMenuId": menu_id})

    def _alias_update(self, parts, headers, body) -> Answer:
        if parts[4] not in self.aliases:
            return Answer(404, NOT_FOUND)
        problem = self._unusable(body.get("richMenuId"), status=400, target="alias")
        if problem:
            return problem
        self.aliases[parts[4]] = body["richMenuId"]
        return Answer(200)

    def _alias_delete(self, parts, headers, body) -> Answer:
        if self.aliases.pop(parts[4], None) is None:
            return Answer(404, NOT_FOUND)
        return Answer(200)

    def _alias_list(self, parts, headers, body) -> Answer:
        aliases = [{"richMenuAliasId": a, "richMenuId": m} for a, m in self.aliases.items()]
        return Answer(200, {"aliases": aliases})

    def _user_get(self, parts, headers, body) -> Answer:
        errors = limits.check_user_id("userId", parts[3])
        if errors:
            return invalid(errors)
        menu_id = self.links.get(parts[3])
        if menu_id is None:
            return Answer(404, {"message": "the user has no richmenu"})
        return Answer(200, {"richMenuId": menu_id})

    def _user_link(self, parts, headers, body) -> Answer:
        user_id, menu_id = parts[3], parts[5]
        errors = limits.check_user_id("userId", user_id)
        if errors:
            return invalid(errors)
        problem = self._unusable(menu_id)
        if problem:
            return problem
        self.links[user_id] = menu_id
        self.switched.pop(user_id, None)
        return Answer(200)

    def _user_unlink(self, parts, headers, body) -> Answer:
        errors = limits.check_user_id("userId", parts[3])
        if errors:
            return invalid(errors)
        self.links.pop(parts[3], None)
        self.switched.pop(parts[3], None)
        return Answer(200)

    def _bulk_link(self, parts, headers, body) -> Answer:
        errors = limits.check_recipients(body.get("userIds") or [], "userIds")
        if errors:
            return invalid(errors)
        problem = self._unusable(body.get("richMenuId"))
        if problem:
            return problem
        for user_id in body["userIds"]:
            self.links[user_id] = body["richMenuId"]
            self.switched.pop(user_id, None)
        return Answer(202)

    def _bulk_unlink(self, parts, headers, body) -> Answer:
        errors = limits.check_recipients(body.get("userIds") or [], "userIds")
        if errors:
            return invalid(errors)
        for user_id in body["userIds"]:
            self.links.pop(user_id, None)
            self.switched.pop(user_id, None)
        return Answer(202)

    def _unusable(self, menu_id: str, status: int = 404, target: str = "user") -> Answer | None:
        """Why a menu cannot be shown yet (missing, or no image), else None."""
        if menu_id not in self.menus:
            return Answer(status, {"message": "richmenu not found"} if status == 400 else NOT_FOUND)
        if menu_id not in self.images:
            message = f"must upload richmenu image before applying it to {target}"
            return Answer(400, {"message": message})
        return None


# -- LINE's rules beyond the OpenAPI types -----------------------------------------------------


def check_menu(menu: dict) -> list[str]:
    """Errors for a rich menu object; empty when LINE would accept it."""
    errors = [f"{key}: is required" for key in REQUIRED if key not in menu]
    size = menu.get("size") or {}
    width, height = size.get("width"), size.get("height")
    if "size" in menu:
        errors += _check_size(width, height)
    areas = menu.get("areas") or []
    if len(areas) > MAX_AREAS:
        errors.append(f"areas: at most {MAX_AREAS} areas")
    for index, area in enumerate(areas):
        errors += _check_area(f"areas[{index}]", area, width, height)
    return errors


def _check_size(width, height) -> list[str]:
    if not isinstance(width, int) or not isinstance(height, int):
        return ["size: width and height are required"]
    errors = []
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        errors.append(f"size.width: must be {MIN_WIDTH} to {MAX_WIDTH} pixels")
    if height < MIN_HEIGHT:
        errors.append(f"size.height: must be at least {MIN_HEIGHT} pixels")
    if height > 0 and width / height < MIN_ASPECT:
        errors.append(f"size: width / height must be at least {MIN_ASPECT}")
    return errors


def _check_area(path: str, area: dict, width, height) -> list[str]:
    bounds, action = area.get("bounds"), area.get("action")
    errors = [f"{path}.{key}: is required" for key in ("bounds", "action") if not area.get(key)]
    if bounds:
        missing = [k for k in ("x", "y", "width", "height") if not isinstance(bounds.get(k), int)]
        if missing:
            errors.append(f"{path}.bounds: {', '.join(missing)} required")
        elif (
            isinstance(width, int)
            and isinstance(height, int)
            and (bounds["x"] + bounds["width"] > width or bounds["y"] + bounds["height"] > height)
        ):
            errors.append(f"{path}.bounds: the area must lie inside the {width}x{height} menu")
    if action:
        errors += check_action(f"{path}.action", action)
    return errors


def check_action(path: str, action: dict) -> list[str]:
    """The properties LINE requires of each action type (the spec marks none required)."""
    kind = action.get("type")
    need = {
        "message": ("text",),
        "postback": ("data",),
        "uri": ("uri",),
        "datetimepicker": ("data", "mode"),
        "richmenuswitch": ("richMenuAliasId", "data"),
        "clipboard": ("clipboardText",),
    }.get(kind, ())
    errors = [f"{path}.{key}: is required" for key in need if not action.get(key)]
    if len(action.get("label") or "") > MAX_ACTION_LABEL:
        errors.append(f"{path}.label: at most {MAX_ACTION_LABEL} characters")
    if kind == "message" and len(action.get("text") or "") > MAX_MESSAGE_TEXT:
        errors.append(f"{path}.text: at most {MAX_MESSAGE_TEXT} characters")
    if kind == "uri" and len(action.get("uri") or "") > MAX_URI:
        errors.append(f"{path}.uri: at most {MAX_URI} characters")
    return errors


def check_image(data: bytes, content_type: str, size: dict) -> list[str]:
    """The bytes must be the JPEG or PNG they claim to be, exactly the menu's size."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, (width, height) = image.format, image.size
    except (UnidentifiedImageError, OSError):
        return ["body: not a JPEG or PNG image"]
    errors = []
    if kind != IMAGE_TYPES[content_type]:
        errors.append(f"body: the image is {kind}, but Content-Type says {content_type}")
    if (width, height) != (size["width"], size["height"]):
        errors.append(
            f"body: the image is {width}x{height}; the rich menu is "
            f"{size['width']}x{size['height']}"
        )
    return errors


def invalid(errors: list[str], message: str | None = None) -> Answer:
    """LINE's 400 shape: a message and one detail per problem (property + message)."""
    details = []
    for error in errors[:20]:
        prop, _, text = error.partition(": ")
        details.append({"message": text or error, "property": prop if text else ""})
    message = message or f"The request body has {len(errors)} error(s)"
    return Answer(400, {"message": message, "details": details})


def _segments(path: str) -> list[str]:
    """`/v2/bot/richmenu/<id>` -> ["v2", "bot", "richmenu", "<id>"]."""
    return path.split("?", 1)[0].strip("/").split("/")


def _header(headers: dict, name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None
