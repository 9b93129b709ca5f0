"""The Cara kit's index.html: the page an artist keeps open beside cara.app.

One card per Cara post, oldest first: its pictures, title, caption, tags and image
descriptions, each with a copy button, the folder to pick the files from, its state (to do,
posted with its link, skipped) and the command that marks it. Above, the progress and a link
to the next post to do; below, the AI-training switches no file can carry, platform by
platform, and what the files themselves carry.

Self-contained: inline CSS, a few lines of inline JavaScript for the copy buttons (without
JavaScript the buttons stay hidden and every text is plain, selectable text), pictures linked
from the kit's own folders, nothing from the network. The page carries the web's opt-out
signals like the folder site's pages (meta robots `noai, noimageai`, TDMRep). Every piece of
text is escaped: captions and alt texts are user input.
"""

from __future__ import annotations

import shlex
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .contract import Capabilities
from .cara_kit import CHECKLIST, KitPost
from .folder import OPTOUT_META, esc, human_date, rich_text

_STATE_WORDS = {"pending": "To do", "posted": "Posted", "skipped": "Skipped", "failed": "Not ready"}


def render_kit_page(posts: list[KitPost], marks: dict[str, Any], *, kit: Path, caps: Capabilities) -> str:
    states = [getattr(marks.get(p.key), "state", "pending") for p in posts]
    counts = Counter(states)
    todo = next((p for p, s in zip(posts, states, strict=True) if s == "pending"), None)
    target = f"cara:{kit}"
    cards = "".join(_card(post, marks.get(post.key), n, len(posts), kit=kit, target=target, caps=caps)
                    for n, post in enumerate(posts, start=1))
    done = counts["posted"] + counts["skipped"]
    percent = round(100 * done / len(posts)) if posts else 0
    ig_posts = len({p.post_id for p in posts})
    sub = (f"{len(posts)} Cara post{'s' if len(posts) != 1 else ''} from {ig_posts} Instagram "
           f"post{'s' if ig_posts != 1 else ''}" if posts else "No posts yet")
    next_link = (f'<a class="next" href="#{esc(todo.folder)}">Next to do: {esc(todo.date)} →</a>' if todo else
                 '<p class="alldone">Everything is on Cara or skipped. Well done.</p>' if posts else "")
    failed = f" · <strong>{counts['failed']}</strong> not ready" if counts["failed"] else ""
    filters = "".join(
        f'<input type="radio" name="show" id="show-{key}" class="sr"{" checked" if key == "todo" else ""}>'
        f'<label for="show-{key}">{label} <span>{number}</span></label>'
        for key, label, number in (("todo", "To do", counts["pending"] + counts["failed"]),
                                   ("posted", "Posted", counts["posted"]), ("skipped", "Skipped", counts["skipped"]),
                                   ("all", "All", len(posts))))
    body = f"""<header class="hero"><div class="wrap">
<p class="kicker">pindah · upload kit for Cara</p>
<h1>Your posts, ready for Cara</h1>
<p class="sub">{esc(sub)} · folder <code>{esc(kit)}</code></p>
<p class="jump"><a href="#howto">How to work through it</a> · <a href="#switches">AI switches, platform by
platform</a> · <a href="#infiles">What is inside every file</a></p>
</div></header>
<div class="bar"><div class="wrap bar-in">
<div class="progress" role="img" aria-label="{percent}% done"><div style="width:{percent}%"></div></div>
<p class="counts"><strong>{counts['posted']}</strong> posted · <strong>{counts['skipped']}</strong> skipped ·
<strong>{counts['pending']}</strong> to do{failed}</p>
{next_link}
</div></div>
<main id="main" class="wrap">
{_howto(target, kit, caps, first_visit=done == 0)}
<section class="list" aria-label="Posts">
<div class="filters" role="group" aria-label="Show">{filters}</div>
<ol class="cards">
{cards or '<li class="empty">Nothing here yet: run <code>pindah migrate EXPORT --to ' + esc(target) + '</code>.</li>'}
</ol>
</section>
{_switches()}
{_in_files()}
</main>
<footer class="wrap foot"><p>Made by pindah. The work shown here may not be used to train AI; this page
says so to machines too (noai, TDMRep), and so does every image file.</p></footer>
"""
    return _shell(body)


