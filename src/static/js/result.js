// The prediction view: the number, a box over each digit, the selected digit's probabilities and what the model saw.
import { modelInputUrl, versioned } from "./api.js";

const ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"];

export function percent(probability) {
  return probability < 0.0005 ? "<0.1%" : `${(probability * 100).toFixed(1)}%`;
}

function ordinal(index) {
  return ORDINALS[index] || `#${index + 1}`;
}

export class ResultView {
  constructor() {
    this.$readout = $(".readout");
    this.$number = $("#result");
    this.$summary = $(".readout__summary");
    this.$message = $(".message");
    this.$picker = $(".digit-picker");
    this.$caption = $(".chart__caption");
    this.$bars = $("#probabilities");
    this.$modelInput = $(".model-input");
    this.$overlays = $(".boxes");
    this.prediction = null;
    // Counts the answers shown, to tell apart what the model saw in successive readings of one drawing.
    this.answers = 0;
    this.$boxes = $();
    this.size = null;

    this.$bars.append(Array.from({ length: 10 }, (_, digit) => this.bar(digit)));
    this.$picker.on("click", ".digit-chip", (event) => this.select($(event.currentTarget).index()));
    this.$overlays.on("click", ".box", (event) => this.select($(event.currentTarget).index()));
  }

  bar(digit) {
    return $("<li>", { class: "bar" }).append(
      $("<span>", { class: "bar__digit", text: digit }),
      $("<span>", { class: "bar__track", "aria-hidden": "true" }).append($("<span>", { class: "bar__fill" })),
      $("<span>", { class: "bar__value", text: "–" }),
    );
  }

  busy() {
    this.$readout.addClass("is-busy");
    this.$message.prop("hidden", true);
    this.$summary.text("Reading…");
  }

  // `overlay` is the boxes layer over the image that was sent, with that image's size in pixels.
  show(prediction, overlay) {
    this.prediction = prediction;
    this.answers += 1;
    this.$overlays.empty().removeClass("is-stale");
    this.$boxes = overlay.$boxes;
    this.size = overlay.size;
    this.$readout.removeClass("is-busy");
    this.$message.prop("hidden", true);
    this.$number.text(prediction.number);
    this.$summary.text(this.summary(prediction));
    // One digit needs no picker: the chart already shows it.
    const several = prediction.digits.length > 1;
    this.$picker.empty().append(several ? prediction.digits.map((found, index) => this.chip(found, index)) : []);
    this.drawBoxes();
    this.showModelInput(prediction);
    this.select(0);
  }

  chip(found, index) {
    const confidence = percent(found.confidence);
    return $("<button>", {
      type: "button",
      class: "digit-chip",
      "aria-pressed": "false",
      "aria-label": `Digit ${index + 1}: ${found.digit}, ${confidence}`,
    }).append($("<strong>", { text: found.digit }), $("<span>", { text: confidence }));
  }

  summary(prediction) {
    const confidences = prediction.digits.map((found) => found.confidence);
    if (confidences.length === 1) {
      return `${percent(confidences[0])} sure`;
    }
    const [least, most] = [Math.min(...confidences), Math.max(...confidences)];
    return `${confidences.length} digits, each ${percent(least)} to ${percent(most)} sure`;
  }

  drawBoxes() {
    if (!this.size) {
      return;
    }
    const { width, height } = this.size;
    this.$boxes.append(this.prediction.digits.map((found) => {
      const box = found.box;
      return $("<div>", { class: "box" })
        .toggleClass("is-low", box.y / height < 0.15)
        .css({
          left: `${(box.x / width) * 100}%`,
          top: `${(box.y / height) * 100}%`,
          width: `${(box.width / width) * 100}%`,
          height: `${(box.height / height) * 100}%`,
        })
        .append($("<span>", { class: "box__tag", text: found.digit }));
    }));
  }

  showModelInput(prediction) {
    const count = prediction.digits.length;
    this.$modelInput.prop("hidden", prediction.id == null);
    if (prediction.id != null) {
      this.$modelInput.find("img").attr({
        src: versioned(modelInputUrl(prediction.id), this.answers),
        alt: count === 1 ? "The digit as the model saw it" : `The ${count} digits as the model saw them`,
      });
    }
  }

  select(index) {
    const digits = this.prediction ? this.prediction.digits : [];
    if (!digits[index]) {
      return;
    }
    const found = digits[index];
    this.$picker.children().attr("aria-pressed", "false").eq(index).attr("aria-pressed", "true");
    this.$boxes.children().removeClass("is-selected").eq(index).addClass("is-selected");
    this.$caption.text(digits.length === 1
      ? "Probability of each digit"
      : `Probabilities for the ${ordinal(index)} digit, read as ${found.digit}`);
    this.$bars.children().each((digit, item) => {
      const probability = found.probabilities[digit];
      $(item).toggleClass("is-top", digit === found.digit);
      $(item).find(".bar__fill").css("width", `${probability * 100}%`);
      $(item).find(".bar__value").text(percent(probability));
    });
  }

  // The index of the box under a point given as a fraction of the image's width and height.
  boxAt(point) {
    if (!this.prediction || !this.size || this.$boxes.hasClass("is-stale")) {
      return -1;
    }
    const x = point.x * this.size.width;
    const y = point.y * this.size.height;
    return this.prediction.digits.findIndex(({ box }) =>
      x >= box.x && x <= box.x + box.width && y >= box.y && y <= box.y + box.height);
  }

  stale() {
    this.$boxes.addClass("is-stale");
  }

  reset() {
    this.prediction = null;
    this.$overlays.empty().removeClass("is-stale");
    this.$boxes = $();
    this.$readout.removeClass("is-busy");
    this.$number.text("");
    this.$summary.text("");
    this.$message.prop("hidden", true);
    this.$picker.empty();
    this.$modelInput.prop("hidden", true);
    this.$caption.text("Probability of each digit");
    this.$bars.children().removeClass("is-top").find(".bar__fill").css("width", "0");
    this.$bars.find(".bar__value").text("–");
  }

  // A failure replaces the result, so nothing left on screen looks like an answer to the new input.
  fail(message, { error = true } = {}) {
    this.reset();
    this.$message.text(message).toggleClass("is-error", error).prop("hidden", false);
  }
}
