"""Accessibility checks of a page in the browser: axe-core's WCAG 2.0/2.1 A and AA rules, and
no sideways scrolling at the page's viewport (WCAG 1.4.10 "Reflow", which axe cannot see).

axe-core comes from npm (``tests/peer/package.json``, installed by ``scripts/setup``). The
pages send a strict Content-Security-Policy (``script-src 'self'`` through ``default-src``), so
a ``<script>`` tag with axe's source would be refused. ``Page.evaluate`` runs the source through
the DevTools protocol instead, which the page's policy does not govern: the page is tested under
its real policy (no ``bypass_csp`` context, which would also hide a policy violation the other
browser tests look for), and nothing is added to the HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from playwright.async_api import Page

AXE_SOURCE = (
    Path(__file__).resolve().parent.parent / "peer" / "node_modules" / "axe-core" / "axe.min.js"
)
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
"""axe's tags for the WCAG 2.0 and 2.1 success criteria of levels A and AA."""
RUN_AXE = """async (tags) => {
  const results = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                           resultTypes: ["violations"]});
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.map(t => String(t)), summary: n.failureSummary})),
  }));
}"""
WIDTHS = """() => {
  const inner = window.innerWidth;
  const scrolls = e => ["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(e).overflowX);
  const contained = e => {
    for (let p = e.parentElement; p && p !== document.body; p = p.parentElement)
      if (scrolls(p)) return true;
    return false;
  };
  const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
    + (typeof e.className === "string" && e.className ? "." + e.className.replace(/ /g, ".") : "");
  const right = e => {  // its box, or the content spilling out of it
    const box = e.getBoundingClientRect();
    return scrolls(e) ? box.right : Math.max(box.right, box.left + e.scrollWidth);
  };
  const past = [...document.querySelectorAll("body *")]
    .filter(e => right(e) > inner + 0.5 && !contained(e));
  const wrappers = past.filter(e => ["MAIN", "HEADER", "FOOTER"].includes(e.tagName));
  const shown = past.length > wrappers.length ? past.filter(e => !wrappers.includes(e)) : past;
  return {scroll: document.documentElement.scrollWidth, inner, widest: shown.slice(0, 5).map(name)};
}"""


class AxeMissing(RuntimeError):
    """axe-core is not installed in tests/peer (``scripts/setup`` runs ``npm ci`` there)."""


@cache
def axe_source() -> str:
    if not AXE_SOURCE.exists():
        raise AxeMissing(f"{AXE_SOURCE} is missing: run scripts/setup (npm ci in tests/peer)")
    return AXE_SOURCE.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Violation:
    """One axe rule broken on a page, with the elements that break it."""

    rule: str
    impact: str
    help: str
    url: str
    targets: list[str]

    def __str__(self) -> str:
        shown = ", ".join(self.targets[:6]) + (" …" if len(self.targets) > 6 else "")
        return f"{self.rule} ({self.impact}): {self.help} [{shown}] {self.url}"


async def axe_violations(page: Page) -> list[Violation]:
    """axe's WCAG 2.0/2.1 A and AA violations on the page as it is now."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(axe_source())  # see the module's docstring: the CSP stays in force
    found: list[dict[str, Any]] = await page.evaluate(RUN_AXE, WCAG_A_AA)
    return [
        Violation(
            v["id"],
            v["impact"] or "",
            v["help"],
            v["helpUrl"],
            [" ".join(n["target"]) for n in v["nodes"]],
        )
        for v in found
    ]


async def sideways_scroll(page: Page) -> str | None:
    """None when the page fits its viewport's width; else how wide it is and the elements that
    stick out (a wide table must scroll inside its own container, not the whole page)."""
    widths: dict[str, Any] = await page.evaluate(WIDTHS)
    if widths["scroll"] <= widths["inner"]:
        return None
    culprits = ", ".join(widths["widest"]) or "?"
    return (
        f"{widths['scroll']} px wide in a {widths['inner']} px viewport (past the edge: {culprits})"
    )


async def problems(page: Page) -> list[str]:
    """Everything wrong with the page, readably; an empty list when it passes."""
    found = [str(v) for v in await axe_violations(page)]
    if overflow := await sideways_scroll(page):
        found.append(f"sideways scrolling: {overflow}")
    return found
