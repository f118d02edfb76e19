// The drawing pad: strokes are kept as vectors in pad-relative units, so undo and resizing redraw them exactly.
import { apart } from "./apart.js";

const INK = "#1b1f24";
const PAPER = "#ffffff";
// Relative to the pad's height: about MNIST's stroke-to-digit ratio when a digit fills the pad.
const PEN_WIDTH = 1 / 16;
const ERASER_WIDTH = 1 / 5;
// A press that moves less than this many CSS pixels is a tap, which may select a box instead of drawing.
const TAP_DISTANCE = 4;

export class Pad {
  constructor(canvas) {
    this.canvas = canvas;
    this.$canvas = $(canvas);
    this.context = canvas.getContext("2d");
    this.strokes = [];
    this.current = null;
    this.erasing = false;
    this.frame = 0;
    // Counts changes to the strokes, so that a reading can say which state of the drawing it read.
    this.version = 0;

    new ResizeObserver(() => this.resize()).observe(canvas);
    this.resize();
    this.$canvas
      .on("pointerdown", (event) => this.begin(event.originalEvent))
      .on("pointermove", (event) => this.extend(event.originalEvent))
      .on("pointerup", (event) => this.end(event.originalEvent))
      .on("pointercancel", () => this.cancel());
    // A stroke is no gesture: without this, the browser reads a quick stroke as a flick and swallows the next tap
    // anywhere on the page (on a digit's chip, say) as the tap that stops the flick.
    canvas.addEventListener("touchstart", (event) => event.preventDefault(), { passive: false });
  }

  get hasInk() {
    return this.strokes.some((stroke) => !stroke.erase);
  }

  setErasing(erasing) {
    this.erasing = erasing;
    this.$canvas.toggleClass("is-erasing", erasing);
  }

  undo() {
    if (this.strokes.pop()) {
      this.changed();
    }
  }

  clear() {
    this.strokes = [];
    this.changed();
  }

  // A PNG of the drawing at the backing store's scale, with digits that touch moved apart (apart.js), the pad's
  // size, and `place`, which puts a box the service found on that PNG over the pad. After the eraser, strokes are
  // no longer the ink they drew, and the pad is sent as it is.
  snapshot() {
    const { canvas } = this;
    const size = { width: canvas.width, height: canvas.height };
    const pen = canvas.height * PEN_WIDTH;
    const { moves, wider, place } = this.strokes.some((stroke) => stroke.erase)
      ? { wider: 0, place: (box) => box }
      : apart(this.strokes.map((stroke) => this.ink(stroke, pen)), pen);
    if (wider === 0) {
      return { dataUrl: canvas.toDataURL("image/png"), ...size, place };
    }
    const sheet = document.createElement("canvas");
    sheet.width = canvas.width + Math.ceil(wider);
    sheet.height = canvas.height;
    const context = sheet.getContext("2d");
    this.paint(context, sheet);
    this.strokes.forEach((stroke, index) => {
      context.setTransform(1, 0, 0, 1, moves[index], 0);
      this.drawStroke(stroke, context);
    });
    return { dataUrl: sheet.toDataURL("image/png"), ...size, place };
  }

  // A stroke's ink in the backing store's pixels: its points' box widened by half the pen, and its two ends (where it
  // starts, then where it stops).
  ink(stroke, pen) {
    const { width, height } = this.canvas;
    const points = stroke.points.map((point) => [point.x * width, point.y * height]);
    // A loop rather than Math.min(...xs): a long stroke has more points than a call takes arguments.
    const box = { left: Infinity, top: Infinity, right: -Infinity, bottom: -Infinity };
    for (const [x, y] of points) {
      box.left = Math.min(box.left, x - pen / 2);
      box.top = Math.min(box.top, y - pen / 2);
      box.right = Math.max(box.right, x + pen / 2);
      box.bottom = Math.max(box.bottom, y + pen / 2);
    }
    return { box, ends: [points[0], points[points.length - 1]] };
  }

