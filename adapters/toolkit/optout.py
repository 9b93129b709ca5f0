"""The web's AI-training opt-out signals, as files beside a published site or kit.

See /work/shared/reference/cara-and-ai-optout.md, §3: `robots.txt` names the training
crawlers, Spawning's `ai.txt` speaks to dataset tools, TDMRep's `.well-known/tdmrep.json`
reserves text-and-data-mining rights, and `_headers`/`.htaccess` repeat it as HTTP headers.
Every page also carries the meta tags (the base template writes them).
"""

from __future__ import annotations

import json
from pathlib import Path

from .files import write_if_changed

# Training crawlers by the names their vendors document. Search and user-fetch agents
# (OAI-SearchBot, ChatGPT-User, Claude-User) are left alone: they send visitors, not training.
AI_CRAWLERS = (
    "GPTBot", "ClaudeBot", "anthropic-ai", "Google-Extended", "Applebot-Extended", "CCBot",
    "Meta-ExternalAgent", "FacebookBot", "Bytespider", "PerplexityBot", "cohere-ai", "Diffbot",
    "Amazonbot",
)


def robots_txt() -> str:
    agents = "\n".join(f"User-agent: {name}" for name in AI_CRAWLERS)
    return (
        "# The work on this site belongs to the artist. It may not be used to train AI.\n"
        "# Every page also says so with <meta name=\"robots\" content=\"noai, noimageai\">;\n"
        "# see also /ai.txt and /.well-known/tdmrep.json.\n\n"
        f"{agents}\nDisallow: /\n\n"
        "# Everyone else (search engines, people's browsers) is welcome.\n"
        "User-agent: *\n"
        "Content-Usage: train-ai=n\n"  # IETF AIPREF draft vocabulary; unknown lines are ignored
        "Allow: /\n"
    )


# Spawning's ai.txt: robots.txt syntax, read when a dataset tool *downloads* a file.
# The per-extension lines repeat `Disallow: /` in the form Spawning's own generator writes,
# for tools that match a downloaded file's type rather than its path.
_AI_TXT_TYPES = ("jpg", "jpeg", "png", "webp", "gif", "mp4", "webm", "mov", "html", "json")
AI_TXT = (
    "# Spawning AI\n# This artist does not allow their work to be used for AI training.\n\n"
    "User-Agent: *\nDisallow: /\n" + "".join(f"Disallow: *.{ext}\n" for ext in _AI_TXT_TYPES)
)


def tdmrep_json() -> str:
    # tdm-policy needs an absolute URL we don't know; reservation alone is a complete statement.
    return json.dumps([{"location": "/", "tdm-reservation": 1}], indent=2) + "\n"


def render_headers_files() -> dict[str, str]:
    """The HTTP header version of the signals, which is what img2dataset actually checks.

    `_headers` is read by Netlify and Cloudflare Pages, `.htaccess` by Apache (guarded, so a
    server without mod_headers doesn't answer 500). `.nojekyll` stops GitHub Pages from
    dropping `.well-known/`, as Jekyll skips dot-folders.
    """
    return {
        "_headers": "/*\n  X-Robots-Tag: noai, noimageai\n  tdm-reservation: 1\n",
        ".htaccess": '<IfModule mod_headers.c>\n  Header set X-Robots-Tag "noai, noimageai"\n'
                     '  Header set tdm-reservation "1"\n</IfModule>\n',
        ".nojekyll": "",
    }


def write_optout_files(folder: Path, *, headers: bool) -> None:
    """robots.txt, ai.txt and .well-known/tdmrep.json (plus the header files if `headers`)."""
    write_if_changed(folder / "robots.txt", robots_txt())
    write_if_changed(folder / "ai.txt", AI_TXT)
    write_if_changed(folder / ".well-known" / "tdmrep.json", tdmrep_json())
    if headers:
        for name, text in render_headers_files().items():
            write_if_changed(folder / name, text)
