"""Monte-Carlo traces of a scope's churn over a horizon: learned level and rhythm, trend, resampled calm days
and resampled bursts, built for all traces at once with numpy (no loop over samples or traces)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from churnplan.analytics.forecast import bursts as burst_model
from churnplan.analytics.forecast.rhythm import Rhythm, fit_rhythm
from churnplan.analytics.forecast.series import Calendar, Days, Series, calendar, whole_days
from churnplan.analytics.forecast.trend import GrowthFit, fit_growth

HALF_LIFE_DAYS = 7.0       # recency: a day a week older counts half as much (calm days and burst rate)
MAX_TREND_FACTOR = 4.0     # a fitted trend extrapolated beyond this multiple (or below its inverse) is capped
RANDOM_BURSTS = "poisson"  # or "days": each resampled day brings its own bursts (poisson won on the inner fold)


@dataclass(frozen=True)
class Model:
    """What was learned of one scope."""

    days: Days
    rhythm: Rhythm
    level: np.ndarray          # days x slots: the rhythm's typical bytes per sample on each learned day
    bursts: burst_model.Bursts
    growth: GrowthFit          # of the calm (burst-free) daily churn
    interval_s: float
    t_end: float               # end of the last sample learned
    timezone: str

    @property
    def slots_per_hour(self) -> int:
        return max(int(round(3600 / self.interval_s)), 1)

    def day_weights(self, half_life_days: float = HALF_LIFE_DAYS) -> np.ndarray:
        """Recency weight of each learned day (the last is 1)."""
        age = self.days.day.max() - self.days.day if self.days.day.size else np.zeros(0)
        return 0.5 ** (age / half_life_days)


def learn(series: Series) -> Model:
    """Learn rhythm, level, bursts and growth from a scope's series (whole local days only)."""
    days = whole_days(series)
    rhythm = fit_rhythm(days)
    spd = series.slots_per_day
    hour = np.minimum((np.arange(spd) * series.interval_s // 3600).astype(int), 23)
    level = rhythm.at(days.weekday[:, None], hour[None, :])
    found = burst_model.find_bursts(days, level, max(int(round(3600 / series.interval_s)), 1))
    growth = fit_growth(days.day, found.calm.sum(axis=1) / 2**30, days.weekday)
    t_end = float(series.t0 + series.interval_s * (series.bytes.shape[0] - 1))
    return Model(days, rhythm, level, found, growth, series.interval_s, t_end, series.timezone)


@dataclass(frozen=True)
class Traces:
    """Bytes per sample of each trace (rows) at the horizon's sample end times."""

    times: np.ndarray
    interval_s: float
    bytes: np.ndarray          # shape (traces, samples)
    timezone: str


def simulate(model: Model, horizon_days: float, n_traces: int, rng: np.random.Generator,
             half_life_days: float = HALF_LIFE_DAYS, size_jitter: bool = False,
             random_bursts: str = RANDOM_BURSTS) -> Traces:
    """`n_traces` traces of the `horizon_days` after the learned window.

    Each trace: the rhythm's level for each horizon sample, plus the calm deviation of a resampled learned
    day (recency-weighted), times a growth factor drawn from the fitted trend's uncertainty; plus weekly
    bursts put back at their hour of the week as often as they were seen, and random bursts at a rate drawn
    for each horizon week (see _poisson_events), each a resampled burst profile whose size is jittered by
    the kernel-density bandwidth of the log burst sizes if asked.
    """
    iv = model.interval_s
    n = int(round(horizon_days * 86_400 / iv))
    times = model.t_end + iv * np.arange(1, n + 1)
    out = np.zeros((n_traces, n))
    if model.days.values.shape[0] == 0 or n == 0:
        return Traces(times, iv, out, model.timezone)
    cal = calendar(times, iv, model.timezone)
    hour = np.minimum(cal.slot // model.slots_per_hour, 23)
    level_h = model.rhythm.at(cal.weekday, hour)

    # calm deviations of resampled learned days, one donor per trace and horizon day
    w = model.day_weights(half_life_days)
    n_hdays = int(cal.day.max()) + 1
    donor = rng.choice(w.size, size=(n_traces, n_hdays), p=w / w.sum())
    dev = _detrended(model) - model.level
    out += np.maximum(level_h[None, :] + dev[donor[:, cal.day], cal.slot[None, :]], 0.0)

    _add_bursts(out, model, cal, rng, w, donor, size_jitter, random_bursts)
    out *= _trend_factor(model, times, n_traces, rng)
    return Traces(times, iv, out, model.timezone)


def _trend_applies(model: Model) -> bool:
    """A trend is extrapolated only from 14 days or more and when its interval excludes 0 (a trend the data
    cannot tell from none is noise, not growth)."""
    g = model.growth
    return bool(g.enough and np.isfinite(g.slope_se) and not (g.lo_pct <= 0 <= g.hi_pct)
                and model.bursts.calm.sum() > 0)


def _level_calm(model: Model) -> np.ndarray:
    """Calm learned days, those before a level shift (see trend.level_shift) scaled to the level since it, so
    resampled days carry today's level and not a mix of before and after."""
    calm, shift = model.bursts.calm, model.growth.shift_days_ago
    if shift is None or calm.shape[0] == 0:
        return calm
    since = model.days.day > model.days.day.max() - shift
    daily = calm.sum(axis=1)
    before, after = float(daily[~since].mean()) if (~since).any() else 0.0, float(daily[since].mean())
    return np.where(since[:, None], calm, calm * (after / before)) if before > 0 else calm


def _detrended(model: Model) -> np.ndarray:
    """Calm learned days at today's level (_level_calm), scaled to the window's mean level (so a trend is not
    counted twice: once in the resampled day, once in the factor ahead)."""
    calm = _level_calm(model)
    if not _trend_applies(model):
        return calm
    g = model.growth
    mean_day = float(calm.sum(axis=1).mean()) / 2**30
    on_day = g.level_gib_day + g.slope_gib_day2 * (model.days.day - model.days.day.max())
    scale = mean_day / np.maximum(on_day, 0.25 * mean_day)
    return np.asarray(calm * scale[:, None], dtype=float)


def _trend_factor(model: Model, times: np.ndarray, n_traces: int, rng: np.random.Generator) -> np.ndarray:
    """Growth factor per trace (rows) and horizon sample: fitted level ahead / mean calm level learned.

    The slope is drawn from its fitted uncertainty; see _trend_applies for when there is none."""
    g = model.growth
    if not _trend_applies(model):
        return np.ones((1, times.size))
    mean_day = float(_level_calm(model).sum(axis=1).mean()) / 2**30
    slope = rng.normal(g.slope_gib_day2, g.slope_se, size=(n_traces, 1))
    ahead = (times[None, :] - model.t_end) / 86_400 + 0.5
    factor = (g.level_gib_day + slope * ahead) / mean_day
    return np.clip(factor, 1.0 / MAX_TREND_FACTOR, MAX_TREND_FACTOR)


Events = list[tuple[np.ndarray, np.ndarray, np.ndarray]]   # (trace, burst, start sample) per group of bursts


def _add_bursts(out: np.ndarray, model: Model, cal: Calendar, rng: np.random.Generator, day_w: np.ndarray,
                donor: np.ndarray, size_jitter: bool, random_bursts: str) -> None:
    """Place weekly and random bursts into `out` (traces x samples), all traces at once.

    Random bursts either come with the learned day resampled for each horizon day (`donor`, traces x days:
    their count, timing and sizes as that day had them, so a nightly job is not drawn twice into one night),
    or ('poisson') arrive in Poisson counts at a rate drawn from its Gamma posterior, each at a resampled
    burst's time of day on a random day."""
    b = model.bursts
    if b.length.size == 0:
        return
    n = out.shape[1]
    start_of_day = np.searchsorted(cal.day, np.arange(int(cal.day.max()) + 1))  # first horizon sample of each day
    day_start = start_of_day - cal.slot[np.minimum(start_of_day, n - 1)]       # where slot 0 of each day falls
    burst_w = day_w[b.start_day]
    events = _weekly_events(model, cal, rng, out.shape[0], burst_w, start_of_day, day_start)
    rand = np.nonzero(b.weekly < 0)[0]
    if rand.size and random_bursts == "days":
        events.append(_resampled_day_events(b, rand, donor, day_w.size, day_start))
    elif rand.size:
        events.append(_poisson_events(b, rand, rng, out.shape[0], burst_w, day_w, n / model.days.values.shape[1],
                                      start_of_day.size, day_start))
    if events:
        _place(out, b, rng, events, size_jitter)


def _weekly_events(model: Model, cal: Calendar, rng: np.random.Generator, n_traces: int, burst_w: np.ndarray,
                   start_of_day: np.ndarray, day_start: np.ndarray) -> Events:
    """Weekly bursts: each cluster recurs in a horizon week with probability (weeks seen + 0.5) / (weeks + 1)."""
    b, events = model.bursts, []
    n_weeks = max((model.days.day.max() - model.days.day.min() + 1) // 7, 1)
    for k in range(int(b.weekly.max(initial=-1)) + 1):  # clusters (a handful), each vectorised over traces
        members = np.nonzero(b.weekly == k)[0]
        seen = np.unique((model.days.day[b.start_day[members]] - model.days.day.min()) // 7).size
        p = min((seen + 0.5) / (n_weeks + 1), 1.0)
        latest = members[np.argmax(b.start_day[members])]
        wd, slot = model.days.weekday[b.start_day[latest]], b.start_slot[latest]
        days_on = np.nonzero(cal.weekday[start_of_day] == wd)[0]
        if days_on.size == 0:
            continue
        hit = rng.random((n_traces, days_on.size)) < p
        ti, di = np.nonzero(hit)
        pick = rng.choice(members, size=ti.size, p=burst_w[members] / burst_w[members].sum())
        events.append((ti, pick, day_start[days_on[di]] + slot))
    return events


def _resampled_day_events(b: burst_model.Bursts, rand: np.ndarray, donor: np.ndarray, n_days: int,
                          day_start: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random bursts as each resampled learned day (`donor`, traces x horizon days) had them."""
    order = rand[np.argsort(b.start_day[rand], kind="stable")]
    per_day = np.bincount(b.start_day[order], minlength=n_days)
    first = np.concatenate([[0], np.cumsum(per_day)[:-1]])
    count = per_day[donor]                                   # traces x horizon days
    ti_d = np.repeat(np.arange(donor.size), count.reshape(-1))
    within = np.arange(ti_d.size) - np.repeat(np.cumsum(count.reshape(-1)) - count.reshape(-1), count.reshape(-1))
    pick = order[first[donor.reshape(-1)[ti_d]] + within]
    return ti_d // donor.shape[1], pick, day_start[ti_d % donor.shape[1]] + b.start_slot[pick]


def _poisson_events(b: burst_model.Bursts, rand: np.ndarray, rng: np.random.Generator, n_traces: int,
                    burst_w: np.ndarray, day_w: np.ndarray, horizon_days: float, n_hdays: int,
                    day_start: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random bursts in Poisson counts at a rate drawn afresh for each trace and horizon week.

    The rate's Gamma has the recency-weighted rate as its mean and as its shape the smaller of the rate's
    posterior shape and the over-dispersion of the learned days' burst counts (burst_model.dispersion_shape):
    bursts come in busy spells, so a week may bring several times the average or next to none."""
    posterior = burst_w[rand].sum() + 0.5
    shape = min(posterior, burst_model.dispersion_shape(b.start_day[rand], day_w.size))
    n_weeks = -(-n_hdays // 7)
    week_days = np.minimum(7, n_hdays - 7 * np.arange(n_weeks))            # horizon days in each week
    rate = rng.gamma(shape, posterior / day_w.sum() / shape, size=(n_traces, n_weeks))
    counts = rng.poisson(rate * horizon_days * week_days / n_hdays).reshape(-1)
    cell = np.repeat(np.arange(n_traces * n_weeks), counts)                # (trace, week) of each burst
    ti, week = np.divmod(cell, n_weeks)
    pick = rng.choice(rand, size=ti.size, p=burst_w[rand] / burst_w[rand].sum())
    day = 7 * week + rng.integers(0, week_days[week])
    return ti, pick, day_start[day] + b.start_slot[pick]


def _place(out: np.ndarray, b: burst_model.Bursts, rng: np.random.Generator, events: Events, size_jitter: bool) -> None:
    """Add each event's burst profile into `out` at its start, scaled by a lognormal size jitter if asked."""
    ti, pick, start = (np.concatenate([e[i] for e in events]) for i in range(3))
    jitter = silverman(np.log(np.maximum(b.volume, 1.0))) if size_jitter else 0.0
    scale = np.exp(rng.normal(0.0, jitter, size=pick.size)) if size_jitter else np.ones(pick.size)
    lens = b.length[pick]
    ev = np.repeat(np.arange(pick.size), lens)
    within = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
    pos = start[ev] + within
    ok = (pos >= 0) & (pos < out.shape[1])
    np.add.at(out, (ti[ev][ok], pos[ok]), b.profile[b.offset[pick][ev] + within][ok] * scale[ev][ok])


def silverman(x: np.ndarray) -> float:
    """Silverman's rule-of-thumb kernel bandwidth of `x` (0 for fewer than two values)."""
    if x.size < 2:
        return 0.0
    iqr = np.subtract(*np.percentile(x, [75, 25])) / 1.34
    spread = min(float(np.std(x, ddof=1)), iqr) if iqr > 0 else float(np.std(x, ddof=1))
    return float(0.9 * spread * x.size ** -0.2)