def _card(post: KitPost, mark: Any, number: int, total: int, *, kit: Path, target: str, caps: Capabilities) -> str:
    state = getattr(mark, "state", "pending")
    pending = state in ("pending", "failed")
    fid = esc(post.folder)
    where = f"posts/{quote(post.folder)}/"
    when = human_date(datetime.fromisoformat(post.taken_at.replace("Z", "+00:00")))
    head = [f'<span class="num">{number} / {total}</span>',
            f'<time datetime="{esc(post.taken_at)}">{esc(when)}</time>']
    if post.parts > 1:
        head.append(f'<span class="part">Part {post.part} of {post.parts}</span>')
    if post.images:
        head.append('<span class="shield">No-AI notice in files</span>' if all(i.data_mining for i in post.images)
                    else '<span class="shield off">No AI notice in some files</span>')
    head.append(f'<span class="state s-{esc(state)}">{_STATE_WORDS.get(state, esc(state))}</span>')
    if state == "posted" and getattr(mark, "url", None):
        head.append(f'<a class="cara" href="{esc(mark.url)}" rel="noopener">View on Cara</a>')
    elif state == "failed" and getattr(mark, "reason", None):
        head.append(f'<span class="why">{esc(mark.reason)}</span>')

    thumbs = "".join(
        f'<a href="{where}{quote(i.file)}" title="{esc(i.file)}"><img src="{where}{quote(i.file)}" '
        f'alt="{esc(i.alt or "Image " + i.file)}" loading="lazy" decoding="async"'
        + (f' width="{i.width}" height="{i.height}"' if i.width and i.height else "") + "></a>"
        for i in post.images) or '<p class="noimg">Text only</p>'
    fields = [
        _field("Title", f"t-{fid}", "Copy title", f'<p class="title" id="t-{fid}" dir="auto">{esc(post.title)}</p>'),
        _field(f"Caption <small>{len(post.caption):,} of {caps.max_text or len(post.caption):,} characters</small>",
               f"c-{fid}", "Copy caption",
               f'<div class="caption" id="c-{fid}" dir="auto">{rich_text(post.caption)}</div>'),
    ]
    if post.tags:
        fields.append(_field("Tags", f"g-{fid}", "Copy tags",
                             f'<p class="tags" id="g-{fid}">{esc(", ".join(post.tags))}</p>'))
    if post.images:
        alts = "".join(_field(esc(i.file), f"a-{fid}-{n}" if i.alt else None, "Copy",
                              f'<p id="a-{fid}-{n}" dir="auto">{esc(i.alt)}</p>' if i.alt else
                              '<p class="missing">No description yet: write one on Cara, it is how blind '
                              "visitors see your work.</p>", css="alt")
                       for n, i in enumerate(post.images))
        fields.append(f'<details class="field"><summary class="label">Image descriptions ({len(post.images)})'
                      f"</summary>{alts}</details>")
    folder_path = esc(str(kit / "posts" / post.folder))
    fields.append(_field("Files", f"f-{fid}", "Copy folder path", f'<p class="path"><code id="f-{fid}">'
                         f'{folder_path}</code> <a href="{where}">open folder</a></p>'))
    # Marked already: the way back, should the mark be wrong.
    command = f"pindah mark-posted --to {shlex.quote(target)}{'' if pending else ' --undo'} {shlex.quote(post.folder)}"
    hint = "<p class=\"hint\">Add the post's link after it, if you like.</p>" if pending else ""
    fields.append(_field("Once it is on Cara" if pending else "Marked by mistake?", f"m-{fid}", "Copy command",
                         f'<p><code id="m-{fid}">{esc(command)}</code></p>{hint}', css="done"))
    return (f'<li class="card c-{esc(state)}" id="{fid}">\n<div class="head">{"".join(head)}</div>\n'
            f'<div class="body">\n<div class="thumbs n{min(len(post.images), 4)}">{thumbs}</div>\n'
            f'<div class="fields">\n{"".join(fields)}</div></div></li>\n')


def _field(label: str, copy_id: str | None, copy_label: str, content: str, *, css: str = "field") -> str:
    """A labelled block; its copy button copies the element `copy_id` (label is trusted HTML)."""
    button = _copy(copy_id, copy_label) if copy_id else ""
    classes = "field" if css == "field" else f"field {css}"
    return f'<div class="{classes}"><div class="label">{label}{button}</div>{content}</div>\n'


def _copy(target_id: str, label: str) -> str:
    return f'<button type="button" class="copy" data-copy="{target_id}" hidden>{esc(label)}</button>'


