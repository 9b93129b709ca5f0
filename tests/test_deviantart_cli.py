"""DeviantArt through the CLI and the planner: `pindah targets` shows its limits, what the planner
makes of carousels, videos and text posts for it, and `pindah migrate sample/instagram-export --to
deviantart` end to end against the simulated DeviantArt over loopback HTTP (read back from it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pindah.adapters.deviantart import DeviantArtAdapter
from pindah.migrator.planner import PlanOptions, plan_post

from tests.chaos_support import base_env, chaos_export, check_published, plans_for, run
from tests.deviantart_sim import DeviantArtSim
from tests.planner_support import make_post
from tests.sim_http import SimHttp
from tests.targets.deviantart import log_in, read_gallery

pytestmark = pytest.mark.deviantart

ROOT = Path(__file__).resolve().parent.parent
CAPS = DeviantArtAdapter.capabilities


@contextmanager
def logged_in_deviantart(tmp_path: Path, sim: DeviantArtSim, **settings: str) -> Iterator[dict[str, str]]:
    """The simulation served on 127.0.0.1, pindah logged in to it, and the environment of a run
    (extra `[targets.deviantart]` settings by key, e.g. PER_HOUR="100000")."""
    with SimHttp(sim.handle) as server:
        sim.base = server.url
        log_in(server.url, tmp_path / "state")
        extra = {f"PINDAH_TARGETS_DEVIANTART_{key}": value for key, value in settings.items()}
        yield base_env(tmp_path, PINDAH_TARGETS_DEVIANTART_API=server.url,
                       PINDAH_TARGETS_DEVIANTART_TOKEN_STORE="file", **extra)


def test_pindah_targets_lists_deviantart_with_its_limits(tmp_path):
    done = run(["targets"], base_env(tmp_path))
    assert done.returncode == 0, done.stderr
    block = done.stdout[done.stdout.index("deviantart"):]
    for words in ("media per post", "1", "not accepted", "60 media per 1 h", "60 posts per 1 h",
                  "added as a short date line"):
        assert words in block, block[:800]


def test_a_carousel_becomes_one_deviation_per_picture_and_its_video_is_left_out_saying_why():
    plan = plan_post(make_post("Harbour series #ink", "iivi"), CAPS, PlanOptions())
    assert [part.media for part in plan.parts] == [(0,), (1,), (3,)]
    assert plan.parts[0].text.startswith("Harbour series #ink") and "Instagram" in plan.parts[0].text
    assert [part.reply_to for part in plan.parts] == [None, 0, 1]
    assert (2, "video: this platform doesn't take video") in plan.dropped_media


def test_a_long_caption_stays_whole_in_one_description_and_a_text_post_is_left_out():
    caption = "word " * 600  # past Instagram's 2,200 characters: DeviantArt documents no description limit
    plan = plan_post(make_post(caption, "i"), CAPS, PlanOptions())
    assert len(plan.parts) == 1 and plan.parts[0].text.startswith(caption.strip())
    text_only = plan_post(make_post("Just words", ""), CAPS, PlanOptions())
    assert text_only.parts == [] and "needs a picture" in (text_only.skipped or "")


def test_migrating_the_sample_export_publishes_every_picture_once_and_a_rerun_adds_nothing(tmp_path):
    sim = DeviantArtSim()
    with logged_in_deviantart(tmp_path, sim) as env:
        args = ["migrate", str(ROOT / "sample" / "instagram-export"), "--to", "deviantart"]
        dry = run([*args, "--dry-run"], env)
        assert dry.returncode == 0 and "Time needed" in dry.stdout and sim.deviations == {}, dry.stdout + dry.stderr
        assert 'Note: DeviantArt marks every deviation "NoAI"' in dry.stdout  # where its AI label lives
        done = run(args, env)
        assert done.returncode == 0, done.stdout + done.stderr
        published = read_gallery(sim)
        assert published and all(len(item.media) == 1 for item in published)
        assert [f["name"] for f in sim.folders] == ["Featured", "From Instagram"]
        assert all(d["galleries"] == ["F0", "F1"] and d["is_ai_generated"] == "false" for d in sim.deviations.values())
        assert all("Instagram" in item.text for item in published if item.parent is None)
        verify = run(["verify", "--to", "deviantart"], env)
        assert verify.returncode == 0 and "everything is there" in verify.stdout, verify.stdout + verify.stderr
        again = run(args, env)
        assert again.returncode == 0 and "Nothing new to migrate" in again.stdout, again.stdout
        assert len(read_gallery(sim)) == len(published)
        output = dry.stdout + dry.stderr + done.stdout + done.stderr + verify.stdout + again.stdout
        assert not [secret for secret in sim.issued if secret in output]


def test_a_migration_slowed_down_by_deviantart_waits_and_still_publishes_every_picture_once(tmp_path):
    sim = DeviantArtSim(burst=4, burst_window=2.0, retry_after=1.0)  # a velocity filter, like DeviantArt's
    with logged_in_deviantart(tmp_path, sim, PER_HOUR="100000") as env:
        export = chaos_export(tmp_path / "export", 4, seed=7)
        done = run(["migrate", str(export.root), "--to", "deviantart"], env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert sim.refused >= 1, "the simulated DeviantArt never asked pindah to slow down"
        plans = plans_for(export.root, CAPS)
        check_published(read_gallery(sim), plans, export, videos=False).assert_exactly_once()


def test_a_rollback_never_claims_a_deletion_and_names_each_deviation_to_delete_by_hand(tmp_path):
    sim = DeviantArtSim()
    with logged_in_deviantart(tmp_path, sim, PER_HOUR="100000") as env:
        export = chaos_export(tmp_path / "export", 3, seed=5)
        assert run(["migrate", str(export.root), "--to", "deviantart"], env).returncode == 0
        published = dict(sim.deviations)
        refused = run(["rollback", "--to", "deviantart", "--yes"], env)
        assert refused.returncode != 0 and "Deleted 0 post(s)" in refused.stdout, refused.stdout + refused.stderr
        assert all(d["url"] in refused.stderr for d in published.values()) and "still on DeviantArt" in refused.stderr
        assert sim.deviations == published  # nothing was, or could be, deleted through the API
        sim.deviations.clear()  # the artist deletes them on DeviantArt
        gone = run(["rollback", "--to", "deviantart", "--yes"], env)
        assert gone.returncode == 0 and "each read back as gone" in gone.stdout, gone.stdout + gone.stderr
