"""The snapshot's two-layer maps answer as the plain dict they stand for, before and after their
top is folded into a new base, and never change under a snapshot that holds them."""

from __future__ import annotations

import random

from layoutserver.ads.decisions.layered import GONE, Layered


def test_a_layered_map_answers_as_a_dict_through_its_revisions() -> None:
    rng = random.Random(4)
    model = {n: f"v{n}" for n in range(300)}
    layered: Layered[int, str] = Layered(dict(model))
    folded = 0
    for step in range(1500):
        changes = {}
        for _ in range(rng.randint(1, 4)):
            key = rng.randrange(400)
            if rng.random() < 0.4:
                changes[key] = GONE
                model.pop(key, None)
            else:
                changes[key] = model[key] = f"v{key}.{step}"
        before, before_items = layered, dict(layered.items())
        layered = layered.revised(changes)
        folded += layered._base is not before._base
        assert dict(before.items()) == before_items  # the previous map is untouched
        assert dict(layered.items()) == model and len(layered) == len(model)
        key = rng.randrange(400)
        assert layered.get(key) == model.get(key) and (key in layered) == (key in model)
        assert (layered[key] if key in model else None) == model.get(key)
    assert folded >= 2  # folded whenever the top outgrew top_limit(300)