def _howto(target: str, kit: Path, caps: Capabilities, *, first_visit: bool) -> str:
    """The steps; folded away once the artist has marked a post (they know them by then)."""
    checklist = esc(str(kit / CHECKLIST))
    return f"""<details class="howto" id="howto"{" open" if first_visit else ""}>
<summary><h2>How to work through it</h2></summary>
<ol>
<li>Keep this page open beside <a href="https://cara.app" rel="noopener">cara.app</a>. Posts are oldest first,
so your Cara profile tells your story in the same order.</li>
<li>On Cara, start a new post. Add the pictures from the post's folder: <em>Copy folder path</em>, then paste
it into the file picker (Windows: into “File name”; Mac: press ⇧⌘G first; Linux: just paste). Keep the
order of the numbers: it is the order they had on Instagram.</li>
<li>Copy the caption (and the title, if you add the post to your portfolio). A post with more than
{caps.max_media_per_post} pictures is split into numbered parts, posted one after another.</li>
<li>Want Cara to Glaze it? Switch <strong>Glaze</strong> on in Cara's composer before you post (see below).</li>
<li>Once it is up, tell pindah: <em>Copy command</em> and run it (add the post's link if you like). Or tick
posts off in <code>{checklist}</code> (status <code>posted</code> or <code>skipped</code>, the link in
<code>cara_url</code>) and run <code>pindah mark-posted --to {esc(shlex.quote(target))} --checklist</code>.</li>
</ol>
<p class="note">Run <code>pindah migrate</code> again at any time: it refreshes the posts still to do and
never touches one you marked. <code>pindah status</code> shows how far you are.</p>
</details>"""


# Plain words on what an artist can switch on, where no file can say it for them.
# Sources: /work/shared/reference/cara-and-ai-optout.md §1.2, §2, §3.8 and §5.
_PLATFORMS = (
    ("Cara", "Cara says it marks every page “NoAI” for crawlers and does not allow AI-generated images. "
             "It can also <strong>Glaze</strong> your picture for you: switch Glaze on in the composer "
             "when you post (it runs in a queue and Cara tells you when it is done). It is a choice per post, "
             "so no file can make it for you. Pictures you glazed yourself: list them under "
             "<code>protected</code> in pindah's settings, and pindah never re-encodes them."),
    ("Bluesky", "There is no switch yet. Bluesky's app shows people a re-encoded copy without the rights "
                "inside your file, while the original stays in your account's public data. A setting to "
                "refuse AI training has been proposed but is not in the app. Put a rights line in your "
                "profile description."),
    ("Mastodon", "Your instance decides. Mastodon re-encodes every upload and keeps only its colours, so "
                 "the rights inside the file are gone; what protects you is your instance's robots.txt "
                 "(Mastodon's own blocks the main AI crawlers) and its rules. Choose an instance that bans "
                 "scraping, and turn on “opt out of search engine indexing” in your profile settings if you "
                 "want less reach for bots."),
    ("Tumblr", "Tumblr may share your posts with AI companies it has deals with, unless you switch on "
               "<strong>Prevent third-party sharing</strong> in each blog's settings (under Visibility). "
               "Do it once per blog."),
    ("DeviantArt", "Every deviation is opted out of AI datasets by default since November 2022, and "
                   "DeviantArt tells crawlers so (noai, noimageai). Nothing to switch on: just leave it that "
                   "way."),
    ("Instagram and Facebook", "Where you are leaving: in the EU and the UK, Meta lets you object to the "
                               "use of your posts for its AI, through a form in its Privacy Centre."),
)


def _switches() -> str:
    items = "".join(f'<div class="platform"><h3>{esc(name)}</h3><p>{words}</p></div>' for name, words in _PLATFORMS)
    return f"""<section class="switches" aria-labelledby="switches">
<h2 id="switches">Switches no file can carry</h2>
<p class="lead">The files say “no AI training” themselves, but many platforms strip that when they re-encode
an upload. These settings are yours to flip, once per account:</p>
<div class="platforms">{items}</div>
</section>"""


def _in_files() -> str:
    return """<section class="infiles" aria-labelledby="infiles">
<h2 id="infiles">What is inside every file</h2>
<p>Each picture carries your rights in its metadata: your name and copyright notice (if you gave them in
<code>[rights]</code>), the IPTC statement that it may not be used to train AI, and the reservation of your
rights under EU law. It carries no location and no camera details. See for yourself with
<code>pindah check-image FILE</code>: try it once on a picture you download back from Cara, to learn what
Cara keeps.</p>
</section>"""


