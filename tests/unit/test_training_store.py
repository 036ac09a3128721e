"""store.training: runs planned by settings (nothing finished is lost), claimed once, put back when
their worker dies, shown as interrupted meanwhile, and counted."""

from __future__ import annotations

from store import experiments, open_store, training, workers


def _runs(name: str, key: str = "k1"):
    return [(name, {"run": name, "recipe": {"epochs": 3}}, key, 3)]


def test_runs_are_planned_claimed_reclaimed_and_kept_across_settings(tmp_path):
    with open_store(tmp_path, create=True) as st:
        e = experiments.ensure(st, "x", {}, {})
        assert training.plan(st, e, _runs("synthetic") + _runs("real")) == 2
        assert training.plan(st, e, _runs("synthetic") + _runs("real")) == 0  # already there
        w = workers.register(st, e, "training", "cpu")
        run = training.claim(st, e, w)
        assert run["name"] == "synthetic" and run["settings"]["recipe"]["epochs"] == 3
        assert training.claim(st, e, w)["name"] == "real" and training.claim(st, e, w) is None
        training.record_epoch(st, run["id"], {"epoch": 1, "loss": 1.0, "train_accuracy": 0.5, "test_accuracy": 0.4,
                                              "lr": 0.1, "seconds": 1.0, "images_per_s": 10.0})
        training.record_epoch(st, run["id"], {"epoch": 1, "loss": 1.0, "train_accuracy": 0.5, "test_accuracy": 0.4,
                                              "lr": 0.1, "seconds": 1.0, "images_per_s": 10.0})  # redone on resume
        assert len(training.epochs(st, [run["id"]])[run["id"]]) == 1
        assert training.counts(st, e) == {"pending": 0, "running": 2, "done": 0, "failed": 0,
                                          "epochs_done": 1, "epochs_total": 6}
        st.db.execute("update workers set pid = 999999999 where id = ?", [w])  # its process is gone
        assert [r["state"] for r in training.board(st, e)] == ["interrupted", "interrupted"]
        assert [r["state"] for r in training.runs(st, e)] == ["interrupted", "interrupted"]
        assert training.reclaim(st, e) == 2
        assert [r["state"] for r in training.board(st, e)] == ["pending", "pending"]
        assert training.board(st, e)[0]["epoch"] == 1  # it resumes after the epoch it finished

        w2 = workers.register(st, e, "training", "cpu")
        again = training.claim(st, e, w2)
        training.finish(st, again["id"], {"test": {"accuracy": 0.9}})
        training.fail(st, training.claim(st, e, w2)["id"], "RuntimeError: boom")
        assert [(r["name"], r["state"], r["accuracy"]) for r in training.board(st, e)] == [
            ("synthetic", "done", 0.9), ("real", "failed", None)]
        # other settings: a new run; the finished one stays in the store, out of the plan
        assert training.plan(st, e, _runs("synthetic", "k2")) == 1
        assert [r["name"] for r in training.runs(st, e)] == ["synthetic"]
        every = training.runs(st, e, planned_only=False)
        assert [(r["name"], r["state"], r["planned"]) for r in every] == [
            ("synthetic", "done", 0), ("real", "failed", 0), ("synthetic", "pending", 1)]
        assert training.cancel_pending(st, e) == 1 and training.runs(st, e) == []
        training.plan(st, e, _runs("synthetic", "k2") + _runs("real"))
        assert training.retry_failed(st, e) == 1
        assert [(r["name"], r["state"]) for r in training.runs(st, e)] == [("real", "pending"), ("synthetic", "pending")]
