"""How long a whole history takes on each platform, by the dry run's own estimate.

Builds a Meta JSON export of 1,000 posts with 2,500 pictures (the test fixture builder), then
for each target runs what `pindah migrate --dry-run` runs: the adapter's `prepare` (dry run, no
login, so no network: each plans with its platform's published limits and says so), the planner
and the dry run's estimate. Prints the time needed, the limits it was made with and the notes
the report carries. No timing is measured here: the figures are the platforms' limits at work.

    python bench/target_eta.py [--posts 1000] [--media 2.5] [--to tumblr:yourblog --to deviantart]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.exportbuilder.corpus import big_export_posts  # noqa: E402
from tests.exportbuilder.meta_json import write_meta_json  # noqa: E402

# Targets whose dry run without a login calls nothing (Bluesky and Mastodon ask their server).
DEFAULT_TARGETS = ("tumblr:yourblog", "deviantart", "cara:./kit", "folder:./site")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--media", type=float, default=2.5, help="pictures per post on average")
    parser.add_argument("--to", action="append", dest="targets", help="a --to value (repeatable)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pindah-eta-") as tmp:
        os.environ.update(PINDAH_STATE_DIR=f"{tmp}/state", PINDAH_CACHE_DIR=f"{tmp}/cache")
        for name in ("PINDAH_TUMBLR_TOKEN", "PINDAH_TARGETS_TUMBLR_CLIENT_ID", "PINDAH_TARGETS_DEVIANTART_CLIENT_ID"):
            os.environ.pop(name, None)
        os.chdir(tmp)
        # Imported after the environment is set: the state folders are read from it.
        from pindah.migrator.engine import dry_run
        from pindah.migrator.planner import PlanOptions, plan_posts
        from pindah.migrator.sources import read_export
        from pindah.migrator.targets import make_target

        export = Path(tmp) / "export"
        write_meta_json(export, big_export_posts(args.posts, args.media))
        for spec in args.targets or DEFAULT_TARGETS:
            adapter = make_target(spec, {})
            adapter.prepare(interactive=False, dry_run=True)
            with read_export([export]) as exp:
                plans = plan_posts(exp.posts, adapter.caps, PlanOptions())
                report = dry_run(exp, adapter, plans)
            adapter.finish()
            media, parts = sum(p.media_count for p in plans), sum(len(p.parts) for p in plans)
            print(f"{spec}: {len(plans)} posts as {parts} posts there, {media} pictures -> time needed: {report.eta or 'no limits'}"
                  f" ({report.eta_seconds or 0:,.0f} s)")
            if report.budgets:
                print(f"  limits: {'; '.join(report.budgets)}")
            if adapter.offline_note:
                print(f"  planned offline: {adapter.offline_note}")
            for note in adapter.notes():
                print(f"  note: {note[:160]}{'…' if len(note) > 160 else ''}")


if __name__ == "__main__":
    main()