_CSS = """
:root{color-scheme:light dark;--bg:#f6f3ee;--fg:#1f1c18;--muted:#6b645a;--line:#e4ddd2;--card:#fffdf9;
--soft:#f1ece4;--accent:#a4441c;--ok:#2f7a4b;--todo:#a66a00;--bad:#b3261e}
@media (prefers-color-scheme:dark){:root{--bg:#141311;--fg:#ece6dc;--muted:#a59c8f;--line:#2e2a25;
--card:#1c1a17;--soft:#24211d;--accent:#f2a578;--ok:#7fcf9b;--todo:#f0c36a;--bad:#ff8a80}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:1rem/1.55 ui-sans-serif,system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif}
a{color:var(--accent);text-underline-offset:.15em}
code{font:.85em/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.wrap{max-width:72rem;margin:0 auto;padding:0 1.25rem}
h1,h2,h3{font-family:ui-serif,"Iowan Old Style","Palatino Linotype",Palatino,Georgia,serif;font-weight:500}
.hero{padding:1.8rem 0 1.2rem}
.kicker{margin:0;color:var(--muted);font-size:.8rem;letter-spacing:.08em;text-transform:uppercase}
.hero h1{margin:.1rem 0 .2rem;font-size:clamp(1.7rem,3.6vw,2.5rem);line-height:1.15;letter-spacing:-.01em}
.sub{margin:0;color:var(--muted);font-size:.92rem}
.bar{position:sticky;top:0;z-index:2;background:var(--card);border-top:1px solid var(--line);
border-bottom:1px solid var(--line);box-shadow:0 2px 8px rgba(0,0,0,.04)}
.bar-in{display:flex;align-items:center;gap:1rem;padding-top:.6rem;padding-bottom:.6rem;flex-wrap:wrap}
.progress{flex:1 1 12rem;height:.55rem;background:var(--soft);border-radius:99px;overflow:hidden;
border:1px solid var(--line)}
.progress div{height:100%;background:var(--ok);border-radius:99px}
.counts{margin:0;font-size:.92rem;white-space:nowrap}
.next{font-weight:600;white-space:nowrap}
.alldone{margin:0;color:var(--ok);font-weight:600}
h2{font-size:1.45rem;margin:2.2rem 0 .6rem}
.howto summary{cursor:pointer}.howto summary h2{display:inline}
.howto ol{padding-left:1.3rem;margin:.6rem 0 .3rem}.howto li{margin:.35rem 0}
.jump{margin:.5rem 0 0;font-size:.92rem}
.note{color:var(--muted);font-size:.92rem}
.sr{position:absolute;opacity:0;pointer-events:none}
.filters{display:inline-flex;gap:.25rem;margin:1.6rem 0 1rem;padding:.25rem;background:var(--soft);
border:1px solid var(--line);border-radius:99px}
.filters label{padding:.3rem .9rem;border-radius:99px;cursor:pointer;font-size:.92rem;white-space:nowrap}
.filters label span{color:var(--muted);font-size:.8rem;margin-left:.15rem}
.filters input:checked+label{background:var(--card);box-shadow:0 1px 3px rgba(0,0,0,.12);font-weight:600}
.filters input:focus-visible+label{outline:3px solid var(--accent);outline-offset:2px}
.list:has(#show-todo:checked) .card:not(.c-pending):not(.c-failed){display:none}
.list:has(#show-posted:checked) .card:not(.c-posted){display:none}
.list:has(#show-skipped:checked) .card:not(.c-skipped){display:none}
.cards{list-style:none;margin:0;padding:0;display:grid;gap:1.1rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1rem 1.1rem;
scroll-margin-top:4.5rem}
.card:target{outline:3px solid var(--accent);outline-offset:2px}
.card.c-posted,.card.c-skipped{opacity:.78}
.head{display:flex;flex-wrap:wrap;align-items:center;gap:.45rem .8rem;margin-bottom:.8rem;font-size:.9rem}
.num{color:var(--muted);font-variant-numeric:tabular-nums}
.head time{font-weight:600;font-size:1rem}
.part{background:var(--soft);border-radius:99px;padding:.1rem .6rem}
.shield{color:var(--ok);font-size:.82rem}.shield::before{content:"✓ "}
.shield.off{color:var(--bad)}.shield.off::before{content:"! "}
.state{margin-left:auto;font-weight:600;border-radius:99px;padding:.12rem .7rem;border:1px solid currentColor}
.s-pending{color:var(--todo)}.s-posted{color:var(--ok)}.s-skipped{color:var(--muted)}.s-failed{color:var(--bad)}
.why{color:var(--bad);flex-basis:100%}
.body{display:grid;grid-template-columns:15rem 1fr;gap:1.2rem}
.thumbs{display:grid;grid-template-columns:1fr 1fr;gap:.4rem;align-content:start}
.thumbs.n1{grid-template-columns:1fr}
.thumbs a{display:block;border-radius:6px;overflow:hidden;background:var(--soft);aspect-ratio:1}
.thumbs img{display:block;width:100%;height:100%;object-fit:cover}
.noimg{color:var(--muted);margin:0}
.fields{display:grid;gap:.75rem;min-width:0}
.field{min-width:0}
.label{display:flex;align-items:center;gap:.6rem;font-size:.78rem;letter-spacing:.06em;text-transform:uppercase;
color:var(--muted);margin-bottom:.2rem}
.label small{text-transform:none;letter-spacing:0}
summary.label{cursor:pointer;display:list-item}
.title{margin:0;font-size:1.05rem;font-weight:600}
.caption{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--soft);border-radius:8px;padding:.55rem .75rem;
max-height:13rem;overflow:auto;font-size:.95rem}
.tag,.mention{color:var(--accent)}
.tags{margin:0;color:var(--accent)}
.alt{margin:.4rem 0 .6rem}.alt p{margin:0}.missing{color:var(--muted);font-style:italic}
.path{margin:0}.path a{margin-left:.4rem;white-space:nowrap}
.done p{margin:0}.done code{background:var(--soft);padding:.15rem .4rem;border-radius:5px}
.hint{color:var(--muted);font-size:.85rem;margin:.25rem 0 0}
.copy{margin-left:auto;font:600 .78rem/1 system-ui,sans-serif;letter-spacing:0;text-transform:none;color:var(--accent);
background:transparent;border:1px solid var(--accent);border-radius:99px;padding:.3rem .7rem;cursor:pointer}
.copy:hover{background:var(--accent);color:var(--card)}.copy.done{background:var(--ok);border-color:var(--ok);color:#fff}
.copy:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.empty{color:var(--muted)}
.platforms{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,20rem),1fr));gap:.9rem}
.platform{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:.2rem 1rem .6rem}
.platform h3{margin:.7rem 0 .2rem;font-size:1.1rem}.platform p{margin:.2rem 0;font-size:.93rem}
.lead{max-width:46rem}
.foot{margin-top:3rem;padding-top:1rem;padding-bottom:2.5rem;border-top:1px solid var(--line);color:var(--muted);
font-size:.85rem}
@media (max-width:46rem){.body{grid-template-columns:1fr}.thumbs{grid-template-columns:repeat(4,1fr)}
.state{margin-left:0}}
"""

