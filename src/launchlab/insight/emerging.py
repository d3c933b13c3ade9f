"""Emerging sub-needs: a new need that is still too small to be one, growing inside a big need.

At the granularity the need model chooses, a need voiced by a few dozen reviews lands inside a
large neighbour (86 mentions about sun protection inside a "skin / lotion" need of 718 reviews)
and its rise is invisible in the neighbour's series. :func:`find_emerging_needs` looks inside
every need for a dense region of mentions whose share of that need grows:

1. **Regions.** The ``region_sizes`` nearest mentions (cosine, in the need model's space) of
   every dated mention of a need, within the need: small dense neighbourhoods of any shape.
2. **Scan statistic.** For every region and recent window of ``w`` periods, Kulldorff's
   log-likelihood ratio of "the region's share of recent mentions is higher than its need's"
   against "the same": ``a log(a / nq) + (n − a) log((n − a) / n(1 − q))`` when ``a > nq``, with
   ``a`` of the region's ``n`` mentions in the window and ``q`` the need's share in it.
3. **False-alarm control.** The maximum over all regions, needs and windows is compared with
   its distribution when the reviews' dates are permuted (``n_permutations`` times; a review
   and its exact duplicates posted the same day move together). A region is significant when
   its p-value is at most ``alpha``, so in a corpus whose topics have no timing of their own the
   chance of surfacing any sub-need at all is at most ``alpha``.
4. **Sub-needs.** Significant regions, strongest first, become sub-needs unless they overlap
   one already taken: a ball around the region's centroid (radius: its farthest member) within
   the parent need. A sub-need must hold at most ``max_parent_share`` of its parent, be voiced
   by at least ``min_reviews`` distinct reviews in its window, and be mentioned at least
   ``min_growth`` times as often per period in the window as before it (a share that grows
   while the counts do not is the rest of the need shrinking, not an emerging need).

The result assigns mentions to sub-needs (:meth:`EmergingNeeds.predict`, also for new
embeddings), and gives each a label (class-based TF-IDF against the rest of its parent) and the
statistics behind it. The insight stage adds sub-needs as needs of their own (ids after the
need model's, ``parent_need_id`` set), so they get series, trend classes, quotes and momentum
like any need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from launchlab.insight.config import EmergingConfig
from launchlab.insight.labels import class_tfidf_keywords, make_label

STAT_COLUMNS = [
    "need_id", "parent_need_id", "llr", "p_value", "window", "since", "recent_mentions", "earlier_mentions",
    "recent_reviews", "radius",
]
# Recent windows in months; weekly data uses about 13/3 weeks per month.
_WINDOW_MONTHS = (2, 3, 4, 6, 9, 12)


@dataclass
class EmergingNeeds:
    """Sub-needs found by :func:`find_emerging_needs` (possibly none).

    Sub-need ``j`` has id ``first_id + j``, lies inside need ``parents[j]`` and holds the mentions
    of that need whose (projected, unit) embedding has cosine at least ``radii[j]`` to
    ``centroids[j]``. ``table`` has one row per sub-need (:data:`STAT_COLUMNS`); ``keywords``
    and ``labels`` are keyed by sub-need id; ``n_permutations`` and ``threshold`` (the
    scan statistic a region had to exceed) describe the test that was run.
    """

    first_id: int
    direction: np.ndarray | None = None
    parents: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    centroids: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    radii: np.ndarray = field(default_factory=lambda: np.zeros(0))
    table: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=STAT_COLUMNS))
    keywords: dict[int, list[str]] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)
    n_permutations: int = 0
    threshold: float = float("nan")

    def __len__(self) -> int:
        return len(self.parents)

    def predict(self, X: np.ndarray, need: np.ndarray) -> np.ndarray:
        """``need`` with each mention inside a sub-need's ball moved to that sub-need (the nearest
        centroid when several balls hold it)."""
        need = np.asarray(need).copy()
        if not len(self):
            return need
        Xn = project(X, self.direction)
        sims = Xn @ self.centroids.T
        inside = (need[:, None] == self.parents[None, :]) & (sims >= self.radii[None, :])
        hit = inside.any(axis=1)
        best = np.argmax(np.where(inside, sims, -np.inf), axis=1)
        need[hit] = self.first_id + best[hit]
        return need

    def refine_reviews(self, review_need: np.ndarray, unit_need: np.ndarray, owner: np.ndarray) -> np.ndarray:
        """Reviews' needs with a sub-need in place of its parent: a review whose need (from the need
        model) is a sub-need's parent, and one of whose units (``owner`` maps units to reviews)
        lies in that sub-need, counts for the sub-need (the one most of its units lie in)."""
        review_need = np.asarray(review_need).copy()
        if not len(self):
            return review_need
        unit_need, owner = np.asarray(unit_need), np.asarray(owner)
        sub = unit_need - self.first_id
        inside = (sub >= 0) & (sub < len(self))
        inside &= self.parents[np.where(inside, sub, 0)] == review_need[owner]
        if not inside.any():
            return review_need
        votes = np.zeros((len(review_need), len(self)), dtype=np.int64)
        np.add.at(votes, (owner[inside], sub[inside]), 1)
        has = votes.any(axis=1)
        review_need[has] = self.first_id + np.argmax(votes[has], axis=1)
        return review_need

    def extend(self, model):
        """A view of the fitted need model with the sub-needs appended (for the needs table)."""
        return _ExtendedModel(model, self)

    def annotate(self, needs: pd.DataFrame) -> pd.DataFrame:
        """The needs table with ``parent_need_id`` (-1 for the need model's needs) and the sub-needs'
        ``emerging_p_value`` and ``emerging_since`` (start of the window they grew in)."""
        stats = self.table.set_index("need_id")
        out = needs.copy()
        out["parent_need_id"] = out["need_id"].map(stats["parent_need_id"]).fillna(-1).astype(int)
        out["emerging_p_value"] = out["need_id"].map(stats["p_value"]).astype(float)
        out["emerging_since"] = pd.to_datetime(out["need_id"].map(stats["since"]))
        return out


class _ExtendedModel:
    """The attributes of a fitted NeedModel the needs table reads, with the sub-needs appended."""

    def __init__(self, model, emerging: EmergingNeeds) -> None:
        self.n_needs_ = model.n_needs_ + len(emerging)
        centroids = emerging.centroids.astype(model.centroids_.dtype) if len(emerging) else model.centroids_[:0]
        self.centroids_ = np.vstack([model.centroids_, centroids])
        self.keywords_ = {**model.keywords_, **emerging.keywords}
        self.need_labels_ = {**model.need_labels_, **emerging.labels}


def project(X: np.ndarray, direction: np.ndarray | None) -> np.ndarray:
    """Unit rows of ``X`` with ``direction`` (a unit vector, e.g. the need model's sentiment
    direction) projected out, as the need model sees them; zero rows stay zero."""
    X = np.asarray(X, dtype=np.float32)
    if direction is not None:
        X = X - np.outer(X @ direction, direction)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return np.where(norms > 1e-8, X / np.maximum(norms, 1e-8), 0.0).astype(np.float32)


def windows_for(freq: str) -> list[int]:
    """Recent windows, in periods of ``freq``, for 2-12 months."""
    per_month = 13 / 3 if str(freq).upper().startswith("W") else 1.0
    return sorted({max(2, round(m * per_month)) for m in _WINDOW_MONTHS})


def find_emerging_needs(
    X: np.ndarray,
    need: np.ndarray,
    dates: Sequence,
    blocks: Sequence,
    texts: Sequence[str],
    *,
    n_needs: int,
    direction: np.ndarray | None = None,
    labels: dict[int, str] | None = None,
    config: EmergingConfig | None = None,
    freq: str | None = None,
) -> EmergingNeeds:
    """Scan every need for a region of mentions whose share of the need grows (see the module doc).

    ``X`` are the mentions' embeddings, ``need`` their need ids (-1: unassigned), ``dates`` their
    reviews' dates (NaT: undated, left out of the scan), ``blocks`` a key per mention naming what
    moves together when dates are permuted (its review, or the review and its exact duplicates;
    a mention repeated within its block is scanned once), ``texts`` the mention texts (for
    labels). ``direction`` is the need model's sentiment direction (``NeedModel.direction_``) and
    ``labels`` the existing need labels, so a sub-need's label never repeats one. Periods are
    monthly when the dates span two years or more, weekly otherwise (as the need series), unless
    ``freq`` is given.
    """
    config = config or EmergingConfig()
    need = np.asarray(need)
    empty = EmergingNeeds(first_id=n_needs, direction=direction)
    if not config.enabled or n_needs == 0:
        return empty
    timeline = _timeline(need, dates, blocks, texts, freq, config)
    if timeline is None:
        return empty
    Xn = project(X, direction)
    scan = _scan(Xn, need, timeline, n_needs, config)
    if scan is None:
        return empty
    chosen = _pick(Xn, need, timeline, scan, n_needs, config)
    empty.n_permutations, empty.threshold = config.n_permutations, scan.threshold
    if not chosen:
        return empty
    return _describe(chosen, X, need, texts, timeline, scan, n_needs, direction, labels, config)


@dataclass
class _Timeline:
    """Which mentions are scanned (dated, assigned, first of their kind in their block) and when."""

    first: np.ndarray  # bool per mention: not a repeat of a mention earlier in its block
    scanned: np.ndarray  # bool per mention: dated, assigned and first
    period: np.ndarray  # period index per mention, -1 when not scanned
    grid: pd.DatetimeIndex
    windows: list[int]
    blocks: np.ndarray  # block code per scanned mention (in the order of ``units``)

    @property
    def units(self) -> np.ndarray:
        return np.flatnonzero(self.scanned)

    @property
    def T(self) -> int:
        return len(self.grid)


@dataclass
class _Scan:
    """Candidate regions, their observed statistic per window, and the permutation null."""

    members: sp.csr_matrix  # regions × scanned mentions
    region_need: np.ndarray
    observed: np.ndarray  # regions × windows
    need_share: np.ndarray  # needs × windows: share of each need's scanned mentions in the window
    null_max: np.ndarray
    threshold: float

    def p_value(self, llr: np.ndarray | float) -> np.ndarray:
        llr = np.atleast_1d(np.asarray(llr, dtype=np.float64))
        return (1.0 + (self.null_max[None, :] >= llr[:, None]).sum(axis=1)) / (len(self.null_max) + 1)


def _timeline(
    need: np.ndarray, dates: Sequence, blocks: Sequence, texts: Sequence[str], freq: str | None, config: EmergingConfig
) -> _Timeline | None:
    """Periods of the scanned mentions, and the recent windows that fit in the span (None: too short)."""
    from launchlab.trends.calendar import snap
    from launchlab.trends.series import choose_freq

    dates = pd.to_datetime(pd.Series(np.asarray(dates)), errors="coerce")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    keys = pd.Series(np.asarray(blocks, dtype=object)).astype(str)
    # A mention repeated within its block (a review published again under another product) is
    # scanned once: duplicates would make any clump of them look like a burst.
    first = ~(keys + "\x00" + pd.Series(list(texts), dtype=object).astype(str)).duplicated().to_numpy()
    scanned = dates.notna().to_numpy() & (need >= 0) & first
    if scanned.sum() < 2 * min(config.region_sizes):
        return None
    freq = freq or choose_freq(dates[scanned])
    starts = snap(dates[scanned].dt.normalize(), freq)
    grid = pd.date_range(starts.min(), starts.max(), freq=freq)
    period = np.full(len(need), -1, dtype=np.int64)
    period[scanned] = grid.get_indexer(pd.DatetimeIndex(starts))
    windows = [w for w in windows_for(freq) if 3 * w <= len(grid)]
    if not windows:
        return None
    codes, _ = pd.factorize(keys[scanned], sort=False)
    return _Timeline(first=first, scanned=scanned, period=period, grid=grid, windows=windows, blocks=codes)


def _scan(Xn: np.ndarray, need: np.ndarray, timeline: _Timeline, n_needs: int, config: EmergingConfig) -> _Scan | None:
    """Every region's LLR in every window, and the maximum LLR under ``n_permutations`` permutations
    of the blocks' periods."""
    regions = _regions(Xn, need, timeline.scanned, n_needs, config)
    if regions is None:
        return None
    members, region_need = regions
    units, T, windows = timeline.units, timeline.T, timeline.windows
    block_period = np.zeros(timeline.blocks.max() + 1, dtype=np.int64)
    block_period[timeline.blocks] = timeline.period[units]
    sizes = np.diff(members.indptr).astype(np.float64)[:, None]
    need_of_unit = need[units]
    counts = np.maximum(np.bincount(need_of_unit, minlength=n_needs), 1).astype(np.float64)[:, None]

    def shares(recent: np.ndarray) -> np.ndarray:
        return np.stack([np.bincount(need_of_unit, weights=recent[:, j], minlength=n_needs) for j in range(len(windows))],
                        axis=1) / counts

    def llr(unit_period: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        recent = np.stack([unit_period >= T - w for w in windows], axis=1).astype(np.float32)
        q = shares(recent)
        return _llr(np.asarray(members @ recent), sizes, q[region_need]), q

    observed, need_share = llr(timeline.period[units])
    rng = np.random.default_rng(config.seed)
    null_max = np.array(
        [llr(rng.permutation(block_period)[timeline.blocks])[0].max() for _ in range(config.n_permutations)]
    )
    threshold = float(np.quantile(null_max, 1 - config.alpha))
    return _Scan(members, region_need, observed, need_share, null_max, threshold)


def _pick(
    Xn: np.ndarray, need: np.ndarray, timeline: _Timeline, scan: _Scan, n_needs: int, config: EmergingConfig
) -> list[dict]:
    """Significant regions, strongest first, as sub-needs: the best ball around each, kept when it
    passes the gates (size, reviews, growth) and is significant on its own."""
    units, period, T, windows = timeline.units, timeline.period, timeline.T, timeline.windows
    best = scan.observed.max(axis=1)
    order = np.argsort(-best, kind="stable")
    order = order[scan.p_value(best[order]) <= config.alpha]
    chosen: list[dict] = []
    taken = np.zeros(len(need), dtype=bool)
    per_parent: dict[int, int] = {}
    need_sizes = np.bincount(need[need >= 0], minlength=n_needs)
    for r in order:
        if len(chosen) >= config.max_subneeds:
            break
        rows = units[scan.members.indices[scan.members.indptr[r] : scan.members.indptr[r + 1]]]
        c = int(scan.region_need[r])
        if per_parent.get(c, 0) >= config.max_per_need or taken[rows].mean() >= 0.5:
            continue
        j = int(np.argmax(scan.observed[r]))
        w = windows[j]
        in_need = (need == c) & ~taken
        centroid, radius = _best_ball(Xn[rows], Xn, in_need, period, T - w, min(config.region_sizes), config.max_parent_share)
        ball = np.flatnonzero(in_need & (Xn @ centroid >= radius))
        recent = ball[period[ball] >= T - w]
        earlier = ball[(period[ball] >= 0) & (period[ball] < T - w)]
        recent_reviews = len(set(timeline.blocks[np.searchsorted(units, recent)]))
        # The ball must be significant on its own: not thanks to mentions another sub-need took.
        ball_llr = float(_llr(np.array([len(recent)], float), np.array([len(recent) + len(earlier)], float),
                              np.array([scan.need_share[c, j]]))[0])
        if (
            len(ball) > config.max_parent_share * need_sizes[c]
            or recent_reviews < config.min_reviews
            or len(recent) / w < config.min_growth * len(earlier) / (T - w)
            or ball_llr < scan.threshold
        ):
            continue
        taken[ball] = True
        per_parent[c] = per_parent.get(c, 0) + 1
        chosen.append(
            {
                "parent_need_id": c, "llr": ball_llr, "p_value": float(scan.p_value(ball_llr)[0]), "window": int(w),
                "since": timeline.grid[T - w], "recent_mentions": int(len(recent)), "earlier_mentions": int(len(earlier)),
                "recent_reviews": int(recent_reviews), "radius": radius, "centroid": centroid,
            }
        )
    return chosen


def _describe(
    chosen: list[dict], X: np.ndarray, need: np.ndarray, texts: Sequence[str], timeline: _Timeline, scan: _Scan,
    n_needs: int, direction: np.ndarray | None, labels: dict[int, str] | None, config: EmergingConfig,
) -> EmergingNeeds:
    """The sub-needs with their statistics, and labels from class-based TF-IDF against the rest of the parent."""
    out = EmergingNeeds(
        first_id=n_needs,
        direction=direction,
        parents=np.array([row["parent_need_id"] for row in chosen], dtype=int),
        centroids=np.vstack([row["centroid"] for row in chosen]).astype(np.float32),
        radii=np.array([row["radius"] for row in chosen]),
        n_permutations=config.n_permutations,
        threshold=scan.threshold,
    )
    out.table = pd.DataFrame(
        [{"need_id": n_needs + j, **{k: row[k] for k in STAT_COLUMNS if k in row}} for j, row in enumerate(chosen)],
        columns=STAT_COLUMNS,
    )
    assigned = out.predict(X, need)
    taken_labels = set((labels or {}).values())
    for j, row in enumerate(chosen):
        sub = n_needs + j
        # Labels count each mention of a block once, as the scan did.
        parent_rows = np.flatnonzero((need == row["parent_need_id"]) & timeline.first)
        inside = (assigned[parent_rows] == sub).astype(int)
        keywords = class_tfidf_keywords([texts[i] for i in parent_rows], inside, config.n_keywords).get(1, [])
        label = make_label(keywords)
        if label in taken_labels:
            label = f"{label} (emerging)"
        taken_labels.add(label)
        out.keywords[sub], out.labels[sub] = keywords, label
    return out


def _regions(
    Xn: np.ndarray, need: np.ndarray, dated: np.ndarray, n_needs: int, config: EmergingConfig
) -> tuple[sp.csr_matrix, np.ndarray] | None:
    """The candidate regions as a sparse (regions × dated mentions) 0/1 matrix, and each region's need.

    Per need, every dated mention (at most ``max_seeds`` of them, a seeded sample) seeds one
    region per size: its nearest dated mentions of the same need. Sizes above
    ``max_parent_share`` of the need are skipped.
    """
    units = np.flatnonzero(dated)
    position = np.full(len(need), -1, dtype=np.int64)
    position[units] = np.arange(len(units))
    rng = np.random.default_rng(config.seed)
    lengths, indices, region_need = [], [], []
    for c in range(n_needs):
        rows = np.flatnonzero(dated & (need == c))
        sizes = [m for m in config.region_sizes if m <= config.max_parent_share * len(rows)]
        if not sizes:
            continue
        seeds = rows if len(rows) <= config.max_seeds else np.sort(rng.choice(rows, config.max_seeds, replace=False))
        top = max(sizes)
        Xc = Xn[rows]
        for start in range(0, len(seeds), 512):
            sims = Xn[seeds[start : start + 512]] @ Xc.T
            near = np.argpartition(-sims, top - 1, axis=1)[:, :top]
            order = np.argsort(-np.take_along_axis(sims, near, axis=1), axis=1, kind="stable")
            near = position[rows[np.take_along_axis(near, order, axis=1)]]
            for m in sizes:
                indices.append(near[:, :m].ravel())
                lengths.append(np.full(len(near), m))
                region_need.append(np.full(len(near), c))
    if not region_need:
        return None
    indptr = np.concatenate([[0], np.cumsum(np.concatenate(lengths))])
    data = np.ones(indptr[-1], dtype=np.float32)
    region_need = np.concatenate(region_need)
    matrix = sp.csr_matrix((data, np.concatenate(indices), indptr), shape=(len(region_need), len(units)))
    return matrix, region_need.astype(np.int64)


def _best_ball(
    region: np.ndarray, Xn: np.ndarray, in_need: np.ndarray, period: np.ndarray, since: int, min_size: int,
    max_share: float, rounds: int = 2,
) -> tuple[np.ndarray, float]:
    """Centroid and radius of the ball around a significant region that maximises the scan statistic.

    The region (nearest neighbours of one mention) only locates the sub-need; its extent is the
    ball around the region's centroid, over the need's dated mentions, whose share of mentions
    since period ``since`` is most surprising (largest LLR, at least ``min_size`` mentions, at
    most ``max_share`` of the need). The centroid is then recomputed from that ball, ``rounds`` times.
    """
    rows = np.flatnonzero(in_need & (period >= 0))
    recent = (period[rows] >= since).astype(np.float64)
    q = recent.mean()
    centroid = region.mean(axis=0)
    radius = -1.0
    for _ in range(rounds):
        centroid = centroid / max(float(np.linalg.norm(centroid)), 1e-12)
        sims = Xn[rows] @ centroid
        order = np.argsort(-sims, kind="stable")
        n = np.arange(1, len(order) + 1, dtype=np.float64)
        llr = _llr(np.cumsum(recent[order]), n, np.full(len(n), q))
        llr[(n < min_size) | (n > max_share * len(rows))] = -np.inf
        m = int(np.argmax(llr))
        radius = float(sims[order[m]])
        centroid = Xn[rows[order[: m + 1]]].mean(axis=0)
    return (centroid / max(float(np.linalg.norm(centroid)), 1e-12)).astype(np.float32), radius


def _llr(a: np.ndarray, n: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Kulldorff's Bernoulli log-likelihood ratio for ``a`` of ``n`` in the window against share
    ``q``; 0 where the region is not above its need's share."""
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = n * q
        inside = np.where(a > 0, a * np.log(a / expected), 0.0)
        rest = n - a
        outside = np.where(rest > 0, rest * np.log(rest / (n - expected)), 0.0)
        out = inside + outside
    return np.where((a > expected) & (q > 0) & (q < 1), out, 0.0)


def scan_needs(
    model, X: np.ndarray, texts: Sequence[str], reviews: pd.DataFrame, owner: np.ndarray, config: EmergingConfig
) -> EmergingNeeds:
    """:func:`find_emerging_needs` for the mentions a fitted ``NeedModel`` was fitted on.

    ``X`` and ``texts`` are those mentions, ``owner`` the row of ``reviews`` (with ``text`` and,
    when dated, ``date``) each comes from. A review and its exact duplicates posted the same day
    (published review dumps repeat reviews per product variant) move together when dates are
    permuted. Without a ``date`` column nothing is scanned.
    """
    from launchlab.schemas import DATE, TEXT

    if DATE not in reviews.columns or not config.enabled:
        return EmergingNeeds(first_id=model.n_needs_, direction=model.direction_)
    dates = pd.to_datetime(reviews[DATE], errors="coerce")
    blocks = reviews[TEXT].astype(str) + "\x00" + dates.astype(str)
    return find_emerging_needs(
        X, model.labels_, dates.to_numpy()[owner], blocks.to_numpy()[owner], texts, n_needs=model.n_needs_,
        direction=model.direction_, labels=model.need_labels_, config=config,
    )
