// The prediction view: the number, a box over each digit, the selected digit's probabilities and what the model saw.
// Where the model hesitates it offers the runner-up in one tap, and each digit's chip opens a picker to correct it.
import { correctPrediction, explain, getPrediction, modelInputUrl, versioned } from "./api.js";

const ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"];
// Below this the model is wrong about one time in four on MNIST's test digits (its calibration, in the README),
// so the runner-up is offered.
const HESITANT_BELOW = 0.9;
// Answers give probabilities to four decimals: anything from 0.9995 up would print as 100.0%, a certainty no model has.
const NEARLY_CERTAIN = 0.9995;
const NEARLY_NONE = 0.0005;

export function percent(probability) {
  if (probability >= NEARLY_CERTAIN) {
    return ">\u00a099.9%";
  }
  if (probability < NEARLY_NONE) {
    return "<\u00a00.1%";
  }
  return `${(probability * 100).toFixed(1)}%`;
}

// How sure the model is of a reading's digits, in words.
export function howSure(confidences) {
  const least = Math.min(...confidences);
  if (confidences.length === 1) {
    return `${percent(least)} sure`;
  }
  return least >= NEARLY_CERTAIN ? `each ${percent(least)} sure` : `the least sure at ${percent(least)}`;
}

// Ink the engine left out of the number (a scribble, digits it could not read apart), in words: a person
// who wrote more than was read should not have to guess why. Stored predictions do not keep it.
function leftOut(marks) {
  if (!marks) {
    return "";
  }
  return marks === 1 ? "; one mark left out, not read as a digit" : `; ${marks} marks left out, not read as digits`;
}

function ordinal(index) {
  return ORDINALS[index] || `#${index + 1}`;
}

// The digit with the second highest probability.
function runnerUp(found) {
  const ranked = found.probabilities.map((probability, digit) => ({ probability, digit }))
    .sort((a, b) => b.probability - a.probability);
  return ranked.find(({ digit }) => digit !== found.digit).digit;
}

function replaced(number, index, digit) {
  return number.slice(0, index) + digit + number.slice(index + 1);
}

export class ResultView {
  constructor({ onCorrected = () => {} } = {}) {
    this.onCorrected = onCorrected;
    this.$card = $(".result");
    this.$hint = $(".result__hint");
    this.$readout = $(".readout");
    this.$number = $("#result");
    this.$suggestions = $(".suggestions");
    this.$summary = $(".readout__summary");
    this.$message = $(".message");
    this.$chips = $(".digit-chips");
    this.$fix = $(".digit-fix");
    this.$fixPrompt = $(".digit-fix__prompt");
    this.$caption = $(".chart__caption");
    this.$bars = $("#probabilities");
    this.$modelInput = $(".model-input");
    this.$overlays = $(".boxes");
    this.prediction = null;
    this.label = null;
    // The version of the stored prediction this view shows, once a correction or the history has told it: a
    // correction names it, so that one made in another tab since is not overwritten (the service answers 412).
    this.etag = null;
    this.selected = 0;
    this.fixing = -1;
    // Counts the answers shown, to tell apart what the model saw in successive readings of one drawing.
    this.answers = 0;
    this.$boxes = $();
    this.size = null;

    this.$bars.append(Array.from({ length: 10 }, (_, digit) => this.bar(digit)));
    this.$fix.find(".digit-fix__keys").append(Array.from({ length: 10 }, (_, digit) =>
      $("<button>", { type: "button", class: "digit-key", text: digit, "data-digit": digit })));
    this.$chips.on("click", ".digit-chip", (event) => this.toggleFix($(event.currentTarget).index()));
    this.$fix.on("click", ".digit-key", (event) => this.correct(this.fixing, $(event.currentTarget).data("digit")));
    this.$fix.on("keydown", (event) => {
      if (event.key === "Escape") {
        this.closeFix({ focus: true });
      }
    });
    this.$suggestions.on("click", ".suggestion", (event) => {
      const $button = $(event.currentTarget);
      this.correct($button.data("index"), $button.data("digit"));
    });
    this.$overlays.on("click", ".box", (event) => this.select($(event.currentTarget).index()));
    this.reset();
  }