_JS = """
(function(){
function copy(text){
 if(navigator.clipboard&&window.isSecureContext){return navigator.clipboard.writeText(text);}
 return new Promise(function(ok,fail){var t=document.createElement('textarea');t.value=text;
  t.setAttribute('readonly','');t.style.position='fixed';t.style.opacity='0';document.body.appendChild(t);t.select();
  try{document.execCommand('copy')?ok():fail();}catch(e){fail(e);}document.body.removeChild(t);});
}
document.querySelectorAll('button[data-copy]').forEach(function(b){
 var label=b.textContent;b.hidden=false;
 b.addEventListener('click',function(){
  var source=document.getElementById(b.getAttribute('data-copy'));
  copy(source.textContent).then(function(){b.textContent='Copied';b.classList.add('done');},
   function(){b.textContent='Select it and copy';});
  setTimeout(function(){b.textContent=label;b.classList.remove('done');},1600);
 });
});
})();
"""


def _shell(body: str) -> str:
    return ('<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'{OPTOUT_META}\n<meta name="tdm-reservation" content="1">\n<meta name="generator" content="pindah">\n'
            f'<title>Cara upload kit · pindah</title>\n<style>{_CSS}</style>\n</head>\n<body>\n'
            f'{body}<script>{_JS}</script>\n</body>\n</html>\n')
