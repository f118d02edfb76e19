// Digits drawn touching, sent apart. Once two digits touch, their ink is one blob that the service must cut, and
// it often cuts it wrong; the pad still knows which strokes are which digit. Its strokes are grouped into digits
// as the engine groups the pieces of ink it finds (src/ml/segment.py, whose constants these are), with what only
// the pad knows: which strokes the pen drew on from, and which stand side by side. Each group whose ink comes
// within CLEAR of a pen's width of the one on its left is moved right until it does not: digits that touch reach
// the service apart, and a number written with its digits apart is sent as it was drawn.

// A quarter of the pen's width: ink this far apart stays apart once drawn, anti-aliased and read.
const CLEAR = 1 / 4;

// Pieces whose columns overlap by this share of the narrower one are strokes of one digit ...
const MIN_OVERLAP = 0.5;
// ... and so are pieces sharing columns one above the other, their rows overlapping by less than this share of
// the shorter one ...
const MAX_STACKED = 0.3;
// ... and a piece shorter than SHORT_PIECE of its neighbour's height, within MAX_GAP of that height beside it.
const SHORT_PIECE = 0.6;
const MAX_GAP = 0.3;

// Strokes the pen drew on from are one digit only while together no wider than this share of their height: a
// neighbour's stroke may end where one of a digit's did, and two digits side by side are wider.
const WIDEST = 0.9;
// Two pieces that share at least TALL of the rows they span together, the narrower one's middle within EDGE of the
// wider one's width from its side, are two digits side by side however much their columns overlap (a narrow 1
// against its neighbour): the strokes of one digit cross nearer its middle (the bar of a 7, a slashed 0), or span
// other rows (the loop of a 9 beside its stem, the bar of a 4 that ends at the stem).
const TALL = 0.9;
const EDGE = 0.15;
// A piece no wider than this share of its height is a line, as a 1 is: a line side by side with a piece it meets
// is a 1 its neighbour was started from (a 7 whose bar begins at the top of the 1 before it), not a stroke the
// neighbour goes on from.
const THIN = 0.25;

// How far the columns of two boxes overlap (below zero: how far apart they are).
function sharedColumns(a, b) {
  return Math.min(a.right, b.right) - Math.max(a.left, b.left);
}

function overlapping(a, b) {
  return sharedColumns(a, b) >= MIN_OVERLAP * Math.min(a.right - a.left, b.right - b.left);
}

function sameDigit(a, b) {
  const overlap = sharedColumns(a, b);
  const sharedRows = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
  if (overlapping(a, b) || (overlap > 0 && sharedRows < MAX_STACKED * Math.min(a.bottom - a.top, b.bottom - b.top))) {
    return true;
  }
  const [short, tall] = [a.bottom - a.top, b.bottom - b.top].sort((x, y) => x - y);
  return short < SHORT_PIECE * tall && -overlap <= MAX_GAP * tall;
}

function sideBySide(a, b) {
  const shared = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
  const spanned = Math.max(a.bottom, b.bottom) - Math.min(a.top, b.top);
  const [narrow, wide] = a.right - a.left < b.right - b.left ? [a, b] : [b, a];
  const middle = ((narrow.left + narrow.right) / 2 - wide.left) / (wide.right - wide.left);
  return shared >= TALL * spanned && (middle <= EDGE || middle >= 1 - EDGE);
}

function union(a, b) {
  return {
    left: Math.min(a.left, b.left),
    top: Math.min(a.top, b.top),
    right: Math.max(a.right, b.right),
    bottom: Math.max(a.bottom, b.bottom),
  };
}

// Pieces ({box, ends, start, strokes}) with every two that `together` says belong together made one, in any
// order. A piece made of several starts where the last of them to come did: the latest drawn, in drawing order.
function joined(pieces, together) {
  const out = [];
  for (let piece of pieces) {
    let other;
    while ((other = out.findIndex((found) => together(found, piece))) >= 0) {
      const [found] = out.splice(other, 1);
      piece = {
        box: union(found.box, piece.box),
        ends: [...found.ends, ...piece.ends],
        start: piece.start,
        strokes: [...found.strokes, ...piece.strokes],
      };
    }
    out.push(piece);
  }
  return out;
}

// Strokes grouped into digits, left to right: each group's box and the indices of its strokes. A stroke is its
// ink's box ({left, top, right, bottom}) and its two ends ([x, y]), the first where it starts; strokes come in the
// order they were drawn. The pad knows what the engine cannot: a stroke that starts at an end of one drawn before
// it continues it (the pen went on where it was lifted: a 0 drawn as two arcs, a 5's bar; but see WIDEST and
// THIN), strokes whose columns overlap by half the narrower are one digit whatever their order (the two loops of
// an 8, which then is no short piece beside its neighbour), and pieces side by side (TALL, EDGE) are two digits
// however much their columns overlap. Then pieces are grouped from left to right as the engine groups them, but
// for pieces side by side.
export function digitGroups(strokes, pen) {
  const near = ([x, y], [u, v]) => Math.hypot(x - u, y - v) <= pen;
  const thin = (box) => box.right - box.left <= THIN * (box.bottom - box.top);
  const goesOn = (before, after) => {
    const both = union(before.box, after.box);
    if (both.right - both.left > WIDEST * (both.bottom - both.top)) return false;
    if ((thin(before.box) || thin(after.box)) && sideBySide(before.box, after.box)) return false;
    return before.ends.some((end) => near(end, after.start));
  };
  const overlaid = (a, b) => overlapping(a, b) && !sideBySide(a, b);
  const first = strokes.map((stroke, index) => ({
    box: stroke.box,
    ends: stroke.ends,
    start: stroke.ends[0],
    strokes: [index],
  }));
  const pieces = joined(joined(first, goesOn), (a, b) => overlaid(a.box, b.box));
  const groups = [];
  for (const piece of pieces.sort((a, b) => a.box.left - b.box.left)) {
    const last = groups[groups.length - 1];
    if (last && sameDigit(last.box, piece.box) && !sideBySide(last.box, piece.box)) {
      last.box = union(last.box, piece.box);
      last.strokes.push(...piece.strokes);
    } else {
      groups.push({ box: piece.box, strokes: [...piece.strokes] });
    }
  }
  return groups;
}

// How far right each stroke moves so that every digit stands CLEAR of the one before, how much wider that makes
// the drawing, and `place`, which takes a box on the moved drawing back to the drawing as it is.
export function apart(strokes, pen) {
  const groups = digitGroups(strokes, pen);
  const moves = new Array(strokes.length).fill(0);
  // How far right the moved drawing reaches so far.
  let move = 0;
  let reach = -Infinity;
  groups.forEach((group) => {
    move = Math.max(move, reach + CLEAR * pen - group.box.left);
    reach = Math.max(reach, group.box.right + move);
    group.move = move;
    group.strokes.forEach((stroke) => {
      moves[stroke] = move;
    });
  });
  // Moved, digits stand apart: an edge of a box belongs to the digit on its side of the middle of the gaps
  // around it (the service's boxes and these differ by a pixel or two of anti-aliasing).
  const middles = groups.slice(1).map((group, index) => {
    const before = groups[index];
    return (before.box.right + before.move + group.box.left + group.move) / 2;
  });
  const back = (x) => {
    const owner = groups[middles.filter((middle) => middle <= x).length];
    return x - (owner ? owner.move : 0);
  };
  const place = (box) => {
    const left = back(box.x);
    return { ...box, x: left, width: Math.max(back(box.x + box.width) - left, 0) };
  };
  return { moves, wider: move, place };
}
