"""``gitreg site``: the registry as a static web site (``site.build``),
from one git history walk (``site.trail``), pages rendered as plain HTML
with server-drawn SVG charts (``site.pages``, ``site.charts``), and a
local preview server (``site.serve``)."""