  bar(digit) {
    return $("<li>", { class: "bar" }).append(
      $("<span>", { class: "bar__digit", text: digit }),
      $("<span>", { class: "bar__track", "aria-hidden": "true" }).append($("<span>", { class: "bar__fill" })),
      $("<span>", { class: "bar__value", text: "" }),
    );
  }

  busy() {
    this.$readout.addClass("is-busy");
    this.$message.prop("hidden", true);
    this.$hint.prop("hidden", true);
    this.$summary.text("Reading…");
    this.closeFix();
  }

  // `overlay` is the boxes layer over the image that was sent, with that image's size in pixels.
  show(prediction, overlay) {
    this.prediction = prediction;
    this.answers += 1;
    this.label = null;
    this.etag = null;
    this.selected = 0;
    this.$overlays.empty().removeClass("is-stale");
    this.$boxes = overlay.$boxes;
    this.size = overlay.size;
    this.$card.removeClass("is-empty");
    this.$readout.removeClass("is-busy");
    this.$message.prop("hidden", true);
    this.$hint.prop("hidden", true);
    this.closeFix();
    this.render();
    this.showModelInput(prediction);
  }

  // What the person says was written where they said so, else what the model read.
  get number() {
    return this.label ?? this.prediction.number;
  }

  render() {
    const prediction = this.prediction;
    this.$number.text(this.number);
    this.$summary.text(this.summary());
    this.$suggestions.empty().append(this.suggestions());
    this.$chips.empty().append(prediction.digits.map((found, index) => this.chip(found, index)));
    this.$boxes.empty();
    this.drawBoxes();
    this.select(this.selected);
  }

  // One button for each digit the model hesitated over, that puts its runner-up in the number, unless the
  // person has already said what was written.
  suggestions() {
    const prediction = this.prediction;
    if (this.label != null || prediction.id == null) {
      return [];
    }
    return prediction.digits.flatMap((found, index) => {
      if (found.confidence >= HESITANT_BELOW) {
        return [];
      }
      const digit = runnerUp(found);
      const number = replaced(prediction.number, index, digit);
      return [$("<button>", {
        type: "button",
        class: "suggestion",
        "data-index": index,
        "data-digit": digit,
        text: `or ${number}?`,
        "aria-label": `It is ${number}: correct the reading`,
      })];
    });
  }

  chip(found, index) {
    const shown = this.number[index];
    const corrected = shown !== String(found.digit);
    const note = corrected ? `read as ${found.digit}` : percent(found.confidence);
    return $("<button>", {
      type: "button",
      class: "digit-chip",
      "aria-pressed": "false",
      "aria-expanded": "false",
      "aria-controls": "digit-fix",
      "aria-label": `Digit ${index + 1}: ${shown}, ${corrected ? `corrected, ${note}` : note}. Correct it`,
    })
      .toggleClass("is-corrected", corrected)
      .append($("<strong>", { text: shown }), $("<span>", { text: note }));
  }

  summary() {
    const { number, digits } = this.prediction;
    if (this.label != null) {
      return this.label === number ? "Confirmed by you." : `Corrected by you: the model read ${number}.`;
    }
    const sure = howSure(digits.map((found) => found.confidence));
    return (digits.length === 1 ? sure : `${digits.length} digits, ${sure}`) + leftOut(this.prediction.marks);
  }

