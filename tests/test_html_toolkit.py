"""The toolkit's one way to write HTML: autoescaped templates, the shared filters, package data."""

from __future__ import annotations

import jinja2
import pytest

from pindah.adapters.toolkit import html
from pindah.adapters.toolkit.html import environment, render, rich_text, short, stylesheet

EVIL = '<script>alert("x")</script>'


def test_every_value_is_escaped_in_every_template() -> None:
    assert environment().autoescape is True or environment().autoescape("anything.txt")
    page = render("base.html", lang='en"><script>', title=EVIL, product="site")
    assert "<script" not in page and "&lt;script&gt;" in page


def test_a_misspelt_name_in_a_template_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(jinja2.UndefinedError):
        render("base.html", lang="en", product="site")  # no title


def test_each_product_has_its_own_stylesheet_inlined_untouched() -> None:
    for product in ("site", "report", "kit"):
        css = stylesheet(product)
        assert "color-scheme:light dark" in css and "&gt;" not in css
        assert str(css) in render("base.html", lang="en", title="t", product=product)
    assert stylesheet("report") != stylesheet("site") != stylesheet("kit")


def test_rich_text_links_only_web_addresses_and_escapes_the_rest() -> None:
    out = rich_text(f"{EVIL} see https://example.com/a?b=1&c=2. javascript:alert(1) #ink @sekar")
    assert "<script" not in out
    assert '<a href="https://example.com/a?b=1&amp;c=2" rel="noopener">https://example.com/a?b=1&amp;c=2</a>.' in out
    assert 'href="javascript' not in out
    assert '<span class="tag">#ink</span>' in out and '<span class="mention">@sekar</span>' in out


def test_short_never_cuts_an_emoji_in_half() -> None:
    artist = "👩\u200d🎨"  # one user-perceived character, three code points
    assert short(artist * 10, 4) == artist * 3 + "…"
    assert short("  two\n lines  ", 20) == "two lines"
    assert short("abcdef", 6) == "abcdef"


def test_templates_come_from_the_package_so_a_regular_install_has_them() -> None:
    loader = environment().loader
    assert isinstance(loader, jinja2.PackageLoader) and loader.package_name == "pindah.adapters.toolkit"
    names = set(loader.list_templates())
    assert {"base.html", "site_post.html", "site_index.html", "report.html", "kit.html", "kit.js"} <= names
    assert html.__name__ == "pindah.adapters.toolkit.html"
