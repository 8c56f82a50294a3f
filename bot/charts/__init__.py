"""Charts for chat and the dashboard, drawn on the server with matplotlib (Agg).

- `render.py` draws figures from plain series (no database, no KPIs);
- `fonts.py` registers the Noto subsets shipped in `fonts/` (Thai, Chinese, Latin);
- `specs.py` names a chart (kind, period, branch, campaign, language, size, as-of
  time) and signs it into an expiring URL, `PUBLIC_BASE_URL/charts/<token>.png`,
  that LINE can fetch for a Flex hero image;
- `build.py` turns a spec into an image: the numbers come from `bot.analytics`,
  the same functions `/stats` and `/campaign show` use, and images are cached.
"""
