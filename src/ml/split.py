"""Candidate cuts through a blob of ink that may hold several touching digits.

People writing fast let neighbouring digits touch or overlap, and the ink of "2024" becomes
one connected blob. A cut is a seam from the blob's top to its bottom: a slanted line, as
handwriting leans, that may swerve a little to cross less ink where two digits touch. One
cut is offered in every narrow stretch of the blob (the one crossing least ink there); which
are kept is decided by what the classifier reads in the pieces between them (`best_chain`),
and each cut kept is then moved to the column nearby whose pieces read best (`Seams.near`).
"""

from dataclasses import dataclass

import cv2
import numpy as np

from .segment import DigitInk

SEAM_ROWS = 40
"""Seams are searched on the blob shrunk to this height: a cut needs no finer path."""
SLANTS = (-0.4, -0.2, 0.0, 0.2, 0.4)
"""The slants of the lines a seam follows, in columns per row."""
SWERVE = 0.03
"""How far a seam may swerve from its line, as a share of the blob's height. Little: a seam that may
wander far goes round one digit's strokes instead of between two digits."""
TURN_COST = 0.15
"""What a step sideways costs a seam, in units of solid ink crossed."""
CUT_SPACING = 0.08
"""One candidate cut is offered in every stretch of the blob this share of its height wide. Closer cuts let
more touching numbers find a cut near each join (docs/performance.md); closer still, more chains of
confidently misread fragments win."""
MOVE_REACH = 0.12
"""How far, as a share of the blob's height, a cut that was kept may move to where its pieces read best."""
MAX_CUTS = 40
EDGE = 0.08
"""No cut comes nearer the blob's sides than this share of its height."""
WIDEST = 1.3
"""No digit is wider than this share of the blob's height."""
SHORTEST = 0.55
"""No digit is shorter than this share of the blob's height: the digits of a number stand about as
high as each other, and a shorter piece is a stroke of one of them."""
MIN_PIECE_INK = 0.01
"""A piece holding less than this share of the blob's ink is a sliver, not a digit, and a chain of pieces
passes it by at no cost. Low: a 1 in a number of four touching digits may hold under 4% of its ink, and
a 1 taken for a sliver is a digit lost from the number read."""
FRAGMENT = 0.25
"""A stroke a cut severed from the rest of its digit, less than this share of a piece's largest
stroke, is a neighbour's and is left out of the piece: it would change the piece's box, which the
digit is scaled and centred by."""


class Seams:
    """Every cut through a blob: for each column of the blob shrunk to SEAM_ROWS, the seam crossing
    the middle row there that crosses least ink."""

    def __init__(self, intensity: np.ndarray):
        height, width = intensity.shape
        self.height, self.width, self.factor = height, width, min(1.0, SEAM_ROWS / height)
        small = (
            intensity
            if self.factor == 1.0
            else cv2.resize(intensity, (max(1, round(width * self.factor)), SEAM_ROWS), interpolation=cv2.INTER_AREA)
        )
        rows, self.columns = small.shape
        swerve = max(1, round(SWERVE * rows))
        self.offsets = np.arange(-swerve, swerve + 1)
        # Beyond the blob's sides there is no ink: padding makes every position readable.
        padded = np.pad(small, ((0, 0), (self.columns + swerve, self.columns + swerve)))
        middles = np.arange(self.columns)
        self.found = []  # for each slant: the least ink crossed along each line, where it ends, the moves
        for slant in SLANTS:
            lines = middles[:, None] + np.rint(slant * (np.arange(rows) - rows / 2)).astype(int)[None, :]
            cost = np.zeros((self.columns, len(self.offsets)))
            moves = np.zeros((rows, self.columns, len(self.offsets)), np.int8)
            for row in range(rows):
                crossed = padded[row, lines[:, row : row + 1] + self.offsets[None, :] + self.columns + swerve]
                if row:
                    left = np.pad(cost[:, :-1], ((0, 0), (1, 0)), constant_values=np.inf) + TURN_COST
                    right = np.pad(cost[:, 1:], ((0, 0), (0, 1)), constant_values=np.inf) + TURN_COST
                    choices = np.stack([left, cost, right])
                    moves[row] = choices.argmin(axis=0) - 1
                    cost = choices.min(axis=0)
                cost = cost + crossed
            self.found.append((cost.min(axis=1), cost.argmin(axis=1), lines, moves))
        costs = np.stack([least for least, *_ in self.found])
        self.cost, self.slant = costs.min(axis=0), costs.argmin(axis=0)
        self.edge = max(2, round(EDGE * rows))
        self._paths: dict[int, np.ndarray] = {}

    def coarse(self) -> list[int]:
        """One cut in every stretch CUT_SPACING of the height wide: the one crossing least ink there."""
        spacing = max(1, round(CUT_SPACING * SEAM_ROWS))
        stretches = range(self.edge, self.columns - self.edge, spacing)
        return [s + int(self.cost[s : min(s + spacing, self.columns - self.edge)].argmin()) for s in stretches][
            :MAX_CUTS
        ]

    def near(self, middle: int, reach: float = MOVE_REACH) -> list[int]:
        """Every cut within `reach` of the blob's height of the cut at `middle`."""
        step = round(reach * SEAM_ROWS)
        return list(range(max(self.edge, middle - step), min(self.columns - self.edge, middle + step + 1)))

    def left_of(self, middle: int | None) -> np.ndarray:
        """Which of the blob's pixels lie left of a cut; None is the blob's right edge."""
        if middle is None:
            return np.ones((self.height, self.width), bool)
        return np.arange(self.width)[None, :] < self.path(middle)[:, None]

    def path(self, middle: int) -> np.ndarray:
        """The column of the cut at every row of the blob."""
        if middle not in self._paths:
            _, ends, lines, moves = self.found[self.slant[middle]]
            offset, rows = ends[middle], len(lines[middle])
            path = np.empty(rows)
            for row in range(rows - 1, -1, -1):
                path[row] = lines[middle, row] + self.offsets[offset]
                offset += moves[row, middle, offset]
            # Back to the blob's own rows and columns.
            self._paths[middle] = (
                np.interp((np.arange(self.height) + 0.5) * self.factor - 0.5, np.arange(rows), path) / self.factor
            )
        return self._paths[middle]