  resize() {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(this.canvas.clientWidth * ratio);
    const height = Math.round(this.canvas.clientHeight * ratio);
    if (width && height && (width !== this.canvas.width || height !== this.canvas.height)) {
      this.canvas.width = width;
      this.canvas.height = height;
      this.render();
    }
  }

  begin(event) {
    if (event.button !== 0 || this.current) {
      return;
    }
    event.preventDefault();
    this.canvas.setPointerCapture(event.pointerId);
    this.current = { erase: this.erasing, points: [this.point(event)], pointerId: event.pointerId, travel: 0 };
    this.strokes.push(this.current);
    this.$canvas.trigger("pad:start");
    this.scheduleRender();
  }

  extend(event) {
    if (!this.current || event.pointerId !== this.current.pointerId) {
      return;
    }
    // Coalesced events keep fast strokes smooth on screens that report more often than they paint.
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    for (const each of events.length ? events : [event]) {
      this.addPoint(this.point(each));
    }
    this.scheduleRender();
  }

  end(event) {
    const stroke = this.current;
    if (!stroke || event.pointerId !== stroke.pointerId) {
      return;
    }
    this.current = null;
    if (stroke.travel < TAP_DISTANCE && !stroke.erase) {
      const tap = $.Event("pad:tap", { point: stroke.points[0] });
      this.$canvas.trigger(tap);
      if (tap.isDefaultPrevented()) {
        this.strokes.pop();
        this.render();
        return;
      }
    }
    this.changed();
  }

  cancel() {
    if (this.current) {
      this.strokes.pop();
      this.current = null;
      this.changed();
    }
  }

  point(event) {
    const rect = this.canvas.getBoundingClientRect();
    return { x: (event.clientX - rect.left) / rect.width, y: (event.clientY - rect.top) / rect.height };
  }

  addPoint(point) {
    const points = this.current.points;
    const last = points[points.length - 1];
    const { clientWidth, clientHeight } = this.canvas;
    this.current.travel += Math.hypot((point.x - last.x) * clientWidth, (point.y - last.y) * clientHeight);
    points.push(point);
  }

  changed() {
    this.version += 1;
    this.render();
    this.$canvas.trigger("pad:change");
  }

  scheduleRender() {
    if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.render();
      });
    }
  }

  render() {
    const { context, canvas } = this;
    this.paint(context, canvas);
    for (const stroke of this.strokes) {
      this.drawStroke(stroke, context);
    }
    this.$canvas.closest(".stage").toggleClass("has-ink", this.strokes.length > 0);
  }

  // Blank paper, and the pen's ends and joins.
  paint(context, canvas) {
    context.fillStyle = PAPER;
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.lineCap = "round";
    context.lineJoin = "round";
  }

  // Quadratic curves through the midpoints between samples smooth out the pointer's jitter. Points are placed
  // at the pad's size, whatever canvas `context` draws on.
  drawStroke(stroke, context) {
    const { canvas } = this;
    const at = (point) => [point.x * canvas.width, point.y * canvas.height];
    const points = stroke.points;
    const colour = stroke.erase ? PAPER : INK;
    const width = canvas.height * (stroke.erase ? ERASER_WIDTH : PEN_WIDTH);
    if (points.length === 1) {
      const [x, y] = at(points[0]);
      context.fillStyle = colour;
      context.beginPath();
      context.arc(x, y, width / 2, 0, 2 * Math.PI);
      context.fill();
      return;
    }
    context.strokeStyle = colour;
    context.lineWidth = width;
    context.beginPath();
    context.moveTo(...at(points[0]));
    for (let i = 1; i < points.length - 1; i += 1) {
      const [x, y] = at(points[i]);
      const [nextX, nextY] = at(points[i + 1]);
      context.quadraticCurveTo(x, y, (x + nextX) / 2, (y + nextY) / 2);
    }
    context.lineTo(...at(points[points.length - 1]));
    context.stroke();
  }
}
