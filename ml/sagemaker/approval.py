"""Champion and challenger: two registry versions scored on the same customers, and approval.

``compare`` scores both versions on the newer one's registered test customers, each encoding
them with its own feature schema and deciding at its own cutoff, with the newer one's cost
matrix: cost per 1,000 customers, AUC, confusion. ``approve`` runs that comparison against the
champion (the latest Approved version) and refuses a challenger that costs more unless forced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import xgboost as xgb

from ml.config import CostMatrix
from ml.data.dataset import parse_raw
from ml.features.schema import encode_frame, labels
from ml.model import evaluate as ev
from ml.model.bundle import MODEL_ARCHIVE, load_archive
from ml.model.train import predict
from ml.sagemaker.aws import Aws
from ml.sagemaker.registry import APPROVED, TEST_FILE, Version, champion, check_note, find, get, versions
from ml.sagemaker.tf_outputs import SetupError


class Refused(RuntimeError):
    """approve would make a costlier model the champion without force."""


@dataclass(frozen=True)
class Score:
    version: int
    cutoff: float
    auc: float
    cost_per_1000: float
    confusion: dict[str, int]


def held_out_customers(aws: Aws, v: Version) -> pd.DataFrame:
    """The customers the version was tested on, validated as any raw data is."""
    return parse_raw(get(aws.s3, v.prefix + TEST_FILE), f"version {v.number}'s {TEST_FILE}")


def booster(aws: Aws, v: Version, workdir: Path) -> xgb.Booster:
    target = workdir / f"v{v.number}-{MODEL_ARCHIVE}"
    target.write_bytes(get(aws.s3, v.model_url))
    return load_archive(target)


def split_of(a: Version, b: Version) -> Version:
    """Whose test customers a comparison uses: the newer version's (its split is the latest data)."""
    return max(a, b, key=lambda v: v.number)


def compare(aws: Aws, candidate: Version, other: Version, workdir: Path) -> tuple[Score, Score]:
    """Both versions scored on the newer one's test customers, each at its own cutoff, with its costs."""
    split = split_of(candidate, other)
    customers = held_out_customers(aws, split)
    y = labels(customers)
    costs = CostMatrix(**split.metrics["costs"])
    scores = []
    for v in (candidate, other):
        model, x = booster(aws, v, workdir), encode_frame(customers, v.schema)
        if model.num_features() != x.shape[1]:
            raise SetupError(
                f"version {v.number}'s model takes {model.num_features()} columns, its feature schema"
                f" encodes {x.shape[1]}: the version's objects do not belong together"
            )
        s = predict(model, x)
        matrix = ev.confusion(y, s, v.cutoff)
        auc = ev.split_metrics(y, s, v.cutoff, costs)["auc"]  # None when the split has one class
        auc = float(auc) if isinstance(auc, float) else float("nan")
        cost = 1000.0 * ev.cost(matrix, costs) / len(y)
        scores.append(Score(v.number, v.cutoff, auc, cost, matrix))
    return scores[0], scores[1]


def comparison_text(a: Score, b: Score, split: Version) -> str:
    lines = [f"on version {split.number}'s test split ({int(split.test['rows'])} rows):"]
    for s in (a, b):
        c = s.confusion
        lines.append(
            f"  version {s.version}: ${s.cost_per_1000:,.0f} per 1,000 customers at cutoff {s.cutoff:.2f},"
            f" AUC {s.auc:.3f}, tp {c['tp']} fp {c['fp']} fn {c['fn']} tn {c['tn']}"
        )
    return "\n".join(lines)


def approve(
    aws: Aws, group: str, number: int, note: str, force: bool, workdir: Path, say: Callable[[str], None] = print
) -> Version:
    if not note.strip():
        raise SetupError('approving needs a note (NOTE="why this model"): it is what the registry keeps')
    check_note(note)
    found = versions(aws, group)
    candidate = find(found, number)
    if candidate.status == APPROVED:
        say(f"version {number} is already Approved ({candidate.approved_at}): {candidate.note}")
        return candidate
    current = champion([v for v in found if v.number != number])
    if current is None:
        say(f"no approved version yet: version {number} becomes the first champion")
    else:
        mine, theirs = compare(aws, candidate, current, workdir)
        say(comparison_text(mine, theirs, split_of(candidate, current)))
        if mine.cost_per_1000 > theirs.cost_per_1000:
            if not force:
                raise Refused(
                    f"version {number} costs ${mine.cost_per_1000:,.0f} per 1,000 customers against the champion"
                    f" (version {current.number})'s ${theirs.cost_per_1000:,.0f}: not approved"
                    " (FORCE=1 to approve anyway)"
                )
            say(f"version {number} costs more than the champion: approved anyway (force)")
    aws.sm.update_model_package(ModelPackageArn=candidate.arn, ModelApprovalStatus=APPROVED, ApprovalDescription=note)
    return find(versions(aws, group), number)