def between(
    blob: DigitInk, seams: Seams, left: int | None, right: int | None, min_ink: float = MIN_PIECE_INK
) -> DigitInk | None:
    """The ink between two cuts (None: the blob's edge), without the fragments of neighbours the
    cuts severed, or None if that is a sliver (less than `min_ink` of the blob's ink)."""
    keep = seams.left_of(right)
    if left is not None:
        keep &= ~seams.left_of(left)
    ink = np.where(keep, blob.intensity, 0.0)
    if ink.sum() < min_ink * blob.intensity.sum():
        return None
    count, labels, stats, _ = cv2.connectedComponentsWithStats((ink > 0).astype(np.uint8), connectivity=8)
    if count > 2:
        # Pixels on a cut: inside the piece, with a neighbour in the row outside it (but inside the blob).
        padded = np.pad(keep, ((0, 0), (1, 1)))
        on_cut = keep & ~(padded[:, :-2] & padded[:, 2:])
        on_cut[:, [0, -1]] = False
        areas = stats[1:, cv2.CC_STAT_AREA]
        severed = np.zeros(count, bool)
        severed[np.unique(labels[on_cut & (labels > 0)])] = True
        small = np.concatenate([[False], areas < FRAGMENT * areas.max()])
        keep &= ~(severed & small)[labels]
    if blob.intensity[keep].max(initial=0.0) < 0.5:
        return None  # no solid stroke, only the faint edges of strokes
    return blob.part(keep)


@dataclass(frozen=True)
class Candidates:
    """The pieces a blob may be cut into: piece i runs from cut spans[i][0] to cut spans[i][1] of
    `cuts`, where None stands for the blob's left and right edges."""

    pieces: list[DigitInk]
    spans: list[tuple[int, int]]
    cuts: list[int | None]
    slivers: list[tuple[int, int]]
    """Intervals between neighbouring cuts with next to no ink: a chain may pass them by."""


def candidate_pieces(blob: DigitInk, seams: Seams) -> Candidates:
    """Every run of intervals between the blob's coarse cuts narrow enough to be a digit, as a piece of ink."""
    cuts = [None, *seams.coarse(), None]
    middles = [0, *cuts[1:-1], seams.columns]
    pieces, spans, slivers = [], [], []
    for start in range(len(cuts) - 1):
        for end in range(start + 1, len(cuts)):
            if middles[end] - middles[start] > WIDEST * SEAM_ROWS:
                break
            if (start, end) == (0, len(cuts) - 1):
                continue  # the whole blob, read already
            piece = between(blob, seams, cuts[start], cuts[end])
            if piece is not None and piece.intensity.shape[0] < SHORTEST * blob.intensity.shape[0]:
                continue  # a stroke of a digit beside it, which would read as a 1 or a 7 of its own
            if piece is not None:
                pieces.append(piece)
                spans.append((start, end))
            elif end == start + 1:
                slivers.append((start, end))
    return Candidates(pieces=pieces, spans=spans, cuts=cuts, slivers=slivers)


def best_chain(candidates: Candidates, scores: np.ndarray) -> list[int] | None:
    """The pieces that cover the blob from its left edge to its right with the highest total score,
    or None when no chain of pieces does. A score is a piece's log-probability of being the digit
    read in it; -inf for a piece that is not a digit."""
    last = len(candidates.cuts) - 1
    best = np.full(last + 1, -np.inf)
    best[0] = 0.0
    came_from: dict[int, tuple[int, int | None]] = {}
    # Slivers are passed by at no cost; a span's index is None there.
    edges = [(span, i, scores[i]) for i, span in enumerate(candidates.spans)]
    edges += [(span, None, 0.0) for span in candidates.slivers]
    for (start, end), index, score in sorted(edges, key=lambda edge: edge[0]):
        if best[start] + score > best[end]:
            best[end] = best[start] + score
            came_from[end] = (start, index)
    if not np.isfinite(best[last]):
        return None
    chain, node = [], last
    while node != 0:
        node, index = came_from[node]
        if index is not None:
            chain.append(index)
    return chain[::-1] or None