  drawBoxes() {
    if (!this.size) {
      return;
    }
    const { width, height } = this.size;
    this.$boxes.append(this.prediction.digits.map((found, index) => {
      const box = found.box;
      return $("<div>", { class: "box" })
        .toggleClass("is-low", box.y / height < 0.15)
        .css({
          left: `${(box.x / width) * 100}%`,
          top: `${(box.y / height) * 100}%`,
          width: `${(box.width / width) * 100}%`,
          height: `${(box.height / height) * 100}%`,
        })
        .append($("<span>", { class: "box__tag", text: this.number[index] }));
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
    this.selected = index;
    const found = digits[index];
    this.$chips.children().attr("aria-pressed", "false").eq(index).attr("aria-pressed", "true");
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

  // A chip selects its digit and opens the picker for it; a second tap closes the picker.
  toggleFix(index) {
    if (this.fixing === index) {
      this.closeFix();
      return;
    }
    this.select(index);
    if (this.prediction.id == null) {
      return;
    }
    this.fixing = index;
    const several = this.prediction.digits.length > 1;
    this.$fixPrompt.text(several ? `Tap what the ${ordinal(index)} digit should be` : "Tap the digit you wrote");
    this.$fix.find(".digit-key").each((digit, key) => {
      $(key).attr("aria-pressed", String(String(digit) === this.number[index])).prop("disabled", false);
    });
    this.$message.prop("hidden", true);
    this.$chips.children().attr("aria-expanded", "false").eq(index).attr("aria-expanded", "true");
    this.$fix.prop("hidden", false);
  }

  closeFix({ focus = false } = {}) {
    const index = this.fixing;
    this.fixing = -1;
    this.$fix.prop("hidden", true);
    this.$chips.children().attr("aria-expanded", "false");
    if (focus && index >= 0) {
      this.$chips.children().eq(index).trigger("focus");
    }
  }

  // Record that digit `index` is `digit`: one request, and the number shown becomes the person's.
  correct(index, digit) {
    const prediction = this.prediction;
    const label = replaced(this.number, index, String(digit));
    const $controls = this.$fix.find("button").add(this.$suggestions.find("button"));
    $controls.prop("disabled", true);
    correctPrediction(prediction.id, label, this.etag)
      .done((saved) => {
        if (this.prediction !== prediction) {
          return;
        }
        this.learn(saved);
        this.onCorrected(saved);
      })
      .fail((xhr) => {
        $controls.prop("disabled", false);
        if (this.prediction !== prediction) {
          return;
        }
        const message = explain(xhr, "correction");
        if (xhr.status === 412) {
          this.showChanged(prediction, message);
          return;
        }
        this.refused(message);
      });
  }

  // The stored prediction as another part of the page (the history) saved or read it: if it is the one shown, what
  // the person said it reads is shown too.
  corrected(stored) {
    if (this.prediction && this.prediction.id === stored.id) {
      this.learn(stored);
    }
  }

  // The stored prediction's label and version, shown; a picker open for the number as it was is closed.
  learn(stored) {
    this.closeFix();
    this.label = stored.label;
    this.etag = stored.etag;
    this.render();
  }

  // The correction named a version another tab or window has changed since: the prediction as it is now, and why.
  showChanged(prediction, message) {
    const shown = () => this.prediction === prediction;
    getPrediction(prediction.id)
      .done((stored) => {
        if (shown()) {
          this.learn(stored);
          this.onCorrected(stored);
        }
      })
      .always(() => {
        if (shown()) {
          this.refused(message);
        }
      });
  }

  // Why a correction was not saved.
  refused(message) {
    this.$message.text(message).addClass("is-error").prop("hidden", false);
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
    this.closeFix();
  }

  reset() {
    this.prediction = null;
    this.label = null;
    this.$card.addClass("is-empty");
    this.$overlays.empty().removeClass("is-stale");
    this.$boxes = $();
    this.$readout.removeClass("is-busy");
    this.$number.text("");
    this.$summary.text("");
    this.$suggestions.empty();
    this.$message.prop("hidden", true);
    this.$hint.prop("hidden", false);
    this.closeFix();
    this.$chips.empty();
    this.$modelInput.prop("hidden", true);
    this.$caption.text("Probability of each digit");
    this.$bars.children().removeClass("is-top").find(".bar__fill").css("width", "0");
    this.$bars.find(".bar__value").text("");
  }

  // A failure replaces the result, so nothing left on screen looks like an answer to the new input.
  fail(message, { error = true } = {}) {
    this.reset();
    this.$hint.prop("hidden", true);
    this.$message.text(message).toggleClass("is-error", error).prop("hidden", false);
  }
}
