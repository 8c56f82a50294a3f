"""Rich menus per role and language (DESIGN §7): layout, images, deploy and per-user links.

- `layout.py` — the one description of every menu: tiles, icons, labels, actions;
- `icons.py`, `render.py` — the images, drawn with Pillow and the shipped OFL fonts;
- `deploy.py` — `flask --app bot richmenu deploy|status` against the Messaging API;
- `linking.py` — which menu a user should see, linked when their role or language changes.

Handlers call `relink(ctx)` where a role, language or membership changes.
"""

from bot.richmenu.linking import relink

__all__ = ["relink"]
